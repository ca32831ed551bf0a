//! The harness: `espboot sim serve` as a child on a temporary PTY path,
//! stopped by its process id when dropped; the pinned clients run against
//! it with a deadline.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support as common;
use crate::support::tool_server::{run_pooled, Request};

/// A running `espboot sim serve`.
pub struct Served {
    child: Child,
    /// UART0's path.
    pub port: PathBuf,
    /// The recovery UART's path, when asked for.
    pub recovery: Option<PathBuf>,
    log: Arc<Mutex<String>>,
}

impl Served {
    /// Starts a server on `dev`, publishing `dir/tty` (and `dir/rec` with
    /// `recovery`), and waits for its `ready` line.
    pub fn start(dev: &Path, dir: &Path, boot: &str, recovery: bool) -> Served {
        Served::start_with(dev, dir, boot, recovery, &[])
    }

    /// As [`Served::start`], with more `sim serve` arguments (a
    /// fault-injection point).
    pub fn start_with(
        dev: &Path,
        dir: &Path,
        boot: &str,
        recovery: bool,
        extra: &[&str],
    ) -> Served {
        let port = dir.join(format!(
            "tty-{}",
            dev.file_name().and_then(|n| n.to_str()).unwrap_or("dev")
        ));
        let rec = recovery.then(|| port.with_extension("rec"));
        let mut cmd = common::espboot();
        cmd.args(["sim", "serve"])
            .arg(dev)
            .arg("--pty")
            .arg(&port)
            .args(["--boot", boot, "--trace"]);
        if let Some(rec) = &rec {
            cmd.arg("--recovery-pty").arg(rec);
        }
        cmd.args(extra);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("sim serve: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("stdout"));
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.starts_with("ready ") {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let mut served = Served {
            child,
            port,
            recovery: rec,
            log,
        };
        if rx.recv_timeout(Duration::from_secs(20)).is_err() {
            let _ = served.child.kill();
            let out = served.child.wait_with_output_stderr();
            panic!("sim serve printed no ready line: {out}");
        }
        served
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until the server's log contains `needle`.
    #[track_caller]
    pub fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "server log lacks {needle:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `needle` stands in the server's log after its first
    /// `from` bytes (a line logged after a given point).
    #[track_caller]
    pub fn wait_log_since(&self, from: usize, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log().get(from..).is_some_and(|l| l.contains(needle)) {
            assert!(
                Instant::now() < deadline,
                "server log lacks {needle:?} after byte {from}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `needle` stands `count` times in the server's log (a
    /// client may exit before the server has read its last request).
    #[track_caller]
    pub fn wait_log_count(&self, needle: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.log().matches(needle).count() < count {
            assert!(
                Instant::now() < deadline,
                "server log lacks {count} of {needle:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(self.log().matches(needle).count(), count, "{}", self.log());
    }

    /// The server's process id (to pause it with SIGSTOP in tests).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port as an argument.
    pub fn port_arg(&self) -> String {
        self.port.display().to_string()
    }
}

trait StderrText {
    fn wait_with_output_stderr(&mut self) -> String;
}

impl StderrText for Child {
    fn wait_with_output_stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut text);
        }
        let _ = self.wait();
        text
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // SIGCONT first (a test may have paused it), then SIGTERM by pid,
        // as a user stops it, then reap.
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
    }
}

/// What a client printed.
pub struct Ran {
    pub code: i32,
    pub out: String,
}

impl Ran {
    #[track_caller]
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "client failed:\n{}", self.out);
        self.out
    }
}

/// Runs a pinned tool with a deadline.
pub fn tool(name: &str, args: &[String]) -> Ran {
    tool_with_input(name, args, None, None)
}

/// Runs a pinned tool with a deadline, `input` on its stdin (empty
/// otherwise) and in `cwd` if given, through this test thread's fork
/// server of the tool ([`run_pooled`]); a run that overruns is killed and
/// fails the test.
pub fn tool_with_input(
    name: &str,
    args: &[String],
    input: Option<&str>,
    cwd: Option<&Path>,
) -> Ran {
    let mut req = Request::new(args).stdin(input.map(str::as_bytes));
    req.cwd = cwd.map(Path::to_path_buf);
    let env = [
        ("COLUMNS", Some("300")),
        ("NO_COLOR", Some("1")),
        ("TERM", Some("dumb")),
    ];
    let out = run_pooled(name, &env, &req, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("{name}: interop tests are skipped"));
    Ran {
        code: out.status.code().unwrap_or(-1),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `esptool --port P --before no-reset --after no-reset [extra] args`.
pub fn esptool(served: &Served, extra: &[&str], args: &[&str]) -> Ran {
    let mut all: Vec<String> = vec![
        "--port".into(),
        served.port_arg(),
        "--before".into(),
        "no-reset".into(),
        "--after".into(),
        "no-reset".into(),
    ];
    all.extend(extra.iter().map(|s| s.to_string()));
    all.extend(args.iter().map(|s| s.to_string()));
    tool("esptool", &all)
}

/// Waits until `file` holds `expected` at `offset` (the server saves when
/// the line goes idle); panics with the first difference otherwise.
#[track_caller]
pub fn wait_file_slice(file: &Path, offset: usize, expected: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let bytes = std::fs::read(file).unwrap_or_default();
        let got = bytes.get(offset..offset + expected.len());
        if got == Some(expected) {
            return;
        }
        if Instant::now() > deadline {
            let first = got
                .map(|g| g.iter().zip(expected).position(|(a, b)| a != b))
                .unwrap_or(None);
            panic!(
                "{} at {offset:#x}: differs (first difference at {first:?}, file {} bytes)",
                file.display(),
                bytes.len()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `a` and `b` have identical contents.
#[track_caller]
pub fn wait_files_equal(a: &Path, b: &Path) {
    let expected = std::fs::read(b).unwrap_or_else(|e| panic!("{}: {e}", b.display()));
    wait_file_slice(a, 0, &expected);
    let len = std::fs::metadata(a).map(|m| m.len()).unwrap_or(0);
    assert_eq!(len, expected.len() as u64);
}

/// Deterministic test data.
pub fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// `espboot sim new DEV --target CHIP [--config FILE]`.
pub fn new_device(dev: &Path, chip: &str, config: Option<&Path>) {
    let mut cmd = common::espboot();
    cmd.args(["sim", "new"]).arg(dev).args(["--target", chip]);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    common::run_ok(&mut cmd);
}

/// Which registers an eFuse file comparison leaves out.
#[derive(Clone, Copy)]
pub enum Twin {
    /// espefuse `--virt` on a copy: it writes the program-data registers
    /// as a port burn does, the timing registers differently.
    Virt,
    /// A device directory: its emulated burn writes neither.
    Directory,
}

/// An eFuse file (the register image reversed byte for byte, serial.md
/// §4.1) with the registers that differ from a `twin`'s after the same
/// burns zeroed (`esp_efuse::backend::{timing_registers,
/// program_data_registers}`).
pub fn efuse_file_masked(chip: &str, twin: Twin, file: &Path) -> Vec<u8> {
    use esp_efuse::backend::{program_data_registers, timing_registers};
    let chip: esp_efuse::Chip = chip.parse().unwrap_or_else(|e| panic!("{chip}: {e}"));
    let mut bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut masked = timing_registers(chip);
    if let Twin::Directory = twin {
        masked.extend(program_data_registers(chip));
    }
    let len = bytes.len();
    for byte in masked.into_iter().flatten() {
        if let Some(b) = len.checked_sub(1 + byte).and_then(|i| bytes.get_mut(i)) {
            *b = 0;
        }
    }
    bytes
}

/// Waits until the served device's eFuse file equals device directory
/// `twin`'s outside the registers only a port burn writes (the server
/// saves when the line goes idle); panics naming the differing register
/// bytes otherwise.
#[track_caller]
pub fn wait_efuse_files_equal(chip: &str, served: &Path, twin: &Path) {
    let expected = efuse_file_masked(chip, Twin::Directory, twin);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = efuse_file_masked(chip, Twin::Directory, served);
        if got == expected {
            return;
        }
        if Instant::now() > deadline {
            let len = got.len();
            let diff: Vec<String> = got
                .iter()
                .zip(&expected)
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .map(|(i, (a, b))| {
                    format!("register byte {:#x}: {a:#04x} != {b:#04x}", len - 1 - i)
                })
                .collect();
            panic!(
                "{chip}: {} differs from {} ({} and {} bytes): {diff:?}",
                served.display(),
                twin.display(),
                len,
                expected.len()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
