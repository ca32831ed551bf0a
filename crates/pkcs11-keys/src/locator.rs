//! Where a key lives: module, token and objects, whatever spelling named
//! them (a PKCS#11 URI, espsecure's `--hsm-config` file, or code).

use std::fmt;
use std::path::PathBuf;

use crate::pin::Pin;
use crate::uri::pct_encode;

/// Which token (and slot) of a module holds the key. Every field that is
/// set must match (RFC 7512 §2.3); an empty selector matches a module
/// with exactly one token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenSelector {
    /// `CK_TOKEN_INFO.label` (URI `token`).
    pub label: Option<String>,
    /// `CK_TOKEN_INFO.serialNumber` (URI `serial`).
    pub serial: Option<String>,
    /// `CK_TOKEN_INFO.manufacturerID` (URI `manufacturer`).
    pub manufacturer: Option<String>,
    /// `CK_TOKEN_INFO.model` (URI `model`).
    pub model: Option<String>,
    /// `CK_SLOT_ID` (URI `slot-id`; espsecure's `slot`).
    pub slot_id: Option<u64>,
    /// `CK_SLOT_INFO.slotDescription` (URI `slot-description`).
    pub slot_description: Option<String>,
    /// `CK_SLOT_INFO.manufacturerID` (URI `slot-manufacturer`).
    pub slot_manufacturer: Option<String>,
    /// `CK_INFO.manufacturerID` of the module (URI `library-manufacturer`).
    pub library_manufacturer: Option<String>,
    /// `CK_INFO.libraryDescription` (URI `library-description`).
    pub library_description: Option<String>,
    /// `CK_INFO.libraryVersion` as `major[.minor]` (URI `library-version`).
    pub library_version: Option<(u8, u8)>,
}

impl TokenSelector {
    /// Selects the token with this label.
    pub fn with_label(label: impl Into<String>) -> Self {
        Self {
            label: Some(label.into()),
            ..Self::default()
        }
    }

    /// Selects the token in the slot with this `CK_SLOT_ID`.
    pub fn with_slot_id(slot_id: u64) -> Self {
        Self {
            slot_id: Some(slot_id),
            ..Self::default()
        }
    }
}

/// Writes the set attributes as PKCS#11 URI path attributes
/// (`token=…;serial=…`), or `any token` when none is set.
impl fmt::Display for TokenSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let text = [
            ("library-manufacturer", &self.library_manufacturer),
            ("library-description", &self.library_description),
            ("slot-manufacturer", &self.slot_manufacturer),
            ("slot-description", &self.slot_description),
            ("manufacturer", &self.manufacturer),
            ("model", &self.model),
            ("serial", &self.serial),
            ("token", &self.label),
        ];
        if let Some((major, minor)) = self.library_version {
            parts.push(format!("library-version={major}.{minor}"));
        }
        for (name, value) in text {
            if let Some(value) = value {
                parts.push(format!("{name}={}", pct_encode(value.as_bytes())));
            }
        }
        if let Some(id) = self.slot_id {
            parts.push(format!("slot-id={id}"));
        }
        if parts.is_empty() {
            f.write_str("any token")
        } else {
            f.write_str(&parts.join(";"))
        }
    }
}

/// Which key object: `CKA_LABEL` and/or `CKA_ID`. At least one should be
/// set; an empty selector matches a token holding a single such key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectSelector {
    /// `CKA_LABEL` (URI `object`; espsecure's `label` / `label_pubkey`).
    pub label: Option<String>,
    /// `CKA_ID` bytes (URI `id`).
    pub id: Option<Vec<u8>>,
}

impl ObjectSelector {
    /// Selects objects by label.
    pub fn with_label(label: impl Into<String>) -> Self {
        Self {
            label: Some(label.into()),
            id: None,
        }
    }

    /// Selects objects by `CKA_ID`.
    pub fn with_id(id: impl Into<Vec<u8>>) -> Self {
        Self {
            label: None,
            id: Some(id.into()),
        }
    }
}

/// Writes `object=…;id=…` (percent-encoded as in a URI), or `any key`.
impl fmt::Display for ObjectSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.label, &self.id) {
            (None, None) => f.write_str("any key"),
            (Some(label), None) => write!(f, "object={}", pct_encode(label.as_bytes())),
            (None, Some(id)) => write!(f, "id={}", pct_encode_all(id)),
            (Some(label), Some(id)) => write!(
                f,
                "object={};id={}",
                pct_encode(label.as_bytes()),
                pct_encode_all(id)
            ),
        }
    }
}

/// `CKA_ID` is binary: RFC 7512's examples encode every byte.
pub(crate) fn pct_encode_all(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// Everything needed to open a token-held key: the module to load, the
/// token, the private key (and the public key when it has another label,
/// as espsecure's `label_pubkey`), and the user PIN.
#[derive(Debug, Clone)]
pub struct KeyLocator {
    /// The PKCS#11 module (shared library) of the token's vendor.
    pub module: PathBuf,
    /// The token.
    pub token: TokenSelector,
    /// The private key object (and the public key object, unless
    /// [`KeyLocator::public_key`] says otherwise).
    pub key: ObjectSelector,
    /// The public key object when it is selected differently from the
    /// private key.
    pub public_key: Option<ObjectSelector>,
    /// The user PIN. `None` logs in through the token's protected
    /// authentication path (PIN pad) when it has one, or not at all when
    /// the token needs no login.
    pub pin: Option<Pin>,
}

impl KeyLocator {
    /// A locator for `key` on `token` in `module`, without a PIN.
    pub fn new(module: impl Into<PathBuf>, token: TokenSelector, key: ObjectSelector) -> Self {
        Self {
            module: module.into(),
            token,
            key,
            public_key: None,
            pin: None,
        }
    }

    /// The selector of the public key object.
    pub fn public_key_selector(&self) -> &ObjectSelector {
        self.public_key.as_ref().unwrap_or(&self.key)
    }
}

/// Writes the locator as a PKCS#11 URI without any PIN, for messages.
impl fmt::Display for KeyLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pkcs11:")?;
        let token = self.token.to_string();
        let mut sep = "";
        if token != "any token" {
            f.write_str(&token)?;
            sep = ";";
        }
        if self.key != ObjectSelector::default() {
            write!(f, "{sep}{}", self.key)?;
        }
        write!(
            f,
            "?module-path={}",
            pct_encode(self.module.as_os_str().as_encoded_bytes())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_a_uri_without_the_pin() {
        let mut locator = KeyLocator::new(
            "/usr/lib/softhsm/libsofthsm2.so",
            TokenSelector::with_label("my token"),
            ObjectSelector {
                label: Some("sb;key".into()),
                id: Some(vec![0x01, 0xab]),
            },
        );
        locator.pin = Some(Pin::new("secret-pin".into()));
        let text = locator.to_string();
        assert_eq!(
            text,
            "pkcs11:token=my%20token;object=sb%3Bkey;id=%01%AB\
             ?module-path=/usr/lib/softhsm/libsofthsm2.so"
        );
        assert!(!format!("{locator:?}").contains("secret-pin"));
    }

    #[test]
    fn empty_selectors_say_so() {
        assert_eq!(TokenSelector::default().to_string(), "any token");
        assert_eq!(ObjectSelector::default().to_string(), "any key");
        assert_eq!(TokenSelector::with_slot_id(7).to_string(), "slot-id=7");
    }
}
