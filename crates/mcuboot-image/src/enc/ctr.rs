//! The payload cipher: AES-CTR with MCUboot's counter layout.

extern crate std;

use std::boxed::Box;

use aes::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};

use super::{EncError, AES_BLOCK_SIZE};

enum CtrCipher {
    Aes128(Box<ctr::Ctr128BE<aes::Aes128>>),
    Aes256(Box<ctr::Ctr128BE<aes::Aes256>>),
}

/// MCUboot's payload cipher: AES-CTR whose counter block for payload byte
/// `o` is `00×12 ‖ BE32(o / 16)` (`boot_enc_encrypt`/`boot_enc_decrypt`,
/// `encrypted.c`), i.e. standard big-endian CTR with an all-zero initial
/// block, as imgtool uses (`modes.CTR(bytes(16))`). The 128-bit counter
/// agrees with MCUboot's 32-bit one for every payload below 64 GiB, which
/// covers every valid image (`ih_img_size` is a u32).
///
/// Stateful so large payloads can be processed in chunks at any offset;
/// encryption and decryption are the same operation. The AES key schedule
/// and the buffered keystream are zeroized on drop (`aes`/`ctr` `zeroize`
/// features).
pub struct AesCtr {
    cipher: CtrCipher,
}

impl AesCtr {
    /// A cipher for a 16- or 32-byte image key.
    pub fn new(key: &[u8]) -> Result<Self, EncError> {
        let iv = [0u8; AES_BLOCK_SIZE];
        let cipher = match key.len() {
            16 => CtrCipher::Aes128(Box::new(
                ctr::Ctr128BE::<aes::Aes128>::new_from_slices(key, &iv)
                    .map_err(|_| EncError::AesKeyLength(key.len()))?,
            )),
            32 => CtrCipher::Aes256(Box::new(
                ctr::Ctr128BE::<aes::Aes256>::new_from_slices(key, &iv)
                    .map_err(|_| EncError::AesKeyLength(key.len()))?,
            )),
            n => return Err(EncError::AesKeyLength(n)),
        };
        Ok(Self { cipher })
    }

    /// XORs the keystream for payload offsets `offset..offset + data.len()`
    /// into `data` (encrypts or decrypts).
    pub fn apply_at(&mut self, offset: u64, data: &mut [u8]) -> Result<(), EncError> {
        match &mut self.cipher {
            CtrCipher::Aes128(c) => {
                c.try_seek(offset)
                    .map_err(|_| EncError::CounterOffset(offset))?;
                c.try_apply_keystream(data)
                    .map_err(|_| EncError::CounterOffset(offset))
            }
            CtrCipher::Aes256(c) => {
                c.try_seek(offset)
                    .map_err(|_| EncError::CounterOffset(offset))?;
                c.try_apply_keystream(data)
                    .map_err(|_| EncError::CounterOffset(offset))
            }
        }
    }
}

impl core::fmt::Debug for AesCtr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AesCtr(secret)")
    }
}

/// One-shot [`AesCtr`]: XORs the keystream for payload offsets
/// `offset..offset + data.len()` into `data`.
pub fn aes_ctr_apply(key: &[u8], offset: u64, data: &mut [u8]) -> Result<(), EncError> {
    AesCtr::new(key)?.apply_at(offset, data)
}
