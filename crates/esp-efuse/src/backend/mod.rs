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

pub use port::{program_data_registers, timing_registers, Port, Reconnected, RegisterIo};

use crate::controller::EfuseController;
use crate::error::EfuseError;
use crate::model::Efuses;
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
    /// One attempt wrote these words to the controller's write registers
    /// (absolute address, word), data words then check words, before its
    /// program command (espefuse's `--debug` lists them).
    DataWritten {
        /// The writes, in order.
        writes: Vec<(u32, u32)>,
    },
    /// espefuse's emulator copied a block's write registers into the array
    /// (`copy_blocks_wr_regs_to_rd_regs`, which prints them with
    /// `--debug`): the words in address order, check words included.
    /// A chip on a port reports none.
    EmulatorCopied {
        /// The block.
        block: usize,
        /// The block's write registers.
        words: Vec<u32>,
    },
}

/// A place the eFuses of one chip live in.
pub trait EfuseBackend {
    /// The chip's eFuses as they are now.
    fn load(&mut self, chip: Chip) -> Result<Efuses, EfuseError>;

    /// Programs `words` (block words in memory order, at most the block's
    /// length) into `block` and refreshes `efuses` from the backend: after
    /// this, [`Efuses::block_words`] is what the block reads back. What it
    /// reports goes to `events`, also when it fails part way.
    fn program(
        &mut self,
        efuses: &mut Efuses,
        block: usize,
        words: &[u32],
        events: &mut Vec<ProgramEvent>,
    ) -> Result<(), EfuseError>;

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
        events: &mut Vec<ProgramEvent>,
    ) -> Result<(), EfuseError> {
        burn_words(&mut EmulatorSteps, efuses, block, words, events)
    }

    fn store(&mut self, _: &Efuses) -> Result<(), EfuseError> {
        Ok(())
    }
}

/// One backend's steps of espefuse's `burn_words` ([`burn_words`] runs
/// them in espefuse's order).
trait BurnSteps {
    /// Writes `coded` (the coded `words`) to the write registers and runs
    /// the program command (on the ESP32 followed by a read command).
    fn program_once(
        &mut self,
        efuses: &mut Efuses,
        block: usize,
        words: &[u32],
        coded: &[u32],
        events: &mut Vec<ProgramEvent>,
    ) -> Result<(), EfuseError>;

    /// One of the checks' read commands, with the error registers read
    /// into `efuses`.
    fn read_errors(
        &mut self,
        efuses: &mut Efuses,
        events: &mut Vec<ProgramEvent>,
    ) -> Result<(), EfuseError>;

    /// The block's read registers into `efuses`.
    fn read_block(&mut self, efuses: &mut Efuses, block: usize) -> Result<(), EfuseError>;
}

/// espefuse's `burn_words` (base_fields.py), the one implementation for
/// every backend: each attempt writes the coded words and programs them,
/// then reads the eFuses five times while the error registers report no
/// error for the block; up to three attempts, the next one after a coding
/// error or while a staged bit does not read back set (also in a
/// read-protected block, which reads back zeros: espefuse checks the bits
/// all the same).
fn burn_words(
    steps: &mut dyn BurnSteps,
    efuses: &mut Efuses,
    block: usize,
    words: &[u32],
    events: &mut Vec<ProgramEvent>,
) -> Result<(), EfuseError> {
    let coded = port::coded_words(efuses, block, words);
    for attempt in 0..port::ATTEMPTS {
        events.push(ProgramEvent::DataWritten {
            writes: port::data_writes(efuses, block, &coded),
        });
        steps.program_once(efuses, block, words, &coded, events)?;
        let mut erred = false;
        for _ in 0..port::READS_PER_ATTEMPT {
            steps.read_errors(efuses, events)?;
            if let Some(e) = efuses.block_errors().into_iter().find(|e| e.block == block) {
                events.push(ProgramEvent::CodingErrors {
                    attempt,
                    fail: e.fail,
                    num_errors: e.num_errors,
                });
                erred = true;
                break;
            }
        }
        if erred {
            continue;
        }
        steps.read_block(efuses, block)?;
        let read = efuses.block_words(block);
        let all_set = words
            .iter()
            .zip(read.iter().chain(std::iter::repeat(&0)))
            .all(|(w, r)| w & r == *w);
        if all_set {
            break;
        }
        events.push(if attempt + 1 < port::ATTEMPTS {
            ProgramEvent::Repeat { next: attempt + 2 }
        } else {
            ProgramEvent::GaveUp {
                attempts: attempt + 1,
            }
        });
    }
    Ok(())
}

/// The emulation's steps ([`Emulated`], [`VirtualFile`]): programming
/// never fails, but a file's error registers may report errors (the
/// emulator keeps them as they are), and a bit under write protection
/// stays unset, so every repeat fails the same way.
struct EmulatorSteps;

impl BurnSteps for EmulatorSteps {
    fn program_once(
        &mut self,
        efuses: &mut Efuses,
        block: usize,
        words: &[u32],
        coded: &[u32],
        events: &mut Vec<ProgramEvent>,
    ) -> Result<(), EfuseError> {
        emulate_program_once(efuses, block, words, coded);
        // the ESP32's emulator copies every block's write registers on each
        // read command (the program's own here), the others on the program
        // command the programmed block alone
        if efuses.chip() == Chip::Esp32 {
            events.extend(esp32_emulator_copies(efuses, Some((block, coded))));
            // then it checks the read protection of every block, whose
            // length under the REPEAT coding scheme it does not know
            if let Some(cs) = efuses.coding_scheme_unsupported() {
                return Err(EfuseError::EmulatorCodingScheme(cs));
            }
        } else {
            events.push(ProgramEvent::EmulatorCopied {
                block,
                words: coded.to_vec(),
            });
        }
        Ok(())
    }

    fn read_errors(
        &mut self,
        efuses: &mut Efuses,
        events: &mut Vec<ProgramEvent>,
    ) -> Result<(), EfuseError> {
        if efuses.chip() == Chip::Esp32 {
            events.extend(esp32_emulator_copies(efuses, None));
        }
        Ok(())
    }

    fn read_block(&mut self, _: &mut Efuses, _: usize) -> Result<(), EfuseError> {
        Ok(())
    }
}

/// What the ESP32's emulator copies on a read command: every block's
/// write registers, last block first, `programmed` holding its coded words
/// and the others cleared since the last copy.
fn esp32_emulator_copies(
    efuses: &Efuses,
    programmed: Option<(usize, &[u32])>,
) -> Vec<ProgramEvent> {
    efuses
        .table()
        .blocks
        .iter()
        .rev()
        .map(|def| {
            let block = usize::from(def.id);
            let words = match programmed {
                Some((b, coded)) if b == block => coded.to_vec(),
                _ => vec![0; EfuseController::esp32_write_words(def.id)],
            };
            ProgramEvent::EmulatorCopied { block, words }
        })
        .collect()
}

/// One program of `words`, coded as `coded` ([`port::coded_words`]): the
/// check words stay in `CHECK_VALUE0..2`, as the emulator leaves them.
fn emulate_program_once(efuses: &mut Efuses, block: usize, words: &[u32], coded: &[u32]) {
    let table = efuses.table();
    if let (true, Some(chk)) = (efuses.coding_is_rs(block), table.check_value_offset) {
        for (i, w) in coded
            .iter()
            .skip(crate::controller::PGM_DATA_WORDS)
            .enumerate()
        {
            efuses.write_reg(chk + 4 * i, *w);
        }
    }
    // the ESP32's emulator decodes 3/4 only while it still reads the scheme
    // in BLOCK0; once read protection hid it, the coded words go in as they are
    let hidden_34 = block != 0 && efuses.coding_is_34() && !efuses.emulator_coding_is_34();
    efuses.program_words(block, if hidden_34 { coded } else { words });
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
        events: &mut Vec<ProgramEvent>,
    ) -> Result<(), EfuseError> {
        burn_words(&mut EmulatorSteps, efuses, block, words, events)
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
    /// The Reed-Solomon error registers (`RD_RS_ERR0/1`, the ESP32-C2's
    /// one `RD_RS_ERR`): the last of the chip's error registers.
    pub(crate) fn rs_error_regs(&self) -> &'static [usize] {
        let regs = self.table().error_regs;
        let n = match self.chip() {
            Chip::Esp32 => 0,
            Chip::Esp32c2 => 1,
            _ => 2,
        };
        regs.get(regs.len().saturating_sub(n)..).unwrap_or_default()
    }

    /// Sets `block`'s fail bit in `RD_RS_ERR` (an RS-coded block that
    /// reads back with an uncorrectable error), where espefuse reads it;
    /// a block without a fail bit gets its error count at the maximum.
    /// Nothing for BLOCK0 or the ESP32.
    pub(crate) fn set_rs_fail(&mut self, block: usize) {
        let rs = self.rs_error_regs();
        let (count, fail) = rs_error_bits(self.chip(), block);
        let (reg, mask) = match (fail, count) {
            (Some((r, bit)), _) => (r, 1 << bit),
            (None, Some((r, shift))) => (r, 0x7 << shift),
            (None, None) => return,
        };
        if let Some(off) = rs.get(reg).copied() {
            let v = self.read_reg(off) | mask;
            self.write_reg(off, v);
        }
    }

    /// Whether the summary marks the field at `index` `[error]`
    /// (base_fields.py `get_info`): a BLOCK0 field whose bits have repeat
    /// errors, a field of another block that has errors.
    pub(crate) fn field_has_error(&self, index: usize) -> bool {
        let f = &self.table().fields[index];
        let Some(off) = f.bit_offset() else {
            return usize::from(f.block) != 0
                && self
                    .block_errors()
                    .iter()
                    .any(|e| e.block == usize::from(f.block));
        };
        self.slot_has_error(usize::from(f.block), off, f.bit_len as usize)
    }

    /// Whether the `len` bits at `off` of `block` have errors: any error
    /// of a key block, a repeat error of one of the bits in BLOCK0
    /// (base_fields.py `update` and `get_info`).
    pub(crate) fn slot_has_error(&self, block: usize, off: usize, len: usize) -> bool {
        if block != 0 {
            return self.block_errors().iter().any(|e| e.block == block);
        }
        if self.chip() == Chip::Esp32 {
            return false;
        }
        // BLOCK0's err_bitarray: the repeat-error registers line up with
        // BLOCK0's last words (its first word, WR_DIS, has none)
        let regs = self.table().error_regs;
        let repeat = regs
            .get(..regs.len() - self.rs_error_regs().len())
            .unwrap_or_default();
        let n = self.block_len_words(0);
        let first = n.saturating_sub(repeat.len());
        (off..off + len).any(|bit| {
            let word = bit / 32;
            word >= first
                && repeat
                    .get(word - first)
                    .is_some_and(|r| self.read_reg(*r) & (1 << (bit % 32)) != 0)
        })
    }

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
        let rs = self.rs_error_regs();
        let repeat = regs.get(..regs.len() - rs.len()).unwrap_or_default();
        let n0: u32 = repeat.iter().map(|r| self.read_reg(*r).count_ones()).sum();
        if n0 != 0 {
            out.push(BlockErrors {
                block: 0,
                num_errors: n0,
                fail: true,
            });
        }
        let bit = |at: Option<ErrorBits>, mask: u32| -> u32 {
            at.and_then(|(r, shift)| rs.get(r).map(|off| (self.read_reg(*off) >> shift) & mask))
                .unwrap_or(0)
        };
        for b in 1..table.blocks.len() {
            let (count, fail) = rs_error_bits(self.chip(), b);
            let num_errors = bit(count, 0x7);
            let fail = bit(fail, 1) != 0;
            if num_errors != 0 || fail {
                out.push(BlockErrors {
                    block: b,
                    num_errors,
                    fail,
                });
            }
        }
        out
    }
}

/// A place in the `RD_RS_ERR` registers: register index, bit shift.
type ErrorBits = (usize, u32);

/// Where a block's error count (register index among `RD_RS_ERR0/1`,
/// shift of the 3-bit count) and fail bit (register index, bit) are, as
/// espefuse reads them (`<chip>/mem_definition.py` `BLOCK_ERRORS`: four
/// bits per block from BLOCK1, the count then the fail bit). The ESP32-C3
/// is read differently (`esp32c3/mem_definition.py` `BLOCK_FAIL_BIT`):
/// each block's fail bit is the top bit of the next block's nibble, and
/// BLOCK_SYS_DATA2 has none.
fn rs_error_bits(chip: Chip, block: usize) -> (Option<ErrorBits>, Option<ErrorBits>) {
    let Some(b) = block.checked_sub(1) else {
        return (None, None);
    };
    let nibble = |n: usize| (n / 8, u32::try_from(4 * (n % 8)).unwrap_or(0));
    let count = Some(nibble(b));
    let fail = if chip == Chip::Esp32c3 {
        (b + 1 < 10).then(|| nibble(b + 1))
    } else {
        Some(nibble(b))
    };
    (count, fail.map(|(r, s)| (r, s + 3)))
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
    /// block again, up to three times, and each attempt is reported: on a
    /// chip behind its port and in the emulation alike, which also write
    /// the same words to the same registers.
    #[test]
    fn coding_errors_are_retried_three_times() {
        let chip = Chip::Esp32c3;
        let mut model = Efuses::new(chip);
        // RD_RS_ERR0: BLOCK_USR_DATA (BLOCK3) one error (bits 8-10) and
        // its fail bit where espefuse reads it on the C3 (bit 15)
        model.write_reg(0x1C0, 1 << 8 | 1 << 15);
        let mut port = Port::new((EfuseController::new(chip), model.clone()));
        let mut on_port = port.load(chip).unwrap();
        let mut emulated = model;
        let mut runs = [Vec::new(), Vec::new()];
        port.program(&mut on_port, 3, &[1; 8], &mut runs[0])
            .unwrap();
        Emulated
            .program(&mut emulated, 3, &[1; 8], &mut runs[1])
            .unwrap();
        let expected: Vec<ProgramEvent> = (0..3)
            .map(|attempt| ProgramEvent::CodingErrors {
                attempt,
                fail: true,
                num_errors: 1,
            })
            .collect();
        let mut writes = Vec::new();
        for events in &runs {
            let (data, reports): (Vec<&ProgramEvent>, Vec<&ProgramEvent>) =
                events.iter().partition(|e| {
                    matches!(
                        e,
                        ProgramEvent::DataWritten { .. } | ProgramEvent::EmulatorCopied { .. }
                    )
                });
            assert_eq!(reports.into_iter().cloned().collect::<Vec<_>>(), expected);
            writes.push(
                data.into_iter()
                    .filter(|e| matches!(e, ProgramEvent::DataWritten { .. }))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(writes[0].len(), 3, "one write of the data per attempt");
        assert_eq!(writes[0], writes[1]);
        let ProgramEvent::DataWritten { writes: first } = &writes[0][0] else {
            unreachable!()
        };
        assert_eq!(first.len(), 8 + 3, "PGM_DATA0..7, then CHECK_VALUE0..2");
        assert_eq!(first[0], (0x6000_8800, 1));
        for efuses in [&on_port, &emulated] {
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
}
