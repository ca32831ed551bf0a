//! `espboot sim serve` without reference tools: bad input (one clear
//! line, nothing started, the device untouched) and the boot log on the
//! console. The client-driven tests are in `interop/serve`.

use crate::support as common;
use crate::support::serve::{new_device, Served};

#[test]
fn missing_device_taken_path_and_second_server() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let port = dir.join("tty");
    // a missing device
    let out = common::run_fail(
        common::espboot()
            .args(["sim", "serve"])
            .arg(dir.join("nope"))
            .arg("--pty")
            .arg(&port),
    );
    common::assert_one_line_error(&out, "nope");
    assert!(!port.exists());
    // a path that exists and is not ours
    let dev = dir.join("c3");
    new_device(&dev, "esp32c3", None);
    let before = std::fs::read(dev.join("flash.bin")).unwrap_or_default();
    std::fs::write(&port, b"mine").unwrap_or_else(|e| panic!("{e}"));
    let out = common::run_fail(
        common::espboot()
            .args(["sim", "serve"])
            .arg(&dev)
            .arg("--pty")
            .arg(&port),
    );
    common::assert_one_line_error(&out, "--pty");
    assert_eq!(std::fs::read(&port).unwrap_or_default(), b"mine");
    std::fs::remove_file(&port).unwrap_or_else(|e| panic!("{e}"));
    // a second server on the same device
    let served = Served::start(&dev, dir, "download", false);
    let out = common::run_fail(
        common::espboot()
            .args(["sim", "serve"])
            .arg(&dev)
            .arg("--pty")
            .arg(dir.join("tty2")),
    );
    common::assert_one_line_error(&out, "already served");
    assert!(!dir.join("tty2").exists());
    // the server holds the device: a `sim` command waits, then refuses
    // rather than writing flash under it
    std::fs::write(dir.join("blob.bin"), [0x5a; 64]).unwrap_or_else(|e| panic!("{e}"));
    let out = common::run_fail(
        common::espboot()
            .args(["sim", "write", "--force"])
            .arg(&dev)
            .arg("0x10000")
            .arg(dir.join("blob.bin")),
    );
    common::assert_one_line_error(&out, "in use by another process");
    // boot-mode without a server
    drop(served);
    let out = common::run_fail(
        common::espboot()
            .args(["sim", "boot-mode"])
            .arg(&dev)
            .arg("normal"),
    );
    common::assert_one_line_error(&out, "no `espboot sim serve`");
    assert_eq!(
        std::fs::read(dev.join("flash.bin")).unwrap_or_default(),
        before
    );
    assert!(!dev.join("serve.lock").exists());
}

/// The console of a normal boot: the ROM banner, then MCUboot's lines.
#[test]
fn boot_log_on_the_console() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let dev = dir.join("c3");
    new_device(&dev, "esp32c3", None);
    let served = Served::start(&dev, dir, "download", false);
    // A reader on the port, as `cat PTY` would be.
    let port = std::fs::File::open(&served.port).unwrap_or_else(|e| panic!("{e}"));
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut text = Vec::new();
        let mut buf = [0u8; 4096];
        let mut port = port;
        while !String::from_utf8_lossy(&text).contains("MCUboot") || !text.ends_with(b"\r\n") {
            match port.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => text.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&text).into_owned()
    });
    common::run_ok(
        common::espboot()
            .args(["sim", "boot-mode"])
            .arg(&dev)
            .args(["normal", "--reset"]),
    );
    served.wait_log("reset: normal boot");
    let text = reader.join().unwrap_or_else(|_| panic!("reader"));
    assert!(
        text.starts_with("ESP-ROM:esp32c3-api1-20210207\r\n"),
        "{text:?}"
    );
    assert!(
        text.contains("[esp32c3] [INF] *** Booting MCUboot"),
        "{text:?}"
    );
    assert!(
        text.contains("[esp32c3] [INF] ROM: bootloader at 0x0"),
        "{text:?}"
    );
}
