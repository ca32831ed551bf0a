//! XTS-AES flash encryption (ESP32-S2 and later): IEEE 1619 XTS over
//! byte-reversed 128-byte data units (reference/esptool.md §3.3).

use aes::cipher::consts::U16;
use aes::cipher::{
    generic_array::GenericArray, BlockDecrypt, BlockEncrypt, BlockSizeUser, KeyInit,
};
use aes::{Aes128, Aes256};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::{
    check_chunk, Direction, FlashCrypt, FlashCryptError, FlashEncryptionKey, XTS_DATA_UNIT,
};

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
