//! Text as Python reads it from a file and takes it apart: `open(path)
//! .read()` (strict UTF-8, universal newlines), `str.isspace()`,
//! `str.strip()` and `str.splitlines()`. The tools read small text files
//! this way (espsecure's MAC `.hex` file, espefuse's eFuse CSV table), and
//! Rust's `lines()` and `trim()` draw the lines differently: a lone `\r`,
//! a form feed or U+2028 ends a Python line, and U+001C..U+001F are Python
//! blanks.

use alloc::string::String;
use alloc::vec::Vec;

/// Python's `open(path).read()` of a file's `bytes` (UTF-8, as under the
/// reference tools' UTF-8 locale): the text with universal newlines
/// (`\r\n` and a lone `\r` read as `\n`), or the message of the
/// `UnicodeDecodeError` it raises ([`crate::utf8_decode_error`]).
///
/// ```
/// assert_eq!(py_repr::text::read_text(b"a\r\nb\rc\n").as_deref(), Ok("a\nb\nc\n"));
/// assert!(py_repr::text::read_text(b"\xff").is_err());
/// ```
pub fn read_text(bytes: &[u8]) -> Result<String, String> {
    let text = core::str::from_utf8(bytes)
        .map_err(|_| crate::utf8_decode_error(bytes).unwrap_or_default())?;
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            chars.next_if_eq(&'\n');
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Python's `str.isspace()` for one character: Unicode's White_Space, and
/// the ASCII separators U+001C..U+001F.
///
/// ```
/// assert!(py_repr::text::is_space('\u{1f}'));
/// assert!(py_repr::text::is_space('\u{3000}'));
/// assert!(!py_repr::text::is_space('\u{200b}'));
/// ```
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no argument.
pub fn strip(text: &str) -> &str {
    text.trim_matches(is_space)
}

/// Whether `c` ends a line for `str.splitlines()`.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\u{b}'
            | '\u{c}'
            | '\u{1c}'
            | '\u{1d}'
            | '\u{1e}'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Python's `str.splitlines()`: the lines without their ends; `\r\n` is
/// one end, and a text that ends with a line end has no empty last line.
///
/// ```
/// assert_eq!(py_repr::text::splitlines("a\r\nb\u{c}c\u{2028}\n"), ["a", "b", "c", ""]);
/// ```
pub fn splitlines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if is_line_break(c) {
            lines.push(&text[start..at]);
            start = at + c.len_utf8();
            if c == '\r' && chars.next_if(|&(_, n)| n == '\n').is_some() {
                start += 1;
            }
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}
