//! eFuse tables, burn semantics and espefuse's virtual eFuse file.
//!
//! Principal types:
//! - [`Chip`] and its generated [`ChipTable`] (blocks, fields, key purposes),
//!   regenerated from espefuse 5.6.0 by `scripts/gen-efuse-tables`;
//! - [`Efuses`]: the state of one chip's eFuses (the controller register image,
//!   exactly what espefuse's `--virt --path-efuse-file` holds) with typed field
//!   handles ([`FieldId`]), staging with espefuse's checks (bits only go 0→1,
//!   protections, Reed-Solomon blocks written once, BLOCK9 quirk...), a burn plan
//!   ([`Efuses::plan_burn`]) shown before confirming, and the burn itself
//!   ([`Efuses::execute_burn`]) with BLOCK0 protection bits postponed;
//! - [`virt`]: reading and writing the virtual eFuse file;
//! - [`ChipAccess`]: whether the ROM would still let a port read the eFuses;
//! - the ROM's view ([`rom`]): [`Efuses::flash_encryption_enabled`],
//!   [`Efuses::secure_boot_v2_enabled`], [`Efuses::key_slots`],
//!   [`Efuses::secure_boot_digests`] and [`Efuses::hardware_block_bytes`] (keys
//!   the peripherals see behind read protection).
//!
//! ```
//! use esp_efuse::{Chip, Efuses, KeyGroup, KeyOptions};
//!
//! let mut efuses = Efuses::new(Chip::Esp32c3);
//! let key = vec![0x11u8; 32];
//! efuses
//!     .burn_key(
//!         &[KeyGroup { block: "BLOCK_KEY0".into(), data: key, purpose: "XTS_AES_128_KEY".into() }],
//!         KeyOptions::default(),
//!     )
//!     .unwrap();
//! assert!(efuses.plan_burn().unwrap());
//! efuses.execute_burn().unwrap();
//! let purpose = efuses.field("KEY_PURPOSE_0").unwrap();
//! assert_eq!(efuses.get(purpose).to_string(), "XTS_AES_128_KEY");
//! // the key is read-protected: it reads back as zeros and is absent from the file
//! let key0 = efuses.field("BLOCK_KEY0").unwrap();
//! assert!(!efuses.is_readable(key0, None));
//! assert!(esp_efuse::virt::to_file_bytes(&efuses).len() == 512);
//! ```

mod bits;
mod error;
mod ops;
pub mod rom;
pub mod rs;
mod state;
mod summary;
mod tables;
pub mod virt;

#[cfg(test)]
mod tests;

pub use bits::Bits;
pub use error::{fold, EfuseError};
pub use ops::{KeyGroup, KeyOptions};
pub use rom::KeySlot;
pub use state::{esp32_mac_crc, hexify, ChipAccess, Efuses, FieldId, FieldValue};
pub use summary::{python_json, SummaryRow};
pub use tables::{
    BlockDef, Chip, ChipEfuses, ChipTable, FieldClass, FieldCoding, FieldDef, FieldType,
    KeyPurpose, KeyPurposeDef,
};
