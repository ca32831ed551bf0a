//! Requests: `00 op len16 checksum32 data` (all little-endian), the
//! opcodes of the ROM and the flasher stub, and the typed [`Command`]s a
//! device acts on (serial.md §2.3; `et:loader.py:300-350`).

use alloc::vec::Vec;
use core::fmt;

mod opcode;
mod request;

pub use opcode::Opcode;
pub use request::{
    checksum, Request, RequestError, CHECKSUM_SEED, DIRECTION_REQUEST, DIRECTION_RESPONSE,
    HEADER_LEN,
};

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
mod tests;
