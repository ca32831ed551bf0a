//! `espboot flash` / the `esptool.py` name: bad input fails with esptool's
//! message on one line, a non-zero status, and nothing written.
#![allow(clippy::unwrap_used)]

use std::process::Command;

/// A port that does not exist: the pinned esptool's message (its first
/// line) and exit status, as one line.
#[test]
fn missing_port_fails_with_esptools_message_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = dir.path().join("no-such-tty").display().to_string();
    let link = dir.path().join("esptool.py");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let ours = Command::new(&link)
        .args(["--port", &port, "read-mac"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ours.stderr);
    // Run as `esptool.py`, esptool 5.6.0 first warns about the name.
    let mut lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.first().copied(),
        Some("WARNING: DEPRECATED: 'esptool.py' is deprecated. Please use 'esptool' instead. The '.py' suffix will be removed in a future major release."),
        "{stderr}"
    );
    lines.remove(0);
    assert_eq!(lines.len(), 1, "expected one error line: {stderr}");
    assert!(!ours.status.success());
    assert!(
        String::from_utf8_lossy(&ours.stdout).contains(&format!("Serial port {port}:")),
        "{}",
        String::from_utf8_lossy(&ours.stdout)
    );
    let Some(mut esptool) = crate::support::reference_tool("esptool") else {
        return;
    };
    let theirs = esptool
        .args(["--port", &port, "read-mac"])
        .output()
        .unwrap();
    let their_err = String::from_utf8_lossy(&theirs.stderr);
    let first = their_err
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    assert!(
        first.contains("Could not open"),
        "esptool said: {their_err}"
    );
    assert!(
        lines[0].starts_with(first),
        "ours: {}\nesptool's: {first}",
        lines[0]
    );
    assert_eq!(ours.status.code(), theirs.status.code());
    assert!(
        !dir.path().join("no-such-tty").exists(),
        "something was written"
    );
}
