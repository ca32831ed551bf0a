//! JSON exactly as Python's `json.load` reads a text file: the values it
//! accepts (NaN, Infinity, integers of any length up to CPython's 4300
//! digits, duplicate keys with the last value in the first key's place)
//! and the messages it fails with.
//!
//! espsecure reads its USC configuration (`generate-sdc-certificate
//! --usc`) with `json.load` and reports a `JSONDecodeError` as
//! `Invalid JSON in USC config file: <message>`; what `json` raises
//! otherwise (a file that is not UTF-8, an integer past the digit limit,
//! nesting past the recursion limit) ends espsecure with a traceback. A
//! personality that reads such a file must fail with the same words, so
//! this crate follows CPython 3.11's decoder (`Lib/json/decoder.py`,
//! `Modules/_json.c` `scan_once_unicode`, `_parse_object_unicode`,
//! `_parse_array_unicode`, `scanstring_unicode`, `_match_number_unicode`):
//! the same checks in the same order, positions counted in characters.
//!
//! ```
//! let v = py_json::loads(b"{\"version\": 1, \"x\": [NaN, true]}", 100).unwrap();
//! assert_eq!(v.get("version").map(py_json::Value::repr).as_deref(), Some("1"));
//! let e = py_json::loads(b"{\"a\" 1}", 100).unwrap_err();
//! assert_eq!(e.to_string(), "Expecting ':' delimiter: line 1 column 6 (char 5)");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

use std::fmt;

/// CPython's limit on the digits of an integer read from text
/// (`sys.get_int_max_str_digits()`, 4300 by default since 3.11).
pub const INT_MAX_STR_DIGITS: usize = 4300;

/// A JSON value as Python holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null` (`None`).
    Null,
    /// `true`/`false`.
    Bool(bool),
    /// An integer, as its decimal digits with an optional `-` (Python's
    /// integers have no bound; JSON writes no leading zeros).
    Int(String),
    /// A float, NaN and the infinities included.
    Float(f64),
    /// A string. A lone surrogate escape (`"\ud800"`), which Python keeps,
    /// is [`py_repr::surrogate_stand_in`]'s stand-in here, so its repr is
    /// Python's.
    Str(String),
    /// A list.
    Array(Vec<Value>),
    /// A dict: keys in first-seen order, each with its last value.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The member `key` of a dict (`dict.get`); `None` for a missing key
    /// or a value that is not a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Python's `type(value).__name__`.
    pub fn python_type(&self) -> &'static str {
        match self {
            Value::Null => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Array(_) => "list",
            Value::Object(_) => "dict",
        }
    }

    /// Whether Python's `value == 1` holds (`True`, `1`, `1.0`).
    pub fn equals_one(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Int(digits) => digits == "1",
            Value::Float(f) => *f == 1.0,
            _ => false,
        }
    }

    /// Python's `repr()` of the value.
    pub fn repr(&self) -> String {
        match self {
            Value::Null => "None".to_owned(),
            Value::Bool(true) => "True".to_owned(),
            Value::Bool(false) => "False".to_owned(),
            Value::Int(digits) => digits.clone(),
            Value::Float(f) => float_repr(*f),
            Value::Str(s) => py_repr::str(s),
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(Value::repr).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Object(members) => {
                let items: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("{}: {}", py_repr::str(k), v.repr()))
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
        }
    }
}

/// Python's `repr()` of a float: the shortest digits that read back, in
/// fixed notation for exponents from -4 to 15, else `1e+16`, `1e-05`
/// (`Python/pystrtod.c`, format code `r`).
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let text = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else {
            let point = point as usize;
            if digits.len() <= point {
                format!("{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{}.{}", &digits[..point], &digits[point..])
            }
        };
        format!("{sign}{text}")
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_owned()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{esign}{:02}", exponent.unsigned_abs())
    }
}

/// Why `json.load` fails.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A `json.JSONDecodeError`: its message and where, in characters.
    Decode {
        /// What was expected (`Expecting value`, `Extra data`, …).
        message: &'static str,
        /// The character index.
        pos: usize,
        /// The 1-based line of `pos`.
        line: usize,
        /// The 1-based column of `pos`.
        column: usize,
    },
    /// The file is not UTF-8: the `UnicodeDecodeError` message.
    NotUtf8(String),
    /// An integer past [`INT_MAX_STR_DIGITS`] digits (a `ValueError`).
    IntTooLong {
        /// Its digits.
        digits: usize,
    },
    /// Nesting past the recursion limit (a `RecursionError`), in an array
    /// or in an object.
    TooDeep {
        /// Whether the value that went too deep is an array.
        array: bool,
    },
}

impl Error {
    /// The last line of the traceback Python ends with when this error is
    /// not caught (`JSONDecodeError` is `json.decoder.JSONDecodeError`).
    pub fn python_exception(&self) -> String {
        match self {
            Error::Decode { .. } => format!("json.decoder.JSONDecodeError: {self}"),
            Error::NotUtf8(message) => format!("UnicodeDecodeError: {message}"),
            Error::IntTooLong { .. } => format!("ValueError: {self}"),
            Error::TooDeep { .. } => format!("RecursionError: {self}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Decode {
                message,
                pos,
                line,
                column,
            } => write!(f, "{message}: line {line} column {column} (char {pos})"),
            Error::NotUtf8(message) => f.write_str(message),
            Error::IntTooLong { digits } => write!(
                f,
                "Exceeds the limit ({INT_MAX_STR_DIGITS} digits) for integer string conversion: \
                 value has {digits} digits; use sys.set_int_max_str_digits() to increase the limit"
            ),
            Error::TooDeep { array } => write!(
                f,
                "maximum recursion depth exceeded while decoding a JSON {} from a unicode string",
                if *array { "array" } else { "object" }
            ),
        }
    }
}

impl std::error::Error for Error {}

/// `json.load` of a text file holding `bytes` (UTF-8, as `open()` reads it
/// here). `max_depth` is how many arrays and objects may nest before
/// Python's recursion limit is hit: the limit less the frames already on
/// the caller's stack, which the caller knows.
///
/// # Errors
/// [`Error`], the first failure Python meets.
pub fn loads(bytes: &[u8], max_depth: usize) -> Result<Value, Error> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::NotUtf8(py_repr::utf8_decode_error(bytes).unwrap_or_default()))?;
    let chars: Vec<char> = text.chars().collect();
    let parser = Parser {
        s: &chars,
        max_depth,
    };
    if chars.first() == Some(&'\u{feff}') {
        return Err(parser.error("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0));
    }
    let start = parser.skip_ws(0);
    let (value, end) = match parser.scan(start, 0)? {
        Scanned::Value(v, end) => (v, end),
        Scanned::Stop(at) => return Err(parser.error("Expecting value", at)),
    };
    let end = parser.skip_ws(end);
    if end != chars.len() {
        return Err(parser.error("Extra data", end));
    }
    Ok(value)
}

/// What `scan_once` gives: a value and the index after it, or the
/// `StopIteration` index where no value starts.
enum Scanned {
    Value(Value, usize),
    Stop(usize),
}

struct Parser<'a> {
    s: &'a [char],
    max_depth: usize,
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

impl Parser<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.s.get(i).copied()
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while self.at(i).is_some_and(is_ws) {
            i += 1;
        }
        i
    }

    /// `JSONDecodeError(message, doc, pos)`: line and column from the
    /// newlines before `pos`.
    fn error(&self, message: &'static str, pos: usize) -> Error {
        let before = &self.s[..pos.min(self.s.len())];
        let line = before.iter().filter(|c| **c == '\n').count() + 1;
        let column = match before.iter().rposition(|c| *c == '\n') {
            Some(nl) => pos - nl,
            None => pos + 1,
        };
        Error::Decode {
            message,
            pos,
            line,
            column,
        }
    }

    fn starts_with(&self, i: usize, word: &str) -> bool {
        let w: Vec<char> = word.chars().collect();
        self.s.get(i..i + w.len()) == Some(&w[..])
    }

    /// `scan_once_unicode`.
    fn scan(&self, i: usize, depth: usize) -> Result<Scanned, Error> {
        let Some(c) = self.at(i) else {
            return Ok(Scanned::Stop(i));
        };
        let constant = |word: &str, value: Value| {
            self.starts_with(i, word)
                .then(|| Scanned::Value(value, i + word.chars().count()))
        };
        let found = match c {
            '"' => {
                let (s, end) = self.string(i + 1)?;
                return Ok(Scanned::Value(Value::Str(s), end));
            }
            '{' | '[' => {
                if depth >= self.max_depth {
                    return Err(Error::TooDeep { array: c == '[' });
                }
                return if c == '{' {
                    self.object(i + 1, depth + 1)
                } else {
                    self.array(i + 1, depth + 1)
                };
            }
            'n' => constant("null", Value::Null),
            't' => constant("true", Value::Bool(true)),
            'f' => constant("false", Value::Bool(false)),
            'N' => constant("NaN", Value::Float(f64::NAN)),
            'I' => constant("Infinity", Value::Float(f64::INFINITY)),
            '-' => constant("-Infinity", Value::Float(f64::NEG_INFINITY)),
            _ => None,
        };
        match found {
            Some(scanned) => Ok(scanned),
            None => self.number(i),
        }
    }

    /// `_match_number_unicode`.
    fn number(&self, start: usize) -> Result<Scanned, Error> {
        let digit = |i: usize| self.at(i).is_some_and(|c| c.is_ascii_digit());
        let mut i = start;
        if self.at(i) == Some('-') {
            i += 1;
        }
        match self.at(i) {
            Some('1'..='9') => {
                i += 1;
                while digit(i) {
                    i += 1;
                }
            }
            Some('0') => i += 1,
            _ => return Ok(Scanned::Stop(start)),
        }
        let mut float = false;
        if self.at(i) == Some('.') && digit(i + 1) {
            float = true;
            i += 2;
            while digit(i) {
                i += 1;
            }
        }
        if matches!(self.at(i), Some('e' | 'E')) {
            let e_start = i;
            i += 1;
            if matches!(self.at(i), Some('-' | '+')) {
                i += 1;
            }
            let digits_from = i;
            while digit(i) {
                i += 1;
            }
            if i > digits_from {
                float = true;
            } else {
                i = e_start;
            }
        }
        let text: String = self.s[start..i].iter().collect();
        if float {
            // Python's float() of the same digits; Rust reads them alike
            let f = text.parse::<f64>().unwrap_or(f64::NAN);
            return Ok(Scanned::Value(Value::Float(f), i));
        }
        let digits = text.trim_start_matches('-').len();
        if digits > INT_MAX_STR_DIGITS {
            return Err(Error::IntTooLong { digits });
        }
        // -0 is the int 0
        let text = if text == "-0" { "0".to_owned() } else { text };
        Ok(Scanned::Value(Value::Int(text), i))
    }

    /// `scanstring_unicode`, strict: from after the opening quote to after
    /// the closing one.
    fn string(&self, mut end: usize) -> Result<(String, usize), Error> {
        let begin = end - 1;
        let unterminated = || self.error("Unterminated string starting at", begin);
        let mut out = String::new();
        loop {
            let mut next = end;
            let mut c = None;
            while let Some(ch) = self.at(next) {
                if ch == '"' || ch == '\\' {
                    c = Some(ch);
                    break;
                }
                if u32::from(ch) <= 0x1f {
                    return Err(self.error("Invalid control character at", next));
                }
                next += 1;
            }
            let Some(c) = c else {
                return Err(unterminated());
            };
            out.extend(&self.s[end..next]);
            next += 1;
            if c == '"' {
                return Ok((out, next));
            }
            let Some(escape) = self.at(next) else {
                return Err(unterminated());
            };
            if escape != 'u' {
                end = next + 1;
                let ch = match escape {
                    '"' | '\\' | '/' => escape,
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    _ => return Err(self.error("Invalid \\escape", end - 2)),
                };
                out.push(ch);
                continue;
            }
            next += 1;
            end = next + 4;
            if end >= self.s.len() {
                return Err(self.error("Invalid \\uXXXX escape", next - 1));
            }
            let mut code = self.hex4(next, end)?;
            next = end;
            if (0xd800..0xdc00).contains(&code)
                && end + 6 < self.s.len()
                && self.at(next) == Some('\\')
                && self.at(next + 1) == Some('u')
            {
                let low_end = end + 6;
                let low = self.hex4(next + 2, low_end)?;
                if (0xdc00..0xe000).contains(&low) {
                    code = 0x10000 + (((code - 0xd800) << 10) | (low - 0xdc00));
                    end = low_end;
                }
            }
            // a lone surrogate, which Python keeps, as py-repr's stand-in
            out.extend(char::from_u32(code).or_else(|| py_repr::surrogate_stand_in(code)));
        }
    }

    /// Four hex digits at `from..end` (`end - 5` is where the escape's
    /// error points).
    fn hex4(&self, from: usize, end: usize) -> Result<u32, Error> {
        let mut code = 0u32;
        for i in from..end {
            let d = self
                .at(i)
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.error("Invalid \\uXXXX escape", end - 5))?;
            code = code << 4 | d;
        }
        Ok(code)
    }

    /// `_parse_object_unicode`, from after the `{`.
    fn object(&self, i: usize, depth: usize) -> Result<Scanned, Error> {
        let mut members: Vec<(String, Value)> = Vec::new();
        let mut i = self.skip_ws(i);
        if self.at(i) == Some('}') {
            return Ok(Scanned::Value(Value::Object(members), i + 1));
        }
        loop {
            if self.at(i) != Some('"') {
                return Err(self.error("Expecting property name enclosed in double quotes", i));
            }
            let (key, next) = self.string(i + 1)?;
            i = self.skip_ws(next);
            if self.at(i) != Some(':') {
                return Err(self.error("Expecting ':' delimiter", i));
            }
            i = self.skip_ws(i + 1);
            let value = match self.scan(i, depth)? {
                Scanned::Value(v, end) => {
                    i = end;
                    v
                }
                stop @ Scanned::Stop(_) => return Ok(stop),
            };
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(member) => member.1 = value,
                None => members.push((key, value)),
            }
            i = self.skip_ws(i);
            if self.at(i) == Some('}') {
                return Ok(Scanned::Value(Value::Object(members), i + 1));
            }
            if self.at(i) != Some(',') {
                return Err(self.error("Expecting ',' delimiter", i));
            }
            i = self.skip_ws(i + 1);
        }
    }

    /// `_parse_array_unicode`, from after the `[`.
    fn array(&self, i: usize, depth: usize) -> Result<Scanned, Error> {
        let mut items = Vec::new();
        let mut i = self.skip_ws(i);
        if self.at(i) == Some(']') {
            return Ok(Scanned::Value(Value::Array(items), i + 1));
        }
        loop {
            match self.scan(i, depth)? {
                Scanned::Value(v, end) => {
                    items.push(v);
                    i = end;
                }
                stop @ Scanned::Stop(_) => return Ok(stop),
            }
            i = self.skip_ws(i);
            if self.at(i) == Some(']') {
                return Ok(Scanned::Value(Value::Array(items), i + 1));
            }
            if self.at(i) != Some(',') {
                return Err(self.error("Expecting ',' delimiter", i));
            }
            i = self.skip_ws(i + 1);
        }
    }
}

/// A string as `json.dump` writes it with its default `ensure_ascii=True`
/// (`py_encode_basestring_ascii` in `Modules/_json.c`): quoted, with `"`,
/// `\\` and the short control escapes, every other character outside
/// printable ASCII as a lower-case `\uXXXX` (a UTF-16 pair past U+FFFF),
/// and a lone surrogate as its own `\uXXXX`.
///
/// ```
/// let name = py_repr::PyStr::fsdecode(b"\xc3\xa9\xff\x7f\"");
/// assert_eq!(py_json::encode_str(&name), r#""\u00e9\udcff\u007f\"""#);
/// ```
pub fn encode_str(text: &py_repr::PyStr) -> String {
    use fmt::Write as _;
    let mut out = String::from("\"");
    for &c in text.code_points() {
        match c {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x20..=0x7e => out.extend(char::from_u32(c)),
            0x10000.. => {
                let v = c - 0x10000;
                let _ = write!(
                    out,
                    "\\u{:04x}\\u{:04x}",
                    0xd800 + (v >> 10),
                    0xdc00 + (v & 0x3ff)
                );
            }
            _ => {
                let _ = write!(out, "\\u{c:04x}");
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        loads(text.as_bytes(), 100).unwrap_err().to_string()
    }

    // Expected values are CPython 3.11's `json.loads` messages.
    #[test]
    fn decode_errors_as_python() {
        let cases = [
            ("", "Expecting value: line 1 column 1 (char 0)"),
            ("  \n ", "Expecting value: line 2 column 2 (char 4)"),
            (
                "{",
                "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            ),
            ("[", "Expecting value: line 1 column 2 (char 1)"),
            ("[1,]", "Expecting value: line 1 column 4 (char 3)"),
            (
                "{\"a\":1,}",
                "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)",
            ),
            ("{} x", "Extra data: line 1 column 4 (char 3)"),
            ("01", "Extra data: line 1 column 2 (char 1)"),
            ("[1 2]", "Expecting ',' delimiter: line 1 column 4 (char 3)"),
            (
                "\"ab",
                "Unterminated string starting at: line 1 column 1 (char 0)",
            ),
            (
                "\"a\tb\"",
                "Invalid control character at: line 1 column 3 (char 2)",
            ),
            ("\"\\x\"", "Invalid \\escape: line 1 column 2 (char 1)"),
            (
                "\"\\u12G4\"",
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            (
                "\"\\u123\"",
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            (
                "\u{feff}{}",
                "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)",
            ),
            ("-", "Expecting value: line 1 column 1 (char 0)"),
            ("é x", "Expecting value: line 1 column 1 (char 0)"),
            ("[\"é\", x]", "Expecting value: line 1 column 7 (char 6)"),
        ];
        for (text, expected) in cases {
            assert_eq!(err(text), expected, "{text:?}");
        }
    }

    #[test]
    fn values_as_python_holds_them() {
        let v = loads(
            b"{\"a\": 1, \"b\": [NaN, -Infinity, 1e16, 0.0001, 1e-05, -0], \"a\": 2}",
            10,
        )
        .unwrap();
        assert_eq!(
            v.repr(),
            "{'a': 2, 'b': [nan, -inf, 1e+16, 0.0001, 1e-05, 0]}"
        );
        assert!(loads(b"1.0", 1).unwrap().equals_one());
        assert!(loads(b"true", 1).unwrap().equals_one());
        assert!(!loads(b"\"1\"", 1).unwrap().equals_one());
        assert_eq!(
            loads(b"\"\\ud83d\\ude00\"", 1).unwrap(),
            Value::Str("😀".into())
        );
    }

    #[test]
    fn python_exceptions_outside_the_decoder() {
        let long = "9".repeat(4301);
        assert_eq!(
            loads(long.as_bytes(), 1).unwrap_err(),
            Error::IntTooLong { digits: 4301 }
        );
        assert!(loads("9".repeat(4300).as_bytes(), 1).is_ok());
        assert_eq!(
            loads(b"[[1]]", 1).unwrap_err(),
            Error::TooDeep { array: true }
        );
        assert_eq!(
            loads(b"\xff", 1).unwrap_err().python_exception(),
            "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
        );
    }
}
