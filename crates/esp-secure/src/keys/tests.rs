#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn rsa_m_prime_satisfies_montgomery_identity() {
    let key = SigningKey::generate(SigningScheme::Rsa3072).unwrap();
    let field = key.public_key().block_key_field();
    assert_eq!(field.len(), 776);
    let m = u32::from_le_bytes(field[772..776].try_into().unwrap());
    let n0 = u32::from_le_bytes(field[0..4].try_into().unwrap());
    assert_eq!(m.wrapping_mul(n0).wrapping_add(1), 0);
    assert_eq!(&field[384..388], &[1, 0, 1, 0]);
}

/// esptool's own test keys are wrapped at 76 columns; the RustCrypto
/// PEM decoder alone accepts only 64.
#[test]
fn pem_wrapped_at_76_columns_with_crlf_loads() {
    let key = SigningKey::generate(SigningScheme::Ecdsa384).unwrap();
    let pem = key.to_pem().unwrap();
    let mut lines = pem.lines();
    let begin = lines.next().unwrap();
    let body: String = lines.clone().filter(|l| !l.starts_with("-----")).collect();
    let end = lines.last().unwrap();
    let mut rewrapped = format!("{begin}\r\n");
    for chunk in body.as_bytes().chunks(76) {
        rewrapped.push_str(std::str::from_utf8(chunk).unwrap());
        rewrapped.push_str("\r\n");
    }
    rewrapped.push_str(end);
    let again = SigningKey::from_pem(&rewrapped).unwrap();
    assert_eq!(again.public_key(), key.public_key());
    assert_eq!(PublicKey::from_pem(&rewrapped).unwrap(), key.public_key());
}

#[test]
fn only_secure_boot_v2_key_types_convert() {
    use key_files::{KeyFile, PrivateKey as AnyKey};
    let rsa2048 = AnyKey::generate(KeyKind::RSA_2048).unwrap();
    assert!(matches!(
        SigningKey::try_from(rsa2048.clone()),
        Err(KeyError::RsaKeySize(2048))
    ));
    assert!(matches!(
        PublicKey::try_from(rsa2048.public_key()),
        Err(KeyError::RsaKeySize(2048))
    ));
    let ed = AnyKey::generate(KeyKind::Ed25519).unwrap();
    assert!(matches!(
        PublicKey::try_from(KeyFile::Private(ed)),
        Err(KeyError::Unsupported(KeyKind::Ed25519))
    ));
    // A public key verifies but cannot sign.
    let key = SigningKey::generate(SigningScheme::Ecdsa192).unwrap();
    let public = KeyFile::from_pem(key.public_key().to_pem().unwrap().as_bytes(), None).unwrap();
    assert!(matches!(
        SigningKey::try_from(public.clone()),
        Err(KeyError::PublicKeyGiven)
    ));
    assert_eq!(PublicKey::try_from(public).unwrap(), key.public_key());
    // espsecure writes SEC1 with the named curve for P-192.
    assert!(key
        .to_pem()
        .unwrap()
        .starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
}

#[test]
fn ecdsa_round_trips_through_pem_and_block_field_for_every_curve() {
    for scheme in [
        SigningScheme::Ecdsa192,
        SigningScheme::Ecdsa256,
        SigningScheme::Ecdsa384,
    ] {
        let key = SigningKey::generate(scheme).unwrap();
        let again = SigningKey::from_pem(&key.to_pem().unwrap()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let public = PublicKey::from_pem(&key.public_key().to_pem().unwrap()).unwrap();
        assert_eq!(public, key.public_key());
        let field = public.block_key_field();
        assert_eq!(
            PublicKey::from_block_key_field(scheme, &field).unwrap(),
            public
        );
        let digest = scheme.image_digest(b"image");
        let sig = key.sign_prehash(&digest).unwrap();
        public.verify_prehash(&digest, &sig).unwrap();
        let other = scheme.image_digest(b"imagf");
        assert!(public.verify_prehash(&other, &sig).is_err());
    }
}

/// For an odd modulus the Euclidean algorithm espsecure runs is the
/// inverse modulo 2^32 (what the ROM's Montgomery code needs); an even
/// modulus (which cryptography loads) must not panic, and one divisible by
/// 2^32 gives 0 as the algorithm does. The even results themselves are
/// compared with espsecure's digests in the interop tests.
#[test]
fn modinv_2_32_inverts_odd_words_and_takes_even_ones() {
    for n0 in [1u32, 3, 0xffff_ffff, 0x8000_0001, 0x1234_5677, 0xdead_beef] {
        assert_eq!(n0.wrapping_mul(super::modinv_2_32(n0)), 1, "{n0:#x}");
    }
    for n0 in [2u32, 0x1234_5678, 0x8000_0000, 0xffff_fffe] {
        let _ = super::modinv_2_32(n0);
    }
    assert_eq!(super::modinv_2_32(0), 0);
}
