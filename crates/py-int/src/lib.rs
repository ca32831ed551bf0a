//! Integers exactly as Python's `int(text, 0)` reads them.
//!
//! imgtool, espsecure, espefuse and esptool read every number on their
//! command lines with `int(text, 0)` (click's `BasedIntParamType`, esptool's
//! `arg_auto_int`, espefuse's `check_arg_value`). A drop-in replacement must
//! accept and refuse exactly the same spellings, or a script that passes
//! `--address 0160` gets ciphertext for the wrong address instead of an error.
//! This crate is the one implementation of those rules in espboot; every
//! command line and configuration value goes through it.
//!
//! The rules (CPython `Objects/longobject.c`, `PyLong_FromString` with base 0):
//! - surrounding ASCII whitespace is ignored, one optional `+` or `-` sign;
//! - `0x`/`0X` hexadecimal, `0o`/`0O` octal, `0b`/`0B` binary prefixes; a
//!   single `_` may follow the prefix;
//! - single `_` separators between digits, never leading, trailing or doubled;
//! - a decimal number has no leading zero unless all its digits are zero
//!   (`010` is refused: Python 3 removed C's implicit octal).
//!
//! - Python first maps every Unicode decimal digit to its ASCII digit and
//!   every Unicode space to a blank (`_PyUnicode_TransformDecimalAndSpaceToASCII`),
//!   so `int("١٢", 0) == 12` and a no-break space around a number is blank.
//!
//! ```
//! assert_eq!(py_int::parse("0x1_000"), Ok(0x1000));
//! assert_eq!(py_int::parse(" -0b101 "), Ok(-5));
//! assert_eq!(py_int::parse("0160"), Err(py_int::ParseIntError::Invalid));
//! assert_eq!(py_int::parse("\u{3000}１６"), Ok(16));
//! assert_eq!(py_int::parse_u32("0x1_0000_0000"), Err(py_int::ParseIntError::OutOfRange));
//! ```
//!
//! [`parse_decimal`] is the base-10 sibling, Python's `int(text)`, for the
//! values espsecure reads that way (the `slot` of an `--hsm-config` file):
//! leading zeros are allowed there and prefixes are not.
#![no_std]
#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    unreachable_pub,
    clippy::std_instead_of_core,
    clippy::alloc_instead_of_core
)]

use core::fmt;

mod digits;
use digits::{DIGIT_ZEROS, OTHER_DIGITS};

/// Why a text is not an acceptable integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseIntError {
    /// Python's `int(text, 0)` raises `ValueError` for this text.
    Invalid,
    /// A valid integer, but outside the range the caller asked for.
    OutOfRange,
}

impl fmt::Display for ParseIntError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseIntError::Invalid => "not a valid integer",
            ParseIntError::OutOfRange => "out of range",
        })
    }
}

impl core::error::Error for ParseIntError {}

/// Parses `text` as Python's `int(text, 0)` does.
///
/// Values that need more than 128 bits are [`ParseIntError::OutOfRange`]
/// (Python's integers are unbounded; nothing on these command lines is that
/// wide).
///
/// # Errors
/// [`ParseIntError::Invalid`] for any spelling Python refuses.
pub fn parse(text: &str) -> Result<i128, ParseIntError> {
    let text = text.trim_matches(is_python_space);
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = split_radix(unsigned);
    let magnitude = parse_digits(digits, radix, LeadingZeros::RefusedInDecimal)?;
    let magnitude = i128::try_from(magnitude).map_err(|_| ParseIntError::OutOfRange)?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// Parses `text` as Python's `int(text)` (base 10) does: the same
/// whitespace, sign and `_` rules as [`parse`], no base prefix, and leading
/// zeros allowed (`int("007") == 7`).
///
/// # Errors
/// [`ParseIntError::Invalid`] for any spelling Python refuses;
/// [`ParseIntError::OutOfRange`] beyond 128 bits.
pub fn parse_decimal(text: &str) -> Result<i128, ParseIntError> {
    let text = text.trim_matches(is_python_space);
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = parse_digits(digits, 10, LeadingZeros::Allowed)?;
    let magnitude = i128::try_from(magnitude).map_err(|_| ParseIntError::OutOfRange)?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// [`parse`] into a `u32` (addresses, sizes, alignments).
///
/// # Errors
/// [`ParseIntError::Invalid`] as [`parse`]; [`ParseIntError::OutOfRange`] for
/// negative values and values above `u32::MAX`.
pub fn parse_u32(text: &str) -> Result<u32, ParseIntError> {
    u32::try_from(parse(text)?).map_err(|_| ParseIntError::OutOfRange)
}

/// [`parse`] into a `u64` (eFuse values, 64-bit addresses).
///
/// # Errors
/// [`ParseIntError::Invalid`] as [`parse`]; [`ParseIntError::OutOfRange`] for
/// negative values and values above `u64::MAX`.
pub fn parse_u64(text: &str) -> Result<u64, ParseIntError> {
    u64::try_from(parse(text)?).map_err(|_| ParseIntError::OutOfRange)
}

/// Splits off a base prefix and the single `_` Python allows right after it.
/// The zero may be any Unicode digit zero, as Python reads it.
fn split_radix(text: &str) -> (u32, &str) {
    let mut chars = text.chars();
    let (Some(zero), Some(letter)) = (chars.next(), chars.next()) else {
        return (10, text);
    };
    if digit_value(zero, 10) != Some(0) {
        return (10, text);
    }
    let radix = match letter {
        'x' | 'X' => 16,
        'o' | 'O' => 8,
        'b' | 'B' => 2,
        _ => return (10, text),
    };
    let rest = chars.as_str();
    (radix, rest.strip_prefix('_').unwrap_or(rest))
}

/// Whether Python's `int()` reads `c` as a blank: C's `isspace` among ASCII
/// characters, and the non-ASCII characters for which `str.isspace()` holds.
/// Together that is Unicode's White_Space property (the ASCII separators
/// U+001C..U+001F, which `str.isspace()` also counts, are not blanks here).
fn is_python_space(c: char) -> bool {
    c.is_whitespace()
}
/// The value of `c` as a digit in `radix`: ASCII digits and letters, and
/// any Unicode decimal digit.
fn digit_value(c: char, radix: u32) -> Option<u32> {
    if c.is_ascii() {
        c.to_digit(radix)
    } else {
        decimal_digit(c).filter(|d| *d < radix)
    }
}

/// The value of a Unicode decimal digit (general category Nd, which is
/// what Python's `str.isdecimal()`, `int()` and the regex class `\d` of a
/// text pattern take), or `None`.
///
/// ```
/// assert_eq!(py_int::decimal_digit('7'), Some(7));
/// assert_eq!(py_int::decimal_digit('\u{0663}'), Some(3)); // ARABIC-INDIC DIGIT THREE
/// assert_eq!(py_int::decimal_digit('\u{b2}'), None); // SUPERSCRIPT TWO is not Nd
/// ```
pub fn decimal_digit(c: char) -> Option<u32> {
    let code = u32::from(c);
    let run = DIGIT_ZEROS
        .partition_point(|&zero| zero <= code)
        .checked_sub(1)?;
    let value = code - DIGIT_ZEROS[run];
    (value < 10).then_some(value)
}

/// Whether Python's `str.isdigit()` holds for `c`: the decimal digits
/// ([`decimal_digit`]) and the other digits (superscripts, circled
/// digits), which `int()` refuses (CPython 3.11's Unicode database).
///
/// ```
/// assert!(py_int::is_digit('\u{0663}')); // ARABIC-INDIC DIGIT THREE
/// assert!(py_int::is_digit('\u{b2}')); // SUPERSCRIPT TWO
/// assert!(!py_int::is_digit('\u{2155}')); // VULGAR FRACTION ONE FIFTH is numeric
/// ```
pub fn is_digit(c: char) -> bool {
    let code = u32::from(c);
    decimal_digit(c).is_some() || {
        let after = OTHER_DIGITS.partition_point(|&(first, _)| first <= code);
        after > 0 && code <= OTHER_DIGITS[after - 1].1
    }
}

/// Whether `010` is refused (`int(x, 0)`) or read as 10 (`int(x)`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum LeadingZeros {
    RefusedInDecimal,
    Allowed,
}

/// Parses `text` as Python's `int(text, 0)` does, into `limbs` (the
/// magnitude as little-endian 32-bit words, zeroed first), for integers
/// wider than 128 bits (espefuse's `uint:N` eFuse fields take any `N`).
/// Returns whether the value is negative.
///
/// ```
/// let mut limbs = [0u32; 5];
/// assert_eq!(py_int::parse_wide("-0x1_0000_0000_0000_0000_0000_0000_0000_0002", &mut limbs), Ok(true));
/// assert_eq!(limbs, [2, 0, 0, 0, 1]);
/// ```
///
/// # Errors
/// [`ParseIntError::Invalid`] for any spelling Python refuses;
/// [`ParseIntError::OutOfRange`] when the magnitude does not fit `limbs`.
pub fn parse_wide(text: &str, limbs: &mut [u32]) -> Result<bool, ParseIntError> {
    limbs.iter_mut().for_each(|l| *l = 0);
    let text = text.trim_matches(is_python_space);
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = split_radix(unsigned);
    scan_digits(digits, radix, LeadingZeros::RefusedInDecimal, |digit| {
        // limbs = limbs * radix + digit, refusing a carry out of the top
        let mut carry = u64::from(digit);
        for limb in limbs.iter_mut() {
            let v = u64::from(*limb) * u64::from(radix) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry == 0 {
            Ok(())
        } else {
            Err(ParseIntError::OutOfRange)
        }
    })?;
    Ok(negative)
}

/// Accumulates `digits` in `radix`, enforcing the separator and
/// leading-zero rules.
fn parse_digits(digits: &str, radix: u32, zeros: LeadingZeros) -> Result<u128, ParseIntError> {
    let mut value: u128 = 0;
    scan_digits(digits, radix, zeros, |digit| {
        value = value
            .checked_mul(u128::from(radix))
            .and_then(|v| v.checked_add(u128::from(digit)))
            .ok_or(ParseIntError::OutOfRange)?;
        Ok(())
    })?;
    Ok(value)
}

/// Walks `digits` in `radix`, handing each digit value to `push`, and
/// enforces the separator and leading-zero rules.
fn scan_digits(
    digits: &str,
    radix: u32,
    zeros: LeadingZeros,
    mut push: impl FnMut(u32) -> Result<(), ParseIntError>,
) -> Result<(), ParseIntError> {
    if digits.is_empty() {
        return Err(ParseIntError::Invalid);
    }
    let mut previous_was_separator = true; // no leading '_'
    let mut first_digit = None;
    let mut nonzero_seen = false;
    for c in digits.chars() {
        if c == '_' {
            if previous_was_separator {
                return Err(ParseIntError::Invalid);
            }
            previous_was_separator = true;
            continue;
        }
        let digit = digit_value(c, radix).ok_or(ParseIntError::Invalid)?;
        first_digit.get_or_insert(digit);
        nonzero_seen |= digit != 0;
        previous_was_separator = false;
        push(digit)?;
    }
    if previous_was_separator {
        return Err(ParseIntError::Invalid); // trailing '_'
    }
    if zeros == LeadingZeros::RefusedInDecimal
        && radix == 10
        && first_digit == Some(0)
        && nonzero_seen
    {
        return Err(ParseIntError::Invalid); // "010": no implicit octal
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row was checked against CPython 3.11's `int(text, 0)`.
    const CASES: &[(&str, Option<i128>)] = &[
        ("0", Some(0)),
        ("00", Some(0)),
        ("0_0", Some(0)),
        ("000_000", Some(0)),
        ("7", Some(7)),
        ("1_000", Some(1000)),
        ("  42\t\n", Some(42)),
        ("+42", Some(42)),
        ("-42", Some(-42)),
        ("0x1F", Some(31)),
        ("0X1f", Some(31)),
        ("0x_1f", Some(31)),
        ("0xdead_beef", Some(0xdead_beef)),
        ("-0x10", Some(-16)),
        ("0o17", Some(15)),
        ("0O17", Some(15)),
        ("0b101", Some(5)),
        ("0B_1_0", Some(2)),
        ("010", None),
        ("0160", None),
        ("00_1", None),
        ("0x", None),
        ("0x_", None),
        ("0x__1", None),
        ("1__0", None),
        ("_1", None),
        ("1_", None),
        ("0b102", None),
        ("0o8", None),
        ("0xg", None),
        ("", None),
        ("   ", None),
        ("+", None),
        ("--1", None),
        ("+-1", None),
        ("- 1", None),
        ("1 2", None),
        ("1.0", None),
        ("0x1 f", None),
        ("0_7", None),
        ("0x1_", None),
        ("0b", None),
        ("0_", None),
        ("-0", Some(0)),
        ("-00", Some(0)),
        ("١٢", Some(12)),
        ("\u{0660}x1f", Some(31)),
        ("0x١f", Some(0x1f)),
        ("\u{ff11}\u{ff10}", Some(10)),
        ("\u{3000}7\u{a0}", Some(7)),
        ("\u{1c}7\u{1f}", None),
        ("\u{b}7\u{c}", Some(7)),
        ("٠١", None),
        ("0b١", Some(1)),
        ("0b٢", None),
        ("\u{1d7ce}", Some(0)),
        ("\u{1fbf9}", Some(9)),
        ("\u{1fbfa}", None),
        ("\u{b2}", None),
        ("\u{2160}", None),
        ("1\u{2009}2", None),
        ("\u{200b}1", None),
        ("\u{2212}1", None),
        ("\u{ff0b}1", None),
    ];

    #[test]
    fn matches_cpython_int_base_0() {
        for &(text, expected) in CASES {
            assert_eq!(parse(text).ok(), expected, "int({text:?}, 0)");
        }
    }

    /// Each row was checked against CPython 3.11's `int(text)`.
    const DECIMAL_CASES: &[(&str, Option<i128>)] = &[
        ("0", Some(0)),
        ("007", Some(7)),
        ("0_7", Some(7)),
        ("00_1", Some(1)),
        ("1_000", Some(1000)),
        ("  42\t\n", Some(42)),
        ("+42", Some(42)),
        ("-42", Some(-42)),
        ("0x10", None),
        ("", None),
        ("+", None),
        ("1__0", None),
        ("_1", None),
        ("1_", None),
        ("1.0", None),
        ("- 1", None),
        ("1 2", None),
        ("\u{0661}_\u{0660}", Some(10)),
        ("\u{0660}\u{0667}", Some(7)),
        ("\u{2003}-\u{ff19}", Some(-9)),
    ];

    #[test]
    fn matches_cpython_int_base_10() {
        for &(text, expected) in DECIMAL_CASES {
            assert_eq!(parse_decimal(text).ok(), expected, "int({text:?})");
        }
    }

    #[test]
    fn regression_leading_zero_decimal_is_refused_not_read_as_160() {
        // espsecure refuses `--address 0160`; an earlier espboot parser
        // stripped the zero and encrypted for address 160.
        assert_eq!(parse_u32("0160"), Err(ParseIntError::Invalid));
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_u32("0xffffffff"), Ok(u32::MAX));
        assert_eq!(parse_u32("0x100000000"), Err(ParseIntError::OutOfRange));
        assert_eq!(parse_u32("-1"), Err(ParseIntError::OutOfRange));
        assert_eq!(parse_u64("0xffff_ffff_ffff_ffff"), Ok(u64::MAX));
        assert_eq!(
            parse("0x1_0000_0000_0000_0000_0000_0000_0000_0000"),
            Err(ParseIntError::OutOfRange)
        );
    }

    #[test]
    fn wide_parse_follows_the_same_rules_as_parse() {
        let mut limbs = [0u32; 4];
        for &(text, expected) in CASES {
            let wide = parse_wide(text, &mut limbs).ok().map(|negative| {
                let m = limbs
                    .iter()
                    .rev()
                    .fold(0u128, |acc, l| (acc << 32) | u128::from(*l));
                if negative {
                    -(m as i128)
                } else {
                    m as i128
                }
            });
            assert_eq!(wide, expected, "int({text:?}, 0)");
        }
    }

    #[test]
    fn wide_parse_refuses_what_does_not_fit_its_limbs() {
        let mut limbs = [7u32; 2];
        assert_eq!(parse_wide("0xffff_ffff_ffff_ffff", &mut limbs), Ok(false));
        assert_eq!(limbs, [u32::MAX, u32::MAX]);
        assert_eq!(
            parse_wide("0x1_0000_0000_0000_0000", &mut limbs),
            Err(ParseIntError::OutOfRange)
        );
        assert_eq!(
            parse_wide("18446744073709551616", &mut limbs),
            Err(ParseIntError::OutOfRange)
        );
    }

    proptest::proptest! {
        #[test]
        fn round_trips_every_python_spelling(v in proptest::num::i64::ANY) {
            let m = v.unsigned_abs();
            let sign = if v < 0 { "-" } else { "" };
            for text in [
                alloc_fmt(format_args!("{sign}{m}")),
                alloc_fmt(format_args!("{sign}0x{m:x}")),
                alloc_fmt(format_args!("{sign}0X{m:X}")),
                alloc_fmt(format_args!("{sign}0o{m:o}")),
                alloc_fmt(format_args!("{sign}0b{m:b}")),
            ] {
                proptest::prop_assert_eq!(parse(&text), Ok(i128::from(v)));
            }
        }
    }

    extern crate std;
    fn alloc_fmt(args: fmt::Arguments<'_>) -> std::string::String {
        std::fmt::format(args)
    }
}
