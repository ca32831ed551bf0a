//! Keys in an HSM, end to end through the CLI (issue 14, "HSM signing"):
//! SoftHSM2 tokens hold the keys, the pinned espsecure and imgtool check
//! what espboot signed with them.
//!
//! - `espboot image sign -k pkcs11:…` (RSA-2048/3072, ECDSA P-256/P-384,
//!   Ed25519) verifies with `imgtool verify -k PUBLIC.pem`; the `imgtool`
//!   personality reads `-k pkcs11:…` as a file name, as imgtool does;
//! - the `espsecure` personality's `sign-data --hsm --hsm-config` and
//!   `verify-signature --hsm` print what espsecure prints and exit as it
//!   does, on success and on the failures a user hits; the blocks verify
//!   with the pinned espsecure and the token's public key PEM;
//! - bad input (wrong PIN, no such token or object, an unloadable module)
//!   is one line naming the URI or config file without the PIN, and
//!   nothing is written.
//!
//! The SoftHSM2 helpers are pkcs11-keys' own (its `tests/support`, here `softhsm`): each test
//! has its own token directory and `SOFTHSM2_CONF`, which the espboot and
//! reference processes inherit.

#[macro_use]
#[path = "../../../pkcs11-keys/tests/support/mod.rs"]
mod softhsm;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64ct::{Base64, Encoding};
use softhsm::{python_generate, reference_tool, run, Kind, SoftHsm, USER_PIN};

const TOKEN: &str = "factory";

fn espboot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_espboot"))
}

/// The `espsecure` / `imgtool` personality: a link named after the tool.
fn personality(hsm: &SoftHsm, tool: &str) -> Command {
    let link = hsm.path(tool);
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).expect("symlink");
    }
    let mut cmd = Command::new(link);
    cmd.current_dir(hsm.dir.path());
    cmd
}

fn reference(hsm: &SoftHsm, tool: &str) -> Command {
    let mut cmd = reference_tool(tool);
    cmd.current_dir(hsm.dir.path());
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// SubjectPublicKeyInfo DER as a PEM file.
fn write_public_pem(spki: &[u8], path: &Path) {
    let b64 = Base64::encode_string(spki);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64"));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    std::fs::write(path, pem).expect("write PEM");
}

/// A key of `kind` made by the reference Python, imported into the token as
/// `label`; returns the path of its public key PEM.
fn token_key(hsm: &SoftHsm, kind: Kind, label: &str, id: u8) -> PathBuf {
    let private = hsm.path(&format!("{label}.pem"));
    let spki = python_generate(kind, &private);
    hsm.import(&private, TOKEN, label, &[id]);
    // The token holds the key now; the test keeps only the public half.
    std::fs::remove_file(&private).expect("remove the private key file");
    let public = hsm.path(&format!("{label}.pub.pem"));
    write_public_pem(&spki, &public);
    public
}

fn uri(hsm: &SoftHsm, object: &str, pin: &str) -> String {
    format!(
        "pkcs11:token={TOKEN};object={object}?module-path={}&pin-value={pin}",
        hsm.module.display()
    )
}

fn hsm_config(hsm: &SoftHsm, name: &str, slot: u64, label: &str, pin: &str) -> PathBuf {
    let path = hsm.path(name);
    std::fs::write(
        &path,
        format!(
            "[hsm_config]\npkcs11_lib = {}\ncredentials = {pin}\nslot = {slot}\nlabel = {label}\n",
            hsm.module.display()
        ),
    )
    .expect("write hsm config");
    path
}

/// 5000 bytes of data to sign (not sector aligned: espsecure pads it).
fn data_file(hsm: &SoftHsm, name: &str) -> PathBuf {
    let path = hsm.path(name);
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::write(&path, data).expect("write data");
    path
}

#[track_caller]
fn assert_one_line(out: &Output, needles: &[&str]) {
    assert!(!out.status.success(), "should fail:\n{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line:\n{stderr}");
    for needle in needles {
        assert!(
            lines[0].contains(needle),
            "{needle:?} missing: {}",
            lines[0]
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn image_sign_with_a_token_key_verifies_with_the_pinned_imgtool() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    let app = hsm.path("app.bin");
    std::fs::write(&app, vec![0x5Au8; 3000]).expect("write app");
    for (id, kind) in [
        Kind::Rsa2048,
        Kind::Rsa3072,
        Kind::P256,
        Kind::P384,
        Kind::Ed25519,
    ]
    .into_iter()
    .enumerate()
    {
        let label = format!("mcuboot-{}", kind.name());
        let public = token_key(&hsm, kind, &label, id as u8 + 1);
        let signed = hsm.path(&format!("signed-{}.bin", kind.name()));
        let out = espboot()
            .args(["image", "sign", "-k", &uri(&hsm, &label, USER_PIN)])
            .args(["--header-size", "32", "--pad-header", "-S", "0x10000"])
            .args(["-v", "1.2.3"])
            .arg(&app)
            .arg(&signed)
            .output()
            .expect("run espboot");
        assert!(out.status.success(), "{kind:?}: {}", text(&out.stderr));
        let verify = run(reference(&hsm, "imgtool")
            .args(["verify", "-k"])
            .arg(&public)
            .arg(&signed));
        assert!(
            text(&verify.stdout).contains("Image was correctly validated"),
            "{kind:?}: {}",
            text(&verify.stdout)
        );
    }
    // Another key's public half does not verify it (imgtool really checks).
    let other = hsm.path("mcuboot-p256.pub.pem");
    let out = reference(&hsm, "imgtool")
        .args(["verify", "-k"])
        .arg(&other)
        .arg(hsm.path("signed-p384.bin"))
        .output()
        .expect("run imgtool");
    assert!(!out.status.success());
}

#[test]
fn imgtool_personality_reads_a_pkcs11_uri_as_a_file_name() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    token_key(&hsm, Kind::P256, "k", 1);
    let app = hsm.path("app.bin");
    std::fs::write(&app, [1u8; 100]).expect("write app");
    let out = personality(&hsm, "imgtool")
        .args(["sign", "-k", &uri(&hsm, "k", USER_PIN)])
        .args([
            "--header-size",
            "32",
            "--pad-header",
            "-S",
            "0x10000",
            "-v",
            "1",
        ])
        .arg(&app)
        .arg(hsm.path("out.bin"))
        .output()
        .expect("run imgtool personality");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("No such file or directory"),
        "{}",
        text(&out.stderr)
    );
    assert!(!hsm.path("out.bin").exists());
}

#[test]
fn espsecure_sign_data_hsm_matches_the_pinned_espsecure() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    let slot = hsm.init_token(TOKEN);
    let data = data_file(&hsm, "data.bin");
    for (id, kind) in [Kind::Rsa3072, Kind::P256, Kind::P384]
        .into_iter()
        .enumerate()
    {
        let label = format!("sb-{}", kind.name());
        let public = token_key(&hsm, kind, &label, id as u8 + 1);
        let config = hsm_config(&hsm, &format!("{label}.ini"), slot, &label, USER_PIN);
        let (theirs, ours) = sign_data_both(&hsm, &config, &[], &data);
        assert!(theirs.status.success(), "{}", text(&theirs.stderr));
        assert_eq!(ours.status.code(), theirs.status.code(), "{kind:?}");
        assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{kind:?}");
        assert_eq!(text(&ours.stderr), text(&theirs.stderr), "{kind:?}");
        let (a, b) = (
            std::fs::read(hsm.path("theirs.bin")).expect("theirs"),
            std::fs::read(hsm.path("ours.bin")).expect("ours"),
        );
        assert_eq!(a.len(), b.len());
        // Data, padding and the block up to the (randomised) signature agree.
        assert_eq!(a[..8192 + 36], b[..8192 + 36], "{kind:?}");

        // The pinned espsecure verifies our block with the public key PEM
        // and with the key read from the token; ours verifies theirs.
        let verify = run(reference(&hsm, "espsecure")
            .args(["verify-signature", "--version", "2", "-k"])
            .arg(&public)
            .arg(hsm.path("ours.bin")));
        assert!(
            text(&verify.stdout).contains("Signature block 0 verification successful"),
            "{}",
            text(&verify.stdout)
        );
        let verify_hsm = |cmd: &mut Command, file: &str| -> Output {
            cmd.args([
                "verify-signature",
                "--version",
                "2",
                "--hsm",
                "--hsm-config",
            ])
            .arg(&config)
            .arg(hsm.path(file))
            .output()
            .expect("run")
        };
        let theirs = verify_hsm(&mut reference(&hsm, "espsecure"), "ours.bin");
        let ours = verify_hsm(&mut personality(&hsm, "espsecure"), "theirs.bin");
        assert!(theirs.status.success(), "{}", text(&theirs.stderr));
        assert_eq!(ours.status.code(), theirs.status.code());
        assert_eq!(text(&ours.stdout), text(&theirs.stdout));
        assert_eq!(text(&ours.stderr), text(&theirs.stderr));
    }
}

#[test]
fn espsecure_append_signatures_with_a_second_token_key_matches_espsecure() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    let slot = hsm.init_token(TOKEN);
    let data = data_file(&hsm, "data.bin");
    token_key(&hsm, Kind::P256, "first", 1);
    token_key(&hsm, Kind::P256, "second", 2);
    let first = hsm_config(&hsm, "first.ini", slot, "first", USER_PIN);
    let second = hsm_config(&hsm, "second.ini", slot, "second", USER_PIN);
    run(personality(&hsm, "espsecure")
        .args(["sign-data", "--version", "2", "--hsm", "--hsm-config"])
        .arg(&first)
        .arg("-o")
        .arg(hsm.path("one.bin"))
        .arg(&data));
    let append = |cmd: &mut Command, out: &str| -> Output {
        cmd.args(["sign-data", "--version", "2", "--append-signatures"])
            .args(["--hsm", "--hsm-config"])
            .arg(&second)
            .arg("-o")
            .arg(hsm.path(out))
            .arg(hsm.path("one.bin"))
            .output()
            .expect("run")
    };
    let theirs = append(&mut reference(&hsm, "espsecure"), "theirs.bin");
    let ours = append(&mut personality(&hsm, "espsecure"), "ours.bin");
    assert!(theirs.status.success(), "{}", text(&theirs.stderr));
    assert_eq!(ours.status.code(), theirs.status.code());
    assert_eq!(text(&ours.stdout), text(&theirs.stdout));
    assert!(text(&ours.stdout).contains("Signature sector now has 2 signature blocks."));
    let info = run(reference(&hsm, "espsecure")
        .args(["signature-info-v2"])
        .arg(hsm.path("ours.bin")));
    assert!(text(&info.stdout).contains("Public key digest for block 1"));
}

/// The failures espsecure reports itself: the same stdout, stderr and
/// exit status, and no output file.
#[test]
fn espsecure_hsm_failures_match_the_pinned_espsecure() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    let slot = hsm.init_token(TOKEN);
    let data = data_file(&hsm, "data.bin");
    token_key(&hsm, Kind::P256, "sb", 1);
    let wrong_pin = hsm_config(&hsm, "wrong-pin.ini", slot, "sb", "0000");
    let no_key = hsm_config(&hsm, "no-key.ini", slot, "no-such-key", USER_PIN);
    let no_lib = hsm.path("no-lib.ini");
    std::fs::write(
        &no_lib,
        format!("[hsm_config]\npkcs11_lib = /nonexistent/libpkcs11.so\ncredentials = {USER_PIN}\nslot = {slot}\nlabel = sb\n"),
    )
    .expect("write");
    let not_a_module = hsm.path("not-a-module.ini");
    std::fs::write(hsm.path("fake.so"), "not a shared library\n").expect("write");
    std::fs::write(
        &not_a_module,
        format!(
            "[hsm_config]\npkcs11_lib = {}\ncredentials = {USER_PIN}\nslot = {slot}\nlabel = sb\n",
            hsm.path("fake.so").display()
        ),
    )
    .expect("write");
    let no_label = hsm.path("no-label.ini");
    std::fs::write(
        &no_label,
        format!(
            "[hsm_config]\npkcs11_lib = {}\nslot = {slot}\n",
            hsm.module.display()
        ),
    )
    .expect("write");
    let cases: [(&str, Vec<String>); 7] = [
        (
            "not a module",
            vec!["--hsm-config".into(), not_a_module.display().to_string()],
        ),
        (
            "wrong PIN",
            vec!["--hsm-config".into(), wrong_pin.display().to_string()],
        ),
        (
            "no such key",
            vec!["--hsm-config".into(), no_key.display().to_string()],
        ),
        (
            "no module",
            vec!["--hsm-config".into(), no_lib.display().to_string()],
        ),
        (
            "no label option",
            vec!["--hsm-config".into(), no_label.display().to_string()],
        ),
        ("no config", vec![]),
        (
            "verify, wrong PIN",
            vec!["--hsm-config".into(), wrong_pin.display().to_string()],
        ),
    ];
    for (what, config) in cases {
        let verify = what.starts_with("verify");
        let attempt = |cmd: &mut Command, out: &str| -> Output {
            if verify {
                cmd.args(["verify-signature", "--version", "2", "--hsm"]);
            } else {
                cmd.args(["sign-data", "--version", "2", "--hsm"]);
            }
            cmd.args(&config);
            if !verify {
                cmd.arg("-o").arg(hsm.path(out));
            }
            cmd.arg(&data).output().expect("run")
        };
        let theirs = attempt(&mut reference(&hsm, "espsecure"), "theirs.bin");
        let ours = attempt(&mut personality(&hsm, "espsecure"), "ours.bin");
        assert!(!theirs.status.success(), "{what}");
        assert_eq!(ours.status.code(), theirs.status.code(), "{what}");
        assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{what}");
        assert_eq!(text(&ours.stderr), text(&theirs.stderr), "{what}");
        assert!(!hsm.path("ours.bin").exists(), "{what}: output written");
    }
}

/// Regression for `reject_hsm`: `espboot secure sign-data --hsm` used to
/// refuse; it signs now, and its failures are one line naming the config
/// file, never the PIN.
#[test]
fn espboot_secure_hsm_signs_and_names_the_config_file_on_failure() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    let slot = hsm.init_token(TOKEN);
    let data = data_file(&hsm, "data.bin");
    let public = token_key(&hsm, Kind::Rsa3072, "sb", 1);
    let good = hsm_config(&hsm, "good.ini", slot, "sb", USER_PIN);
    run(espboot()
        .args([
            "secure",
            "sign-data",
            "--version",
            "2",
            "--hsm",
            "--hsm-config",
        ])
        .arg(&good)
        .arg("-o")
        .arg(hsm.path("signed.bin"))
        .arg(&data));
    run(espboot()
        .args(["secure", "verify-signature", "--version", "2", "-k"])
        .arg(&public)
        .arg(hsm.path("signed.bin")));
    let secret_pin = "9876-wrong";
    let bad = hsm_config(&hsm, "bad.ini", slot, "sb", secret_pin);
    let out = espboot()
        .args([
            "secure",
            "sign-data",
            "--version",
            "2",
            "--hsm",
            "--hsm-config",
        ])
        .arg(&bad)
        .arg("-o")
        .arg(hsm.path("bad.bin"))
        .arg(&data)
        .output()
        .expect("run");
    assert_one_line(&out, &["bad.ini", "wrong PIN"]);
    assert!(!text(&out.stderr).contains(secret_pin));
    assert!(!hsm.path("bad.bin").exists());
}

#[test]
fn image_sign_token_failures_are_one_line_naming_the_uri_without_the_pin() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    token_key(&hsm, Kind::P256, "k", 1);
    let app = hsm.path("app.bin");
    std::fs::write(&app, [1u8; 100]).expect("write app");
    let secret_pin = "5555-not-it";
    let no_module = format!(
        "pkcs11:token={TOKEN};object=k?module-path=/nonexistent/libp11.so&pin-value={USER_PIN}"
    );
    let no_token = format!(
        "pkcs11:token=other;object=k?module-path={}&pin-value={USER_PIN}",
        hsm.module.display()
    );
    let fake = hsm.path("fake.so");
    std::fs::write(&fake, "not a shared library\n").expect("write");
    let not_a_module = format!(
        "pkcs11:token={TOKEN};object=k?module-path={}&pin-value={USER_PIN}",
        fake.display()
    );
    let cases = [
        (not_a_module, "cannot load PKCS#11 module"),
        (uri(&hsm, "k", secret_pin), "wrong PIN"),
        (no_token, "no PKCS#11 token matches token=other"),
        (
            uri(&hsm, "missing", USER_PIN),
            "no private key object=missing",
        ),
        (
            no_module,
            "cannot load PKCS#11 module /nonexistent/libp11.so",
        ),
    ];
    for (key, why) in cases {
        let out = espboot()
            .args(["image", "sign", "-k", &key])
            .args([
                "--header-size",
                "32",
                "--pad-header",
                "-S",
                "0x10000",
                "-v",
                "1",
            ])
            .arg(&app)
            .arg(hsm.path("out.bin"))
            .output()
            .expect("run");
        assert_one_line(&out, &["-k/--key pkcs11:token=", why, "pin-value=***"]);
        let stderr = text(&out.stderr);
        assert!(
            !stderr.contains(secret_pin) && !stderr.contains(USER_PIN),
            "{stderr}"
        );
        assert!(!hsm.path("out.bin").exists(), "{why}: output written");
    }
}

/// A Secure Boot V2 only plan for an ESP32-C3 with one key source.
fn sb_plan(hsm: &SoftHsm, name: &str, scheme: &str, key: &str) -> PathBuf {
    let path = hsm.path(name);
    std::fs::write(
        &path,
        format!(
            "chip = \"esp32c3\"\nstages = [\"secure_boot\"]\n[secure_boot]\nscheme = \"{scheme}\"\n\
             keys = [\"{key}\"]\nrevoke_unused = true\n[secure_boot.final]\n\
             efuses = {{ SECURE_BOOT_AGGRESSIVE_REVOKE = true }}\nwrite_protect_rd_dis = true\n\
             download_mode = \"secure\"\n"
        ),
    )
    .expect("write plan");
    path
}

fn new_device(hsm: &SoftHsm, name: &str) -> PathBuf {
    let dev = hsm.path(name);
    run(espboot()
        .args(["sim", "new", "--target", "esp32c3"])
        .arg(&dev));
    dev
}

/// Regression for `key_digest` refusing `KeySource::Pkcs11`: a plan whose
/// Secure Boot key is in a token burns exactly what the same plan with the
/// key's public PEM burns, and the pinned espefuse reads the digest.
#[test]
fn provision_run_with_a_token_key_burns_the_same_digest_as_its_pem() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    let public = token_key(&hsm, Kind::P256, "sb", 1);
    let pin_file = hsm.path("pin");
    std::fs::write(&pin_file, USER_PIN).expect("pin file");
    let token_uri = format!(
        "pkcs11:token={TOKEN};object=sb?module-path={}&pin-source=file:{}",
        hsm.module.display(),
        pin_file.display()
    );
    let from_token = sb_plan(&hsm, "token.toml", "ecdsa256", &token_uri);
    let from_file = sb_plan(&hsm, "file.toml", "ecdsa256", &public.display().to_string());
    let dev = new_device(&hsm, "dev");
    let twin = new_device(&hsm, "twin");
    std::fs::copy(dev.join("efuse.bin"), twin.join("efuse.bin")).expect("same eFuses");
    for (plan, device, db) in [(&from_token, &dev, "a.db"), (&from_file, &twin, "b.db")] {
        run(espboot()
            .args(["provision", "run"])
            .arg(plan)
            .arg("--device")
            .arg(device)
            .arg("--record")
            .arg(hsm.path(db)));
    }
    let efuses = std::fs::read(dev.join("efuse.bin")).expect("dev eFuses");
    assert_eq!(efuses, std::fs::read(twin.join("efuse.bin")).expect("twin"));

    // The burned digest is the SHA-256 of the key espsecure digests.
    run(reference(&hsm, "espsecure")
        .args(["digest-sbv2-public-key", "-k"])
        .arg(&public)
        .arg("-o")
        .arg(hsm.path("digest.bin")));
    let digest = std::fs::read(hsm.path("digest.bin")).expect("digest");
    let summary = run(reference(&hsm, "espefuse")
        .args(["--chip", "esp32c3", "--virt", "--path-efuse-file"])
        .arg(dev.join("efuse.bin"))
        .arg("summary"));
    let summary = text(&summary.stdout);
    let expected = digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(summary.contains(&expected), "{expected} not in\n{summary}");
}

#[test]
fn provision_with_a_bad_token_key_is_one_line_without_the_pin_and_burns_nothing() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    token_key(&hsm, Kind::P256, "sb", 1);
    let secret_pin = "4321-wrong";
    let dev = new_device(&hsm, "dev");
    let before = std::fs::read(dev.join("efuse.bin")).expect("eFuses");
    let cases = [
        ("ecdsa256", uri(&hsm, "sb", secret_pin), "wrong PIN"),
        (
            "ecdsa256",
            uri(&hsm, "nope", USER_PIN),
            "no public key object=nope",
        ),
        // The token key is P-256; the plan says P-384.
        (
            "ecdsa384",
            uri(&hsm, "sb", USER_PIN),
            "a ecdsa256 key, the plan's scheme is ecdsa384",
        ),
    ];
    for (scheme, key, why) in cases {
        let plan = sb_plan(&hsm, "plan.toml", scheme, &key);
        for command in ["check", "run"] {
            let mut cmd = espboot();
            cmd.args(["provision", command]).arg(&plan);
            if command == "run" {
                cmd.arg("--device")
                    .arg(&dev)
                    .arg("--record")
                    .arg(hsm.path("r.db"));
            }
            let out = cmd.output().expect("run");
            assert_one_line(
                &out,
                &[
                    "secure_boot.keys[0] pkcs11:token=factory",
                    why,
                    "pin-value=***",
                ],
            );
            let stderr = text(&out.stderr);
            assert!(
                !stderr.contains(secret_pin) && !stderr.contains(USER_PIN),
                "{stderr}"
            );
        }
        assert_eq!(
            std::fs::read(dev.join("efuse.bin")).expect("eFuses"),
            before,
            "{why}"
        );
    }
}

/// `--hsm` with `--pub-key`: espsecure reads no key from the token and
/// embeds the given one; a key that is not the token key's is refused
/// after signing, with nothing written.
#[test]
fn espsecure_hsm_with_pub_key_matches_the_pinned_espsecure() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    let slot = hsm.init_token(TOKEN);
    let data = data_file(&hsm, "data.bin");
    let own = token_key(&hsm, Kind::P256, "sb", 1);
    let other = token_key(&hsm, Kind::P256, "other", 2);
    let config = hsm_config(&hsm, "sb.ini", slot, "sb", USER_PIN);
    for (public, succeeds) in [(&own, true), (&other, false)] {
        let _ = std::fs::remove_file(hsm.path("ours.bin"));
        let pub_key = [std::ffi::OsStr::new("--pub-key"), public.as_os_str()];
        let (theirs, ours) = sign_data_both(&hsm, &config, &pub_key, &data);
        assert_eq!(
            theirs.status.success(),
            succeeds,
            "{}",
            text(&theirs.stderr)
        );
        assert_eq!(ours.status.code(), theirs.status.code());
        assert_eq!(text(&ours.stdout), text(&theirs.stdout));
        assert_eq!(text(&ours.stderr), text(&theirs.stderr));
        assert_eq!(hsm.path("ours.bin").exists(), succeeds);
    }
}

/// An `--hsm-config` without `credentials`: espsecure asks for the PIN,
/// and without a terminal Python's getpass reads it from stdin; so does
/// the personality (stderr differs: Python warns that the PIN may echo).
#[test]
fn espsecure_hsm_reads_a_missing_pin_from_stdin_as_espsecure_does() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    let slot = hsm.init_token(TOKEN);
    let data = data_file(&hsm, "data.bin");
    token_key(&hsm, Kind::P256, "sb", 1);
    let config = hsm.path("no-pin.ini");
    std::fs::write(
        &config,
        format!(
            "[hsm_config]\npkcs11_lib = {}\nslot = {slot}\nlabel = sb\n",
            hsm.module.display()
        ),
    )
    .expect("write");
    let sign = |cmd: &mut Command, out: &str| -> Output {
        use std::io::Write;
        let mut child = cmd
            .args(["sign-data", "--version", "2", "--hsm", "--hsm-config"])
            .arg(&config)
            .arg("-o")
            .arg(hsm.path(out))
            .arg(&data)
            .env_remove("ESPBOOT_PASSWORD")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{USER_PIN}\n").as_bytes())
            .expect("write PIN");
        child.wait_with_output().expect("wait")
    };
    let theirs = sign(&mut reference(&hsm, "espsecure"), "theirs.bin");
    let ours = sign(&mut personality(&hsm, "espsecure"), "ours.bin");
    assert!(theirs.status.success(), "{}", text(&theirs.stderr));
    assert_eq!(
        ours.status.code(),
        theirs.status.code(),
        "{}",
        text(&ours.stderr)
    );
    assert_eq!(text(&ours.stdout), text(&theirs.stdout));
    assert!(text(&ours.stderr).contains("Please enter the PIN of your HSM:"));
    assert!(!text(&ours.stderr).contains(USER_PIN));
    assert!(hsm.path("ours.bin").exists());
}

/// Secure Debug Controller certificates and key digests from a token key:
/// espsecure's lines and exit status, the same key digest, and
/// certificates that differ only in the (randomised) ECDSA signature.
#[test]
fn espsecure_sdc_with_hsm_matches_the_pinned_espsecure() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    let slot = hsm.init_token(TOKEN);
    let label = "sdc-p256";
    let public = token_key(&hsm, Kind::P256, label, 9);
    let config = hsm_config(&hsm, "sdc.ini", slot, label, USER_PIN);
    let chip_info: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
    std::fs::write(hsm.path("chip_info.bin"), &chip_info).expect("write chip_info");
    let runs = |args: &dyn Fn(&str) -> Vec<std::ffi::OsString>| {
        let theirs = reference(&hsm, "espsecure")
            .args(args("theirs.bin"))
            .output()
            .expect("run");
        let ours = personality(&hsm, "espsecure")
            .args(args("ours.bin"))
            .output()
            .expect("run");
        assert!(theirs.status.success(), "{}", text(&theirs.stderr));
        assert_eq!(ours.status.code(), theirs.status.code());
        assert_eq!(
            text(&ours.stdout).replace("ours.bin", "theirs.bin"),
            text(&theirs.stdout)
        );
        assert_eq!(text(&ours.stderr), text(&theirs.stderr));
    };
    let digest_args = |out: &str| -> Vec<std::ffi::OsString> {
        vec![
            "digest-sdc-public-key".into(),
            "--hsm".into(),
            "--hsm-config".into(),
            config.clone().into(),
            "-o".into(),
            hsm.path(out).into(),
        ]
    };
    runs(&digest_args);
    assert_eq!(
        std::fs::read(hsm.path("theirs.bin")).expect("theirs"),
        std::fs::read(hsm.path("ours.bin")).expect("ours")
    );
    for with_pub_key in [false, true] {
        let cert_args = |out: &str| -> Vec<std::ffi::OsString> {
            let mut v: Vec<std::ffi::OsString> = vec![
                "generate-sdc-certificate".into(),
                "--hsm".into(),
                "--hsm-config".into(),
                config.clone().into(),
                "--chip-info".into(),
                hsm.path("chip_info.bin").into(),
                "--enable-jtag".into(),
                "-o".into(),
                hsm.path(out).into(),
            ];
            if with_pub_key {
                v.extend(["--pub-key".into(), public.clone().into()]);
            }
            v
        };
        runs(&cert_args);
        let info: [u8; 32] = chip_info[..32].try_into().expect("32 bytes");
        let theirs = std::fs::read(hsm.path("theirs.bin")).expect("theirs");
        let ours = std::fs::read(hsm.path("ours.bin")).expect("ours");
        let a =
            esp_secure::sdc::verify_certificate(&theirs, &info).expect("espsecure's certificate");
        let b = esp_secure::sdc::verify_certificate(&ours, &info).expect("our certificate");
        assert_eq!(theirs[..12], ours[..12]);
        assert_eq!(
            (a.public_key, a.usc, a.nonce),
            (b.public_key, b.usc, b.nonce)
        );
    }
}

/// espsecure reads each `--hsm-config` value when it uses it: a value
/// configparser cannot interpolate (a `%` in a PIN), or a slot `int()`
/// cannot read, fails where espsecure reads it, after "Trying to establish
/// a session with the HSM..." (and after the session opens, for a label),
/// as the traceback's last line, exit 1. A broken `label` does not stop
/// the public key's read when `label_pubkey` is there. The personality
/// refused such a file before it started (exit 2).
#[test]
fn regression_hsm_config_values_were_checked_before_espsecure_reads_them() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    let slot = hsm.init_token(TOKEN);
    let data = data_file(&hsm, "data.bin");
    let public = token_key(&hsm, Kind::P256, "sb", 1);
    let module = hsm.module.display().to_string();
    let config = |name: &str, lines: &str| -> PathBuf {
        let path = hsm.path(name);
        std::fs::write(&path, format!("[hsm_config]\n{lines}")).expect("write");
        path
    };
    let good = format!("pkcs11_lib = {module}\ncredentials = {USER_PIN}\nslot = {slot}\n");
    let cases = [
        (
            "lib",
            config(
                "lib.ini",
                &format!("pkcs11_lib = {module}%x\ncredentials = {USER_PIN}\nslot = {slot}\nlabel = sb\n"),
            ),
        ),
        (
            "slot",
            config(
                "slot.ini",
                &format!("pkcs11_lib = {module}\ncredentials = {USER_PIN}\nslot = one\nlabel = sb\n"),
            ),
        ),
        (
            "pin",
            config(
                "pin.ini",
                &format!("pkcs11_lib = {module}\ncredentials = 12%34\nslot = {slot}\nlabel = sb\n"),
            ),
        ),
        (
            "missing lib, bad slot",
            config(
                "nolib.ini",
                &format!("pkcs11_lib = /nonexistent/lib.so\ncredentials = {USER_PIN}\nslot = %(x\nlabel = sb\n"),
            ),
        ),
        ("label", config("label.ini", &format!("{good}label = s%(nope)s\n"))),
        (
            "label, label_pubkey",
            config("label2.ini", &format!("{good}label = s%%b%\nlabel_pubkey = sb\n")),
        ),
        (
            "label_pubkey",
            config("pub.ini", &format!("{good}label = sb\nlabel_pubkey = %(deep)s\ndeep = %(label_pubkey)s\n")),
        ),
    ];
    let mut failed = 0;
    for (what, config) in &cases {
        for command in ["sign-data", "verify-signature", "sign-data --pub-key"] {
            let attempt = |cmd: &mut Command, out: &str| -> Output {
                let words: Vec<&str> = command.split(' ').collect();
                cmd.args([words[0], "--version", "2", "--hsm", "--hsm-config"])
                    .arg(config);
                if words.len() > 1 {
                    cmd.arg("--pub-key").arg(&public);
                }
                if words[0] == "sign-data" {
                    cmd.arg("-o").arg(hsm.path(out));
                }
                cmd.arg(&data).output().expect("run")
            };
            let theirs = attempt(&mut reference(&hsm, "espsecure"), "theirs.bin");
            let ours = attempt(&mut personality(&hsm, "espsecure"), "ours.bin");
            let last = |o: &Output| text(&o.stderr).lines().last().unwrap_or("").to_owned();
            let context = format!("{what}, {command}: {}", text(&theirs.stderr));
            assert_eq!(ours.status.code(), theirs.status.code(), "{context}");
            assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{context}");
            assert_eq!(last(&ours), last(&theirs), "{context}");
            if theirs.status.success() {
                // with --pub-key, espsecure never reads label_pubkey
                assert_eq!((*what, command), ("label_pubkey", "sign-data --pub-key"));
                let signed = |name: &str| std::fs::read(hsm.path(name)).expect("signed");
                // ECDSA signatures differ; the signed data before them does not
                assert_eq!(
                    signed("ours.bin").len(),
                    signed("theirs.bin").len(),
                    "{context}"
                );
                std::fs::remove_file(hsm.path("ours.bin")).expect("remove");
            } else {
                failed += 1;
            }
            assert!(!hsm.path("ours.bin").exists(), "{context}: output written");
        }
    }
    assert_eq!(failed, cases.len() * 3 - 1);
}

/// espsecure opens `--hsm-config` as a Python text file, so a lone `\r`
/// ends a line as `\n` and `\r\n` does, and configparser strips names and
/// values with `str.strip()`, whose blanks include U+001C..U+001F. The
/// personality split on `\n` only and trimmed Rust's whitespace: a file
/// saved with old Mac line ends had no section header, and a value padded
/// with U+001F named another slot or module.
#[test]
fn regression_hsm_config_line_ends_and_blanks_were_not_pythons() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    let slot = hsm.init_token(TOKEN);
    let data = data_file(&hsm, "data.bin");
    token_key(&hsm, Kind::P256, "sb", 1);
    let module = hsm.module.display().to_string();
    let lines = [
        "[hsm_config]".to_owned(),
        format!("pkcs11_lib = {module}"),
        format!("credentials = {USER_PIN}"),
        format!("slot\u{1f}=\u{1f}{slot}\u{1f}"),
        "label = sb".to_owned(),
    ];
    for (name, end) in [("cr.ini", "\r"), ("crlf.ini", "\r\n"), ("lf.ini", "\n")] {
        let config = hsm.path(name);
        std::fs::write(&config, lines.join(end) + end).expect("write");
        let (theirs, ours) = sign_data_both(&hsm, &config, &[], &data);
        let context = format!("{name}: {}", text(&theirs.stderr));
        assert!(theirs.status.success(), "{context}");
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{context}: {}",
            text(&ours.stderr)
        );
        assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{context}");
        // ECDSA signatures differ; both verify with the token's key
        for out in ["theirs.bin", "ours.bin"] {
            let verified = reference(&hsm, "espsecure")
                .args([
                    "verify-signature",
                    "--version",
                    "2",
                    "--hsm",
                    "--hsm-config",
                ])
                .arg(&config)
                .arg(hsm.path(out))
                .output()
                .expect("run");
            assert!(
                verified.status.success(),
                "{context}: {out}: {}",
                text(&verified.stdout)
            );
        }
    }
}

/// `sign-data --version 2 --hsm --hsm-config CONFIG [EXTRA] -o OUT DATA`
/// through the pinned espsecure (to `theirs.bin`) and through the
/// personality (to `ours.bin`).
fn sign_data_both(
    hsm: &SoftHsm,
    config: &Path,
    extra: &[&std::ffi::OsStr],
    data: &Path,
) -> (Output, Output) {
    let sign = |mut cmd: Command, out: &str| -> Output {
        cmd.args(["sign-data", "--version", "2", "--hsm", "--hsm-config"])
            .arg(config)
            .args(extra)
            .arg("-o")
            .arg(hsm.path(out))
            .arg(data)
            .output()
            .expect("run")
    };
    (
        sign(reference(hsm, "espsecure"), "theirs.bin"),
        sign(personality(hsm, "espsecure"), "ours.bin"),
    )
}
