//! Where the eFuses live: one model ([`Efuses`]), several backends.
//!
//! Every espefuse command works on an [`Efuses`] value: it is read from the
//! backend, commands stage their writes on it with espefuse's checks, and
//! the burn programs each block through the backend, which then refreshes
//! the value from where the eFuses are ([`EfuseBackend::program`]). So the
//! checks, confirmations and messages are the same whatever the backend:
//!
//! - [`Emulated`]: an in-memory chip, as espefuse's emulator burns it (what
//!   [`Efuses::commit`] uses);
//! - [`VirtualFile`]: the same emulation, loaded from and saved to
//!   espefuse's virtual file (`--virt --path-efuse-file`);
//! - [`Port`]: a chip's eFuse controller driven register by register over
//!   any [`RegisterIo`] (READ_REG/WRITE_REG of the ROM protocol), the way
//!   espefuse drives it (serial.md §4.3): timing registers, the program
//!   data and Reed-Solomon (or 3/4) check words, the program and read
//!   commands, the wait for idle, the error registers, and up to three
//!   attempts.
//!
//! ```
//! use esp_efuse::backend::{EfuseBackend, Emulated};
//! use esp_efuse::{Burn, Chip, Field};
//!
//! let mut chip = Emulated;
//! let mut efuses = chip.load(Chip::Esp32c3)?;
//! efuses.stage(Field::SecureBootEn, Burn::All)?;
//! efuses.commit_to(&mut chip)?;
//! chip.store(&efuses)?;
//! assert_eq!(efuses.raw(Field::SecureBootEn)?, 1);
//! # Ok::<(), esp_efuse::EfuseError>(())
//! ```

mod port;

pub use port::{Port, RegisterIo};

use crate::error::EfuseError;
use crate::model::Efuses;
use crate::rs::rs_parity;
use crate::tables::Chip;
use crate::virt::VirtualFile;

/// What programming one block reported besides its result, for the
/// console (espefuse's `burn_words` lines).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgramEvent {
    /// The controller reported coding errors after attempt `attempt`
    /// (0-based): the block is burned again.
    CodingErrors {
        /// The attempt.
        attempt: usize,
        /// The block's fail bit.
        fail: bool,
        /// The number of errors the controller counted.
        num_errors: u32,
    },
    /// After attempt `attempt` not every staged bit reads back set: the
    /// block is burned again.
    Repeat {
        /// The attempt that is next (2 or 3, as espefuse counts).
        next: usize,
    },
    /// After `attempts` attempts, the staged bits are still not all set.
    GaveUp {
        /// Attempts made.
        attempts: usize,
    },
}

/// A place the eFuses of one chip live in.
pub trait EfuseBackend {
    /// The chip's eFuses as they are now.
    fn load(&mut self, chip: Chip) -> Result<Efuses, EfuseError>;

    /// Programs `words` (block words in memory order, at most the block's
    /// length) into `block` and refreshes `efuses` from the backend: after
    /// this, [`Efuses::block_words`] is what the block reads back.
    fn program(
        &mut self,
        efuses: &mut Efuses,
        block: usize,
        words: &[u32],
    ) -> Result<Vec<ProgramEvent>, EfuseError>;

    /// Keeps the state after a burn (the virtual file saves; a chip keeps
    /// its eFuses by itself).
    fn store(&mut self, efuses: &Efuses) -> Result<(), EfuseError>;
}

/// An in-memory chip, burned as espefuse's emulator burns it
/// (`<chip>/emulate_efuse_controller.py`): the Reed-Solomon parity left in
/// `CHECK_VALUE0..2`, write protection, OR into the read registers, read
/// protection, the controller's opcode and timing registers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Emulated;

impl EfuseBackend for Emulated {
    fn load(&mut self, chip: Chip) -> Result<Efuses, EfuseError> {
        Ok(Efuses::new(chip))
    }

    fn program(
        &mut self,
        efuses: &mut Efuses,
        block: usize,
        words: &[u32],
    ) -> Result<Vec<ProgramEvent>, EfuseError> {
        emulate_program(efuses, block, words);
        Ok(Vec::new())
    }

    fn store(&mut self, _: &Efuses) -> Result<(), EfuseError> {
        Ok(())
    }
}

/// The emulator's burn of one block (the one implementation, shared by
/// [`Emulated`] and [`VirtualFile`]).
fn emulate_program(efuses: &mut Efuses, block: usize, words: &[u32]) {
    let table = efuses.table();
    if let (true, Some(chk)) = (efuses.coding_is_rs(block), table.check_value_offset) {
        let mut data = crate::model::registers::words_to_bytes(words);
        data.resize(32, 0);
        let parity = rs_parity(&data);
        for (i, w) in parity.chunks_exact(4).enumerate() {
            efuses.write_reg(chk + 4 * i, u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        }
    }
    efuses.program_words(block, words);
    for &(off, v) in table.controller_regs {
        let cur = efuses.read_reg(off);
        efuses.write_reg(off, cur | v);
    }
}

impl EfuseBackend for VirtualFile {
    /// espefuse's `--virt` open: a missing or empty file becomes a blank chip.
    fn load(&mut self, chip: Chip) -> Result<Efuses, EfuseError> {
        self.open(chip)
    }

    fn program(
        &mut self,
        efuses: &mut Efuses,
        block: usize,
        words: &[u32],
    ) -> Result<Vec<ProgramEvent>, EfuseError> {
        emulate_program(efuses, block, words);
        Ok(Vec::new())
    }

    fn store(&mut self, efuses: &Efuses) -> Result<(), EfuseError> {
        self.save(efuses)
    }
}

/// Per-block coding errors as the controller reports them (`[ERRORS:n
/// FAIL:b]` of espefuse's `get_coding_scheme_warnings`), read from the
/// error registers of a register image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockErrors {
    /// The block.
    pub block: usize,
    /// Errors counted (BLOCK0: repeat-error bits set; RS blocks: the
    /// block's error count field; ESP32: 0).
    pub num_errors: u32,
    /// The block's fail bit (BLOCK0: any error; ESP32: `DEC_STATUS`).
    pub fail: bool,
}

impl Efuses {
    /// The errors of every block that has some, as the controller's error
    /// registers say (`<chip>/mem_definition.py` `BLOCK_ERRORS`: RS chips
    /// keep 4 bits per block in `RD_RS_ERR0/1`, the low 3 a count, the top
    /// one the fail bit; BLOCK0 counts the `RD_REPEAT_ERR` bits; the
    /// ESP32's `DEC_STATUS` fails every block but BLOCK0).
    pub fn block_errors(&self) -> Vec<BlockErrors> {
        let table = self.table();
        let regs = table.error_regs;
        let mut out = Vec::new();
        if self.chip() == Chip::Esp32 {
            let fail = regs.first().is_some_and(|r| self.read_reg(*r) & 0xFFF != 0);
            if fail {
                for b in 1..table.blocks.len() {
                    out.push(BlockErrors {
                        block: b,
                        num_errors: 0,
                        fail,
                    });
                }
            }
            return out;
        }
        // the RS_ERR registers follow the repeat-error ones in `error_regs`
        let rs_regs = if self.chip() == Chip::Esp32c2 { 1 } else { 2 };
        let split = regs.len().saturating_sub(rs_regs);
        let (repeat, rs) = regs.split_at(split);
        let n0: u32 = repeat.iter().map(|r| self.read_reg(*r).count_ones()).sum();
        if n0 != 0 {
            out.push(BlockErrors {
                block: 0,
                num_errors: n0,
                fail: true,
            });
        }
        for b in 1..table.blocks.len() {
            let (reg, shift) = ((b - 1) / 8, 4 * ((b - 1) % 8));
            let Some(r) = rs.get(reg) else { continue };
            let nibble = (self.read_reg(*r) >> shift) & 0xF;
            if nibble != 0 {
                out.push(BlockErrors {
                    block: b,
                    num_errors: nibble & 0x7,
                    fail: nibble & 0x8 != 0,
                });
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::controller::EfuseController;
    use crate::tables::ChipEfuses as _;
    use crate::{policy, Burn, KeyOptions};

    /// The same burns through the register-level backend (over the
    /// controller model) and through the emulation leave every block equal,
    /// on every chip: key block (RS or ESP32 coding) and BLOCK0 with its
    /// postponed protection bits.
    #[test]
    fn port_burns_equal_emulated_burns_on_every_chip() {
        for chip in Chip::ALL {
            let mut port = Port::new((EfuseController::new(chip), Efuses::new(chip)));
            let mut on_port = port.load(chip).unwrap();
            let mut emulated = Efuses::new(chip);
            for e in [&mut on_port, &mut emulated] {
                let key = policy::flash_encryption_key_group(e, &[0x5A; 32]).unwrap();
                e.stage_keys(&[key], KeyOptions::default()).unwrap();
                e.stage(policy::crypt_counter(chip), Burn::NextBit).unwrap();
            }
            assert!(on_port.commit_to(&mut port).unwrap(), "{chip}");
            assert!(emulated.commit().unwrap(), "{chip}");
            let device = &port.io().1;
            for b in 0..chip.table().blocks.len() {
                assert_eq!(device.block_words(b), emulated.block_words(b), "{chip} {b}");
                assert_eq!(
                    on_port.block_words(b),
                    emulated.block_words(b),
                    "{chip} {b}"
                );
            }
            assert_eq!(
                device.flash_encryption_key().unwrap(),
                emulated.flash_encryption_key().unwrap(),
                "{chip}: the key is in the chip, behind read protection"
            );
            assert!(on_port.flash_encryption_enabled(), "{chip}");
        }
    }

    /// A Reed-Solomon error the controller reports makes espefuse burn the
    /// block again, up to three times, and each attempt is reported.
    #[test]
    fn coding_errors_are_retried_three_times() {
        let chip = Chip::Esp32c3;
        let mut model = Efuses::new(chip);
        // RD_RS_ERR0: BLOCK_USR_DATA (BLOCK3) fail bit and one error
        model.write_reg(0x1C0, 0x9 << 8);
        let mut port = Port::new((EfuseController::new(chip), model));
        let mut efuses = port.load(chip).unwrap();
        let events = port.program(&mut efuses, 3, &[1; 8]).unwrap();
        let expected: Vec<ProgramEvent> = (0..3)
            .map(|attempt| ProgramEvent::CodingErrors {
                attempt,
                fail: true,
                num_errors: 1,
            })
            .collect();
        assert_eq!(events, expected);
        assert_eq!(
            efuses.block_errors(),
            vec![BlockErrors {
                block: 3,
                num_errors: 1,
                fail: true
            }]
        );
        // the data was programmed all the same (the model has no faults)
        assert_eq!(efuses.block_words(3), vec![1; 8]);
    }
}
