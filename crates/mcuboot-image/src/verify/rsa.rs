//! RSA-PSS verification (`image_rsa.c`): SHA-256, MGF1-SHA-256, salt 32,
//! signature exactly the modulus length.

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::traits::PublicKeyParts;

/// MCUboot's fixed PSS salt length (`image_rsa.c`).
const SALT_LEN: usize = 32;

/// Verifies `sig` over `digest` with the PKCS#1 DER key; `Err(())` when the
/// key is not an RSA key of `bits` bits.
pub(crate) fn verify_pss(
    key_der: &[u8],
    bits: usize,
    digest: &[u8],
    sig: &[u8],
) -> Result<bool, ()> {
    let key = rsa::RsaPublicKey::from_pkcs1_der(key_der).map_err(|_| ())?;
    if key.size() * 8 != bits {
        return Err(());
    }
    if sig.len() != key.size() || digest.len() != 32 {
        return Ok(false);
    }
    let scheme = rsa::Pss::new_with_salt::<sha2::Sha256>(SALT_LEN);
    Ok(key.verify(scheme, digest, sig).is_ok())
}
