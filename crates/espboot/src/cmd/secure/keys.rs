//! Secure Boot V2 signing keys: loading them through the shared key loader and
//! `generate-signing-key`.

use key_files::{strict, KeyFile, KeyFileError, KeyKind};

use super::*;

/// Which of espsecure's key loaders reads a key file: each has its own
/// checks, in its own order, and its own words (espsecure/__init__.py).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Loader {
    /// `_load_private_key_unified(…, key_type_hint="sbv2")`: sign-data and
    /// extract-public-key `-v 2`, and private keys in `_get_sbv2_pub_key`.
    Sbv2Private,
    /// `_load_private_key_unified(…, key_type_hint="sdc")`.
    SdcPrivate,
    /// `_load_sbv2_pub_key`: a `BEGIN PUBLIC KEY` file in `_get_sbv2_pub_key`.
    Sbv2Public,
    /// `load_ecdsa_signing_key`: Secure Boot V1's signing key.
    EcdsaSigning,
}

/// How espsecure 5.6.0 fails on a key file: a `FatalError` (its message),
/// or an exception it does not catch (Python's last traceback line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    Fatal(String),
    /// Python's last traceback lines (the exception and any note), and
    /// whether espsecure's `_main` prints its "originates from the
    /// cryptography module" line first.
    Uncaught {
        exception: String,
        deserialize_note: bool,
    },
}

impl Refusal {
    /// An uncaught exception other than cryptography's "Could not
    /// deserialize" `ValueError`.
    pub(super) fn uncaught(exception: impl Into<String>) -> Self {
        Self::Uncaught {
            exception: exception.into(),
            deserialize_note: false,
        }
    }
}

/// `cryptography`'s message when the PEM framing is broken
/// (`load_pem_private_key`, cryptography 44+ Rust backend).
pub(crate) const MALFORMED_FRAMING: &str = "Unable to load PEM file. See https://cryptography.io/en/latest/faq/#why-can-t-i-import-my-pem-file for more details. MalformedFraming";
/// `cryptography`'s message when no PEM block is a private key.
const NOT_PRIVATE: &str =
    "Valid PEM but no BEGIN/END delimiters for a private key found. Are you sure this is a private key?";
/// `cryptography`'s message (a `TypeError`) for an encrypted key loaded
/// without a password.
const NO_PASSWORD: &str = "Password was not given but private key is encrypted";
/// `cryptography`'s message for a private key block whose `Proc-Type`
/// header is not `4,ENCRYPTED`.
const INVALID_PROC_TYPE: &str = "Proc-Type PEM header is not valid, key could not be decrypted.";
/// `cryptography`'s message for `Proc-Type: 4,ENCRYPTED` without `DEK-Info`.
const NO_DEK_INFO: &str = "Encrypted PEM doesn't have a DEK-Info header.";
/// `cryptography`'s message for an EC key whose scalar or point OpenSSL
/// refuses.
const INVALID_KEY: &str = "Invalid key";
/// `cryptography`'s message for an RSA private key whose parts disagree.
const INVALID_PRIVATE_KEY: &str = "Invalid private key";
/// `cryptography`'s message for an EC public key at infinity.
const POINT_AT_INFINITY: &str = "Cannot load an EC public key where the point is at infinity";
/// `cryptography`'s message for an RSA public exponent out of range.
const RSA_EXPONENT: &str = "e must be >= 3 and < n.";
/// `cryptography`'s `InternalError` when OpenSSL's raw key setup refuses
/// an Ed25519 or X25519 private key of the wrong length: its generic text
/// and the OpenSSL error queue of the library the pinned cryptography
/// wheel links (cryptography `src/rust/src/error.rs`, OpenSSL
/// `crypto/evp/p_lib.c` `new_raw_key_int`).
const OPENSSL_KEY_SETUP: &str = "Unknown OpenSSL error. This error is commonly encountered
                    when another library is not cleaning up the OpenSSL error
                    stack. If you are using cryptography with another library
                    that uses OpenSSL try disabling it before reporting a bug.
                    Otherwise please file an issue at
                    https://github.com/pyca/cryptography/issues with
                    information on how to reproduce this. (error:030000B4:digital envelope routines:new_raw_key_int:key setup failed:crypto/evp/p_lib.c:445:)";
/// `cryptography`'s message for DER it cannot read; its details name the
/// ASN.1 parser's first failure.
const UNDECODABLE: &str = "Could not deserialize key data. The data may be in an incorrect format, it may be encrypted with an unsupported algorithm, or it may be an unsupported key type (e.g. EC curves with explicit parameters).";

/// The name `cryptography` prints for the curve of `oid` (its
/// `curve.name`), else the OID.
fn curve_label(oid: &key_files::oid::ObjectIdentifier) -> String {
    key_files::oid::curve_name(oid).map_or_else(|| oid.to_string(), str::to_owned)
}

/// The Python class `cryptography` loads a key of `kind` as, in the
/// `AttributeError` espsecure's V1 code raises when it asks a key that is
/// not EC for its curve.
pub(super) fn no_curve_attribute(kind: KeyKind) -> Refusal {
    let class = match kind {
        KeyKind::Rsa { .. } => "cryptography.hazmat.bindings._rust.openssl.rsa.RSA",
        KeyKind::Ed25519 => "cryptography.hazmat.bindings._rust.openssl.ed25519",
        _ => "cryptography.hazmat.bindings._rust.openssl.x25519",
    };
    Refusal::uncaught(format!(
        "AttributeError: '{class}' object has no attribute 'curve'"
    ))
}

/// The start of `cryptography`'s message when its PEM reader fails.
const PEM_UNLOADABLE: &str = "Unable to load PEM file. See https://cryptography.io/en/latest/faq/#why-can-t-i-import-my-pem-file for more details.";
/// The note Python prints under `cryptography`'s exception when an `EC
/// PRIVATE KEY` block's DER is broken.
const PKCS8_LABEL_NOTE: &str =
    "If your key is in PKCS#8 format, you must use BEGIN/END PRIVATE KEY PEM delimiters";

/// `cryptography`'s words for the PEM reader's failure: the `pem` crate's
/// `PemError` as Rust's `Debug` prints it, except that the `base64`
/// crate's `DecodeError` inside `InvalidData` prints as a sentence.
fn pem_text(failure: &strict::PemFailure) -> String {
    use strict::Base64Failure as B;
    use strict::PemFailure as P;
    match failure {
        P::NotUtf8(e) => format!("NotUtf8({e:?})"),
        P::Header(line) => format!("InvalidHeader({line:?})"),
        P::Base64(f) => {
            let what = match *f {
                B::InvalidSymbol { offset, byte } => {
                    format!("Invalid symbol {byte}, offset {offset}.")
                }
                B::InvalidLength { len } => format!("Invalid input length: {len}"),
                B::InvalidLastSymbol {
                    offset,
                    byte,
                    value,
                } => format!(
                    "Invalid last symbol {byte:#x} ('{}') at offset {offset}, decoded as {value:#010b}.",
                    char::from(byte)
                ),
                B::InvalidPadding => "Invalid padding".to_owned(),
            };
            format!("InvalidData({what})")
        }
    }
}

/// `cryptography`'s words for its ASN.1 parser's failure (the Rust `asn1`
/// crate's `ParseError` display, which names no location).
fn der_text(failure: strict::DerFailure) -> String {
    use strict::DerFailure as D;
    let what = match failure {
        D::InvalidValue => "invalid value".to_owned(),
        D::InvalidTag => "invalid tag".to_owned(),
        D::InvalidLength => "invalid length".to_owned(),
        D::UnexpectedTag(tag) => format!(
            "unexpected tag (got Tag {{ value: {}, constructed: {}, class: {:?} }})",
            tag.value, tag.constructed, tag.class
        ),
        D::ShortData { needed } => {
            format!("short data (needed at least {needed} additional bytes)")
        }
        D::IntegerOverflow => "integer overflow".to_owned(),
        D::ExtraData => "extra data".to_owned(),
    };
    format!("ASN.1 parsing error: {what}")
}

/// What `cryptography`'s `load_pem_*_key` says about a key block it cannot
/// decode: its PEM reader's or its DER parser's first failure, else its
/// message without details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Undecodable {
    /// The exception's text.
    pub(super) text: String,
    /// Whether the text is the "Could not deserialize" one (espsecure's
    /// `_main` prints a note before such a traceback).
    pub(super) deserialize: bool,
    /// Whether Python prints [`PKCS8_LABEL_NOTE`] under the exception.
    pub(super) pkcs8_note: bool,
}

impl Undecodable {
    pub(super) fn of(pem: &[u8], wanted: strict::Wanted) -> Self {
        Self::of_failure(strict::first_failure(pem, wanted))
    }

    /// The message for the strict reader's result (`None`: nothing it
    /// models).
    fn of_failure(found: Option<(String, strict::Failure)>) -> Self {
        let (text, deserialize, pkcs8_note) = match found {
            Some((_, strict::Failure::Pem(f))) => {
                (format!("{PEM_UNLOADABLE} {}", pem_text(&f)), false, false)
            }
            Some((_, strict::Failure::Encryption(f))) => {
                let text = match f {
                    strict::EncryptionHeader::InvalidProcType => INVALID_PROC_TYPE,
                    strict::EncryptionHeader::NoDekInfo => NO_DEK_INFO,
                    strict::EncryptionHeader::Encrypted => NO_PASSWORD,
                };
                // Python's note on the PKCS#8 label follows DER failures only.
                (text.to_owned(), false, false)
            }
            Some((label, strict::Failure::Unusable(f))) => {
                let text = match f {
                    strict::Unusable::InvalidEcKey => INVALID_KEY,
                    strict::Unusable::InvalidRsaPrivateKey => INVALID_PRIVATE_KEY,
                    strict::Unusable::PointAtInfinity => POINT_AT_INFINITY,
                    strict::Unusable::RsaExponent => RSA_EXPONENT,
                    strict::Unusable::RawPrivateKeySetup => OPENSSL_KEY_SETUP,
                    strict::Unusable::RawPublicKeyLength => INVALID_KEY,
                };
                (text.to_owned(), false, label == "EC PRIVATE KEY")
            }
            Some((label, strict::Failure::Der(f))) => (
                format!("{UNDECODABLE} Details: {}", der_text(f)),
                true,
                label == "EC PRIVATE KEY",
            ),
            None => (UNDECODABLE.to_owned(), true, false),
        };
        Self {
            text,
            deserialize,
            pkcs8_note,
        }
    }

    /// The uncaught exception as Python ends its traceback (cryptography
    /// raises a `TypeError` for a missing password, an `InternalError` for
    /// OpenSSL's failed key setup, else a `ValueError`).
    pub(super) fn uncaught(self) -> Refusal {
        let class = exception_class(&self.text);
        let mut exception = format!("{class}: {}", self.text);
        if self.pkcs8_note {
            exception = format!("{exception}\n{PKCS8_LABEL_NOTE}");
        }
        Refusal::Uncaught {
            exception,
            deserialize_note: self.deserialize,
        }
    }
}

/// The class of the exception `cryptography` raises with `text`.
fn exception_class(text: &str) -> &'static str {
    match text {
        NO_PASSWORD => "TypeError",
        OPENSSL_KEY_SETUP => "cryptography.exceptions.InternalError",
        _ => "ValueError",
    }
}

/// Whether espsecure's `except ValueError` lets cryptography's exception
/// with `text` through (a traceback, exit 1).
fn passes_value_error(text: &str) -> bool {
    exception_class(text) != "ValueError"
}

/// `cryptography`'s message when no PEM block is a public key.
const NOT_PUBLIC: &str =
    "Valid PEM but no BEGIN PUBLIC KEY/END PUBLIC KEY delimiters. Are you sure this is a public key?";

/// The last line of the traceback when a private-then-public load
/// (imgtool's `keys.load`) fails both ways: the public loader's
/// `ValueError` (it never raises the password `TypeError`, and Python's
/// note on the `EC PRIVATE KEY` label belongs to the first exception); or
/// the private loader's exception when it is none that `keys.load`
/// catches.
pub(crate) fn public_fallback_exception(fallback: strict::PublicFallback) -> String {
    let text = match fallback {
        strict::PublicFallback::NoPublicBlock => NOT_PUBLIC.to_owned(),
        strict::PublicFallback::Fails(label, failure)
        | strict::PublicFallback::PrivateUncaught(label, failure) => {
            Undecodable::of_failure(Some((label, failure))).text
        }
    };
    format!("{}: {text}", exception_class(&text))
}

/// What `cryptography`'s `load_pem_private_key` raises for `pem`, which
/// our loader refused with `err` (`private_block`: the file has a private
/// key PEM block). `None` when the key loaded in cryptography and
/// espsecure's own checks decide (an unsupported curve: cryptography
/// loads it).
fn load_pem_private_key_error(
    err: &KeyFileError,
    pem: &[u8],
    private_block: bool,
) -> Option<String> {
    Some(match err {
        KeyFileError::NotPem { .. } | KeyFileError::UnterminatedPem { .. } => {
            MALFORMED_FRAMING.to_owned()
        }
        // cryptography reads every block before it looks at the labels.
        _ if strict::pem_failure(pem).is_some() => {
            Undecodable::of(pem, strict::Wanted::PrivateKey).text
        }
        KeyFileError::NoKeyBlock { .. } => NOT_PRIVATE.to_owned(),
        _ if !private_block => NOT_PRIVATE.to_owned(),
        // the headers decide before the DER is read
        _ if matches!(
            strict::first_failure(pem, strict::Wanted::PrivateKey),
            Some((_, strict::Failure::Encryption(_)))
        ) =>
        {
            Undecodable::of(pem, strict::Wanted::PrivateKey).text
        }
        KeyFileError::PasswordRequired => NO_PASSWORD.to_owned(),
        KeyFileError::UnsupportedCurve { .. } | KeyFileError::UnsupportedRsaSize { .. } => {
            return None
        }
        _ => Undecodable::of(pem, strict::Wanted::PrivateKey).text,
    })
}

/// espsecure's refusal of a key file that our loader could not load.
pub(super) fn refusal_of_load_error(
    loader: Loader,
    err: &KeyFileError,
    pem: &[u8],
    private_block: bool,
) -> Refusal {
    match loader {
        Loader::Sbv2Private | Loader::SdcPrivate => {
            match load_pem_private_key_error(err, pem, private_block) {
                Some(text) => Refusal::Fatal(format!("Error loading private key: {text}")),
                None => match err {
                    KeyFileError::UnsupportedCurve { oid } if loader == Loader::SdcPrivate => {
                        Refusal::Fatal(format!(
                            "SDC certificates only support ECDSA P-256 (SECP256R1), not {}",
                            curve_label(oid)
                        ))
                    }
                    KeyFileError::UnsupportedCurve { oid } => Refusal::Fatal(format!(
                        "Unsupported ECDSA curve: {}. Supported curves: P-192, P-256, P-384",
                        curve_label(oid)
                    )),
                    KeyFileError::UnsupportedRsaSize { .. } if loader == Loader::SdcPrivate => {
                        Refusal::Fatal(
                            "SDC certificates only support ECDSA P-256 keys, not RSA keys.".into(),
                        )
                    }
                    KeyFileError::UnsupportedRsaSize { bits } => Refusal::Fatal(format!(
                        "RSA key has {bits} bits. Only RSA-3072 is supported."
                    )),
                    other => Refusal::Fatal(format!("Error loading private key: {other}")),
                },
            }
        }
        Loader::Sbv2Public => match err {
            KeyFileError::UnsupportedCurve { .. } => Refusal::Fatal(SBV2_CURVE.into()),
            KeyFileError::UnsupportedRsaSize { bits } => Refusal::Fatal(format!(
                "Key file has length {bits} bits. Secure boot v2 only supports RSA-3072."
            )),
            // load_pem_public_key's ValueError is not caught.
            _ => Undecodable::of(pem, strict::Wanted::PublicKey).uncaught(),
        },
        Loader::EcdsaSigning => match load_pem_private_key_error(err, pem, private_block) {
            // A TypeError or InternalError passes espsecure's `except ValueError`.
            Some(text) if passes_value_error(&text) => {
                Refusal::uncaught(format!("{}: {text}", exception_class(&text)))
            }
            Some(_) => Refusal::Fatal(
                "Incorrect ECDSA private key specified. Please check algorithm and/or format."
                    .into(),
            ),
            None => match err {
                KeyFileError::UnsupportedCurve { .. } => {
                    Refusal::Fatal("Supports NIST192p, NIST256p and NIST384p keys only.".into())
                }
                _ => no_curve_attribute(KeyKind::RSA_2048),
            },
        },
    }
}

/// espsecure's refusal of a file our lenient loader read but
/// `cryptography` refuses (RFC 1421 headers without the blank line after
/// them, a blank line inside the body, an RSA key whose CRT values are
/// wrong, …), or `None`.
pub(super) fn refusal_of_pem(loader: Loader, pem: &[u8]) -> Option<Refusal> {
    let wanted = if loader == Loader::Sbv2Public {
        strict::Wanted::PublicKey
    } else {
        strict::Wanted::PrivateKey
    };
    // Only what the lenient loader can read past: the PEM reader's
    // refusals, the encryption headers and keys OpenSSL finds unusable.
    let (_, failure) = strict::first_failure(pem, wanted)?;
    if matches!(failure, strict::Failure::Der(_)) {
        return None;
    }
    let undecodable = Undecodable::of(pem, wanted);
    Some(match loader {
        Loader::Sbv2Private | Loader::SdcPrivate => {
            Refusal::Fatal(format!("Error loading private key: {}", undecodable.text))
        }
        Loader::Sbv2Public => undecodable.uncaught(),
        // A TypeError or InternalError passes espsecure's `except ValueError`.
        Loader::EcdsaSigning if passes_value_error(&undecodable.text) => undecodable.uncaught(),
        Loader::EcdsaSigning => Refusal::Fatal(
            "Incorrect ECDSA private key specified. Please check algorithm and/or format.".into(),
        ),
    })
}

/// cryptography's public loader reads a file's first PEM block only, and
/// refuses any other label there before it looks at a key (after the PEM
/// failures every loader reports first).
fn first_block_refusal(loader: Loader, pem: &[u8]) -> Option<Refusal> {
    (loader == Loader::Sbv2Public
        && !strict::first_block_is_public(pem)
        && strict::pem_failure(pem).is_none())
    .then(|| {
        Refusal::uncaught(public_fallback_exception(
            strict::PublicFallback::NoPublicBlock,
        ))
    })
}

/// espsecure's refusal of a key that loaded but that `loader` does not
/// take, or `None` when it takes it.
pub(super) fn refusal_of_key(loader: Loader, file: &KeyFile) -> Option<Refusal> {
    let kind = file.kind();
    let private = matches!(file, KeyFile::Private(_));
    match loader {
        Loader::Sbv2Private | Loader::SdcPrivate if !private => Some(Refusal::Fatal(format!(
            "Error loading private key: {NOT_PRIVATE}"
        ))),
        Loader::SdcPrivate => match kind {
            KeyKind::EcdsaP256 => None,
            KeyKind::EcdsaP192 => Some(Refusal::Fatal(
                "SDC certificates only support ECDSA P-256 (SECP256R1), not secp192r1".into(),
            )),
            KeyKind::EcdsaP384 => Some(Refusal::Fatal(
                "SDC certificates only support ECDSA P-256 (SECP256R1), not secp384r1".into(),
            )),
            KeyKind::Rsa { .. } => Some(Refusal::Fatal(
                "SDC certificates only support ECDSA P-256 keys, not RSA keys.".into(),
            )),
            _ => Some(Refusal::Fatal("Unsupported private key type".into())),
        },
        Loader::Sbv2Private => match kind {
            KeyKind::Rsa { bits: 3072 }
            | KeyKind::EcdsaP192
            | KeyKind::EcdsaP256
            | KeyKind::EcdsaP384 => None,
            KeyKind::Rsa { bits } => Some(Refusal::Fatal(format!(
                "RSA key has {bits} bits. Only RSA-3072 is supported."
            ))),
            _ => Some(Refusal::Fatal("Unsupported private key type".into())),
        },
        Loader::Sbv2Public => match kind {
            KeyKind::Rsa { bits: 3072 }
            | KeyKind::EcdsaP192
            | KeyKind::EcdsaP256
            | KeyKind::EcdsaP384 => None,
            KeyKind::Rsa { bits } => Some(Refusal::Fatal(format!(
                "Key file has length {bits} bits. Secure boot v2 only supports RSA-3072."
            ))),
            _ => Some(Refusal::Fatal(
                "Unsupported public key for Secure Boot V2.".into(),
            )),
        },
        Loader::EcdsaSigning if !private => Some(Refusal::Fatal(
            "Incorrect ECDSA private key specified. Please check algorithm and/or format.".into(),
        )),
        Loader::EcdsaSigning => match kind {
            KeyKind::EcdsaP192 | KeyKind::EcdsaP256 | KeyKind::EcdsaP384 => None,
            other => Some(no_curve_attribute(other)),
        },
    }
}

/// espsecure's refusal of a V2 public key on another curve (`_load_sbv2_pub_key`).
const SBV2_CURVE: &str = "Key file uses incorrect curve. Secure Boot V2 + ECDSA only supports NIST192p, NIST256p, NIST384p (aka prime192v1 / secp192r1, prime256v1 / secp256r1, secp384r1).";

/// Whether the PEM file has a private key block (for espsecure's
/// loaders, which look for one before anything else).
pub(super) fn has_private_block(pem: &[u8]) -> bool {
    key_files::pem::blocks(pem)
        .map_while(Result::ok)
        .any(|b| b.format().is_some_and(|f| f.is_private()))
}

/// An exception espsecure does not catch: Python prints a traceback and
/// exits with status 1. The personality prints the traceback's last line
/// (the exception) instead of the whole traceback.
#[derive(Debug, thiserror::Error)]
#[error("{ours}")]
pub(super) struct Uncaught {
    ours: String,
    pub(super) exception: String,
    /// espsecure's `_main` prints its note on cryptography's "Could not
    /// deserialize" errors before the traceback.
    pub(super) deserialize_note: bool,
}

/// The error for a key file `path` (option `arg`) that `loader` refuses:
/// espboot's own message (`ours`) and espsecure's.
pub(super) fn refused(refusal: Refusal, ours: String) -> anyhow::Error {
    match refusal {
        Refusal::Fatal(text) => fatal(ours, text),
        Refusal::Uncaught {
            exception,
            deserialize_note,
        } => anyhow::Error::new(Uncaught {
            ours,
            exception,
            deserialize_note,
        }),
    }
}

/// Loads a key file for `loader`: our loader's result, with espsecure's
/// refusal attached to every failure. A key of a type `loader` refuses is
/// refused here too.
pub(super) fn load_for(loader: Loader, arg: &str, path: &Path) -> anyhow::Result<KeyFile> {
    let pem = Zeroizing::new(
        std::fs::read(path).with_context(|| format!("{arg}: cannot read {}", path.display()))?,
    );
    if let Some(refusal) = first_block_refusal(loader, &pem) {
        return Err(refused(
            refusal,
            format!(
                "{arg}: {}: the first PEM block is not a public key",
                path.display()
            ),
        ));
    }
    let private_block = has_private_block(&pem);
    let file = match crate::cmd::key_file::load(arg, path) {
        Ok(file) => file,
        Err(err) => {
            // espsecure never asks for a password: classify what the file
            // is without one (an encrypted key stays "encrypted" even when
            // our prompt or $ESPBOOT_PASSWORD could not open it).
            let ours = format!("{err:#}");
            return Err(match KeyFile::from_pem(&pem, None) {
                Err(kind) => refused(
                    refusal_of_load_error(loader, &kind, &pem, private_block),
                    ours,
                ),
                Ok(_) => err,
            });
        }
    };
    if let Some(refusal) = refusal_of_pem(loader, &pem) {
        let ours = format!(
            "{arg}: {}: a PEM key block strict readers refuse (a stray header, blank line or encryption header, or inconsistent key numbers)",
            path.display()
        );
        return Err(refused(refusal, ours));
    }
    let Some(refusal) = refusal_of_key(loader, &file) else {
        return Ok(file);
    };
    // espboot's own words: esp-secure's reason for the V2 loaders.
    let private = matches!(file, KeyFile::Private(_));
    let reason = match loader {
        Loader::Sbv2Private => SigningKey::try_from(file.clone())
            .err()
            .map(|e| e.to_string()),
        Loader::Sbv2Public => sbv2::PublicKey::try_from(file.clone())
            .err()
            .map(|e| e.to_string()),
        Loader::SdcPrivate | Loader::EcdsaSigning => None,
    }
    .unwrap_or_else(|| match (private, loader) {
        (false, _) => "this is a public key; a private key is required".to_owned(),
        (true, Loader::SdcPrivate) => format!(
            "{} keys are not supported; SDC certificates take ECDSA P-256 keys",
            file.kind()
        ),
        (true, _) => format!(
            "{} keys are not supported; Secure Boot V1 takes ECDSA NIST P-256 keys",
            file.kind()
        ),
    });
    Err(refused(
        refusal,
        format!("{arg}: {}: {reason}", path.display()),
    ))
}

/// espsecure's `load_ecdsa_signing_key` as espefuse calls it for an
/// ECDSA_KEY purpose: an unencrypted PEM private key on NIST P-192, P-256 or
/// P-384, or espsecure's refusal (never a password prompt).
pub(crate) fn ecdsa_signing_key(pem: &[u8]) -> Result<key_files::PrivateKey, Refusal> {
    let private_block = has_private_block(pem);
    let file = KeyFile::from_pem(pem, None)
        .map_err(|e| refusal_of_load_error(Loader::EcdsaSigning, &e, pem, private_block))?;
    if let Some(refusal) = refusal_of_pem(Loader::EcdsaSigning, pem)
        .or_else(|| refusal_of_key(Loader::EcdsaSigning, &file))
    {
        return Err(refusal);
    }
    match file {
        KeyFile::Private(key) => Ok(key),
        // refusal_of_key lets private keys only through
        _ => Err(Refusal::Fatal(
            "Incorrect ECDSA private key specified. Please check algorithm and/or format.".into(),
        )),
    }
}

/// espsecure's `_get_sbv2_pub_key` as espefuse's `burn-key-digest` calls
/// it (`_digest_sbv2_public_key`): its refusal of the key file `pem`, or
/// `None` when it loads the key. The file's labels choose the loader: a
/// private key block is read as a signing key, else a public key.
pub(crate) fn sbv2_verification_refusal(pem: &[u8]) -> Option<Refusal> {
    let Some(loader) = verification_loader(pem) else {
        return Some(Refusal::Fatal(NO_VERIFICATION_LABEL.into()));
    };
    if let Some(refusal) = first_block_refusal(loader, pem) {
        return Some(refusal);
    }
    match KeyFile::from_pem(pem, None) {
        Err(e) => Some(refusal_of_load_error(
            loader,
            &e,
            pem,
            has_private_block(pem),
        )),
        Ok(file) => refusal_of_pem(loader, pem).or_else(|| refusal_of_key(loader, &file)),
    }
}

/// espsecure's refusal of a verification key file without a private or
/// public key label (`_get_sbv2_pub_key`).
const NO_VERIFICATION_LABEL: &str =
    "Verification key does not appear to be an RSA Private or Public key in PEM format. Unsupported.";

/// How `_get_sbv2_pub_key` reads a verification key file: as a signing key
/// when a private key label appears anywhere in it, else as a public key
/// when a public key label does (`None`: neither).
fn verification_loader(pem: &[u8]) -> Option<Loader> {
    let has = |label: &[u8]| pem.windows(label.len()).any(|w| w == label);
    let private: [&[u8]; 3] = [
        b"-BEGIN RSA PRIVATE KEY",
        b"-BEGIN EC PRIVATE KEY",
        b"-BEGIN PRIVATE KEY",
    ];
    if private.iter().any(|l| has(l)) {
        Some(Loader::Sbv2Private)
    } else if has(b"-BEGIN PUBLIC KEY") {
        Some(Loader::Sbv2Public)
    } else {
        None
    }
}

/// Loads a Secure Boot V2 signing key through the shared loader (a
/// password is asked for when the key is encrypted).
pub(super) fn load_signing_key(arg: &str, path: &Path) -> anyhow::Result<SigningKey> {
    let file = load_for(Loader::Sbv2Private, arg, path)?;
    SigningKey::try_from(file).with_context(|| format!("{arg}: {}", path.display()))
}

/// Loads a Secure Boot V2 verification key: a public key, or the public
/// half of a private key (`_get_sbv2_pub_key`).
pub(super) fn load_public_key(arg: &str, path: &Path) -> anyhow::Result<sbv2::PublicKey> {
    let file = crate::cmd::key_file::load(arg, path)?;
    sbv2::PublicKey::try_from(file).with_context(|| format!("{arg}: {}", path.display()))
}

/// [`load_public_key`] for `verify-signature` and `digest-sbv2-public-key`,
/// where espsecure's `_get_sbv2_pub_key` first looks for a private or
/// public key PEM label and refuses a file without one.
pub(super) fn load_verification_key(arg: &str, path: &Path) -> anyhow::Result<sbv2::PublicKey> {
    if let Ok(text) = std::fs::read(path) {
        let Some(loader) = verification_loader(&text) else {
            return Err(fatal(
                format!("{arg}: {}: not a PEM private or public key", path.display()),
                NO_VERIFICATION_LABEL,
            ));
        };
        let file = load_for(loader, arg, path)?;
        return sbv2::PublicKey::try_from(file)
            .with_context(|| format!("{arg}: {}", path.display()));
    }
    let file = crate::cmd::key_file::load(arg, path)?;
    sbv2::PublicKey::try_from(file).with_context(|| format!("{arg}: {}", path.display()))
}

/// `generate-signing-key`: `v1` keys are ECDSA P-256 (the only scheme
/// Secure Boot V1 has); V2 defaults to RSA-3072.
pub(super) fn generate_signing_key(
    v1: bool,
    scheme: Option<SigningScheme>,
    keyfile: &Path,
) -> anyhow::Result<ExitCode> {
    if keyfile.symlink_metadata().is_ok() {
        return Err(fatal(
            format!(
                "key file {} already exists; refusing to overwrite it",
                keyfile.display()
            ),
            format!("ERROR: Key file {} already exists.", keyfile.display()),
        ));
    }
    let scheme = match (v1, scheme) {
        (true, None | Some(SigningScheme::Ecdsa256)) => SigningScheme::Ecdsa256,
        (true, Some(other)) => {
            return Err(fatal(
                format!("--scheme {other}: Secure Boot V1 signs with ecdsa256 only"),
                "ERROR: V1 only supports ECDSA256.",
            ))
        }
        (false, scheme) => scheme.unwrap_or(SigningScheme::Rsa3072),
    };
    let key = SigningKey::generate(scheme).context("key generation failed")?;
    let pem = key.to_pem().context("cannot encode the key")?;
    write_atomic(keyfile, pem.as_bytes(), true)?;
    let what = match scheme {
        SigningScheme::Rsa3072 => "RSA 3072",
        SigningScheme::Ecdsa192 => "ECDSA NIST192p",
        SigningScheme::Ecdsa256 => "ECDSA NIST256p",
        _ => "ECDSA NIST384p",
    };
    outln!(
        "{what} private key in PEM format written to \"{}\".",
        keyfile.display()
    );
    Ok(ExitCode::SUCCESS)
}
