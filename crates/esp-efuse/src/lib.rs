//! eFuses of the Espressif chips: tables, burn semantics, the per-chip
//! security layout and espefuse's virtual eFuse file.
//!
//! Principal types:
//! - [`Chip`] and its generated [`ChipTable`] (blocks, fields, key purposes),
//!   regenerated from espefuse 5.6.0 by `scripts/gen-efuse-tables`, which
//!   also generates the typed handles [`Field`], [`KeyBlock`] and
//!   [`KeyPurpose`]. Below the command line, fields and blocks are never
//!   named by strings: a misspelt field does not compile, and a field the
//!   chip lacks is [`EfuseError::NotOnChip`], never a 0 that reads as
//!   "not burned".
//! - [`Efuses`]: one chip's eFuses (the controller register image, exactly
//!   what espefuse's `--virt --path-efuse-file` holds). Reads
//!   ([`Efuses::raw`], [`Efuses::get`]), staging with espefuse's checks
//!   ([`Efuses::stage`] with a [`Burn`], [`Efuses::stage_keys`] with
//!   [`KeyGroup`]s), and [`Efuses::commit`], which burns everything staged
//!   all or nothing, BLOCK0's protection bits last. [`Efuses::burn`] does
//!   one field in one call.
//! - [`policy`]: which field or block holds what on each chip (Secure Boot
//!   digests, flash-encryption key and counter, download mode).
//! - [`rom`]: what the ROM and the hardware read (flash encryption and
//!   Secure Boot state, [`Efuses::flash_encryption_key`] behind read
//!   protection, [`DownloadMode`]).
//! - [`controller`]: the eFuse controller's registers as esptool and
//!   espefuse drive them over a serial port, over the same model.
//! - [`backend`]: where the eFuses live ([`backend::EfuseBackend`]): an
//!   emulated chip, the virtual file, or a chip's controller over a port
//!   ([`backend::Port`]); burns go through one of them.
//! - [`VirtualFile`]: espefuse's virtual file and the companion that keeps
//!   read-protected key bits, saved atomically.
//! - [`espefuse`]: espefuse's command line over all this: names and values
//!   as text, and what espefuse prints, as a [`espefuse::Transcript`].
//!
//! ```
//! use esp_efuse::{policy, Burn, Chip, Efuses, Field, KeyOptions};
//!
//! // Flash encryption on an ESP32-C3: the key into its slot, then the counter.
//! let mut efuses = Efuses::new(Chip::Esp32c3);
//! let key = policy::flash_encryption_key_group(&efuses, &[0x11; 32])?;
//! efuses.stage_keys(&[key], KeyOptions::default())?;
//! efuses.stage(policy::crypt_counter(Chip::Esp32c3), Burn::NextBit)?;
//! assert!(efuses.commit()?);
//! assert!(efuses.flash_encryption_enabled());
//! assert_eq!(efuses.get(Field::KeyPurpose0)?.to_string(), "XTS_AES_128_KEY");
//! // software reads the key block as zeros; the AES-XTS block reads the key
//! assert!(!efuses.is_readable(Field::BlockKey0, None)?);
//! assert_eq!(efuses.flash_encryption_key()?.as_deref().map(Vec::as_slice), Some(&[0x11; 32][..]));
//! // a field the chip does not have is an error, not "not burned"
//! assert!(efuses.raw(Field::FlashCryptCnt).is_err());
//! # Ok::<(), esp_efuse::EfuseError>(())
//! ```

#![warn(missing_docs, unreachable_pub)]

pub mod backend;
mod bits;
pub mod controller;
pub mod custom_table;
mod error;
pub mod espefuse;
mod model;
pub mod policy;
pub mod rom;
pub mod rs;
mod tables;
pub mod token;
mod virt;
mod wide;

#[cfg(test)]
mod tests;

pub use bits::Bits;
pub use error::{
    BlockDataError, BurnCheck, Coding, EfuseError, FieldName, FileError, KeyError, ProtectBlocker,
    Protected, ReadableReason, Repeated, Unsupported, ValueError,
};
pub use model::fields::{esp32_mac_crc, hexify};
pub use model::{Burn, ChipAccess, Efuses, FieldRef, FieldValue, KeyGroup, KeyOptions, UserField};
pub use rom::{
    esptool_key_purpose, esptool_key_purpose_name, esptool_names_key_purposes, DownloadMode,
    KeySlot, SecurityInfo,
};
pub use tables::{
    BlockDef, Chip, ChipEfuses, ChipTable, Field, FieldClass, FieldCoding, FieldDef, FieldType,
    KeyBlock, KeyBlockDef, KeyPurpose, KeyPurposeDef,
};
pub use virt::VirtualFile;
pub use wide::{WideParseError, WideUint, MAX_WIDE_BITS};
