//! Regression tests, each named after the bug it covers (`regression_<what>`).
//! Interop checks run the pinned reference tools (see `common`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod support;

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
    let mut cmd = support::reference_tool(name)?;
    cmd.current_dir(dir);
    Some(cmd)
}

fn espboot(dir: &Path, personality: &str) -> Command {
    let mut cmd = support::espboot();
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
    support::run_ok(imgtool_keygen.args(["keygen", "-t", "ecdsa-p256", "-k", "p256.pem"]));
    support::run_ok(tool("espsecure", d).unwrap().args([
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
    support::run_ok(espboot(d, "image").args(sign).args([
        "-k",
        "p256-76.pem",
        "app.bin",
        "ours.bin",
    ]));
    support::run_ok(espboot(d, "image").args(["verify", "-k", "p256-76.pem", "ours.bin"]));
    support::run_ok(
        tool("imgtool", d)
            .unwrap()
            .args(["verify", "-k", "p256.pem", "ours.bin"]),
    );
    support::run_ok(tool("imgtool", d).unwrap().args(sign).args([
        "-k",
        "p256.pem",
        "app.bin",
        "theirs.bin",
    ]));
    support::run_ok(espboot(d, "image").args(["verify", "-k", "p256-76.pem", "theirs.bin"]));
    // imgtool itself reads the re-wrapped key: refusing it was our bug.
    support::run_ok(
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
        support::run_ok(espboot(d, "secure").args([
            "sign-data",
            "-v",
            "2",
            "-k",
            &wide,
            "-o",
            &ours,
            "data.bin",
        ]));
        support::run_ok(espboot(d, "secure").args([
            "verify-signature",
            "-v",
            "2",
            "-k",
            &wide,
            &ours,
        ]));
        support::run_ok(tool("espsecure", d).unwrap().args([
            "verify-signature",
            "-v",
            "2",
            "-k",
            &format!("{key}.pem"),
            &ours,
        ]));
        support::run_ok(tool("espsecure", d).unwrap().args([
            "sign-data",
            "-v",
            "2",
            "-k",
            &format!("{key}.pem"),
            "-o",
            &theirs,
            "data.bin",
        ]));
        support::run_ok(espboot(d, "secure").args([
            "verify-signature",
            "-v",
            "2",
            "-k",
            &wide,
            &theirs,
        ]));
        support::run_ok(tool("espsecure", d).unwrap().args([
            "verify-signature",
            "-v",
            "2",
            "-k",
            &wide,
            &ours,
        ]));
    }
}

/// Issue 11: through the `espsecure` name a fatal error is espsecure's
/// `A fatal error occurred: <message>` with exit status 2, not espboot's
/// `error: ...` with exit 1; compared with the pinned espsecure.
#[test]
fn regression_espsecure_fatal_error_exits_2_with_its_prefix() {
    let Some(mut reference) = support::reference_tool("espsecure") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.bin"), [0x5a_u8; 100]).unwrap();
    let link = dir.path().join("espsecure");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let args = ["signature-info-v2", "data.bin"];
    let theirs = reference
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let ours = Command::new(&link)
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(theirs.status.code(), Some(2));
    assert_eq!(ours.status.code(), theirs.status.code());
    assert_eq!(ours.stdout, theirs.stdout);
    assert_eq!(
        String::from_utf8_lossy(&ours.stderr),
        String::from_utf8_lossy(&theirs.stderr)
    );
}
