//! The protected TLVs (hashed with the image), in imgtool's order
//! (`image.py` `Image.create`): security counter, boot record,
//! dependencies, vendor and class UUIDs, custom TLVs; and imgtool's text
//! forms of them (`-d`, `--vid`/`--cid`, `--custom-tlv`).

use std::borrow::Cow;
use std::vec::Vec;

use uuid::Uuid;

use super::error::{OptionError, SignError};
use super::options::{SecurityCounter, SignOptions};
use crate::codec::tlv::{TlvArea, TlvKind, TlvWriter, TLV_HEADER_SIZE};
use crate::{Dependency, HashAlg, ImageVersion, VersionError, VersionField};

/// Custom protected TLVs (`--custom-tlv`, `--custom-tlv-file`), in order,
/// each type at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomTlvs(Vec<(TlvKind, Vec<u8>)>);

impl CustomTlvs {
    /// Adds a TLV of type `code`, by imgtool's rules: not the same type
    /// twice, a type inside [`crate::codec::tlv::CUSTOM_TLV_RANGE`], a
    /// value a TLV can hold.
    ///
    /// # Errors
    /// [`OptionError::DuplicateCustomTlv`], [`OptionError::CustomTlvType`]
    /// or [`OptionError::CustomTlvTooLong`].
    pub fn push(&mut self, code: u64, value: Vec<u8>) -> Result<(), OptionError> {
        if let Some(dup) = self.0.iter().find(|(k, _)| u64::from(k.code()) == code) {
            return Err(OptionError::DuplicateCustomTlv(dup.0.code()));
        }
        let kind = TlvKind::custom(code)?;
        if u16::try_from(value.len()).is_err() {
            return Err(OptionError::CustomTlvTooLong {
                kind: kind.code(),
                len: value.len(),
            });
        }
        self.0.push((kind, value));
        Ok(())
    }

    /// The TLVs in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (TlvKind, &[u8])> {
        self.0.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    /// True when there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// imgtool's `--custom-tlv TAG VALUE` value: `0x` and an even number of
/// hex digits (Python's `bytes.fromhex`, whitespace between bytes
/// allowed), else the text itself in UTF-8.
///
/// # Errors
/// [`OptionError::CustomTlvOdd`] or [`OptionError::CustomTlvHex`] for bad
/// hex after `0x`.
pub fn custom_tlv_value(text: &str) -> Result<Vec<u8>, OptionError> {
    let Some(digits) = text.strip_prefix("0x") else {
        return Ok(text.as_bytes().to_vec());
    };
    if digits.chars().count() % 2 != 0 {
        return Err(OptionError::CustomTlvOdd);
    }
    python_fromhex(digits).map_err(|position| OptionError::CustomTlvHex { position })
}

/// Python's `bytes.fromhex(text)`: pairs of ASCII hex digits, ASCII blanks
/// allowed before each pair. Fails with the position (in characters) of
/// the first character that is not a hex digit where one is expected.
fn python_fromhex(text: &str) -> Result<Vec<u8>, usize> {
    let chars: Vec<char> = text.chars().collect();
    let digit = |at: usize| {
        chars
            .get(at)
            .filter(|c| c.is_ascii())
            .and_then(|c| c.to_digit(16))
            .ok_or(at)
    };
    let mut bytes = Vec::with_capacity(chars.len() / 2);
    let mut at = 0;
    while at < chars.len() {
        if matches!(chars[at], ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r') {
            at += 1;
            continue;
        }
        let high = digit(at)?;
        let low = digit(at + 1)?;
        // two hex digits: always a byte
        bytes.push((high * 16 + low) as u8);
        at += 2;
    }
    Ok(bytes)
}

/// imgtool's `-d` text could not be read (`main.py` `get_dependencies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DependencyError {
    /// No `(<image_ID>` in the text.
    #[error("expected \"(<image_ID>,<image_version>), ...\"")]
    Syntax,
    /// Different numbers of image ids and versions.
    #[error("{images} image ids but {versions} versions; expected \"(<image_ID>,<image_version>), ...\"")]
    CountMismatch {
        /// Image ids found.
        images: usize,
        /// Versions found.
        versions: usize,
    },
    /// An image id beyond the one byte a DEPENDENCY TLV holds.
    #[error("image id {0} is out of range (0..=255)")]
    ImageId(u64),
    /// A version imgtool's `decode_version` refuses.
    #[error("version {index}: {error}")]
    Version {
        /// Its position in the list, from 1.
        index: usize,
        /// Why.
        error: VersionError,
    },
}

/// What imgtool's `\((\d+)` finds (`get_dependencies`): the run of
/// decimal digits after each `(`. Python's `\d` takes any Unicode decimal
/// digit.
fn dependency_ids(text: &str) -> Vec<&str> {
    text.match_indices('(')
        .filter_map(|(at, _)| {
            let rest = &text[at + 1..];
            let end = rest
                .find(|c| py_int::decimal_digit(c).is_none())
                .unwrap_or(rest.len());
            (end > 0).then(|| &rest[..end])
        })
        .collect()
}

/// What imgtool's `,\s*([0-9.+]+)\)` finds (`get_dependencies`): after a
/// `,` and blanks, ASCII digits, dots and pluses closed by `)`. Python's
/// `\s` takes the characters `str.isspace()` does.
fn dependency_versions(text: &str) -> Vec<&str> {
    let is_space = |c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c);
    text.match_indices(',')
        .filter_map(|(at, _)| {
            let rest = text[at + 1..].trim_start_matches(is_space);
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
                .unwrap_or(rest.len());
            (end > 0 && rest[end..].starts_with(')')).then(|| &rest[..end])
        })
        .collect()
}

/// One `-d` dependency as imgtool holds it before packing its TLV
/// (`B3xBBHI`): the image id and the version's four parts, each saturated
/// at `u128::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DependencyParts {
    /// The image id, `int()` of the digits.
    pub image_id: u128,
    /// Major, minor, revision, build ([`crate::version_parts`]).
    pub version: [u128; 4],
}

/// Reads `-d` as imgtool's `get_dependencies` does: every image id
/// (`\((\d+)`) is paired with the version (`,\s*([0-9.+]+)\)`) at the same
/// position, and every version must decode. Nothing is fitted to the TLV's
/// fields yet ([`parse_dependencies`] does that).
///
/// # Errors
/// [`DependencyError::Syntax`], [`DependencyError::CountMismatch`], or
/// [`DependencyError::Version`] with [`VersionError::Syntax`].
pub fn parse_dependency_parts(text: &str) -> Result<Vec<DependencyParts>, DependencyError> {
    let ids = dependency_ids(text);
    let versions = dependency_versions(text);
    if ids.is_empty() {
        return Err(DependencyError::Syntax);
    }
    if ids.len() != versions.len() {
        return Err(DependencyError::CountMismatch {
            images: ids.len(),
            versions: versions.len(),
        });
    }
    ids.iter()
        .zip(&versions)
        .enumerate()
        .map(|(i, (id, version))| {
            Ok(DependencyParts {
                // `int(id)`: any decimal digits
                image_id: py_int::parse_decimal(id)
                    .ok()
                    .and_then(|v| u128::try_from(v).ok())
                    .unwrap_or(u128::MAX),
                version: crate::version_parts(version).map_err(|error| {
                    DependencyError::Version {
                        index: i + 1,
                        error,
                    }
                })?,
            })
        })
        .collect()
}

/// [`parse_dependency_parts`], each fitted to the DEPENDENCY TLV: the id
/// to a byte, then the version's fields, in imgtool's packing order.
///
/// # Errors
/// [`DependencyError`].
pub fn parse_dependencies(text: &str) -> Result<Vec<Dependency>, DependencyError> {
    parse_dependency_parts(text)?
        .into_iter()
        .enumerate()
        .map(|(i, parts)| {
            let image_id = u8::try_from(parts.image_id).map_err(|_| {
                DependencyError::ImageId(u64::try_from(parts.image_id).unwrap_or(u64::MAX))
            })?;
            let [major, minor, revision, build] = parts.version;
            let out_of_range = |field| DependencyError::Version {
                index: i + 1,
                error: VersionError::OutOfRange(field),
            };
            let version = ImageVersion {
                major: u8::try_from(major).map_err(|_| out_of_range(VersionField::Major))?,
                minor: u8::try_from(minor).map_err(|_| out_of_range(VersionField::Minor))?,
                revision: u16::try_from(revision)
                    .map_err(|_| out_of_range(VersionField::Revision))?,
                build: u32::try_from(build).map_err(|_| out_of_range(VersionField::Build))?,
            };
            Ok(Dependency { image_id, version })
        })
        .collect()
}

/// A `--vid` or `--cid` imgtool cannot read (`image.py` `parse_uuid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UuidError {
    /// Not a raw UUID and not printable text.
    #[error("unknown UUID format (neither a UUID nor printable text)")]
    Format,
    /// A class name without a vendor UUID to derive it from.
    #[error("a class name needs a vendor UUID as its namespace (or give a raw UUID)")]
    NoNamespace,
}

/// imgtool's `parse_uuid`: a raw UUID (`8-4-4-4-12` hex digits, or 32 hex
/// digits), else printable text hashed into a version-5 UUID under
/// `namespace` (RFC 4122 §4.3).
///
/// # Errors
/// [`UuidError`].
pub fn parse_uuid(namespace: Option<&Uuid>, value: &str) -> Result<Uuid, UuidError> {
    let hex_only = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    let groups: Vec<&str> = value.split('-').collect();
    let dashed = groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| hex_only(g));
    let compact = value.len() == 32 && hex_only(value);
    if dashed || compact {
        return Uuid::try_parse(value).map_err(|_| UuidError::Format);
    }
    // imgtool hashes the text only if Python's `str.isprintable()` holds
    if !value.chars().all(py_repr::is_printable) {
        return Err(UuidError::Format);
    }
    let namespace = namespace.ok_or(UuidError::NoNamespace)?;
    Ok(Uuid::new_v5(namespace, value.as_bytes()))
}

/// `--vid` and `--cid` as imgtool reads them: the vendor UUID in the DNS
/// namespace, the class UUID in the vendor's.
///
/// # Errors
/// [`OptionError::Vid`] or [`OptionError::Cid`].
pub fn parse_vid_cid(
    vid: Option<&str>,
    cid: Option<&str>,
) -> Result<(Option<Uuid>, Option<Uuid>), OptionError> {
    let vid = vid
        .map(|v| parse_uuid(Some(&Uuid::NAMESPACE_DNS), v))
        .transpose()
        .map_err(OptionError::Vid)?;
    let cid = cid
        .map(|c| parse_uuid(vid.as_ref(), c))
        .transpose()
        .map_err(OptionError::Cid)?;
    Ok((vid, cid))
}

/// `SwComponent` keys of the boot record (`boot_record.py`).
mod sw_component {
    pub(super) const TYPE: u8 = 1;
    pub(super) const MEASUREMENT_VALUE: u8 = 2;
    pub(super) const VERSION: u8 = 4;
    pub(super) const SIGNER_ID: u8 = 5;
    pub(super) const MEASUREMENT_DESCRIPTION: u8 = 6;
}

/// The BOOT_RECORD TLV value (`boot_record.py` `create_sw_component_data`,
/// reference/mcuboot.md §1.8): a CBOR map `{1: sw_type, 4: "maj.min.rev",
/// 5: signer_id, 6: hash name, 2: zeros}` whose measurement value the
/// bootloader fills in later, so it comes last.
#[must_use]
pub fn boot_record(
    sw_type: &str,
    version: &ImageVersion,
    hash: HashAlg,
    signer_id: &[u8],
) -> Vec<u8> {
    use sw_component::*;
    let sw_version = std::format!("{}.{}.{}", version.major, version.minor, version.revision);
    let zeros = std::vec![0u8; hash.digest_len()];
    let mut out = Vec::new();
    let mut e = minicbor::Encoder::new(&mut out);
    let encoded = (|| {
        e.map(5)?
            .u8(TYPE)?
            .str(sw_type)?
            .u8(VERSION)?
            .str(&sw_version)?
            .u8(SIGNER_ID)?
            .bytes(signer_id)?
            .u8(MEASUREMENT_DESCRIPTION)?
            .str(hash.name())?
            .u8(MEASUREMENT_VALUE)?
            .bytes(&zeros)?;
        Ok::<_, minicbor::encode::Error<core::convert::Infallible>>(())
    })();
    // Writing primitives into a Vec cannot fail.
    debug_assert!(encoded.is_ok());
    out
}

/// The protected TLVs for `opts`, in imgtool's order. `signer_id` is the
/// hash of the signing key (zeros unsigned).
fn protected_tlvs<'o>(
    opts: &'o SignOptions,
    hash: HashAlg,
    signer_id: &[u8],
) -> Vec<(TlvKind, Cow<'o, [u8]>)> {
    let mut tlvs = Vec::new();
    if let Some(sc) = opts.security_counter {
        let value = match sc {
            SecurityCounter::Value(v) => v,
            SecurityCounter::Auto => opts.version.security_counter(),
        };
        tlvs.push((
            TlvKind::SecCnt,
            Cow::Owned(opts.endian.u32_bytes(value).to_vec()),
        ));
    }
    if let Some(sw_type) = &opts.boot_record {
        let record = boot_record(sw_type, &opts.version, hash, signer_id);
        tlvs.push((TlvKind::BootRecord, Cow::Owned(record)));
    }
    for dep in &opts.dependencies {
        tlvs.push((
            TlvKind::Dependency,
            Cow::Owned(dep.to_bytes_in(opts.endian).to_vec()),
        ));
    }
    for (kind, value) in &opts.compression_tlvs {
        tlvs.push((*kind, Cow::Borrowed(value.as_slice())));
    }
    if let Some(vid) = &opts.vid {
        tlvs.push((TlvKind::UuidVid, Cow::Borrowed(vid.as_bytes().as_slice())));
    }
    if let Some(cid) = &opts.cid {
        tlvs.push((TlvKind::UuidCid, Cow::Borrowed(cid.as_bytes().as_slice())));
    }
    for (kind, value) in opts.custom_tlvs.iter() {
        tlvs.push((kind, Cow::Borrowed(value)));
    }
    tlvs
}

/// The protected TLV area for `opts` (empty when there is nothing to
/// protect). `signer_id` is the hash of the signing key (zeros unsigned).
pub(super) fn protected_area(
    opts: &SignOptions,
    hash: HashAlg,
    signer_id: &[u8],
) -> Result<Vec<u8>, SignError> {
    let mut area = TlvWriter::new_in(TlvArea::Protected, opts.endian);
    for (kind, value) in protected_tlvs(opts, hash, signer_id) {
        area.push(kind, &value)?;
    }
    Ok(area.finish()?)
}

/// The length of the protected TLV area for `opts` signed with `hash`, as
/// `image.py` `Image.create` sums it for the header's 16-bit field before
/// it packs anything, so whatever its size: the records, and the info
/// header when there is a record. imgtool refuses an area past 65535
/// bytes there (a `struct.error` in `add_header`), before it packs the
/// protected TLVs themselves.
#[must_use]
pub fn protected_area_size(opts: &SignOptions, hash: HashAlg) -> usize {
    // the boot record's length depends on the signer id's length only
    let signer_id = std::vec![0u8; hash.digest_len()];
    let records: usize = protected_tlvs(opts, hash, &signer_id)
        .iter()
        .map(|(_, value)| TLV_HEADER_SIZE as usize + value.len())
        .sum();
    if records == 0 {
        0
    } else {
        records + TLV_HEADER_SIZE as usize
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::string::ToString;

    /// The size imgtool packs into the header is the area's length, the
    /// boot record's included, for every hash; and it goes on counting
    /// past what the area's own 16-bit field holds.
    #[test]
    fn protected_area_size_is_the_areas_length() {
        let mut opts = SignOptions::new("1.2.3".parse().unwrap(), 0x20, 0x10000);
        assert_eq!(protected_area_size(&opts, HashAlg::Sha256), 0);
        opts.security_counter = Some(SecurityCounter::Auto);
        opts.boot_record = Some("app".to_string());
        opts.dependencies = parse_dependencies("(1,1.2),(2,3)").unwrap();
        opts.vid = Some(Uuid::from_bytes([7; 16]));
        opts.custom_tlvs.push(0xa0, std::vec![1; 300]).unwrap();
        for hash in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
            let signer_id = std::vec![9; hash.digest_len()];
            let area = protected_area(&opts, hash, &signer_id).unwrap();
            assert_eq!(protected_area_size(&opts, hash), area.len(), "{hash:?}");
        }
        opts.custom_tlvs.push(0xa1, std::vec![2; 0xffff]).unwrap();
        let size = protected_area_size(&opts, HashAlg::Sha256);
        assert!(size > 0xffff);
        assert!(protected_area(&opts, HashAlg::Sha256, &[0; 32]).is_err());
    }

    #[test]
    fn dependencies_follow_imgtools_regexes() {
        let deps = parse_dependencies("(1, 1.2.3+4), (0,0.5)").unwrap();
        assert_eq!(deps.len(), 2);
        assert_eq!(deps[0].image_id, 1);
        assert_eq!(deps[0].version.to_string(), "1.2.3+4");
        assert_eq!(deps[1].version.to_string(), "0.5.0+0");
        assert_eq!(parse_dependencies("nothing"), Err(DependencyError::Syntax));
        // Python's Unicode `\d` and `\s`, checked against get_dependencies
        let deps = parse_dependencies("(\u{0661}\u{0662},\u{3000}1), (\u{ff17},\u{1c}2)").unwrap();
        assert_eq!((deps[0].image_id, deps[1].image_id), (12, 7));
        assert_eq!(
            parse_dependencies("(1,\u{200b}1)"),
            Err(DependencyError::CountMismatch {
                images: 1,
                versions: 0
            })
        );
        assert_eq!(
            parse_dependencies("(1, 1.x)"),
            Err(DependencyError::CountMismatch {
                images: 1,
                versions: 0
            })
        );
        assert_eq!(
            parse_dependencies("(256,1)"),
            Err(DependencyError::ImageId(256))
        );
        // every version's syntax comes before an id's range
        assert_eq!(
            parse_dependencies("(256,1), (0,01)"),
            Err(DependencyError::Version {
                index: 2,
                error: VersionError::Syntax
            })
        );
        assert!(matches!(
            parse_dependencies("(1,01)"),
            Err(DependencyError::Version { index: 1, .. })
        ));
    }

    #[test]
    fn uuids_are_raw_or_version_5() {
        let raw = "12345678-1234-5678-1234-567812345678";
        assert_eq!(parse_uuid(None, raw).unwrap().to_string(), raw);
        assert_eq!(
            parse_uuid(None, "12345678123456781234567812345678").unwrap(),
            parse_uuid(None, raw).unwrap()
        );
        // uuid.uuid5(uuid.NAMESPACE_DNS, "example.com") in Python.
        assert_eq!(
            parse_uuid(Some(&Uuid::NAMESPACE_DNS), "example.com")
                .unwrap()
                .to_string(),
            "cfbff0d1-9375-5685-968c-48ce8b15ae17"
        );
        assert_eq!(parse_uuid(None, "name"), Err(UuidError::NoNamespace));
        assert_eq!(parse_uuid(None, "a\tb"), Err(UuidError::Format));
    }

    #[test]
    fn custom_tlvs_keep_imgtools_rules() {
        let mut t = CustomTlvs::default();
        t.push(0xa0, custom_tlv_value("0x0102").unwrap()).unwrap();
        assert_eq!(
            t.push(0xa0, std::vec![]),
            Err(OptionError::DuplicateCustomTlv(0xa0))
        );
        assert!(matches!(
            t.push(0x10, std::vec![]),
            Err(OptionError::CustomTlvType(_))
        ));
        assert_eq!(custom_tlv_value("0x123"), Err(OptionError::CustomTlvOdd));
        // bytes.fromhex's positions, checked against the pinned Python
        for (text, position) in [
            ("0xzz", 0),
            ("0x0z", 1),
            ("0x0 1", 1),
            ("0x01 0", 4),
            ("0xa\u{0661}", 1),
            ("0x\u{3000}1", 0),
        ] {
            let odd = text[2..].chars().count() % 2 != 0;
            let want = if odd {
                OptionError::CustomTlvOdd
            } else {
                OptionError::CustomTlvHex { position }
            };
            assert_eq!(custom_tlv_value(text), Err(want), "{text}");
        }
        assert_eq!(custom_tlv_value("0x12\t34 "), Ok(std::vec![0x12, 0x34]));
        assert_eq!(custom_tlv_value("text").unwrap(), b"text");
        assert_eq!(
            t.iter().next(),
            Some((TlvKind::Vendor(0xa0), &[1u8, 2][..]))
        );
    }

    #[test]
    fn boot_record_is_the_cbor_imgtool_writes() {
        let v: ImageVersion = "1.2.3".parse().unwrap();
        let rec = boot_record("app", &v, HashAlg::Sha256, &[0xaa; 2]);
        let mut want = std::vec![0xa5, 0x01, 0x63];
        want.extend_from_slice(b"app");
        want.extend_from_slice(&[0x04, 0x65]);
        want.extend_from_slice(b"1.2.3");
        want.extend_from_slice(&[0x05, 0x42, 0xaa, 0xaa, 0x06, 0x66]);
        want.extend_from_slice(b"SHA256");
        want.extend_from_slice(&[0x02, 0x58, 0x20]);
        want.extend_from_slice(&[0; 32]);
        assert_eq!(rec, want);
    }
}
