//! What the chip's hardware reads from its eFuses: the flash-encryption key
//! and configuration the AES block uses, and the Secure Boot V2 digests the
//! ROM trusts. Key material comes from [`Efuses::hardware_block_bytes`],
//! which sees behind read protection.
//!
//! Byte order: espefuse burns AES-XTS keys reversed (`burn-key … XTS_AES_*`,
//! "Reversing byte order for AES-XTS hardware peripheral"), and ESP32 keys
//! reversed when burned through the `flash_encryption` alias (the form the
//! seeds use). The key returned here is therefore in espsecure's key-file
//! order, so the same [`FlashCrypt`] implementation serves `espboot secure
//! encrypt-flash-data` and the chip.

use esp_efuse::{Efuses, KeyPurpose};
use esp_image::Chip;
use esp_secure::flash_encryption::{
    Esp32FlashCrypt, FlashCrypt, FlashCryptError, FlashEncryptionKey, XtsFlashCrypt,
};
use esp_secure::sbv2::SigningScheme;

/// Why the chip's flash encryption cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FuseError {
    /// The counter says "encrypted" but no key block is burned.
    #[error("flash encryption is enabled in eFuse but no flash-encryption key is burned")]
    NoKey,
    /// A key block is burned and read-protected, but its bits were written by
    /// a tool whose file format drops read-protected data.
    #[error(
        "the flash-encryption key in {block} is read-protected and its value is unknown to the \
         simulator (espefuse's virtual file does not keep read-protected bits; burn keys with \
         `espboot sim efuse DEV burn-key …` so the device keeps them)"
    )]
    KeyUnknown { block: String },
    #[error(transparent)]
    Crypt(#[from] FlashCryptError),
}

fn raw(efuses: &Efuses, name: &str) -> u64 {
    efuses.field(name).map(|id| efuses.raw(id)).unwrap_or(0)
}

fn block_name(efuses: &Efuses, block: usize) -> String {
    efuses
        .table()
        .blocks
        .get(block)
        .map_or_else(|| format!("BLOCK{block}"), |b| b.name.to_string())
}

/// The bytes of `block` the hardware sees, or `KeyUnknown` when they are
/// all zero although the block is read-protected.
fn key_bytes(
    efuses: &Efuses,
    block: usize,
    range: std::ops::Range<usize>,
) -> Result<Vec<u8>, FuseError> {
    let all = zeroize::Zeroizing::new(efuses.hardware_block_bytes(block));
    let bytes = all.get(range).unwrap_or(&[]).to_vec();
    if bytes.iter().all(|b| *b == 0) {
        return Err(FuseError::KeyUnknown {
            block: block_name(efuses, block),
        });
    }
    Ok(bytes)
}

/// The flash-encryption key burned in `efuses`, in espsecure key-file byte
/// order; `Ok(None)` when no key block is assigned to flash encryption.
pub fn flash_encryption_key(efuses: &Efuses) -> Result<Option<FlashEncryptionKey>, FuseError> {
    let reversed = |mut v: Vec<u8>| {
        v.reverse();
        let key = FlashEncryptionKey::from_bytes(&v);
        zeroize::Zeroize::zeroize(&mut v);
        key
    };
    match efuses.chip() {
        Chip::Esp32 => {
            // BLOCK1 holds the key; 3/4 coding leaves room for 192 bits.
            let len = if raw(efuses, "CODING_SCHEME") == 1 {
                24
            } else {
                32
            };
            let visible = efuses.block_bytes(1);
            let hw = efuses.hardware_block_bytes(1);
            if hw.iter().chain(visible.iter()).all(|b| *b == 0) && raw(efuses, "RD_DIS") & 1 == 0 {
                return Ok(None);
            }
            Ok(Some(reversed(key_bytes(efuses, 1, 0..len)?)))
        }
        Chip::Esp32c2 => {
            // BLOCK_KEY0: the whole block (XTS_KEY_LENGTH_256) or its low
            // 128 bits, from which the AES block derives the XTS key.
            let full = raw(efuses, "XTS_KEY_LENGTH_256") != 0;
            let range = if full { 0..32 } else { 0..16 };
            let hw = efuses.hardware_block_bytes(3);
            if hw
                .get(range.clone())
                .is_none_or(|b| b.iter().all(|x| *x == 0))
                && raw(efuses, "RD_DIS") & 1 == 0
            {
                return Ok(None);
            }
            Ok(Some(reversed(key_bytes(efuses, 3, range)?)))
        }
        _ => {
            let one = efuses.blocks_with_purpose(KeyPurpose::XtsAes128Key);
            let first = efuses.blocks_with_purpose(KeyPurpose::XtsAes256Key1);
            let second = efuses.blocks_with_purpose(KeyPurpose::XtsAes256Key2);
            if let (Some(a), Some(b)) = (first.first(), second.first()) {
                let mut key = key_bytes(efuses, *a, 0..32)?;
                key.reverse();
                let mut high = key_bytes(efuses, *b, 0..32)?;
                high.reverse();
                key.extend_from_slice(&high);
                zeroize::Zeroize::zeroize(&mut high);
                let k = FlashEncryptionKey::from_bytes(&key);
                zeroize::Zeroize::zeroize(&mut key);
                return Ok(Some(k));
            }
            match one.first() {
                Some(block) => Ok(Some(reversed(key_bytes(efuses, *block, 0..32)?))),
                None => Ok(None),
            }
        }
    }
}

/// The chip's transparent flash encryption, `Some` when the crypt counter
/// has an odd number of bits set.
pub fn flash_crypt(efuses: &Efuses) -> Result<Option<Box<dyn FlashCrypt>>, FuseError> {
    if !efuses.flash_encryption_enabled() {
        return Ok(None);
    }
    let key = flash_encryption_key(efuses)?.ok_or(FuseError::NoKey)?;
    crypt_for(efuses, &key).map(Some)
}

/// The chip's AES block with `key`: the ESP32 algorithm with the burned
/// FLASH_CRYPT_CONFIG, or XTS-AES on the other chips.
pub fn crypt_for(
    efuses: &Efuses,
    key: &FlashEncryptionKey,
) -> Result<Box<dyn FlashCrypt>, FuseError> {
    Ok(match efuses.chip() {
        Chip::Esp32 => {
            let conf = u32::try_from(raw(efuses, "FLASH_CRYPT_CONFIG")).unwrap_or(0);
            Box::new(Esp32FlashCrypt::new(key, conf)?)
        }
        _ => Box::new(XtsFlashCrypt::new(key)?),
    })
}

/// What the ROM's serial download mode still allows (esptool.md §4;
/// `DIS_DOWNLOAD_MODE`, ESP32 `UART_DOWNLOAD_DIS`, `ENABLE_SECURITY_DOWNLOAD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadMode {
    /// Full download mode: esptool reads and writes flash.
    Enabled,
    /// Secure download mode: flash writes only, no reads.
    Secure,
    /// Download mode disabled: no esptool access at all.
    Disabled,
}

impl DownloadMode {
    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            DownloadMode::Enabled => "enabled",
            DownloadMode::Secure => "secure",
            DownloadMode::Disabled => "disabled",
        }
    }
}

/// The download mode the eFuses leave.
pub fn download_mode(efuses: &Efuses) -> DownloadMode {
    if raw(efuses, "DIS_DOWNLOAD_MODE") != 0 || raw(efuses, "UART_DOWNLOAD_DIS") != 0 {
        DownloadMode::Disabled
    } else if raw(efuses, "ENABLE_SECURITY_DOWNLOAD") != 0 {
        DownloadMode::Secure
    } else {
        DownloadMode::Enabled
    }
}

/// Whether esptool's `--encrypt` (the ROM encrypting what it writes) is
/// still allowed: development-mode flash encryption without
/// `DIS_DOWNLOAD_MANUAL_ENCRYPT` (ESP32 `DISABLE_DL_ENCRYPT`).
pub fn manual_encrypt_allowed(efuses: &Efuses) -> bool {
    raw(efuses, "DIS_DOWNLOAD_MANUAL_ENCRYPT") == 0 && raw(efuses, "DISABLE_DL_ENCRYPT") == 0
}

/// The Secure Boot V2 public-key digests the ROM accepts (unrevoked
/// SECURE_BOOT_DIGESTn blocks; ESP32 BLOCK2; ESP32-C2 the 128-bit digest
/// prefix in BLOCK_KEY0's high half), with empty (all-zero) slots dropped.
pub fn trusted_digests(efuses: &Efuses) -> Vec<Vec<u8>> {
    efuses
        .secure_boot_digests()
        .into_iter()
        .filter(|d| d.iter().any(|b| *b != 0))
        .collect()
}

/// Whether the chip's ROM verifies a Secure Boot V2 block of `scheme` in
/// signature slot `index` (esptool.md §1.3, from the ESP-IDF Secure Boot V2
/// pages): ESP32 (v3.0) RSA-3072 in the first block only; ESP32-S2/S3/C3
/// RSA-3072; ESP32-C6/H2 RSA-3072 or ECDSA P-192/P-256; ESP32-C2 ECDSA
/// P-192/P-256 only. P-384 is for newer chips than these.
pub fn rom_verifies(chip: Chip, scheme: SigningScheme, index: usize) -> bool {
    let ecdsa = matches!(scheme, SigningScheme::Ecdsa192 | SigningScheme::Ecdsa256);
    let rsa = scheme == SigningScheme::Rsa3072;
    match chip {
        Chip::Esp32 => rsa && index == 0,
        Chip::Esp32s2 | Chip::Esp32s3 | Chip::Esp32c3 => rsa,
        Chip::Esp32c6 | Chip::Esp32h2 => rsa || ecdsa,
        Chip::Esp32c2 => ecdsa,
    }
}

/// The schemes [`rom_verifies`] accepts on `chip`, for messages.
pub fn rom_schemes(chip: Chip) -> &'static str {
    match chip {
        Chip::Esp32 => "RSA-3072, first signature block only",
        Chip::Esp32s2 | Chip::Esp32s3 | Chip::Esp32c3 => "RSA-3072",
        Chip::Esp32c6 | Chip::Esp32h2 => "RSA-3072, ECDSA P-192/P-256",
        Chip::Esp32c2 => "ECDSA P-192/P-256",
    }
}

/// Whether `key_digest` (SHA-256 of a signature block's key) matches one of
/// `trusted` (full digests, or the ESP32-C2 prefix).
pub fn digest_trusted(trusted: &[Vec<u8>], key_digest: &[u8; 32]) -> bool {
    trusted
        .iter()
        .any(|d| !d.is_empty() && key_digest.starts_with(d))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use esp_efuse::{KeyGroup, KeyOptions};

    fn burn(chip: Chip, groups: &[(&str, Vec<u8>, &str)]) -> Efuses {
        let mut efuses = Efuses::new(chip);
        let groups: Vec<KeyGroup> = groups
            .iter()
            .map(|(b, d, p)| KeyGroup {
                block: (*b).into(),
                data: d.clone(),
                purpose: (*p).into(),
            })
            .collect();
        efuses.burn_key(&groups, KeyOptions::default()).unwrap();
        efuses.plan_burn().unwrap();
        efuses.execute_burn().unwrap();
        efuses
    }

    /// The key the hardware uses is the key file burned the seeds' way, for
    /// every chip and key length.
    #[test]
    fn key_file_round_trips_through_the_efuse_burn_for_every_chip() {
        let k16: Vec<u8> = (1u8..=16).collect();
        let k32: Vec<u8> = (1u8..=32).collect();
        let k64: Vec<u8> = (1u8..=64).collect();
        type Case = (Chip, Vec<(&'static str, Vec<u8>, &'static str)>, Vec<u8>);
        let cases: Vec<Case> = vec![
            (
                Chip::Esp32,
                vec![("flash_encryption", k32.clone(), "")],
                k32.clone(),
            ),
            (
                Chip::Esp32s2,
                vec![("BLOCK_KEY0", k64.clone(), "XTS_AES_256_KEY")],
                k64.clone(),
            ),
            (
                Chip::Esp32s3,
                vec![("BLOCK_KEY1", k32.clone(), "XTS_AES_128_KEY")],
                k32.clone(),
            ),
            (
                Chip::Esp32c3,
                vec![("BLOCK_KEY0", k32.clone(), "XTS_AES_128_KEY")],
                k32.clone(),
            ),
            (
                Chip::Esp32c6,
                vec![("BLOCK_KEY0", k32.clone(), "XTS_AES_128_KEY")],
                k32.clone(),
            ),
            (
                Chip::Esp32h2,
                vec![("BLOCK_KEY0", k32.clone(), "XTS_AES_128_KEY")],
                k32.clone(),
            ),
            (
                Chip::Esp32c2,
                vec![(
                    "BLOCK_KEY0",
                    k16.clone(),
                    "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS",
                )],
                k16.clone(),
            ),
            (
                Chip::Esp32c2,
                vec![("BLOCK_KEY0", k32.clone(), "XTS_AES_128_KEY")],
                k32.clone(),
            ),
        ];
        for (chip, groups, expected) in cases {
            let efuses = burn(chip, &groups);
            let key = flash_encryption_key(&efuses).unwrap().unwrap();
            assert_eq!(key.as_bytes(), &expected[..], "{chip}");
            // reloaded from the virtual file alone the key is unknown
            let file = esp_efuse::virt::to_file_bytes(&efuses);
            let reloaded = esp_efuse::virt::load(chip, Some(&file)).unwrap().efuses;
            assert!(
                matches!(
                    flash_encryption_key(&reloaded),
                    Err(FuseError::KeyUnknown { .. })
                ),
                "{chip}"
            );
        }
        assert!(flash_encryption_key(&Efuses::new(Chip::Esp32c3))
            .unwrap()
            .is_none());
    }

    #[test]
    fn burned_digests_are_trusted_until_revoked() {
        let digest: Vec<u8> = (100u8..132).collect();
        let mut d32 = [0u8; 32];
        d32.copy_from_slice(&digest);
        for chip in [Chip::Esp32, Chip::Esp32c2, Chip::Esp32c3, Chip::Esp32s3] {
            let mut efuses = Efuses::new(chip);
            if chip == Chip::Esp32 {
                // Secure Boot V2 needs an ESP32 v3.0 (ECO3)
                let rev = |n: &str| (n.to_string(), Some("1".to_string()));
                efuses
                    .burn_efuse(&[rev("CHIP_VER_REV1"), rev("CHIP_VER_REV2")])
                    .unwrap();
                efuses.plan_burn().unwrap();
                efuses.execute_burn().unwrap();
            }
            let (block, purpose) = match chip {
                Chip::Esp32 => ("BLOCK2", ""),
                Chip::Esp32c2 => ("BLOCK_KEY0", "SECURE_BOOT_DIGEST"),
                _ => ("BLOCK_KEY1", "SECURE_BOOT_DIGEST0"),
            };
            let group = KeyGroup {
                block: block.into(),
                data: digest.clone(),
                purpose: purpose.into(),
            };
            efuses
                .burn_key_digest(&[group], KeyOptions::default())
                .unwrap();
            efuses.plan_burn().unwrap();
            efuses.execute_burn().unwrap();
            let trusted = trusted_digests(&efuses);
            assert!(digest_trusted(&trusted, &d32), "{chip}: {trusted:02x?}");
            let mut other = d32;
            other[0] ^= 1;
            assert!(!digest_trusted(&trusted, &other), "{chip}");
        }
    }
}
