//! Same effect as esptool: every write and erase is done by espboot's
//! esptool side on device A and by the pinned esptool on its twin B (both
//! `espboot sim serve` on a PTY); the flash files must end byte-identical,
//! and the result lines scripts read must be esptool's.

use std::path::Path;

use crate::support as common;
use crate::support::serve::{data, esptool, new_device, wait_files_equal, Ran, Served};

/// espboot through its `esptool.py` link, with the same command line the
/// pinned esptool gets: `--port P --before no_reset --after no-reset
/// [extra] args` (one underscore spelling on purpose).
fn espboot_flash(link: &Path, served: &Served, extra: &[&str], args: &[&str]) -> Ran {
    let out = std::process::Command::new(link)
        .args(["--port", &served.port_arg(), "--before", "no_reset"])
        .args(["--after", "no-reset"])
        .args(extra)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    Ran {
        code: out.status.code().unwrap_or(-1),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The lines a script reads from a write/erase/verify: without timings,
/// speeds and compressed sizes (zlib implementations differ in the
/// exact compressed bytes; the flash contents do not).
fn result_lines(out: &str) -> Vec<String> {
    // esptool's connection header ("Connected to …" up to the next blank
    // line) also shows the MAC: leave it out
    let mut skipping = false;
    let mut body = Vec::new();
    for line in out.lines() {
        if line.starts_with("Connected to ") {
            skipping = true;
            continue;
        }
        if skipping {
            skipping = !line.trim().is_empty();
            continue;
        }
        body.push(line);
    }
    const KEEP: &[&str] = &[
        "MAC:",
        "BASE MAC:",
        "MAC_EXT:",
        "WARNING: ESP32",
        "ERROR: A fatal error occurred",
        "Flash will be erased from",
        "Wrote ",
        "Hash of data verified.",
        "Verifying written data...",
        "Verification ",
        "Verifying 0x",
        "Read ",
        "Flash memory erased successfully",
        "Flash memory region erased successfully",
        // write-flash --encrypt and the header patch
        "Writing '",
        "Cannot verify written data",
        "Flash parameters set to",
        "SHA digest in image updated.",
        "Unexpected FLASH_CRYPT_CONFIG",
        "Flash encryption key is not programmed.",
        "WARNING: '",
        "WARNING: Image file",
        "WARNING: Set flash_size",
        "WARNING: Security features",
        "NOTE: '",
        // flash-id
        "Flash Memory Information:",
        "Manufacturer: ",
        "Device: ",
        "Detected flash size: ",
        "Flash type set in eFuse",
        "Flash voltage set by ",
        // get-security-info
        "Security Information:",
        "=====",
        "Flags: ",
        "Key Purposes: ",
        "BLOCK_KEY",
        "Chip ID: ",
        "API Version: ",
        "Secure Boot",
        "Flash Encryption: ",
        "SPI Boot Crypt Count",
        "Flash Crypt Count",
        "Dcache in UART",
        "Icache in UART",
        "JTAG: ",
        "USB Access: ",
    ];
    body.into_iter()
        .map(str::trim)
        .filter(|l| KEEP.iter().any(|k| l.starts_with(k)))
        .map(|l| {
            // "Wrote N bytes (M compressed) at A in T seconds (S kbit/s)."
            let l = l.split(" in ").next().unwrap_or(l);
            let l = match (l.find(" ("), l.find(" compressed)")) {
                (Some(a), Some(b)) if a < b => format!("{}{}", &l[..a], &l[b + 12..]),
                _ => l.to_owned(),
            };
            l.to_owned()
        })
        .collect()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn writes_and_erases_leave_the_same_flash_as_esptool() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    // compressible, incompressible, and a small unaligned one
    let text: Vec<u8> = b"espboot twin test ".repeat(6000);
    let files = [
        ("text.bin", text),
        ("noise.bin", data(40_000, 7)),
        ("small.bin", data(3001, 9)),
    ];
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    let f = |n: &str| path(&dir.join(n));
    let link = dir.join("esptool.py");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link)
        .unwrap_or_else(|e| panic!("{e}"));
    let (text_bin, noise_bin, small_bin) = (f("text.bin"), f("noise.bin"), f("small.bin"));

    for chip in ["esp32", "esp32s3", "esp32c3", "esp32c2", "esp32c6"] {
        let dev_a = dir.join(format!("{chip}-a"));
        let dev_b = dir.join(format!("{chip}-b"));
        new_device(&dev_a, chip, None);
        // a copy, not a second `sim new`: each new device gets its own
        // factory MAC, and the twins must print the same one
        let copied = std::process::Command::new("cp")
            .arg("-a")
            .arg(&dev_a)
            .arg(&dev_b)
            .status()
            .unwrap_or_else(|e| panic!("cp: {e}"));
        assert!(copied.success(), "cp -a {}", dev_a.display());
        let a = Served::start(&dev_a, dir, "download", false);
        let b = Served::start(&dev_b, dir, "download", false);
        // the ESP32-C2 v0.0 runs no stub (esptool disables it): both
        // tools talk to the ROM there
        let stub = chip != "esp32c2";
        let mut steps: Vec<(Vec<&str>, Vec<&str>)> = vec![
            (vec![], vec!["chip-id"]),
            (vec![], vec!["read_mac"]),
            (vec![], vec!["get-security-info"]),
            (vec!["--no-stub"], vec!["get_security_info"]),
            (vec![], vec!["flash-id"]),
            (vec!["--no-stub"], vec!["flash_id"]),
            (
                vec![],
                vec!["write-flash", "0x10000", &text_bin, "0x30000", &noise_bin],
            ),
            (
                vec![],
                vec!["write-flash", "--no-compress", "0x50001", &small_bin],
            ),
            (vec![], vec!["erase-region", "0x31000", "0x2000"]),
            (vec![], vec!["verify-flash", "0x10000", &text_bin]),
            // a mismatch: both fail with esptool's status and line
            (vec![], vec!["verify-flash", "0x50000", &text_bin]),
            (
                vec!["--no-stub"],
                vec!["write-flash", "0x60000", &noise_bin],
            ),
            (vec!["--no-stub"], vec!["erase-region", "0x61000", "0x1000"]),
            // no flash-encryption key: both refuse --encrypt
            (
                vec![],
                vec!["write-flash", "--encrypt", "0x70000", &small_bin],
            ),
        ];
        if stub {
            steps.insert(2, (vec![], vec!["read-flash", "0x10000", "0x2000", "READ"]));
            steps.push((vec![], vec!["erase-flash"]));
            steps.push((vec![], vec!["write-flash", "0x8000", &small_bin]));
        } else {
            // the ROM has no ERASE_FLASH: both refuse the same way
            steps.push((vec![], vec!["erase-flash"]));
        }
        for (extra, args) in &steps {
            let read_a = f(&format!("{chip}-read-a.bin"));
            let read_b = f(&format!("{chip}-read-b.bin"));
            let args_a: Vec<&str> = args
                .iter()
                .map(|s| if *s == "READ" { read_a.as_str() } else { s })
                .collect();
            let args_b: Vec<&str> = args
                .iter()
                .map(|s| if *s == "READ" { read_b.as_str() } else { s })
                .collect();
            let ours = espboot_flash(&link, &a, extra, &args_a);
            let theirs = esptool(&b, extra, &args_b);
            let what = format!("{chip} {extra:?} {args:?}");
            assert_eq!(
                ours.code, theirs.code,
                "{what}: exit status\nespboot:\n{}\nesptool:\n{}",
                ours.out, theirs.out
            );
            // espboot's errors name the port; the port paths differ
            let ours_text = ours
                .out
                .replace(&read_a, "OUT")
                .replace(&format!("{}: ", a.port_arg()), "");
            let ours_lines = result_lines(&ours_text);
            let theirs_lines = result_lines(&theirs.out.replace(&read_b, "OUT"));
            assert!(!theirs_lines.is_empty(), "{what}: {}", theirs.out);
            assert_eq!(
                ours_lines, theirs_lines,
                "{what}\nespboot:\n{}\nesptool:\n{}",
                ours.out, theirs.out
            );
            if args[0] == "read-flash" {
                let ra = std::fs::read(&read_a).unwrap_or_else(|e| panic!("{what}: {e}"));
                let rb = std::fs::read(&read_b).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(ra, rb, "{what}");
            }
        }
        let (fa, fb) = (dev_a.join("flash.bin"), dev_b.join("flash.bin"));
        wait_files_equal(&fa, &fb);
        wait_files_equal(&fb, &fa);
        drop(a);
        drop(b);
    }
}

/// Two copies of one new device (the twins must print the same MAC), the
/// flash-encryption key burned on both when `key` is given.
fn twin_devices(
    dir: &Path,
    chip: &str,
    key: Option<&Path>,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let dev_a = dir.join(format!("{chip}-a"));
    let dev_b = dir.join(format!("{chip}-b"));
    new_device(&dev_a, chip, None);
    if let Some(key) = key {
        let key = path(key);
        let args: Vec<&str> = if chip == "esp32" {
            vec!["burn-key", "flash_encryption", &key]
        } else {
            vec!["burn-key", "BLOCK_KEY0", &key, "XTS_AES_128_KEY"]
        };
        common::run_ok(
            common::espboot()
                .args(["sim", "efuse"])
                .arg(&dev_a)
                .arg("--do-not-confirm")
                .args(&args),
        );
        if chip == "esp32" {
            // esptool refuses --encrypt unless FLASH_CRYPT_CONFIG is 0xF
            common::run_ok(
                common::espboot()
                    .args(["sim", "efuse"])
                    .arg(&dev_a)
                    .arg("--do-not-confirm")
                    .args(["burn-efuse", "FLASH_CRYPT_CONFIG", "0xF"]),
            );
        }
    }
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&dev_a)
        .arg(&dev_b)
        .status()
        .unwrap_or_else(|e| panic!("cp: {e}"));
    assert!(copied.success(), "cp -a {}", dev_a.display());
    (dev_a, dev_b)
}

/// Runs each step through espboot on A and esptool on B: same exit status,
/// same result lines.
fn run_twin_steps(
    link: &Path,
    a: &Served,
    b: &Served,
    chip: &str,
    steps: &[(Vec<&str>, Vec<&str>)],
) {
    for (extra, args) in steps {
        let ours = espboot_flash(link, a, extra, args);
        let theirs = esptool(b, extra, args);
        let what = format!("{chip} {extra:?} {args:?}");
        assert_eq!(
            ours.code, theirs.code,
            "{what}: exit status\nespboot:\n{}\nesptool:\n{}",
            ours.out, theirs.out
        );
        let ours_text = ours.out.replace(&format!("{}: ", a.port_arg()), "");
        let (ours_lines, theirs_lines) = (result_lines(&ours_text), result_lines(&theirs.out));
        assert!(!theirs_lines.is_empty(), "{what}: {}", theirs.out);
        assert_eq!(
            ours_lines, theirs_lines,
            "{what}\nespboot:\n{}\nesptool:\n{}",
            ours.out, theirs.out
        );
        // write-flash's own size line (erase-region on the ROM prints it
        // too, which the other test leaves out)
        let detected = |out: &str| -> Vec<String> {
            out.lines()
                .filter(|l| l.starts_with("Auto-detected flash size"))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(detected(&ours.out), detected(&theirs.out), "{what}");
    }
}

/// `write-flash --encrypt` / `--encrypt-files` on chips with a
/// flash-encryption key, a bootloader's header rewritten by
/// `--flash-mode/--flash-freq/--flash-size` (keep, detect, explicit), and
/// the refusals (misaligned encrypted write, another chip's bootloader, a
/// file past the flash, the wrong `--chip`): espboot's `esptool.py` on A,
/// the pinned esptool on B, same statuses and lines, the same flash.
#[test]
fn encrypted_writes_and_header_patches_leave_the_same_flash_as_esptool() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let files = [
        ("text.bin", b"espboot twin test ".repeat(3000)),
        ("noise.bin", data(40_000, 7)),
        ("small.bin", data(3001, 9)),
    ];
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    let f = |n: &str| path(&dir.join(n));
    let link = dir.join("esptool.py");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link)
        .unwrap_or_else(|e| panic!("{e}"));
    let (text_bin, noise_bin, small_bin) = (f("text.bin"), f("noise.bin"), f("small.bin"));
    let key = dir.join("key.bin");
    crate::support::serve::tool(
        "espsecure",
        &["generate-flash-encryption-key".into(), path(&key)],
    )
    .ok();

    for chip in ["esp32", "esp32s3", "esp32c3", "esp32c2", "esp32c6"] {
        let boot_bin = f(&format!("{chip}-boot.bin"));
        let other = if chip == "esp32c3" {
            "esp32c6"
        } else {
            "esp32c3"
        };
        let other_bin = f(&format!("{other}-boot.bin"));
        for (target, out) in [(chip, &boot_bin), (other, &other_bin)] {
            common::run_ok(common::espboot().args([
                "sim",
                "build-bootloader",
                "--target",
                target,
                "-o",
                out,
            ]));
        }
        let (dev_a, dev_b) = twin_devices(dir, chip, Some(&key));
        let a = Served::start(&dev_a, dir, "download", false);
        let b = Served::start(&dev_b, dir, "download", false);
        let boot = if chip == "esp32" { "0x1000" } else { "0x0" };
        let freq = if chip == "esp32c2" { "30m" } else { "40m" };
        // 16-byte but not 32-byte aligned on ESP32; 8-byte elsewhere
        let misaligned = if chip == "esp32" {
            "0x60010"
        } else {
            "0x60008"
        };
        let past_end = if chip == "esp32c2" {
            "0x1ff000"
        } else {
            "0x3ff000"
        };
        let steps: Vec<(Vec<&str>, Vec<&str>)> = vec![
            (
                vec![],
                vec!["write-flash", "--encrypt", "0x10000", &noise_bin],
            ),
            (
                vec![],
                vec![
                    "write-flash",
                    "0x30000",
                    &text_bin,
                    "--encrypt-files",
                    "0x20000",
                    &small_bin,
                ],
            ),
            (
                vec![],
                vec![
                    "write-flash",
                    "--encrypt",
                    "--no-compress",
                    "0x40000",
                    &small_bin,
                ],
            ),
            // refusals: misaligned, both options, the ESP32 ROM
            (
                vec![],
                vec!["write-flash", "--encrypt", misaligned, &small_bin],
            ),
            (
                vec![],
                vec![
                    "write-flash",
                    "--encrypt",
                    "0x50000",
                    &small_bin,
                    "--encrypt-files",
                    "0x70000",
                    &small_bin,
                ],
            ),
            (
                vec!["--no-stub"],
                vec!["write-flash", "--encrypt", "0x50000", &small_bin],
            ),
            // the bootloader header: explicit, detect, keep, one of three
            // (`--force`: the sim's ESP32-C3 bootloader asks for a later
            // revision than the sim's chip, which the first one refuses)
            (
                vec![],
                vec![
                    "write-flash",
                    "-fm",
                    "dio",
                    "-ff",
                    freq,
                    "-fs",
                    "2MB",
                    boot,
                    &boot_bin,
                ],
            ),
            (
                vec![],
                vec![
                    "write-flash",
                    "--force",
                    "-fm",
                    "dout",
                    "-ff",
                    freq,
                    "-fs",
                    "2MB",
                    boot,
                    &boot_bin,
                ],
            ),
            (
                vec![],
                vec![
                    "write-flash",
                    "--force",
                    "--flash-size",
                    "detect",
                    boot,
                    &boot_bin,
                ],
            ),
            (
                vec![],
                vec![
                    "write-flash",
                    "--force",
                    "--flash_mode",
                    "qout",
                    boot,
                    &boot_bin,
                ],
            ),
            (
                vec![],
                vec![
                    "write-flash",
                    "--force",
                    "--flash-size",
                    "keep",
                    "--flash-freq",
                    "keep",
                    boot,
                    &boot_bin,
                ],
            ),
            (
                vec![],
                vec![
                    "write-flash",
                    "--force",
                    "-fs",
                    "8MB",
                    boot,
                    &boot_bin,
                    "0x8000",
                    &small_bin,
                ],
            ),
            (vec![], vec!["write-flash", "-fm", "dio", boot, &small_bin]),
            (
                vec![],
                vec![
                    "write-flash",
                    "--force",
                    "--encrypt",
                    "-fm",
                    "dout",
                    boot,
                    &boot_bin,
                ],
            ),
            // bad input
            (vec![], vec!["write-flash", boot, &other_bin]),
            (vec![], vec!["write-flash", "0x90000", &other_bin]),
            (vec![], vec!["write-flash", past_end, &noise_bin]),
            (
                vec![],
                vec!["write-flash", "-fs", "1MB", "0xf8000", &noise_bin],
            ),
            (
                vec!["--chip", other],
                vec!["write-flash", "0x10000", &small_bin],
            ),
        ];
        run_twin_steps(&link, &a, &b, chip, &steps);
        let (fa, fb) = (dev_a.join("flash.bin"), dev_b.join("flash.bin"));
        wait_files_equal(&fa, &fb);
        wait_files_equal(&fb, &fa);
        drop(a);
        drop(b);
        if !matches!(chip, "esp32" | "esp32c3") {
            continue;
        }
        // production-mode flash encryption: manual encryption disabled and
        // the counter odd; both tools refuse encrypted and plain writes
        let (disable, counter) = if chip == "esp32" {
            ("DISABLE_DL_ENCRYPT", "FLASH_CRYPT_CNT")
        } else {
            ("DIS_DOWNLOAD_MANUAL_ENCRYPT", "SPI_BOOT_CRYPT_CNT")
        };
        for dev in [&dev_a, &dev_b] {
            common::run_ok(
                common::espboot()
                    .args(["sim", "efuse"])
                    .arg(dev)
                    .arg("--do-not-confirm")
                    .args(["burn-efuse", disable, "1", counter, "1"]),
            );
        }
        let a = Served::start(&dev_a, dir, "download", false);
        let b = Served::start(&dev_b, dir, "download", false);
        let steps: Vec<(Vec<&str>, Vec<&str>)> = vec![
            (
                vec![],
                vec!["write-flash", "--encrypt", "0x10000", &small_bin],
            ),
            (vec![], vec!["write-flash", "0x10000", &small_bin]),
            (
                vec![],
                vec!["write-flash", "--force", "0x10000", &small_bin],
            ),
        ];
        run_twin_steps(&link, &a, &b, chip, &steps);
        wait_files_equal(&fa, &fb);
        drop(a);
        drop(b);
    }
}
