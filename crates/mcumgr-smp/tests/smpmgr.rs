//! Serial recovery driven end to end by the real smpmgr 0.19.1 of the pinned
//! venv (serial.md §7.4, S1-S10), through a PTY whose master a thread pumps
//! through `Recovery` over an `espboot_sim` ESP32-C3 device. Images are
//! signed by the pinned imgtool as the README says
//! (`imgtool sign -k KEY -H 32 --pad-header --align 4 -S 0x1C0000 -v 1.2.3`).
//! Go mcumgr cases (S9) run when `mcumgr` is on PATH.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::pty::RecoveryPty;
use espboot_sim::chip::app::{build_app, AppOptions};
use espboot_sim::config::Target;
use espboot_sim::device::Device;

const TARGET: Target = Target::Esp32c3;
const PRIMARY: u32 = 0x20000;
const SLOT_SIZE: u32 = 0x1C0000;
const APP_SIZE: usize = 12 * 1024;

/// Keys, configs and signed images in a temporary directory.
struct Fixture {
    dir: tempfile::TempDir,
    key: PathBuf,
}

impl Fixture {
    /// `None` when interop tests are deliberately skipped.
    fn new() -> Option<Self> {
        let imgtool = common::reference_tool_path("imgtool")?;
        common::reference_tool_path("smpmgr")?;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let key = dir.path().join("root.pem");
        run(Command::new(&imgtool)
            .args(["keygen", "-t", "ecdsa-p256", "-k"])
            .arg(&key));
        Some(Fixture { dir, key })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// An ESP32-C3 whose bootloader has serial recovery and `extra` keys.
    fn device(&self, name: &str, extra: &str) -> Device {
        let conf = self.path(&format!("{name}.conf"));
        let text = format!(
            "CONFIG_ESP_MCUBOOT_SERIAL=y\nCONFIG_ESP_SIGN_EC256=y\nCONFIG_ESP_SIGN_KEY_FILE={}\n{extra}",
            self.key.display()
        );
        std::fs::write(&conf, text).unwrap_or_else(|e| panic!("{e}"));
        Device::create(TARGET, &[conf], None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// An app signed by imgtool; `encrypted` adds `--align 32 --max-align 32`.
    fn signed(&self, version: &str, encrypted: bool) -> Vec<u8> {
        let chip = espboot_sim::chip::modelled(TARGET).unwrap_or_else(|| panic!("modelled"));
        let mut opts = AppOptions::new(version);
        opts.size = Some(APP_SIZE);
        let payload = build_app(chip, &opts).unwrap_or_else(|e| panic!("{e}"));
        let raw = self.path(&format!("app-{version}.bin"));
        let out = self.path(&format!("app-{version}-{encrypted}-signed.bin"));
        std::fs::write(&raw, payload).unwrap_or_else(|e| panic!("{e}"));
        let align: &[&str] = if encrypted {
            &["--align", "32", "--max-align", "32"]
        } else {
            &["--align", "4"]
        };
        let imgtool = common::reference_tool_path("imgtool").unwrap_or_else(|| panic!("imgtool"));
        run(Command::new(imgtool)
            .args(["sign", "-k"])
            .arg(&self.key)
            .args(["-H", "32", "--pad-header"])
            .args(align)
            .args(["-S", &format!("{SLOT_SIZE:#x}"), "-v", version])
            .arg(&raw)
            .arg(&out));
        std::fs::read(&out).unwrap_or_else(|e| panic!("{e}"))
    }

    fn write_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{e}"));
        p
    }
}

#[track_caller]
fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a client run printed.
struct Ran {
    ok: bool,
    out: String,
}

/// Runs a client with a deadline; a client still running then is killed
/// (by its own handle) and the test fails.
fn client(program: &Path, args: &[&str], deadline: Duration) -> Ran {
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .env("COLUMNS", "300")
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} {args:?} did not finish in {deadline:?}",
                    program.display()
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("{e}"),
        }
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    Ran {
        ok: out.status.success(),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `smpmgr --port PTY [options] ARGS`.
fn smpmgr(pty: &RecoveryPty, options: &[&str], args: &[&str]) -> Ran {
    let program = common::reference_bin_dir().join("smpmgr");
    let port = pty.port();
    let mut all = vec!["--port", port.as_str(), "--timeout", "2"];
    all.extend_from_slice(options);
    all.extend_from_slice(args);
    client(&program, &all, Duration::from_secs(60))
}

fn slot(device: &mut Device, len: u32) -> Vec<u8> {
    device
        .read_flash(PRIMARY, len)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// S1, S3 (negative), S4, S5, S6, S8 on the Espressif port's build.
#[test]
fn s1_s3_s4_s5_s6_s8_esp_build() {
    let Some(fx) = Fixture::new() else { return };
    let app = fx.signed("1.2.3", false);
    let pty = RecoveryPty::start(fx.device("esp", ""));

    // S1: empty primary slot. S8: MCUmgr params answered with ENOTSUP, so
    // no 2 s stall.
    let r = smpmgr(&pty, &[], &["image", "state-read"]);
    assert!(r.ok && r.out.contains("No images on device!"), "{}", r.out);
    assert!(!r.out.contains("Timeout"), "{}", r.out);
    assert!(pty.log(|l| l.requests.first() == Some(&(0, 6, Some(8)))));
    // ...and after `sim write`-style flashing of the signed image.
    pty.device
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .write_flash(PRIMARY, &app)
        .unwrap_or_else(|e| panic!("{e}"));
    let r = smpmgr(&pty, &[], &["image", "state-read"]);
    assert!(r.ok, "{}", r.out);
    assert!(
        r.out.contains("slot=0")
            && r.out.contains("version='1.2.3'")
            && r.out.contains("hash=None"),
        "{}",
        r.out
    );
    assert!(
        !r.out.contains("bootable=True"),
        "ESP build has no state flags: {}",
        r.out
    );

    // S3 negative: a corrupt image uploads but is not listed.
    let mut bad = app.clone();
    bad[0x200] ^= 0xff;
    let bad_file = fx.write_file("bad.bin", &bad);
    let r = smpmgr(
        &pty,
        &[],
        &["image", "upload", &bad_file.display().to_string()],
    );
    assert!(r.ok, "{}", r.out);
    let r = smpmgr(&pty, &[], &["image", "state-read"]);
    assert!(r.ok && r.out.contains("No images on device!"), "{}", r.out);

    // S4: echo is not in the ESP build (exit 0, error printed).
    let r = smpmgr(&pty, &[], &["os", "echo", "hello"]);
    assert!(r.ok && r.out.contains("ENOTSUP"), "{}", r.out);
    // S5: nor is state-write.
    let r = smpmgr(&pty, &[], &["image", "state-write", "--confirm"]);
    assert!(r.ok && r.out.contains("ENOTSUP"), "{}", r.out);

    // S6: reset answers EOK and the device resets.
    let r = smpmgr(&pty, &[], &["os", "reset"]);
    assert!(r.ok && r.out.contains("EOK"), "{}", r.out);
    let deadline = Instant::now() + Duration::from_secs(2);
    while pty.resets.load(std::sync::atomic::Ordering::SeqCst) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(pty.resets.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(
        pty.log(|l| l.device_errors.is_empty()),
        "{:?}",
        pty.log(|l| l.device_errors.clone())
    );
    drop(pty.stop());
}

/// S2 with whole-slot and with progressive erase; S3: the uploaded image
/// boots; S7: 512-byte lines.
#[test]
fn s2_s3_s7_upload_whole_slot_and_progressive() {
    let Some(fx) = Fixture::new() else { return };
    let app = fx.signed("1.2.3", false);
    let file = fx.write_file("app.bin", &app);
    let file = file.display().to_string();
    let len = app.len() as u32;
    for (progressive, options) in [
        (false, &[][..]),
        (true, &["--line-length", "512", "--line-buffers", "1"][..]),
    ] {
        let extra = if progressive {
            "CONFIG_ESP_MCUBOOT_ERASE_PROGRESSIVELY=y\n"
        } else {
            ""
        };
        let mut device = fx.device(if progressive { "prog" } else { "whole" }, extra);
        // Old contents everywhere in the slot, to see what gets erased.
        let old = vec![0x00u8; SLOT_SIZE as usize];
        device
            .write_flash(PRIMARY, &old)
            .unwrap_or_else(|e| panic!("{e}"));
        let pty = RecoveryPty::start(device);
        let r = smpmgr(&pty, options, &["image", "upload", &file]);
        assert!(r.ok, "{}", r.out);
        let uploads = pty.log(|l| l.uploads.clone());
        let erases = pty.log(|l| l.erases.clone());
        assert!(uploads
            .iter()
            .all(|&(_, next, rc)| rc == 0 && (next % 4 == 0 || next == len)));
        assert_eq!(uploads.last().map(|u| u.1), Some(len));
        if options.is_empty() {
            // smpclient's first 128-byte-line chunk: off 0 -> 84 (serial.md §6.4).
            assert_eq!(uploads.first().map(|u| u.1), Some(84), "{uploads:?}");
        }
        let mut device = pty.stop();
        let data = slot(&mut device, SLOT_SIZE);
        assert_eq!(&data[..app.len()], app.as_slice(), "slot holds the file");
        let written_end = (app.len() as u32).div_ceil(4) as usize * 4;
        if progressive {
            let erased_end = (app.len()).div_ceil(0x1000) * 0x1000;
            assert!(data[written_end..erased_end].iter().all(|&b| b == 0xff));
            let trailer_sector = ((SLOT_SIZE - 0x1830) / 0x1000 * 0x1000) as usize;
            assert!(
                data[erased_end..trailer_sector].iter().all(|&b| b == 0),
                "untouched beyond"
            );
            assert!(data[trailer_sector..trailer_sector + 0x1000]
                .iter()
                .all(|&b| b == 0xff));
            assert_eq!(erases.last(), Some(&(trailer_sector as u32, 0x1000)));
        } else {
            assert_eq!(erases, vec![(0, SLOT_SIZE)]);
            assert!(
                data[written_end..].iter().all(|&b| b == 0xff),
                "rest of the slot erased"
            );
        }
        // S3: the next normal boot validates the primary slot and runs 1.2.3.
        let report = espboot_sim::chip::boot::power_on(&mut device, None);
        assert!(report.boot.booted, "{:?}", report.boot.error);
        assert_eq!(
            report.boot.images.first().map(|i| i.version.as_str()),
            Some("1.2.3+0")
        );
    }
}

/// S1/S4/S5/S7/S8 on the full profile.
#[test]
fn s1_s4_s5_s7_s8_full_build() {
    let Some(fx) = Fixture::new() else { return };
    let app = fx.signed("1.2.3", false);
    let mut device = fx.device("full", "CONFIG_ESP_MCUBOOT_SERIAL_FULL=y\n");
    device
        .write_flash(PRIMARY, &app)
        .unwrap_or_else(|e| panic!("{e}"));
    let pty = RecoveryPty::start(device);

    // S1 (full) and S8: params answered, so no params warning.
    let r = smpmgr(&pty, &[], &["image", "state-read"]);
    assert!(r.ok, "{}", r.out);
    assert!(
        r.out.contains("bootable=True")
            && r.out.contains("confirmed=True")
            && r.out.contains("active=True"),
        "{}",
        r.out
    );
    assert!(
        !r.out.contains("Error reading MCUMgr parameters"),
        "{}",
        r.out
    );
    let hash_tlv = image_hash_tlv(&app);
    assert!(
        r.out.to_uppercase().contains(&hex::encode_upper(&hash_tlv)),
        "{}",
        r.out
    );

    // S4.
    let r = smpmgr(&pty, &[], &["os", "echo", "hello"]);
    assert!(r.ok && r.out.contains("r='hello'"), "{}", r.out);

    // S5: state-write by hash marks the image for test: boot_set_pending
    // writes the secondary trailer, and the list shows it.
    let r = smpmgr(
        &pty,
        &[],
        &["image", "state-write", &hex::encode(&hash_tlv)],
    );
    assert!(r.ok && !r.out.contains("rc="), "{}", r.out);
    let r = smpmgr(&pty, &[], &["image", "state-read"]);
    assert!(
        r.ok && r.out.contains("slot=0") && r.out.contains("confirmed=True"),
        "{}",
        r.out
    );
    assert!(
        !r.out.contains("active=True"),
        "swap type TEST: primary not active: {}",
        r.out
    );
    // An unknown hash: ENOENT.
    let r = smpmgr(&pty, &[], &["image", "state-write", &"11".repeat(32)]);
    assert!(r.ok && r.out.contains("ENOENT"), "{}", r.out);

    // S7: a 503-byte line (512-byte lines) is read; the 355-character echo
    // then exceeds the full build's 212-byte reply buffer (ENOMEM, as
    // bs_echo answers). A 563-byte line is dropped by MCUboot's 513-byte
    // line buffer and the client times out.
    pty.clear_log();
    let long = "x".repeat(355);
    let r = smpmgr(
        &pty,
        &["--line-length", "512", "--line-buffers", "1"],
        &["os", "echo", &long],
    );
    assert!(r.ok && r.out.contains("ENOMEM"), "{}", r.out);
    assert!(pty.log(|l| l.requests.contains(&(0, 0, Some(2))) && l.dropped == 0));
    pty.clear_log();
    let long = "y".repeat(400);
    let r = smpmgr(
        &pty,
        &["--line-length", "600", "--line-buffers", "1"],
        &["os", "echo", &long],
    );
    assert!(!r.ok, "a 600-byte line must not be answered: {}", r.out);
    assert!(pty.log(|l| l.dropped > 0));

    let mut device = pty.stop();
    // The trailer write went through the boot core: secondary magic set,
    // swap type TEST.
    let (setup, _) =
        espboot_sim::chip::boot::flashed_setup(&mut device).unwrap_or_else(|e| panic!("{e}"));
    let t = setup
        .trailer(&mut device.flash, 0, mcuboot_boot::Slot::Secondary)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.magic, mcuboot_boot::MagicState::Good);
    assert_eq!(t.swap_type, mcuboot_boot::SwapType::Test);
}

/// S10: with flash encryption on, uploads are written as ciphertext with
/// 32-byte alignment, and the device boots them.
#[test]
fn s10_encrypted_device_writes_ciphertext() {
    let Some(fx) = Fixture::new() else { return };
    let first = fx.signed("1.0.0", true);
    let mut device = fx.device("fe", "CONFIG_SECURE_FLASH_ENC_ENABLED=y\n");
    device
        .write_flash(PRIMARY, &first)
        .unwrap_or_else(|e| panic!("{e}"));
    // The first boot generates the key, encrypts the flash and burns the
    // crypt counter.
    let report = espboot_sim::chip::boot::power_on(&mut device, None);
    assert!(report.boot.booted, "{:?}", report.boot.error);
    let app = fx.signed("2.0.0", true);
    let file = fx.write_file("app2.bin", &app).display().to_string();
    let pty = RecoveryPty::start(device);
    let r = smpmgr(&pty, &[], &["image", "upload", &file]);
    assert!(r.ok, "{}", r.out);
    let uploads = pty.log(|l| l.uploads.clone());
    let len = app.len() as u32;
    assert!(
        uploads
            .iter()
            .all(|&(_, next, _)| next % 32 == 0 || next == len),
        "{uploads:?}"
    );
    let r = smpmgr(&pty, &[], &["image", "state-read"]);
    assert!(r.ok && r.out.contains("version='2.0.0'"), "{}", r.out);
    let mut device = pty.stop();
    let efuses = device.efuses.clone().unwrap_or_else(|| panic!("efuses"));
    let crypt = espboot_sim::chip::fuses::flash_crypt(&efuses)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("flash encryption is on"));
    let padded = app.len().div_ceil(32) * 32;
    let mut expected = app.clone();
    expected.resize(padded, 0xff);
    crypt
        .encrypt(PRIMARY, &mut expected)
        .unwrap_or_else(|e| panic!("{e}"));
    let physical = slot(&mut device, padded as u32);
    assert_ne!(&physical[..app.len()], app.as_slice(), "plaintext on flash");
    assert!(
        physical == expected,
        "ciphertext of the file at the slot address"
    );
    let report = espboot_sim::chip::boot::power_on(&mut device, None);
    assert!(report.boot.booted, "{:?}", report.boot.error);
    assert_eq!(
        report.boot.images.first().map(|i| i.version.as_str()),
        Some("2.0.0+0")
    );
}

/// S9: Go mcumgr, when installed.
#[test]
fn s9_go_mcumgr_if_installed() {
    let Some(mcumgr) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("mcumgr"))
            .find(|p| p.is_file())
    }) else {
        eprintln!(
            "S9 skipped: no `mcumgr` on PATH (Go mcumgr cannot be built on this machine kind)"
        );
        return;
    };
    let Some(fx) = Fixture::new() else { return };
    let app = fx.signed("1.2.3", false);
    let file = fx.write_file("app.bin", &app).display().to_string();
    let pty = RecoveryPty::start(fx.device("go", ""));
    let conn = format!("dev={},baud=115200,mtu=256", pty.port());
    let go = |args: &[&str]| {
        let mut all = vec!["--conntype", "serial", "--connstring", conn.as_str()];
        all.extend_from_slice(args);
        client(&mcumgr, &all, Duration::from_secs(120))
    };
    let r = go(&["image", "upload", &file]);
    assert!(r.ok && r.out.contains("Done"), "{}", r.out);
    let r = go(&["image", "upload", "-w", "1", &file]);
    assert!(r.ok && r.out.contains("Done"), "{}", r.out);
    let r = go(&["image", "list"]);
    assert!(
        r.ok && r.out.contains("version: 1.2.3") && r.out.contains("hash: Unavailable"),
        "{}",
        r.out
    );
    let r = go(&["reset"]);
    assert!(r.ok && r.out.contains("Done"), "{}", r.out);
    let mut device = pty.stop();
    assert_eq!(&slot(&mut device, app.len() as u32)[..], app.as_slice());
}

/// The SHA-256 TLV (0x10) of a signed image.
fn image_hash_tlv(image: &[u8]) -> Vec<u8> {
    let hdr_size = u16::from_le_bytes([image[8], image[9]]) as usize;
    let protected = u16::from_le_bytes([image[10], image[11]]) as usize;
    let img_size = u32::from_le_bytes([image[12], image[13], image[14], image[15]]) as usize;
    let mut at = hdr_size + img_size + protected + 4;
    while at + 4 <= image.len() {
        let kind = u16::from_le_bytes([image[at], image[at + 1]]);
        let len = u16::from_le_bytes([image[at + 2], image[at + 3]]) as usize;
        if kind == 0x10 {
            return image[at + 4..at + 4 + len].to_vec();
        }
        at += 4 + len;
    }
    panic!("no SHA-256 TLV");
}
