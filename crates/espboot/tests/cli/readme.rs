//! The README's Quick start runs as written: every `sh` block of the
//! section, in order, as one script in an empty directory, with a fresh
//! `$HOME` whose `~/.cargo/bin` comes first on `PATH`.
//!
//! Only `cargo` is a stand-in: building is what the test binary already did,
//! so a small `cargo` script on `PATH` accepts exactly the README's
//! `cargo install` line and copies the binary under test where cargo would
//! put it. Everything else is the README's own text.

use std::path::Path;
use std::process::Command;

/// The fenced `sh` blocks of the README section headed `## Quick start`.
fn quick_start_blocks(readme: &str) -> Vec<String> {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Quick start"))
        .expect("README has a Quick start section");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(
        current.is_none(),
        "unterminated code block in the Quick start"
    );
    blocks
}

/// A `cargo` that performs the README's install line with the binary under
/// test and refuses anything else (so a changed install line fails here).
fn fake_cargo(bin_dir: &Path) {
    let script = format!(
        "#!/bin/sh\n\
         [ \"$*\" = 'install --locked --path crates/espboot' ] || \
         {{ echo \"fake cargo: unexpected arguments: $*\" >&2; exit 2; }}\n\
         mkdir -p \"$HOME/.cargo/bin\" && cp '{}' \"$HOME/.cargo/bin/espboot\"\n",
        env!("CARGO_BIN_EXE_espboot")
    );
    let path = bin_dir.join("cargo");
    std::fs::write(&path, script).expect("write fake cargo");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn readme_quick_start_runs_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("read README.md");
    let blocks = quick_start_blocks(&readme);
    assert!(
        blocks.len() >= 5,
        "Quick start has {} sh blocks",
        blocks.len()
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    let tools = tmp.path().join("tools");
    let work = tmp.path().join("work");
    for dir in [&home, &tools, &work] {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    fake_cargo(&tools);

    let script = format!("set -euo pipefail\n{}", blocks.join("\n"));
    let path = format!(
        "{}:{}:/usr/local/bin:/usr/bin:/bin",
        home.join(".cargo/bin").display(),
        tools.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&work)
        .env_clear()
        .env("HOME", &home)
        .env("PATH", path)
        .env("LANG", "C.UTF-8")
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the Quick start failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );

    // The story ends where the README says: after the test upgrade and
    // the confirm, the next power-on boots 2.0.0 from the primary slot
    // without swapping back.
    let after = Command::new(env!("CARGO_BIN_EXE_espboot"))
        .args(["sim", "boot", "dev", "--json"])
        .current_dir(&work)
        .output()
        .expect("run espboot");
    assert!(
        after.status.success(),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    let boot: serde_json::Value = serde_json::from_slice(&after.stdout).expect("JSON report");
    assert_eq!(boot["booted"], true, "{boot}");
    assert_eq!(boot["images"][0]["version"], "2.0.0+0", "{boot}");
    assert_eq!(boot["images"][0]["slot"], "primary", "{boot}");
    assert_eq!(boot["swap"], "none", "{boot}");
    for file in [
        "signing-key.pem",
        "app-signed.bin",
        "app-v2-signed.bin",
        "bootloader-enc.bin",
        "digest.bin",
        "efuse.bin",
        "dev/flash.bin",
    ] {
        assert!(work.join(file).is_file(), "{file} was not made");
    }
}
