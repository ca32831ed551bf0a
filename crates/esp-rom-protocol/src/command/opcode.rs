//! The request opcodes of the ROM loader and of the flasher stub, with
//! their esptool names (`ESPLoader.ESP_CMDS`, `et:loader.py:300-350`).

/// The request opcodes (`ESPLoader.ESP_CMDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Opcode {
    /// 0x02: erase a region and start a flash write.
    FlashBegin,
    /// 0x03: one block of a flash write.
    FlashData,
    /// 0x04: end a flash write (flag: 0 reboot, 1 run user code).
    FlashEnd,
    /// 0x05: start a RAM download.
    MemBegin,
    /// 0x06: end a RAM download and maybe jump to it.
    MemEnd,
    /// 0x07: one block of a RAM download.
    MemData,
    /// 0x08: autobaud synchronisation.
    Sync,
    /// 0x09: write registers (`addr, value, mask, delay_us` entries).
    WriteReg,
    /// 0x0A: read a register.
    ReadReg,
    /// 0x0B: SPI flash geometry.
    SpiSetParams,
    /// 0x0D: attach the SPI flash.
    SpiAttach,
    /// 0x0E: ROM flash read, 64 bytes per request.
    ReadFlashSlow,
    /// 0x0F: change the baud rate.
    ChangeBaudrate,
    /// 0x10: start a compressed flash write.
    FlashDeflBegin,
    /// 0x11: one block of a compressed flash write.
    FlashDeflData,
    /// 0x12: end a compressed flash write.
    FlashDeflEnd,
    /// 0x13: MD5 of a flash region.
    SpiFlashMd5,
    /// 0x14: security state (S2 and later).
    GetSecurityInfo,
    /// 0xD0: stub: erase the whole flash.
    EraseFlash,
    /// 0xD1: stub: erase a region.
    EraseRegion,
    /// 0xD2: stub: windowed flash read.
    ReadFlash,
    /// 0xD3: stub: run the user code.
    RunUserCode,
    /// Any other opcode (Secure Download Controller, NAND, unknown).
    Other(u8),
}

impl Opcode {
    /// The opcode byte.
    pub fn byte(self) -> u8 {
        match self {
            Opcode::FlashBegin => 0x02,
            Opcode::FlashData => 0x03,
            Opcode::FlashEnd => 0x04,
            Opcode::MemBegin => 0x05,
            Opcode::MemEnd => 0x06,
            Opcode::MemData => 0x07,
            Opcode::Sync => 0x08,
            Opcode::WriteReg => 0x09,
            Opcode::ReadReg => 0x0A,
            Opcode::SpiSetParams => 0x0B,
            Opcode::SpiAttach => 0x0D,
            Opcode::ReadFlashSlow => 0x0E,
            Opcode::ChangeBaudrate => 0x0F,
            Opcode::FlashDeflBegin => 0x10,
            Opcode::FlashDeflData => 0x11,
            Opcode::FlashDeflEnd => 0x12,
            Opcode::SpiFlashMd5 => 0x13,
            Opcode::GetSecurityInfo => 0x14,
            Opcode::EraseFlash => 0xD0,
            Opcode::EraseRegion => 0xD1,
            Opcode::ReadFlash => 0xD2,
            Opcode::RunUserCode => 0xD3,
            Opcode::Other(b) => b,
        }
    }

    /// The opcode of a byte.
    pub fn from_byte(b: u8) -> Opcode {
        const KNOWN: [Opcode; 22] = [
            Opcode::FlashBegin,
            Opcode::FlashData,
            Opcode::FlashEnd,
            Opcode::MemBegin,
            Opcode::MemEnd,
            Opcode::MemData,
            Opcode::Sync,
            Opcode::WriteReg,
            Opcode::ReadReg,
            Opcode::SpiSetParams,
            Opcode::SpiAttach,
            Opcode::ReadFlashSlow,
            Opcode::ChangeBaudrate,
            Opcode::FlashDeflBegin,
            Opcode::FlashDeflData,
            Opcode::FlashDeflEnd,
            Opcode::SpiFlashMd5,
            Opcode::GetSecurityInfo,
            Opcode::EraseFlash,
            Opcode::EraseRegion,
            Opcode::ReadFlash,
            Opcode::RunUserCode,
        ];
        KNOWN
            .into_iter()
            .find(|op| op.byte() == b)
            .unwrap_or(Opcode::Other(b))
    }

    /// esptool's name of the command.
    pub fn name(self) -> &'static str {
        match self {
            Opcode::FlashBegin => "FLASH_BEGIN",
            Opcode::FlashData => "FLASH_DATA",
            Opcode::FlashEnd => "FLASH_END",
            Opcode::MemBegin => "MEM_BEGIN",
            Opcode::MemEnd => "MEM_END",
            Opcode::MemData => "MEM_DATA",
            Opcode::Sync => "SYNC",
            Opcode::WriteReg => "WRITE_REG",
            Opcode::ReadReg => "READ_REG",
            Opcode::SpiSetParams => "SPI_SET_PARAMS",
            Opcode::SpiAttach => "SPI_ATTACH",
            Opcode::ReadFlashSlow => "READ_FLASH_SLOW",
            Opcode::ChangeBaudrate => "CHANGE_BAUDRATE",
            Opcode::FlashDeflBegin => "FLASH_DEFL_BEGIN",
            Opcode::FlashDeflData => "FLASH_DEFL_DATA",
            Opcode::FlashDeflEnd => "FLASH_DEFL_END",
            Opcode::SpiFlashMd5 => "SPI_FLASH_MD5",
            Opcode::GetSecurityInfo => "GET_SECURITY_INFO",
            Opcode::EraseFlash => "ERASE_FLASH",
            Opcode::EraseRegion => "ERASE_REGION",
            Opcode::ReadFlash => "READ_FLASH",
            Opcode::RunUserCode => "RUN_USER_CODE",
            Opcode::Other(_) => "UNKNOWN",
        }
    }
}
