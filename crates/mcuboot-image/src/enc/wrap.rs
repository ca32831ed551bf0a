//! Wrapping the per-image AES key for a recipient and unwrapping it with
//! the device key: RSA-2048 OAEP, ECIES-P256, ECIES-X25519 (HKDF and HMAC
//! with SHA-256 or SHA-512) and RFC 3394 key wrap (reference mcuboot.md §5;
//! MCUboot `encrypted.c` `boot_decrypt_key`, imgtool `image.py`).

extern crate std;

use std::vec::Vec;

use hmac::{Mac, SimpleHmac};
use rand_core::CryptoRngCore;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{
    aes_ctr_apply, AesKeyLen, DecryptionKey, EncError, EncTlv, EncTlvKind, HmacSha, Kek,
    NewImageKey, Recipient, EC256_PUBKEY_LEN, KW_OVERHEAD, X25519_PUBKEY_LEN,
};

/// `info` string of the HKDF step of MCUboot's ECIES (`boot_decrypt_key`,
/// `encrypted.c`; imgtool `ecies_hkdf`).
const ECIES_HKDF_INFO: &[u8] = b"MCUBoot_ECIES_v1";

/// Draws a fresh AES key of `key_len` and wraps it for `recipient`.
///
/// Returns the plaintext key (to encrypt the payload with [`AesCtr`]), the
/// TLV kind and the TLV value, laid out as imgtool and MCUboot expect.
/// `hmac` only matters for ECIES; SHA-512 is accepted for X25519 only, like
/// imgtool, and ignored for RSA and key wrap (imgtool ignores it for RSA too).
pub fn wrap_new_key(
    recipient: &Recipient,
    key_len: AesKeyLen,
    hmac: HmacSha,
    rng: &mut impl CryptoRngCore,
) -> Result<NewImageKey, EncError> {
    let mut key = Zeroizing::new(std::vec![0u8; key_len.bytes()]);
    rng.fill_bytes(&mut key);
    let (kind, tlv) = wrap_key(recipient, &key, hmac, rng)?;
    Ok((key, kind, tlv))
}

/// Wraps a given AES key (16 or 32 bytes) for `recipient`; see
/// [`wrap_new_key`]. The ECIES ephemeral key and RSA padding come from `rng`.
pub fn wrap_key(
    recipient: &Recipient,
    key: &[u8],
    hmac: HmacSha,
    rng: &mut impl CryptoRngCore,
) -> Result<EncTlv, EncError> {
    let key_len = AesKeyLen::from_bytes(key.len()).ok_or(EncError::AesKeyLength(key.len()))?;
    match recipient {
        Recipient::Rsa2048(public) => {
            let tlv = public
                .encrypt(rng, rsa::Oaep::new::<Sha256>(), key)
                .map_err(|_| EncError::WrapFailed("RSA-OAEP"))?;
            Ok((EncTlvKind::Rsa2048, tlv))
        }
        Recipient::AesKw(kek) => {
            if kek.key_len() != key_len {
                return Err(EncError::KekSizeMismatch {
                    kek: kek.as_bytes().len() * 8,
                    key: key.len() * 8,
                });
            }
            let mut tlv = std::vec![0u8; key.len() + KW_OVERHEAD];
            kw_apply(kek, key, &mut tlv, true).map_err(|_| EncError::WrapFailed("AES key wrap"))?;
            Ok((EncTlvKind::Kw, tlv))
        }
        Recipient::EcP256(public) => {
            if hmac != HmacSha::Sha256 {
                return Err(EncError::HmacSha512Unsupported("EC P-256"));
            }
            let ephemeral = p256::ecdh::EphemeralSecret::random(rng);
            let shared = ephemeral.diffie_hellman(public);
            // X9.62 uncompressed point, as imgtool (`Encoding.X962`,
            // `UncompressedPoint`) and MCUboot (`EC_PUBK_LEN` = 65) use.
            let eph_pub = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                &ephemeral.public_key(),
                false,
            );
            let tlv = ecies_seal(
                eph_pub.as_bytes(),
                shared.raw_secret_bytes(),
                key,
                HmacSha::Sha256,
            )?;
            Ok((EncTlvKind::Ec256, tlv))
        }
        Recipient::X25519(public) => {
            let ephemeral = x25519_dalek::EphemeralSecret::random_from_rng(&mut *rng);
            let eph_pub = x25519_dalek::PublicKey::from(&ephemeral);
            let shared = ephemeral.diffie_hellman(public);
            if !shared.was_contributory() {
                return Err(EncError::WrapFailed("X25519 (low-order public key)"));
            }
            let tlv = ecies_seal(eph_pub.as_bytes(), shared.as_bytes(), key, hmac)?;
            let kind = match hmac {
                HmacSha::Sha256 => EncTlvKind::X25519,
                HmacSha::Sha512 => EncTlvKind::X25519Sha512,
            };
            Ok((kind, tlv))
        }
    }
}

/// Unwraps the image key from an encryption TLV, as MCUboot's
/// `boot_decrypt_key` does. The key length follows from the TLV length.
pub fn unwrap_key(
    private: &DecryptionKey,
    kind: EncTlvKind,
    tlv: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EncError> {
    if !kind.opened_by(private) {
        return Err(EncError::WrongKeyType {
            key: private.kind_name(),
            kind,
        });
    }
    let key_len = [AesKeyLen::Aes128, AesKeyLen::Aes256]
        .into_iter()
        .find(|&l| kind.tlv_len(l) == tlv.len())
        .ok_or(EncError::TlvLength {
            kind,
            len: tlv.len(),
            expected: match kind {
                EncTlvKind::Rsa2048 => "256",
                EncTlvKind::Kw => "24 or 40",
                EncTlvKind::Ec256 => "113 or 129",
                EncTlvKind::X25519 => "80 or 96",
                EncTlvKind::X25519Sha512 => "112 or 128",
            },
        })?;
    match private {
        DecryptionKey::Rsa2048(secret) => {
            // Blinded decryption: the TLV is attacker-controlled input.
            let key = Zeroizing::new(
                secret
                    .decrypt_blinded(&mut rand_core::OsRng, rsa::Oaep::new::<Sha256>(), tlv)
                    .map_err(|_| EncError::UnwrapFailed(kind))?,
            );
            if AesKeyLen::from_bytes(key.len()).is_none() {
                return Err(EncError::UnwrapFailed(kind));
            }
            Ok(key)
        }
        DecryptionKey::AesKw(kek) => {
            if kek.key_len() != key_len {
                return Err(EncError::KekSizeMismatch {
                    kek: kek.as_bytes().len() * 8,
                    key: key_len.bytes() * 8,
                });
            }
            let mut key = Zeroizing::new(std::vec![0u8; key_len.bytes()]);
            kw_apply(kek, tlv, &mut key, false).map_err(|_| EncError::UnwrapFailed(kind))?;
            Ok(key)
        }
        DecryptionKey::EcP256(secret) => {
            let (eph_pub, rest) = tlv.split_at(EC256_PUBKEY_LEN);
            // MCUboot reads an uncompressed point (`EC_PUBK_LEN` = 65).
            if eph_pub.first() != Some(&0x04) {
                return Err(EncError::UnwrapFailed(kind));
            }
            let eph_pub = p256::PublicKey::from_sec1_bytes(eph_pub)
                .map_err(|_| EncError::UnwrapFailed(kind))?;
            let shared =
                p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), eph_pub.as_affine());
            ecies_open(
                kind,
                shared.raw_secret_bytes(),
                rest,
                key_len,
                HmacSha::Sha256,
            )
        }
        DecryptionKey::X25519(secret) => {
            let (eph_pub, rest) = tlv.split_at(X25519_PUBKEY_LEN);
            let eph_pub: [u8; 32] = eph_pub
                .try_into()
                .map_err(|_| EncError::UnwrapFailed(kind))?;
            let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(eph_pub));
            if !shared.was_contributory() {
                return Err(EncError::UnwrapFailed(kind));
            }
            let hmac = if kind == EncTlvKind::X25519Sha512 {
                HmacSha::Sha512
            } else {
                HmacSha::Sha256
            };
            ecies_open(kind, shared.as_bytes(), rest, key_len, hmac)
        }
    }
}

fn kw_apply(kek: &Kek, input: &[u8], out: &mut [u8], wrap: bool) -> Result<(), aes_kw::Error> {
    match kek.key_len() {
        AesKeyLen::Aes128 => {
            let kek = aes_kw::KekAes128::try_from(kek.as_bytes())?;
            if wrap {
                kek.wrap(input, out)
            } else {
                kek.unwrap(input, out)
            }
        }
        AesKeyLen::Aes256 => {
            let kek = aes_kw::KekAes256::try_from(kek.as_bytes())?;
            if wrap {
                kek.wrap(input, out)
            } else {
                kek.unwrap(input, out)
            }
        }
    }
}

/// HKDF(salt none, IKM = shared, info "MCUBoot_ECIES_v1"), split into the
/// AES key (first `key_len` bytes) and the HMAC key (the rest, hash-sized).
fn ecies_derive(
    shared: &[u8],
    key_len: AesKeyLen,
    hmac: HmacSha,
) -> Result<Zeroizing<Vec<u8>>, EncError> {
    let mut okm = Zeroizing::new(std::vec![0u8; key_len.bytes() + hmac.tag_len()]);
    let expanded = match hmac {
        HmacSha::Sha256 => {
            hkdf::Hkdf::<Sha256>::new(None, shared).expand(ECIES_HKDF_INFO, &mut okm)
        }
        HmacSha::Sha512 => {
            hkdf::Hkdf::<Sha512>::new(None, shared).expand(ECIES_HKDF_INFO, &mut okm)
        }
    };
    // The requested length is far below HKDF's 255-block limit.
    expanded.map_err(|_| EncError::WrapFailed("HKDF"))?;
    Ok(okm)
}

fn ecies_tag(mac_key: &[u8], cipherkey: &[u8], hmac: HmacSha) -> Vec<u8> {
    // `SimpleHmac::new_from_slice` accepts any key length; the error arm is
    // unreachable but handled without panicking.
    match hmac {
        HmacSha::Sha256 => SimpleHmac::<Sha256>::new_from_slice(mac_key)
            .map(|mut m| {
                m.update(cipherkey);
                m.finalize().into_bytes().to_vec()
            })
            .unwrap_or_default(),
        HmacSha::Sha512 => SimpleHmac::<Sha512>::new_from_slice(mac_key)
            .map(|mut m| {
                m.update(cipherkey);
                m.finalize().into_bytes().to_vec()
            })
            .unwrap_or_default(),
    }
}

/// Builds `eph_pub ‖ tag ‖ cipherkey` (imgtool `create`: `pubk + mac + cipherkey`).
fn ecies_seal(
    eph_pub: &[u8],
    shared: &[u8],
    key: &[u8],
    hmac: HmacSha,
) -> Result<Vec<u8>, EncError> {
    let key_len = AesKeyLen::from_bytes(key.len()).ok_or(EncError::AesKeyLength(key.len()))?;
    let okm = ecies_derive(shared, key_len, hmac)?;
    let (enc_key, mac_key) = okm.split_at(key_len.bytes());
    let mut cipherkey = Zeroizing::new(key.to_vec());
    aes_ctr_apply(enc_key, 0, &mut cipherkey)?;
    let tag = ecies_tag(mac_key, &cipherkey, hmac);
    if tag.len() != hmac.tag_len() {
        return Err(EncError::WrapFailed("HMAC"));
    }
    let mut tlv = Vec::with_capacity(eph_pub.len() + tag.len() + key.len());
    tlv.extend_from_slice(eph_pub);
    tlv.extend_from_slice(&tag);
    tlv.extend_from_slice(&cipherkey);
    Ok(tlv)
}

/// Checks the tag (constant time, like MCUboot) and decrypts the key.
/// `rest` is `tag ‖ cipherkey`.
fn ecies_open(
    kind: EncTlvKind,
    shared: &[u8],
    rest: &[u8],
    key_len: AesKeyLen,
    hmac: HmacSha,
) -> Result<Zeroizing<Vec<u8>>, EncError> {
    let (tag, cipherkey) = rest.split_at(hmac.tag_len().min(rest.len()));
    if cipherkey.len() != key_len.bytes() {
        return Err(EncError::UnwrapFailed(kind));
    }
    let okm = ecies_derive(shared, key_len, hmac)?;
    let (enc_key, mac_key) = okm.split_at(key_len.bytes());
    let expected = ecies_tag(mac_key, cipherkey, hmac);
    if expected.len() != tag.len() || !bool::from(expected.ct_eq(tag)) {
        return Err(EncError::UnwrapFailed(kind));
    }
    let mut key = Zeroizing::new(cipherkey.to_vec());
    aes_ctr_apply(enc_key, 0, &mut key)?;
    Ok(key)
}
