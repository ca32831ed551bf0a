//! `espboot image sign -E`: encrypted images decrypt (MCUboot's scheme, our
//! `mcuboot_image::enc`) to exactly what imgtool 2.5.0 signs in clear.
//!
//! Every image is signed with Ed25519, whose signatures are deterministic, so
//! the decrypted image must equal imgtool's `--clear` image of the same input
//! and flags byte for byte, except the wrapped key (random per run). For
//! AES key wrap (ENC_KW, which imgtool cannot produce) the hashed region and
//! the hash and signature TLVs must equal imgtool's `--clear` image's.
//! imgtool-encrypted images are covered by
//! `crates/mcuboot-image/tests/imgtool_encryption.rs`; compressed and
//! encrypted ones (`--compression`) both ways here.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::support::{assert_one_line_error, espboot, run_fail, run_ok};
use mcuboot_image::enc::{self, DecryptionKey, EncTlvKind};
use mcuboot_image::{ImageHeader, SliceTlvs, TlvKind};

/// Sign flags shared by every image (protected TLVs, padding, a payload
/// whose size is not a multiple of the AES block).
const FLAGS: &[&str] = &[
    "--pad-header",
    "-H",
    "0x20",
    "--align",
    "4",
    "-v",
    "1.2.3+4",
    "-s",
    "7",
    "-d",
    "(1,0.5.0+0)",
    "-S",
    "0x20000",
];
const PAYLOAD_LEN: usize = 2999;
/// A compressible payload whose compressed size is not a multiple of the
/// AES block either.
const COMP_LEN: usize = 9001;

/// A KEK in MCUboot's `enc-aes*kw.b64` format (base64 of the raw key).
const KEK128_B64: &str = "0VoElcTCqP8weM5Jtfyy3Q==\n";
const KEK256_B64: &str = "5FxRRtIcgjXMGhmvofKqIMiMf0Bs2yKqarXLqvixW7Q=\n";

struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).expect("read fixture file")
    }
    fn private(&self, name: &str) -> DecryptionKey {
        let bytes = self.read(name);
        DecryptionKey::from_file_contents(&bytes, None).expect("load decryption key")
    }
}

/// Keys (imgtool keygen) and the input payload, once per test binary;
/// `None` when interop is deliberately skipped.
fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            crate::support::reference_tool("imgtool")?;
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("image_encryption.{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("create fixture dir");
            for (name, kind) in [
                ("rsa.pem", "rsa-2048"),
                ("ec.pem", "ecdsa-p256"),
                ("x.pem", "x25519"),
                ("ed.pem", "ed25519"),
            ] {
                run_ok(
                    crate::support::reference_tool("imgtool")?
                        .args(["keygen", "-t", kind, "-k"])
                        .arg(dir.join(name)),
                );
            }
            for name in ["rsa", "ec", "x"] {
                run_ok(
                    crate::support::reference_tool("imgtool")?
                        .args(["getpub", "-e", "pem", "-k"])
                        .arg(dir.join(format!("{name}.pem")))
                        .arg("-o")
                        .arg(dir.join(format!("{name}-pub.pem"))),
                );
            }
            std::fs::write(dir.join("kek128.b64"), KEK128_B64).expect("write kek");
            std::fs::write(dir.join("kek256.b64"), KEK256_B64).expect("write kek");
            let payload: Vec<u8> = (0..PAYLOAD_LEN as u32)
                .map(|i| (i.wrapping_mul(2_246_822_519) >> 11) as u8)
                .collect();
            std::fs::write(dir.join("app.bin"), payload).expect("write app.bin");
            // noise, which LZMA2 cannot shrink (imgtool's fall-back), and a
            // payload it can
            std::fs::write(dir.join("noise.bin"), crate::support::serve::data(3001, 7))
                .expect("write noise.bin");
            let comp: Vec<u8> = (0..COMP_LEN as u32)
                .map(|i| (i / 7 % 13) as u8 ^ (i % 5) as u8)
                .collect();
            std::fs::write(dir.join("comp.bin"), comp).expect("write comp.bin");
            let link = dir.join("imgtool");
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), link)
                .expect("link the imgtool personality");
            Some(Fixture { dir })
        })
        .as_ref()
}

/// Signs `app.bin` with Ed25519 plus `extra` into `out`, with espboot or
/// imgtool.
fn sign(fx: &Fixture, ours: bool, extra: &[&str], out: &str) -> Vec<u8> {
    sign_file(fx, ours, extra, "app.bin", out)
}

/// Signs `input` with Ed25519 plus `extra` into `out`, with espboot or
/// imgtool.
fn sign_file(fx: &Fixture, ours: bool, extra: &[&str], input: &str, out: &str) -> Vec<u8> {
    let mut cmd = if ours {
        let mut c = espboot();
        c.arg("image");
        c
    } else {
        crate::support::reference_tool("imgtool").expect("fixture exists, so interop is on")
    };
    run_ok(
        cmd.args(["sign", "-k"])
            .arg(fx.path("ed.pem"))
            .args(FLAGS)
            .args(extra)
            .arg(fx.path(input))
            .arg(fx.path(out)),
    );
    fx.read(out)
}

/// Runs `args` through imgtool (`ours == false`) or the personality:
/// exit status, stdout, stderr.
fn imgtool(fx: &Fixture, ours: bool, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = if ours {
        std::process::Command::new(fx.path("imgtool"))
    } else {
        crate::support::reference_tool("imgtool").expect("fixture exists, so interop is on")
    };
    let out = cmd.args(args).output().expect("run imgtool");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The encryption TLV's kind and value range.
fn enc_tlv(image: &[u8]) -> (EncTlvKind, Range<usize>) {
    let hdr = ImageHeader::parse(image).expect("header");
    SliceTlvs::new(image, &hdr)
        .expect("TLV area")
        .map(|t| t.expect("TLV"))
        .find_map(|(e, _)| {
            let kind = EncTlvKind::try_from(e.kind).ok()?;
            let at = e.offset as usize;
            Some((kind, at..at + usize::from(e.len)))
        })
        .expect("an encryption TLV")
}

/// The data of the first TLV of `kind`.
fn tlv_data(image: &[u8], kind: TlvKind) -> Vec<u8> {
    let hdr = ImageHeader::parse(image).expect("header");
    SliceTlvs::new(image, &hdr)
        .expect("TLV area")
        .map(|t| t.expect("TLV"))
        .find(|(e, _)| e.kind == kind)
        .map(|(_, d)| d.to_vec())
        .unwrap_or_else(|| panic!("no {kind} TLV"))
}

fn hashed_region(image: &[u8]) -> &[u8] {
    let hdr = ImageHeader::parse(image).expect("header");
    &image[..hdr.hashed_len().expect("sizes") as usize]
}

#[test]
fn espboot_encrypted_images_decrypt_to_imgtools_clear_image() {
    let Some(fx) = fixture() else { return };
    let cases: &[(&str, &str, &[&str], EncTlvKind)] = &[
        (
            "rsa-pub.pem",
            "rsa.pem",
            &["--encrypt-keylen", "128"],
            EncTlvKind::Rsa2048,
        ),
        (
            "rsa-pub.pem",
            "rsa.pem",
            &["--encrypt-keylen", "256"],
            EncTlvKind::Rsa2048,
        ),
        (
            "ec-pub.pem",
            "ec.pem",
            &["--encrypt-keylen", "128"],
            EncTlvKind::Ec256,
        ),
        (
            "ec-pub.pem",
            "ec.pem",
            &["--encrypt-keylen", "256"],
            EncTlvKind::Ec256,
        ),
        (
            "x-pub.pem",
            "x.pem",
            &["--hmac-sha", "256"],
            EncTlvKind::X25519,
        ),
        (
            "x-pub.pem",
            "x.pem",
            &["--hmac-sha", "512", "--encrypt-keylen", "256", "--pad"],
            EncTlvKind::X25519Sha512,
        ),
    ];
    for (i, (public, private, extra, kind)) in cases.iter().enumerate() {
        let public = fx.path(public).display().to_string();
        let mut args = vec!["-E", public.as_str()];
        args.extend_from_slice(extra);
        let ours = sign(fx, true, &args, &format!("ours{i}.bin"));
        args.push("--clear");
        let clear = sign(fx, false, &args, &format!("clear{i}.bin"));

        let (got_kind, range) = enc_tlv(&ours);
        assert_eq!(got_kind, *kind, "case {i}");
        assert_ne!(ours, clear, "case {i}: the payload is encrypted");
        let decrypted = enc::decrypt_image(&ours, &fx.private(private)).expect("decrypt");
        assert_eq!(decrypted.len(), clear.len(), "case {i}: length");
        assert_eq!(
            decrypted[..range.start],
            clear[..range.start],
            "case {i}: before ENC TLV"
        );
        assert_eq!(
            decrypted[range.end..],
            clear[range.end..],
            "case {i}: after ENC TLV"
        );
    }
}

#[test]
fn espboot_key_wrap_images_decrypt_with_the_kek() {
    // imgtool cannot produce ENC_KW; the reference for everything but the
    // TLV is imgtool's --clear image with an ECIES recipient of the same
    // key size (the hashed region, hash and signature do not depend on it).
    let Some(fx) = fixture() else { return };
    let x_pub = fx.path("x-pub.pem");
    let x_pub = x_pub.to_str().expect("utf-8");
    for (kek, bits, tlv_len) in [("kek128.b64", "128", 24), ("kek256.b64", "256", 40)] {
        let kek_path = fx.path(kek);
        let ours = sign(
            fx,
            true,
            &[
                "-E",
                kek_path.to_str().expect("utf-8"),
                "--encrypt-keylen",
                bits,
            ],
            &format!("kw{bits}.bin"),
        );
        let clear = sign(
            fx,
            false,
            &["-E", x_pub, "--encrypt-keylen", bits, "--clear"],
            &format!("kw-ref{bits}.bin"),
        );
        let (kind, range) = enc_tlv(&ours);
        assert_eq!((kind, range.len()), (EncTlvKind::Kw, tlv_len));
        let decrypted = enc::decrypt_image(&ours, &fx.private(kek)).expect("decrypt ENC_KW");
        assert_eq!(
            hashed_region(&decrypted),
            hashed_region(&clear),
            "AES-{bits}: hashed region"
        );
        for t in [TlvKind::Sha256, TlvKind::Ed25519, TlvKind::KeyHash] {
            assert_eq!(
                tlv_data(&decrypted, t),
                tlv_data(&clear, t),
                "AES-{bits}: {t}"
            );
        }
        // The other KEK cannot open it.
        let other = if bits == "128" {
            "kek256.b64"
        } else {
            "kek128.b64"
        };
        assert!(enc::decrypt_image(&ours, &fx.private(other)).is_err());
    }
}

#[test]
fn encryption_option_errors_are_one_line_and_leave_no_output() {
    let Some(fx) = fixture() else { return };
    let out = fx.path("refused.bin");
    let cases: &[(&[&str], &str)] = &[
        // MCUboot unwraps with a KEK of the key's own size.
        (&["-E", "KEK256", "--encrypt-keylen", "128"], "-E"),
        // imgtool: only ECIES-X25519 supports HMAC-SHA512.
        (&["-E", "EC", "--hmac-sha", "512"], "hmac"),
    ];
    for (args, needle) in cases {
        let args: Vec<String> = args
            .iter()
            .map(|a| match *a {
                "KEK256" => fx.path("kek256.b64").display().to_string(),
                "EC" => fx.path("ec-pub.pem").display().to_string(),
                a => a.to_owned(),
            })
            .collect();
        let result = run_fail(
            espboot()
                .args(["image", "sign", "-k"])
                .arg(fx.path("ed.pem"))
                .args(FLAGS)
                .args(&args)
                .arg(fx.path("app.bin"))
                .arg(&out),
        );
        assert_one_line_error(&result, needle);
        assert!(!out.exists(), "{args:?}: no output file on error");
    }
}

/// Asserts `a` and `b` are the same image but for the value of the
/// encryption TLV at `range`.
#[track_caller]
fn assert_same_but_enc_tlv(a: &[u8], b: &[u8], range: &Range<usize>, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    assert_eq!(a[..range.start], b[..range.start], "{what}: before ENC TLV");
    assert_eq!(a[range.end..], b[range.end..], "{what}: after ENC TLV");
}

#[test]
fn compressed_encrypted_images_match_imgtool_both_ways() {
    // imgtool signs the uncompressed image first (flagged encrypted, but
    // clear), then the compressed one with DECOMP_* and COMP_DEC_SIZE,
    // padded and encrypted. Ed25519 makes everything but the wrapped key
    // deterministic, so each side's decrypted image must equal the other
    // side's --clear image but for that key, and verify with both tools.
    let Some(fx) = fixture() else { return };
    let cases: &[(&str, &str, &[&str], EncTlvKind, u32)] = &[
        ("rsa-pub.pem", "rsa.pem", &[], EncTlvKind::Rsa2048, 0x4),
        (
            "rsa-pub.pem",
            "rsa.pem",
            &["--encrypt-keylen", "256"],
            EncTlvKind::Rsa2048,
            0x8,
        ),
        ("ec-pub.pem", "ec.pem", &[], EncTlvKind::Ec256, 0x4),
        (
            "ec-pub.pem",
            "ec.pem",
            &["--encrypt-keylen", "256", "--pad"],
            EncTlvKind::Ec256,
            0x8,
        ),
        (
            "x-pub.pem",
            "x.pem",
            &["--hmac-sha", "256", "--pad", "--save-enctlv"],
            EncTlvKind::X25519,
            0x4,
        ),
        (
            "x-pub.pem",
            "x.pem",
            &["--hmac-sha", "512", "--encrypt-keylen", "256"],
            EncTlvKind::X25519Sha512,
            0x8,
        ),
    ];
    let ed = fx.path("ed.pem").display().to_string();
    for (i, (public, private, extra, kind, aes_flag)) in cases.iter().enumerate() {
        for (compression, comp_flags) in [("lzma2", 0x400), ("lzma2armthumb", 0xc00)] {
            let what = format!("case {i} {compression}");
            let public = fx.path(public).display().to_string();
            let mut args = vec!["-E", public.as_str(), "--compression", compression];
            args.extend_from_slice(extra);
            let name = |side: &str| format!("comp-{side}{i}-{compression}.bin");
            let ours = sign_file(fx, true, &args, "comp.bin", &name("ours"));
            let theirs = sign_file(fx, false, &args, "comp.bin", &name("theirs"));
            let mut clear_args = args.clone();
            clear_args.push("--clear");
            let ours_clear = sign_file(fx, true, &clear_args, "comp.bin", &name("ours-clear"));
            let theirs_clear = sign_file(fx, false, &clear_args, "comp.bin", &name("theirs-clear"));

            let hdr = ImageHeader::parse(&ours).expect("header");
            assert_eq!(hdr.flags.bits(), aes_flag | comp_flags, "{what}: flags");
            let (got_kind, range) = enc_tlv(&ours);
            assert_eq!(got_kind, *kind, "{what}");
            assert_eq!(enc_tlv(&theirs).1, range, "{what}: ENC TLV place");
            let stored = tlv_data(&ours, TlvKind::CompDecSize);
            let stored = u32::from_le_bytes(stored.try_into().expect("4 bytes"));
            assert_eq!(
                hdr.img_size,
                stored.div_ceil(16) * 16,
                "{what}: COMP_DEC_SIZE"
            );
            assert_ne!(ours, ours_clear, "{what}: the payload is encrypted");

            let private = fx.private(private);
            let ours_plain = enc::decrypt_image(&ours, &private).expect("decrypt ours");
            assert_same_but_enc_tlv(&ours_plain, &theirs_clear, &range, &format!("{what}: ours"));
            let theirs_plain = enc::decrypt_image(&theirs, &private).expect("decrypt imgtool's");
            assert_same_but_enc_tlv(
                &theirs_plain,
                &ours_clear,
                &range,
                &format!("{what}: theirs"),
            );

            // Each tool verifies the other's decrypted image, and reports
            // the same on the encrypted one; our dumpinfo prints imgtool's.
            let ours_plain_path = fx.path(&name("ours-plain"));
            std::fs::write(&ours_plain_path, &ours_plain).expect("write");
            let theirs_plain_path = fx.path(&name("theirs-plain"));
            std::fs::write(&theirs_plain_path, &theirs_plain).expect("write");
            let ours_plain_path = ours_plain_path.display().to_string();
            let theirs_plain_path = theirs_plain_path.display().to_string();
            let theirs_path = fx.path(&name("theirs")).display().to_string();
            let verified = imgtool(fx, false, &["verify", "-k", &ed, &ours_plain_path]);
            assert_eq!(
                verified.0,
                Some(0),
                "{what}: imgtool verify ours: {verified:?}"
            );
            let verified = imgtool(fx, true, &["verify", "-k", &ed, &theirs_plain_path]);
            assert_eq!(
                verified.0,
                Some(0),
                "{what}: we verify imgtool's: {verified:?}"
            );
            for argv in [
                vec!["verify", "-k", ed.as_str(), theirs_path.as_str()],
                vec!["dumpinfo", theirs_path.as_str()],
            ] {
                assert_eq!(
                    imgtool(fx, true, &argv),
                    imgtool(fx, false, &argv),
                    "{what}: imgtool {argv:?}"
                );
            }
        }
    }
}

#[test]
fn compressed_encrypted_fall_back_is_imgtools_image() {
    // When LZMA2 gains nothing imgtool keeps its first build: flagged
    // encrypted but clear, with no wrapped key (and a trailer with key
    // fields). Nothing is random, so the bytes and the text must match.
    let Some(fx) = fixture() else { return };
    let x_pub = fx.path("x-pub.pem").display().to_string();
    let ed = fx.path("ed.pem").display().to_string();
    let app = fx.path("noise.bin").display().to_string();
    let rows: &[&[&str]] = &[
        &["--compression", "lzma2"],
        &[
            "--compression",
            "lzma2armthumb",
            "--encrypt-keylen",
            "256",
            "--pad",
        ],
        &["--compression", "lzma2", "--pad", "--save-enctlv"],
    ];
    for (i, extra) in rows.iter().enumerate() {
        let mut outs = Vec::new();
        let mut texts = Vec::new();
        for ours in [false, true] {
            let out = fx
                .path(&format!("fall-back{i}-{ours}.bin"))
                .display()
                .to_string();
            let mut args = vec!["sign", "-k", ed.as_str()];
            args.extend_from_slice(FLAGS);
            args.extend_from_slice(&["-E", x_pub.as_str()]);
            args.extend_from_slice(extra);
            args.extend_from_slice(&[app.as_str(), out.as_str()]);
            texts.push(imgtool(fx, ours, &args));
            outs.push(std::fs::read(&out).expect("signed image"));
        }
        assert_eq!(texts[0], texts[1], "row {i}: exit status and text");
        assert_eq!(texts[0].0, Some(0), "row {i}: {:?}", texts[0]);
        assert!(outs[0] == outs[1], "row {i}: image bytes differ");
        let hdr = ImageHeader::parse(&outs[1]).expect("header");
        assert_eq!(hdr.flags.bits() & 0xc00, 0, "row {i}: not compressed");
        assert_ne!(hdr.flags.bits() & 0xc, 0, "row {i}: flagged encrypted");
    }
}
