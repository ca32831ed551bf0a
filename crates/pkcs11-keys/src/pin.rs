//! The user PIN of a token: zeroized on drop, never printed.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// A token's user PIN. Its memory is wiped when dropped and its `Debug`
/// form is redacted, so a PIN cannot reach a log or an error message
/// through this type.
#[derive(Clone)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// Wraps a PIN (the `String`'s buffer is zeroized with the `Pin`).
    pub fn new(pin: String) -> Self {
        Self(Zeroizing::new(pin))
    }

    /// Wraps a PIN already held in zeroizing memory, without a copy.
    pub(crate) fn from_zeroizing(pin: Zeroizing<String>) -> Self {
        Self(pin)
    }

    /// Reads a PIN from a file, as RFC 7512's `pin-source=file:…` and
    /// p11-kit do: the whole file, less one trailing line break. The read
    /// buffer is zeroized too.
    ///
    /// # Errors
    /// [`PinFileError`] naming the file (never its contents) when it cannot
    /// be read or is not UTF-8.
    pub fn from_file(path: &Path) -> Result<Self, PinFileError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| PinFileError::Read {
            path: path.to_path_buf(),
            source,
        })?);
        let text = std::str::from_utf8(&bytes).map_err(|_| PinFileError::NotUtf8 {
            path: path.to_path_buf(),
        })?;
        let text = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(text);
        Ok(Self::new(text.to_owned()))
    }

    /// The PIN's text, for handing to another API that needs it. Never
    /// print or log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The PIN as cryptoki's login argument (itself zeroized on drop).
    pub(crate) fn auth_pin(&self) -> cryptoki::types::AuthPin {
        cryptoki::types::AuthPin::from(self.0.as_str())
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

impl From<String> for Pin {
    fn from(pin: String) -> Self {
        Self::new(pin)
    }
}

/// Why a PIN file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PinFileError {
    /// The file cannot be read.
    #[error("cannot read PIN file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("PIN file {} is not UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_pin() {
        let pin = Pin::new("123456".into());
        assert_eq!(format!("{pin:?}"), "Pin(<redacted>)");
    }

    #[test]
    fn pin_file_loses_one_trailing_line_break_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (contents, expected) in [
            ("1234\n", "1234"),
            ("1234\r\n", "1234"),
            ("1234", "1234"),
            ("12 34\n\n", "12 34\n"),
        ] {
            let path = dir.path().join("pin");
            std::fs::write(&path, contents).expect("write");
            let pin = Pin::from_file(&path).expect("read");
            assert_eq!(pin.0.as_str(), expected, "{contents:?}");
        }
    }

    #[test]
    fn missing_pin_file_names_the_file() {
        let err = Pin::from_file(Path::new("/nonexistent/pin")).expect_err("missing");
        assert!(matches!(err, PinFileError::Read { .. }));
        assert!(err.to_string().contains("/nonexistent/pin"), "{err}");
    }
}
