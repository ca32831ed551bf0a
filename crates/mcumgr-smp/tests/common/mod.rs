//! Reference tools for the interop tests: the pinned Python venv that
//! `scripts/test` installs (`$ESPBOOT_REFERENCE_BIN`, else the workspace's
//! `.venv/bin`). A missing tool fails the test; only
//! `ESPBOOT_SKIP_INTEROP=1`, set on purpose, skips it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Directory holding the reference tools.
pub fn reference_bin_dir() -> PathBuf {
    match std::env::var_os("ESPBOOT_REFERENCE_BIN") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin"),
    }
}

/// The path of reference tool `name`, or `None` when interop tests are
/// deliberately skipped.
///
/// # Panics
/// When the tool is missing and interop was not skipped.
pub fn reference_tool_path(name: &str) -> Option<PathBuf> {
    if std::env::var("ESPBOOT_SKIP_INTEROP").is_ok_and(|v| v == "1") {
        eprintln!("ESPBOOT_SKIP_INTEROP=1: skipping the {name} interop check");
        return None;
    }
    let path = reference_bin_dir().join(name);
    assert!(
        path.is_file(),
        "reference tool {name} not found at {} (run scripts/test, which installs \
         the pinned tools into .venv/, or set ESPBOOT_SKIP_INTEROP=1 on purpose)",
        path.display()
    );
    Some(path)
}

/// A command for reference tool `name`; returns from the test when interop
/// is skipped.
#[macro_export]
macro_rules! reference_tool {
    ($name:expr) => {
        match $crate::common::reference_tool_path($name) {
            Some(path) => std::process::Command::new(path),
            None => return,
        }
    };
}

/// Runs `cmd` with `stdin`, asserting success; returns stdout.
#[track_caller]
pub fn run_with_input(cmd: &mut Command, stdin: &[u8]) -> String {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin)
            .unwrap_or_else(|e| panic!("writing to {cmd:?}: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
pub mod pty;
