//! What the ROM's serial download loader exposes to esptool, per chip: the
//! detection facts, the SPI flash "user command" registers esptool drives,
//! the watchdog and clock registers it reads or writes, and the SPI flash
//! identification. A virtual chip answers esptool with these; a client
//! reads the same registers. Values are esptool 5.6.0's
//! (`esptool/targets/<chip>.py`, serial.md §3.1, §3.3, §3.4).

use crate::Chip;

/// The SPI0/1 user-command registers (serial.md §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpiFlashRegs {
    /// `SPI_CMD_REG` (`SPI_REG_BASE`); bit 18 starts a user command.
    pub cmd: u32,
    /// `SPI_ADDR_REG`.
    pub addr: u32,
    /// `SPI_USER_REG`.
    pub usr: u32,
    /// `SPI_USER1_REG`.
    pub usr1: u32,
    /// `SPI_USER2_REG`: the command byte in its low bits.
    pub usr2: u32,
    /// `SPI_MOSI_DLEN_REG`.
    pub mosi_dlen: u32,
    /// `SPI_MISO_DLEN_REG`.
    pub miso_dlen: u32,
    /// `SPI_W0_REG`: the first data word.
    pub w0: u32,
}

/// `SPI_CMD_REG` bit that starts a user command and clears when it is done
/// (`SPI_CMD_USR`, `et:loader.py:1953-2086`).
pub const SPI_CMD_USR: u32 = 1 << 18;

/// The RTC watchdog registers esptool's `--after watchdog-reset` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcWdtRegs {
    /// `RTC_CNTL_WDTCONFIG0_REG`; bit 31 enables the watchdog.
    pub config0: u32,
    /// `RTC_CNTL_WDTCONFIG1_REG`: the stage-0 timeout.
    pub config1: u32,
    /// `RTC_CNTL_WDTWPROTECT_REG`.
    pub wprotect: u32,
}

/// `RTC_CNTL_WDTCONFIG0` enable bit.
pub const RTC_WDT_ENABLE: u32 = 1 << 31;

/// `RTC_CNTL_WDT_WKEY`: the value that unlocks the RTC watchdog's
/// registers when written to `wprotect` (the same on every chip with
/// [`Chip::rtc_wdt`]; `et:targets/esp32c3.py`, `esp32s2.py`, `esp32s3.py`).
pub const RTC_WDT_WKEY: u32 = 0x50D8_3AA1;

/// What esptool's `watchdog_reset` writes to `config0`: enabled, stage 0
/// resets the whole system (5 << 28), reset pulse length (1 << 8), the
/// flash-boot protection mode 2 (`et:targets/esp32c3.py` `watchdog_reset`).
pub const RTC_WDT_RESET_CONFIG0: u32 = RTC_WDT_ENABLE | (5 << 28) | (1 << 8) | 2;

/// The stage-0 timeout esptool's `watchdog_reset` writes to `config1`
/// (2000 slow-clock cycles).
pub const RTC_WDT_RESET_TIMEOUT: u32 = 2000;

/// Where esptool reads the chip-detect magic ([`Chip::detect_magic`];
/// `CHIP_DETECT_MAGIC_REG_ADDR`, `et:loader.py:388`).
pub const CHIP_DETECT_MAGIC_REG_ADDR: u32 = 0x4000_1000;

/// `CHIP_ID` values GET_SECURITY_INFO reports (the image chip id).
pub fn security_info_chip_id(chip: Chip) -> Option<u32> {
    match chip {
        // ESP32 has no GET_SECURITY_INFO; the ESP32-S2's has no chip id
        Chip::Esp32 | Chip::Esp32s2 => None,
        _ => Some(u32::from(chip.image_chip_id())),
    }
}

/// Where esptool's `flash-id` reads the flash type (quad or octal):
/// `EFUSE_RD_REPEAT_DATA3_REG` and its `FLASH_TYPE` bit
/// (`esptool/targets/esp32s2.py`, `esp32s3.py`: `EFUSE_BASE + 0x3C`,
/// `1 << 9`); `None` on chips where esptool prints no flash type.
pub fn flash_type_efuse(chip: Chip) -> Option<(u32, u32)> {
    match chip {
        Chip::Esp32s2 => Some((0x3F41_A000 + 0x3C, 1 << 9)),
        Chip::Esp32s3 => Some((0x6000_7000 + 0x3C, 1 << 9)),
        _ => None,
    }
}

/// The registers esptool's `flash-id` reads to report the flash voltage
/// (`get_flash_voltage`, `esptool/targets/esp32.py`, with the ESP32-S2/S3
/// constants of their target files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlashVoltageRegs {
    /// `RTC_CNTL_SDIO_CONF_REG` (ESP32 only; the S2/S3 report none).
    pub rtc_sdio_conf: Option<u32>,
    /// `EFUSE_VDD_SPI_REG`.
    pub efuse_vdd_spi: u32,
    /// `VDD_SPI_XPD`, `VDD_SPI_TIEH`, `VDD_SPI_FORCE` bits.
    pub efuse_xpd: u32,
    /// See [`FlashVoltageRegs::efuse_xpd`].
    pub efuse_tieh: u32,
    /// See [`FlashVoltageRegs::efuse_xpd`].
    pub efuse_force: u32,
    /// `GPIO_STRAP_REG`.
    pub strap: u32,
    /// `GPIO_STRAP_VDDSPI_MASK`: set selects 1.8V.
    pub strap_vddspi: u32,
}

/// `RTC_CNTL_SDIO_CONF_REG` bits (`esptool/targets/esp32.py`).
pub const RTC_CNTL_SDIO_FORCE: u32 = 1 << 22;
/// See [`RTC_CNTL_SDIO_FORCE`].
pub const RTC_CNTL_DREFH_SDIO_M: u32 = 3 << 29;
/// See [`RTC_CNTL_SDIO_FORCE`].
pub const RTC_CNTL_XPD_SDIO_REG: u32 = 1 << 31;

/// Where esptool reads the flash voltage; `None` where it reports none
/// (C2, C3, C6, H2 raise `NotSupportedError`).
pub fn flash_voltage_regs(chip: Chip) -> Option<FlashVoltageRegs> {
    match chip {
        Chip::Esp32 => Some(FlashVoltageRegs {
            rtc_sdio_conf: Some(0x3FF4_8074),
            efuse_vdd_spi: 0x3FF5_A000 + 0x10,
            efuse_xpd: 1 << 14,
            efuse_tieh: 1 << 15,
            efuse_force: 1 << 16,
            strap: 0x3FF4_4038,
            strap_vddspi: 1 << 5,
        }),
        Chip::Esp32s2 => Some(FlashVoltageRegs {
            rtc_sdio_conf: None,
            efuse_vdd_spi: 0x3F41_A000 + 0x34,
            efuse_xpd: 1 << 4,
            efuse_tieh: 1 << 5,
            efuse_force: 1 << 6,
            strap: 0x3F40_4038,
            strap_vddspi: 1 << 4,
        }),
        Chip::Esp32s3 => Some(FlashVoltageRegs {
            rtc_sdio_conf: None,
            efuse_vdd_spi: 0x6000_7000 + 0x34,
            efuse_xpd: 1 << 4,
            efuse_tieh: 1 << 5,
            efuse_force: 1 << 6,
            strap: 0x6000_4038,
            strap_vddspi: 1 << 4,
        }),
        _ => None,
    }
}

/// The highest key block esptool lists (`EFUSE_MAX_KEY`, 5 on every chip
/// here).
pub const ESPTOOL_EFUSE_MAX_KEY: usize = 5;

impl Chip {
    /// The word at [`CHIP_DETECT_MAGIC_REG_ADDR`] esptool compares on chips detected by magic
    /// (`CHIP_DETECT_MAGIC_VALUE`, `USES_MAGIC_VALUE`); `None` on chips
    /// detected by GET_SECURITY_INFO's chip id.
    pub fn detect_magic(self) -> Option<u32> {
        match self {
            Chip::Esp32 => Some(0x00F0_1D83),
            Chip::Esp32s2 => Some(0x0000_07C6),
            _ => None,
        }
    }

    /// Bytes of GET_SECURITY_INFO's reply data: `None` where the ROM does
    /// not implement it (ESP32), 12 on the ESP32-S2 (no chip id and API
    /// version), 20 on the others (`et:loader.py:1307-1336`).
    pub fn security_info_len(self) -> Option<usize> {
        match self {
            Chip::Esp32 => None,
            Chip::Esp32s2 => Some(12),
            _ => Some(20),
        }
    }

    /// The SPI flash user-command registers.
    pub fn spi_flash_regs(self) -> SpiFlashRegs {
        let (base, usr, w0) = match self {
            Chip::Esp32 => (0x3FF4_2000, 0x1C, 0x80),
            Chip::Esp32s2 => (0x3F40_2000, 0x18, 0x58),
            Chip::Esp32s3 | Chip::Esp32c3 | Chip::Esp32c2 => (0x6000_2000, 0x18, 0x58),
            Chip::Esp32c6 | Chip::Esp32h2 => (0x6000_3000, 0x18, 0x58),
        };
        SpiFlashRegs {
            cmd: base,
            addr: base + 4,
            usr: base + usr,
            usr1: base + usr + 4,
            usr2: base + usr + 8,
            mosi_dlen: base + usr + 0xC,
            miso_dlen: base + usr + 0x10,
            w0: base + w0,
        }
    }

    /// `UART_CLKDIV_REG`, which esptool reads to derive the crystal on the
    /// chips without a fixed one (ESP32, ESP32-C2).
    pub fn uart_clkdiv_reg(self) -> u32 {
        match self {
            Chip::Esp32 => 0x3FF4_0014,
            Chip::Esp32s2 => 0x3F40_0014,
            _ => 0x6000_0014,
        }
    }

    /// The UART_CLKDIV value the ROM leaves at 115200 baud with a 40 MHz
    /// crystal (esptool prints "Crystal frequency: 40MHz", serial.md §3.1).
    pub fn uart_clkdiv_40mhz(self) -> u32 {
        347
    }

    /// `APB_CTL_DATE_ADDR` and the value an ECO3 (v3.0) ESP32 returns: bit
    /// 31 set, which esptool needs for revision 3 (`et:targets/esp32.py:62-65`).
    /// The eFuse controller model answers it (`esp_efuse::controller`),
    /// since it is a bit of the chip revision the eFuses carry.
    pub fn apb_ctl_date(self) -> Option<(u32, u32)> {
        match self {
            Chip::Esp32 => Some((0x3FF6_607C, 0x8000_0000)),
            _ => None,
        }
    }

    /// The RTC watchdog esptool arms for `--after watchdog-reset`, on the
    /// chips where it does (`WATCHDOG_RESET_SUPPORTED`).
    pub fn rtc_wdt(self) -> Option<RtcWdtRegs> {
        let base = match self {
            Chip::Esp32s2 => 0x3F40_8000,
            Chip::Esp32s3 | Chip::Esp32c3 | Chip::Esp32c2 => 0x6000_8000,
            Chip::Esp32 | Chip::Esp32c6 | Chip::Esp32h2 => return None,
        };
        let (c0, c1, wp) = match self {
            Chip::Esp32s2 => (0x94, 0x98, 0xAC),
            Chip::Esp32s3 => (0x98, 0x9C, 0xB0),
            Chip::Esp32c3 => (0x90, 0x94, 0xA8),
            _ => (0x84, 0x88, 0x9C),
        };
        Some(RtcWdtRegs {
            config0: base + c0,
            config1: base + c1,
            wprotect: base + wp,
        })
    }

    /// The ROM's `rom_spiflash_legacy_funcs.read` pointer, which esptool
    /// points at the uploaded stub on an ESP32-S3 with Secure Boot (whose
    /// ROM will not jump to RAM code) before a READ_FLASH_SLOW that makes
    /// the ROM call it (`et:loader.py:1476-1528`).
    pub fn stub_hijack_read_ptr(self) -> Option<u32> {
        match self {
            Chip::Esp32s3 => Some(0x3FCE_F688),
            _ => None,
        }
    }

    /// esptool's `CHIP_NAME` ("ESP32-C3"), as it prints the chip
    /// (`et:targets/*.py`).
    pub fn esptool_name(self) -> &'static str {
        match self {
            Chip::Esp32 => "ESP32",
            Chip::Esp32s2 => "ESP32-S2",
            Chip::Esp32s3 => "ESP32-S3",
            Chip::Esp32c2 => "ESP32-C2",
            Chip::Esp32c3 => "ESP32-C3",
            Chip::Esp32c6 => "ESP32-C6",
            Chip::Esp32h2 => "ESP32-H2",
        }
    }

    /// The eFuse read register holding the MAC's low word; the next word
    /// holds its top 16 bits (and on the C6/H2 the EUI-64 extension above
    /// them). esptool `MAC_EFUSE_REG` (`et:targets/*.py`); on the ESP32
    /// `EFUSE_RD_REG_BASE` + 4 (`read_efuse(1)`, `read_efuse(2)`).
    pub fn mac_efuse_reg(self) -> u32 {
        match self {
            Chip::Esp32 => 0x3FF5_A004,
            Chip::Esp32s2 => 0x3F41_A044,
            Chip::Esp32s3 => 0x6000_7044,
            Chip::Esp32c2 => 0x6000_8840,
            Chip::Esp32c3 => 0x6000_8844,
            Chip::Esp32c6 | Chip::Esp32h2 => 0x600B_0844,
        }
    }

    /// Whether esptool prints an EUI-64 MAC for the chip (the ESP32-C6
    /// and H2 `read_mac`).
    pub fn has_eui64(self) -> bool {
        matches!(self, Chip::Esp32c6 | Chip::Esp32h2)
    }

    /// `FLASH_ENCRYPTED_WRITE_ALIGN`: encrypted writes are padded to this.
    pub fn encrypted_write_align(self) -> u32 {
        match self {
            Chip::Esp32 => 32,
            _ => 16,
        }
    }

    /// Whether the ROM's FLASH_BEGIN takes the 5th (`encrypted`) word; the
    /// ESP32 ROM takes four (`et:loader.py:1198-1201`) and cannot encrypt.
    pub fn rom_encrypts(self) -> bool {
        self != Chip::Esp32
    }

    /// The first line of the ROM's boot banner (`ESP-ROM:<chip>-<api>`),
    /// as the ROM prints it on UART0 at reset.
    pub fn rom_banner(self) -> &'static str {
        match self {
            Chip::Esp32 => "ets Jul 29 2019 12:21:46",
            Chip::Esp32s2 => "ESP-ROM:esp32s2-rc4-20191025",
            Chip::Esp32s3 => "ESP-ROM:esp32s3-20210327",
            Chip::Esp32c2 => "ESP-ROM:esp32c2-20220101",
            Chip::Esp32c3 => "ESP-ROM:esp32c3-api1-20210207",
            Chip::Esp32c6 => "ESP-ROM:esp32c6-20220919",
            Chip::Esp32h2 => "ESP-ROM:esp32h2-20221101",
        }
    }
}

/// The JEDEC id (`RDID`, 0x9F) of the SPI flash a board of `size` bytes
/// carries: manufacturer, memory type, capacity (`log2(size)`), as esptool
/// decodes it ("Manufacturer: ef / Device: 4016 / Detected flash size:
/// 4MB"). Winbond W25Q parts, GigaDevice for 2 MB and below (the ESP32-C2
/// modules' part, serial.md §7.2 R2). Never the XMC id (0x20), which makes
/// esptool run XMC's recovery sequence.
pub fn flash_jedec_id(size: u32) -> u32 {
    let capacity = size.max(1).ilog2();
    let manufacturer = if size <= 2 << 20 { 0xC8 } else { 0xEF };
    manufacturer | (0x40 << 8) | (capacity << 16)
}

/// `SFDP` in the first word of the SFDP table (`RDSFDP` at address 0),
/// which esptool uses to check the flash answers.
pub const SFDP_SIGNATURE: u32 = 0x5044_4653;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jedec_ids_match_esptool_size_table() {
        // et:cmds.py DETECTED_FLASH_SIZES: 0x15 2MB, 0x16 4MB, 0x17 8MB, 0x18 16MB
        assert_eq!(flash_jedec_id(4 << 20), 0x16_40EF);
        assert_eq!(flash_jedec_id(2 << 20), 0x15_40C8);
        assert_eq!(flash_jedec_id(16 << 20) >> 16, 0x18);
    }

    #[test]
    fn spi_registers_follow_the_chip_base() {
        let c3 = Chip::Esp32c3.spi_flash_regs();
        assert_eq!(
            (c3.usr, c3.usr2, c3.w0),
            (0x6000_2018, 0x6000_2020, 0x6000_2058)
        );
        let esp32 = Chip::Esp32.spi_flash_regs();
        assert_eq!(
            (esp32.usr, esp32.miso_dlen, esp32.w0),
            (0x3FF4_201C, 0x3FF4_202C, 0x3FF4_2080)
        );
        assert_eq!(
            Chip::Esp32c3.rtc_wdt().map(|w| w.config0),
            Some(0x6000_8090)
        );
    }
}
