//! `espboot secure encrypt-flash-data` / `decrypt-flash-data` against
//! espsecure 5.6.0: byte-identical output for both algorithms, every key
//! length, several addresses and FLASH_CRYPT_CONFIG values; bad input.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::support::secure::{espsecure, pattern, python_batch};

struct Case {
    xts: bool,
    key_len: usize,
    address: &'static str,
    conf: &'static str,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for key_len in [16, 32, 64] {
        // 0x1010: unaligned to the 128-byte data unit; 0x3FFF80: a unit
        // boundary right before the 4 MiB line.
        for address in ["0x0", "0x1000", "0x1010", "0x3FFF80"] {
            cases.push(Case {
                xts: true,
                key_len,
                address,
                conf: "0xF",
            });
        }
    }
    for key_len in [24, 32] {
        // 0xFFF000: the data crosses 16 MiB, where espsecure's tweak
        // arithmetic leaves the documented 24-bit pattern.
        for address in ["0x0", "0x1010", "0x20000", "0xFFF000"] {
            for conf in ["0x0", "0x3", "0x9", "0xC", "0xF"] {
                cases.push(Case {
                    xts: false,
                    key_len,
                    address,
                    conf,
                });
            }
        }
    }
    cases
}

fn crypt_args(case: &Case, op: &str, input: &str, output: &str) -> Vec<String> {
    let mut argv = vec![
        op.to_string(),
        "--keyfile".into(),
        format!("key{}.bin", case.key_len),
        "--address".into(),
        case.address.into(),
        "--output".into(),
        output.into(),
    ];
    if case.xts {
        argv.push("--aes-xts".into());
    } else {
        argv.extend(["--flash-crypt-conf".into(), case.conf.into()]);
    }
    argv.push(input.into());
    argv
}

fn espboot_secure(dir: &Path, argv: &[String]) -> std::process::Output {
    crate::support::run_ok(
        crate::support::espboot()
            .current_dir(dir)
            .arg("secure")
            .args(argv),
    )
}

#[test]
fn encrypt_and_decrypt_match_espsecure_for_all_key_lengths_addresses_and_configs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 8 KiB + 48 bytes: several data units and tweak blocks, a partial
    // unit at the end.
    std::fs::write(d.join("plain.bin"), pattern(8192 + 48, 1)).unwrap();
    for (i, len) in [16usize, 24, 32, 64].into_iter().enumerate() {
        std::fs::write(
            d.join(format!("key{len}.bin")),
            pattern(len, 100 + i as u32),
        )
        .unwrap();
    }
    let cases = cases();
    let steps: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let argv = crypt_args(c, "encrypt-flash-data", "plain.bin", &format!("py{i}.bin"));
            espsecure(&argv.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .collect();
    let Some(results) = python_batch(d, &steps) else {
        return;
    };
    let plain = std::fs::read(d.join("plain.bin")).unwrap();
    for (i, (case, result)) in cases.iter().zip(&results).enumerate() {
        assert_eq!(result["ok"], true, "espsecure failed: {result}");
        let ours = format!("rs{i}.bin");
        espboot_secure(
            d,
            &crypt_args(case, "encrypt-flash-data", "plain.bin", &ours),
        );
        let theirs = std::fs::read(d.join(format!("py{i}.bin"))).unwrap();
        let what = format!(
            "xts={} key={} address={} conf={}",
            case.xts, case.key_len, case.address, case.conf
        );
        assert_eq!(
            std::fs::read(d.join(&ours)).unwrap(),
            theirs,
            "encrypt {what}"
        );
        assert_ne!(theirs, plain, "{what}");
        // Decrypting espsecure's ciphertext gives the plaintext back.
        espboot_secure(
            d,
            &crypt_args(case, "decrypt-flash-data", &format!("py{i}.bin"), "dec.bin"),
        );
        assert_eq!(
            std::fs::read(d.join("dec.bin")).unwrap(),
            plain,
            "decrypt {what}"
        );
    }
}

/// A file larger than the 256 KiB threshold above which the streaming
/// encryption splits each 1 MiB chunk across threads.
#[test]
fn large_files_stream_to_the_same_bytes_as_espsecure() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("big.bin"), pattern((1 << 20) + 300 * 1024 + 48, 21)).unwrap();
    std::fs::write(d.join("key64.bin"), pattern(64, 22)).unwrap();
    std::fs::write(d.join("key32.bin"), pattern(32, 23)).unwrap();
    let runs: [&[&str]; 2] = [
        &[
            "encrypt-flash-data",
            "-x",
            "-k",
            "key64.bin",
            "-a",
            "0x10010",
        ],
        &["encrypt-flash-data", "-k", "key32.bin", "-a", "0x10010"],
    ];
    let steps: Vec<_> = runs
        .iter()
        .enumerate()
        .map(|(i, argv)| {
            let out = format!("py{i}.bin");
            let mut argv = argv.to_vec();
            argv.extend(["-o", &out, "big.bin"]);
            espsecure(&argv)
        })
        .collect();
    let Some(results) = python_batch(d, &steps) else {
        return;
    };
    for (i, (argv, r)) in runs.iter().zip(&results).enumerate() {
        assert_eq!(r["ok"], true, "{r}");
        crate::support::run_ok(
            crate::support::espboot()
                .current_dir(d)
                .arg("secure")
                .args(*argv)
                .args(["-o", "ours.bin", "big.bin"]),
        );
        assert!(
            std::fs::read(d.join("ours.bin")).unwrap()
                == std::fs::read(d.join(format!("py{i}.bin"))).unwrap(),
            "{argv:?}"
        );
    }
}

#[test]
fn underscore_spellings_and_short_options_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("plain.bin"), pattern(256, 2)).unwrap();
    std::fs::write(d.join("key.bin"), pattern(32, 3)).unwrap();
    let long = [
        "encrypt-flash-data",
        "--keyfile",
        "key.bin",
        "--address",
        "0x1000",
        "--aes-xts",
        "--output",
        "a.bin",
        "plain.bin",
    ];
    let old = [
        "encrypt_flash_data",
        "-k",
        "key.bin",
        "-a",
        "4096",
        "--aes_xts",
        "-o",
        "b.bin",
        "plain.bin",
    ];
    crate::support::run_ok(
        crate::support::espboot()
            .current_dir(d)
            .arg("secure")
            .args(long),
    );
    crate::support::run_ok(
        crate::support::espboot()
            .current_dir(d)
            .arg("secure")
            .args(old),
    );
    assert_eq!(
        std::fs::read(d.join("a.bin")).unwrap(),
        std::fs::read(d.join("b.bin")).unwrap()
    );
    let esp32 = [
        "encrypt_flash_data",
        "-k",
        "key.bin",
        "-a",
        "0x1000",
        "--flash_crypt_conf",
        "3",
        "-o",
        "c.bin",
        "plain.bin",
    ];
    crate::support::run_ok(
        crate::support::espboot()
            .current_dir(d)
            .arg("secure")
            .args(esp32),
    );
}

#[test]
fn esp32_encryption_pads_a_partial_block_with_random_bytes_like_espsecure() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plain = pattern(100, 4);
    std::fs::write(d.join("plain.bin"), &plain).unwrap();
    std::fs::write(d.join("key.bin"), pattern(32, 5)).unwrap();
    let base = ["-k", "key.bin", "-a", "0x2000"];
    crate::support::run_ok(
        crate::support::espboot()
            .current_dir(d)
            .args(["secure", "encrypt-flash-data"])
            .args(base)
            .args(["-o", "enc.bin", "plain.bin"]),
    );
    let enc = std::fs::read(d.join("enc.bin")).unwrap();
    assert_eq!(enc.len(), 112);
    crate::support::run_ok(
        crate::support::espboot()
            .current_dir(d)
            .args(["secure", "decrypt-flash-data"])
            .args(base)
            .args(["-o", "dec.bin", "enc.bin"]),
    );
    assert_eq!(
        &std::fs::read(d.join("dec.bin")).unwrap()[..100],
        &plain[..]
    );
}

/// Through an `espsecure` link, espsecure's own command line works.
#[test]
fn the_espsecure_link_accepts_the_reference_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::support::run_ok(
        crate::support::espboot()
            .arg("install-links")
            .arg(d.join("bin")),
    );
    std::fs::write(d.join("plain.bin"), pattern(512, 8)).unwrap();
    std::fs::write(d.join("key.bin"), pattern(32, 9)).unwrap();
    let args = ["-k", "key.bin", "-a", "0x1000", "-x"];
    crate::support::run_ok(
        std::process::Command::new(d.join("bin/espsecure"))
            .current_dir(d)
            .arg("encrypt_flash_data")
            .args(args)
            .args(["-o", "link.bin", "plain.bin"]),
    );
    crate::support::run_ok(
        crate::support::espboot()
            .current_dir(d)
            .args(["secure", "encrypt-flash-data"])
            .args(args)
            .args(["-o", "direct.bin", "plain.bin"]),
    );
    assert_eq!(
        std::fs::read(d.join("link.bin")).unwrap(),
        std::fs::read(d.join("direct.bin")).unwrap()
    );
}

/// Each bad input: non-zero exit, a one-line error naming the argument or
/// file, and no output file.
#[test]
fn bad_flash_encryption_input_gives_one_line_error_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("plain.bin"), pattern(4096, 6)).unwrap();
    std::fs::write(d.join("odd.bin"), pattern(100, 7)).unwrap();
    std::fs::write(d.join("empty.bin"), b"").unwrap();
    for len in [20usize, 24, 32, 64] {
        std::fs::write(d.join(format!("key{len}.bin")), pattern(len, len as u32)).unwrap();
    }
    let cases: &[(&[&str], &str)] = &[
        // A 512-bit key needs --aes-xts (esp-idf#15115).
        (
            &[
                "encrypt-flash-data",
                "-k",
                "key64.bin",
                "-a",
                "0x1000",
                "-o",
                "out.bin",
                "plain.bin",
            ],
            "--aes-xts",
        ),
        (
            &[
                "encrypt-flash-data",
                "-k",
                "key20.bin",
                "-a",
                "0x1000",
                "-o",
                "out.bin",
                "plain.bin",
            ],
            "key20.bin",
        ),
        (
            &[
                "encrypt-flash-data",
                "-x",
                "-k",
                "key20.bin",
                "-a",
                "0x1000",
                "-o",
                "out.bin",
                "plain.bin",
            ],
            "key20.bin",
        ),
        (
            &[
                "encrypt-flash-data",
                "-x",
                "-k",
                "key24.bin",
                "-a",
                "0x1000",
                "-o",
                "out.bin",
                "plain.bin",
            ],
            "key24.bin",
        ),
        (
            &[
                "encrypt-flash-data",
                "-x",
                "-k",
                "key32.bin",
                "-a",
                "0x1008",
                "-o",
                "out.bin",
                "plain.bin",
            ],
            "--address",
        ),
        (
            &[
                "decrypt-flash-data",
                "-k",
                "key32.bin",
                "-a",
                "0x1004",
                "-o",
                "out.bin",
                "plain.bin",
            ],
            "--address",
        ),
        (
            &[
                "encrypt-flash-data",
                "-x",
                "-k",
                "key32.bin",
                "-a",
                "0x1000",
                "-o",
                "out.bin",
                "odd.bin",
            ],
            "odd.bin",
        ),
        (
            &[
                "encrypt-flash-data",
                "-x",
                "-k",
                "key32.bin",
                "-a",
                "0x1000",
                "-o",
                "out.bin",
                "empty.bin",
            ],
            "empty.bin",
        ),
        (
            &[
                "decrypt-flash-data",
                "-k",
                "key32.bin",
                "-a",
                "0x1000",
                "-o",
                "out.bin",
                "odd.bin",
            ],
            "odd.bin",
        ),
        (
            &[
                "encrypt-flash-data",
                "-k",
                "key32.bin",
                "-a",
                "0x100000000",
                "-o",
                "out.bin",
                "plain.bin",
            ],
            "--address",
        ),
        (
            &[
                "encrypt-flash-data",
                "-k",
                "missing.bin",
                "-a",
                "0x1000",
                "-o",
                "out.bin",
                "plain.bin",
            ],
            "missing.bin",
        ),
        (
            &[
                "encrypt-flash-data",
                "-k",
                "key32.bin",
                "-a",
                "0x1000",
                "-o",
                "plain.bin",
                "plain.bin",
            ],
            "plain.bin",
        ),
    ];
    for (argv, needle) in cases {
        let out = crate::support::run_fail(
            crate::support::espboot()
                .current_dir(d)
                .arg("secure")
                .args(*argv),
        );
        crate::support::assert_one_line_error(&out, needle);
        assert!(!d.join("out.bin").exists(), "{argv:?} left an output file");
    }
    // No temporary files left behind either.
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".espboot-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `--address 0160` is not a Python integer: espsecure refuses it. An earlier
/// espboot parser read it as decimal 160 and wrote ciphertext for the wrong
/// address.
#[test]
fn regression_address_with_a_leading_zero_is_refused_as_espsecure_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("plain.bin"), pattern(64, 9)).unwrap();
    std::fs::write(d.join("key.bin"), pattern(32, 10)).unwrap();
    let argv = [
        "encrypt-flash-data",
        "--aes-xts",
        "--keyfile",
        "key.bin",
        "--address",
        "0160",
        "--output",
        "out.bin",
        "plain.bin",
    ];
    let out = crate::support::run_fail(
        crate::support::espboot()
            .current_dir(d)
            .arg("secure")
            .args(argv),
    );
    crate::support::assert_one_line_error(&out, "0160");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--address"));
    assert!(!d.join("out.bin").exists());
    if let Some(results) = python_batch(d, &[espsecure(&argv)]) {
        assert_eq!(results[0]["ok"], false, "espsecure accepted --address 0160");
    }
}
