//! Errors of opening and using a token-held key.

use std::path::PathBuf;

use cryptoki::error::RvError;

use crate::public_key::KeyAlgorithm;

/// Which of a key pair's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyClass {
    /// `CKO_PRIVATE_KEY`.
    Private,
    /// `CKO_PUBLIC_KEY`.
    Public,
}

impl std::fmt::Display for KeyClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Private => "private",
            Self::Public => "public",
        })
    }
}

/// Why a token-held key cannot be opened or used. Messages name the
/// module, the token selector and the object selector (as PKCS#11 URI
/// attributes), never the PIN.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// The module (shared library) cannot be loaded or is no PKCS#11 module.
    #[error("cannot load PKCS#11 module {}: {source}", path.display())]
    ModuleLoad {
        /// The module path.
        path: PathBuf,
        /// The loader's error.
        #[source]
        source: cryptoki::error::Error,
    },
    /// `C_Initialize` failed.
    #[error("PKCS#11 module {} failed to initialise: {rv:?}", path.display())]
    ModuleInit {
        /// The module path.
        path: PathBuf,
        /// The module's return value.
        rv: RvError,
    },
    /// No token matches the selector.
    #[error("no PKCS#11 token matches {selector} in module {} (tokens present: {present})", module.display())]
    NoSuchToken {
        /// The selector, as URI attributes (`token=…;slot-id=…`).
        selector: String,
        /// The module path.
        module: PathBuf,
        /// Labels and slot ids of the tokens the module has, to help pick.
        present: String,
    },
    /// More than one token matches the selector.
    #[error("{count} PKCS#11 tokens match {selector} in module {}; add token=, serial= or slot-id= to pick one", module.display())]
    AmbiguousToken {
        /// The selector.
        selector: String,
        /// The module path.
        module: PathBuf,
        /// How many matched.
        count: usize,
    },
    /// The token refused the PIN.
    #[error("PKCS#11 token `{token}`: wrong PIN")]
    WrongPin {
        /// The token's label.
        token: String,
    },
    /// The token's user PIN is locked after too many wrong tries.
    #[error("PKCS#11 token `{token}`: the user PIN is locked")]
    PinLocked {
        /// The token's label.
        token: String,
    },
    /// The token needs a login, no PIN was given and it has no PIN pad.
    #[error("PKCS#11 token `{token}` needs a PIN (pin-value=/pin-source= in the URI, or credentials= in the HSM config)")]
    PinRequired {
        /// The token's label.
        token: String,
    },
    /// No key object matches the selector.
    #[error("PKCS#11 token `{token}` has no {class} key {selector}")]
    NoSuchKey {
        /// Private or public.
        class: KeyClass,
        /// The selector, as URI attributes (`object=…;id=…`).
        selector: String,
        /// The token's label.
        token: String,
    },
    /// Several key objects match the selector.
    #[error("PKCS#11 token `{token}` has {count} {class} keys matching {selector}; add object= or id= to pick one")]
    AmbiguousKey {
        /// Private or public.
        class: KeyClass,
        /// The selector.
        selector: String,
        /// The token's label.
        token: String,
        /// How many matched.
        count: usize,
    },
    /// A key to be generated already exists.
    #[error("PKCS#11 token `{token}` already has a key {selector}; pick another object= or id=")]
    KeyExists {
        /// The selector.
        selector: String,
        /// The token's label.
        token: String,
    },
    /// A key to be generated has no label or id to find it by.
    #[error("a key generated on PKCS#11 token `{token}` needs object= or id= to be found again")]
    UnnamedKey {
        /// The token's label.
        token: String,
    },
    /// The private key may not sign (`CKA_SIGN` false).
    #[error(
        "PKCS#11 token `{token}`: private key {selector} is not allowed to sign (CKA_SIGN is false)"
    )]
    CannotSign {
        /// The selector.
        selector: String,
        /// The token's label.
        token: String,
    },
    /// A key type or curve this crate does not sign with.
    #[error("PKCS#11 token `{token}`: key {selector} is {found}; supported: RSA, ECDSA P-192/P-256/P-384, Ed25519")]
    UnsupportedKey {
        /// The selector.
        selector: String,
        /// The token's label.
        token: String,
        /// What the token holds (key type or curve).
        found: String,
    },
    /// A key attribute the token returned cannot be decoded.
    #[error("PKCS#11 token `{token}`: key {selector} has a malformed {attribute}")]
    MalformedKey {
        /// The selector.
        selector: String,
        /// The token's label.
        token: String,
        /// The attribute (`CKA_EC_POINT`, …).
        attribute: &'static str,
    },
    /// The public key object does not belong to the private key.
    #[error(
        "PKCS#11 token `{token}`: the public key {public} does not match the private key {private}"
    )]
    KeyPairMismatch {
        /// The private key selector.
        private: String,
        /// The public key selector.
        public: String,
        /// The token's label.
        token: String,
    },
    /// A signature the token made does not verify with the public key
    /// read from it: the public key object belongs to another key (or the
    /// token is faulty). Every signature is checked before it is returned.
    #[error("PKCS#11 token `{token}`: a {mechanism} signature by private key {selector} does not verify with the public key read from the token (is the public key object from another key pair?)")]
    SignatureMismatch {
        /// The mechanism.
        mechanism: &'static str,
        /// The private key selector.
        selector: String,
        /// The token's label.
        token: String,
    },
    /// The token does not offer the signing mechanism the key needs.
    #[error(
        "PKCS#11 token `{token}` does not support {mechanism} signing (needed for key {selector})"
    )]
    MechanismUnsupported {
        /// The mechanism (`CKM_RSA_PKCS_PSS`, `CKM_ECDSA`, `CKM_EDDSA`).
        mechanism: &'static str,
        /// The selector.
        selector: String,
        /// The token's label.
        token: String,
    },
    /// A typed signer was asked for a key of another algorithm.
    #[error("PKCS#11 key {selector} is {actual}, not {expected}")]
    WrongAlgorithm {
        /// The selector.
        selector: String,
        /// What the caller asked for.
        expected: &'static str,
        /// What the key is.
        actual: KeyAlgorithm,
    },
    /// A prehash of the wrong length for the mechanism.
    #[error("{mechanism} cannot sign a {len}-byte digest: it needs {expected}")]
    DigestLength {
        /// The mechanism.
        mechanism: &'static str,
        /// What it needs.
        expected: &'static str,
        /// The length given.
        len: usize,
    },
    /// The token returned a signature that cannot be decoded.
    #[error("PKCS#11 token `{token}` returned a malformed {mechanism} signature ({len} bytes)")]
    MalformedSignature {
        /// The mechanism.
        mechanism: &'static str,
        /// The token's label.
        token: String,
        /// Its length.
        len: usize,
    },
    /// Any other failure reported by the module.
    #[error("PKCS#11 {function} failed on token `{token}`: {rv:?}")]
    Token {
        /// The PKCS#11 function (`C_Sign`, …).
        function: String,
        /// The token's label (empty before a token is chosen).
        token: String,
        /// The module's return value.
        rv: RvError,
    },
    /// A failure inside the cryptoki wrapper (not a module return value).
    #[error("PKCS#11 {context} on token `{token}`: {source}")]
    Wrapper {
        /// What was being done.
        context: &'static str,
        /// The token's label.
        token: String,
        /// The wrapper's error.
        #[source]
        source: cryptoki::error::Error,
    },
    /// The PKCS#11 URI naming the key is malformed or cannot be resolved
    /// ([`crate::Pkcs11Key::open_uri`], [`crate::read_public_key_uri`]).
    #[error(transparent)]
    Uri(#[from] crate::uri::UriError),
}

impl Pkcs11Error {
    /// Maps a cryptoki error of an operation on `token` to a typed error.
    pub(crate) fn from_cryptoki(
        context: &'static str,
        token: &str,
        error: cryptoki::error::Error,
    ) -> Self {
        match error {
            cryptoki::error::Error::Pkcs11(rv, function) => Self::Token {
                function: format!("C_{function:?}"),
                token: token.to_owned(),
                rv,
            },
            source => Self::Wrapper {
                context,
                token: token.to_owned(),
                source,
            },
        }
    }
}
