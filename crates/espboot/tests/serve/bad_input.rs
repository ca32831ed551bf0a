//! Bad input: one clear line, nothing started, the device untouched.

use crate::common;
use crate::harness::{new_device, Served};

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
