//! Why a power-on reached no application: one typed reason per stage
//! (ROM, first boot, MCUboot, app loading). Each renders as the text
//! `espboot sim boot` prints.

use esp_efuse::{EfuseError, Field};
use esp_image::load_header::LoadError;
use esp_image::Chip;
use esp_secure::flash_encryption::FlashCryptError;
use esp_secure::sbv2::SigningScheme;
use flash_sim::flash::FlashError;
use mcuboot_boot::{BootError, SlotRefusal};
use serde::Serialize;

use super::super::bootloader::BootloaderError;
use super::super::fuses::{self, FuseError};
use super::super::port_flash::PortFlashError;
use super::events::FlashRegion;
use super::hex_digest;
use crate::config::ConfigError;

/// Why a power-on did not start an application.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootFailure {
    /// The ROM could not set up flash decryption.
    #[error("ROM: flash encryption: {0}")]
    RomFlashEncryption(FuseError),
    /// The ROM could not read the bootloader.
    #[error("ROM: reading the bootloader: {0}")]
    RomRead(ReadBootloaderError),
    /// No valid ESP image at the bootloader offset.
    #[error("ROM: no valid bootloader at {offset:#x}{}: {source}", if *.decrypted { " (read through flash decryption)" } else { "" })]
    RomNoBootloader {
        /// The bootloader offset.
        offset: u32,
        /// Read through flash decryption.
        decrypted: bool,
        /// What is wrong with it.
        source: BootloaderError,
    },
    /// Secure Boot V2 is enabled and the bootloader's signature does not
    /// check out.
    #[error("ROM: secure boot check failed: {0}")]
    RomSecureBoot(SecureBootRefusal),
    /// The configuration inside the bootloader is inconsistent.
    #[error("bootloader configuration: {0}")]
    Config(ConfigError),
    /// The secure boot first boot refused or failed.
    #[error("secure boot first boot: {0}")]
    SecureBootFirstBoot(SecureBootFirstBootError),
    /// MCUboot found nothing to boot, with why it refused the primary
    /// slot when that is known.
    #[error("MCUboot: {error}{}", .refusal.as_ref().map(|r| format!(": {}", r.reason)).unwrap_or_default())]
    Mcuboot {
        /// The boot core's error.
        error: BootError<PortFlashError>,
        /// Why it refused the image in the primary slot.
        refusal: Option<McubootRefusal>,
    },
    /// The flash encryption first boot failed.
    #[error("flash encryption first boot: {0}")]
    FlashEncryptionFirstBoot(FlashEncryptionFirstBootError),
    /// The app's load header could not be read.
    #[error("image {image}: reading the load header: {source}")]
    LoadHeaderRead {
        /// The image.
        image: usize,
        /// The read error.
        source: PortFlashError,
    },
    /// The app has no valid load header.
    #[error("image {image}: load header at {at:#x}: {source} (\"Load header magic verification failed\")")]
    LoadHeader {
        /// The image.
        image: usize,
        /// Where the load header was read.
        at: u32,
        /// What is wrong with it.
        source: LoadError,
    },
    /// The loader refuses the app's segments.
    #[error("image {image}: the loader refuses the app: {source}")]
    AppRefused {
        /// The image.
        image: usize,
        /// Why.
        source: LoadError,
    },
    /// The app was signed with another MCUboot header size than it was laid
    /// out for, so its segments overlap the headers.
    #[error("image {image}: the loader refuses the app: {source}")]
    HeaderSize {
        /// The image.
        image: usize,
        /// Which segment overlaps the headers.
        source: crate::chip::app::HeaderSizeMismatch,
    },
    /// The chip kept resetting.
    #[error("reset loop")]
    ResetLoop,
}

/// Why MCUboot refused the image in a primary slot (`--json`:
/// `mcuboot_refusal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McubootRefusal {
    /// The image.
    pub image: usize,
    /// The check that failed.
    pub reason: SlotRefusal,
}

impl Serialize for McubootRefusal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use mcuboot_image::ValidateError as V;
        use serde::ser::SerializeStruct;
        let check = match &self.reason {
            SlotRefusal::Erased => "erased",
            SlotRefusal::NonBootable => "non_bootable",
            SlotRefusal::BadMagic(_) => "header_magic",
            SlotRefusal::BeyondSlot => "size",
            SlotRefusal::Encrypted => "encrypted",
            SlotRefusal::Compressed => "compressed",
            SlotRefusal::Invalid(e) => match e {
                V::HashMissing | V::HashLength(_) | V::HashMismatch => "hash",
                V::KeyHashLength(_) | V::BadEmbeddedKey(_) | V::NoMatchingKey => "key_hash",
                V::SignatureInvalid | V::SigPureMissing | V::Unsupported => "signature",
                V::TooLarge { .. } | V::Read(_) => "size",
                _ => "tlv",
            },
            _ => "other",
        };
        let mut s = serializer.serialize_struct("McubootRefusal", 3)?;
        s.serialize_field("image", &self.image)?;
        s.serialize_field("check", check)?;
        s.serialize_field("reason", &self.reason.to_string())?;
        s.end()
    }
}

/// Why the bootloader could not be read the way the ROM reads it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadBootloaderError {
    /// The flash read failed.
    #[error(transparent)]
    Flash(FlashError),
    /// Decrypting what was read failed.
    #[error(transparent)]
    Decrypt(FlashCryptError),
}

/// Why the ROM (or the first boot, checking what the ROM will check)
/// refuses the bootloader's Secure Boot V2 signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecureBootRefusal {
    /// No signature block verifies.
    #[error("the bootloader has no valid Secure Boot V2 signature block")]
    NoSignatureBlock,
    /// The valid blocks use schemes (or positions) this ROM does not verify.
    #[error("the bootloader is signed with {} but the {chip} ROM verifies {}", scheme_names(.schemes), fuses::rom_schemes(*.chip))]
    SchemeNotVerified {
        /// The chip.
        chip: Chip,
        /// The schemes of the valid blocks.
        schemes: Vec<SigningScheme>,
    },
    /// No valid block's key digest is burned (or it is revoked).
    #[error("the bootloader is signed by key digest(s) {} but the eFuses trust only {} (unburned or revoked key)", digest_list(.signed), digest_list(.trusted))]
    UntrustedKey {
        /// The key digests of the valid blocks.
        signed: Vec<[u8; 32]>,
        /// The digests the eFuses trust.
        trusted: Vec<Vec<u8>>,
    },
}

fn scheme_names(schemes: &[SigningScheme]) -> String {
    schemes
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn digest_list<D: AsRef<[u8]>>(digests: &[D]) -> String {
    if digests.is_empty() {
        return "none".to_string();
    }
    digests
        .iter()
        .map(|d| hex_digest(d.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why the secure boot first boot refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecureBootFirstBootError {
    /// `CONFIG_SECURE_BOOT` with a bootloader the ROM would not verify.
    #[error(
        "CONFIG_SECURE_BOOT is set but {0} (sign it with `espboot secure sign-data --version 2`)"
    )]
    Unsigned(SecureBootRefusal),
    /// ESP32-C2's shared key block needs both options.
    #[error("ESP32-C2 keeps the Secure Boot digest and the flash-encryption key in its one key block: set CONFIG_SECURE_BOOT_FLASH_ENC_KEYS_BURN_TOGETHER=y and CONFIG_SECURE_FLASH_ENCRYPTION_AES128_DERIVED=y")]
    SharedKeyBlockOptions,
    /// No signature block to take a digest from.
    #[error("the bootloader has no signature block")]
    NoSignatureBlock,
    /// The digests could not be placed in key blocks.
    #[error("Secure Boot V2 digest: {0}")]
    DigestBlocks(EfuseError),
    /// The burned digests match none of the bootloader's signature blocks.
    #[error("the key digests already in eFuse do not match any signature block of the bootloader")]
    DigestMismatch,
    /// Burning failed.
    #[error(transparent)]
    Efuse(EfuseError),
    /// Burning a field failed.
    #[error(transparent)]
    Burn(#[from] FieldBurnError),
}

/// Burning one eFuse field failed.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {source}")]
pub struct FieldBurnError {
    /// The field.
    pub field: Field,
    /// Why.
    pub source: EfuseError,
}

/// Why the flash encryption first boot failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlashEncryptionFirstBootError {
    /// The key in eFuse cannot be used.
    #[error(transparent)]
    Key(FuseError),
    /// Burning failed.
    #[error(transparent)]
    Efuse(EfuseError),
    /// Burning a field failed.
    #[error(transparent)]
    Burn(#[from] FieldBurnError),
    /// The generated key could not be placed in a key block.
    #[error("the flash-encryption key: {0}")]
    KeyBlock(EfuseError),
    /// The bootloader's length does not fit 32 bits.
    #[error("bootloader too large")]
    BootloaderTooLarge,
    /// Encrypting a region in place failed.
    #[error("{region}: {source}")]
    Encrypt {
        /// The region.
        region: FlashRegion,
        /// Why.
        source: EncryptError,
    },
}

/// Why encrypting a sector in place failed (other than a power cut).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptError {
    /// The flash operation failed.
    #[error(transparent)]
    Flash(FlashError),
    /// The cipher failed.
    #[error(transparent)]
    Crypt(FlashCryptError),
}
