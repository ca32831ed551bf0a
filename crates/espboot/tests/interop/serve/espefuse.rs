//! E1: espefuse over the port reads the same eFuses as espefuse on the
//! device's file (`--virt --path-efuse-file DEV/efuse.bin`): summary and
//! its JSON, after burns made with `espboot sim efuse`.

use crate::support as common;
use crate::support::serve::{new_device, tool, Served};

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
