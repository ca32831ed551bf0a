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

use esp_efuse::{policy, EfuseError, Efuses};
use esp_image::{Chip, FlashCryptAlgorithm};
use esp_secure::flash_encryption::{
    Esp32FlashCrypt, FlashCrypt, FlashCryptError, FlashEncryptionKey, XtsFlashCrypt,
};
use esp_secure::sbv2::SigningScheme;

pub use esp_efuse::DownloadMode;

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
    /// The key is read-protected and its value was never known.
    KeyUnknown {
        /// The key block.
        block: String,
    },
    #[error(transparent)]
    /// The key does not fit the cipher.
    Crypt(#[from] FlashCryptError),
    #[error(transparent)]
    /// Reading the eFuses failed.
    Efuse(EfuseError),
}

impl From<EfuseError> for FuseError {
    fn from(e: EfuseError) -> Self {
        match e {
            EfuseError::HiddenKeyUnknown { name, .. } => FuseError::KeyUnknown {
                block: name.to_string(),
            },
            other => FuseError::Efuse(other),
        }
    }
}

/// The flash-encryption key burned in `efuses`, in espsecure key-file byte
/// order; `Ok(None)` when no key block is assigned to flash encryption.
pub fn flash_encryption_key(efuses: &Efuses) -> Result<Option<FlashEncryptionKey>, FuseError> {
    Ok(efuses
        .flash_encryption_key()?
        .map(|bytes| FlashEncryptionKey::from_bytes(&bytes)))
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
    Ok(match efuses.chip().flash_crypt_algorithm() {
        FlashCryptAlgorithm::Esp32Legacy => {
            let conf = match policy::crypt_config(efuses.chip()) {
                Some(field) => u32::try_from(efuses.raw(field)?).unwrap_or(0),
                None => 0,
            };
            Box::new(Esp32FlashCrypt::new(key, conf)?)
        }
        _ => Box::new(XtsFlashCrypt::new(key)?),
    })
}

/// The download mode the eFuses leave.
pub fn download_mode(efuses: &Efuses) -> DownloadMode {
    efuses.download_mode()
}

/// Whether esptool's `--encrypt` (the ROM encrypting what it writes) is
/// still allowed: development-mode flash encryption without
/// `DIS_DOWNLOAD_MANUAL_ENCRYPT` (ESP32 `DISABLE_DL_ENCRYPT`).
pub fn manual_encrypt_allowed(efuses: &Efuses) -> bool {
    efuses.manual_encrypt_allowed()
}

/// Why the ROM cannot encrypt what it writes (esptool `--encrypt`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManualEncryptError {
    /// `DIS_DOWNLOAD_MANUAL_ENCRYPT` (ESP32 `DISABLE_DL_ENCRYPT`) is burned.
    #[error("manual flash encryption through the ROM is disabled in eFuse (DIS_DOWNLOAD_MANUAL_ENCRYPT)")]
    Disabled,
    /// No flash-encryption key is burned.
    #[error("no flash-encryption key is burned in eFuse")]
    NoKey,
    /// The key cannot be used.
    #[error(transparent)]
    Fuse(#[from] FuseError),
}

/// The AES block the ROM (or the flasher stub) encrypts `--encrypt` writes
/// with: the burned key, whatever the crypt counter says, unless manual
/// encryption is disabled. `espboot sim write --encrypt` and the serial
/// server's encrypted FLASH_BEGIN both use it.
pub fn manual_encrypt_crypt(efuses: &Efuses) -> Result<Box<dyn FlashCrypt>, ManualEncryptError> {
    if !manual_encrypt_allowed(efuses) {
        return Err(ManualEncryptError::Disabled);
    }
    let key = flash_encryption_key(efuses)?.ok_or(ManualEncryptError::NoKey)?;
    Ok(crypt_for(efuses, &key)?)
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
    use esp_efuse::{Burn, Field, KeyBlock, KeyGroup, KeyOptions, KeyPurpose, VirtualFile};

    fn burn(chip: Chip, groups: &[(KeyBlock, Vec<u8>, Option<KeyPurpose>)]) -> Efuses {
        let mut efuses = Efuses::new(chip);
        let groups: Vec<KeyGroup> = groups
            .iter()
            .map(|(b, d, p)| KeyGroup {
                block: *b,
                data: d.clone().into(),
                purpose: *p,
            })
            .collect();
        efuses.stage_keys(&groups, KeyOptions::default()).unwrap();
        efuses.commit().unwrap();
        efuses
    }

    /// The key the hardware uses is the key file burned the seeds' way, for
    /// every chip and key length.
    #[test]
    fn key_file_round_trips_through_the_efuse_burn_for_every_chip() {
        let k16: Vec<u8> = (1u8..=16).collect();
        let k32: Vec<u8> = (1u8..=32).collect();
        let k64: Vec<u8> = (1u8..=64).collect();
        type Case = (Chip, Vec<(KeyBlock, Vec<u8>, Option<KeyPurpose>)>, Vec<u8>);
        let xts128 = Some(KeyPurpose::XtsAes128Key);
        let cases: Vec<Case> = vec![
            (
                Chip::Esp32,
                vec![(KeyBlock::FlashEncryption, k32.clone(), None)],
                k32.clone(),
            ),
            (
                Chip::Esp32s2,
                vec![(
                    KeyBlock::BlockKey0,
                    k64.clone(),
                    Some(KeyPurpose::XtsAes256Key),
                )],
                k64.clone(),
            ),
            (
                Chip::Esp32s3,
                vec![(KeyBlock::BlockKey1, k32.clone(), xts128)],
                k32.clone(),
            ),
            (
                Chip::Esp32c3,
                vec![(KeyBlock::BlockKey0, k32.clone(), xts128)],
                k32.clone(),
            ),
            (
                Chip::Esp32c6,
                vec![(KeyBlock::BlockKey0, k32.clone(), xts128)],
                k32.clone(),
            ),
            (
                Chip::Esp32h2,
                vec![(KeyBlock::BlockKey0, k32.clone(), xts128)],
                k32.clone(),
            ),
            (
                Chip::Esp32c2,
                vec![(
                    KeyBlock::BlockKey0,
                    k16.clone(),
                    Some(KeyPurpose::XtsAes128KeyDerivedFrom128EfuseBits),
                )],
                k16.clone(),
            ),
            (
                Chip::Esp32c2,
                vec![(KeyBlock::BlockKey0, k32.clone(), xts128)],
                k32.clone(),
            ),
        ];
        for (chip, groups, expected) in cases {
            let efuses = burn(chip, &groups);
            let key = flash_encryption_key(&efuses).unwrap().unwrap();
            assert_eq!(key.as_bytes(), &expected[..], "{chip}");
            // reloaded from the virtual file alone the key is unknown
            let dir = tempfile::tempdir().unwrap();
            let file = VirtualFile::espefuse(dir.path().join("efuse.bin"));
            file.save(&efuses).unwrap();
            let reloaded = file.load(chip).unwrap().unwrap();
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
                efuses.stage(Field::ChipVerRev1, Burn::All).unwrap();
                efuses.stage(Field::ChipVerRev2, Burn::All).unwrap();
                efuses.commit().unwrap();
            }
            let groups = esp_efuse::policy::secure_boot_digest_groups(&efuses, &[d32]).unwrap();
            efuses
                .stage_key_digests(&groups, KeyOptions::default())
                .unwrap();
            efuses.commit().unwrap();
            let trusted = trusted_digests(&efuses);
            assert!(digest_trusted(&trusted, &d32), "{chip}: {trusted:02x?}");
            let mut other = d32;
            other[0] ^= 1;
            assert!(!digest_trusted(&trusted, &other), "{chip}");
        }
    }
}
