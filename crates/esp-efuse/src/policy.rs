//! Which eFuse holds what on each chip: the one place that knows the
//! per-chip security layout. The espefuse command line, the virtual chip's
//! ROM and first boot, and the demo all ask here.
//!
//! | | ESP32 | ESP32-C2 | S2, S3, C3, C6, H2 |
//! |---|---|---|---|
//! | Secure Boot enable | `ABS_DONE_1` | `SECURE_BOOT_EN` | `SECURE_BOOT_EN` |
//! | Secure Boot V2 digests | one, BLOCK2 | one, first 128 bits in BLOCK_KEY0's high half | three, any key block with purpose `SECURE_BOOT_DIGESTn` |
//! | flash-encryption counter | `FLASH_CRYPT_CNT` | `SPI_BOOT_CRYPT_CNT` | `SPI_BOOT_CRYPT_CNT` |
//! | flash-encryption key | 256 bits, BLOCK1 (`flash_encryption`) | 128 (derived) or 256 bits, BLOCK_KEY0 | 256 bits (S2/S3 also 512 over two blocks), any key block |
//!
//! Sources: espefuse 5.6.0 `<chip>/operations.py` (`burn_key`,
//! `burn_key_digest`), ESP-IDF's bootloader (`secure_boot.c`,
//! `flash_encrypt.c`: what the first boot burns) and esptool.md §4.4.

use zeroize::Zeroizing;

use crate::error::EfuseError;
use crate::model::{Efuses, KeyGroup};
use crate::tables::{Chip, Field, KeyBlock, KeyPurpose};

/// The field that turns Secure Boot V2 on.
pub fn secure_boot_enable(chip: Chip) -> Field {
    match chip {
        Chip::Esp32 => Field::AbsDone1,
        _ => Field::SecureBootEn,
    }
}

/// How many Secure Boot V2 key digests the ROM trusts at once.
pub fn secure_boot_digest_slots(chip: Chip) -> usize {
    match chip {
        Chip::Esp32 | Chip::Esp32c2 => 1,
        _ => 3,
    }
}

/// Where a Secure Boot V2 digest goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DigestSlot {
    /// The block, when the chip fixes it; `None`: the first free key block.
    pub block: Option<KeyBlock>,
    /// The purpose it is burned with (`None` on the ESP32).
    pub purpose: Option<KeyPurpose>,
    /// Digest bytes the ROM compares (the ESP32-C2 keeps the first 16).
    pub len: usize,
    /// The field that revokes it, on chips that can revoke digests.
    pub revoke: Option<Field>,
}

/// Where Secure Boot V2 key digest `index` (0-based) goes; `None` past the
/// chip's [`secure_boot_digest_slots`].
pub fn secure_boot_digest(chip: Chip, index: usize) -> Option<DigestSlot> {
    if index >= secure_boot_digest_slots(chip) {
        return None;
    }
    Some(match chip {
        Chip::Esp32 => DigestSlot {
            block: Some(KeyBlock::SecureBootV2),
            purpose: None,
            len: 32,
            revoke: None,
        },
        Chip::Esp32c2 => DigestSlot {
            block: Some(KeyBlock::BlockKey0),
            purpose: Some(KeyPurpose::SecureBootDigest),
            len: 16,
            revoke: None,
        },
        _ => DigestSlot {
            block: None,
            purpose: Some(
                [
                    KeyPurpose::SecureBootDigest0,
                    KeyPurpose::SecureBootDigest1,
                    KeyPurpose::SecureBootDigest2,
                ][index],
            ),
            len: 32,
            revoke: Some(
                [
                    Field::SecureBootKeyRevoke0,
                    Field::SecureBootKeyRevoke1,
                    Field::SecureBootKeyRevoke2,
                ][index],
            ),
        },
    })
}

/// `burn-key-digest` groups for `digests` (one per signing key, in slot
/// order), each in its slot: the chip's fixed block or the next free key
/// block. Stage them with [`Efuses::stage_key_digests`].
pub fn secure_boot_digest_groups(
    efuses: &Efuses,
    digests: &[[u8; 32]],
) -> Result<Vec<KeyGroup>, EfuseError> {
    let chip = efuses.chip();
    let mut free = efuses.free_key_blocks().into_iter();
    let mut groups = Vec::new();
    for (index, digest) in digests.iter().enumerate() {
        let slot =
            secure_boot_digest(chip, index).ok_or(crate::error::KeyError::TooManyDigests {
                chip,
                max: secure_boot_digest_slots(chip),
            })?;
        let block = match slot.block {
            Some(b) => b,
            None => free.next().ok_or(crate::error::KeyError::NoFreeKeyBlock)?,
        };
        groups.push(KeyGroup {
            block,
            purpose: slot.purpose,
            data: Zeroizing::new(digest.to_vec()),
        });
    }
    Ok(groups)
}

/// A flash-encryption key length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlashKeyLength {
    /// ESP32-C2: 128 key bits, from which the AES block derives its XTS key.
    Derived128,
    /// 256 bits: XTS-AES-128 (ESP32: its AES-256 flash encryption).
    Bits256,
    /// 512 bits: XTS-AES-256 over two key blocks (ESP32-S2, S3).
    Bits512,
}

impl FlashKeyLength {
    /// Key bytes.
    pub fn bytes(self) -> usize {
        match self {
            FlashKeyLength::Derived128 => 16,
            FlashKeyLength::Bits256 => 32,
            FlashKeyLength::Bits512 => 64,
        }
    }
}

/// Where a flash-encryption key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlashKeySlot {
    /// The block, when the chip fixes it; `None`: the first free key block.
    pub block: Option<KeyBlock>,
    /// The purpose it is burned with (`None` on the ESP32).
    pub purpose: Option<KeyPurpose>,
}

/// Where a flash-encryption key of `length` goes on `chip`; `None` when the
/// chip has no such key.
pub fn flash_encryption_key(chip: Chip, length: FlashKeyLength) -> Option<FlashKeySlot> {
    let slot = |block, purpose| Some(FlashKeySlot { block, purpose });
    match (chip, length) {
        // the alias form: espefuse burns it reversed and read-protected
        (Chip::Esp32, FlashKeyLength::Bits256) => slot(Some(KeyBlock::FlashEncryption), None),
        (Chip::Esp32c2, FlashKeyLength::Derived128) => slot(
            Some(KeyBlock::BlockKey0),
            Some(KeyPurpose::XtsAes128KeyDerivedFrom128EfuseBits),
        ),
        (Chip::Esp32c2, FlashKeyLength::Bits256) => {
            slot(Some(KeyBlock::BlockKey0), Some(KeyPurpose::XtsAes128Key))
        }
        (Chip::Esp32s2 | Chip::Esp32s3, FlashKeyLength::Bits512) => {
            slot(None, Some(KeyPurpose::XtsAes256Key))
        }
        (Chip::Esp32 | Chip::Esp32c2, _)
        | (_, FlashKeyLength::Derived128 | FlashKeyLength::Bits512) => None,
        (_, FlashKeyLength::Bits256) => slot(None, Some(KeyPurpose::XtsAes128Key)),
    }
}

/// The `burn-key` group for a flash-encryption key of `key.len()` bytes in
/// its slot (the chip's fixed block or the first free key block).
pub fn flash_encryption_key_group(efuses: &Efuses, key: &[u8]) -> Result<KeyGroup, EfuseError> {
    let chip = efuses.chip();
    let length = match key.len() {
        16 => FlashKeyLength::Derived128,
        32 => FlashKeyLength::Bits256,
        _ => FlashKeyLength::Bits512,
    };
    let slot =
        flash_encryption_key(chip, length).ok_or(crate::error::KeyError::FlashKeyLength {
            chip,
            bytes: key.len(),
        })?;
    let block = match slot.block {
        Some(b) => b,
        None => efuses
            .free_key_blocks()
            .first()
            .copied()
            .ok_or(crate::error::KeyError::NoFreeKeyBlock)?,
    };
    Ok(KeyGroup {
        block,
        purpose: slot.purpose,
        data: Zeroizing::new(key.to_vec()),
    })
}

/// The flash-encryption counter: an odd number of set bits means on.
pub fn crypt_counter(chip: Chip) -> Field {
    match chip {
        Chip::Esp32 => Field::FlashCryptCnt,
        _ => Field::SpiBootCryptCnt,
    }
}

/// The ESP32's key-tweak configuration (`FLASH_CRYPT_CONFIG`, 0xF: every
/// tweak bit in use); the XTS chips have none.
pub fn crypt_config(chip: Chip) -> Option<Field> {
    (chip == Chip::Esp32).then_some(Field::FlashCryptConfig)
}

/// ESP32-C2: set when BLOCK_KEY0 holds a whole 256-bit XTS key rather
/// than 128 bits to derive it from.
pub fn xts_key_length_256(chip: Chip) -> Option<Field> {
    (chip == Chip::Esp32c2).then_some(Field::XtsKeyLength256)
}

/// Fields that, once burned, make the ROM refuse the serial download
/// protocol altogether (esptool.md §4.4: DIS_DOWNLOAD_MODE; ESP32 ≥ v3.0:
/// UART_DOWNLOAD_DIS).
pub fn download_disable(chip: Chip) -> &'static [Field] {
    match chip {
        Chip::Esp32 => &[Field::UartDownloadDis],
        _ => &[Field::DisDownloadMode],
    }
}

/// The field that switches the ROM to Secure Download Mode, in which
/// espefuse refuses to read eFuses (`<chip>/fields.py`, esptool.md §4.4, §5.3).
pub fn secure_download(chip: Chip) -> Option<Field> {
    match chip {
        Chip::Esp32 => None,
        _ => Some(Field::EnableSecurityDownload),
    }
}

/// When the running ROM notices newly burned download-mode eFuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TakesEffect {
    /// After the eFuse read command that loads them: the ROM checks the
    /// eFuse registers after each command (espefuse `<chip>/fields.py`
    /// `efuse_read`, serial.md §5.3).
    AtOnce,
    /// At the next reset: the ESP32's `UART_DOWNLOAD_DIS` is read back by
    /// espefuse in the same session (espefuse base_operations.py "eFuses
    /// will be read for confirmation, but after that connection to the chip
    /// will become impossible").
    AtReset,
}

/// When burning [`download_disable`] or [`secure_download`] fields changes
/// the download mode of a running ROM.
pub fn download_mode_takes_effect(chip: Chip) -> TakesEffect {
    match chip {
        Chip::Esp32 => TakesEffect::AtReset,
        _ => TakesEffect::AtOnce,
    }
}

/// Disables the ROM's encryption of what esptool writes (`--encrypt`).
pub fn manual_encrypt_disable(chip: Chip) -> Field {
    match chip {
        Chip::Esp32 => Field::DisableDlEncrypt,
        _ => Field::DisDownloadManualEncrypt,
    }
}

/// ESP32: disables the ROM's decryption of what esptool reads.
pub fn download_decrypt_disable(chip: Chip) -> Option<Field> {
    (chip == Chip::Esp32).then_some(Field::DisableDlDecrypt)
}

/// Disable the caches in download mode.
pub fn download_cache_disable(chip: Chip) -> &'static [Field] {
    match chip {
        Chip::Esp32 => &[Field::DisableDlCache],
        Chip::Esp32s2 | Chip::Esp32s3 => &[Field::DisDownloadIcache, Field::DisDownloadDcache],
        Chip::Esp32c2 | Chip::Esp32c3 | Chip::Esp32c6 => &[Field::DisDownloadIcache],
        Chip::Esp32h2 => &[],
    }
}

/// Disable JTAG (what the first boot burns unless JTAG stays allowed).
pub fn jtag_disable(chip: Chip) -> &'static [Field] {
    match chip {
        Chip::Esp32 => &[Field::JtagDisable],
        Chip::Esp32s2 => &[Field::SoftDisJtag],
        Chip::Esp32c2 => &[Field::DisPadJtag],
        Chip::Esp32s3 | Chip::Esp32c3 | Chip::Esp32c6 | Chip::Esp32h2 => {
            &[Field::DisPadJtag, Field::DisUsbJtag, Field::SoftDisJtag]
        }
    }
}

/// ESP32: disables the ROM's BASIC console.
pub fn rom_basic_disable(chip: Chip) -> Option<Field> {
    (chip == Chip::Esp32).then_some(Field::ConsoleDebugDisable)
}

/// Revokes every digest slot whose key fails verification.
pub fn aggressive_revoke(chip: Chip) -> Option<Field> {
    match chip {
        Chip::Esp32 | Chip::Esp32c2 => None,
        _ => Some(Field::SecureBootAggressiveRevoke),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tables::ChipEfuses as _;

    /// Every field the policy names exists on its chip, so reading one can
    /// never fall back to "not burned" (the bug of the string lookups).
    #[test]
    fn every_policy_field_exists_on_its_chip() {
        for chip in Chip::ALL {
            let e = Efuses::new(chip);
            let mut fields = vec![
                secure_boot_enable(chip),
                crypt_counter(chip),
                manual_encrypt_disable(chip),
                Field::WrDis,
                Field::RdDis,
                Field::WaferVersionMajor,
                Field::WaferVersionMinor,
            ];
            fields.extend(crypt_config(chip));
            fields.extend(xts_key_length_256(chip));
            fields.extend(download_disable(chip));
            fields.extend(secure_download(chip));
            fields.extend(download_decrypt_disable(chip));
            fields.extend(download_cache_disable(chip));
            fields.extend(jtag_disable(chip));
            fields.extend(rom_basic_disable(chip));
            fields.extend(aggressive_revoke(chip));
            fields.extend(chip.postponed_fields());
            for i in 0..secure_boot_digest_slots(chip) {
                fields.extend(secure_boot_digest(chip, i).unwrap().revoke);
            }
            for f in fields {
                assert!(e.has(f), "{chip} has no {f}");
            }
        }
    }

    #[test]
    fn key_slots_exist_on_their_chips() {
        for chip in Chip::ALL {
            let t = chip.table();
            for i in 0..secure_boot_digest_slots(chip) {
                let slot = secure_boot_digest(chip, i).unwrap();
                if let Some(b) = slot.block {
                    assert!(t.key_block_def(b).is_some(), "{chip}: {b}");
                }
                if let Some(p) = slot.purpose {
                    assert!(t.purpose_def(p).is_some_and(|d| d.digest), "{chip}: {p}");
                }
            }
            assert!(secure_boot_digest(chip, secure_boot_digest_slots(chip)).is_none());
            let lengths = [
                FlashKeyLength::Derived128,
                FlashKeyLength::Bits256,
                FlashKeyLength::Bits512,
            ];
            let mut any = false;
            for len in lengths {
                if let Some(slot) = flash_encryption_key(chip, len) {
                    any = true;
                    if let Some(b) = slot.block {
                        assert!(t.key_block_def(b).is_some(), "{chip}: {b}");
                    }
                    if let Some(p) = slot.purpose {
                        assert!(t.purpose_def(p).is_some(), "{chip}: {p}");
                    }
                }
            }
            assert!(any, "{chip} has no flash-encryption key slot");
        }
    }

    #[test]
    fn digest_groups_fill_free_key_blocks_in_order() {
        let mut e = Efuses::new(Chip::Esp32c3);
        let key = flash_encryption_key_group(&e, &[7; 32]).unwrap();
        assert_eq!(key.block, KeyBlock::BlockKey0);
        e.stage_keys(&[key], crate::KeyOptions::default()).unwrap();
        e.commit().unwrap();
        let groups = secure_boot_digest_groups(&e, &[[1; 32], [2; 32]]).unwrap();
        let placed: Vec<_> = groups.iter().map(|g| (g.block, g.purpose)).collect();
        assert_eq!(
            placed,
            [
                (KeyBlock::BlockKey1, Some(KeyPurpose::SecureBootDigest0)),
                (KeyBlock::BlockKey2, Some(KeyPurpose::SecureBootDigest1)),
            ]
        );
        assert!(secure_boot_digest_groups(&e, &[[1; 32]; 4]).is_err());
    }
}
