//! R1-R9, R11-R14: one server per chip, every command through esptool,
//! flash compared with the same file written by `espboot sim write`.

use std::path::Path;

use crate::support as common;
use crate::support::serve::{data, esptool, new_device, wait_file_slice, wait_files_equal, Served};

/// What esptool prints for each chip.
struct ChipCase {
    chip: &'static str,
    /// `Detecting chip type... NAME`.
    name: &'static str,
    flash_size: &'static str,
    /// esptool disables the stub on its own (ESP32-C2 revision v0.0).
    stub_disabled: bool,
}

const APP_AT: u32 = 0x20000;
const APP2_AT: u32 = 0x50000;

fn scenario(case: &ChipCase) {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let dev = dir.join(case.chip);
    let twin = dir.join(format!("{}-twin", case.chip));
    new_device(&dev, case.chip, None);
    new_device(&twin, case.chip, None);
    let app = data(70_000, 7);
    let app_file = dir.join("app.bin");
    std::fs::write(&app_file, &app).unwrap_or_else(|e| panic!("{e}"));
    let app_arg = app_file.display().to_string();
    let served = Served::start(&dev, dir, "download", false);

    // R1: detection, revision, MAC; a wrong --chip is refused.
    let out = esptool(&served, &[], &["chip-id"]).ok();
    assert!(
        out.contains(&format!("Detecting chip type... {}", case.name)),
        "{out}"
    );
    assert!(out.contains("MAC:"), "{out}");
    if case.stub_disabled {
        assert!(out.contains("Stub flasher has been disabled"), "{out}");
    } else {
        assert!(out.contains("Stub flasher running."), "{out}");
    }
    let other = if case.chip == "esp32c6" {
        "esp32c3"
    } else {
        "esp32c6"
    };
    let r = esptool(&served, &["--chip", other], &["chip-id"]);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(r.out.contains("Wrong chip argument?"), "{}", r.out);

    // R2: the flash id matches the device's size.
    let out = esptool(&served, &[], &["flash-id"]).ok();
    assert!(
        out.contains(&format!("Detected flash size: {}", case.flash_size)),
        "{out}"
    );

    // R3: security info (ESP32's ROM has none; its stub says so).
    let r = esptool(&served, &[], &["get-security-info"]);
    if case.chip == "esp32" {
        assert_eq!(r.code, 2, "{}", r.out);
        assert!(
            r.out
                .contains("Failed to get security info (result was FF00"),
            "{}",
            r.out
        );
        let r = esptool(&served, &["--no-stub"], &["get-security-info"]);
        assert!(
            r.out
                .contains("(result was 0105: The format of the received message is invalid)"),
            "{}",
            r.out
        );
    } else {
        let out = r.ok();
        assert!(out.contains("Flags: 0x00000000"), "{out}");
        assert!(out.contains("Secure Boot: Disabled"), "{out}");
        assert!(out.contains("Flash Encryption: Disabled"), "{out}");
    }

    // R5: compressed (stub), uncompressed, ROM, ROM compressed; each equals
    // `sim write` of the same file on the twin, byte for byte.
    let twin_write = |addr: u32| {
        common::run_ok(
            common::espboot()
                .args(["sim", "write", "--force"])
                .arg(&twin)
                .arg(format!("{addr:#x}"))
                .arg(&app_file),
        );
    };
    let runs: [(&[&str], &[&str]); 4] = [
        (&[], &[]),
        (&[], &["--no-compress"]),
        (&["--no-stub"], &[]),
        (&["--no-stub"], &["--compress"]),
    ];
    for (i, (global, opts)) in runs.iter().enumerate() {
        let addr = if i % 2 == 0 { APP_AT } else { APP2_AT };
        let mut args = vec!["write-flash"];
        args.extend_from_slice(opts);
        let addr_arg = format!("{addr:#x}");
        args.extend([addr_arg.as_str(), app_arg.as_str()]);
        let out = esptool(&served, global, &args).ok();
        assert!(out.contains("Hash of data verified."), "{out}");
        twin_write(addr);
        wait_files_equal(&dev.join("flash.bin"), &twin.join("flash.bin"));
    }

    // R7: verify, and a file that differs.
    let out = esptool(&served, &[], &["verify-flash", "0x20000", &app_arg]).ok();
    assert!(
        out.contains("Verification successful (digest matched)."),
        "{out}"
    );
    let mut other_app = app.clone();
    other_app[1000] ^= 1;
    let other_file = dir.join("other.bin");
    std::fs::write(&other_file, &other_app).unwrap_or_else(|e| panic!("{e}"));
    let r = esptool(
        &served,
        &["--no-stub"],
        &["verify-flash", "0x20000", &other_file.display().to_string()],
    );
    assert_ne!(r.code, 0, "{}", r.out);

    // R4, R9: reads return the physical bytes (stub windowed at 921600,
    // ROM slow reads).
    let back = dir.join("back.bin");
    let back_arg = back.display().to_string();
    esptool(
        &served,
        &["-b", "921600"],
        &["read-flash", "0x20000", "70000", &back_arg],
    )
    .ok();
    assert_eq!(std::fs::read(&back).unwrap_or_default(), app);
    esptool(
        &served,
        &["--no-stub"],
        &["read-flash", "0x0", "0x2000", &back_arg],
    )
    .ok();
    let flash = std::fs::read(dev.join("flash.bin")).unwrap_or_default();
    assert_eq!(std::fs::read(&back).unwrap_or_default(), flash[..0x2000]);

    // R8: erase a region (stub and ROM), then the whole flash.
    esptool(&served, &[], &["erase-region", "0x20000", "0x1000"]).ok();
    wait_file_slice(&dev.join("flash.bin"), 0x20000, &[0xFF; 0x1000]);
    esptool(
        &served,
        &["--no-stub"],
        &["erase-region", "0x51000", "0x1000"],
    )
    .ok();
    wait_file_slice(&dev.join("flash.bin"), 0x51000, &[0xFF; 0x1000]);
    if !case.stub_disabled {
        esptool(&served, &[], &["erase-flash"]).ok();
        let size = flash.len();
        wait_file_slice(&dev.join("flash.bin"), 0, &vec![0xFF; size]);
    }
    let r = esptool(&served, &["--no-stub"], &["erase-flash"]);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(
        r.out.contains("ROM does not support function erase_flash"),
        "{}",
        r.out
    );

    // R11: a hang-up resets the loader, so the stub is uploaded again.
    if !case.stub_disabled {
        esptool(&served, &[], &["--after", "no-reset-stub", "flash-id"]).ok();
        let out = esptool(&served, &[], &["flash-id"]).ok();
        assert!(out.contains("Uploading stub flasher"), "{out}");
    }
}

macro_rules! chip_tests {
    ($($test:ident: $chip:expr, $name:expr, $size:expr, $disabled:expr;)*) => {$(
        #[test]
        fn $test() {
            scenario(&ChipCase { chip: $chip, name: $name, flash_size: $size, stub_disabled: $disabled });
        }
    )*};
}

chip_tests! {
    r1_to_r11_esp32: "esp32", "ESP32", "4MB", false;
    r1_to_r11_esp32s3: "esp32s3", "ESP32-S3", "4MB", false;
    r1_to_r11_esp32c3: "esp32c3", "ESP32-C3", "4MB", false;
    r1_to_r11_esp32c2: "esp32c2", "ESP32-C2", "2MB", true;
    r1_to_r11_esp32c6: "esp32c6", "ESP32-C6", "4MB", false;
}

/// `espboot sim efuse DEV ARGS...` (with --do-not-confirm).
fn efuse(dev: &Path, args: &[&str]) {
    common::run_ok(
        common::espboot()
            .args(["sim", "efuse"])
            .arg(dev)
            .arg("--do-not-confirm")
            .args(args),
    );
}

/// R6: `write-flash --encrypt` (stub; ROM on the chips whose ROM encrypts)
/// stores what `espsecure encrypt-flash-data` makes of the file, and what
/// `sim write --encrypt` stores.
#[test]
fn r6_encrypted_writes_match_espsecure() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let app = data(40_000, 3);
    let app_file = dir.join("app.bin");
    std::fs::write(&app_file, &app).unwrap_or_else(|e| panic!("{e}"));
    for chip in ["esp32c3", "esp32"] {
        let dev = dir.join(chip);
        let twin = dir.join(format!("{chip}-twin"));
        let key = dir.join(format!("{chip}-key.bin"));
        crate::support::serve::tool(
            "espsecure",
            &[
                "generate-flash-encryption-key".into(),
                key.display().to_string(),
            ],
        )
        .ok();
        let key_arg = key.display().to_string();
        for d in [&dev, &twin] {
            new_device(d, chip, None);
            if chip == "esp32" {
                efuse(d, &["burn-key", "flash_encryption", &key_arg]);
                // esptool refuses --encrypt unless FLASH_CRYPT_CONFIG is 0xF
                efuse(d, &["burn-efuse", "FLASH_CRYPT_CONFIG", "0xF"]);
            } else {
                efuse(d, &["burn-key", "BLOCK_KEY0", &key_arg, "XTS_AES_128_KEY"]);
            }
        }
        let served = Served::start(&dev, dir, "download", false);
        let mut modes: Vec<&[&str]> = vec![&[]];
        if chip != "esp32" {
            modes.push(&["--no-stub"]);
        }
        for (i, global) in modes.into_iter().enumerate() {
            let addr = if i == 0 { APP_AT } else { APP2_AT };
            let addr_arg = format!("{addr:#x}");
            let out = esptool(
                &served,
                global,
                &[
                    "write-flash",
                    "--encrypt",
                    &addr_arg,
                    &app_file.display().to_string(),
                ],
            )
            .ok();
            assert!(
                out.contains("Cannot verify written data if encrypted"),
                "{out}"
            );
            let expected = dir.join(format!("{chip}-{i}-exp.bin"));
            let mut args: Vec<String> = vec!["encrypt-flash-data".into()];
            if chip == "esp32" {
                args.extend(["--flash-crypt-conf".into(), "0xf".into()]);
            } else {
                args.push("--aes-xts".into());
            }
            args.extend([
                "--keyfile".into(),
                key_arg.clone(),
                "--address".into(),
                addr_arg.clone(),
                "--output".into(),
                expected.display().to_string(),
                app_file.display().to_string(),
            ]);
            crate::support::serve::tool("espsecure", &args).ok();
            let expected = std::fs::read(&expected).unwrap_or_default();
            wait_file_slice(&dev.join("flash.bin"), addr as usize, &expected);
            common::run_ok(
                common::espboot()
                    .args(["sim", "write", "--force", "--encrypt"])
                    .arg(&twin)
                    .arg(&addr_arg)
                    .arg(&app_file),
            );
        }
        wait_files_equal(&dev.join("flash.bin"), &twin.join("flash.bin"));
        if chip == "esp32" {
            let r = esptool(
                &served,
                &["--no-stub"],
                &[
                    "write-flash",
                    "--encrypt",
                    "0x20000",
                    &app_file.display().to_string(),
                ],
            );
            assert!(
                r.out
                    .contains("ESP32 ROM bootloader does not support encrypted writes"),
                "{}",
                r.out
            );
        }
    }
}

/// R13: Secure Download Mode (burned before the server starts); R14:
/// download mode disabled.
#[test]
fn r13_r14_secure_and_disabled_download_mode() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let dev = dir.join("sdm");
    new_device(&dev, "esp32c3", None);
    efuse(&dev, &["burn-efuse", "ENABLE_SECURITY_DOWNLOAD", "1"]);
    let app = data(20_000, 5);
    let app_file = dir.join("app.bin");
    std::fs::write(&app_file, &app).unwrap_or_else(|e| panic!("{e}"));
    let served = Served::start(&dev, dir, "download", false);
    let r = esptool(&served, &[], &["chip-id"]);
    assert!(
        r.out.contains("ESP32-C3 in Secure Download Mode"),
        "{}",
        r.out
    );
    assert!(
        r.out
            .contains("The 'chip-id' command is not available in Secure Download Mode."),
        "{}",
        r.out
    );
    let r = esptool(
        &served,
        &[],
        &[
            "read-flash",
            "0",
            "16",
            &dir.join("x").display().to_string(),
        ],
    );
    assert!(
        r.out.contains("not available in Secure Download Mode"),
        "{}",
        r.out
    );
    let out = esptool(&served, &[], &["get-security-info"]).ok();
    assert!(out.contains("Flags: 0x00000004"), "{out}");
    let out = esptool(
        &served,
        &["--no-stub"],
        &["write-flash", "0x20000", &app_file.display().to_string()],
    )
    .ok();
    assert!(
        out.contains("Cannot verify written data if encrypted or in secure download mode."),
        "{out}"
    );
    wait_file_slice(&dev.join("flash.bin"), 0x20000, &app);
    // esptool sent only what Secure Download Mode allows (serial.md §5.1)
    let allowed = [
        "SYNC",
        "SPI_ATTACH",
        "SPI_SET_PARAMS",
        "CHANGE_BAUDRATE",
        "FLASH_BEGIN",
        "FLASH_DATA",
        "FLASH_END",
        "GET_SECURITY_INFO",
    ];
    let log = served.log();
    let sent: Vec<&str> = log.lines().filter_map(|l| l.strip_prefix("cmd ")).collect();
    assert!(sent.contains(&"FLASH_DATA"), "{log}");
    assert!(sent.iter().all(|op| allowed.contains(op)), "{sent:?}");
    drop(served);

    let dev = dir.join("silent");
    new_device(&dev, "esp32c3", None);
    efuse(&dev, &["burn-efuse", "DIS_DOWNLOAD_MODE", "1"]);
    let served = Served::start(&dev, dir, "download", false);
    let r = esptool(&served, &["--connect-attempts", "1"], &["chip-id"]);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(r.out.contains("No serial data received."), "{}", r.out);
}

/// R10: default resets only warn. R12: ROM soft reset leaves download mode and boots from flash; the
/// console shows the ROM banner and MCUboot's lines.
#[test]
fn r12_soft_reset_boots_and_logs() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let dev = dir.join("c3");
    new_device(&dev, "esp32c3", None);
    let served = Served::start(&dev, dir, "download", false);
    // R10: esptool's default reset strategies only warn on a PTY.
    let out = crate::support::serve::tool(
        "esptool",
        &["--port".into(), served.port_arg(), "chip-id".into()],
    )
    .ok();
    assert!(
        out.contains("Setting RTS/DTR lines is not supported"),
        "{out}"
    );
    let r = tool_soft_reset(&served);
    assert_eq!(r.code, 0, "{}", r.out);
    served.wait_log("reset: normal boot");
    // `--after watchdog-reset` arms the RTC watchdog (C3): a system reset.
    common::run_ok(
        common::espboot()
            .args(["sim", "boot-mode"])
            .arg(&dev)
            .args(["download", "--reset"]),
    );
    let r = crate::support::serve::tool(
        "esptool",
        &[
            "--port".into(),
            served.port_arg(),
            "--before".into(),
            "no-reset".into(),
            "--after".into(),
            "watchdog-reset".into(),
            "chip-id".into(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.out);
    served.wait_log("watchdog reset");
    // `sim boot-mode --reset` reboots into download mode again.
    common::run_ok(
        common::espboot()
            .args(["sim", "boot-mode"])
            .arg(&dev)
            .args(["download", "--reset"]),
    );
    served.wait_log("boot mode: download");
    esptool(&served, &[], &["chip-id"]).ok();
}

fn tool_soft_reset(served: &Served) -> crate::support::serve::Ran {
    crate::support::serve::tool(
        "esptool",
        &[
            "--port".into(),
            served.port_arg(),
            "--before".into(),
            "no-reset".into(),
            "--no-stub".into(),
            "--after".into(),
            "soft-reset".into(),
            "chip-id".into(),
        ],
    )
}

/// ESP32-S3 with Secure Boot: its ROM will not jump to the stub, so esptool
/// points the ROM's flash read at it (serial.md §3.3); the stub greets
/// from there.
#[test]
fn s3_secure_boot_starts_the_stub_through_the_rom_read_pointer() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let dev = dir.join("s3");
    new_device(&dev, "esp32s3", None);
    efuse(&dev, &["burn-efuse", "SECURE_BOOT_EN", "1"]);
    let served = Served::start(&dev, dir, "download", false);
    let out = esptool(&served, &[], &["flash-id"]).ok();
    assert!(out.contains("Stub flasher running."), "{out}");
    assert!(out.contains("Detected flash size: 4MB"), "{out}");
    let out = esptool(&served, &[], &["get-security-info"]).ok();
    assert!(out.contains("Secure Boot: Enabled"), "{out}");
}

/// R1, R2 and R10 on the two chips the R1-R11 scenario leaves out: the
/// ESP32-S2 (no chip id: esptool falls back to the MAC; its security info
/// has no chip id either) and the ESP32-H2 (32 MHz crystal, EUI-64 MAC), at flash sizes other than the default.
/// Detection, the MAC the real espefuse decodes from the device's eFuse
/// file, the flash size the device was made with, and the security info
/// before and after flash encryption and Secure Boot are enabled.
#[test]
fn r1_r2_r10_detection_flash_id_and_security_info_on_s2_and_h2() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let crypt_cnt = "SPI_BOOT_CRYPT_CNT";
    for (chip, name, size) in [
        ("esp32s2", "ESP32-S2", "8MB"),
        ("esp32h2", "ESP32-H2", "16MB"),
    ] {
        let dev = dir.join(chip);
        common::run_ok(common::espboot().args(["sim", "new"]).arg(&dev).args([
            "--target",
            chip,
            "--flash-size",
            size,
        ]));
        let summary = crate::support::serve::tool(
            "espefuse",
            &[
                "--chip".into(),
                chip.into(),
                "--virt".into(),
                "--path-efuse-file".into(),
                dev.join("efuse.bin").display().to_string(),
                "summary".into(),
                "--format".into(),
                "json".into(),
            ],
        )
        .ok();
        let json = &summary[summary.find('{').unwrap_or(0)..];
        let fields: serde_json::Value =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{chip}: {e}: {summary}"));
        let mac = fields["MAC"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mac = mac.split(' ').next().unwrap_or_default().to_owned();
        assert!(!mac.is_empty(), "{chip}: {summary}");

        let served = Served::start(&dev, dir, "download", false);
        let out = esptool(&served, &[], &["chip-id"]).ok();
        assert!(
            out.contains(&format!("Detecting chip type... {name}")),
            "{out}"
        );
        assert!(out.contains(&mac), "{chip}: MAC {mac} not in {out}");
        let out = esptool(&served, &[], &["flash-id"]).ok();
        assert!(
            out.contains(&format!("Detected flash size: {size}")),
            "{out}"
        );
        let out = esptool(&served, &[], &["get-security-info"]).ok();
        assert!(
            out.contains("Secure Boot: Disabled") && out.contains("Flash Encryption: Disabled"),
            "{out}"
        );
        drop(served);

        efuse(&dev, &["burn-efuse", crypt_cnt, "1", "SECURE_BOOT_EN", "1"]);
        let served = Served::start(&dev, dir, "download", false);
        let out = esptool(&served, &[], &["get-security-info"]).ok();
        assert!(
            out.contains("Secure Boot: Enabled") && out.contains("Flash Encryption: Enabled"),
            "{chip}: {out}"
        );
        assert!(
            out.contains(&format!("({crypt_cnt}): 0x1")),
            "{chip}: {out}"
        );
    }
}
