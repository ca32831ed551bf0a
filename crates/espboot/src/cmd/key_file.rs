//! Key files for every command: read the file, ask for its password when it
//! is encrypted, load it through the one loader (`key-files`). Each tool then
//! applies its own rules (imgtool's key types, Secure Boot V2's).

use std::path::Path;

use anyhow::{bail, Context};
use key_files::{KeyFile, KeyFileError};
use zeroize::Zeroizing;

/// Environment variable holding the key password for non-interactive use.
pub const PASSWORD_ENV: &str = "ESPBOOT_PASSWORD";

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

/// Loads the PEM key file `path` (`arg` names the option in errors), asking
/// for the password when it is encrypted, like imgtool's `load_key`.
pub fn load(arg: &str, path: &Path) -> anyhow::Result<KeyFile> {
    let pem = read(arg, path)?;
    load_bytes(arg, path, &pem)
}

/// Reads a key file's bytes (`arg` names the option), once: a pipe or
/// `/dev/stdin` has nothing left for a second read.
pub fn read(arg: &str, path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    Ok(Zeroizing::new(std::fs::read(path).with_context(|| {
        format!("{arg}: cannot read {}", path.display())
    })?))
}

/// [`load`] of the bytes [`read`] read from `path`.
pub fn load_bytes(arg: &str, path: &Path, pem: &[u8]) -> anyhow::Result<KeyFile> {
    match KeyFile::from_pem(pem, None) {
        Err(KeyFileError::PasswordRequired) => {
            let Some(pw) = read_password("Enter key passphrase: ", false)? else {
                bail!(
                    "{arg}: {} is encrypted; set {PASSWORD_ENV} or run on a terminal to enter its password",
                    path.display()
                );
            };
            KeyFile::from_pem(pem, Some(&pw)).with_context(|| format!("{arg}: {}", path.display()))
        }
        other => other.with_context(|| format!("{arg}: {}", path.display())),
    }
}
