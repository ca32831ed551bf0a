//! Problems with a virtual eFuse file and its hidden-bits companion.

use crate::tables::{Chip, ChipEfuses as _};

/// Problems with a virtual eFuse file or its hidden-bits companion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file (or its companion) cannot be written.
    #[error(transparent)]
    Write(#[from] atomic_write::WriteError),
    /// Another process kept the file locked (a concurrent burn), or the
    /// lock could not be taken.
    #[error("virtual eFuse file in use: {0}; try again when the other command is done")]
    Lock(#[from] atomic_write::LockError),
    /// The file has another chip's size.
    #[error("virtual eFuse file is {len} bytes but a {chip} eFuse file is {} bytes (wrong --chip?)", chip.table().mem_size)]
    Size {
        /// Its length.
        len: usize,
        /// The chip asked for.
        chip: Chip,
    },
    /// The file's controller registers belong to another chip family.
    #[error("virtual eFuse file was not written for {chip} (its controller registers belong to another chip; wrong --chip?)")]
    OtherChip {
        /// The chip asked for.
        chip: Chip,
    },
    /// A hidden-bits line is not `BLOCK<n> <hex>`.
    #[error("hidden eFuse data, line {line}: expected `BLOCK<n> <hex>`")]
    HiddenLine {
        /// 1-based line number.
        line: usize,
    },
    /// Hidden bits for a block the chip does not have.
    #[error("hidden eFuse data for block {block}: the chip has no such block")]
    HiddenBlock {
        /// Block number.
        block: usize,
    },
    /// Hidden bits of the wrong length.
    #[error("hidden eFuse data for block {block}: expected {expected} bytes, got {got}")]
    HiddenLength {
        /// Block number.
        block: usize,
        /// The block's length.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
}
