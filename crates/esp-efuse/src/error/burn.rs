//! Refusals of the staging and burn engine: espefuse's burn checks and
//! protection rules.

use super::fold;
use super::FieldName;
use crate::bits::Bits;
use crate::tables::Field;

/// Why a field cannot be read- or write-protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtectBlocker {
    /// The field has no protection bit.
    NoBit,
    /// The protection field itself (RD_DIS or WR_DIS) is write-protected.
    Locked,
}

impl ProtectBlocker {
    pub(super) fn suffix(self) -> &'static str {
        match self {
            ProtectBlocker::NoBit => "",
            ProtectBlocker::Locked => " due to the RD_DIS field being already write-disabled",
        }
    }

    pub(super) fn suffix_write(self) -> &'static str {
        match self {
            ProtectBlocker::NoBit => "",
            ProtectBlocker::Locked => " due to the WR_DIS field being already write-disabled",
        }
    }
}

/// Why a block must stay readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadableReason {
    /// Its purpose is read by software (digests, user data).
    Purpose,
    /// ESP32: Secure Boot V2 is on and its digest is in BLOCK2.
    SecureBootV2On,
}

pub(super) fn must_stay_readable(field: Field, reason: ReadableReason) -> String {
    match reason {
        ReadableReason::Purpose => format!("{field} must be readable, stop this operation!"),
        ReadableReason::SecureBootV2On => "Secure Boot V2 is on (ABS_DONE_1 = True), BLOCK2 must be readable, stop this operation!".into(),
    }
}

/// A check espefuse runs before staging or burning (base_fields.py
/// `check_wr_data`, `check_wr_rd_protect`; `print_error_msg`). Commands
/// with `--force-write-always` turn these into notes and go on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BurnCheck {
    /// The new value leaves out bits that are already burned.
    BitsCannotBeCleared {
        /// The field.
        field: FieldName,
        /// What the field would hold (old | new).
        value_after: Bits,
    },
    /// The field or block is read-protected: a burn cannot be checked.
    ReadProtected(Protected),
    /// The field or block is write-protected.
    WriteProtected(Protected),
    /// The block's coding scheme does not allow a second write.
    CodingForbids {
        /// Block number.
        block: usize,
        /// Block name.
        name: &'static str,
        /// The coding scheme.
        coding: Coding,
    },
}

/// What a protection check is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protected {
    /// A field.
    Field(Field),
    /// A field of an eFuse CSV table (`--extend-efuse-table`), by name.
    User(String),
    /// A whole block.
    Block {
        /// Block number.
        block: usize,
        /// Block name.
        name: &'static str,
    },
}

impl Protected {
    fn name(&self) -> &str {
        match self {
            Protected::Field(f) => f.name(),
            Protected::User(name) => name,
            Protected::Block { name, .. } => name,
        }
    }
}

/// A block's coding scheme (esptool.md §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Coding {
    /// No coding (ESP32 default).
    None,
    /// ESP32 3/4 coding: 6-byte chunks, each written once.
    ThreeFour,
    /// Reed-Solomon (every block but BLOCK0 on the newer chips): written once.
    ReedSolomon,
}

impl BurnCheck {
    /// espefuse's message as it prints it, tab-indented, possibly over two
    /// lines (what `--force-write-always` shows before skipping the check).
    pub fn espefuse_message(&self) -> String {
        match self {
            BurnCheck::BitsCannotBeCleared { value_after, .. } => format!(
                "\tNew value contains some bits that cannot be cleared (value will be {})",
                value_after.python_str()
            ),
            BurnCheck::ReadProtected(what) => format!(
                "\t{} is read-protected. The written value can not be read, the eFuse/block looks as all 0.\n\tBurn in this case may damage an already written value.",
                what.name()
            ),
            BurnCheck::WriteProtected(what) => {
                format!("\t{} is write-protected. Burn is not possible.", what.name())
            }
            BurnCheck::CodingForbids { name, coding, .. } => format!(
                "\tBurn into {name} is forbidden ({} coding scheme does not allow this).",
                if *coding == Coding::ThreeFour {
                    "3/4"
                } else {
                    "RS"
                }
            ),
        }
    }
}

impl core::fmt::Display for BurnCheck {
    /// The message folded onto one line.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&fold(&self.espefuse_message()))
    }
}
