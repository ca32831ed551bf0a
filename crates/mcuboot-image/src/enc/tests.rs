//! Unit tests of the encryption primitives. Interop with imgtool is tested in
//! `crates/espboot/tests/image_encryption.rs`.

extern crate std;

use std::borrow::ToOwned;
use std::sync::OnceLock;
use std::vec::Vec;

use aes::cipher::{BlockEncrypt, KeyInit};
use rand_core::OsRng;

use super::*;

fn rsa_key() -> &'static rsa::RsaPrivateKey {
    static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA keygen"))
}

fn all_private_keys() -> Vec<DecryptionKey> {
    std::vec![
        DecryptionKey::Rsa2048(std::boxed::Box::new(rsa_key().clone())),
        DecryptionKey::EcP256(p256::SecretKey::random(&mut OsRng)),
        DecryptionKey::X25519(x25519_dalek::StaticSecret::random_from_rng(OsRng)),
        DecryptionKey::AesKw(Kek::from_bytes(&[0x5a; 16]).expect("kek")),
        DecryptionKey::AesKw(Kek::from_bytes(&[0xa5; 32]).expect("kek")),
    ]
}

/// The (key length, hmac) combinations a private key supports.
fn combos(key: &DecryptionKey) -> Vec<(AesKeyLen, HmacSha)> {
    match key {
        DecryptionKey::AesKw(kek) => std::vec![(kek.key_len(), HmacSha::Sha256)],
        DecryptionKey::X25519(_) => std::vec![
            (AesKeyLen::Aes128, HmacSha::Sha256),
            (AesKeyLen::Aes256, HmacSha::Sha256),
            (AesKeyLen::Aes128, HmacSha::Sha512),
            (AesKeyLen::Aes256, HmacSha::Sha512),
        ],
        _ => std::vec![
            (AesKeyLen::Aes128, HmacSha::Sha256),
            (AesKeyLen::Aes256, HmacSha::Sha256),
        ],
    }
}

#[test]
fn wrap_then_unwrap_returns_the_key_for_every_recipient() {
    for private in all_private_keys() {
        for (key_len, hmac) in combos(&private) {
            let (key, kind, tlv) =
                wrap_new_key(&private.recipient(), key_len, hmac, &mut OsRng).expect("wrap");
            assert_eq!(key.len(), key_len.bytes());
            assert_eq!(tlv.len(), kind.tlv_len(key_len), "{kind} {key_len:?}");
            let back = unwrap_key(&private, kind, &tlv).expect("unwrap");
            assert_eq!(*back, *key, "{kind} {key_len:?} {hmac:?}");
        }
    }
}

#[test]
fn tlv_kinds_and_lengths_match_mcuboot() {
    // enc_key_public.h / mcuboot.md §1.4.
    let x = Recipient::X25519(x25519_dalek::PublicKey::from(
        &x25519_dalek::StaticSecret::random_from_rng(OsRng),
    ));
    let (_, kind, tlv) =
        wrap_new_key(&x, AesKeyLen::Aes128, HmacSha::Sha512, &mut OsRng).expect("wrap");
    assert_eq!((kind.type_code(), tlv.len()), (0x34, 112));
    let (_, kind, tlv) =
        wrap_new_key(&x, AesKeyLen::Aes256, HmacSha::Sha256, &mut OsRng).expect("wrap");
    assert_eq!((kind.type_code(), tlv.len()), (0x33, 96));
    let ec = Recipient::EcP256(p256::SecretKey::random(&mut OsRng).public_key());
    let (_, kind, tlv) =
        wrap_new_key(&ec, AesKeyLen::Aes128, HmacSha::Sha256, &mut OsRng).expect("wrap");
    assert_eq!((kind.type_code(), tlv.len(), tlv[0]), (0x32, 113, 0x04));
    let (_, kind, tlv) =
        wrap_new_key(&ec, AesKeyLen::Aes256, HmacSha::Sha256, &mut OsRng).expect("wrap");
    assert_eq!((kind.type_code(), tlv.len()), (0x32, 129));
    let rsa = Recipient::Rsa2048(rsa_key().to_public_key());
    let (_, kind, tlv) =
        wrap_new_key(&rsa, AesKeyLen::Aes256, HmacSha::Sha256, &mut OsRng).expect("wrap");
    assert_eq!((kind.type_code(), tlv.len()), (0x30, 256));
    let kw = Recipient::AesKw(Kek::from_bytes(&[1; 32]).expect("kek"));
    let (_, kind, tlv) =
        wrap_new_key(&kw, AesKeyLen::Aes256, HmacSha::Sha256, &mut OsRng).expect("wrap");
    assert_eq!((kind.type_code(), tlv.len()), (0x31, 40));
}

#[test]
fn wrong_private_key_fails_cleanly() {
    let keys = all_private_keys();
    let others = all_private_keys();
    for (private, other) in keys.iter().zip(others.iter()) {
        let (key_len, hmac) = combos(private)[0];
        let (_, kind, tlv) =
            wrap_new_key(&private.recipient(), key_len, hmac, &mut OsRng).expect("wrap");
        let other = match other {
            // Same KEK bytes in both lists: use a different KEK.
            DecryptionKey::AesKw(k) => {
                let mut b = k.as_bytes().to_vec();
                b[0] ^= 1;
                DecryptionKey::AesKw(Kek::from_bytes(&b).expect("kek"))
            }
            DecryptionKey::Rsa2048(_) => DecryptionKey::Rsa2048(std::boxed::Box::new(
                rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA keygen"),
            )),
            k => k.clone(),
        };
        let err = unwrap_key(&other, kind, &tlv).expect_err("wrong key must fail");
        assert!(
            matches!(err, EncError::UnwrapFailed(k) if k == kind),
            "{kind}: {err}"
        );
    }
}

#[test]
fn any_corrupted_tlv_byte_fails_cleanly() {
    for private in all_private_keys() {
        for (key_len, hmac) in combos(&private) {
            let (_, kind, tlv) =
                wrap_new_key(&private.recipient(), key_len, hmac, &mut OsRng).expect("wrap");
            // RSA: every 16th byte keeps this quick; others: every byte.
            let step = if kind == EncTlvKind::Rsa2048 { 16 } else { 1 };
            for i in (0..tlv.len()).step_by(step) {
                let mut bad = tlv.clone();
                bad[i] ^= 0x40;
                let err = unwrap_key(&private, kind, &bad).expect_err("corrupt TLV must fail");
                assert!(
                    matches!(err, EncError::UnwrapFailed(_)),
                    "{kind} byte {i}: {err}"
                );
            }
        }
    }
}

#[test]
fn bad_tlv_length_and_kind_are_rejected() {
    let x = DecryptionKey::X25519(x25519_dalek::StaticSecret::random_from_rng(OsRng));
    let err = unwrap_key(&x, EncTlvKind::X25519, &[0u8; 81]).expect_err("length");
    assert!(matches!(err, EncError::TlvLength { len: 81, .. }), "{err}");
    let err = unwrap_key(&x, EncTlvKind::Ec256, &[0u8; 113]).expect_err("kind");
    assert!(matches!(err, EncError::WrongKeyType { .. }), "{err}");
    let err = unwrap_key(&x, EncTlvKind::X25519, &[]).expect_err("empty");
    assert!(matches!(err, EncError::TlvLength { len: 0, .. }), "{err}");
}

#[test]
fn hmac_sha512_is_refused_for_p256_like_imgtool() {
    let ec = Recipient::EcP256(p256::SecretKey::random(&mut OsRng).public_key());
    let err = wrap_new_key(&ec, AesKeyLen::Aes128, HmacSha::Sha512, &mut OsRng).expect_err("512");
    assert!(matches!(err, EncError::HmacSha512Unsupported(_)), "{err}");
}

#[test]
fn key_wrap_needs_kek_and_key_of_equal_size() {
    let kw = Recipient::AesKw(Kek::from_bytes(&[1; 16]).expect("kek"));
    let err = wrap_new_key(&kw, AesKeyLen::Aes256, HmacSha::Sha256, &mut OsRng).expect_err("size");
    assert!(
        matches!(err, EncError::KekSizeMismatch { kek: 128, key: 256 }),
        "{err}"
    );
    assert!(matches!(
        Kek::from_bytes(&[0; 24]),
        Err(KeyError::KekLength(24))
    ));
}

#[test]
fn key_wrap_matches_rfc3394_test_vector() {
    // RFC 3394 §4.1: 128-bit key data with a 128-bit KEK.
    let kek = Kek::from_bytes(&hex16("000102030405060708090A0B0C0D0E0F")).expect("kek");
    let data = hex16("00112233445566778899AABBCCDDEEFF");
    let (kind, tlv) = wrap_key(
        &Recipient::AesKw(kek.clone()),
        &data,
        HmacSha::Sha256,
        &mut OsRng,
    )
    .expect("wrap");
    assert_eq!(kind, EncTlvKind::Kw);
    let expected: Vec<u8> = [
        0x1F, 0xA6, 0x8B, 0x0A, 0x81, 0x12, 0xB4, 0x47, 0xAE, 0xF3, 0x4B, 0xD8, 0xFB, 0x5A, 0x7B,
        0x82, 0x9D, 0x3E, 0x86, 0x23, 0x71, 0xD2, 0xCF, 0xE5,
    ]
    .to_vec();
    assert_eq!(tlv, expected);
}

fn hex16(s: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

/// MCUboot's definition: byte `o` of the payload is XORed with byte `o % 16`
/// of AES_k(00×12 ‖ BE32(o >> 4)) (`boot_enc_encrypt`, `encrypted.c`).
fn mcuboot_keystream_byte(key: &[u8], o: u64) -> u8 {
    let mut block = [0u8; 16];
    block[12..].copy_from_slice(&((o >> 4) as u32).to_be_bytes());
    let mut block = aes::Block::from(block);
    match key.len() {
        16 => aes::Aes128::new_from_slice(key)
            .expect("key")
            .encrypt_block(&mut block),
        _ => aes::Aes256::new_from_slice(key)
            .expect("key")
            .encrypt_block(&mut block),
    }
    block[(o % 16) as usize]
}

#[test]
fn aes_ctr_follows_mcuboot_counter_layout_at_any_offset() {
    for key in [[0x11u8; 16].to_vec(), [0x22u8; 32].to_vec()] {
        let mut ctr = AesCtr::new(&key).expect("key");
        for offset in [0u64, 1, 15, 16, 17, 4095, 0x1_0000_0000 - 3] {
            let mut data = [0u8; 40];
            ctr.apply_at(offset, &mut data).expect("apply");
            for (i, b) in data.iter().enumerate() {
                assert_eq!(
                    *b,
                    mcuboot_keystream_byte(&key, offset + i as u64),
                    "offset {offset}+{i}"
                );
            }
        }
    }
}

#[test]
fn aes_ctr_in_chunks_equals_one_shot() {
    let key = [0x33u8; 16];
    let plain: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    let mut whole = plain.clone();
    aes_ctr_apply(&key, 0, &mut whole).expect("apply");
    let mut chunked = plain.clone();
    let mut ctr = AesCtr::new(&key).expect("key");
    let mut off = 0usize;
    for len in [1usize, 15, 16, 17, 100, 351, 500] {
        let end = (off + len).min(chunked.len());
        ctr.apply_at(off as u64, &mut chunked[off..end])
            .expect("apply");
        off = end;
    }
    assert_eq!(off, chunked.len());
    assert_eq!(chunked, whole);
    assert!(matches!(
        AesCtr::new(&[0; 24]),
        Err(EncError::AesKeyLength(24))
    ));
}

/// A minimal encrypted image: header, `payload` encrypted under `key`, no
/// protected TLVs, unprotected area holding `tlv`.
fn synthetic_image(
    payload: &[u8],
    key: &[u8],
    kind: EncTlvKind,
    tlv: &[u8],
    flags: u32,
) -> Vec<u8> {
    let mut img = std::vec![0u8; 32];
    img[0..4].copy_from_slice(&0x96f3_b83du32.to_le_bytes());
    img[8..10].copy_from_slice(&32u16.to_le_bytes());
    img[12..16].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    img[16..20].copy_from_slice(&flags.to_le_bytes());
    let mut enc = payload.to_vec();
    aes_ctr_apply(key, 0, &mut enc).expect("encrypt");
    img.extend_from_slice(&enc);
    img.extend_from_slice(&0x6907u16.to_le_bytes());
    img.extend_from_slice(&((4 + 4 + tlv.len()) as u16).to_le_bytes());
    img.extend_from_slice(&kind.type_code().to_le_bytes());
    img.extend_from_slice(&(tlv.len() as u16).to_le_bytes());
    img.extend_from_slice(tlv);
    img
}

#[test]
fn decrypt_image_restores_the_payload_and_keeps_everything_else() {
    for private in all_private_keys() {
        let (key_len, hmac) = combos(&private)[0];
        let (key, kind, tlv) =
            wrap_new_key(&private.recipient(), key_len, hmac, &mut OsRng).expect("wrap");
        let payload: Vec<u8> = (0..96u8).collect();
        let image = synthetic_image(&payload, &key, kind, &tlv, key_len.header_flag());
        let plain = decrypt_image(&image, &private).expect("decrypt");
        assert_eq!(&plain[32..128], &payload[..]);
        assert_eq!(&plain[..32], &image[..32]);
        assert_eq!(&plain[128..], &image[128..]);
    }
}

#[test]
fn decrypt_image_rejects_bad_layouts_without_panicking() {
    let private = DecryptionKey::AesKw(Kek::from_bytes(&[9; 16]).expect("kek"));
    let (key, kind, tlv) = wrap_new_key(
        &private.recipient(),
        AesKeyLen::Aes128,
        HmacSha::Sha256,
        &mut OsRng,
    )
    .expect("wrap");
    let image = synthetic_image(&[0u8; 64], &key, kind, &tlv, 0x4);
    // Every truncation fails with an error, never a panic.
    for len in 0..image.len() {
        assert!(
            decrypt_image(&image[..len], &private).is_err(),
            "truncated to {len}"
        );
    }
    let unflagged = synthetic_image(&[0u8; 64], &key, kind, &tlv, 0);
    assert!(matches!(
        decrypt_image(&unflagged, &private),
        Err(EncError::Layout(LayoutError::NotEncrypted))
    ));
    let both = synthetic_image(&[0u8; 64], &key, kind, &tlv, 0xc);
    assert!(matches!(
        decrypt_image(&both, &private),
        Err(EncError::Layout(LayoutError::BothAesFlags))
    ));
    let wrong_flag = synthetic_image(&[0u8; 64], &key, kind, &tlv, 0x8);
    assert!(matches!(
        decrypt_image(&wrong_flag, &private),
        Err(EncError::KeyLenFlagMismatch {
            key: 128,
            flag: 256
        })
    ));
    let x = DecryptionKey::X25519(x25519_dalek::StaticSecret::random_from_rng(OsRng));
    assert!(matches!(
        decrypt_image(&image, &x),
        Err(EncError::NoEncTlv("X25519"))
    ));
}

#[test]
fn key_files_load_in_every_pem_flavour() {
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};

    let rsa = rsa_key();
    let pems = [
        rsa.to_pkcs8_pem(LineEnding::LF)
            .expect("pem")
            .as_str()
            .to_owned(),
        rsa.to_pkcs1_pem(LineEnding::LF)
            .expect("pem")
            .as_str()
            .to_owned(),
    ];
    for pem in &pems {
        let k = DecryptionKey::from_pem(pem, None).expect("rsa private");
        assert!(matches!(k, DecryptionKey::Rsa2048(_)));
        assert!(matches!(
            Recipient::from_pem(pem),
            Ok(Recipient::Rsa2048(_))
        ));
    }
    let public = rsa.to_public_key();
    for pem in [
        public.to_public_key_pem(LineEnding::LF).expect("pem"),
        public.to_pkcs1_pem(LineEnding::LF).expect("pem"),
    ] {
        assert!(matches!(
            Recipient::from_pem(&pem),
            Ok(Recipient::Rsa2048(_))
        ));
        assert!(matches!(
            DecryptionKey::from_pem(&pem, None),
            Err(KeyError::PublicKeyOnly)
        ));
    }

    let ec = p256::SecretKey::random(&mut OsRng);
    for pem in [
        ec.to_pkcs8_pem(LineEnding::LF)
            .expect("pem")
            .as_str()
            .to_owned(),
        // SEC1 PEM as OpenSSL writes it (with the named curve; the crate
        // loader refuses a curve-less `EC PRIVATE KEY`).
        sec1_pem_with_curve(&ec),
    ] {
        let k = DecryptionKey::from_pem(&pem, None).expect("ec private");
        assert!(matches!(k, DecryptionKey::EcP256(_)));
    }
    let pem = ec
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    assert!(matches!(
        Recipient::from_pem(&pem),
        Ok(Recipient::EcP256(_))
    ));

    let enc = ec
        .to_pkcs8_encrypted_pem(&mut OsRng, b"hunter2", LineEnding::LF)
        .expect("pem")
        .as_str()
        .to_owned();
    assert!(matches!(
        DecryptionKey::from_pem(&enc, None),
        Err(KeyError::File(crate::keys::KeyFileError::PasswordRequired))
    ));
    assert!(matches!(
        DecryptionKey::from_pem(&enc, Some(b"wrong")),
        Err(KeyError::File(crate::keys::KeyFileError::WrongPassword))
    ));
    assert!(matches!(
        DecryptionKey::from_pem(&enc, Some(b"hunter2")),
        Ok(DecryptionKey::EcP256(_))
    ));
}

#[test]
fn x25519_pkcs8_loads_and_matches_its_public_key() {
    // RFC 8410 §10.3 example private key.
    let pem = "-----BEGIN PRIVATE KEY-----\n\
               MC4CAQAwBQYDK2VuBCIEINQC9Fz5hE6BbnbC4Sp/eZFl9Ce2tqVJw2dDu6BQBuBv\n\
               -----END PRIVATE KEY-----\n";
    let private = DecryptionKey::from_pem(pem, None).expect("x25519");
    let Recipient::X25519(public) = private.recipient() else {
        panic!("expected an X25519 recipient");
    };
    let spki = std::format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64_spki_x25519(public.as_bytes())
    );
    let Ok(Recipient::X25519(again)) = Recipient::from_pem(&spki) else {
        panic!("expected X25519 SPKI to load");
    };
    assert_eq!(again.as_bytes(), public.as_bytes());
}

fn base64_spki_x25519(raw: &[u8; 32]) -> std::string::String {
    use base64ct::Encoding;
    // SPKI prefix for id-X25519 (RFC 8410 §4).
    let mut der = std::vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00];
    der.extend_from_slice(raw);
    base64ct::Base64::encode_string(&der)
}

#[test]
fn kek_files_are_base64_like_mcuboots_enc_aes_kw_b64() {
    // Contents of MCUboot's `enc-aes128kw.b64` (repository root).
    let k = DecryptionKey::from_file_contents(b"0VoElcTCqP8weM5Jtfyy3Q==\n", None).expect("kek");
    let DecryptionKey::AesKw(kek) = k else {
        panic!("expected a KEK");
    };
    assert_eq!(kek.key_len(), AesKeyLen::Aes128);
    assert!(matches!(
        Recipient::from_file_contents(b"AAAA"),
        Err(KeyError::KekLength(3))
    ));
    assert!(matches!(
        Recipient::from_file_contents(b"\xff\xfe"),
        Err(KeyError::UnrecognizedFormat)
    ));
}

#[test]
fn unsupported_key_types_are_named() {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    // RSA-3072 signs MCUboot images but cannot encrypt them.
    let big = rsa::RsaPrivateKey::new(&mut OsRng, 3072).expect("keygen");
    let pem = big.to_pkcs8_pem(LineEnding::LF).expect("pem");
    assert!(matches!(
        DecryptionKey::from_pem(&pem, None),
        Err(KeyError::RsaKeySize(3072))
    ));
    assert!(matches!(
        Recipient::from_pem(&pem),
        Err(KeyError::RsaKeySize(3072))
    ));
    // RFC 8410 §10.3 Ed25519 example private key.
    let ed = "-----BEGIN PRIVATE KEY-----\n\
              MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
              -----END PRIVATE KEY-----\n";
    let err = DecryptionKey::from_pem(ed, None).expect_err("ed25519");
    assert!(
        matches!(
            &err,
            KeyError::UnsupportedKeyType(crate::keys::KeyKind::Ed25519)
        ),
        "{err}"
    );
    assert!(matches!(
        Recipient::from_pem("-----BEGIN FOO-----\n-----END FOO-----\n"),
        Err(KeyError::File(_))
    ));
}

#[test]
fn der_key_files_load_like_pem() {
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
    let ec = p256::SecretKey::random(&mut OsRng);
    let spki = ec.public_key().to_public_key_der().expect("der");
    assert!(matches!(
        Recipient::from_file_contents(spki.as_bytes()),
        Ok(Recipient::EcP256(_))
    ));
    let pkcs8 = ec.to_pkcs8_der().expect("der");
    assert!(matches!(
        DecryptionKey::from_file_contents(pkcs8.as_bytes(), None),
        Ok(DecryptionKey::EcP256(_))
    ));
    assert!(matches!(
        Recipient::from_file_contents(pkcs8.as_bytes()),
        Ok(Recipient::EcP256(_))
    ));
    // A well-formed SEQUENCE that is no key.
    assert!(Recipient::from_file_contents(b"\x30\x03\x02\x01\x80").is_err());
}

/// An OpenSSL export with `Bag Attributes` before the block is PEM, not a
/// base64 KEK.
#[test]
fn pem_after_leading_text_is_not_taken_for_a_kek() {
    let x25519 = "Bag Attributes\n    friendlyName: enc\n-----BEGIN PRIVATE KEY-----\n\
                  MC4CAQAwBQYDK2VuBCIEINQC9Fz5hE6BbnbC4Sp/eZFl9Ce2tqVJw2dDu6BQBuBv\n\
                  -----END PRIVATE KEY-----\n";
    let k = DecryptionKey::from_file_contents(x25519.as_bytes(), None).expect("x25519");
    assert!(matches!(k, DecryptionKey::X25519(_)));
}

/// Regression: a base64 KEK whose first bytes read as a DER SEQUENCE header
/// of exactly the file's length ("0+" = 0x30 0x2b, 45 bytes with the
/// newline) was taken for DER and refused.
#[test]
fn base64_kek_that_looks_like_a_der_header_still_loads() {
    let tricky = b"0+9vb29vb29vb29vb29vb29vb29vb29vb29vb29vb28=\n";
    assert_eq!(tricky.len(), 45);
    let k = DecryptionKey::from_file_contents(tricky, None).expect("tricky KEK");
    assert!(matches!(k, DecryptionKey::AesKw(ref kek) if kek.key_len() == AesKeyLen::Aes256));
}

fn sec1_pem_with_curve(ec: &p256::SecretKey) -> std::string::String {
    use pkcs8::der::{Decode, Encode};
    let der = ec.to_sec1_der().expect("sec1");
    let mut key = sec1::EcPrivateKey::from_der(&der).expect("sec1 parse");
    key.parameters = Some(sec1::EcParameters::NamedCurve(
        pkcs8::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7"),
    ));
    let der = key.to_der().expect("sec1 encode");
    pkcs8::der::pem::encode_string("EC PRIVATE KEY", pkcs8::der::pem::LineEnding::LF, &der)
        .expect("pem")
}

#[test]
fn decrypt_image_never_panics_on_any_single_byte_corruption() {
    let private = DecryptionKey::X25519(x25519_dalek::StaticSecret::random_from_rng(OsRng));
    let (key, kind, tlv) = wrap_new_key(
        &private.recipient(),
        AesKeyLen::Aes128,
        HmacSha::Sha256,
        &mut OsRng,
    )
    .expect("wrap");
    let payload: Vec<u8> = (0..48u8).collect();
    let image = synthetic_image(&payload, &key, kind, &tlv, AesKeyLen::Aes128.header_flag());
    let good = decrypt_image(&image, &private).expect("intact image decrypts");
    assert_eq!(&good[32..80], &payload[..]);
    for i in 0..image.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = image.clone();
            bad[i] ^= flip;
            // Never a panic. Payload bytes only change the plaintext. A
            // change to the wrapped key fails its HMAC tag, or leaves the key
            // intact: X25519 ignores the top bit of the ephemeral public key
            // (RFC 7748 §5). Header and TLV-structure bytes may or may not
            // matter (the image hash, checked elsewhere, covers them).
            let result = decrypt_image(&bad, &private);
            if (32..80).contains(&i) {
                assert!(result.is_ok(), "payload byte {i} ^ {flip:#x}");
            }
            if i >= image.len() - tlv.len() {
                if let Ok(out) = result {
                    assert_eq!(out[32..80], good[32..80], "ENC TLV byte {i} ^ {flip:#x}");
                }
            }
        }
    }
}
