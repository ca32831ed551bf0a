//! Secure Boot V2 signing keys: loading them through the shared key loader and
//! `generate-signing-key`.

use super::*;

/// Loads a Secure Boot V2 signing key through the shared loader (a
/// password is asked for when the key is encrypted).
pub(super) fn load_signing_key(arg: &str, path: &Path) -> anyhow::Result<SigningKey> {
    let file = crate::cmd::key_file::load(arg, path)?;
    SigningKey::try_from(file).with_context(|| format!("{arg}: {}", path.display()))
}

/// Loads a Secure Boot V2 verification key: a public key, or the public
/// half of a private key (`_get_sbv2_pub_key`).
pub(super) fn load_public_key(arg: &str, path: &Path) -> anyhow::Result<sbv2::PublicKey> {
    let file = crate::cmd::key_file::load(arg, path)?;
    sbv2::PublicKey::try_from(file).with_context(|| format!("{arg}: {}", path.display()))
}

/// [`load_public_key`] for `verify-signature` and `digest-sbv2-public-key`,
/// where espsecure's `_get_sbv2_pub_key` first looks for a private or
/// public key PEM label and refuses a file without one.
pub(super) fn load_verification_key(arg: &str, path: &Path) -> anyhow::Result<sbv2::PublicKey> {
    if let Ok(text) = std::fs::read(path) {
        let has = |label: &[u8]| text.windows(label.len()).any(|w| w == label);
        let labels: [&[u8]; 4] = [
            b"-BEGIN RSA PRIVATE KEY",
            b"-BEGIN EC PRIVATE KEY",
            b"-BEGIN PRIVATE KEY",
            b"-BEGIN PUBLIC KEY",
        ];
        if !labels.iter().any(|l| has(l)) {
            return Err(fatal(
                format!(
                    "{arg}: {}: not a PEM private or public key",
                    path.display()
                ),
                "Verification key does not appear to be an RSA Private or Public key in PEM format. Unsupported.",
            ));
        }
    }
    let file = crate::cmd::key_file::load(arg, path)?;
    sbv2::PublicKey::try_from(file).with_context(|| format!("{arg}: {}", path.display()))
}

/// `generate-signing-key`: `v1` keys are ECDSA P-256 (the only scheme
/// Secure Boot V1 has); V2 defaults to RSA-3072.
pub(super) fn generate_signing_key(
    v1: bool,
    scheme: Option<SigningScheme>,
    keyfile: &Path,
) -> anyhow::Result<ExitCode> {
    if keyfile.symlink_metadata().is_ok() {
        return Err(fatal(
            format!(
                "key file {} already exists; refusing to overwrite it",
                keyfile.display()
            ),
            format!("ERROR: Key file {} already exists.", keyfile.display()),
        ));
    }
    let scheme = match (v1, scheme) {
        (true, None | Some(SigningScheme::Ecdsa256)) => SigningScheme::Ecdsa256,
        (true, Some(other)) => {
            return Err(fatal(
                format!("--scheme {other}: Secure Boot V1 signs with ecdsa256 only"),
                "ERROR: V1 only supports ECDSA256.",
            ))
        }
        (false, scheme) => scheme.unwrap_or(SigningScheme::Rsa3072),
    };
    let key = SigningKey::generate(scheme).context("key generation failed")?;
    let pem = key.to_pem().context("cannot encode the key")?;
    write_atomic(keyfile, pem.as_bytes(), true)?;
    let what = match scheme {
        SigningScheme::Rsa3072 => "RSA 3072",
        SigningScheme::Ecdsa192 => "ECDSA NIST192p",
        SigningScheme::Ecdsa256 => "ECDSA NIST256p",
        _ => "ECDSA NIST384p",
    };
    outln!(
        "{what} private key in PEM format written to \"{}\".",
        keyfile.display()
    );
    Ok(ExitCode::SUCCESS)
}
