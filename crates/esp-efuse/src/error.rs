//! Errors of the eFuse model.

/// Everything that can refuse an eFuse operation or a virtual file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EfuseError {
    /// The field name is not in the chip's table.
    #[error("unknown eFuse '{name}' for {chip}{}", suggest(.suggestions))]
    UnknownField {
        /// Given name.
        name: String,
        /// Chip.
        chip: crate::Chip,
        /// Closest existing names.
        suggestions: Vec<String>,
    },
    /// The block name is not in the chip's table.
    #[error("unknown block '{name}' for {chip}")]
    UnknownBlock {
        /// Given name.
        name: String,
        /// Chip.
        chip: crate::Chip,
    },
    /// A value does not fit the field or has the wrong form.
    #[error("{0}")]
    BadValue(String),
    /// espefuse's own refusal (same message as espefuse, tabs and line breaks folded).
    #[error("{0}")]
    Refused(String),
    /// The virtual eFuse file does not belong to the chosen chip.
    #[error("{0}")]
    ChipMismatch(String),
    /// The chip (behind a port) is in Secure Download Mode or has download mode off.
    #[error("Secure Download Mode is enabled. The tool can not read eFuses.")]
    SecureDownloadMode,
    /// The ROM download mode is disabled: nothing answers on the port.
    #[error(
        "download mode is disabled ({0} is burned): the chip does not answer on the serial port"
    )]
    DownloadModeDisabled(&'static str),
}

fn suggest(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", s.join(", "))
    }
}

impl EfuseError {
    /// A refusal with espefuse's message, folded onto one line.
    pub fn refused(msg: impl AsRef<str>) -> EfuseError {
        EfuseError::Refused(fold(msg.as_ref()))
    }
}

/// Folds espefuse's tab-indented, multi-line messages onto one line.
pub fn fold(msg: &str) -> String {
    msg.split(['\n', '\t'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
