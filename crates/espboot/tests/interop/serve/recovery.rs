//! S1-S10 with smpmgr through MCUboot serial recovery on the recovery
//! PTY, and the boot into the uploaded image afterwards.

use std::path::Path;
use std::process::Command;

use crate::support as common;
use crate::support::serve::{new_device, tool, wait_file_slice, Served};

const PRIMARY: usize = 0x20000;

fn smpmgr(served: &Served, args: &[&str]) -> crate::support::serve::Ran {
    let port = served
        .recovery
        .as_ref()
        .unwrap_or(&served.port)
        .display()
        .to_string();
    let mut all: Vec<String> = vec!["--port".into(), port, "--timeout".into(), "2".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    tool("smpmgr", &all)
}

/// A signed app (`imgtool sign -k KEY -H 32 --pad-header --align 4
/// -S 0x1C0000 -v 1.2.3`, the README's line) for `chip`.
fn signed_app(dir: &Path, key: &Path, chip: &str) -> std::path::PathBuf {
    signed_app_version(dir, key, chip, "1.2.3", "4")
}

/// A signed app of `version` with `--align ALIGN` (32 for flash encryption).
fn signed_app_version(
    dir: &Path,
    key: &Path,
    chip: &str,
    version: &str,
    align: &str,
) -> std::path::PathBuf {
    let raw = dir.join(format!("app-{version}-raw.bin"));
    common::run_ok(
        common::espboot()
            .args([
                "sim",
                "build-app",
                "--target",
                chip,
                "--version",
                version,
                "-o",
            ])
            .arg(&raw),
    );
    let signed = dir.join(format!("app-{version}-signed.bin"));
    let mut args: Vec<String> = vec![
        "sign".into(),
        "-k".into(),
        key.display().to_string(),
        "-H".into(),
        "32".into(),
        "--pad-header".into(),
        "--align".into(),
        align.into(),
    ];
    if align == "32" {
        // imgtool's --max-align takes 8, 16 or 32 only
        args.extend(["--max-align".into(), "32".into()]);
    }
    args.extend([
        "-S".into(),
        "0x1C0000".into(),
        "-v".into(),
        version.into(),
        raw.display().to_string(),
        signed.display().to_string(),
    ]);
    tool("imgtool", &args).ok();
    signed
}

/// A signing key and an ESP32-C3 `DEV` whose bootloader has serial
/// recovery and `extra` configuration.
fn recovery_device(dir: &Path, extra: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = dir.join("root.pem");
    tool(
        "imgtool",
        &[
            "keygen".into(),
            "-t".into(),
            "ecdsa-p256".into(),
            "-k".into(),
            key.display().to_string(),
        ],
    )
    .ok();
    let conf = dir.join("bl.conf");
    std::fs::write(
        &conf,
        format!(
            "CONFIG_ESP_MCUBOOT_SERIAL=y\nCONFIG_ESP_SIGN_EC256=y\nCONFIG_ESP_SIGN_KEY_FILE={}\n{extra}",
            key.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dev = dir.join("c3");
    new_device(&dev, "esp32c3", Some(&conf));
    (key, dev)
}

#[test]
fn s1_s2_s3_s4_s6_recovery_upload_and_boot() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let (key, dev) = recovery_device(dir, "");
    let app = signed_app(dir, &key, "esp32c3");
    let app_bytes = std::fs::read(&app).unwrap_or_default();
    let served = Served::start(&dev, dir, "recovery", true);
    served.wait_log("reset: serial recovery");

    // S1: nothing to list yet; MCUmgr params answered (no 2 s stall).
    let out = smpmgr(&served, &["image", "state-read"]).ok();
    assert!(out.contains("No images on device!"), "{out}");
    // S2: upload lands in the primary slot, saved to flash.bin.
    smpmgr(&served, &["image", "upload", &app.display().to_string()]).ok();
    wait_file_slice(&dev.join("flash.bin"), PRIMARY, &app_bytes);
    let out = smpmgr(&served, &["image", "state-read"]).ok();
    assert!(
        out.contains("slot=0") && out.contains("version='1.2.3'"),
        "{out}"
    );
    // S4: the ESP build has no echo.
    let out = smpmgr(&served, &["os", "echo", "hello"]).ok();
    assert!(out.contains("ENOTSUP"), "{out}");
    // S6 and S3: with the detect pin released, SMP reset boots the image.
    common::run_ok(
        common::espboot()
            .args(["sim", "boot-mode"])
            .arg(&dev)
            .arg("normal"),
    );
    served.wait_log("boot mode: normal");
    let out = smpmgr(&served, &["os", "reset"]).ok();
    assert!(out.contains("EOK"), "{out}");
    served.wait_log("reset: normal boot");
    let log = served.log();
    let boot = log
        .lines()
        .rfind(|l| l.starts_with("reset: normal boot"))
        .unwrap_or_default();
    assert!(
        !boot.contains("no bootable") && !boot.contains("fail"),
        "{log}"
    );
    drop(served);
    let report = common::run_ok(common::espboot().args(["sim", "boot", "--json"]).arg(&dev));
    let json: serde_json::Value =
        serde_json::from_slice(&report.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["booted"], true, "{json}");
}

/// A signed app already in the secondary slot (0x1E0000 on the default
/// ESP32-C3 layout), written as `espboot sim write` does.
fn stage_in_secondary(dev: &Path, app: &Path) {
    common::run_ok(
        common::espboot()
            .args(["sim", "write"])
            .arg(dev)
            .arg("0x1E0000")
            .arg(app),
    );
}

/// The version `espboot sim boot --json` reports running after a boot of
/// `dev` (the server stopped).
fn booted_version(dev: &Path) -> String {
    let report = common::run_ok(common::espboot().args(["sim", "boot", "--json"]).arg(dev));
    let json: serde_json::Value =
        serde_json::from_slice(&report.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["booted"], true, "{json}");
    json.to_string()
}

/// S5 and S8: image state set through `smpmgr image state-write`, on the
/// ESP port's build (no image-state command: ENOTSUP, nothing changes) and
/// on the full build (`CONFIG_ESP_MCUBOOT_SERIAL_FULL`: a permanent
/// upgrade request, `boot_set_pending_multi(0, true)`, which the next boot
/// carries out). smpmgr reads MCUmgr params first: the ESP build answers
/// ENOTSUP, so smpmgr warns and goes on.
#[test]
fn s5_s8_image_state_write_on_the_esp_and_the_full_build() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (build, extra, supported) in [
        ("esp", "", false),
        ("full", "CONFIG_ESP_MCUBOOT_SERIAL_FULL=y\n", true),
    ] {
        let dir = tmp.path().join(build);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let (key, dev) = recovery_device(&dir, extra);
        let old = signed_app_version(&dir, &key, "esp32c3", "1.2.3", "4");
        let new = signed_app_version(&dir, &key, "esp32c3", "2.0.0", "4");
        common::run_ok(
            common::espboot()
                .args(["sim", "write"])
                .arg(&dev)
                .arg("0x20000")
                .arg(&old),
        );
        stage_in_secondary(&dev, &new);
        let served = Served::start(&dev, &dir, "recovery", true);
        served.wait_log("reset: serial recovery");
        let listed = smpmgr(&served, &["image", "state-read"]).ok();
        let write = smpmgr(&served, &["image", "state-write", "--confirm"]);
        let after = smpmgr(&served, &["image", "state-read"]).ok();
        if supported {
            assert_eq!(write.code, 0, "{build}: {}", write.out);
            assert!(!write.out.contains("ENOTSUP"), "{build}: {}", write.out);
            assert!(listed.contains("version='2.0.0'"), "{build}: {listed}");
            let slot1 = after.split("slot=1").nth(1).unwrap_or_default();
            assert!(
                slot1.contains("pending=True") && slot1.contains("permanent=True"),
                "{build}: the secondary is not pending permanently: {after}"
            );
        } else {
            assert!(write.out.contains("ENOTSUP"), "{build}: {}", write.out);
            assert!(!after.contains("pending=True"), "{build}: {after}");
            // S8: the MCUmgr params request is answered ENOTSUP.
            assert!(
                listed.contains("Error reading MCUMgr parameters")
                    || write.out.contains("Error reading MCUMgr parameters"),
                "{build}: {listed}"
            );
        }
        drop(served);
        let running = booted_version(&dev);
        let expected = if supported { "2.0.0" } else { "1.2.3" };
        assert!(running.contains(expected), "{build}: {running}");
    }
}

/// S7: MCUboot drops console lines longer than its 512-byte buffer
/// (`MCUBOOT_SERIAL_MAX_RECEIVE_SIZE`, `boot_serial.c`): smpmgr's
/// `--line-length 512` upload works, `--line-length 600` gets no answer.
/// smpmgr waits 40 s for the first upload reply whatever `--timeout`
/// says, so the 600-byte client is stopped once the server has dropped its
/// line, and must not have finished successfully by then.
#[test]
fn s7_line_length_limit_of_the_recovery_console() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let (key, dev) = recovery_device(dir, "");
    let app = signed_app(dir, &key, "esp32c3");
    let app_bytes = std::fs::read(&app).unwrap_or_default();
    let served = Served::start(&dev, dir, "recovery", true);
    served.wait_log("reset: serial recovery");
    let file = app.display().to_string();
    let port = served.recovery.as_ref().unwrap_or(&served.port);
    let mut long = Command::new(common::reference_bin_dir().join("smpmgr"))
        .arg("--port")
        .arg(port)
        .args([
            "--timeout",
            "2",
            "--line-length",
            "600",
            "--line-buffers",
            "1",
        ])
        .args(["image", "upload", &file])
        .env("COLUMNS", "300")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("smpmgr: {e}"));
    served.wait_log("recovery: input dropped: a line filled the 513-byte receive buffer");
    let finished = long.try_wait().unwrap_or_else(|e| panic!("{e}"));
    let _ = long.kill();
    let _ = long.wait();
    assert!(
        finished.is_none_or(|status| !status.success()),
        "the 600-byte upload succeeded: {finished:?}"
    );
    smpmgr(
        &served,
        &[
            "--line-length",
            "512",
            "--line-buffers",
            "1",
            "image",
            "upload",
            &file,
        ],
    )
    .ok();
    wait_file_slice(&dev.join("flash.bin"), PRIMARY, &app_bytes);
}

/// S10: with flash encryption on, uploads are stored as ciphertext and the
/// device boots them; recovery is served on the console PTY (no
/// --recovery-pty).
#[test]
fn s10_encrypted_device_on_the_console_port() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let (key, dev) = recovery_device(dir, "CONFIG_SECURE_FLASH_ENC_ENABLED=y\n");
    let first = signed_app_version(dir, &key, "esp32c3", "1.0.0", "32");
    common::run_ok(
        common::espboot()
            .args(["sim", "write"])
            .arg(&dev)
            .arg("0x20000")
            .arg(&first),
    );
    // The first boot generates the key, encrypts the flash, burns the counter.
    common::run_ok(common::espboot().args(["sim", "boot"]).arg(&dev));
    let app = signed_app_version(dir, &key, "esp32c3", "2.0.0", "32");
    let app_bytes = std::fs::read(&app).unwrap_or_default();
    let served = Served::start(&dev, dir, "recovery", false);
    served.wait_log("reset: serial recovery");
    smpmgr(&served, &["image", "upload", &app.display().to_string()]).ok();
    let out = smpmgr(&served, &["image", "state-read"]).ok();
    assert!(out.contains("version='2.0.0'"), "{out}");
    common::run_ok(
        common::espboot()
            .args(["sim", "boot-mode"])
            .arg(&dev)
            .arg("normal"),
    );
    served.wait_log("boot mode: normal");
    let out = smpmgr(&served, &["os", "reset"]).ok();
    assert!(out.contains("EOK"), "{out}");
    served.wait_log("reset: normal boot");
    drop(served);
    let flash = std::fs::read(dev.join("flash.bin")).unwrap_or_default();
    let stored = &flash[PRIMARY..PRIMARY + app_bytes.len()];
    assert_ne!(stored, app_bytes.as_slice(), "the slot holds ciphertext");
    let report = common::run_ok(common::espboot().args(["sim", "boot", "--json"]).arg(&dev));
    let json: serde_json::Value =
        serde_json::from_slice(&report.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["booted"], true, "{json}");
    assert!(json.to_string().contains("2.0.0"), "{json}");
}

/// S9: Go mcumgr, when a `mcumgr` binary is on PATH (this machine kind has
/// no Go toolchain; skipped with the reason printed otherwise): image list,
/// windowed upload, reset, with the seed's connection string.
#[test]
fn s9_go_mcumgr_when_installed() {
    if common::interop_skipped() {
        return;
    }
    let Some(mcumgr) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("mcumgr"))
            .find(|p| p.is_file())
    }) else {
        eprintln!("S9 skipped: no `mcumgr` on PATH (Go mcumgr cannot be built on this machine)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let (key, dev) = recovery_device(dir, "");
    let app = signed_app(dir, &key, "esp32c3");
    let app_bytes = std::fs::read(&app).unwrap_or_default();
    let served = Served::start(&dev, dir, "recovery", true);
    served.wait_log("reset: serial recovery");
    let rec = served
        .recovery
        .as_ref()
        .unwrap_or(&served.port)
        .display()
        .to_string();
    let conn = format!("dev={rec},baud=115200,mtu=256");
    let run = |args: &[&str]| {
        let out = Command::new(&mcumgr)
            .args(["--conntype", "serial", "--connstring", &conn])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("mcumgr: {e}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "mcumgr {args:?}: {text}");
        text
    };
    run(&["image", "upload", &app.display().to_string()]);
    wait_file_slice(&dev.join("flash.bin"), PRIMARY, &app_bytes);
    let out = run(&["image", "list"]);
    assert!(
        out.contains("1.2.3") && out.contains("hash: Unavailable"),
        "{out}"
    );
    let out = run(&["reset"]);
    assert!(out.contains("Done"), "{out}");
}
