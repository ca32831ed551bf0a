//! Names from espefuse's command line to typed handles: the only place a
//! field, block, key block or key purpose is looked up by its spelling.

use crate::error::EfuseError;
use crate::tables::{Chip, ChipEfuses as _, Field, KeyBlock, KeyPurpose};

/// The field `name` (canonical or one of espefuse's alternative names)
/// stands for on `chip`; an unknown name is refused with the closest names.
///
/// ```
/// use esp_efuse::{espefuse, Chip, EfuseError, Field};
///
/// assert_eq!(espefuse::field(Chip::Esp32c3, "SPI_BOOT_CRYPT_CNT")?, Field::SpiBootCryptCnt);
/// let Err(EfuseError::UnknownField { suggestions, .. }) = espefuse::field(Chip::Esp32c3, "SPI_BOOT_CRYPTCNT")
/// else { panic!("a misspelt name is refused") };
/// assert_eq!(suggestions[0], "SPI_BOOT_CRYPT_CNT");
/// # Ok::<(), EfuseError>(())
/// ```
pub fn field(chip: Chip, name: &str) -> Result<Field, EfuseError> {
    chip.table()
        .field_by_name(name)
        .ok_or_else(|| EfuseError::UnknownField {
            name: name.to_string(),
            chip,
            suggestions: closest_field_names(chip, name),
        })
}

/// Up to three field names closest to `name`: names containing it, then by
/// edit distance.
fn closest_field_names(chip: Chip, name: &str) -> Vec<&'static str> {
    let up = name.to_ascii_uppercase().replace('-', "_");
    let mut scored: Vec<(usize, &'static str)> = chip
        .table()
        .fields
        .iter()
        .flat_map(|f| std::iter::once(f.name()).chain(f.alt_names.iter().copied()))
        .map(|n| {
            let d = if n.contains(up.as_str()) && up.len() >= 3 {
                1
            } else {
                strsim::levenshtein(&up, n)
            };
            (d, n)
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    let limit = (up.len() / 2).max(2);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= limit)
        .take(3)
        .map(|(_, n)| n)
        .collect()
}

/// The block number `name` (a block name or alias) stands for on `chip`.
pub fn block(chip: Chip, name: &str) -> Result<usize, EfuseError> {
    chip.table()
        .block_by_name(name)
        .map(|b| usize::from(b.id))
        .ok_or_else(|| EfuseError::UnknownBlock {
            name: name.to_string(),
            chip,
        })
}

/// The key block `name` stands for in `burn-key` on `chip` (espefuse's
/// `get_blocks_for_keys()` choices).
pub fn key_block(chip: Chip, name: &str) -> Result<KeyBlock, EfuseError> {
    chip.table()
        .key_block_by_name(name)
        .ok_or_else(|| EfuseError::UnknownKeyBlock {
            name: name.to_string(),
            chip,
        })
}

/// The key purpose `name` stands for on `chip` (espefuse's `KEY_PURPOSES`
/// names, with `CUSTOM_<n>` on chips that accept unused values).
pub fn key_purpose(chip: Chip, name: &str) -> Result<KeyPurpose, EfuseError> {
    KeyPurpose::from_name(name)
        .filter(|p| chip.table().purpose_def(*p).is_some())
        .ok_or_else(|| EfuseError::UnknownPurpose {
            name: name.to_string(),
            chip,
        })
}
