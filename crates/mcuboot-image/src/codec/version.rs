//! The image version (`struct image_version`, `image.h`; reference
//! mcuboot.md §1.1) and imgtool's rules for writing it (`version.py`).

use core::fmt;
use core::str::FromStr;

use super::reader::{ArrayWriter, Reader};

/// `struct image_version` (`image.h`): 8 bytes, `u8 major, u8 minor,
/// u16 revision, u32 build_num`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct ImageVersion {
    /// `iv_major`.
    pub major: u8,
    /// `iv_minor`.
    pub minor: u8,
    /// `iv_revision`.
    pub revision: u16,
    /// `iv_build_num`.
    pub build: u32,
}

impl ImageVersion {
    /// Encoded size.
    pub const SIZE: usize = 8;

    /// Little-endian encoding, as in the header and the DEPENDENCY TLV.
    #[must_use]
    pub fn to_bytes(self) -> [u8; 8] {
        self.to_bytes_in(super::Endian::Little)
    }

    /// The encoding in byte order `e` (imgtool packs `BBHI` with `-e`).
    #[must_use]
    pub fn to_bytes_in(self, e: super::Endian) -> [u8; 8] {
        ArrayWriter::<8>::new()
            .u8(self.major)
            .u8(self.minor)
            .u16_in(self.revision, e)
            .u32_in(self.build, e)
            .finish()
    }

    /// Decodes the 8-byte little-endian encoding.
    #[must_use]
    pub fn from_bytes(b: &[u8; 8]) -> Self {
        let [major, minor, r0, r1, b0, b1, b2, b3] = *b;
        Self {
            major,
            minor,
            revision: u16::from_le_bytes([r0, r1]),
            build: u32::from_le_bytes([b0, b1, b2, b3]),
        }
    }

    /// Reads the 8-byte encoding from `r`.
    pub(crate) fn read(r: &mut Reader<'_>) -> Option<Self> {
        r.array().map(|b| Self::from_bytes(&b))
    }

    /// imgtool's `-s auto` security counter: `major << 24 | minor << 16 | revision`
    /// (`image.py` `Image.create`).
    #[must_use]
    pub fn security_counter(self) -> u32 {
        (u32::from(self.major) << 24) | (u32::from(self.minor) << 16) | u32::from(self.revision)
    }

    /// `boot_compare_version` (`bootutil_loader.c`): major, minor, revision,
    /// and the build number only when `with_build` (`MCUBOOT_VERSION_CMP_USE_BUILD_NUMBER`).
    #[must_use]
    pub fn compare(&self, other: &Self, with_build: bool) -> core::cmp::Ordering {
        let a = (self.major, self.minor, self.revision);
        let b = (other.major, other.minor, other.revision);
        a.cmp(&b).then(if with_build {
            self.build.cmp(&other.build)
        } else {
            core::cmp::Ordering::Equal
        })
    }
}

impl fmt::Display for ImageVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}+{}",
            self.major, self.minor, self.revision, self.build
        )
    }
}

/// Why a version string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VersionError {
    /// Not of the form `maj[.min[.rev[+build]]]` with decimal parts
    /// without leading zeros (imgtool `version.py` `version_re`).
    Syntax,
    /// A part is too large for its header field (major/minor 255,
    /// revision 65535, build 4294967295): the first such, in the header's
    /// order.
    OutOfRange(VersionField),
}

/// A part of a version, in the header's order (`BBHI`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionField {
    /// `major`, a byte.
    Major,
    /// `minor`, a byte.
    Minor,
    /// `revision`, 16 bits.
    Revision,
    /// `build`, 32 bits.
    Build,
}

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax => f.write_str(
                "expected maj.min.rev+build (decimal, later parts optional, no leading zeros)",
            ),
            Self::OutOfRange(_) => f.write_str(
                "a part is out of range (major and minor <= 255, revision <= 65535, build <= 4294967295)",
            ),
        }
    }
}

impl core::error::Error for VersionError {}

/// One decimal part as imgtool's regex accepts it: `0`, or `[1-9]\d*`,
/// where Python's `\d` is any Unicode decimal digit (`"1١"` is 11).
fn version_part(s: &str) -> Result<&str, VersionError> {
    let mut chars = s.chars();
    let ok = match chars.next() {
        Some('0') => chars.as_str().is_empty(),
        Some('1'..='9') => chars.all(|c| py_int::decimal_digit(c).is_some()),
        _ => false,
    };
    if ok {
        Ok(s)
    } else {
        Err(VersionError::Syntax)
    }
}

/// The value of a part that passed [`version_part`], saturated at
/// `u128::MAX` (no header field is near that wide).
fn part_value(digits: &str) -> u128 {
    digits.chars().fold(0u128, |value, c| {
        let digit = py_int::decimal_digit(c).unwrap_or(0);
        value.saturating_mul(10).saturating_add(u128::from(digit))
    })
}

/// The four parts of `maj[.min[.rev[+build]]]` as imgtool's
/// `decode_version` reads them, before they meet the header's fields:
/// missing parts are 0, `+build` only after a revision, and each value
/// saturates at `u128::MAX`. imgtool packs them later (`BBHI`), and a
/// value past its field fails there; [`ImageVersion`]'s `FromStr` reports
/// the first such as [`VersionError::OutOfRange`].
///
/// ```
/// assert_eq!(mcuboot_image::version_parts("1.2"), Ok([1, 2, 0, 0]));
/// assert_eq!(mcuboot_image::version_parts("1.2.70000+5"), Ok([1, 2, 70000, 5]));
/// ```
///
/// # Errors
/// [`VersionError::Syntax`] for a text imgtool's pattern refuses.
pub fn version_parts(s: &str) -> Result<[u128; 4], VersionError> {
    // the pattern ends in `$`, which Python also matches before a final
    // newline
    let s = s.strip_suffix('\n').unwrap_or(s);
    let (main, build) = match s.split_once('+') {
        Some((m, b)) => (m, Some(b)),
        None => (s, None),
    };
    let mut parts = main.split('.');
    let major = version_part(parts.next().ok_or(VersionError::Syntax)?)?;
    let minor = parts.next().map(version_part).transpose()?;
    let revision = parts.next().map(version_part).transpose()?;
    if parts.next().is_some() || (build.is_some() && revision.is_none()) {
        return Err(VersionError::Syntax);
    }
    let build = build.map(version_part).transpose()?;
    let value = |part: Option<&str>| part.map_or(0, part_value);
    Ok([
        part_value(major),
        value(minor),
        value(revision),
        value(build),
    ])
}

impl FromStr for ImageVersion {
    type Err = VersionError;

    /// Parses `maj[.min[.rev[+build]]]` exactly as imgtool's `decode_version`
    /// ([`version_parts`]), then fits the parts to the header's fields in
    /// the header's order.
    fn from_str(s: &str) -> Result<Self, VersionError> {
        let [major, minor, revision, build] = version_parts(s)?;
        let out_of_range = |which| move |_| VersionError::OutOfRange(which);
        Ok(Self {
            major: u8::try_from(major).map_err(out_of_range(VersionField::Major))?,
            minor: u8::try_from(minor).map_err(out_of_range(VersionField::Minor))?,
            revision: u16::try_from(revision).map_err(out_of_range(VersionField::Revision))?,
            build: u32::try_from(build).map_err(out_of_range(VersionField::Build))?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn version_parse_follows_imgtool_rules() {
        let v: ImageVersion = "1.2.3+4".parse().unwrap();
        assert_eq!((v.major, v.minor, v.revision, v.build), (1, 2, 3, 4));
        assert_eq!("7".parse::<ImageVersion>().unwrap().to_string(), "7.0.0+0");
        assert_eq!("0.5".parse::<ImageVersion>().unwrap().minor, 5);
        // Python's `\d` and `$`, checked against imgtool's decode_version
        let v: ImageVersion = "1\u{0661}.0.3+9\u{ff19}\n".parse().unwrap();
        assert_eq!((v.major, v.minor, v.revision, v.build), (11, 0, 3, 99));
        for bad in [
            "",
            "01",
            "1.",
            "1..2",
            "1.2+3",
            "1.2.3.4",
            "a",
            "1.2.3+",
            "-1",
            " 1",
            "\u{0661}",
            "1.\u{0660}1",
            "1.\u{0660}",
            "1\n\n",
            "1\r",
            "1.2\u{b2}",
        ] {
            assert_eq!(
                bad.parse::<ImageVersion>(),
                Err(VersionError::Syntax),
                "{bad}"
            );
        }
        assert_eq!(
            "256".parse::<ImageVersion>(),
            Err(VersionError::OutOfRange(VersionField::Major))
        );
        assert_eq!(
            "1.2.65536".parse::<ImageVersion>(),
            Err(VersionError::OutOfRange(VersionField::Revision))
        );
        // the first field out of range, and the syntax before any range
        assert_eq!(
            "1.256.65536+99999999999999999999999".parse::<ImageVersion>(),
            Err(VersionError::OutOfRange(VersionField::Minor))
        );
        assert_eq!(
            "1.2.3+4294967296".parse::<ImageVersion>(),
            Err(VersionError::OutOfRange(VersionField::Build))
        );
        assert_eq!(
            "1.99999999999999999999999.3.4".parse::<ImageVersion>(),
            Err(VersionError::Syntax)
        );
    }

    #[test]
    fn version_bytes_round_trip() {
        let v: ImageVersion = "1.2.771+67305985".parse().unwrap();
        assert_eq!(v.to_bytes(), [1, 2, 3, 3, 1, 2, 3, 4]);
        assert_eq!(ImageVersion::from_bytes(&v.to_bytes()), v);
    }
}
