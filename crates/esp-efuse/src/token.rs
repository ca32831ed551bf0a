//! espefuse's eFuse token (`espefuse/efuse/token.py` EfsToken): one line of
//! text that carries a chip's eFuse blocks,
//! `MAGIC:chip:version:block0:block1:…:cerr:crc`.
//!
//! - MAGIC is `EFSR` (read registers), `EFSW` (write registers, what a burn
//!   is about to program) or `EFSRW`;
//! - `version` is the chip revision (major * 100 + minor, three digits),
//!   which espefuse takes from the chip (or its emulator) when it builds a
//!   token, and writes into the revision fields when it loads one;
//! - each block is its bytes in memory order, unpadded base64url, an
//!   all-zero block an empty piece; `cerr` the coding-error registers
//!   (little-endian words, empty when all are zero);
//! - `crc` is the CRC-32 of everything before it (trailing colon included),
//!   four little-endian bytes in base64url.
//!
//! Decoding checks what espefuse checks, in its order, with its messages
//! ([`TokenError`]). The text is untrusted: every step is bounded by its
//! length and nothing panics.

use crate::tables::{Chip, ChipEfuses as _};
use py_base64::{Alphabet, DecodeError};

/// Which registers a token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `EFSR`: the read registers (`dump --format token`).
    Read,
    /// `EFSW`: the write registers (`--show-token` before a burn).
    Write,
    /// `EFSRW`: accepted on input; espefuse builds it from the write
    /// registers.
    ReadWrite,
}

impl TokenKind {
    /// The magic word.
    pub fn magic(self) -> &'static str {
        match self {
            TokenKind::Read => "EFSR",
            TokenKind::Write => "EFSW",
            TokenKind::ReadWrite => "EFSRW",
        }
    }

    fn from_magic(magic: &str) -> Option<TokenKind> {
        [TokenKind::Read, TokenKind::Write, TokenKind::ReadWrite]
            .into_iter()
            .find(|k| k.magic() == magic)
    }
}

/// Why a token was refused. The messages are espefuse's: a
/// [`TokenError::is_fatal`] one is its `A fatal error occurred: …`, the
/// others end espefuse with a Python exception (the last line of its
/// traceback).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Fewer than six colon-separated fields.
    #[error("Invalid efuse token: expected 6 colon-separated fields ({0})")]
    Fields(String),
    /// An unknown magic word.
    #[error("Bad magic '{0}', expected one of ('EFSR', 'EFSW', 'EFSRW')")]
    BadMagic(String),
    /// The CRC field is not six characters.
    #[error("CRC field must be exactly 6 characters, got {len}: '{crc}'. Please ensure you copied the entire efuse token dump string.", len = .0.chars().count(), crc = .0)]
    CrcLength(String),
    /// A chip name espefuse does not know.
    #[error("get_esp: Unsupported chip ({0})")]
    UnknownChip(String),
    /// A chip espefuse knows that espboot has no tables for.
    #[error("eFuse token of chip '{0}': espboot supports esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6 and esp32h2")]
    ChipNotInEspboot(String),
    /// Not the chip's number of blocks.
    #[error("Compressed blocks count {got} doesn't match expected {expected}")]
    BlockCount {
        /// Pieces in the token.
        got: usize,
        /// Blocks of the chip.
        expected: usize,
    },
    /// A block piece is no base64.
    #[error("Failed to decode block {block}: {reason}")]
    BlockDecode {
        /// espefuse's block definition, as Python prints it.
        block: String,
        /// The decoder's complaint.
        reason: DecodeError,
    },
    /// A block piece of the wrong length.
    #[error("Decoded block {block} length {got} != expected {expected}")]
    BlockLength {
        /// espefuse's block definition, as Python prints it.
        block: String,
        /// Decoded bytes.
        got: usize,
        /// The block's bytes.
        expected: usize,
    },
    /// The CRC field decodes to fewer than four bytes.
    #[error("CRC field must decode to >=4 bytes")]
    CrcShort,
    /// The CRC does not match.
    #[error("CRC mismatch: token=0x{token:08x}, computed=0x{computed:08x}, b64_crc={b64}")]
    CrcMismatch {
        /// The CRC in the token.
        token: u32,
        /// The CRC of the text.
        computed: u32,
        /// The computed CRC as the token would spell it.
        b64: String,
    },
    /// The cerr or CRC field is no base64 (a Python exception in espefuse).
    #[error("{}: {}", .0.exception(), .0)]
    Base64(DecodeError),
    /// Non-ASCII text where espefuse computes the CRC (a Python exception).
    #[error("UnicodeEncodeError: 'ascii' codec can't encode {0}: ordinal not in range(128)")]
    NotAscii(String),
    /// The version is no integer (a Python exception).
    #[error("ValueError: invalid literal for int() with base 10: {0}")]
    Version(String),
}

impl TokenError {
    /// espefuse reports it as a fatal error (exit 2); the others are
    /// Python exceptions (a traceback, exit 1).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            TokenError::Base64(_) | TokenError::NotAscii(_) | TokenError::Version(_)
        )
    }
}

/// The chips espefuse 5.6.0 knows (`efuse_interface.py` SUPPORTED_CHIPS).
const ESPEFUSE_CHIPS: &[&str] = &[
    "linux", "esp32", "esp32c2", "esp32c3", "esp32c6", "esp32c61", "esp32c5", "esp32e22",
    "esp32h2", "esp32h21", "esp32h4", "esp32p4", "esp32s2", "esp32s3", "esp32s31",
];

/// The fields of a token that passed espefuse's format check
/// (`verify_format`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenParts<'a> {
    /// The magic word.
    pub kind: TokenKind,
    /// The chip name as written.
    pub chip: &'a str,
    version: &'a str,
    blocks: String,
    cerr: &'a str,
    crc: &'a str,
}

/// espefuse's format check: at least six fields, a known magic word, a
/// six-character CRC.
pub fn verify_format(token: &str) -> Result<TokenParts<'_>, TokenError> {
    let parts: Vec<&str> = py_strip(token).split(':').collect();
    if parts.len() < 6 {
        return Err(TokenError::Fields(token.to_string()));
    }
    let n = parts.len();
    let (magic, chip, version) = (parts[0], parts[1], parts[2]);
    let (cerr, crc) = (parts[n - 2], parts[n - 1]);
    let blocks = parts[3..n - 2].join(":");
    let kind = TokenKind::from_magic(magic).ok_or_else(|| TokenError::BadMagic(magic.into()))?;
    if crc.chars().count() != 6 {
        return Err(TokenError::CrcLength(crc.to_string()));
    }
    Ok(TokenParts {
        kind,
        chip,
        version,
        blocks,
        cerr,
        crc,
    })
}

impl TokenParts<'_> {
    /// The chip named (espefuse's `get_esp` check, then espboot's).
    pub fn chip(&self) -> Result<Chip, TokenError> {
        if !ESPEFUSE_CHIPS.contains(&self.chip) {
            return Err(TokenError::UnknownChip(self.chip.to_string()));
        }
        self.chip
            .parse::<Chip>()
            .map_err(|_| TokenError::ChipNotInEspboot(self.chip.to_string()))
    }
}

/// A decoded token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Its magic word.
    pub kind: TokenKind,
    /// The chip.
    pub chip: Chip,
    /// The chip revision written in it.
    pub version: TokenVersion,
    /// Each block's bytes in memory order.
    pub blocks: Vec<zeroize::Zeroizing<Vec<u8>>>,
    /// The coding-error registers' bytes (possibly short or empty).
    pub cerr: Vec<u8>,
}

/// The chip revision of a token: a Python integer of any size. What
/// loading needs of it is its value modulo 400 (major modulo 4, minor)
/// and, for the ESP32's major, whether it is below 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenVersion {
    /// The value modulo 400 (Python's `%`, never negative).
    pub mod400: u16,
    /// The value when it is between 0 and 999 999.
    pub small: Option<u32>,
}

impl TokenVersion {
    /// `version // 100 & mask` (Python floor division, two's complement).
    pub fn major_bits(self, mask: u32) -> u32 {
        u32::from(self.mod400 / 100) & mask
    }

    /// `version % 100`.
    pub fn minor(self) -> u32 {
        u32::from(self.mod400 % 100)
    }

    /// `version // 100` when it is 0 or 1 (the ESP32 distinguishes those).
    pub fn major_small(self) -> Option<u32> {
        self.small.map(|v| v / 100).filter(|m| *m < 2)
    }
}

/// Decodes `token` for its chip, with espefuse's checks in espefuse's
/// order (`EfsToken.decode`).
pub fn decode(token: &str) -> Result<Token, TokenError> {
    let parts = verify_format(token)?;
    let chip = parts.chip()?;
    let table = chip.table();
    let pieces: Vec<&str> = parts.blocks.split(':').collect();
    if pieces.len() != table.blocks.len() {
        return Err(TokenError::BlockCount {
            got: pieces.len(),
            expected: table.blocks.len(),
        });
    }
    let mut blocks = Vec::with_capacity(pieces.len());
    for (def, piece) in table.blocks.iter().zip(&pieces) {
        let size = def.len_words * 4;
        if piece.is_empty() {
            blocks.push(zeroize::Zeroizing::new(vec![0; size]));
            continue;
        }
        let data = b64url_decode(piece).map_err(|reason| TokenError::BlockDecode {
            block: block_repr(chip, def),
            reason,
        })?;
        if data.len() != size {
            return Err(TokenError::BlockLength {
                block: block_repr(chip, def),
                got: data.len(),
                expected: size,
            });
        }
        blocks.push(zeroize::Zeroizing::new(data));
    }
    let cerr = b64url_decode(parts.cerr).map_err(TokenError::Base64)?;
    let crc = b64url_decode(parts.crc).map_err(TokenError::Base64)?;
    let Some(crc) = crc.get(..4) else {
        return Err(TokenError::CrcShort);
    };
    let token_crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let prefix = format!(
        "{}:{}:{}:{}:{}:",
        parts.kind.magic(),
        parts.chip,
        parts.version,
        parts.blocks,
        parts.cerr
    );
    if let Some(bad) = non_ascii(&prefix) {
        return Err(TokenError::NotAscii(bad));
    }
    let computed = crc32(prefix.as_bytes());
    if computed != token_crc {
        return Err(TokenError::CrcMismatch {
            token: token_crc,
            computed,
            b64: b64url_encode(&computed.to_le_bytes()),
        });
    }
    let version = parse_version(parts.version)
        .ok_or_else(|| TokenError::Version(py_repr::str(parts.version)))?;
    Ok(Token {
        kind: parts.kind,
        chip,
        version,
        blocks,
        cerr,
    })
}

/// Builds a token (`EfsToken.build`): `blocks` in memory order, one per
/// block of the chip; `cerr` the coding-error registers (left out when
/// absent or all zero).
pub fn encode<B: AsRef<[u8]>>(
    kind: TokenKind,
    chip: Chip,
    version: u32,
    blocks: &[B],
    cerr: Option<&[u32]>,
) -> String {
    let pieces: Vec<String> = blocks
        .iter()
        .map(|b| {
            let b = b.as_ref();
            if b.iter().all(|x| *x == 0) {
                String::new()
            } else {
                b64url_encode(b)
            }
        })
        .collect();
    let cerr = match cerr {
        Some(regs) if regs.iter().any(|r| *r != 0) => {
            let bytes: Vec<u8> = regs.iter().flat_map(|r| r.to_le_bytes()).collect();
            b64url_encode(&bytes)
        }
        _ => String::new(),
    };
    let prefix = format!(
        "{}:{}:{version:03}:{}:{cerr}:",
        kind.magic(),
        chip.name(),
        pieces.join(":")
    );
    let crc = crc32(prefix.as_bytes());
    format!("{prefix}{}", b64url_encode(&crc.to_le_bytes()))
}

/// The `EFSR` token of `efuses`' read registers and coding-error registers
/// (`dump --format token`, base_operations.py `dump`).
pub fn read_token(efuses: &crate::Efuses) -> String {
    let table = efuses.table();
    let blocks: Vec<Vec<u8>> = (0..table.blocks.len())
        .map(|b| efuses.block_bytes(b))
        .collect();
    let cerr: Vec<u32> = table
        .error_regs
        .iter()
        .map(|off| efuses.read_reg(*off))
        .collect();
    encode(
        TokenKind::Read,
        efuses.chip(),
        esptool_revision(efuses),
        &blocks,
        Some(&cerr),
    )
}

impl Token {
    /// The eFuses the token describes, as espefuse's emulator loads it
    /// (`emulate_efuse_controller_base.py` `load_from_token_dump`): a blank
    /// chip, its revision fields set from the token's version, then every
    /// block's words and the coding-error registers ORed into the read
    /// registers. Whatever the magic word, the blocks land in the read
    /// registers (espefuse loads an `EFSW` token the same way).
    pub fn efuses(&self) -> crate::Efuses {
        let mut efuses = crate::Efuses::new(self.chip);
        let table = self.chip.table();
        set_revision(&mut efuses, self.version);
        for (def, data) in table.blocks.iter().zip(&self.blocks) {
            for (i, word) in data.chunks(4).enumerate() {
                let mut w = [0u8; 4];
                w[..word.len()].copy_from_slice(word);
                efuses.or_reg(def.rd_offset + 4 * i, u32::from_le_bytes(w));
            }
        }
        // a short cerr leaves the later registers as they were
        // (`int.from_bytes` of an empty slice is 0)
        for (i, off) in table.error_regs.iter().enumerate() {
            let mut w = [0u8; 4];
            if let Some(bytes) = self.cerr.get(i * 4..) {
                let n = bytes.len().min(4);
                w[..n].copy_from_slice(&bytes[..n]);
            }
            efuses.or_reg(*off, u32::from_le_bytes(w));
        }
        efuses
    }
}

/// Writes the token's chip revision into the revision fields the way each
/// chip's emulator does (`efuse/<chip>/emulate_efuse_controller.py`
/// `set_major_chip_version` and `set_minor_chip_version`): (block, word,
/// value) ORed into the read registers.
fn set_revision(efuses: &mut crate::Efuses, version: TokenVersion) {
    let minor = version.minor();
    let mut writes: Vec<(usize, usize, u32)> = Vec::new();
    match efuses.chip() {
        Chip::Esp32 => {
            // major 0: no bit; 1: word 3 bit 15; anything else (2, 3, or a
            // version Python floors elsewhere) both bits
            match version.major_small() {
                Some(0) => {}
                Some(1) => writes.push((0, 3, 1 << 15)),
                _ => writes.extend([(0, 3, 1 << 15), (0, 5, 1 << 20)]),
            }
            writes.push((0, 5, (minor & 0x3) << 24));
        }
        Chip::Esp32s2 => {
            let m = minor & 0xF;
            writes.extend([
                (1, 3, version.major_bits(0x3) << 18),
                (1, 4, (m & 0x7) << 4),
                (1, 3, (m >> 3 & 1) << 21),
            ]);
        }
        Chip::Esp32s3 | Chip::Esp32c3 => {
            let m = minor & 0xF;
            writes.extend([
                (1, 5, version.major_bits(0x3) << 24),
                (1, 3, (m & 0x7) << 18),
                (1, 5, (m >> 3 & 1) << 23),
            ]);
        }
        Chip::Esp32c2 => writes.extend([
            (2, 1, version.major_bits(0x3) << 20),
            (2, 1, (minor & 0xF) << 16),
        ]),
        Chip::Esp32c6 => writes.extend([
            (1, 3, version.major_bits(0x3) << 22),
            (1, 3, (minor & 0xF) << 18),
        ]),
        Chip::Esp32h2 => writes.extend([
            (1, 3, version.major_bits(0x3) << 21),
            (1, 3, (minor & 0x7) << 18),
        ]),
    }
    let table = efuses.table();
    for (block, word, value) in writes {
        efuses.or_reg(table.blocks[block].rd_offset + 4 * word, value);
    }
}

/// The `EFSW` token of what the next burn programs (`--show-token`,
/// base_fields.py `burn_all`): [`crate::Efuses::pending_writes`] after the
/// plan, with the chip revision and no coding-error registers.
pub fn write_token(efuses: &crate::Efuses) -> String {
    encode(
        TokenKind::Write,
        efuses.chip(),
        esptool_revision(efuses),
        &efuses.pending_writes(),
        None,
    )
}

/// The chip revision espefuse writes into a token: `get_chip_revision`
/// (major * 100 + minor) of the chip object it talks to, which in virtual
/// mode is the chip's emulator (`efuse/<chip>/emulate_efuse_controller.py`
/// `get_major_chip_version`, `get_minor_chip_version`). These read the
/// revision bits where the emulator's loader writes them, which is not
/// always where espefuse's field table puts them (the ESP32-S2's
/// WAFER_VERSION_MINOR_HI: bit 20 in the table, bit 21 here); the ESP32's
/// emulator reads APB_CTL_DATE bit 31 as set, so only both revision bits
/// make a major version (3); the ESP32-S3 reads v0.0 for the eco0 block
/// layout (minor low bits 0 with block version 1.1).
fn esptool_revision(efuses: &crate::Efuses) -> u32 {
    let table = efuses.table();
    // word `n` of block `b`, bits `shift..shift + width`
    let bits = |b: usize, n: usize, shift: u32, mask: u32| {
        (efuses.read_reg(table.blocks[b].rd_offset + 4 * n) >> shift) & mask
    };
    let (major, minor) = match efuses.chip() {
        Chip::Esp32 => {
            let both = bits(0, 3, 15, 1) == 1 && bits(0, 5, 20, 1) == 1;
            (if both { 3 } else { 0 }, bits(0, 5, 24, 0x3))
        }
        Chip::Esp32s2 => (
            bits(1, 3, 18, 0x3),
            bits(1, 3, 21, 1) << 3 | bits(1, 4, 4, 0x7),
        ),
        Chip::Esp32s3 => {
            let minor = bits(1, 5, 23, 1) << 3 | bits(1, 3, 18, 0x7);
            let eco0 = minor & 0x7 == 0 && bits(2, 4, 0, 0x3) == 1 && bits(1, 3, 24, 0x7) == 1;
            if eco0 {
                (0, 0)
            } else {
                (bits(1, 5, 24, 0x3), minor)
            }
        }
        Chip::Esp32c2 => (bits(2, 1, 20, 0x3), bits(2, 1, 16, 0xF)),
        Chip::Esp32c3 => (
            bits(1, 5, 24, 0x3),
            bits(1, 5, 23, 1) << 3 | bits(1, 3, 18, 0x7),
        ),
        Chip::Esp32c6 => (bits(1, 3, 22, 0x3), bits(1, 3, 18, 0xF)),
        Chip::Esp32h2 => (bits(1, 3, 21, 0x3), bits(1, 3, 18, 0x7)),
    };
    major * 100 + minor
}

/// Python's `str.strip()` for the characters a token can hold.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Python's `int(text)` (base 10) reduced to what loading needs; `None`
/// where Python raises ValueError. Only ASCII reaches here (the CRC check
/// encodes the text as ASCII first).
fn parse_version(text: &str) -> Option<TokenVersion> {
    let t = py_strip(text);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let bytes = digits.as_bytes();
    if bytes.is_empty() || bytes[0] == b'_' || bytes[bytes.len() - 1] == b'_' {
        return None;
    }
    let mut rem: u32 = 0;
    let mut value: Option<u32> = Some(0);
    let mut last_underscore = false;
    for b in bytes {
        if *b == b'_' {
            if last_underscore {
                return None;
            }
            last_underscore = true;
            continue;
        }
        last_underscore = false;
        let d = u32::from(b.checked_sub(b'0').filter(|d| *d < 10)?);
        rem = (rem * 10 + d) % 400;
        value = value
            .and_then(|v| v.checked_mul(10))
            .and_then(|v| v.checked_add(d))
            .filter(|v| *v < 1_000_000);
    }
    let mod400 = if negative { (400 - rem) % 400 } else { rem };
    let small = if negative && value != Some(0) {
        None
    } else {
        value
    };
    Some(TokenVersion {
        mod400: u16::try_from(mod400).unwrap_or(0),
        small,
    })
}

/// The non-ASCII run Python's ascii codec reports first (its
/// UnicodeEncodeError text, without the ordinal note).
fn non_ascii(s: &str) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    let start = chars.iter().position(|c| !c.is_ascii())?;
    let end = chars[start..]
        .iter()
        .position(char::is_ascii)
        .map_or(chars.len(), |n| start + n);
    Some(if end - start == 1 {
        format!(
            "character '{}' in position {start}",
            py_repr::escaped(chars[start])
        )
    } else {
        format!("characters in position {start}-{}", end - 1)
    })
}

/// espefuse's block definition as Python prints the tuple
/// (`mem_definition.py` BLOCKS).
fn block_repr(chip: Chip, def: &crate::tables::BlockDef) -> String {
    let table = chip.table();
    let aliases: Vec<String> = def.aliases.iter().map(|a| format!("'{a}'")).collect();
    let opt = |v: Option<u8>| v.map_or("None".to_string(), |v| v.to_string());
    let rd_dis = match def.rd_dis {
        [] => "None".to_string(),
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let addr = |off: usize| u64::from(table.base_addr) + off as u64;
    format!(
        "('{}', [{}], {}, {}, {}, {}, {}, {}, {})",
        def.name,
        aliases.join(", "),
        def.id,
        addr(def.rd_offset),
        addr(def.wr_offset),
        opt(def.wr_dis),
        rd_dis,
        def.len_words,
        def.key_purpose
            .map_or("None".to_string(), |f| format!("'{}'", f.name()))
    )
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url.
pub fn b64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// espefuse's `_b64url_decode_unpadded`: `=` padding added up to a
/// multiple of four characters, then Python's lenient URL-safe decoder
/// (`base64.urlsafe_b64decode` of a `str`).
pub fn b64url_decode(s: &str) -> Result<Vec<u8>, DecodeError> {
    let pad = (4 - s.len() % 4) % 4;
    // the text of a block holds key material
    let padded = zeroize::Zeroizing::new(format!("{s}{}", "=".repeat(pad)));
    py_base64::decode_str(&padded, Alphabet::UrlSafe)
}

/// CRC-32 (IEEE, zlib's `crc32`).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_blocks_and_version() {
        for chip in Chip::ALL {
            let blocks: Vec<Vec<u8>> = chip
                .table()
                .blocks
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    (0..b.len_words * 4)
                        .map(|k| if i % 2 == 0 { 0 } else { (k * 7 + i) as u8 })
                        .collect()
                })
                .collect();
            let text = encode(TokenKind::Read, chip, 102, &blocks, Some(&[0, 5]));
            let t = decode(&text).expect("decodes");
            assert_eq!(t.chip, chip);
            assert_eq!(t.version.small, Some(102));
            let got: Vec<Vec<u8>> = t.blocks.iter().map(|b| b.to_vec()).collect();
            assert_eq!(got, blocks);
            assert_eq!(t.cerr, [0, 0, 0, 0, 5, 0, 0, 0]);
        }
    }

    #[test]
    fn token_loads_into_efuses_that_dump_the_same_token() {
        use crate::{Burn, Efuses, Field};
        for chip in Chip::ALL {
            let mut e = Efuses::new(chip);
            e.burn(Field::WrDis, Burn::Bits(5)).expect("burns");
            let text = read_token(&e);
            let loaded = decode(&text).expect("decodes").efuses();
            // the blocks' read registers (the controller's other registers,
            // which the burn left set, are not in a token)
            for b in 0..chip.table().blocks.len() {
                assert_eq!(loaded.block_bytes(b), e.block_bytes(b), "{chip:?} {b}");
            }
            assert_eq!(read_token(&loaded), text, "{chip:?}");
        }
    }

    #[test]
    fn token_version_lands_in_the_revision_bits() {
        for chip in [Chip::Esp32c3, Chip::Esp32s2, Chip::Esp32c6, Chip::Esp32c2] {
            let blocks: Vec<Vec<u8>> = chip
                .table()
                .blocks
                .iter()
                .map(|b| vec![0; b.len_words * 4])
                .collect();
            let text = encode(TokenKind::Read, chip, 103, &blocks, None);
            let e = decode(&text).expect("decodes").efuses();
            assert_eq!(esptool_revision(&e), 103, "{chip:?}");
        }
        // the ESP32's emulator knows major 0 and 3 only
        let blocks: Vec<Vec<u8>> = Chip::Esp32
            .table()
            .blocks
            .iter()
            .map(|b| vec![0; b.len_words * 4])
            .collect();
        for (version, read) in [(1, 1), (101, 1), (202, 302), (300, 300)] {
            let text = encode(TokenKind::Read, Chip::Esp32, version, &blocks, None);
            let e = decode(&text).expect("decodes").efuses();
            assert_eq!(esptool_revision(&e), read, "ESP32 v{version}");
        }
    }

    #[test]
    fn write_token_encodes_what_the_burn_would_program() {
        use crate::{Burn, Efuses, Field};
        let mut e = Efuses::new(Chip::Esp32c3);
        e.stage(Field::WrDis, Burn::Bits(1)).expect("stages");
        let text = write_token(&e);
        assert!(text.starts_with("EFSW:esp32c3:000:"), "{text}");
        let t = decode(&text).expect("decodes");
        assert_eq!(t.kind, TokenKind::Write);
        let pending = e.pending_writes();
        assert_eq!(t.blocks[0].as_slice(), pending[0].as_slice());
        assert_eq!(t.blocks[0][0], 1);
        // nothing staged: every block empty
        let none = write_token(&Efuses::new(Chip::Esp32c3));
        assert!(decode(&none)
            .expect("decodes")
            .blocks
            .iter()
            .all(|b| b.iter().all(|x| *x == 0)));
    }

    #[test]
    fn token_refusals_come_in_espefuses_order() {
        assert!(matches!(decode("a:b"), Err(TokenError::Fields(_))));
        assert!(matches!(
            decode("X:a:b:c:d:e"),
            Err(TokenError::BadMagic(_))
        ));
        assert!(matches!(
            decode("EFSR:a:b:c:d:e"),
            Err(TokenError::CrcLength(_))
        ));
        assert!(matches!(
            decode("EFSR:nochip:0:c:d:eeeeee"),
            Err(TokenError::UnknownChip(_))
        ));
        let good = encode::<Vec<u8>>(TokenKind::Write, Chip::Esp32c3, 0, &[], None);
        assert!(matches!(decode(&good), Err(TokenError::BlockCount { .. })));
    }

    #[test]
    fn token_version_is_pythons_int_modulo() {
        let v = parse_version("-5").expect("int");
        assert_eq!((v.major_bits(3), v.minor()), (3, 95));
        assert_eq!(parse_version(" 1_01 ").and_then(|v| v.small), Some(101));
        assert!(parse_version("1__0").is_none());
        assert!(parse_version("").is_none());
    }

    #[test]
    fn token_base64_is_lenient_like_python() {
        assert_eq!(b64url_decode("AB!").unwrap_err(), DecodeError::Padding);
        assert_eq!(
            b64url_decode("A").unwrap_err(),
            DecodeError::DataCharacters(1)
        );
        assert_eq!(b64url_decode("-_+/").expect("ok"), vec![0xfb, 0xff, 0xbf]);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
