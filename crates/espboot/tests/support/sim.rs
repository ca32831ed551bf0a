//! Shared helpers of the `sim_*` tests: an image maker backed by imgtool
//! itself, served by ONE long-lived Python process per test binary (each
//! image is one `imgtool sign` command line run in-process through imgtool's
//! click entry point, so hundreds of images cost one interpreter start).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use espboot_sim::scenario::{CachedMaker, ImageMaker, ImageSpec};

/// Reads one JSON argument vector per line, runs `imgtool <args>` with
/// imgtool's own stdout sent to stderr, answers `ok` or `err <reason>`.
const SERVER: &str = r#"
import sys, json, contextlib
from imgtool.main import imgtool
out = sys.stdout
for line in sys.stdin:
    args = json.loads(line)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            imgtool.main(args=args, standalone_mode=False)
        out.write("ok\n")
    except BaseException as e:
        out.write("err " + repr(e).replace("\n", " ") + "\n")
    out.flush()
"#;

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// Images signed by the real imgtool (hash only, `-H 32 --pad-header`).
pub struct Imgtool {
    server: Mutex<Server>,
    dir: tempfile::TempDir,
    counter: std::sync::atomic::AtomicU64,
}

impl Drop for Imgtool {
    fn drop(&mut self) {
        if let Ok(s) = self.server.get_mut() {
            let _ = s.child.kill();
            let _ = s.child.wait();
        }
    }
}

impl Imgtool {
    fn start(python: PathBuf) -> Self {
        let mut child = Command::new(python)
            .args(["-c", SERVER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start the imgtool python server");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            server: Mutex::new(Server {
                child,
                stdin,
                stdout,
            }),
            dir: tempfile::tempdir().expect("tempdir"),
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Runs one imgtool command line in the server.
    pub fn run(&self, args: &[String]) -> Result<(), String> {
        let mut s = self.server.lock().map_err(|_| "server lock poisoned")?;
        let line = serde_json::to_string(args).map_err(|e| e.to_string())?;
        writeln!(s.stdin, "{line}").map_err(|e| e.to_string())?;
        s.stdin.flush().map_err(|e| e.to_string())?;
        let mut answer = String::new();
        s.stdout.read_line(&mut answer).map_err(|e| e.to_string())?;
        match answer.trim_end() {
            "ok" => Ok(()),
            other => Err(format!("imgtool {}: {other}", args.join(" "))),
        }
    }
}

impl ImageMaker for Imgtool {
    fn name(&self) -> &str {
        "imgtool"
    }

    fn make(&self, spec: &ImageSpec) -> Result<Vec<u8>, String> {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let input = self.dir.path().join(format!("payload-{n}.bin"));
        let output = self.dir.path().join(format!("image-{n}.bin"));
        std::fs::write(&input, spec.payload()).map_err(|e| e.to_string())?;
        let mut args: Vec<String> = [
            "sign",
            "--version",
            &spec.version,
            "-H",
            "32",
            "--pad-header",
            // A large slot: the scenarios check sizes against the
            // bootloader, not against imgtool.
            "-S",
            "0x1000000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(c) = spec.security_counter {
            args.extend(["-s".to_string(), c.to_string()]);
        }
        if !spec.dependencies.is_empty() {
            let deps: Vec<String> = spec
                .dependencies
                .iter()
                .map(|(id, v)| format!("({id},{v})"))
                .collect();
            args.extend(["-d".to_string(), deps.join(",")]);
        }
        args.push(input.display().to_string());
        args.push(output.display().to_string());
        self.run(&args)?;
        let bytes = std::fs::read(&output).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(&input);
        let _ = std::fs::remove_file(&output);
        Ok(bytes)
    }
}

/// The imgtool maker of this test binary, or `None` when interop tests are
/// deliberately skipped (ESPBOOT_SKIP_INTEROP=1). A missing imgtool fails.
pub fn imgtool() -> Option<&'static CachedMaker<Imgtool>> {
    static MAKER: OnceLock<CachedMaker<Imgtool>> = OnceLock::new();
    if crate::support::interop_skipped() {
        return None;
    }
    Some(MAKER.get_or_init(|| {
        let dir = crate::support::reference_bin_dir();
        assert!(
            dir.join("imgtool").is_file(),
            "reference tool imgtool not found in {} (run scripts/test)",
            dir.display()
        );
        CachedMaker::new(Imgtool::start(dir.join("python")))
    }))
}
