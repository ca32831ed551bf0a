//! Burn semantics of the model (espefuse's rules, esptool.md §4.3-§4.5).
//! Byte compatibility with espefuse itself is tested in
//! crates/espboot/tests/interop/efuse.rs.
#![allow(clippy::unwrap_used)]

use crate::{
    espefuse, Bits, Burn, Chip, ChipAccess, ChipEfuses as _, EfuseError, Efuses, Field, FieldClass,
    FileError, KeyBlock, KeyGroup, KeyOptions, KeyPurpose, VirtualFile,
};
use espefuse::ForceWrite;

fn key(block: KeyBlock, data: &[u8], purpose: KeyPurpose) -> KeyGroup {
    KeyGroup::new(block, purpose, data)
}

fn burn(e: &mut Efuses) {
    assert!(e.commit().unwrap());
}

fn counting(start: u8) -> Vec<u8> {
    (start..start + 32).collect()
}

/// Stages `bits` for `field` as `burn-efuse` does (the new value must
/// contain the burned bits).
fn stage_exact(e: &mut Efuses, field: Field, bits: Bits) -> Result<(), EfuseError> {
    let i = e.index(field).unwrap();
    e.stage_at(i, bits, ForceWrite::Unavailable, &mut ())
}

#[test]
fn bits_only_go_from_zero_to_one() {
    let mut e = Efuses::new(Chip::Esp32c3);
    let f = Field::KeyPurpose1;
    stage_exact(&mut e, f, Bits::from_u64(4, 9).unwrap()).unwrap();
    burn(&mut e);
    let err = stage_exact(&mut e, f, Bits::from_u64(4, 4).unwrap()).unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot be cleared (value will be 0xd)"),
        "{err}"
    );
    assert!(matches!(
        err,
        EfuseError::Check {
            check: crate::BurnCheck::BitsCannotBeCleared {
                field: crate::FieldName::Chip(Field::KeyPurpose1),
                ..
            },
            hint: false
        }
    ));
    // a subset of what is burned is a no-op, not an error
    stage_exact(&mut e, f, Bits::from_u64(4, 8).unwrap()).unwrap();
    assert!(!e.has_staged());
    // the typed burn sets bits and never clears any
    assert!(!e.burn(f, Burn::Bits(8)).unwrap());
    assert!(e.burn(f, Burn::Bits(4)).unwrap());
    assert_eq!(e.raw(f).unwrap(), 0xd);
}

#[test]
fn rs_coded_key_blocks_are_written_once() {
    let mut e = Efuses::new(Chip::Esp32c3);
    let opts = KeyOptions {
        no_write_protect: true,
        no_read_protect: true,
    };
    e.stage_keys(
        &[key(KeyBlock::BlockKey1, &counting(1), KeyPurpose::HmacUp)],
        opts,
    )
    .unwrap();
    burn(&mut e);
    let mut other = counting(1);
    other[0] |= 0x80;
    stage_exact(&mut e, Field::BlockKey1, Bits::from_bytes(&other)).unwrap();
    let before = e.register_image().to_vec();
    let err = e.commit().unwrap_err();
    assert!(
        err.to_string()
            .contains("RS coding scheme does not allow this"),
        "{err}"
    );
    assert_eq!(e.register_image(), before, "a refused commit burns nothing");
    assert!(!e.has_staged(), "and leaves nothing staged");
}

#[test]
fn write_protected_fields_refuse_burns() {
    let mut e = Efuses::new(Chip::Esp32c3);
    e.stage_write_protect(Field::RdDis).unwrap();
    burn(&mut e);
    let err = stage_exact(&mut e, Field::RdDis, Bits::from_u64(7, 2).unwrap()).unwrap_err();
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
    e.stage_keys(
        &[
            key(KeyBlock::BlockKey0, &fe, KeyPurpose::XtsAes128Key),
            key(KeyBlock::BlockKey1, &digest, KeyPurpose::SecureBootDigest0),
        ],
        KeyOptions::default(),
    )
    .unwrap();
    burn(&mut e);
    // read-protected: reads as zeros, and the virtual file does not hold it
    assert!(!e.is_block_readable(4));
    assert_eq!(e.block_bytes(4), vec![0; 32]);
    assert_eq!(e.block_bytes(5), digest, "digests are stored in file order");
    assert!(
        !e.is_writeable(Field::KeyPurpose1).unwrap(),
        "purposes are write-protected with their keys"
    );

    let mut open = Efuses::new(Chip::Esp32s3);
    open.stage_keys(
        &[key(KeyBlock::BlockKey0, &fe, KeyPurpose::XtsAes128Key)],
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
        let r = e.stage_keys(
            &[key(
                KeyBlock::BlockKey5,
                &counting(0),
                KeyPurpose::XtsAes128Key,
            )],
            KeyOptions::default(),
        );
        assert_eq!(r.is_err(), refused, "{chip}: {r:?}");
        if let Err(err) = r {
            assert!(err.to_string().contains("hardware bug"), "{err}");
            assert!(matches!(err, EfuseError::Block9Quirk { .. }));
        }
    }
}

#[test]
fn xts_aes_256_key_takes_two_free_blocks() {
    let mut e = Efuses::new(Chip::Esp32s3);
    let k: Vec<u8> = (0..64).collect();
    e.stage_keys(
        &[key(KeyBlock::BlockKey4, &k, KeyPurpose::XtsAes256Key)],
        KeyOptions::default(),
    )
    .unwrap_err(); // second half lands on BLOCK9
    let mut e = Efuses::new(Chip::Esp32s3);
    e.stage_keys(
        &[key(KeyBlock::BlockKey2, &k, KeyPurpose::XtsAes256Key)],
        KeyOptions::default(),
    )
    .unwrap();
    burn(&mut e);
    assert_eq!(
        e.get(Field::KeyPurpose2).unwrap().to_string(),
        "XTS_AES_256_KEY_1"
    );
    assert_eq!(
        e.get(Field::KeyPurpose3).unwrap().to_string(),
        "XTS_AES_256_KEY_2"
    );
}

#[test]
fn block0_protection_bits_are_burned_in_a_second_pass() {
    let mut e = Efuses::new(Chip::Esp32c3);
    e.stage(Field::DisIcache, Burn::All).unwrap();
    e.stage_write_protect(Field::DisIcache).unwrap();
    let (any, _) = espefuse::plan(&mut e, ForceWrite::Unavailable).unwrap();
    assert!(any);
    let log = espefuse::burn(&mut e, ForceWrite::Unavailable).unwrap();
    let first = log
        .lines()
        .iter()
        .position(|l| l.starts_with("BURN BLOCK0"))
        .unwrap();
    let postponed = log
        .lines()
        .iter()
        .position(|l| l == "Burn postponed eFuses from BLOCK0.")
        .unwrap();
    assert!(first < postponed);
    assert_eq!(e.raw(Field::DisIcache).unwrap(), 1);
    assert!(!e.is_writeable(Field::DisIcache).unwrap());
}

#[test]
fn download_lock_refuses_port_access_but_not_the_virtual_file() {
    let mut e = Efuses::new(Chip::Esp32c3);
    e.check_access(ChipAccess::Port).unwrap();
    e.burn(Field::EnableSecurityDownload, Burn::All).unwrap();
    assert!(matches!(
        e.check_access(ChipAccess::Port),
        Err(EfuseError::SecureDownloadMode)
    ));
    e.check_access(ChipAccess::VirtualFile).unwrap();

    let mut e = Efuses::new(Chip::Esp32);
    e.burn(Field::UartDownloadDis, Burn::All).unwrap();
    assert!(matches!(
        e.check_access(ChipAccess::Port),
        Err(EfuseError::DownloadModeDisabled(Field::UartDownloadDis))
    ));
    e.check_access(ChipAccess::VirtualFile).unwrap();
}

#[test]
fn virtual_file_round_trips_and_strictly_rejects_other_chips() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Efuses::new(Chip::Esp32c3);
    e.stage_keys(
        &[key(KeyBlock::BlockKey1, &counting(7), KeyPurpose::HmacUp)],
        KeyOptions::default(),
    )
    .unwrap();
    burn(&mut e);
    let file = VirtualFile::espefuse(dir.path().join("c3.bin"));
    file.save(&e).unwrap();
    assert_eq!(std::fs::read(file.path()).unwrap().len(), 0x200);
    let back = file.load(Chip::Esp32c3).unwrap().unwrap();
    assert_eq!(back.register_image(), e.register_image());
    // read as espefuse reads it: the first bytes, whatever chip wrote them
    assert!(file.load(Chip::Esp32).unwrap().is_some());
    assert!(file.load(Chip::Esp32s3).unwrap().is_some());
    // read strictly: another size, another family's controller registers
    let strict = file.clone().strict();
    assert!(matches!(
        strict.load(Chip::Esp32),
        Err(EfuseError::File(FileError::Size { .. }))
    ));
    assert!(matches!(
        strict.load(Chip::Esp32s3),
        Err(EfuseError::File(FileError::OtherChip { .. }))
    ));
    // a missing file starts empty and is grown the way espefuse grows it
    let missing = VirtualFile::espefuse(dir.path().join("esp32.bin"));
    assert!(missing.load(Chip::Esp32).unwrap().is_none());
    missing.open(Chip::Esp32).unwrap();
    assert_eq!(std::fs::read(missing.path()).unwrap().len(), 0x120);
}

#[test]
fn unknown_fields_suggest_close_names() {
    let err = espefuse::field(Chip::Esp32c3, "SPI_BOOT_CRYPTCNT").unwrap_err();
    assert!(err.to_string().contains("SPI_BOOT_CRYPT_CNT"), "{err}");
}

/// `raw()` of a field the chip lacks once read 0, i.e. "not burned"; it is
/// an error now, and names below the command line are compile-time
/// handles (a misspelling does not compile: see `Efuses::bits`).
#[test]
fn regression_unknown_field_reads_as_not_burned() {
    let e = Efuses::new(Chip::Esp32c3);
    assert!(matches!(
        e.raw(Field::FlashCryptCnt),
        Err(EfuseError::NotOnChip {
            field: Field::FlashCryptCnt,
            chip: Chip::Esp32c3
        })
    ));
    assert!(matches!(
        e.clone().burn(Field::AbsDone1, Burn::All),
        Err(EfuseError::NotOnChip { .. })
    ));
}

/// The inputs of calculated fields and of `summary`'s flash-voltage line
/// exist wherever they are read.
#[test]
fn calculated_fields_have_their_inputs() {
    for chip in Chip::ALL {
        let e = Efuses::new(chip);
        for f in chip.table().fields {
            let inputs: &[Field] = match f.class {
                FieldClass::Wafer if chip == Chip::Esp32 => {
                    &[Field::ChipVerRev1, Field::ChipVerRev2]
                }
                FieldClass::Wafer => &[Field::WaferVersionMinorHi, Field::WaferVersionMinorLo],
                FieldClass::Package => &[Field::ChipPackage4bit, Field::ChipPackage],
                FieldClass::PsramCap => &[Field::PsramCap3, Field::PsramCap],
                _ => &[],
            };
            for input in inputs {
                assert!(e.has(*input), "{chip}: {} needs {input}", f.name());
            }
        }
        let voltage: &[Field] = match chip {
            Chip::Esp32 => &[Field::XpdSdioForce, Field::XpdSdioReg, Field::XpdSdioTieh],
            Chip::Esp32s2 | Chip::Esp32s3 => {
                &[Field::VddSpiForce, Field::VddSpiXpd, Field::VddSpiTieh]
            }
            _ => &[],
        };
        for f in voltage {
            assert!(e.has(*f), "{chip}: {f}");
        }
    }
}

#[test]
fn rom_view_of_security_state_and_hardware_keys() {
    let mut e = Efuses::new(Chip::Esp32c3);
    let fe = counting(0x40);
    let digest = counting(0x80);
    e.stage_keys(
        &[
            key(KeyBlock::BlockKey0, &fe, KeyPurpose::XtsAes128Key),
            key(KeyBlock::BlockKey1, &digest, KeyPurpose::SecureBootDigest0),
        ],
        KeyOptions::default(),
    )
    .unwrap();
    e.stage(Field::SpiBootCryptCnt, Burn::Bits(1)).unwrap();
    burn(&mut e);
    assert!(e.flash_encryption_enabled());
    assert!(!e.secure_boot_v2_enabled());
    assert_eq!(e.blocks_with_purpose(KeyPurpose::XtsAes128Key), vec![4]);
    assert_eq!(e.secure_boot_digests(), vec![digest]);
    // software reads zeros, the AES-XTS peripheral reads the (reversed) key
    assert_eq!(e.block_bytes(4), vec![0; 32]);
    let mut rev = fe.clone();
    rev.reverse();
    assert_eq!(e.hardware_block_bytes(4), rev);
    assert_eq!(e.flash_encryption_key().unwrap().as_deref(), Some(&fe));
    e.burn(Field::SecureBootKeyRevoke0, Burn::All).unwrap();
    assert!(e.secure_boot_digests().is_empty());
}

#[test]
fn custom_key_purposes_exist_only_where_espefuse_has_them() {
    let c6 = Chip::Esp32c6.table();
    let used = c6.key_purposes.iter().map(|p| p.value).max().unwrap();
    let free = u8::try_from(used + 1).unwrap();
    assert!(c6.purpose_def(KeyPurpose::Custom(free)).is_some());
    assert!(
        c6.purpose_def(KeyPurpose::Custom(1)).is_none(),
        "1 is a named purpose"
    );
    assert!(c6
        .purpose_def(KeyPurpose::CustomDigest(free))
        .is_some_and(|p| p.digest));
    assert!(Chip::Esp32c3
        .table()
        .purpose_def(KeyPurpose::Custom(free))
        .is_none());
    assert_eq!(
        KeyPurpose::from_name("CUSTOM_DIGEST_14"),
        Some(KeyPurpose::CustomDigest(14))
    );
    assert_eq!(KeyPurpose::from_name("CUSTOM_014"), None);
    assert_eq!(KeyPurpose::CustomMax.to_string(), "CUSTOM_MAX");
}

/// GET_SECURITY_INFO follows the burns (serial.md §3.2).
#[test]
fn security_info_follows_the_burns() {
    use crate::SecurityInfo;
    let mut e = Efuses::new(Chip::Esp32c3);
    assert_eq!(e.security_info().flags, 0);
    e.burn(Field::EnableSecurityDownload, Burn::All).unwrap();
    e.burn(Field::SpiBootCryptCnt, Burn::NextBit).unwrap();
    e.burn(Field::KeyPurpose1, Burn::Bits(4)).unwrap();
    let info = e.security_info();
    assert_eq!(info.flags, SecurityInfo::SECURE_DOWNLOAD_ENABLE);
    assert_eq!(info.flash_crypt_cnt, 1);
    assert_eq!(info.key_purposes, [0, 4, 0, 0, 0, 0, 0]);
    // the ESP32-C2 has no key purposes: zeros
    let c2 = Efuses::new(Chip::Esp32c2);
    assert_eq!(c2.security_info().key_purposes, [0; 7]);
}

/// What esptool checks before `write-flash --encrypt`: a key is burned
/// (by purpose, or on the ESP32 by BLOCK1 being read-protected or
/// non-zero), and the ESP32's FLASH_CRYPT_CONFIG.
#[test]
fn flash_encryption_key_burned_as_esptool_decides() {
    for chip in [
        Chip::Esp32,
        Chip::Esp32c2,
        Chip::Esp32c3,
        Chip::Esp32s3,
        Chip::Esp32c6,
    ] {
        let blank = Efuses::new(chip);
        assert!(!blank.flash_encryption_key_burned(), "{chip:?}");
        assert!(!blank.secure_boot_enabled_any(), "{chip:?}");
    }
    let mut e = Efuses::new(Chip::Esp32c3);
    e.stage_keys(
        &[key(
            KeyBlock::BlockKey1,
            &counting(1),
            KeyPurpose::XtsAes128Key,
        )],
        KeyOptions::default(),
    )
    .unwrap();
    burn(&mut e);
    assert!(e.flash_encryption_key_burned());
    assert_eq!(e.flash_crypt_config_for_write(), None);

    let mut e = Efuses::new(Chip::Esp32);
    assert_eq!(e.flash_crypt_config_for_write(), Some(0));
    e.burn(Field::FlashCryptConfig, Burn::Bits(0xF)).unwrap();
    assert_eq!(e.flash_crypt_config_for_write(), Some(0xF));
    // a key burned read-protected reads as zeros but counts
    let group = crate::policy::flash_encryption_key_group(&e, &counting(2)).unwrap();
    e.stage_keys(&[group], KeyOptions::default()).unwrap();
    burn(&mut e);
    assert_eq!(e.block_bytes(1), vec![0; 32]);
    assert!(e.flash_encryption_key_burned());
    e.burn(Field::AbsDone0, Burn::All).unwrap();
    assert!(e.secure_boot_enabled_any());
}

/// `write-flash` reads only [`Efuses::flash_write_check_blocks`] over a
/// port: on every chip, with the flags, a flash-encryption key and the
/// revision burned, those blocks decide every check as the whole register
/// image does.
#[test]
fn flash_write_checks_read_from_their_blocks_alone_decide_as_the_whole_image() {
    use crate::backend::{EfuseBackend as _, Port};
    use crate::controller::EfuseController;
    for chip in Chip::ALL {
        let mut e = Efuses::new(chip);
        for (field, value) in [
            (crate::policy::crypt_counter(chip), 1),
            (crate::policy::manual_encrypt_disable(chip), 1),
            (crate::policy::secure_boot_enable(chip), 1),
            (Field::WaferVersionMinor, 3),
            (Field::WaferVersionMajor, 1),
        ] {
            // calculated or absent on some chips
            let _ = e.burn(field, Burn::Bits(value));
        }
        if let Ok(group) = crate::policy::flash_encryption_key_group(&e, &counting(9)) {
            e.stage_keys(&[group], KeyOptions::default()).unwrap();
            burn(&mut e);
        }
        let checks = |e: &Efuses| {
            (
                e.manual_encrypt_allowed(),
                e.flash_encryption_enabled(),
                e.flash_crypt_config_for_write(),
                e.flash_encryption_key_burned(),
                e.secure_boot_enabled_any(),
                e.chip_revision(),
            )
        };
        let whole = Port::new((EfuseController::new(chip), e.clone()))
            .load(chip)
            .unwrap();
        let blocks = Efuses::flash_write_check_blocks(chip);
        let part = Port::new((EfuseController::new(chip), e.clone()))
            .load_blocks(chip, &blocks)
            .unwrap();
        assert_eq!(checks(&part), checks(&whole), "{chip:?} from {blocks:?}");
        let (manual, enabled, _, key, secure_boot, _) = checks(&whole);
        assert!(
            !manual && enabled && key && secure_boot,
            "{chip:?}: the burns took: {:?}",
            checks(&whole)
        );
    }
}

/// espefuse applies the sign to the integer magnitude before scaling it
/// (`sig * int(mag) * 0.1`): a set sign bit over a zero magnitude reads
/// `0.0`, as espefuse prints it, not `-0.0`.
#[test]
fn regression_temp_sensor_sign_bit_over_zero_reads_0_0() {
    for chip in [Chip::Esp32s2, Chip::Esp32c3, Chip::Esp32h2] {
        // the block is Reed-Solomon coded: one burn per fresh chip
        let read = |magnitude: u64| {
            let mut e = Efuses::new(chip);
            let sign = 1u64 << (e.def(Field::TempCalib).unwrap().bit_len - 1);
            e.burn(Field::TempCalib, Burn::Bits(sign | magnitude))
                .unwrap();
            e.get(Field::TempCalib).unwrap().to_string()
        };
        assert_eq!(read(0), "0.0", "{chip:?}");
        assert_eq!(read(3), "-0.30000000000000004", "{chip:?}");
    }
}

#[test]
fn ecdsa_p192_scalars_fill_the_block_after_zeros_and_force_hardware_k_on_early_h2() {
    let mut e = Efuses::new(Chip::Esp32h2);
    let scalar = counting(1)[..24].to_vec();
    e.stage_keys(
        &[key(KeyBlock::BlockKey0, &scalar, KeyPurpose::EcdsaKey)],
        KeyOptions {
            no_write_protect: true,
            no_read_protect: true,
        },
    )
    .unwrap();
    burn(&mut e);
    // stored reversed for the peripheral: the scalar's last byte first,
    // the 8 zero bytes of padding last
    let mut expected = vec![0u8; 8];
    expected.extend_from_slice(&scalar);
    expected.reverse();
    assert_eq!(e.block_bytes(4), expected);
    assert_eq!(e.get(Field::KeyPurpose0).unwrap().to_string(), "ECDSA_KEY");
    assert_eq!(
        e.get(Field::EcdsaForceUseHardwareK).unwrap().to_string(),
        "True",
        "a blank chip reads as v0.0, which has ECDSA_FORCE_USE_HARDWARE_K"
    );
}
