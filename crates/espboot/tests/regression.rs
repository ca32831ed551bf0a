//! Regression tests, each named after the bug it covers (`regression_<what>`).
//! Interop checks run the pinned reference tools (see `common`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod support;

use std::path::Path;
use std::process::Command;

/// `pem` re-wrapped the way OpenSSL's `-----BEGIN` readers allow and many
/// HSM exports write: 76-column base64, CRLF line ends, text before and
/// after the block.
fn rewrap_76_crlf(pem: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(pem).unwrap();
    let mut out = String::from("Bag Attributes\r\n    friendlyName: exported-key\r\n");
    let mut body = String::new();
    for line in text.lines() {
        if line.starts_with("-----") {
            for chunk in body.as_bytes().chunks(76) {
                out.push_str(std::str::from_utf8(chunk).unwrap());
                out.push_str("\r\n");
            }
            body.clear();
            out.push_str(line);
            out.push_str("\r\n");
        } else {
            body.push_str(line);
        }
    }
    out.push_str("end of export\r\n");
    assert!(out.lines().any(|l| l.len() == 76), "not re-wrapped: {out}");
    out.into_bytes()
}

fn tool(name: &str, dir: &Path) -> Option<Command> {
    let mut cmd = support::reference_tool(name)?;
    cmd.current_dir(dir);
    Some(cmd)
}

fn espboot(dir: &Path, personality: &str) -> Command {
    let mut cmd = support::espboot();
    cmd.current_dir(dir).arg(personality);
    cmd
}

/// A PEM key wrapped at 76 columns worked in `espboot secure` and was
/// refused by `espboot image` (two PEM scanners, one strict). Keys made by
/// the pinned imgtool and espsecure, re-wrapped, must sign and verify in
/// both, and the signatures must verify with the reference tools.
#[test]
fn regression_pem_wrapped_at_76_columns_loads_in_image_and_secure() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some(mut imgtool_keygen) = tool("imgtool", d) else {
        return;
    };
    // imgtool writes PKCS#8, espsecure traditional PKCS#1.
    support::run_ok(imgtool_keygen.args(["keygen", "-t", "ecdsa-p256", "-k", "p256.pem"]));
    support::run_ok(tool("espsecure", d).unwrap().args([
        "generate-signing-key",
        "-v",
        "2",
        "-s",
        "rsa3072",
        "rsa3072.pem",
    ]));
    for key in ["p256", "rsa3072"] {
        let wide = rewrap_76_crlf(&std::fs::read(d.join(format!("{key}.pem"))).unwrap());
        std::fs::write(d.join(format!("{key}-76.pem")), wide).unwrap();
    }
    let mut app = vec![0u8; 32];
    app.extend((0..3000u32).map(|i| (i * 7 + 3) as u8));
    std::fs::write(d.join("app.bin"), &app).unwrap();
    std::fs::write(d.join("data.bin"), &app[..2500]).unwrap();

    // espboot image: sign and verify with the 76-column key; imgtool
    // verifies our image with its own key file, and we verify its image.
    let sign = [
        "sign", "-H", "0x20", "-S", "0x4000", "-v", "1.2.3", "--align", "4",
    ];
    support::run_ok(espboot(d, "image").args(sign).args([
        "-k",
        "p256-76.pem",
        "app.bin",
        "ours.bin",
    ]));
    support::run_ok(espboot(d, "image").args(["verify", "-k", "p256-76.pem", "ours.bin"]));
    support::run_ok(
        tool("imgtool", d)
            .unwrap()
            .args(["verify", "-k", "p256.pem", "ours.bin"]),
    );
    support::run_ok(tool("imgtool", d).unwrap().args(sign).args([
        "-k",
        "p256.pem",
        "app.bin",
        "theirs.bin",
    ]));
    support::run_ok(espboot(d, "image").args(["verify", "-k", "p256-76.pem", "theirs.bin"]));
    // imgtool itself reads the re-wrapped key: refusing it was our bug.
    support::run_ok(
        tool("imgtool", d)
            .unwrap()
            .args(["verify", "-k", "p256-76.pem", "ours.bin"]),
    );

    // espboot secure: both keys (PKCS#8 and PKCS#1) sign and verify; espsecure
    // verifies our blocks with the original files, and we verify its.
    for key in ["p256", "rsa3072"] {
        let wide = format!("{key}-76.pem");
        let ours = format!("sbv2-ours-{key}.bin");
        let theirs = format!("sbv2-theirs-{key}.bin");
        support::run_ok(espboot(d, "secure").args([
            "sign-data",
            "-v",
            "2",
            "-k",
            &wide,
            "-o",
            &ours,
            "data.bin",
        ]));
        support::run_ok(espboot(d, "secure").args([
            "verify-signature",
            "-v",
            "2",
            "-k",
            &wide,
            &ours,
        ]));
        support::run_ok(tool("espsecure", d).unwrap().args([
            "verify-signature",
            "-v",
            "2",
            "-k",
            &format!("{key}.pem"),
            &ours,
        ]));
        support::run_ok(tool("espsecure", d).unwrap().args([
            "sign-data",
            "-v",
            "2",
            "-k",
            &format!("{key}.pem"),
            "-o",
            &theirs,
            "data.bin",
        ]));
        support::run_ok(espboot(d, "secure").args([
            "verify-signature",
            "-v",
            "2",
            "-k",
            &wide,
            &theirs,
        ]));
        support::run_ok(tool("espsecure", d).unwrap().args([
            "verify-signature",
            "-v",
            "2",
            "-k",
            &wide,
            &ours,
        ]));
    }
}

/// Runs `espefuse` (the personality, through a link named after the tool)
/// with `args` on `file`, stdin closed.
fn espefuse_personality(link_dir: &Path, file: &Path, args: &[&str]) -> std::process::Output {
    let link = link_dir.join("espefuse");
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    }
    Command::new(link)
        .args(["--virt", "-c", "esp32c3", "--path-efuse-file"])
        .arg(file)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// issue 11: without `--do-not-confirm` and with no terminal, a burn printed
/// `Aborting.`, burned nothing and exited 0, so provisioning scripts
/// "succeeded". espefuse exits 1 (click's `Aborted.`); so must we, under
/// both names, and nothing may be written.
#[test]
fn regression_unconfirmed_burn_never_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("efuse.bin");
    let out = espefuse_personality(dir.path(), &file, &["summary"]);
    assert!(out.status.success());
    let fresh = std::fs::read(&file).unwrap();
    let out = espefuse_personality(dir.path(), &file, &["burn-efuse", "WDT_DELAY_SEL", "1"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "\nAborted.\n");
    assert_eq!(std::fs::read(&file).unwrap(), fresh, "nothing burned");
    for answer in ["", "no\n"] {
        let mut child = support::espboot()
            .args(["efuse", "--virt", "-c", "esp32c3", "--path-efuse-file"])
            .arg(&file)
            .args(["burn-efuse", "WDT_DELAY_SEL", "1"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success(), "answer {answer:?} exited 0");
        assert_eq!(std::fs::read(&file).unwrap(), fresh, "nothing burned");
    }
}

/// issue 11 / 16: the personality printed `error: …` and exited 1 where
/// espefuse prints `A fatal error occurred: …` and exits 2, and clearing
/// bits of a counter (SPI_BOOT_CRYPT_CNT 3 over 7) succeeded. The exact
/// texts are compared with espefuse in interop::espefuse_personality.
#[test]
fn regression_espefuse_refusals_exit_2_with_a_fatal_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("efuse.bin");
    let ok = espefuse_personality(
        dir.path(),
        &file,
        &["--do-not-confirm", "burn-efuse", "SPI_BOOT_CRYPT_CNT", "7"],
    );
    assert!(ok.status.success(), "{ok:?}");
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(stdout.starts_with("espefuse v5.6.0\n"), "{stdout}");
    let out = espefuse_personality(
        dir.path(),
        &file,
        &["--do-not-confirm", "burn-efuse", "SPI_BOOT_CRYPT_CNT", "3"],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("ERROR: \nA fatal error occurred: "),
        "{stderr}"
    );
    // the same field twice is accepted (the last value wins), as espefuse does
    let twice = espefuse_personality(
        dir.path(),
        &file,
        &[
            "--do-not-confirm",
            "burn-efuse",
            "WDT_DELAY_SEL",
            "1",
            "WDT_DELAY_SEL",
            "3",
        ],
    );
    assert!(twice.status.success(), "{twice:?}");
    // repeated -d is accepted like click
    let d = espefuse_personality(dir.path(), &file, &["-d", "-d", "summary"]);
    assert!(d.status.success(), "{d:?}");
}

/// issue 15: `espboot efuse … summary --format json` mixes espefuse's banner
/// and headers into stdout; `summary --json` (espboot's own name) is clean
/// JSON, while the `espefuse` personality refuses the option as espefuse does.
#[test]
fn regression_efuse_summary_json_is_clean_json() {
    let out = support::espboot()
        .args(["efuse", "--virt", "-c", "esp32c3", "summary", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with('{') && text.trim_end().ends_with('}'),
        "{text}"
    );
    assert!(text.contains("\"WDT_DELAY_SEL\""), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("efuse.bin");
    let out = espefuse_personality(dir.path(), &file, &["summary", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// issue 11: `--force` after the `burn-efuse` pairs was taken as an eFuse
/// name; click reads it as the command's option.
#[test]
fn regression_espefuse_force_after_burn_efuse_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("efuse.bin");
    let out = espefuse_personality(
        dir.path(),
        &file,
        &[
            "--do-not-confirm",
            "burn-efuse",
            "WDT_DELAY_SEL",
            "1",
            "--force",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("'WDT_DELAY_SEL'"));
}

/// issue 11: underscore spellings (`burn_bit`) ran silently; espefuse warns
/// on stderr that they are deprecated.
#[test]
fn regression_espefuse_underscore_commands_warn() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("efuse.bin");
    let out = espefuse_personality(dir.path(), &file, &["check_error"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "WARNING: Deprecated: Command 'check_error' is deprecated. Use 'check-error' instead.\n"
    );
}
