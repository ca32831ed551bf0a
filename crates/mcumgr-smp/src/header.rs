//! The 8-byte SMP header (`struct nmgr_hdr`, `boot/boot_serial/src/boot_serial_priv.h`;
//! `smp/header.py` of the Python `smp` package).
//!
//! ```text
//! byte 0   op:3 (bits 0-2) | version:2 (bits 3-4) | reserved:3 (bits 5-7)
//! byte 1   flags
//! 2..4     be16 length of the CBOR body
//! 4..6     be16 group
//! 6        sequence number
//! 7        command id
//! ```

// Wire codec: every narrowing conversion is checked (try_from with a
// typed error), never a silent `as` truncation (issue 10, Guards).
#![warn(clippy::cast_possible_truncation)]

use crate::error::CodecError;

/// Size of the header on the wire.
pub const HEADER_LEN: usize = 8;

/// The operation of a message (`NMGR_OP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// 0: read request.
    Read,
    /// 1: response to a read.
    ReadResponse,
    /// 2: write request.
    Write,
    /// 3: response to a write.
    WriteResponse,
}

impl Op {
    /// The 3-bit value on the wire.
    pub fn bits(self) -> u8 {
        match self {
            Op::Read => 0,
            Op::ReadResponse => 1,
            Op::Write => 2,
            Op::WriteResponse => 3,
        }
    }

    /// The operation of a 3-bit value; `None` for the unassigned values 4-7.
    pub fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            0 => Some(Op::Read),
            1 => Some(Op::ReadResponse),
            2 => Some(Op::Write),
            3 => Some(Op::WriteResponse),
            _ => None,
        }
    }

    /// The response operation to this request operation.
    pub fn response(self) -> Self {
        match self {
            Op::Read | Op::ReadResponse => Op::ReadResponse,
            Op::Write | Op::WriteResponse => Op::WriteResponse,
        }
    }
}

/// SMP protocol version carried in bits 3-4 of byte 0.
pub mod version {
    /// SMP version 1: what MCUboot and Go mcumgr speak (`nm:nmxact/nmp/nmp.go`).
    pub const V1: u8 = 0;
    /// SMP version 2: what smpclient sends by default (`smp/message.py`).
    pub const V2: u8 = 1;
}

/// Management groups (`MGMT_GROUP_ID_*`).
pub mod group {
    /// OS management (`MGMT_GROUP_ID_DEFAULT`).
    pub const OS: u16 = 0;
    /// Image management (`MGMT_GROUP_ID_IMAGE`).
    pub const IMAGE: u16 = 1;
    /// First per-user group (`MGMT_GROUP_ID_PERUSER`).
    pub const PERUSER: u16 = 64;
}

/// Command ids of the OS group (`NMGR_ID_*`, `boot_serial_priv.h`).
pub mod os_id {
    /// Echo.
    pub const ECHO: u8 = 0;
    /// Console echo control.
    pub const CONS_ECHO_CTRL: u8 = 1;
    /// Reset.
    pub const RESET: u8 = 5;
    /// MCUmgr parameters (buffer size and count).
    pub const MCUMGR_PARAMS: u8 = 6;
}

/// Command ids of the image group (`IMGMGR_NMGR_ID_*`, `boot_serial_priv.h`).
pub mod image_id {
    /// Image list (read) and state set (write).
    pub const STATE: u8 = 0;
    /// Upload.
    pub const UPLOAD: u8 = 1;
    /// Erase.
    pub const ERASE: u8 = 5;
    /// Slot info.
    pub const SLOT_INFO: u8 = 6;
}

/// An SMP header. Fields keep their raw wire values so a response can echo
/// a request bit for bit (MCUboot copies the request header and changes only
/// the op, the flags and the length, `boot_serial.c` `boot_serial_output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Operation bits (0-7; see [`Op::from_bits`]).
    pub op: u8,
    /// Protocol version bits (0-3; see [`version`]).
    pub version: u8,
    /// The three reserved bits of byte 0.
    pub reserved: u8,
    /// Flags byte.
    pub flags: u8,
    /// Length of the CBOR body.
    pub len: u16,
    /// Management group.
    pub group: u16,
    /// Sequence number.
    pub seq: u8,
    /// Command id within the group.
    pub id: u8,
}

impl Header {
    /// A request header with zero flags and reserved bits.
    pub fn request(op: Op, version: u8, group: u16, id: u8, seq: u8, len: u16) -> Self {
        Header {
            op: op.bits(),
            version: version & 0b11,
            reserved: 0,
            flags: 0,
            len,
            group,
            seq,
            id,
        }
    }

    /// The typed operation, `None` for the unassigned values 4-7.
    pub fn kind(&self) -> Option<Op> {
        Op::from_bits(self.op)
    }

    /// The header of the response to this request with a body of `len`
    /// bytes, as MCUboot builds it: `op + 1`, flags 0, everything else
    /// (version and reserved bits, group, sequence, id) unchanged.
    pub fn response(&self, len: u16) -> Self {
        Header {
            op: (self.op + 1) & 0b111,
            flags: 0,
            len,
            ..*self
        }
    }

    /// The 8 wire bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let g = self.group.to_be_bytes();
        let l = self.len.to_be_bytes();
        [
            (self.op & 0b111) | (self.version & 0b11) << 3 | (self.reserved & 0b111) << 5,
            self.flags,
            l[0],
            l[1],
            g[0],
            g[1],
            self.seq,
            self.id,
        ]
    }

    /// Decodes the first 8 bytes of `bytes`.
    ///
    /// # Errors
    /// [`CodecError::ShortHeader`] when fewer than 8 bytes are given.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let b: &[u8; HEADER_LEN] = bytes
            .get(..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(CodecError::ShortHeader { len: bytes.len() })?;
        Ok(Header {
            op: b[0] & 0b111,
            version: (b[0] >> 3) & 0b11,
            reserved: b[0] >> 5,
            flags: b[1],
            len: u16::from_be_bytes([b[2], b[3]]),
            group: u16::from_be_bytes([b[4], b[5]]),
            seq: b[6],
            id: b[7],
        })
    }
}

/// An SMP message: header and CBOR body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The header (its `len` is the body length on the wire).
    pub header: Header,
    /// The CBOR body.
    pub body: Vec<u8>,
}

impl Packet {
    /// Header plus body; the header's length field is set from the body.
    ///
    /// # Errors
    /// [`CodecError::BodyTooLong`] when the body does not fit the 16-bit
    /// length field.
    pub fn new(header: Header, body: Vec<u8>) -> Result<Self, CodecError> {
        let len =
            u16::try_from(body.len()).map_err(|_| CodecError::BodyTooLong { len: body.len() })?;
        Ok(Packet {
            header: Header { len, ..header },
            body,
        })
    }

    /// Header bytes followed by the body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.body.len());
        out.extend_from_slice(&self.header.encode());
        out.extend_from_slice(&self.body);
        out
    }

    /// Splits a message into header and body. The body is everything after
    /// the header; the header's length field is not checked against it
    /// (servers and clients differ in what they accept).
    ///
    /// # Errors
    /// [`CodecError::ShortHeader`].
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let header = Header::decode(bytes)?;
        Ok(Packet {
            header,
            body: bytes[HEADER_LEN..].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_keeps_reserved_bits() {
        let raw = [0b1010_1010, 7, 0x01, 0x02, 0x00, 0x01, 0x9a, 0x01];
        let h = Header::decode(&raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((h.op, h.version, h.reserved), (2, 1, 5));
        assert_eq!((h.len, h.group, h.seq, h.id), (0x0102, 1, 0x9a, 1));
        assert_eq!(h.encode(), raw);
        let r = h.response(5);
        assert_eq!(r.encode(), [0b1010_1011, 0, 0, 5, 0, 1, 0x9a, 1]);
        assert_eq!(r.kind(), Some(Op::WriteResponse));
    }

    #[test]
    fn short_header_is_an_error() {
        assert!(matches!(
            Header::decode(&[0; 7]),
            Err(CodecError::ShortHeader { len: 7 })
        ));
    }
}
