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
    /// revision 65535, build 4294967295).
    OutOfRange,
}

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax => f.write_str(
                "expected maj.min.rev+build (decimal, later parts optional, no leading zeros)",
            ),
            Self::OutOfRange => f.write_str(
                "a part is out of range (major and minor <= 255, revision <= 65535, build <= 4294967295)",
            ),
        }
    }
}

impl core::error::Error for VersionError {}

/// One decimal part as imgtool's regex accepts it: `0` or `[1-9][0-9]*`.
fn version_part(s: &str) -> Result<u64, VersionError> {
    let bytes = s.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes.len() == 1 || bytes.first() != Some(&b'0'));
    if !ok {
        return Err(VersionError::Syntax);
    }
    // More than 20 digits cannot fit any field; report range, not syntax.
    s.parse::<u64>().map_err(|_| VersionError::OutOfRange)
}

impl FromStr for ImageVersion {
    type Err = VersionError;

    /// Parses `maj[.min[.rev[+build]]]` exactly as imgtool's `decode_version`:
    /// missing parts are 0, `+build` only after a revision.
    fn from_str(s: &str) -> Result<Self, VersionError> {
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
        Ok(Self {
            major: u8::try_from(major).map_err(|_| VersionError::OutOfRange)?,
            minor: u8::try_from(minor.unwrap_or(0)).map_err(|_| VersionError::OutOfRange)?,
            revision: u16::try_from(revision.unwrap_or(0)).map_err(|_| VersionError::OutOfRange)?,
            build: u32::try_from(build.unwrap_or(0)).map_err(|_| VersionError::OutOfRange)?,
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
        for bad in [
            "", "01", "1.", "1..2", "1.2+3", "1.2.3.4", "a", "1.2.3+", "-1", " 1",
        ] {
            assert_eq!(
                bad.parse::<ImageVersion>(),
                Err(VersionError::Syntax),
                "{bad}"
            );
        }
        assert_eq!("256".parse::<ImageVersion>(), Err(VersionError::OutOfRange));
        assert_eq!(
            "1.2.65536".parse::<ImageVersion>(),
            Err(VersionError::OutOfRange)
        );
    }

    #[test]
    fn version_bytes_round_trip() {
        let v: ImageVersion = "1.2.771+67305985".parse().unwrap();
        assert_eq!(v.to_bytes(), [1, 2, 3, 3, 1, 2, 3, 4]);
        assert_eq!(ImageVersion::from_bytes(&v.to_bytes()), v);
    }
}
