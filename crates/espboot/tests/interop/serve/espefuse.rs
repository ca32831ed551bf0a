//! E1: espefuse over the port reads the same eFuses as espefuse on the
//! device's file (`--virt --path-efuse-file DEV/efuse.bin`): summary and
//! its JSON, after burns made with `espboot sim efuse`.

use crate::support as common;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::serve::{data, esptool, new_device, tool, Served};

#[test]
fn e1_summary_over_the_port_equals_the_virtual_file() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    for (chip, burn) in [
        (
            "esp32c3",
            &["burn-efuse", "SPI_BOOT_CRYPT_CNT", "1", "DIS_USB_JTAG", "1"][..],
        ),
        (
            "esp32",
            &["burn-efuse", "FLASH_CRYPT_CNT", "1", "JTAG_DISABLE", "1"][..],
        ),
        ("esp32s3", &["burn-efuse", "SECURE_BOOT_EN", "1"][..]),
        ("esp32c2", &["burn-efuse", "SPI_BOOT_CRYPT_CNT", "1"][..]),
        ("esp32c6", &["burn-efuse", "DIS_PAD_JTAG", "1"][..]),
    ] {
        let dev = dir.join(chip);
        new_device(&dev, chip, None);
        common::run_ok(
            common::espboot()
                .args(["sim", "efuse"])
                .arg(&dev)
                .arg("--do-not-confirm")
                .args(burn),
        );
        let virt = |args: &[&str]| {
            let mut all: Vec<String> = vec![
                "--chip".into(),
                chip.into(),
                "--virt".into(),
                "--path-efuse-file".into(),
                dev.join("efuse.bin").display().to_string(),
            ];
            all.extend(args.iter().map(|s| s.to_string()));
            tool("espefuse", &all).ok()
        };
        let expected_json = virt(&["summary", "--format", "json"]);
        let expected_text = virt(&["summary"]);
        let served = Served::start(&dev, dir, "download", false);
        let port = |args: &[&str]| {
            let mut all: Vec<String> = vec![
                "--port".into(),
                served.port_arg(),
                "--before".into(),
                "no-reset".into(),
            ];
            all.extend(args.iter().map(|s| s.to_string()));
            tool("espefuse", &all).ok()
        };
        let json = port(&["summary", "--format", "json"]);
        let value = |text: &str| -> serde_json::Value {
            let start = text
                .find('{')
                .unwrap_or_else(|| panic!("no JSON in {text}"));
            let end = text.rfind('}').unwrap_or(text.len() - 1);
            serde_json::from_str(&text[start..=end]).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        assert_eq!(value(&json), value(&expected_json), "{chip}");
        // the table lines (the connection lines differ)
        let text = port(&["summary"]);
        let table = |t: &str| -> Vec<String> {
            t.lines()
                .skip_while(|l| !l.starts_with("EFUSE_NAME"))
                .map(str::to_owned)
                .collect()
        };
        assert!(!table(&text).is_empty(), "{text}");
        assert_eq!(table(&text), table(&expected_text), "{chip}");
    }
}

/// E2–E7, E9: espefuse burning over the port (the eFuse controller model,
/// `esp_efuse::controller`, behind the ROM's READ_REG/WRITE_REG) leaves the
/// device's eFuse file byte-identical to the same command lines run by
/// espefuse on a twin file with `--virt`, on every chip; then esptool's
/// `get-security-info` follows the burned flags and a Secure Download Mode
/// burn takes effect at once.
#[test]
fn e2_to_e9_burns_over_the_port_equal_the_same_burns_on_a_virtual_file() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let file = |name: &str, bytes: &[u8]| -> String {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        path.display().to_string()
    };
    let key16 = file("key16.bin", &data(16, 1));
    let key32 = file("key32.bin", &data(32, 2));
    let key64 = file("key64.bin", &data(64, 3));
    let block32 = file("block32.bin", &data(32, 4));
    let sb = dir.join("sb.pem").display().to_string();
    tool(
        "espsecure",
        &[
            "generate-signing-key",
            "--version",
            "2",
            "--scheme",
            "rsa3072",
            &sb,
        ]
        .map(String::from),
    )
    .ok();
    let esp32 = [
        vec!["burn-key", "flash_encryption", &key32],
        vec!["burn-efuse", "FLASH_CRYPT_CNT", "1"],
        vec!["write-protect-efuse", "MAC"],
        vec!["burn-efuse", "JTAG_DISABLE", "1"],
    ];
    let esp32c3 = [
        vec!["burn-key", "BLOCK_KEY0", &key32, "XTS_AES_128_KEY"],
        vec!["burn-key-digest", "BLOCK_KEY1", &sb, "SECURE_BOOT_DIGEST0"],
        vec![
            "burn-efuse",
            "SPI_BOOT_CRYPT_CNT",
            "1",
            "SECURE_BOOT_EN",
            "1",
        ],
        vec!["write-protect-efuse", "DIS_USB_JTAG"],
        // E6: a key burned readable, then read-protected on its own.
        vec![
            "burn-key",
            "BLOCK_KEY3",
            &key32,
            "HMAC_UP",
            "--no-read-protect",
        ],
        vec!["read-protect-efuse", "BLOCK_KEY3"],
        vec!["burn-block-data", "BLOCK_USR_DATA", &block32],
    ];
    let esp32s3 = [
        vec!["burn-key", "BLOCK_KEY0", &key64, "XTS_AES_256_KEY"],
        vec!["burn-efuse", "SPI_BOOT_CRYPT_CNT", "1"],
        vec!["burn-block-data", "BLOCK_USR_DATA", &block32],
    ];
    let esp32c2 = [
        vec![
            "burn-key",
            "BLOCK_KEY0",
            &key16,
            "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS",
        ],
        vec!["burn-efuse", "SPI_BOOT_CRYPT_CNT", "1"],
    ];
    let esp32c6 = [
        vec!["burn-key", "BLOCK_KEY0", &key32, "XTS_AES_128_KEY"],
        vec!["burn-efuse", "SPI_BOOT_CRYPT_CNT", "1", "DIS_PAD_JTAG", "1"],
    ];
    for (chip, burns) in [
        ("esp32", &esp32[..]),
        ("esp32c3", &esp32c3[..]),
        ("esp32s3", &esp32s3[..]),
        ("esp32c2", &esp32c2[..]),
        ("esp32c6", &esp32c6[..]),
    ] {
        let dev = dir.join(chip);
        new_device(&dev, chip, None);
        let twin = dir.join(format!("{chip}-twin.bin"));
        std::fs::copy(dev.join("efuse.bin"), &twin).unwrap_or_else(|e| panic!("{e}"));
        let served = Served::start(&dev, dir, "download", false);
        for burn in burns {
            let mut over_port: Vec<String> = vec![
                "--port".into(),
                served.port_arg(),
                "--before".into(),
                "no-reset".into(),
                "--do-not-confirm".into(),
            ];
            over_port.extend(burn.iter().map(|s| s.to_string()));
            let said = tool("espefuse", &over_port).ok();
            let mut on_twin: Vec<String> = vec![
                "--chip".into(),
                chip.into(),
                "--virt".into(),
                "--path-efuse-file".into(),
                twin.display().to_string(),
                "--do-not-confirm".into(),
            ];
            on_twin.extend(burn.iter().map(|s| s.to_string()));
            tool("espefuse", &on_twin).ok();
            assert!(said.contains("Successful"), "{chip} {burn:?}: {said}");
            // Every field equal (the files differ in timing registers only,
            // serial.md §4.6: esptool's shifting update_reg over the port).
            wait_fields_equal(chip, &dev.join("efuse.bin"), &twin, &format!("{burn:?}"));
        }
        // And as the real espefuse reads both files.
        let summary = |file: &Path| {
            let args = ["--chip", chip, "--virt", "--path-efuse-file"]
                .map(String::from)
                .into_iter()
                .chain([
                    file.display().to_string(),
                    "summary".into(),
                    "--format".into(),
                    "json".into(),
                ])
                .collect::<Vec<_>>();
            json_of(&tool("espefuse", &args).ok())
        };
        assert_eq!(summary(&dev.join("efuse.bin")), summary(&twin), "{chip}");
        // E4: the ROM's security info follows the burned crypt counter
        // (the ESP32 ROM has no GET_SECURITY_INFO).
        if chip != "esp32" {
            let info = esptool(&served, &[], &["get-security-info"]).ok();
            assert!(info.contains("Flash Encryption: Enabled"), "{chip}: {info}");
        }
        if chip == "esp32c3" {
            // E9: Secure Download Mode at once, for the next command.
            let mut sdm: Vec<String> = vec![
                "--port".into(),
                served.port_arg(),
                "--before".into(),
                "no-reset".into(),
                "--do-not-confirm".into(),
            ];
            sdm.extend(["burn-efuse", "ENABLE_SECURITY_DOWNLOAD", "1"].map(String::from));
            let said = tool("espefuse", &sdm).ok();
            assert!(said.contains("Successful"), "{said}");
            let id = esptool(&served, &[], &["chip-id"]);
            assert!(id.out.contains("Secure Download Mode"), "{}", id.out);
        }
        drop(served);
    }
}

/// The JSON object in espefuse's output (after its banner lines).
fn json_of(text: &str) -> serde_json::Value {
    let start = text
        .find('{')
        .unwrap_or_else(|| panic!("no JSON in {text}"));
    let end = text.rfind('}').unwrap_or(text.len() - 1);
    serde_json::from_str(&text[start..=end]).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Waits until every eFuse field of `file` (the server saves when the line
/// goes idle) equals `twin`'s, as `espboot efuse summary --json` decodes
/// them; panics with both summaries otherwise.
#[track_caller]
fn wait_fields_equal(chip: &str, file: &Path, twin: &Path, what: &str) {
    let summary = |f: &Path| {
        let out = common::run_ok(
            common::espboot()
                .args(["efuse", "--chip", chip, "--virt", "--path-efuse-file"])
                .arg(f)
                .args(["summary", "--json"]),
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
    };
    let expected = summary(twin);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = summary(file);
        if got == expected {
            return;
        }
        if Instant::now() > deadline {
            panic!("{chip} {what}: fields differ\nport: {got}\nvirt: {expected}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
