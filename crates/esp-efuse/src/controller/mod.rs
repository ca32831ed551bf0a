//! The eFuse controller as esptool and espefuse drive it over a serial
//! port: READ_REG/WRITE_REG on the controller's registers (serial.md §3.5,
//! §4), over the same [`Efuses`] model everything else uses.
//!
//! The controller's registers are the register image [`Efuses`] holds
//! (exactly what espefuse's virtual file stores, serial.md §4.1): block read
//! registers, the programming data registers (`PGM_DATA0..7` and
//! `CHECK_VALUE0..2` on the Reed-Solomon chips, the ESP32's per-block write
//! registers), error, status, opcode, command and timing registers.
//! Reads answer from that image, so esptool's MAC, chip revision and
//! security flags come out of the model. Writes store what the silicon lets
//! software write (block read registers are read-only) and a write of the
//! command register runs the command:
//!
//! - program (`CMD = 0x2 | block << 2`, ESP32 `CMD = 0x2`) with the write
//!   opcode 0x5A5A in `CONF`: the data registers are checked against their
//!   coding (RS parity, ESP32 3/4 code) and programmed through
//!   [`Efuses::program_block`], the same code staged burns use (write
//!   protection drops bits, bits are ORed, read protection hides bits and
//!   captures them for the hardware); the data registers are cleared, as
//!   espefuse's emulator does (`CHECK_VALUE0..2` keep the parity);
//! - read (`CMD = 0x1`) with the read opcode 0x5AA5: the ROM re-reads the
//!   eFuses, so the download mode may change (serial.md §5.3);
//!
//! and `CMD` reads 0 again at once, which ends espefuse's wait loops.
//! Each write returns a [`ControllerEvent`] telling the caller what
//! happened, so it saves the device state (with [`crate::VirtualFile`],
//! whose companion keeps the captured read-protected bits).
//!
//! ```
//! use esp_efuse::controller::{ControllerCommand, EfuseController};
//! use esp_efuse::{Chip, Efuses, Field};
//!
//! // espefuse burning SECURE_BOOT_EN (BLOCK0 word 3 bit 20) on an ESP32-C3
//! let mut efuses = Efuses::new(Chip::Esp32c3);
//! let mut ctrl = EfuseController::new(Chip::Esp32c3);
//! let base = 0x6000_8800;
//! ctrl.write(&mut efuses, base + 0x0C, 1 << 20); // PGM_DATA3
//! ctrl.write(&mut efuses, base + 0x1CC, 0x5A5A); // CONF: write opcode
//! let event = ctrl.write(&mut efuses, base + 0x1D4, 0x2).expect("CMD"); // program BLOCK0
//! assert_eq!(event.command, Some(ControllerCommand::Program));
//! assert_eq!(event.programmed, vec![0]);
//! assert_eq!(ctrl.read(&efuses, base + 0x1D4), Some(0), "command done");
//! assert_eq!(ctrl.read(&efuses, base + 0x38), Some(1 << 20), "BLOCK0 word 3");
//! assert_eq!(efuses.raw(Field::SecureBootEn)?, 1);
//! assert_eq!(ctrl.read(&efuses, 0x4000_0000), None, "not an eFuse register");
//! # Ok::<(), esp_efuse::EfuseError>(())
//! ```

use crate::model::registers::{bytes_to_words, words_to_bytes};
use crate::model::Efuses;
use crate::rom::DownloadMode;
use crate::rs::{rs_parity, RS_PARITY_LEN};
use crate::tables::{Chip, ChipEfuses as _};

#[cfg(test)]
mod tests;

/// `CONF` opcode that arms a program command (all chips;
/// `<chip>/mem_definition.py` `EFUSE_WRITE_OP_CODE`, ESP32 `EFUSE_CONF_WRITE`).
pub const CONF_WRITE_OPCODE: u32 = 0x5A5A;
/// `CONF` opcode that arms a read command (`EFUSE_READ_OP_CODE`, ESP32 `EFUSE_CONF_READ`).
pub const CONF_READ_OPCODE: u32 = 0x5AA5;
/// `CMD` bit: program (`EFUSE_PGM_CMD`, ESP32 `EFUSE_CMD_WRITE`); on the
/// RS chips bits 2-5 name the block.
pub const CMD_PROGRAM: u32 = 0x2;
/// `CMD` bit: read the eFuse array into the read registers (`EFUSE_READ_CMD`).
pub const CMD_READ: u32 = 0x1;

/// Where a chip's controller registers are, as offsets from
/// `DR_REG_EFUSE_BASE` (espefuse `<chip>/mem_definition.py`
/// `EfuseDefineRegisters`; serial.md §4.2).
#[derive(Debug)]
pub(crate) struct Layout {
    /// `EFUSE_CONF_REG` (ESP32 `EFUSE_REG_CONF`): the opcode.
    pub(crate) conf: usize,
    /// `EFUSE_CMD_REG` (ESP32 `EFUSE_REG_CMD`).
    pub(crate) cmd: usize,
    /// `EFUSE_STATUS_REG` (read-only).
    pub(crate) status: usize,
    /// The writable configuration registers, from `EFUSE_CLK_REG` up to
    /// (not including) `EFUSE_DATE_REG` (ESP32: `EFUSE_REG_DEC_STATUS`):
    /// clock, opcode, command, interrupts, DAC and timing registers.
    pub(crate) config: core::ops::Range<usize>,
    /// `EFUSE_PGM_DATA0_REG`: the eight data registers, then
    /// `EFUSE_CHECK_VALUE0..2_REG` (RS chips; the ESP32 has per-block write
    /// registers in its block table instead).
    pub(crate) pgm_data: Option<usize>,
}

/// S2, S3, C3, C6 and H2 share the same controller offsets
/// (`esp32{s2,s3,c3,c6,h2}/mem_definition.py`).
static RS_LAYOUT: Layout = Layout {
    conf: 0x1CC,
    cmd: 0x1D4,
    status: 0x1D0,
    config: 0x1C8..0x1FC,
    pgm_data: Some(0),
};

/// ESP32-C2 (`esp32c2/mem_definition.py`: CLK +0x88, CONF +0x8C, STATUS
/// +0x90, CMD +0x94, timing registers up to WR_TIM_CONF2 +0x118).
static C2_LAYOUT: Layout = Layout {
    conf: 0x8C,
    cmd: 0x94,
    status: 0x90,
    config: 0x88..0x1FC,
    pgm_data: Some(0),
};

/// ESP32 (`esp32/mem_definition.py`: CLK +0xF8, CONF +0xFC, STATUS
/// +0x100, CMD +0x104, DAC_CONF +0x118, DEC_STATUS +0x11C read-only).
static ESP32_LAYOUT: Layout = Layout {
    conf: 0xFC,
    cmd: 0x104,
    status: 0x100,
    config: 0xF8..0x11C,
    pgm_data: None,
};

/// The controller layout of `chip`.
pub(crate) fn layout(chip: Chip) -> &'static Layout {
    match chip {
        Chip::Esp32 => &ESP32_LAYOUT,
        Chip::Esp32c2 => &C2_LAYOUT,
        Chip::Esp32s2 | Chip::Esp32s3 | Chip::Esp32c3 | Chip::Esp32c6 | Chip::Esp32h2 => &RS_LAYOUT,
    }
}

/// Data registers of one program command (`PGM_DATA0..7`).
pub(crate) const PGM_DATA_WORDS: usize = 8;
/// ESP32 3/4 coding: each 8 encoded bytes carry 6 data bytes, their XOR and
/// the sum of `(i + 1) * popcount(byte i)` (esp32/fields.py `apply_coding_scheme`).
pub(crate) const CHUNK_ENCODED: usize = 8;
pub(crate) const CHUNK_DATA: usize = 6;

/// A command the controller ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControllerCommand {
    /// Program (burn) the data registers into the eFuse array.
    Program,
    /// Read the eFuse array into the read registers.
    Read,
}

/// What a register write did, for the caller to act on (save the device,
/// switch the ROM's download mode).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ControllerEvent {
    /// The command this write ran (`None`: a plain register write, or a
    /// command the opcode in `CONF` did not arm).
    pub command: Option<ControllerCommand>,
    /// Blocks programmed with non-zero data (bits may still have been
    /// dropped by write protection).
    pub programmed: Vec<usize>,
    /// Blocks not programmed because their check words (RS parity, 3/4
    /// code) did not match their data.
    pub coding_errors: Vec<usize>,
    /// `RD_DIS` changed: newly read-protected bits left the register image
    /// and are now only in [`Efuses::hidden_blocks`] (save the companion).
    pub read_protection_changed: bool,
    /// The download mode the ROM runs in from now on, when a read command
    /// changed it (Secure Download Mode, download mode disabled).
    pub download_mode: Option<DownloadMode>,
}

impl ControllerEvent {
    /// Whether the device state should be saved: after every command, as
    /// espefuse's emulator saves its file (the register image changed, and
    /// after a program the eFuse array).
    pub fn should_save(&self) -> bool {
        self.command.is_some()
    }
}

/// One chip's eFuse controller, over an [`Efuses`] the caller owns.
#[derive(Debug, Clone)]
pub struct EfuseController {
    chip: Chip,
    layout: &'static Layout,
    running: DownloadMode,
}

impl EfuseController {
    /// The controller of `chip`; its ROM runs in full download mode until
    /// [`EfuseController::reset`] reads the eFuses.
    pub fn new(chip: Chip) -> EfuseController {
        EfuseController {
            chip,
            layout: layout(chip),
            running: DownloadMode::Enabled,
        }
    }

    /// The chip.
    pub fn chip(&self) -> Chip {
        self.chip
    }

    /// A reset (power-on, or a reset into download mode): the ROM reads
    /// the eFuses and enters the download mode they leave, including
    /// settings that only take effect at a reset (ESP32 `UART_DOWNLOAD_DIS`).
    pub fn reset(&mut self, efuses: &Efuses) {
        self.running = efuses.download_mode();
    }

    /// The download mode the ROM runs in: what the eFuses left at the last
    /// [`EfuseController::reset`], tightened by later read commands
    /// (serial.md §5.3).
    pub fn download_mode(&self) -> DownloadMode {
        self.running
    }

    /// `READ_REG(addr)`: the register's value, or `None` when `addr` is not
    /// a register of this chip's eFuse controller (the ESP32's
    /// `APB_CTL_DATE`, which carries a chip-revision bit, is answered too).
    pub fn read(&self, efuses: &Efuses, addr: u32) -> Option<u32> {
        // ESP32 `APB_CTL_DATE`: outside the controller, but its bit 31 is
        // the third bit of the chip revision espefuse computes with the
        // eFuses; the value is the ECO3 silicon espefuse's emulator assumes.
        if let Some((reg, value)) = self.chip.apb_ctl_date() {
            if addr & !3 == reg {
                return Some(value);
            }
        }
        let offset = self.offset(efuses, addr)?;
        Some(efuses.read_reg(offset))
    }

    /// `WRITE_REG(addr, value)` of the whole register (apply WRITE_REG's
    /// mask first, or use [`EfuseController::write_masked`]). `None` when
    /// `addr` is not a register of this controller; writes to read-only
    /// registers (block read registers, status, errors) change nothing.
    pub fn write(&mut self, efuses: &mut Efuses, addr: u32, value: u32) -> Option<ControllerEvent> {
        let offset = self.offset(efuses, addr)?;
        if !self.is_writable(efuses, offset) {
            return Some(ControllerEvent::default());
        }
        if offset == self.layout.cmd {
            return Some(self.command(efuses, value));
        }
        efuses.write_reg(offset, value);
        Some(ControllerEvent::default())
    }

    /// The ROM's `WRITE_REG` with a mask: bits outside `mask` keep their
    /// value (`new = value & mask | old & !mask`, serial.md §4.4).
    pub fn write_masked(
        &mut self,
        efuses: &mut Efuses,
        addr: u32,
        value: u32,
        mask: u32,
    ) -> Option<ControllerEvent> {
        let old = self.read(efuses, addr)?;
        self.write(efuses, addr, (value & mask) | (old & !mask))
    }

    /// The offset of `addr` in the register image (word-aligned, as the bus
    /// reads it), if it is inside the controller.
    fn offset(&self, efuses: &Efuses, addr: u32) -> Option<usize> {
        let base = self.chip.table().base_addr;
        let offset = usize::try_from(addr.checked_sub(base)? & !3).ok()?;
        (offset < efuses.register_image().len()).then_some(offset)
    }

    /// Whether software can write the register at `offset`.
    fn is_writable(&self, efuses: &Efuses, offset: usize) -> bool {
        let l = self.layout;
        if l.config.contains(&offset) {
            return offset != l.status;
        }
        match l.pgm_data {
            Some(pgm) => (pgm..pgm + 4 * (PGM_DATA_WORDS + RS_PARITY_LEN / 4)).contains(&offset),
            None => efuses.table().blocks.iter().any(|b| {
                (b.wr_offset..b.wr_offset + 4 * Self::esp32_write_words(b.id)).contains(&offset)
            }),
        }
    }

    /// ESP32 write registers per block: 7 for BLOCK0, 8 for the others
    /// (also under 3/4 coding, where they hold the encoded words).
    pub(crate) fn esp32_write_words(block: u8) -> usize {
        if block == 0 {
            7
        } else {
            8
        }
    }

    /// A write of `CMD`.
    fn command(&mut self, efuses: &mut Efuses, value: u32) -> ControllerEvent {
        let conf = efuses.read_reg(self.layout.conf);
        let mut event = ControllerEvent::default();
        if value & CMD_PROGRAM != 0 && conf == CONF_WRITE_OPCODE {
            event.command = Some(ControllerCommand::Program);
            match self.layout.pgm_data {
                Some(pgm) => {
                    let block = usize::try_from((value >> 2) & 0xF).unwrap_or(usize::MAX);
                    self.program_rs(efuses, pgm, block, &mut event);
                }
                None => self.program_esp32(efuses, &mut event),
            }
        } else if value & CMD_READ != 0 && conf == CONF_READ_OPCODE {
            event.command = Some(ControllerCommand::Read);
            let now = efuses.download_mode_after_read(self.running);
            if now != self.running {
                self.running = now;
                event.download_mode = Some(now);
            }
        }
        // the command completes at once: CMD reads 0, so the client's
        // wait-for-idle loop ends (serial.md §4.1)
        efuses.write_reg(self.layout.cmd, 0);
        event
    }

    /// RS chips: `PGM_DATA0..7` (+ `CHECK_VALUE0..2` for blocks ≥ 1) into
    /// `block` (`<chip>/emulate_efuse_controller.py` `handle_writing_event`,
    /// `handle_coding_scheme`).
    fn program_rs(
        &self,
        efuses: &mut Efuses,
        pgm: usize,
        block: usize,
        event: &mut ControllerEvent,
    ) {
        let data: Vec<u32> = (0..PGM_DATA_WORDS)
            .map(|i| efuses.read_reg(pgm + 4 * i))
            .collect();
        if block < efuses.table().blocks.len() && data.iter().any(|w| *w != 0) {
            let coded_ok = block == 0 || {
                let check: Vec<u32> = (0..RS_PARITY_LEN / 4)
                    .map(|i| efuses.read_reg(pgm + 4 * (PGM_DATA_WORDS + i)))
                    .collect();
                rs_parity(&words_to_bytes(&data))[..] == words_to_bytes(&check)[..]
            };
            if coded_ok {
                // blocks shorter than 8 words take the low data registers
                let len = efuses.block_len_words(block).min(PGM_DATA_WORDS);
                self.program(efuses, block, &data[..len], event);
            } else {
                // serial.md §4.4: burn nothing, and report the block as
                // the controller reports a Reed-Solomon failure on a read:
                // its fail bit in RD_RS_ERR, which espefuse shows as
                // "Error(s) in BLOCKn"
                efuses.set_rs_fail(block);
                event.coding_errors.push(block);
            }
        }
        for i in 0..PGM_DATA_WORDS {
            efuses.write_reg(pgm + 4 * i, 0);
        }
    }

    /// ESP32: every block's write registers, last block first (as the
    /// emulator copies them, so a coding-scheme change in BLOCK0 applies to
    /// the next burn), decoding 3/4 coding on BLOCK1-3; then the write
    /// registers are cleared (esp32/emulate_efuse_controller.py).
    fn program_esp32(&self, efuses: &mut Efuses, event: &mut ControllerEvent) {
        let blocks = efuses.table().blocks;
        for def in blocks.iter().rev() {
            let block = usize::from(def.id);
            let n = Self::esp32_write_words(def.id);
            let raw: Vec<u32> = (0..n)
                .map(|i| efuses.read_reg(def.wr_offset + 4 * i))
                .collect();
            if raw.iter().all(|w| *w == 0) {
                continue;
            }
            let words = if block != 0 && efuses.coding_is_34() {
                decode_34(&raw)
            } else {
                Some(raw)
            };
            match words {
                Some(words) => self.program(efuses, block, &words, event),
                None => event.coding_errors.push(block),
            }
        }
        for def in blocks {
            for i in 0..Self::esp32_write_words(def.id) {
                efuses.write_reg(def.wr_offset + 4 * i, 0);
            }
        }
    }

    fn program(
        &self,
        efuses: &mut Efuses,
        block: usize,
        words: &[u32],
        event: &mut ControllerEvent,
    ) {
        if let Ok(rd_dis_changed) = efuses.program_block(block, words) {
            event.programmed.push(block);
            event.read_protection_changed |= rd_dis_changed;
        }
    }
}

/// ESP32 3/4 coding: 8 encoded words to the 6 data words, or `None` when a
/// chunk's check bytes do not match (esp32/emulate_efuse_controller.py
/// `handle_coding_scheme`).
fn decode_34(encoded: &[u32]) -> Option<Vec<u32>> {
    let bytes = words_to_bytes(encoded);
    let mut data = Vec::with_capacity(bytes.len() / CHUNK_ENCODED * CHUNK_DATA);
    for chunk in bytes.chunks_exact(CHUNK_ENCODED) {
        let (payload, check) = chunk.split_at(CHUNK_DATA);
        let xor = payload.iter().fold(0u8, |x, b| x ^ b);
        let weighted: u32 = (1..).zip(payload).map(|(i, b)| i * b.count_ones()).sum();
        if check != [xor, u8::try_from(weighted).ok()?] {
            return None;
        }
        data.extend_from_slice(payload);
    }
    Some(bytes_to_words(&data))
}
