//! espefuse 5.6.0's personality over the model: the edge where names and
//! values arrive as text, and where what espefuse prints is produced.
//!
//! - [`field`], [`block`], [`key_block`], [`key_purpose`]: command-line
//!   names to typed handles (the only lookups by spelling; unknown fields
//!   get did-you-mean suggestions);
//! - [`parse_burn_pairs`], [`parse_value`]: `burn-efuse` values (Python
//!   integers, hex, MAC addresses, SPI pins, key purposes) to bits;
//! - the commands ([`burn_efuse`], [`burn_key`], [`burn_key_digest`],
//!   [`burn_bit`], [`burn_block_data`], [`read_protect`],
//!   [`write_protect`], [`burn_custom_mac`], [`set_flash_voltage`]), then
//!   [`plan`] and [`burn`]: each stages or burns
//!   on an [`Efuses`](crate::Efuses) and returns the [`Transcript`] of what
//!   espefuse prints, or on a refusal [`Failed`] with what it printed first;
//! - the read commands [`get_custom_mac`] and [`adc_info`];
//! - `summary` ([`crate::Efuses::summary_text`],
//!   [`crate::Efuses::summary_json`], [`python_json`]).
//!
//! ```
//! use esp_efuse::espefuse::{self, ForceWrite};
//! use esp_efuse::{Chip, Efuses};
//!
//! let mut efuses = Efuses::new(Chip::Esp32c3);
//! let values = espefuse::parse_burn_pairs(
//!     &efuses,
//!     &[("SPI_BOOT_CRYPT_CNT".to_string(), Some("7".to_string()))],
//! )?;
//! let staged = espefuse::burn_efuse(&mut efuses, &values, false, ForceWrite::Unavailable)?;
//! assert!(staged.lines().iter().any(|l| l.contains("0b000 -> 0b111")));
//! let (any, _plan) = espefuse::plan(&mut efuses, ForceWrite::Unavailable)?;
//! assert!(any);
//! // the values as bits, read before the burn (espefuse checks them then)
//! let bits = values
//!     .iter()
//!     .map(|(f, v)| Ok((*f, espefuse::value_bits(&efuses, *f, v)?)))
//!     .collect::<Result<Vec<_>, esp_efuse::EfuseError>>()?;
//! let burned = espefuse::burn(&mut efuses, ForceWrite::Unavailable)?;
//! assert_eq!(burned.lines().last().map(String::as_str), Some("Reading updated eFuses..."));
//! espefuse::check_burned(&efuses, &bits)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod chip_commands;
mod commands;
mod errors;
mod names;
mod summary;
mod transcript;
mod values;

pub use crate::model::ForceWrite;
pub use chip_commands::{
    adc_info, burn_custom_mac, custom_mac, get_custom_mac, has_set_flash_voltage,
    set_flash_voltage, FlashVoltage,
};
pub use commands::{
    burn, burn_bit, burn_block_data, burn_efuse, burn_key, burn_key_after_notice, burn_key_digest,
    burn_key_digest_start, burn_key_start, burn_with, check_burned, check_protected,
    check_repeated, plan, read_protect, write_protect, KeyCommandOptions,
};
pub use errors::{
    block_line, burn_block_alone, calculated_fields_check, check_error, coding_scheme_warnings,
    error_summary, read_check, read_regs_dump, recovery_blocks, stage_recovery, RecoveryBlock,
};
pub use names::{
    block, burn_block_data_names, check_key_group_order, efuse, efuse_choices, field,
    help_efuse_choices, help_efuse_names, key_block, key_block_names, key_purpose, NameList,
};
pub use summary::{python_json, summary_filter, summary_refs, SummaryRow};
pub use transcript::{rich_markup, Failed, Transcript};
pub use values::{parse_burn_pairs, parse_ref_value, parse_value, value_bits, NewValue};
