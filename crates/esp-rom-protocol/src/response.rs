//! Responses: `01 op len16 value32 data status`, with the ROM's 4 status
//! bytes (`status err 00 00`) or the stub's 2 (a big-endian response code)
//! (serial.md §2.1, §2.3; codes from `et:util.py:183-219`).

use alloc::vec::Vec;
use core::fmt;

use crate::command::{Opcode, DIRECTION_RESPONSE, HEADER_LEN};

/// Which loader answers: the ROM (4 status bytes) or the flasher stub (2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFormat {
    /// The ROM's `status err 00 00`.
    Rom,
    /// The stub's big-endian 16-bit code.
    Stub,
}

impl StatusFormat {
    /// Number of status bytes.
    pub fn len(self) -> usize {
        match self {
            StatusFormat::Rom => 4,
            StatusFormat::Stub => 2,
        }
    }

    /// Never empty; for clippy's `len` convention.
    pub fn is_empty(self) -> bool {
        false
    }
}

/// Why a loader refused a command, in loader-neutral terms; each maps to
/// the ROM's and the stub's code ([`Failure::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The request is malformed, unknown or not allowed (ROM 0x105, stub
    /// 0xC300 "Invalid command").
    InvalidMessage,
    /// The command is valid but failed (ROM 0x106, stub 0xC400).
    Failed,
    /// A data block's checksum does not match (ROM 0x107, stub 0xC100).
    Checksum,
    /// Writing the flash failed (ROM 0x108, stub 0xC400).
    FlashWrite,
    /// Reading the flash failed (ROM 0x109, stub 0xC400).
    FlashRead,
    /// A read length is out of range (ROM 0x10A, stub 0xC000).
    ReadLength,
    /// The compressed stream is broken (ROM 0x10B, stub 0xC700).
    Inflate,
    /// A data block arrived without a write in progress (ROM 0x106, stub
    /// 0xC600 "Not in flash mode").
    NotInFlashMode,
    /// More data than announced (ROM 0x106, stub 0xC900).
    TooMuchData,
    /// A block size the loader cannot take (ROM 0x101, stub 0xC200).
    BadBlockSize,
    /// The loader does not implement the command (ROM 0x105, stub 0xFF00).
    NotImplemented,
}

impl Failure {
    /// The 16-bit code as esptool reads the two status bytes (`>H`).
    pub fn code(self, format: StatusFormat) -> u16 {
        use Failure::*;
        match format {
            StatusFormat::Rom => match self {
                InvalidMessage | NotImplemented => 0x0105,
                Failed | NotInFlashMode | TooMuchData => 0x0106,
                Checksum => 0x0107,
                FlashWrite => 0x0108,
                FlashRead => 0x0109,
                ReadLength => 0x010A,
                Inflate => 0x010B,
                BadBlockSize => 0x0101,
            },
            StatusFormat::Stub => match self {
                InvalidMessage => 0xC300,
                Failed | FlashWrite | FlashRead => 0xC400,
                Checksum => 0xC100,
                ReadLength => 0xC000,
                Inflate => 0xC700,
                NotInFlashMode => 0xC600,
                TooMuchData => 0xC900,
                BadBlockSize => 0xC200,
                NotImplemented => 0xFF00,
            },
        }
    }
}

/// A response's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success.
    Ok,
    /// A failure code (first status byte non-zero), as esptool reads it.
    Error(u16),
}

impl Status {
    /// The status of `failure` in `format`.
    pub fn failure(failure: Failure, format: StatusFormat) -> Status {
        Status::Error(failure.code(format))
    }

    /// esptool's text for a code (`FatalError.WithResult`).
    pub fn describe(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Error(code) => match code {
                0x0101 => "The input parameter is invalid",
                0x0105 => "The format of the received message is invalid",
                0x0106 => "Message is ok, but the running result is wrong",
                0x0107 => "Checksum error",
                0x0108 => "Flash write error",
                0x0109 => "Flash read error",
                0x010A => "Flash read length error",
                0x010B => "Deflate failed error",
                0xC000 => "Bad data length",
                0xC100 => "Bad data checksum",
                0xC200 => "Bad blocksize",
                0xC300 => "Invalid command",
                0xC400 => "Failed SPI operation",
                0xC600 => "Not in flash mode",
                0xC700 => "Inflate error",
                0xC800 => "Not enough data",
                0xC900 => "Too much data",
                0xFF00 => "Command not implemented",
                _ => "Unknown result",
            },
        }
    }
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The opcode answered.
    pub op: Opcode,
    /// The value field (READ_REG's register, SYNC's magic).
    pub value: u32,
    /// Data before the status bytes (MD5, security info, flash bytes).
    pub data: Vec<u8>,
    /// The status.
    pub status: Status,
}

/// Why bytes are not a response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseError {
    /// Shorter than the header plus two status bytes after the data.
    Short(usize),
    /// The direction byte is not 1.
    NotAResponse(u8),
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Short(n) => write!(f, "response of {n} bytes is too short"),
            ResponseError::NotAResponse(b) => {
                write!(f, "direction byte {b:#04x} is not a response")
            }
        }
    }
}

impl core::error::Error for ResponseError {}

impl Response {
    /// A success with `value` and no data.
    pub fn ok(op: Opcode, value: u32) -> Self {
        Response {
            op,
            value,
            data: Vec::new(),
            status: Status::Ok,
        }
    }

    /// A success carrying `data`.
    pub fn with_data(op: Opcode, data: Vec<u8>) -> Self {
        Response {
            op,
            value: 0,
            data,
            status: Status::Ok,
        }
    }

    /// A failure.
    pub fn failure(op: Opcode, failure: Failure, format: StatusFormat) -> Self {
        Response {
            op,
            value: 0,
            data: Vec::new(),
            status: Status::failure(failure, format),
        }
    }

    /// The packet bytes (to be SLIP-encoded) with `format`'s status bytes.
    pub fn to_bytes(&self, format: StatusFormat) -> Vec<u8> {
        let body_len = self.data.len() + format.len();
        let mut out = Vec::with_capacity(HEADER_LEN + body_len);
        out.push(DIRECTION_RESPONSE);
        out.push(self.op.byte());
        out.extend_from_slice(&(body_len as u16).to_le_bytes());
        out.extend_from_slice(&self.value.to_le_bytes());
        out.extend_from_slice(&self.data);
        let code = match self.status {
            Status::Ok => 0,
            Status::Error(code) => code,
        };
        out.extend_from_slice(&code.to_be_bytes());
        if format == StatusFormat::Rom {
            out.extend_from_slice(&[0, 0]);
        }
        out
    }

    /// Parses a decoded frame as esptool's `check_command` does: the status
    /// is the two bytes after `data_len` data bytes (trailing bytes, the
    /// ROM's reserved pair, are ignored).
    pub fn parse(frame: &[u8], data_len: usize) -> Result<Response, ResponseError> {
        let Some((header, body)) = frame.split_first_chunk::<HEADER_LEN>() else {
            return Err(ResponseError::Short(frame.len()));
        };
        if header[0] != DIRECTION_RESPONSE {
            return Err(ResponseError::NotAResponse(header[0]));
        }
        let value = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let (data, status) = match body.get(data_len..data_len + 2) {
            Some(s) => (&body[..data_len], s),
            // too short for the data: the first two bytes are the status
            None => match body.get(..2) {
                Some(s) if s[0] != 0 => (&body[..0], s),
                _ => return Err(ResponseError::Short(frame.len())),
            },
        };
        let status = if status[0] == 0 {
            Status::Ok
        } else {
            Status::Error(u16::from_be_bytes([status[0], status[1]]))
        };
        Ok(Response {
            op: Opcode::from_byte(header[1]),
            value,
            data: data.to_vec(),
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn rom_and_stub_status_bytes() {
        let ok = Response::ok(Opcode::ReadReg, 7);
        assert_eq!(ok.to_bytes(StatusFormat::Rom).len(), 12);
        assert_eq!(ok.to_bytes(StatusFormat::Stub).len(), 10);
        let bad = Response::failure(Opcode::FlashData, Failure::Checksum, StatusFormat::Rom);
        assert_eq!(&bad.to_bytes(StatusFormat::Rom)[8..], &[1, 7, 0, 0]);
        let bad = Response::failure(Opcode::FlashData, Failure::Checksum, StatusFormat::Stub);
        assert_eq!(&bad.to_bytes(StatusFormat::Stub)[8..], &[0xC1, 0]);
        assert_eq!(bad.status.describe(), "Bad data checksum");
    }

    #[test]
    fn parse_reads_status_after_the_data() {
        let r = Response::with_data(Opcode::SpiFlashMd5, vec![0xAA; 16]);
        let back = Response::parse(&r.to_bytes(StatusFormat::Stub), 16).unwrap();
        assert_eq!(back, r);
        let err = Response::failure(
            Opcode::GetSecurityInfo,
            Failure::InvalidMessage,
            StatusFormat::Rom,
        );
        let back = Response::parse(&err.to_bytes(StatusFormat::Rom), 20).unwrap();
        assert_eq!(back.status, Status::Error(0x0105));
    }
}
