//! The controller against the model: the register read map of every chip,
//! programming, coding checks and download-mode transitions. The replay of
//! espefuse's own register traffic is in `replay.rs`.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::{Burn, Field, KeyBlock, KeyGroup, KeyOptions, KeyPurpose};

mod replay;

/// A different non-zero pattern per block and word.
fn pattern(block: usize, words: usize) -> Vec<u32> {
    (0..words)
        .map(|i| 0x0101_0101u32.wrapping_mul((block * 16 + i + 1) as u32) | 1)
        .collect()
}

/// Every chip's block read registers answer the model's block words at
/// `DR_REG_EFUSE_BASE + rd_offset`, the command register reads 0 and
/// addresses outside the controller are not its registers.
#[test]
fn read_map_is_the_model_on_every_chip() {
    for chip in Chip::ALL.iter().copied() {
        let mut efuses = Efuses::new(chip);
        let ctrl = EfuseController::new(chip);
        let table = chip.table();
        // BLOCK0 first would write-protect nothing: only data is burned
        for (block, def) in table.blocks.iter().enumerate().skip(1) {
            efuses
                .program_block(block, &pattern(block, def.len_words))
                .unwrap();
        }
        for (block, def) in table.blocks.iter().enumerate() {
            let words = efuses.block_words(block);
            for (i, w) in words.iter().enumerate() {
                let addr = table.base_addr + (def.rd_offset + 4 * i) as u32;
                assert_eq!(
                    ctrl.read(&efuses, addr),
                    Some(*w),
                    "{chip} block {block} word {i}"
                );
            }
        }
        let cmd = table.base_addr + ctrl.layout.cmd as u32;
        assert_eq!(ctrl.read(&efuses, cmd), Some(0), "{chip}");
        for off in table.error_regs.iter() {
            assert_eq!(ctrl.read(&efuses, table.base_addr + *off as u32), Some(0));
        }
        let end = table.base_addr + table.mem_size as u32;
        assert_eq!(
            ctrl.read(&efuses, end - 4),
            Some(efuses.read_reg(table.mem_size - 4))
        );
        assert_eq!(ctrl.read(&efuses, end), None, "{chip}");
        assert_eq!(ctrl.read(&efuses, table.base_addr - 4), None, "{chip}");
    }
}

/// What esptool reads through READ_REG (serial.md §3.5) comes out of the
/// same fields espefuse and the simulator read.
#[test]
fn esptool_chip_facts_read_through_the_controller() {
    // ESP32-C3: MAC in BLOCK1 words 0-1, revision bits, SECURE_BOOT_EN at +0x38 bit 20
    let mut e = Efuses::new(Chip::Esp32c3);
    let ctrl = EfuseController::new(Chip::Esp32c3);
    e.burn(Field::SecureBootEn, Burn::All).unwrap();
    e.burn(Field::SpiBootCryptCnt, Burn::NextBit).unwrap();
    e.program_block(1, &[0x3344_5566, 0x1122, 0, 0, 0, 1 << 24])
        .unwrap();
    assert_eq!(ctrl.read(&e, 0x6000_8844), Some(0x3344_5566));
    assert_eq!(ctrl.read(&e, 0x6000_8848), Some(0x1122));
    assert_eq!(ctrl.read(&e, 0x6000_8838).unwrap() & (1 << 20), 1 << 20);
    assert_eq!((ctrl.read(&e, 0x6000_8834).unwrap() >> 18) & 7, 1);
    assert_eq!(
        (ctrl.read(&e, 0x6000_8858).unwrap() >> 24) & 3,
        1,
        "major 1"
    );
    assert_eq!(e.chip_revision(), 100);

    // ESP32: CHIP_VER_REV1/REV2 plus APB_CTL_DATE bit 31 make v3.0
    let mut e = Efuses::new(Chip::Esp32);
    let ctrl = EfuseController::new(Chip::Esp32);
    assert_eq!(
        ctrl.read(&e, Chip::Esp32.apb_ctl_date().expect("ESP32").0),
        Some(0x8000_0000)
    );
    e.burn(Field::ChipVerRev1, Burn::All).unwrap();
    e.burn(Field::ChipVerRev2, Burn::All).unwrap();
    assert_eq!(ctrl.read(&e, 0x3FF5_A00C).unwrap() & (1 << 15), 1 << 15);
    assert_eq!(ctrl.read(&e, 0x3FF5_A014).unwrap() & (1 << 20), 1 << 20);
    assert_eq!(e.chip_revision(), 300);
    // the APB register is not the C3's
    assert_eq!(
        EfuseController::new(Chip::Esp32c3).read(&e, Chip::Esp32.apb_ctl_date().expect("ESP32").0),
        None
    );
}

/// Block read registers and status are read-only: a WRITE_REG there is
/// the controller's but changes nothing.
#[test]
fn read_registers_cannot_be_written() {
    let mut e = Efuses::new(Chip::Esp32c3);
    let mut ctrl = EfuseController::new(Chip::Esp32c3);
    let before = e.register_image().to_vec();
    for off in [0x2C, 0x44, 0x9C, 0x17C, 0x1C0, 0x1D0, 0x1FC] {
        let ev = ctrl.write(&mut e, 0x6000_8800 + off, 0xFFFF_FFFF).unwrap();
        assert_eq!(ev, ControllerEvent::default());
    }
    assert_eq!(e.register_image(), &before[..]);
    assert!(ctrl.write(&mut e, 0x6000_8800 + 0x200, 1).is_none());
    // writable: data, check values, timing (read-modify-write keeps the other bits)
    ctrl.write(&mut e, 0x6000_8800 + 0x1E8, 0x28).unwrap();
    ctrl.write_masked(&mut e, 0x6000_8800 + 0x1E8, 0xFF << 9, 0x1FE00)
        .unwrap();
    assert_eq!(ctrl.read(&e, 0x6000_8800 + 0x1E8), Some(0x1FE28));
}

/// Programming needs the write opcode; without it the command only
/// completes. RS parity that does not match the data burns nothing.
#[test]
fn program_checks_opcode_and_rs_parity() {
    let base = 0x6000_8800;
    let mut e = Efuses::new(Chip::Esp32c3);
    let mut ctrl = EfuseController::new(Chip::Esp32c3);
    let data: Vec<u32> = (1..=8).collect();
    let program = |ctrl: &mut EfuseController, e: &mut Efuses, check: &[u32], conf: u32| {
        for (i, w) in data.iter().chain(check).enumerate() {
            ctrl.write(e, base + 4 * i as u32, *w).unwrap();
        }
        ctrl.write(e, base + 0x1CC, conf).unwrap();
        ctrl.write(e, base + 0x1D4, CMD_PROGRAM | 3 << 2).unwrap()
    };
    let parity = bytes_to_words(&rs_parity(&words_to_bytes(&data)));
    let ev = program(&mut ctrl, &mut e, &parity, CONF_READ_OPCODE);
    assert_eq!(ev.command, None);
    assert_eq!(e.block_words(3), vec![0; 8]);
    let ev = program(&mut ctrl, &mut e, &[1, 2, 3], CONF_WRITE_OPCODE);
    assert_eq!(ev.command, Some(ControllerCommand::Program));
    assert_eq!(ev.coding_errors, vec![3]);
    assert!(ev.programmed.is_empty());
    assert_eq!(e.block_words(3), vec![0; 8]);
    // the block's fail bit in RD_RS_ERR0 where espefuse reads it (ESP32-C3:
    // BLOCK3's is bit 15, esp32c3/mem_definition.py BLOCK_FAIL_BIT)
    assert_eq!(ctrl.read(&e, base + 0x1C0), Some(1 << 15));
    assert_eq!(
        e.block_errors(),
        vec![crate::backend::BlockErrors {
            block: 3,
            num_errors: 0,
            fail: true
        }]
    );
    let ev = program(&mut ctrl, &mut e, &parity, CONF_WRITE_OPCODE);
    assert_eq!(ev.programmed, vec![3]);
    assert_eq!(e.block_words(3), data);
    // data registers are cleared, the parity stays (as espefuse's emulator leaves it)
    assert_eq!(ctrl.read(&e, base), Some(0));
    assert_eq!(ctrl.read(&e, base + 0x20), Some(parity[0]));
    assert_eq!(ctrl.read(&e, base + 0x1D4), Some(0));
}

/// ESP32 3/4 coding: 6 data bytes per 8 encoded; a bad check byte burns
/// nothing in that block.
#[test]
fn esp32_three_quarter_coding_is_decoded_and_checked() {
    let base = 0x3FF5_A000;
    let mut e = Efuses::new(Chip::Esp32);
    e.burn(Field::CodingScheme, Burn::Bits(1)).unwrap();
    assert!(e.coding_is_34());
    let mut ctrl = EfuseController::new(Chip::Esp32);
    let data: Vec<u8> = (1..=24).collect();
    let mut encoded = Vec::new();
    for chunk in data.chunks(6) {
        encoded.extend_from_slice(chunk);
        encoded.push(chunk.iter().fold(0, |x, b| x ^ b));
        encoded.push(
            (1..)
                .zip(chunk)
                .map(|(i, b)| i * b.count_ones() as u8)
                .sum(),
        );
    }
    let words = bytes_to_words(&encoded);
    let burn = |ctrl: &mut EfuseController, e: &mut Efuses, words: &[u32]| {
        for (i, w) in words.iter().enumerate() {
            ctrl.write(e, base + 0xD8 + 4 * i as u32, *w).unwrap();
        }
        ctrl.write(e, base + 0xFC, CONF_WRITE_OPCODE).unwrap();
        ctrl.write(e, base + 0x104, CMD_PROGRAM).unwrap()
    };
    let mut bad = words.clone();
    bad[1] ^= 1 << 24; // the first chunk's XOR byte
    let ev = burn(&mut ctrl, &mut e, &bad);
    assert_eq!(ev.coding_errors, vec![3]);
    assert_eq!(e.block_bytes(3), vec![0; 24]);
    let ev = burn(&mut ctrl, &mut e, &words);
    assert_eq!(ev.programmed, vec![3]);
    assert_eq!(e.block_bytes(3), data);
    assert_eq!(
        ctrl.read(&e, base + 0xD8),
        Some(0),
        "write registers cleared"
    );
}

/// RD_DIS programmed over the controller hides a key that was burned
/// readable (even in an earlier session, loaded from a file) and keeps it
/// for the hardware.
#[test]
fn read_protection_captures_the_key_for_the_hardware() {
    let mut e = Efuses::new(Chip::Esp32c3);
    let key: Vec<u8> = (0..32).collect();
    e.stage_keys(
        &[KeyGroup::new(
            KeyBlock::BlockKey0,
            KeyPurpose::XtsAes128Key,
            &key,
        )],
        KeyOptions {
            no_read_protect: true,
            no_write_protect: true,
        },
    )
    .unwrap();
    e.commit().unwrap();
    // through a file: the hardware copy is gone, only the image remains
    let mut e = {
        let mut fresh = Efuses::new(Chip::Esp32c3);
        fresh.set_register_image(e.register_image().to_vec());
        fresh
    };
    assert!(e.hidden_blocks().is_empty());
    let mut ctrl = EfuseController::new(Chip::Esp32c3);
    let base = 0x6000_8800;
    ctrl.write(&mut e, base + 4, 1).unwrap(); // BLOCK0 word 1 bit 0: RD_DIS of BLOCK_KEY0
    ctrl.write(&mut e, base + 0x1CC, CONF_WRITE_OPCODE).unwrap();
    let ev = ctrl.write(&mut e, base + 0x1D4, CMD_PROGRAM).unwrap();
    assert_eq!(ev.programmed, vec![0]);
    assert!(ev.read_protection_changed);
    assert_eq!(ctrl.read(&e, base + 0x9C), Some(0));
    let hidden = e.hidden_blocks();
    assert_eq!(hidden.len(), 1);
    assert_eq!(hidden[0].0, 4);
    let mut reversed = key.clone();
    reversed.reverse();
    assert_eq!(&hidden[0].1[..], &reversed[..]);
    assert_eq!(
        e.flash_encryption_key().unwrap().unwrap().as_slice(),
        &key[..]
    );
}

/// Secure Download Mode and DIS_DOWNLOAD_MODE apply at the read command
/// that loads them; the ESP32's UART_DOWNLOAD_DIS at the next reset.
#[test]
fn download_mode_changes_when_the_rom_rereads() {
    let read = |ctrl: &mut EfuseController, e: &mut Efuses| {
        let t = e.table();
        let conf = t.base_addr + ctrl.layout.conf as u32;
        let cmd = t.base_addr + ctrl.layout.cmd as u32;
        ctrl.write(e, conf, CONF_READ_OPCODE).unwrap();
        ctrl.write(e, cmd, CMD_READ).unwrap()
    };
    let mut e = Efuses::new(Chip::Esp32c3);
    let mut ctrl = EfuseController::new(Chip::Esp32c3);
    ctrl.reset(&e);
    assert_eq!(read(&mut ctrl, &mut e).download_mode, None);
    e.burn(Field::EnableSecurityDownload, Burn::All).unwrap();
    assert!(e.secure_download_enabled());
    let ev = read(&mut ctrl, &mut e);
    assert_eq!(ev.command, Some(ControllerCommand::Read));
    assert!(ev.should_save());
    assert_eq!(ev.download_mode, Some(DownloadMode::Secure));
    e.burn(Field::DisDownloadMode, Burn::All).unwrap();
    assert_eq!(
        read(&mut ctrl, &mut e).download_mode,
        Some(DownloadMode::Disabled)
    );
    assert_eq!(ctrl.download_mode(), DownloadMode::Disabled);

    let mut e = Efuses::new(Chip::Esp32);
    let mut ctrl = EfuseController::new(Chip::Esp32);
    ctrl.reset(&e);
    e.burn(Field::UartDownloadDis, Burn::All).unwrap();
    assert!(e.download_mode_disabled());
    assert!(!e.secure_download_enabled());
    assert_eq!(read(&mut ctrl, &mut e).download_mode, None);
    assert_eq!(ctrl.download_mode(), DownloadMode::Enabled);
    ctrl.reset(&e);
    assert_eq!(ctrl.download_mode(), DownloadMode::Disabled);
}
