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

/// A key that decodes but that `cryptography` (through OpenSSL) refuses to
/// load, as far as this reader checks: RSA parts that do not agree, EC
/// scalars and points on NIST P-192, P-256 and P-384 (other curves and
/// primality are not checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// An EC private scalar outside `1..n`, a point not on the curve, or a
    /// private key whose public point is not its scalar's.
    InvalidEcKey,
    /// An RSA private key whose parts do not agree (`n ≠ p·q`, `d`
    /// not inverting `e`, or wrong CRT values).
    InvalidRsaPrivateKey,
    /// An EC public key that is the point at infinity.
    PointAtInfinity,
    /// An RSA public exponent below 3 or not below the modulus.
    RsaExponent,
    /// An Ed25519 or X25519 PKCS#8 private key whose key octets are not 32
    /// bytes: OpenSSL's raw key setup fails, which cryptography reports as
    /// an `InternalError` ("Unknown OpenSSL error").
    RawPrivateKeySetup,
    /// An Ed25519 or X25519 public key whose key bits are not 32 bytes
    /// (cryptography's "Invalid key").
    RawPublicKeyLength,
}

/// What stopped the strict reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The PEM reader refuses a block.
    Pem(PemFailure),
    /// The private key block's encryption headers stop the loader.
    Encryption(EncryptionHeader),
    /// The key decodes but its numbers make no key.
    Unusable(Unusable),
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

/// What the public key loader reports when a caller falls back on it
/// after the private key loader raised a `ValueError` (imgtool's
/// `keys.load`, imgtool/keys/__init__.py: `load_pem_private_key`, then
/// `load_pem_public_key` in its `except ValueError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicFallback {
    /// The PEM reads, but its first block is no public key (the public
    /// loader looks no further).
    NoPublicBlock,
    /// The public key block's first failure, with its label.
    Fails(String, Failure),
    /// No fallback: the private key loader raised an exception that is no
    /// `ValueError` (cryptography's `InternalError` for OpenSSL's failed
    /// raw key setup); its failure, with the private block's label.
    PrivateUncaught(String, Failure),
}

/// Where a private-then-public load of `pem` ends, when both attempts
/// fail: the second attempt's failure, which is what an uncaught
/// exception shows last. `None` when one attempt loads as far as this
/// reader checks, when the private key is encrypted (a `TypeError`, which
/// the caller answers by asking for a password), and when the text has no
/// complete PEM block (the framing errors are the lenient loader's).
#[must_use]
pub fn private_then_public(pem: &[u8]) -> Option<PublicFallback> {
    const PRIVATE: [&str; 3] = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"];
    let mut labels = Vec::new();
    for block in crate::pem::blocks(pem) {
        labels.push(block.ok()?.label());
    }
    if labels.is_empty() {
        return None;
    }
    // Both loaders decode every block first: the same PEM failure twice.
    if let Some((label, failure)) = pem_failure(pem) {
        return Some(PublicFallback::Fails(label, Failure::Pem(failure)));
    }
    // The private loader takes the first block of these labels; an
    // encrypted PKCS#8 or a DSA key is not modelled here.
    let private = ["ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY"];
    match labels
        .iter()
        .find(|l| PRIVATE.contains(l) || private.contains(l))
    {
        Some(l) if private.contains(l) => return None,
        Some(_) => match first_failure(pem, Wanted::PrivateKey) {
            None | Some((_, Failure::Encryption(EncryptionHeader::Encrypted))) => return None,
            Some((label, f @ Failure::Unusable(Unusable::RawPrivateKeySetup))) => {
                return Some(PublicFallback::PrivateUncaught(label, f));
            }
            Some(_) => {}
        },
        None => {}
    }
    if !first_block_is_public(pem) {
        return Some(PublicFallback::NoPublicBlock);
    }
    first_failure(pem, Wanted::PublicKey).map(|(label, f)| PublicFallback::Fails(label, f))
}

/// Whether the first PEM block of `pem` is a public key (`PUBLIC KEY`,
/// `RSA PUBLIC KEY`): cryptography's `load_pem_public_key` reads that
/// block only, and fails with "Valid PEM but no BEGIN PUBLIC KEY/END
/// PUBLIC KEY delimiters" when it is anything else, even with a public
/// key block further on.
#[must_use]
pub fn first_block_is_public(pem: &[u8]) -> bool {
    crate::pem::blocks(pem)
        .next()
        .and_then(Result::ok)
        .is_some_and(|b| b.format().is_some_and(|f| !f.is_private()))
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
    });
    if let Some(failure) = failure {
        return Some((label, Failure::Der(failure)));
    }
    let unusable = unusable(&label, &der)?;
    Some((label, Failure::Unusable(unusable)))
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
    /// Like [`Node::OptionalAny`], but an OBJECT IDENTIFIER (a named
    /// curve) must be well-formed.
    OptionalParameters,
    /// An optional context-specific element `[n]` (explicit: wrapping one
    /// element of the given node; implicit: its contents are not read).
    OptionalContext {
        number: u32,
        explicit: Option<&'static Node>,
    },
}

/// Algorithm parameters (and SEC1's `[0]`): a named curve's OID must be
/// a valid one; other parameters are read as any element.
const ALGORITHM: Node = Node::Seq(&[Node::Oid, Node::OptionalParameters]);
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
        explicit: Some(&Node::OptionalParameters),
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
            Node::OptionalParameters => {
                let oid = Tag {
                    value: 6,
                    constructed: false,
                    class: TagClass::Universal,
                };
                if self.peek_tag() == Some(oid) {
                    self.read(&Node::Oid)?;
                } else if !self.data.is_empty() {
                    self.read_tlv()?;
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

/// The numbers of a key whose DER reads cleanly, checked as OpenSSL checks
/// them when `cryptography` loads the key.
fn unusable(label: &str, der: &[u8]) -> Option<Unusable> {
    use der::Decode;
    use rsa::pkcs1;
    match label {
        "RSA PRIVATE KEY" => rsa_private(&pkcs1::RsaPrivateKey::from_der(der).ok()?),
        "RSA PUBLIC KEY" => rsa_public(&pkcs1::RsaPublicKey::from_der(der).ok()?),
        "EC PRIVATE KEY" => {
            let key = sec1::EcPrivateKey::from_der(der).ok()?;
            let curve = key.parameters.and_then(|p| p.named_curve())?;
            ec_key(&curve, Some(key.private_key), key.public_key)
        }
        "PRIVATE KEY" => {
            let info = pkcs8::PrivateKeyInfo::from_der(der).ok()?;
            match info.algorithm.oid {
                crate::oid::RSA_ENCRYPTION => {
                    rsa_private(&pkcs1::RsaPrivateKey::from_der(info.private_key).ok()?)
                }
                crate::oid::EC_PUBLIC_KEY => {
                    let key = sec1::EcPrivateKey::from_der(info.private_key).ok()?;
                    let curve = info
                        .algorithm
                        .parameters_oid()
                        .ok()
                        .or_else(|| key.parameters.and_then(|p| p.named_curve()))?;
                    ec_key(&curve, Some(key.private_key), key.public_key)
                }
                // RFC 8410 CurvePrivateKey: an OCTET STRING inside
                crate::oid::ED25519 | crate::oid::X25519 => {
                    let key = der::asn1::OctetStringRef::from_der(info.private_key).ok()?;
                    (key.as_bytes().len() != 32).then_some(Unusable::RawPrivateKeySetup)
                }
                _ => None,
            }
        }
        "PUBLIC KEY" => {
            let info = spki::SubjectPublicKeyInfoRef::from_der(der).ok()?;
            let bits = info.subject_public_key.as_bytes()?;
            match info.algorithm.oid {
                crate::oid::RSA_ENCRYPTION => {
                    rsa_public(&pkcs1::RsaPublicKey::from_der(bits).ok()?)
                }
                crate::oid::EC_PUBLIC_KEY => {
                    ec_key(&info.algorithm.parameters_oid().ok()?, None, Some(bits))
                }
                crate::oid::ED25519 | crate::oid::X25519 => {
                    (bits.len() != 32).then_some(Unusable::RawPublicKeyLength)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn big(int: der::asn1::UintRef<'_>) -> rsa::BigUint {
    rsa::BigUint::from_bytes_be(int.as_bytes())
}

/// OpenSSL's `RSA_check_key` on a two-prime key, without its primality
/// tests: `n = p·q`, `d·e ≡ 1` modulo `p − 1` and `q − 1`, and the CRT
/// values `d mod (p − 1)`, `d mod (q − 1)`, `q⁻¹ mod p`.
fn rsa_private(key: &rsa::pkcs1::RsaPrivateKey<'_>) -> Option<Unusable> {
    use rsa::BigUint;
    let one = BigUint::from(1u8);
    let (n, e, d) = (
        big(key.modulus),
        big(key.public_exponent),
        zeroize::Zeroizing::new(big(key.private_exponent)),
    );
    let (p, q) = (
        zeroize::Zeroizing::new(big(key.prime1)),
        zeroize::Zeroizing::new(big(key.prime2)),
    );
    let (dp, dq, qi) = (
        zeroize::Zeroizing::new(big(key.exponent1)),
        zeroize::Zeroizing::new(big(key.exponent2)),
        zeroize::Zeroizing::new(big(key.coefficient)),
    );
    if *p <= one || *q <= one || key.other_prime_infos.is_some() {
        return (key.other_prime_infos.is_none()).then_some(Unusable::InvalidRsaPrivateKey);
    }
    let (p1, q1) = (&*p - &one, &*q - &one);
    let de = zeroize::Zeroizing::new(&*d * &e);
    let consistent = n == &*p * &*q
        && &*de % &p1 == one
        && &*de % &q1 == one
        && *dp == &*d % &p1
        && *dq == &*d % &q1
        && (&*qi * &*q) % &*p == one;
    (!consistent).then_some(Unusable::InvalidRsaPrivateKey)
}

/// cryptography's check of an RSA public key's exponent.
fn rsa_public(key: &rsa::pkcs1::RsaPublicKey<'_>) -> Option<Unusable> {
    let (n, e) = (big(key.modulus), big(key.public_exponent));
    (e < rsa::BigUint::from(3u8) || e >= n).then_some(Unusable::RsaExponent)
}

/// Checks an EC key on the curve `curve` (an unknown curve: `None`): the
/// scalar in `1..n`, the point on the curve and, with both, the point the
/// scalar's.
fn ec_key(
    curve: &der::asn1::ObjectIdentifier,
    scalar: Option<&[u8]>,
    point: Option<&[u8]>,
) -> Option<Unusable> {
    match *curve {
        crate::oid::SECP192R1 => ec_p192(scalar, point),
        crate::oid::SECP256R1 => ec_p256(scalar, point),
        crate::oid::SECP384R1 => ec_p384(scalar, point),
        _ => None,
    }
}

macro_rules! ec_check {
    ($name:ident, $curve:ident, $point:ident) => {
        fn $name(scalar: Option<&[u8]>, point: Option<&[u8]>) -> Option<Unusable> {
            let public = match point {
                // SEC 1 §2.3.3: a lone zero octet encodes the identity.
                Some([0]) if scalar.is_none() => return Some(Unusable::PointAtInfinity),
                Some(bytes) => {
                    match $curve::elliptic_curve::PublicKey::<$curve::$point>::from_sec1_bytes(
                        bytes,
                    ) {
                        Ok(p) => Some(p),
                        Err(_) => return Some(Unusable::InvalidEcKey),
                    }
                }
                None => None,
            };
            let scalar = scalar?;
            let digits = &scalar[scalar.iter().take_while(|&&b| b == 0).count()..];
            let mut field = $curve::FieldBytes::default();
            let size = field.len();
            if digits.len() > size {
                return Some(Unusable::InvalidEcKey);
            }
            field[size - digits.len()..].copy_from_slice(digits);
            let secret = $curve::elliptic_curve::SecretKey::<$curve::$point>::from_bytes(&field);
            zeroize::Zeroize::zeroize(field.as_mut_slice());
            match secret {
                Ok(secret) if public.is_none_or(|p| p == secret.public_key()) => None,
                _ => Some(Unusable::InvalidEcKey),
            }
        }
    };
}
ec_check!(ec_p192, p192, NistP192);
ec_check!(ec_p256, p256, NistP256);
ec_check!(ec_p384, p384, NistP384);

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
    fn private_then_public_reports_the_second_attempt() {
        use PublicFallback::*;
        // a private key block whose DER breaks: no public block to fall on
        let broken_private = pem("PRIVATE KEY", "MAA=");
        assert_eq!(private_then_public(&broken_private), Some(NoPublicBlock));
        // a broken public key block: its own failure
        assert!(matches!(
            private_then_public(&pem("PUBLIC KEY", "MAA=")),
            Some(Fails(label, Failure::Der(_))) if label == "PUBLIC KEY"
        ));
        // a PEM failure is both attempts' failure
        assert!(matches!(
            private_then_public(&pem("PRIVATE KEY", "MAB=")),
            Some(Fails(_, Failure::Pem(_)))
        ));
        // a PEM block that is no key at all
        assert_eq!(
            private_then_public(&pem("CERTIFICATE", "MAA=")),
            Some(NoPublicBlock)
        );
        // encrypted keys ask for a password; unframed text is not judged
        assert_eq!(
            private_then_public(&pem("ENCRYPTED PRIVATE KEY", "MAA=")),
            None
        );
        // the public loader reads the first block only: a public key
        // after another block is not found, one before it is read
        let public = pem("PUBLIC KEY", "MAA=");
        assert!(!first_block_is_public(
            &[pem("FOO", "AAAA"), public.clone()].concat()
        ));
        assert!(first_block_is_public(
            &[public.clone(), pem("FOO", "AAAA")].concat()
        ));
        assert_eq!(
            private_then_public(&[pem("FOO", "AAAA"), public.clone()].concat()),
            Some(NoPublicBlock)
        );
        assert!(matches!(
            private_then_public(&[public, pem("FOO", "AAAA")].concat()),
            Some(Fails(label, Failure::Der(_))) if label == "PUBLIC KEY"
        ));
        assert_eq!(private_then_public(b"not a key"), None);
        assert_eq!(
            private_then_public(b"-----BEGIN PRIVATE KEY-----\nMAA=\n"),
            None
        );
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

    fn unusable_of(label: &str, der: &[u8]) -> Option<Failure> {
        let wanted = if label.contains("PUBLIC") {
            Wanted::PublicKey
        } else {
            Wanted::PrivateKey
        };
        first_failure(&pem(label, &STANDARD.encode(der)), wanted).map(|(_, f)| f)
    }

    #[test]
    fn rsa_numbers_as_openssl_checks_them() {
        // p = 61, q = 53, n = 3233, e = 17, d = 2753: a consistent toy key
        let key = |e: u8, qi: u8| {
            let mut der = vec![
                0x30, 29, 2, 1, 0, 2, 2, 0x0c, 0xa1, 2, 1, e, 2, 2, 0x0a, 0xc1,
            ];
            for v in [61, 53, 53, 49, qi] {
                der.extend_from_slice(&[2, 1, v]);
            }
            der
        };
        assert_eq!(unusable_of("RSA PRIVATE KEY", &key(17, 38)), None);
        let invalid = Some(Failure::Unusable(Unusable::InvalidRsaPrivateKey));
        assert_eq!(unusable_of("RSA PRIVATE KEY", &key(17, 39)), invalid);
        assert_eq!(unusable_of("RSA PRIVATE KEY", &key(19, 38)), invalid);
        let public = |e: u8| [0x30, 7, 2, 2, 0x0c, 0xa1, 2, 1, e];
        assert_eq!(unusable_of("RSA PUBLIC KEY", &public(3)), None);
        assert_eq!(
            unusable_of("RSA PUBLIC KEY", &public(1)),
            Some(Failure::Unusable(Unusable::RsaExponent))
        );
    }

    #[test]
    fn ec_numbers_as_openssl_checks_them() {
        use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
        let secret = p256::SecretKey::from_bytes(&[7u8; 32].into()).unwrap();
        let pkcs8 = secret.to_pkcs8_der().unwrap();
        let der = pkcs8.as_bytes();
        assert_eq!(unusable_of("PRIVATE KEY", der), None);
        let invalid = Some(Failure::Unusable(Unusable::InvalidEcKey));
        let replaced = |from: &[u8], to: &[u8]| {
            let at = der.windows(from.len()).position(|w| w == from).unwrap();
            let mut out = der.to_vec();
            out[at..at + from.len()].copy_from_slice(to);
            out
        };
        assert_eq!(
            unusable_of("PRIVATE KEY", &replaced(&[7; 32], &[0; 32])),
            invalid
        );
        assert_eq!(
            unusable_of("PRIVATE KEY", &replaced(&[7; 32], &[0xff; 32])),
            invalid
        );
        // the scalar 8 with the point of 7
        assert_eq!(
            unusable_of("PRIVATE KEY", &replaced(&[7; 32], &[8; 32])),
            invalid
        );
        let spki = secret.public_key().to_public_key_der().unwrap();
        let spki = spki.as_bytes();
        assert_eq!(unusable_of("PUBLIC KEY", spki), None);
        let mut off_curve = spki.to_vec();
        *off_curve.last_mut().unwrap() ^= 1;
        assert_eq!(unusable_of("PUBLIC KEY", &off_curve), invalid);
        // AlgorithmIdentifier, then BIT STRING { 0 unused bits, 0x00 }
        let algorithm = &spki[2..2 + 2 + usize::from(spki[3])];
        let mut infinity = vec![0x30, (algorithm.len() + 4) as u8];
        infinity.extend_from_slice(algorithm);
        infinity.extend_from_slice(&[3, 2, 0, 0]);
        assert_eq!(
            unusable_of("PUBLIC KEY", &infinity),
            Some(Failure::Unusable(Unusable::PointAtInfinity))
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
