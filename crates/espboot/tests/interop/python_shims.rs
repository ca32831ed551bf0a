//! The names build systems call through Python: `${PYTHON} imgtool.py …`
//! (Zephyr, NCS), `python -m espsecure …` and `python -m espefuse …`
//! (ESP-IDF). `install-links` writes the `.py` scripts; the `python/`
//! package provides the `-m` modules. Each form must reach espboot's
//! personality and behave as the pinned tool does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::secure::pattern;

/// The reference environment's Python (the one the pinned tools run in).
fn python() -> Option<Command> {
    crate::support::reference_tool("python")
}

/// `python/` of the repository: the shim package.
fn shim_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../python")
}

/// `espboot install-links` into `dir/bin`.
fn links(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    crate::support::run_ok(crate::support::espboot().arg("install-links").arg(&bin));
    bin
}

/// `python -m MODULE args…` with the shim package first on the path.
fn python_m(cwd: &Path, module: &str, args: &[&str]) -> Option<Output> {
    let mut cmd = python()?;
    cmd.current_dir(cwd)
        .env("PYTHONPATH", shim_dir())
        .env("ESPBOOT", env!("CARGO_BIN_EXE_espboot"))
        .env("COLUMNS", "80")
        .arg("-m")
        .arg(module)
        .args(args);
    Some(cmd.output().unwrap())
}

fn same_run(what: &str, theirs: &Output, ours: &Output) {
    assert_eq!(
        (
            theirs.status.code(),
            String::from_utf8_lossy(&theirs.stdout),
            String::from_utf8_lossy(&theirs.stderr)
        ),
        (
            ours.status.code(),
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&ours.stderr)
        ),
        "{what}: the pinned tool (left) and the Python form of espboot (right) differ"
    );
}

#[test]
fn python_imgtool_py_sign_writes_imgtools_image() {
    let Some(mut py) = python() else { return };
    let mut imgtool = reference_tool!("imgtool");
    let tmp = tempfile::tempdir().unwrap();
    let bin = links(tmp.path());
    std::fs::write(tmp.path().join("app.bin"), pattern(3000, 5)).unwrap();
    let sign = |out: &str| {
        [
            "sign",
            "-v",
            "1.2.3",
            "-H",
            "0x20",
            "--pad-header",
            "-S",
            "0x10000",
            "--pad",
            "app.bin",
            out,
        ]
        .map(str::to_owned)
    };
    let theirs = imgtool
        .current_dir(tmp.path())
        .args(sign("theirs.bin"))
        .output()
        .unwrap();
    let ours = py
        .current_dir(tmp.path())
        .arg(bin.join("imgtool.py"))
        .args(sign("ours.bin"))
        .output()
        .unwrap();
    same_run("python imgtool.py sign", &theirs, &ours);
    assert!(ours.status.success());
    assert_eq!(
        std::fs::read(tmp.path().join("theirs.bin")).unwrap(),
        std::fs::read(tmp.path().join("ours.bin")).unwrap()
    );
}

#[test]
fn python_dash_m_espsecure_sign_data_matches_espsecure() {
    let mut espsecure = reference_tool!("espsecure");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("data.bin"), pattern(5000, 8)).unwrap();
    crate::support::run_ok(
        crate::support::reference_tool("espsecure")
            .unwrap()
            .current_dir(dir)
            .args(["generate-signing-key", "-v", "1", "v1.pem"]),
    );
    // Secure Boot V1 signatures are deterministic: bytes compare.
    let args = |out: &str| {
        [
            "sign-data",
            "-v",
            "1",
            "-k",
            "v1.pem",
            "-o",
            out,
            "data.bin",
        ]
        .map(str::to_owned)
    };
    let theirs = espsecure
        .current_dir(dir)
        .env("COLUMNS", "80")
        .args(args("theirs.bin"))
        .output()
        .unwrap();
    let Some(ours) = python_m(
        dir,
        "espsecure",
        &args("ours.bin").each_ref().map(String::as_str),
    ) else {
        return;
    };
    let ours_text = String::from_utf8_lossy(&ours.stdout).replace("ours.bin", "theirs.bin");
    assert_eq!(
        String::from_utf8_lossy(&theirs.stdout),
        ours_text,
        "stdout differs"
    );
    assert_eq!(theirs.status.code(), ours.status.code());
    assert!(ours.status.success(), "{ours:?}");
    assert_eq!(
        std::fs::read(dir.join("theirs.bin")).unwrap(),
        std::fs::read(dir.join("ours.bin")).unwrap()
    );
    // A failure keeps espsecure's exit status and text through Python.
    let bad = ["verify-signature", "-v", "1", "-k", "v1.pem", "data.bin"];
    let theirs = crate::support::reference_tool("espsecure")
        .unwrap()
        .current_dir(dir)
        .args(bad)
        .output()
        .unwrap();
    same_run(
        "python -m espsecure verify-signature",
        &theirs,
        &python_m(dir, "espsecure", &bad).unwrap(),
    );
}

#[test]
fn python_dash_m_espefuse_summary_matches_espefuse() {
    let mut espefuse = reference_tool!("espefuse");
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--virt", "--chip", "esp32c3", "summary"];
    let theirs = espefuse
        .current_dir(tmp.path())
        .env("COLUMNS", "80")
        .args(args)
        .output()
        .unwrap();
    let Some(ours) = python_m(tmp.path(), "espefuse", &args) else {
        return;
    };
    assert!(ours.status.success(), "{ours:?}");
    assert_eq!(
        String::from_utf8_lossy(&theirs.stdout),
        String::from_utf8_lossy(&ours.stdout)
    );
}

/// espsecure/espefuse/esptool warn when run under their `.py` names; the
/// scripts `install-links` writes are run as Python and directly.
#[test]
fn regression_py_names_warn_like_the_tools() {
    let Some(mut py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bin = links(tmp.path());
    let reference = crate::support::reference_bin_dir();
    let key = tmp.path().join("k.pem");
    crate::support::run_ok(
        crate::support::reference_tool("espsecure")
            .unwrap()
            .args(["generate-signing-key", "-v", "2", "-s", "ecdsa256"])
            .arg(&key),
    );
    let out = |name: &str| {
        [
            "digest-sbv2-public-key".to_owned(),
            "-k".to_owned(),
            key.display().to_string(),
            "-o".to_owned(),
            tmp.path().join(name).display().to_string(),
        ]
    };
    let theirs = Command::new(reference.join("espsecure.py"))
        .args(out("theirs.bin"))
        .output()
        .unwrap();
    let direct = Command::new(bin.join("espsecure.py"))
        .args(out("direct.bin"))
        .output()
        .unwrap();
    let via_python = py
        .arg(bin.join("espsecure.py"))
        .args(out("python.bin"))
        .output()
        .unwrap();
    for ours in [&direct, &via_python] {
        assert_eq!(theirs.status.code(), ours.status.code());
        assert_eq!(
            String::from_utf8_lossy(&theirs.stderr),
            String::from_utf8_lossy(&ours.stderr)
        );
    }
    assert!(String::from_utf8_lossy(&direct.stderr).contains("'espsecure.py' is deprecated"));
    for name in ["direct.bin", "python.bin"] {
        assert_eq!(
            std::fs::read(tmp.path().join("theirs.bin")).unwrap(),
            std::fs::read(tmp.path().join(name)).unwrap()
        );
    }
}
