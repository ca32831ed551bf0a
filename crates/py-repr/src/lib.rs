//! Python's `repr()` of `str` and `bytes` values.
//!
//! The Python tools espboot stands in for quote user input and device data
//! in their messages with `repr()`: click's `Invalid value: 'BOGUS' is not
//! one of …`, espefuse's token errors, espsecure's digest mismatch, smpmgr's
//! response dumps. A personality that prints those messages must quote
//! exactly as CPython does, so this crate is the one implementation of those
//! rules in espboot.
//!
//! The rules (CPython `Objects/unicodeobject.c` `unicode_repr`,
//! `Objects/bytesobject.c` `PyBytes_Repr`):
//! - the quote is `'`, or `"` when the value holds a `'` and no `"`; the
//!   chosen quote and `\` are escaped with a backslash;
//! - tab, newline and carriage return are `\t`, `\n`, `\r`;
//! - other bytes outside printable ASCII are `\xNN`;
//! - in a `str`, printable non-ASCII characters stay as they are, and the
//!   others are `\xNN`, `\uNNNN` or `\UNNNNNNNN`.
//!
//! It also words CPython's `UnicodeDecodeError` for bytes that are not
//! UTF-8 ([`utf8_decode_error`]), which the tools raise on a text file.
//!
//! One approximation: CPython decides "printable" from the Unicode
//! database. Without those tables, this crate escapes control characters,
//! whitespace other than the ASCII space, the common format characters and
//! the private-use planes, which covers what a command line or a device
//! reply holds in practice.
//!
//! ```
//! assert_eq!(py_repr::str("BOGUS"), "'BOGUS'");
//! assert_eq!(py_repr::str("it's"), "\"it's\"");
//! assert_eq!(py_repr::str("a\u{1}b"), "'a\\x01b'");
//! assert_eq!(py_repr::bytes(b"\x0b\xffok"), "b'\\x0b\\xffok'");
//! assert_eq!(py_repr::tuple(&["A".into()]), "('A',)");
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    unreachable_pub,
    clippy::std_instead_of_core,
    clippy::alloc_instead_of_core
)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

/// The quote Python picks for a value holding these quote characters.
fn quote_for(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double {
        '"'
    } else {
        '\''
    }
}

/// Python's `repr()` of a `str`.
pub fn str(text: &str) -> String {
    let quote = quote_for(text.contains('\''), text.contains('"'));
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if surrogate_of(c).is_some() => escape(&mut out, surrogate_of(c).unwrap_or(0)),
            c if is_printable(c) => out.push(c),
            c => escape(&mut out, u32::from(c)),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of a `bytes` value (`b'…'`).
pub fn bytes(value: &[u8]) -> String {
    let quote = quote_for(value.contains(&b'\''), value.contains(&b'"'));
    let mut out = String::with_capacity(value.len() + 3);
    out.push('b');
    out.push(quote);
    for &b in value {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if char::from(b) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => escape(&mut out, u32::from(b)),
        }
    }
    out.push(quote);
    out
}

/// A Python `str`: a sequence of code points. Unlike a Rust `str` it may
/// hold lone surrogates (U+D800 to U+DFFF), which is how Python keeps the
/// bytes of a file name or argument that are not UTF-8 (`os.fsdecode`,
/// the `surrogateescape` error handler): each such byte `b` becomes
/// U+DC00 + `b`, so the name still round-trips to the same bytes.
///
/// ```
/// let name = py_repr::PyStr::fsdecode(b"a\xffb\xc3\xa9");
/// assert_eq!(name.code_points(), &[0x61, 0xdcff, 0x62, 0xe9]);
/// assert_eq!(py_repr::PyStr::from("é").code_points(), &[0xe9]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PyStr(Vec<u32>);

impl PyStr {
    /// Python's `os.fsdecode` of a name on a UTF-8 system: valid UTF-8
    /// sequences become their characters, every other byte a surrogate
    /// escape. CPython's decoder and Rust's agree on where a bad sequence
    /// ends (both take the maximal subpart, Unicode §3.9).
    pub fn fsdecode(bytes: &[u8]) -> Self {
        let mut points = Vec::with_capacity(bytes.len());
        for chunk in bytes.utf8_chunks() {
            points.extend(chunk.valid().chars().map(u32::from));
            points.extend(chunk.invalid().iter().map(|&b| 0xdc00 + u32::from(b)));
        }
        PyStr(points)
    }

    /// The code points, surrogates included.
    pub fn code_points(&self) -> &[u32] {
        &self.0
    }

    /// Python's `os.fsencode` on a UTF-8 system, the inverse of
    /// [`PyStr::fsdecode`]: a surrogate escape (U+DC80 to U+DCFF) is its
    /// byte again, every other code point its UTF-8 (another lone
    /// surrogate, which `fsencode` refuses, as U+FFFD).
    pub fn fsencode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len());
        for &code in &self.0 {
            match code {
                0xdc80..=0xdcff => out.push((code - 0xdc00) as u8),
                _ => {
                    let c = char::from_u32(code).unwrap_or('\u{fffd}');
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
            }
        }
        out
    }
}

/// A `String` as the Python `str` it stands for: [`surrogateescape`]'s
/// stand-ins become their lone surrogates again.
impl From<&str> for PyStr {
    fn from(text: &str) -> Self {
        PyStr(
            text.chars()
                .map(|c| surrogate_of(c).unwrap_or(u32::from(c)))
                .collect(),
        )
    }
}

/// Where the private-use code points that stand for Python's lone
/// surrogates U+D800 to U+DFFF in a Rust `String` begin: plane 16's
/// U+10F800 to U+10FFFF, which no command line or file holds in practice
/// ([`surrogateescape`], [`surrogate_stand_in`]).
const STAND_IN_BASE: u32 = 0x10_F800;

/// The stand-in for the lone surrogate `code` (U+D800 to U+DFFF) in a
/// Rust `String`, which [`str`] and [`backslashreplace`] write as Python
/// writes the surrogate; `None` for any other code point.
///
/// ```
/// let text: String = py_repr::surrogate_stand_in(0xd800).into_iter().collect();
/// assert_eq!(py_repr::str(&text), "'\\ud800'");
/// ```
pub fn surrogate_stand_in(code: u32) -> Option<char> {
    (0xd800..0xe000)
        .contains(&code)
        .then(|| char::from_u32(STAND_IN_BASE + code - 0xd800))
        .flatten()
}

/// Python's `surrogateescape` decoding of command-line bytes (`sys.argv`)
/// into a Rust `String`: valid UTF-8 as it is, every other byte as a
/// stand-in for the lone surrogate Python makes of it. [`str`] and
/// [`backslashreplace`] write a stand-in as Python writes the surrogate
/// (`\udcff`), and [`PyStr::from`] turns it back into the surrogate.
///
/// ```
/// let text = py_repr::surrogateescape(b"1.\xff");
/// assert_eq!(py_repr::str(&text), "'1.\\udcff'");
/// assert_eq!(py_repr::backslashreplace(&text), "1.\\udcff");
/// assert_eq!(py_repr::PyStr::from(text.as_str()).code_points(), &[0x31, 0x2e, 0xdcff]);
/// ```
pub fn surrogateescape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(
            chunk
                .invalid()
                .iter()
                .filter_map(|&b| surrogate_stand_in(0xdc00 + u32::from(b))),
        );
    }
    out
}

/// The lone surrogate a stand-in ([`surrogate_stand_in`]) stands for.
fn surrogate_of(c: char) -> Option<u32> {
    let code = u32::from(c);
    (STAND_IN_BASE..=STAND_IN_BASE + 0x7ff)
        .contains(&code)
        .then(|| code - STAND_IN_BASE + 0xd800)
}

/// Text as Python prints a `str` to its standard error (the
/// `backslashreplace` error handler): a lone surrogate, here a
/// [`surrogateescape`] stand-in, as `\udcff`; everything else as it is.
pub fn backslashreplace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match surrogate_of(c) {
            Some(code) => escape(&mut out, code),
            None => out.push(c),
        }
    }
    out
}

/// Python's message when `text.encode("utf-8")` meets lone surrogates
/// (the text after `UnicodeEncodeError: `): the first run of them, by
/// position; `None` when there is none.
///
/// ```
/// let name = py_repr::PyStr::fsdecode(b"a\xff\xfeb");
/// assert_eq!(
///     py_repr::utf8_encode_error(&name).unwrap(),
///     "'utf-8' codec can't encode characters in position 1-2: surrogates not allowed"
/// );
/// ```
pub fn utf8_encode_error(text: &PyStr) -> Option<String> {
    let points = text.code_points();
    let is_surrogate = |c: &u32| (0xd800..0xe000).contains(c);
    let start = points.iter().position(is_surrogate)?;
    let len = points[start..]
        .iter()
        .take_while(|c| is_surrogate(c))
        .count();
    let mut out = String::from("'utf-8' codec can't encode ");
    let _ = if len == 1 {
        write!(
            out,
            "character '\\u{:x}' in position {start}",
            points[start]
        )
    } else {
        write!(out, "characters in position {start}-{}", start + len - 1)
    };
    out.push_str(": surrogates not allowed");
    Some(out)
}

/// Python's `hex()` of an integer, which `f"{v:#x}"` also gives: the sign
/// before the `0x` (`-0x1f`).
///
/// ```
/// assert_eq!(py_repr::hex(0x1f), "0x1f");
/// assert_eq!(py_repr::hex(-0x1f), "-0x1f");
/// ```
pub fn hex(value: i128) -> String {
    let mut out = String::new();
    if value < 0 {
        out.push('-');
    }
    let _ = write!(out, "{:#x}", value.unsigned_abs());
    out
}

/// Python's `repr()` of a tuple of `str`s: `('A',)`, `('A', 'B')`.
pub fn tuple(items: &[String]) -> String {
    let mut out = String::from("(");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&str(item));
    }
    if items.len() == 1 {
        out.push(',');
    }
    out.push(')');
    out
}

/// Python's message for bytes that are not UTF-8, as `bytes.decode()` and
/// a text file's `read()` raise it (the text after `UnicodeDecodeError: `);
/// `None` for valid UTF-8. CPython reports the first bad sequence as Rust's
/// decoder finds it (both take the maximal subpart, Unicode §3.9): a lone
/// byte that cannot start a character is an "invalid start byte", a
/// started character cut by a byte that cannot continue it an "invalid
/// continuation byte", and a character cut by the end "unexpected end of
/// data" (`Objects/stringlib/codecs.h`, `Objects/unicodeobject.c`).
///
/// ```
/// let e = py_repr::utf8_decode_error(b"ok\xff").unwrap();
/// assert_eq!(e, "'utf-8' codec can't decode byte 0xff in position 2: invalid start byte");
/// let e = py_repr::utf8_decode_error(b"\xe2\x82").unwrap();
/// assert_eq!(e, "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data");
/// assert_eq!(py_repr::utf8_decode_error("é".as_bytes()), None);
/// ```
pub fn utf8_decode_error(data: &[u8]) -> Option<String> {
    let error = core::str::from_utf8(data).err()?;
    let start = error.valid_up_to();
    let lead = data.get(start).copied().unwrap_or(0);
    let (len, reason) = match error.error_len() {
        None => (data.len() - start, "unexpected end of data"),
        Some(len) => {
            // 0x80-0xC1 and 0xF5-0xFF never start a character
            if len == 1 && matches!(lead, 0x80..=0xC1 | 0xF5..=0xFF) {
                (1, "invalid start byte")
            } else {
                (len, "invalid continuation byte")
            }
        }
    };
    let mut out = String::from("'utf-8' codec can't decode ");
    if len == 1 {
        let _ = write!(out, "byte {lead:#04x} in position {start}");
    } else {
        let _ = write!(out, "bytes in position {start}-{}", start + len - 1);
    }
    let _ = write!(out, ": {reason}");
    Some(out)
}

/// Python's backslash escape of one character, as `ascii()` and the
/// codecs' error messages write it: `\xe9`, `\u20ac`, `\U0001f600`.
pub fn escaped(c: char) -> String {
    let mut out = String::new();
    escape(&mut out, u32::from(c));
    out
}

/// The shortest of Python's `\x`, `\u` and `\U` escapes for a code point.
fn escape(out: &mut String, code: u32) {
    // Writing to a String cannot fail.
    let _ = if code <= 0xff {
        write!(out, "\\x{code:02x}")
    } else if code <= 0xffff {
        write!(out, "\\u{code:04x}")
    } else {
        write!(out, "\\U{code:08x}")
    };
}

/// Whether Python's `str.isprintable()` holds for `c` (see the crate
/// docs for the approximation outside ASCII).
fn is_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    // Format characters (Cf) a terminal would hide, and private use (Co).
    !matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{e000}'..='\u{f8ff}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{f0000}'..
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values are CPython 3.11's `repr()` of the same values.
    #[test]
    fn str_quotes_and_escapes_as_python() {
        assert_eq!(str(""), "''");
        assert_eq!(str("a'b"), "\"a'b\"");
        assert_eq!(str("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(str("a\"b"), "'a\"b'");
        assert_eq!(str("back\\slash"), "'back\\\\slash'");
        assert_eq!(str("t\tn\nr\r"), "'t\\tn\\nr\\r'");
        assert_eq!(str("\u{7f}\u{0}"), "'\\x7f\\x00'");
        assert_eq!(str("é€"), "'é€'");
        assert_eq!(str("\u{85}\u{a0}"), "'\\x85\\xa0'");
        assert_eq!(str("\u{200b}\u{2028}"), "'\\u200b\\u2028'");
        assert_eq!(str("\u{f0000}"), "'\\U000f0000'");
        assert_eq!(escaped('é'), "\\xe9");
        assert_eq!(escaped('€'), "\\u20ac");
    }

    #[test]
    fn bytes_quote_and_escape_as_python() {
        assert_eq!(
            bytes(b"\x0b\x00\x00\x06\xbfbrc\x08\xff"),
            "b'\\x0b\\x00\\x00\\x06\\xbfbrc\\x08\\xff'"
        );
        assert_eq!(bytes(b"it's"), "b\"it's\"");
        assert_eq!(bytes(b"'\""), "b'\\'\"'");
        assert_eq!(bytes(b"\\\t"), "b'\\\\\\t'");
    }

    // Expected values are CPython 3.11's `bytes.decode("utf-8")` messages.
    #[test]
    fn utf8_decode_errors_as_python() {
        let cases: [(&[u8], &str); 14] = [
            (b"\xff", "byte 0xff in position 0: invalid start byte"),
            (b"ok\x80", "byte 0x80 in position 2: invalid start byte"),
            (b"\xc0\x80", "byte 0xc0 in position 0: invalid start byte"),
            (b"\xc1", "byte 0xc1 in position 0: invalid start byte"),
            (
                b"\xe2\x28\xa1",
                "byte 0xe2 in position 0: invalid continuation byte",
            ),
            (
                b"\xe2\x82\x28",
                "bytes in position 0-1: invalid continuation byte",
            ),
            (b"\xe2\x82", "bytes in position 0-1: unexpected end of data"),
            (
                b"\xf0\x9f\x98",
                "bytes in position 0-2: unexpected end of data",
            ),
            (
                b"\xf0\x9f\x98(",
                "bytes in position 0-2: invalid continuation byte",
            ),
            (
                b"\xe0\x80\x80",
                "byte 0xe0 in position 0: invalid continuation byte",
            ),
            (
                b"\xed\xa0\x80",
                "byte 0xed in position 0: invalid continuation byte",
            ),
            (
                b"\xf4\x90\x80\x80",
                "byte 0xf4 in position 0: invalid continuation byte",
            ),
            (b"\xf5", "byte 0xf5 in position 0: invalid start byte"),
            (
                b"abc\xf0",
                "byte 0xf0 in position 3: unexpected end of data",
            ),
        ];
        for (data, expected) in cases {
            assert_eq!(
                utf8_decode_error(data).as_deref(),
                Some(alloc::format!("'utf-8' codec can't decode {expected}").as_str()),
                "{data:x?}"
            );
        }
        assert_eq!(utf8_decode_error(b"plain"), None);
    }

    #[test]
    fn tuples_as_python() {
        assert_eq!(tuple(&[]), "()");
        assert_eq!(tuple(&["A".into()]), "('A',)");
        assert_eq!(tuple(&["A".into(), "it's".into()]), "('A', \"it's\")");
    }
}
