//! The Python text crates against the pinned Python: `py-yaml` and
//! `py_json::encode_str` against PyYAML and `json` (the same names, bytes
//! decoded as `os.fsdecode` does, in the places imgtool's `dumpinfo` puts
//! strings, dumped by both, give the same text), `py_repr::str` against
//! `repr()` and py-int's digit classes against `str.isdigit()` and
//! `int()` for every code point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::Stdio;

use py_yaml::{PyStr, Value};

/// Per input line (`context hex-name hex-bytes`): the YAML document, then
/// the JSON string, each as one hex line.
const SCRIPT: &str = r#"
import json, os, sys, yaml
for line in sys.stdin:
    context, name, data = line.split()
    unhex = lambda h: b"" if h == "-" else bytes.fromhex(h)
    name = os.fsdecode(unhex(name))
    data = unhex(data)
    if context == "0":
        doc = {"filename": name, "size": 7}
    elif context == "1":
        doc = {"header": {"version": name, "data": data}}
    else:
        doc = {"tlv_area": {"tlvs": [{"type": 16, "name": name, "data": data}], "empty": {}}}
    print(yaml.dump(doc, sort_keys=False).encode().hex())
    print(json.dumps(name).encode().hex())
"#;

fn document(context: u32, name: &[u8], data: &[u8]) -> Value {
    let map = |entries: Vec<(&str, Value)>| {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    };
    let name = Value::Str(PyStr::fsdecode(name));
    let data = Value::Binary(data.to_vec());
    match context {
        0 => map(vec![("filename", name), ("size", Value::Int(7))]),
        1 => map(vec![(
            "header",
            map(vec![("version", name), ("data", data)]),
        )]),
        _ => map(vec![(
            "tlv_area",
            map(vec![
                (
                    "tlvs",
                    Value::List(vec![map(vec![
                        ("type", Value::Int(16)),
                        ("name", name),
                        ("data", data),
                    ])]),
                ),
                ("empty", map(vec![])),
            ]),
        )]),
    }
}

struct XorShift(u32);

impl XorShift {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }
}

#[test]
fn py_yaml_and_json_strings_match_pyyaml_and_python_json() {
    let Some(python) = crate::support::reference_tool("python") else {
        return;
    };
    // Pieces that decide PyYAML's choices: indicators, what the implicit
    // resolvers read (numbers, booleans, null, dates, sexagesimals),
    // blanks and breaks, non-ASCII and bytes that are not UTF-8.
    let pieces: Vec<&[u8]> = vec![
        b"a",
        b"b",
        b"0",
        b"9",
        b"_",
        b".",
        b"-",
        b"+",
        b":",
        b"#",
        b",",
        b"'",
        b"\"",
        b"?",
        b"!",
        b"[",
        b"}",
        b"&",
        b"*",
        b"|",
        b">",
        b"%",
        b"@",
        b"`",
        b"~",
        b"=",
        b"<",
        b" ",
        b"\t",
        b"\n",
        b"\\",
        b"x",
        b"e",
        b"E",
        b"T",
        b"Z",
        b"0x",
        b"0b",
        b"yes",
        b"No",
        b"null",
        b".inf",
        b".nan",
        b"2024-01-02",
        b" 12:30:45",
        b"1:30",
        b"---",
        b"...",
        "é".as_bytes(),
        "€".as_bytes(),
        "\u{85}".as_bytes(),
        "\u{a0}".as_bytes(),
        "\u{2028}".as_bytes(),
        "\u{feff}".as_bytes(),
        "😀".as_bytes(),
        b"\x7f",
        b"\x00",
        b"\x1b",
        b"\xff",
        b"\xc3",
    ];
    let mut rng = XorShift(0x9e37_79b9);
    let mut inputs: Vec<(u32, Vec<u8>, Vec<u8>)> = Vec::new();
    for round in 0..4000 {
        let mut name = Vec::new();
        if round % 3 == 0 {
            // long names, folded at 80 columns
            let pool: &[&[u8]] = match rng.below(4) {
                0 => &[b"abc", b" ", b"de"],
                1 => &[b"ab", b" ", b"'", "é".as_bytes(), b"\t"],
                2 => &[b"ab", b"\n", b"  ", b"c"],
                _ => &pieces,
            };
            while name.len() < 60 + rng.below(200) {
                name.extend_from_slice(pool[rng.below(pool.len())]);
            }
        } else {
            for _ in 0..rng.below(6) {
                name.extend_from_slice(pieces[rng.below(pieces.len())]);
            }
        }
        let data: Vec<u8> = (0..rng.below(120)).map(|_| rng.next() as u8).collect();
        inputs.push((rng.next() % 3, name, data));
    }
    let lines: String = inputs
        .iter()
        .map(|(c, n, d)| format!("{c} {} {}\n", hex_or_empty(n), hex_or_empty(d)))
        .collect();
    let answer = python_answers(python, SCRIPT, lines);
    let theirs: Vec<&str> = answer.lines().collect();
    assert_eq!(theirs.len(), inputs.len() * 2);
    let mut differences = Vec::new();
    for ((context, name, data), want) in inputs.iter().zip(theirs.chunks(2)) {
        let yaml = py_yaml::dump(&document(*context, name, data));
        let json = py_json::encode_str(&PyStr::fsdecode(name));
        let want_yaml = String::from_utf8(hex::decode(want[0]).unwrap()).unwrap();
        let want_json = String::from_utf8(hex::decode(want[1]).unwrap()).unwrap();
        if yaml != want_yaml || json != want_json {
            differences.push(format!(
                "{name:?} in context {context}\n  python: {want_yaml:?} {want_json}\n  ours:   {yaml:?} {json}"
            ));
        }
    }
    assert_none_differ(&differences, inputs.len());
}

/// `split()` drops an empty field, so an empty value is written as `-`.
fn hex_or_empty(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "-".to_owned()
    } else {
        hex::encode(bytes)
    }
}

/// `repr()` of every code point, one per line; lone surrogates are
/// compared through py-repr's stand-ins for them.
const REPR_SCRIPT: &str = r#"
import sys
sys.stdout.buffer.write("\n".join(repr(chr(c)) for c in range(0x110000)).encode())
"#;

#[test]
fn py_repr_quotes_every_code_point_as_python_repr() {
    let Some(mut python) = crate::support::reference_tool("python") else {
        return;
    };
    let out = python.args(["-c", REPR_SCRIPT]).output().unwrap();
    assert!(out.status.success(), "python: {out:?}");
    let theirs: Vec<&str> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .split('\n')
        .collect();
    assert_eq!(theirs.len(), 0x110000);
    let stand_ins = u32::from(py_repr::surrogate_stand_in(0xd800).unwrap());
    let mut differences = Vec::new();
    for (code, want) in (0u32..).zip(&theirs) {
        let c = match char::from_u32(code) {
            Some(c) if !(stand_ins..stand_ins + 0x800).contains(&code) => c,
            // the stand-ins' own code points are the surrogates' in py-repr
            Some(_) => continue,
            None => py_repr::surrogate_stand_in(code).unwrap(),
        };
        let ours = py_repr::str(&c.to_string());
        if ours != *want {
            differences.push(format!("U+{code:04X}: python {want} ours {ours}"));
        }
    }
    assert_none_differ(&differences, 0x110000);
}

/// For every code point: its decimal value (`0`-`9`) when `int()` reads it,
/// `d` when only `str.isdigit()` holds, `-` otherwise.
const DIGIT_SCRIPT: &str = r#"
import sys
def cls(c):
    if c.isdecimal():
        return str(int(c))
    return "d" if c.isdigit() else "-"
sys.stdout.write("".join(cls(chr(c)) for c in range(0x110000)))
"#;

#[test]
fn py_int_digit_classes_match_python_for_every_code_point() {
    let Some(mut python) = crate::support::reference_tool("python") else {
        return;
    };
    let out = python.args(["-c", DIGIT_SCRIPT]).output().unwrap();
    assert!(out.status.success(), "python: {out:?}");
    assert_eq!(out.stdout.len(), 0x110000);
    let mut differences = Vec::new();
    for (code, want) in (0u32..).zip(&out.stdout) {
        let Some(c) = char::from_u32(code) else {
            continue;
        };
        let ours = match (py_int::decimal_digit(c), py_int::is_digit(c)) {
            (Some(d), true) => b'0' + d as u8,
            (None, true) => b'd',
            (None, false) => b'-',
            (Some(_), false) => b'?',
        };
        if ours != *want {
            differences.push(format!(
                "U+{code:04X}: python {} ours {}",
                *want as char, ours as char
            ));
        }
    }
    assert_none_differ(&differences, 0x110000);
}

/// Per input line (hex bytes): the file read as Python's `open()` reads
/// it, split by `str.splitlines()`, each line stripped by `str.strip()`,
/// as a JSON list (or `null` when the bytes are not UTF-8).
const LINES_SCRIPT: &str = r#"
import io, json, sys
for line in sys.stdin:
    data = bytes.fromhex(line.strip())
    try:
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()
    except UnicodeDecodeError:
        print("null")
        continue
    print(json.dumps([l.strip() for l in text.splitlines()]))
"#;

#[test]
fn py_repr_text_files_split_and_strip_as_python() {
    let Some(python) = crate::support::reference_tool("python") else {
        return;
    };
    let pieces: [&[u8]; 21] = [
        b"a",
        b"#",
        b" ",
        b"\t",
        b"\r",
        b"\n",
        b"\r\n",
        b"\x0b",
        b"\x0c",
        b"\x1c",
        b"\x1d",
        b"\x1e",
        b"\x1f",
        "\u{85}".as_bytes(),
        "\u{a0}".as_bytes(),
        "\u{2028}".as_bytes(),
        "\u{2029}".as_bytes(),
        "\u{3000}".as_bytes(),
        "\u{200b}".as_bytes(),
        "\u{feff}".as_bytes(),
        b"\xff",
    ];
    let mut rng = XorShift(0x1234_5678);
    let inputs: Vec<Vec<u8>> = (0..3000)
        .map(|_| {
            let mut bytes = Vec::new();
            for _ in 0..rng.below(12) {
                bytes.extend_from_slice(pieces[rng.below(pieces.len())]);
            }
            bytes
        })
        .collect();
    // an empty input is written as one space (stripped back to nothing)
    let lines: String = inputs
        .iter()
        .map(|b| format!("{} \n", hex::encode(b)))
        .collect();
    let answer = python_answers(python, LINES_SCRIPT, lines);
    let theirs: Vec<&str> = answer.lines().collect();
    assert_eq!(theirs.len(), inputs.len());
    let mut differences = Vec::new();
    for (bytes, want) in inputs.iter().zip(theirs) {
        let ours = match py_repr::text::read_text(bytes) {
            Err(_) => "null".to_owned(),
            Ok(text) => {
                let lines: Vec<String> = py_repr::text::splitlines(&text)
                    .into_iter()
                    .map(|l| py_json::encode_str(&PyStr::from(py_repr::text::strip(l))))
                    .collect();
                format!("[{}]", lines.join(", "))
            }
        };
        if ours != want {
            differences.push(format!("{bytes:x?}\n  python: {want}\n  ours:   {ours}"));
        }
    }
    assert_none_differ(&differences, inputs.len());
}

/// Fails listing the first 40 of `differences` (out of `of` compared).
fn assert_none_differ(differences: &[String], of: usize) {
    assert!(
        differences.is_empty(),
        "{} of {of} differ:\n{}",
        differences.len(),
        differences[..differences.len().min(40)].join("\n")
    );
}

/// Runs `script` with `python`, `input` on its standard input, and returns
/// what it printed. Python answers while it reads, so the input is fed
/// from a thread: neither side waits on a full pipe.
fn python_answers(mut python: std::process::Command, script: &str, input: String) -> String {
    let mut child = python
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "python: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}
