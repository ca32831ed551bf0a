//! The README's `sim serve` example runs as written, with the binary under
//! test and the pinned esptool first on `PATH`, in an empty directory.

use std::process::Command;

use crate::support as common;

#[test]
fn readme_sim_serve_example_runs_as_written() {
    if common::interop_skipped() {
        return;
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .unwrap_or_else(|e| panic!("README.md: {e}"));
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("The virtual chip on a serial line"))
        .unwrap_or_else(|| panic!("README has no sim serve section"));
    let script: String = section
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(script.contains("sim serve"), "{script}");
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), bin.join("espboot"))
        .unwrap_or_else(|e| panic!("{e}"));
    let path = format!(
        "{}:{}:{}",
        bin.display(),
        common::reference_bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap_or_else(|e| panic!("{e}"));
    // a failing step must not leave the server running: the shell stops
    // its background jobs (by their process ids) whenever it exits
    let script = format!("trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{script}");
    let out = common::run_ok(
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(&work)
            .env("PATH", path),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ready esp-tty"), "{text}");
    assert!(text.contains("Hash of data verified."), "{text}");
    // the server stopped and removed its link
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while work.join("esp-tty").symlink_metadata().is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the link outlived the server"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
