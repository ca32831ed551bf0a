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

/// One run's exit status, streams (the run's directory written as `<dir>`)
/// and the bytes of the files it was to write.
type Outcome = (Option<i32>, String, String, Vec<Option<Vec<u8>>>);

fn outcome(mut cmd: Command, dir: &Path, files: &[&str]) -> Outcome {
    let out = cmd.current_dir(dir).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).replace(&dir.display().to_string(), "<dir>");
    (
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr),
        files
            .iter()
            .map(|f| std::fs::read(dir.join(f)).ok())
            .collect(),
    )
}

/// The shim package installed for real, as the README says: a fresh venv
/// (made by the reference environment's Python, with the pip it bundles),
/// `pip install` of `python/` offline (no index; the package's own build
/// backend needs nothing, not even setuptools), then every form it
/// provides, run from that venv with no PYTHONPATH: `python -m espsecure`,
/// `-m espefuse`, `-m esptool`, `-m imgtool`, `-m imgtool.main` and the
/// console scripts. Each must behave as the espboot binary run directly
/// under the tool's name (exit status, streams, files written).
#[test]
fn python_shims_installed_in_a_fresh_venv_run_espboot() {
    let Some(mut py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("venv");
    crate::support::run_ok(py.arg("-m").arg("venv").arg(&venv));
    let vbin = venv.join("bin");
    crate::support::run_ok(
        Command::new(vbin.join("python"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PIP_NO_INDEX", "1")
            .env_remove("PYTHONPATH")
            .args([
                "-m",
                "pip",
                "install",
                "--no-index",
                "--no-build-isolation",
                "--disable-pip-version-check",
                "--quiet",
            ])
            .arg(shim_dir()),
    );
    let links = links(tmp.path());
    // the same inputs in two directories: one for the venv's forms, one
    // for the binary run directly
    let (via, direct) = (tmp.path().join("via"), tmp.path().join("direct"));
    for dir in [&via, &direct] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("data.bin"), pattern(5000, 8)).unwrap();
        std::fs::write(dir.join("app.bin"), pattern(3000, 5)).unwrap();
    }
    crate::support::run_ok(
        Command::new(links.join("espsecure"))
            .current_dir(&via)
            .args(["generate-signing-key", "-v", "1", "v1.pem"]),
    );
    std::fs::copy(via.join("v1.pem"), direct.join("v1.pem")).unwrap();

    // (how the venv runs it, the tool, its arguments, the files it writes)
    enum Form {
        Module(&'static str),
        Script(&'static str),
    }
    let sign_data: &[&str] = &[
        "sign-data",
        "-v",
        "1",
        "-k",
        "v1.pem",
        "-o",
        "signed.bin",
        "data.bin",
    ];
    let verify_unsigned: &[&str] = &["verify-signature", "-v", "1", "-k", "v1.pem", "data.bin"];
    let summary: &[&str] = &["--virt", "-c", "esp32c3", "summary"];
    let sign: &[&str] = &[
        "sign",
        "-v",
        "1.2.3",
        "-H",
        "0x20",
        "--pad-header",
        "-S",
        "0x10000",
        "app.bin",
        "signed.img",
    ];
    let cases: &[(Form, &str, &[&str], &[&str])] = &[
        (
            Form::Module("espsecure"),
            "espsecure",
            sign_data,
            &["signed.bin"],
        ),
        (
            Form::Script("espsecure"),
            "espsecure",
            sign_data,
            &["signed.bin"],
        ),
        // a failure keeps its exit status and text
        (Form::Module("espsecure"), "espsecure", verify_unsigned, &[]),
        (Form::Module("espefuse"), "espefuse", summary, &[]),
        (Form::Script("espefuse"), "espefuse", summary, &[]),
        (Form::Module("esptool"), "esptool", &["version"], &[]),
        (Form::Script("esptool"), "esptool", &["version"], &[]),
        (Form::Module("imgtool"), "imgtool", sign, &["signed.img"]),
        (
            Form::Module("imgtool.main"),
            "imgtool",
            sign,
            &["signed.img"],
        ),
        (Form::Script("imgtool"), "imgtool", sign, &["signed.img"]),
    ];
    let mut failed = 0;
    for (form, tool, args, files) in cases {
        for dir in [&via, &direct] {
            for f in *files {
                let _ = std::fs::remove_file(dir.join(f));
            }
        }
        let mut ours = match form {
            Form::Module(m) => {
                let mut c = Command::new(vbin.join("python"));
                c.arg("-m").arg(m);
                c
            }
            Form::Script(s) => Command::new(vbin.join(s)),
        };
        ours.env("ESPBOOT", env!("CARGO_BIN_EXE_espboot"))
            .env_remove("PYTHONPATH")
            .env("COLUMNS", "80")
            .args(*args);
        let mut plain = Command::new(links.join(tool));
        plain.env("COLUMNS", "80").args(*args);
        let (theirs, mine) = (outcome(plain, &direct, files), outcome(ours, &via, files));
        let what = match form {
            Form::Module(m) => format!("python -m {m} {}", args.join(" ")),
            Form::Script(s) => format!("{s} (console script) {}", args.join(" ")),
        };
        assert_eq!(
            theirs, mine,
            "{what}: the binary (left) and the installed shim differ"
        );
        assert!(
            files.iter().all(|f| via.join(f).is_file()),
            "{what}: wrote nothing"
        );
        failed += usize::from(mine.0 != Some(0));
    }
    // only the verification of unsigned data fails
    assert_eq!(failed, 1);
    // the modules ran from the venv, not from the source tree
    let origin = crate::support::run_ok(
        Command::new(vbin.join("python"))
            .env_remove("PYTHONPATH")
            .current_dir(tmp.path())
            .args(["-c", "import espboot_shims; print(espboot_shims.__file__)"]),
    );
    assert!(
        String::from_utf8_lossy(&origin.stdout).starts_with(&venv.display().to_string()),
        "{}",
        String::from_utf8_lossy(&origin.stdout)
    );
}
