//! The decisive test: the real espefuse's register traffic for burn-efuse,
//! burn-key (read-protected) and burn-bit, recorded from its emulator by
//! `testdata/espefuse_trace.py`, replayed into the controller the way it
//! arrives over a port (esptool's read-modify-write `update_reg`, serial.md
//! §4.3); every read must answer what espefuse's emulator answered, and the
//! result must equal espefuse's own file and the same burns through the
//! model's espefuse commands; the saved file must read the same in
//! `espefuse --virt summary --format json`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::super::EfuseController;
use crate::espefuse::{self, ForceWrite, KeyCommandOptions};
use crate::{Chip, ChipEfuses as _, Efuses, KeyBlock, KeyGroup, KeyPurpose, VirtualFile};

/// The pinned tools' directory, or `None` when interop is skipped on purpose.
fn reference_bin() -> Option<PathBuf> {
    if std::env::var("ESPBOOT_SKIP_INTEROP").is_ok_and(|v| v == "1") {
        eprintln!("ESPBOOT_SKIP_INTEROP=1: skipping the espefuse replay");
        return None;
    }
    let dir = std::env::var_os("ESPBOOT_REFERENCE_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin"),
        PathBuf::from,
    );
    assert!(
        dir.join("espefuse").is_file() && dir.join("python").exists(),
        "espefuse/python not found in {} (set ESPBOOT_SKIP_INTEROP=1 on purpose to skip)",
        dir.display()
    );
    Some(dir)
}

/// Runs espefuse through the tracer on `file`, returns the traffic.
fn trace(bin: &Path, chip: Chip, file: &Path, cmd: &[String]) -> Vec<serde_json::Value> {
    let out_path = file.with_extension("trace");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/espefuse_trace.py");
    let out = Command::new(bin.join("python"))
        .arg(script)
        .arg(&out_path)
        .args(["--chip", chip.name(), "--virt", "--path-efuse-file"])
        .arg(file)
        .arg("--do-not-confirm")
        .args(cmd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{chip} {cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&out_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Feeds the traffic to the controller as it arrives over a port.
fn replay(ctrl: &mut EfuseController, e: &mut Efuses, ops: &[serde_json::Value], what: &str) {
    for op in ops {
        let addr = op["addr"].as_u64().unwrap() as u32;
        let value = op["value"].as_u64().unwrap() as u32;
        match op["op"].as_str().unwrap() {
            "read" => assert_eq!(
                ctrl.read(e, addr),
                Some(value),
                "{what}: READ_REG {addr:#x}"
            ),
            "write" => {
                let mask = op["mask"].as_u64().unwrap() as u32;
                ctrl.write_masked(e, addr, value, mask).unwrap();
            }
            "update" => {
                // esptool's update_reg: read, clear the mask, OR the shifted value
                let mask = op["mask"].as_u64().unwrap() as u32;
                let shift = mask.trailing_zeros();
                let old = ctrl.read(e, addr).unwrap();
                ctrl.write(e, addr, (old & !mask) | ((value << shift) & mask))
                    .unwrap();
            }
            other => panic!("unknown op {other}"),
        }
    }
}

fn summary(bin: &Path, chip: Chip, file: &Path) -> serde_json::Value {
    let out = Command::new(bin.join("espefuse"))
        .args(["--chip", chip.name(), "--virt", "--path-efuse-file"])
        .arg(file)
        .args(["summary", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text.find('{').unwrap();
    serde_json::from_str(&text[start..]).unwrap()
}

/// The three burns of one chip, on the reference, the controller and the model.
fn run_chip(bin: &Path, chip: Chip) {
    let dir = tempfile::tempdir().unwrap();
    let key: Vec<u8> = (0x40..0x60).collect();
    let key_file = dir.path().join("key.bin");
    std::fs::write(&key_file, &key).unwrap();
    let key_arg = key_file.to_string_lossy().into_owned();
    let (field, bit_block) = match chip {
        Chip::Esp32 => ("FLASH_CRYPT_CNT", "BLOCK3"),
        Chip::Esp32c2 => ("SPI_BOOT_CRYPT_CNT", "BLOCK1"),
        _ => ("SPI_BOOT_CRYPT_CNT", "BLOCK3"),
    };
    let key_cmd: Vec<&str> = match chip {
        Chip::Esp32 => vec!["burn-key", "flash_encryption", &key_arg],
        _ => vec!["burn-key", "BLOCK_KEY0", &key_arg, "XTS_AES_128_KEY"],
    };
    let commands: Vec<Vec<&str>> = vec![
        vec!["burn-efuse", field, "1"],
        key_cmd,
        vec!["burn-bit", bit_block, "0", "5", "31", "64"],
    ];
    let reference = dir.path().join("reference.bin");
    let mut ours = Efuses::new(chip);
    let mut api = Efuses::new(chip);
    let mut ctrl = EfuseController::new(chip);
    ctrl.reset(&ours);
    for cmd in &commands {
        let args: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        let ops = trace(bin, chip, &reference, &args);
        replay(&mut ctrl, &mut ours, &ops, &format!("{chip} {cmd:?}"));
        match cmd[0] {
            "burn-efuse" => {
                let pairs = [(cmd[1].to_string(), Some(cmd[2].to_string()))];
                let values = espefuse::parse_burn_pairs(&api, &pairs).unwrap();
                espefuse::burn_efuse(&mut api, &values, false, espefuse::ForceWrite::Unavailable)
                    .unwrap();
            }
            "burn-key" => {
                let group = match chip {
                    Chip::Esp32 => KeyGroup::esp32(KeyBlock::FlashEncryption, &key),
                    _ => KeyGroup::new(KeyBlock::BlockKey0, KeyPurpose::XtsAes128Key, &key),
                };
                espefuse::burn_key(&mut api, &[group], KeyCommandOptions::default()).unwrap();
            }
            _ => {
                let block = espefuse::block(chip, cmd[1]).unwrap();
                espefuse::burn_bit(&mut api, block, cmd[1], &[0, 5, 31, 64]).unwrap();
            }
        }
        assert!(espefuse::plan(&mut api, ForceWrite::Unavailable).unwrap().0);
        espefuse::burn(&mut api, ForceWrite::Unavailable).unwrap();
        // the reference file and the controller: every block, the parity
        let theirs = VirtualFile::espefuse(&reference)
            .load(chip)
            .unwrap()
            .unwrap();
        for b in 0..chip.table().blocks.len() {
            assert_eq!(
                ours.block_words(b),
                theirs.block_words(b),
                "{chip} {cmd:?} block {b}"
            );
            assert_eq!(
                ours.block_words(b),
                api.block_words(b),
                "{chip} {cmd:?} block {b}"
            );
        }
        let check = chip.table().check_value_offset;
        for off in check.iter().flat_map(|o| [*o, o + 4, o + 8]) {
            assert_eq!(ours.read_reg(off), theirs.read_reg(off), "{chip} {cmd:?}");
        }
    }
    // the read-protected key is held for the hardware, as with the model's burn
    assert_eq!(ours.hidden_blocks(), api.hidden_blocks(), "{chip}");
    assert!(
        !ours.hidden_blocks().is_empty(),
        "{chip}: key read-protected"
    );
    let key_reversed = ours.flash_encryption_key().unwrap().unwrap();
    assert_eq!(
        key_reversed.as_slice(),
        api.flash_encryption_key().unwrap().unwrap().as_slice()
    );
    // what the controller leaves reads the same in espefuse
    let saved = dir.path().join("efuse.bin");
    VirtualFile::with_hidden_bits(&saved).save(&ours).unwrap();
    assert_eq!(
        summary(bin, chip, &saved),
        summary(bin, chip, &reference),
        "{chip}"
    );
}

#[test]
fn espefuse_register_traffic_burns_what_espefuse_burns_on_every_chip() {
    let Some(bin) = reference_bin() else { return };
    std::thread::scope(|s| {
        let handles: Vec<_> = Chip::ALL
            .iter()
            .map(|chip| {
                let bin = bin.clone();
                let chip = *chip;
                s.spawn(move || run_chip(&bin, chip))
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

/// ESP32 3/4 coding: espefuse encodes 24 bytes into 8 words per block; the
/// controller decodes and checks them (serial.md 7.3 E8).
#[test]
fn espefuse_three_quarter_coding_traffic_matches_espefuse() {
    let Some(bin) = reference_bin() else { return };
    let chip = Chip::Esp32;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("24.bin");
    std::fs::write(&data, (1u8..=24).collect::<Vec<_>>()).unwrap();
    let reference = dir.path().join("reference.bin");
    let mut ours = Efuses::new(chip);
    let mut ctrl = EfuseController::new(chip);
    let data_arg = data.to_string_lossy().into_owned();
    for cmd in [
        vec!["burn-efuse", "CODING_SCHEME", "1"],
        vec!["burn-block-data", "BLOCK3", &data_arg],
    ] {
        let args: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        let ops = trace(&bin, chip, &reference, &args);
        replay(&mut ctrl, &mut ours, &ops, &format!("{cmd:?}"));
    }
    assert!(ours.coding_is_34());
    assert_eq!(ours.block_bytes(3), (1u8..=24).collect::<Vec<_>>());
    let theirs = VirtualFile::espefuse(&reference)
        .load(chip)
        .unwrap()
        .unwrap();
    for b in 0..4 {
        assert_eq!(ours.block_words(b), theirs.block_words(b), "block {b}");
    }
    let saved = dir.path().join("efuse.bin");
    VirtualFile::espefuse(&saved).save(&ours).unwrap();
    assert_eq!(summary(&bin, chip, &saved), summary(&bin, chip, &reference));
}
