//! Shared helpers: Python-style integers, key loading with passwords, file I/O.

use std::path::Path;

use anyhow::{bail, Context};
use mcuboot_image::keys::{KeyError, KeyFile};
use zeroize::Zeroizing;

/// Environment variable holding the key password for non-interactive use.
pub const PASSWORD_ENV: &str = "ESPBOOT_PASSWORD";

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

fn password_from_env() -> Option<Zeroizing<Vec<u8>>> {
    std::env::var_os(PASSWORD_ENV).map(|v| Zeroizing::new(v.to_string_lossy().as_bytes().to_vec()))
}

/// Reads a password: `$ESPBOOT_PASSWORD`, else a prompt on the terminal.
pub fn read_password(prompt: &str, confirm: bool) -> anyhow::Result<Option<Zeroizing<Vec<u8>>>> {
    if let Some(pw) = password_from_env() {
        return Ok(Some(pw));
    }
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    loop {
        let a =
            Zeroizing::new(rpassword::prompt_password(prompt).context("cannot read the password")?);
        if !confirm {
            return Ok(Some(Zeroizing::new(a.as_bytes().to_vec())));
        }
        let b = Zeroizing::new(
            rpassword::prompt_password("Reenter passphrase: ")
                .context("cannot read the password")?,
        );
        if *a == *b {
            return Ok(Some(Zeroizing::new(a.as_bytes().to_vec())));
        }
        eprintln!("Passwords do not match, try again");
    }
}

/// Loads a key file (`arg` names the option), asking for a password when
/// it is encrypted, like imgtool's `load_key`.
pub fn load_key(arg: &str, path: &Path) -> anyhow::Result<KeyFile> {
    let pem = Zeroizing::new(
        std::fs::read(path).with_context(|| format!("{arg}: cannot read {}", path.display()))?,
    );
    match KeyFile::from_pem(&pem, None) {
        Err(KeyError::PasswordRequired) => {
            let Some(pw) = read_password("Enter key passphrase: ", false)? else {
                bail!(
                    "{arg}: {} is encrypted; set {PASSWORD_ENV} or run on a terminal to enter its password",
                    path.display()
                );
            };
            KeyFile::from_pem(&pem, Some(&pw)).with_context(|| format!("{arg}: {}", path.display()))
        }
        other => other.with_context(|| format!("{arg}: {}", path.display())),
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
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
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

/// Reads an image file: binary, or Intel HEX (returns its lowest address).
pub fn read_image(arg: &str, path: &Path) -> anyhow::Result<(Vec<u8>, Option<u32>)> {
    if is_hex(path) {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{arg}: cannot read {}", path.display()))?;
        let (base, data) = mcuboot_image::hexfile::read(&text)
            .with_context(|| format!("{arg}: {} is not valid Intel HEX", path.display()))?;
        Ok((data, Some(base)))
    } else {
        let data = std::fs::read(path)
            .with_context(|| format!("{arg}: cannot read {}", path.display()))?;
        Ok((data, None))
    }
}
