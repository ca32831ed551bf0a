//! Hostile devices (issue 13): a device that stops answering mid-write,
//! answers with an error status, sends garbage or truncated frames, or
//! reports a wrong MD5. espboot's esptool side and the pinned esptool run
//! against the same misbehaviour (a fresh device each): both must fail
//! with exit status 2 after resending a data block exactly as often
//! (counted by the device), neither may print a success line, and
//! espboot's error is one line naming the port and the operation.

use std::path::Path;
use std::process::Command;

use esp_rom_protocol::command::Opcode;
use esp_rom_protocol::response::Failure;

use crate::support as common;
use crate::support::hostile::{Fault, Hostile};
use crate::support::serve::{data, new_device, tool, Ran};

/// Lines that only a successful command prints (esptool 5.6.0 `cmds.py`).
const SUCCESS_LINES: &[&str] = &[
    "Hash of data verified.",
    "Verification successful",
    "erased successfully",
    "Read 8192 bytes",
];

/// What one client did against one hostile device.
struct Outcome {
    ran: Ran,
    /// Requests `op` the device received.
    sent: usize,
    stderr: String,
}

/// The fixture: a device directory, a data file and the `esptool` link to
/// espboot.
struct Bench {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    dev: std::path::PathBuf,
    link: std::path::PathBuf,
}

impl Bench {
    fn new(chip: &str) -> Bench {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dir = tmp.path().to_path_buf();
        let dev = dir.join(chip);
        new_device(&dev, chip, None);
        // 40 000 bytes of noise and 40 000 of 0xFF: five stub blocks
        // plain, three compressed
        let mut bytes = data(40_000, 13);
        bytes.resize(80_000, 0xFF);
        std::fs::write(dir.join("data.bin"), bytes).unwrap_or_else(|e| panic!("{e}"));
        let link = dir.join("esptool");
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link)
            .unwrap_or_else(|e| panic!("{e}"));
        Bench {
            _tmp: tmp,
            dir,
            dev,
            link,
        }
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// Runs `args` (with `{data}` and `{out}` filled in) through espboot's
    /// esptool link, then through the pinned esptool, each against a fresh
    /// hostile device with `fault`; counts the requests `op`.
    fn both(&self, fault: Fault, op: Opcode, args: &[&str]) -> (Outcome, Outcome) {
        let mine = self.once("espboot", fault, op, args);
        let theirs = self.once("esptool", fault, op, args);
        (mine, theirs)
    }

    fn once(&self, who: &str, fault: Fault, op: Opcode, args: &[&str]) -> Outcome {
        let out = self.file(&format!("read-{who}.bin"));
        let data = self.file("data.bin");
        let device = Hostile::start(&self.dev, &self.dir, who, fault);
        let mut all: Vec<String> = ["--port", &device.port_arg(), "--before", "no-reset"]
            .into_iter()
            // not `no-reset`: with the stub, that sends FLASH_BEGIN and
            // FLASH_END after the command, also after a failed one
            // (esptool's teardown), and a silent device's timeout there
            // would replace the failure under test
            .chain(["--after", "no-reset-stub"])
            .map(str::to_owned)
            .collect();
        all.extend(
            args.iter()
                .map(|a| a.replace("{data}", &data).replace("{out}", &out)),
        );
        let (ran, stderr) = if who == "espboot" {
            let o = Command::new(&self.link)
                .args(&all)
                .output()
                .unwrap_or_else(|e| panic!("{e}"));
            let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
            let ran = Ran {
                code: o.status.code().unwrap_or(-1),
                out: format!("{}{stderr}", String::from_utf8_lossy(&o.stdout)),
            };
            (ran, stderr)
        } else {
            (tool("esptool", &all), String::new())
        };
        let sent = device.requests(op);
        drop(device);
        if args.first() == Some(&"read-flash") {
            assert!(
                !Path::new(&out).exists(),
                "{who} wrote {out} although the read failed:\n{}",
                ran.out
            );
        }
        Outcome { ran, sent, stderr }
    }
}

/// Both failed with esptool's exit status after the same number of
/// requests `op`, without a success line; espboot's error is one line
/// naming the port and `operation`.
#[track_caller]
fn assert_same_failure(mine: &Outcome, theirs: &Outcome, port_name: &str, operation: &str) {
    assert_eq!(theirs.ran.code, 2, "esptool:\n{}", theirs.ran.out);
    assert_eq!(mine.ran.code, theirs.ran.code, "espboot:\n{}", mine.ran.out);
    assert!(
        theirs.ran.out.contains("A fatal error occurred"),
        "esptool:\n{}",
        theirs.ran.out
    );
    assert_eq!(
        mine.sent, theirs.sent,
        "requests sent: espboot {} esptool {}\nespboot:\n{}\nesptool:\n{}",
        mine.sent, theirs.sent, mine.ran.out, theirs.ran.out
    );
    for out in [&mine.ran.out, &theirs.ran.out] {
        for line in SUCCESS_LINES {
            assert!(!out.contains(line), "success line {line:?} in:\n{out}");
        }
    }
    let lines: Vec<&str> = mine
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "espboot's error is not one line:\n{}",
        mine.stderr
    );
    let line = lines[0];
    assert!(
        line.starts_with("ERROR: A fatal error occurred: ")
            && line.contains(port_name)
            && line.contains(operation),
        "espboot's error should name the port ({port_name}) and {operation:?}: {line}"
    );
}

/// The port path each client was given (`tty-hostile-espboot`).
const PORT: &str = "tty-hostile-espboot";

#[test]
fn error_status_on_data_blocks_is_retried_as_esptool_retries() {
    if common::interop_skipped() {
        return;
    }
    let bench = Bench::new("esp32c3");
    // the second compressed block always refused: 1 good block + 3 tries
    let fault = Fault::Status {
        op: Opcode::FlashDeflData,
        from: 1,
        times: usize::MAX,
        failure: Failure::Checksum,
    };
    let (mine, theirs) = bench.both(
        fault,
        Opcode::FlashDeflData,
        &["write-flash", "0x10000", "{data}"],
    );
    assert_eq!(theirs.sent, 4, "esptool:\n{}", theirs.ran.out);
    assert_same_failure(&mine, &theirs, PORT, "write compressed data to flash");
    assert!(mine.stderr.contains("Bad data checksum"), "{}", mine.stderr);

    // refused twice, accepted the third time: both recover and verify
    let fault = Fault::Status {
        op: Opcode::FlashData,
        from: 0,
        times: 2,
        failure: Failure::Checksum,
    };
    let args = ["write-flash", "--no-compress", "0x10000", "{data}"];
    let (mine, theirs) = bench.both(fault, Opcode::FlashData, &args);
    for o in [&mine, &theirs] {
        assert_eq!(o.ran.code, 0, "{}", o.ran.out);
        assert!(
            o.ran.out.contains("Hash of data verified."),
            "{}",
            o.ran.out
        );
    }
    // five blocks plus the two refused attempts
    assert_eq!((mine.sent, theirs.sent), (7, 7));
}

#[test]
fn a_device_that_stops_answering_mid_write_fails_the_write() {
    if common::interop_skipped() {
        return;
    }
    let bench = Bench::new("esp32c3");
    let fault = Fault::Silent {
        op: Opcode::FlashData,
        from: 1,
        keep: 0,
    };
    let args = ["write-flash", "--no-compress", "0x10000", "{data}"];
    let (mine, theirs) = bench.both(fault, Opcode::FlashData, &args);
    assert_same_failure(&mine, &theirs, PORT, "write to target flash");
    assert_eq!(mine.sent, 4, "{}", mine.ran.out);
}

#[test]
fn garbage_and_truncated_replies_fail_the_write() {
    if common::interop_skipped() {
        return;
    }
    let bench = Bench::new("esp32c3");
    let garbage = Fault::Garbage {
        op: Opcode::FlashDeflData,
        from: 0,
        times: usize::MAX,
    };
    let (mine, theirs) = bench.both(
        garbage,
        Opcode::FlashDeflData,
        &["write-flash", "0x0", "{data}"],
    );
    assert_same_failure(&mine, &theirs, PORT, "write compressed data to flash");
    assert_eq!(mine.sent, 3, "{}", mine.ran.out);

    let truncated = Fault::Truncated {
        op: Opcode::FlashData,
        from: 2,
        times: usize::MAX,
    };
    let args = ["write-flash", "--no-compress", "0x0", "{data}"];
    let (mine, theirs) = bench.both(truncated, Opcode::FlashData, &args);
    assert_same_failure(&mine, &theirs, PORT, "write to target flash");
    assert_eq!(mine.sent, 5, "{}", mine.ran.out);
}

#[test]
fn a_wrong_md5_fails_write_verify_and_read() {
    if common::interop_skipped() {
        return;
    }
    let bench = Bench::new("esp32c3");
    let md5 = Opcode::SpiFlashMd5;
    let (mine, theirs) = bench.both(Fault::WrongMd5, md5, &["write-flash", "0x0", "{data}"]);
    assert_same_failure(&mine, &theirs, PORT, "MD5");
    assert_eq!(mine.sent, 1);

    let (mine, theirs) = bench.both(Fault::WrongMd5, md5, &["verify-flash", "0x0", "{data}"]);
    assert_same_failure(&mine, &theirs, PORT, "Verification failed");

    let read = Opcode::ReadFlash;
    let args = ["read-flash", "0x0", "0x2000", "{out}"];
    let (mine, theirs) = bench.both(Fault::WrongMd5, read, &args);
    assert_same_failure(&mine, &theirs, PORT, "read flash");
    assert!(
        mine.stderr.contains("MD5") || mine.stderr.contains("digest"),
        "{}",
        mine.stderr
    );
}

#[test]
fn a_device_that_hangs_fails_read_and_erase() {
    if common::interop_skipped() {
        return;
    }
    let bench = Bench::new("esp32c3");
    // the READ_FLASH reply and one 4 KiB packet, then nothing
    let fault = Fault::Silent {
        op: Opcode::ReadFlash,
        from: 0,
        keep: 2,
    };
    let args = ["read-flash", "0x0", "0x2000", "{out}"];
    let (mine, theirs) = bench.both(fault, Opcode::ReadFlash, &args);
    assert_same_failure(&mine, &theirs, PORT, "read flash");

    let fault = Fault::Status {
        op: Opcode::EraseRegion,
        from: 0,
        times: usize::MAX,
        failure: Failure::FlashWrite,
    };
    let args = ["erase-region", "0x10000", "0x1000"];
    let (mine, theirs) = bench.both(fault, Opcode::EraseRegion, &args);
    assert_same_failure(&mine, &theirs, PORT, "erase region");
    assert_eq!(mine.sent, 1, "erase-region is not retried");

    let fault = Fault::Silent {
        op: Opcode::EraseRegion,
        from: 0,
        keep: 0,
    };
    let (mine, theirs) = bench.both(fault, Opcode::EraseRegion, &args);
    assert_same_failure(&mine, &theirs, PORT, "erase region");
}
