//! Where a strict reader stops in a broken PEM key: the first base64 or
//! DER failure, in the order a strict, non-lenient reader meets them.
//!
//! This crate's loader is lenient and reports its own reasons. Tools that
//! must say what Python `cryptography` (44 and later) says about a key it
//! cannot load need *its* first failure instead: its PEM reader splits
//! RFC 1421 headers off at the first blank line, strips the whitespace
//! from the body and decodes the base64 strictly (canonical padding, zero
//! trailing bits) with the `base64` crate, then its DER reader walks the
//! structure the label names, field by field, and stops at the first tag,
//! length or integer it refuses. [`first_failure`] reproduces that walk
//! for the outer structures (PKCS#8, SEC1, PKCS#1, SubjectPublicKeyInfo,
//! and the PKCS#1 or SEC1 key inside a PKCS#8 one); failures it does not
//! model (a key that parses but is unusable) give `None`.

use base64::engine::general_purpose::STANDARD;
use base64::{DecodeError, Engine as _};
use zeroize::Zeroizing;

/// The base64 decoder's first failure in a PEM body (whitespace removed;
/// offsets count the remaining characters): the `base64` crate's
/// `DecodeError`, with the value of a last symbol that has bits left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base64Failure {
    /// A byte outside the alphabet, or a `=` where no padding may stand.
    InvalidSymbol {
        /// Its offset.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// A length no base64 text has (one more than a multiple of four).
    InvalidLength {
        /// The length.
        len: usize,
    },
    /// The final symbol carries bits that decode to nothing.
    InvalidLastSymbol {
        /// Its offset.
        offset: usize,
        /// The byte.
        byte: u8,
        /// The 6-bit value it stands for.
        value: u8,
    },
    /// Missing or extra `=` padding.
    InvalidPadding,
}

/// An ASN.1 tag's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagClass {
    /// Universal.
    Universal,
    /// Application.
    Application,
    /// Context-specific.
    ContextSpecific,
    /// Private.
    Private,
}

/// An ASN.1 tag as read from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// The tag number.
    pub value: u32,
    /// Whether the constructed bit is set.
    pub constructed: bool,
    /// The class bits.
    pub class: TagClass,
}

/// A strict DER reader's first failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerFailure {
    /// A value that breaks its type's encoding rules (an empty or
    /// non-minimal INTEGER, a negative one where a size is expected, …).
    InvalidValue,
    /// A malformed high tag number.
    InvalidTag,
    /// An indefinite, non-minimal or oversized length.
    InvalidLength,
    /// Another tag than the structure expects here.
    UnexpectedTag(Tag),
    /// The input ends this many bytes too early.
    ShortData {
        /// How many more bytes were needed.
        needed: usize,
    },
    /// An INTEGER too large for its field.
    IntegerOverflow,
    /// Bytes after the end of a structure.
    ExtraData,
}

/// Why the PEM reader refuses a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemFailure {
    /// The body or its headers are not UTF-8.
    NotUtf8(core::str::Utf8Error),
    /// The body is not strict base64.
    Base64(Base64Failure),
    /// A line before the first blank line (so a header) without a `:`.
    Header(String),
}

/// What the RFC 1421 encryption headers of a private key block say, for a
/// reader that has no password (`cryptography`'s PEM key loader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionHeader {
    /// `Proc-Type` is there but is not `4,ENCRYPTED`.
    InvalidProcType,
    /// `Proc-Type: 4,ENCRYPTED` without a `DEK-Info` header.
    NoDekInfo,
    /// An encrypted key: a password is needed.
    Encrypted,
}

/// What stopped the strict reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The PEM reader refuses a block.
    Pem(PemFailure),
    /// The private key block's encryption headers stop the loader.
    Encryption(EncryptionHeader),
    /// The DER is broken.
    Der(DerFailure),
}

/// Which PEM blocks the reader looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`.
    PrivateKey,
    /// `PUBLIC KEY` or `RSA PUBLIC KEY`.
    PublicKey,
}

/// The first failure in the first PEM block of the `wanted` kind, with
/// that block's label; `None` when there is no such block, it reads
/// cleanly as far as this reader goes, or it breaks in a way not modelled.
#[must_use]
pub fn first_failure(pem: &[u8], wanted: Wanted) -> Option<(String, Failure)> {
    let labels: &[&str] = match wanted {
        Wanted::PrivateKey => &["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"],
        Wanted::PublicKey => &["PUBLIC KEY", "RSA PUBLIC KEY"],
    };
    // Every block is decoded before any label is looked at.
    if let Some((label, failure)) = pem_failure(pem) {
        return Some((label, Failure::Pem(failure)));
    }
    let block = crate::pem::blocks(pem)
        .map_while(Result::ok)
        .find(|b| labels.contains(&b.label()))?;
    let label = block.label().to_owned();
    let Body { der, headers } = decode_body(block.body()).ok()?;
    if wanted == Wanted::PrivateKey {
        if let Some(failure) = encryption_header(&headers) {
            return Some((label, Failure::Encryption(failure)));
        }
    }
    let schema = match label.as_str() {
        "PRIVATE KEY" => &PKCS8,
        "RSA PRIVATE KEY" => &PKCS1_PRIVATE,
        "EC PRIVATE KEY" => &SEC1,
        "PUBLIC KEY" => &SPKI,
        _ => &PKCS1_PUBLIC,
    };
    let failure = parse_single(&der, schema).err().or_else(|| {
        (label == "PRIVATE KEY")
            .then(|| pkcs8_inner(&der))
            .flatten()
    })?;
    Some((label, Failure::Der(failure)))
}

/// The first PEM block, in file order, that `cryptography`'s PEM reader
/// refuses (its body is not UTF-8 or not strict base64, or a header line
/// has no `:`), with its label and why; `None` when every block reads.
#[must_use]
pub fn pem_failure(pem: &[u8]) -> Option<(String, PemFailure)> {
    crate::pem::blocks(pem).map_while(Result::ok).find_map(|b| {
        decode_body(b.body())
            .err()
            .map(|e| (b.label().to_owned(), e))
    })
}

/// A PEM block's body as the PEM reader behind `cryptography` reads it
/// (the `pem` crate, 3.x, `src/parser.rs` and `src/lib.rs`): leading
/// whitespace skipped; text before the first blank line (`\n\n`, else
/// `\r\n\r\n`) is RFC 1421 headers; the rest, with every whitespace
/// character removed, is strict base64 (canonical padding, no trailing
/// bits); then every header line must hold a `:`.
fn decode_body(body: &[u8]) -> Result<Body, PemFailure> {
    let start = body
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(body.len());
    let payload = &body[start..];
    let (headers, data) = match naive_find(payload, b"\n\n")
        .map(|at| (at, 2))
        .or_else(|| naive_find(payload, b"\r\n\r\n").map(|at| (at, 4)))
    {
        Some((at, len)) => (&payload[..at], &payload[at + len..]),
        None => (&payload[..0], payload),
    };
    let text = core::str::from_utf8(data).map_err(PemFailure::NotUtf8)?;
    let compact: Zeroizing<String> =
        Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
    let der = STANDARD
        .decode(compact.as_bytes())
        .map(Zeroizing::new)
        .map_err(|e| PemFailure::Base64(Base64Failure::from(e)))?;
    let headers = core::str::from_utf8(headers).map_err(PemFailure::NotUtf8)?;
    let headers = headers
        .lines()
        .map(|line| {
            line.split_once(':')
                .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
                .ok_or_else(|| PemFailure::Header(line.to_owned()))
        })
        .collect::<Result<_, _>>()?;
    Ok(Body { der, headers })
}

/// A PEM block's decoded body and its headers (name, value; trimmed).
struct Body {
    der: Zeroizing<Vec<u8>>,
    headers: Vec<(String, String)>,
}

/// How the encryption headers stop a loader without a password: the last
/// `Proc-Type` decides, as the `pem` crate's `HeaderMap::get` returns the
/// last header of a name; cryptography 50 checks them before it reads the
/// DER, for every private key label).
fn encryption_header(headers: &[(String, String)]) -> Option<EncryptionHeader> {
    let value = |name: &str| {
        headers
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    match value("Proc-Type")? {
        "4,ENCRYPTED" if value("DEK-Info").is_none() => Some(EncryptionHeader::NoDekInfo),
        "4,ENCRYPTED" => Some(EncryptionHeader::Encrypted),
        _ => Some(EncryptionHeader::InvalidProcType),
    }
}

/// Where `marker` first ends up matched by the `pem` crate's scanner
/// (`read_until` in its `src/parser.rs`), which after a mismatch does not
/// look at the mismatching byte again: so `\r\n\r\r\n\r\n` holds no
/// `\r\n\r\n` for it. The offset of the match's start.
fn naive_find(input: &[u8], marker: &[u8]) -> Option<usize> {
    let mut found = 0;
    for (index, &b) in input.iter().enumerate() {
        found = if b == marker[found] { found + 1 } else { 0 };
        if found == marker.len() {
            return Some(index + 1 - found);
        }
    }
    None
}

impl From<DecodeError> for Base64Failure {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::InvalidByte(offset, byte) => Self::InvalidSymbol { offset, byte },
            DecodeError::InvalidLength(len) => Self::InvalidLength { len },
            DecodeError::InvalidLastSymbol(offset, byte) => Self::InvalidLastSymbol {
                offset,
                byte,
                value: symbol_value(byte),
            },
            DecodeError::InvalidPadding => Self::InvalidPadding,
        }
    }
}

/// The 6 bits a symbol of the standard alphabet stands for (RFC 4648
/// table 1); the decoder names only symbols of the alphabet as a last
/// symbol with bits left over.
fn symbol_value(byte: u8) -> u8 {
    match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        _ => 63,
    }
}

/// One node of the structures walked.
enum Node {
    /// A SEQUENCE of these, in order.
    Seq(&'static [Node]),
    /// An INTEGER that fits a byte (a version).
    U8,
    /// A non-negative INTEGER of any size.
    UInt,
    /// An OBJECT IDENTIFIER.
    Oid,
    /// An OCTET STRING.
    Octet,
    /// A BIT STRING.
    Bits,
    /// Any one element, if anything is left.
    OptionalAny,
    /// An optional context-specific element `[n]` (explicit: wrapping one
    /// element of the given node; implicit: its contents are not read).
    OptionalContext {
        number: u32,
        explicit: Option<&'static Node>,
    },
}

const ALGORITHM: Node = Node::Seq(&[Node::Oid, Node::OptionalAny]);
/// RFC 5208 PrivateKeyInfo.
const PKCS8: Node = Node::Seq(&[
    Node::U8,
    ALGORITHM,
    Node::Octet,
    Node::OptionalContext {
        number: 0,
        explicit: None,
    },
]);
/// RFC 5915 ECPrivateKey.
const SEC1: Node = Node::Seq(&[
    Node::U8,
    Node::Octet,
    Node::OptionalContext {
        number: 0,
        explicit: Some(&Node::OptionalAny),
    },
    Node::OptionalContext {
        number: 1,
        explicit: Some(&Node::Bits),
    },
]);
/// RFC 8017 RSAPrivateKey.
const PKCS1_PRIVATE: Node = Node::Seq(&[
    Node::U8,
    Node::UInt,
    Node::UInt,
    Node::UInt,
    Node::UInt,
    Node::UInt,
    Node::UInt,
    Node::UInt,
    Node::UInt,
    Node::OptionalAny,
]);
/// RFC 8017 RSAPublicKey.
const PKCS1_PUBLIC: Node = Node::Seq(&[Node::UInt, Node::UInt]);
/// RFC 5280 SubjectPublicKeyInfo.
const SPKI: Node = Node::Seq(&[ALGORITHM, Node::Bits]);

/// rsaEncryption and id-ecPublicKey, DER-encoded.
const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// The RSA or EC key inside a PKCS#8 structure that read cleanly.
fn pkcs8_inner(der: &[u8]) -> Option<DerFailure> {
    let mut outer = Reader { data: der };
    let (_, body) = outer.read_tlv().ok()?;
    let mut fields = Reader { data: body };
    fields.read_tlv().ok()?;
    let (_, algorithm) = fields.read_tlv().ok()?;
    let (_, oid) = Reader { data: algorithm }.read_tlv().ok()?;
    let (_, key) = fields.read_tlv().ok()?;
    let schema = match oid {
        RSA_OID => &PKCS1_PRIVATE,
        EC_OID => &SEC1,
        _ => return None,
    };
    parse_single(key, schema).err()
}

fn parse_single(der: &[u8], node: &Node) -> Result<(), DerFailure> {
    let mut reader = Reader { data: der };
    reader.read(node)?;
    if reader.data.is_empty() {
        Ok(())
    } else {
        Err(DerFailure::ExtraData)
    }
}

struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, DerFailure> {
        let (&b, rest) = self
            .data
            .split_first()
            .ok_or(DerFailure::ShortData { needed: 1 })?;
        self.data = rest;
        Ok(b)
    }

    fn tag(&mut self) -> Result<Tag, DerFailure> {
        let first = self.byte()?;
        let class = match first >> 6 {
            0 => TagClass::Universal,
            1 => TagClass::Application,
            2 => TagClass::ContextSpecific,
            _ => TagClass::Private,
        };
        let mut value = u32::from(first & 0x1f);
        if value == 0x1f {
            value = 0;
            loop {
                let b = self.byte()?;
                if value == 0 && b == 0x80 {
                    return Err(DerFailure::InvalidTag);
                }
                value = value.checked_mul(128).ok_or(DerFailure::InvalidTag)? | u32::from(b & 0x7f);
                if b & 0x80 == 0 {
                    break;
                }
            }
            if value < 0x1f {
                return Err(DerFailure::InvalidTag);
            }
        }
        Ok(Tag {
            value,
            constructed: first & 0x20 != 0,
            class,
        })
    }

    fn length(&mut self) -> Result<usize, DerFailure> {
        let first = self.byte()?;
        if first < 0x80 {
            return Ok(usize::from(first));
        }
        // A length takes at most four bytes.
        let count = first & 0x7f;
        if count > 4 {
            return Err(DerFailure::InvalidLength);
        }
        let mut length: usize = 0;
        for _ in 0..count {
            let b = self.byte()?;
            if length > (usize::MAX >> 8) {
                return Err(DerFailure::InvalidLength);
            }
            length = (length << 8) | usize::from(b);
            if length == 0 {
                return Err(DerFailure::InvalidLength);
            }
        }
        if length < 0x80 {
            return Err(DerFailure::InvalidLength);
        }
        Ok(length)
    }

    fn read_tlv(&mut self) -> Result<(Tag, &'a [u8]), DerFailure> {
        let tag = self.tag()?;
        let length = self.length()?;
        if length > self.data.len() {
            return Err(DerFailure::ShortData {
                needed: length - self.data.len(),
            });
        }
        let (body, rest) = self.data.split_at(length);
        self.data = rest;
        Ok((tag, body))
    }

    fn peek_tag(&self) -> Option<Tag> {
        Reader { data: self.data }.tag().ok()
    }

    fn expect(&mut self, number: u32, constructed: bool) -> Result<&'a [u8], DerFailure> {
        let (tag, body) = self.read_tlv()?;
        let wanted = Tag {
            value: number,
            constructed,
            class: TagClass::Universal,
        };
        if tag == wanted {
            Ok(body)
        } else {
            Err(DerFailure::UnexpectedTag(tag))
        }
    }

    fn read(&mut self, node: &Node) -> Result<(), DerFailure> {
        match node {
            Node::Seq(fields) => {
                let body = self.expect(16, true)?;
                let mut inner = Reader { data: body };
                for field in *fields {
                    inner.read(field)?;
                }
                if !inner.data.is_empty() {
                    return Err(DerFailure::ExtraData);
                }
            }
            Node::U8 => {
                let body = self.expect(2, false)?;
                check_integer(body)?;
                if body.len() > 1 + usize::from(body[0] == 0) {
                    return Err(DerFailure::IntegerOverflow);
                }
            }
            Node::UInt => check_integer(self.expect(2, false)?)?,
            Node::Oid => {
                let body = self.expect(6, false)?;
                let bad_arc_start = body
                    .iter()
                    .enumerate()
                    .any(|(i, &b)| b == 0x80 && (i == 0 || body[i - 1] & 0x80 == 0));
                if body.is_empty() || body[body.len() - 1] & 0x80 != 0 || bad_arc_start {
                    return Err(DerFailure::InvalidValue);
                }
            }
            Node::Octet => {
                self.expect(4, false)?;
            }
            Node::Bits => {
                let body = self.expect(3, false)?;
                let Some((&unused, bits)) = body.split_first() else {
                    return Err(DerFailure::InvalidValue);
                };
                let last = bits.last().copied().unwrap_or(0);
                let mask = (1u16 << unused.min(8)) - 1;
                if unused > 7 || (bits.is_empty() && unused != 0) || u16::from(last) & mask != 0 {
                    return Err(DerFailure::InvalidValue);
                }
            }
            Node::OptionalAny => {
                if !self.data.is_empty() {
                    self.read_tlv()?;
                }
            }
            Node::OptionalContext { number, explicit } => {
                let wanted = Tag {
                    value: *number,
                    constructed: true,
                    class: TagClass::ContextSpecific,
                };
                if self.peek_tag() == Some(wanted) {
                    let (_, body) = self.read_tlv()?;
                    if let Some(inner_node) = explicit {
                        let mut inner = Reader { data: body };
                        inner.read(inner_node)?;
                        if !inner.data.is_empty() {
                            return Err(DerFailure::ExtraData);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// DER's INTEGER rules for a non-negative value: not empty, minimal, no
/// sign bit.
fn check_integer(body: &[u8]) -> Result<(), DerFailure> {
    let non_minimal = body.len() > 1
        && ((body[0] == 0 && body[1] & 0x80 == 0) || (body[0] == 0xff && body[1] & 0x80 != 0));
    if body.is_empty() || non_minimal || body[0] & 0x80 != 0 {
        return Err(DerFailure::InvalidValue);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(label: &str, body: &str) -> Vec<u8> {
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n").into_bytes()
    }

    fn failure(label: &str, body: &str) -> Option<Failure> {
        let wanted = if label.contains("PUBLIC") {
            Wanted::PublicKey
        } else {
            Wanted::PrivateKey
        };
        first_failure(&pem(label, body), wanted).map(|(_, f)| f)
    }

    #[test]
    fn base64_failures_in_the_strict_readers_order() {
        use Base64Failure::*;
        let b64 = |body| match failure("PRIVATE KEY", body) {
            Some(Failure::Pem(PemFailure::Base64(f))) => Some(f),
            _ => None,
        };
        assert_eq!(
            b64("AAAA*"),
            Some(InvalidSymbol {
                offset: 4,
                byte: b'*'
            })
        );
        assert_eq!(
            b64("MA==MA=="),
            Some(InvalidSymbol {
                offset: 2,
                byte: b'='
            })
        );
        assert_eq!(
            b64("AAAA="),
            Some(InvalidSymbol {
                offset: 4,
                byte: b'='
            })
        );
        assert_eq!(b64("M"), Some(InvalidLength { len: 1 }));
        assert_eq!(b64("MII"), Some(InvalidPadding));
        assert_eq!(b64("MA="), Some(InvalidPadding));
        assert_eq!(
            b64("MAP="),
            Some(InvalidLastSymbol {
                offset: 2,
                byte: b'P',
                value: 15
            })
        );
        assert_eq!(b64("MA=="), None);
    }

    #[test]
    fn headers_and_blank_lines_as_the_pem_reader_splits_them() {
        let pem_failure = |body: &[u8]| {
            let mut text = b"-----BEGIN PRIVATE KEY-----\n".to_vec();
            text.extend_from_slice(body);
            text.extend_from_slice(b"\n-----END PRIVATE KEY-----\n");
            first_failure(&text, Wanted::PrivateKey).map(|(_, f)| f)
        };
        let header = |line: &str| Some(Failure::Pem(PemFailure::Header(line.to_owned())));
        // A blank line makes the lines before it headers, which need a ':'.
        assert_eq!(pem_failure(b"MA==\n\nMA=="), header("MA=="));
        assert_eq!(pem_failure(b"a: b\nc\n\nMA=="), header("c"));
        assert_eq!(pem_failure(b"x\r\n\r\nMA=="), header("x"));
        // The scanner misses a blank line right after a lone '\r'.
        assert!(matches!(
            pem_failure(b"x\r\n\r\r\n\r\nMA=="),
            Some(Failure::Pem(PemFailure::Base64(_)))
        ));
        // Without a blank line, a header is body: ':' is no base64.
        assert_eq!(
            pem_failure(b"Comment: x\nMA=="),
            Some(Failure::Pem(PemFailure::Base64(
                Base64Failure::InvalidSymbol {
                    offset: 7,
                    byte: b':'
                }
            )))
        );
        // The body is decoded before the headers are read; both UTF-8.
        assert!(matches!(
            pem_failure(b"x\n\n*"),
            Some(Failure::Pem(PemFailure::Base64(_)))
        ));
        assert!(matches!(
            pem_failure(b"MA\xff=="),
            Some(Failure::Pem(PemFailure::NotUtf8(_)))
        ));
        // Any Unicode whitespace is dropped from the body.
        assert_eq!(
            pem_failure(b"MA\x0b=\xc2\xa0="),
            Some(Failure::Der(DerFailure::ShortData { needed: 1 }))
        );
        // The last Proc-Type decides; DEK-Info must come with 4,ENCRYPTED.
        let encryption = |f| Some(Failure::Encryption(f));
        assert_eq!(
            pem_failure(b"Proc-Type: x\n\nMA=="),
            encryption(EncryptionHeader::InvalidProcType)
        );
        assert_eq!(
            pem_failure(b"Proc-Type: 4,ENCRYPTED\n\nMA=="),
            encryption(EncryptionHeader::NoDekInfo)
        );
        assert_eq!(
            pem_failure(b"Proc-Type:4,ENCRYPTED\nDEK-Info: X,00\n\nMA=="),
            encryption(EncryptionHeader::Encrypted)
        );
        assert_eq!(
            pem_failure(b"Proc-Type: 4,ENCRYPTED\nProc-Type: 3\nDEK-Info: X\n\nMA=="),
            encryption(EncryptionHeader::InvalidProcType)
        );
        // Other headers and public keys' headers are ignored.
        assert_eq!(
            pem_failure(b"Comment: x\n\nMA=="),
            Some(Failure::Der(DerFailure::ShortData { needed: 1 }))
        );
        let public =
            b"-----BEGIN PUBLIC KEY-----\nProc-Type: x\n\nMA==\n-----END PUBLIC KEY-----\n";
        assert_eq!(
            first_failure(public, Wanted::PublicKey).map(|(_, f)| f),
            Some(Failure::Der(DerFailure::ShortData { needed: 1 }))
        );
    }

    #[test]
    fn der_failures_where_the_walk_stops() {
        use DerFailure::*;
        let der = |label, bytes: &[u8]| {
            let body: String = {
                // a small base64 encoder for the test inputs
                const A: &[u8] =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                let mut s = String::new();
                for chunk in bytes.chunks(3) {
                    let n = chunk.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b))
                        << (8 * (3 - chunk.len()));
                    for i in 0..4 {
                        if i <= chunk.len() {
                            s.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
                        } else {
                            s.push('=');
                        }
                    }
                }
                s
            };
            match failure(label, &body) {
                Some(Failure::Der(f)) => Some(f),
                _ => None,
            }
        };
        assert_eq!(der("PRIVATE KEY", &[]), Some(ShortData { needed: 1 }));
        assert_eq!(
            der("PRIVATE KEY", &[0x30, 0x81, 5, 2, 1, 0, 4, 0]),
            Some(InvalidLength)
        );
        assert_eq!(
            der("PRIVATE KEY", &[0x30, 3, 2, 1, 0x80]),
            Some(InvalidValue)
        );
        assert_eq!(
            der("PRIVATE KEY", &[0x30, 4, 2, 2, 1, 0]),
            Some(IntegerOverflow)
        );
        assert_eq!(
            der("PRIVATE KEY", &[0x30, 3, 2, 1, 0, 0, 0]),
            Some(ShortData { needed: 1 })
        );
        assert_eq!(
            der("PRIVATE KEY", &[0x30, 7, 2, 1, 0, 0x30, 2, 6, 0]),
            Some(InvalidValue)
        );
        assert_eq!(
            der("PRIVATE KEY", &[0x3f, 0x81, 0x01, 0]),
            Some(UnexpectedTag(Tag {
                value: 129,
                constructed: true,
                class: TagClass::Universal
            }))
        );
        assert_eq!(
            der("PUBLIC KEY", &[0x30, 3, 2, 1, 1]),
            Some(UnexpectedTag(Tag {
                value: 2,
                constructed: false,
                class: TagClass::Universal
            }))
        );
        assert_eq!(
            der("EC PRIVATE KEY", &[0x30, 0x10, 2, 1, 1]),
            Some(ShortData { needed: 13 })
        );
    }
}
