//! `espboot sim` end to end: device directories, esptool-like write/read,
//! boots with power cuts, the application API, sweeps, and bad input.
//! Images and keys come from the real imgtool.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{assert_one_line_error, espboot, run_fail, run_ok};

fn sim(args: &[&str]) -> Command {
    let mut c = espboot();
    c.arg("sim").args(args);
    c
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Signs an ESP32-C3 app payload of `payload_len` bytes (`espboot sim
/// build-app`: the port's load header, segments, padding) with imgtool for
/// the default slot (`-M 512` like the port).
fn imgtool_image(
    dir: &Path,
    name: &str,
    version: &str,
    payload_len: usize,
    extra: &[&str],
) -> Option<PathBuf> {
    let raw = dir.join(format!("{name}.raw"));
    let plain_version = version.split('+').next().unwrap_or(version);
    run_ok(
        sim(&[
            "build-app",
            "--target",
            "esp32c3",
            "--version",
            plain_version,
        ])
        .args(["--size", &payload_len.to_string(), "-o"])
        .arg(&raw),
    );
    let out = dir.join(format!("{name}.bin"));
    let mut it = crate::support::reference_tool("imgtool")?;
    it.args([
        "sign",
        "-v",
        version,
        "-H",
        "32",
        "--pad-header",
        "--align",
        "4",
        "-S",
        "0x1C0000",
        "-M",
        "512",
    ])
    .args(extra)
    .arg(&raw)
    .arg(&out);
    run_ok(&mut it);
    Some(out)
}

#[test]
fn upgrade_confirm_and_revert_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let Some(a) = imgtool_image(d, "a", "1.0.0", 40_000, &[]) else {
        return;
    };
    let Some(b) = imgtool_image(d, "b", "2.0.0+7", 50_000, &[]) else {
        return;
    };
    let dev = d.join("dev");
    let devs = dev.to_str().expect("utf-8 path");
    run_ok(&mut sim(&["new", devs, "--target", "esp32c3"]));
    assert_eq!(
        std::fs::metadata(dev.join("flash.bin"))
            .expect("flash.bin")
            .len(),
        4 << 20
    );
    run_ok(&mut sim(&[
        "write",
        devs,
        "0x20000",
        a.to_str().unwrap_or_default(),
        "0x1E0000",
        b.to_str().unwrap_or_default(),
    ]));

    // First boot: no upgrade requested, image A runs.
    let out = run_ok(&mut sim(&["boot", devs, "--json"]));
    let v = json(&out);
    assert_eq!(v["booted"], true);
    assert_eq!(v["images"][0]["version"], "1.0.0+0");
    assert_eq!(v["images"][0]["slot"], "primary");
    assert_eq!(v["swap"], "none");
    assert_eq!(v["erases"], 0);
    assert_eq!(v["interrupted"], false);

    // The app requests a test upgrade; the next boot swaps.
    run_ok(&mut sim(&["app", devs, "set-pending"]));
    let v = json(&run_ok(&mut sim(&["boot", devs, "--json"])));
    assert_eq!(v["swap"], "test");
    assert_eq!(v["images"][0]["version"], "2.0.0+7");
    assert!(v["erases"].as_u64().unwrap_or(0) > 0);
    assert!(v["bytes_written"].as_u64().unwrap_or(0) > 50_000);

    // Not confirmed: the following boot reverts to A.
    let v = json(&run_ok(&mut sim(&["boot", devs, "--json"])));
    assert_eq!(v["swap"], "revert");
    assert_eq!(v["images"][0]["version"], "1.0.0+0");

    // Permanent upgrade, confirmed by nobody, stays.
    run_ok(&mut sim(&["app", devs, "set-pending", "--permanent"]));
    let v = json(&run_ok(&mut sim(&["boot", devs, "--json"])));
    assert_eq!(v["swap"], "perm");
    let v = json(&run_ok(&mut sim(&["boot", devs, "--json"])));
    assert_eq!(v["swap"], "none");
    assert_eq!(v["images"][0]["version"], "2.0.0+7");

    // read returns what the slot holds: B's bytes at the primary slot.
    let back = d.join("back.bin");
    let b_len = std::fs::metadata(&b).expect("b").len().to_string();
    run_ok(&mut sim(&[
        "read",
        devs,
        "0x20000",
        &b_len,
        "-o",
        back.to_str().unwrap_or_default(),
    ]));
    assert_eq!(
        std::fs::read(&back).expect("read back"),
        std::fs::read(&b).expect("b")
    );
}

#[test]
fn power_cut_then_resume_and_sweep() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let Some(a) = imgtool_image(d, "a", "1.0.0", 20_000, &[]) else {
        return;
    };
    let Some(b) = imgtool_image(d, "b", "1.1.0", 24_000, &[]) else {
        return;
    };
    let dev = d.join("dev");
    let devs = dev.to_str().expect("utf-8 path");
    run_ok(&mut sim(&["new", devs, "--target", "esp32c3"]));
    run_ok(&mut sim(&[
        "write",
        devs,
        "0x20000",
        a.to_str().unwrap_or_default(),
        "0x1E0000",
        b.to_str().unwrap_or_default(),
    ]));
    run_ok(&mut sim(&["app", devs, "set-pending", "--permanent"]));

    // The sweep starts from the current state and leaves it untouched.
    let before = std::fs::read(dev.join("flash.bin")).expect("flash");
    let v = json(&run_ok(&mut sim(&["sweep", devs, "--json", "--torn"])));
    let ops = v["boot_ops"].as_u64().expect("boot_ops");
    assert!(ops > 10);
    assert_eq!(v["cut_points"].as_u64(), Some(2 * ops));
    assert_eq!(v["failures"].as_array().map(Vec::len), Some(0), "{v}");
    // the report names the strategy and counts failures per class
    assert!(v["strategy"].is_string(), "{v}");
    assert_eq!(v["classes"].as_array().map(Vec::len), Some(0), "{v}");
    assert_eq!(std::fs::read(dev.join("flash.bin")).expect("flash"), before);
    // piped, the progress adapter draws nothing: stderr stays empty and
    // stdout holds only the report
    let out = run_ok(&mut sim(&["sweep", devs]));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\r') && !text.contains('\u{1b}'), "{text}");

    // Cut after 5 operations: nothing boots in that power cycle...
    let out = run_fail(&mut sim(&["boot", devs, "--json", "--cut-after", "5"]));
    let v = json(&out);
    assert_eq!(v["interrupted"], true);
    assert_eq!(v["booted"], false);
    // ...and the next power-on finishes the upgrade.
    let v = json(&run_ok(&mut sim(&["boot", devs, "--json"])));
    assert_eq!(v["images"][0]["version"], "1.1.0+0");
    assert_eq!(v["interrupted"], false);
}

#[test]
fn config_files_override_defaults_and_key_file_is_relative() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let Some(mut keygen) = crate::support::reference_tool("imgtool") else {
        return;
    };
    std::fs::create_dir(d.join("keys")).expect("mkdir");
    let key = d.join("keys/root-ed25519.pem");
    run_ok(
        keygen
            .args(["keygen", "-k"])
            .arg(&key)
            .args(["-t", "ed25519"]),
    );
    let Some(mut getpub) = crate::support::reference_tool("imgtool") else {
        return;
    };
    let pubkey = d.join("keys/pub.pem");
    let out = run_ok(getpub.args(["getpub", "-e", "pem", "-k"]).arg(&key));
    std::fs::write(&pubkey, &out.stdout).expect("write pub");

    std::fs::write(
        d.join("first.conf"),
        "CONFIG_ESP_BOOT_SWAP_USING_MOVE=y\nCONFIG_ESP_APPLICATION_SIZE=0x100000\n",
    )
    .expect("conf");
    std::fs::write(
        d.join("second.conf"),
        "# later files win\nCONFIG_ESP_BOOT_SWAP_USING_MOVE=n\nCONFIG_ESP_BOOT_SWAP_USING_OFFSET=y\n\
         CONFIG_ESP_SIGN_ED25519=y\nCONFIG_ESP_SIGN_KEY_FILE=keys/pub.pem\n",
    )
    .expect("conf");
    let dev = d.join("dev");
    let devs = dev.to_str().expect("utf-8");
    run_ok(
        sim(&[
            "new",
            devs,
            "--target",
            "esp32c3",
            "--flash-size",
            "8MB",
            "--config",
        ])
        .arg(d.join("first.conf"))
        .arg("--config")
        .arg(d.join("second.conf"))
        // The relative key path is resolved against the config file,
        // not the working directory.
        .current_dir("/"),
    );
    let settings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dev.join("device.json")).expect("device.json"))
            .expect("json");
    assert_eq!(settings["map"]["strategy"], "swap-offset");
    assert_eq!(settings["map"]["flash_size"], 8 << 20);
    assert_eq!(settings["map"]["images"][0]["primary"]["size"], 0x100000);
    assert_eq!(settings["map"]["signature"], "ed25519");
    // The embedded key is the SPKI DER imgtool prints with `getpub -e raw`...
    let Some(mut raw) = crate::support::reference_tool("imgtool") else {
        return;
    };
    let raw = run_ok(raw.args(["getpub", "-e", "raw", "-k"]).arg(&key));
    // ...which is the DER of the public key (imgtool 2.5 `raw` = DER bytes).
    assert_eq!(
        settings["keys"][0]["der"].as_str().map(str::to_string),
        Some(hex::encode(&raw.stdout))
    );
    assert_eq!(
        std::fs::metadata(dev.join("flash.bin"))
            .expect("flash")
            .len(),
        8 << 20
    );

    // RSA embeds PKCS#1 and ECDSA the SPKI, exactly what `getpub -e raw` prints.
    for (kind, sign_key) in [
        ("rsa-2048", "CONFIG_ESP_SIGN_RSA=y"),
        ("ecdsa-p256", "CONFIG_ESP_SIGN_EC256=y"),
    ] {
        let key = d.join(format!("keys/{kind}.pem"));
        let Some(mut keygen) = crate::support::reference_tool("imgtool") else {
            return;
        };
        run_ok(keygen.args(["keygen", "-k"]).arg(&key).args(["-t", kind]));
        let Some(mut getpub) = crate::support::reference_tool("imgtool") else {
            return;
        };
        let pem = run_ok(getpub.args(["getpub", "-e", "pem", "-k"]).arg(&key));
        std::fs::write(d.join(format!("keys/{kind}.pub.pem")), &pem.stdout).expect("pub");
        let Some(mut raw) = crate::support::reference_tool("imgtool") else {
            return;
        };
        let raw = run_ok(raw.args(["getpub", "-e", "raw", "-k"]).arg(&key));
        let conf = d.join(format!("{kind}.conf"));
        std::fs::write(
            &conf,
            format!("{sign_key}\nCONFIG_ESP_SIGN_KEY_FILE=keys/{kind}.pub.pem\n"),
        )
        .expect("conf");
        let kdev = d.join(format!("dev-{kind}"));
        run_ok(
            sim(&[
                "new",
                kdev.to_str().expect("utf-8"),
                "--target",
                "esp32s3",
                "--config",
            ])
            .arg(&conf),
        );
        let settings: serde_json::Value =
            serde_json::from_slice(&std::fs::read(kdev.join("device.json")).expect("device.json"))
                .expect("json");
        assert_eq!(
            settings["keys"][0]["der"].as_str().map(str::to_string),
            Some(hex::encode(&raw.stdout)),
            "{kind}"
        );
    }
}

#[test]
fn bad_input_gives_one_line_errors_and_no_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let dev = d.join("dev");
    let devs = dev.to_str().expect("utf-8");

    // Overlapping slots: both regions and their addresses are named.
    let conf = d.join("overlap.conf");
    std::fs::write(
        &conf,
        "CONFIG_ESP_IMAGE0_SECONDARY_START_ADDRESS=0x100000\n",
    )
    .expect("conf");
    let out = run_fail(sim(&["new", devs, "--target", "esp32c3", "--config"]).arg(&conf));
    assert_one_line_error(
        &out,
        "image 0 primary slot 0x20000..0x1e0000 overlaps image 0 secondary slot 0x100000",
    );
    assert!(!dev.exists(), "no device left behind");

    // A slot beyond the flash.
    let out = run_fail(&mut sim(&[
        "new",
        devs,
        "--target",
        "esp32c3",
        "--flash-size",
        "2MB",
    ]));
    assert_one_line_error(&out, "beyond the flash size 0x200000");

    // Unknown target, bad config line.
    let out = run_fail(&mut sim(&["new", devs, "--target", "esp8266"]));
    assert_one_line_error(&out, "esp8266");
    let bad = d.join("bad.conf");
    std::fs::write(&bad, "CONFIG_OK=1\njunk\n").expect("conf");
    let out = run_fail(sim(&["new", devs, "--target", "esp32c3", "--config"]).arg(&bad));
    assert_one_line_error(&out, "bad.conf:2");

    run_ok(&mut sim(&["new", devs, "--target", "esp32c3"]));
    let out = run_fail(&mut sim(&["new", devs, "--target", "esp32c3"]));
    assert_one_line_error(&out, "already exists");

    // Writes beyond the flash or from missing files change nothing.
    let before = std::fs::read(dev.join("flash.bin")).expect("flash");
    let small = d.join("small.bin");
    std::fs::write(&small, [1u8; 16]).expect("small");
    let out = run_fail(&mut sim(&[
        "write",
        devs,
        "0x3ffff8",
        small.to_str().unwrap_or_default(),
    ]));
    assert_one_line_error(&out, "beyond the flash size");
    let out = run_fail(&mut sim(&[
        "write",
        devs,
        "0x1000",
        small.to_str().unwrap_or_default(),
        "0x2000",
        "/nonexistent.bin",
    ]));
    assert_one_line_error(&out, "/nonexistent.bin");
    assert_eq!(std::fs::read(dev.join("flash.bin")).expect("flash"), before);
    let out = run_fail(&mut sim(&[
        "write",
        devs,
        "zz",
        small.to_str().unwrap_or_default(),
    ]));
    assert_one_line_error(&out, "ADDR");

    // Reads beyond the flash leave no output file.
    let o = d.join("o.bin");
    let out = run_fail(&mut sim(&[
        "read",
        devs,
        "0x3ff000",
        "0x2000",
        "-o",
        o.to_str().unwrap_or_default(),
    ]));
    assert_one_line_error(&out, "beyond the flash size");
    assert!(!o.exists());

    // An erased device does not boot; image 1 does not exist.
    let out = run_fail(&mut sim(&["boot", devs]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no bootable image"));
    let out = run_fail(&mut sim(&["app", devs, "confirm", "--image", "1"]));
    assert_one_line_error(&out, "image 1 is not configured");

    // A device another process holds (its lock) is refused after a short
    // wait, naming the directory, and left as it was.
    let held = espboot_sim::device::DeviceDir::open(&dev).expect("lock the device");
    let out = run_fail(&mut sim(&["app", devs, "confirm"]));
    assert_one_line_error(&out, "in use by another process");
    assert!(String::from_utf8_lossy(&out.stderr).contains(devs));
    drop(held);

    // A missing or corrupt device directory.
    let out = run_fail(&mut sim(&[
        "boot",
        d.join("nope").to_str().unwrap_or_default(),
    ]));
    assert_one_line_error(&out, "nope");
    std::fs::write(dev.join("device.json"), b"{").expect("corrupt");
    let out = run_fail(&mut sim(&["boot", devs]));
    assert_one_line_error(&out, "device.json");
}

/// With `CONFIG_ESP_SIGN_ED25519` and a key file, only images signed by
/// that key (checked through the embedded key's hash) boot or install.
#[test]
fn signed_images_with_the_embedded_key_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let key = d.join("root.pem");
    let other = d.join("other.pem");
    for k in [&key, &other] {
        let Some(mut keygen) = crate::support::reference_tool("imgtool") else {
            return;
        };
        run_ok(keygen.args(["keygen", "-t", "ed25519", "-k"]).arg(k));
    }
    let key_s = key.to_str().expect("utf-8");
    let other_s = other.to_str().expect("utf-8");
    let Some(a) = imgtool_image(d, "a", "1.0.0", 30_000, &["-k", key_s]) else {
        return;
    };
    let Some(b) = imgtool_image(d, "b", "2.0.0", 30_000, &["-k", other_s]) else {
        return;
    };
    let Some(c) = imgtool_image(d, "c", "3.0.0", 30_000, &["-k", key_s]) else {
        return;
    };
    // Like the port's build, a private key file works: its public key is
    // embedded.
    std::fs::write(
        d.join("sign.conf"),
        "CONFIG_ESP_SIGN_ED25519=y\nCONFIG_ESP_USE_TINYCRYPT=y\nCONFIG_ESP_SIGN_KEY_FILE=root.pem\n",
    )
    .expect("conf");
    let dev = d.join("dev");
    let devs = dev.to_str().expect("utf-8");
    run_ok(sim(&["new", devs, "--target", "esp32c3", "--config"]).arg(d.join("sign.conf")));
    run_ok(&mut sim(&[
        "write",
        devs,
        "0x20000",
        a.to_str().unwrap_or_default(),
        "0x1E0000",
        b.to_str().unwrap_or_default(),
    ]));
    run_ok(&mut sim(&["app", devs, "set-pending", "--permanent"]));
    // B is signed by another key: refused (and erased), A keeps running.
    let v = json(&run_ok(&mut sim(&["boot", devs, "--json"])));
    assert_eq!(v["images"][0]["version"], "1.0.0+0");
    assert_ne!(v["swap"], "perm");
    // C, signed by the embedded key, installs.
    run_ok(&mut sim(&[
        "write",
        devs,
        "0x1E0000",
        c.to_str().unwrap_or_default(),
    ]));
    run_ok(&mut sim(&["app", devs, "set-pending", "--permanent"]));
    let v = json(&run_ok(&mut sim(&["boot", devs, "--json"])));
    assert_eq!(v["images"][0]["version"], "3.0.0+0");
    assert_eq!(v["swap"], "perm");
    // A device whose embedded key is `other` refuses A in the primary slot
    // (the port validates the primary on every boot).
    std::fs::write(
        d.join("other.conf"),
        "CONFIG_ESP_SIGN_ED25519=y\nCONFIG_ESP_SIGN_KEY_FILE=other.pub.pem\n",
    )
    .expect("conf");
    let Some(mut getpub) = crate::support::reference_tool("imgtool") else {
        return;
    };
    let pem = run_ok(getpub.args(["getpub", "-e", "pem", "-k"]).arg(&other));
    std::fs::write(d.join("other.pub.pem"), &pem.stdout).expect("pub");
    let dev2 = d.join("dev2");
    let dev2s = dev2.to_str().expect("utf-8");
    run_ok(sim(&["new", dev2s, "--target", "esp32c3", "--config"]).arg(d.join("other.conf")));
    run_ok(&mut sim(&[
        "write",
        dev2s,
        "0x20000",
        a.to_str().unwrap_or_default(),
    ]));
    let out = run_fail(&mut sim(&["boot", dev2s, "--json"]));
    assert_eq!(json(&out)["booted"], false);
}

/// An ESP32-C3 app payload LZMA2 shrinks: `build-app`'s segments (its
/// `--size` filler does not compress) followed by zeros.
fn compressible_payload(dir: &Path, name: &str, version: &str) -> PathBuf {
    let raw = dir.join(format!("{name}.raw"));
    run_ok(
        sim(&[
            "build-app",
            "--target",
            "esp32c3",
            "--version",
            version,
            "-o",
        ])
        .arg(&raw),
    );
    let mut payload = std::fs::read(&raw).expect("payload");
    payload.resize(payload.len() + 30_000, 0);
    std::fs::write(&raw, payload).expect("payload");
    raw
}

/// `sign` arguments for the default slot (`-M 512` like the port).
const SLOT_ARGS: [&str; 10] = [
    "-H",
    "32",
    "--pad-header",
    "--align",
    "4",
    "-S",
    "0x1C0000",
    "-M",
    "512",
    "-v",
];

/// A compressed upgrade next to `primary` (version 1.0.0) on a fresh
/// ESP32-C3: the port's MCUboot decompresses nothing, so the boot
/// refuses it, erases the secondary slot, keeps booting the primary, and
/// says why (the compressed flag); the JSON report carries the reason.
fn compressed_upgrade_is_refused(d: &Path, primary: &Path, upgrade: &Path) {
    let info = run_ok(espboot().args(["image", "dumpinfo"]).arg(upgrade));
    assert!(
        String::from_utf8_lossy(&info.stdout).contains("COMPRESSED_LZMA2"),
        "the upgrade is compressed"
    );
    let len = std::fs::metadata(upgrade)
        .expect("upgrade")
        .len()
        .to_string();
    let dev = d.join("dev");
    let devs = dev.to_str().expect("utf-8");
    run_ok(&mut sim(&["new", devs, "--target", "esp32c3"]));
    let write_upgrade = || {
        run_ok(sim(&["write", devs, "0x1E0000"]).arg(upgrade));
        run_ok(&mut sim(&["app", devs, "set-pending"]));
    };
    run_ok(sim(&["write", devs, "0x20000"]).arg(primary));
    write_upgrade();
    let out = run_ok(&mut sim(&["boot", devs]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "image 0: upgrade refused and erased: the image is compressed, \
             and this bootloader decompresses no images\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("booted image 0 1.0.0+0 (primary slot); swap none;"),
        "{text}"
    );
    let back = d.join("secondary.bin");
    run_ok(sim(&["read", devs, "0x1E0000", &len, "-o"]).arg(&back));
    assert!(
        std::fs::read(&back)
            .expect("read back")
            .iter()
            .all(|&b| b == 0xff),
        "the refused upgrade is erased"
    );
    // the next boot has nothing to refuse
    let v = json(&run_ok(&mut sim(&["boot", devs, "--json"])));
    assert_eq!(v["images"][0]["version"], "1.0.0+0");
    assert_eq!(v["refused"], serde_json::json!([]));
    // once more, as JSON
    write_upgrade();
    let v = json(&run_ok(&mut sim(&["boot", devs, "--json"])));
    assert_eq!(v["booted"], true);
    assert_eq!(v["images"][0]["version"], "1.0.0+0");
    assert_eq!(v["images"][0]["slot"], "primary");
    assert_eq!(v["swap"], "none");
    assert_eq!(v["refused"][0]["image"], 0);
    let reason = v["refused"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("compressed"), "{v}");
}

#[test]
fn compressed_upgrade_signed_by_espboot_is_refused_and_erased_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let a_raw = compressible_payload(d, "a", "1.0.0");
    let b_raw = compressible_payload(d, "b", "2.0.0");
    let (a, b) = (d.join("a.bin"), d.join("b.bin"));
    run_ok(
        espboot()
            .args(["image", "sign"])
            .args(SLOT_ARGS)
            .arg("1.0.0")
            .arg(&a_raw)
            .arg(&a),
    );
    run_ok(
        espboot()
            .args(["image", "sign", "--compression", "lzma2"])
            .args(SLOT_ARGS)
            .arg("2.0.0")
            .arg(&b_raw)
            .arg(&b),
    );
    compressed_upgrade_is_refused(d, &a, &b);
}

#[test]
fn compressed_upgrade_signed_by_imgtool_is_refused_and_erased_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let a_raw = compressible_payload(d, "a", "1.0.0");
    let b_raw = compressible_payload(d, "b", "2.0.0");
    let (a, b) = (d.join("a.bin"), d.join("b.bin"));
    for (extra, version, raw, out) in [
        (&[][..], "1.0.0", &a_raw, &a),
        (&["--compression", "lzma2armthumb"][..], "2.0.0", &b_raw, &b),
    ] {
        let Some(mut imgtool) = crate::support::reference_tool("imgtool") else {
            return;
        };
        run_ok(
            imgtool
                .arg("sign")
                .args(extra)
                .args(SLOT_ARGS)
                .arg(version)
                .arg(raw)
                .arg(out),
        );
    }
    compressed_upgrade_is_refused(d, &a, &b);
}
