//! `espboot provision`: plans laid out in seed 003's order, pre-flight
//! checks, resumable runs on virtual devices.

use std::path::{Path, PathBuf};

use crate::support::{assert_one_line_error, espboot, run_fail, run_ok};

/// Writes `text` as `plan.toml` in `dir`.
fn write_plan(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("plan.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `provision plan --json`: the steps' types and seed numbers.
fn plan_json(plan: &Path) -> Vec<serde_json::Value> {
    let out = run_ok(espboot().args(["provision", "plan", "--json"]).arg(plan));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["steps"].as_array().unwrap().clone()
}

fn summary(steps: &[serde_json::Value]) -> Vec<String> {
    steps
        .iter()
        .map(|s| {
            let what = s
                .get("field")
                .or_else(|| s.get("purpose"))
                .and_then(|v| v.as_str())
                .unwrap_or("");
            format!(
                "{} {} {} {what}",
                s["stage"].as_str().unwrap(),
                s["seed_step"].as_str().unwrap(),
                s["type"].as_str().unwrap()
            )
            .trim_end()
            .to_owned()
        })
        .collect()
}

#[test]
fn provision_plan_lists_both_workflows_in_the_seed_order_on_an_esp32c3() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(
        dir.path(),
        r#"
chip = "esp32c3"
[flash_encryption]
mode = "release"
key_bits = 256
[flash_encryption.final]
efuses = { DIS_PAD_JTAG = true, DIS_DOWNLOAD_ICACHE = true, DIS_USB_JTAG = false }
write_protect = true
[secure_boot]
scheme = "rsa3072"
keys = ["sb0.pem"]
revoke_unused = true
[secure_boot.final]
efuses = { SECURE_BOOT_AGGRESSIVE_REVOKE = true }
write_protect_rd_dis = true
download_mode = "secure"
[[firmware]]
kind = "bootloader"
file = "bootloader.bin"
address = 0x0
"#,
    );
    let steps = plan_json(&plan);
    assert_eq!(
        summary(&steps),
        [
            "flash_encryption 1 EraseFlash",
            "flash_encryption 2 GenerateFlashKey",
            "flash_encryption 3 BurnKey XTS_AES_128_KEY",
            "flash_encryption 4 BurnEfuse SPI_BOOT_CRYPT_CNT",
            "flash_encryption 5 FlashWrite",
            // the seed's list order, not the file's
            "flash_encryption 6A BurnEfuse DIS_DOWNLOAD_ICACHE",
            "flash_encryption 6A BurnEfuse DIS_PAD_JTAG",
            "flash_encryption 6B WriteProtect DIS_ICACHE",
            "flash_encryption 7 DeleteFlashKey",
            "secure_boot 2 DigestKey",
            "secure_boot 3 BurnKeyDigest SECURE_BOOT_DIGEST0",
            "secure_boot 4 BurnEfuse SECURE_BOOT_EN",
            "secure_boot 7A BurnEfuse SECURE_BOOT_AGGRESSIVE_REVOKE",
            "secure_boot 7B-i WriteProtect RD_DIS",
            "secure_boot 7B-ii BurnEfuse SECURE_BOOT_KEY_REVOKE1",
            "secure_boot 7B-ii BurnEfuse SECURE_BOOT_KEY_REVOKE2",
            "secure_boot 7C BurnEfuse ENABLE_SECURITY_DOWNLOAD",
        ]
    );
    // the digest goes to the block after the flash-encryption key
    assert_eq!(steps[2]["block"], "BLOCK_KEY0");
    assert_eq!(steps[10]["block"], "BLOCK_KEY1");
    assert_eq!(steps[4]["encrypt"], true);
    let text = run_ok(espboot().args(["provision", "plan"]).arg(&plan));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(
        "espefuse --port PORT --chip esp32c3 burn-key BLOCK_KEY1 digest0.bin SECURE_BOOT_DIGEST0"
    ));
    assert!(text.contains("esptool --port PORT --chip esp32c3 write-flash --encrypt 0x0 "));
}

#[test]
fn provision_plan_follows_each_chips_key_layout() {
    let dir = tempfile::tempdir().unwrap();
    // ESP32: fixed blocks, FLASH_CRYPT_CONFIG, the MAC write protection, UART_DOWNLOAD_DIS
    let plan = write_plan(
        dir.path(),
        r#"
chip = "esp32"
[flash_encryption]
mode = "development"
key_bits = 256
[flash_encryption.final]
efuses = { DISABLE_DL_ENCRYPT = true, DISABLE_DL_DECRYPT = true, DISABLE_DL_CACHE = true, JTAG_DISABLE = true }
write_protect = true
[secure_boot]
scheme = "rsa3072"
keys = ["sb0.pem"]
[secure_boot.final]
write_protect_rd_dis = true
download_mode = "disabled"
"#,
    );
    let steps = plan_json(&plan);
    let s = summary(&steps);
    assert_eq!(s[2], "flash_encryption 3 BurnKey");
    assert_eq!(steps[2]["block"], "flash_encryption");
    assert_eq!(s[3], "flash_encryption 4 BurnEfuse FLASH_CRYPT_CNT");
    assert_eq!(steps[3]["value"], 1, "development mode: one counter bit");
    assert_eq!(s[4], "flash_encryption 4 BurnEfuse FLASH_CRYPT_CONFIG");
    assert_eq!(steps[4]["value"], 0xF);
    assert!(s.contains(&"flash_encryption 6B WriteProtect MAC".to_owned()));
    assert_eq!(
        steps.iter().find(|s| s["type"] == "BurnKeyDigest").unwrap()["block"],
        "secure_boot_v2"
    );
    assert_eq!(
        s.last().unwrap(),
        "secure_boot 7C BurnEfuse UART_DOWNLOAD_DIS"
    );

    // ESP32-C2: the 128-bit derived key and the digest share BLOCK_KEY0
    let plan = write_plan(
        dir.path(),
        r#"
chip = "esp32c2"
[flash_encryption]
mode = "release"
key_bits = 128
[secure_boot]
scheme = "ecdsa256"
keys = ["sb0.pem"]
"#,
    );
    let steps = plan_json(&plan);
    let key = steps.iter().find(|s| s["type"] == "BurnKey").unwrap();
    assert_eq!(
        key["purpose"],
        "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS"
    );
    let digest = steps.iter().find(|s| s["type"] == "BurnKeyDigest").unwrap();
    assert_eq!(digest["block"], "BLOCK_KEY0");
    assert_eq!(digest["purpose"], "SECURE_BOOT_DIGEST");

    // ESP32-S3: a 512-bit key split over two blocks
    let plan = write_plan(
        dir.path(),
        "chip = \"esp32s3\"\n[flash_encryption]\nmode = \"release\"\nkey_bits = 512\n",
    );
    let steps = plan_json(&plan);
    let keys: Vec<_> = steps.iter().filter(|s| s["type"] == "BurnKey").collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["purpose"], "XTS_AES_256_KEY_1");
    assert_eq!(keys[1]["purpose"], "XTS_AES_256_KEY_2");
    assert_eq!(keys[1]["block"], "BLOCK_KEY1");
    assert!(keys[1]["command"]
        .as_str()
        .unwrap()
        .ends_with("my_flash_encryption_key.bin.ab XTS_AES_256_KEY_2"));
}

#[test]
fn provision_plan_refuses_unknown_keys_naming_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(
        dir.path(),
        "chip = \"esp32c3\"\n[flash_encryption]\nmode = \"release\"\nkey_bits = 256\nkeybits = 3\n",
    );
    let out = run_fail(espboot().args(["provision", "plan"]).arg(&plan));
    assert_one_line_error(&out, "plan.toml:5: unknown field `keybits`");

    let plan = write_plan(
        dir.path(),
        "chip = \"esp32c3\"\n[flash_encryption]\nmode = \"release\"\nkey_bits = 256\n[flash_encryption.final]\nefuses = { JTAG_DISABLE = true }\n",
    );
    let out = run_fail(espboot().args(["provision", "plan"]).arg(&plan));
    assert_one_line_error(
        &out,
        "flash_encryption.final.efuses.JTAG_DISABLE: not one of seed 003",
    );
}
