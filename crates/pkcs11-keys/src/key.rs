//! [`Pkcs11Key`]: a private key held by a token, found through a
//! [`KeyLocator`], with its public key read from the token.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use crate::error::{KeyClass, Pkcs11Error};
use crate::locator::{KeyLocator, ObjectSelector};
use crate::module::{Module, Token};
use crate::public_key::{
    curve_from_ec_params, ec_public_key, rsa_public_key, DecodeProblem, KeyAlgorithm, PublicKey,
};
use crate::uri::Pkcs11Uri;

/// RSA-PSS salt length: espsecure (`get_mechanism`, esp_hsm_sign/__init__.py
/// L189-L197, and `generate_signature_block_using_private_key`,
/// espsecure/__init__.py L824-L829) and imgtool (`keys/rsa.py` L169-L175)
/// all sign with SHA-256, MGF1-SHA-256 and salt 32.
pub const RSA_PSS_SALT_LEN: usize = 32;

/// A signing key held by a PKCS#11 token. The private key never leaves
/// the token: signing sends a digest (or, for Ed25519, the message) to it.
///
/// The typed signers ([`crate::RsaPssKey`], [`crate::EcdsaKey`],
/// [`crate::Ed25519Key`], or all of them as [`crate::TypedKey`]) wrap it
/// to implement the RustCrypto `signature` traits.
pub struct Pkcs11Key {
    // Fields drop in order: the session closes before the module may be
    // finalized.
    session: Mutex<Session>,
    private: ObjectHandle,
    public_key: PublicKey,
    token_label: String,
    selector: String,
    _module: Arc<Module>,
}

impl std::fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("token", &self.token_label)
            .field("key", &self.selector)
            .field("algorithm", &format_args!("{}", self.algorithm()))
            .finish_non_exhaustive()
    }
}

/// The mechanism each algorithm signs with, and its name for messages.
pub(crate) fn mechanism_for(algorithm: KeyAlgorithm) -> (Mechanism<'static>, &'static str) {
    match algorithm {
        KeyAlgorithm::Rsa { .. } => (
            Mechanism::RsaPkcsPss(PkcsPssParams {
                hash_alg: MechanismType::SHA256,
                mgf: PkcsMgfType::MGF1_SHA256,
                s_len: (RSA_PSS_SALT_LEN as u64).into(),
            }),
            "CKM_RSA_PKCS_PSS",
        ),
        KeyAlgorithm::EcdsaP192 | KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
            (Mechanism::Ecdsa, "CKM_ECDSA")
        }
        KeyAlgorithm::Ed25519 => (
            Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
            "CKM_EDDSA",
        ),
    }
}

/// Context for the errors of one key.
struct Where<'a> {
    token: &'a str,
    selector: &'a ObjectSelector,
}

impl Where<'_> {
    fn problem(&self, problem: DecodeProblem) -> Pkcs11Error {
        match problem {
            DecodeProblem::Unsupported(found) => Pkcs11Error::UnsupportedKey {
                selector: self.selector.to_string(),
                token: self.token.to_owned(),
                found,
            },
            DecodeProblem::Malformed(attribute) => Pkcs11Error::MalformedKey {
                selector: self.selector.to_string(),
                token: self.token.to_owned(),
                attribute,
            },
        }
    }

    fn cryptoki(&self, context: &'static str, e: cryptoki::error::Error) -> Pkcs11Error {
        Pkcs11Error::from_cryptoki(context, self.token, e)
    }
}

/// The find template for `class` objects matching `selector`.
pub(crate) fn template(class: ObjectClass, selector: &ObjectSelector) -> Vec<Attribute> {
    let mut template = vec![Attribute::Class(class)];
    if let Some(label) = &selector.label {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &selector.id {
        template.push(Attribute::Id(id.clone()));
    }
    template
}

/// The handles of `class` objects matching `selector` (zero or more).
pub(crate) fn find_keys(
    session: &Session,
    token: &str,
    class: ObjectClass,
    selector: &ObjectSelector,
) -> Result<Vec<ObjectHandle>, Pkcs11Error> {
    session
        .find_objects(&template(class, selector))
        .map_err(|e| Pkcs11Error::from_cryptoki("find objects", token, e))
}

fn find_one(
    session: &Session,
    token: &str,
    class: KeyClass,
    selector: &ObjectSelector,
) -> Result<Option<ObjectHandle>, Pkcs11Error> {
    let ck_class = match class {
        KeyClass::Private => ObjectClass::PRIVATE_KEY,
        KeyClass::Public => ObjectClass::PUBLIC_KEY,
    };
    let mut handles = find_keys(session, token, ck_class, selector)?;
    match handles.len() {
        0 => Ok(None),
        1 => Ok(handles.pop()),
        count => Err(Pkcs11Error::AmbiguousKey {
            class,
            selector: selector.to_string(),
            token: token.to_owned(),
            count,
        }),
    }
}

/// The attributes we read from key objects, by type.
#[derive(Default)]
struct KeyAttributes {
    key_type: Option<KeyType>,
    sign: Option<bool>,
    always_authenticate: Option<bool>,
    ec_params: Option<Vec<u8>>,
    ec_point: Option<Vec<u8>>,
    modulus: Option<Vec<u8>>,
    public_exponent: Option<Vec<u8>>,
}

fn read_attributes(
    session: &Session,
    at: &Where<'_>,
    handle: ObjectHandle,
    types: &[AttributeType],
) -> Result<KeyAttributes, Pkcs11Error> {
    let mut attributes = KeyAttributes::default();
    // Unavailable attributes (sensitive, or not of this key type) are
    // simply absent from the answer.
    for attribute in session
        .get_attributes(handle, types)
        .map_err(|e| at.cryptoki("read key attributes", e))?
    {
        match attribute {
            Attribute::KeyType(t) => attributes.key_type = Some(t),
            Attribute::Sign(b) => attributes.sign = Some(b),
            Attribute::AlwaysAuthenticate(b) => attributes.always_authenticate = Some(b),
            Attribute::EcParams(v) => attributes.ec_params = Some(v),
            Attribute::EcPoint(v) => attributes.ec_point = Some(v),
            Attribute::Modulus(v) => attributes.modulus = Some(v),
            Attribute::PublicExponent(v) => attributes.public_exponent = Some(v),
            _ => {}
        }
    }
    Ok(attributes)
}

/// The ids of the slots of the PKCS#11 module at `module` that hold a
/// token, as python-pkcs11's `lib.get_slots(token_present=True)` lists
/// them (espsecure's `establish_session` walks these).
///
/// # Errors
/// [`Pkcs11Error::ModuleLoad`] and the module's own failures.
pub fn slots_with_token(module: &Path) -> Result<Vec<u64>, Pkcs11Error> {
    Module::open(module)?.slots_with_token()
}

/// Reads only the public key `locator` names (its
/// [`KeyLocator::public_key_selector`]), as espsecure's
/// `verify-signature --hsm` does: no private key or signing mechanism is
/// needed. Logs in when the locator has a PIN (espsecure does too).
///
/// # Errors
/// The module, token and PIN errors of [`Pkcs11Key::open`];
/// [`Pkcs11Error::NoSuchKey`] for the public key; `UnsupportedKey` /
/// `MalformedKey` for what cannot be decoded.
pub fn read_public_key(locator: &KeyLocator) -> Result<PublicKey, Pkcs11Error> {
    let module = Module::open(&locator.module)?;
    let token = module.find_token(&locator.token)?;
    let label = token.info.label();
    let session = match &locator.pin {
        Some(pin) => module.login(&token, Some(pin), false)?,
        // Public objects are readable without a login.
        None => module
            .open_session(&token)
            .map_err(|e| Pkcs11Error::from_cryptoki("open session", label, e))?,
    };
    let selector = locator.public_key_selector();
    let at = Where {
        token: label,
        selector,
    };
    let handle = find_one(&session, label, KeyClass::Public, selector)?.ok_or_else(|| {
        Pkcs11Error::NoSuchKey {
            class: KeyClass::Public,
            selector: selector.to_string(),
            token: label.to_owned(),
        }
    })?;
    let attributes = read_attributes(
        &session,
        &at,
        handle,
        &[
            AttributeType::KeyType,
            AttributeType::EcParams,
            AttributeType::EcPoint,
            AttributeType::Modulus,
            AttributeType::PublicExponent,
        ],
    )?;
    let key_type = attributes
        .key_type
        .ok_or_else(|| at.problem(DecodeProblem::Malformed("CKA_KEY_TYPE")))?;
    if key_type == KeyType::RSA {
        match (&attributes.modulus, &attributes.public_exponent) {
            (Some(n), Some(e)) => rsa_public_key(n, e).map_err(|p| at.problem(p)),
            _ => Err(at.problem(DecodeProblem::Malformed("CKA_MODULUS/CKA_PUBLIC_EXPONENT"))),
        }
    } else if key_type == KeyType::EC || key_type == KeyType::EC_EDWARDS {
        let params = attributes
            .ec_params
            .as_ref()
            .ok_or_else(|| at.problem(DecodeProblem::Malformed("CKA_EC_PARAMS")))?;
        let curve = curve_from_ec_params(params).map_err(|p| at.problem(p))?;
        let point = attributes
            .ec_point
            .as_ref()
            .ok_or_else(|| at.problem(DecodeProblem::Malformed("CKA_EC_POINT")))?;
        ec_public_key(curve, point).map_err(|p| at.problem(p))
    } else {
        Err(at.problem(DecodeProblem::Unsupported(format!("a {key_type} key"))))
    }
}

/// [`read_public_key`] for the key a PKCS#11 URI names (the module comes
/// from the URI's `module-path`/`module-name`).
///
/// # Errors
/// [`Pkcs11Error::Uri`] for a URI that does not parse or resolve, else
/// those of [`read_public_key`].
pub fn read_public_key_uri(uri: &str) -> Result<PublicKey, Pkcs11Error> {
    read_public_key(&Pkcs11Uri::parse(uri)?.locator(None)?)
}

impl Pkcs11Key {
    /// [`Pkcs11Key::open`] for the key a PKCS#11 URI names (the module
    /// comes from the URI's `module-path`/`module-name`). Callers naming
    /// the URI in a message show [`crate::redact_pin`] of it.
    ///
    /// # Errors
    /// [`Pkcs11Error::Uri`] for a URI that does not parse or resolve, else
    /// those of [`Pkcs11Key::open`].
    pub fn open_uri(uri: &str) -> Result<Self, Pkcs11Error> {
        Self::open(&Pkcs11Uri::parse(uri)?.locator(None)?)
    }

    /// Opens the key `locator` names: loads the module (once per process),
    /// selects the token, logs in, finds the private key and reads the
    /// public key, and checks that the token offers the key's signing
    /// mechanism.
    ///
    /// # Errors
    /// [`Pkcs11Error`] naming the module, token or key: `ModuleLoad`,
    /// `NoSuchToken`, `WrongPin`, `NoSuchKey`, `MechanismUnsupported`, ….
    pub fn open(locator: &KeyLocator) -> Result<Self, Pkcs11Error> {
        let module = Module::open(&locator.module)?;
        let token = module.find_token(&locator.token)?;
        let session = module.login(&token, locator.pin.as_ref(), false)?;
        Self::from_session(module, &token, session, locator)
    }

    pub(crate) fn from_session(
        module: Arc<Module>,
        token: &Token,
        session: Session,
        locator: &KeyLocator,
    ) -> Result<Self, Pkcs11Error> {
        let label = token.info.label();
        let at = Where {
            token: label,
            selector: &locator.key,
        };
        let no_such = |class, selector: &ObjectSelector| Pkcs11Error::NoSuchKey {
            class,
            selector: selector.to_string(),
            token: label.to_owned(),
        };
        let private = find_one(&session, label, KeyClass::Private, &locator.key)?
            .ok_or_else(|| no_such(KeyClass::Private, &locator.key))?;
        let private_attributes = read_attributes(
            &session,
            &at,
            private,
            &[
                AttributeType::KeyType,
                AttributeType::Sign,
                AttributeType::AlwaysAuthenticate,
                AttributeType::EcParams,
                AttributeType::Modulus,
                AttributeType::PublicExponent,
            ],
        )?;
        if private_attributes.sign == Some(false) {
            return Err(Pkcs11Error::CannotSign {
                selector: locator.key.to_string(),
                token: label.to_owned(),
            });
        }
        if private_attributes.always_authenticate == Some(true) {
            // The PIN would have to be given between C_SignInit and C_Sign,
            // which cryptoki's single-part `sign` does not allow.
            return Err(at.problem(DecodeProblem::Unsupported(
                "a key that needs the PIN for every signature (CKA_ALWAYS_AUTHENTICATE)".into(),
            )));
        }

        let public_selector = locator.public_key_selector();
        let public_at = Where {
            token: label,
            selector: public_selector,
        };
        let public = find_one(&session, label, KeyClass::Public, public_selector)?;
        let public_attributes = match public {
            Some(handle) => Some(read_attributes(
                &session,
                &public_at,
                handle,
                &[
                    AttributeType::KeyType,
                    AttributeType::EcParams,
                    AttributeType::EcPoint,
                    AttributeType::Modulus,
                    AttributeType::PublicExponent,
                ],
            )?),
            None => None,
        };
        let mismatch = || Pkcs11Error::KeyPairMismatch {
            private: locator.key.to_string(),
            public: public_selector.to_string(),
            token: label.to_owned(),
        };
        let key_type = private_attributes
            .key_type
            .ok_or_else(|| at.problem(DecodeProblem::Malformed("CKA_KEY_TYPE")))?;
        if let Some(public) = &public_attributes {
            if public.key_type.is_some_and(|t| t != key_type) {
                return Err(mismatch());
            }
        }

        let public_key = if key_type == KeyType::RSA {
            // An RSA private key object usually carries the modulus and
            // exponent too, so a missing public object is no obstacle.
            let source = match &public_attributes {
                Some(public) => {
                    if let (Some(a), Some(b)) = (&public.modulus, &private_attributes.modulus) {
                        if a != b {
                            return Err(mismatch());
                        }
                    }
                    public
                }
                None => &private_attributes,
            };
            match (&source.modulus, &source.public_exponent) {
                (Some(n), Some(e)) => rsa_public_key(n, e).map_err(|p| at.problem(p))?,
                _ => return Err(no_such(KeyClass::Public, public_selector)),
            }
        } else if key_type == KeyType::EC || key_type == KeyType::EC_EDWARDS {
            let public = public_attributes
                .as_ref()
                .ok_or_else(|| no_such(KeyClass::Public, public_selector))?;
            // Modules may spell the same curve differently on the two
            // objects (an OID on one, `edwards25519` on the other).
            let private_curve = private_attributes
                .ec_params
                .as_ref()
                .map(|p| curve_from_ec_params(p).map_err(|p| at.problem(p)))
                .transpose()?;
            let public_curve = public
                .ec_params
                .as_ref()
                .map(|p| curve_from_ec_params(p).map_err(|p| public_at.problem(p)))
                .transpose()?;
            let curve = match (private_curve, public_curve) {
                (Some(a), Some(b)) if a != b => return Err(mismatch()),
                (Some(curve), _) | (None, Some(curve)) => curve,
                (None, None) => return Err(at.problem(DecodeProblem::Malformed("CKA_EC_PARAMS"))),
            };
            let point = public
                .ec_point
                .as_ref()
                .ok_or_else(|| public_at.problem(DecodeProblem::Malformed("CKA_EC_POINT")))?;
            ec_public_key(curve, point).map_err(|p| public_at.problem(p))?
        } else {
            return Err(at.problem(DecodeProblem::Unsupported(format!("a {key_type} key"))));
        };

        let (mechanism, name) = mechanism_for(public_key.algorithm());
        if !module
            .mechanisms(token)?
            .contains(&mechanism.mechanism_type())
        {
            return Err(Pkcs11Error::MechanismUnsupported {
                mechanism: name,
                selector: locator.key.to_string(),
                token: label.to_owned(),
            });
        }
        Ok(Self {
            session: Mutex::new(session),
            private,
            public_key,
            token_label: label.to_owned(),
            selector: locator.key.to_string(),
            _module: module,
        })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.public_key.algorithm()
    }

    /// The public key, read from the token when the key was opened.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The label of the token holding the key.
    pub fn token_label(&self) -> &str {
        &self.token_label
    }

    /// The key's selector as PKCS#11 URI attributes (`object=…;id=…`),
    /// for messages.
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// Has the token sign `input` with the key's mechanism
    /// (`CKM_RSA_PKCS_PSS` over a SHA-256 digest, `CKM_ECDSA` over a
    /// digest, `CKM_EDDSA` over the message) and returns the token's raw
    /// output.
    ///
    /// # Errors
    /// [`Pkcs11Error::DigestLength`] for an RSA digest that is not 32
    /// bytes or an ECDSA digest shorter than half the curve;
    /// [`Pkcs11Error::Token`] when the token refuses.
    pub fn sign_raw(&self, input: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let algorithm = self.algorithm();
        let (mechanism, name) = mechanism_for(algorithm);
        // RSA-PSS is parameterised with SHA-256; ECDSA needs at least half
        // the curve size (SEC 1 §4.1.3 truncates longer digests; RustCrypto
        // refuses to verify shorter ones).
        let expected = match algorithm {
            KeyAlgorithm::Rsa { .. } => (input.len() != 32).then_some("a 32-byte SHA-256 digest"),
            KeyAlgorithm::EcdsaP192 => (input.len() < 12).then_some("at least 12 bytes"),
            KeyAlgorithm::EcdsaP256 => (input.len() < 16).then_some("at least 16 bytes"),
            KeyAlgorithm::EcdsaP384 => (input.len() < 24).then_some("at least 24 bytes"),
            KeyAlgorithm::Ed25519 => None,
        };
        if let Some(expected) = expected {
            return Err(Pkcs11Error::DigestLength {
                mechanism: name,
                expected,
                len: input.len(),
            });
        }
        let session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        session
            .sign(&mechanism, self.private, input)
            .map_err(|e| Pkcs11Error::from_cryptoki("sign", &self.token_label, e))
    }

    /// Which mechanism name [`Pkcs11Key::sign_raw`] uses.
    pub(crate) fn mechanism_name(&self) -> &'static str {
        mechanism_for(self.algorithm()).1
    }
}
