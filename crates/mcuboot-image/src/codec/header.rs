//! The 32-byte MCUboot image header (`boot/bootutil/include/bootutil/image.h`,
//! reference/mcuboot.md §1.1, §1.2).

use core::fmt;

use super::reader::{ArrayWriter, Reader};
use super::version::ImageVersion;
use super::Endian;
use crate::source::ImageSource;

/// `IMAGE_MAGIC` (`image.h`).
pub const IMAGE_MAGIC: u32 = 0x96f3_b83d;
/// `IMAGE_MAGIC_V1` (`image.h`): obsolete, never accepted.
pub const IMAGE_MAGIC_V1: u32 = 0x96f3_b83c;
/// `IMAGE_HEADER_SIZE` (`image.h`).
pub const IMAGE_HEADER_SIZE: usize = 32;

/// `ih_flags` of the header (`image.h` `IMAGE_F_*`; imgtool `IMAGE_F`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ImageFlags(u32);

impl ImageFlags {
    /// `IMAGE_F_PIC`: position-independent (unsupported by MCUboot).
    pub const PIC: Self = Self(0x0000_0001);
    /// `IMAGE_F_ENCRYPTED_AES128`.
    pub const ENCRYPTED_AES128: Self = Self(0x0000_0004);
    /// `IMAGE_F_ENCRYPTED_AES256`.
    pub const ENCRYPTED_AES256: Self = Self(0x0000_0008);
    /// `IMAGE_F_NON_BOOTABLE`: split-image application.
    pub const NON_BOOTABLE: Self = Self(0x0000_0010);
    /// `IMAGE_F_RAM_LOAD`: `ih_load_addr` is a RAM address.
    pub const RAM_LOAD: Self = Self(0x0000_0020);
    /// `IMAGE_F_ROM_FIXED`: `ih_load_addr` is the flash address it must run from.
    pub const ROM_FIXED: Self = Self(0x0000_0100);
    /// `IMAGE_F_COMPRESSED_LZMA1`.
    pub const COMPRESSED_LZMA1: Self = Self(0x0000_0200);
    /// `IMAGE_F_COMPRESSED_LZMA2`.
    pub const COMPRESSED_LZMA2: Self = Self(0x0000_0400);
    /// `IMAGE_F_COMPRESSED_ARM_THUMB_FLT`.
    pub const COMPRESSED_ARM_THUMB_FLT: Self = Self(0x0000_0800);

    const NAMES: [(Self, &'static str); 9] = [
        (Self::PIC, "PIC"),
        (Self::ENCRYPTED_AES128, "ENCRYPTED_AES128"),
        (Self::ENCRYPTED_AES256, "ENCRYPTED_AES256"),
        (Self::NON_BOOTABLE, "NON_BOOTABLE"),
        (Self::RAM_LOAD, "RAM_LOAD"),
        (Self::ROM_FIXED, "ROM_FIXED"),
        (Self::COMPRESSED_LZMA1, "COMPRESSED_LZMA1"),
        (Self::COMPRESSED_LZMA2, "COMPRESSED_LZMA2"),
        (Self::COMPRESSED_ARM_THUMB_FLT, "COMPRESSED_ARM_THUMB_FLT"),
    ];

    /// No flag set.
    #[must_use]
    pub const fn empty() -> Self {
        Self(0)
    }
    /// Flags from the raw header word (unknown bits are kept).
    #[must_use]
    pub const fn from_bits_retain(bits: u32) -> Self {
        Self(bits)
    }
    /// The raw header word.
    #[must_use]
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// True when every bit of `other` is set.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// True when any bit of `other` is set.
    #[must_use]
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
    /// Sets or clears the bits of `other`.
    pub fn set(&mut self, other: Self, on: bool) {
        if on {
            self.0 |= other.0;
        } else {
            self.0 &= !other.0;
        }
    }
    /// `IS_ENCRYPTED(hdr)` (`image.h`): either AES flag.
    #[must_use]
    pub const fn is_encrypted(self) -> bool {
        self.intersects(Self(Self::ENCRYPTED_AES128.0 | Self::ENCRYPTED_AES256.0))
    }
    /// Names of the known flags that are set, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| n)
    }
}

impl core::ops::BitOr for ImageFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for ImageFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for ImageFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImageFlags({:#x}", self.0)?;
        for name in self.names() {
            write!(f, " {name}")?;
        }
        f.write_str(")")
    }
}

/// Why a header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// Fewer than 32 bytes.
    Truncated,
    /// `ih_magic` is not `IMAGE_MAGIC` (the value found is given).
    BadMagic(u32),
    /// `ih_hdr_size` is smaller than the 32-byte header itself.
    HeaderSizeTooSmall(u16),
    /// `hdr_size + img_size + protect_tlv_size` overflows 32 bits.
    SizeOverflow,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("image is shorter than its 32-byte header"),
            Self::BadMagic(m) => write!(
                f,
                "bad image magic {m:#010x} (expected {IMAGE_MAGIC:#010x})"
            ),
            Self::HeaderSizeTooSmall(s) => {
                write!(f, "header size {s:#x} is smaller than the 32-byte header")
            }
            Self::SizeOverflow => f.write_str("header sizes overflow 32 bits"),
        }
    }
}

impl core::error::Error for HeaderError {}

/// `struct image_header` (`image.h`, reference/mcuboot.md §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImageHeader {
    /// `ih_magic`.
    pub magic: u32,
    /// `ih_load_addr`.
    pub load_addr: u32,
    /// `ih_hdr_size`: bytes from the image start to the payload.
    pub hdr_size: u16,
    /// `ih_protect_tlv_size`, including the 4-byte protected info header; 0 if none.
    pub protect_tlv_size: u16,
    /// `ih_img_size`: payload bytes.
    pub img_size: u32,
    /// `ih_flags`.
    pub flags: ImageFlags,
    /// `ih_ver`.
    pub version: ImageVersion,
    /// `_pad1`.
    pub pad1: u32,
}

impl ImageHeader {
    /// Encoded size (`IMAGE_HEADER_SIZE`).
    pub const SIZE: usize = IMAGE_HEADER_SIZE;

    /// Decodes the 32 bytes without judging them (any magic).
    #[must_use]
    pub fn decode(b: &[u8; 32]) -> Self {
        // 32 bytes always hold every field.
        Self::read(&mut Reader::new(b)).unwrap_or_default()
    }

    fn read(r: &mut Reader<'_>) -> Option<Self> {
        Some(Self {
            magic: r.u32()?,
            load_addr: r.u32()?,
            hdr_size: r.u16()?,
            protect_tlv_size: r.u16()?,
            img_size: r.u32()?,
            flags: ImageFlags(r.u32()?),
            version: ImageVersion::read(r)?,
            pad1: r.u32()?,
        })
    }

    /// Parses the start of `bytes` as a valid header: right magic, a header
    /// size of at least 32, sizes that do not overflow.
    ///
    /// # Errors
    /// [`HeaderError`] when any of those fails.
    pub fn parse(bytes: &[u8]) -> Result<Self, HeaderError> {
        let raw: &[u8; 32] = bytes
            .get(..IMAGE_HEADER_SIZE)
            .and_then(|s| s.try_into().ok())
            .ok_or(HeaderError::Truncated)?;
        let hdr = Self::decode(raw);
        hdr.check()?;
        Ok(hdr)
    }

    /// Reads and parses the header at offset 0 of `src`.
    ///
    /// # Errors
    /// The source's read error, or a [`HeaderError`].
    pub fn read_from<S: ImageSource + ?Sized>(
        src: &mut S,
    ) -> Result<Self, ReadHeaderError<S::Error>> {
        let mut raw = [0u8; 32];
        src.read_at(0, &mut raw).map_err(ReadHeaderError::Read)?;
        let hdr = Self::decode(&raw);
        hdr.check().map_err(ReadHeaderError::Header)?;
        Ok(hdr)
    }

    fn check(&self) -> Result<(), HeaderError> {
        if self.magic != IMAGE_MAGIC {
            return Err(HeaderError::BadMagic(self.magic));
        }
        if usize::from(self.hdr_size) < IMAGE_HEADER_SIZE {
            return Err(HeaderError::HeaderSizeTooSmall(self.hdr_size));
        }
        self.hashed_len().ok_or(HeaderError::SizeOverflow)?;
        Ok(())
    }

    /// Encodes the header (little-endian, as MCUboot reads it).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 32] {
        self.to_bytes_in(Endian::Little)
    }

    /// Encodes the header in byte order `e` (imgtool `add_header`).
    #[must_use]
    pub fn to_bytes_in(&self, e: Endian) -> [u8; 32] {
        ArrayWriter::<IMAGE_HEADER_SIZE>::new()
            .u32_in(self.magic, e)
            .u32_in(self.load_addr, e)
            .u16_in(self.hdr_size, e)
            .u16_in(self.protect_tlv_size, e)
            .u32_in(self.img_size, e)
            .u32_in(self.flags.0, e)
            .put(&self.version.to_bytes_in(e))
            .u32_in(self.pad1, e)
            .finish()
    }

    /// `BOOT_TLV_OFF(hdr)`: offset of the first TLV info header
    /// (`hdr_size + img_size`), `None` on overflow.
    #[must_use]
    pub fn tlv_offset(&self) -> Option<u32> {
        u32::from(self.hdr_size).checked_add(self.img_size)
    }

    /// Length of the hashed region: header, payload and protected TLVs
    /// (`bootutil_img_hash.c`), `None` on overflow.
    #[must_use]
    pub fn hashed_len(&self) -> Option<u32> {
        self.tlv_offset()?
            .checked_add(u32::from(self.protect_tlv_size))
    }
}

/// [`ImageHeader::read_from`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadHeaderError<E> {
    /// The source could not be read.
    Read(E),
    /// The bytes are not a valid header.
    Header(HeaderError),
}

impl<E: fmt::Display> fmt::Display for ReadHeaderError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(e) => write!(f, "cannot read the image header: {e}"),
            Self::Header(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for ReadHeaderError<E> {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let h = ImageHeader {
            magic: IMAGE_MAGIC,
            load_addr: 0x1234,
            hdr_size: 0x20,
            protect_tlv_size: 0x1c,
            img_size: 1000,
            flags: ImageFlags::RAM_LOAD | ImageFlags::NON_BOOTABLE,
            version: "1.2.3+4".parse().unwrap(),
            pad1: 0,
        };
        assert_eq!(ImageHeader::parse(&h.to_bytes()), Ok(h));
    }
}
