//! Where a strict reader stops in a broken PEM key: the first base64 or
//! DER failure, in the order a strict, non-lenient reader meets them.
//!
//! This crate's loader is lenient and reports its own reasons. Tools that
//! must say what Python `cryptography` (44 and later) says about a key it
//! cannot load need *its* first failure instead: its PEM reader strips the
//! whitespace from the body and decodes the base64 strictly (canonical
//! padding, zero trailing bits), then its DER reader walks the structure
//! the label names, field by field, and stops at the first tag, length or
//! integer it refuses. [`first_failure`] reproduces that walk for the
//! outer structures (PKCS#8, SEC1, PKCS#1, SubjectPublicKeyInfo, and the
//! PKCS#1 or SEC1 key inside a PKCS#8 one); failures it does not model
//! (OpenSSL headers, blank lines inside the body, a key that parses but is
//! unusable) give `None`.

use zeroize::Zeroizing;

/// A strict base64 decoder's first failure in a PEM body (whitespace
/// removed; offsets count the remaining characters).
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

/// What stopped the strict reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The body is not strict base64.
    Base64(Base64Failure),
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
    // Every block's base64 is decoded before any label is looked at.
    if let Some((label, failure)) = base64_failure(pem) {
        return Some((label, Failure::Base64(failure)));
    }
    let block = crate::pem::blocks(pem)
        .map_while(Result::ok)
        .find(|b| labels.contains(&b.label()))?;
    let label = block.label().to_owned();
    let der = decode_base64(block.body()).ok().flatten()?;
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

/// The first PEM block, in file order, whose body is not strict base64,
/// with its label; `None` when every block decodes.
#[must_use]
pub fn base64_failure(pem: &[u8]) -> Option<(String, Base64Failure)> {
    crate::pem::blocks(pem)
        .map_while(Result::ok)
        .find_map(|b| match decode_base64(b.body()) {
            Err(e) => Some((b.label().to_owned(), e)),
            Ok(_) => None,
        })
}

/// Strict base64 of a PEM body. `Ok(None)`: the body has RFC 1421 headers
/// or a blank line, which this reader does not model.
fn decode_base64(body: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, Base64Failure> {
    let text = core::str::from_utf8(body).unwrap_or_default();
    let trimmed = text.trim();
    let blank_line = !trimmed.is_empty() && trimmed.split('\n').any(|l| l.trim().is_empty());
    if text.contains(':') || blank_line {
        return Ok(None);
    }
    let chars: Zeroizing<Vec<u8>> = Zeroizing::new(
        body.iter()
            .copied()
            .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .collect(),
    );
    let value = |b: u8| -> Option<u8> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let len = chars.len();
    let data_len = chars.iter().position(|&b| b == b'=').unwrap_or(len);
    if let Some((offset, &byte)) = chars[..data_len]
        .iter()
        .enumerate()
        .find(|(_, &b)| value(b).is_none())
    {
        return Err(Base64Failure::InvalidSymbol { offset, byte });
    }
    let padded = data_len < len;
    // Padding may only complete the last group of four, after two or
    // three symbols, and nothing may follow it.
    if padded && (data_len % 4 < 2 || chars[data_len..].iter().any(|&b| b != b'=')) {
        return Err(Base64Failure::InvalidSymbol {
            offset: data_len,
            byte: b'=',
        });
    }
    if !padded && len % 4 == 1 {
        return Err(Base64Failure::InvalidLength { len });
    }
    if !len.is_multiple_of(4) {
        return Err(Base64Failure::InvalidPadding);
    }
    let rest = data_len % 4;
    if rest != 0 {
        let byte = chars[data_len - 1];
        let last = value(byte).unwrap_or(0);
        let unused = if rest == 2 { 0x0f } else { 0x03 };
        if last & unused != 0 {
            return Err(Base64Failure::InvalidLastSymbol {
                offset: data_len - 1,
                byte,
                value: last,
            });
        }
    }
    let mut out = Zeroizing::new(Vec::with_capacity(data_len * 3 / 4));
    let mut acc = 0u32;
    let mut bits = 0;
    for &b in &chars[..data_len] {
        acc = (acc << 6) | u32::from(value(b).unwrap_or(0));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(Some(out))
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
            Some(Failure::Base64(f)) => Some(f),
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
