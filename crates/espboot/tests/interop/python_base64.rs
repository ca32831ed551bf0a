//! The `py-base64` crate against the pinned Python's `base64` module: the
//! same inputs decoded by `b64decode` and `urlsafe_b64decode`, as `bytes`
//! and as `str`, give the same bytes or the same exception and message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::Stdio;

use py_base64::{decode, decode_str, Alphabet};

/// Python's verdicts on each input (one hex line each): per input, four
/// lines, for `b64decode(bytes)`, `urlsafe_b64decode(bytes)`, and the
/// same two of the `str` when the input is UTF-8 (`-` otherwise).
const SCRIPT: &str = r#"
import base64, binascii, sys
def show(f, x):
    try:
        return "ok " + f(x).hex()
    except (binascii.Error, ValueError) as e:
        name = "binascii.Error" if isinstance(e, binascii.Error) else type(e).__name__
        return "err " + name + ": " + str(e)
for line in sys.stdin:
    data = bytes.fromhex(line.strip())
    print(show(base64.b64decode, data))
    print(show(base64.urlsafe_b64decode, data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        print("-"); print("-"); continue
    print(show(base64.b64decode, text))
    print(show(base64.urlsafe_b64decode, text))
"#;

/// Ours, in the script's notation.
fn show(result: Result<Vec<u8>, py_base64::DecodeError>) -> String {
    match result {
        Ok(bytes) => format!("ok {}", hex::encode(bytes)),
        Err(e) => format!("err {}: {e}", e.exception()),
    }
}

#[test]
fn py_base64_decodes_as_python() {
    let Some(mut python) = crate::support::reference_tool("python") else {
        return;
    };
    let mut inputs: Vec<Vec<u8>> = [
        &b""[..],
        b"QUJD",
        b"QUJDRA==",
        b"QUJDRA=",
        b"QUJDRA",
        b"QUJDREU",
        b"QUJDREU=",
        b"A",
        b"AB CD\nE",
        b"AB=CDEF=GH==",
        b"ABC=DEFG",
        b"A=B=C=D=",
        b"=AB=",
        b"====",
        b"AB==CD==",
        b"-_+/",
        b"-_+",
        b"!!!! \xff\xfe",
        b"\xc3\xa9QUJD",
        b" Q U J D \r\n",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    // many short strings over the characters that matter: data characters
    // of either alphabet, padding, whitespace and stray bytes
    let alphabet = b"AQg+/-_= \n!\xc3\xa9";
    let mut state = 0x2545_f491_u32;
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let len = (state % 11) as usize;
        let mut s = Vec::with_capacity(len);
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            s.push(alphabet[(state % alphabet.len() as u32) as usize]);
        }
        inputs.push(s);
    }
    let mut child = python
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let lines: String = inputs.iter().map(|i| hex::encode(i) + "\n").collect();
    stdin.write_all(lines.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python: {out:?}");
    let theirs: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(theirs.len(), inputs.len() * 4);
    let mut differences = Vec::new();
    for (input, want) in inputs.iter().zip(theirs.chunks(4)) {
        let text = std::str::from_utf8(input).ok();
        let got = [
            show(decode(input, Alphabet::Standard)),
            show(decode(input, Alphabet::UrlSafe)),
            text.map_or("-".to_owned(), |t| show(decode_str(t, Alphabet::Standard))),
            text.map_or("-".to_owned(), |t| show(decode_str(t, Alphabet::UrlSafe))),
        ];
        if want != got {
            differences.push(format!("{input:?}\n  python: {want:?}\n  ours:   {got:?}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
