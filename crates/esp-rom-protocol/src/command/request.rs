//! The request frame: `00 op len16 checksum32 data`, all little-endian
//! (serial.md §2.3), and the data checksum of FLASH_DATA/MEM_DATA.

use alloc::vec::Vec;
use core::fmt;

use super::Opcode;

/// Seed of the data checksum (`ESP_CHECKSUM_MAGIC`, `et:loader.py:376`).
pub const CHECKSUM_SEED: u8 = 0xEF;

/// The XOR checksum of FLASH_DATA/MEM_DATA payloads, as the ROM checks it
/// (`ESPLoader.checksum`).
pub fn checksum(data: &[u8]) -> u32 {
    u32::from(data.iter().fold(CHECKSUM_SEED, |acc, b| acc ^ b))
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
