//! YAML as PyYAML 6's `yaml.dump(value, sort_keys=False)` writes it.
//!
//! imgtool's `dumpinfo -f yaml` hands its image summary to PyYAML, and a
//! script that reads the text back (or diffs it) sees PyYAML's choices:
//! block style, which strings stay plain and which are quoted, how quotes
//! and escapes are written, where a long line is folded, and `!!binary`
//! for bytes. This crate makes the same choices for the values such a
//! summary holds: integers, strings, bytes, and mappings and sequences of
//! them. It follows `yaml/emitter.py` (`analyze_scalar`,
//! `choose_scalar_style`, `write_plain`, `write_single_quoted`,
//! `write_double_quoted`, `write_literal`), `yaml/resolver.py` (the
//! implicit resolvers that make `0x10`, `yes` or `2024-01-01` need quotes)
//! and `yaml/representer.py` (`represent_binary`), with the `Dumper`'s
//! defaults: width 80, indent 2, no Unicode (`allow_unicode=False`).
//!
//! Strings are Python strings ([`PyStr`]), so a file name that is not
//! UTF-8 keeps its surrogate escapes, which PyYAML writes as `\uDCFF`.
//!
//! ```
//! use py_yaml::Value;
//! let doc = Value::Map(vec![
//!     ("filename".into(), Value::Str("0x10".into())),
//!     ("size".into(), Value::Int(16)),
//!     ("tlvs".into(), Value::List(vec![Value::Map(vec![
//!         ("data".into(), Value::Binary(b"\x01\x02".to_vec())),
//!     ])])),
//! ]);
//! assert_eq!(
//!     py_yaml::dump(&doc),
//!     "filename: '0x10'\nsize: 16\ntlvs:\n- data: !!binary |\n    AQI=\n",
//! );
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

pub use py_repr::PyStr;

/// `Emitter.best_width`: lines are folded past this column.
const BEST_WIDTH: usize = 80;
/// `Emitter.best_indent`.
const BEST_INDENT: usize = 2;
/// `base64.encodebytes` writes lines of this many characters.
const BASE64_LINE: usize = 76;

/// A value as Python holds it before `yaml.dump`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An `int`.
    Int(i128),
    /// A `str`.
    Str(PyStr),
    /// A `bytes` value, written as `!!binary`.
    Binary(Vec<u8>),
    /// A `dict`, in insertion order (`sort_keys=False`). Keys are written
    /// as simple keys, so they must be single-line and shorter than 128
    /// characters, as PyYAML's `check_simple_key` wants.
    Map(Vec<(String, Value)>),
    /// A `list`.
    List(Vec<Value>),
}

/// `yaml.dump(value, sort_keys=False)`: the whole document, ending in a
/// line break.
pub fn dump(value: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        indent: 0,
    };
    e.node(value, 0, Context::Root);
    // expect_document_end: write_indent()
    e.indent = 0;
    e.write_indent();
    e.out
}

/// Where a node stands, which decides its indentation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    MappingValue,
    SequenceItem,
}

/// The part of PyYAML's `Emitter` state that decides the text.
struct Emitter {
    out: String,
    column: usize,
    /// The last character written was whitespace.
    whitespace: bool,
    /// Only indentation has been written on this line.
    indention: bool,
    /// `Emitter.indent` while a scalar is written.
    indent: usize,
}

fn is_break(c: u32) -> bool {
    matches!(c, 0x0a | 0x85 | 0x2028 | 0x2029)
}

/// `'\0 \t\r\n\x85\u2028\u2029'`.
fn is_blank_or_break(c: u32) -> bool {
    matches!(c, 0 | 0x20 | 0x09 | 0x0d) || is_break(c)
}

fn is_printable_ascii(c: u32) -> bool {
    (0x20..=0x7e).contains(&c)
}

impl Emitter {
    fn push_points(&mut self, points: &[u32]) {
        for &c in points {
            // Only printable ASCII, line breaks and (single-quoted) Unicode
            // reach here; a surrogate is always escaped first.
            self.out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
        }
        self.column += points.len();
    }

    fn push_str(&mut self, text: &str) {
        self.out.push_str(text);
        self.column += text.chars().count();
    }

    fn write_indicator(&mut self, indicator: &str, need_whitespace: bool, whitespace: bool) {
        if !self.whitespace && need_whitespace {
            self.push_str(" ");
        }
        self.push_str(indicator);
        self.whitespace = whitespace;
        self.indention = false;
    }

    /// `write_indicator` for `-`, which keeps the line's indention.
    fn write_dash(&mut self) {
        if !self.whitespace {
            self.push_str(" ");
        }
        self.push_str("-");
        self.whitespace = false;
    }

    fn write_indent(&mut self) {
        let indent = self.indent;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break(None);
        }
        if self.column < indent {
            self.whitespace = true;
            for _ in self.column..indent {
                self.out.push(' ');
            }
            self.column = indent;
        }
    }

    fn write_line_break(&mut self, brk: Option<u32>) {
        match brk.and_then(char::from_u32) {
            Some(c) => self.out.push(c),
            None => self.out.push('\n'),
        }
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
    }

    /// A node with its parent's indentation `parent`.
    fn node(&mut self, value: &Value, parent: usize, context: Context) {
        match value {
            Value::Map(entries) if !entries.is_empty() => {
                // increase_indent(flow=False): the root mapping is at 0
                let indent = if context == Context::Root {
                    0
                } else {
                    parent + BEST_INDENT
                };
                for (key, item) in entries {
                    self.indent = indent;
                    self.write_indent();
                    // the key: a simple key, never split
                    self.indent = indent + BEST_INDENT;
                    self.scalar(&PyStr::from(key.as_str()), true);
                    self.write_indicator(":", false, false);
                    self.node(item, indent, Context::MappingValue);
                }
            }
            Value::List(items) if !items.is_empty() => {
                // a sequence that is a mapping's value is not indented
                let indentless = context == Context::MappingValue && !self.indention;
                let indent = match context {
                    Context::Root => 0,
                    _ if indentless => parent,
                    _ => parent + BEST_INDENT,
                };
                for item in items {
                    self.indent = indent;
                    self.write_indent();
                    self.write_dash();
                    self.node(item, indent, Context::SequenceItem);
                }
            }
            // check_empty_mapping / check_empty_sequence: flow style
            Value::Map(_) => {
                self.write_indicator("{", true, true);
                self.write_indicator("}", false, false);
            }
            Value::List(_) => {
                self.write_indicator("[", true, true);
                self.write_indicator("]", false, false);
            }
            Value::Int(n) => {
                self.indent = scalar_indent(parent, context);
                let digits: Vec<u32> = alloc::format!("{n}").bytes().map(u32::from).collect();
                self.write_plain(&digits, true);
            }
            Value::Str(text) => {
                self.indent = scalar_indent(parent, context);
                self.scalar(text, false);
            }
            Value::Binary(data) => {
                self.indent = scalar_indent(parent, context);
                self.write_indicator("!!binary", true, false);
                let text = encodebytes(data);
                if text.is_empty() {
                    // an empty literal is not allowed: double quotes
                    self.write_double_quoted(&[], true);
                } else {
                    self.write_literal(text.as_bytes());
                }
            }
        }
    }

    /// `choose_scalar_style` and `process_scalar` for a `str` (implicit
    /// tag, no requested style).
    fn scalar(&mut self, text: &PyStr, simple_key: bool) {
        let text = text.code_points();
        let analysis = analyze_scalar(text);
        let split = !simple_key;
        // block context: flow_level is 0
        let plain_allowed =
            !(simple_key && (analysis.empty || analysis.multiline)) && analysis.allow_block_plain;
        if plain_allowed && resolves_as_str(text) {
            self.write_plain(text, split);
        } else if analysis.allow_single_quoted && !(simple_key && analysis.multiline) {
            self.write_single_quoted(text, split);
        } else {
            self.write_double_quoted(text, split);
        }
    }

    fn write_plain(&mut self, text: &[u32], split: bool) {
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.push_str(" ");
        }
        self.whitespace = false;
        self.indention = false;
        let (mut spaces, mut breaks) = (false, false);
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(0x20) {
                    if start + 1 == end && self.column > BEST_WIDTH && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.push_points(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    self.write_breaks(&text[start..end]);
                    self.whitespace = false;
                    self.indention = false;
                    start = end;
                }
            } else if ch.is_none_or(|c| c == 0x20 || is_break(c)) {
                self.push_points(&text[start..end]);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == 0x20;
                breaks = is_break(c);
            }
        }
    }

    /// A run of line breaks inside a plain or single-quoted scalar: a
    /// leading `\n` doubled (a single one would read back as a space),
    /// each break written, then the indentation.
    fn write_breaks(&mut self, breaks: &[u32]) {
        if breaks.first() == Some(&0x0a) {
            self.write_line_break(None);
        }
        for &br in breaks {
            self.write_line_break((br != 0x0a).then_some(br));
        }
        self.write_indent();
    }

    fn write_single_quoted(&mut self, text: &[u32], split: bool) {
        self.write_indicator("'", true, false);
        let (mut spaces, mut breaks) = (false, false);
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(0x20) {
                    if start + 1 == end
                        && self.column > BEST_WIDTH
                        && split
                        && start != 0
                        && end != text.len()
                    {
                        self.write_indent();
                    } else {
                        self.push_points(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    self.write_breaks(&text[start..end]);
                    start = end;
                }
            } else if ch.is_none_or(|c| c == 0x20 || c == 0x27 || is_break(c)) && start < end {
                self.push_points(&text[start..end]);
                start = end;
            }
            if ch == Some(0x27) {
                self.push_str("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == 0x20;
                breaks = is_break(c);
            }
        }
        self.write_indicator("'", false, false);
    }

    fn write_double_quoted(&mut self, text: &[u32], split: bool) {
        self.write_indicator("\"", true, false);
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            let escaped = match ch {
                None => true,
                Some(c) => {
                    matches!(c, 0x22 | 0x5c | 0x85 | 0x2028 | 0x2029 | 0xfeff)
                        || !is_printable_ascii(c)
                }
            };
            if escaped {
                if start < end {
                    self.push_points(&text[start..end]);
                    start = end;
                }
                if let Some(c) = ch {
                    let escape = double_quoted_escape(c);
                    self.push_str(&escape);
                    start = end + 1;
                }
            }
            if 0 < end
                && end + 1 < text.len()
                && (ch == Some(0x20) || start >= end)
                // `end - start` is -1 right after an escape
                && self.column + end > BEST_WIDTH + start
                && split
            {
                let run = &text[start.min(end)..end];
                self.push_points(run);
                self.push_str("\\");
                if start < end {
                    start = end;
                }
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if text.get(start) == Some(&0x20) {
                    self.push_str("\\");
                }
            }
        }
        self.write_indicator("\"", false, false);
    }

    /// `write_literal` of base64 text, which has no leading space and ends
    /// in one line break (hints `""`).
    fn write_literal(&mut self, text: &[u8]) {
        self.write_indicator("|", true, false);
        self.write_line_break(None);
        for line in text.split_inclusive(|&b| b == b'\n') {
            self.write_indent();
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            for &b in body {
                self.out.push(char::from(b));
            }
            self.column += body.len();
            self.write_line_break(None);
        }
    }
}

/// `Emitter.indent` while a scalar is written: `increase_indent(flow=True)`
/// adds one step to its parent's.
fn scalar_indent(parent: usize, context: Context) -> usize {
    match context {
        Context::Root => 0,
        _ => parent + BEST_INDENT,
    }
}

/// `write_double_quoted`'s escape of one character (`ESCAPE_REPLACEMENTS`,
/// then `\xXX`, `\uXXXX`, `\UXXXXXXXX` in upper case).
fn double_quoted_escape(c: u32) -> String {
    let short = match c {
        0x00 => Some('0'),
        0x07 => Some('a'),
        0x08 => Some('b'),
        0x09 => Some('t'),
        0x0a => Some('n'),
        0x0b => Some('v'),
        0x0c => Some('f'),
        0x0d => Some('r'),
        0x1b => Some('e'),
        0x22 => Some('"'),
        0x5c => Some('\\'),
        0x85 => Some('N'),
        0xa0 => Some('_'),
        0x2028 => Some('L'),
        0x2029 => Some('P'),
        _ => None,
    };
    let mut out = String::from("\\");
    match short {
        Some(s) => out.push(s),
        None if c <= 0xff => {
            let _ = write!(out, "x{c:02X}");
        }
        None if c <= 0xffff => {
            let _ = write!(out, "u{c:04X}");
        }
        None => {
            let _ = write!(out, "U{c:08X}");
        }
    }
    out
}

/// `base64.encodebytes`: standard base64 in lines of 76 characters, each
/// ending in a line break.
fn encodebytes(data: &[u8]) -> String {
    use base64ct::Encoding as _;
    let text = base64ct::Base64::encode_string(data);
    let mut out = String::with_capacity(text.len() + text.len() / BASE64_LINE + 1);
    for line in text.as_bytes().chunks(BASE64_LINE) {
        out.extend(line.iter().map(|&b| char::from(b)));
        out.push('\n');
    }
    out
}

/// The part of `ScalarAnalysis` the style choice reads.
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

/// `Emitter.analyze_scalar` with `allow_unicode=False`.
fn analyze_scalar(s: &[u32]) -> Analysis {
    if s.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let starts = |prefix: &str| {
        s.len() >= prefix.len() && prefix.bytes().zip(s).all(|(a, &b)| u32::from(a) == b)
    };
    let mut block_indicators = starts("---") || starts("...");
    let mut line_breaks = false;
    let mut special_characters = false;
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let mut preceded_by_whitespace = true;
    let mut followed_by_whitespace = s.len() == 1 || is_blank_or_break(s[1]);
    let (mut previous_space, mut previous_break) = (false, false);
    let is = |c: u32, set: &str| set.chars().any(|x| u32::from(x) == c);
    for (index, &ch) in s.iter().enumerate() {
        if index == 0 {
            if is(ch, "#,[]{}&*!|>'\"%@`") {
                block_indicators = true;
            }
            if is(ch, "?:") && followed_by_whitespace {
                block_indicators = true;
            }
            if ch == u32::from(b'-') && followed_by_whitespace {
                block_indicators = true;
            }
        } else {
            if ch == u32::from(b':') && followed_by_whitespace {
                block_indicators = true;
            }
            if ch == u32::from(b'#') && preceded_by_whitespace {
                block_indicators = true;
            }
        }
        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == 0x0a || is_printable_ascii(ch)) {
            // Unicode characters are special too without allow_unicode.
            special_characters = true;
        }
        if ch == 0x20 {
            leading_space |= index == 0;
            trailing_space |= index == s.len() - 1;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(ch) {
            leading_break |= index == 0;
            trailing_break |= index == s.len() - 1;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank_or_break(ch);
        followed_by_whitespace = index + 2 >= s.len() || is_blank_or_break(s[index + 2]);
    }
    let mut allow_block_plain = true;
    let mut allow_single_quoted = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        allow_block_plain = false;
    }
    if break_space {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if space_break || special_characters {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if line_breaks || block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        empty: false,
        multiline: line_breaks,
        allow_block_plain,
        allow_single_quoted,
    }
}

/// Whether `Resolver.resolve(ScalarNode, text, (True, False))` finds no
/// implicit tag, so the plain text would read back as the same `str`.
fn resolves_as_str(s: &[u32]) -> bool {
    // Every implicit resolver's pattern is ASCII.
    let Some(ascii) = s
        .iter()
        .map(|&c| u8::try_from(c).ok().filter(u8::is_ascii))
        .collect::<Option<Vec<u8>>>()
    else {
        return true;
    };
    // Python's `$` also matches before a final line break.
    let body = ascii.strip_suffix(b"\n").unwrap_or(&ascii);
    let implicit = |t: &[u8]| {
        is_bool(t)
            || is_float(t)
            || is_int(t)
            || is_null(t)
            || is_timestamp(t)
            || matches!(t, b"<<" | b"=" | b"!" | b"&" | b"*")
    };
    !(implicit(&ascii) || implicit(body))
}

fn is_bool(t: &[u8]) -> bool {
    matches!(
        t,
        b"yes"
            | b"Yes"
            | b"YES"
            | b"no"
            | b"No"
            | b"NO"
            | b"true"
            | b"True"
            | b"TRUE"
            | b"false"
            | b"False"
            | b"FALSE"
            | b"on"
            | b"On"
            | b"ON"
            | b"off"
            | b"Off"
            | b"OFF"
    )
}

fn is_null(t: &[u8]) -> bool {
    matches!(t, b"" | b"~" | b"null" | b"Null" | b"NULL")
}

/// Skips an optional sign.
fn unsigned(t: &[u8]) -> &[u8] {
    t.strip_prefix(b"-")
        .or_else(|| t.strip_prefix(b"+"))
        .unwrap_or(t)
}

/// The length of the run at the start of `t` whose bytes satisfy `f`.
fn run(t: &[u8], f: impl Fn(u8) -> bool) -> usize {
    t.iter().take_while(|&&b| f(b)).count()
}

fn digit_or_underscore(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

/// `(?::[0-5]?[0-9])+`: the length matched, at least one group.
fn sexagesimal(t: &[u8]) -> Option<usize> {
    let mut at = 0;
    while t.get(at) == Some(&b':') {
        let a = t.get(at + 1).copied().filter(u8::is_ascii_digit)?;
        // two digits when the first may lead (0-5) and a second follows
        let two = (b'0'..=b'5').contains(&a) && t.get(at + 2).is_some_and(u8::is_ascii_digit);
        at += if two { 3 } else { 2 };
    }
    (at > 0).then_some(at)
}

/// `[eE][-+][0-9]+` or nothing, to the end.
fn exponent_to_end(t: &[u8]) -> bool {
    match t {
        [] => true,
        [b'e' | b'E', b'-' | b'+', rest @ ..] => {
            !rest.is_empty() && rest.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

fn is_float(t: &[u8]) -> bool {
    let u = unsigned(t);
    // [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
    if u.first().is_some_and(u8::is_ascii_digit) {
        let int = run(u, digit_or_underscore);
        if u.get(int) == Some(&b'.') {
            let frac = run(&u[int + 1..], digit_or_underscore);
            if exponent_to_end(&u[int + 1 + frac..]) {
                return true;
            }
        }
        // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        if let Some(len) = sexagesimal(&u[int..]) {
            let rest = &u[int + len..];
            if rest.first() == Some(&b'.') && rest[1..].iter().all(|&b| digit_or_underscore(b)) {
                return true;
            }
        }
    }
    // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?  (no sign)
    if let [b'.', first, rest @ ..] = t {
        if first.is_ascii_digit() {
            let n = run(rest, digit_or_underscore);
            if exponent_to_end(&rest[n..]) {
                return true;
            }
        }
    }
    // [-+]?\.(?:inf|Inf|INF) and \.(?:nan|NaN|NAN)
    matches!(u, b".inf" | b".Inf" | b".INF") || matches!(t, b".nan" | b".NaN" | b".NAN")
}

fn is_int(t: &[u8]) -> bool {
    let u = unsigned(t);
    let all = |s: &[u8], f: fn(u8) -> bool| !s.is_empty() && s.iter().all(|&b| f(b));
    if let Some(rest) = u.strip_prefix(b"0b") {
        if all(rest, |b| matches!(b, b'0' | b'1' | b'_')) {
            return true;
        }
    }
    if let Some(rest) = u.strip_prefix(b"0x") {
        if all(rest, |b| b.is_ascii_hexdigit() || b == b'_') {
            return true;
        }
    }
    if let Some(rest) = u.strip_prefix(b"0") {
        // 0[0-7_]+ or a lone 0
        if rest.is_empty() || all(rest, |b| matches!(b, b'0'..=b'7' | b'_')) {
            return true;
        }
    }
    if matches!(u.first(), Some(b'1'..=b'9')) {
        let n = run(u, digit_or_underscore);
        if n == u.len() {
            return true;
        }
        // [1-9][0-9_]*(?::[0-5]?[0-9])+
        if sexagesimal(&u[n..]) == Some(u.len() - n) {
            return true;
        }
    }
    false
}

fn is_timestamp(t: &[u8]) -> bool {
    let digits = |s: &[u8], at: usize, n: usize| {
        s.get(at..at + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    // [0-9]{4}-[0-9][0-9]-[0-9][0-9]
    if t.len() == 10
        && digits(t, 0, 4)
        && t[4] == b'-'
        && digits(t, 5, 2)
        && t[7] == b'-'
        && digits(t, 8, 2)
    {
        return true;
    }
    // [0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9]{2}:[0-9]{2}
    // (?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
    if !(digits(t, 0, 4) && t.get(4) == Some(&b'-')) {
        return false;
    }
    let mut at = 5;
    let one_or_two = |at: &mut usize| -> bool {
        let n = run(&t[*at..], |b| b.is_ascii_digit()).min(2);
        *at += n;
        n > 0
    };
    // The one- or two-digit groups are followed by non-digits, so taking
    // as many digits as fit is the only way they can match.
    if !one_or_two(&mut at) || t.get(at) != Some(&b'-') {
        return false;
    }
    at += 1;
    if !one_or_two(&mut at) {
        return false;
    }
    match t.get(at) {
        Some(b'T' | b't') => at += 1,
        Some(b' ' | b'\t') => at += run(&t[at..], |b| b == b' ' || b == b'\t'),
        _ => return false,
    }
    if !one_or_two(&mut at) {
        return false;
    }
    for _ in 0..2 {
        if t.get(at) != Some(&b':') || !digits(t, at + 1, 2) {
            return false;
        }
        at += 3;
    }
    if t.get(at) == Some(&b'.') {
        at += 1 + run(&t[at + 1..], |b| b.is_ascii_digit());
    }
    let zone = &t[at..];
    if zone.is_empty() {
        return true;
    }
    let zone = &zone[run(zone, |b| b == b' ' || b == b'\t')..];
    match zone {
        b"Z" => true,
        [b'-' | b'+', rest @ ..] => {
            let h = run(rest, |b| b.is_ascii_digit());
            match (h, &rest[h.min(rest.len())..]) {
                (1 | 2, []) => true,
                (1 | 2, [b':', m1, m2]) => m1.is_ascii_digit() && m2.is_ascii_digit(),
                _ => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn filename(name: &str) -> String {
        dump(&Value::Map(vec![(
            "filename".into(),
            Value::Str(name.into()),
        )]))
    }

    // Expected texts are PyYAML 6.0's `yaml.dump({"filename": name})`.
    #[test]
    fn strings_that_read_as_other_types_are_quoted() {
        for quoted in [
            "0x10",
            "0b101",
            "1_000",
            "017",
            "1.5",
            ".5",
            "1e5x",
            "yes",
            "NO",
            "off",
            "~",
            "null",
            "",
            "2024-01-01",
            "1:30",
            "1:30.5",
            ".inf",
            "-.INF",
            ".nan",
            "<<",
            "=",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
        ] {
            let want = if quoted == "1e5x" {
                "filename: 1e5x\n".into()
            } else {
                alloc::format!("filename: '{quoted}'\n")
            };
            assert_eq!(filename(quoted), want, "{quoted:?}");
        }
        for plain in [
            "y", "n", "it's", "a,b", "p.bin", "1.2.3+4", "0o17", "1e5", "+",
        ] {
            let want = alloc::format!("filename: {plain}\n");
            assert_eq!(filename(plain), want, "{plain:?}");
        }
    }

    #[test]
    fn indicators_and_escapes_follow_pyyaml() {
        assert_eq!(filename("-a"), "filename: -a\n");
        assert_eq!(filename("- a"), "filename: '- a'\n");
        assert_eq!(filename("a: b"), "filename: 'a: b'\n");
        assert_eq!(filename("a #b"), "filename: 'a #b'\n");
        assert_eq!(filename("#a"), "filename: '#a'\n");
        assert_eq!(filename("é.bin"), "filename: \"\\xE9.bin\"\n");
        assert_eq!(filename("a\tb"), "filename: \"a\\tb\"\n");
        assert_eq!(filename("€\u{1f600}"), "filename: \"\\u20AC\\U0001F600\"\n");
        let surrogate = dump(&Value::Map(vec![(
            "filename".into(),
            Value::Str(PyStr::fsdecode(b"\xff.bin")),
        )]));
        assert_eq!(surrogate, "filename: \"\\uDCFF.bin\"\n");
    }
}
