//! `espboot image` against imgtool 2.5.0: byte-identical signing over a
//! matrix of flags (Ed25519 and unsigned), cross-verification for RSA and
//! ECDSA in both directions, corrupted images, key files, encryption, and
//! the bad-input cases of the issue.
//!
//! imgtool runs in one Python process per test (a batch driver calling its
//! click entry point), not once per image, to keep the suite fast.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use mcuboot_image::{validate, HashAlg, ImageHeader, SignatureKind, ValidateOptions};

/// The imgtool-generated fixtures of the mcuboot-image crate (see its README).
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mcuboot-image/tests/data")
}

/// Runs many imgtool command lines in one Python process; returns each
/// one's exit code and stdout. `None` when interop is skipped on purpose.
fn imgtool_batch(dir: &Path, jobs: &[Vec<String>]) -> Option<Vec<(i32, String)>> {
    // Fails the test if imgtool is missing (unless ESPBOOT_SKIP_INTEROP=1).
    crate::support::reference_tool("imgtool")?;
    let python = crate::support::reference_bin_dir().join("python3");
    let driver = r#"
import contextlib, io, json, sys
from imgtool.main import imgtool
jobs = json.load(open(sys.argv[1]))
results = []
for argv in jobs:
    out = io.StringIO()
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            imgtool.main(args=argv, prog_name="imgtool", standalone_mode=False)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except Exception as e:
        code = 2
        out.write("exception: %r" % (e,))
    results.append([code, out.getvalue()])
json.dump(results, open(sys.argv[2], "w"))
"#;
    let jobs_path = dir.join("jobs.json");
    let results_path = dir.join("results.json");
    std::fs::write(&jobs_path, serde_json::to_string(jobs).unwrap()).unwrap();
    crate::support::run_ok(
        Command::new(python)
            .arg("-c")
            .arg(driver)
            .arg(&jobs_path)
            .arg(&results_path)
            .current_dir(dir),
    );
    let results: Vec<(i32, String)> =
        serde_json::from_str(&std::fs::read_to_string(&results_path).unwrap()).unwrap();
    Some(results)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_string()).collect()
}

/// A work directory with the fixture keys, a plain payload (zeroed header
/// area) and a headerless one.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "pem") {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let mut app = vec![0u8; 32];
    app.extend((0..1000u32).map(|i| (i * 7 + 3) as u8));
    std::fs::write(dir.path().join("app.bin"), &app).unwrap();
    let raw: Vec<u8> = (0..5000u32).map(|i| (i * 13 + 1) as u8).collect();
    std::fs::write(dir.path().join("raw.bin"), &raw).unwrap();
    dir
}

fn espboot_in(dir: &Path) -> Command {
    let mut c = crate::support::espboot();
    c.current_dir(dir).arg("image");
    c
}

/// The flag combinations of the issue that imgtool supports; the input file
/// and the output name are appended.
const SIGN_MATRIX: &[(&str, &[&str], &str)] = &[
    (
        "unsigned",
        &["-H", "0x20", "-S", "0x4000", "-v", "1.2.3+4"],
        "app.bin",
    ),
    (
        "ed",
        &[
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "pad",
        &[
            "--pad",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "confirm-align32",
        &[
            "--confirm",
            "--align",
            "32",
            "--max-align",
            "32",
            "-H",
            "0x20",
            "-S",
            "0x8000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "test-align4-sc-deps",
        &[
            "--test",
            "--align",
            "4",
            "-H",
            "32",
            "-S",
            "0x8000",
            "-v",
            "1",
            "-k",
            "ed25519.pem",
            "-s",
            "auto",
            "-d",
            "(1, 0.5.0+0), (2,1.2.3+99)",
        ],
        "app.bin",
    ),
    (
        "pad-header",
        &[
            "--pad-header",
            "-H",
            "0x200",
            "-S",
            "0x8000",
            "-v",
            "0.1",
            "-k",
            "ed25519.pem",
        ],
        "raw.bin",
    ),
    (
        "pad-header-erased0",
        &[
            "--pad-header",
            "-R",
            "0",
            "--confirm",
            "-H",
            "0x200",
            "-S",
            "0x8000",
            "-v",
            "0.1",
            "-k",
            "ed25519.pem",
        ],
        "raw.bin",
    ),
    (
        "full-key-sc",
        &[
            "--public-key-format",
            "full",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
            "-s",
            "0x10",
        ],
        "app.bin",
    ),
    (
        "boot-record",
        &[
            "--boot-record",
            "CoFM",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "custom-tlv",
        &[
            "--custom-tlv",
            "0xa0",
            "0x0102",
            "--custom-tlv",
            "0xb5",
            "hello",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "load-addr",
        &[
            "-L",
            "0x20000000",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
        ],
        "app.bin",
    ),
    (
        "rom-fixed-non-bootable",
        &[
            "-F",
            "0x10000",
            "--non-bootable",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
        ],
        "app.bin",
    ),
    (
        "overwrite-only",
        &[
            "--overwrite-only",
            "--confirm",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "max-sectors",
        &[
            "--pad",
            "-M",
            "512",
            "--align",
            "4",
            "-H",
            "0x20",
            "-S",
            "0x10000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "pure",
        &[
            "--pure",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "sha512",
        &[
            "--sha",
            "512",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "sha384-unsigned",
        &["--sha", "384", "-H", "0x20", "-S", "0x4000", "-v", "1.2.3"],
        "app.bin",
    ),
    (
        "vector-payload",
        &[
            "--vector-to-sign",
            "payload",
            "-s",
            "3",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "vector-digest",
        &[
            "--vector-to-sign",
            "digest",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "hex-confirm.hex",
        &[
            "-x",
            "0x10000",
            "--confirm",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "hex-pad-low.hex",
        &[
            "-x",
            "0x0",
            "--pad",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "hex-maxalign16.hex",
        &[
            "-x",
            "0x8000",
            "--max-align",
            "16",
            "--confirm",
            "-H",
            "0x20",
            "-S",
            "0x20000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "hex-in.hex",
        &[
            "--pad-header",
            "--confirm",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "in.hex",
    ),
    (
        "vid-cid",
        &[
            "--vid",
            "example.com",
            "--cid",
            "bootloader-app",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "app.bin",
    ),
    (
        "vid-raw",
        &[
            "--vid",
            "12345678-1234-5678-1234-567812345678",
            "--cid",
            "0123456789abcdef0123456789ABCDEF",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
        ],
        "app.bin",
    ),
    // The seed's Espressif commands (flash encryption: align 32; dependencies).
    (
        "seed-esp-flash-enc",
        &[
            "-k",
            "ed25519.pem",
            "--pad",
            "--pad-sig",
            "--align",
            "32",
            "--max-align",
            "32",
            "-v",
            "0",
            "-H",
            "32",
            "--pad-header",
            "-S",
            "0x100000",
        ],
        "raw.bin",
    ),
    (
        "seed-deps",
        &[
            "--align",
            "4",
            "-v",
            "1.0.0",
            "-d",
            "(1, 0.0.1+0)",
            "-H",
            "32",
            "--pad-header",
            "-S",
            "0x100000",
        ],
        "raw.bin",
    ),
    (
        "hex-in-bin-out",
        &[
            "--pad-header",
            "-H",
            "0x20",
            "-S",
            "0x4000",
            "-v",
            "1.2.3",
            "-k",
            "ed25519.pem",
        ],
        "in.hex",
    ),
];

#[test]
fn sign_matrix_is_byte_identical_to_imgtool() {
    let dir = workdir();
    let d = dir.path();
    // An Intel HEX input above 64 KiB, written by our writer; imgtool reads
    // it back below, so its format is checked too.
    let raw = std::fs::read(d.join("raw.bin")).unwrap();
    let hex = mcuboot_image::hexfile::write(&[(0x2000_f000, &raw[..])]).unwrap();
    std::fs::write(d.join("in.hex"), hex).unwrap();

    let mut jobs = Vec::new();
    for (name, args, input) in SIGN_MATRIX {
        let mut argv = strings(&["sign"]);
        argv.extend(strings(args));
        argv.push((*input).to_string());
        argv.push(format!("imgtool-{name}"));
        jobs.push(argv);
    }
    let Some(results) = imgtool_batch(d, &jobs) else {
        return;
    };
    for ((name, args, input), (code, out)) in SIGN_MATRIX.iter().zip(results) {
        assert_eq!(code, 0, "imgtool failed for {name}: {out}");
        let ours = format!("espboot-{name}");
        crate::support::run_ok(espboot_in(d).arg("sign").args(*args).arg(input).arg(&ours));
        let a = std::fs::read(d.join(format!("imgtool-{name}"))).unwrap();
        let b = std::fs::read(d.join(&ours)).unwrap();
        assert!(
            a == b,
            "{name}: output differs from imgtool's ({} vs {} bytes)",
            a.len(),
            b.len()
        );
    }
}

#[test]
fn external_signature_fix_sig_matches_imgtool() {
    let dir = workdir();
    let d = dir.path();
    let base = strings(&["-H", "0x20", "-S", "0x4000", "-v", "1.2.3"]);
    // The digest to sign, then an Ed25519 signature made by imgtool's own
    // key through `--sig-out`, used as an external signature.
    crate::support::run_ok(espboot_in(d).arg("sign").args(&base).args([
        "--vector-to-sign",
        "digest",
        "-k",
        "ed25519.pem",
        "app.bin",
        "digest.bin",
    ]));
    crate::support::run_ok(espboot_in(d).arg("sign").args(&base).args([
        "--sig-out",
        "sig.b64",
        "-k",
        "ed25519.pem",
        "app.bin",
        "signed.bin",
    ]));
    crate::support::run_ok(espboot_in(d).args([
        "getpub",
        "-e",
        "pem",
        "-k",
        "ed25519.pem",
        "-o",
        "pub.pem",
    ]));
    let mut job = strings(&["sign"]);
    job.extend(base.clone());
    job.extend(strings(&[
        "--fix-sig",
        "sig.b64",
        "--fix-sig-pubkey",
        "pub.pem",
        "app.bin",
        "imgtool-fixed.bin",
    ]));
    let Some(results) = imgtool_batch(d, &[job]) else {
        return;
    };
    assert_eq!(results[0].0, 0, "{}", results[0].1);
    crate::support::run_ok(espboot_in(d).arg("sign").args(&base).args([
        "--fix-sig",
        "sig.b64",
        "--fix-sig-pubkey",
        "pub.pem",
        "app.bin",
        "espboot-fixed.bin",
    ]));
    let ours = std::fs::read(d.join("espboot-fixed.bin")).unwrap();
    assert_eq!(ours, std::fs::read(d.join("imgtool-fixed.bin")).unwrap());
    assert_eq!(ours, std::fs::read(d.join("signed.bin")).unwrap());
}

const SIGNING_KEYS: [&str; 5] = [
    "rsa-2048",
    "rsa-3072",
    "ecdsa-p256",
    "ecdsa-p384",
    "ed25519",
];

#[test]
fn rsa_and_ecdsa_cross_verify_both_ways() {
    let dir = workdir();
    let d = dir.path();
    let base = [
        "-H",
        "0x20",
        "-S",
        "0x8000",
        "-v",
        "1.2.3",
        "-s",
        "auto",
        "-d",
        "(1,0.5.0)",
    ];
    let mut jobs = Vec::new();
    let mut cases = Vec::new();
    for key in SIGNING_KEYS {
        for pad_sig in [false, true] {
            let tag = format!("{key}{}", if pad_sig { "-padsig" } else { "" });
            let mut args: Vec<&str> = base.to_vec();
            if pad_sig {
                args.push("--pad-sig");
            }
            let pem = format!("{key}.pem");
            crate::support::run_ok(espboot_in(d).arg("sign").args(&args).args([
                "-k",
                &pem,
                "app.bin",
                &format!("ours-{tag}.bin"),
            ]));
            let mut sign = strings(&["sign"]);
            sign.extend(strings(&args));
            sign.extend([
                "-k".to_string(),
                pem.clone(),
                "app.bin".into(),
                format!("theirs-{tag}.bin"),
            ]);
            jobs.push(sign);
            jobs.push(strings(&["verify", "-k", &pem, &format!("ours-{tag}.bin")]));
            cases.push((tag, pem));
        }
    }
    let Some(results) = imgtool_batch(d, &jobs) else {
        return;
    };
    for (i, (tag, pem)) in cases.iter().enumerate() {
        let (sign_code, sign_out) = &results[2 * i];
        assert_eq!(*sign_code, 0, "imgtool sign {tag}: {sign_out}");
        let (code, out) = &results[2 * i + 1];
        assert_eq!(*code, 0, "imgtool rejects our {tag} image: {out}");
        assert!(
            out.contains("Image was correctly validated"),
            "{tag}: {out}"
        );
        let ours = crate::support::run_ok(espboot_in(d).args([
            "verify",
            "-k",
            pem,
            &format!("theirs-{tag}.bin"),
        ]));
        assert!(String::from_utf8_lossy(&ours.stdout).contains("Image was correctly validated"));
        // Outside the signature TLV (and its length), the images agree.
        let a = std::fs::read(d.join(format!("ours-{tag}.bin"))).unwrap();
        let b = std::fs::read(d.join(format!("theirs-{tag}.bin"))).unwrap();
        let hdr = ImageHeader::parse(&a).unwrap();
        let signed_part = hdr.hashed_len().unwrap() as usize;
        assert_eq!(
            a[..signed_part],
            b[..signed_part],
            "{tag}: hashed regions differ"
        );
    }
    // A key of another type is refused.
    let out = crate::support::run_fail(espboot_in(d).args([
        "verify",
        "-k",
        "ecdsa-p256.pem",
        "theirs-rsa-2048.bin",
    ]));
    crate::support::assert_one_line_error(&out, "theirs-rsa-2048.bin");
}

#[test]
fn one_byte_flips_in_hashed_region_or_signature_fail_verify() {
    let dir = workdir();
    let d = dir.path();
    for key in SIGNING_KEYS {
        let pem = format!("{key}.pem");
        let name = format!("{key}.bin");
        crate::support::run_ok(espboot_in(d).args([
            "sign", "-H", "0x20", "-S", "0x4000", "-v", "1.2.3", "-s", "5", "-k", &pem, "app.bin",
            &name,
        ]));
        let image = std::fs::read(d.join(&name)).unwrap();
        let hdr = ImageHeader::parse(&image).unwrap();
        let hashed = hdr.hashed_len().unwrap() as usize;
        // The signature is the last TLV: its data ends the image.
        let kind = match key {
            "rsa-2048" => SignatureKind::Rsa2048,
            "rsa-3072" => SignatureKind::Rsa3072,
            "ecdsa-p256" => SignatureKind::EcdsaP256,
            "ecdsa-p384" => SignatureKind::EcdsaP384,
            _ => SignatureKind::Ed25519,
        };
        let (sig, _) = mcuboot_image::SliceTlvs::new(&image, &hdr)
            .unwrap()
            .map(Result::unwrap)
            .find(|(e, _)| e.kind == kind.tlv())
            .unwrap();
        let sig_start = sig.offset as usize;
        let positions = [
            0,
            4,
            8,
            12,
            16,
            20,
            31,
            32,
            33,
            500,
            hashed - 5,
            hashed - 1,
            sig_start,
            sig_start + 10,
            sig_start + sig.len as usize - 1,
        ];
        for pos in positions {
            let mut bad = image.clone();
            bad[pos] ^= 0x40;
            let path = d.join(format!("flip-{key}-{pos}.bin"));
            std::fs::write(&path, &bad).unwrap();
            let out =
                crate::support::run_fail(espboot_in(d).args(["verify", "-k", &pem]).arg(&path));
            crate::support::assert_one_line_error(&out, "flip-");
        }
    }
}

#[test]
fn keys_generated_by_espboot_match_imgtool_encodings() {
    let dir = workdir();
    let d = dir.path();
    let types = ["rsa-2048", "ecdsa-p256", "ecdsa-p384", "ed25519", "x25519"];
    let mut jobs = Vec::new();
    for t in types {
        let key = format!("gen-{t}.pem");
        crate::support::run_ok(espboot_in(d).args(["keygen", "-t", t, "-k", &key]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.join(&key))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{key} mode");
        }
        for e in ["lang-c", "lang-rust", "pem", "raw"] {
            jobs.push(strings(&[
                "getpub",
                "-k",
                &key,
                "-e",
                e,
                "-o",
                &format!("imgtool-{t}-{e}"),
            ]));
        }
        jobs.push(strings(&[
            "getpubhash",
            "-k",
            &key,
            "-o",
            &format!("imgtool-{t}-hash"),
        ]));
        jobs.push(strings(&[
            "getpub",
            "-k",
            &key,
            "-o",
            &format!("imgtool-{t}-default"),
        ]));
    }
    // A password-protected key written by us, read by imgtool (it prompts;
    // the batch feeds the prompt through getpass below).
    let pw_key = "gen-protected.pem";
    let mut c = espboot_in(d);
    c.env("ESPBOOT_PASSWORD", "correct horse").args([
        "keygen",
        "-t",
        "ecdsa-p256",
        "-p",
        "-k",
        pw_key,
    ]);
    crate::support::run_ok(&mut c);
    let Some(results) = imgtool_batch(d, &jobs) else {
        return;
    };
    assert!(results.iter().all(|(c, _)| *c == 0), "{results:?}");
    for t in types {
        let key = format!("gen-{t}.pem");
        for e in ["lang-c", "lang-rust", "pem", "raw"] {
            let ours = crate::support::run_ok(espboot_in(d).args(["getpub", "-k", &key, "-e", e]));
            assert_eq!(
                ours.stdout,
                std::fs::read(d.join(format!("imgtool-{t}-{e}"))).unwrap(),
                "getpub {t} {e}"
            );
        }
        let ours = crate::support::run_ok(espboot_in(d).args(["getpubhash", "-k", &key]));
        assert_eq!(
            ours.stdout,
            std::fs::read(d.join(format!("imgtool-{t}-hash"))).unwrap(),
            "getpubhash {t}"
        );
        let ours = crate::support::run_ok(espboot_in(d).args(["getpub", "-k", &key]));
        assert_eq!(
            ours.stdout,
            std::fs::read(d.join(format!("imgtool-{t}-default"))).unwrap(),
            "getpub {t}"
        );
    }
    // imgtool decrypts our protected key with the password.
    let python = crate::support::reference_bin_dir().join("python3");
    let out = crate::support::run_ok(Command::new(python).current_dir(d).args([
        "-c",
        "from imgtool import keys; k = keys.load('gen-protected.pem', b'correct horse'); print(type(k).__name__)",
    ]));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ECDSA256P1");
    // And we need the password too.
    let mut c = espboot_in(d);
    c.env_remove("ESPBOOT_PASSWORD")
        .args(["getpub", "-k", pw_key]);
    let out = crate::support::run_fail(&mut c);
    crate::support::assert_one_line_error(&out, "-k/--key");
    let mut c = espboot_in(d);
    c.env("ESPBOOT_PASSWORD", "wrong")
        .args(["getpub", "-k", pw_key]);
    let out = crate::support::run_fail(&mut c);
    crate::support::assert_one_line_error(&out, "-k/--key");
    let mut c = espboot_in(d);
    c.env("ESPBOOT_PASSWORD", "correct horse")
        .args(["getpub", "-k", pw_key]);
    crate::support::run_ok(&mut c);
}

#[test]
fn encrypted_images_decrypt_to_the_signed_plaintext() {
    use mcuboot_image::enc::{self, DecryptionKey};
    let dir = workdir();
    let d = dir.path();
    // A KEK for ENC_KW (imgtool cannot produce that one).
    std::fs::write(d.join("kek.b64"), "AAECAwQFBgcICQoLDA0ODw==\n").unwrap();
    let cases: &[(&str, &str, &[&str])] = &[
        ("rsa", "rsa-2048.pem", &[]),
        ("ec", "ecdsa-p256.pem", &[]),
        ("x25519-256", "x25519.pem", &["--encrypt-keylen", "256"]),
        ("x25519-sha512", "x25519.pem", &["--hmac-sha", "512"]),
        ("kw", "kek.b64", &[]),
    ];
    crate::support::run_ok(espboot_in(d).args(["keygen", "-t", "x25519", "-k", "x25519.pem"]));
    let mut jobs = Vec::new();
    for (tag, enc_key, extra) in cases {
        let signer = if *tag == "rsa" {
            "rsa-2048.pem"
        } else if *tag == "ec" {
            "ecdsa-p256.pem"
        } else {
            "ed25519.pem"
        };
        let out = format!("enc-{tag}.bin");
        crate::support::run_ok(
            espboot_in(d)
                .args([
                    "sign", "-H", "0x20", "-S", "0x8000", "-v", "1.2.3", "-k", signer, "-E",
                    enc_key,
                ])
                .args(*extra)
                .args(["raw.bin", "--pad-header", &out]),
        );
        let image = std::fs::read(d.join(&out)).unwrap();
        let key_text = std::fs::read(d.join(enc_key)).unwrap();
        let dk = DecryptionKey::from_file_contents(&key_text, None).unwrap();
        let plain = enc::decrypt_image(&image, &dk).unwrap();
        let hdr = ImageHeader::parse(&plain).unwrap();
        // The payload is the input, zero-padded to the AES block size.
        let raw = std::fs::read(d.join("raw.bin")).unwrap();
        let body = &plain[0x20..0x20 + hdr.img_size as usize];
        assert_eq!(&body[..raw.len()], &raw[..], "{tag}");
        assert!(body[raw.len()..].iter().all(|b| *b == 0), "{tag}");
        assert_ne!(
            &image[0x20..0x20 + raw.len()],
            &raw[..],
            "{tag}: payload not encrypted"
        );
        // The decrypted image validates (hash and signature over plaintext).
        let signer_pub =
            crate::support::run_ok(espboot_in(d).args(["getpub", "-e", "raw", "-k", signer]))
                .stdout;
        let kind = match signer {
            "rsa-2048.pem" => SignatureKind::Rsa2048,
            "ecdsa-p256.pem" => SignatureKind::EcdsaP256,
            _ => SignatureKind::Ed25519,
        };
        let mut src = &plain[..];
        validate(
            &mut src,
            &hdr,
            &[&signer_pub],
            &ValidateOptions::new(HashAlg::Sha256)
                .with_signature(kind)
                .tlv_allow_list(true),
        )
        .unwrap_or_else(|e| panic!("{tag}: {e}"));
        std::fs::write(d.join(format!("dec-{tag}.bin")), &plain).unwrap();
        jobs.push(strings(&[
            "verify",
            "-k",
            signer,
            &format!("dec-{tag}.bin"),
        ]));
    }
    // imgtool accepts the decrypted images too.
    let Some(results) = imgtool_batch(d, &jobs) else {
        return;
    };
    for ((tag, _, _), (code, out)) in cases.iter().zip(results) {
        assert_eq!(code, 0, "imgtool verify of decrypted {tag}: {out}");
    }
}

/// Each bad input of the issue: one line naming the argument, non-zero
/// exit, no output file.
#[test]
fn bad_inputs_give_one_line_errors_and_no_output() {
    let dir = workdir();
    let d = dir.path();
    std::fs::write(d.join("big.bin"), vec![0u8; 0x4000]).unwrap();
    std::fs::write(d.join("huge-tlv.bin"), vec![7u8; 70_000]).unwrap();
    std::fs::write(d.join("not-a-key.pem"), "hello\n").unwrap();
    std::fs::write(d.join("half-tlv.bin"), vec![7u8; 40_000]).unwrap();
    crate::support::run_ok(espboot_in(d).args([
        "getpub",
        "-e",
        "pem",
        "-k",
        "ed25519.pem",
        "-o",
        "pub.pem",
    ]));
    let mut c = espboot_in(d);
    c.env("ESPBOOT_PASSWORD", "pw")
        .args(["keygen", "-t", "ed25519", "-p", "-k", "protected.pem"]);
    crate::support::run_ok(&mut c);
    let base = ["-H", "0x20", "-S", "0x4000", "-v", "1.2.3"];
    let cases: &[(&[&str], &str)] = &[
        (&["-k", "ed25519.pem", "big.bin"], "slot size"),
        (&["-k", "ed25519.pem", "raw.bin"], "--pad-header"),
        (&["-k", "rsa-2048.pem", "--pure", "app.bin"], "--pure"),
        (&["-k", "ed25519.pem", "--sha", "384", "app.bin"], "--sha"),
        (&["-k", "x25519.pem", "app.bin"], "-k/--key"),
        (&["-k", "missing.pem", "app.bin"], "-k/--key"),
        (&["-k", "not-a-key.pem", "app.bin"], "-k/--key"),
        (&["-k", "protected.pem", "app.bin"], "-k/--key"),
        (
            &["-k", "ed25519.pem", "-d", "(1, 1.x)", "app.bin"],
            "-d/--dependencies",
        ),
        (
            &["-k", "ed25519.pem", "-d", "nothing", "app.bin"],
            "-d/--dependencies",
        ),
        (
            &[
                "-k",
                "ed25519.pem",
                "--custom-tlv-file",
                "0xa0",
                "huge-tlv.bin",
                "app.bin",
            ],
            "--custom-tlv-file",
        ),
        (
            &[
                "-k",
                "ed25519.pem",
                "--custom-tlv",
                "0x10",
                "0x01",
                "app.bin",
            ],
            "--custom-tlv",
        ),
        (
            &["-k", "ed25519.pem", "-L", "0x100", "-F", "0x200", "app.bin"],
            "-L/--load-addr",
        ),
        (&["missing.bin"], "INFILE"),
        (&["--cid", "app-class", "app.bin"], "--cid"),
        (&["-k", "pub.pem", "app.bin"], "-k/--key"),
        (
            &[
                "-k",
                "ed25519.pem",
                "--custom-tlv-file",
                "0xa0",
                "half-tlv.bin",
                "--custom-tlv-file",
                "0xa1",
                "half-tlv.bin",
                "app.bin",
            ],
            "protected TLV area",
        ),
    ];
    crate::support::run_ok(espboot_in(d).args(["keygen", "-t", "x25519", "-k", "x25519.pem"]));
    for (i, (args, needle)) in cases.iter().enumerate() {
        let out_name = format!("out-{i}.bin");
        let mut c = espboot_in(d);
        c.env_remove("ESPBOOT_PASSWORD")
            .arg("sign")
            .args(base)
            .args(*args)
            .arg(&out_name);
        let out = crate::support::run_fail(&mut c);
        crate::support::assert_one_line_error(&out, needle);
        assert!(
            !d.join(&out_name).exists(),
            "case {i} {args:?} left an output file"
        );
    }
    // A malformed version names -v.
    let out = crate::support::run_fail(espboot_in(d).args([
        "sign", "-H", "0x20", "-S", "0x4000", "-v", "1.02", "app.bin", "v.bin",
    ]));
    crate::support::assert_one_line_error(&out, "-v/--version");
    assert!(!d.join("v.bin").exists());
    // The trailer check mirrors the bootloader: numbers in the message, and
    // the Espressif sector count is mentioned when only the default fits.
    let out = crate::support::run_fail(espboot_in(d).args([
        "sign", "-H", "0x20", "-S", "0x4000", "-v", "1", "big.bin", "b.bin",
    ]));
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(msg.contains("0x4000") && msg.contains("trailer"), "{msg}");
    let mid = vec![0u8; 0x4000 - 0x600 - 0x100];
    std::fs::write(d.join("mid.bin"), mid).unwrap();
    let ok = crate::support::run_ok(espboot_in(d).args([
        "sign", "--align", "4", "-H", "0x20", "-S", "0x4000", "-v", "1", "mid.bin", "m.bin",
    ]));
    assert!(
        String::from_utf8_lossy(&ok.stderr).contains("-M 512"),
        "expected an Espressif -M warning"
    );
}

#[test]
fn dumpinfo_reports_header_tlvs_and_trailer() {
    let dir = workdir();
    let d = dir.path();
    crate::support::run_ok(espboot_in(d).args([
        "sign",
        "--confirm",
        "-H",
        "0x20",
        "-S",
        "0x4000",
        "-v",
        "1.2.3+4",
        "-s",
        "9",
        "-k",
        "ed25519.pem",
        "app.bin",
        "s.bin",
    ]));
    let out = crate::support::run_ok(espboot_in(d).args(["dumpinfo", "--json", "s.bin"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["header"]["version"], "1.2.3+4");
    assert_eq!(v["header"]["img_size"], 1000);
    let names: Vec<&str> = v["tlvs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["SEC_CNT", "SHA256", "KEYHASH", "ED25519"]);
    assert_eq!(v["tlvs"][0]["protected"], true);
    assert_eq!(v["trailer"]["magic_state"], "good");
    assert_eq!(v["trailer"]["image_ok"], "set");
    let out = crate::support::run_ok(espboot_in(d).args([
        "verify",
        "--json",
        "-k",
        "ed25519.pem",
        "s.bin",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["version"], "1.2.3+4");
    assert_eq!(v["signature_checked"], true);
    let out = crate::support::run_ok(espboot_in(d).args(["dumpinfo", "s.bin"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("KEYHASH"));
    let out = crate::support::run_fail(espboot_in(d).args(["dumpinfo", "app.bin"]));
    crate::support::assert_one_line_error(&out, "app.bin");
}

/// With -E, only the payload (ciphertext) and the wrapped key are random:
/// header, hash, signature, trailer layout (`--save-enctlv`, `--confirm`)
/// must equal imgtool's byte for byte.
#[test]
fn encrypted_images_match_imgtool_outside_ciphertext_and_wrapped_key() {
    let dir = workdir();
    let d = dir.path();
    crate::support::run_ok(espboot_in(d).args(["keygen", "-t", "x25519", "-k", "x25519.pem"]));
    let variants: &[(&str, &[&str])] = &[
        (
            "save-enctlv",
            &["--pad", "--save-enctlv", "--confirm", "--align", "8"],
        ),
        (
            "clear-256",
            &["--clear", "--encrypt-keylen", "256", "--test"],
        ),
    ];
    // The same command line for imgtool and for espboot.
    const SIGN: &[&str] = &[
        "sign",
        "-H",
        "0x20",
        "-S",
        "0x8000",
        "-v",
        "1.2.3",
        "-k",
        "ed25519.pem",
        "-E",
        "x25519.pem",
    ];
    let mut jobs = Vec::new();
    for (tag, extra) in variants {
        let mut argv = strings(SIGN);
        argv.extend(strings(extra));
        argv.extend(strings(&["app.bin", &format!("imgtool-{tag}.bin")]));
        jobs.push(argv);
    }
    let Some(results) = imgtool_batch(d, &jobs) else {
        return;
    };
    for ((tag, extra), (code, out)) in variants.iter().zip(results) {
        assert_eq!(code, 0, "imgtool {tag}: {out}");
        crate::support::run_ok(
            espboot_in(d)
                .args(SIGN)
                .args(*extra)
                .args(["app.bin", &format!("espboot-{tag}.bin")]),
        );
        let theirs = std::fs::read(d.join(format!("imgtool-{tag}.bin"))).unwrap();
        let ours = std::fs::read(d.join(format!("espboot-{tag}.bin"))).unwrap();
        assert_eq!(ours.len(), theirs.len(), "{tag}");
        let hdr = ImageHeader::parse(&ours).unwrap();
        let payload = 0x20..0x20 + hdr.img_size as usize;
        let (enc, _) = mcuboot_image::SliceTlvs::new(&ours, &hdr)
            .unwrap()
            .map(Result::unwrap)
            .find(|(e, _)| e.kind == mcuboot_image::TlvKind::EncX25519)
            .unwrap();
        let wrapped = enc.offset as usize..enc.offset as usize + enc.len as usize;
        let clear = *tag == "clear-256";
        for i in 0..ours.len() {
            if wrapped.contains(&i) || (!clear && payload.contains(&i)) {
                continue;
            }
            assert_eq!(ours[i], theirs[i], "{tag}: byte {i:#x} differs");
        }
    }
}
