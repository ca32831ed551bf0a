//! The connection as esptool makes it (issue 13): the reset sequences
//! recorded from the pinned esptool's own code on a fake port and compared
//! with ours; and on `espboot sim serve`, twin runs of the pinned esptool
//! and espboot's `esptool` name: `-b` (CHANGE_BAUDRATE), `read-mem`,
//! `write-mem`, `dump-mem`, `run`, the `--after` actions that go through
//! the data path (watchdog, soft reset, leaving the stub), the wrong
//! `--chip`, port auto-detection, and Secure Download Mode's refusals.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use esp_serial_client::reset::{self, Before, UsbIds};

use crate::support as common;
use crate::support::serve::{new_device, Ran, Served};

/// Python run inside the pinned esptool's environment: esptool's
/// strategy choice (`ESPLoader._construct_reset_strategy_sequence`) and
/// `HardReset`, played on a port object that records every line write
/// and wait in the `D1|R0|U1,0|W0.1` notation. One line per sequence.
const RECORDER: &str = r#"
import time, types
import esp_pylib.serial_reset as sr
from esptool import reset as er
from esptool.loader import ESPLoader
rec = []
class Port:
    def __init__(self):
        self.dtr = True
        self.name = self.port = "/dev/ttyUSB0"
    def setDTR(self, v):
        self.dtr = v
        rec.append("D%d" % v)
    def setRTS(self, v):
        rec.append("R%d" % v)
    def isOpen(self):
        return True
def both(port, dtr=False, rts=False):
    rec.append("U%d,%d" % (dtr, rts))
sr.set_dtr_rts = both
sr._set_hupcl = lambda port, enabled: True
time.sleep = lambda d: rec.append("W%s" % d)
def played(strategy):
    rec.clear()
    strategy()
    return "|".join(rec)
for mode, vid, pid in [("default-reset", None, None), ("default-reset", 0x303A, 0x1001),
                       ("default-reset", 0x10C4, 0xEA64), ("usb-reset", None, None)]:
    fake = types.SimpleNamespace(CHIP_NAME="ESP32", USB_JTAG_SERIAL_PID=0x1001,
                                 get_usb_vid_pid=lambda vid=vid, pid=pid: (vid, pid))
    ports = []
    def make(mode=mode, fake=fake):
        fake._port = Port()
        return ESPLoader._construct_reset_strategy_sequence(fake, mode)
    for i in range(len(make())):
        print(mode, vid, pid, played(make()[i]))
for uses_usb, fc in [(False, False), (True, False), (False, True)]:
    print("hard", uses_usb, fc, played(er.HardReset(Port(), uses_usb, flow_control=fc)))
"#;

#[test]
fn reset_sequences_are_esptools_recorded_on_a_fake_port() {
    if common::interop_skipped() {
        return;
    }
    let python = common::reference_bin_dir().join("python");
    let out = Command::new(&python)
        .args(["-c", RECORDER])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<&str> = text
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap_or_default())
        .collect();
    let ids = |vid, pid| Some(UsbIds { vid, pid });
    let mut ours: Vec<String> = Vec::new();
    for (before, usb) in [
        (Before::DefaultReset, None),
        (Before::DefaultReset, ids(0x303A, 0x1001)),
        (Before::DefaultReset, ids(0x10C4, 0xEA64)),
        (Before::UsbReset, None),
    ] {
        for steps in before.strategies(usb, true) {
            ours.push(reset::notation(&steps));
        }
    }
    for (uses_usb, fc) in [(false, false), (true, false), (false, true)] {
        ours.push(reset::notation(&reset::hard_reset(true, uses_usb, fc)));
    }
    assert_eq!(ours.len(), 4 + 1 + 4 + 1 + 3, "{text}");
    assert_eq!(ours, theirs, "esptool recorded:\n{text}");
}

/// A link named `esptool` to espboot (its esptool personality).
fn our_esptool(dir: &Path) -> PathBuf {
    let link = dir.join("esptool");
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    link
}

/// Runs `program args` with a deadline-free wait (the server answers or
/// the client times out by itself); no port from the environment.
fn run(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_remove("ESPTOOL_PORT")
        .env("COLUMNS", "300")
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    Ran {
        code: out.status.code().unwrap_or(-1),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Both tools with `-p PORT --before no-reset EXTRA ARGS`; the pinned
/// one first.
fn twin(served: &Served, ours: &Path, extra: &[&str], args: &[&str]) -> (Ran, Ran) {
    let port = served.port_arg();
    let mut all = vec!["-p", port.as_str(), "--before", "no-reset"];
    all.extend(extra);
    all.extend(args);
    let theirs = run(&common::reference_bin_dir().join("esptool"), &all, &[]);
    let mine = run(ours, &all, &[]);
    (theirs, mine)
}

/// The lines of `out` that start with one of `prefixes`.
fn lines_with<'a>(out: &'a str, prefixes: &[&str]) -> Vec<&'a str> {
    out.lines()
        .map(str::trim_end)
        .filter(|l| prefixes.iter().any(|p| l.starts_with(p)))
        .collect()
}

#[test]
fn memory_commands_baud_change_and_after_actions_match_esptool() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let ours = our_esptool(dir);
    let dev = dir.join("c3");
    new_device(&dev, "esp32c3", None);
    let served = Served::start(&dev, dir, "download", false);
    let after_none = ["--after", "no-reset-stub", "-b", "460800"];

    // read-mem and write-mem: the same result lines (the virtual chip
    // resets when a client opens the port, so each run stands alone)
    let result = ["Wrote ", "0x", "Changing baud", "Changed."];
    let clkdiv = "0x60000014"; // UART0_CLKDIV_REG, which the ROM set up
    for cmd in [
        &["write-mem", "0x3FC80010", "0x12345678"][..],
        &["write-mem", "0x3FC80010", "0xAB00", "0xFF00"],
        &["read-mem", clkdiv],
    ] {
        let (a, b) = twin(&served, &ours, &after_none, cmd);
        assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.out, b.out);
        assert_eq!(lines_with(&a.out, &result), lines_with(&b.out, &result));
        assert!(
            b.out.contains("Changing baud rate to 460800..."),
            "{}",
            b.out
        );
    }
    let (_, b) = twin(&served, &ours, &after_none, &["read-mem", clkdiv]);
    assert!(
        !b.out.contains(&format!("{clkdiv} = 0x00000000")),
        "{}",
        b.out
    );

    // dump-mem: the same bytes, the same result line up to the timing
    let (fa, fb) = (dir.join("a.bin"), dir.join("b.bin"));
    let (a, _) = twin(
        &served,
        &ours,
        &after_none,
        &["dump-mem", "0x60000000", "64", &fa.display().to_string()],
    );
    let (_, b) = twin(
        &served,
        &ours,
        &after_none,
        &["dump-mem", "0x60000000", "64", &fb.display().to_string()],
    );
    assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.out, b.out);
    let read = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read(&fa), read(&fb));
    assert_eq!(read(&fa).len(), 64);
    let dumped = |o: &str, file: &Path| {
        lines_with(o, &["Dumped "])
            .iter()
            .map(|l| l.split(" in ").next().unwrap_or_default().to_owned())
            .chain(
                lines_with(o, &["Dumping "])
                    .iter()
                    // not esptool's progress line ("Dumping from 0x…")
                    .filter(|l| l.contains(" bytes from "))
                    .map(|l| l.replace(&file.display().to_string(), "F")),
            )
            .collect::<Vec<_>>()
    };
    assert_eq!(dumped(&a.out, &fa).len(), 2, "{}", a.out);
    assert_eq!(
        dumped(&a.out, &fa),
        dumped(&b.out, &fb),
        "{}\n{}",
        a.out,
        b.out
    );

    // --after no-reset sends the stub back to the ROM (an empty
    // FLASH_BEGIN, FLASH_END with "reboot"); no-reset-stub leaves it
    let sent_after = |served: &Served, from: usize| -> Vec<String> {
        served.log()[from..]
            .lines()
            .filter_map(|l| l.strip_prefix("cmd "))
            .map(str::to_owned)
            .collect()
    };
    for (after, leaves) in [("no-reset", true), ("no-reset-stub", false)] {
        for program in [common::reference_bin_dir().join("esptool"), ours.clone()] {
            let from = served.log().len();
            let port = served.port_arg();
            let ran = run(
                &program,
                &[
                    "-p", &port, "--before", "no-reset", "--after", after, "read-mem", clkdiv,
                ],
                &[],
            );
            assert_eq!(ran.code, 0, "{}", ran.out);
            // the client's hang-up resets the chip: every command it sent
            // is in the log by then (the log is read from the server's
            // output as it comes, so it may lag the client's exit)
            served.wait_log_since(from, "reset: download mode");
            let sent = sent_after(&served, from);
            let tail: Vec<&str> = sent
                .iter()
                .rev()
                .take(2)
                .rev()
                .map(String::as_str)
                .collect();
            assert_eq!(
                tail == ["FLASH_BEGIN", "FLASH_END"],
                leaves,
                "{} --after {after}: {sent:?}",
                program.display()
            );
        }
    }

    // the wrong --chip: the same message and exit status
    let (a, b) = twin(
        &served,
        &ours,
        &["--chip", "esp32s3"],
        &["read-mem", clkdiv],
    );
    let wrong = "This chip is ESP32-C3, not ESP32-S3. Wrong chip argument?";
    assert!(
        a.out.contains(wrong) && b.out.contains(wrong),
        "{}\n{}",
        a.out,
        b.out
    );
    assert_eq!((a.code, b.code), (2, 2), "{}\n{}", a.out, b.out);

    // --after watchdog-reset: the RTC watchdog fires and the chip resets
    let (a, b) = twin(
        &served,
        &ours,
        &["--after", "watchdog-reset"],
        &["read-mem", clkdiv],
    );
    let hard = ["Hard resetting"];
    assert_eq!(
        lines_with(&a.out, &hard),
        ["Hard resetting with a watchdog..."]
    );
    assert_eq!(lines_with(&a.out, &hard), lines_with(&b.out, &hard));
    let resets = served.log().matches("watchdog reset").count();
    assert_eq!(resets, 2, "{}", served.log());

    // run, and --after soft-reset from the ROM: the application is started
    // (and keeps running; `sim boot-mode --reset` brings the ROM back)
    let to_download = || {
        common::run_ok(
            common::espboot()
                .args(["sim", "boot-mode"])
                .arg(&dev)
                .args(["download", "--reset"]),
        );
    };
    let port = served.port_arg();
    let mut outs = Vec::new();
    for program in [common::reference_bin_dir().join("esptool"), ours.clone()] {
        let args = ["-p", &port, "--before", "no-reset", "--no-stub"];
        let ran = run(
            &program,
            &[&args[..], &["--after", "no-reset", "run"]].concat(),
            &[],
        );
        assert_eq!(ran.code, 0, "{}", ran.out);
        outs.push(lines_with(&ran.out, &["Enabling", "Staying"]).join("\n"));
        to_download();
    }
    assert_eq!(outs[0], outs[1]);
    served.wait_log_count("run user code", 2);
    let port = served.port_arg();
    let ran = run(
        &ours,
        &[
            "-p",
            &port,
            "--no-stub",
            "--after",
            "soft-reset",
            "read-mem",
            clkdiv,
        ],
        &[],
    );
    assert_eq!(ran.code, 0, "{}", ran.out);
    assert!(ran.out.contains("Soft resetting..."), "{}", ran.out);
    served.wait_log_count("run user code", 3);
}

#[test]
fn port_auto_detection_tries_candidates_in_turn() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let ours = our_esptool(dir);
    let dev = dir.join("s3");
    new_device(&dev, "esp32s3", None);
    let served = Served::start(&dev, dir, "download", false);
    let missing = dir.join("ttyUSB9").display().to_string();
    let list = format!("{missing}:{}", served.port_arg());
    let ran = run(
        &ours,
        &["--after", "no-reset", "read-mem", "0x40000000"],
        &[("ESPBOOT_PORT_CANDIDATES", &list)],
    );
    assert_eq!(ran.code, 0, "{}", ran.out);
    for line in [
        "Found 2 serial ports...".to_owned(),
        format!("Serial port {missing}:"),
        format!("ERROR: {missing} failed to connect: Could not open {missing}"),
        format!("Connected to ESP32-S3 on {}:", served.port_arg()),
    ] {
        assert!(ran.out.contains(&line), "{line:?} missing:\n{}", ran.out);
    }
    let ran = run(
        &ours,
        &["read-mem", "0x40000000"],
        &[("ESPBOOT_PORT_CANDIDATES", &missing)],
    );
    assert_eq!(ran.code, 2, "{}", ran.out);
    assert!(
        ran.out.contains(
            "A fatal error occurred: Could not connect to an Espressif device on any of the 1 available serial ports."
        ),
        "{}",
        ran.out
    );
}

#[test]
fn secure_download_mode_refusals_match_esptool() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let ours = our_esptool(dir);
    let dev = dir.join("sdm");
    new_device(&dev, "esp32c3", None);
    common::run_ok(common::espboot().args(["sim", "efuse"]).arg(&dev).args([
        "--do-not-confirm",
        "burn-efuse",
        "ENABLE_SECURITY_DOWNLOAD",
        "1",
    ]));
    let served = Served::start(&dev, dir, "download", false);
    for cmd in [&["read-mem", "0x40000000"][..], &["run"], &["read-mac"]] {
        let (a, b) = twin(&served, &ours, &["--after", "no-reset"], cmd);
        let refusal = format!(
            "A fatal error occurred: The '{}' command is not available in Secure Download Mode.",
            cmd[0]
        );
        assert!(a.out.contains(&refusal), "{}", a.out);
        assert!(b.out.contains(&refusal), "{}", b.out);
        assert_eq!((a.code, b.code), (2, 2));
    }
    // the stub is refused with esptool's warning; the ROM answers
    let (a, b) = twin(
        &served,
        &ours,
        &["--after", "no-reset"],
        &["get-security-info"],
    );
    let warning = "Stub flasher is not supported in Secure Download Mode";
    assert!(a.out.contains(warning), "{}", a.out);
    assert!(b.out.contains(warning), "{}", b.out);
    assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.out, b.out);
    assert!(!served.log().contains("cmd MEM_BEGIN"), "{}", served.log());
}
