//! Refusals of espefuse's key and block commands.

use super::{digest_purpose_names, python_list};
use crate::tables::{Chip, Field, KeyBlock, KeyPurpose};

/// The repeated names of a command, in the order espefuse lists them
/// (`check_duplicate_name_in_list` compares the names as given: an
/// alternative name and its field's name are not repeats).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Repeated {
    /// Names from the command line.
    Names(Vec<String>),
    /// Key purposes (ESP32-C2, whose key groups share one block).
    Purposes(Vec<KeyPurpose>),
}

impl core::fmt::Display for Repeated {
    /// A Python list of the names (`['BLOCK_KEY0']`).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names: Vec<String> = match self {
            Repeated::Names(v) => v.clone(),
            Repeated::Purposes(v) => v.iter().map(ToString::to_string).collect(),
        };
        f.write_str(&python_list(&names))
    }
}

/// A key or digest refused by `burn-key`/`burn-key-digest`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file has the wrong size for its block.
    #[error("Incorrect key file size {got}. Key file must be {expected} bytes ({} bits) of raw binary key data.", expected * 8)]
    Size {
        /// Bytes given.
        got: usize,
        /// Bytes the block holds.
        expected: usize,
    },
    /// An XTS-AES-256 key is 64 bytes.
    #[error("Incorrect key file size {got}, XTS_AES_256_KEY should be 64 bytes")]
    Xts256Size {
        /// Bytes given.
        got: usize,
    },
    /// An XTS-AES-256 key needs a second free key block.
    #[error("XTS_AES_256_KEY requires two free keyblocks")]
    Xts256NoSecondBlock,
    /// The block's purpose is write-protected and differs.
    #[error("It is not possible to change '{field}' to '{purpose}' because write protection bit is set.")]
    PurposeLocked {
        /// The KEY_PURPOSE_n field.
        field: Field,
        /// The purpose asked for.
        purpose: KeyPurpose,
    },
    /// A key group without a purpose on a chip with key purposes.
    #[error("{block}: a key purpose is required on {chip}")]
    PurposeRequired {
        /// The block.
        block: KeyBlock,
        /// The chip.
        chip: Chip,
    },
    /// `burn-key-digest` with a purpose that is not a digest.
    #[error("invalid key purpose '{purpose}' for burn-key-digest (choose from {})", digest_purpose_names(*chip))]
    NotADigestPurpose {
        /// The purpose.
        purpose: KeyPurpose,
        /// The chip.
        chip: Chip,
    },
    /// ESP32-C2: at most two key groups.
    #[error("ESP32-C2 takes at most two key groups")]
    TooManyGroups,
    /// ESP32-C2: the two purposes cannot share BLOCK_KEY0.
    #[error("These keypurposes are incompatible {}", python_list(&purposes.iter().map(ToString::to_string).collect::<Vec<_>>()))]
    IncompatiblePurposes {
        /// The purposes.
        purposes: Vec<KeyPurpose>,
    },
    /// ESP32-C2: a Secure Boot digest is 32 (or 16) bytes.
    #[error("Wrong length of this file for SECURE_BOOT_DIGEST. Got {got} (expected 32 or 16)")]
    DigestSize {
        /// Bytes given.
        got: usize,
    },
    /// ESP32 `burn-key-digest` needs the NONE coding scheme.
    #[error("burn-key-digest only works with 'None' coding scheme")]
    DigestNeedsCodingNone,
    /// ESP32 Secure Boot V2 needs a v3.0 chip.
    #[error("Incorrect chip revision for Secure boot v2. Detected: v{}.{}. Expected: >= v3.0", revision / 100, revision % 100)]
    ChipRevision {
        /// major * 100 + minor.
        revision: u32,
    },
    /// No key group given.
    #[error("burn-key-digest needs a key file")]
    NoGroups,
    /// More Secure Boot digests than the chip has slots.
    #[error("{chip} holds at most {max} Secure Boot V2 key digest(s)")]
    TooManyDigests {
        /// The chip.
        chip: Chip,
        /// Its digest slots.
        max: usize,
    },
    /// Every key block is in use.
    #[error("no free key block")]
    NoFreeKeyBlock,
    /// A flash-encryption key of a length the chip does not use.
    #[error("{chip} has no {bytes}-byte flash-encryption key")]
    FlashKeyLength {
        /// The chip.
        chip: Chip,
        /// The key's length.
        bytes: usize,
    },
}

/// `burn-block-data` refusals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockDataError {
    /// `--offset` with several blocks.
    #[error("The 'offset' option is not applicable when a few blocks are passed. With 'offset', should only one block be used.")]
    OffsetWithSeveralBlocks,
    /// The offset is past the block's end.
    #[error("Invalid offset: the block{block} only holds {size} bytes.")]
    Offset {
        /// Block number.
        block: usize,
        /// Its size.
        size: usize,
    },
    /// The data (after the offset) is not the block's size.
    #[error("Data does not fit: the block{block} size is {size} bytes, data file is {len} bytes, offset {offset}.")]
    DoesNotFit {
        /// Block number.
        block: usize,
        /// Its size.
        size: usize,
        /// Data length including the offset.
        len: usize,
        /// The offset (click's int: it may be negative).
        offset: i64,
    },
}

/// espefuse features espboot does not implement yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsupported {
    /// Burning the ESP32 CUSTOM_MAC (MAC_VERSION and a CRC go with it).
    Esp32CustomMac,
}

impl core::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Unsupported::Esp32CustomMac => f.write_str("burning the ESP32 CUSTOM_MAC"),
        }
    }
}
