//! File helpers shared by every command: nothing is ever half-written.
//!
//! Outputs go through the `atomic-write` crate, which the libraries that
//! persist state (virtual eFuse files, device directories) use too.

use std::path::Path;

pub use atomic_write::AtomicFile;

/// [`atomic_write::write_atomic`] for the commands' `anyhow` results.
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> anyhow::Result<()> {
    Ok(atomic_write::write_atomic(path, bytes, secret)?)
}

/// An output or input that could not be opened, as Python's `open()` of
/// the same path reports it: the reference tools open their files without
/// catching, or through click's `File` type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFailure {
    /// The path as given.
    pub path: std::path::PathBuf,
    /// The OSError subclass for the errno (`Objects/exceptions.c`).
    pub class: &'static str,
    /// `errno`.
    pub errno: i32,
    /// The C library's text for it.
    pub reason: String,
}

/// A path as the Python `str` the reference tools hold for it
/// (`surrogateescape`): [`py_repr::str`] quotes it and
/// [`py_repr::backslashreplace`] prints it as Python does, `\udcff` for a
/// byte that is not UTF-8.
pub fn python_str(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    py_repr::surrogateescape(path.as_os_str().as_bytes())
}

/// The file a Python `str` names (`os.fsencode`): the inverse of
/// [`python_str`], for a file name read as text from the command line.
pub fn path_of_python_str(text: &str) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStringExt as _;
    let bytes = py_repr::PyStr::from(text).fsencode();
    std::path::PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

/// Opens `path` for reading as Python's `open()` does: a directory fails
/// with EISDIR (the system's `open` of a directory for reading succeeds).
pub fn open_for_reading_as_python(path: &Path) -> std::io::Result<std::fs::File> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::from_raw_os_error(21));
    }
    Ok(file)
}

impl OpenFailure {
    /// What `open(path)` raises for the system error `e`.
    pub fn of_io(e: &std::io::Error, path: &Path) -> Self {
        let class = match e.kind() {
            std::io::ErrorKind::NotFound => "FileNotFoundError",
            std::io::ErrorKind::PermissionDenied => "PermissionError",
            std::io::ErrorKind::IsADirectory => "IsADirectoryError",
            std::io::ErrorKind::NotADirectory => "NotADirectoryError",
            _ => "OSError",
        };
        let text = e.to_string();
        let reason = text
            .rfind(" (os error ")
            .map_or(&text[..], |at| &text[..at])
            .to_owned();
        Self {
            path: path.to_owned(),
            class,
            errno: e.raw_os_error().unwrap_or(0),
            reason,
        }
    }

    /// The failure behind an output that could not be written atomically:
    /// the temporary file's directory, or the rename over a directory
    /// (where `open()` says EISDIR).
    pub fn of_write_error(err: &anyhow::Error) -> Option<Self> {
        let (target, source) = match err
            .chain()
            .find_map(|e| e.downcast_ref::<atomic_write::WriteError>())?
        {
            atomic_write::WriteError::TempFile { target, source, .. } => (target, source),
            atomic_write::WriteError::Write { path, source } => (path, source),
            _ => return None,
        };
        if target.is_dir() {
            return Some(Self::of_io(&std::io::Error::from_raw_os_error(21), target));
        }
        Some(Self::of_io(source, target))
    }

    /// The last line of Python's traceback: `FileNotFoundError: [Errno 2]
    /// No such file or directory: 'out.bin'`.
    pub fn exception(&self) -> String {
        format!(
            "{}: [Errno {}] {}: {}",
            self.class,
            self.errno,
            self.reason,
            py_repr::str(&python_str(&self.path))
        )
    }

    /// click's `FileError` for a `click.File` parameter: `Could not open
    /// file 'out.bin': No such file or directory`.
    pub fn click_message(&self) -> String {
        format!(
            "Could not open file {}: {}",
            py_repr::str(&python_str(&self.path)),
            self.reason
        )
    }
}
