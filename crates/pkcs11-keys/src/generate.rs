//! Generating a key pair inside the token, so the private key never
//! exists anywhere else (`C_GenerateKeyPair`).

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use spki::der::Encode;

use crate::error::Pkcs11Error;
use crate::key::{find_keys, Pkcs11Key};
use crate::locator::{KeyLocator, ObjectSelector};
use crate::module::Module;
use crate::public_key::{ec_params_oid, KeyAlgorithm};

fn key_exists(token: &str, selector: &ObjectSelector) -> Pkcs11Error {
    Pkcs11Error::KeyExists {
        selector: selector.to_string(),
        token: token.to_owned(),
    }
}

impl Pkcs11Key {
    /// Generates a key pair of `algorithm` on the token `locator` names,
    /// labelled and identified by its object selector (both objects get
    /// the selector's `CKA_LABEL` and `CKA_ID`), and opens it. The private
    /// key is sensitive and not extractable.
    ///
    /// # Errors
    /// [`Pkcs11Error::KeyExists`] when a key already matches the selector,
    /// [`Pkcs11Error::UnnamedKey`] for an empty selector, the errors of [`Pkcs11Key::open`], and
    /// [`Pkcs11Error::Token`] when the token refuses to generate.
    pub fn generate(locator: &KeyLocator, algorithm: KeyAlgorithm) -> Result<Self, Pkcs11Error> {
        let module = Module::open(&locator.module)?;
        let token = module.find_token(&locator.token)?;
        let label = token.info.label().to_owned();
        let selector = &locator.key;
        if *selector == ObjectSelector::default() {
            return Err(Pkcs11Error::UnnamedKey { token: label });
        }
        let session = module.login(&token, locator.pin.as_ref(), true)?;
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            if !find_keys(&session, &label, class, selector)?.is_empty() {
                return Err(key_exists(&label, selector));
            }
        }

        let mut public = vec![Attribute::Token(true), Attribute::Verify(true)];
        let mut private = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ];
        for template in [&mut public, &mut private] {
            if let Some(name) = &selector.label {
                template.push(Attribute::Label(name.as_bytes().to_vec()));
            }
            if let Some(id) = &selector.id {
                template.push(Attribute::Id(id.clone()));
            }
        }
        let mechanism = match algorithm {
            KeyAlgorithm::Rsa { bits } => {
                public.push(Attribute::ModulusBits((bits as u64).into()));
                // F4, the exponent of every espsecure and imgtool RSA key.
                public.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
                Mechanism::RsaPkcsKeyPairGen
            }
            curve => {
                let oid = ec_params_oid(curve).ok_or(Pkcs11Error::UnsupportedKey {
                    selector: selector.to_string(),
                    token: label.clone(),
                    found: format!("{curve}"),
                })?;
                let params = oid.to_der().map_err(|_| Pkcs11Error::UnsupportedKey {
                    selector: selector.to_string(),
                    token: label.clone(),
                    found: format!("{curve}"),
                })?;
                public.push(Attribute::EcParams(params));
                if curve == KeyAlgorithm::Ed25519 {
                    Mechanism::EccEdwardsKeyPairGen
                } else {
                    Mechanism::EccKeyPairGen
                }
            }
        };
        session
            .generate_key_pair(&mechanism, &public, &private)
            .map_err(|e| Pkcs11Error::from_cryptoki("generate key pair", &label, e))?;
        Pkcs11Key::from_session(module, &token, session, locator)
    }
}
