//! Every way of naming a key wrongly gets its typed error, and no message
//! quotes the PIN.

mod support;

use std::path::PathBuf;

use pkcs11_keys::{
    EcdsaKey, HsmConfig, KeyAlgorithm, KeyClass, KeyLocator, ObjectSelector, Pin, Pkcs11Error,
    Pkcs11Key, RsaPssKey, TokenSelector,
};
use sha2::{Digest, Sha256};
use signature::hazmat::PrehashSigner;
use support::{SoftHsm, USER_PIN};

const TOKEN: &str = "errors";

/// Opens `locator`, expecting an error; checks the message never holds
/// the PIN.
fn open_err(locator: &KeyLocator) -> Pkcs11Error {
    let err = Pkcs11Key::open(locator).expect_err("opening must fail");
    let text = err.to_string();
    assert!(!text.contains(USER_PIN), "{text}");
    assert!(!format!("{err:?}").contains(USER_PIN), "{err:?}");
    err
}

#[test]
fn module_token_pin_and_key_errors() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    let slot = hsm.init_token(TOKEN);
    hsm.init_token("second");
    Pkcs11Key::generate(&hsm.locator(TOKEN, "rsa"), KeyAlgorithm::Rsa { bits: 2048 })
        .expect("generate");

    // Not a module.
    let mut locator = hsm.locator(TOKEN, "rsa");
    locator.module = PathBuf::from("/nonexistent/libvendor.so");
    let err = open_err(&locator);
    assert!(
        matches!(&err, Pkcs11Error::ModuleLoad { path, .. } if *path == locator.module),
        "{err}"
    );
    assert!(
        err.to_string().contains("/nonexistent/libvendor.so"),
        "{err}"
    );
    locator.module = hsm.conf.clone();
    assert!(matches!(open_err(&locator), Pkcs11Error::ModuleLoad { .. }));

    // No such token: the message lists what is there.
    let mut locator = hsm.locator("nope", "rsa");
    let err = open_err(&locator);
    assert!(
        matches!(&err, Pkcs11Error::NoSuchToken { selector, present, .. }
            if selector == "token=nope" && present.contains("`errors`") && present.contains("`second`")),
        "{err}"
    );
    locator.token = TokenSelector::with_slot_id(slot.wrapping_add(1));
    assert!(matches!(
        open_err(&locator),
        Pkcs11Error::NoSuchToken { .. }
    ));
    // Two tokens, nothing to choose.
    locator.token = TokenSelector::default();
    assert!(matches!(
        open_err(&locator),
        Pkcs11Error::AmbiguousToken { count: 2, .. }
    ));
    // The slot id alone picks the token (espsecure's `slot`).
    locator.token = TokenSelector::with_slot_id(slot);
    Pkcs11Key::open(&locator).expect("by slot id");

    // Wrong and missing PIN.
    let mut locator = hsm.locator(TOKEN, "rsa");
    locator.pin = Some(Pin::new(format!("{USER_PIN}-wrong")));
    let err = open_err(&locator);
    assert!(
        matches!(&err, Pkcs11Error::WrongPin { token } if token == TOKEN),
        "{err}"
    );
    assert!(!err.to_string().contains("-wrong"), "{err}");
    locator.pin = None;
    assert!(matches!(
        open_err(&locator),
        Pkcs11Error::PinRequired { .. }
    ));

    // No such key, by label and by id.
    let locator = hsm.locator(TOKEN, "absent");
    let err = open_err(&locator);
    assert!(
        matches!(&err, Pkcs11Error::NoSuchKey { class: KeyClass::Private, selector, token }
            if selector == "object=absent" && token == TOKEN),
        "{err}"
    );
    let mut locator = hsm.locator(TOKEN, "rsa");
    locator.key.id = Some(vec![9, 9]);
    assert!(matches!(
        open_err(&locator),
        Pkcs11Error::NoSuchKey {
            class: KeyClass::Private,
            ..
        }
    ));

    // A public key label that names nothing: RSA falls back to the
    // private key's modulus; an EC key needs its public object.
    let mut locator = hsm.locator(TOKEN, "rsa");
    locator.public_key = Some(ObjectSelector::with_label("absent"));
    Pkcs11Key::open(&locator).expect("RSA public key from the private object");
    Pkcs11Key::generate(&hsm.locator(TOKEN, "ec"), KeyAlgorithm::EcdsaP256).expect("generate");
    let mut locator = hsm.locator(TOKEN, "ec");
    locator.public_key = Some(ObjectSelector::with_label("absent"));
    assert!(matches!(
        open_err(&locator),
        Pkcs11Error::NoSuchKey {
            class: KeyClass::Public,
            ..
        }
    ));
}

#[test]
fn ambiguous_mismatched_and_misused_keys() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    for (id, algorithm) in [(1u8, KeyAlgorithm::EcdsaP256), (2, KeyAlgorithm::EcdsaP256)] {
        let mut locator = hsm.locator(TOKEN, "twin");
        locator.key.id = Some(vec![id]);
        Pkcs11Key::generate(&locator, algorithm).expect("generate");
    }
    assert!(matches!(
        open_err(&hsm.locator(TOKEN, "twin")),
        Pkcs11Error::AmbiguousKey {
            count: 2,
            class: KeyClass::Private,
            ..
        }
    ));
    // Generating over an existing key, or an unnamed one, is refused.
    let mut twin = hsm.locator(TOKEN, "twin");
    twin.key.id = Some(vec![1]);
    assert!(matches!(
        Pkcs11Key::generate(&twin, KeyAlgorithm::EcdsaP256),
        Err(Pkcs11Error::KeyExists { .. })
    ));
    let mut unnamed = hsm.locator(TOKEN, "x");
    unnamed.key = ObjectSelector::default();
    assert!(matches!(
        Pkcs11Key::generate(&unnamed, KeyAlgorithm::EcdsaP256),
        Err(Pkcs11Error::UnnamedKey { .. })
    ));

    // RSA: a public key of another pair is caught by its modulus.
    Pkcs11Key::generate(
        &hsm.locator(TOKEN, "rsa-a"),
        KeyAlgorithm::Rsa { bits: 2048 },
    )
    .expect("generate");
    Pkcs11Key::generate(
        &hsm.locator(TOKEN, "rsa-b"),
        KeyAlgorithm::Rsa { bits: 2048 },
    )
    .expect("generate");
    let mut crossed = hsm.locator(TOKEN, "rsa-a");
    crossed.public_key = Some(ObjectSelector::with_label("rsa-b"));
    assert!(matches!(
        open_err(&crossed),
        Pkcs11Error::KeyPairMismatch { .. }
    ));
    // ECDSA: only a signature shows it, and every signature is checked.
    let mut crossed = hsm.locator(TOKEN, "twin");
    crossed.key.id = Some(vec![1]);
    crossed.public_key = Some(ObjectSelector {
        label: Some("twin".into()),
        id: Some(vec![2]),
    });
    let key = Pkcs11Key::open(&crossed).expect("opens: EC pairs cannot be matched without signing");
    let signer = EcdsaKey::<p256::NistP256>::try_from(key).expect("P-256");
    let err = PrehashSigner::<p256::ecdsa::Signature>::sign_prehash(&signer, &Sha256::digest(b"x"))
        .expect_err("mismatch");
    let source = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<Pkcs11Error>())
        .expect("Pkcs11Error source");
    assert!(
        matches!(source, Pkcs11Error::SignatureMismatch { .. }),
        "{source}"
    );

    // Typed signers refuse other algorithms; RSA-PSS wants a SHA-256 digest,
    // ECDSA at least half the curve size.
    Pkcs11Key::generate(&hsm.locator(TOKEN, "ec"), KeyAlgorithm::EcdsaP256).expect("generate");
    let key = Pkcs11Key::open(&hsm.locator(TOKEN, "rsa-a")).expect("open");
    let key_for_ecdsa = Pkcs11Key::open(&hsm.locator(TOKEN, "rsa-b")).expect("open");
    assert!(matches!(
        EcdsaKey::<p256::NistP256>::try_from(key_for_ecdsa),
        Err(Pkcs11Error::WrongAlgorithm {
            actual: KeyAlgorithm::Rsa { bits: 2048 },
            ..
        })
    ));
    assert!(matches!(
        key.sign_raw(&[0; 48]),
        Err(Pkcs11Error::DigestLength { len: 48, .. })
    ));
    let signer = RsaPssKey::try_from(key).expect("RSA");
    assert!(PrehashSigner::<rsa::pss::Signature>::sign_prehash(&signer, &[0; 20]).is_err());
    let key = Pkcs11Key::open(&hsm.locator(TOKEN, "ec")).expect("open");
    assert!(matches!(
        key.sign_raw(&[0; 15]),
        Err(Pkcs11Error::DigestLength { len: 15, .. })
    ));
    key.sign_raw(&[0; 16]).expect("half the curve is enough");
}

#[test]
fn hsm_config_file_opens_the_key_espsecure_would() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    let slot = hsm.init_token(TOKEN);
    Pkcs11Key::generate(&hsm.locator(TOKEN, "sbv2"), KeyAlgorithm::EcdsaP384).expect("generate");
    let config = hsm.path("hsm.ini");
    std::fs::write(
        &config,
        format!(
            "[hsm_config]\npkcs11_lib = {}\ncredentials = {USER_PIN}\nslot = {slot}\nlabel = sbv2\n",
            hsm.module.display()
        ),
    )
    .expect("write");
    let key = Pkcs11Key::open(&HsmConfig::read(&config).expect("config").locator()).expect("open");
    assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP384);
    drop(key);

    // Without credentials the caller supplies the PIN (espsecure prompts).
    std::fs::write(
        &config,
        format!(
            "[hsm_config]\npkcs11_lib = {}\nslot = {slot}\nlabel = sbv2\n",
            hsm.module.display()
        ),
    )
    .expect("write");
    let mut locator = HsmConfig::read(&config).expect("config").locator();
    assert!(matches!(
        open_err(&locator),
        Pkcs11Error::PinRequired { .. }
    ));
    locator.pin = Some(Pin::new(USER_PIN.into()));
    Pkcs11Key::open(&locator).expect("open with the prompted PIN");
}

#[test]
fn a_token_without_the_signing_mechanism_is_refused_by_name() {
    skip_without_interop!();
    // SoftHSM2 can take mechanisms away (softhsm2.conf(5), slots.mechanisms);
    // key generation stays possible. SoftHSM2 2.6.1 ignores the first name
    // after the `-`, hence the unknown (ignored) placeholder.
    let hsm = SoftHsm::with_config("slots.mechanisms = -CKM_PLACEHOLDER,CKM_ECDSA,CKM_EDDSA");
    hsm.init_token(TOKEN);
    for (label, algorithm, mechanism) in [
        ("ec", KeyAlgorithm::EcdsaP256, "CKM_ECDSA"),
        ("ed", KeyAlgorithm::Ed25519, "CKM_EDDSA"),
    ] {
        let err = Pkcs11Key::generate(&hsm.locator(TOKEN, label), algorithm)
            .expect_err("no signing mechanism");
        assert!(
            matches!(&err, Pkcs11Error::MechanismUnsupported { mechanism: m, token, .. }
                if *m == mechanism && token == TOKEN),
            "{err}"
        );
        assert!(err.to_string().contains(mechanism), "{err}");
        // The key was made; opening it fails the same way.
        assert!(matches!(
            open_err(&hsm.locator(TOKEN, label)),
            Pkcs11Error::MechanismUnsupported { .. }
        ));
    }
    Pkcs11Key::generate(&hsm.locator(TOKEN, "rsa"), KeyAlgorithm::Rsa { bits: 2048 })
        .expect("RSA-PSS is still there");
}

#[test]
fn public_key_alone_reads_as_the_signing_key_sees_it() {
    skip_without_interop!();
    let hsm = SoftHsm::new();
    hsm.init_token(TOKEN);
    for (label, algorithm) in [
        ("rsa", KeyAlgorithm::Rsa { bits: 2048 }),
        ("p384", KeyAlgorithm::EcdsaP384),
        ("ed", KeyAlgorithm::Ed25519),
    ] {
        let key = Pkcs11Key::generate(&hsm.locator(TOKEN, label), algorithm).expect("generate");
        let expected = key.public_key().clone();
        drop(key);
        // With the PIN, as espsecure logs in, and without: public objects
        // need no login.
        let mut locator = hsm.locator(TOKEN, label);
        assert_eq!(
            pkcs11_keys::read_public_key(&locator).expect("read"),
            expected
        );
        locator.pin = None;
        assert_eq!(
            pkcs11_keys::read_public_key(&locator).expect("read"),
            expected
        );
        // `label_pubkey` points elsewhere.
        locator.public_key = Some(ObjectSelector::with_label("absent"));
        assert!(matches!(
            pkcs11_keys::read_public_key(&locator),
            Err(Pkcs11Error::NoSuchKey {
                class: KeyClass::Public,
                ..
            })
        ));
    }
}
