//! RFC 7512 PKCS#11 URIs: `pkcs11:token=…;object=…;id=…;type=private`
//! `?module-path=…&pin-source=file:…`.
//!
//! Path attributes (separated by `;`) select the token and object; query
//! attributes (after `?`, separated by `&`) say how to reach them: the
//! module and the PIN. Values are percent-decoded; `id` is binary, every
//! other value must be UTF-8. Attribute names are case-sensitive (RFC
//! 7512 §2.3); each may appear once; `x-` vendor attributes are accepted
//! and ignored; any other unknown name is refused (a misspelt `objcet=`
//! would otherwise silently select a different key).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::locator::{pct_encode_all, KeyLocator, ObjectSelector, TokenSelector};
use crate::pin::{Pin, PinFileError};

/// RFC 7512 §2.3 `pk11-type`: the class of object a URI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectType {
    /// `public`: a public key.
    Public,
    /// `private`: a private key.
    Private,
    /// `cert`: a certificate.
    Cert,
    /// `secret-key`: a symmetric key.
    SecretKey,
    /// `data`: a data object.
    Data,
}

impl ObjectType {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "public" => Self::Public,
            "private" => Self::Private,
            "cert" => Self::Cert,
            "secret-key" => Self::SecretKey,
            "data" => Self::Data,
            _ => return None,
        })
    }

    /// The URI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Cert => "cert",
            Self::SecretKey => "secret-key",
            Self::Data => "data",
        }
    }
}

/// Where the URI says the PIN is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PinSpec {
    /// `pin-value=…`: the PIN itself.
    Value(Pin),
    /// `pin-source=file:…` (or a plain path): a file holding the PIN.
    File(PathBuf),
}

/// A parsed RFC 7512 PKCS#11 URI.
#[derive(Debug, Clone, Default)]
pub struct Pkcs11Uri {
    /// Token, slot and library attributes.
    pub token: TokenSelector,
    /// `object` and `id`.
    pub object: ObjectSelector,
    /// `type`.
    pub object_type: Option<ObjectType>,
    /// `module-path`: the module file, or a directory to find `module-name` in.
    pub module_path: Option<PathBuf>,
    /// `module-name`.
    pub module_name: Option<String>,
    /// `pin-value` or `pin-source`.
    pub pin: Option<PinSpec>,
}

/// Why a text is not a usable PKCS#11 URI. Messages name the attribute,
/// never a value that could be a PIN.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The text does not start with `pkcs11:`.
    #[error(
        "not a PKCS#11 URI: expected `pkcs11:` followed by attributes such as `token=…;object=…`"
    )]
    NotPkcs11Uri,
    /// An empty attribute (`;;`, a trailing `;` or `&`).
    #[error("PKCS#11 URI has an empty attribute in its {component}")]
    EmptyAttribute {
        /// `path` or `query`.
        component: &'static str,
    },
    /// An attribute without `=`.
    #[error("PKCS#11 URI attribute `{attribute}` has no `=value`")]
    MissingValue {
        /// The attribute name.
        attribute: String,
    },
    /// A name RFC 7512 does not define (and not an `x-` vendor attribute).
    #[error("PKCS#11 URI attribute `{attribute}` is unknown (path: token, manufacturer, serial, model, library-manufacturer, library-description, library-version, object, type, id, slot-description, slot-manufacturer, slot-id; query: module-path, module-name, pin-value, pin-source)")]
    UnknownAttribute {
        /// The attribute name.
        attribute: String,
    },
    /// A query attribute in the path or the other way round.
    #[error("PKCS#11 URI attribute `{attribute}` belongs in the {expected} (path attributes come before `?` separated by `;`, query attributes after it separated by `&`)")]
    WrongComponent {
        /// The attribute name.
        attribute: String,
        /// `path` or `query`.
        expected: &'static str,
    },
    /// The same attribute twice.
    #[error("PKCS#11 URI attribute `{attribute}` appears more than once")]
    DuplicateAttribute {
        /// The attribute name.
        attribute: String,
    },
    /// A `%` not followed by two hex digits.
    #[error("PKCS#11 URI attribute `{attribute}` has a bad percent-encoding (`%` must be followed by two hex digits)")]
    PercentEncoding {
        /// The attribute name.
        attribute: String,
    },
    /// A text attribute that does not decode to UTF-8.
    #[error("PKCS#11 URI attribute `{attribute}` is not UTF-8 after percent-decoding")]
    NotUtf8 {
        /// The attribute name.
        attribute: String,
    },
    /// A value outside the attribute's syntax.
    #[error("PKCS#11 URI attribute `{attribute}`: expected {expected}")]
    InvalidValue {
        /// The attribute name.
        attribute: &'static str,
        /// What the value must look like.
        expected: &'static str,
    },
    /// Both `pin-value` and `pin-source`.
    #[error("PKCS#11 URI gives both `pin-value` and `pin-source`; give one")]
    PinValueAndSource,
    /// A `pin-source` that is not a file.
    #[error("PKCS#11 URI attribute `pin-source`: only `file:` sources and plain file paths are supported")]
    UnsupportedPinSource,
    /// The URI names an object that is not a key pair.
    #[error("PKCS#11 URI `type={}` does not name a signing key (use `type=private` or leave it out)", found.as_str())]
    NotAKey {
        /// The `type` given.
        found: ObjectType,
    },
    /// No module: neither `module-path` nor a default.
    #[error("PKCS#11 URI names no module: add `?module-path=/path/to/vendor-pkcs11.so`")]
    NoModule,
    /// `module-name` without a `module-path` directory to look in.
    #[error(
        "PKCS#11 URI `module-name={name}` needs `module-path` naming the directory that holds it"
    )]
    ModuleNameWithoutPath {
        /// The module name.
        name: String,
    },
    /// `module-name` not found in the `module-path` directory.
    #[error("PKCS#11 URI `module-name={name}`: no {name}{suffix} or {prefix}{name}{suffix} in {}", dir.display(), prefix = std::env::consts::DLL_PREFIX, suffix = std::env::consts::DLL_SUFFIX)]
    ModuleNotFound {
        /// The module name.
        name: String,
        /// The `module-path` directory.
        dir: PathBuf,
    },
    /// The `pin-source` file cannot be used.
    #[error("PKCS#11 URI attribute `pin-source`: {0}")]
    PinFile(#[from] PinFileError),
}

const PATH_ATTRIBUTES: &[&str] = &[
    "token",
    "manufacturer",
    "serial",
    "model",
    "library-manufacturer",
    "library-description",
    "library-version",
    "object",
    "type",
    "id",
    "slot-description",
    "slot-manufacturer",
    "slot-id",
];
const QUERY_ATTRIBUTES: &[&str] = &["module-path", "module-name", "pin-value", "pin-source"];

/// `text` with the value of every `pin-value` attribute replaced by `***`,
/// for messages about a URI that may not parse (a parsed URI's `Display`
/// has no PIN at all).
pub fn redact_pin(text: &str) -> String {
    let Some((path, query)) = text.split_once('?') else {
        return text.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|attribute| match attribute.split_once('=') {
            Some((name, _)) if name == "pin-value" => format!("{name}=***"),
            _ => attribute.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

impl Pkcs11Uri {
    /// Parses a PKCS#11 URI (the scheme is case-insensitive).
    ///
    /// # Errors
    /// [`UriError`] naming the offending attribute.
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let rest = text
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("pkcs11:"))
            .map(|_| &text[7..])
            .ok_or(UriError::NotPkcs11Uri)?;
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let mut uri = Self::default();
        let mut seen: Vec<String> = Vec::new();
        for (component, text, separator) in [("path", Some(path), ';'), ("query", query, '&')] {
            let Some(text) = text else { continue };
            // `pkcs11:` and `pkcs11:?module-path=…` are valid: empty components.
            if text.is_empty() {
                continue;
            }
            for attribute in text.split(separator) {
                if attribute.is_empty() {
                    return Err(UriError::EmptyAttribute { component });
                }
                let (name, value) =
                    attribute
                        .split_once('=')
                        .ok_or_else(|| UriError::MissingValue {
                            attribute: attribute.to_owned(),
                        })?;
                if name.starts_with("x-") {
                    continue;
                }
                let (own, other, other_name) = if component == "path" {
                    (PATH_ATTRIBUTES, QUERY_ATTRIBUTES, "query")
                } else {
                    (QUERY_ATTRIBUTES, PATH_ATTRIBUTES, "path")
                };
                if !own.contains(&name) {
                    return Err(if other.contains(&name) {
                        UriError::WrongComponent {
                            attribute: name.to_owned(),
                            expected: other_name,
                        }
                    } else {
                        UriError::UnknownAttribute {
                            attribute: name.to_owned(),
                        }
                    });
                }
                if seen.iter().any(|s| s == name) {
                    return Err(UriError::DuplicateAttribute {
                        attribute: name.to_owned(),
                    });
                }
                seen.push(name.to_owned());
                uri.set(name, value)?;
            }
        }
        Ok(uri)
    }

    fn set(&mut self, name: &str, raw: &str) -> Result<(), UriError> {
        let bytes = pct_decode(name, raw)?;
        if name == "id" {
            self.object.id = Some(bytes);
            return Ok(());
        }
        let text = String::from_utf8(bytes).map_err(|_| UriError::NotUtf8 {
            attribute: name.to_owned(),
        })?;
        let t = &mut self.token;
        match name {
            "token" => t.label = Some(text),
            "manufacturer" => t.manufacturer = Some(text),
            "serial" => t.serial = Some(text),
            "model" => t.model = Some(text),
            "library-manufacturer" => t.library_manufacturer = Some(text),
            "library-description" => t.library_description = Some(text),
            "library-version" => t.library_version = Some(parse_version(&text)?),
            "slot-description" => t.slot_description = Some(text),
            "slot-manufacturer" => t.slot_manufacturer = Some(text),
            "slot-id" => t.slot_id = Some(parse_slot_id(&text)?),
            "object" => self.object.label = Some(text),
            "type" => {
                self.object_type = Some(ObjectType::parse(&text).ok_or(UriError::InvalidValue {
                    attribute: "type",
                    expected: "one of public, private, cert, secret-key, data",
                })?)
            }
            "module-path" => self.module_path = Some(PathBuf::from(text)),
            "module-name" => self.module_name = Some(text),
            "pin-value" => self.set_pin(PinSpec::Value(Pin::new(text)))?,
            "pin-source" => self.set_pin(PinSpec::File(pin_source_path(&text)?))?,
            _ => unreachable!("attribute names are checked against the lists above"),
        }
        Ok(())
    }

    fn set_pin(&mut self, pin: PinSpec) -> Result<(), UriError> {
        if self.pin.is_some() {
            return Err(UriError::PinValueAndSource);
        }
        self.pin = Some(pin);
        Ok(())
    }

    /// Resolves the URI to a [`KeyLocator`]: finds the module (the URI's
    /// `module-path`, or `module-name` in a `module-path` directory, or
    /// else `default_module`) and reads a `pin-source` file.
    ///
    /// # Errors
    /// [`UriError::NoModule`], [`UriError::ModuleNotFound`],
    /// [`UriError::NotAKey`] for `type=cert|secret-key|data`, or
    /// [`UriError::PinFile`].
    pub fn locator(&self, default_module: Option<&Path>) -> Result<KeyLocator, UriError> {
        if let Some(found) = self
            .object_type
            .filter(|t| !matches!(t, ObjectType::Private | ObjectType::Public))
        {
            return Err(UriError::NotAKey { found });
        }
        let module = self.module(default_module)?;
        let pin = match &self.pin {
            None => None,
            Some(PinSpec::Value(pin)) => Some(pin.clone()),
            Some(PinSpec::File(path)) => Some(Pin::from_file(path)?),
        };
        let mut locator = KeyLocator::new(module, self.token.clone(), self.object.clone());
        locator.pin = pin;
        Ok(locator)
    }

    fn module(&self, default_module: Option<&Path>) -> Result<PathBuf, UriError> {
        match (&self.module_path, &self.module_name) {
            (Some(dir), Some(name)) if dir.is_dir() => {
                use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
                [
                    format!("{name}{DLL_SUFFIX}"),
                    format!("{DLL_PREFIX}{name}{DLL_SUFFIX}"),
                ]
                .iter()
                .map(|file| dir.join(file))
                .find(|path| path.is_file())
                .ok_or_else(|| UriError::ModuleNotFound {
                    name: name.clone(),
                    dir: dir.clone(),
                })
            }
            (Some(path), _) => Ok(path.clone()),
            (None, Some(name)) => Err(UriError::ModuleNameWithoutPath { name: name.clone() }),
            (None, None) => default_module
                .map(Path::to_path_buf)
                .ok_or(UriError::NoModule),
        }
    }
}

impl FromStr for Pkcs11Uri {
    type Err = UriError;
    fn from_str(text: &str) -> Result<Self, UriError> {
        Self::parse(text)
    }
}

/// Writes the URI back, with `pin-value` left out so a URI can be shown in
/// a message or a log.
impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut path = Vec::new();
        let token = self.token.to_string();
        if token != "any token" {
            path.push(token);
        }
        if let Some(label) = &self.object.label {
            path.push(format!("object={}", pct_encode(label.as_bytes())));
        }
        if let Some(id) = &self.object.id {
            path.push(format!("id={}", pct_encode_all(id)));
        }
        if let Some(t) = self.object_type {
            path.push(format!("type={}", t.as_str()));
        }
        let mut query = Vec::new();
        if let Some(p) = &self.module_path {
            query.push(format!(
                "module-path={}",
                pct_encode(p.as_os_str().as_encoded_bytes())
            ));
        }
        if let Some(n) = &self.module_name {
            query.push(format!("module-name={}", pct_encode(n.as_bytes())));
        }
        if let Some(PinSpec::File(p)) = &self.pin {
            query.push(format!(
                "pin-source=file:{}",
                pct_encode(p.as_os_str().as_encoded_bytes())
            ));
        }
        write!(f, "pkcs11:{}", path.join(";"))?;
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        Ok(())
    }
}

fn pct_decode(attribute: &str, raw: &str) -> Result<Vec<u8>, UriError> {
    let bad = || UriError::PercentEncoding {
        attribute: attribute.to_owned(),
    };
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Percent-encodes everything outside RFC 7512's unreserved characters
/// and `/` `:` (kept so paths stay readable).
pub(crate) fn pct_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 7512 `pk11-lib-ver = 1*DIGIT [ "." 1*DIGIT ]`.
fn parse_version(text: &str) -> Result<(u8, u8), UriError> {
    let bad = UriError::InvalidValue {
        attribute: "library-version",
        expected: "major[.minor], e.g. 2.6",
    };
    let (major, minor) = text.split_once('.').unwrap_or((text, "0"));
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u8>().ok())
            .flatten()
    };
    match (number(major), number(minor)) {
        (Some(major), Some(minor)) => Ok((major, minor)),
        _ => Err(bad),
    }
}

/// RFC 7512 `pk11-slot-id = 1*DIGIT` (a `CK_SLOT_ID`, decimal).
fn parse_slot_id(text: &str) -> Result<u64, UriError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UriError::InvalidValue {
            attribute: "slot-id",
            expected: "a decimal CK_SLOT_ID",
        });
    }
    text.parse().map_err(|_| UriError::InvalidValue {
        attribute: "slot-id",
        expected: "a decimal CK_SLOT_ID below 2^64",
    })
}

/// `file:/abs`, `file:///abs` or a plain path; p11-kit's `|command`
/// sources and other schemes are refused.
fn pin_source_path(text: &str) -> Result<PathBuf, UriError> {
    if let Some(rest) = text.strip_prefix("file:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(UriError::UnsupportedPinSource);
        }
        return Ok(PathBuf::from(path));
    }
    let looks_like_scheme = text
        .split_once(':')
        .is_some_and(|(scheme, _)| !scheme.is_empty() && !scheme.contains('/'));
    if text.is_empty() || text.starts_with('|') || looks_like_scheme {
        return Err(UriError::UnsupportedPinSource);
    }
    Ok(PathBuf::from(text))
}

#[cfg(test)]
#[path = "uri_tests.rs"]
mod tests;
