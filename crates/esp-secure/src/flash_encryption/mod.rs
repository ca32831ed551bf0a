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

use aes::cipher::consts::U16;
use aes::cipher::{
    generic_array::GenericArray, BlockDecrypt, BlockEncrypt, BlockSizeUser, KeyInit,
};
use aes::{Aes128, Aes256};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

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
        check_aligned_address(address)?;
        // A multiple of the XTS data unit, so chunks never split a unit
        // needlessly (correct either way).
        const CHUNK: usize = 1 << 20;
        const BUFFERS: usize = 3;
        type Filled = std::io::Result<(Zeroizing<Vec<u8>>, usize)>;
        let threads = crypt_threads();
        std::thread::scope(|scope| {
            // A reader thread fills the next buffer while this one is
            // encrypted and the previous one written.
            let (to_crypt, filled_buffers) = std::sync::mpsc::sync_channel::<Filled>(1);
            let (recycle, empty_buffers) =
                std::sync::mpsc::sync_channel::<Zeroizing<Vec<u8>>>(BUFFERS);
            scope.spawn(move || {
                while let Ok(mut buf) = empty_buffers.recv() {
                    let result = read_full(input, &mut buf);
                    let last = !matches!(result, Ok(n) if n == buf.len());
                    if to_crypt.send(result.map(|n| (buf, n))).is_err() || last {
                        break;
                    }
                }
            });
            for _ in 0..BUFFERS {
                // Cannot fail: the reader holds the receiver until it ends.
                let _ = recycle.send(Zeroizing::new(vec![0u8; CHUNK]));
            }
            let mut done: u64 = 0;
            let mut at = address;
            // The encrypted chunk not yet written: (buffer, bytes to
            // write, input bytes done once it is written).
            let mut pending: Option<(Zeroizing<Vec<u8>>, usize, u64)> = None;
            // The reader stops (dropping its sender) after the last chunk.
            while let Ok(filled) = filled_buffers.recv() {
                let (mut buf, filled) = filled?;
                if filled == 0 {
                    break;
                }
                let mut len = filled;
                if filled % 16 != 0 {
                    // Only the very last read can be short.
                    let total = done + filled as u64;
                    if direction == Direction::Encrypt && self.pads_partial_block() {
                        use rand_core::RngCore;
                        let padded = filled.next_multiple_of(16);
                        rand_core::OsRng.fill_bytes(&mut buf[filled..padded]);
                        len = padded;
                    } else {
                        return Err(FlashCryptError::UnalignedLength(total));
                    }
                }
                check_range(address, done + len as u64)?;
                // Encrypt this chunk on the worker threads while this
                // thread writes the previous one.
                let previous = pending.take();
                parallel_apply(self, direction, at, &mut buf[..len], threads, || {
                    if let Some((written, n, done_then)) = previous {
                        output.write_all(&written[..n])?;
                        progress(done_then);
                        // Fails only once the reader has finished.
                        let _ = recycle.send(written);
                    }
                    Ok(())
                })?;
                done += filled as u64;
                // check_range above guarantees this stays within u32 (or
                // ends exactly at 4 GiB, after which nothing more is read).
                at = at.wrapping_add(len as u32);
                pending = Some((buf, len, done));
            }
            if let Some((written, n, done_then)) = pending {
                output.write_all(&written[..n])?;
                progress(done_then);
            }
            if done == 0 && !self.pads_partial_block() {
                return Err(FlashCryptError::Empty);
            }
            Ok(done.next_multiple_of(16))
        })
    }
}

/// Worker threads for the streaming API: one per core, at most four.
fn crypt_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// Runs `direction` over `chunk` on `threads` worker threads, each on a
/// part aligned to the XTS data unit (both algorithms are
/// position-independent beyond their 16/32/128-byte blocks, so parts give
/// the same bytes), while the calling thread runs `meanwhile` (writing the
/// previous chunk).
fn parallel_apply<T: FlashCrypt + ?Sized>(
    crypt: &T,
    direction: Direction,
    address: u32,
    chunk: &mut [u8],
    threads: usize,
    meanwhile: impl FnOnce() -> Result<(), FlashCryptError>,
) -> Result<(), FlashCryptError> {
    let apply = |at: u32, part: &mut [u8]| match direction {
        Direction::Encrypt => crypt.encrypt(at, part),
        Direction::Decrypt => crypt.decrypt(at, part),
    };
    // Below 256 KiB threads cost more than they save.
    if threads < 2 || chunk.len() < 256 << 10 {
        meanwhile()?;
        return apply(address, chunk);
    }
    let part_len = (chunk.len() / threads).next_multiple_of(XTS_DATA_UNIT);
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunk
            .chunks_mut(part_len)
            .enumerate()
            .map(|(i, part)| {
                let at = address.wrapping_add((i * part_len) as u32);
                scope.spawn(move || apply(at, part))
            })
            .collect();
        let written = meanwhile();
        let crypted = handles
            .into_iter()
            .try_for_each(|h| h.join().unwrap_or(Err(FlashCryptError::WorkerPanicked)));
        written.and(crypted)
    })
}

/// Reads until `buf` is full or the input ends.
fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
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

// ---------------------------------------------------------------------------
// ESP32

/// A 256-bit integer as four big-endian `u64` limbs (limb 0 is the most
/// significant), i.e. the key bytes read as one big-endian number.
type U256 = [u64; 4];

/// The key tweak multipliers of espsecure/__init__.py L1397-L1401 (`mul1`,
/// `mul2`, `mul2_mask`): `tweak = ((mul1·a) | ((mul2·a) & mul2_mask)) &
/// range` with `a = address >> 5`. For addresses below 16 MiB (all the
/// ESP32 can map) this is exactly the per-bit pattern of
/// `_FLASH_ENCRYPTION_TWEAK_PATTERN` (each key bit XORed with one address
/// bit 5..=23, reference/esptool.md §3.2); above 16 MiB the products
/// overlap, and we keep espsecure's arithmetic so output stays identical.
const MUL1: U256 = [
    0x0000200004000080,
    0x0000040000800010,
    0x0000020000400008,
    0x0000040000800010,
];
const MUL2: U256 = [
    0x0000000000000000,
    0x2000000000000000,
    0x1000000000000000,
    0x2000000000000001,
];
const MUL2_MASK: U256 = [
    0x000000000000007F,
    0xE00000000000000F,
    0xF000000000000007,
    0xE00000000000000F,
];

/// `_flash_encryption_tweak_range_bits` (L1377): the key bits each
/// FLASH_CRYPT_CONFIG bit lets the tweak touch (67, 65, 63 and 61 bits from
/// the most significant end).
const TWEAK_RANGE: [U256; 4] = [
    [0xFFFFFFFFFFFFFFFF, 0xE000000000000000, 0, 0],
    [0, 0x1FFFFFFFFFFFFFFF, 0xF000000000000000, 0],
    [0, 0, 0x0FFFFFFFFFFFFFFF, 0xE000000000000000],
    [0, 0, 0, 0x1FFFFFFFFFFFFFFF],
];

/// `x · m mod 2^256`.
fn mul_small(x: &U256, m: u64) -> U256 {
    let mut out = [0u64; 4];
    let mut carry: u128 = 0;
    for i in (0..4).rev() {
        let wide = u128::from(x[i]) * u128::from(m) + carry;
        out[i] = wide as u64;
        carry = wide >> 64;
    }
    out
}

/// Applies `cipher` to the (at most two) byte-reversed 16-byte blocks of
/// `data` in one call, so AES-NI can work on both at once. (A 16-byte
/// reversal is one byte swap of a `u128`.)
fn reversed_blocks(data: &mut [u8], cipher: impl FnOnce(&mut [aes_keyed::Block])) {
    let mut blocks = [aes_keyed::Block::default(); 2];
    let n = data.len() / 16;
    for (block, src) in blocks.iter_mut().zip(data.chunks_exact(16)) {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(src);
        *block = u128::from_be_bytes(bytes).to_le_bytes().into();
    }
    cipher(&mut blocks[..n]);
    for (block, dst) in blocks.iter_mut().zip(data.chunks_exact_mut(16)) {
        let bytes: [u8; 16] = (*block).into();
        dst.copy_from_slice(&u128::from_le_bytes(bytes).to_be_bytes());
    }
    for block in &mut blocks {
        block.as_mut_slice().zeroize();
    }
}

/// AES-256 decryption of `blocks` under a fresh `key`. Kept out of line:
/// inlined into a larger caller, LLVM stops inlining the `aes` crate's
/// AVX-512 round-key broadcast, which then costs as much as the cipher
/// itself (measured with scripts/bench-secure and `perf`).
#[inline(never)]
fn aes256_decrypt(key: &[u8; 32], blocks: &mut [aes_keyed::Block]) {
    use aes_keyed::cipher::{BlockCipherDecrypt as _, KeyInit as _};
    aes_keyed::Aes256Dec::new(&(*key).into()).decrypt_blocks(blocks);
}

/// AES-256 encryption of `blocks` under a fresh `key` (see
/// [`aes256_decrypt`] for why it is out of line).
#[inline(never)]
fn aes256_encrypt(key: &[u8; 32], blocks: &mut [aes_keyed::Block]) {
    use aes_keyed::cipher::{BlockCipherEncrypt as _, KeyInit as _};
    aes_keyed::Aes256Enc::new(&(*key).into()).encrypt_blocks(blocks);
}

/// ESP32 flash encryption (AES-256, per-32-byte key tweak).
///
/// ```
/// use esp_secure::flash_encryption::{Esp32FlashCrypt, FlashCrypt, FlashEncryptionKey};
/// let key = FlashEncryptionKey::from_bytes(&[7u8; 32]);
/// let crypt = Esp32FlashCrypt::new(&key, 0xF)?;
/// let mut data = *b"0123456789abcdef0123456789abcdef";
/// crypt.encrypt(0x1000, &mut data)?;
/// crypt.decrypt(0x1000, &mut data)?;
/// assert_eq!(&data, b"0123456789abcdef0123456789abcdef");
/// # Ok::<(), esp_secure::flash_encryption::FlashCryptError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Esp32FlashCrypt {
    /// The 256-bit key (192-bit keys already extended), as big-endian
    /// limbs like the tweak arithmetic.
    key: U256,
    /// The key bits the tweak may flip (from FLASH_CRYPT_CONFIG).
    tweak_range: U256,
    config: u8,
}

impl std::fmt::Debug for Esp32FlashCrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Esp32FlashCrypt")
            .field("flash_crypt_config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Esp32FlashCrypt {
    /// Builds the cipher from a 192- or 256-bit key and a 4-bit
    /// FLASH_CRYPT_CONFIG. A 192-bit key is extended to `key ‖ key[8..16]`
    /// as the ESP32 3/4 coding scheme does (`_load_hardware_key`, L96).
    pub fn new(key: &FlashEncryptionKey, flash_crypt_config: u32) -> Result<Self, FlashCryptError> {
        let raw = key.as_bytes();
        let mut full = [0u8; 32];
        match raw.len() {
            32 => full.copy_from_slice(raw),
            24 => {
                full[..24].copy_from_slice(raw);
                full[24..].copy_from_slice(&raw[8..16]);
            }
            n => {
                return Err(FlashCryptError::KeyLength {
                    algorithm: "ESP32 flash encryption",
                    expected:
                        "192 or 256 bits (24 or 32 bytes); use XTS-AES (--aes-xts) for other chips",
                    actual_bytes: n,
                })
            }
        }
        let config = u8::try_from(flash_crypt_config)
            .ok()
            .filter(|c| *c <= 0xF)
            .ok_or(FlashCryptError::FlashCryptConfig(flash_crypt_config))?;
        let mut tweak_range = [0u64; 4];
        for (group, range) in TWEAK_RANGE.iter().enumerate() {
            if config & (1 << group) != 0 {
                for (t, r) in tweak_range.iter_mut().zip(range) {
                    *t |= r;
                }
            }
        }
        let mut key = [0u64; 4];
        for (limb, bytes) in key.iter_mut().zip(full.chunks_exact(8)) {
            let mut be = [0u8; 8];
            be.copy_from_slice(bytes);
            *limb = u64::from_be_bytes(be);
        }
        full.zeroize();
        Ok(Self {
            key,
            tweak_range,
            config,
        })
    }

    /// The key in effect for the 32-byte flash block containing `address`.
    fn block_key(&self, address: u32) -> Zeroizing<[u8; 32]> {
        let a = u64::from(address >> 5);
        let p1 = mul_small(&MUL1, a);
        let p2 = mul_small(&MUL2, a);
        let mut k = Zeroizing::new([0u8; 32]);
        for (i, chunk) in k.chunks_exact_mut(8).enumerate() {
            let tweak = (p1[i] | (p2[i] & MUL2_MASK[i])) & self.tweak_range[i];
            chunk.copy_from_slice(&(self.key[i] ^ tweak).to_be_bytes());
        }
        k
    }

    fn run(
        &self,
        address: u32,
        data: &mut [u8],
        direction: Direction,
    ) -> Result<(), FlashCryptError> {
        check_chunk(address, data)?;
        let mut at = address;
        let mut rest = data;
        while !rest.is_empty() {
            // Up to the end of this 32-byte tweak block.
            let in_block = (32 - (at % 32) as usize).min(rest.len());
            let (now, later) = rest.split_at_mut(in_block);
            let key = self.block_key(at);
            // The hardware uses AES backwards: flash encryption is AES
            // decryption (reference/esptool.md §3.2).
            match direction {
                Direction::Encrypt => reversed_blocks(now, |blocks| aes256_decrypt(&key, blocks)),
                Direction::Decrypt => reversed_blocks(now, |blocks| aes256_encrypt(&key, blocks)),
            }
            at = at.wrapping_add(in_block as u32);
            rest = later;
        }
        Ok(())
    }
}

impl FlashCrypt for Esp32FlashCrypt {
    fn encrypt(&self, address: u32, data: &mut [u8]) -> Result<(), FlashCryptError> {
        self.run(address, data, Direction::Encrypt)
    }
    fn decrypt(&self, address: u32, data: &mut [u8]) -> Result<(), FlashCryptError> {
        self.run(address, data, Direction::Decrypt)
    }
    fn pads_partial_block(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------------------
// XTS-AES

/// The two IEEE 1619 key halves: the data key and the tweak key.
struct XtsKeys<C> {
    data: C,
    tweak: C,
}

#[allow(clippy::large_enum_variant)] // one per cipher instance, never moved in bulk
enum XtsCipher {
    Aes128(XtsKeys<Aes128>),
    Aes256(XtsKeys<Aes256>),
}

/// Data units handled per batch: 8 units = 64 AES blocks per
/// `encrypt_blocks` call, enough to keep the AES-NI pipeline full.
const UNITS_PER_BATCH: usize = 8;
const BLOCKS_PER_UNIT: usize = XTS_DATA_UNIT / 16;

/// Multiplication by the primitive element α in GF(2^128), IEEE 1619
/// little-endian convention (the per-block tweak step).
fn gf_double(t: u128) -> u128 {
    (t << 1) ^ if t >> 127 != 0 { 0x87 } else { 0 }
}

impl<C: BlockEncrypt + BlockDecrypt + BlockSizeUser<BlockSize = U16>> XtsKeys<C> {
    /// XTS over whole 128-byte data units, the first at the unit-aligned
    /// `address`, each unit byte-reversed before and after as the hardware
    /// does (reference/esptool.md §3.3). The tweak of a unit is
    /// `E_tweak(LE32(address) ‖ 0¹²)`, multiplied by α per 16-byte block.
    ///
    /// This is plain IEEE 1619 XTS (no ciphertext stealing: a unit is 8
    /// whole blocks). It is written here rather than taken from `xts-mode`
    /// because that crate encrypts one block at a time, which leaves
    /// AES-NI latency-bound (about 4x slower); the unit tests check this
    /// code against `xts-mode` and the CLI tests against espsecure.
    fn units(&self, address: u32, units: &mut [u8], direction: Direction) {
        let mut blocks = [aes::Block::default(); BLOCKS_PER_UNIT * UNITS_PER_BATCH];
        let mut tweaks = [aes::Block::default(); UNITS_PER_BATCH];
        let mut masks = [0u128; BLOCKS_PER_UNIT * UNITS_PER_BATCH];
        let mut at = address;
        for batch in units.chunks_mut(XTS_DATA_UNIT * UNITS_PER_BATCH) {
            let n_units = batch.len() / XTS_DATA_UNIT;
            for (u, tweak) in tweaks.iter_mut().take(n_units).enumerate() {
                let unit_address = at.wrapping_add((u * XTS_DATA_UNIT) as u32) & !0x7F;
                let mut t = [0u8; 16];
                t[..4].copy_from_slice(&unit_address.to_le_bytes());
                *tweak = t.into();
            }
            self.tweak.encrypt_blocks(&mut tweaks[..n_units]);
            for (u, unit) in batch.chunks_exact(XTS_DATA_UNIT).enumerate() {
                let mut t = u128::from_le_bytes(tweaks[u].into());
                for j in 0..BLOCKS_PER_UNIT {
                    // Block j of the reversed unit is the unit's j-th
                    // 16 bytes from the end, reversed: read big-endian.
                    let end = XTS_DATA_UNIT - 16 * j;
                    let mut src = [0u8; 16];
                    src.copy_from_slice(&unit[end - 16..end]);
                    let x = u128::from_be_bytes(src) ^ t;
                    blocks[u * BLOCKS_PER_UNIT + j] = x.to_le_bytes().into();
                    masks[u * BLOCKS_PER_UNIT + j] = t;
                    t = gf_double(t);
                }
            }
            let n_blocks = n_units * BLOCKS_PER_UNIT;
            match direction {
                Direction::Encrypt => self.data.encrypt_blocks(&mut blocks[..n_blocks]),
                Direction::Decrypt => self.data.decrypt_blocks(&mut blocks[..n_blocks]),
            }
            for (u, unit) in batch.chunks_exact_mut(XTS_DATA_UNIT).enumerate() {
                for j in 0..BLOCKS_PER_UNIT {
                    let i = u * BLOCKS_PER_UNIT + j;
                    let y = u128::from_le_bytes(blocks[i].into()) ^ masks[i];
                    let end = XTS_DATA_UNIT - 16 * j;
                    unit[end - 16..end].copy_from_slice(&y.to_be_bytes());
                }
            }
            at = at.wrapping_add(batch.len() as u32);
        }
        for block in &mut blocks {
            block.as_mut_slice().zeroize();
        }
        masks.zeroize();
    }
}

/// The XTS-AES key size in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum XtsKeyKind {
    /// A 128-bit eFuse key extended to 256 bits with SHA-256 (ESP32-C2
    /// `XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS`), then XTS-AES-128.
    Aes128Derived,
    /// A 256-bit key: XTS-AES-128.
    Aes128,
    /// A 512-bit key: XTS-AES-256.
    Aes256,
}

/// XTS-AES flash encryption (ESP32-S2 and later).
///
/// ```
/// use esp_secure::flash_encryption::{FlashCrypt, FlashEncryptionKey, XtsFlashCrypt};
/// let key = FlashEncryptionKey::from_bytes(&[9u8; 64]); // XTS-AES-256
/// let crypt = XtsFlashCrypt::new(&key)?;
/// let mut data = [0x55u8; 256];
/// crypt.encrypt(0x10000, &mut data)?;
/// crypt.decrypt(0x10000, &mut data)?;
/// assert_eq!(data, [0x55u8; 256]);
/// # Ok::<(), esp_secure::flash_encryption::FlashCryptError>(())
/// ```
pub struct XtsFlashCrypt {
    cipher: XtsCipher,
    kind: XtsKeyKind,
}

impl std::fmt::Debug for XtsFlashCrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XtsFlashCrypt")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl XtsFlashCrypt {
    /// Builds the cipher from a 128-, 256- or 512-bit key (file byte order,
    /// as espsecure). The halves are the IEEE 1619 data key and tweak key.
    pub fn new(key: &FlashEncryptionKey) -> Result<Self, FlashCryptError> {
        let raw = key.as_bytes();
        let (cipher, kind) = match raw.len() {
            16 => {
                // `_load_hardware_key`: key = SHA256(16 file bytes).
                let derived = Zeroizing::new(<[u8; 32]>::from(Sha256::digest(raw)));
                (Self::aes128(&derived[..]), XtsKeyKind::Aes128Derived)
            }
            32 => (Self::aes128(raw), XtsKeyKind::Aes128),
            64 => (
                XtsCipher::Aes256(XtsKeys {
                    data: Aes256::new(GenericArray::from_slice(&raw[..32])),
                    tweak: Aes256::new(GenericArray::from_slice(&raw[32..])),
                }),
                XtsKeyKind::Aes256,
            ),
            n => {
                return Err(FlashCryptError::KeyLength {
                    algorithm: "XTS-AES flash encryption",
                    expected: "128, 256 or 512 bits (16, 32 or 64 bytes)",
                    actual_bytes: n,
                })
            }
        };
        Ok(Self { cipher, kind })
    }

    fn aes128(key32: &[u8]) -> XtsCipher {
        XtsCipher::Aes128(XtsKeys {
            data: Aes128::new(GenericArray::from_slice(&key32[..16])),
            tweak: Aes128::new(GenericArray::from_slice(&key32[16..32])),
        })
    }

    /// Which XTS variant the key selects.
    pub fn kind(&self) -> XtsKeyKind {
        self.kind
    }

    fn units(&self, address: u32, units: &mut [u8], direction: Direction) {
        match &self.cipher {
            XtsCipher::Aes128(keys) => keys.units(address, units, direction),
            XtsCipher::Aes256(keys) => keys.units(address, units, direction),
        }
    }

    fn run(
        &self,
        address: u32,
        data: &mut [u8],
        direction: Direction,
    ) -> Result<(), FlashCryptError> {
        check_chunk(address, data)?;
        let mut at = address;
        let mut rest = data;
        while !rest.is_empty() {
            let offset = (at as usize) % XTS_DATA_UNIT;
            if offset == 0 && rest.len() >= XTS_DATA_UNIT {
                let whole = rest.len() - rest.len() % XTS_DATA_UNIT;
                let (now, later) = rest.split_at_mut(whole);
                self.units(at, now, direction);
                at = at.wrapping_add(whole as u32);
                rest = later;
                continue;
            }
            // A partial unit: the other blocks of a unit are independent
            // (128 is a multiple of 16, so there is no ciphertext
            // stealing), so zero padding leaves ours unaffected.
            let take = (XTS_DATA_UNIT - offset).min(rest.len());
            let (now, later) = rest.split_at_mut(take);
            let mut unit = Zeroizing::new([0u8; XTS_DATA_UNIT]);
            unit[offset..offset + take].copy_from_slice(now);
            self.units(at & !0x7F, &mut unit[..], direction);
            now.copy_from_slice(&unit[offset..offset + take]);
            at = at.wrapping_add(take as u32);
            rest = later;
        }
        Ok(())
    }
}

impl FlashCrypt for XtsFlashCrypt {
    fn encrypt(&self, address: u32, data: &mut [u8]) -> Result<(), FlashCryptError> {
        self.run(address, data, Direction::Encrypt)
    }
    fn decrypt(&self, address: u32, data: &mut [u8]) -> Result<(), FlashCryptError> {
        self.run(address, data, Direction::Decrypt)
    }
    fn pads_partial_block(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests;
