//! The non-eFuse registers esptool reads and writes in download mode
//! (serial.md §3.3, §3.4): a plain 32-bit register file (writes stored,
//! unknown registers read 0) plus the chip-detect magic, the UART clock
//! divider, the RTC watchdog that `--after watchdog-reset` arms, and the
//! SPI flash user-command engine that answers flash-id, SFDP and status
//! commands. Every address comes from [`esp_image::rom_loader`]. ESP32's
//! `APB_CTL_DATE`, a chip-revision bit, is the eFuse controller's to
//! answer ([`esp_efuse::controller`]), as the [`crate::machine`] asks it
//! first.

use std::collections::HashMap;

use esp_image::rom_loader::{
    flash_jedec_id, RtcWdtRegs, SpiFlashRegs, CHIP_DETECT_MAGIC_REG_ADDR, RTC_WDT_ENABLE,
    SFDP_SIGNATURE, SPI_CMD_USR,
};
use esp_image::Chip;

/// SPI flash commands the engine answers (JEDEC / SFDP opcodes,
/// `et:loader.py:1953-2148`).
mod spi_cmd {
    pub const RDID: u8 = 0x9F;
    pub const RDSFDP: u8 = 0x5A;
    pub const RDSR: u8 = 0x05;
    pub const RDSR2: u8 = 0x35;
    pub const RDSR3: u8 = 0x15;
    pub const WRSR: u8 = 0x01;
    pub const WRSR2: u8 = 0x31;
    pub const WRSR3: u8 = 0x11;
}

/// What a register write asks of the chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegEffect {
    /// Nothing beyond storing the value.
    None,
    /// The RTC watchdog was enabled: the chip resets when it fires.
    WatchdogReset,
}

/// The register file of one chip.
#[derive(Debug, Clone)]
pub struct Registers {
    chip: Chip,
    values: HashMap<u32, u32>,
    spi: SpiFlashRegs,
    wdt: Option<RtcWdtRegs>,
    jedec_id: u32,
    /// Flash status registers 1-3.
    status: [u8; 3],
}

impl Registers {
    /// The registers after reset of `chip` with a flash of `flash_size`.
    pub fn new(chip: Chip, flash_size: u32) -> Self {
        Registers {
            chip,
            values: HashMap::new(),
            spi: chip.spi_flash_regs(),
            wdt: chip.rtc_wdt(),
            jedec_id: flash_jedec_id(flash_size),
            status: [0; 3],
        }
    }

    /// Reads a register.
    pub fn read(&self, address: u32) -> u32 {
        if address == CHIP_DETECT_MAGIC_REG_ADDR {
            if let Some(magic) = self.chip.detect_magic() {
                return magic;
            }
        }
        if address == self.chip.uart_clkdiv_reg() {
            return self.chip.uart_clkdiv_40mhz();
        }
        self.values.get(&address).copied().unwrap_or(0)
    }

    /// Writes a register.
    pub fn write(&mut self, address: u32, value: u32) -> RegEffect {
        self.values.insert(address, value);
        if address == self.spi.cmd && value & SPI_CMD_USR != 0 {
            self.run_spi_command();
            return RegEffect::None;
        }
        match self.wdt {
            Some(wdt) if address == wdt.config0 && value & RTC_WDT_ENABLE != 0 => {
                RegEffect::WatchdogReset
            }
            _ => RegEffect::None,
        }
    }

    /// Executes the user command set up in USR/USR2/ADDR/W0 and clears
    /// `SPI_CMD_USR`, as the SPI peripheral does.
    fn run_spi_command(&mut self) {
        let reg = |a: u32| self.values.get(&a).copied().unwrap_or(0);
        let command = (reg(self.spi.usr2) & 0xFF) as u8;
        let addr = reg(self.spi.addr);
        let mosi = reg(self.spi.w0);
        let result = match command {
            spi_cmd::RDID => Some(self.jedec_id),
            // The table signature at SFDP address 0; the XMC probe at 0x10
            // (ESP32: shifted into the register's top bits) reads 0.
            spi_cmd::RDSFDP => Some(if addr == 0 { SFDP_SIGNATURE } else { 0 }),
            spi_cmd::RDSR => Some(u32::from(self.status[0])),
            spi_cmd::RDSR2 => Some(u32::from(self.status[1])),
            spi_cmd::RDSR3 => Some(u32::from(self.status[2])),
            spi_cmd::WRSR => {
                // one or two bytes (SR1, SR2)
                let two_bytes = reg(self.spi.mosi_dlen) >= 15;
                self.status[0] = mosi as u8;
                if two_bytes {
                    self.status[1] = (mosi >> 8) as u8;
                }
                None
            }
            spi_cmd::WRSR2 => {
                self.status[1] = mosi as u8;
                None
            }
            spi_cmd::WRSR3 => {
                self.status[2] = mosi as u8;
                None
            }
            // write enable, soft reset, XMC sequences: nothing to model
            _ => None,
        };
        if let Some(word) = result {
            self.values.insert(self.spi.w0, word);
        }
        let cmd = self.read(self.spi.cmd) & !SPI_CMD_USR;
        self.values.insert(self.spi.cmd, cmd);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// esptool's `run_spiflash_command(0x9F, b"", 24)` on an ESP32-C3.
    #[test]
    fn rdid_through_the_user_command_engine() {
        let mut regs = Registers::new(Chip::Esp32c3, 4 << 20);
        let spi = Chip::Esp32c3.spi_flash_regs();
        regs.write(spi.miso_dlen, 23);
        regs.write(spi.usr, 1 << 31 | 1 << 28);
        regs.write(spi.usr2, 7 << 28 | 0x9F);
        regs.write(spi.w0, 0);
        regs.write(spi.cmd, 1 << 18);
        assert_eq!(regs.read(spi.cmd) & (1 << 18), 0);
        assert_eq!(regs.read(spi.w0) & 0xFF_FFFF, 0x16_40EF);
    }

    #[test]
    fn watchdog_enable_is_a_reset() {
        let mut regs = Registers::new(Chip::Esp32c3, 4 << 20);
        let wdt = Chip::Esp32c3.rtc_wdt().unwrap();
        assert_eq!(regs.write(wdt.wprotect, 0x50D8_3AA1), RegEffect::None);
        assert_eq!(regs.write(wdt.config1, 2000), RegEffect::None);
        assert_eq!(
            regs.write(wdt.config0, 0xD000_0102),
            RegEffect::WatchdogReset
        );
        assert_eq!(
            Registers::new(Chip::Esp32, 4 << 20).read(CHIP_DETECT_MAGIC_REG_ADDR),
            0x00F0_1D83
        );
    }
}
