//! Regression tests, each named after the bug it covers (`regression_<what>`).
//! Interop checks run the pinned reference tools (see `common`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::process::Command;

/// `pem` re-wrapped the way OpenSSL's `-----BEGIN` readers allow and many
/// HSM exports write: 76-column base64, CRLF line ends, text before and
/// after the block.
fn rewrap_76_crlf(pem: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(pem).unwrap();
    let mut out = String::from("Bag Attributes\r\n    friendlyName: exported-key\r\n");
    let mut body = String::new();
    for line in text.lines() {
        if line.starts_with("-----") {
            for chunk in body.as_bytes().chunks(76) {
                out.push_str(std::str::from_utf8(chunk).unwrap());
                out.push_str("\r\n");
            }
            body.clear();
            out.push_str(line);
            out.push_str("\r\n");
        } else {
            body.push_str(line);
        }
    }
    out.push_str("end of export\r\n");
    assert!(out.lines().any(|l| l.len() == 76), "not re-wrapped: {out}");
    out.into_bytes()
}

fn tool(name: &str, dir: &Path) -> Option<Command> {
    let mut cmd = common::reference_tool(name)?;
    cmd.current_dir(dir);
    Some(cmd)
}

fn espboot(dir: &Path, personality: &str) -> Command {
    let mut cmd = common::espboot();
    cmd.current_dir(dir).arg(personality);
    cmd
}

/// A PEM key wrapped at 76 columns worked in `espboot secure` and was
/// refused by `espboot image` (two PEM scanners, one strict). Keys made by
/// the pinned imgtool and espsecure, re-wrapped, must sign and verify in
/// both, and the signatures must verify with the reference tools.
#[test]
fn regression_pem_wrapped_at_76_columns_loads_in_image_and_secure() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some(mut imgtool_keygen) = tool("imgtool", d) else {
        return;
    };
    // imgtool writes PKCS#8, espsecure traditional PKCS#1.
    common::run_ok(imgtool_keygen.args(["keygen", "-t", "ecdsa-p256", "-k", "p256.pem"]));
    common::run_ok(tool("espsecure", d).unwrap().args([
        "generate-signing-key",
        "-v",
        "2",
        "-s",
        "rsa3072",
        "rsa3072.pem",
    ]));
    for key in ["p256", "rsa3072"] {
        let wide = rewrap_76_crlf(&std::fs::read(d.join(format!("{key}.pem"))).unwrap());
        std::fs::write(d.join(format!("{key}-76.pem")), wide).unwrap();
    }
    let mut app = vec![0u8; 32];
    app.extend((0..3000u32).map(|i| (i * 7 + 3) as u8));
    std::fs::write(d.join("app.bin"), &app).unwrap();
    std::fs::write(d.join("data.bin"), &app[..2500]).unwrap();

    // espboot image: sign and verify with the 76-column key; imgtool
    // verifies our image with its own key file, and we verify its image.
    let sign = [
        "sign", "-H", "0x20", "-S", "0x4000", "-v", "1.2.3", "--align", "4",
    ];
    common::run_ok(espboot(d, "image").args(sign).args([
        "-k",
        "p256-76.pem",
        "app.bin",
        "ours.bin",
    ]));
    common::run_ok(espboot(d, "image").args(["verify", "-k", "p256-76.pem", "ours.bin"]));
    common::run_ok(
        tool("imgtool", d)
            .unwrap()
            .args(["verify", "-k", "p256.pem", "ours.bin"]),
    );
    common::run_ok(tool("imgtool", d).unwrap().args(sign).args([
        "-k",
        "p256.pem",
        "app.bin",
        "theirs.bin",
    ]));
    common::run_ok(espboot(d, "image").args(["verify", "-k", "p256-76.pem", "theirs.bin"]));
    // imgtool itself reads the re-wrapped key: refusing it was our bug.
    common::run_ok(
        tool("imgtool", d)
            .unwrap()
            .args(["verify", "-k", "p256-76.pem", "ours.bin"]),
    );

    // espboot secure: both keys (PKCS#8 and PKCS#1) sign and verify; espsecure
    // verifies our blocks with the original files, and we verify its.
    for key in ["p256", "rsa3072"] {
        let wide = format!("{key}-76.pem");
        let ours = format!("sbv2-ours-{key}.bin");
        let theirs = format!("sbv2-theirs-{key}.bin");
        common::run_ok(espboot(d, "secure").args([
            "sign-data",
            "-v",
            "2",
            "-k",
            &wide,
            "-o",
            &ours,
            "data.bin",
        ]));
        common::run_ok(espboot(d, "secure").args([
            "verify-signature",
            "-v",
            "2",
            "-k",
            &wide,
            &ours,
        ]));
        common::run_ok(tool("espsecure", d).unwrap().args([
            "verify-signature",
            "-v",
            "2",
            "-k",
            &format!("{key}.pem"),
            &ours,
        ]));
        common::run_ok(tool("espsecure", d).unwrap().args([
            "sign-data",
            "-v",
            "2",
            "-k",
            &format!("{key}.pem"),
            "-o",
            &theirs,
            "data.bin",
        ]));
        common::run_ok(espboot(d, "secure").args([
            "verify-signature",
            "-v",
            "2",
            "-k",
            &wide,
            &theirs,
        ]));
        common::run_ok(tool("espsecure", d).unwrap().args([
            "verify-signature",
            "-v",
            "2",
            "-k",
            &wide,
            &ours,
        ]));
    }
}

/// The demo wrote `device/flash.bin` and `device.json` in place (open,
/// truncate, write) where every `sim` command replaces them atomically: a
/// save that failed half way left a truncated flash image behind. Run the
/// demo with a file-size limit far below the flash size (a full disk in
/// small): the save must fail and leave no device file, whole or not, and
/// no temporary file.
#[cfg(unix)]
#[test]
fn regression_demo_saves_the_device_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("work");
    // `ulimit -f` counts 512- or 1024-byte blocks: at most 1 MiB either
    // way, below the demo's 4 MiB flash and above its keys and images.
    // SIGXFSZ is ignored (inherited through exec) so an oversized write
    // fails with EFBIG instead of killing the process.
    let out = Command::new("sh")
        .args(["-c", "ulimit -f 1024 && trap '' XFSZ && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_espboot"))
        .args(["demo", "--json", "--target", "esp32c3", "--keep"])
        .arg(&keep)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the demo cannot have saved a 4 MiB flash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let device = keep.join("device");
    for name in ["flash.bin", "device.json"] {
        let file = device.join(name);
        assert!(
            !file.exists(),
            "{name} was left behind ({} bytes)",
            std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0)
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(&device)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with(".espboot-"))
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// issue 15: when the ROM's Secure Boot V2 check refused the bootloader,
/// the report said `secure boot disabled` (JSON `"secure_boot":
/// "disabled"`) right before `secure boot check failed`. Burn
/// SECURE_BOOT_EN under the unsigned bootloader `sim new` flashes: the
/// report must say the check failed, in text and JSON.
#[test]
fn regression_rom_report_does_not_say_disabled_when_the_check_failed() {
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("dev");
    let sim = |args: &[&str]| {
        let mut cmd = common::espboot();
        cmd.arg("sim").args(args);
        cmd
    };
    let devs = dev.to_str().unwrap();
    common::run_ok(&mut sim(&["new", devs, "--target", "esp32c3"]));
    common::run_ok(&mut sim(&[
        "efuse",
        devs,
        "--do-not-confirm",
        "burn-efuse",
        "SECURE_BOOT_EN",
    ]));
    let out = common::run_fail(&mut sim(&["boot", devs]));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stderr.contains("secure boot check failed"), "{stderr}");
    assert!(!stdout.contains("secure boot disabled"), "{stdout}");
    assert!(stdout.contains("secure boot failed"), "{stdout}");
    let out = common::run_fail(&mut sim(&["boot", devs, "--json"]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rom"]["secure_boot"], "failed", "{report}");
}

/// issue 16: a hex key file given as `--config` was quoted whole in the
/// error (key material on the terminal and in logs), and a base64 key was
/// accepted as a `NAME=VALUE` line (its `=` padding). Both are refused,
/// quoting only a short prefix.
#[test]
fn regression_config_errors_do_not_echo_or_accept_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hex_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let base64_key = "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=";
    for (name, key) in [("hex.key", hex_key), ("b64.key", base64_key)] {
        let path = d.join(name);
        std::fs::write(&path, format!("{key}\n")).unwrap();
        let dev = d.join(format!("dev-{name}"));
        let out = common::run_fail(
            common::espboot()
                .args(["sim", "new"])
                .arg(&dev)
                .args(["--target", "esp32c3", "--config"])
                .arg(&path),
        );
        common::assert_one_line_error(&out, &format!("{name}:1"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&key[..8]),
            "the line is recognisable: {stderr}"
        );
        assert!(
            !stderr.contains(&key[..24]),
            "key material echoed: {stderr}"
        );
        assert!(!dev.exists(), "no device from {name}");
    }
}
