//! The controller's register image (exactly what espefuse's virtual file
//! holds, esptool.md §4.5), block words and the ESP32's coding scheme.

use super::Efuses;
use crate::tables::{Chip, Field};

impl Efuses {
    /// Raw controller register image (little-endian words from the base).
    pub fn register_image(&self) -> &[u8] {
        &self.mem
    }

    /// Replaces the register image (the virtual-file loader checked its size).
    pub(crate) fn set_register_image(&mut self, mem: Vec<u8>) {
        self.mem = mem;
    }

    /// Reads the register at `offset` from the base (0 past the end).
    pub fn read_reg(&self, offset: usize) -> u32 {
        match self.mem.get(offset..offset + 4) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => 0,
        }
    }

    pub(crate) fn write_reg(&mut self, offset: usize, v: u32) {
        if let Some(b) = self.mem.get_mut(offset..offset + 4) {
            b.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// ESP32 with the 3/4 coding scheme (CODING_SCHEME = 1; 3 reads as NONE,
    /// esp32/fields.py `read_coding_scheme`), as espefuse reads it: settled
    /// by [`Efuses::settle_as_read`], else as the eFuses are now.
    pub fn coding_is_34(&self) -> bool {
        self.coding_read.or_else(|| self.esp32_coding_scheme()) == Some(1)
    }

    /// Whether espefuse's ESP32 emulator decodes the 3/4 coding now: it
    /// reads CODING_SCHEME from the read registers on every command
    /// (esp32/emulate_efuse_controller.py `read_raw_coding_scheme`), where
    /// read protection may have hidden it since espefuse read it.
    pub(crate) fn emulator_coding_is_34(&self) -> bool {
        self.esp32_coding_scheme() == Some(1)
    }

    /// espefuse reads the coding scheme again (at the end of `burn_all`),
    /// if it had read it.
    pub(crate) fn reread_coding_scheme(&mut self) {
        if self.coding_read.is_some() {
            self.coding_read = self.esp32_coding_scheme();
        }
    }

    /// The ESP32's CODING_SCHEME bits in the read registers (`None` on the
    /// other chips).
    pub(crate) fn esp32_coding_scheme(&self) -> Option<u32> {
        if self.chip != Chip::Esp32 {
            return None;
        }
        // CODING_SCHEME is word 6 bits 0-1 of BLOCK0 (esptool.md §4.2 esp32
        // table); looked up without the coding-dependent resolution, which
        // depends on this.
        self.table
            .fields
            .iter()
            .find(|f| f.field == Field::CodingScheme)
            .and_then(|f| f.bit_offset())
            .map(|off| {
                let w = self.read_reg(self.table.blocks[0].rd_offset + 4 * (off / 32));
                (w >> (off % 32)) & 3
            })
    }

    /// The ESP32's REPEAT coding scheme (CODING_SCHEME = 2), which espefuse
    /// cannot read blocks 1-3 under: it refuses to read such a chip
    /// (base_fields.py `get_block_len`: "Coding scheme (2) not supported").
    pub fn coding_scheme_unsupported(&self) -> Option<u32> {
        self.esp32_coding_scheme().filter(|cs| *cs == 2)
    }

    /// Whether a block is Reed-Solomon coded (every block but BLOCK0 on the
    /// chips after the ESP32).
    pub(crate) fn coding_is_rs(&self, block: usize) -> bool {
        self.chip != Chip::Esp32 && block != 0
    }

    /// Words a block holds under the coding scheme espefuse reads (3/4
    /// keeps 24 of 32 bytes).
    pub fn block_len_words(&self, block: usize) -> usize {
        self.len_words_under(block, self.coding_is_34())
    }

    /// Words of a block as espefuse's emulator reads and writes it now
    /// (`get_bitlen_of_block`).
    pub(crate) fn emulator_block_len_words(&self, block: usize) -> usize {
        self.len_words_under(block, self.emulator_coding_is_34())
    }

    fn len_words_under(&self, block: usize, coding_34: bool) -> usize {
        let n = self.table.blocks[block].len_words;
        if block != 0 && coding_34 {
            n * 3 / 4
        } else {
            n
        }
    }

    /// The read words of a block.
    pub fn block_words(&self, block: usize) -> Vec<u32> {
        self.read_words(block, self.block_len_words(block))
    }

    /// The first `len` read words of a block.
    pub(crate) fn read_words(&self, block: usize, len: usize) -> Vec<u32> {
        let b = &self.table.blocks[block];
        (0..len)
            .map(|i| self.read_reg(b.rd_offset + 4 * i))
            .collect()
    }

    pub(crate) fn set_block_words(&mut self, block: usize, words: &[u32]) {
        let off = self.table.blocks[block].rd_offset;
        for (i, w) in words.iter().enumerate() {
            self.write_reg(off + 4 * i, *w);
        }
    }

    /// The block's bytes in memory order.
    pub fn block_bytes(&self, block: usize) -> Vec<u8> {
        words_to_bytes(&self.block_words(block))
    }

    /// What the next burn would program, per block (the write registers,
    /// bytes in memory order, cut to the block's length under the coding
    /// scheme as espefuse's `wr_bitarray` is): after [`Efuses::stage`] and
    /// the plan's checks, which drop blocks that already hold the data.
    /// This is what `--show-token` encodes (base_fields.py `burn_all`).
    pub fn pending_writes(&self) -> Vec<zeroize::Zeroizing<Vec<u8>>> {
        (0..self.table.blocks.len())
            .map(|b| {
                let len = self.block_len_words(b).min(self.wr[b].len());
                zeroize::Zeroizing::new(words_to_bytes(&self.wr[b][..len]))
            })
            .collect()
    }

    /// ORs `value` into the read register at `offset` (espefuse's emulator
    /// `update_reg` with a full mask: bits are only ever set).
    pub(crate) fn or_reg(&mut self, offset: usize, value: u32) {
        let v = self.read_reg(offset) | value;
        self.write_reg(offset, v);
    }

    /// Whether the controller's coding-error registers report errors (never
    /// the case for files written by espefuse's emulator or this model, but a
    /// file can be edited or come from a token dump).
    pub fn has_coding_errors(&self) -> bool {
        self.table
            .error_regs
            .iter()
            .any(|off| self.read_reg(*off) != 0)
    }
}

/// Little-endian words as bytes in memory order.
pub(crate) fn words_to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Bytes in memory order as little-endian words (a partial last word is
/// zero-padded).
pub(crate) fn bytes_to_words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks(4)
        .map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(w)
        })
        .collect()
}

/// Clears `len` bits of `words` from bit `off`.
pub(crate) fn clear_bits(words: &mut [u32], off: usize, len: usize) {
    for i in 0..len {
        let bit = off + i;
        if let Some(w) = words.get_mut(bit / 32) {
            *w &= !(1 << (bit % 32));
        }
    }
}
