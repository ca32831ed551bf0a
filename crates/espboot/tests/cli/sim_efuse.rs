//! `espboot sim efuse`: the device's eFuses are an espefuse virtual file
//! that both tools read and burn.
#![allow(clippy::unwrap_used)]

const CHIPS: [&str; 7] = [
    "esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c6", "esp32h2",
];

#[test]
fn new_devices_get_espefuse_blank_efuses_and_sim_efuse_burns_them() {
    let dir = tempfile::tempdir().unwrap();
    for chip in CHIPS {
        let dev = dir.path().join(chip);
        crate::support::run_ok(
            crate::support::espboot()
                .args(["sim", "new", "--target", chip])
                .arg(&dev),
        );
        // The blank file is what espefuse itself starts from; an ESP32 is
        // a v3.0 part (the port's minimum revision).
        let reference = dir.path().join(format!("{chip}-ref.bin"));
        let mut espefuse = reference_tool!("espefuse");
        espefuse
            .args(["--chip", chip, "--virt", "--path-efuse-file"])
            .arg(&reference);
        if chip == "esp32" {
            espefuse.args([
                "--do-not-confirm",
                "burn-efuse",
                "CHIP_VER_REV1",
                "1",
                "CHIP_VER_REV2",
                "1",
            ]);
        } else {
            espefuse.arg("summary");
        }
        crate::support::run_ok(&mut espefuse);
        // Every field as espefuse reads it equals the blank file's, but for
        // the device's own factory MAC (issue 12).
        let reference_dir = crate::support::reference_bin_dir();
        let json = |file: &std::path::Path| -> serde_json::Value {
            let out = crate::support::run_ok(
                std::process::Command::new(reference_dir.join("espefuse"))
                    .args(["--chip", chip, "--virt", "--path-efuse-file"])
                    .arg(file)
                    .args(["summary", "--format", "json"]),
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let start = text.find('{').unwrap();
            serde_json::from_str(&text[start..]).unwrap()
        };
        let mut ours = json(&dev.join("efuse.bin"));
        let mut blank = json(&reference);
        let mac = ours["MAC"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            mac.starts_with("7c:df:a1:") && mac.contains("OK"),
            "{chip}: factory MAC {mac}"
        );
        for v in [&mut ours, &mut blank] {
            let fields = v.as_object_mut().unwrap();
            // the MAC and what espefuse derives from it
            fields.retain(|name, _| !name.starts_with("MAC"));
        }
        assert_eq!(
            ours, blank,
            "{chip}: new eFuses differ from espefuse's blank ones"
        );

        // Burn through the device, read back with espefuse.
        let field = if chip == "esp32" {
            "ABS_DONE_1"
        } else {
            "SECURE_BOOT_EN"
        };
        crate::support::run_ok(
            crate::support::espboot()
                .args(["sim", "efuse"])
                .arg(&dev)
                .args(["--do-not-confirm", "burn-efuse", field]),
        );
        let mut espefuse = reference_tool!("espefuse");
        let out = crate::support::run_ok(
            espefuse
                .args(["--chip", chip, "--virt", "--path-efuse-file"])
                .arg(dev.join("efuse.bin"))
                .args(["summary", field]),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.lines()
                .any(|l| l.starts_with(field) && l.contains("= True")),
            "{chip}: {text}"
        );
    }
}

#[test]
fn sim_efuse_names_targets_without_efuse_tables() {
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("c5");
    crate::support::run_ok(
        crate::support::espboot()
            .args(["sim", "new", "--target", "esp32c5"])
            .arg(&dev),
    );
    assert!(!dev.join("efuse.bin").exists());
    let out = crate::support::run_fail(
        crate::support::espboot()
            .args(["sim", "efuse"])
            .arg(&dev)
            .arg("summary"),
    );
    crate::support::assert_one_line_error(&out, "esp32c5");
}
