//! EC keys whose curve is spelled out instead of named.
//!
//! `openssl ec -param_enc explicit` writes a key's curve as its explicit
//! ECParameters (RFC 3279 §2.3.5: the prime, the coefficients, the base
//! point, the order) where keys normally carry the curve's OID. OpenSSL,
//! and so Python's `cryptography` (what imgtool and espsecure load keys
//! with), recognise the parameters of a named curve and load such a key as
//! that curve's. The RustCrypto parsers take named curves only, so a key
//! file's DER is rewritten first: explicit parameters equal to P-256's or
//! P-384's become the curve's OID (the seed, which does not change the
//! curve, is not compared).

use std::vec::Vec;

/// One DER element: its tag, and its contents as bytes or, for a
/// constructed element, as its elements.
enum Node {
    Primitive(u8, Vec<u8>),
    Constructed(u8, Vec<Node>),
}

/// The elements of `der`, or `None` when it is not a run of whole DER
/// elements with one-byte tags.
fn parse(mut der: &[u8]) -> Option<Vec<Node>> {
    let mut nodes = Vec::new();
    while !der.is_empty() {
        let tag = der[0];
        let first = *der.get(1)?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return None;
            }
            let bytes = der.get(2..2 + n)?;
            (
                bytes.iter().fold(0usize, |l, b| (l << 8) | usize::from(*b)),
                2 + n,
            )
        };
        let content = der.get(header..header.checked_add(len)?)?;
        // a tag's low five bits all set would continue in the next byte
        if tag & 0x1f == 0x1f {
            return None;
        }
        nodes.push(if tag & 0x20 != 0 {
            Node::Constructed(tag, parse(content)?)
        } else {
            Node::Primitive(tag, content.to_vec())
        });
        der = &der[header + len..];
    }
    Some(nodes)
}

fn encode(node: &Node, out: &mut Vec<u8>) {
    let (tag, content) = match node {
        Node::Primitive(tag, bytes) => (*tag, bytes.clone()),
        Node::Constructed(tag, children) => {
            let mut content = Vec::new();
            for child in children {
                encode(child, &mut content);
            }
            (*tag, content)
        }
    };
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend(content);
}

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;

/// `id-fieldType prime-field` (1.2.840.10045.1.1), DER contents.
const PRIME_FIELD: [u8; 7] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x01, 0x01];

/// A curve as explicit parameters describe it, without the seed: the field,
/// a, b, the base point, the order, the cofactor (1 when absent).
#[derive(PartialEq, Eq)]
struct Curve<'a> {
    field: &'a [Node],
    a: &'a [u8],
    b: &'a [u8],
    base: &'a [u8],
    order: &'a [u8],
    cofactor: &'a [u8],
}

impl PartialEq for Node {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Node::Primitive(t, a), Node::Primitive(u, b)) => t == u && a == b,
            (Node::Constructed(t, a), Node::Constructed(u, b)) => t == u && a == b,
            _ => false,
        }
    }
}

impl Eq for Node {}

/// The curve an `ECParameters` SEQUENCE's elements describe, if they are
/// explicit prime-field parameters.
fn curve(children: &[Node]) -> Option<Curve<'_>> {
    let [Node::Primitive(0x02, version), Node::Constructed(SEQUENCE, field), Node::Constructed(SEQUENCE, coefficients), Node::Primitive(0x04, base), Node::Primitive(0x02, order), rest @ ..] =
        children
    else {
        return None;
    };
    if version.as_slice() != [1] {
        return None;
    }
    match field.as_slice() {
        [Node::Primitive(OID, oid), Node::Primitive(0x02, _)] if oid.as_slice() == PRIME_FIELD => {}
        _ => return None,
    }
    let (a, b) = match coefficients.as_slice() {
        [Node::Primitive(0x04, a), Node::Primitive(0x04, b), ..] => (a, b),
        _ => return None,
    };
    let cofactor: &[u8] = match rest {
        [] => &[1],
        [Node::Primitive(0x02, h)] => h,
        _ => return None,
    };
    Some(Curve {
        field,
        a,
        b,
        base,
        order,
        cofactor,
    })
}

/// `openssl ecparam -name prime256v1 -param_enc explicit -outform DER`
/// (the parameters of SEC 2 v2 §2.4.2 `secp256r1`, with the seed).
const P256_EXPLICIT: &str = "3081f7020101302c06072a8648ce3d0101022100ffffffff00000001000000000000000000000000ffffffffffffffffffffffff305b0420ffffffff00000001000000000000000000000000fffffffffffffffffffffffc04205ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b031500c49d360886e704936a6678e1139d26b7819f7e900441046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551020101";
/// `openssl ecparam -name secp384r1 -param_enc explicit -outform DER`
/// (SEC 2 v2 §2.5.1 `secp384r1`, with the seed).
const P384_EXPLICIT: &str = "30820157020101303c06072a8648ce3d0101023100fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff307b0430fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc0430b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef031500a335926aa319a27a1d00896a6773a4827acdac73046104aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab73617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f023100ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973020101";

/// The named curve whose explicit parameters `children` are: its OID's DER
/// contents.
fn named(children: &[Node]) -> Option<Vec<u8>> {
    let given = curve(children)?;
    [
        (P256_EXPLICIT, crate::oid::SECP256R1),
        (P384_EXPLICIT, crate::oid::SECP384R1),
    ]
    .into_iter()
    .find_map(|(explicit, oid)| {
        let bytes: Vec<u8> = (0..explicit.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&explicit[i..i + 2], 16).ok())
            .collect();
        let known = parse(&bytes)?;
        let [Node::Constructed(SEQUENCE, known)] = known.as_slice() else {
            return None;
        };
        (curve(known)? == given).then(|| oid.as_bytes().to_vec())
    })
}

/// Replaces every explicit-parameters element among `nodes` (at any depth)
/// that names P-256 or P-384 with the curve's OID; returns whether one was.
fn replace(nodes: &mut [Node]) -> bool {
    let mut replaced = false;
    for node in nodes.iter_mut() {
        if let Node::Constructed(tag, children) = node {
            if *tag == SEQUENCE {
                if let Some(oid) = named(children) {
                    *node = Node::Primitive(OID, oid);
                    replaced = true;
                    continue;
                }
            }
            replaced |= replace(children);
        }
    }
    replaced
}

/// `der` with explicit P-256 or P-384 parameters replaced by the curve's
/// name, or `None` when it has none (or is not DER).
pub(crate) fn with_named_curves(der: &[u8]) -> Option<Vec<u8>> {
    let mut nodes = parse(der)?;
    if !replace(&mut nodes) {
        return None;
    }
    let mut out = Vec::with_capacity(der.len());
    for node in &nodes {
        encode(node, &mut out);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyFile, KeyKind, PrivateKey};

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A SEC1 key of `kind` with its named curve replaced by `explicit`.
    fn explicit_key(kind: KeyKind, explicit: &[u8]) -> (Vec<u8>, KeyFile) {
        let key = PrivateKey::generate(kind).unwrap();
        let named = key.to_traditional_der().unwrap();
        let mut nodes = parse(&named).unwrap();
        let Node::Constructed(_, fields) = &mut nodes[0] else {
            panic!("a SEC1 key is a SEQUENCE");
        };
        let Node::Constructed(0xa0, parameters) = &mut fields[2] else {
            panic!("[0] parameters");
        };
        parameters[0] = parse(explicit).unwrap().remove(0);
        let mut der = Vec::new();
        encode(&nodes[0], &mut der);
        (der, KeyFile::Private(key))
    }

    #[test]
    fn explicit_p256_and_p384_parameters_load_as_the_named_curve() {
        for (kind, explicit) in [
            (KeyKind::EcdsaP256, P256_EXPLICIT),
            (KeyKind::EcdsaP384, P384_EXPLICIT),
        ] {
            let (der, key) = explicit_key(kind, &hex(explicit));
            let loaded = KeyFile::from_der_as(&der, crate::KeyFormat::Sec1, None).unwrap();
            assert_eq!(loaded.kind(), kind);
            assert_eq!(
                loaded.public_key().to_spki_der().unwrap(),
                key.public_key().to_spki_der().unwrap()
            );
        }
    }

    #[test]
    fn parameters_of_another_curve_are_left_alone() {
        // P-256's parameters with a changed: no named curve
        let mut explicit = hex(P256_EXPLICIT);
        let b = explicit.len() - 150;
        explicit[b] ^= 1;
        let (der, _) = explicit_key(KeyKind::EcdsaP256, &explicit);
        assert!(with_named_curves(&der).is_none());
        assert!(KeyFile::from_der_as(&der, crate::KeyFormat::Sec1, None).is_err());
    }
}
