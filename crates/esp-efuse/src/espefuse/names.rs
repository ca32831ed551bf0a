//! Names from espefuse's command line to typed handles: the only place a
//! field, block, key block or key purpose is looked up by its spelling.

use crate::custom_table::ChipCustomField;
use crate::error::EfuseError;
use crate::model::{Efuses, FieldRef};
use crate::tables::{Chip, ChipEfuses as _, Field, FieldDef, KeyBlock, KeyPurpose};

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

/// The ESP32's lazily listed custom MAC group (esp32/mem_definition.py
/// `CUSTOM_MAC`), in its order.
const ESP32_CUSTOM_MAC: [Field; 2] = [Field::CustomMacCrc, Field::CustomMac];

/// Which of espefuse's eFuse name lists ([`efuse_choices`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameList {
    /// Every field's names (`burn-efuse`).
    All,
    /// Fields with a read-protection bit (`read-protect-efuse`).
    ReadProtectable,
    /// Fields with a write-protection bit (`write-protect-efuse`).
    WriteProtectable,
}

/// The eFuse names espefuse's command line accepts in the current state,
/// in its order: each field's name then its alternative names, for the
/// fields of `EspEfuses.efuses` as espefuse builds it when it starts
/// (base_operations.py `add_cli_commands`). That is the fields `summary`
/// lists, except on the ESP32 (esp32/fields.py `EspEfuses.__init__`),
/// whose CUSTOM_MAC group joins only when MAC_VERSION is 1 and its ADC
/// calibration group only when BLK3_PART_RESERVE is set, both before the
/// calculated fields. The fields of an eFuse CSV table are among them.
pub fn efuse_choices(efuses: &Efuses, list: NameList) -> Vec<&str> {
    listed(efuses)
        .into_iter()
        .filter(|f| list.takes(f.wr_dis, f.rd_dis))
        .flat_map(|f| std::iter::once(f.name).chain(f.alt_names))
        .collect()
}

impl NameList {
    /// Whether a field with these protection bits is on the list: the
    /// protect commands take the fields they can protect
    /// (base_operations.py: `read_disable_bit`/`write_disable_bit` not None).
    fn takes(self, wr_dis: Option<u8>, rd_dis: &[u8]) -> bool {
        match self {
            NameList::All => true,
            NameList::ReadProtectable => !rd_dis.is_empty(),
            NameList::WriteProtectable => wr_dis.is_some(),
        }
    }
}

/// The eFuse names espefuse's command line offers on `chip` before it
/// reads a chip, as its help shows them: espefuse builds its commands for
/// `--help` without connecting (`skip_connect`), so every group is listed
/// whatever a chip's eFuses say and the calculated fields are not
/// (`<chip>/fields.py` `EspEfuses.__init__`): the plain fields and key
/// blocks (on the ESP32 coding scheme NONE's), the groups a connected
/// espefuse adds only when the eFuses call for them (the calibration
/// group; on the ESP32 the custom MAC, then the ADC group), then the
/// fields of an early revision (the ESP32-H2's before v1.2, which the
/// tables keep after the calculated fields), with the fields of an eFuse
/// CSV table (`users`, which espefuse loads for `--help` too) before the
/// block group. Each field's name then its alternative names, in
/// espefuse's order.
pub fn help_efuse_choices(chip: Chip, list: NameList, users: &[ChipCustomField]) -> Vec<&str> {
    help_listed(chip, list, users)
        .into_iter()
        .flat_map(|l| std::iter::once(l.name).chain(l.alt_names))
        .collect()
}

/// The canonical names of [`help_efuse_choices`]' fields (`NameList::All`),
/// which `burn-efuse --help` lists as "Allowed options for EFUSE_NAME"
/// (base_operations.py `add_cli_commands`).
pub fn help_efuse_names(chip: Chip, users: &[ChipCustomField]) -> Vec<&str> {
    help_listed(chip, NameList::All, users)
        .into_iter()
        .map(|l| l.name)
        .collect()
}

/// The help's fields with an eFuse CSV table's (`--extend-efuse-table`,
/// which espefuse loads for `--help` too) where espefuse appends them to
/// the chip's plain fields: before the block group (mem_definition_base.py
/// `extend_efuses`). A table's field takes its block's protection bits.
fn help_listed<'a>(chip: Chip, list: NameList, users: &'a [ChipCustomField]) -> Vec<Listed<'a>> {
    let users = users
        .iter()
        .filter(move |u| list.takes(u.wr_dis, &u.rd_dis))
        .map(Listed::of_user);
    with_users(chip, help_efuse_fields(chip, list), users)
}

fn help_efuse_fields(chip: Chip, list: NameList) -> Vec<&'static FieldDef> {
    let esp32 = chip == Chip::Esp32;
    let mac = |f: &FieldDef| esp32 && ESP32_CUSTOM_MAC.contains(&f.field);
    let late = |f: &FieldDef| !f.shown || mac(f);
    let fields = chip.table().fields;
    let first_calculated = fields
        .iter()
        .position(|f| f.word.is_none())
        .unwrap_or(fields.len());
    let offered: Vec<(usize, &'static FieldDef)> = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.word.is_some()
                && f.coding != crate::tables::FieldCoding::ThreeFourOnly
                && list.takes(f.wr_dis, f.rd_dis)
        })
        .collect();
    let group = |keep: &dyn Fn(usize, &FieldDef) -> bool| {
        offered
            .iter()
            .filter(move |(i, f)| keep(*i, f))
            .map(|(_, f)| *f)
            .collect::<Vec<_>>()
    };
    let order = [
        group(&|i, f| !late(f) && i < first_calculated),
        group(&|_, f| mac(f)),
        group(&|_, f| late(f) && !mac(f)),
        group(&|i, f| !late(f) && i >= first_calculated),
    ];
    order.into_iter().flatten().collect()
}

/// The field `name` (canonical or alternative) stands for on `efuses`:
/// one of the chip's ([`field`]) or one of an eFuse CSV table placed on
/// it; an unknown name is refused as [`field`] refuses it.
pub fn efuse(efuses: &Efuses, name: &str) -> Result<FieldRef, EfuseError> {
    match field(efuses.chip(), name) {
        // a field of other revisions is unknown on this one
        Ok(f) if efuses.def(f).is_ok_and(|d| !efuses.in_revision(d)) => {
            Err(EfuseError::UnknownField {
                name: name.to_string(),
                chip: efuses.chip(),
                suggestions: Vec::new(),
            })
        }
        Ok(f) => Ok(FieldRef::Chip(f)),
        Err(e) => efuses.user_field(name).map(FieldRef::User).ok_or(e),
    }
}

/// One field of espefuse's eFuse list, chip's or user's.
pub(crate) struct Listed<'a> {
    pub(crate) name: &'a str,
    pub(crate) alt_names: Vec<&'a str>,
    pub(crate) block: usize,
    pub(crate) wr_dis: Option<u8>,
    pub(crate) rd_dis: &'a [u8],
}

impl<'a> Listed<'a> {
    fn of_def(d: &'static FieldDef) -> Self {
        Listed {
            name: d.name(),
            alt_names: d.alt_names.to_vec(),
            block: usize::from(d.block),
            wr_dis: d.wr_dis,
            rd_dis: d.rd_dis,
        }
    }

    fn of_user(u: &'a ChipCustomField) -> Self {
        Listed {
            name: &u.field.name,
            alt_names: u.field.alt_names.iter().map(String::as_str).collect(),
            block: u.field.block as usize,
            wr_dis: u.wr_dis,
            rd_dis: &u.rd_dis,
        }
    }
}

/// The chip's fields `defs` with a CSV table's `users` where espefuse
/// appends them to the chip's plain fields (mem_definition_base.py
/// `extend_efuses`): before the block group, which starts with the first
/// field named after a whole block (BLOCK_USR_DATA, BLOCK1, BLOCK_KEY0).
fn with_users<'a>(
    chip: Chip,
    defs: Vec<&'static FieldDef>,
    users: impl Iterator<Item = Listed<'a>>,
) -> Vec<Listed<'a>> {
    let blocks = chip.table().blocks;
    let mut users = Some(users);
    let mut out = Vec::new();
    for d in defs {
        if blocks.iter().any(|b| b.name == d.name()) {
            out.extend(users.take().into_iter().flatten());
        }
        out.push(Listed::of_def(d));
    }
    out.extend(users.into_iter().flatten());
    out
}

/// espefuse's `EspEfuses.efuses` with the fields of an eFuse CSV table:
/// `extend_efuses` appends them to the chip's definitions, and each chip's
/// `EfuseDefineFields` keeps them in its first group, so they come after
/// the chip's plain fields, before its key blocks.
pub(crate) fn listed(efuses: &Efuses) -> Vec<Listed<'_>> {
    with_users(efuses.chip(), efuse_list(efuses), users_of(efuses))
}

/// The fields of the CSV table placed on `efuses`.
fn users_of(efuses: &Efuses) -> impl Iterator<Item = Listed<'_>> {
    efuses
        .user_fields()
        .filter_map(|u| efuses.user_def(u).ok())
        .map(Listed::of_user)
}

/// espefuse's `EspEfuses.efuses` once its commands are registered, which
/// is what a command walks when it runs: registering `burn-custom-mac`
/// looks up `CUSTOM_MAC` for its help (base_operations.py
/// `add_cli_commands`), which on the ESP32 loads that lazy group
/// (base_fields.py `__getitem__`) at the end of the list when MAC_VERSION
/// has not listed it already. The command-line choices were taken before
/// ([`listed`]).
pub(crate) fn listed_in_run(efuses: &Efuses) -> Vec<Listed<'_>> {
    let mut list = listed(efuses);
    if efuses.chip() == Chip::Esp32 && efuses.listing().mac_version != 1 {
        let group = ESP32_CUSTOM_MAC
            .iter()
            .filter_map(|f| efuses.def(*f).ok())
            .map(Listed::of_def);
        list.extend(group);
    }
    list
}

/// The fields of `summary`'s table (which the protect commands name as
/// sharing a protection bit: espefuse's list once it has read the chip),
/// with the user fields where [`listed`] puts them.
pub(crate) fn listed_shown(efuses: &Efuses) -> Vec<Listed<'_>> {
    let shown = (0..efuses.table().fields.len())
        .filter(|i| efuses.is_shown_at(*i))
        .map(|i| efuses.def_at(i))
        .collect();
    with_users(efuses.chip(), shown, users_of(efuses))
}

/// espefuse's `EspEfuses.efuses` when it starts (see [`efuse_choices`]).
pub(crate) fn efuse_list(efuses: &Efuses) -> Vec<&'static FieldDef> {
    let fields = efuses.table().fields;
    let esp32 = efuses.chip() == Chip::Esp32;
    // the groups espefuse adds after the key blocks when the eFuses call
    // for them (esp32/fields.py `EspEfuses.__init__`): the ESP32's custom
    // MAC, and the calibration group (the fields a blank chip does not list)
    let late = |f: &FieldDef| !f.shown || (esp32 && ESP32_CUSTOM_MAC.contains(&f.field));
    let listed = |f: &FieldDef| {
        if esp32 && ESP32_CUSTOM_MAC.contains(&f.field) {
            efuses.listing().mac_version == 1
        } else {
            efuses.calibration_listed()
        }
    };
    // the ESP32's key blocks under the 3/4 coding scheme (KEYBLOCKS_192),
    // which the table keeps after the calculated fields, stand where the
    // NONE ones (KEYBLOCKS_256) do: before the late groups
    let three_four = |f: &FieldDef| f.coding == crate::tables::FieldCoding::ThreeFourOnly;
    let late_fields: Vec<usize> = (0..fields.len())
        .filter(|i| three_four(&fields[*i]) && efuses.is_shown_at(*i))
        .chain((0..fields.len()).filter(|i| late(&fields[*i]) && listed(&fields[*i])))
        .collect();
    let mut order: Vec<usize> = Vec::new();
    let mut inserted = false;
    for (i, f) in fields.iter().enumerate() {
        // … before the calculated fields
        if f.word.is_none() && !inserted {
            order.extend(&late_fields);
            inserted = true;
        }
        if !late(f) && !three_four(f) && efuses.is_shown_at(i) {
            order.push(i);
        }
    }
    if !inserted {
        order.extend(&late_fields);
    }
    order.into_iter().map(|i| &fields[i]).collect()
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
