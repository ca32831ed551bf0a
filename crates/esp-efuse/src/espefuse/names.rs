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

/// The block names `burn-bit` and `burn-block-data` accept on `chip`, as
/// espefuse lists them (`BURN_BLOCK_DATA_NAMES`: each block's name, then
/// its aliases, repeats kept: the ESP32-C2's `BLOCK0` is its own alias, and
/// burn-block-data's group limit counts the list). The ESP32's list names
/// the blocks only (`efuse/esp32/mem_definition.py`: `BLOCK0`..`BLOCK3`).
pub fn burn_block_data_names(chip: Chip) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for block in chip.table().blocks {
        names.push(block.name);
        if chip != Chip::Esp32 {
            names.extend(block.aliases.iter().copied());
        }
    }
    names
}

/// The block names `burn-key` accepts on `chip` (espefuse's
/// `get_blocks_for_keys()`), in its order.
pub fn key_block_names(chip: Chip) -> Vec<&'static str> {
    chip.table().key_blocks.iter().map(|k| k.name).collect()
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

/// Refuses a `burn-key` group (`BLOCK KEYFILE [KEYPURPOSE]`) whose KEYFILE
/// place does not hold a file while another argument does, as in the
/// documentation's `burn_key BLOCK SECURE_BOOT_DIGEST0 digest.bin`: the
/// error names the order and the group reordered (block, the file, then the
/// purpose). `is_file` says whether an argument names a readable file.
/// Groups with the file in place, or with no file at all, pass (the file
/// read reports those).
///
/// # Errors
/// [`EfuseError::KeyArgumentOrder`].
pub fn check_key_group_order(
    chip: Chip,
    group: &[String],
    is_file: &dyn Fn(&str) -> bool,
) -> Result<(), EfuseError> {
    let Some(in_place) = group.get(1) else {
        return Ok(());
    };
    if is_file(in_place) {
        return Ok(());
    }
    let Some(file_at) = group.iter().position(|a| is_file(a)) else {
        return Ok(());
    };
    let mut others: Vec<&String> = group
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != file_at)
        .map(|(_, a)| a)
        .collect();
    if let [first, second] = others.as_slice() {
        let purpose = |a: &str| key_purpose(chip, a).is_ok();
        let block = |a: &str| key_block(chip, a).is_ok();
        if (purpose(first) && !purpose(second)) || (block(second) && !block(first)) {
            others.swap(0, 1);
        }
    }
    let mut suggested: Vec<String> = others.iter().map(|a| (*a).clone()).collect();
    suggested.insert(1.min(suggested.len()), group[file_at].clone());
    Err(EfuseError::KeyArgumentOrder {
        command: "burn-key",
        usage: if group.len() == 2 {
            "BLOCK KEYFILE"
        } else {
            "BLOCK KEYFILE KEYPURPOSE"
        },
        given: group.to_vec(),
        suggested,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn group(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| (*a).to_string()).collect()
    }

    #[test]
    fn key_group_order_names_the_order_and_the_fix() {
        let is_file = |a: &str| a.ends_with(".bin");
        let c3 = Chip::Esp32c3;
        // the documentation's swapped lines, and other permutations
        for (given, suggested) in [
            (
                ["BLOCK", "SECURE_BOOT_DIGEST0", "digest.bin"],
                "BLOCK digest.bin SECURE_BOOT_DIGEST0",
            ),
            (
                ["SECURE_BOOT_DIGEST0", "BLOCK_KEY0", "digest.bin"],
                "BLOCK_KEY0 digest.bin SECURE_BOOT_DIGEST0",
            ),
            (
                ["digest.bin", "BLOCK_KEY0", "SECURE_BOOT_DIGEST0"],
                "BLOCK_KEY0 digest.bin SECURE_BOOT_DIGEST0",
            ),
        ] {
            let err = check_key_group_order(c3, &group(&given), &is_file).unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with("burn-key takes BLOCK KEYFILE KEYPURPOSE, in that order")
                    && text.contains(&format!("(did you mean `burn-key {suggested}`?)")),
                "{given:?}: {text}"
            );
        }
        // in order, or no file at all: the file read speaks
        for given in [
            ["BLOCK_KEY0", "key.bin", "XTS_AES_128_KEY"],
            ["BLOCK_KEY0", "missing", "XTS_AES_128_KEY"],
        ] {
            check_key_group_order(c3, &group(&given), &is_file).unwrap();
        }
        // ESP32 pairs
        let err = check_key_group_order(
            Chip::Esp32,
            &group(&["key.bin", "flash_encryption"]),
            &is_file,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("takes BLOCK KEYFILE, in that order")
                && err
                    .to_string()
                    .contains("`burn-key flash_encryption key.bin`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_block_lists_the_blocks() {
        let err = block(Chip::Esp32c3, "BLOCK").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("unknown block 'BLOCK' for esp32c3 (use one of BLOCK0, ")
                && text.contains("BLOCK_KEY0 (BLOCK4)")
                && text.ends_with("BLOCK_SYS_DATA2 (BLOCK10))"),
            "{text}"
        );
    }
}
