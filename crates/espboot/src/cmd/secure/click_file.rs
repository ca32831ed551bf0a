//! espsecure's `click.File` parameters given as `-`: an input
//! (`click.File("rb")`) reads standard input, an output
//! (`click.File("wb", lazy=True)`) writes standard output, and espsecure's
//! messages name them as Python names those streams (`<stdin>`, `-`).
//! Only the espsecure personality turns this on ([`enable`]);
//! `espboot secure` reads and writes files named `-`, and espsecure's
//! `click.Path` parameters (`-o`, the SDC inputs) are files named `-` too.
//!
//! An input given as `-` is replaced by a copy of standard input in an
//! anonymous in-memory file, which every reader opens by its
//! `/proc/self/fd` path like any file.

use std::io::Write as _;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::fsutil::{write_atomic, AtomicFile};

/// Python's name of standard input (`sys.stdin.name`), which espsecure
/// also writes to as a file name where it writes beside its input.
pub(super) const STDIN_NAME: &str = "<stdin>";

/// Set by the espsecure personality.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// The copies of standard input made so far, kept open for the process.
static STDIN_COPIES: Mutex<Vec<(PathBuf, OwnedFd)>> = Mutex::new(Vec::new());

/// Whether standard input could seek (a regular file, `< file`), as
/// Python's `sys.stdin.buffer.seekable()` says; a pipe cannot.
static STDIN_SEEKABLE: AtomicBool = AtomicBool::new(false);

/// Makes `-` mean standard input or output where espsecure declares a
/// `click.File`, for the rest of the process (the personality runs one
/// command).
pub(super) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

fn is_dash(path: &Path) -> bool {
    ENABLED.load(Ordering::Relaxed) && path.as_os_str() == "-"
}

/// Replaces an input `path` given as `-` by a copy of standard input. The
/// first copy holds all of standard input; later ones are empty, as the
/// stream Python reads is exhausted by then.
///
/// # Errors
/// When standard input cannot be read or the copy not made.
pub(super) fn take_stdin(path: &mut PathBuf) -> anyhow::Result<()> {
    if !is_dash(path) {
        return Ok(());
    }
    let mut copies = STDIN_COPIES
        .lock()
        .map_err(|_| anyhow::anyhow!("standard input: lock poisoned"))?;
    let mut data = zeroize::Zeroizing::new(Vec::new());
    if copies.is_empty() {
        let regular = rustix::fs::fstat(std::io::stdin()).is_ok_and(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile
        });
        STDIN_SEEKABLE.store(regular, Ordering::Relaxed);
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut data)
            .map_err(|e| anyhow::anyhow!("cannot read standard input: {e}"))?;
    }
    let fd = rustix::fs::memfd_create("stdin", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| anyhow::anyhow!("cannot hold standard input: {e}"))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(&data)
        .map_err(|e| anyhow::anyhow!("cannot hold standard input: {e}"))?;
    let copy = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    *path = copy.clone();
    copies.push((copy, OwnedFd::from(file)));
    Ok(())
}

/// True for an input read from standard input that cannot seek (a pipe).
pub(super) fn is_unseekable_stdin(path: &Path) -> bool {
    name(path) == STDIN_NAME && !STDIN_SEEKABLE.load(Ordering::Relaxed)
}

/// How espsecure names an input file in its messages (`file.name`):
/// `<stdin>` for standard input.
pub(super) fn name(path: &Path) -> String {
    let stdin = STDIN_COPIES
        .lock()
        .is_ok_and(|copies| copies.iter().any(|(copy, _)| copy == path));
    if stdin {
        STDIN_NAME.to_owned()
    } else {
        path.display().to_string()
    }
}

/// Writes an output: standard output for `-`, else the file, atomically.
///
/// # Errors
/// When the output cannot be written.
pub(super) fn write(path: &Path, bytes: &[u8], secret: bool) -> anyhow::Result<()> {
    if is_dash(path) {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()?;
        return Ok(());
    }
    write_atomic(path, bytes, secret)
}

/// An output written as a stream ([`create`]).
pub(super) enum Output {
    File(AtomicFile),
    Stdout(std::io::Stdout),
}

/// Opens an output for writing: standard output for `-`, else a file put
/// in place by [`Output::commit`].
///
/// # Errors
/// When the file cannot be created.
pub(super) fn create(path: &Path) -> anyhow::Result<Output> {
    if is_dash(path) {
        return Ok(Output::Stdout(std::io::stdout()));
    }
    Ok(Output::File(AtomicFile::create(path, false)?))
}

impl Output {
    /// Puts the file in place (flushes standard output).
    ///
    /// # Errors
    /// When it cannot.
    pub(super) fn commit(self) -> anyhow::Result<()> {
        match self {
            Self::File(file) => Ok(file.commit()?),
            Self::Stdout(mut out) => Ok(out.flush()?),
        }
    }
}

impl std::io::Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::File(f) => f.write(buf),
            Self::Stdout(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::File(f) => f.flush(),
            Self::Stdout(s) => s.flush(),
        }
    }
}
