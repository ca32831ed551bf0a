//! `keygen`, `getpub`, `getpubhash`, `getpriv`, `keyinfo`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use mcuboot_image::keys::{
    self, KeyFile, KeyFileError, KeyType, McubootKey as _, PrivateFormat, PrivateKey,
};

use super::util::{load_key, read_password, write_output, PASSWORD_ENV};

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Output file (PKCS#8 PEM, mode 0600).
    #[arg(short = 'k', long = "key", value_name = "filename")]
    key: PathBuf,
    /// Key type.
    #[arg(short = 't', long = "type", value_name = "type",
          value_parser = ["rsa-2048", "rsa-3072", "ecdsa-p256", "ecdsa-p384", "ed25519", "x25519"])]
    key_type: String,
    /// Protect the key with a password ($ESPBOOT_PASSWORD, else prompted).
    #[arg(short = 'p', long = "password")]
    password: bool,
    /// Prompt as imgtool does through Python's `getpass`, stdin fallback
    /// included (set by the `imgtool` personality, not an option).
    #[arg(skip)]
    pub(super) imgtool_prompts: bool,
}

/// One line of Python's `getpass` fallback when there is no terminal
/// (`getpass.fallback_getpass`): a warning and the prompt on stderr, a line
/// from stdin without its newline; `None` at end of input. Python also
/// emits a `GetPassWarning` naming its own source file first; that line
/// is left out.
fn getpass_fallback(prompt: &str) -> anyhow::Result<Option<zeroize::Zeroizing<String>>> {
    use std::io::{BufRead as _, Write as _};
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "Warning: Password input may be echoed.\n{prompt}");
    let _ = stderr.flush();
    let mut line = zeroize::Zeroizing::new(String::new());
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        return Ok(None);
    }
    // getpass ends the prompt's line once it has read one.
    let _ = writeln!(stderr);
    if line.ends_with('\n') {
        line.pop();
    }
    Ok(Some(line))
}

/// Python's `getpass.getpass(prompt)`: on the terminal when there is one,
/// else through the stdin fallback; `None` at the end of input.
pub(super) fn getpass(prompt: &str) -> anyhow::Result<Option<zeroize::Zeroizing<String>>> {
    let has_terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok();
    if has_terminal {
        Ok(Some(zeroize::Zeroizing::new(
            rpassword::prompt_password(prompt).context("cannot read the password")?,
        )))
    } else {
        getpass_fallback(prompt)
    }
}

/// imgtool's `get_password` (imgtool/main.py): the passphrase twice until
/// both agree, through `getpass` (the terminal, else the stdin fallback).
/// `None` when input ends, which click reports as `Aborted!`.
fn imgtool_password() -> anyhow::Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    let ask = getpass;
    loop {
        let Some(first) = ask("Enter key passphrase: ")? else {
            return Ok(None);
        };
        let Some(second) = ask("Reenter passphrase: ")? else {
            return Ok(None);
        };
        if *first == *second {
            return Ok(Some(zeroize::Zeroizing::new(first.as_bytes().to_vec())));
        }
        outln!("Passwords do not match, try again");
    }
}

pub fn keygen(a: KeygenArgs) -> anyhow::Result<ExitCode> {
    let kind: KeyType = a.key_type.parse().context("-t/--type")?;
    let password = if a.password && a.imgtool_prompts {
        let Some(pw) = imgtool_password()? else {
            // click's handling of EOFError (click/core.py `main`)
            eprintln!("\nAborted!");
            return Ok(ExitCode::FAILURE);
        };
        Some(pw)
    } else if a.password {
        let pw = read_password("Enter key passphrase: ", true)?;
        if pw.is_none() {
            bail!("-p/--password: set {PASSWORD_ENV} or run on a terminal to enter the password");
        }
        pw
    } else {
        None
    };
    if password.as_ref().is_some_and(|p| p.is_empty()) {
        // cryptography's BestAvailableEncryption refuses it, in imgtool's
        // export_private, before the key file is opened
        if a.imgtool_prompts {
            return Err(super::sign::ImgtoolRefusal::Uncaught(
                "ValueError: Password must be 1 or more bytes.".to_owned(),
            )
            .into());
        }
        bail!("-p/--password: the password is empty; an encrypted key needs one");
    }
    let key = PrivateKey::generate(kind).context("-t/--type: key generation failed")?;
    let pem = key.to_pkcs8_pem(password.as_ref().map(|p| p.as_slice()))?;
    crate::fsutil::write_atomic(&a.key, pem.as_bytes(), true)
        .with_context(|| format!("-k/--key: {}", a.key.display()))?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct GetpubArgs {
    /// Key file (private or public PEM).
    #[arg(short = 'k', long = "key", value_name = "filename")]
    key: PathBuf,
    /// Output encoding.
    #[arg(short = 'e', long = "encoding", value_name = "encoding",
          value_parser = ["lang-c", "lang-rust", "pem", "raw"])]
    encoding: Option<String>,
    /// Deprecated: `c` or `rust` (use -e).
    #[arg(short = 'l', long = "lang", value_name = "lang", value_parser = ["c", "rust"])]
    lang: Option<String>,
    /// Suffix for the emitted C/Rust symbol names.
    #[arg(long = "name-suffix", value_name = "SUFFIX", default_value = "")]
    name_suffix: String,
    /// Output file (stdout if absent).
    #[arg(short = 'o', long = "output", value_name = "output")]
    output: Option<PathBuf>,
}

fn check_suffix(s: &str) -> anyhow::Result<()> {
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(KeyUsageError::BadSuffix(s.to_owned()).into());
    }
    Ok(())
}

/// getpub's and getpriv's refusals that imgtool raises as click usage
/// errors, typed so that the `imgtool` personality reports them in
/// imgtool's words.
#[derive(Debug, thiserror::Error)]
pub enum KeyUsageError {
    /// `--name-suffix` with a character an identifier cannot hold.
    #[error("--name-suffix: '{0}' must contain only [A-Za-z0-9_]")]
    BadSuffix(String),
    /// Both `-e` and `-l`.
    #[error("-e/--encoding and -l/--lang cannot be used together")]
    EncodingAndLang,
    /// `--name-suffix` with an encoding that emits no identifiers.
    #[error("--name-suffix is only meaningful for lang-c / lang-rust encodings")]
    SuffixWithoutIdentifiers,
    /// getpriv of a public key.
    #[error("-k/--key: {} holds a public key only; getpriv needs the private key", .0.display())]
    PublicOnly(PathBuf),
    /// getpubhash's `--name-suffix` with the raw encoding.
    #[error("--name-suffix is only meaningful for the lang-c encoding")]
    SuffixOnlyLangC,
    /// `getpriv --minimal` of an EC key whose layout imgtool does not cut
    /// down (anything but P-256).
    #[error("-k/--key: Error parsing ecdsa key. Please submit an issue!")]
    MinimizeEcdsa,
}

impl KeyUsageError {
    /// imgtool's text of the same refusal (imgtool/main.py
    /// `_validate_name_suffix`, `getpub`; keys/*.py `_unsupported`).
    pub fn imgtool_message(&self) -> String {
        match self {
            KeyUsageError::BadSuffix(s) => format!(
                "Invalid value for '--name-suffix': '{s}' must contain only [A-Za-z0-9_]; it is \
                 appended directly to a C/Rust identifier."
            ),
            KeyUsageError::EncodingAndLang => {
                "Please use only one of `--encoding/-e` or `--lang/-l`".to_owned()
            }
            KeyUsageError::SuffixWithoutIdentifiers => {
                "`--name-suffix` is only meaningful for lang-c / lang-rust encodings".to_owned()
            }
            KeyUsageError::PublicOnly(_) => {
                "Operation get_private_bytes requires private key".to_owned()
            }
            KeyUsageError::SuffixOnlyLangC => {
                "`--name-suffix` is only meaningful for the lang-c encoding".to_owned()
            }
            // main.py getpriv turns keys' ECDSAUsageError into a UsageError
            KeyUsageError::MinimizeEcdsa => {
                "Error parsing ecdsa key. Please submit an issue!".to_owned()
            }
        }
    }
}

pub fn getpub(a: GetpubArgs) -> anyhow::Result<ExitCode> {
    check_suffix(&a.name_suffix)?;
    if a.encoding.is_some() && a.lang.is_some() {
        return Err(KeyUsageError::EncodingAndLang.into());
    }
    let enc = match (&a.encoding, &a.lang) {
        (Some(e), _) => e.clone(),
        (None, Some(l)) => format!("lang-{l}"),
        (None, None) => "lang-c".to_string(),
    };
    if !a.name_suffix.is_empty() && matches!(enc.as_str(), "pem" | "raw") {
        return Err(KeyUsageError::SuffixWithoutIdentifiers.into());
    }
    let Some(key) = load_key("-k/--key", &a.key)? else {
        return Ok(invalid_passphrase());
    };
    let public = key.public_key();
    let bytes = match enc.as_str() {
        "lang-c" => keys::public_key_c(&public, &a.name_suffix)?.into_bytes(),
        "lang-rust" => keys::public_key_rust(&public, &a.name_suffix)?.into_bytes(),
        "pem" => public.to_spki_pem()?.into_bytes(),
        _ => public.embedded_der()?,
    };
    write_output(a.output.as_deref(), &bytes, false).context("-o/--output")?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct GetpubhashArgs {
    /// Key file (private or public PEM).
    #[arg(short = 'k', long = "key", value_name = "filename")]
    key: PathBuf,
    /// Output encoding.
    #[arg(short = 'e', long = "encoding", value_name = "encoding", value_parser = ["lang-c", "raw"])]
    encoding: Option<String>,
    /// Suffix for the emitted C symbol names.
    #[arg(long = "name-suffix", value_name = "SUFFIX", default_value = "")]
    name_suffix: String,
    /// Output file (stdout if absent).
    #[arg(short = 'o', long = "output", value_name = "output")]
    output: Option<PathBuf>,
}

pub fn getpubhash(a: GetpubhashArgs) -> anyhow::Result<ExitCode> {
    check_suffix(&a.name_suffix)?;
    let raw = a.encoding.as_deref() == Some("raw");
    if raw && !a.name_suffix.is_empty() {
        return Err(KeyUsageError::SuffixOnlyLangC.into());
    }
    let Some(key) = load_key("-k/--key", &a.key)? else {
        return Ok(invalid_passphrase());
    };
    let public = key.public_key();
    let bytes = if raw {
        keys::public_key_hash(&public)?.to_vec()
    } else {
        keys::public_key_hash_c(&public, &a.name_suffix)?.into_bytes()
    };
    write_output(a.output.as_deref(), &bytes, false).context("-o/--output")?;
    Ok(ExitCode::SUCCESS)
}

/// What imgtool/main.py prints on stdout when `load_key` returned None
/// (an empty passphrase, see [`load_key`]).
fn invalid_passphrase() -> ExitCode {
    outln!("Invalid passphrase");
    ExitCode::SUCCESS
}

#[derive(Debug, clap::Args)]
pub struct GetprivArgs {
    /// Key file (private PEM).
    #[arg(short = 'k', long = "key", value_name = "filename")]
    key: PathBuf,
    /// DER flavour: `pkcs8` or `openssl` (PKCS#1 / SEC1); default per key type.
    #[arg(short = 'f', long = "format", value_parser = ["openssl", "pkcs8"])]
    format: Option<String>,
    /// Drop the optional parts of the key (smaller bootloader).
    #[arg(long = "minimal")]
    minimal: bool,
}

pub fn getpriv(a: GetprivArgs) -> anyhow::Result<ExitCode> {
    let Some(key) = load_key("-k/--key", &a.key)? else {
        // imgtool/main.py getpriv goes on to use the None key
        invalid_passphrase();
        return Err(super::sign::ImgtoolRefusal::Uncaught(
            "AttributeError: 'NoneType' object has no attribute 'emit_private'".to_owned(),
        )
        .into());
    };
    let KeyFile::Private(key) = key else {
        return Err(KeyUsageError::PublicOnly(a.key.clone()).into());
    };
    let format = a.format.as_deref().map(|f| match f {
        "pkcs8" => PrivateFormat::Pkcs8,
        _ => PrivateFormat::Openssl,
    });
    let text = match keys::private_key_c(&key, format, a.minimal) {
        Err(mcuboot_image::keys::KeyError::MinimizeEcdsa) => {
            return Err(KeyUsageError::MinimizeEcdsa.into())
        }
        other => other.context("-k/--key")?,
    };
    write_output(None, text.as_bytes(), false)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct KeyinfoArgs {
    /// Key file.
    #[arg(short = 'k', long = "key", value_name = "filename")]
    key: PathBuf,
    /// Exit non-zero unless the key is of this kind.
    #[arg(long = "require", value_parser = ["private", "public"])]
    require: Option<String>,
}

pub fn keyinfo(a: KeyinfoArgs) -> anyhow::Result<ExitCode> {
    let pem = match std::fs::read(&a.key) {
        Ok(pem) => zeroize::Zeroizing::new(pem),
        // keys.load opens the file without catching
        Err(e) if super::util::reads_keys_as_imgtool() => {
            return Err(super::sign::ImgtoolRefusal::Uncaught(
                crate::fsutil::OpenFailure::of_io(&e, &a.key).exception(),
            )
            .into())
        }
        Err(e) => {
            return Err(e).with_context(|| format!("-k/--key: cannot read {}", a.key.display()))
        }
    };
    let kind = match KeyFile::from_pem(&pem, None) {
        // imgtool's keyinfo reads the key with `keys.load`, which refuses
        // the key types imgtool does not take
        Ok(file) => {
            mcuboot_image::keys::check_supported(file.kind())
                .with_context(|| format!("-k/--key: {}", a.key.display()))?;
            if matches!(file, KeyFile::Private(_)) {
                "private"
            } else {
                "public"
            }
        }
        Err(KeyFileError::PasswordRequired) => {
            return Err(KeyinfoError::PasswordProtected(a.key.clone()).into())
        }
        Err(e) => return Err(e).with_context(|| format!("-k/--key: {}", a.key.display())),
    };
    super::util::print(&format!("{kind}\n"))?;
    if let Some(required) = a.require {
        if required != kind {
            return Err(KeyinfoError::WrongKind {
                key: a.key,
                kind,
                required,
            }
            .into());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `keyinfo`'s refusals, typed so that the `imgtool` personality can
/// report them as imgtool's usage errors.
#[derive(Debug, thiserror::Error)]
pub enum KeyinfoError {
    /// The key is encrypted; keyinfo never prompts.
    #[error("-k/--key: cannot inspect {}: the key is password-protected", .0.display())]
    PasswordProtected(PathBuf),
    /// `--require` named the other kind.
    #[error("-k/--key: {} is {kind}, but {required} was required", .key.display())]
    WrongKind {
        /// The key file.
        key: PathBuf,
        /// What it holds (`private` or `public`).
        kind: &'static str,
        /// What `--require` asked for.
        required: String,
    },
}

impl KeyinfoError {
    /// imgtool's text of the same refusal (imgtool/main.py `keyinfo`).
    pub fn imgtool_message(&self) -> String {
        match self {
            KeyinfoError::PasswordProtected(key) => format!(
                "Cannot inspect {}: key is password-protected or unreadable. keyinfo runs \
                 non-interactively and does not prompt for a passphrase.",
                key.display()
            ),
            KeyinfoError::WrongKind {
                key,
                kind,
                required,
            } => format!(
                "Key {} is {kind}, but {required} was required.",
                key.display()
            ),
        }
    }
}
