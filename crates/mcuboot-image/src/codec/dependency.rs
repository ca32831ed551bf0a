//! The DEPENDENCY TLV value (`struct image_dependency`, `image.h`).

use super::reader::ArrayWriter;
use super::version::ImageVersion;

/// A DEPENDENCY TLV (`struct image_dependency`, `image.h`; imgtool packs `<B3xBBHI`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dependency {
    /// Index of the image depended upon.
    pub image_id: u8,
    /// Its minimum version.
    pub version: ImageVersion,
}

impl Dependency {
    /// Encoded size.
    pub const SIZE: usize = 12;

    /// The 12-byte TLV value: the image id, 3 padding bytes, the version.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 12] {
        self.to_bytes_in(super::Endian::Little)
    }

    /// The 12-byte TLV value in byte order `e`.
    #[must_use]
    pub fn to_bytes_in(&self, e: super::Endian) -> [u8; 12] {
        ArrayWriter::<12>::new()
            .u8(self.image_id)
            .zeros(3)
            .put(&self.version.to_bytes_in(e))
            .finish()
    }

    /// Decodes a 12-byte TLV value.
    #[must_use]
    pub fn from_bytes(b: &[u8; 12]) -> Self {
        let [image_id, _, _, _, version @ ..] = *b;
        Self {
            image_id,
            version: ImageVersion::from_bytes(&version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_round_trip_matches_imgtool_packing() {
        let d = Dependency {
            image_id: 1,
            version: ImageVersion {
                major: 2,
                minor: 3,
                revision: 0x0504,
                build: 0x0908_0706,
            },
        };
        assert_eq!(d.to_bytes(), [1, 0, 0, 0, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(Dependency::from_bytes(&d.to_bytes()), d);
    }
}
