//! Shared helpers: Python-style integers, imgtool's key loading, file I/O.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use mcuboot_image::keys::KeyFile;

use super::sign::ImgtoolRefusal;

pub use crate::cmd::key_file::{read_password, PASSWORD_ENV};

/// A Python-style integer ([`py_int`]) as a `u32`, naming `arg` in the error.
pub fn parse_u32(arg: &str, text: &str) -> anyhow::Result<u32> {
    py_int::parse_u32(text).map_err(|e| match e {
        py_int::ParseIntError::OutOfRange => {
            anyhow::anyhow!("{arg}: {text} is out of range (0..=0xffffffff)")
        }
        _ => anyhow::anyhow!(
            "{arg}: '{text}' is not a valid integer (use 0x/0o/0b prefixes as needed)"
        ),
    })
}

/// Loads a key file (`arg` names the option) as imgtool's `load_key`
/// does: asking for a password when it is encrypted, refusing key types
/// imgtool does not load. `None` where imgtool's `load_key` returns None:
/// the imgtool personality read an empty passphrase, which cryptography
/// takes for none given, so `keys.load` returns None and imgtool goes on
/// without the key (`getpub` prints "Invalid passphrase", `sign` leaves
/// the image unsigned).
pub fn load_key(arg: &str, path: &Path) -> anyhow::Result<Option<KeyFile>> {
    // read once: a pipe or /dev/stdin has nothing left for a second read
    let imgtool = IMGTOOL_GETPASS.load(Ordering::Relaxed);
    let pem = if imgtool {
        // keys.load opens the file without catching (a directory opens in
        // Rust and fails at the read, as in Python)
        zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| {
            ImgtoolRefusal::Uncaught(crate::fsutil::OpenFailure::of_io(&e, path).exception())
        })?)
    } else {
        crate::cmd::key_file::read(arg, path)?
    };
    refuse_as_cryptography(arg, path, &pem)?;
    let file = if imgtool {
        match load_as_imgtool(arg, path, &pem)? {
            Some(file) => file,
            None => return Ok(None),
        }
    } else {
        crate::cmd::key_file::load_bytes(arg, path, &pem)?
    };
    mcuboot_image::keys::check_supported(file.kind())
        .with_context(|| format!("{arg}: {}", path.display()))?;
    Ok(Some(file))
}

/// Set by the `imgtool` personality: key passwords are asked for as
/// imgtool's `load_key` asks (Python's `getpass`, its stdin fallback
/// included), not through espboot's own prompt.
static IMGTOOL_GETPASS: AtomicBool = AtomicBool::new(false);

/// imgtool opens its inputs with a bare `open()` and catches only
/// `FileNotFoundError` (as its usage error, "Input file not found"): any
/// other failure to open `path`, a directory (EISDIR) or a file named
/// with a trailing slash (ENOTDIR) among them, is the traceback's last
/// line. A missing file is left to the caller's own message.
pub fn refuse_unopenable_as_imgtool(path: &Path) -> anyhow::Result<()> {
    if !reads_keys_as_imgtool() {
        return Ok(());
    }
    match crate::fsutil::open_for_reading_as_python(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            let failure = crate::fsutil::OpenFailure::of_io(&e, path);
            Err(ImgtoolRefusal::Uncaught(failure.exception()).into())
        }
        _ => Ok(()),
    }
}

/// Whether Python's `open(path)` would raise `FileNotFoundError`, which
/// imgtool turns into its usage errors (`Path::exists` is also false for
/// a path it cannot look at, such as `file.bin/`).
pub fn is_missing(path: &Path) -> bool {
    matches!(std::fs::metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

/// Whether key files are read as imgtool reads them ([`prompt_as_imgtool`]).
pub fn reads_keys_as_imgtool() -> bool {
    IMGTOOL_GETPASS.load(Ordering::Relaxed)
}

/// Makes [`load_key`] ask for passwords as imgtool does, for the rest of
/// the process (the personality runs one command).
pub fn prompt_as_imgtool() {
    IMGTOOL_GETPASS.store(true, Ordering::Relaxed);
}

/// imgtool's `load_key` (imgtool/main.py): `keys.load` without a
/// password, then once with the passphrase `getpass` reads. The end of
/// input is click's `Aborted!`; a wrong passphrase makes cryptography's
/// private loader fail, and `keys.load` then tries the public loader,
/// whose ValueError nothing catches.
fn load_as_imgtool(arg: &str, path: &Path, pem: &[u8]) -> anyhow::Result<Option<KeyFile>> {
    use key_files::KeyFileError;
    let context = || format!("{arg}: {}", path.display());
    match KeyFile::from_pem(pem, None) {
        Err(KeyFileError::PasswordRequired) => {}
        other => return other.map(Some).with_context(context),
    }
    let Some(passphrase) = super::keys::getpass("Enter key passphrase: ")? else {
        return Err(ImgtoolRefusal::Aborted.into());
    };
    if passphrase.is_empty() {
        // cryptography: "Password was not given but private key is
        // encrypted", which keys.load turns into None
        return Ok(None);
    }
    match KeyFile::from_pem(pem, Some(passphrase.as_bytes())) {
        // cryptography's ValueErrors for a key it cannot decrypt ("Key
        // encrypted with unknown cipher." too)
        Err(KeyFileError::WrongPassword | KeyFileError::UnsupportedLegacyCipher { .. }) => {
            public_after_wrong_passphrase(pem)
                .map(Some)
                .with_context(context)
        }
        other => other.map(Some).with_context(context),
    }
}

/// `keys.load` after a wrong passphrase: cryptography's private loader
/// raises a ValueError, which sends the file to its public loader. That
/// reads only the file's first block, and its failure is what nothing
/// catches.
fn public_after_wrong_passphrase(pem: &[u8]) -> anyhow::Result<KeyFile> {
    use key_files::strict::{self, PublicFallback};
    let failure = if strict::first_block_is_public(pem) {
        strict::first_failure(pem, strict::Wanted::PublicKey)
            .map(|(label, failure)| PublicFallback::Fails(label, failure))
    } else {
        Some(PublicFallback::NoPublicBlock)
    };
    match failure {
        Some(failure) => Err(ImgtoolRefusal::Uncaught(
            crate::cmd::secure::keys::public_fallback_exception(failure),
        )
        .into()),
        None => Ok(KeyFile::public_from_pem(pem)?),
    }
}

/// A key file imgtool's loader cannot read although our lenient loader
/// might: its private key attempt and then its public key attempt fail
/// (a blank line in the PEM body, RSA parts that disagree, …).
#[derive(Debug, thiserror::Error)]
#[error("{arg}: {}: {}", path.display(), exception.split_once(": ").map_or(exception.as_str(), |(_, text)| text))]
pub struct RefusedKeyFile {
    /// The option that named the file.
    pub arg: String,
    /// The file.
    pub path: std::path::PathBuf,
    /// The last line of imgtool's traceback for it.
    pub exception: String,
}

/// Refuses the key file at `path` (named by `arg`) when `cryptography`
/// fails to load it both as a private and as a public key, as imgtool's
/// `keys.load` tries it. A file that cannot be read is left to the loader.
pub fn refuse_as_cryptography(arg: &str, path: &Path, pem: &[u8]) -> Result<(), RefusedKeyFile> {
    match key_files::strict::private_then_public(pem) {
        Some(fallback) => Err(RefusedKeyFile {
            arg: arg.to_owned(),
            path: path.to_owned(),
            exception: crate::cmd::secure::keys::public_fallback_exception(fallback),
        }),
        None => Ok(()),
    }
}

/// Writes `bytes` to `path` (temp file + rename), or to stdout when `path` is None.
pub fn write_output(path: Option<&Path>, bytes: &[u8], secret: bool) -> anyhow::Result<()> {
    match path {
        Some(p) => crate::fsutil::write_atomic(p, bytes, secret),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out.write_all(bytes).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(e).context("cannot write to stdout")
                }
                _ => Ok(()),
            }
        }
    }
}

/// Prints `text` to stdout; a closed pipe (`| head`) is not an error.
pub fn print(text: &str) -> anyhow::Result<()> {
    print_bytes(text.as_bytes())
}

/// [`print`] of text that may hold a name's bytes that are not UTF-8.
pub fn print_bytes(text: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}

/// True when `path` names an Intel HEX file (imgtool: extension `.hex`, any case).
pub fn is_hex(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("hex"))
}

/// The last line of intelhex's traceback when it refused a HEX file that
/// `err` failed to read (imgtool lets intelhex's exceptions through).
pub fn intelhex_exception(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|cause| match cause.downcast_ref() {
        Some(mcuboot_image::hexfile::HexError::Record(e)) => {
            Some(format!("{}: {e}", e.python_class()))
        }
        _ => None,
    })
}

/// Reads an image file: binary, or Intel HEX (returns its lowest address).
pub fn read_image(arg: &str, path: &Path) -> anyhow::Result<(Vec<u8>, Option<u32>)> {
    refuse_unopenable_as_imgtool(path)?;
    if is_hex(path) {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{arg}: cannot read {}", path.display()))?;
        match mcuboot_image::hexfile::read(&text) {
            Ok((base, data)) => Ok((data, Some(base))),
            // intelhex reads a file without data as no bytes at no address
            Err(mcuboot_image::hexfile::HexError::Empty) => Ok((Vec::new(), None)),
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("{arg}: {} is not valid Intel HEX", path.display()))),
        }
    } else {
        let data = std::fs::read(path)
            .with_context(|| format!("{arg}: cannot read {}", path.display()))?;
        Ok((data, None))
    }
}
