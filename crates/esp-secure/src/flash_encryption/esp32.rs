//! ESP32 flash encryption: AES-256 used backwards on byte-reversed blocks,
//! with the key tweaked per 32-byte flash block (reference/esptool.md §3.2).

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{check_chunk, Direction, FlashCrypt, FlashCryptError, FlashEncryptionKey};

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

/// `x · y mod 2^256`.
fn mul_mod(x: &U256, y: &U256) -> U256 {
    let mut out = [0u64; 4];
    // limb 3 is the least significant; products landing past limb 0 drop
    for i in (0..4usize).rev() {
        let mut carry: u128 = 0;
        for j in (0..4usize).rev() {
            let Some(k) = (i + j).checked_sub(3) else {
                continue;
            };
            let wide = u128::from(x[i]) * u128::from(y[j]) + u128::from(out[k]) + carry;
            out[k] = wide as u64;
            carry = wide >> 64;
        }
    }
    out
}

/// The tweak's block number `address >> 5` (Python's floor shift, as
/// espsecure computes it for any integer) modulo 2^256.
fn block_number(address: i128) -> U256 {
    let a = address >> 5;
    let high = if a < 0 { u64::MAX } else { 0 };
    [high, high, (a as u128 >> 64) as u64, a as u64]
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
    #[cfg(test)]
    pub(super) fn block_key(&self, address: u32) -> Zeroizing<[u8; 32]> {
        self.block_key_at(i128::from(address))
    }

    /// [`Self::block_key`] for any integer address, as espsecure computes
    /// it: the products are taken modulo 2^256, so a negative address or
    /// one past 4 GiB has a key too.
    fn block_key_at(&self, address: i128) -> Zeroizing<[u8; 32]> {
        let (p1, p2) = match u64::try_from(address >> 5) {
            // the common case, a quarter of the multiplications
            Ok(a) => (mul_small(&MUL1, a), mul_small(&MUL2, a)),
            Err(_) => {
                let a = block_number(address);
                (mul_mod(&MUL1, &a), mul_mod(&MUL2, &a))
            }
        };
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
        self.run_at(i128::from(address), data, direction);
        Ok(())
    }

    /// Encrypts or decrypts `data` (whole 16-byte blocks) at `address`,
    /// any integer espsecure's `--address` takes: below 0 and past 4 GiB,
    /// where no flash is, the key tweak is still defined
    /// (`_flash_encryption_tweak_key` works on Python integers).
    ///
    /// # Errors
    /// [`FlashCryptError::UnalignedAnyAddress`] or
    /// [`FlashCryptError::UnalignedLength`] when the address or the length
    /// is not a multiple of 16.
    pub fn crypt_at_any_address(
        &self,
        direction: Direction,
        address: i128,
        data: &mut [u8],
    ) -> Result<(), FlashCryptError> {
        if address.rem_euclid(16) != 0 {
            return Err(FlashCryptError::UnalignedAnyAddress(address));
        }
        if !data.len().is_multiple_of(16) {
            return Err(FlashCryptError::UnalignedLength(data.len() as u64));
        }
        self.run_at(address, data, direction);
        Ok(())
    }

    fn run_at(&self, address: i128, data: &mut [u8], direction: Direction) {
        let mut at = address;
        let mut rest = data;
        while !rest.is_empty() {
            // Up to the end of this 32-byte tweak block.
            let in_block = (32 - at.rem_euclid(32) as usize).min(rest.len());
            let (now, later) = rest.split_at_mut(in_block);
            let key = self.block_key_at(at);
            // The hardware uses AES backwards: flash encryption is AES
            // decryption (reference/esptool.md §3.2).
            match direction {
                Direction::Encrypt => reversed_blocks(now, |blocks| aes256_decrypt(&key, blocks)),
                Direction::Decrypt => reversed_blocks(now, |blocks| aes256_encrypt(&key, blocks)),
            }
            at = at.wrapping_add(in_block as i128);
            rest = later;
        }
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

#[cfg(test)]
mod wide_address_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The wide multiplication agrees with the one-limb one wherever both
    /// apply, and a negative block number is its two's complement.
    #[test]
    fn wide_tweak_products_agree_with_the_narrow_ones() {
        for address in [0u32, 0x20, 0x1000, 0x12_3460, 0xFFFF_FFE0] {
            let a = block_number(i128::from(address));
            let narrow = u64::from(address >> 5);
            assert_eq!(mul_mod(&MUL1, &a), mul_small(&MUL1, narrow), "{address:#x}");
            assert_eq!(mul_mod(&MUL2, &a), mul_small(&MUL2, narrow), "{address:#x}");
        }
        assert_eq!(block_number(-32), [u64::MAX; 4]);
        assert_eq!(
            block_number(-64),
            [u64::MAX, u64::MAX, u64::MAX, u64::MAX - 1]
        );
        // -1 · x = 2^256 - x
        let minus_one = block_number(-32);
        let negated = mul_mod(&MUL2, &minus_one);
        let sum = mul_mod(&MUL2, &block_number(32));
        let mut carry = 0u128;
        let mut total = [0u64; 4];
        for i in (0..4).rev() {
            let wide = u128::from(negated[i]) + u128::from(sum[i]) + carry;
            total[i] = wide as u64;
            carry = wide >> 64;
        }
        assert_eq!(total, [0; 4]);
    }

    /// Within the flash address space the any-address path is the
    /// ordinary one; past it, and below zero, it still round-trips.
    #[test]
    fn any_address_matches_the_flash_path_and_round_trips() {
        let key = FlashEncryptionKey::from_bytes(&[0x5Au8; 32]);
        let crypt = Esp32FlashCrypt::new(&key, 0xF).unwrap();
        let plain: Vec<u8> = (0..96u8).collect();
        let mut ours = plain.clone();
        crypt.encrypt(0x1010, &mut ours).unwrap();
        let mut wide = plain.clone();
        crypt
            .crypt_at_any_address(Direction::Encrypt, 0x1010, &mut wide)
            .unwrap();
        assert_eq!(ours, wide);
        for address in [-0x1000i128, 0x1_0000_0000, i128::MIN / 2 * 2] {
            let mut data = plain.clone();
            crypt
                .crypt_at_any_address(Direction::Encrypt, address, &mut data)
                .unwrap();
            assert_ne!(data, plain);
            crypt
                .crypt_at_any_address(Direction::Decrypt, address, &mut data)
                .unwrap();
            assert_eq!(data, plain, "{address:#x}");
        }
        assert!(matches!(
            crypt.crypt_at_any_address(Direction::Encrypt, -8, &mut ours),
            Err(FlashCryptError::UnalignedAnyAddress(-8))
        ));
    }
}
