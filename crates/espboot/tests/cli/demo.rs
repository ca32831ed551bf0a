//! `espboot demo` on every chip: every step behaves as the seeds say, the
//! device it leaves boots with `espboot sim`, and espefuse reads its eFuse
//! file with the provisioned security state.
#![allow(clippy::unwrap_used)]

use serde_json::Value;

const CHIPS: [&str; 7] = [
    "esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c6", "esp32h2",
];

/// The eFuse values espefuse must report after the demo's provisioning.
fn expected_efuses(chip: &str) -> Vec<(&'static str, Value)> {
    match chip {
        "esp32" => vec![
            ("ABS_DONE_1", Value::Bool(true)),
            ("FLASH_CRYPT_CNT", Value::from(127)),
        ],
        "esp32c2" => vec![
            ("SECURE_BOOT_EN", Value::Bool(true)),
            ("SPI_BOOT_CRYPT_CNT", Value::from("Enable")),
        ],
        _ => vec![
            ("SECURE_BOOT_EN", Value::Bool(true)),
            ("SPI_BOOT_CRYPT_CNT", Value::from("Enable")),
            ("KEY_PURPOSE_0", Value::from("XTS_AES_128_KEY")),
            ("KEY_PURPOSE_1", Value::from("SECURE_BOOT_DIGEST0")),
        ],
    }
}

#[test]
fn demo_behaves_as_documented_on_every_chip() {
    for chip in CHIPS {
        let dir = tempfile::tempdir().unwrap();
        let keep = dir.path().join("demo");
        let out = crate::support::run_ok(
            crate::support::espboot()
                .args(["demo", "--json", "--target", chip, "--keep"])
                .arg(&keep),
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["ok"], Value::Bool(true), "{chip}: {report:#}");
        let steps = report["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 10, "{chip}: {report:#}");
        assert!(steps.iter().all(|s| s["ok"] == Value::Bool(true)));

        // Private keys are owner-only.
        #[cfg(unix)]
        for key in [
            "mcuboot-signing-key.pem",
            "secure-boot-signing-key.pem",
            "flash-encryption-key.bin",
        ] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(keep.join(key))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{chip}: {key}");
        }

        // The device left behind runs the last upgrade, 1.2.0.
        let out = crate::support::run_ok(
            crate::support::espboot()
                .args(["sim", "boot", "--json"])
                .arg(keep.join("device")),
        );
        let boot: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(boot["images"][0]["version"], "1.2.0+0", "{chip}: {boot:#}");
        assert_eq!(boot["swap"], "none", "{chip}: {boot:#}");

        // espefuse reads the provisioned eFuse file.
        let mut espefuse = reference_tool!("espefuse");
        let out = crate::support::run_ok(
            espefuse
                .args(["--chip", chip, "--virt", "--path-efuse-file"])
                .arg(keep.join("device/efuse.bin"))
                .args(["summary", "--format", "json"]),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let json = &text[text.find('{').unwrap()..];
        let summary: Value = serde_json::from_str(json).unwrap();
        for (field, value) in expected_efuses(chip) {
            assert_eq!(summary[field]["value"], value, "{chip}: {field}");
        }
    }
}

#[test]
fn demo_refuses_a_non_empty_keep_directory_and_unknown_targets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), b"x").unwrap();
    let out = crate::support::run_fail(
        crate::support::espboot()
            .args(["demo", "--keep"])
            .arg(dir.path()),
    );
    crate::support::assert_one_line_error(&out, "--keep");
    assert_eq!(
        std::fs::read(dir.path().join("precious.txt")).unwrap(),
        b"x"
    );
    let out =
        crate::support::run_fail(crate::support::espboot().args(["demo", "--target", "esp8266"]));
    crate::support::assert_one_line_error(&out, "--target");
}

/// `espboot demo | head -1` used to panic with "failed printing to stdout:
/// Broken pipe" once the reader went away.
#[test]
fn regression_closed_stdout_does_not_panic() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = crate::support::espboot()
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("espboot demo"), "{first}");
    // The reader is gone now: the rest of the narration hits a closed pipe.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{stderr}");
}
