//! MCUboot image format: header and TLV codec (`no_std`), verification, and,
//! behind the `std` feature, building, signing and encrypting images the way
//! imgtool does.
#![no_std]

#[cfg(feature = "std")]
pub mod enc;
