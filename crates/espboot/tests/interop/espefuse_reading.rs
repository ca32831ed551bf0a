//! How espefuse reads a virtual chip, through the `espefuse` personality
//! against the pinned espefuse 5.6.0 on every chip: the
//! `--path-efuse-file` it takes as it finds it (shorter, longer, another
//! chip's, seeded by a token), the calculated MAC field it parses back as it
//! reads, `check-error --recovery` on the blocks it read before burning,
//! and the field list its commands walk once registered. Each sequence runs
//! through both tools in their own directories; exit status, stdout,
//! stderr (a traceback cut to its last line) and the eFuse file after each
//! step must agree.

use std::str::FromStr as _;

use esp_efuse::token::{encode, TokenKind};
use esp_efuse::{Chip, ChipEfuses as _};

use crate::support::espefuse::{per_chip, step, Espefuse, Step, Twins, CHIPS};
use crate::support::tool_server::Request;

/// Deterministic bytes that look random (an LCG), so that the pattern
/// sets protection and purpose bits in BLOCK0 as a real chip's might.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect()
}

fn chip_of(name: &str) -> Chip {
    Chip::from_str(name).expect("one of the seven chips")
}

/// An EFSR token of `chip` whose blocks are `fill(block length)` and whose
/// coding-error registers are all set when `errors`.
fn token(chip: &str, fill: impl Fn(usize, usize) -> Vec<u8>, errors: bool) -> String {
    let c = chip_of(chip);
    let table = c.table();
    let blocks: Vec<Vec<u8>> = table
        .blocks
        .iter()
        .enumerate()
        .map(|(i, b)| fill(i, b.len_words * 4))
        .collect();
    let cerr: Vec<u32> = vec![u32::MAX; table.error_regs.len()];
    encode(
        TokenKind::Read,
        c,
        0,
        &blocks,
        errors.then_some(cerr.as_slice()),
    )
}

/// A file made by espefuse itself: `args` run on a fresh `--path-efuse-file`.
fn made_by_espefuse(t: &mut Espefuse, chip: &str, args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("made.bin");
    let file = file.to_str().expect("utf-8 path");
    let all: Vec<&str> = ["--virt", "-c", chip, "--path-efuse-file", file]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    t.theirs_ok(&all);
    std::fs::read(file).expect("espefuse wrote its file")
}

/// The chip of the same file size from another family (an ESP32-C3 file
/// read as an ESP32-S3's, and the other way round).
fn same_size_other_chip(chip: &str) -> &'static str {
    match chip {
        "esp32" => "esp32",
        "esp32c3" => "esp32s3",
        _ => "esp32c3",
    }
}

/// The personality refused files espefuse reads: a file shorter than the
/// chip's (espefuse appends a blank image and starts blank, and reads the
/// result next time), a longer one (its first bytes), one written for
/// another chip of the same size, and the file espefuse and espboot save
/// for a token of all-ones blocks (another family's controller registers
/// seemed burned there, so the personality refused the file it had just
/// saved).
#[test]
fn regression_efuse_files_espefuse_reads_were_refused() {
    let compared = per_chip(&CHIPS, |t, chip| {
        let size = chip_of(chip).table().mem_size;
        let burn = step(&["burn-efuse", "WR_DIS", "1"]);
        let reads = || vec![step(&["summary"]), step(&["dump"])];
        let other = same_size_other_chip(chip);
        let foreign =
            made_by_espefuse(t, other, &["--do-not-confirm", "burn-efuse", "WR_DIS", "3"]);
        let ones = token(chip, |_, len| vec![0xff; len], false);
        let seeded = made_by_espefuse(t, chip, &["--token", &ones, "summary"]);
        // a longer file: the first bytes are a blank chip's, then junk
        let mut longer = vec![0u8; size];
        longer.extend(noise(100, 7));
        let files: [(&str, Vec<u8>, Vec<Step>); 5] = [
            (
                "short zeros",
                vec![0; 4],
                vec![
                    step(&["summary"]),
                    step(&["summary"]),
                    burn,
                    step(&["dump"]),
                ],
            ),
            ("short junk", vec![1, 2, 3], reads()),
            ("longer", longer, reads()),
            ("another chip's", foreign, reads()),
            ("all-ones token's", seeded, reads()),
        ];
        let mut steps = 0;
        for (what, content, sequence) in &files {
            let twins = Twins {
                files: &[("efuse.bin", content)],
                ..Twins::default()
            };
            steps += t.compare_steps(chip, what, &twins, sequence);
        }
        steps
    });
    assert!(
        crate::support::interop_skipped() || compared == CHIPS.len() * 12,
        "{compared}"
    );
}

/// On the C6 and H2, espefuse parses MAC_EUI64's shown value back as it
/// reads the chip; with coding errors in BLOCK1 that value ends in
/// "(Block1 has ERRORS:n FAIL:b)", whose colons fail the MAC check, so
/// espefuse fails every command there. The personality read on.
#[test]
fn regression_block1_errors_did_not_stop_the_c6_and_h2_as_they_stop_espefuse() {
    let compared = per_chip(&CHIPS, |t, chip| {
        let tok = token(chip, |i, len| noise(len, i as u32 + 1), true);
        let twins = Twins {
            global: &["--token", &tok],
            ..Twins::default()
        };
        let steps = [
            step(&["summary"]),
            step(&["check-error"]),
            step(&["burn-efuse", "WR_DIS", "1"]),
        ];
        if matches!(chip, "esp32c6" | "esp32h2") {
            let out = t.theirs(&Request::new([
                "--virt", "-c", chip, "--token", &tok, "summary",
            ]));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{chip}: {stderr}");
            assert!(
                stderr.contains("MAC Address needs to be a 8-byte"),
                "{stderr}"
            );
        }
        t.compare_steps(chip, "BLOCK1 errors", &twins, &steps)
    });
    assert!(
        crate::support::interop_skipped() || compared == CHIPS.len() * 3,
        "{compared}"
    );
}

/// `check-error --recovery` burns each block with errors again with the
/// data espefuse read before the first burn. After that burn the
/// controller hides read-protected blocks, so the personality found them
/// empty and skipped them; espefuse burns them ("… is read-protected …",
/// "Read all '0'").
#[test]
fn regression_recovery_skipped_read_protected_blocks() {
    let hidden_blocks_burned = std::sync::atomic::AtomicUsize::new(0);
    let compared = per_chip(&CHIPS, |t, chip| {
        let tok = token(chip, |i, len| noise(len, 40 + i as u32), true);
        let twins = Twins {
            global: &["--token", &tok],
            ..Twins::default()
        };
        let recovery = step(&["check-error", "--recovery"]);
        let out = t.theirs(
            &Request::new(["--virt", "-c", chip, "--token", &tok, "--do-not-confirm"])
                .args(["check-error", "--recovery"]),
        );
        if String::from_utf8_lossy(&out.stdout).contains("Read all '0'") {
            hidden_blocks_burned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        t.compare_steps(chip, "recovery", &twins, &[recovery])
    });
    if !crate::support::interop_skipped() {
        assert_eq!(compared, CHIPS.len());
        // the tokens read-protect blocks with errors on most chips
        assert!(hidden_blocks_burned.into_inner() >= 4);
    }
}

/// espefuse reads the ESP32's coding scheme when it reads the chip and
/// again after each burn; its emulator reads it on every command. A burn
/// on a 3/4 chip whose RD_DIS hides CODING_SCHEME (bit 3) hides the scheme
/// from the emulator, which then takes the next block's coded words as
/// they are, check bytes and all, while espefuse still codes 3/4. The
/// personality decoded every burn, so the blocks burned after the first
/// (by one `burn-block-data`, or by `check-error --recovery`) held other
/// bits than espefuse's, and were shown 32 bytes long.
#[test]
fn regression_esp32_34_scheme_hidden_by_a_burn_was_still_decoded() {
    let Some(mut t) = Espefuse::start() else {
        return;
    };
    let k24 = noise(24, 7);
    let k24b = noise(24, 8);
    // the token's BLOCK0: RD_DIS bit 3 (word 0 bit 19), CODING_SCHEME 3/4
    // (word 6 bits 0-1); BLOCK3 holds data in its first chunk and in the
    // two words the 3/4 scheme does not show
    let block0 = |len: usize| {
        let mut b = vec![0u8; len];
        b[2] = 0x08;
        b[24] = 0x01;
        b
    };
    let tokens: Vec<String> = [false, true]
        .iter()
        .map(|&errors| {
            token(
                "esp32",
                |i, len| match i {
                    0 => block0(len),
                    3 => {
                        let mut b = vec![0u8; len];
                        b[..6].copy_from_slice(&noise(6, 9));
                        b[24..].copy_from_slice(&noise(8, 10));
                        b
                    }
                    _ => vec![0; len],
                },
                errors,
            )
        })
        .collect();
    let files: &[(&str, &[u8])] = &[("k24.bin", &k24), ("k24b.bin", &k24b)];
    let mut compared = 0;
    for (tok, steps) in tokens.iter().zip([
        vec![
            step(&["summary"]),
            // BLOCK3 is burned while the emulator decodes 3/4, BLOCK2 after
            step(&["burn-block-data", "--offset", "6", "BLOCK3", "k24.bin"]),
            step(&["burn-block-data", "BLOCK2", "k24.bin", "BLOCK1", "k24b.bin"]),
            step(&["burn-key", "BLOCK1", "k24.bin", "BLOCK2", "k24b.bin"]),
            step(&[
                "burn-efuse",
                "FLASH_CRYPT_CNT",
                "1",
                "BLK3_PART_RESERVE",
                "1",
            ]),
        ],
        vec![step(&["check-error", "--recovery"]), step(&["check-error"])],
    ]) {
        let twins = Twins {
            global: &["--token", tok],
            files,
            ..Twins::default()
        };
        compared += t.compare_steps("esp32", "hidden 3/4", &twins, &steps);
    }
    // the same on a file: the scheme is hidden for good after the burn
    let twins = Twins {
        files,
        ..Twins::default()
    };
    compared += t.compare_steps(
        "esp32",
        "hidden 3/4 in a file",
        &twins,
        &[
            step(&["burn-efuse", "CODING_SCHEME", "1"]),
            step(&["burn-block-data", "BLOCK3", "k24.bin"]),
            step(&["burn-efuse", "RD_DIS", "8"]),
            step(&["summary"]),
            step(&["burn-block-data", "BLOCK2", "k24b.bin"]),
        ],
    );
    assert_eq!(compared, 12);
}

/// Registering `burn-custom-mac` looks CUSTOM_MAC up for its help, which
/// on the ESP32 adds that lazy group at the end of espefuse's field list;
/// burn-efuse's ATTENTION list of a 3/4-coded BLOCK3 names them, after the
/// 3/4 key blocks (which stand before the late groups, not after the
/// calculated fields). The personality left them out, or put them first.
#[test]
fn regression_esp32_attention_list_lacked_the_custom_mac_group() {
    let Some(mut t) = Espefuse::start() else {
        return;
    };
    let k16: Vec<u8> = noise(16, 3);
    let twins = Twins {
        files: &[("k16.bin", &k16)],
        ..Twins::default()
    };
    let sequences: [&[&[&str]]; 2] = [
        &[
            &["burn-efuse", "CODING_SCHEME", "1"],
            &["burn-block-data", "--offset", "4", "BLOCK3", "k16.bin"],
            &["burn-efuse", "MAC_VERSION", "1"],
        ],
        &[
            &["burn-efuse", "CODING_SCHEME", "1"],
            &["burn-efuse", "MAC_VERSION", "1"],
            &["burn-efuse", "CUSTOM_MAC_CRC", "1", "SECURE_VERSION", "2"],
            &["burn-efuse", "BLK3_PART_RESERVE", "1"],
            &["burn-efuse", "ADC1_TP_LOW", "1"],
        ],
    ];
    let mut compared = 0;
    for (i, sequence) in sequences.iter().enumerate() {
        let steps: Vec<Step> = sequence.iter().map(|a| step(a)).collect();
        compared += t.compare_steps("esp32", &format!("3/4 #{i}"), &twins, &steps);
    }
    assert_eq!(compared, 8);
}

/// `burn-efuse --help` lists the eFuse names it takes ("Allowed options
/// for EFUSE_NAME: […]"), which the personality left out.
#[test]
fn regression_burn_efuse_help_lacked_the_allowed_names() {
    let compared = per_chip(&CHIPS, |t, chip| {
        let [theirs, ours] = t.both(&Request::new(["-c", chip, "burn-efuse", "--help"]));
        let allowed = |out: &std::process::Output| -> String {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let start = text.find(" Allowed options").unwrap_or(text.len());
            let rest = &text[start..];
            let end = rest.find("].").map_or(rest.len(), |e| e + 2);
            rest[..end].to_owned()
        };
        let (a, b) = (allowed(&theirs), allowed(&ours));
        assert!(a.contains("WR_DIS"), "{chip}: {a}");
        assert_eq!(a, b, "{chip}");
        1
    });
    assert!(
        crate::support::interop_skipped() || compared == CHIPS.len(),
        "{compared}"
    );
}
