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
