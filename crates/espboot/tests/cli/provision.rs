//! `espboot provision`: plans laid out in seed 003's order, pre-flight
//! checks, resumable runs on virtual devices.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use crate::support::{
    assert_one_line_error, espboot, provision_events, provision_summary, run_fail, run_ok,
};

/// Writes `text` as `plan.toml` in `dir`.
fn write_plan(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("plan.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `provision plan --json`: the steps' types and seed numbers.
fn plan_json(plan: &Path) -> Vec<serde_json::Value> {
    let out = run_ok(espboot().args(["provision", "plan", "--json"]).arg(plan));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["steps"].as_array().unwrap().clone()
}

fn summary(steps: &[serde_json::Value]) -> Vec<String> {
    steps
        .iter()
        .map(|s| {
            let what = s
                .get("field")
                .or_else(|| s.get("purpose"))
                .and_then(|v| v.as_str())
                .unwrap_or("");
            format!(
                "{} {} {} {what}",
                s["stage"].as_str().unwrap(),
                s["seed_step"].as_str().unwrap(),
                s["type"].as_str().unwrap()
            )
            .trim_end()
            .to_owned()
        })
        .collect()
}

#[test]
fn provision_plan_lists_both_workflows_in_the_seed_order_on_an_esp32c3() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(
        dir.path(),
        r#"
chip = "esp32c3"
[flash_encryption]
mode = "release"
key_bits = 256
[flash_encryption.final]
efuses = { DIS_PAD_JTAG = true, DIS_DOWNLOAD_ICACHE = true, DIS_USB_JTAG = false }
write_protect = true
[secure_boot]
scheme = "rsa3072"
keys = ["sb0.pem"]
revoke_unused = true
[secure_boot.final]
efuses = { SECURE_BOOT_AGGRESSIVE_REVOKE = true }
write_protect_rd_dis = true
download_mode = "secure"
[[firmware]]
kind = "bootloader"
file = "bootloader.bin"
address = 0x0
"#,
    );
    let steps = plan_json(&plan);
    assert_eq!(
        summary(&steps),
        [
            "flash_encryption 1 EraseFlash",
            "flash_encryption 2 GenerateFlashKey",
            "flash_encryption 3 BurnKey XTS_AES_128_KEY",
            "flash_encryption 4 BurnEfuse SPI_BOOT_CRYPT_CNT",
            "flash_encryption 5 FlashWrite",
            // the seed's list order, not the file's
            "flash_encryption 6A BurnEfuse DIS_DOWNLOAD_ICACHE",
            "flash_encryption 6A BurnEfuse DIS_PAD_JTAG",
            "flash_encryption 6B WriteProtect DIS_ICACHE",
            "flash_encryption 7 DeleteFlashKey",
            "secure_boot 2 DigestKey",
            "secure_boot 3 BurnKeyDigest SECURE_BOOT_DIGEST0",
            "secure_boot 4 BurnEfuse SECURE_BOOT_EN",
            "secure_boot 7A BurnEfuse SECURE_BOOT_AGGRESSIVE_REVOKE",
            "secure_boot 7B-i WriteProtect RD_DIS",
            "secure_boot 7B-ii BurnEfuse SECURE_BOOT_KEY_REVOKE1",
            "secure_boot 7B-ii BurnEfuse SECURE_BOOT_KEY_REVOKE2",
            "secure_boot 7C BurnEfuse ENABLE_SECURITY_DOWNLOAD",
        ]
    );
    // the digest goes to the block after the flash-encryption key
    assert_eq!(steps[2]["block"], "BLOCK_KEY0");
    assert_eq!(steps[10]["block"], "BLOCK_KEY1");
    assert_eq!(steps[4]["encrypt"], true);
    let text = run_ok(espboot().args(["provision", "plan"]).arg(&plan));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(
        "espefuse --port PORT --chip esp32c3 burn-key BLOCK_KEY1 digest0.bin SECURE_BOOT_DIGEST0"
    ));
    assert!(text.contains("esptool --port PORT --chip esp32c3 write-flash --encrypt 0x0 "));
}

#[test]
fn provision_plan_follows_each_chips_key_layout() {
    let dir = tempfile::tempdir().unwrap();
    // ESP32: fixed blocks, FLASH_CRYPT_CONFIG, the MAC write protection, UART_DOWNLOAD_DIS
    let plan = write_plan(
        dir.path(),
        r#"
chip = "esp32"
[flash_encryption]
mode = "development"
key_bits = 256
[flash_encryption.final]
efuses = { DISABLE_DL_ENCRYPT = true, DISABLE_DL_DECRYPT = true, DISABLE_DL_CACHE = true, JTAG_DISABLE = true }
write_protect = true
[secure_boot]
scheme = "rsa3072"
keys = ["sb0.pem"]
[secure_boot.final]
write_protect_rd_dis = true
download_mode = "disabled"
"#,
    );
    let steps = plan_json(&plan);
    let s = summary(&steps);
    assert_eq!(s[2], "flash_encryption 3 BurnKey");
    assert_eq!(steps[2]["block"], "flash_encryption");
    assert_eq!(s[3], "flash_encryption 4 BurnEfuse FLASH_CRYPT_CNT");
    assert_eq!(steps[3]["value"], 1, "development mode: one counter bit");
    assert_eq!(s[4], "flash_encryption 4 BurnEfuse FLASH_CRYPT_CONFIG");
    assert_eq!(steps[4]["value"], 0xF);
    assert!(s.contains(&"flash_encryption 6B WriteProtect MAC".to_owned()));
    assert_eq!(
        steps.iter().find(|s| s["type"] == "BurnKeyDigest").unwrap()["block"],
        "secure_boot_v2"
    );
    assert_eq!(
        s.last().unwrap(),
        "secure_boot 7C BurnEfuse UART_DOWNLOAD_DIS"
    );

    // ESP32-C2: the 128-bit derived key and the digest share BLOCK_KEY0 and
    // are burned together (the seed's combined command)
    let plan = write_plan(
        dir.path(),
        r#"
chip = "esp32c2"
[flash_encryption]
mode = "release"
key_bits = 128
[secure_boot]
scheme = "ecdsa256"
keys = ["sb0.pem"]
"#,
    );
    let steps = plan_json(&plan);
    let key = steps.iter().find(|s| s["type"] == "BurnKey").unwrap();
    assert_eq!(
        key["purpose"],
        "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS"
    );
    assert_eq!(key["block"], "BLOCK_KEY0");
    let sb0 = dir.path().join("sb0.pem");
    assert_eq!(key["with_digest"], sb0.to_str().unwrap());
    assert_eq!(
        key["command"],
        format!(
            "espefuse --port PORT --chip esp32c2 burn-key-digest {} burn-key BLOCK_KEY0 \
             my_flash_encryption_key.bin XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS",
            sb0.display()
        )
    );
    assert!(!steps.iter().any(|s| s["type"] == "BurnKeyDigest"));

    // ESP32-S3: a 512-bit key split over two blocks
    let plan = write_plan(
        dir.path(),
        "chip = \"esp32s3\"\n[flash_encryption]\nmode = \"release\"\nkey_bits = 512\n",
    );
    let steps = plan_json(&plan);
    let keys: Vec<_> = steps.iter().filter(|s| s["type"] == "BurnKey").collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["purpose"], "XTS_AES_256_KEY_1");
    assert_eq!(keys[1]["purpose"], "XTS_AES_256_KEY_2");
    assert_eq!(keys[1]["block"], "BLOCK_KEY1");
    assert!(keys[1]["command"]
        .as_str()
        .unwrap()
        .ends_with("my_flash_encryption_key.bin.ab XTS_AES_256_KEY_2"));
}

#[test]
fn provision_plan_refuses_unknown_keys_naming_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(
        dir.path(),
        "chip = \"esp32c3\"\n[flash_encryption]\nmode = \"release\"\nkey_bits = 256\nkeybits = 3\n",
    );
    let out = run_fail(espboot().args(["provision", "plan"]).arg(&plan));
    assert_one_line_error(&out, "plan.toml:5: unknown field `keybits`");

    let plan = write_plan(
        dir.path(),
        "chip = \"esp32c3\"\n[flash_encryption]\nmode = \"release\"\nkey_bits = 256\n[flash_encryption.final]\nefuses = { JTAG_DISABLE = true }\n",
    );
    let out = run_fail(espboot().args(["provision", "plan"]).arg(&plan));
    assert_one_line_error(
        &out,
        "flash_encryption.final.efuses.JTAG_DISABLE: not one of seed 003",
    );
}

/// Files for the check tests: bootloaders, apps signed by the pinned
/// imgtool in several ways, a Secure Boot key.
struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `None` when interop is deliberately skipped (imgtool signs the apps).
    fn new() -> Option<Fixtures> {
        let dir = tempfile::tempdir().unwrap();
        let f = Fixtures { dir };
        for target in ["esp32c3", "esp32s3"] {
            run_ok(
                espboot()
                    .args(["sim", "build-bootloader", "--target", target, "-o"])
                    .arg(f.path(&format!("bl-{target}.bin"))),
            );
        }
        run_ok(
            espboot()
                .args(["image", "keygen", "-t", "ecdsa-p256", "-k"])
                .arg(f.path("app-key.pem")),
        );
        run_ok(
            espboot()
                .args([
                    "secure",
                    "generate-signing-key",
                    "--version",
                    "2",
                    "--scheme",
                    "ecdsa256",
                ])
                .arg(f.path("sb0.pem")),
        );
        std::fs::write(f.path("fe16.bin"), [0x5a; 16]).unwrap();
        // a payload whose IRAM segment lands on the bootloader's iram_loader_seg
        let map = esp_image::Chip::Esp32c3.memory_map(false);
        let loader = map
            .bootloader_regions
            .iter()
            .find_map(|r| r.iram.clone())
            .unwrap();
        let payloads: [(&str, &str, Vec<String>); 3] = [
            ("app.bin", "0x10000", vec![]),
            ("big.bin", "0xF8000", vec![]),
            (
                "overlap.bin",
                "0x10000",
                vec![
                    "--iram-addr".into(),
                    format!("{:#x}", loader.start + 0x100),
                    "--unchecked".into(),
                ],
            ),
        ];
        for (name, size, extra) in payloads {
            run_ok(
                espboot()
                    .args([
                        "sim",
                        "build-app",
                        "--target",
                        "esp32c3",
                        "--version",
                        "1.0.0",
                    ])
                    .args(["--size", size, "-o"])
                    .arg(f.path(name))
                    .args(extra),
            );
        }
        let signed: [(&str, &str, &[&str]); 4] = [
            (
                "app.bin",
                "good.bin",
                &["--align", "32", "-M", "512", "--pad"],
            ),
            ("app.bin", "align4.bin", &["--align", "4", "--pad"]),
            // imgtool's default -M 128 lets it through; the port's 512 does not fit
            ("big.bin", "big-signed.bin", &["--align", "32"]),
            (
                "overlap.bin",
                "overlap-signed.bin",
                &["--align", "32", "-M", "512"],
            ),
        ];
        for (input, output, extra) in signed {
            let mut imgtool = crate::support::reference_tool("imgtool")?;
            run_ok(
                imgtool
                    .args(["sign", "-k"])
                    .arg(f.path("app-key.pem"))
                    .args(["-H", "32", "--pad-header", "-S", "0x100000", "-v", "1.0.0"])
                    .args(extra)
                    .arg(f.path(input))
                    .arg(f.path(output)),
            );
        }
        Some(f)
    }
}

/// A correct ESP32-C3 plan (both workflows, bootloader and app) with
/// `replace` applied to its text.
fn c3_plan(replace: &[(&str, &str)]) -> String {
    let mut text = r#"
chip = "esp32c3"
stages = ["flash_encryption", "secure_boot"]
[flash_encryption]
mode = "release"
key_bits = 256
[flash_encryption.final]
efuses = { DIS_DOWNLOAD_ICACHE = true, DIS_PAD_JTAG = true, DIS_USB_JTAG = true, DIS_DOWNLOAD_MANUAL_ENCRYPT = true }
write_protect = true
download_mode = "keep"
[secure_boot]
scheme = "ecdsa256"
keys = ["sb0.pem"]
revoke_unused = true
[secure_boot.final]
efuses = { SECURE_BOOT_AGGRESSIVE_REVOKE = true }
write_protect_rd_dis = true
download_mode = "secure"
[[firmware]]
kind = "bootloader"
file = "bl-esp32c3.bin"
address = 0x0
[[firmware]]
kind = "app"
file = "good.bin"
address = 0x10000
slot_size = 0x100000
"#
    .to_owned();
    for (from, to) in replace {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    text
}

/// A check's name, the plan edits that trigger it, and text its message holds.
type CheckCase<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn provision_check_reports_each_mistake_with_its_fix_and_passes_a_correct_plan() {
    let Some(f) = Fixtures::new() else { return };
    let dir = f.dir.path();
    let good = write_plan(dir, &c3_plan(&[]));
    let out = run_ok(espboot().args(["provision", "check"]).arg(&good));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no problems found"));

    let cases: &[CheckCase] = &[
        (
            "stage_order",
            &[
                (
                    "[\"flash_encryption\", \"secure_boot\"]",
                    "[\"secure_boot\", \"flash_encryption\"]",
                ),
                ("download_mode = \"secure\"", "download_mode = \"keep\""),
            ],
            "before the flash-encryption key",
        ),
        (
            "key_block_reused",
            &[
                ("key_bits = 256", "key_bits = 256\nblock = \"BLOCK_KEY1\""),
                ("revoke_unused", "blocks = [\"BLOCK_KEY1\"]\nrevoke_unused"),
            ],
            "BLOCK_KEY1 is used twice",
        ),
        (
            "purpose_missing",
            &[("key_bits = 256", "key_bits = 512")],
            "no XTS_AES_256_KEY_1 key purpose",
        ),
        (
            "key_length",
            &[("key_bits = 256", "key_bits = 384")],
            "no 384-bit flash-encryption key; fix: flash_encryption.key_bits = 256",
        ),
        (
            "key_length",
            &[("key_bits = 256", "key_bits = 256\nkey_file = \"fe16.bin\"")],
            "16 bytes, a 256-bit key has 32",
        ),
        (
            "block_unusable",
            &[("key_bits = 256", "key_bits = 256\nblock = \"BLOCK_KEY5\"")],
            "BLOCK_KEY5 (BLOCK9) cannot hold XTS_AES_128_KEY",
        ),
        ("app_alignment", &[("good.bin", "align4.bin")], "--align 32"),
        ("app_too_large", &[("good.bin", "big-signed.bin")], "-M 512"),
        (
            "app_load_segments",
            &[("good.bin", "overlap-signed.bin")],
            "iram_loader_seg",
        ),
        (
            "bootloader_chip",
            &[("bl-esp32c3.bin", "bl-esp32s3.bin")],
            "built for esp32s3",
        ),
        (
            "download_mode_order",
            &[("download_mode = \"keep\"", "download_mode = \"disabled\"")],
            "DIS_DOWNLOAD_MODE disables download mode before secure_boot step 3",
        ),
        (
            "download_mode_order",
            &[("download_mode = \"keep\"", "download_mode = \"secure\"")],
            "stops espefuse",
        ),
    ];
    for (kind, replace, needle) in cases {
        let plan = write_plan(dir, &c3_plan(replace));
        let out = run_fail(espboot().args(["provision", "check", "--json"]).arg(&plan));
        let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let kinds: Vec<&str> = findings
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, [*kind], "{replace:?}: {findings}");
        let out = run_fail(espboot().args(["provision", "check"]).arg(&plan));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{kind}: {stderr}");
        assert!(stderr.contains("fix:"), "{kind}: {stderr}");
    }
}

/// Every file of a device directory but its lock.
fn device_files(path: &Path) -> Vec<(String, Vec<u8>)> {
    espboot_provision::fixtures::device_files(path).unwrap()
}

/// Checks `provision run --json`'s stream: every line one JSON event, the
/// run first, then each step started and ended in plan order (`ends`: each
/// step's end state), with the device's MAC on each.
fn assert_event_sequence(events: &[serde_json::Value], dev: &str, ends: &[&str]) {
    assert_eq!(events[0]["event"], "run", "{}", events[0]);
    assert_eq!(events[0]["device"], dev);
    assert_eq!(events[0]["steps"], ends.len());
    let mac = &events[0]["mac"];
    assert!(mac.as_str().unwrap().contains(':'), "{mac}");
    let steps: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "step").collect();
    assert_eq!(steps.len(), 2 * ends.len());
    for (i, (pair, end)) in steps.chunks(2).zip(ends).enumerate() {
        for e in pair {
            assert_eq!(e["index"], i + 1, "{e}");
            assert_eq!(&e["mac"], mac, "{e}");
            assert_eq!(e["device"], dev, "{e}");
            assert!(e["time_ms"].as_i64().unwrap() > 0, "{e}");
        }
        assert_eq!(pair[0]["state"], "started", "{}", pair[0]);
        assert_eq!(pair[1]["state"], *end, "{}", pair[1]);
    }
}

#[test]
fn provision_run_json_prints_one_event_per_line_for_a_full_a_failed_and_a_resumed_run() {
    let Some(f) = Fixtures::new() else { return };
    let dir = f.dir.path();
    std::fs::write(f.path("fe.bin"), [0x3c; 32]).unwrap();
    let plan = write_plan(
        dir,
        &c3_plan(&[("key_bits = 256", "key_bits = 256\nkey_file = \"fe.bin\"")]),
    );
    let out = run_ok(espboot().args(["provision", "plan", "--json"]).arg(&plan));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let on_device: Vec<bool> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["on_device"] == true)
        .collect();
    let provision = |dev: &Path| {
        let mut c = espboot();
        c.args(["provision", "run"])
            .arg(&plan)
            .arg("--device")
            .arg(dev)
            .arg("--record")
            .arg(f.path("provision.db"))
            .arg("--json");
        c
    };
    let new_device = |name: &str| {
        let dev = f.path(name);
        run_ok(
            espboot()
                .args(["sim", "new", "--target", "esp32c3"])
                .arg(&dev),
        );
        dev
    };

    // a full run: every step started then done, a summary last
    let full = new_device("full");
    std::fs::copy(full.join("efuse.bin"), f.path("factory-efuse.bin")).unwrap();
    let out = run_ok(&mut provision(&full));
    let events = provision_events(&out.stdout);
    let name = full.display().to_string();
    assert_event_sequence(&events, &name, &vec!["done"; on_device.len()]);
    let summary = provision_summary(&out.stdout);
    assert_eq!(summary["outcome"], "complete");
    assert_eq!(summary["already_done"], 0);
    // device steps only: host steps are not counted
    let device_steps = on_device.iter().filter(|d| **d).count();
    assert_eq!(summary["done"], device_steps);
    // what each burn burned, in the record's words: no key bytes
    let burns: Vec<&str> = events
        .iter()
        .filter(|e| e["state"] == "done" && e["kind"] == "BurnEfuse")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert!(burns.contains(&"SPI_BOOT_CRYPT_CNT=0x7"), "{burns:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("3c3c3c3c"), "key bytes in the events");

    // stopped after 5 device actions: that step fails, then the error event
    // and a non-zero exit
    let dev = new_device("dev");
    // the factory eFuses of the full run's device (each new device has its own MAC)
    std::fs::copy(f.path("factory-efuse.bin"), dev.join("efuse.bin")).unwrap();
    let out = run_fail(provision(&dev).args(["--stop-after", "5"]));
    let events = provision_events(&out.stdout);
    let fifth = on_device
        .iter()
        .enumerate()
        .filter(|(_, d)| **d)
        .nth(4)
        .unwrap()
        .0
        + 1;
    let [.., failed, error] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (&failed["state"], &failed["index"]),
        (&"failed".into(), &fifth.into())
    );
    assert_eq!(error["event"], "error");
    assert_eq!(error["step"], fifth);
    assert_eq!(error["mac"], events[0]["mac"]);
    assert_eq!(error["message"], "interrupted after 5 device action(s)");
    assert_one_line_error(&out, "interrupted after 5 device action(s)");

    // resumed: the five device steps are skipped, the rest done
    let out = run_ok(&mut provision(&dev));
    let events = provision_events(&out.stdout);
    let ends: Vec<&str> = on_device
        .iter()
        .enumerate()
        .map(|(i, on)| {
            if *on && i < fifth {
                "skipped-already-done"
            } else {
                "done"
            }
        })
        .collect();
    assert_event_sequence(&events, &dev.display().to_string(), &ends);
    let summary = provision_summary(&out.stdout);
    assert_eq!(summary["already_done"], 5);
    assert_eq!(summary["done"], device_steps - 5);
    assert!(
        device_files(&dev) == device_files(&full),
        "the resumed device differs from the full run's"
    );

    // an error before the device is read is an event too
    let out = run_fail(provision(&f.path("no-such-device")).args(["--stop-after", "1"]));
    let events = provision_events(&out.stdout);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "error");
    assert_eq!(events[0]["mac"], serde_json::Value::Null);
}

/// The progress bar is drawn only on a terminal: piped, the output is the
/// result line alone, without a carriage return or an escape sequence.
#[test]
fn provision_run_piped_prints_no_progress_control_characters() {
    let Some(f) = Fixtures::new() else { return };
    let dir = f.dir.path();
    std::fs::write(f.path("fe.bin"), [0x3c; 32]).unwrap();
    let plan = write_plan(
        dir,
        &c3_plan(&[("key_bits = 256", "key_bits = 256\nkey_file = \"fe.bin\"")]),
    );
    let dev = f.path("dev");
    run_ok(
        espboot()
            .args(["sim", "new", "--target", "esp32c3"])
            .arg(&dev),
    );
    let out = run_ok(
        espboot()
            .args(["provision", "run"])
            .arg(&plan)
            .arg("--device")
            .arg(&dev)
            .arg("--record")
            .arg(f.path("provision.db")),
    );
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let control: Vec<u8> = bytes
            .iter()
            .copied()
            .filter(|b| (*b < 0x20 && *b != b'\n') || *b == 0x7f)
            .collect();
        assert!(control.is_empty(), "{stream}: control bytes {control:?}");
    }
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains(": complete, "), "{stdout}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// On a terminal the bar is drawn, on stderr, labelled with the device and
/// each step as `provision plan` names it; stdout keeps the result line.
#[test]
fn provision_run_on_a_terminal_draws_the_progress_with_the_step_names() {
    let Some(f) = Fixtures::new() else { return };
    let dir = f.dir.path();
    std::fs::write(f.path("fe.bin"), [0x3c; 32]).unwrap();
    let plan = write_plan(
        dir,
        &c3_plan(&[("key_bits = 256", "key_bits = 256\nkey_file = \"fe.bin\"")]),
    );
    let dev = f.path("dev");
    run_ok(
        espboot()
            .args(["sim", "new", "--target", "esp32c3"])
            .arg(&dev),
    );
    // stderr on a PTY's slave, read from its master while the run goes
    let (master, slave) = espboot_serve::pty::open_raw().unwrap();
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&slave)
        .unwrap();
    // a 160-column terminal: the step name is cut to the width left
    let winsize = rustix::termios::Winsize {
        ws_row: 24,
        ws_col: 160,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(&tty, winsize).unwrap();
    let mut child = espboot()
        .args(["provision", "run"])
        .arg(&plan)
        .arg("--device")
        .arg(&dev)
        .arg("--record")
        .arg(f.path("provision.db"))
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(tty)
        .spawn()
        .unwrap();
    let mut drawn = Vec::new();
    let mut master = std::fs::File::from(master);
    let start = std::time::Instant::now();
    loop {
        let mut buf = [0u8; 4096];
        let exited = child.try_wait().unwrap().is_some();
        // non-blocking: EAGAIN (nothing yet) and EIO (no writer) end a read
        while let Ok(n @ 1..) = std::io::Read::read(&mut master, &mut buf) {
            drawn.extend_from_slice(&buf[..n]);
        }
        if exited {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "run hung"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&drawn));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains(": complete, "), "{stdout}");
    let drawn = String::from_utf8_lossy(&drawn);
    assert!(
        drawn.contains('\r') || drawn.contains('\x1b'),
        "not drawn: {drawn:?}"
    );
    assert!(drawn.contains(&dev.display().to_string()), "{drawn:?}");
    // at least one step as `provision plan` names it: `FE 3 BurnKey: burn …`
    assert!(
        ["FE ", "SB "].iter().any(|stage| drawn.contains(stage))
            && [
                ": burn ",
                ": erase flash",
                ": write ",
                ": write-protect ",
                ": generate ",
                ": digest "
            ]
            .iter()
            .any(|name| drawn.contains(name)),
        "{drawn:?}"
    );
}

#[test]
fn provision_run_resumes_after_an_interruption_and_espefuse_reads_the_final_state() {
    let Some(f) = Fixtures::new() else { return };
    let dir = f.dir.path();
    std::fs::write(f.path("fe.bin"), [0x3c; 32]).unwrap();
    let plan = write_plan(
        dir,
        &c3_plan(&[("key_bits = 256", "key_bits = 256\nkey_file = \"fe.bin\"")]),
    );
    let db = f.path("provision.db");
    let new_device = |name: &str| {
        let dev = f.path(name);
        run_ok(
            espboot()
                .args(["sim", "new", "--target", "esp32c3"])
                .arg(&dev),
        );
        dev
    };
    let provision = |dev: &Path| {
        let mut c = espboot();
        c.args(["provision", "run"])
            .arg(&plan)
            .arg("--device")
            .arg(dev)
            .arg("--record")
            .arg(&db)
            .arg("--json");
        c
    };
    let reference = new_device("reference");
    let dev = new_device("dev");
    // the same factory eFuses on both (each new device has its own MAC)
    std::fs::copy(reference.join("efuse.bin"), dev.join("efuse.bin")).unwrap();
    let out = run_ok(&mut provision(&reference));
    let full = provision_summary(&out.stdout);
    let actions = full["done"].as_u64().unwrap();
    let mac = full["mac"].as_str().unwrap().to_owned();

    let out = run_fail(provision(&dev).args(["--stop-after", "7"]));
    assert_one_line_error(&out, "interrupted after 7 device action(s)");
    let out = run_ok(&mut provision(&dev));
    let resumed = provision_summary(&out.stdout);
    assert_eq!(resumed["already_done"], 7);
    assert_eq!(resumed["done"].as_u64().unwrap(), actions - 7);
    assert_eq!(device_files(&dev), device_files(&reference));

    // both devices have the same MAC: one device on record, its latest
    // run the resumed one
    let out = run_ok(
        espboot()
            .args(["provision", "report", "--format", "csv", "--record"])
            .arg(&db),
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "mac,chip,station,operator,first_recorded,started,finished,efuses,keys,firmware,\
         plan_sha256,runs,outcome,done,already_done"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].starts_with(&format!("{mac},esp32c3,")), "{csv}");
    assert!(
        lines[1].ends_with(&format!(",3,complete,{},7", actions - 7)),
        "{csv}"
    );

    // the pinned espefuse reads the seed's final state from the device's eFuses
    let mut espefuse = reference_tool!("espefuse");
    let out = run_ok(
        espefuse
            .args(["--chip", "esp32c3", "--virt", "--path-efuse-file"])
            .arg(dev.join("efuse.bin"))
            .arg("summary"),
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str| {
        summary
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{summary}"))
            .to_owned()
    };
    assert!(line("SPI_BOOT_CRYPT_CNT").contains("= Enable"), "{summary}");
    assert!(line("SECURE_BOOT_EN").contains("= True"), "{summary}");
    assert!(
        line("ENABLE_SECURITY_DOWNLOAD").contains("= True"),
        "{summary}"
    );
    assert!(
        line("KEY_PURPOSE_0").contains("= XTS_AES_128_KEY"),
        "{summary}"
    );
    assert!(
        line("KEY_PURPOSE_1").contains("= SECURE_BOOT_DIGEST0"),
        "{summary}"
    );
    assert!(
        line("SECURE_BOOT_KEY_REVOKE2").contains("= True"),
        "{summary}"
    );
}

#[test]
fn provision_run_refuses_bad_input_with_one_line_and_burns_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dev = d.join("dev");
    run_ok(
        espboot()
            .args(["sim", "new", "--target", "esp32c3"])
            .arg(&dev),
    );
    let before = device_files(&dev);
    let run = |plan: &Path, record: &Path| {
        let mut c = espboot();
        c.args(["provision", "run"])
            .arg(plan)
            .arg("--device")
            .arg(&dev)
            .arg("--record")
            .arg(record);
        c
    };
    let db = d.join("r.db");
    let fe = "chip = \"esp32c3\"\n[flash_encryption]\nmode = \"release\"\nkey_bits = 256\n";

    // a plan the checks refuse
    let plan = write_plan(
        d,
        &fe.replace("key_bits = 256", "key_bits = 256\nblock = \"BLOCK_KEY5\""),
    );
    let out = run_fail(&mut run(&plan, &db));
    assert_one_line_error(&out, "BLOCK_KEY5 (BLOCK9) cannot hold");
    // a plan for another chip
    let plan = write_plan(d, &fe.replace("esp32c3", "esp32c6"));
    let out = run_fail(&mut run(&plan, &db));
    assert_one_line_error(&out, "device is an esp32c3, the plan is for esp32c6");
    // a record database that cannot be opened
    let plan = write_plan(d, fe);
    let out = run_fail(&mut run(&plan, &d.join("missing/dir/r.db")));
    assert_one_line_error(&out, "record database");
    // an impossible value
    let plan = write_plan(d, &fe.replace("\"release\"", "\"sometimes\""));
    let out = run_fail(&mut run(&plan, &db));
    assert_one_line_error(&out, "plan.toml:3: unknown variant `sometimes`");
    assert_eq!(
        device_files(&dev),
        before,
        "something was burned or written"
    );
}

/// Waits until served ESP32-C3 `dev` holds the flash and eFuses of device
/// directory `twin`.
#[track_caller]
fn assert_same_device(dev: &Path, twin: &Path) {
    assert_same_chip(dev, twin, "esp32c3");
}

/// A Secure Boot V2 plan for an ESP32-C3 whose download mode stays (flash
/// stays readable, so a resumed run can verify the firmware writes).
const C3_SB_PLAN: &str = r#"
chip = "esp32c3"
stages = ["secure_boot"]
[secure_boot]
scheme = "ecdsa256"
keys = ["sb0.pem"]
revoke_unused = true
[secure_boot.final]
efuses = { SECURE_BOOT_AGGRESSIVE_REVOKE = true }
write_protect_rd_dis = true
download_mode = "keep"
[[firmware]]
kind = "bootloader"
file = "bl-esp32c3.bin"
address = 0x0
[[firmware]]
kind = "app"
file = "good.bin"
address = 0x10000
slot_size = 0x100000
"#;

#[test]
fn provision_run_over_a_port_ends_like_a_run_on_a_twin_device_directory_and_resumes() {
    use crate::support::serve::{new_device, Served};
    let Some(f) = Fixtures::new() else { return };
    let dir = f.dir.path();
    let plan = write_plan(dir, C3_SB_PLAN);
    let db = f.path("provision.db");
    let provision = |target: &[&std::ffi::OsStr]| {
        let mut c = espboot();
        c.args(["provision", "run"])
            .arg(&plan)
            .args(target)
            .arg("--record")
            .arg(&db)
            .arg("--json");
        c
    };
    // three devices with the same factory eFuses: the twin directory, one
    // run straight over the port, one interrupted then resumed over it
    let twin = f.path("twin");
    let straight = f.path("straight");
    let resumed = f.path("resumed");
    let twin_resumed = f.path("twin-resumed");
    for dev in [&twin, &straight, &resumed, &twin_resumed] {
        new_device(dev, "esp32c3", None);
    }
    for dev in [&straight, &resumed, &twin_resumed] {
        std::fs::copy(twin.join("efuse.bin"), dev.join("efuse.bin")).unwrap();
    }
    let out = run_ok(&mut provision(&["--device".as_ref(), twin.as_os_str()]));
    let reference = provision_summary(&out.stdout);
    let mac = reference["mac"].as_str().unwrap().to_owned();
    assert!(mac.len() == 17 && mac != "00:00:00:00:00:00", "{mac}");

    // pre-flight over the port: the blank chip is in the plan's starting state
    let served = Served::start(&straight, dir, "download", false);
    let port = served.port_arg();
    run_ok(
        espboot()
            .args(["provision", "check"])
            .arg(&plan)
            .args(["--port", &port]),
    );
    let out = run_ok(&mut provision(&["--port".as_ref(), port.as_ref()]));
    let over_port = provision_summary(&out.stdout);
    assert_eq!(over_port["mac"], reference["mac"]);
    assert_eq!(over_port["done"], reference["done"]);
    assert_same_device(&straight, &twin);
    // after the run the chip holds bits the plan burns: check still passes
    // (a resumable state), and a plan for another chip is refused
    run_ok(
        espboot()
            .args(["provision", "check"])
            .arg(&plan)
            .args(["--port", &port]),
    );
    let other = f.path("other.toml");
    std::fs::write(&other, C3_SB_PLAN.replacen("\"esp32c3\"", "\"esp32c6\"", 1)).unwrap();
    let out = run_fail(
        espboot()
            .args(["provision", "check"])
            .arg(&other)
            .args(["--port", &port]),
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("the device is an esp32c3, the plan is for esp32c6"),
        "{text}"
    );
    drop(served);

    let served = Served::start(&resumed, dir, "download", false);
    let port = served.port_arg();
    let out = run_fail(provision(&["--port".as_ref(), port.as_ref()]).args(["--stop-after", "3"]));
    assert_one_line_error(&out, "interrupted after 3 device action(s)");
    let out = run_ok(&mut provision(&["--port".as_ref(), port.as_ref()]));
    let second = provision_summary(&out.stdout);
    // the same interruption on a device directory resumes the same way
    let out = run_fail(
        provision(&["--device".as_ref(), twin_resumed.as_os_str()]).args(["--stop-after", "3"]),
    );
    assert_one_line_error(&out, "interrupted after 3 device action(s)");
    let out = run_ok(&mut provision(&[
        "--device".as_ref(),
        twin_resumed.as_os_str(),
    ]));
    let expected = provision_summary(&out.stdout);
    assert!(second["already_done"].as_u64().unwrap() >= 3, "{second}");
    assert_eq!(second["already_done"], expected["already_done"]);
    assert_eq!(second["done"], expected["done"]);
    assert_same_device(&resumed, &twin);
    assert_same_device(&twin_resumed, &twin);
    drop(served);

    // the record holds the device's MAC (the three devices share it)
    let out = run_ok(
        espboot()
            .args(["provision", "report", "--format", "csv", "--record"])
            .arg(&db),
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with(&format!("{mac},esp32c3,"))),
        "{csv}"
    );
}

/// As [`assert_same_device`] for any chip: the flash byte for byte, the
/// eFuse files outside the registers only a burn over a port writes.
#[track_caller]
fn assert_same_chip(dev: &Path, twin: &Path, chip: &str) {
    use crate::support::serve::{wait_efuse_files_equal, wait_files_equal};
    wait_files_equal(&dev.join("flash.bin"), &twin.join("flash.bin"));
    wait_efuse_files_equal(chip, &dev.join("efuse.bin"), &twin.join("efuse.bin"));
}

/// Regression: a plan ending in `download_mode = "secure"` (seed 003's last
/// line, `burn_efuse ENABLE_SECURITY_DOWNLOAD`) failed over a port at that
/// last step: the chip answers only in Secure Download Mode once the bit is
/// burned, which espefuse ends as a successful burn, but the run reported
/// espefuse's "can not continue" as an error and could not read the eFuses
/// back. The run now completes, and the chip ends as the same plan leaves a
/// device directory.
#[test]
fn provision_run_over_a_port_failed_at_the_last_step_enabling_secure_download_mode() {
    use crate::support::serve::{new_device, Served};
    let Some(f) = Fixtures::new() else { return };
    let dir = f.dir.path();
    let text = C3_SB_PLAN.replacen("download_mode = \"keep\"", "download_mode = \"secure\"", 1);
    assert_ne!(text, C3_SB_PLAN);
    let plan = write_plan(dir, &text);
    let db = f.path("provision.db");
    let provision = |target: &[&std::ffi::OsStr]| {
        let mut c = espboot();
        c.args(["provision", "run"])
            .arg(&plan)
            .args(target)
            .arg("--record")
            .arg(&db)
            .arg("--json");
        c
    };
    let twin = f.path("twin");
    let served_dev = f.path("served");
    new_device(&twin, "esp32c3", None);
    new_device(&served_dev, "esp32c3", None);
    std::fs::copy(twin.join("efuse.bin"), served_dev.join("efuse.bin")).unwrap();
    let out = run_ok(&mut provision(&["--device".as_ref(), twin.as_os_str()]));
    let reference = provision_summary(&out.stdout);

    let served = Served::start(&served_dev, dir, "download", false);
    let port = served.port_arg();
    let out = run_ok(&mut provision(&["--port".as_ref(), port.as_ref()]));
    let over_port = provision_summary(&out.stdout);
    assert_eq!(over_port["outcome"], "complete");
    assert_eq!(over_port["done"], reference["done"]);
    assert_eq!(over_port["already_done"], reference["already_done"]);
    assert_same_device(&served_dev, &twin);
    drop(served);
    let summary = espefuse_summary("esp32c3", &served_dev.join("efuse.bin"), dir).unwrap();
    let line = summary_line(&summary, "ENABLE_SECURITY_DOWNLOAD");
    assert!(line.contains("= True"), "{line}");
}

/// `espefuse summary` of a device's eFuse file by the pinned espefuse (on
/// a copy: espefuse's virtual mode may rewrite its file).
fn espefuse_summary(chip: &str, efuse: &Path, scratch: &Path) -> Option<String> {
    let copy = scratch.join(format!("summary-{chip}.bin"));
    std::fs::copy(efuse, &copy).unwrap();
    let mut espefuse = crate::support::reference_tool("espefuse")?;
    let out = run_ok(
        espefuse
            .args(["--chip", chip, "--virt", "--path-efuse-file"])
            .arg(&copy)
            .arg("summary"),
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

/// The line of `summary` that shows `field`.
fn summary_line<'a>(summary: &'a str, field: &str) -> &'a str {
    summary
        .lines()
        .find(|l| l.split_whitespace().next() == Some(field))
        .unwrap_or_else(|| panic!("no {field} in:\n{summary}"))
}

/// Seed 003's flash encryption + Secure Boot V2 flow over `sim serve` on
/// each chip's key layout (ESP32 FLASH_CRYPT_CONFIG, XTS-128, the S3's
/// split XTS-256 key, the C2's key derived from 128 bits with the digest
/// in the same block): the firmware is encrypted on the host and written
/// as is, and the chip ends byte for byte as the same plan leaves a device
/// directory (whose own `--encrypt` the host's ciphertext must equal);
/// the pinned espefuse reads the seed's final state. On two chips the run
/// is interrupted after the key burns and resumed over the port.
#[test]
fn provision_run_over_a_port_encrypts_on_the_host_on_each_chip_and_resumes() {
    use crate::support::serve::{new_device, Served};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("table.bin"), vec![0xAA; 0xC00]).unwrap();
    std::fs::write(
        d.join("data.bin"),
        (0..0x3000u32)
            .map(|i| (i * 7 + 3) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    for scheme in ["rsa3072", "ecdsa256"] {
        run_ok(
            espboot()
                .args([
                    "secure",
                    "generate-signing-key",
                    "--version",
                    "2",
                    "--scheme",
                    scheme,
                ])
                .arg(d.join(format!("sb-{scheme}.pem"))),
        );
    }
    // chip, flash encryption, SB scheme, FE 6 efuses, crypt counter, SB
    // enable field, interrupted after this many device actions
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        Option<usize>,
    );
    let cases: [Case; 5] = [
        (
            "esp32",
            "mode = \"release\"\nkey_bits = 256",
            "rsa3072",
            "efuses = { DISABLE_DL_ENCRYPT = true, DISABLE_DL_DECRYPT = true }",
            "FLASH_CRYPT_CNT",
            "ABS_DONE_1",
            None,
        ),
        (
            "esp32c3",
            "mode = \"release\"\nkey_bits = 256",
            "ecdsa256",
            "efuses = { DIS_DOWNLOAD_ICACHE = true, DIS_PAD_JTAG = true, DIS_DOWNLOAD_MANUAL_ENCRYPT = true }",
            "SPI_BOOT_CRYPT_CNT",
            "SECURE_BOOT_EN",
            Some(2),
        ),
        (
            "esp32s3",
            "mode = \"release\"\nkey_bits = 512",
            "rsa3072",
            "efuses = { DIS_DOWNLOAD_ICACHE = true, DIS_DOWNLOAD_DCACHE = true, DIS_DOWNLOAD_MANUAL_ENCRYPT = true }",
            "SPI_BOOT_CRYPT_CNT",
            "SECURE_BOOT_EN",
            Some(4),
        ),
        (
            "esp32c2",
            "mode = \"release\"\nkey_bits = 128",
            "ecdsa256",
            "efuses = { DIS_DOWNLOAD_ICACHE = true, DIS_DOWNLOAD_MANUAL_ENCRYPT = true }",
            "SPI_BOOT_CRYPT_CNT",
            "SECURE_BOOT_EN",
            None,
        ),
        (
            "esp32c6",
            "mode = \"development\"\nkey_bits = 256",
            "ecdsa256",
            "efuses = { DIS_PAD_JTAG = true }",
            "SPI_BOOT_CRYPT_CNT",
            "SECURE_BOOT_EN",
            None,
        ),
    ];
    for (chip, fe, scheme, final_fe, counter, sb_enable, interrupt) in cases {
        let key_bytes = match fe.rsplit(' ').next() {
            Some("512") => 64,
            Some("128") => 16,
            _ => 32,
        };
        std::fs::write(
            d.join("fe.bin"),
            (0..key_bytes)
                .map(|i| (i as u8).wrapping_mul(29) ^ 0xC3)
                .collect::<Vec<u8>>(),
        )
        .unwrap();
        let plan = write_plan(
            d,
            &format!(
                "chip = \"{chip}\"\n[flash_encryption]\n{fe}\nkey_file = \"fe.bin\"\n\
                 [flash_encryption.final]\n{final_fe}\nwrite_protect = true\n\
                 [secure_boot]\nscheme = \"{scheme}\"\nkeys = [\"sb-{scheme}.pem\"]\n\
                 revoke_unused = true\n[secure_boot.final]\nwrite_protect_rd_dis = true\n\
                 download_mode = \"keep\"\n\
                 [[firmware]]\nkind = \"partition_table\"\nfile = \"table.bin\"\naddress = 0x8000\n\
                 [[firmware]]\nkind = \"data\"\nfile = \"data.bin\"\naddress = 0x20000\n"
            ),
        );
        let provision = |target: &[&std::ffi::OsStr]| {
            let mut c = espboot();
            c.args(["provision", "run"])
                .arg(&plan)
                .args(target)
                .arg("--record")
                .arg(d.join(format!("{chip}.db")))
                .arg("--json");
            c
        };
        let twin = d.join(format!("{chip}-twin"));
        let served_dev = d.join(format!("{chip}-port"));
        new_device(&twin, chip, None);
        new_device(&served_dev, chip, None);
        std::fs::copy(twin.join("efuse.bin"), served_dev.join("efuse.bin")).unwrap();
        let out = run_ok(&mut provision(&["--device".as_ref(), twin.as_os_str()]));
        let reference = provision_summary(&out.stdout);

        let served = Served::start(&served_dev, d, "download", false);
        let port = served.port_arg();
        if let Some(k) = interrupt {
            let out = run_fail(
                provision(&["--port".as_ref(), port.as_ref()])
                    .args(["--stop-after", &k.to_string()]),
            );
            assert_one_line_error(&out, &format!("interrupted after {k} device action(s)"));
        }
        let out = run_ok(&mut provision(&["--port".as_ref(), port.as_ref()]));
        let over_port = provision_summary(&out.stdout);
        assert_eq!(over_port["mac"], reference["mac"], "{chip}");
        let total = |v: &serde_json::Value| {
            v["done"].as_u64().unwrap() + v["already_done"].as_u64().unwrap()
        };
        assert_eq!(total(&over_port), total(&reference), "{chip}");
        if let Some(k) = interrupt {
            assert_eq!(over_port["already_done"], k as u64, "{chip}: {over_port}");
        }
        assert_same_chip(&served_dev, &twin, chip);
        drop(served);

        // the host's ciphertext is what the chip's AES block makes of the
        // firmware with the burned key
        let decrypted = d.join(format!("{chip}-data.bin"));
        run_ok(
            espboot()
                .args(["secure", "decrypt-flash-data", "--keyfile"])
                .arg(d.join("fe.bin"))
                .args(["--address", "0x20000", "--output"])
                .arg(&decrypted)
                .args(if chip == "esp32" {
                    &[][..]
                } else {
                    &["--aes-xts"][..]
                })
                .arg(&{
                    let flash = std::fs::read(served_dev.join("flash.bin")).unwrap();
                    let path = d.join(format!("{chip}-enc.bin"));
                    std::fs::write(&path, &flash[0x20000..0x23000]).unwrap();
                    path
                }),
        );
        assert!(
            std::fs::read(&decrypted).unwrap() == std::fs::read(d.join("data.bin")).unwrap(),
            "{chip}: the flash does not decrypt to the firmware"
        );

        let Some(summary) = espefuse_summary(chip, &served_dev.join("efuse.bin"), d) else {
            continue;
        };
        let crypt = summary_line(&summary, counter);
        let want = if fe.contains("development") {
            "(0b001)"
        } else {
            "(0b111)"
        };
        let want = if chip == "esp32" { "(0b1111111)" } else { want };
        assert!(crypt.contains(want), "{chip}: {crypt}");
        let sb = summary_line(&summary, sb_enable);
        assert!(sb.contains("= True"), "{chip}: {sb}");
        assert!(
            summary_line(&summary, "RD_DIS").contains("R/-"),
            "{chip}: RD_DIS writable"
        );
        std::fs::remove_dir_all(&twin).unwrap();
        std::fs::remove_dir_all(&served_dev).unwrap();
    }
}
