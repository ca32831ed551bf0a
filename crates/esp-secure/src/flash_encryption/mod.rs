//! Host-side flash encryption, byte-compatible with espsecure's
//! `encrypt-flash-data` / `decrypt-flash-data`.
//!
//! Two hardware algorithms exist (reference/esptool.md §3):
//!
//! * [`Esp32FlashCrypt`]: the original ESP32. AES-256 used *inverted* (flash
//!   "encrypt" is AES decryption) on byte-reversed 16-byte blocks, with the
//!   key XOR-tweaked per 32-byte flash block from address bits 5..23 as
//!   selected by the 4-bit `FLASH_CRYPT_CONFIG` eFuse.
//! * [`XtsFlashCrypt`]: ESP32-S2/S3/C2/C3/C6/H2 and later. IEEE 1619 XTS-AES
//!   over 128-byte data units that are byte-reversed as a whole; the tweak is
//!   the little-endian flash address of the unit.
//!
//! Both implement [`FlashCrypt`]: in-place `encrypt(address, buf)` /
//! `decrypt(address, buf)` on 16-byte-aligned chunks (what a flash model needs
//! for individual writes and reads), and [`FlashCrypt::stream`] for files of
//! any size in constant memory.

use std::io::{Read, Write};

use zeroize::{Zeroize, ZeroizeOnDrop};

mod esp32;
mod stream;
mod xts;

pub use esp32::Esp32FlashCrypt;
pub use xts::{XtsFlashCrypt, XtsKeyKind};

/// The flash address and data alignment both algorithms require
/// (`_flash_encryption_operation_*` in espsecure/__init__.py, L1448/L1531).
pub const BLOCK_ALIGN: u32 = 16;

/// XTS data unit: 128 bytes (`0x80` in espsecure/__init__.py
/// `_flash_encryption_operation_aes_xts`, reference/esptool.md §3.3).
pub const XTS_DATA_UNIT: usize = 0x80;

/// The default `FLASH_CRYPT_CONFIG` (all four tweak groups enabled), as
/// espsecure's `--flash-crypt-conf` default `0xF`.
pub const DEFAULT_FLASH_CRYPT_CONFIG: u8 = 0xF;

/// Errors of the flash encryption module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlashCryptError {
    /// The key file length is not one espsecure accepts for this algorithm.
    #[error("{algorithm} needs a key of {expected}, the key file has {actual_bytes} bytes")]
    KeyLength {
        /// "ESP32 flash encryption" or "XTS-AES flash encryption".
        algorithm: &'static str,
        /// The accepted lengths, in words.
        expected: &'static str,
        /// What the file holds.
        actual_bytes: usize,
    },
    /// `FLASH_CRYPT_CONFIG` is a 4-bit eFuse.
    #[error("FLASH_CRYPT_CONFIG {0:#x} is out of range (a 4-bit value, 0x0..=0xF)")]
    FlashCryptConfig(u32),
    /// The start address is not a multiple of 16.
    #[error("flash address {0:#x} must be a multiple of 16")]
    UnalignedAddress(u32),
    /// An address of [`Esp32FlashCrypt::crypt_at_any_address`] (any
    /// integer) is not a multiple of 16.
    #[error("flash address {0} must be a multiple of 16")]
    UnalignedAnyAddress(i128),
    /// The data length is not a multiple of 16.
    #[error("data length {0} must be a multiple of 16")]
    UnalignedLength(u64),
    /// XTS needs at least one block of data (as espsecure).
    #[error("input data is empty; XTS-AES needs at least 16 bytes")]
    Empty,
    /// `address + length` passes the 32-bit flash address space.
    #[error("data of {length} bytes at {address:#x} extends past the 4 GiB flash address space")]
    AddressOverflow {
        /// Start address.
        address: u32,
        /// Data length.
        length: u64,
    },
    /// A worker thread of the streaming API panicked (a bug).
    #[error("a flash encryption worker thread panicked")]
    WorkerPanicked,
    /// Reading the input or writing the output failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A flash encryption key exactly as read from a key file (the raw eFuse
/// key bytes in file order, as espsecure uses them). Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct FlashEncryptionKey(Vec<u8>);

impl FlashEncryptionKey {
    /// Wraps raw key bytes (any length; the algorithms check it).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Key length in bits.
    pub fn bits(&self) -> usize {
        self.0.len() * 8
    }

    /// A fresh random key of `bits / 8` bytes from the OS generator (as
    /// `generate-flash-encryption-key`).
    pub fn generate(bits: usize) -> Self {
        use rand_core::RngCore;
        let mut bytes = vec![0u8; bits / 8];
        rand_core::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl std::fmt::Debug for FlashEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FlashEncryptionKey({} bits, redacted)", self.bits())
    }
}

/// Which direction a flash crypto operation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Plaintext to flash contents.
    Encrypt,
    /// Flash contents to plaintext.
    Decrypt,
}

/// How a 16-byte-aligned flash chunk is encrypted or decrypted in place.
pub trait FlashCrypt: Sync + std::fmt::Debug {
    /// Encrypts `data` as it would be stored at flash `address`.
    /// `address` and `data.len()` must be multiples of 16.
    fn encrypt(&self, address: u32, data: &mut [u8]) -> Result<(), FlashCryptError>;

    /// Decrypts `data` read from flash `address`.
    /// `address` and `data.len()` must be multiples of 16.
    fn decrypt(&self, address: u32, data: &mut [u8]) -> Result<(), FlashCryptError>;

    /// What a trailing partial block becomes when encrypting a stream: the
    /// ESP32 algorithm pads it with random bytes (as espsecure does), XTS
    /// refuses it.
    fn pads_partial_block(&self) -> bool;

    /// Runs `direction` over everything `input` yields, writing to `output`
    /// in constant memory (three 1 MiB buffers: one being read, one being
    /// encrypted, one being written, all three at once).
    /// `progress` is called with the number of input bytes done so far.
    /// Returns the bytes written.
    fn stream(
        &self,
        direction: Direction,
        address: u32,
        input: &mut (dyn Read + Send),
        output: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, FlashCryptError> {
        stream::run(self, direction, address, input, output, progress)
    }
}

fn check_aligned_address(address: u32) -> Result<(), FlashCryptError> {
    if !address.is_multiple_of(BLOCK_ALIGN) {
        return Err(FlashCryptError::UnalignedAddress(address));
    }
    Ok(())
}

fn check_range(address: u32, length: u64) -> Result<(), FlashCryptError> {
    if u64::from(address) + length > 1 << 32 {
        return Err(FlashCryptError::AddressOverflow { address, length });
    }
    Ok(())
}

fn check_chunk(address: u32, data: &[u8]) -> Result<(), FlashCryptError> {
    check_aligned_address(address)?;
    if !data.len().is_multiple_of(16) {
        return Err(FlashCryptError::UnalignedLength(data.len() as u64));
    }
    check_range(address, data.len() as u64)
}

#[cfg(test)]
mod tests;
