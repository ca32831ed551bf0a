//! Errors of the eFuse model, typed so callers and tests can match on them.
//!
//! The messages are espefuse's own where espefuse refuses the same thing
//! (its tab-indented, multi-line messages folded onto one line), so the
//! command line reports what espefuse would.

mod burn;
mod command;
mod file;
mod value;

use burn::must_stay_readable;
pub use burn::{BurnCheck, Coding, ProtectBlocker, Protected, ReadableReason};
pub use command::{BlockDataError, KeyError, Repeated, Unsupported};
pub use file::FileError;
pub use value::ValueError;

use crate::tables::{Chip, ChipEfuses as _, Field, KeyBlock, KeyPurpose};

/// The name of a field in an error or a note: one of the chip's table, or
/// one added from an eFuse CSV table (`--extend-efuse-table`), whose names
/// are only known at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldName {
    /// A field of the chip's table.
    Chip(Field),
    /// A field of an eFuse CSV table.
    User(String),
}

impl FieldName {
    /// espefuse's name of the field.
    pub fn as_str(&self) -> &str {
        match self {
            FieldName::Chip(f) => f.name(),
            FieldName::User(name) => name,
        }
    }
}

impl std::fmt::Display for FieldName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Field> for FieldName {
    fn from(field: Field) -> FieldName {
        FieldName::Chip(field)
    }
}

impl PartialEq<Field> for FieldName {
    fn eq(&self, other: &Field) -> bool {
        *self == FieldName::Chip(*other)
    }
}

/// Everything that can refuse an eFuse operation or a virtual file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EfuseError {
    /// The field does not exist on this chip.
    #[error("{chip} has no eFuse {field}")]
    NotOnChip {
        /// The field.
        field: Field,
        /// The chip.
        chip: Chip,
    },
    /// The key block does not exist on this chip.
    #[error("{chip} has no key block {block} (use one of {})", key_block_names(*chip))]
    KeyBlockNotOnChip {
        /// The key block.
        block: KeyBlock,
        /// The chip.
        chip: Chip,
    },
    /// The key purpose does not exist on this chip.
    #[error("invalid key purpose '{purpose}' for {chip} (choose from {})", purpose_names(*chip))]
    PurposeNotOnChip {
        /// The purpose.
        purpose: KeyPurpose,
        /// The chip.
        chip: Chip,
    },
    /// A field name (from the command line) is not in the chip's table.
    #[error("unknown eFuse '{name}' for {chip}{}", suggest(suggestions))]
    UnknownField {
        /// Given name.
        name: String,
        /// Chip.
        chip: Chip,
        /// Closest existing names.
        suggestions: Vec<&'static str>,
    },
    /// A block name (from the command line) is not in the chip's table.
    #[error("unknown block '{name}' for {chip} (use one of {})", block_names(*chip))]
    UnknownBlock {
        /// Given name.
        name: String,
        /// Chip.
        chip: Chip,
    },
    /// `burn-key`/`burn-key-digest` arguments whose key file is not in the
    /// KEYFILE place while another argument of the group is a file.
    #[error(
        "{command} takes {usage}, in that order: '{}' is not a key file, '{}' is (did you mean \
         `{command} {}`?)",
        given.get(1).map_or("", String::as_str),
        suggested.get(1).map_or("", String::as_str),
        suggested.join(" ")
    )]
    KeyArgumentOrder {
        /// `burn-key`.
        command: &'static str,
        /// `BLOCK KEYFILE KEYPURPOSE`.
        usage: &'static str,
        /// The group as given.
        given: Vec<String>,
        /// The same arguments in the order the command takes them.
        suggested: Vec<String>,
    },
    /// A block number the chip does not have.
    #[error("{chip} has no eFuse block {block}")]
    NoSuchBlock {
        /// Block number.
        block: usize,
        /// Chip.
        chip: Chip,
    },
    /// A key block name (from the command line) is not one `burn-key` accepts.
    #[error("block '{name}' is not a key block (use one of {})", key_block_names(*chip))]
    UnknownKeyBlock {
        /// Given name.
        name: String,
        /// Chip.
        chip: Chip,
    },
    /// A key purpose name (from the command line) is not one the chip knows.
    #[error("invalid key purpose '{name}' (choose from {})", purpose_names(*chip))]
    UnknownPurpose {
        /// Given name.
        name: String,
        /// Chip.
        chip: Chip,
    },
    /// A value given in espefuse's text form does not fit the field.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// One of espefuse's burn checks refused (`print_error_msg`).
    #[error("{check}{}", if *hint { "(use '--force-write-always' option to ignore it)" } else { "" })]
    Check {
        /// What was refused.
        check: BurnCheck,
        /// The command offers espefuse's `--force-write-always` (not given).
        hint: bool,
    },
    /// A new value has the wrong number of bits for its field.
    #[error(
        "For {field} eFuse, the length of the new value is wrong, expected {expected} bits, was {got} bits."
    )]
    NewValueLength {
        /// The field.
        field: FieldName,
        /// Its length in bits.
        expected: usize,
        /// The new value's length.
        got: usize,
    },
    /// KEY_PURPOSE_5 (BLOCK9) cannot hold this purpose on this chip.
    #[error(
        "KEY_PURPOSE_5 can not have {purpose} key due to a hardware bug (please see TRM for more details)"
    )]
    Block9Quirk {
        /// The refused purpose.
        purpose: KeyPurpose,
    },
    /// The field cannot be read-protected.
    #[error("This eFuse cannot be read-disabled{}", reason.suffix())]
    CannotReadProtect {
        /// The field.
        field: FieldName,
        /// Why.
        reason: ProtectBlocker,
    },
    /// The field cannot be write-protected.
    #[error("This eFuse cannot be write-disabled{}", reason.suffix_write())]
    CannotWriteProtect {
        /// The field.
        field: FieldName,
        /// Why.
        reason: ProtectBlocker,
    },
    /// Staged data is longer than the block holds under its coding scheme.
    #[error("Data does not fit: block{block} size {size} bytes, data {data} bytes")]
    BlockOverflow {
        /// Block number.
        block: usize,
        /// What the block holds.
        size: usize,
        /// What was staged.
        data: usize,
    },
    /// Talking to the chip's eFuse controller failed (the port's error
    /// names the port and the request).
    #[error("{operation}: {error}")]
    Port {
        /// What was being done (`read eFuses`, `burn BLOCK4`).
        operation: &'static str,
        /// The port's error.
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The controller reports coding errors (`check-error`).
    #[error("Error(s) were detected in eFuses.")]
    CodingErrors,
    /// An ESP32 whose CODING_SCHEME is REPEAT (2): espefuse reads no block
    /// under it (base_fields.py `get_block_len`).
    #[error("Coding scheme ({0}) not supported")]
    CodingSchemeUnsupported(u32),
    /// espefuse's ESP32 emulator copies no block under the REPEAT coding
    /// scheme: a burn that sets it fails before the file is saved
    /// (esp32/emulate_efuse_controller.py `get_bitlen_of_block`).
    #[error("The {0} coding scheme is not supported")]
    EmulatorCodingScheme(u32),
    /// The controller stayed busy (espefuse `wait_efuse_idle`).
    #[error("Timed out waiting for eFuse controller command to complete.")]
    ControllerBusy,
    /// The burn of `ENABLE_SECURITY_DOWNLOAD` took effect at the read
    /// command: the chip came back in Secure Download Mode, where eFuses
    /// cannot be read back. espefuse ends such a burn successfully
    /// (`efuse/<chip>/fields.py` `efuse_read`).
    #[error("Secure download mode is enabled: espefuse can not continue to work in Secure download mode")]
    SecureDownloadModeBurned,
    /// The burn of `DIS_DOWNLOAD_MODE` took effect at the read command: the
    /// chip no longer answers in download mode. espefuse ends such a burn
    /// successfully.
    #[error("DIS_DOWNLOAD_MODE is enabled: the chip can no longer be reached in download mode")]
    DownloadModeBurned,
    /// A burned block did not read back (espefuse's post-burn check).
    #[error("Burn {name} ({}) was not successful.", python_list(aliases))]
    BurnFailed {
        /// Block number.
        block: usize,
        /// Block name.
        name: &'static str,
        /// Its aliases.
        aliases: &'static [&'static str],
    },
    /// A read-protected block read back bits after its burn (espefuse's
    /// "should never happen": the emulator hides only the protected part
    /// of a block, such as one half of the ESP32-C2's key block).
    #[error("The {name} is read-protected but not all '0' ({hex})")]
    ReadProtectedNotZero {
        /// Block name.
        name: &'static str,
        /// The block's bits as espefuse's bitstring hex shows them (last
        /// word first).
        hex: String,
    },
    /// After a burn, a field does not hold its new value, or a protection
    /// is not in place (espefuse's "Checking eFuses...").
    #[error("The burn was not successful.")]
    BurnNotSuccessful,
    /// The same name twice in one command.
    #[error("Found repeated {0} in the name list.")]
    Repeated(Repeated),
    /// ESP32-S3: USB JTAG and USB Serial/JTAG disabled together.
    #[error("Incompatible eFuse settings detected, abort. (use --force flag to skip it).")]
    IncompatibleSettings,
    /// `read-protect-efuse`/`write-protect-efuse` on a field without such a bit.
    #[error("'{field}' has no {}-protection bit", if *read { "read" } else { "write" })]
    NoProtectionBit {
        /// The field.
        field: Field,
        /// Read (else write) protection.
        read: bool,
    },
    /// `read-protect-efuse` on a block the chip must keep readable.
    #[error("{}", must_stay_readable(*field, *reason))]
    MustStayReadable {
        /// The field.
        field: Field,
        /// Why.
        reason: ReadableReason,
    },
    /// A key (or digest) refused by `burn-key`/`burn-key-digest`.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// `burn-bit`: a bit number past the end of the block.
    #[error("{name} has bit_number in [0..{max}]")]
    BitNumber {
        /// Block name, as given.
        name: String,
        /// The last bit.
        max: usize,
    },
    /// `burn-block-data`: data or offset does not fit.
    #[error(transparent)]
    BlockData(#[from] BlockDataError),
    /// A virtual eFuse file cannot be used.
    #[error(transparent)]
    File(#[from] FileError),
    /// Read-protected key bits the model does not hold: loaded from
    /// espefuse's virtual file alone, which drops them.
    #[error("the key in {name} is read-protected and its value is not in the virtual eFuse file")]
    HiddenKeyUnknown {
        /// Block number.
        block: usize,
        /// Block name.
        name: &'static str,
    },
    /// The chip (behind a port) is in Secure Download Mode.
    #[error("Secure Download Mode is enabled. The tool can not read eFuses.")]
    SecureDownloadMode,
    /// The ROM download mode is disabled: nothing answers on the port.
    #[error(
        "download mode is disabled ({0} is burned): the chip does not answer on the serial port"
    )]
    DownloadModeDisabled(Field),
    /// espefuse does this, espboot does not yet.
    #[error("{0} is not supported by espboot yet")]
    Unsupported(Unsupported),
    /// The ESP32's ADC_VREF is calibrated in the factory: espefuse refuses
    /// to burn it (esp32/fields.py `EfuseVRefField.save`).
    #[error("Writing to VRef is not supported.")]
    VRefNotWritable,
    /// ESP32 `burn-custom-mac`: MAC_VERSION holds another format than the
    /// custom MAC's (esp32/fields.py `EfuseMacField.save`).
    #[error("MAC_VERSION = {version}, should be 0 or 1.")]
    MacVersion {
        /// MAC_VERSION as read.
        version: u64,
    },
    /// `set-flash-voltage`: a regulator eFuse already burned rules the
    /// setting out (esp32{,s2,s3}/operations.py `set_flash_voltage`; the
    /// ESP32's messages end with a full stop, the others' do not).
    #[error("{}", flash_voltage_blocked(*chip, *off, *field))]
    FlashVoltageBlocked {
        /// The chip.
        chip: Chip,
        /// `OFF` was asked for (else 1.8V).
        off: bool,
        /// The burned eFuse in the way.
        field: Field,
    },
}

fn flash_voltage_blocked(chip: Chip, off: bool, field: Field) -> String {
    let stop = if chip == Chip::Esp32 { "." } else { "" };
    if off {
        format!("Can't set flash regulator to OFF as {field} eFuse is already burned{stop}")
    } else {
        format!("Can't set regulator to 1.8V is {field} eFuse is already burned{stop}")
    }
}

fn suggest(s: &[&str]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", s.join(", "))
    }
}

/// Every block name of `chip`, with its `BLOCKn` alias when it differs.
fn block_names(chip: Chip) -> String {
    chip.table()
        .blocks
        .iter()
        .map(|b| match b.aliases.iter().find(|a| **a != b.name) {
            Some(alias) => format!("{} ({alias})", b.name),
            None => b.name.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn key_block_names(chip: Chip) -> String {
    let mut names: Vec<&str> = Vec::new();
    for d in chip.table().key_blocks {
        if !names.contains(&d.key_block.name()) {
            names.push(d.key_block.name());
        }
    }
    names.join(", ")
}

fn purpose_names(chip: Chip) -> String {
    chip.table()
        .key_purposes
        .iter()
        // espboot does not burn USER keys into the ESP32-C2's one key block
        .filter(|p| !(chip == Chip::Esp32c2 && p.purpose == KeyPurpose::User))
        .map(|p| p.purpose.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn digest_purpose_names(chip: Chip) -> String {
    chip.table()
        .key_purposes
        .iter()
        .filter(|p| p.digest)
        .map(|p| p.purpose.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Python list of strings (`['A', 'B']`), as espefuse prints lists.
pub(crate) fn python_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{}'", s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

/// Folds espefuse's tab-indented, multi-line messages onto one line.
pub(crate) fn fold(msg: &str) -> String {
    msg.split(['\n', '\t'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
