//! Burn semantics of the model (espefuse's rules, esptool.md §4.3-§4.5).
//! Byte compatibility with espefuse itself is tested in
//! crates/espboot/tests/efuse_interop.rs.
#![allow(clippy::unwrap_used)]

use crate::{virt, Bits, Chip, ChipAccess, EfuseError, Efuses, KeyGroup, KeyOptions};

fn key(block: &str, data: &[u8], purpose: &str) -> KeyGroup {
    KeyGroup {
        block: block.into(),
        data: data.to_vec(),
        purpose: purpose.into(),
    }
}

fn burn(e: &mut Efuses) {
    assert!(e.plan_burn().unwrap());
    e.execute_burn().unwrap();
}

fn counting(start: u8) -> Vec<u8> {
    (start..start + 32).collect()
}

#[test]
fn bits_only_go_from_zero_to_one() {
    let mut e = Efuses::new(Chip::Esp32c3);
    let f = e.field("KEY_PURPOSE_1").unwrap();
    e.stage(f, Bits::from_u64(4, 9).unwrap()).unwrap();
    burn(&mut e);
    let err = e.stage(f, Bits::from_u64(4, 4).unwrap()).unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot be cleared (value will be 0xd)"),
        "{err}"
    );
    // a subset of what is burned is a no-op, not an error
    e.stage(f, Bits::from_u64(4, 8).unwrap()).unwrap();
    assert!(!e.has_staged());
}

#[test]
fn rs_coded_key_blocks_are_written_once() {
    let mut e = Efuses::new(Chip::Esp32c3);
    let opts = KeyOptions {
        no_write_protect: true,
        ..KeyOptions::default()
    };
    e.burn_key(
        &[key("BLOCK_KEY1", &counting(1), "HMAC_UP")],
        KeyOptions {
            no_read_protect: true,
            ..opts
        },
    )
    .unwrap();
    burn(&mut e);
    let blk = e.field("BLOCK_KEY1").unwrap();
    let mut other = counting(1);
    other[0] |= 0x80;
    e.stage(blk, Bits::from_bytes(&other)).unwrap();
    let err = e.plan_burn().unwrap_err();
    assert!(
        err.to_string()
            .contains("RS coding scheme does not allow this"),
        "{err}"
    );
}

#[test]
fn write_protected_fields_refuse_burns() {
    let mut e = Efuses::new(Chip::Esp32c3);
    let rd = e.field("RD_DIS").unwrap();
    e.disable_write(rd).unwrap();
    burn(&mut e);
    let err = e.stage(rd, Bits::from_u64(7, 2).unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("RD_DIS is write-protected"),
        "{err}"
    );
}

#[test]
fn xts_keys_are_reversed_and_read_protected_digests_are_not() {
    let mut e = Efuses::new(Chip::Esp32s3);
    let fe = counting(0x40);
    let digest = counting(0x80);
    e.burn_key(
        &[
            key("BLOCK_KEY0", &fe, "XTS_AES_128_KEY"),
            key("BLOCK_KEY1", &digest, "SECURE_BOOT_DIGEST0"),
        ],
        KeyOptions::default(),
    )
    .unwrap();
    burn(&mut e);
    // read-protected: reads as zeros, and the virtual file does not hold it
    assert!(!e.is_block_readable(4));
    assert_eq!(e.block_bytes(4), vec![0; 32]);
    assert_eq!(e.block_bytes(5), digest, "digests are stored in file order");
    let kp = e.field("KEY_PURPOSE_1").unwrap();
    assert!(
        !e.is_writeable(kp),
        "purposes are write-protected with their keys"
    );

    let mut open = Efuses::new(Chip::Esp32s3);
    open.burn_key(
        &[key("BLOCK_KEY0", &fe, "XTS_AES_128_KEY")],
        KeyOptions {
            no_read_protect: true,
            ..KeyOptions::default()
        },
    )
    .unwrap();
    burn(&mut open);
    let mut rev = fe.clone();
    rev.reverse();
    assert_eq!(
        open.block_bytes(4),
        rev,
        "XTS keys are stored byte-reversed"
    );
}

#[test]
fn block9_refuses_xts_purposes_on_quirky_chips_only() {
    for (chip, refused) in [
        (Chip::Esp32c3, true),
        (Chip::Esp32s3, true),
        (Chip::Esp32c6, true),
        (Chip::Esp32s2, false),
    ] {
        let mut e = Efuses::new(chip);
        let r = e.burn_key(
            &[key("BLOCK_KEY5", &counting(0), "XTS_AES_128_KEY")],
            KeyOptions::default(),
        );
        assert_eq!(r.is_err(), refused, "{chip}: {r:?}");
        if let Err(err) = r {
            assert!(err.to_string().contains("hardware bug"), "{err}");
        }
    }
}

#[test]
fn xts_aes_256_key_takes_two_free_blocks() {
    let mut e = Efuses::new(Chip::Esp32s3);
    let k: Vec<u8> = (0..64).collect();
    e.burn_key(
        &[key("BLOCK_KEY4", &k, "XTS_AES_256_KEY")],
        KeyOptions::default(),
    )
    .unwrap_err(); // second half lands on BLOCK9
    let mut e = Efuses::new(Chip::Esp32s3);
    e.burn_key(
        &[key("BLOCK_KEY2", &k, "XTS_AES_256_KEY")],
        KeyOptions::default(),
    )
    .unwrap();
    burn(&mut e);
    let p2 = e.field("KEY_PURPOSE_2").unwrap();
    let p3 = e.field("KEY_PURPOSE_3").unwrap();
    assert_eq!(e.get(p2).to_string(), "XTS_AES_256_KEY_1");
    assert_eq!(e.get(p3).to_string(), "XTS_AES_256_KEY_2");
}

#[test]
fn block0_protection_bits_are_burned_in_a_second_pass() {
    let mut e = Efuses::new(Chip::Esp32c3);
    let f = e.field("DIS_ICACHE").unwrap();
    e.stage(f, Bits::from_u64(1, 1).unwrap()).unwrap();
    e.disable_write(f).unwrap();
    assert!(e.plan_burn().unwrap());
    e.execute_burn().unwrap();
    let log = e.take_log();
    let first = log
        .iter()
        .position(|l| l.starts_with("BURN BLOCK0"))
        .unwrap();
    let postponed = log
        .iter()
        .position(|l| l == "Burn postponed eFuses from BLOCK0.")
        .unwrap();
    assert!(first < postponed);
    assert_eq!(e.raw(f), 1);
    assert!(!e.is_writeable(f));
}

#[test]
fn download_lock_refuses_port_access_but_not_the_virtual_file() {
    let mut e = Efuses::new(Chip::Esp32c3);
    e.check_access(ChipAccess::Port).unwrap();
    let f = e.field("ENABLE_SECURITY_DOWNLOAD").unwrap();
    e.stage(f, Bits::from_u64(1, 1).unwrap()).unwrap();
    burn(&mut e);
    assert!(matches!(
        e.check_access(ChipAccess::Port),
        Err(EfuseError::SecureDownloadMode)
    ));
    e.check_access(ChipAccess::VirtualFile).unwrap();

    let mut e = Efuses::new(Chip::Esp32);
    let f = e.field("UART_DOWNLOAD_DIS").unwrap();
    e.stage(f, Bits::from_u64(1, 1).unwrap()).unwrap();
    burn(&mut e);
    assert!(matches!(
        e.check_access(ChipAccess::Port),
        Err(EfuseError::DownloadModeDisabled("UART_DOWNLOAD_DIS"))
    ));
    e.check_access(ChipAccess::VirtualFile).unwrap();
}

#[test]
fn virtual_file_round_trips_and_rejects_other_chips() {
    let mut e = Efuses::new(Chip::Esp32c3);
    e.burn_key(
        &[key("BLOCK_KEY1", &counting(7), "HMAC_UP")],
        KeyOptions::default(),
    )
    .unwrap();
    burn(&mut e);
    let file = virt::to_file_bytes(&e);
    assert_eq!(file.len(), 0x200);
    let back = virt::load(Chip::Esp32c3, Some(&file)).unwrap();
    assert!(back.grown_file.is_none());
    assert_eq!(back.efuses.register_image(), e.register_image());
    assert!(matches!(
        virt::load(Chip::Esp32, Some(&file)),
        Err(EfuseError::ChipMismatch(_))
    ));
    assert!(matches!(
        virt::load(Chip::Esp32s3, Some(&file)),
        Err(EfuseError::ChipMismatch(_))
    ));
    // a missing file starts empty and is grown the way espefuse grows it
    let fresh = virt::load(Chip::Esp32, None).unwrap();
    assert_eq!(fresh.grown_file.unwrap().len(), 0x120);
}

#[test]
fn unknown_fields_suggest_close_names() {
    let e = Efuses::new(Chip::Esp32c3);
    let err = e.field("SPI_BOOT_CRYPTCNT").unwrap_err();
    assert!(err.to_string().contains("SPI_BOOT_CRYPT_CNT"), "{err}");
}

#[test]
fn rom_view_of_security_state_and_hardware_keys() {
    let mut e = Efuses::new(Chip::Esp32c3);
    let fe = counting(0x40);
    let digest = counting(0x80);
    e.burn_key(
        &[
            key("BLOCK_KEY0", &fe, "XTS_AES_128_KEY"),
            key("BLOCK_KEY1", &digest, "SECURE_BOOT_DIGEST0"),
        ],
        KeyOptions::default(),
    )
    .unwrap();
    let cnt = e.field("SPI_BOOT_CRYPT_CNT").unwrap();
    e.stage(cnt, Bits::from_u64(3, 1).unwrap()).unwrap();
    burn(&mut e);
    assert!(e.flash_encryption_enabled());
    assert!(!e.secure_boot_v2_enabled());
    assert_eq!(
        e.blocks_with_purpose(crate::KeyPurpose::XtsAes128Key),
        vec![4]
    );
    assert_eq!(e.secure_boot_digests(), vec![digest]);
    // software reads zeros, the AES-XTS peripheral reads the (reversed) key
    assert_eq!(e.block_bytes(4), vec![0; 32]);
    let mut rev = fe;
    rev.reverse();
    assert_eq!(e.hardware_block_bytes(4), rev);
    let revoke = e.field("SECURE_BOOT_KEY_REVOKE0").unwrap();
    e.stage(revoke, Bits::from_u64(1, 1).unwrap()).unwrap();
    burn(&mut e);
    assert!(e.secure_boot_digests().is_empty());
}
