//! Error types and the SMP management error codes.

/// Errors decoding or encoding SMP messages and their CBOR bodies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// Fewer than the 8 header bytes.
    #[error("SMP message of {len} bytes is shorter than its 8-byte header")]
    ShortHeader {
        /// Bytes available.
        len: usize,
    },
    /// A body longer than the 16-bit length field allows.
    #[error("SMP body of {len} bytes does not fit the 16-bit length field")]
    BodyTooLong {
        /// Body length.
        len: usize,
    },
    /// The CBOR body is malformed or has an unexpected type.
    #[error("CBOR body: {0}")]
    Cbor(#[from] minicbor::decode::Error),
    /// The body is not a CBOR map.
    #[error("CBOR body is not a map")]
    NotAMap,
    /// A map key that is not a text string.
    #[error("CBOR map key is not a text string")]
    KeyNotText,
    /// A key that appears twice.
    #[error("CBOR map key {key:?} appears twice")]
    DuplicateKey {
        /// The key.
        key: &'static str,
    },
    /// A required key is missing.
    #[error("CBOR map lacks the required key {key:?}")]
    MissingKey {
        /// The key.
        key: &'static str,
    },
    /// A key a strict model does not allow.
    #[error("CBOR map has a key the reply may not carry")]
    UnexpectedKey,
    /// A number does not fit the field.
    #[error("CBOR value of {key:?} is out of range")]
    OutOfRange {
        /// The key.
        key: &'static str,
    },
    /// The response belongs to another request.
    #[error("response sequence {got} does not match the request's {expected}")]
    SequenceMismatch {
        /// Sequence number of the request.
        expected: u8,
        /// Sequence number received.
        got: u8,
    },
    /// The response is for another group or command.
    #[error("response is for group {group} command {id}, expected group {expected_group} command {expected_id}")]
    WrongCommand {
        /// Group received.
        group: u16,
        /// Command id received.
        id: u8,
        /// Group expected.
        expected_group: u16,
        /// Command id expected.
        expected_id: u8,
    },
    /// A header whose operation is not a response.
    #[error("SMP message with op {op} is not a response")]
    NotAResponse {
        /// The op bits.
        op: u8,
    },
}

/// Errors of the console framing (`frame` module).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A line filled the receive buffer without a newline; it is dropped.
    #[error("a line filled the {max}-byte receive buffer without a newline")]
    LineTooLong {
        /// The line buffer size.
        max: usize,
    },
    /// The base64 text of a line is invalid.
    #[error("invalid base64 in a frame line")]
    Base64,
    /// The decoded frame grew beyond the receive buffer.
    #[error("decoded frame longer than {max} bytes")]
    FrameTooLong {
        /// The buffer size.
        max: usize,
    },
    /// More bytes were decoded than the frame's length prefix announces.
    #[error("frame holds {got} bytes after its length prefix, which announces {expected}")]
    LengthMismatch {
        /// Announced length.
        expected: usize,
        /// Decoded length.
        got: usize,
    },
    /// The CRC-16/XMODEM residue is not zero.
    #[error("frame CRC mismatch")]
    Crc,
    /// The announced length cannot hold a CRC.
    #[error("frame length {len} is too short")]
    TooShort {
        /// Announced length.
        len: usize,
    },
    /// A continuation line arrived while no frame was being received.
    #[error("continuation line without a start line")]
    StrayContinuation,
    /// A message too long for the 16-bit frame length.
    #[error("SMP message of {len} bytes is too long for a console frame")]
    MessageTooLong {
        /// Message length.
        len: usize,
    },
    /// A line length that cannot carry base64 in multiples of 4 characters.
    #[error("{chars} base64 characters per line: expected a multiple of 4, at least 4")]
    BadLineChars {
        /// The requested count.
        chars: usize,
    },
}

/// `MGMT_ERR_*` codes (`smp/error.py` `MGMT_ERR`; `boot_serial_priv.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MgmtErr {
    /// 0: no error.
    Ok,
    /// 1: unknown error.
    Unknown,
    /// 2: out of memory.
    NoMem,
    /// 3: invalid input.
    Inval,
    /// 4: timeout.
    Timeout,
    /// 5: no such entry.
    NoEnt,
    /// 6: bad state.
    BadState,
    /// 7: response too large.
    MsgSize,
    /// 8: command not supported.
    NotSup,
    /// 9: corrupt.
    Corrupt,
    /// 10: busy.
    Busy,
    /// 11: access denied.
    AccessDenied,
}

impl MgmtErr {
    const TABLE: [(MgmtErr, i32, &'static str); 12] = [
        (MgmtErr::Ok, 0, "EOK"),
        (MgmtErr::Unknown, 1, "EUNKNOWN"),
        (MgmtErr::NoMem, 2, "ENOMEM"),
        (MgmtErr::Inval, 3, "EINVAL"),
        (MgmtErr::Timeout, 4, "ETIMEOUT"),
        (MgmtErr::NoEnt, 5, "ENOENT"),
        (MgmtErr::BadState, 6, "EBADSTATE"),
        (MgmtErr::MsgSize, 7, "EMSGSIZE"),
        (MgmtErr::NotSup, 8, "ENOTSUP"),
        (MgmtErr::Corrupt, 9, "ECORRUPT"),
        (MgmtErr::Busy, 10, "EBUSY"),
        (MgmtErr::AccessDenied, 11, "EACCESSDENIED"),
    ];

    /// The numeric code.
    pub fn code(self) -> i32 {
        Self::TABLE
            .iter()
            .find(|(e, _, _)| *e == self)
            .map_or(1, |(_, c, _)| *c)
    }

    /// The error of a numeric code, if it is one of the general codes.
    pub fn from_code(code: i64) -> Option<Self> {
        Self::TABLE
            .iter()
            .find(|(_, c, _)| i64::from(*c) == code)
            .map(|(e, _, _)| *e)
    }

    /// The name as smp and mcumgr print it (`ENOTSUP`, ...).
    pub fn name(self) -> &'static str {
        Self::TABLE
            .iter()
            .find(|(e, _, _)| *e == self)
            .map_or("EUNKNOWN", |(_, _, n)| n)
    }
}

impl std::fmt::Display for MgmtErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}
