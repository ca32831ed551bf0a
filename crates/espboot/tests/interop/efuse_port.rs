//! espefuse over a port (issue 13): `espboot efuse --port` / the `espefuse`
//! personality drive a chip's eFuse controller (`esp_efuse::backend::Port`)
//! against `espboot sim serve`, on ESP32, S3, C3, C2 and C6.
//!
//! Each chip gets two devices served on PTYs: every step runs through
//! espboot's `espefuse` personality on device A and through the pinned
//! espefuse on twin device B. Both drive the same registers the same way,
//! so after every step the two `efuse.bin` files must be byte-identical
//! (timing registers included) and the refusals must end the same way
//! (exit status and espefuse's fatal-error line). Before and after the
//! burns, `espboot efuse --port … summary --json` must equal espefuse's
//! `summary --format json` over the port, field for field.

use std::path::Path;
use std::process::Command;

use crate::support as common;
use crate::support::serve::{data, new_device, tool, wait_files_equal, Ran, Served};

/// One step: espefuse's arguments after the global options, and whether
/// both tools must refuse it.
struct Step {
    args: Vec<String>,
    refused: bool,
}

fn burn(args: &[&str]) -> Step {
    Step {
        args: args.iter().map(|s| s.to_string()).collect(),
        refused: false,
    }
}

fn refusal(args: &[&str]) -> Step {
    Step {
        refused: true,
        ..burn(args)
    }
}

/// The files the steps burn.
struct Files {
    key16: String,
    key32: String,
    key64: String,
    block32: String,
    sb: String,
    ecdsa: String,
}

fn steps(chip: &str, f: &Files) -> Vec<Step> {
    match chip {
        "esp32" => vec![
            burn(&["burn-key", "flash_encryption", &f.key32]),
            burn(&["burn-efuse", "FLASH_CRYPT_CNT", "1"]),
            burn(&["write-protect-efuse", "MAC"]),
            burn(&["burn-block-data", "BLOCK3", &f.block32]),
            burn(&["read-protect-efuse", "BLOCK3"]),
            refusal(&["burn-key", "flash_encryption", &f.key32]),
            burn(&["burn-efuse", "JTAG_DISABLE", "1"]),
        ],
        "esp32c3" => vec![
            burn(&["burn-key", "BLOCK_KEY0", &f.key32, "XTS_AES_128_KEY"]),
            burn(&[
                "burn-key-digest",
                "BLOCK_KEY1",
                &f.sb,
                "SECURE_BOOT_DIGEST0",
            ]),
            burn(&[
                "burn-efuse",
                "SPI_BOOT_CRYPT_CNT",
                "1",
                "SECURE_BOOT_EN",
                "1",
            ]),
            burn(&["write-protect-efuse", "DIS_USB_JTAG"]),
            refusal(&["burn-efuse", "DIS_USB_JTAG", "1"]),
            burn(&[
                "burn-key",
                "BLOCK_KEY3",
                &f.key32,
                "HMAC_UP",
                "--no-read-protect",
            ]),
            burn(&["read-protect-efuse", "BLOCK_KEY3"]),
            refusal(&["read-protect-efuse", "BLOCK_KEY1"]),
            burn(&["burn-block-data", "BLOCK_USR_DATA", &f.block32]),
        ],
        "esp32s3" => vec![
            burn(&["burn-key", "BLOCK_KEY0", &f.key64, "XTS_AES_256_KEY"]),
            burn(&["burn-efuse", "SPI_BOOT_CRYPT_CNT", "1"]),
            burn(&["burn-block-data", "BLOCK_USR_DATA", &f.block32]),
            refusal(&["burn-key", "BLOCK_KEY0", &f.key32, "XTS_AES_128_KEY"]),
            burn(&["write-protect-efuse", "DIS_USB_JTAG"]),
        ],
        "esp32c2" => vec![
            burn(&[
                "burn-key",
                "BLOCK_KEY0",
                &f.key16,
                "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS",
                "burn-key-digest",
                &f.ecdsa,
            ]),
            burn(&["burn-efuse", "SPI_BOOT_CRYPT_CNT", "1"]),
            refusal(&["burn-efuse", "SPI_BOOT_CRYPT_CNT", "0"]),
        ],
        "esp32c6" => vec![
            burn(&["burn-key", "BLOCK_KEY0", &f.key32, "XTS_AES_128_KEY"]),
            burn(&["burn-efuse", "SPI_BOOT_CRYPT_CNT", "1", "DIS_PAD_JTAG", "1"]),
            burn(&["burn-block-data", "BLOCK_USR_DATA", &f.block32]),
            burn(&["write-protect-efuse", "DIS_PAD_JTAG"]),
            refusal(&["burn-key", "BLOCK_KEY0", &f.key32, "XTS_AES_128_KEY"]),
        ],
        other => panic!("no steps for {other}"),
    }
}

/// Runs espboot's `espefuse` personality (a link named `espefuse`).
fn ours(link: &Path, args: &[String]) -> Ran {
    let out = Command::new(link)
        .args(args)
        .env("COLUMNS", "300")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", link.display()));
    Ran {
        code: out.status.code().unwrap_or(-1),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The fatal-error line(s) of a refusal.
fn fatal(text: &str) -> String {
    text.lines()
        .skip_while(|l| !l.contains("A fatal error occurred"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn json_of(text: &str) -> serde_json::Value {
    let start = text
        .find('{')
        .unwrap_or_else(|| panic!("no JSON in {text}"));
    let end = text.rfind('}').unwrap_or(text.len() - 1);
    serde_json::from_str(&text[start..=end]).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `espboot efuse --port … summary --json` equals espefuse's
/// `summary --format json` over the same port.
#[track_caller]
fn assert_summaries_equal(served: &Served, chip: &str, when: &str) {
    let out = common::run_ok(
        common::espboot()
            .args(["efuse", "--port"])
            .arg(served.port_arg())
            .args(["--before", "no-reset", "--chip", chip, "summary", "--json"]),
    );
    let ours: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{chip} {when}: {e}"));
    let args = ["--port", &served.port_arg(), "--before", "no-reset"]
        .into_iter()
        .chain(["summary", "--format", "json"])
        .map(String::from)
        .collect::<Vec<_>>();
    let theirs = json_of(&tool("espefuse", &args).ok());
    assert_eq!(ours, theirs, "{chip} {when}: summary over the port");
}

#[test]
fn efuse_port_burns_and_summaries_equal_espefuse_on_a_twin_device() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let link = dir.join("espefuse");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link)
        .unwrap_or_else(|e| panic!("{e}"));
    let file = |name: &str, bytes: &[u8]| -> String {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        path.display().to_string()
    };
    let signing_key = |name: &str, scheme: &str| -> String {
        let path = dir.join(name).display().to_string();
        let args = ["generate-signing-key", "--version", "2", "--scheme"];
        let args = args.into_iter().chain([scheme, &path]).map(String::from);
        tool("espsecure", &args.collect::<Vec<_>>()).ok();
        path
    };
    let sb = signing_key("sb.pem", "rsa3072");
    let ecdsa = signing_key("ecdsa.pem", "ecdsa256");
    let files = Files {
        key16: file("key16.bin", &data(16, 1)),
        key32: file("key32.bin", &data(32, 2)),
        key64: file("key64.bin", &data(64, 3)),
        block32: file("block32.bin", &data(32, 4)),
        sb,
        ecdsa,
    };
    let mut compared = 0;
    // ESPBOOT_EFUSE_PORT_CHIPS=esp32c2,... narrows the run while debugging
    let only = std::env::var("ESPBOOT_EFUSE_PORT_CHIPS").unwrap_or_default();
    let chips = ["esp32", "esp32s3", "esp32c3", "esp32c2", "esp32c6"];
    let chips: Vec<&str> = chips
        .into_iter()
        .filter(|c| only.is_empty() || only.split(',').any(|o| o == *c))
        .collect();
    for chip in chips.iter().copied() {
        let a = dir.join(format!("{chip}-a"));
        let b = dir.join(format!("{chip}-b"));
        new_device(&a, chip, None);
        new_device(&b, chip, None);
        // the same factory eFuses on both (each device has its own MAC)
        std::fs::copy(a.join("efuse.bin"), b.join("efuse.bin")).unwrap_or_else(|e| panic!("{e}"));
        let served_a = Served::start(&a, dir, "download", false);
        let served_b = Served::start(&b, dir, "download", false);
        assert_summaries_equal(&served_a, chip, "blank");
        for step in steps(chip, &files) {
            let global = |served: &Served| -> Vec<String> {
                ["--port", &served.port_arg(), "--before", "no-reset"]
                    .into_iter()
                    .chain(["--do-not-confirm"])
                    .map(String::from)
                    .chain(step.args.iter().cloned())
                    .collect()
            };
            let mine = ours(&link, &global(&served_a));
            let theirs = tool("espefuse", &global(&served_b));
            let what = format!("{chip} {:?}", step.args);
            assert_eq!(
                mine.code, theirs.code,
                "{what}: exit status\nespboot:\n{}\nespefuse:\n{}",
                mine.out, theirs.out
            );
            if step.refused {
                assert_ne!(mine.code, 0, "{what}: not refused\n{}", mine.out);
                assert_eq!(fatal(&mine.out), fatal(&theirs.out), "{what}: refusal");
            } else {
                assert!(mine.out.contains("Successful"), "{what}: {}", mine.out);
            }
            wait_files_equal(&a.join("efuse.bin"), &b.join("efuse.bin"));
            compared += 1;
        }
        assert_summaries_equal(&served_a, chip, "after the burns");
        drop(served_a);
        drop(served_b);
    }
    assert!(
        compared >= 25 || !only.is_empty(),
        "{compared} steps compared"
    );
}

/// issue 12: each device leaves `sim new` with a factory MAC of its own,
/// deterministic from its name; esptool's `read-mac`, espefuse's summary
/// over the port and `espboot efuse --port` all read the same one.
#[test]
fn each_device_has_its_own_factory_mac_that_every_tool_reads() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let mut macs = Vec::new();
    for (name, chip) in [("one", "esp32c3"), ("two", "esp32c3"), ("three", "esp32")] {
        let dev = dir.join(name);
        new_device(&dev, chip, None);
        let served = Served::start(&dev, dir, "download", false);
        let read_mac = crate::support::serve::esptool(&served, &[], &["read-mac"]).ok();
        let mac = read_mac
            .lines()
            .find_map(|l| l.strip_prefix("MAC:"))
            .map(|m| m.trim().to_string())
            .unwrap_or_else(|| panic!("{name}: no MAC in {read_mac}"));
        assert_ne!(mac, "00:00:00:00:00:00", "{name}");
        let args = ["--port", &served.port_arg(), "--before", "no-reset"]
            .into_iter()
            .chain(["summary", "--format", "json", "MAC"])
            .map(String::from)
            .collect::<Vec<_>>();
        let theirs = json_of(&tool("espefuse", &args).ok());
        let value = theirs["MAC"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            value.starts_with(&mac),
            "{name}: espefuse {value}, esptool {mac}"
        );
        let out = common::run_ok(
            common::espboot()
                .args(["efuse", "--port"])
                .arg(served.port_arg())
                .args(["--before", "no-reset", "summary", "--json", "MAC"]),
        );
        let ours: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ours["MAC"], theirs["MAC"], "{name}");
        macs.push(mac);
        drop(served);
    }
    assert_ne!(macs[0], macs[1], "distinct devices, distinct MACs");
    // the same name gives the same MAC
    let again = dir.join("again").join("one");
    new_device(&again, "esp32c3", None);
    let file = |d: &Path| std::fs::read(d.join("efuse.bin")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(file(&again), file(&dir.join("one")));
}

/// issue 12, RD_RS_ERR (serial.md §4.4): a program command whose
/// Reed-Solomon check words do not match its data (sent register by
/// register with esptool's `write-mem`) burns nothing and leaves the
/// block's fail bit in RD_RS_ERR0. espefuse over the port then reports the
/// error, its summary marks the block, `check-error` fails; espboot over
/// the same port prints the same lines and fails the same way.
#[test]
fn a_reed_solomon_error_reads_back_as_espefuse_reports_it() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let link = dir.join("espefuse");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link)
        .unwrap_or_else(|e| panic!("{e}"));
    let dev = dir.join("rs");
    new_device(&dev, "esp32c3", None);
    let served = Served::start(&dev, dir, "download", false);
    // ESP32-C3 controller at 0x60008800 (serial.md §4.2): PGM_DATA0 = 1
    // with CHECK_VALUE0..2 left at 0, the write opcode in CONF, then a
    // program command for BLOCK3 in CMD; one session (the server keeps
    // unsaved registers only while the line is open)
    let mut client = esp_serial_client::Client::open(&served.port_arg(), 115_200)
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .connect(esp_serial_client::reset::Before::NoReset, 3)
        .unwrap_or_else(|e| panic!("{e}"));
    for (addr, value) in [
        (0x6000_8800, 0x1),
        (0x6000_89CC, 0x5A5A),
        (0x6000_89D4, 0x2 | 3 << 2),
    ] {
        client
            .write_reg(addr, value, u32::MAX, 0)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // CONF/CMD at +0x1CC/+0x1D4; RD_RS_ERR0 at +0x1C0 now holds BLOCK3's
    // fail bit where espefuse reads it on this chip (bit 15)
    assert_eq!(client.read_reg(0x6000_89C0).ok(), Some(1 << 15));
    drop(client);
    // from the first coding-error line on (the connection lines differ)
    let report = |text: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| !l.starts_with("Error(s) in BLOCK"))
            .filter(|l| !l.starts_with("NOTE:"))
            .map(str::to_owned)
            .collect()
    };
    for command in [&["summary"][..], &["check-error"], &["dump"]] {
        let args: Vec<String> = ["--port", &served.port_arg(), "--before", "no-reset"]
            .into_iter()
            .chain(command.iter().copied())
            .map(String::from)
            .collect();
        let theirs = tool("espefuse", &args);
        let mine = ours(&link, &args);
        assert_eq!(
            mine.code, theirs.code,
            "{command:?}: {}\n{}",
            mine.out, theirs.out
        );
        let expected = report(&theirs.out);
        assert!(
            expected
                .first()
                .is_some_and(|l| l.starts_with("Error(s) in BLOCK3 [ERRORS:0 FAIL:True]")),
            "{command:?}: espefuse does not see the error: {}",
            theirs.out
        );
        assert_eq!(report(&mine.out), expected, "{command:?}");
    }
}

/// issue 12/13: seed 000's `espefuse.py --port` lines (flash encryption
/// key, ESP32 and the XTS chips), placeholders filled in and otherwise
/// verbatim (default reset, interactive `BURN`), through espboot's
/// `espefuse.py` name on one device and the pinned espefuse on its twin:
/// the eFuse files end byte-identical.
#[test]
fn seed_000_espefuse_port_lines_run_verbatim_through_both_tools() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let link = dir.join("espefuse.py");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link)
        .unwrap_or_else(|e| panic!("{e}"));
    let key = dir.join("FLASH_ENCRYPTION_KEY.bin");
    std::fs::write(&key, data(32, 7)).unwrap_or_else(|e| panic!("{e}"));
    let key = key.display().to_string();
    for (chip, line) in [
        (
            "esp32",
            "espefuse.py --port PORT burn_key flash_encryption KEY",
        ),
        (
            "esp32c3",
            "espefuse.py --port PORT burn_key BLOCK_KEY0 KEY XTS_AES_128_KEY",
        ),
    ] {
        let a = dir.join(format!("{chip}-seed-a"));
        let b = dir.join(format!("{chip}-seed-b"));
        new_device(&a, chip, None);
        new_device(&b, chip, None);
        std::fs::copy(a.join("efuse.bin"), b.join("efuse.bin")).unwrap_or_else(|e| panic!("{e}"));
        let served_a = Served::start(&a, dir, "download", false);
        let served_b = Served::start(&b, dir, "download", false);
        let args = |served: &Served| -> Vec<String> {
            line.split(' ')
                .skip(1)
                .map(|w| match w {
                    "PORT" => served.port_arg(),
                    "KEY" => key.clone(),
                    w => w.to_string(),
                })
                .collect()
        };
        let mut ours = Command::new(&link);
        ours.args(args(&served_a))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = ours.spawn().unwrap_or_else(|e| panic!("{e}"));
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write as _;
            stdin.write_all(b"BURN\n").unwrap_or_else(|e| panic!("{e}"));
        }
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.contains("Successful"),
            "{chip} {line}: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        crate::support::serve::tool_with_input("espefuse", &args(&served_b), Some("BURN\n"), None)
            .ok();
        wait_files_equal(&a.join("efuse.bin"), &b.join("efuse.bin"));
        drop(served_a);
        drop(served_b);
    }
}

/// Regression: burning ENABLE_SECURITY_DOWNLOAD (or DIS_DOWNLOAD_MODE) over
/// a port failed with `read register failed` and exit 2, because the chip
/// stops answering register reads as the burn takes effect. espefuse
/// reconnects, finds the chip in Secure Download Mode (or gone) and ends
/// with `Successful.`, exit 0; so must the personality, leaving the same
/// eFuses as espefuse on a twin.
#[test]
fn regression_download_mode_burns_over_a_port_end_successfully() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let link = dir.join("espefuse");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link)
        .unwrap_or_else(|e| panic!("{e}"));
    let link = link.as_path();
    std::thread::scope(|s| {
        for (field, said) in [
            (
                "ENABLE_SECURITY_DOWNLOAD",
                "Secure download mode is enabled.",
            ),
            ("DIS_DOWNLOAD_MODE", "Can not re-connect to the chip."),
        ] {
            s.spawn(move || {
                let a = dir.join(format!("{field}-a"));
                let b = dir.join(format!("{field}-b"));
                new_device(&a, "esp32c3", None);
                new_device(&b, "esp32c3", None);
                std::fs::copy(a.join("efuse.bin"), b.join("efuse.bin"))
                    .unwrap_or_else(|e| panic!("{e}"));
                let served_a = Served::start(&a, dir, "download", false);
                let served_b = Served::start(&b, dir, "download", false);
                let args = |served: &Served| -> Vec<String> {
                    vec![
                        "--port".into(),
                        served.port_arg(),
                        "--do-not-confirm".into(),
                        "burn-efuse".into(),
                        field.into(),
                    ]
                };
                let theirs = tool("espefuse", &args(&served_b));
                let mine = ours(link, &args(&served_a));
                assert_eq!(theirs.code, 0, "espefuse {field}: {}", theirs.out);
                assert_eq!(mine.code, 0, "espboot {field}: {}", mine.out);
                for out in [&theirs.out, &mine.out] {
                    let after = out.split(said).nth(1).unwrap_or_default();
                    assert!(after.contains("Successful."), "{field}: {out}");
                }
                wait_files_equal(&a.join("efuse.bin"), &b.join("efuse.bin"));
                drop(served_a);
                drop(served_b);
            });
        }
    });
}

/// issue 11: over a port with `--before no_reset`, the personality prints
/// what espefuse prints, in its order (stdout and stderr into one file):
/// the deprecation warning while the group parses, the banner, esptool's
/// `Pre-connection option` NOTE, `Connecting...`, and `Detecting chip
/// type...` only when no chip is named. Normalized: the VID/PID NOTE
/// pyserial adds for a PTY, and empty lines.
#[test]
fn regression_before_no_reset_note_and_warning_order_over_a_port() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let link = dir.join("espefuse");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link)
        .unwrap_or_else(|e| panic!("{e}"));
    let dev = dir.join("dev");
    new_device(&dev, "esp32c3", None);
    let served = Served::start(&dev, dir, "download", false);
    let merged = |program: &Path, args: &[String]| -> String {
        let path = dir.join("merged.out");
        let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let status = Command::new(program)
            .args(args)
            .env("COLUMNS", "80")
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone().unwrap_or_else(|e| panic!("{e}")))
            .stderr(file)
            .status()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(status.success(), "{}", program.display());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        text.lines()
            .map(|l| match l.find("NOTE: Failed to get VID/PID") {
                Some(at) => &l[..at],
                None => l,
            })
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let reference = common::reference_bin_dir().join("espefuse");
    for extra in [
        &["--before", "no_reset"][..],
        &["--before", "no-reset-no-sync", "--chip", "esp32c3"],
    ] {
        let args: Vec<String> = ["--port", &served.port_arg()]
            .into_iter()
            .chain(extra.iter().copied())
            .chain(["summary", "--format", "value_only", "WR_DIS"])
            .map(String::from)
            .collect();
        let theirs = merged(&reference, &args);
        assert!(theirs.contains("Pre-connection option"), "{theirs}");
        assert_eq!(merged(&link, &args), theirs, "espefuse {}", args.join(" "));
    }
}
