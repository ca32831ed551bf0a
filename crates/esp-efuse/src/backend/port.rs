//! A chip's eFuse controller over READ_REG/WRITE_REG, driven the way
//! espefuse 5.6.0 drives it (serial.md §4.3; `efuse/base_fields.py`
//! `burn_words`, `efuse/<chip>/fields.py` `set_efuse_timing`,
//! `clear_pgm_registers`, `efuse_program`, `efuse_read`, `wait_efuse_idle`,
//! `get_coding_scheme_warnings`; the ESP32's `write_efuses`).

use super::{EfuseBackend, ProgramEvent};
use crate::controller::{
    layout, EfuseController, CHUNK_DATA, CMD_PROGRAM, CMD_READ, CONF_READ_OPCODE,
    CONF_WRITE_OPCODE, PGM_DATA_WORDS,
};
use crate::error::EfuseError;
use crate::model::registers::{bytes_to_words, words_to_bytes};
use crate::model::Efuses;
use crate::rs::{rs_parity, RS_PARITY_LEN};
use crate::tables::{Chip, ChipEfuses as _, Field};

/// Register access to a chip (the ROM's READ_REG and WRITE_REG). The CLI
/// implements it over a serial port; tests over the register model.
pub trait RegisterIo {
    /// What a failed request reports (naming the port and the request).
    type Error: std::error::Error + Send + Sync + 'static;

    /// READ_REG.
    fn read_reg(&mut self, addr: u32) -> Result<u32, Self::Error>;

    /// WRITE_REG: `new = value & mask | old & !mask`, then the ROM waits
    /// `delay_us` before it answers.
    fn write_reg(
        &mut self,
        addr: u32,
        value: u32,
        mask: u32,
        delay_us: u32,
    ) -> Result<(), Self::Error>;

    /// Connects again after the chip stopped answering in the middle of a
    /// burn (espefuse's `reconnect_chip`: close, reset, sync, detect).
    fn reconnect(&mut self) -> Result<Reconnected, Self::Error>;
}

/// What a reconnection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnected {
    /// The chip answers in Secure Download Mode.
    pub secure_download_mode: bool,
}

/// A borrowed connection works as well (a command that reads the eFuses
/// and then goes on using its port).
impl<T: RegisterIo + ?Sized> RegisterIo for &mut T {
    type Error = T::Error;

    fn read_reg(&mut self, addr: u32) -> Result<u32, Self::Error> {
        (**self).read_reg(addr)
    }

    fn write_reg(
        &mut self,
        addr: u32,
        value: u32,
        mask: u32,
        delay_us: u32,
    ) -> Result<(), Self::Error> {
        (**self).write_reg(addr, value, mask, delay_us)
    }

    fn reconnect(&mut self) -> Result<Reconnected, Self::Error> {
        (**self).reconnect()
    }
}

/// The register model answers as the chip would ([`EfuseController`] over
/// an [`Efuses`]), so the port backend can be tested without a port.
impl RegisterIo for (EfuseController, Efuses) {
    type Error = std::convert::Infallible;

    fn read_reg(&mut self, addr: u32) -> Result<u32, Self::Error> {
        Ok(self.0.read(&self.1, addr).unwrap_or(0))
    }

    fn write_reg(
        &mut self,
        addr: u32,
        value: u32,
        mask: u32,
        _delay_us: u32,
    ) -> Result<(), Self::Error> {
        let _ = self.0.write_masked(&mut self.1, addr, value, mask);
        Ok(())
    }

    /// The model keeps answering, outside Secure Download Mode.
    fn reconnect(&mut self) -> Result<Reconnected, Self::Error> {
        Ok(Reconnected {
            secure_download_mode: false,
        })
    }
}

/// One timing-register update (`update_reg(addr, mask, value)`): an offset
/// from the controller's base, the field's mask, the field's value.
type Timing = (usize, u32, u32);

/// C3, C6 and H2 (`esp32c3/fields.py` `set_efuse_timing`; the H2's
/// 32 MHz crystal takes the same values): DAC_NUM, DAC_CLK_DIV,
/// PWR_ON_NUM, PWR_OFF_NUM.
const TIMING_C3: &[Timing] = &[
    (0x1E8, 0xFF << 9, 0xFF),
    (0x1E8, 0xFF, 0x28),
    (0x1F0, 0xFFFF << 8, 0x3000),
    (0x1F4, 0xFFFF, 0x190),
];
/// S3: the same values, WR_TIM_CONF1/2 one register later
/// (`esp32s3/mem_definition.py`).
const TIMING_S3: &[Timing] = &[
    (0x1E8, 0xFF << 9, 0xFF),
    (0x1E8, 0xFF, 0x28),
    (0x1F4, 0xFFFF << 8, 0x3000),
    (0x1F8, 0xFFFF, 0x190),
];
/// C2 with a 40 MHz crystal (`esp32c2/fields.py`): plus TPGM_INACTIVE.
const TIMING_C2: &[Timing] = &[
    (0x108, 0xFF << 9, 0xFF),
    (0x108, 0xFF, 0x28),
    (0x114, 0xFFFF << 8, 0x3000),
    (0x118, 0xFFFF, 0x190),
    (0x110, 0xFF << 8, 200),
];
/// S2 at 40 MHz APB (`esp32s2/mem_definition.py` programming, VDDQ and
/// read timing parameters).
const TIMING_S2: &[Timing] = &[
    (0x1F4, 0xFF, 0x1),
    (0x1F0, 0xFFFF << 16, 0x190),
    (0x1F0, 0xFF, 0x1),
    (0x1F0, 0xFF << 8, 0x2),
    (0x1E8, 0xFF, 0x50),
    (0x1F4, 0xFFFF << 8, 0x5100),
    (0x1F8, 0xFFFF, 0x80),
    (0x1EC, 0xFF << 8, 0x2),
    (0x1EC, 0xFF, 0x1),
];
/// ESP32 at 40 MHz (`esp32/mem_definition.py` `EFUSE_CLK_SETTINGS`):
/// DAC_CLK_DIV, CLK_SEL0, CLK_SEL1.
const TIMING_ESP32: &[Timing] = &[(0x118, 0xFF, 80), (0xF8, 0xFF, 160), (0xF8, 0xFF00, 255)];

/// The timing-register updates espefuse makes before a burn on `chip`.
fn timing(chip: Chip) -> &'static [Timing] {
    match chip {
        Chip::Esp32 => TIMING_ESP32,
        Chip::Esp32c2 => TIMING_C2,
        Chip::Esp32s2 => TIMING_S2,
        Chip::Esp32s3 => TIMING_S3,
        Chip::Esp32c3 | Chip::Esp32c6 | Chip::Esp32h2 => TIMING_C3,
    }
}

/// The timing registers (byte ranges from the controller's base) espefuse
/// sets before every burn on `chip`. Over a port it writes them with
/// esptool's shifting `update_reg`, while its `--virt` emulator and a
/// device directory's emulated burn leave other values (serial.md §4.6),
/// so tests comparing eFuse files leave them out.
pub fn timing_registers(chip: Chip) -> Vec<core::ops::Range<usize>> {
    let mut ranges: Vec<core::ops::Range<usize>> = timing(chip)
        .iter()
        .map(|&(offset, _, _)| offset..offset + 4)
        .collect();
    ranges.sort_by_key(|r| r.start);
    ranges.dedup();
    ranges
}

/// The program-data and check-value registers (`PGM_DATA0..7`,
/// `CHECK_VALUE0..2`) of the chips that have them: after a burn over a
/// port (or espefuse `--virt`) they hold the last block programmed, as
/// the chip's do; a device directory's emulated burn does not write them.
pub fn program_data_registers(chip: Chip) -> Option<core::ops::Range<usize>> {
    layout(chip)
        .pgm_data
        .map(|pgm| pgm..pgm + 4 * (PGM_DATA_WORDS + RS_PARITY_LEN / 4))
}

/// espefuse's `EFUSE_BURN_TIMEOUT` (`mem_definition_base.py`): how long
/// `wait_efuse_idle` polls.
const BURN_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(250);
/// The delay espefuse asks after the read command (`efuse_read`: the ROM
/// checks eFuses after each command).
const READ_DELAY_US: u32 = 1000;
/// Attempts of `burn_words`, and read-backs per attempt.
pub(super) const ATTEMPTS: usize = 3;
pub(super) const READS_PER_ATTEMPT: usize = 5;

/// A chip's eFuses behind its controller, reached through `I`.
///
/// ```
/// use esp_efuse::backend::{EfuseBackend, Port};
/// use esp_efuse::controller::EfuseController;
/// use esp_efuse::{Burn, Chip, Efuses, Field};
///
/// // the register model stands in for a chip on a port
/// let chip = Chip::Esp32c3;
/// let mut port = Port::new((EfuseController::new(chip), Efuses::new(chip)));
/// let mut efuses = port.load(chip)?;
/// efuses.stage(Field::DisUsbJtag, Burn::All)?;
/// efuses.commit_to(&mut port)?;
/// assert_eq!(port.io().1.raw(Field::DisUsbJtag)?, 1, "burned on the chip");
/// assert_eq!(efuses.raw(Field::DisUsbJtag)?, 1, "and read back");
/// # Ok::<(), esp_efuse::EfuseError>(())
/// ```
#[derive(Debug)]
pub struct Port<I> {
    io: I,
    /// The download-mode eFuses the BLOCK0 program in progress burns: the
    /// chip may stop answering as they take effect.
    burning: DownloadModeBurn,
}

/// Which eFuses that cut the host off a BLOCK0 program sets.
#[derive(Debug, Clone, Copy, Default)]
struct DownloadModeBurn {
    secure_download: bool,
    download_disabled: bool,
}

impl DownloadModeBurn {
    /// What `words` (BLOCK0's data) newly set.
    fn of(efuses: &Efuses, block: usize, words: &[u32]) -> DownloadModeBurn {
        let sets = |field: Field| {
            block == 0
                && efuses.def(field).is_ok_and(|def| {
                    let (Some(word), Some(pos)) = (def.word, def.pos) else {
                        return false;
                    };
                    let new = words.get(usize::from(word)).copied().unwrap_or(0) >> pos;
                    new & 1 == 1 && efuses.raw(field).is_ok_and(|old| old == 0)
                })
        };
        DownloadModeBurn {
            secure_download: sets(Field::EnableSecurityDownload),
            download_disabled: sets(Field::DisDownloadMode),
        }
    }
}

impl<I: RegisterIo> Port<I> {
    /// The controller reached through `io`.
    pub fn new(io: I) -> Port<I> {
        Port {
            io,
            burning: DownloadModeBurn::default(),
        }
    }

    /// The register access.
    pub fn io(&self) -> &I {
        &self.io
    }

    /// The register access, to use the connection for something else.
    pub fn io_mut(&mut self) -> &mut I {
        &mut self.io
    }

    fn read(&mut self, chip: Chip, offset: usize, op: &'static str) -> Result<u32, EfuseError> {
        let addr = address(chip, offset);
        self.io.read_reg(addr).map_err(|e| port_error(op, e))
    }

    fn write(
        &mut self,
        chip: Chip,
        offset: usize,
        value: u32,
        delay_us: u32,
        op: &'static str,
    ) -> Result<(), EfuseError> {
        let addr = address(chip, offset);
        self.io
            .write_reg(addr, value, u32::MAX, delay_us)
            .map_err(|e| port_error(op, e))
    }

    /// esptool's `update_reg`: read, clear the field, OR the value shifted
    /// into it, write the whole register.
    fn update(&mut self, chip: Chip, (offset, mask, value): Timing) -> Result<(), EfuseError> {
        let op = "set the eFuse timing";
        let shift = mask.trailing_zeros();
        let old = self.read(chip, offset, op)?;
        let new = (old & !mask) | (value.checked_shl(shift).unwrap_or(0) & mask);
        self.write(chip, offset, new, 0, op)
    }

    /// `wait_efuse_idle`: RS chips read `CMD & 3` twice (a hardware erratum
    /// on the read command), the ESP32 waits for `CMD == 0`.
    fn wait_idle(&mut self, chip: Chip) -> Result<(), EfuseError> {
        let cmd = layout(chip).cmd;
        let op = "wait for the eFuse controller";
        let deadline = std::time::Instant::now() + BURN_TIMEOUT;
        loop {
            if chip == Chip::Esp32 {
                if self.read(chip, cmd, op)? == 0 {
                    return Ok(());
                }
            } else if self.read(chip, cmd, op)? & (CMD_PROGRAM | CMD_READ) == 0
                && self.read(chip, cmd, op)? & (CMD_PROGRAM | CMD_READ) == 0
            {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(EfuseError::ControllerBusy);
            }
        }
    }

    /// `clear_pgm_registers` (RS chips).
    fn clear_pgm(&mut self, chip: Chip) -> Result<(), EfuseError> {
        self.wait_idle(chip)?;
        let pgm = layout(chip).pgm_data.unwrap_or(0);
        for i in 0..PGM_DATA_WORDS {
            self.write(chip, pgm + 4 * i, 0, 0, "clear the program registers")?;
        }
        Ok(())
    }

    /// `efuse_read`: the controller reloads the read registers from the array.
    fn efuse_read(&mut self, chip: Chip) -> Result<(), EfuseError> {
        let l = layout(chip);
        let op = "read the eFuses";
        self.wait_idle(chip)?;
        self.write(chip, l.conf, CONF_READ_OPCODE, 0, op)?;
        let delay = if chip == Chip::Esp32 {
            0
        } else {
            READ_DELAY_US
        };
        let reloaded = self
            .write(chip, l.cmd, CMD_READ, delay, op)
            .and_then(|()| self.wait_idle(chip));
        match reloaded {
            Ok(()) => Ok(()),
            Err(error) => self.after_lost_chip(error),
        }
    }

    /// espefuse's `efuse_read` when the read command fails: a burn of
    /// ENABLE_SECURITY_DOWNLOAD or DIS_DOWNLOAD_MODE has just taken effect
    /// (the ROM checks the eFuses after each command). Reconnecting tells
    /// which; either ends the burn as done. Any other failure stands.
    fn after_lost_chip(&mut self, error: EfuseError) -> Result<(), EfuseError> {
        let burning = self.burning;
        if !burning.secure_download && !burning.download_disabled {
            return Err(error);
        }
        match self.io.reconnect() {
            Ok(r) if r.secure_download_mode && burning.secure_download => {
                Err(EfuseError::SecureDownloadModeBurned)
            }
            Ok(_) => Err(error),
            Err(_) if burning.download_disabled => Err(EfuseError::DownloadModeBurned),
            Err(_) => Err(error),
        }
    }

    /// The timing registers for a burn.
    fn set_timing(&mut self, chip: Chip) -> Result<(), EfuseError> {
        for step in timing(chip) {
            self.update(chip, *step)?;
        }
        Ok(())
    }

    /// Reads the controller's register image into `efuses`.
    fn refresh(&mut self, efuses: &mut Efuses) -> Result<(), EfuseError> {
        let chip = efuses.chip();
        let size = chip.table().mem_size;
        let mut mem = Vec::with_capacity(size);
        for offset in (0..size).step_by(4) {
            mem.extend(self.read(chip, offset, "read the eFuses")?.to_le_bytes());
        }
        efuses.set_register_image(mem);
        Ok(())
    }

    /// Reads only `blocks`' registers (their data words); every other
    /// block reads as unburned. For callers that check a few fields, as
    /// esptool reads a few words ([`Efuses::flash_write_check_blocks`]).
    pub fn load_blocks(&mut self, chip: Chip, blocks: &[usize]) -> Result<Efuses, EfuseError> {
        let mut efuses = Efuses::new(chip);
        for block in blocks {
            self.refresh_block(&mut efuses, *block)?;
        }
        Ok(efuses)
    }

    /// Re-reads one block's registers into `efuses` (espefuse's
    /// `EfuseBlockBase.read`, the read-back inside `burn_words`).
    fn refresh_block(&mut self, efuses: &mut Efuses, block: usize) -> Result<(), EfuseError> {
        let chip = efuses.chip();
        let Some(rd_offset) = efuses.table().blocks.get(block).map(|b| b.rd_offset) else {
            return Ok(());
        };
        for i in 0..efuses.block_len_words(block) {
            let offset = rd_offset + 4 * i;
            let v = self.read(chip, offset, "read the eFuses")?;
            efuses.write_reg(offset, v);
        }
        Ok(())
    }

    /// Re-reads the error registers into `efuses`.
    fn refresh_errors(&mut self, efuses: &mut Efuses) -> Result<(), EfuseError> {
        let chip = efuses.chip();
        for off in chip.table().error_regs {
            let v = self.read(chip, *off, "read the eFuse error registers")?;
            efuses.write_reg(*off, v);
        }
        Ok(())
    }

    /// One attempt's program: data into the write registers, then the
    /// program and read commands.
    fn program_once(
        &mut self,
        efuses: &Efuses,
        block: usize,
        coded: &[u32],
    ) -> Result<(), EfuseError> {
        let chip = efuses.chip();
        let l = layout(chip);
        let op = "write the eFuse program registers";
        if chip == Chip::Esp32 {
            for (offset, w) in data_offsets(efuses, block, coded) {
                self.write(chip, offset, w, 0, op)?;
            }
            self.set_timing(chip)?;
            self.write(chip, l.conf, CONF_WRITE_OPCODE, 0, "program the eFuses")?;
            self.write(chip, l.cmd, CMD_PROGRAM, 0, "program the eFuses")?;
            return self.efuse_read(chip);
        }
        // efuse_controller_setup
        self.set_timing(chip)?;
        self.clear_pgm(chip)?;
        self.wait_idle(chip)?;
        for (offset, w) in data_offsets(efuses, block, coded) {
            self.write(chip, offset, w, 0, op)?;
        }
        // efuse_program
        self.wait_idle(chip)?;
        self.write(chip, l.conf, CONF_WRITE_OPCODE, 0, "program the eFuses")?;
        let cmd = CMD_PROGRAM | (u32::try_from(block).unwrap_or(0) << 2);
        self.write(chip, l.cmd, cmd, 0, "program the eFuses")?;
        self.wait_idle(chip)?;
        self.clear_pgm(chip)?;
        self.efuse_read(chip)
    }
}

impl<I: RegisterIo> super::BurnSteps for Port<I> {
    fn program_once(
        &mut self,
        efuses: &mut Efuses,
        block: usize,
        _: &[u32],
        coded: &[u32],
        _: &mut Vec<ProgramEvent>,
    ) -> Result<(), EfuseError> {
        Port::program_once(self, efuses, block, coded)
    }

    fn read_errors(
        &mut self,
        efuses: &mut Efuses,
        _: &mut Vec<ProgramEvent>,
    ) -> Result<(), EfuseError> {
        self.efuse_read(efuses.chip())?;
        self.refresh_errors(efuses)
    }

    /// The block alone, as espefuse checks it; the whole register image
    /// once after the attempts (its "Reading updated eFuses").
    fn read_block(&mut self, efuses: &mut Efuses, block: usize) -> Result<(), EfuseError> {
        self.refresh_block(efuses, block)
    }
}

impl<I: RegisterIo> EfuseBackend for Port<I> {
    /// Reads the chip's register image (every block, the error registers).
    fn load(&mut self, chip: Chip) -> Result<Efuses, EfuseError> {
        let mut efuses = Efuses::new(chip);
        self.refresh(&mut efuses)?;
        Ok(efuses)
    }

    /// espefuse's `burn_words` ([`super::burn_words`]) over the port.
    fn program(
        &mut self,
        efuses: &mut Efuses,
        block: usize,
        words: &[u32],
        events: &mut Vec<ProgramEvent>,
    ) -> Result<(), EfuseError> {
        self.burning = DownloadModeBurn::of(efuses, block, words);
        super::burn_words(self, efuses, block, words, events)?;
        // espefuse's "Reading updated eFuses" (`read_blocks`): every
        // block's words and the error registers, not the controller's
        // configuration and status registers, which hold no eFuse value
        for b in 0..efuses.table().blocks.len() {
            self.refresh_block(efuses, b)?;
        }
        self.refresh_errors(efuses)
    }

    fn store(&mut self, _: &Efuses) -> Result<(), EfuseError> {
        Ok(())
    }
}

/// The words written for one program command: the data words, then
/// the coding's check words (`apply_coding_scheme`).
pub(super) fn coded_words(efuses: &Efuses, block: usize, words: &[u32]) -> Vec<u32> {
    if efuses.chip() == Chip::Esp32 {
        if block != 0 && efuses.coding_is_34() {
            return encode_34(words);
        }
        let n = EfuseController::esp32_write_words(u8::try_from(block).unwrap_or(0));
        let mut w = words.to_vec();
        w.resize(n, 0);
        return w;
    }
    let mut w = words.to_vec();
    w.resize(PGM_DATA_WORDS, 0);
    if block != 0 {
        let parity = rs_parity(&words_to_bytes(&w));
        w.extend(bytes_to_words(&parity));
    }
    w
}

/// Where `burn_words` writes `coded` (the block's write registers on the
/// ESP32, `PGM_DATA0..7` and `CHECK_VALUE0..2` on the others): register
/// offsets from the controller's base, with the word for each.
fn data_offsets<'a>(
    efuses: &Efuses,
    block: usize,
    coded: &'a [u32],
) -> impl Iterator<Item = (usize, u32)> + 'a {
    let base = if efuses.chip() == Chip::Esp32 {
        efuses.table().blocks[block].wr_offset
    } else {
        layout(efuses.chip()).pgm_data.unwrap_or(0)
    };
    coded
        .iter()
        .enumerate()
        .map(move |(i, w)| (base + 4 * i, *w))
}

/// [`data_offsets`] as addresses, for [`ProgramEvent::DataWritten`].
pub(super) fn data_writes(efuses: &Efuses, block: usize, coded: &[u32]) -> Vec<(u32, u32)> {
    let chip = efuses.chip();
    data_offsets(efuses, block, coded)
        .map(|(offset, w)| (address(chip, offset), w))
        .collect()
}

fn address(chip: Chip, offset: usize) -> u32 {
    chip.table()
        .base_addr
        .wrapping_add(u32::try_from(offset).unwrap_or(u32::MAX))
}

fn port_error<E: std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
    error: E,
) -> EfuseError {
    EfuseError::Port {
        operation,
        error: Box::new(error),
    }
}

/// ESP32 3/4 coding of 6 data words into 8 (`esp32/fields.py`
/// `apply_coding_scheme`): each 6 data bytes, then their XOR and the sum
/// of `(i + 1) * popcount(byte i)`.
fn encode_34(words: &[u32]) -> Vec<u32> {
    let mut data = words_to_bytes(words);
    data.resize(24, 0);
    let mut out = Vec::with_capacity(32);
    for chunk in data.chunks_exact(CHUNK_DATA) {
        let xor = chunk.iter().fold(0u8, |x, b| x ^ b);
        let weighted: u32 = (1..).zip(chunk).map(|(i, b)| i * b.count_ones()).sum();
        out.extend_from_slice(chunk);
        out.push(xor);
        out.push(u8::try_from(weighted).unwrap_or(u8::MAX));
    }
    bytes_to_words(&out)
}
