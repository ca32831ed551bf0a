//! Requests: `00 op len16 checksum32 data` (all little-endian), the
//! opcodes of the ROM and the flasher stub, and the typed [`Command`]s a
//! device acts on (serial.md §2.3; `et:loader.py:300-350`).

use alloc::vec::Vec;
use core::fmt;

/// Seed of the data checksum (`ESP_CHECKSUM_MAGIC`, `et:loader.py:376`).
pub const CHECKSUM_SEED: u8 = 0xEF;

/// The XOR checksum of FLASH_DATA/MEM_DATA payloads, as the ROM checks it
/// (`ESPLoader.checksum`).
pub fn checksum(data: &[u8]) -> u32 {
    u32::from(data.iter().fold(CHECKSUM_SEED, |acc, b| acc ^ b))
}

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

/// Direction byte of a request.
pub const DIRECTION_REQUEST: u8 = 0x00;
/// Direction byte of a response.
pub const DIRECTION_RESPONSE: u8 = 0x01;
/// Bytes before the data: direction, op, len16, checksum32.
pub const HEADER_LEN: usize = 8;

/// Why a frame is not a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// Fewer than [`HEADER_LEN`] bytes.
    Short(usize),
    /// The direction byte is not 0.
    NotARequest(u8),
    /// The length field disagrees with the frame.
    Length {
        /// The header's length.
        declared: usize,
        /// The data actually carried.
        actual: usize,
    },
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Short(n) => write!(f, "frame of {n} bytes is shorter than a header"),
            RequestError::NotARequest(b) => write!(f, "direction byte {b:#04x} is not a request"),
            RequestError::Length { declared, actual } => {
                write!(f, "header says {declared} data bytes, frame has {actual}")
            }
        }
    }
}

impl core::error::Error for RequestError {}

/// A request packet as it travels inside a SLIP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The opcode.
    pub op: Opcode,
    /// The checksum field (meaningful for FLASH_DATA/MEM_DATA).
    pub checksum: u32,
    /// The data.
    pub data: Vec<u8>,
}

impl Request {
    /// A request.
    pub fn new(op: Opcode, data: Vec<u8>, checksum: u32) -> Self {
        Request { op, checksum, data }
    }

    /// A request whose data is little-endian words.
    pub fn words(op: Opcode, words: &[u32]) -> Self {
        Request::new(op, words.iter().flat_map(|w| w.to_le_bytes()).collect(), 0)
    }

    /// A FLASH_DATA/MEM_DATA-style block request: `len, seq, 0, 0, data`,
    /// with the data checksum.
    pub fn block(op: Opcode, seq: u32, block: &[u8]) -> Self {
        let mut data = Vec::with_capacity(16 + block.len());
        for w in [block.len() as u32, seq, 0, 0] {
            data.extend_from_slice(&w.to_le_bytes());
        }
        data.extend_from_slice(block);
        Request::new(op, data, checksum(block))
    }

    /// Parses a decoded SLIP frame.
    pub fn parse(frame: &[u8]) -> Result<Request, RequestError> {
        let Some((header, data)) = frame.split_first_chunk::<HEADER_LEN>() else {
            return Err(RequestError::Short(frame.len()));
        };
        if header[0] != DIRECTION_REQUEST {
            return Err(RequestError::NotARequest(header[0]));
        }
        let declared = usize::from(u16::from_le_bytes([header[2], header[3]]));
        if declared != data.len() {
            return Err(RequestError::Length {
                declared,
                actual: data.len(),
            });
        }
        Ok(Request {
            op: Opcode::from_byte(header[1]),
            checksum: u32::from_le_bytes([header[4], header[5], header[6], header[7]]),
            data: data.to_vec(),
        })
    }

    /// The packet bytes (to be SLIP-encoded). Data longer than 65535 bytes
    /// is not representable; the length field then wraps, as it would on
    /// the wire, and the device refuses it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.data.len());
        out.push(DIRECTION_REQUEST);
        out.push(self.op.byte());
        out.extend_from_slice(&(self.data.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.checksum.to_le_bytes());
        out.extend_from_slice(&self.data);
        out
    }
}

/// One WRITE_REG entry (`et:loader.py:1015-1027`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegWrite {
    /// Register address.
    pub address: u32,
    /// Value.
    pub value: u32,
    /// Bits of `value` to write; the others keep their old value.
    pub mask: u32,
    /// Delay after the write, in microseconds.
    pub delay_us: u32,
}

impl RegWrite {
    /// The register's new value: `value & mask | old & !mask` (the stub's
    /// rule, `stub:src/command_handler.c:588-617`).
    pub fn apply(&self, old: u32) -> u32 {
        (self.value & self.mask) | (old & !self.mask)
    }
}

/// A flash write start (FLASH_BEGIN or FLASH_DEFL_BEGIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlashBegin {
    /// ROM: bytes to erase; stub: bytes that will be written
    /// (uncompressed).
    pub size: u32,
    /// Number of data blocks that follow.
    pub blocks: u32,
    /// Size of each (compressed) block.
    pub block_size: u32,
    /// Flash offset.
    pub offset: u32,
    /// The 5th word: 1 asks the loader to encrypt (absent on the ESP32 ROM).
    pub encrypted: Option<u32>,
}

/// A block of a flash or RAM write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataBlock {
    /// Sequence number.
    pub seq: u32,
    /// The block.
    pub data: Vec<u8>,
    /// Whether the request's checksum matches the data.
    pub checksum_ok: bool,
}

/// A typed request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// FLASH_BEGIN.
    FlashBegin(FlashBegin),
    /// FLASH_DATA.
    FlashData(DataBlock),
    /// FLASH_END; `run_user_code` is the flag (false: reboot).
    FlashEnd {
        /// Flag 1: leave the loader and run the user code.
        run_user_code: bool,
    },
    /// MEM_BEGIN.
    MemBegin {
        /// Total size.
        size: u32,
        /// Blocks.
        blocks: u32,
        /// Block size.
        block_size: u32,
        /// RAM address.
        offset: u32,
    },
    /// MEM_DATA.
    MemData(DataBlock),
    /// MEM_END.
    MemEnd {
        /// Flag 1: do not jump (esptool sends `entry == 0`).
        stay: bool,
        /// Entry point.
        entry: u32,
    },
    /// SYNC.
    Sync,
    /// WRITE_REG with one or more entries.
    WriteReg(Vec<RegWrite>),
    /// READ_REG.
    ReadReg {
        /// Register address.
        address: u32,
    },
    /// SPI_SET_PARAMS.
    SpiSetParams {
        /// Flash id.
        id: u32,
        /// Total flash size.
        total_size: u32,
        /// Block size.
        block_size: u32,
        /// Sector size.
        sector_size: u32,
        /// Page size.
        page_size: u32,
        /// Status mask.
        status_mask: u32,
    },
    /// SPI_ATTACH.
    SpiAttach {
        /// Pin configuration (0: default SPI flash pins).
        config: u32,
    },
    /// READ_FLASH_SLOW (ROM).
    ReadFlashSlow {
        /// Offset.
        offset: u32,
        /// Length (at most 64).
        len: u32,
    },
    /// CHANGE_BAUDRATE.
    ChangeBaudrate {
        /// New rate.
        new: u32,
        /// Old rate (0 to the ROM).
        old: u32,
    },
    /// FLASH_DEFL_BEGIN.
    FlashDeflBegin(FlashBegin),
    /// FLASH_DEFL_DATA.
    FlashDeflData(DataBlock),
    /// FLASH_DEFL_END.
    FlashDeflEnd {
        /// Flag 1: leave the loader and run the user code.
        run_user_code: bool,
    },
    /// SPI_FLASH_MD5.
    SpiFlashMd5 {
        /// Offset.
        offset: u32,
        /// Size.
        size: u32,
    },
    /// GET_SECURITY_INFO.
    GetSecurityInfo,
    /// ERASE_FLASH (stub).
    EraseFlash,
    /// ERASE_REGION (stub).
    EraseRegion {
        /// Offset.
        offset: u32,
        /// Size.
        size: u32,
    },
    /// READ_FLASH (stub).
    ReadFlash {
        /// Offset.
        offset: u32,
        /// Length.
        len: u32,
        /// Bytes per data frame.
        packet_size: u32,
        /// Frames the host allows in flight.
        max_inflight: u32,
    },
    /// RUN_USER_CODE (stub).
    RunUserCode,
    /// A request this crate does not decode (the opcode is kept).
    Unsupported(Opcode),
}

/// Why a request's data does not fit its command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// The data is shorter than the command needs.
    TooShort {
        /// The command.
        op: Opcode,
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// A block's length word disagrees with the data that follows.
    BlockLength {
        /// The command.
        op: Opcode,
        /// The length word.
        declared: u32,
        /// The data that follows the block header.
        actual: usize,
    },
    /// WRITE_REG data that is not whole 16-byte entries.
    RegEntries(usize),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::TooShort { op, needed, got } => {
                write!(f, "{} needs {needed} data bytes, got {got}", op.name())
            }
            CommandError::BlockLength {
                op,
                declared,
                actual,
            } => write!(
                f,
                "{} block says {declared} bytes, carries {actual}",
                op.name()
            ),
            CommandError::RegEntries(n) => {
                write!(
                    f,
                    "WRITE_REG data of {n} bytes is not whole 16-byte entries"
                )
            }
        }
    }
}

impl core::error::Error for CommandError {}

/// The little-endian words of `data`, `N` of them at least.
fn words<const N: usize>(op: Opcode, data: &[u8]) -> Result<[u32; N], CommandError> {
    if data.len() < 4 * N {
        return Err(CommandError::TooShort {
            op,
            needed: 4 * N,
            got: data.len(),
        });
    }
    let mut out = [0u32; N];
    for (w, c) in out.iter_mut().zip(data.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    Ok(out)
}

fn optional_word(data: &[u8], index: usize) -> Option<u32> {
    data.get(4 * index..4 * index + 4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

fn block(req: &Request) -> Result<DataBlock, CommandError> {
    let [len, seq, _, _] = words::<4>(req.op, &req.data)?;
    let data = &req.data[16..];
    if usize::try_from(len).ok() != Some(data.len()) {
        return Err(CommandError::BlockLength {
            op: req.op,
            declared: len,
            actual: data.len(),
        });
    }
    Ok(DataBlock {
        seq,
        data: data.to_vec(),
        checksum_ok: checksum(data) == req.checksum,
    })
}

fn begin(req: &Request) -> Result<FlashBegin, CommandError> {
    let [size, blocks, block_size, offset] = words::<4>(req.op, &req.data)?;
    Ok(FlashBegin {
        size,
        blocks,
        block_size,
        offset,
        encrypted: optional_word(&req.data, 4),
    })
}

impl Command {
    /// Decodes a request's data for its opcode.
    pub fn parse(req: &Request) -> Result<Command, CommandError> {
        let op = req.op;
        let d = &req.data[..];
        Ok(match op {
            Opcode::FlashBegin => Command::FlashBegin(begin(req)?),
            Opcode::FlashDeflBegin => Command::FlashDeflBegin(begin(req)?),
            Opcode::FlashData => Command::FlashData(block(req)?),
            Opcode::FlashDeflData => Command::FlashDeflData(block(req)?),
            Opcode::MemData => Command::MemData(block(req)?),
            Opcode::FlashEnd => Command::FlashEnd {
                // esptool always sends the flag; a missing one means "reboot"
                run_user_code: optional_word(d, 0).is_some_and(|f| f != 0),
            },
            Opcode::FlashDeflEnd => Command::FlashDeflEnd {
                run_user_code: optional_word(d, 0).is_some_and(|f| f != 0),
            },
            Opcode::MemBegin => {
                let [size, blocks, block_size, offset] = words::<4>(op, d)?;
                Command::MemBegin {
                    size,
                    blocks,
                    block_size,
                    offset,
                }
            }
            Opcode::MemEnd => {
                let [flag, entry] = words::<2>(op, d)?;
                Command::MemEnd {
                    stay: flag != 0,
                    entry,
                }
            }
            Opcode::Sync => Command::Sync,
            Opcode::WriteReg => {
                if d.is_empty() || !d.len().is_multiple_of(16) {
                    return Err(CommandError::RegEntries(d.len()));
                }
                let mut entries = Vec::with_capacity(d.len() / 16);
                for chunk in d.chunks_exact(16) {
                    let [address, value, mask, delay_us] = words::<4>(op, chunk)?;
                    entries.push(RegWrite {
                        address,
                        value,
                        mask,
                        delay_us,
                    });
                }
                Command::WriteReg(entries)
            }
            Opcode::ReadReg => {
                let [address] = words::<1>(op, d)?;
                Command::ReadReg { address }
            }
            Opcode::SpiSetParams => {
                let [id, total_size, block_size, sector_size, page_size, status_mask] =
                    words::<6>(op, d)?;
                Command::SpiSetParams {
                    id,
                    total_size,
                    block_size,
                    sector_size,
                    page_size,
                    status_mask,
                }
            }
            Opcode::SpiAttach => Command::SpiAttach {
                config: optional_word(d, 0).unwrap_or(0),
            },
            Opcode::ReadFlashSlow => {
                let [offset, len] = words::<2>(op, d)?;
                Command::ReadFlashSlow { offset, len }
            }
            Opcode::ChangeBaudrate => {
                let [new, old] = words::<2>(op, d)?;
                Command::ChangeBaudrate { new, old }
            }
            Opcode::SpiFlashMd5 => {
                let [offset, size] = words::<2>(op, d)?;
                Command::SpiFlashMd5 { offset, size }
            }
            Opcode::GetSecurityInfo => Command::GetSecurityInfo,
            Opcode::EraseFlash => Command::EraseFlash,
            Opcode::EraseRegion => {
                let [offset, size] = words::<2>(op, d)?;
                Command::EraseRegion { offset, size }
            }
            Opcode::ReadFlash => {
                let [offset, len, packet_size, max_inflight] = words::<4>(op, d)?;
                Command::ReadFlash {
                    offset,
                    len,
                    packet_size,
                    max_inflight,
                }
            }
            Opcode::RunUserCode => Command::RunUserCode,
            Opcode::Other(_) => Command::Unsupported(op),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn opcodes_round_trip() {
        for b in 0..=255u8 {
            assert_eq!(Opcode::from_byte(b).byte(), b);
        }
        assert_eq!(Opcode::from_byte(0x08), Opcode::Sync);
    }

    #[test]
    fn checksum_is_the_rom_xor() {
        assert_eq!(checksum(&[]), 0xEF);
        assert_eq!(checksum(&[0xEF]), 0);
        assert_eq!(checksum(&[1, 2, 4]), 0xEF ^ 7);
    }

    #[test]
    fn sync_request_is_the_measured_frame() {
        // serial.md §9: `00 08 2400 00000000 07071220 55×32`
        let mut data = vec![0x07, 0x07, 0x12, 0x20];
        data.extend([0x55; 32]);
        let bytes = Request::new(Opcode::Sync, data, 0).to_bytes();
        assert_eq!(&bytes[..8], &[0, 8, 0x24, 0, 0, 0, 0, 0]);
        let req = Request::parse(&bytes).unwrap();
        assert_eq!(Command::parse(&req), Ok(Command::Sync));
    }

    #[test]
    fn flash_data_checks_length_and_checksum() {
        let req = Request::block(Opcode::FlashData, 3, &[1, 2, 3]);
        let Command::FlashData(b) = Command::parse(&req).unwrap() else {
            panic!()
        };
        assert_eq!(
            (b.seq, b.checksum_ok, &b.data[..]),
            (3, true, &[1u8, 2, 3][..])
        );
        let mut bad = req.clone();
        bad.checksum ^= 1;
        let Command::FlashData(b) = Command::parse(&bad).unwrap() else {
            panic!()
        };
        assert!(!b.checksum_ok);
        let mut short = req;
        short.data.pop();
        assert!(matches!(
            Command::parse(&short),
            Err(CommandError::BlockLength { .. })
        ));
    }

    #[test]
    fn flash_begin_has_an_optional_encrypted_word() {
        let rom32 = Request::words(Opcode::FlashBegin, &[0x1000, 1, 0x400, 0x20000]);
        let c3 = Request::words(Opcode::FlashBegin, &[0x1000, 1, 0x400, 0x20000, 1]);
        assert!(matches!(
            Command::parse(&rom32),
            Ok(Command::FlashBegin(FlashBegin {
                encrypted: None,
                ..
            }))
        ));
        assert!(matches!(
            Command::parse(&c3),
            Ok(Command::FlashBegin(FlashBegin {
                encrypted: Some(1),
                ..
            }))
        ));
    }

    #[test]
    fn write_reg_entries_apply_the_mask() {
        let w = RegWrite {
            address: 0,
            value: 0xAB,
            mask: 0xF0,
            delay_us: 0,
        };
        assert_eq!(w.apply(0x1234_5678), 0x1234_56A8);
        let req = Request::words(Opcode::WriteReg, &[1, 2, 3]);
        assert_eq!(Command::parse(&req), Err(CommandError::RegEntries(12)));
    }
}
