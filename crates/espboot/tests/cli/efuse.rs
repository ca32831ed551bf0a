//! `espboot efuse` on its own: confirmation prompt, port handling and the
//! bad-input list (one-line error naming the problem, file untouched).
//! Behaviour shared with espefuse is checked against it in efuse_interop.rs.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{assert_one_line_error, espboot, run_fail, run_ok};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/efuse");

fn efuse(chip: &str, file: &Path) -> Command {
    let mut c = espboot();
    c.args(["efuse", "--chip", chip, "--virt", "--path-efuse-file"])
        .arg(file);
    c
}

fn with_stdin(mut cmd: Command, input: &str) -> std::process::Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn burn_needs_the_word_burn_and_anything_else_aborts_with_nothing_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("c3.bin");
    run_ok(efuse("esp32c3", &f).arg("summary"));
    let fresh = std::fs::read(&f).expect("file");
    let mut c = efuse("esp32c3", &f);
    c.args(["burn-efuse", "SPI_BOOT_CRYPT_CNT", "7"]);
    let out = with_stdin(c, "yes\n");
    // espefuse exits 0 here; espboot never exits 0 without burning (issue 11)
    assert!(!out.status.success(), "an unconfirmed burn fails");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Type 'BURN' (all capitals) to continue."),
        "{stdout}"
    );
    let plan = stdout
        .find("'SPI_BOOT_CRYPT_CNT'")
        .expect("the change is shown");
    let ask = stdout.find("Type 'BURN'").expect("asked");
    assert!(
        plan < ask && stdout.contains("0b000 -> 0b111"),
        "the plan is shown before asking: {stdout}"
    );
    assert!(stdout.contains("Aborting."), "{stdout}");
    assert_eq!(
        std::fs::read(&f).expect("file"),
        fresh,
        "aborted burn wrote the file"
    );

    let mut c = efuse("esp32c3", &f);
    c.args(["burn-efuse", "SPI_BOOT_CRYPT_CNT", "7"]);
    let out = with_stdin(c, "BURN\n");
    assert!(out.status.success());
    assert_ne!(
        std::fs::read(&f).expect("file"),
        fresh,
        "confirmed burn did not write"
    );
    let out = run_ok(efuse("esp32c3", &f).args([
        "summary",
        "SPI_BOOT_CRYPT_CNT",
        "--format",
        "value_only",
    ]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().last(),
        Some("Enable")
    );
}

#[test]
fn a_port_that_does_not_exist_is_one_line_naming_it() {
    let out = run_fail(espboot().args([
        "efuse",
        "--chip",
        "esp32c3",
        "-p",
        "/nonexistent/ttyUSB9",
        "summary",
    ]));
    assert_one_line_error(&out, "/nonexistent/ttyUSB9");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("could not open port"), "{stderr}");
}

#[test]
fn underscore_spellings_are_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("c3.bin");
    run_ok(
        espboot()
            .args(["efuse", "--chip", "esp32c3", "--virt", "--path_efuse_file"])
            .arg(&f)
            .args(["--do_not_confirm", "burn_efuse", "DIS_USB_JTAG"]),
    );
    let out =
        run_ok(efuse("esp32c3", &f).args(["summary", "DIS_USB_JTAG", "--format", "value_only"]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().last(),
        Some("True")
    );
}

/// Every bad input: one-line error naming the culprit, non-zero exit, file untouched.
#[test]
fn bad_input_gives_one_line_errors_and_leaves_the_file_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("c3.bin");
    let k256 = format!("{DATA}/key256.bin");
    let k512 = format!("{DATA}/key512.bin");
    run_ok(efuse("esp32c3", &f).args([
        "--do-not-confirm",
        "burn-key",
        "BLOCK_KEY0",
        &k256,
        "HMAC_UP",
    ]));
    let before = std::fs::read(&f).expect("file");
    let cases: &[(&[&str], &str)] = &[
        (
            &["burn-efuse", "SPI_BOOT_CRYPTCNT", "7"],
            "SPI_BOOT_CRYPT_CNT",
        ), // suggests the closest name
        (
            &["burn-efuse", "SPI_BOOT_CRYPT_CNT", "8"],
            "allowed range is [0, 7]",
        ),
        (
            &["burn-key", "BLOCK_KEY1", &k512, "XTS_AES_128_KEY"],
            "Incorrect key file size 64",
        ),
        (&["burn-key", "BLOCK_KEY0", &k256, "HMAC_UP"], "BLOCK_KEY0"), // already used (and read-protected)
        (
            &["burn-key", "BLOCK_KEY5", &k256, "XTS_AES_128_KEY"],
            "KEY_PURPOSE_5 can not have XTS_AES_128_KEY",
        ),
        (
            &["burn-key", "BLOCK_KEY1", &k256, "NOT_A_PURPOSE"],
            "NOT_A_PURPOSE",
        ),
        (
            &["burn-key", "BLOCK_KEY1", "/nonexistent/key.bin", "HMAC_UP"],
            "/nonexistent/key.bin",
        ),
        (&["burn-key", "BLOCK_KEY1", &k256], "BLOCK KEYFILE PURPOSE"),
    ];
    for (args, needle) in cases {
        let out = run_fail(efuse("esp32c3", &f).arg("--do-not-confirm").args(*args));
        assert_one_line_error(&out, needle);
        assert_eq!(
            std::fs::read(&f).expect("file"),
            before,
            "{args:?} changed the file"
        );
    }
    // The same file opened as another chip's.
    for chip in ["esp32", "esp32s3", "esp32c2"] {
        let out = run_fail(efuse(chip, &f).arg("summary"));
        assert_one_line_error(&out, "--chip");
        assert_eq!(
            std::fs::read(&f).expect("file"),
            before,
            "--chip {chip} changed the file"
        );
    }
}

#[test]
fn burn_key_digest_burns_the_esp_secure_digest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("c3.bin");
    run_ok(efuse("esp32c3", &f).args([
        "--do-not-confirm",
        "burn-key-digest",
        "BLOCK_KEY1",
        &format!("{DATA}/rsa3072.pem"),
        "SECURE_BOOT_DIGEST0",
    ]));
    let out =
        run_ok(efuse("esp32c3", &f).args(["summary", "BLOCK_KEY1", "--format", "value_only"]));
    let digest = std::fs::read(format!("{DATA}/rsa3072.digest")).expect("digest");
    let shown = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .replace(' ', "");
    assert_eq!(
        shown,
        hex::encode(digest),
        "digests are stored in file order"
    );
}

#[test]
fn espefuse_link_name_runs_the_efuse_tool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("espefuse");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).expect("symlink");
    let f = dir.path().join("h2.bin");
    let out = run_ok(
        Command::new(&link)
            .args(["--chip", "esp32h2", "--virt", "--path-efuse-file"])
            .arg(&f)
            // the name after the option: before it, espefuse 5.6.0 reads
            // the name as one string and refuses value_only (see the
            // interop table)
            .args(["summary", "--format", "value_only", "KEY_PURPOSE_0"]),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().last(),
        Some("USER")
    );
    assert_eq!(
        std::fs::read(&f).expect("file").len(),
        0x200,
        "espefuse's empty file is created"
    );
}

/// issue 11: `--token` was first refused as click's `No such option
/// '--token'. Did you mean '--token'?`, then as unsupported; it is now
/// espefuse's option, and a token of three fields is its format error
/// (after the banner, exit 2, nothing written; the text itself is compared
/// with espefuse's in the interop tests).
#[test]
fn regression_token_option_is_taken_not_misspelt_or_unsupported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("espefuse");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).expect("symlink");
    for token in [
        &["--token", "EFSR:esp32c3:000"][..],
        &["--token=EFSR:esp32c3:000"][..],
    ] {
        let out = Command::new(&link)
            .current_dir(dir.path())
            .args(["-c", "esp32c3"])
            .args(token)
            .arg("summary")
            .output()
            .expect("run espefuse");
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("Invalid efuse token"), "{stderr}");
        assert!(!stderr.contains("not supported"), "{stderr}");
        assert!(!stderr.contains("Did you mean"), "{stderr}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
}

/// A token of a chip espefuse knows but espboot has no tables for (the
/// ESP32-P4) is refused with espboot's own line after the banner, exit 2,
/// without espefuse's hint about the port (a deliberate difference).
#[test]
fn token_of_a_chip_espboot_lacks_is_refused_naming_the_chip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("espefuse");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).expect("symlink");
    let out = Command::new(&link)
        .current_dir(dir.path())
        .args(["--token", "EFSR:esp32p4:000:::AAAAAA", "summary"])
        .output()
        .expect("run espefuse");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "espefuse v5.6.0\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("'esp32p4'"), "{stderr}");
    assert!(!stderr.contains("--port"), "{stderr}");
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
}

/// check-error reports the controller's coding-error registers (espefuse
/// fails the same way on this file: "Error(s) in BLOCK4 [ERRORS:1 FAIL:False]").
#[test]
fn check_error_fails_when_the_error_registers_are_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("c3.bin");
    run_ok(efuse("esp32c3", &f).arg("check-error"));
    // EFUSE_RD_RS_ERR0_REG (+0x1C0) with BLOCK_KEY0's error count = 1; the file
    // stores register +off big-endian at SIZE - off - 4 (esptool.md §4.5).
    let mut bytes = std::fs::read(&f).expect("file");
    let at = 0x200 - 0x1c0 - 4;
    bytes[at..at + 4].copy_from_slice(&(1u32 << 12).to_be_bytes());
    std::fs::write(&f, &bytes).expect("write");
    let out = run_fail(efuse("esp32c3", &f).arg("check-error"));
    assert_one_line_error(&out, "Error(s) were detected in eFuses");
}
