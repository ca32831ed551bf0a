//! Fault injection into `espboot provision run` over `sim serve` (issue 14,
//! Tests): an ESP32-C3 plan with flash encryption (a fixed key file) and
//! Secure Boot V2 (one signing key for the whole test) is cut at every step
//! boundary and inside every step, by each kind of fault, and resumed; the
//! device files, the eFuse burns and the record end as an uninterrupted run
//! leaves them.
//!
//! The points are exact: `sim serve --pause-before OP:N` stops the server
//! (SIGSTOP) right before a request, or right after an eFuse program
//! command, and the test then kills what the fault kills, by process id:
//! - kill the server: SIGKILL `sim serve` where a step starts (its first
//!   request that changes the chip), then serve the device again; the
//!   client sees its port vanish and fails with one line naming it;
//! - power cut: SIGKILL `sim serve` inside a step: between the eFuse
//!   programs of one `burn-key`, with the eFuse controller's data registers
//!   half loaded, between FLASH_DATA blocks. The server saves the device
//!   before it answers each request but a data block, which it saves when
//!   the line goes idle, so the files at the kill are what a chip that lost
//!   power keeps (a data block not saved yet counts as not written; a torn
//!   block is not modelled);
//! - kill the client inside a step: SIGKILL `provision run` while it waits
//!   for that request's reply, then let the server go on;
//! - kill the client at the boundary after a step: `provision run
//!   --kill-after N` SIGKILLs itself after its Nth device action, before
//!   journaling it.
//!
//! Every faulted run also resumes what the fault before it left, so one
//! device walks through all the points and the uninterrupted run is made
//! once.
#![allow(clippy::unwrap_used)]

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use espboot_provision::record::{RecordStore, Store};

use crate::support::serve::{new_device, Served};
use crate::support::{
    assert_one_line_error, espboot, provision_events, provision_summary, run_fail, run_ok,
};

/// Seed 003's flash encryption (release, the key from a file) then Secure
/// Boot V2 with the seed's final eFuses on an ESP32-C3, writing a partition
/// table (one FLASH_DATA request) and a data image (three: 0x9000 bytes in
/// the stub's 0x4000-byte blocks; the reference run checks the count).
const PLAN: &str = r#"
chip = "esp32c3"
[flash_encryption]
mode = "release"
key_bits = 256
key_file = "fe.bin"
[flash_encryption.final]
efuses = { DIS_DOWNLOAD_ICACHE = true, DIS_PAD_JTAG = true, DIS_DOWNLOAD_MANUAL_ENCRYPT = true }
write_protect = true
[secure_boot]
scheme = "ecdsa256"
keys = ["sb.pem"]
revoke_unused = true
[secure_boot.final]
efuses = { SECURE_BOOT_AGGRESSIVE_REVOKE = true }
write_protect_rd_dis = true
download_mode = "keep"
[[firmware]]
kind = "partition_table"
file = "table.bin"
address = 0x8000
[[firmware]]
kind = "data"
file = "data.bin"
address = 0x20000
"#;

/// How long a client may take to reach a point or to finish.
const DEADLINE: Duration = Duration::from_secs(60);

/// The test's files: the plan and its key and firmware files, the devices
/// (all with one factory eFuse file, so one MAC) and the record databases.
struct Bench {
    dir: tempfile::TempDir,
    chip: &'static str,
}

impl Bench {
    /// The files of `plan` for `chip` (its flash-encryption key: 16 bytes on
    /// the ESP32-C2, whose plans here use 128-bit keys, 64 for a 512-bit
    /// key, else 32).
    fn new(plan: &str, chip: &'static str) -> Bench {
        let b = Bench {
            dir: tempfile::tempdir().unwrap(),
            chip,
        };
        let key_len: u8 = match chip {
            "esp32c2" => 16,
            _ if plan.contains("key_bits = 512") => 64,
            _ => 32,
        };
        std::fs::write(
            b.path("fe.bin"),
            (0..key_len)
                .map(|i| i.wrapping_mul(29) ^ 0xC3)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        std::fs::write(b.path("table.bin"), vec![0xAA; 0xC00]).unwrap();
        std::fs::write(b.path("data.bin"), crate::support::serve::data(0x9000, 14)).unwrap();
        run_ok(
            espboot()
                .args(["secure", "generate-signing-key", "--version", "2"])
                .args(["--scheme", "ecdsa256"])
                .arg(b.path("sb.pem")),
        );
        std::fs::write(b.path("plan.toml"), plan).unwrap();
        new_device(&b.path("factory"), chip, None);
        b
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A new device with the factory eFuses.
    fn device(&self, name: &str) -> PathBuf {
        let dev = self.path(name);
        new_device(&dev, self.chip, None);
        std::fs::copy(self.path("factory/efuse.bin"), dev.join("efuse.bin")).unwrap();
        dev
    }

    /// `provision run` of the plan on `port`, recording into `db`.
    fn provision(&self, port: &Path, db: &str, extra: &[&str]) -> Command {
        let mut c = espboot();
        c.args(["provision", "run"])
            .arg(self.path("plan.toml"))
            .arg("--port")
            .arg(port)
            .arg("--db")
            .arg(self.path(db))
            .arg("--json")
            .args(extra);
        c
    }

    /// `provision report --json` of `db`.
    fn report(&self, db: &str) -> serde_json::Value {
        let out = run_ok(
            espboot()
                .args(["provision", "report", "--json", "--db"])
                .arg(self.path(db)),
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

/// Waits for `child` (killed by its id if it overruns).
fn finish(mut child: Child) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "provision run did not finish in {DEADLINE:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig} {pid}");
}

/// Waits until process `pid` is stopped (state `T` in /proc/PID/stat,
/// after the command name in parentheses).
fn wait_stopped(pid: u32) {
    let start = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next());
        if state == Some("T") {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "sim serve {pid} did not stop: {stat}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The eFuse blocks a server burned, in order (`--trace`).
fn burns(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.strip_prefix("efuse program "))
        .map(str::to_owned)
        .collect()
}

/// What a fault kills at its point.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// `sim serve` (kill the server, power cut).
    Server,
    /// `provision run`; the server then goes on.
    Client,
}

/// One run of the plan on `dev`, cut at `point` by `fault`; returns the
/// server's log.
fn cut(b: &Bench, dev: &Path, db: &str, point: &str, fault: Fault) -> String {
    let served = Served::start_with(dev, b.dir(), "download", false, &["--pause-before", point]);
    let mut client = spawn(&mut b.provision(&served.port, db, &[]));
    let paused = format!("paused at {}", point.replacen(':', " #", 1));
    let start = Instant::now();
    while !served.log().contains(&paused) {
        if client.try_wait().unwrap().is_some() || start.elapsed() > DEADLINE {
            let out = finish(client);
            panic!(
                "{point} ({fault:?}): the run ended before the point:\n{}{}\nserver:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                served.log()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    wait_stopped(served.pid());
    match fault {
        Fault::Server => {
            signal(served.pid(), "-KILL");
            let out = finish(client);
            assert!(!out.status.success(), "{point}: the run went on");
            // the port vanished under the client: one line naming it and
            // the step (regression: fault14 printed "read register failed:
            // Broken pipe" with the step's type alone)
            assert_one_line_error(
                &out,
                &format!(
                    "{}: the device stopped answering during step ",
                    served.port_arg()
                ),
            );
            // the stream ends with the step failed, then the error
            let events = provision_events(&out.stdout);
            let [.., failed, error] = events.as_slice() else {
                panic!("{point}: {events:?}")
            };
            assert_eq!(failed["state"], "failed", "{point}: {failed}");
            assert_eq!(error["event"], "error", "{point}: {error}");
            assert_eq!(error["step"], failed["index"], "{point}: {error}");
        }
        Fault::Client => {
            signal(client.id(), "-KILL");
            let out = finish(client);
            assert_eq!(out.status.signal(), Some(9), "{point}: {out:?}");
            signal(served.pid(), "-CONT");
        }
    }
    let log = served.log();
    let port = served.port.clone();
    drop(served);
    // a killed server leaves the link to its port behind
    let _ = std::fs::remove_file(&port);
    log
}

/// One run of the plan on `dev` that kills itself after `actions` device
/// actions, before journaling the last; returns the server's log.
fn kill_after(b: &Bench, dev: &Path, db: &str, actions: usize) -> String {
    let served = Served::start(dev, b.dir(), "download", false);
    let n = actions.to_string();
    let out = finish(spawn(&mut b.provision(
        &served.port,
        db,
        &["--kill-after", &n],
    )));
    assert_eq!(out.status.signal(), Some(9), "--kill-after {n}: {out:?}");
    let log = served.log();
    drop(served);
    log
}

/// An uninterrupted run of the plan on a new device `name`, recorded in
/// `NAME.db`: its device directory, result and server log.
fn uninterrupted(b: &Bench, name: &str) -> (PathBuf, serde_json::Value, String) {
    let dev = b.device(name);
    let served = Served::start(&dev, b.dir(), "download", false);
    let out = run_ok(&mut b.provision(&served.port, &format!("{name}.db"), &[]));
    let log = served.log();
    drop(served);
    (dev, provision_summary(&out.stdout), log)
}

/// The device steps of the plan (`provision plan --json`).
fn device_steps(b: &Bench) -> Vec<serde_json::Value> {
    let out = run_ok(
        espboot()
            .args(["provision", "plan", "--json"])
            .arg(b.path("plan.toml")),
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["on_device"] == true)
        .cloned()
        .collect()
}

/// Where a step starts (its first request that changes the chip), where a
/// power cut lands inside it and where a client kill does; both inside
/// points leave the step unfinished, so that `--kill-after` finishes it.
/// Counts start with each server: a resumed run's steps before this one
/// only read (READ_REG, SPI_FLASH_MD5), and the erase it repeats until the
/// key is burned programs no eFuse.
fn points(step: &serde_json::Value) -> (&'static str, Option<&'static str>, &'static str) {
    match step["type"].as_str().unwrap() {
        // one request: no power cut inside it; the client dies while it runs
        "EraseFlash" => ("ERASE_FLASH:1", None, "ERASE_FLASH:1"),
        // espefuse's burn-key programs the key block, then BLOCK0 for the
        // purpose, then BLOCK0 for the key's protection: the cut lands
        // after the key block, and the client of the resumed run dies after
        // the purpose (the key block already holds the key, it is not
        // programmed again)
        "BurnKey" | "BurnKeyDigest" => ("WRITE_REG:1", Some("EFUSE_PROGRAM:1"), "EFUSE_PROGRAM:1"),
        // one BLOCK0 program, from its 22nd register write (4 timing, 8
        // data, 8 data registers cleared, then the opcode and the command):
        // cut with the data registers half loaded, the client dies before
        // the program
        "BurnEfuse" | "WriteProtect" => ("WRITE_REG:1", Some("WRITE_REG:9"), "WRITE_REG:18"),
        // the table: one data block; the data image: three
        "FlashWrite" if step["file"].as_str().unwrap().ends_with("table.bin") => {
            ("FLASH_BEGIN:1", Some("FLASH_DATA:1"), "FLASH_BEGIN:1")
        }
        "FlashWrite" => ("FLASH_BEGIN:1", Some("FLASH_DATA:2"), "FLASH_DATA:2"),
        other => panic!("no fault points for {other}"),
    }
}

#[test]
fn provision_run_over_a_port_resumes_after_every_fault_at_every_step_and_ends_as_an_uninterrupted_run(
) {
    let b = Bench::new(PLAN, "esp32c3");
    let (reference, full, reference_log) = uninterrupted(&b, "reference");
    let steps = device_steps(&b);
    assert_eq!(full["done"], steps.len(), "{full}");
    assert_eq!(
        reference_log.matches("cmd FLASH_DATA\n").count(),
        4,
        "the write points assume one block for the table and three for the data"
    );

    let dev = b.device("dev");
    let mut log = String::new();
    for (i, step) in steps.iter().enumerate() {
        let (start, cut_inside, kill_inside) = points(step);
        // the port vanishes where the step starts
        log += &cut(&b, &dev, "dev.db", start, Fault::Server);
        if let Some(point) = cut_inside {
            log += &cut(&b, &dev, "dev.db", point, Fault::Server);
        }
        log += &cut(&b, &dev, "dev.db", kill_inside, Fault::Client);
        // the erase before the key is repeated until the key is burned
        let after_erase = i > 0 && steps[i - 1]["type"] == "EraseFlash";
        log += &kill_after(&b, &dev, "dev.db", if after_erase { 2 } else { 1 });
    }
    let served = Served::start(&dev, b.dir(), "download", false);
    let out = run_ok(&mut b.provision(&served.port, "dev.db", &[]));
    log += &served.log();
    drop(served);
    let last = provision_summary(&out.stdout);
    assert_eq!(last["already_done"], steps.len(), "{last}");
    assert_eq!(last["mac"], full["mac"]);

    // the device: byte for byte (the eFuse controller's data registers too:
    // both runs end with the same burn)
    for file in ["flash.bin", "efuse.bin"] {
        assert!(
            std::fs::read(dev.join(file)).unwrap() == std::fs::read(reference.join(file)).unwrap(),
            "{file} differs from the uninterrupted run's"
        );
    }
    // nothing burned twice: the same eFuse programs in the same order
    assert_eq!(burns(&log), burns(&reference_log));

    // the record: outcome, eFuses, keys and firmware as the uninterrupted
    // run's (times, runs and process ids aside)
    let (got, want) = (b.report("dev.db"), b.report("reference.db"));
    for field in [
        "mac",
        "chip",
        "plan_sha256",
        "outcome",
        "efuses",
        "keys",
        "firmware",
    ] {
        assert_eq!(got[0][field], want[0][field], "{field}");
    }
    assert_eq!(got[0]["outcome"], "complete");
    // and no burn journaled done by two runs
    let mut store = Store::open(&b.path("dev.db")).unwrap();
    let runs = got[0]["runs"].as_u64().unwrap();
    let mut done = std::collections::BTreeMap::<usize, u32>::new();
    for run in 1..=runs {
        for s in store.run_steps(i64::try_from(run).unwrap()).unwrap() {
            let burn = matches!(
                s.kind.as_str(),
                "BurnKey" | "BurnKeyDigest" | "BurnEfuse" | "WriteProtect"
            );
            if burn && s.result == "done" {
                *done.entry(s.index).or_default() += 1;
            }
        }
    }
    assert!(
        done.values().all(|n| *n == 1),
        "burns journaled done: {done:?}"
    );
}

/// Regression: espefuse's burn-key programs the key (and its purpose where
/// the chip has one), then the key's read and write protection in a burn of
/// its own; a run cut off between the two was resumed as if the key were
/// burned, leaving the flash-encryption key readable. On the ESP32-C3 the
/// cut follows the purpose (the second program), on the ESP32 and the
/// ESP32-C2, which have no purpose, the key block (the first).
#[test]
fn provision_run_cut_between_a_key_and_its_protection_resumes_to_a_read_protected_key() {
    for (chip, bits, point) in [
        ("esp32c3", 256, "EFUSE_PROGRAM:2"),
        ("esp32c2", 128, "EFUSE_PROGRAM:1"),
        ("esp32", 256, "EFUSE_PROGRAM:1"),
    ] {
        let plan = format!(
            "chip = \"{chip}\"\n[flash_encryption]\nmode = \"release\"\nkey_bits = {bits}\n\
             key_file = \"fe.bin\"\n"
        );
        let b = Bench::new(&plan, chip);
        let (reference, _, reference_log) = uninterrupted(&b, "reference");
        let dev = b.device("dev");
        let mut log = cut(&b, &dev, "dev.db", point, Fault::Server);
        let served = Served::start(&dev, b.dir(), "download", false);
        run_ok(&mut b.provision(&served.port, "dev.db", &[]));
        log += &served.log();
        drop(served);
        assert!(
            std::fs::read(dev.join("efuse.bin")).unwrap()
                == std::fs::read(reference.join("efuse.bin")).unwrap(),
            "{chip}: the eFuses differ from an uninterrupted run's (the key's protection)"
        );
        assert_eq!(burns(&log), burns(&reference_log), "{chip}");
    }
}

/// Regression: a power cut inside the burn of a generated flash-encryption
/// key (the key block programmed, its purpose not) made the resumed run
/// burn a new key over the lost one, which espefuse's check refused with
/// the two keys' OR in the message and the record. The device cannot reach
/// the plan's end: the run says so, with what was burned, and burns nothing.
#[test]
fn provision_run_after_a_cut_inside_a_generated_key_burn_reports_the_stranded_device() {
    let b = Bench::new(&PLAN.replacen("key_file = \"fe.bin\"\n", "", 1), "esp32c3");
    let dev = b.device("dev");
    cut(&b, &dev, "dev.db", "EFUSE_PROGRAM:1", Fault::Server);
    let before = std::fs::read(dev.join("efuse.bin")).unwrap();
    let served = Served::start(&dev, b.dir(), "download", false);
    let out = run_fail(&mut b.provision(&served.port, "dev.db", &[]));
    let log = served.log();
    drop(served);
    assert_one_line_error(
        &out,
        "step 3 (BurnKey): the device cannot reach the plan's end state",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("already burned: BLOCK_KEY0: key data of an unfinished burn-key"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("value will be"),
        "key bits shown: {stderr}"
    );
    assert_eq!(burns(&log), Vec::<String>::new(), "burned after the cut");
    assert!(std::fs::read(dev.join("efuse.bin")).unwrap() == before);
    let report = b.report("dev.db");
    let outcome = report[0]["outcome"].as_str().unwrap();
    assert!(
        outcome.contains("cannot reach the plan's end state") && !outcome.contains("value will be"),
        "{outcome}"
    );
}

/// Regression (fault14): a power cut inside the burn of a key read from the
/// plan's key file, then a run with another key file: the resumed run
/// burned the new key over the half-burned one and espefuse's refusal
/// printed the two keys' OR. The device cannot reach the plan's end: the
/// run names the block, shows no key bits, and burns nothing.
#[test]
fn provision_run_after_a_cut_inside_a_key_burn_with_a_changed_key_file_reports_the_block() {
    let b = Bench::new(PLAN, "esp32c3");
    let dev = b.device("dev");
    cut(&b, &dev, "dev.db", "EFUSE_PROGRAM:1", Fault::Server);
    let before = std::fs::read(dev.join("efuse.bin")).unwrap();
    // the key file changed: every bit the burned key lacks, none it has
    let old = std::fs::read(b.path("fe.bin")).unwrap();
    let new: Vec<u8> = old.iter().map(|x| !x).collect();
    std::fs::write(b.path("fe.bin"), &new).unwrap();
    let served = Served::start(&dev, b.dir(), "download", false);
    let out = run_fail(&mut b.provision(&served.port, "dev.db", &[]));
    let log = served.log();
    drop(served);
    assert_one_line_error(
        &out,
        "step 3 (BurnKey): the device cannot reach the plan's end state",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the key file changed since"), "{stderr}");
    assert!(
        stderr.contains("already burned: BLOCK_KEY0: key data of an unfinished burn-key"),
        "{stderr}"
    );
    // no key bits: neither key, the OR of both, nor espefuse's refusal, in
    // either byte order, on stderr or in the events
    let stdout = String::from_utf8_lossy(&out.stdout);
    let or: Vec<u8> = old.iter().zip(&new).map(|(a, b)| a | b).collect();
    for key in [&old, &new, &or] {
        let mut reversed = key.clone();
        reversed.reverse();
        for bytes in [key, &reversed] {
            let hex: String = bytes.iter().map(|x| format!("{x:02x}")).collect();
            let half = &hex[..16];
            for text in [&stderr, &stdout] {
                assert!(
                    !text.to_lowercase().contains(half),
                    "key bits shown: {text}"
                );
            }
        }
    }
    assert!(!stderr.contains("value will be"), "{stderr}");
    let events = provision_events(&out.stdout);
    let error = events.last().unwrap();
    assert_eq!(
        (&error["event"], &error["step"]),
        (&"error".into(), &3.into())
    );
    // nothing burned, the eFuses as the cut left them
    assert_eq!(burns(&log), Vec::<String>::new(), "burned after the cut");
    assert!(std::fs::read(dev.join("efuse.bin")).unwrap() == before);
}

/// The ESP32-C2's flash-encryption key and Secure Boot digest 0 share
/// BLOCK_KEY0 and one `burn-key-digest … burn-key` burn (seed 003, "For
/// burning both keys together"): cut where that step starts, inside it
/// (after the block's program, before its protection), by a client kill
/// and at the boundary after it, each resumed; the device ends byte for
/// byte as an uninterrupted run leaves it, nothing burned twice, and the
/// pinned espefuse reads the key and the digest in their places.
#[test]
fn provision_run_c2_key_and_digest_in_one_burn_resume_after_every_fault_in_that_burn() {
    let plan = r#"
chip = "esp32c2"
[flash_encryption]
mode = "release"
key_bits = 128
key_file = "fe.bin"
[flash_encryption.final]
efuses = { DIS_DOWNLOAD_ICACHE = true, DIS_DOWNLOAD_MANUAL_ENCRYPT = true }
[secure_boot]
scheme = "ecdsa256"
keys = ["sb.pem"]
[[firmware]]
kind = "partition_table"
file = "table.bin"
address = 0x8000
"#;
    let (b, dev, got) = key_burns_cut_and_resumed(plan, "esp32c2", 1);
    let steps = device_steps(&b);
    let key = steps.iter().find(|s| s["type"] == "BurnKey").unwrap();
    assert!(
        key["with_digest"].is_string(),
        "the key step burns the digest: {key}"
    );
    assert!(!steps.iter().any(|s| s["type"] == "BurnKeyDigest"));

    // the pinned espefuse: the key read-protected in BLOCK_KEY0's low half,
    // the digest it shows in the high half, Secure Boot on
    let mut espefuse = reference_tool!("espefuse");
    let out = run_ok(
        espefuse
            .args(["--chip", "esp32c2", "--virt", "--path-efuse-file"])
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
    assert!(line("SECURE_BOOT_EN").contains("= True"), "{summary}");
    assert!(line("SPI_BOOT_CRYPT_CNT").contains("= Enable"), "{summary}");
    // a block's value is the first line starting with `=` after its name
    let value = |name: &str| {
        summary
            .lines()
            .skip_while(|l| !l.starts_with(name))
            .skip(1)
            .map(str::trim)
            .find(|l| l.starts_with('='))
            .unwrap_or_default()
            .to_owned()
    };
    // the key: unreadable and write-protected
    assert_eq!(
        value("BLOCK_KEY0_LOW_128 "),
        format!("= {}-/-", "?? ".repeat(16)),
        "{summary}"
    );
    // the digest: the first 128 bits of the one recorded, write-protected
    let keys = got[0]["keys"].to_string();
    let digest = keys
        .split("secure boot digest0 sha256:")
        .nth(1)
        .unwrap_or_else(|| panic!("no digest recorded: {keys}"));
    let shown: Vec<String> = digest.as_bytes()[..32]
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    assert_eq!(
        value("BLOCK_KEY0_HI_128 "),
        format!("= {} R/-", shown.join(" ")),
        "{summary}"
    );
}

/// Every fault of [`points`] at each flash-encryption key burn of `plan`
/// on `chip` (`key_burns` of them), one after the other on one device, then
/// a run to the end: the device ends byte for byte as an uninterrupted run
/// leaves it, with the same eFuse programs in the same order and the same
/// record. Returns the bench, the device and its report.
fn key_burns_cut_and_resumed(
    plan: &str,
    chip: &'static str,
    key_burns: usize,
) -> (Bench, PathBuf, serde_json::Value) {
    let b = Bench::new(plan, chip);
    let (reference, full, reference_log) = uninterrupted(&b, "reference");
    let steps = device_steps(&b);
    assert_eq!(full["done"], steps.len(), "{full}");
    let key_steps: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s["type"] == "BurnKey")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(key_steps.len(), key_burns, "{steps:?}");

    let dev = b.device("dev");
    let mut log = String::new();
    for &i in &key_steps {
        let (start, cut_inside, kill_inside) = points(&steps[i]);
        log += &cut(&b, &dev, "dev.db", start, Fault::Server);
        if let Some(point) = cut_inside {
            log += &cut(&b, &dev, "dev.db", point, Fault::Server);
        }
        log += &cut(&b, &dev, "dev.db", kill_inside, Fault::Client);
        // the erase before the key is repeated until the key is burned
        let after_erase = i > 0 && steps[i - 1]["type"] == "EraseFlash";
        log += &kill_after(&b, &dev, "dev.db", if after_erase { 2 } else { 1 });
    }
    let served = Served::start(&dev, b.dir(), "download", false);
    let out = run_ok(&mut b.provision(&served.port, "dev.db", &[]));
    log += &served.log();
    drop(served);
    let last = provision_summary(&out.stdout);
    assert_eq!(last["mac"], full["mac"]);
    assert!(
        last["already_done"].as_u64().unwrap() > u64::try_from(key_steps[key_burns - 1]).unwrap(),
        "{last}"
    );

    for file in ["flash.bin", "efuse.bin"] {
        let (got, want) = (
            std::fs::read(dev.join(file)).unwrap(),
            std::fs::read(reference.join(file)).unwrap(),
        );
        // the register bytes that differ (the file is the image reversed)
        let differ: Vec<String> = got
            .iter()
            .zip(&want)
            .enumerate()
            .filter(|(_, (g, w))| g != w)
            .map(|(i, (g, w))| format!("{:#x}: {g:02x} not {w:02x}", got.len() - 1 - i))
            .collect();
        assert!(
            differ.is_empty() && got.len() == want.len(),
            "{chip}: {file} differs from the uninterrupted run's at {differ:?}\n{log}"
        );
    }
    assert_eq!(burns(&log), burns(&reference_log), "{chip}");
    let (got, want) = (b.report("dev.db"), b.report("reference.db"));
    for field in ["outcome", "efuses", "keys", "firmware"] {
        assert_eq!(got[0][field], want[0][field], "{chip}: {field}");
    }
    (b, dev, got)
}

/// The ESP32-S3's 512-bit key in two blocks, two burns (XTS_AES_256_KEY_1
/// then _2, seed 003's split key): every fault in each burn, resumed, ends
/// as an uninterrupted run, and the pinned espefuse shows both halves
/// unreadable with their purposes.
#[test]
fn provision_run_s3_split_key_resumes_after_every_fault_in_either_half() {
    let plan = r#"
chip = "esp32s3"
[flash_encryption]
mode = "release"
key_bits = 512
key_file = "fe.bin"
[flash_encryption.final]
efuses = { DIS_DOWNLOAD_ICACHE = true, DIS_DOWNLOAD_DCACHE = true }
[[firmware]]
kind = "partition_table"
file = "table.bin"
address = 0x8000
"#;
    let (_b, dev, _) = key_burns_cut_and_resumed(plan, "esp32s3", 2);
    let mut espefuse = reference_tool!("espefuse");
    let out = run_ok(
        espefuse
            .args(["--chip", "esp32s3", "--virt", "--path-efuse-file"])
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
    assert!(
        line("KEY_PURPOSE_0 ").contains("= XTS_AES_256_KEY_1"),
        "{summary}"
    );
    assert!(
        line("KEY_PURPOSE_1 ").contains("= XTS_AES_256_KEY_2"),
        "{summary}"
    );
    assert!(line("SPI_BOOT_CRYPT_CNT").contains("= Enable"), "{summary}");
    let value = |name: &str| {
        summary
            .lines()
            .skip_while(|l| !l.starts_with(name))
            .skip(1)
            .map(str::trim)
            .find(|l| l.starts_with('='))
            .unwrap_or_default()
            .to_owned()
    };
    for block in ["BLOCK_KEY0 ", "BLOCK_KEY1 "] {
        assert_eq!(
            value(block),
            format!("= {}-/-", "?? ".repeat(32)),
            "{block}: {summary}"
        );
    }
}
