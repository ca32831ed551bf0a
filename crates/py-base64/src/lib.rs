//! Base64 decoded exactly as Python's `base64.b64decode` and
//! `base64.urlsafe_b64decode` decode it when `validate` is left off.
//!
//! The reference tools read base64 with those functions: imgtool's
//! `sign --fix-sig` (`imgtool/main.py` `load_signature`) and espefuse's
//! eFuse tokens (`espefuse/efuse/token.py` `_b64url_decode_unpadded`).
//! Neither asks for strict mode, so whatever CPython's lenient decoder
//! makes of a file or token is what the tool works on, and its refusals
//! are the tool's error text. This crate is the one implementation of
//! those rules in espboot.
//!
//! The rules (CPython 3.11 `Modules/binascii.c` `binascii_a2b_base64_impl`
//! without `strict_mode`, `Lib/base64.py`):
//! - characters outside the alphabet are skipped, wherever they are;
//! - `=` counts as padding only once two or more data characters of a
//!   group of four were read; a data character after it starts the count
//!   of pads again; enough pads to complete the group end the data, and
//!   everything after them is ignored;
//! - a last group of one data character is refused with the number of
//!   data characters, a last group of two or three without its padding
//!   with `Incorrect padding`;
//! - the URL-safe variant first maps `-` to `+` and `_` to `/`, so it
//!   takes both spellings; the standard one skips `-` and `_`;
//! - a `str` argument must be ASCII (`_bytes_from_decode_data`), `bytes`
//!   may hold anything.
//!
//! ```
//! use py_base64::{decode, Alphabet, DecodeError};
//! assert_eq!(decode(b" QU\nJD ", Alphabet::Standard), Ok(b"ABC".to_vec()));
//! assert_eq!(decode(b"AB", Alphabet::Standard), Err(DecodeError::Padding));
//! assert_eq!(
//!     DecodeError::DataCharacters(5).to_string(),
//!     "Invalid base64-encoded string: number of data characters (5) cannot be 1 more than a multiple of 4"
//! );
//! ```
#![no_std]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;

/// Which of Python's two decoders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// `base64.b64decode`: `+` and `/`.
    Standard,
    /// `base64.urlsafe_b64decode`: `-` and `_`, and `+` and `/` as well.
    UrlSafe,
}

/// What Python raises for input its lenient decoder refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A `str` argument with a character outside ASCII (a `ValueError`).
    NotAscii,
    /// The data characters leave one over a multiple of four (a
    /// `binascii.Error`); the number of data characters read.
    DataCharacters(usize),
    /// The last group of two or three data characters lacks its padding
    /// (a `binascii.Error`).
    Padding,
}

impl DecodeError {
    /// The qualified name of the exception Python raises, as a traceback's
    /// last line starts.
    pub fn exception(&self) -> &'static str {
        match self {
            DecodeError::NotAscii => "ValueError",
            DecodeError::DataCharacters(_) | DecodeError::Padding => "binascii.Error",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::NotAscii => f.write_str("string argument should contain only ASCII characters"),
            DecodeError::DataCharacters(n) => write!(
                f,
                "Invalid base64-encoded string: number of data characters ({n}) cannot be 1 more than a multiple of 4"
            ),
            DecodeError::Padding => f.write_str("Incorrect padding"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// The value of one data character, `None` for a character the decoder
/// skips (CPython `table_a2b_base64`, after `urlsafe_b64decode`'s
/// translation for [`Alphabet::UrlSafe`]).
fn value(c: u8, alphabet: Alphabet) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        b'-' if alphabet == Alphabet::UrlSafe => Some(62),
        b'_' if alphabet == Alphabet::UrlSafe => Some(63),
        _ => None,
    }
}

/// Decodes `bytes` argument `data` as Python's lenient decoder does.
pub fn decode(data: &[u8], alphabet: Alphabet) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 3);
    // data characters of the current group read, pads after them, and the
    // bits of the group not yet written out
    let (mut quad, mut pads, mut left) = (0u8, 0u8, 0u8);
    for &c in data {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let Some(v) = value(c, alphabet) else {
            continue;
        };
        pads = 0;
        match quad {
            0 => {
                left = v;
                quad = 1;
            }
            1 => {
                out.push((left << 2) | (v >> 4));
                left = v & 0x0f;
                quad = 2;
            }
            2 => {
                out.push((left << 4) | (v >> 2));
                left = v & 0x03;
                quad = 3;
            }
            _ => {
                out.push((left << 6) | v);
                quad = 0;
            }
        }
    }
    match quad {
        0 => Ok(out),
        // CPython counts the characters from the bytes written: every
        // group before the last one was complete
        1 => Err(DecodeError::DataCharacters(out.len() / 3 * 4 + 1)),
        _ => Err(DecodeError::Padding),
    }
}

/// Decodes `str` argument `text` as Python's lenient decoder does: ASCII
/// only, then as [`decode`].
pub fn decode_str(text: &str, alphabet: Alphabet) -> Result<Vec<u8>, DecodeError> {
    if !text.is_ascii() {
        return Err(DecodeError::NotAscii);
    }
    decode(text.as_bytes(), alphabet)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // The expected values below were printed by CPython 3.11.7
    // (`base64.b64decode(x)` / `base64.urlsafe_b64decode(x)`); the interop
    // test `py_base64_decodes_as_python` compares many more with the
    // pinned Python at run time.

    #[test]
    fn skips_stray_characters_and_stops_at_complete_padding() {
        let s = Alphabet::Standard;
        assert_eq!(decode(b"", s), Ok(Vec::new()));
        assert_eq!(decode(b"!!!!", s), Ok(Vec::new()));
        assert_eq!(decode(b"AB==", s), Ok(b"\x00".to_vec()));
        assert_eq!(decode(b"AB===x", s), Ok(b"\x00".to_vec()));
        assert_eq!(decode(b"QUJD=QUJD", s), Ok(b"ABCABC".to_vec()));
        assert_eq!(
            decode(b"AB=CDEF=GH==", s),
            Ok(b"\x00\x10\x83\x10Q\x87".to_vec())
        );
        assert_eq!(decode(b"ABC=DEFG", s), Ok(b"\x00\x10".to_vec()));
        assert_eq!(decode(b"A=B=C=D=", s), Ok(b"\x00\x10".to_vec()));
        assert_eq!(decode(b"\xc3\xa9", s), Ok(Vec::new()));
    }

    #[test]
    fn refuses_as_python_does() {
        let s = Alphabet::Standard;
        assert_eq!(decode(b"A", s), Err(DecodeError::DataCharacters(1)));
        assert_eq!(decode(b"ABCDE", s), Err(DecodeError::DataCharacters(5)));
        assert_eq!(decode(b"AB", s), Err(DecodeError::Padding));
        assert_eq!(decode(b"AB=", s), Err(DecodeError::Padding));
        assert_eq!(decode(b"=AB=", s), Err(DecodeError::Padding));
        assert_eq!(decode_str("é", s), Err(DecodeError::NotAscii));
        assert_eq!(DecodeError::Padding.exception(), "binascii.Error");
        assert_eq!(DecodeError::NotAscii.exception(), "ValueError");
    }

    #[test]
    fn url_safe_takes_both_spellings_standard_skips_the_url_ones() {
        assert_eq!(
            decode(b"-_+/", Alphabet::UrlSafe),
            Ok(b"\xfb\xff\xbf".to_vec())
        );
        assert_eq!(
            decode(b"-_+/", Alphabet::Standard),
            Err(DecodeError::Padding)
        );
        assert_eq!(decode(b"AB!", Alphabet::UrlSafe), Err(DecodeError::Padding));
    }
}
