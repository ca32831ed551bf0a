//! The on-flash formats of an MCUboot image, decoded and encoded in one
//! place: the 32-byte [`header`], the [`version`], the [`tlv`] areas (read
//! with [`tlv::TlvIter`], written with [`tlv::TlvWriter`]), the
//! [`dependency`] TLV value and the slot [`trailer`] (magic, flags, layout).
//!
//! Fields are read through a bounded little-endian reader (no indexing
//! that could panic on short input) and every narrowing conversion is
//! checked (`clippy::cast_possible_truncation`).

// The codec is `no_std`: it must not reach for `std` or `alloc` paths
// where `core` has them, nor truncate silently.
#![warn(
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    clippy::alloc_instead_of_core
)]

pub mod dependency;
pub mod header;
pub(crate) mod reader;
pub mod tlv;
pub mod trailer;
pub mod version;

/// The byte order of an image's multi-byte fields (imgtool `-e`).
///
/// imgtool packs the header, the TLV info headers, the TLV lengths, custom
/// TLV types and the SEC_CNT/DEPENDENCY values with `struct` in this order
/// (`STRUCT_ENDIAN_DICT`, `image.py`); predefined TLV types are packed as
/// `BB` (type, 0) and so read the same either way. MCUboot on Espressif
/// chips is little-endian, so the boot core only reads [`Endian::Little`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Endian {
    /// imgtool's default.
    #[default]
    Little,
    /// `-e big`.
    Big,
}

impl Endian {
    /// `v` in this order.
    #[must_use]
    pub const fn u16_bytes(self, v: u16) -> [u8; 2] {
        match self {
            Self::Little => v.to_le_bytes(),
            Self::Big => v.to_be_bytes(),
        }
    }

    /// `v` in this order.
    #[must_use]
    pub const fn u32_bytes(self, v: u32) -> [u8; 4] {
        match self {
            Self::Little => v.to_le_bytes(),
            Self::Big => v.to_be_bytes(),
        }
    }
}
