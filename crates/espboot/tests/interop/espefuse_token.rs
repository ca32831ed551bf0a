//! espefuse's eFuse tokens through the `espefuse` personality against the
//! pinned espefuse 5.6.0, on every chip: the global `--token` (the virtual
//! chip's eFuses and chip come from the token) and `--show-token` on the
//! burn commands (the EFSW token of the write data before the
//! confirmation). Each row runs through both tools, each with its own copy
//! of any eFuse file; exit status, stdout, stderr (temp paths normalized)
//! and the file afterwards must agree. Every token fed to the tools is
//! made by espefuse (or, where that is the point, by espboot and then fed
//! to espefuse); a changed version or magic gets the CRC espefuse itself
//! names in its CRC-mismatch message.

use std::path::Path;
use std::process::Command;

use crate::support;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::espefuse::{crypt_cnt, per_chip, Espefuse, CHIPS};
use crate::support::tool_server::Request;

/// What one run printed, temp paths normalized, and the eFuse file after it.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    status: Option<i32>,
    stdout: String,
    stderr: String,
    file: Option<Vec<u8>>,
}

/// Runs espefuse (`theirs`) or the personality with `args` (`{file}`
/// replaced by `file`, which starts as a copy of `seed` when given) and
/// `stdin` (None: empty).
fn outcome(
    t: &mut Espefuse,
    theirs: bool,
    dir: &Path,
    args: &[String],
    file: Option<(&Path, Option<&[u8]>)>,
    stdin: Option<&str>,
) -> Outcome {
    if let Some((path, seed)) = file {
        match seed {
            Some(bytes) => std::fs::write(path, bytes).expect("seed file"),
            None => {
                let _ = std::fs::remove_file(path);
            }
        }
    }
    let file_arg = file
        .map(|(p, _)| p.display().to_string())
        .unwrap_or_default();
    let req = Request::new(args.iter().map(|a| a.replace("{file}", &file_arg)))
        .stdin(stdin.map(str::as_bytes));
    let out = t.run(theirs, &req);
    let text = |b: &[u8]| {
        let t = String::from_utf8_lossy(b);
        let t = if file_arg.is_empty() {
            t.into_owned()
        } else {
            t.replace(&file_arg, "<file>")
        };
        t.replace(&dir.display().to_string(), "<dir>")
    };
    let mut stderr = text(&out.stderr);
    // an uncaught Python exception is a traceback in espefuse; espboot
    // prints its last line: compare that line
    if stderr.starts_with("Traceback (most recent call last):") {
        stderr = stderr.lines().last().unwrap_or_default().to_string() + "\n";
    }
    Outcome {
        status: out.status.code(),
        stdout: text(&out.stdout),
        stderr,
        file: file.and_then(|(p, _)| std::fs::read(p).ok()),
    }
}

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Runs `args` through both tools (each on its own file seeded with
/// `seed`, if `file`), asserts they agree, and returns espefuse's outcome.
fn compare(
    t: &mut Espefuse,
    dir: &Path,
    args: &[String],
    file: bool,
    seed: Option<&[u8]>,
    stdin: Option<&str>,
) -> Outcome {
    let [theirs, ours] = [(true, "theirs.bin"), (false, "ours.bin")].map(|(theirs, name)| {
        let path = dir.join(name);
        let file = file.then_some((path.as_path(), seed));
        outcome(t, theirs, dir, args, file, stdin)
    });
    assert_eq!(theirs, ours, "espefuse {}", args.join(" "));
    theirs
}

/// The token a `dump --format token` printed (its last line).
fn printed_token(stdout: &str) -> String {
    let line = stdout.lines().last().unwrap_or_default().trim().to_string();
    assert!(line.starts_with("EFS"), "no token in {stdout}");
    line
}

/// `token` with its magic and version replaced and the CRC espefuse
/// computes for the new text (taken from its CRC-mismatch message).
fn respelled(t: &mut Espefuse, token: &str, magic: &str, version: &str) -> String {
    let mut parts: Vec<&str> = token.split(':').collect();
    parts[0] = magic;
    parts[2] = version;
    let n = parts.len();
    parts[n - 1] = "AAAAAA";
    let candidate = parts.join(":");
    let out = t.theirs(&Request::new(["--token", &candidate, "summary"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let crc = stderr
        .split("b64_crc=")
        .nth(1)
        .and_then(|s| s.lines().next())
        .unwrap_or_else(|| panic!("no CRC mismatch for {candidate}: {stderr}"));
    parts[n - 1] = crc;
    parts.join(":")
}

/// A token espefuse made for `chip` after burns into BLOCK0 and a data
/// block.
fn espefuse_token(t: &mut Espefuse, dir: &Path, chip: &str) -> String {
    let file = dir.join(format!("made-{chip}.bin"));
    let file = file.to_str().expect("utf-8 path");
    let virt = ["--virt", "-c", chip, "--path-efuse-file", file];
    for args in [
        &["burn-efuse", "WR_DIS", "5", crypt_cnt(chip), "1"][..],
        &["burn-bit", "BLOCK3", "1", "9", "200"],
    ] {
        let all: Vec<&str> = virt
            .iter()
            .chain(&["--do-not-confirm"])
            .chain(args)
            .copied()
            .collect();
        t.theirs_ok(&all);
    }
    let all: Vec<&str> = virt
        .iter()
        .chain(&["dump", "--format", "token"])
        .copied()
        .collect();
    printed_token(&t.theirs_ok(&all))
}

/// `--token` with a token espefuse made (as made, with another chip
/// revision, and as EFSW), and one espboot made: `summary`, `dump`,
/// `summary --format json` and `dump --format token` agree byte for byte,
/// whatever `--chip` says.
#[test]
fn espefuse_token_reads_match_espefuse_on_every_chip() {
    if support::reference_tool("espefuse").is_none() {
        return;
    }
    let compared = per_chip(&CHIPS, |t, chip| {
        let mut compared = 0;
        let dir = tempfile::tempdir().expect("tempdir");
        let made = espefuse_token(t, dir.path(), chip);
        // the same burns by espboot, its token fed to both tools
        let ours_file = dir.path().join(format!("ours-{chip}.bin"));
        let ours_file = ours_file.to_str().expect("utf-8 path");
        for args in [
            vec!["burn-efuse", "WR_DIS", "5", crypt_cnt(chip), "1"],
            vec!["burn-bit", "BLOCK3", "1", "9", "200"],
        ] {
            let out = t.ours(
                &Request::new(["--virt", "-c", chip, "--path-efuse-file", ours_file])
                    .args(["--do-not-confirm"])
                    .args(&args),
            );
            assert_eq!(out.status.code(), Some(0), "{chip}: {args:?}: {out:?}");
        }
        let out = t.ours(
            &Request::new(["--virt", "-c", chip, "--path-efuse-file", ours_file])
                .args(["dump", "--format", "token"]),
        );
        let ours = printed_token(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(ours, made, "{chip}: espboot's token after the same burns");
        let other = if chip == "esp32" { "esp32c3" } else { "esp32" };
        // the ESP32-H2 lists ECDSA_FORCE_USE_HARDWARE_K up to v1.1: both
        // sides of that revision there
        let (v1, v2) = if chip == "esp32h2" {
            ("102", "101")
        } else {
            ("203", "115")
        };
        let tokens = [
            made.clone(),
            ours,
            respelled(t, &made, "EFSR", v1),
            respelled(t, &made, "EFSR", v2),
            respelled(t, &made, "EFSW", "101"),
            respelled(t, &made, "EFSRW", "000"),
        ];
        for token in &tokens {
            for args in [
                vec!["summary"],
                vec!["-c", other, "dump"],
                vec!["summary", "--format", "json"],
                vec!["--virt", "dump", "--format", "token"],
                vec!["summary", "dump", "--format", "split"],
            ] {
                let mut row = words(&["--token", token]);
                row.extend(words(&args));
                let out = compare(t, dir.path(), &row, false, None, None);
                assert_eq!(out.status, Some(0), "{chip}: {row:?}: {out:?}");
                compared += 1;
            }
        }
        compared
    });
    assert_eq!(compared, CHIPS.len() * 6 * 5);
}

/// The burn commands with `--show-token` on `chip` (espefuse 5.6.0:
/// base_operations.py and each chip's operations.py add it to these),
/// with the files they read in `dir`.
fn show_token_rows(chip: &str, dir: &Path) -> Vec<Vec<String>> {
    let d = |name: &str| dir.join(name).display().to_string();
    let cnt = crypt_cnt(chip);
    let mut rows: Vec<Vec<String>> = vec![
        words(&["burn-efuse", cnt, "3", "--show-token"]),
        words(&["burn-bit", "BLOCK3", "0", "33", "--show-token"]),
        vec![
            "burn-block-data".into(),
            "BLOCK3".into(),
            d("data.bin"),
            "--offset".into(),
            "4".into(),
            "--show-token".into(),
        ],
        words(&["burn-custom-mac", "AA:CD:EF:01:02:03", "--show-token"]),
    ];
    // an option right after one name makes it one string, whose
    // characters espefuse takes for names (a repeat, or a KeyError)
    let (one, two) = if chip == "esp32" {
        ("BLOCK3", "BLOCK2")
    } else {
        ("BLOCK_KEY0", "BLOCK_KEY1")
    };
    rows.push(words(&["write-protect-efuse", one, "--show-token"]));
    rows.push(words(&["read-protect-efuse", one, two, "--show-token"]));
    if chip == "esp32" {
        rows.extend([
            words(&["read-protect-efuse", "--show-token", "BLOCK3"]),
            words(&["write-protect-efuse", "--show-token", "BLOCK3"]),
            vec![
                "burn-key".into(),
                "flash_encryption".into(),
                d("key32.bin"),
                "--show-token".into(),
            ],
            // (the ESP32's burn-key-digest needs a v3.0 chip: on v0.0
            // espefuse refuses it before any burn, and prints a line about
            // sensitive data first that espboot does not, unrelated to
            // tokens; it is left out here)
            words(&["set-flash-voltage", "1.8V", "--show-token"]),
        ]);
    } else {
        let (purpose, digest, pem) = if chip == "esp32c2" {
            ("XTS_AES_128_KEY", "SECURE_BOOT_DIGEST", "ec.pem")
        } else {
            ("XTS_AES_128_KEY", "SECURE_BOOT_DIGEST0", "rsa.pem")
        };
        rows.extend([
            words(&["read-protect-efuse", "--show-token", "BLOCK_KEY0"]),
            words(&["write-protect-efuse", "--show-token", "BLOCK_KEY0"]),
            vec![
                "burn-key".into(),
                "BLOCK_KEY0".into(),
                d("key32.bin"),
                purpose.into(),
                "--show-token".into(),
            ],
            if chip == "esp32c2" {
                vec!["burn-key-digest".into(), d(pem), "--show-token".into()]
            } else {
                vec![
                    "burn-key-digest".into(),
                    "BLOCK_KEY1".into(),
                    d(pem),
                    digest.into(),
                    "--show-token".into(),
                ]
            },
        ]);
    }
    rows
}

/// Signing keys, a key and block data for the burn rows, made by the
/// pinned tools.
fn key_files(dir: &Path) {
    std::fs::write(dir.join("key32.bin"), (0..32u8).collect::<Vec<_>>()).expect("key");
    std::fs::write(
        dir.join("data.bin"),
        (0..12u8).map(|i| i * 7 + 3).collect::<Vec<_>>(),
    )
    .expect("data");
    let espsecure = support::reference_bin_dir().join("espsecure");
    for (scheme, name) in [("rsa3072", "rsa.pem"), ("ecdsa256", "ec.pem")] {
        let out = Command::new(&espsecure)
            .args(["generate-signing-key", "--version", "2", "--scheme", scheme])
            .arg(dir.join(name))
            .output()
            .expect("espsecure");
        assert_eq!(out.status.code(), Some(0), "espsecure {scheme}: {out:?}");
    }
}

/// `--show-token` on every burn command that has it, on every chip, with
/// and without `--do-not-confirm` (no terminal: espefuse's Abort), on a
/// blank virtual chip and under `--token` with and without
/// `--path-efuse-file` (the token replaces the file's eFuses, the burn is
/// saved there): everything printed, the exit status and the file agree.
#[test]
fn espefuse_show_token_and_burns_under_token_match_espefuse_on_every_chip() {
    if support::reference_tool("espefuse").is_none() {
        return;
    }
    let keys = tempfile::tempdir().expect("tempdir");
    key_files(keys.path());
    // rows that printed a token on a blank chip (some refuse, as espefuse
    // does: a one-string name list, a key block that must stay readable)
    let shown = AtomicUsize::new(0);
    let compared = per_chip(&CHIPS, |t, chip| {
        let mut compared = 0;
        let dir = tempfile::tempdir().expect("tempdir");
        let made = espefuse_token(t, dir.path(), chip);
        // a file that holds something else, to be replaced by the token
        let other = dir.path().join(format!("made-{chip}.bin"));
        let mut seed = std::fs::read(&other).expect("made file");
        for b in seed.iter_mut().take(8) {
            *b = 0xa5;
        }
        for row in show_token_rows(chip, keys.path()) {
            for confirm in [true, false] {
                let confirm_arg: &[&str] = if confirm { &["--do-not-confirm"] } else { &[] };
                let mut virt = words(&["--virt", "-c", chip, "--path-efuse-file", "{file}"]);
                virt.extend(words(confirm_arg));
                virt.extend(row.iter().cloned());
                let out = compare(t, dir.path(), &virt, true, None, None);
                if out.stdout.contains("\neFuse token for burning:\nEFSW:") {
                    assert_eq!(out.status, Some(if confirm { 0 } else { 1 }), "{virt:?}");
                    shown.fetch_add(1, Ordering::Relaxed);
                }
                // unconfirmed, the file shows nothing was burned; the run
                // without a file adds nothing there
                let files: &[bool] = if confirm { &[false, true] } else { &[true] };
                for &file in files {
                    let mut under = words(&["--token", &made]);
                    if file {
                        under.extend(words(&["--path-efuse-file", "{file}"]));
                    }
                    under.extend(words(confirm_arg));
                    under.extend(row.iter().cloned());
                    compare(t, dir.path(), &under, file, Some(&seed), None);
                    compared += 2;
                }
                compared += 1;
            }
        }
        // chained: --show-token on the last command shows the token for
        // the batch (espefuse's flag, once set, stays set); after a burn
        // the read commands run again; nothing left to burn: no token
        for chain in [
            vec![
                "burn-bit",
                "BLOCK3",
                "7",
                "burn-custom-mac",
                "AA:CD:EF:01:02:03",
                "--show-token",
            ],
            vec![
                "burn-bit",
                "BLOCK3",
                "12",
                "--show-token",
                "summary",
                "dump",
            ],
            vec!["burn-bit", "BLOCK3", "1", "--show-token"],
        ] {
            let mut row = words(&["--token", &made, "--do-not-confirm"]);
            row.extend(words(&chain));
            compare(t, dir.path(), &row, false, None, None);
            compared += 1;
        }
        compared
    });
    let shown = shown.into_inner();
    assert!(compared > CHIPS.len() * 9 * 5);
    assert!(shown >= CHIPS.len() * 6 * 2, "tokens shown: {shown}");
}

/// A refused token: the same message, hint, exit status and what was
/// printed before (the banner), whatever the commands after it.
#[test]
fn espefuse_bad_tokens_are_refused_as_espefuse_refuses_them() {
    let Some(mut t) = Espefuse::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let made = espefuse_token(&mut t, dir.path(), "esp32c3");
    let parts: Vec<&str> = made.split(':').collect();
    let n = parts.len();
    let with = |i: usize, v: &str| {
        let mut p = parts.clone();
        p[i] = v;
        p.join(":")
    };
    let mut bad = vec![
        // fewer than six fields
        parts[..5].join(":"),
        // an unknown magic word
        with(0, "EFSX"),
        // a chip espefuse does not know
        with(1, "esp32zz"),
        // a CRC of the wrong length, and a wrong one
        with(n - 1, "AAAA"),
        with(n - 1, "AAAAAA"),
        // a block too many, a block too few
        made.replacen("::", ":::", 1),
        made.replacen("::", ":", 1),
        // a block of the wrong length, and no base64 at all
        with(3, "AQAA"),
        with(3, "A"),
        // a coding-error field that is no base64 (a Python exception)
        with(n - 2, "a"),
        // an empty token
        String::new(),
    ];
    bad.push(format!("  {made}  "));
    for token in &bad {
        for tail in [vec!["summary"], vec!["burn-efuse", "WR_DIS", "1"]] {
            let mut row = words(&["--token", token]);
            row.extend(words(&tail));
            compare(&mut t, dir.path(), &row, false, None, None);
        }
    }
}

/// `--token` was an option espboot reported as unsupported: reading a
/// chip from espefuse's token now prints what espefuse prints.
#[test]
fn regression_espefuse_token_option_was_unsupported() {
    let Some(mut t) = Espefuse::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let made = espefuse_token(&mut t, dir.path(), "esp32s3");
    let out = compare(
        &mut t,
        dir.path(),
        &words(&["--token", &made, "summary"]),
        false,
        None,
        None,
    );
    assert_eq!(out.status, Some(0), "{out:?}");
    assert!(!out.stderr.contains("not supported"), "{out:?}");
}

/// `--show-token` was missing from the burn commands (a usage error):
/// the EFSW token of the write data is printed before the confirmation.
#[test]
fn regression_show_token_was_missing_from_the_burn_commands() {
    let Some(mut t) = Espefuse::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = compare(
        &mut t,
        dir.path(),
        &words(&[
            "--virt",
            "-c",
            "esp32c6",
            "--do-not-confirm",
            "burn-efuse",
            "WR_DIS",
            "1",
            "--show-token",
        ]),
        false,
        None,
        None,
    );
    assert_eq!(out.status, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("\neFuse token for burning:\nEFSW:esp32c6:000:"),
        "{out:?}"
    );
    // and only the ESP32's set-flash-voltage has it
    let out = compare(
        &mut t,
        dir.path(),
        &words(&[
            "--virt",
            "-c",
            "esp32s3",
            "set-flash-voltage",
            "1.8V",
            "--show-token",
        ]),
        false,
        None,
        None,
    );
    assert_eq!(out.status, Some(2), "{out:?}");
}

/// espefuse's group callback loads the chip from `--token` and saves it to
/// `--path-efuse-file` before click reads the commands: after a usage
/// error of a command, or a command's help, the file holds the token's
/// eFuses (espboot wrote a blank chip there). With execute-scripts in the
/// chain the callback returns first and writes nothing. Each row runs on
/// every chip, with the file missing and with a file of other bytes.
#[test]
fn regression_token_file_was_blank_after_command_usage_errors() {
    let compared = per_chip(&CHIPS, |t, chip| {
        let dir = tempfile::tempdir().expect("tempdir");
        let made = espefuse_token(t, dir.path(), chip);
        let mut compared = 0;
        for row in [
            vec!["summary", "--bogus"],
            vec!["burn-efuse"],
            vec!["summary", "--format", "value_only", "WR_DIS", "--active"],
            vec!["execute-scripts", "x.py", "summary"],
        ] {
            let mut args = words(&["--token", &made, "--path-efuse-file", "{file}"]);
            args.extend(words(&row));
            for seed in [None, Some(&b"not an eFuse image"[..])] {
                let out = compare(t, dir.path(), &args, true, seed, None);
                assert_eq!(out.status, Some(2), "{chip}: {row:?}: {out:?}");
                compared += 1;
            }
        }
        compared
    });
    assert!(support::interop_skipped() || compared == CHIPS.len() * 4 * 2);
}
