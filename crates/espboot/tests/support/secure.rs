//! Shared helpers of the `secure_*` interop tests: one Python process runs
//! a whole batch of espsecure commands (and a few `cryptography` helpers
//! for fixtures espsecure cannot produce), instead of one process each.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use serde_json::{json, Value};

/// Runs each step in one Python interpreter next to the pinned espsecure.
/// Steps:
/// * `{"espsecure": [argv...]}` -> `{"ok": bool, "stdout": str, "error": str}`
/// * `{"pss": [key_pem, data, out]}`: RSA-PSS (SHA-256, MGF1, salt 32) over
///   SHA-256(data), raw big-endian, as `openssl pkeyutl` would write it.
/// * `{"pkcs1v15": [key_pem, data, out]}`: a PKCS#1 v1.5 signature (the
///   wrong padding users produce with `openssl dgst -sign`).
/// * `{"ecdsa_der": [key_pem, data, out]}`: DER ECDSA over SHA-256
///   (SHA-384 for P-384) of data.
/// * `{"genkey": ["rsa2048" | "p521", out]}`: keys of unsupported types.
pub const PYTHON_BATCH: &str = r#"
import contextlib, io, json, sys
import espsecure
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

def load(p):
    with open(p, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)

def digest(data, h):
    d = hashes.Hash(h); d.update(data); return d.finalize()

out = []
for step in json.load(sys.stdin):
    if "espsecure" in step:
        buf = io.StringIO(); err = ""
        ok = True
        with contextlib.redirect_stdout(buf):
            try:
                espsecure.main(step["espsecure"])
            except BaseException as e:
                ok = False; err = type(e).__name__ + ": " + str(e)
        out.append({"ok": ok, "stdout": buf.getvalue(), "error": err})
        continue
    (kind, args), = step.items()
    if kind == "genkey":
        k = rsa.generate_private_key(65537, 2048) if args[0] == "rsa2048" else ec.generate_private_key(ec.SECP521R1())
        pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
        open(args[1], "wb").write(pem)
    else:
        key = load(args[0]); data = open(args[1], "rb").read()
        if kind == "pss":
            sig = key.sign(digest(data, hashes.SHA256()), padding.PSS(padding.MGF1(hashes.SHA256()), 32), utils.Prehashed(hashes.SHA256()))
        elif kind == "pkcs1v15":
            sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        else:
            h = hashes.SHA384() if key.curve.key_size == 384 else hashes.SHA256()
            sig = key.sign(digest(data, h), ec.ECDSA(utils.Prehashed(h)))
        open(args[2], "wb").write(sig)
    out.append({"ok": True})
json.dump(out, sys.stdout)
"#;

/// Runs `steps` (see [`PYTHON_BATCH`]) with `cwd` as working directory.
/// Returns `None` when interop tests are deliberately skipped.
pub fn python_batch(cwd: &Path, steps: &[Value]) -> Option<Vec<Value>> {
    // Checks the pinned tool is installed (or that interop is skipped).
    crate::support::reference_tool("espsecure")?;
    let python = crate::support::reference_bin_dir().join("python");
    let mut child = std::process::Command::new(python)
        .arg("-c")
        .arg(PYTHON_BATCH)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the reference Python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json!(steps).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python batch failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Rich may print to the real stdout before our JSON; the JSON is last.
    let text = String::from_utf8(out.stdout).unwrap();
    let start = text.rfind("[{").or_else(|| text.rfind("[]")).unwrap();
    Some(serde_json::from_str(&text[start..]).unwrap())
}

/// A step running espsecure with `argv`.
pub fn espsecure(argv: &[&str]) -> Value {
    json!({ "espsecure": argv })
}

/// Deterministic test data.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
