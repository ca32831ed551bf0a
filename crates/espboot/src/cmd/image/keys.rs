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
}

pub fn keygen(a: KeygenArgs) -> anyhow::Result<ExitCode> {
    let kind: KeyType = a.key_type.parse().context("-t/--type")?;
    let password = if a.password {
        let pw = read_password("Enter key passphrase: ", true)?;
        if pw.is_none() {
            bail!("-p/--password: set {PASSWORD_ENV} or run on a terminal to enter the password");
        }
        pw
    } else {
        None
    };
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
        bail!("--name-suffix: '{s}' must contain only [A-Za-z0-9_]");
    }
    Ok(())
}

pub fn getpub(a: GetpubArgs) -> anyhow::Result<ExitCode> {
    check_suffix(&a.name_suffix)?;
    if a.encoding.is_some() && a.lang.is_some() {
        bail!("-e/--encoding and -l/--lang cannot be used together");
    }
    let enc = match (&a.encoding, &a.lang) {
        (Some(e), _) => e.clone(),
        (None, Some(l)) => format!("lang-{l}"),
        (None, None) => "lang-c".to_string(),
    };
    if !a.name_suffix.is_empty() && matches!(enc.as_str(), "pem" | "raw") {
        bail!("--name-suffix is only meaningful for lang-c / lang-rust encodings");
    }
    let public = load_key("-k/--key", &a.key)?.public_key();
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
        bail!("--name-suffix is only meaningful for the lang-c encoding");
    }
    let public = load_key("-k/--key", &a.key)?.public_key();
    let bytes = if raw {
        keys::public_key_hash(&public)?.to_vec()
    } else {
        keys::public_key_hash_c(&public, &a.name_suffix)?.into_bytes()
    };
    write_output(a.output.as_deref(), &bytes, false).context("-o/--output")?;
    Ok(ExitCode::SUCCESS)
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
    let KeyFile::Private(key) = load_key("-k/--key", &a.key)? else {
        bail!(
            "-k/--key: {} holds a public key only; getpriv needs the private key",
            a.key.display()
        );
    };
    let format = a.format.as_deref().map(|f| match f {
        "pkcs8" => PrivateFormat::Pkcs8,
        _ => PrivateFormat::Openssl,
    });
    let text = keys::private_key_c(&key, format, a.minimal).context("-k/--key")?;
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
    let pem = zeroize::Zeroizing::new(
        std::fs::read(&a.key)
            .with_context(|| format!("-k/--key: cannot read {}", a.key.display()))?,
    );
    let kind = match KeyFile::from_pem(&pem, None) {
        Ok(KeyFile::Private(_)) => "private",
        Ok(_) => "public",
        Err(KeyFileError::PasswordRequired) => bail!(
            "-k/--key: cannot inspect {}: the key is password-protected",
            a.key.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("-k/--key: {}", a.key.display())),
    };
    super::util::print(&format!("{kind}\n"))?;
    if let Some(req) = a.require {
        if req != kind {
            bail!(
                "-k/--key: {} is {kind}, but {req} was required",
                a.key.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
