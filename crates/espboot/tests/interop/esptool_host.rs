//! esptool 5.6.0's host-only commands against `espboot flash`: every
//! `merge-bin` output (raw, Intel HEX, UF2) byte for byte, and every
//! `image-info` report line for line, on inputs built here, each run
//! through the pinned esptool in the same test. esptool's stdout starts
//! with its banner (`esptool v5.6.0`), which `espboot flash` does not
//! print; everything after it must match, and stderr must match whole.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Output;

use esp_image::esp_image::{EspImageBuilder, FlashMode, FlashSize, Segment};
use esp_image::Chip;

use crate::support::secure::pattern;

/// esptool's stdout without its banner line.
fn without_banner(stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stdout);
    text.strip_prefix("esptool v5.6.0\n")
        .unwrap_or_else(|| panic!("no esptool banner in:\n{text}"))
        .to_owned()
}

fn esptool(dir: &Path, args: &[&str]) -> Option<Output> {
    let mut cmd = crate::support::reference_tool("esptool")?;
    Some(cmd.current_dir(dir).args(args).output().unwrap())
}

fn espboot(dir: &Path, args: &[&str]) -> Output {
    crate::support::espboot()
        .current_dir(dir)
        .arg("flash")
        .args(args)
        .output()
        .unwrap()
}

/// The `esptool` link `espboot install-links` creates, once the esptool
/// personality exists (then every comparison also runs through it, banner
/// included); `None` before.
fn esptool_link() -> Option<&'static Path> {
    static LINK: std::sync::OnceLock<Option<(tempfile::TempDir, std::path::PathBuf)>> =
        std::sync::OnceLock::new();
    LINK.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        crate::support::run_ok(
            crate::support::espboot()
                .arg("install-links")
                .arg(dir.path()),
        );
        let link = dir.path().join("esptool");
        link.exists().then_some((dir, link))
    })
    .as_ref()
    .map(|(_, link)| link.as_path())
}

/// Runs `args` through both tools (the output file name, if any, given as
/// `{out}` and replaced per tool) and asserts the same success, stdout
/// and stderr; returns both output files' bytes when `out` is given.
fn both(dir: &Path, args: &[&str], out: Option<&str>) -> Option<(Vec<u8>, Vec<u8>)> {
    let with = |name: &str| -> Vec<String> {
        args.iter()
            .map(|a| a.replace("{out}", &format!("{name}.{}", out.unwrap_or(""))))
            .collect()
    };
    let ref_args = with("ref");
    let our_args = with("ours");
    let ref_refs: Vec<&str> = ref_args.iter().map(String::as_str).collect();
    let our_refs: Vec<&str> = our_args.iter().map(String::as_str).collect();
    let reference = esptool(dir, &ref_refs)?;
    let ours = espboot(dir, &our_refs);
    let context = format!(
        "{args:?}\nesptool stderr:\n{}\nespboot stderr:\n{}",
        String::from_utf8_lossy(&reference.stderr),
        String::from_utf8_lossy(&ours.stderr)
    );
    assert!(reference.status.success(), "esptool failed: {context}");
    assert!(ours.status.success(), "espboot failed: {context}");
    let unify = |s: String, name: &str| match out {
        Some(ext) if name == "ref" => {
            temp_names_as(&s.replace(&format!("{name}.{ext}"), "OUT"), "in.hex")
        }
        Some(ext) => s.replace(&format!("{name}.{ext}"), "OUT"),
        None => s,
    };
    assert_eq!(
        unify(String::from_utf8_lossy(&ours.stdout).into_owned(), "ours"),
        unify(without_banner(&reference.stdout), "ref"),
        "stdout differs: {context}"
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stderr),
        String::from_utf8_lossy(&reference.stderr),
        "stderr differs: {context}"
    );
    if let Some(link) = esptool_link() {
        // Through the `esptool` name the banner is there too.
        let linked = std::process::Command::new(link)
            .current_dir(dir)
            .args(&our_refs)
            .output()
            .unwrap();
        assert!(linked.status.success(), "esptool link failed: {context}");
        assert_eq!(
            unify(String::from_utf8_lossy(&linked.stdout).into_owned(), "ours"),
            unify(
                String::from_utf8_lossy(&reference.stdout).into_owned(),
                "ref"
            ),
            "stdout through the esptool link differs: {context}"
        );
        assert_eq!(
            String::from_utf8_lossy(&linked.stderr),
            String::from_utf8_lossy(&reference.stderr),
            "stderr through the esptool link differs: {context}"
        );
    }
    let ext = out?;
    Some((
        std::fs::read(dir.join(format!("ref.{ext}"))).unwrap(),
        std::fs::read(dir.join(format!("ours.{ext}"))).unwrap(),
    ))
}

/// esptool names the runs of a HEX input by the temporary files it splits
/// them into (`'/tmp/tmpXXXX.bin'`, random); we name the input file.
fn temp_names_as(text: &str, input: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("'/tmp/tmp") {
        let Some(len) = rest[at..].find(".bin'") else {
            break;
        };
        out.push_str(&rest[..at]);
        out.push_str(&format!("'{input}'"));
        rest = &rest[at + len + 5..];
    }
    out.push_str(rest);
    out
}

/// An `esp_app_desc_t` (ESP-IDF `esp_app_desc.h`) padded into a DROM
/// segment.
fn app_desc(mmu_log2: u8) -> Vec<u8> {
    let mut d = vec![0u8; 256];
    d[0..4].copy_from_slice(&0xABCD_5432u32.to_le_bytes());
    d[4..8].copy_from_slice(&7u32.to_le_bytes());
    let put =
        |d: &mut Vec<u8>, at: usize, s: &str| d[at..at + s.len()].copy_from_slice(s.as_bytes());
    put(&mut d, 16, "v1.2.3-espboot");
    put(&mut d, 48, "hello_world");
    put(&mut d, 80, "01:54:00");
    put(&mut d, 96, "Dec  6 2026");
    put(&mut d, 112, "v5.4.1");
    for (i, b) in d[144..176].iter_mut().enumerate() {
        *b = i as u8 * 7;
    }
    d[176..178].copy_from_slice(&1u16.to_le_bytes());
    d[178..180].copy_from_slice(&199u16.to_le_bytes());
    d[180] = mmu_log2;
    d.extend_from_slice(&pattern(100, 3));
    d
}

/// An `esp_bootloader_desc_t` at the start of a DRAM segment.
fn bootloader_desc() -> Vec<u8> {
    let mut d = vec![0u8; 80];
    d[0] = 0x50;
    d[4..8].copy_from_slice(&3u32.to_le_bytes());
    d[8..14].copy_from_slice(b"v5.4.1");
    d[40..60].copy_from_slice(b"Dec  6 2026 01:54:00");
    d.extend_from_slice(&pattern(40, 9));
    d
}

/// The image files `image-info` and `merge-bin` are compared on, for
/// `chip`: name and bytes.
fn images(chip: Chip) -> Vec<(String, Vec<u8>)> {
    let map = chip.memory_map(false);
    let drom = chip
        .memory_types()
        .iter()
        .find(|(_, _, n)| *n == "DROM")
        .unwrap()
        .0;
    let plain = EspImageBuilder::new(chip, map.iram.start + 0x40)
        .segment(Segment::new(map.dram.start + 0x100, pattern(37, 1)))
        .segment(Segment::new(map.iram.start, pattern(301, 2)));
    let app = EspImageBuilder::new(chip, map.iram.start)
        .flash_params(FlashMode::Qio, FlashSize::Mb16, 0xF)
        .chip_revisions(3, 101, 399)
        .segment(Segment::new(drom + 0x20, app_desc(16)))
        .segment(Segment::new(map.iram.start, pattern(64, 4)));
    let boot = EspImageBuilder::new(chip, map.iram.start)
        .flash_params(FlashMode::Dout, FlashSize::Mb2, 0x2)
        .segment(Segment::new(map.dram.start, bootloader_desc()))
        .segment(Segment::new(map.iram.start + 0x200, pattern(90, 5)));
    let mut out = vec![
        (format!("{chip}-plain.bin"), plain.clone().build()),
        (
            format!("{chip}-nosha.bin"),
            plain.clone().hash_appended(false).build(),
        ),
        (format!("{chip}-app.bin"), app.clone().build()),
        (
            format!("{chip}-app-nomagic.bin"),
            EspImageBuilder::new(chip, map.iram.start)
                .segment(Segment::new(drom, pattern(300, 6)))
                .build(),
        ),
        (
            format!("{chip}-app-mmu.bin"),
            EspImageBuilder::new(chip, map.iram.start)
                .segment(Segment::new(drom, app_desc(0)))
                .hash_appended(false)
                .build(),
        ),
        (format!("{chip}-boot.bin"), boot.build()),
    ];
    // Corruptions esptool reports rather than refuses.
    let good = plain.build();
    let mut bad_sum = good.clone();
    bad_sum[24 + 8 + 3] ^= 0x10;
    out.push((format!("{chip}-badsum.bin"), bad_sum));
    let mut bad_sha = good.clone();
    let last = bad_sha.len() - 1;
    bad_sha[last] ^= 1;
    out.push((format!("{chip}-badsha.bin"), bad_sha));
    let mut odd = good.clone();
    odd[2] = 7; // no such flash mode
    odd[3] = 0x9E; // no such size, no such frequency
    odd[4..8].copy_from_slice(&0u32.to_le_bytes()); // entry not set
    odd[8] = 0x05; // a WP pin
    odd[9..12].copy_from_slice(&[0x21, 0x43, 0x65]); // drive strengths
    out.push((format!("{chip}-odd.bin"), odd));
    let mut small_entry = good;
    small_entry[4..8].copy_from_slice(&0x1000u32.to_le_bytes());
    out.push((format!("{chip}-entry.bin"), small_entry));
    out
}

#[test]
fn image_info_matches_esptool_line_for_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut compared = 0;
    for chip in Chip::ALL {
        // Every shape on two chips (one with a bootloader at 0x1000, one
        // RISC-V), the ones whose text depends on the chip's tables on all.
        let every_shape = matches!(chip, Chip::Esp32 | Chip::Esp32c3);
        for (name, bytes) in images(chip) {
            let per_chip = ["-app.bin", "-boot.bin", "-odd.bin"]
                .iter()
                .any(|suffix| name.ends_with(suffix));
            if !every_shape && !per_chip {
                continue;
            }
            std::fs::write(d.join(&name), &bytes).unwrap();
            let mut runs = vec![vec!["image-info", name.as_str()]];
            if every_shape {
                runs.push(vec!["--chip", chip.name(), "image-info", name.as_str()]);
            }
            for args in runs {
                if both(d, &args, None).is_none() && crate::support::interop_skipped() {
                    return;
                }
                compared += 1;
            }
        }
    }
    // An image read as another chip (its Chip ID line names the real one),
    // a bootloader from `espboot sim`, the same signed for Secure Boot V2,
    // and a merged HEX file holding an image and a non-image.
    let c3 = images(Chip::Esp32c3);
    std::fs::write(d.join("c3.bin"), &c3[0].1).unwrap();
    both(d, &["--chip", "esp32s3", "image-info", "c3.bin"], None);
    crate::support::run_ok(crate::support::espboot().current_dir(d).args([
        "sim",
        "build-bootloader",
        "--target",
        "esp32s3",
        "-o",
        "sim-bl.bin",
    ]));
    crate::support::run_ok(crate::support::espboot().current_dir(d).args([
        "secure",
        "generate-signing-key",
        "--version",
        "2",
        "--scheme",
        "ecdsa256",
        "k.pem",
    ]));
    crate::support::run_ok(crate::support::espboot().current_dir(d).args([
        "secure",
        "sign-data",
        "--version",
        "2",
        "--keyfile",
        "k.pem",
        "--output",
        "signed.bin",
        "sim-bl.bin",
    ]));
    std::fs::write(d.join("other.bin"), pattern(3000, 8)).unwrap();
    both(
        d,
        &[
            "--chip",
            "esp32s3",
            "merge-bin",
            "-f",
            "hex",
            "-o",
            "merged.hex",
            "0x0",
            "sim-bl.bin",
            "0x8000",
            "other.bin",
        ],
        None,
    );
    for file in ["sim-bl.bin", "signed.bin", "merged.hex"] {
        both(d, &["image-info", file], None);
        compared += 1;
    }
    compared += 2;
    eprintln!("image-info: {compared} reports identical to esptool's");
}

#[test]
fn merge_bin_matches_esptool_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("part.bin"), pattern(0xC00, 11)).unwrap();
    std::fs::write(d.join("app.bin"), pattern(5000, 12)).unwrap();
    std::fs::write(d.join("tail.bin"), pattern(301, 13)).unwrap();
    let mut compared = 0;
    for chip in Chip::ALL {
        let boot = format!("0x{:x}", chip.bootloader_offset());
        let imgs = images(chip);
        std::fs::write(d.join("boot.bin"), &imgs[5].1).unwrap(); // DOUT 2MB, SHA
        std::fs::write(d.join("nosha.bin"), &imgs[1].1).unwrap();
        let c = chip.name();
        let freq = chip.flash_frequencies()[0].0;
        let mut cases: Vec<Vec<&str>> = vec![
            vec![
                &boot, "boot.bin", "0x8000", "part.bin", "0x10000", "app.bin",
            ],
            vec![
                "--flash-mode",
                "qio",
                "--flash-freq",
                freq,
                "--flash-size",
                "4MB",
                &boot,
                "boot.bin",
                "0x10000",
                "app.bin",
            ],
            vec![
                "--flash-size",
                "16MB",
                &boot,
                "nosha.bin",
                "0x20000",
                "tail.bin",
            ],
            vec!["--flash-mode", "dio", &boot, "app.bin"], // not an image: warned, kept
            vec!["0x10000", "app.bin", "0x1fff8", "tail.bin"], // across a 64 KiB page
        ];
        // The header patch depends on the chip (bootloader offset,
        // frequency codes, UF2 family): every chip; the other shapes on
        // two chips.
        if !matches!(chip, Chip::Esp32 | Chip::Esp32c3) {
            cases = vec![cases.swap_remove(1)];
        }
        for format in ["raw", "hex", "uf2"] {
            for case in &mut cases {
                let mut args = vec!["--chip", c, "merge-bin", "-f", format, "-o", "{out}"];
                args.extend_from_slice(case);
                let (reference, ours) = match both(d, &args, Some(format)) {
                    Some(pair) => pair,
                    None => return,
                };
                assert!(reference == ours, "{format} output differs for {args:?}");
                compared += 1;
            }
        }
        if chip != Chip::Esp32c3 {
            continue;
        }
        // Format-specific options.
        let extra: [&[&str]; 5] = [
            &["--target-offset", "0x8000", "--pad-to-size", "1MB"],
            &["-t", "0x8000", "--fill-flash-size", "2MB"],
            &["-f", "uf2", "--chunk-size", "256"],
            &["-f", "uf2", "--md5-disable"],
            &["-f", "uf2", "--md5-disable", "--chunk-size", "128"],
        ];
        for options in extra {
            let format = if options.contains(&"uf2") {
                "uf2"
            } else {
                "raw"
            };
            let mut args = vec!["--chip", c, "merge-bin", "-o", "{out}"];
            args.extend_from_slice(options);
            args.extend_from_slice(&["0x8000", "part.bin", "0x10000", "app.bin"]);
            if options.contains(&"--fill-flash-size") {
                // esptool warns about the old name on stderr; we take it
                // silently: compare the bytes only.
                let ours_args: Vec<&str> = args
                    .iter()
                    .map(|a| if *a == "{out}" { "f.ours" } else { a })
                    .collect();
                let ref_args: Vec<&str> = args
                    .iter()
                    .map(|a| if *a == "{out}" { "f.ref" } else { a })
                    .collect();
                crate::support::run_ok(
                    crate::support::espboot()
                        .current_dir(d)
                        .arg("flash")
                        .args(&ours_args),
                );
                let Some(r) = esptool(d, &ref_args) else {
                    return;
                };
                assert!(r.status.success());
                assert_eq!(
                    std::fs::read(d.join("f.ours")).unwrap(),
                    std::fs::read(d.join("f.ref")).unwrap()
                );
                compared += 1;
                continue;
            }
            let (reference, ours) = both(d, &args, Some(format)).unwrap();
            assert!(reference == ours, "{format} output differs for {args:?}");
            compared += 1;
        }
    }
    // A HEX input brings its own addresses.
    std::fs::write(d.join("boot.bin"), &images(Chip::Esp32c3)[5].1).unwrap();
    both(
        d,
        &[
            "--chip",
            "esp32c3",
            "merge-bin",
            "-f",
            "hex",
            "-o",
            "in.hex",
            "0x0",
            "boot.bin",
            "0x9000",
            "tail.bin",
        ],
        None,
    );
    for format in ["raw", "hex", "uf2"] {
        let (reference, ours) = both(
            d,
            &[
                "--chip",
                "esp32c3",
                "merge-bin",
                "-f",
                format,
                "-o",
                "{out}",
                "--flash-mode",
                "qout",
                "0x0",
                "in.hex",
                "0x20000",
                "app.bin",
            ],
            Some(format),
        )
        .unwrap();
        assert!(reference == ours, "{format} output differs for a HEX input");
        compared += 1;
    }
    eprintln!("merge-bin: {compared} outputs byte-identical to esptool's");
}

#[test]
fn host_command_errors_carry_esptool_messages() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("plain.bin"), b"hello world").unwrap();
    std::fs::write(d.join("empty.bin"), b"").unwrap();
    let image = images(Chip::Esp32c3).swap_remove(0);
    std::fs::write(d.join("cut.bin"), &image.1[..100]).unwrap();
    std::fs::write(d.join("boot.bin"), &image.1).unwrap();
    let cases: [&[&str]; 6] = [
        &["image-info", "plain.bin"],
        &["image-info", "empty.bin"],
        &["image-info", "cut.bin"],
        &[
            "--chip",
            "esp32c3",
            "merge-bin",
            "-o",
            "x.bin",
            "--flash-freq",
            "60m",
            "0x0",
            "boot.bin",
        ],
        &[
            "--chip",
            "esp32c3",
            "merge-bin",
            "-o",
            "x.bin",
            "--flash-size",
            "256KB",
            "0x0",
            "boot.bin",
        ],
        &[
            "--chip",
            "esp32c3",
            "merge-bin",
            "-o",
            "x.bin",
            "-t",
            "0x1000",
            "0x0",
            "boot.bin",
        ],
    ];
    for args in cases {
        let Some(reference) = esptool(d, args) else {
            return;
        };
        let ours = espboot(d, args);
        assert_eq!(reference.status.code(), Some(2), "{args:?}");
        assert!(!ours.status.success(), "{args:?}");
        let ref_err = String::from_utf8_lossy(&reference.stderr);
        let message = ref_err
            .trim()
            .strip_prefix("ERROR: A fatal error occurred: ")
            .unwrap_or_else(|| panic!("{args:?}: {ref_err}"));
        assert_eq!(
            String::from_utf8_lossy(&ours.stderr).trim(),
            format!("error: {message}"),
            "{args:?}"
        );
    }
}

/// issue 11: esptool's `version` command (build scripts read the version
/// from it) was an unknown command through the esptool personality.
#[test]
fn regression_esptool_version_command_prints_esptools_version() {
    let dir = tempfile::tempdir().unwrap();
    let Some(theirs) = esptool(dir.path(), &["version"]) else {
        return;
    };
    let link = esptool_link().expect("install-links creates esptool");
    let ours = std::process::Command::new(link)
        .arg("version")
        .output()
        .unwrap();
    assert_eq!(ours.status.code(), theirs.status.code());
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stderr),
        String::from_utf8_lossy(&theirs.stderr)
    );
}

/// intelhex raises AddressOverlapError for a HEX file that fills an
/// address twice, and esptool's `intel_hex_to_bin` catches only
/// HexRecordError (a file that is not HEX is taken as a binary): the
/// traceback ends the run, exit 1, after the banner. The personality took
/// the file for a binary, and `write-flash` wrote HEX text to flash.
#[test]
fn regression_overlapping_hex_input_was_taken_as_a_binary() {
    let Some(link) = esptool_link() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("dup.hex"),
        b":020000040001F9\n:0100000000FF\n:0100000001FE\n:00000001FF\n",
    )
    .unwrap();
    let cases: [&[&str]; 3] = [
        &[
            "--chip",
            "esp32c3",
            "merge-bin",
            "-o",
            "m.bin",
            "0x0",
            "dup.hex",
        ],
        &["image-info", "dup.hex"],
        &["--port", "/dev/null", "write-flash", "0x0", "dup.hex"],
    ];
    for args in cases {
        let Some(reference) = esptool(d, args) else {
            return;
        };
        let ours = std::process::Command::new(link)
            .current_dir(d)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(ours.status.code(), reference.status.code(), "{args:?}");
        assert_eq!(ours.stdout, reference.stdout, "{args:?}");
        let last = |stderr: &[u8]| {
            String::from_utf8_lossy(stderr)
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .map(str::to_owned)
        };
        assert_eq!(last(&ours.stderr), last(&reference.stderr), "{args:?}");
        assert!(!d.join("m.bin").exists(), "{args:?}");
    }
}

/// esptool finds overlapping address/file pairs while click converts the
/// argument (`AddrFilenamePairType`): a usage error under the command's
/// usage line (`Invalid value for '<address> <filename>...'`, or
/// `'--encrypt-files'`), after the banner and before the chip is asked
/// for or a port opened. The personality printed a fatal error, and
/// `verify-flash` tried the port first.
#[test]
fn regression_overlapping_pairs_were_a_fatal_error_not_a_usage_error() {
    let Some(link) = esptool_link() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.bin"), [0x11u8; 100]).unwrap();
    std::fs::write(d.join("b.bin"), [0x22u8; 100]).unwrap();
    let cases: [&[&str]; 5] = [
        &[
            "--chip",
            "esp32",
            "merge-bin",
            "-o",
            "m.bin",
            "0x0",
            "a.bin",
            "0x10",
            "b.bin",
        ],
        &["merge-bin", "-o", "m.bin", "0x0", "a.bin", "0x10", "b.bin"],
        &[
            "--port",
            "/dev/null",
            "write-flash",
            "0x0",
            "a.bin",
            "0x10",
            "b.bin",
        ],
        &[
            "--port",
            "/dev/null",
            "verify-flash",
            "0x0",
            "a.bin",
            "0x10",
            "b.bin",
        ],
        &[
            "--port",
            "/dev/null",
            "write-flash",
            "0x5000",
            "a.bin",
            "--encrypt-files",
            "0x0",
            "a.bin",
            "0x10",
            "b.bin",
        ],
    ];
    for args in cases {
        let Some(mut reference) = crate::support::reference_tool("esptool") else {
            return;
        };
        let run = |cmd: &mut std::process::Command| {
            cmd.current_dir(d)
                .env("COLUMNS", "80")
                .args(args)
                .output()
                .unwrap()
        };
        let theirs = run(&mut reference);
        let ours = run(&mut std::process::Command::new(link));
        assert_eq!(theirs.status.code(), Some(2), "{args:?}");
        assert_eq!(ours.status.code(), theirs.status.code(), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout),
            "{args:?}"
        );
        assert_eq!(
            String::from_utf8_lossy(&ours.stderr),
            String::from_utf8_lossy(&theirs.stderr),
            "{args:?}"
        );
        assert!(!d.join("m.bin").exists(), "{args:?}");
    }
}
