//! The multi-call binary: links named after the reference tools.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn install_links_creates_one_link_per_tool() {
    let dir = tempfile::tempdir().unwrap();
    crate::support::run_ok(
        crate::support::espboot()
            .arg("install-links")
            .arg(dir.path()),
    );
    for name in [
        "imgtool",
        "espsecure",
        "espefuse",
        "esptool",
        "mcumgr",
        "smpmgr",
    ] {
        let link = dir.path().join(name);
        let meta = link.symlink_metadata().unwrap();
        assert!(meta.file_type().is_symlink(), "{name} is not a link");
        // The link answers --help as that tool (clap names the subcommand).
        let out = crate::support::run_ok(Command::new(&link).arg("--help"));
        assert!(!out.stdout.is_empty());
    }
    // The `.py` names are Python scripts (build systems run them with
    // `${PYTHON}`), executable, naming this binary.
    for name in ["imgtool.py", "espsecure.py", "espefuse.py", "esptool.py"] {
        let script = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(script.starts_with("#!/usr/bin/env python3\n"), "{name}");
        assert!(script.contains("os.execv("), "{name}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755, "{name}");
        let out = crate::support::run_ok(Command::new(dir.path().join(name)).arg("--help"));
        assert!(!out.stdout.is_empty(), "{name}");
    }
    // A second run refuses to clobber without --force.
    let out = crate::support::run_fail(
        crate::support::espboot()
            .arg("install-links")
            .arg(dir.path()),
    );
    crate::support::assert_one_line_error(&out, "--force");
    crate::support::run_ok(
        crate::support::espboot()
            .arg("install-links")
            .arg("--force")
            .arg(dir.path()),
    );
}

/// A missing required argument used to print clap's multi-line error and
/// usage; every command-line error is now one line naming the argument.
#[test]
fn regression_missing_argument_is_one_line() {
    let out = crate::support::run_fail(crate::support::espboot().args(["image", "sign", "in.bin"]));
    crate::support::assert_one_line_error(&out, "--slot-size");
    assert_eq!(out.status.code(), Some(2));
    let out = crate::support::run_fail(
        crate::support::espboot().args(["image", "keygen", "-t", "rsa-1024"]),
    );
    crate::support::assert_one_line_error(&out, "--type");
    // Help still prints in full, on stdout, with success.
    let out = crate::support::run_ok(crate::support::espboot().args(["image", "--help"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage:"));
}
