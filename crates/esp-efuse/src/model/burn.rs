//! Burning what is staged, as espefuse's emulator does (base_fields.py
//! `check_wr_data`, `burn_all`; `<chip>/emulate_efuse_controller.py`):
//! a plan that checks every block first, then the burn, blocks from last to
//! first, with BLOCK0's protection bits in a second pass.

use super::fields::mask;
use super::registers::{clear_bits, words_to_bytes};
use super::{Efuses, ForceWrite, Note, Observer};
use crate::backend::EfuseBackend;
use crate::bits::Bits;
use crate::error::{BurnCheck, Coding, EfuseError, Protected};
use crate::tables::ChipEfuses as _;

impl Efuses {
    /// Burns everything staged: espefuse's checks and plan, then the burn
    /// with BLOCK0's protection bits last. Returns whether anything was
    /// burned. All or nothing: on a refusal the eFuses are as before the
    /// call and nothing stays staged.
    pub fn commit(&mut self) -> Result<bool, EfuseError> {
        self.commit_to(&mut crate::backend::Emulated)
    }

    /// [`Efuses::commit`] through `backend`: each block is programmed by
    /// the backend (an emulated chip, a virtual file, a chip on a port) and
    /// read back from it. All or nothing as far as the checks go; a chip
    /// that fails midway keeps what it burned, and the value is what it
    /// read back last.
    pub fn commit_to(
        &mut self,
        backend: &mut dyn crate::backend::EfuseBackend,
    ) -> Result<bool, EfuseError> {
        let saved = (self.mem.clone(), self.hardware.clone());
        let r = match self.plan_burn(ForceWrite::Unavailable, &mut ()) {
            Ok(true) => self
                .execute_burn(ForceWrite::Unavailable, &mut (), backend)
                .map(|()| true),
            other => other,
        };
        if r.is_err() {
            (self.mem, self.hardware) = saved;
        }
        self.wr.iter_mut().flatten().for_each(|w| *w = 0);
        r
    }

    /// Checks every staged block (`check_wr_data`) and decides what will be
    /// burned. Returns false if there is nothing to burn. This is the "plan"
    /// that is shown before the confirmation; nothing is written yet.
    pub(crate) fn plan_burn(
        &mut self,
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<bool, EfuseError> {
        obs.note(Note::PlanStart);
        let mut any = false;
        for block in 0..self.table.blocks.len() {
            let len = self.block_len_words(block);
            if self.wr[block][len..].iter().any(|w| *w != 0) {
                return Err(EfuseError::BlockOverflow {
                    block,
                    size: len * 4,
                    data: self.wr[block].len() * 4,
                });
            }
            let wr = self.wr[block][..len].to_vec();
            if wr.iter().all(|w| *w == 0) {
                obs.note(Note::BlockNothingStaged(block));
                continue;
            }
            let what = Protected::Block {
                block,
                name: self.table.blocks[block].name,
            };
            if !self.is_block_readable(block) {
                self.refuse_unless_forced(BurnCheck::ReadProtected(what.clone()), force, obs)?;
            }
            if !self.is_block_writeable(block) {
                self.refuse_unless_forced(BurnCheck::WriteProtected(what), force, obs)?;
            }
            let rd = self.block_words(block);
            if rd.iter().all(|w| *w == 0) {
                obs.note(Note::BlockEmpty(block));
            } else if rd == wr {
                obs.note(Note::BlockSameValue(block));
                self.wr[block].iter_mut().for_each(|w| *w = 0);
            } else {
                obs.note(Note::BlockNotEmpty {
                    block,
                    written: &rd,
                    to_write: &wr,
                });
                if rd.iter().zip(&wr).all(|(r, w)| r & w == *w) {
                    obs.note(Note::AllBitsSet);
                    self.wr[block].iter_mut().for_each(|w| *w = 0);
                } else if block != 0 && self.coding_is_34() {
                    obs.note(Note::Coding(Coding::ThreeFour));
                    self.check_34_chunks(block, &rd, force, obs)?;
                } else if self.coding_is_rs(block) {
                    obs.note(Note::Coding(Coding::ReedSolomon));
                    let check = BurnCheck::CodingForbids {
                        block,
                        name: self.table.blocks[block].name,
                        coding: Coding::ReedSolomon,
                    };
                    self.refuse_unless_forced(check, force, obs)?;
                } else {
                    obs.note(Note::Coding(Coding::None));
                }
            }
            if self.wr[block].iter().any(|w| *w != 0) {
                any = true;
            }
        }
        if !any {
            obs.note(Note::NothingToBurn);
        }
        Ok(any)
    }

    /// 3/4 coding: each 6-byte chunk carries its own check bytes, so a chunk
    /// can only be written while empty (`check_wr_data`, base_fields.py).
    fn check_34_chunks(
        &mut self,
        block: usize,
        rd: &[u32],
        force: ForceWrite,
        obs: &mut dyn Observer,
    ) -> Result<(), EfuseError> {
        let rd_bytes = words_to_bytes(rd);
        let mut wr_bytes = words_to_bytes(&self.wr[block][..rd.len()]);
        let chunks = rd_bytes.len() / 6;
        let mut refused = false;
        // espefuse walks the MSB-first bitstring, i.e. the last chunk in memory first
        for k in 0..chunks {
            let m = chunks - 1 - k;
            let r = &rd_bytes[m * 6..m * 6 + 6];
            let w = &wr_bytes[m * 6..m * 6 + 6];
            if r.iter().any(|b| *b != 0) && w.iter().any(|b| *b != 0) {
                if r == w {
                    obs.note(Note::ChunkSame(k));
                    wr_bytes[m * 6..m * 6 + 6].iter_mut().for_each(|b| *b = 0);
                } else {
                    obs.note(Note::ChunkConflict {
                        k,
                        written: r,
                        to_write: w,
                    });
                    refused = true;
                }
            }
        }
        for (w, chunk) in self.wr[block].iter_mut().zip(wr_bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        if refused {
            let check = BurnCheck::CodingForbids {
                block,
                name: self.table.blocks[block].name,
                coding: Coding::ThreeFour,
            };
            self.refuse_unless_forced(check, force, obs)?;
        }
        Ok(())
    }

    /// Burns everything staged, blocks from last to first, with BLOCK0's
    /// protection and lock bits postponed to a second pass unless
    /// [`Efuses::set_postpone`] turned that off (`burn_all`).
    /// Call [`Efuses::plan_burn`] first. `force` applies to the second
    /// pass's checks (espefuse stages the postponed bits again).
    /// A refusal before the first block is programmed leaves the state as
    /// it was before the call. What was programmed before a failure stays
    /// burned, as on a chip (and in espefuse's emulator, which saves its
    /// file as it programs), and nothing stays staged.
    pub(crate) fn execute_burn(
        &mut self,
        force: ForceWrite,
        obs: &mut dyn Observer,
        backend: &mut dyn EfuseBackend,
    ) -> Result<(), EfuseError> {
        let saved = (self.mem.clone(), self.wr.clone(), self.hardware.clone());
        let mut programmed = false;
        let r = self.execute_burn_inner(force, obs, backend, &mut programmed);
        if r.is_err() {
            if programmed {
                self.wr.iter_mut().flatten().for_each(|w| *w = 0);
            } else {
                (self.mem, self.wr, self.hardware) = saved;
            }
        }
        r
    }

    fn execute_burn_inner(
        &mut self,
        force: ForceWrite,
        obs: &mut dyn Observer,
        backend: &mut dyn EfuseBackend,
        programmed: &mut bool,
    ) -> Result<(), EfuseError> {
        for block in (0..self.table.blocks.len()).rev() {
            // espefuse always takes the postponed path for BLOCK0: its test
            // `any(value != 0 ...)` compares bitstrings with the int 0, which is
            // always true, so the second pass (and its "same value" notes) always runs.
            let mut postponed: Vec<(usize, Bits)> = Vec::new();
            if block == 0 && self.postpone {
                for field in self.chip.postponed_fields() {
                    if let Ok(i) = self.index(*field) {
                        postponed.push((i, self.field_bits_at(i, false)));
                    }
                }
                obs.note(Note::Postponed(&postponed));
                for (i, _) in &postponed {
                    self.reset_staged(*i);
                }
            }
            self.burn_block(block, obs, backend, programmed)?;
            if block == 0 && !postponed.is_empty() {
                obs.note(Note::PostponedPass);
                for (i, bits) in postponed {
                    self.stage_at(i, bits, force, obs)?;
                }
                self.burn_block(0, obs, backend, programmed)?;
            }
        }
        // "Reading updated eFuses...": the coding scheme first, then the blocks
        self.reread_coding_scheme();
        let blocks: Vec<Vec<u32>> = (0..self.table.blocks.len())
            .map(|b| self.block_words(b))
            .collect();
        obs.note(Note::Reading { blocks: &blocks });
        Ok(())
    }

    /// One block alone, what is staged in it (espefuse's block `burn` as
    /// `check-error --recovery` calls it); on a refusal the eFuses are as
    /// before and nothing stays staged. A block that was programmed and
    /// then read back wrong stays burned, as on a chip (and in espefuse's
    /// emulator, which saves its file as it programs).
    pub(crate) fn burn_one_block(
        &mut self,
        block: usize,
        obs: &mut dyn Observer,
        backend: &mut dyn EfuseBackend,
    ) -> Result<(), EfuseError> {
        let saved = (self.mem.clone(), self.hardware.clone());
        let mut programmed = false;
        let r = self.burn_block(block, obs, backend, &mut programmed);
        if r.is_err() && !programmed {
            (self.mem, self.hardware) = saved;
        }
        self.wr.iter_mut().flatten().for_each(|w| *w = 0);
        r
    }

    /// One block through the backend (espefuse's `burn`: program, read
    /// back, compare). Sets `programmed` once the backend was asked to
    /// program it.
    fn burn_block(
        &mut self,
        block: usize,
        obs: &mut dyn Observer,
        backend: &mut dyn EfuseBackend,
        programmed: &mut bool,
    ) -> Result<(), EfuseError> {
        let wr = self.wr[block][..self.block_len_words(block)].to_vec();
        if wr.iter().all(|w| *w == 0) {
            return Ok(());
        }
        let before = self.block_words(block);
        obs.note(Note::ToWrite { block, words: &wr });
        let mut events = Vec::new();
        let unprogrammed = (self.mem.clone(), self.hardware.clone());
        let programmed_now = backend.program(self, block, &wr, &mut events);
        if let Err(EfuseError::EmulatorCodingScheme(_)) = programmed_now {
            // espefuse's ESP32 emulator raises this in the read command after
            // the program, before it saves its file: none of it is kept
            (self.mem, self.hardware) = unprogrammed;
        } else {
            *programmed = true;
        }
        for event in &events {
            obs.note(Note::Program { block, event });
        }
        programmed_now?;
        let after = self.block_words(block);
        obs.note(Note::ReadBack {
            block,
            words: &after,
        });
        if !self.is_block_readable(block) {
            // base_fields.py `burn`: the block must read back as zeros
            let all_zero = after.iter().all(|w| *w == 0);
            obs.note(Note::BurnedReadProtected { block, all_zero });
            if !all_zero {
                let hex = after.iter().rev().map(|w| format!("{w:08x}")).collect();
                return Err(EfuseError::ReadProtectedNotZero {
                    name: self.table.blocks[block].name,
                    hex,
                });
            }
        } else if after == wr {
            obs.note(Note::BlockBurned { block, exact: true });
        } else if after.iter().zip(&wr).all(|(a, w)| a & w == *w)
            && after.iter().zip(&before).all(|(a, b)| a & b == *b)
        {
            obs.note(Note::BlockBurned {
                block,
                exact: false,
            });
        } else {
            // read protection set in the same burn (BLOCK0 reads back
            // zeros where it hides bits, and is not an error)
            obs.note(Note::Mismatch {
                block,
                expected: &wr,
                real: &after,
            });
            if block != 0 {
                let def = &self.table.blocks[block];
                return Err(EfuseError::BurnFailed {
                    block,
                    name: def.name,
                    aliases: def.aliases,
                });
            }
        }
        self.wr[block].iter_mut().for_each(|w| *w = 0);
        Ok(())
    }

    /// Programs `words` into `block` as the controller does once its coding
    /// check passed: bits under write protection are dropped, the rest are
    /// ORed into the read registers (and into what the hardware holds), then
    /// read protection is applied. Returns whether `RD_DIS` changed. The one
    /// implementation of programming, for staged burns ([`Efuses::commit`])
    /// and for the register-level controller ([`Efuses::program_block`]).
    ///
    /// The words are as many as the emulator reads the block (fewer are
    /// padded with zeros): the decoded data, or on an ESP32 whose 3/4
    /// scheme read protection has hidden from the emulator, the coded words.
    pub(crate) fn program_words(&mut self, block: usize, words: &[u32]) -> bool {
        let rd_dis_before = self.rd_dis();
        let before = self.read_words(block, self.emulator_block_len_words(block));
        let masked = self.mask_write_protected(block, words);
        let merged: Vec<u32> = before
            .iter()
            .zip(masked.iter().chain(std::iter::repeat(&0)))
            .map(|(r, w)| r | w)
            .collect();
        self.set_block_words(block, &merged);
        for (h, m) in self.hardware[block].iter_mut().zip(&merged) {
            *h |= m;
        }
        self.apply_read_protection();
        self.rd_dis() != rd_dis_before
    }

    /// Programs `words` (block words, memory order) into `block` as the
    /// eFuse controller does once the block's coding check passed: bits
    /// under write protection are dropped, the rest ORed in, then read
    /// protection applied, capturing newly read-protected bits into what
    /// the hardware holds ([`Efuses::hidden_blocks`], serial.md §4.7).
    /// This is what a program command of [`crate::controller`] does; staged
    /// burns ([`Efuses::commit`]) go through the same code. Returns whether
    /// `RD_DIS` changed.
    pub fn program_block(&mut self, block: usize, words: &[u32]) -> Result<bool, EfuseError> {
        if block >= self.table.blocks.len() {
            return Err(EfuseError::NoSuchBlock {
                block,
                chip: self.chip,
            });
        }
        let len = self.block_len_words(block);
        if words.len() > len {
            return Err(EfuseError::BlockOverflow {
                block,
                size: len * 4,
                data: words.len() * 4,
            });
        }
        Ok(self.program_words(block, words))
    }

    /// espefuse emulator `check_wr_protection_area`.
    fn mask_write_protected(&self, block: usize, wr: &[u32]) -> Vec<u32> {
        let wr_dis = self.wr_dis();
        let def = &self.table.blocks[block];
        if def.wr_dis.is_some_and(|b| wr_dis & (1 << b) != 0) {
            return vec![0; wr.len()];
        }
        let mut out = wr.to_vec();
        for f in self
            .table
            .fields
            .iter()
            .filter(|f| f.emulator_protects && f.block as usize == block)
        {
            if let (Some(bit), Some(off)) = (f.wr_dis, f.bit_offset()) {
                if wr_dis & (1 << bit) != 0 {
                    clear_bits(&mut out, off, f.bit_len as usize);
                }
            }
        }
        out
    }

    /// espefuse emulator `check_rd_protection_area`: read-protected data is
    /// zero in memory (and so absent from the virtual file). What becomes
    /// unreadable is captured first into what the hardware holds
    /// (serial.md §4.7): the key engines still read a key that software no
    /// longer can, also when the key was burned before this value was
    /// loaded from a file.
    fn apply_read_protection(&mut self) {
        let rd_dis = self.rd_dis();
        for block in 0..self.table.blocks.len() {
            let def = &self.table.blocks[block];
            let mut words = self.read_words(block, self.emulator_block_len_words(block));
            for (h, w) in self.hardware[block].iter_mut().zip(&words) {
                *h |= w;
            }
            if !def.rd_dis.is_empty() && rd_dis & mask(def.rd_dis) != 0 {
                if def.rd_dis.len() == 2 {
                    // ESP32-C2 BLOCK_KEY0: first bit hides the low half, second the high half.
                    let half = def.len_words * 32 / 2;
                    if rd_dis & (1 << def.rd_dis[0]) != 0 {
                        clear_bits(&mut words, 0, half);
                    }
                    if rd_dis & (1 << def.rd_dis[1]) != 0 {
                        clear_bits(&mut words, half, half);
                    }
                } else {
                    words.iter_mut().for_each(|w| *w = 0);
                }
            } else {
                for f in self
                    .table
                    .fields
                    .iter()
                    .filter(|f| f.emulator_protects && f.block as usize == block)
                {
                    if !f.rd_dis.is_empty() && rd_dis & mask(f.rd_dis) != 0 {
                        if let Some(off) = f.bit_offset() {
                            clear_bits(&mut words, off, f.bit_len as usize);
                        }
                    }
                }
            }
            self.set_block_words(block, &words);
        }
    }
}
