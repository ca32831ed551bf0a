//! Keys in a real SoftHSM2 token sign through the RustCrypto traits; every
//! signature is checked by RustCrypto and by the pinned Python
//! `cryptography`. Keys are both imported (made by Python) and generated
//! inside the token.

mod support;

use pkcs11_keys::{
    EcdsaKey, Ed25519Key, KeyAlgorithm, ObjectSelector, Pkcs11Key, Pkcs11Uri, PublicKey, RsaPssKey,
    TypedKey,
};
use sha2::{Digest, Sha256, Sha384};
use signature::hazmat::{PrehashSigner, PrehashVerifier, RandomizedPrehashSigner};
use signature::{Keypair, SignatureEncoding, Signer, Verifier};
use spki::EncodePublicKey;
use support::{python_generate, python_verifies, Kind, SoftHsm, USER_PIN};

const TOKEN: &str = "espboot test";

fn spki(key: &Pkcs11Key) -> Vec<u8> {
    key.public_key()
        .to_public_key_der()
        .expect("SPKI")
        .as_bytes()
        .to_vec()
}

/// Imports a Python-made key and opens it through a PKCS#11 URI; checks
/// the public key read from the token is the one Python made.
fn import_and_open(hsm: &SoftHsm, kind: Kind, label: &str, id: &[u8]) -> Pkcs11Key {
    let pem = hsm.path(&format!("{label}.pem"));
    let expected_spki = python_generate(kind, &pem);
    hsm.import(&pem, TOKEN, label, id);
    let uri: Pkcs11Uri = format!(
        "pkcs11:token=espboot%20test;object={label};id={};type=private?module-path={}&pin-value={USER_PIN}",
        id.iter().map(|b| format!("%{b:02x}")).collect::<String>(),
        hsm.module.display()
    )
    .parse()
    .expect("URI");
    let key = Pkcs11Key::open(&uri.locator(None).expect("locator")).expect("open imported key");
    assert_eq!(spki(&key), expected_spki, "{kind:?}: public key read back");
    key
}

fn check_rsa(key: Pkcs11Key, bits: usize) {
    assert_eq!(key.algorithm(), KeyAlgorithm::Rsa { bits });
    let key_spki = spki(&key);
    let signer = RsaPssKey::try_from(key).expect("RSA");
    let digest = Sha256::digest(b"a Secure Boot V2 image, padded to 4 KiB");
    // The MCUboot adapter's call (RandomizedPrehashSigner).
    let signature: rsa::pss::Signature = signer
        .sign_prehash_with_rng(&mut rand_core::OsRng, &digest)
        .expect("sign");
    assert_eq!(signature.to_vec().len(), bits / 8);
    signer
        .verifying_key()
        .verify_prehash(&digest, &signature)
        .expect("RustCrypto verifies");
    assert!(python_verifies(
        "rsa-pss-sha256",
        &key_spki,
        &digest,
        &signature.to_vec()
    ));
    // The other digest is refused by both.
    let other = Sha256::digest(b"another image");
    assert!(signer
        .verifying_key()
        .verify_prehash(&other, &signature)
        .is_err());
    assert!(!python_verifies(
        "rsa-pss-sha256",
        &key_spki,
        &other,
        &signature.to_vec()
    ));
    // Signer hashes on the host: the same as signing the digest.
    let from_message = signer.sign(b"another image");
    signer
        .verifying_key()
        .verify_prehash(&other, &from_message)
        .expect("Signer::sign is SHA-256 + prehash");
}

fn check_ecdsa<C>(signer: EcdsaKey<C>, scheme: &str, digest: &[u8], key_spki: &[u8])
where
    C: ecdsa::elliptic_curve::PrimeCurve + ecdsa::elliptic_curve::CurveArithmetic,
    C::AffinePoint: ecdsa::hazmat::VerifyPrimitive<C>,
    ecdsa::SignatureSize<C>: ecdsa::elliptic_curve::generic_array::ArrayLength<u8>,
{
    let signature: ecdsa::Signature<C> = signer.sign_prehash(digest).expect("sign");
    signer
        .verifying_key()
        .verify_prehash(digest, &signature)
        .expect("RustCrypto verifies");
    let r_s = signature.to_bytes();
    assert!(
        python_verifies(scheme, key_spki, digest, &r_s),
        "{scheme}: Python cryptography verifies"
    );
    let mut other = digest.to_vec();
    other[0] ^= 1;
    assert!(!python_verifies(scheme, key_spki, &other, &r_s));
}

#[test]
fn rsa3072_imported_signs_pss_salt_32() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    let key = import_and_open(&hsm, Kind::Rsa3072, "sbv2-rsa", &[0x51]);
    check_rsa(key, 3072);
}

#[test]
fn rsa2048_generated_in_token_signs_pss_salt_32() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    let mut locator = hsm.locator(TOKEN, "mcuboot-rsa");
    locator.key.id = Some(vec![0x20, 0x48]);
    let key = Pkcs11Key::generate(&locator, KeyAlgorithm::Rsa { bits: 2048 }).expect("generate");
    check_rsa(key, 2048);
    // The generated pair opens again by id alone.
    locator.key = ObjectSelector::with_id(vec![0x20, 0x48]);
    let again = Pkcs11Key::open(&locator).expect("reopen by id");
    check_rsa(again, 2048);
}

fn algorithm_id(algorithm: KeyAlgorithm) -> u8 {
    match algorithm {
        KeyAlgorithm::EcdsaP192 => 0x92,
        KeyAlgorithm::EcdsaP256 => 0x56,
        _ => 0x84,
    }
}

#[test]
fn ecdsa_imported_and_generated_on_p192_p256_p384() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    let image = b"bootloader image";
    let sha256 = Sha256::digest(image);
    let sha384 = Sha384::digest(image);
    for (kind, algorithm) in [
        (Kind::P192, KeyAlgorithm::EcdsaP192),
        (Kind::P256, KeyAlgorithm::EcdsaP256),
        (Kind::P384, KeyAlgorithm::EcdsaP384),
    ] {
        let id = [0xec, algorithm_id(algorithm)];
        let imported = import_and_open(&hsm, kind, &format!("imported-{}", kind.name()), &id);
        let generated = Pkcs11Key::generate(
            &hsm.locator(TOKEN, &format!("generated-{}", kind.name())),
            algorithm,
        )
        .expect("generate");
        for key in [imported, generated] {
            assert_eq!(key.algorithm(), algorithm);
            let key_spki = spki(&key);
            // Secure Boot V2 digests: SHA-256 for P-192/P-256, SHA-384 for P-384.
            match TypedKey::from(key) {
                TypedKey::EcdsaP192(k) => check_ecdsa(k, "ecdsa-sha256", &sha256, &key_spki),
                TypedKey::EcdsaP256(k) => {
                    // Signer hashes with the curve's digest.
                    let s: p256::ecdsa::Signature = k.sign(image);
                    k.verifying_key().verify(image, &s).expect("Signer");
                    check_ecdsa(k, "ecdsa-sha256", &sha256, &key_spki)
                }
                TypedKey::EcdsaP384(k) => check_ecdsa(k, "ecdsa-sha384", &sha384, &key_spki),
                other => panic!("{kind:?} opened as {other:?}"),
            }
        }
    }
}

#[test]
fn ed25519_imported_and_generated_sign_with_eddsa() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    let imported = import_and_open(&hsm, Kind::Ed25519, "imported-ed25519", &[0xed]);
    let generated = Pkcs11Key::generate(
        &hsm.locator(TOKEN, "generated-ed25519"),
        KeyAlgorithm::Ed25519,
    )
    .expect("generate");
    // MCUboot signs the image digest (or the region in pure mode).
    let digest = Sha256::digest(b"an MCUboot image");
    for key in [imported, generated] {
        assert_eq!(key.algorithm(), KeyAlgorithm::Ed25519);
        let key_spki = spki(&key);
        let signer = Ed25519Key::try_from(key).expect("Ed25519");
        let signature: ed25519_dalek::Signature = signer.sign(&digest);
        signer
            .verifying_key()
            .verify_strict(&digest, &signature)
            .expect("RustCrypto verifies");
        assert!(python_verifies(
            "ed25519",
            &key_spki,
            &digest,
            &signature.to_bytes()
        ));
        assert!(!python_verifies(
            "ed25519",
            &key_spki,
            b"other",
            &signature.to_bytes()
        ));
    }
}

#[test]
fn public_key_types_match_the_algorithm() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    let key =
        Pkcs11Key::generate(&hsm.locator(TOKEN, "k"), KeyAlgorithm::EcdsaP256).expect("generate");
    assert!(matches!(key.public_key(), PublicKey::EcdsaP256(_)));
    assert_eq!(key.token_label(), TOKEN);
    assert_eq!(key.selector(), "object=k");
    let debug = format!("{key:?}");
    assert!(
        debug.contains("ECDSA P-256") && !debug.contains(USER_PIN),
        "{debug}"
    );
}

#[test]
fn two_keys_share_one_module_and_sign_from_threads() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    let a =
        Pkcs11Key::generate(&hsm.locator(TOKEN, "a"), KeyAlgorithm::EcdsaP256).expect("generate a");
    let b =
        Pkcs11Key::generate(&hsm.locator(TOKEN, "b"), KeyAlgorithm::Ed25519).expect("generate b");
    let a = match TypedKey::from(a) {
        TypedKey::EcdsaP256(k) => k,
        other => panic!("{other:?}"),
    };
    let b = Ed25519Key::try_from(b).expect("Ed25519");
    std::thread::scope(|s| {
        for i in 0..4u8 {
            let (a, b) = (&a, &b);
            s.spawn(move || {
                let digest = Sha256::digest([i]);
                let sa: p256::ecdsa::Signature = a.sign_prehash(&digest).expect("sign a");
                a.verifying_key().verify_prehash(&digest, &sa).expect("a");
                let sb = b.sign(&digest);
                b.verifying_key().verify(&digest, &sb).expect("b");
            });
        }
    });
}
