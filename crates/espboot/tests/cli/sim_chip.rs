//! The virtual chip end to end through the CLI, checked with the real
//! tools: espsecure signs the bootloader and encrypts the reference
//! ciphertext, imgtool signs the apps, espefuse reads the eFuses after the
//! port's first boot.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{assert_one_line_error, run_fail, run_ok};

fn sim(args: &[&str]) -> Command {
    let mut c = crate::support::espboot();
    c.arg("sim").args(args);
    c
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// `sim build-app` + `imgtool sign -H 32 --pad-header --align 4 -M 512 -S
/// SLOT -v V [extra]` for the default slot of `target`.
fn imgtool_app(
    dir: &Path,
    target: &str,
    name: &str,
    version: &str,
    build_extra: &[&str],
    sign_extra: &[&str],
) -> Option<PathBuf> {
    let raw = dir.join(format!("{name}.raw"));
    run_ok(
        sim(&["build-app", "--target", target, "--version", version])
            .args(build_extra)
            .arg("-o")
            .arg(&raw),
    );
    let out = dir.join(format!("{name}.bin"));
    let slot = if target == "esp32" {
        "0x150000"
    } else {
        "0x1C0000"
    };
    let mut imgtool = crate::support::reference_tool("imgtool")?;
    run_ok(
        imgtool
            .args([
                "sign",
                "-v",
                version,
                "-H",
                "32",
                "--pad-header",
                "--align",
                "4",
            ])
            .args(["-M", "512", "-S", slot])
            .args(sign_extra)
            .arg(&raw)
            .arg(&out),
    );
    Some(out)
}

fn new_device(dir: &Path, target: &str, conf: &str) -> PathBuf {
    let conf_path = dir.join(format!("{target}.conf"));
    std::fs::write(&conf_path, conf).unwrap();
    let dev = dir.join(format!("dev-{target}"));
    run_ok(sim(&["new", s(&dev), "--target", target, "--config"]).arg(&conf_path));
    dev
}

fn espefuse_summary(dev: &Path, chip: &str, fields: &[&str]) -> Option<String> {
    let mut espefuse = crate::support::reference_tool("espefuse")?;
    let out = run_ok(
        espefuse
            .args(["--chip", chip, "--virt", "--path-efuse-file"])
            .arg(dev.join("efuse.bin"))
            .arg("summary")
            .args(fields),
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn field_line<'a>(summary: &'a str, field: &str) -> &'a str {
    summary
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} not in summary:\n{summary}"))
}

/// With a host key burned into eFuse, the port's first boot encrypts the
/// primary slot in place: its physical bytes are exactly what `espsecure
/// encrypt-flash-data` makes of the image for that address and key. ESP32
/// (AES-256 with key tweak, FLASH_CRYPT_CONFIG 0xF) and ESP32-C3 (XTS-AES).
#[test]
fn encrypted_slot_equals_espsecure_encrypt_flash_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (target, burn, espsecure_flags) in [
        (
            "esp32c3",
            &["burn-key", "BLOCK_KEY0", "KEY", "XTS_AES_128_KEY"][..],
            &["--aes-xts"][..],
        ),
        (
            "esp32",
            &["burn-key", "flash_encryption", "KEY"][..],
            &["--flash-crypt-conf", "0xf"][..],
        ),
    ] {
        let key = d.join(format!("{target}-fe-key.bin"));
        let mut espsecure = reference_tool!("espsecure");
        run_ok(espsecure.args(["generate-flash-encryption-key"]).arg(&key));
        let dev = new_device(d, target, "CONFIG_SECURE_FLASH_ENC_ENABLED=y\n");
        let burn: Vec<&str> = burn
            .iter()
            .map(|a| if *a == "KEY" { s(&key) } else { a })
            .collect();
        run_ok(sim(&["efuse", s(&dev), "--do-not-confirm"]).args(&burn));
        let Some(app) = imgtool_app(
            d,
            target,
            &format!("{target}-app"),
            "1.0.0",
            &[],
            &["--max-align", "32", "--pad", "--confirm"],
        ) else {
            return;
        };
        run_ok(&mut sim(&["write", s(&dev), "0x20000", s(&app)]));

        // first boot: encrypt in place, burn the counter, reset, boot
        let v = json(&run_ok(&mut sim(&["boot", s(&dev), "--json"])));
        assert_eq!(v["booted"], true, "{target}: {v}");
        assert_eq!(v["resets"], 1, "{target}: {v}");
        assert_eq!(v["rom"]["flash_encryption"], true);
        let actions = v["first_boot"].to_string();
        assert!(
            actions.contains("using the key already in eFuse"),
            "{actions}"
        );
        // Issue 15: nothing staged yet: the secondary slot reads as erased
        // through the encrypted backend, and set-pending says so instead
        // of succeeding.
        let out = run_fail(&mut sim(&["app", s(&dev), "set-pending"]));
        assert_one_line_error(&out, "holds no image to upgrade to: it is erased");

        let len = std::fs::metadata(&app).unwrap().len();
        let physical = d.join(format!("{target}-physical.bin"));
        run_ok(&mut sim(&[
            "read",
            s(&dev),
            "0x20000",
            &len.to_string(),
            "-o",
            s(&physical),
        ]));
        let expected = d.join(format!("{target}-espsecure.bin"));
        let mut espsecure = reference_tool!("espsecure");
        run_ok(
            espsecure
                .args([
                    "encrypt-flash-data",
                    "--keyfile",
                    s(&key),
                    "--address",
                    "0x20000",
                ])
                .args(espsecure_flags)
                .args(["--output", s(&expected), s(&app)]),
        );
        assert!(
            std::fs::read(&physical).unwrap() == std::fs::read(&expected).unwrap(),
            "{target}: the slot's physical bytes differ from espsecure encrypt-flash-data"
        );
        assert!(std::fs::read(&physical).unwrap() != std::fs::read(&app).unwrap());

        // what espefuse reads from the device afterwards
        let counter = if target == "esp32" {
            "FLASH_CRYPT_CNT"
        } else {
            "SPI_BOOT_CRYPT_CNT"
        };
        let Some(summary) = espefuse_summary(&dev, target, &[counter]) else {
            return;
        };
        let line = field_line(&summary, counter);
        assert!(
            line.contains("(0b0000001)") || line.contains("(0b001)"),
            "{line}"
        );

        // plaintext written to the encrypted chip is refused before writing;
        // development mode burned DIS_DOWNLOAD_MANUAL_ENCRYPT (no
        // CONFIG_SECURE_FLASH_UART_BOOTLOADER_ALLOW_ENC), so --encrypt is too;
        // espsecure's ciphertext is what the chip can read
        let out = run_fail(&mut sim(&["write", s(&dev), "0x20000", s(&app)]));
        assert_one_line_error(&out, "flash encryption is on");
        let out = run_fail(&mut sim(&[
            "write",
            s(&dev),
            "--encrypt",
            "0x20000",
            s(&app),
        ]));
        assert_one_line_error(&out, "manual flash encryption");
        run_ok(&mut sim(&["write", s(&dev), "0x20000", s(&expected)]));

        // the next boot goes straight through the decrypting reads
        let v = json(&run_ok(&mut sim(&["boot", s(&dev), "--json"])));
        assert_eq!(
            (v["booted"].clone(), v["resets"].clone()),
            (true.into(), 0.into())
        );
    }
}

/// Secure Boot V2 through the port's first boot: a bootloader signed by
/// espsecure (RSA-3072, the scheme the ESP32-C3 ROM verifies) gets its key
/// digest burned and secure boot enabled (espefuse
/// shows it); afterwards the ROM refuses a bootloader signed by an unburned
/// key, and the burned key once revoked. The app is signed by imgtool.
#[test]
fn rom_accepts_only_the_burned_unrevoked_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dev = new_device(
        d,
        "esp32c3",
        "CONFIG_SECURE_BOOT=y\nCONFIG_SECURE_BOOT_V2_ENABLED=y\nCONFIG_SECURE_DISABLE_ROM_DL_MODE=n\n",
    );
    let Some(app) = imgtool_app(d, "esp32c3", "app", "1.0.0", &[], &["--pad", "--confirm"]) else {
        return;
    };
    run_ok(&mut sim(&["write", s(&dev), "0x20000", s(&app)]));

    let bootloader = d.join("bootloader.bin");
    run_ok(
        sim(&["build-bootloader", "--target", "esp32c3", "--config"])
            .arg(d.join("esp32c3.conf"))
            .args(["-o", s(&bootloader)]),
    );
    // unsigned: the port will not enable secure boot, nothing runs
    let out = run_fail(&mut sim(&["boot", s(&dev)]));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no valid Secure Boot V2 signature block")
    );

    let key = d.join("sb.pem");
    let signed = d.join("bootloader-signed.bin");
    let mut espsecure = reference_tool!("espsecure");
    run_ok(espsecure.args([
        "generate-signing-key",
        "--version",
        "2",
        "--scheme",
        "rsa3072",
        s(&key),
    ]));
    let mut espsecure = reference_tool!("espsecure");
    run_ok(espsecure.args([
        "sign-data",
        "--version",
        "2",
        "--keyfile",
        s(&key),
        "-o",
        s(&signed),
        s(&bootloader),
    ]));
    run_ok(&mut sim(&["write", s(&dev), "0x0", s(&signed)]));
    let v = json(&run_ok(&mut sim(&["boot", s(&dev), "--json"])));
    assert_eq!(v["booted"], true, "{v}");
    assert_eq!(v["images"][0]["version"], "1.0.0+0");
    assert!(
        v["first_boot"]
            .to_string()
            .contains("burned Secure Boot V2 key digest"),
        "{v}"
    );

    // espefuse sees secure boot enabled with our key's digest in BLOCK_KEY0
    let digest = d.join("digest.bin");
    run_ok(crate::support::espboot().args([
        "secure",
        "digest-sbv2-public-key",
        "--keyfile",
        s(&key),
        "--output",
        s(&digest),
    ]));
    let Some(summary) = espefuse_summary(&dev, "esp32c3", &[]) else {
        return;
    };
    assert!(
        field_line(&summary, "SECURE_BOOT_EN").contains("= True"),
        "{summary}"
    );
    assert!(
        field_line(&summary, "KEY_PURPOSE_0").contains("SECURE_BOOT_DIGEST0"),
        "{summary}"
    );
    assert!(
        field_line(&summary, "SECURE_BOOT_KEY_REVOKE1").contains("= True"),
        "unused slots revoked"
    );
    let hex: String = std::fs::read(&digest)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x} "))
        .collect();
    assert!(
        summary.contains(hex.trim_end()),
        "digest not in BLOCK_KEY0:\n{summary}"
    );

    let v = json(&run_ok(&mut sim(&["boot", s(&dev), "--json"])));
    assert_eq!(v["rom"]["secure_boot"], "verified");

    // a bootloader signed by a key whose digest is not burned
    let other = d.join("other.pem");
    let other_signed = d.join("bootloader-other.bin");
    run_ok(crate::support::espboot().args([
        "secure",
        "generate-signing-key",
        "--version",
        "2",
        "--scheme",
        "rsa3072",
        s(&other),
    ]));
    run_ok(crate::support::espboot().args([
        "secure",
        "sign-data",
        "--version",
        "2",
        "--keyfile",
        s(&other),
        "-o",
        s(&other_signed),
        s(&bootloader),
    ]));
    run_ok(&mut sim(&["write", s(&dev), "0x0", s(&other_signed)]));
    let out = run_fail(&mut sim(&["boot", s(&dev)]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ROM: secure boot check failed") && err.contains("unburned or revoked"),
        "{err}"
    );

    // the burned key, revoked
    run_ok(&mut sim(&["write", s(&dev), "0x0", s(&signed)]));
    run_ok(&mut sim(&["boot", s(&dev)]));
    run_ok(&mut sim(&[
        "efuse",
        s(&dev),
        "--do-not-confirm",
        "burn-efuse",
        "SECURE_BOOT_KEY_REVOKE0",
    ]));
    let out = run_fail(&mut sim(&["boot", s(&dev)]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ROM: secure boot check failed"));
}

/// The loader refuses an app whose load header overlaps the bootloader's
/// iram_loader_seg or dram_seg, naming the region.
#[test]
fn app_overlapping_the_bootloader_regions_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dev = new_device(d, "esp32c3", "");
    for (flag, region) in [
        ("--iram-addr", "iram_loader_seg"),
        ("--dram-addr", "dram_seg"),
    ] {
        let map = esp_image_regions(region);
        let Some(app) = imgtool_app(
            d,
            "esp32c3",
            region,
            "1.0.0",
            &[flag, &map, "--unchecked"],
            &["--pad", "--confirm"],
        ) else {
            return;
        };
        run_ok(&mut sim(&["write", s(&dev), "0x20000", s(&app)]));
        let out = run_fail(&mut sim(&["boot", s(&dev)]));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("the loader refuses the app") && err.contains(region),
            "{err}"
        );
    }
}

/// A start address inside the named bootloader region of the ESP32-C3.
fn esp_image_regions(region: &str) -> String {
    let map = esp_image::Chip::Esp32c3.memory_map(false);
    let r = map
        .bootloader_regions
        .iter()
        .find(|r| r.name == region)
        .unwrap();
    // the loader's code is reached through the instruction bus, its data
    // through the data bus
    let range = if region == "iram_loader_seg" {
        &r.iram
    } else {
        &r.dram
    };
    let start = range.as_ref().unwrap().start;
    format!("{start:#x}")
}

/// Download mode: once disabled in eFuse, `sim read`/`sim write` (esptool)
/// can no longer reach the flash; a secure download mode refuses reads.
#[test]
fn download_mode_efuses_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dev = new_device(d, "esp32c3", "");
    let out_file = d.join("read.bin");
    run_ok(&mut sim(&[
        "read",
        s(&dev),
        "0x0",
        "0x100",
        "-o",
        s(&out_file),
    ]));
    run_ok(&mut sim(&[
        "efuse",
        s(&dev),
        "--do-not-confirm",
        "burn-efuse",
        "ENABLE_SECURITY_DOWNLOAD",
    ]));
    let _ = std::fs::remove_file(&out_file);
    let out = run_fail(&mut sim(&[
        "read",
        s(&dev),
        "0x0",
        "0x100",
        "-o",
        s(&out_file),
    ]));
    assert_one_line_error(&out, "secure download mode");
    assert!(!out_file.exists());
    run_ok(&mut sim(&[
        "efuse",
        s(&dev),
        "--do-not-confirm",
        "burn-efuse",
        "DIS_DOWNLOAD_MODE",
    ]));
    let before = std::fs::read(dev.join("flash.bin")).unwrap();
    let out = run_fail(&mut sim(&[
        "write",
        s(&dev),
        "0x3F0000",
        s(&dev.join("device.json")),
    ]));
    assert_one_line_error(&out, "download mode is disabled");
    assert_eq!(std::fs::read(dev.join("flash.bin")).unwrap(), before);
}

/// Issue 15, seed 000 by hand: with a device-generated flash-encryption key
/// the host never has the key, plain `sim write` of an update lands
/// unencrypted and `--encrypt` cannot work. `sim app write-update` is the
/// running app's own update path (through the port's encrypted backend):
/// stage 2.0.0 with it, set it pending, and the next boot runs it.
#[test]
fn device_generated_key_update_is_staged_by_the_app_and_boots() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dev = new_device(d, "esp32c3", "CONFIG_SECURE_FLASH_ENC_ENABLED=y\n");
    let Some(v1) = imgtool_app(
        d,
        "esp32c3",
        "v1",
        "1.0.0",
        &[],
        &["--max-align", "32", "--pad", "--confirm"],
    ) else {
        return;
    };
    run_ok(&mut sim(&["write", s(&dev), "0x20000", s(&v1)]));
    // first boot: the port generates the key in eFuse, encrypts in place
    let first = json(&run_ok(&mut sim(&["boot", s(&dev), "--json"])));
    assert_eq!(first["booted"], true, "{first}");
    assert_eq!(first["rom"]["flash_encryption"], true, "{first}");
    assert_eq!(first["images"][0]["version"], "1.0.0+0", "{first}");
    // issue 15: with the secondary still erased (the port wrote it back
    // encrypted, so the app reads 0xff), set-pending is refused saying so,
    // not that a trailer is corrupt
    let out = run_fail(&mut sim(&["app", s(&dev), "set-pending"]));
    assert_one_line_error(&out, "holds no image to upgrade to: it is erased");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!said.contains("trailer magic"), "{said}");

    let Some(v2) = imgtool_app(d, "esp32c3", "v2", "2.0.0", &[], &["--max-align", "32"]) else {
        return;
    };
    let out = run_ok(&mut sim(&["app", s(&dev), "write-update", s(&v2)]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("secondary slot"));
    run_ok(&mut sim(&["app", s(&dev), "set-pending"]));
    let second = json(&run_ok(&mut sim(&["boot", s(&dev), "--json"])));
    assert_eq!(second["booted"], true, "{second}");
    assert_eq!(second["images"][0]["version"], "2.0.0+0", "{second}");
    assert_eq!(second["swap"], "test", "{second}");

    // An update that does not fit its slot is refused, nothing written.
    let big = d.join("big.bin");
    std::fs::write(&big, vec![0u8; 0x1c0001]).unwrap();
    let out = run_fail(&mut sim(&["app", s(&dev), "write-update", s(&big)]));
    assert_one_line_error(&out, "has room for");
}
