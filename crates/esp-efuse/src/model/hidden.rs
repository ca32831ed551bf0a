//! Read-protected bits: the hardware (AES-XTS, HMAC) still reads keys that
//! software, and so espefuse's virtual file, sees as zeros.

use super::registers::{bytes_to_words, words_to_bytes};
use super::Efuses;
use crate::error::{EfuseError, FileError};

impl Efuses {
    /// The block as the hardware sees it: peripherals (AES-XTS, HMAC) still
    /// read keys that software cannot. Read-protected data is only known for
    /// blocks burned through this value or restored with
    /// [`Efuses::restore_hidden_block`]; loaded from a virtual file alone it
    /// reads as zeros, because espefuse's file does not keep it.
    pub fn hardware_block_bytes(&self, block: usize) -> Vec<u8> {
        let len = self.block_len_words(block);
        let words: Vec<u32> = self
            .block_words(block)
            .iter()
            .zip(self.hardware[block].iter().take(len))
            .map(|(r, h)| r | h)
            .collect();
        words_to_bytes(&words)
    }

    /// Read-protected bits the hardware holds but the register image (and so
    /// espefuse's virtual file) shows as zeros: `(block, bytes)` for every
    /// block with such bits. [`crate::VirtualFile`] keeps these beside the
    /// file so the chip's peripherals still find their keys after a reload.
    pub fn hidden_blocks(&self) -> Vec<(usize, zeroize::Zeroizing<Vec<u8>>)> {
        (0..self.hardware.len())
            .filter(|&block| {
                let visible = self.block_words(block);
                self.hardware[block]
                    .iter()
                    .zip(visible.iter().chain(std::iter::repeat(&0)))
                    .any(|(h, v)| h & !v != 0)
            })
            .map(|block| {
                (
                    block,
                    zeroize::Zeroizing::new(words_to_bytes(&self.hardware[block])),
                )
            })
            .collect()
    }

    /// Restores what [`Efuses::hidden_blocks`] returned after the register
    /// image was loaded from a virtual file. Bits are ORed in (eFuse bits only
    /// go 0→1); a block number or length that does not fit the chip is refused.
    pub fn restore_hidden_block(&mut self, block: usize, bytes: &[u8]) -> Result<(), EfuseError> {
        if block >= self.hardware.len() {
            return Err(FileError::HiddenBlock { block }.into());
        }
        // every word of the block, as [`Efuses::hidden_blocks`] gives them
        // (more than an ESP32 block shows under the 3/4 coding scheme)
        let len = self.hardware[block].len();
        if bytes.len() != len * 4 {
            return Err(FileError::HiddenLength {
                block,
                expected: len * 4,
                got: bytes.len(),
            }
            .into());
        }
        let words = zeroize::Zeroizing::new(bytes_to_words(bytes));
        for (w, add) in self.hardware[block].iter_mut().zip(words.iter()) {
            *w |= add;
        }
        Ok(())
    }
}
