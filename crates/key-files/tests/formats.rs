//! Every format of every key type, against keys Python `cryptography`
//! (the library imgtool and espsecure load keys with) wrote: see
//! `data/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::path::PathBuf;

use base64ct::Encoding;
use key_files::{oid, KeyFile, KeyFileError, KeyFormat, KeyKind, PrivateKey, PublicKey};

/// The password of every `*.pkcs8-encrypted.pem` (data/gen.sh).
const PASSWORD: &[u8] = b"key-files test";

const TYPES: [(&str, KeyKind); 8] = [
    ("rsa-2048", KeyKind::RSA_2048),
    ("rsa-3072", KeyKind::RSA_3072),
    ("rsa-4096", KeyKind::RSA_4096),
    ("ecdsa-p192", KeyKind::EcdsaP192),
    ("ecdsa-p256", KeyKind::EcdsaP256),
    ("ecdsa-p384", KeyKind::EcdsaP384),
    ("ed25519", KeyKind::Ed25519),
    ("x25519", KeyKind::X25519),
];

fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn exists(name: &str) -> bool {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .exists()
}

/// Every fixture of type `t` with its format: (file name, format).
fn files_of(t: &str) -> Vec<(String, KeyFormat)> {
    [
        ("pkcs8", KeyFormat::Pkcs8),
        ("pkcs8-encrypted", KeyFormat::EncryptedPkcs8),
        (
            "traditional",
            if t.starts_with("rsa") {
                KeyFormat::Pkcs1
            } else {
                KeyFormat::Sec1
            },
        ),
        ("spki", KeyFormat::Spki),
        ("pkcs1-public", KeyFormat::Pkcs1Public),
    ]
    .into_iter()
    .map(|(suffix, format)| (format!("{t}.{suffix}.pem"), format))
    .filter(|(name, _)| exists(name))
    .collect()
}

/// The DER inside a 64-column PEM file, decoded independently of the crate.
fn der_of(pem: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(pem).unwrap();
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.contains(':') && !l.is_empty())
        .collect();
    base64ct::Base64::decode_vec(&body).unwrap()
}

/// `pem` re-wrapped at `width` columns with `eol` line ends, between
/// `before` and `after`.
fn rewrap(pem: &[u8], width: usize, eol: &str, before: &str, after: &str) -> Vec<u8> {
    let text = std::str::from_utf8(pem).unwrap();
    let mut out = String::from(before);
    let mut body = String::new();
    for line in text.lines() {
        if line.starts_with("-----") {
            for chunk in body.as_bytes().chunks(width) {
                out.push_str(std::str::from_utf8(chunk).unwrap());
                out.push_str(eol);
            }
            body.clear();
            out.push_str(line);
            out.push_str(eol);
        } else {
            body.push_str(line);
        }
    }
    out.push_str(after);
    out.into_bytes()
}

fn load(name: &str) -> KeyFile {
    KeyFile::from_pem(&data(name), Some(PASSWORD)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_format_of_every_type_loads_to_one_key() {
    for (t, kind) in TYPES {
        let private = load(&format!("{t}.pkcs8.pem"));
        assert!(private.is_private(), "{t}");
        assert_eq!(private.kind(), kind, "{t}");
        let public = private.public_key();
        let files = files_of(t);
        assert!(files.len() >= 3, "{t}: {files:?}");
        for (name, format) in files {
            let file = load(&name);
            assert_eq!(file.is_private(), format.is_private(), "{name}");
            assert_eq!(file.kind(), kind, "{name}");
            assert_eq!(file.public_key(), public, "{name}");
        }
    }
}

#[test]
fn der_files_load_by_structure_and_through_from_bytes() {
    for (t, kind) in TYPES {
        let public = load(&format!("{t}.pkcs8.pem")).public_key();
        for (name, format) in files_of(t) {
            let der = der_of(&data(&name));
            for file in [
                KeyFile::from_der(&der, Some(PASSWORD)),
                KeyFile::from_der_as(&der, format, Some(PASSWORD)),
                KeyFile::from_bytes(&der, Some(PASSWORD)),
                KeyFile::from_bytes(&data(&name), Some(PASSWORD)),
            ] {
                let file = file.unwrap_or_else(|e| panic!("{name} as DER: {e}"));
                assert_eq!(file.kind(), kind, "{name}");
                assert_eq!(file.public_key(), public, "{name}");
            }
        }
    }
}

#[test]
fn any_line_width_crlf_and_surrounding_text_load() {
    for (t, _) in TYPES {
        for (name, _) in files_of(t) {
            let strict = load(&name).public_key();
            for (width, eol, before, after) in [
                (76, "\r\n", "", ""),
                (
                    76,
                    "\n",
                    "Bag Attributes\n    friendlyName: hsm-key\n",
                    "trailing text\n",
                ),
                (40, "\r\n", "\r\n\r\n", "\r\n"),
                (100_000, "\n", "", ""),
            ] {
                let pem = rewrap(&data(&name), width, eol, before, after);
                let file = KeyFile::from_pem(&pem, Some(PASSWORD))
                    .unwrap_or_else(|e| panic!("{name} at {width} columns: {e}"));
                assert_eq!(file.public_key(), strict, "{name} at {width} columns");
            }
        }
    }
}

#[test]
fn writers_match_cryptography_byte_for_byte() {
    for (t, _) in TYPES {
        let KeyFile::Private(key) = load(&format!("{t}.pkcs8.pem")) else {
            panic!("{t}: expected a private key");
        };
        assert_eq!(
            key.to_pkcs8_pem(None).unwrap().as_bytes(),
            data(&format!("{t}.pkcs8.pem")),
            "{t} PKCS#8"
        );
        assert_eq!(
            key.public_key().to_spki_pem().unwrap().as_bytes(),
            data(&format!("{t}.spki.pem")),
            "{t} SPKI"
        );
        let traditional = format!("{t}.traditional.pem");
        match key.to_traditional_pem() {
            Ok(pem) => assert_eq!(pem.as_bytes(), data(&traditional), "{t} traditional"),
            Err(KeyFileError::NoSuchEncoding { kind, .. }) => {
                assert!(!exists(&traditional), "{t}");
                assert_eq!(kind, key.kind());
            }
            Err(e) => panic!("{t}: {e}"),
        }
        let pkcs1 = format!("{t}.pkcs1-public.pem");
        if exists(&pkcs1) {
            let der = key.public_key().to_pkcs1_der().unwrap();
            assert_eq!(der, der_of(&data(&pkcs1)), "{t} PKCS#1 public");
        } else {
            assert!(key.public_key().to_pkcs1_der().is_err(), "{t}");
        }
    }
}

#[test]
fn encrypted_keys_need_the_right_password() {
    for (t, _) in TYPES {
        let pem = data(&format!("{t}.pkcs8-encrypted.pem"));
        assert!(
            matches!(
                KeyFile::from_pem(&pem, None),
                Err(KeyFileError::PasswordRequired)
            ),
            "{t}"
        );
        assert!(
            matches!(
                KeyFile::from_pem(&pem, Some(b"key-files tesT")),
                Err(KeyFileError::WrongPassword)
            ),
            "{t}"
        );
    }
    // OpenSSL's legacy PEM encryption, with each cipher cryptography
    // decrypts: the same key as the unencrypted file.
    for (name, plain) in [
        ("ecdsa-p256.legacy-encrypted.pem", "ecdsa-p256.pkcs8.pem"),
        ("ecdsa-p384.legacy-aes-128-cbc.pem", "ecdsa-p384.pkcs8.pem"),
        ("ecdsa-p384.legacy-aes-256-cbc.pem", "ecdsa-p384.pkcs8.pem"),
        ("rsa-2048.legacy-des-ede3-cbc.pem", "rsa-2048.pkcs8.pem"),
    ] {
        let pem = data(name);
        assert!(
            matches!(
                KeyFile::from_pem(&pem, None),
                Err(KeyFileError::PasswordRequired)
            ),
            "{name}"
        );
        assert!(
            matches!(
                KeyFile::from_pem(&pem, Some(b"key-files tesT")),
                Err(KeyFileError::WrongPassword)
            ),
            "{name}"
        );
        let key = KeyFile::from_pem(&pem, Some(PASSWORD)).unwrap();
        let want = KeyFile::from_pem(&data(plain), None).unwrap();
        assert!(key.is_private(), "{name}");
        assert_eq!(key.public_key(), want.public_key(), "{name}");
    }
    // Ours, read back (imgtool reads them too: crates/espboot/tests).
    let key = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let pem = key.to_pkcs8_pem(Some(b"pw")).unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    let again = KeyFile::from_pem(pem.as_bytes(), Some(b"pw")).unwrap();
    assert_eq!(again.public_key(), key.public_key());
}

#[test]
fn unsupported_keys_are_named() {
    let err = |name: &str| KeyFile::from_pem(&data(name), None).unwrap_err();
    assert!(matches!(
        err("ecdsa-p521.pkcs8.pem"),
        KeyFileError::UnsupportedCurve { oid } if oid.to_string() == "1.3.132.0.35"
    ));
    assert!(matches!(
        err("ed448.pkcs8.pem"),
        KeyFileError::UnsupportedAlgorithm { oid, private: true } if oid.to_string() == "1.3.101.113"
    ));
    assert!(matches!(
        err("rsa-1024.traditional.pem"),
        KeyFileError::UnsupportedRsaSize { bits: 1024 }
    ));
    // ciphers OpenSSL writes and cryptography does not decrypt
    for name in [
        "ecdsa-p384.legacy-aes-192-cbc.pem",
        "rsa-3072.legacy-des-cbc.pem",
    ] {
        let pem = data(name);
        let refused = KeyFile::from_pem(&pem, Some(PASSWORD)).unwrap_err();
        assert!(
            matches!(refused, KeyFileError::UnsupportedLegacyCipher { .. }),
            "{name}: {refused:?}"
        );
    }
    assert!(matches!(
        PrivateKey::generate(KeyKind::Rsa { bits: 1024 }),
        Err(KeyFileError::UnsupportedRsaSize { bits: 1024 })
    ));
}

#[test]
fn files_that_are_no_key_are_typed_errors() {
    assert!(matches!(
        KeyFile::from_pem(b"not a key\n", None),
        Err(KeyFileError::NotPem { prefix: Some(p) }) if p == "not a key"
    ));
    assert!(matches!(
        KeyFile::from_pem(b"", None),
        Err(KeyFileError::NotPem { prefix: None })
    ));
    assert!(matches!(
        KeyFile::from_bytes(&[0x30, 0x03, 0x02, 0x01, 0x80], None),
        Err(KeyFileError::NotPem { prefix: None })
    ));
    assert!(matches!(
        KeyFile::from_der(b"\x30\x03\x02\x01\x80", None),
        Err(KeyFileError::NotDer)
    ));
    let certificate = b"-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        KeyFile::from_pem(certificate, None),
        Err(KeyFileError::NoKeyBlock { label }) if label == "CERTIFICATE"
    ));
    let public = KeyFile::from_pem(&data("ed25519.spki.pem"), None).unwrap();
    assert!(matches!(
        public.into_private(),
        Err(KeyFileError::PublicKeyOnly)
    ));
}

/// Corrupted keys fail with messages that name the format, never the key.
#[test]
fn errors_never_quote_key_material() {
    let mut checked = 0;
    for (t, _) in TYPES {
        for (name, _) in files_of(t) {
            let pem = data(&name);
            let text = std::str::from_utf8(&pem).unwrap();
            let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
            let mut der = der_of(&pem);
            // Truncate the DER, then flip a byte in the middle of it.
            for damaged in [der[..der.len() / 2].to_vec(), {
                let mid = der.len() / 2;
                der[mid] ^= 0x5a;
                der.clone()
            }] {
                let label = text.lines().next().unwrap();
                let end = label.replacen("BEGIN", "END", 1);
                let pem = format!(
                    "{label}\n{}\n{end}\n",
                    base64ct::Base64::encode_string(&damaged)
                );
                let Err(e) = KeyFile::from_pem(pem.as_bytes(), Some(PASSWORD)) else {
                    continue; // a flipped byte in an RSA exponent can still parse
                };
                let message = e.to_string();
                for window in body.as_bytes().windows(12) {
                    let window = std::str::from_utf8(window).unwrap();
                    assert!(!message.contains(window), "{name}: {message}");
                }
                let debug = format!("{e:?}");
                assert!(!debug.contains(&body[..12]), "{name}: {debug}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} damaged keys were refused");
}

#[test]
fn the_first_private_block_wins_and_parameters_are_skipped() {
    let public_first = [
        data("ecdsa-p384.spki.pem"),
        data("ecdsa-p256.traditional.pem"),
    ]
    .concat();
    let file = KeyFile::from_pem(&public_first, None).unwrap();
    assert!(file.is_private());
    assert_eq!(file.kind(), KeyKind::EcdsaP256);
    // `openssl ecparam -name prime256v1 -genkey` writes the curve first.
    let params = b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
    let with_params = [&params[..], &data("ecdsa-p256.traditional.pem")].concat();
    let file = KeyFile::from_pem(&rewrap(&with_params, 64, "\r\n", "", ""), None).unwrap();
    assert_eq!(file.kind(), KeyKind::EcdsaP256);
    // Two public keys: the first.
    let two = [data("ed25519.spki.pem"), data("x25519.spki.pem")].concat();
    assert_eq!(
        KeyFile::from_pem(&two, None).unwrap().kind(),
        KeyKind::Ed25519
    );
}

#[test]
fn generated_keys_round_trip_through_every_writer() {
    for kind in [
        KeyKind::RSA_2048,
        KeyKind::EcdsaP192,
        KeyKind::EcdsaP256,
        KeyKind::EcdsaP384,
        KeyKind::Ed25519,
        KeyKind::X25519,
    ] {
        let key = PrivateKey::generate(kind).unwrap();
        assert_eq!(key.kind(), kind);
        assert_eq!(format!("{key:?}"), format!("PrivateKey({kind}, redacted)"));
        let mut pems = vec![
            key.to_pkcs8_pem(None).unwrap(),
            key.to_pkcs8_pem(Some(b"pw")).unwrap(),
        ];
        if let Ok(pem) = key.to_traditional_pem() {
            pems.push(pem);
        }
        for pem in pems {
            let file = KeyFile::from_pem(pem.as_bytes(), Some(b"pw")).unwrap();
            assert_eq!(file.public_key(), key.public_key(), "{kind}");
        }
        let spki = key.public_key().to_spki_der().unwrap();
        assert_eq!(PublicKey::from_spki_der(&spki).unwrap(), key.public_key());
    }
}

#[test]
fn kinds_and_formats_have_stable_names() {
    let names: Vec<String> = TYPES.iter().map(|(_, k)| k.to_string()).collect();
    let expected: Vec<&str> = TYPES.iter().map(|(t, _)| *t).collect();
    assert_eq!(names, expected);
    for format in KeyFormat::ALL {
        assert_eq!(KeyFormat::from_pem_label(format.pem_label()), Some(format));
    }
    assert_eq!(oid::SECP256R1.to_string(), "1.2.840.10045.3.1.7");
}
