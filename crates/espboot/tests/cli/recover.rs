//! `espboot recover` and the `mcumgr` / `smpmgr` links against a scripted
//! device: a device that stops answering mid-upload fails in one line
//! naming the port and the operation, never reporting success; offsets the
//! device sends back (alignment trimming, a stale offset) are followed,
//! and garbage or a bad CRC on the line is skipped.

use std::process::Command;

use crate::support as common;
use crate::support::serve::data;
use crate::support::smp_fake::{FakeDevice, Script};

fn links(dir: &std::path::Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    common::run_ok(common::espboot().arg("install-links").arg(&bin));
    bin
}

#[test]
fn upload_to_a_device_that_stops_answering_fails_in_one_line() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let image = tmp.path().join("app.bin");
    std::fs::write(&image, data(30_000, 7)).unwrap_or_else(|e| panic!("{e}"));
    let image_arg = image.display().to_string();
    let bin = links(tmp.path());

    let device = FakeDevice::start(Script {
        align: 4,
        silent_after: Some(5),
        ..Script::default()
    });
    let port = device.port();
    let out = common::run_fail(common::espboot().args([
        "recover",
        "-p",
        &port,
        "--timeout",
        "0.3",
        "--tries",
        "2",
        "upload",
        &image_arg,
    ]));
    common::assert_one_line_error(&out, &port);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("image upload: no reply from the device (2 tries"),
        "{err}"
    );
    assert!(err.contains("of 30000 bytes"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // five answered, then the same chunk asked twice
    let seen = device.seen.lock().map(|s| s.offsets.len()).unwrap_or(0);
    assert!(seen >= 5, "{seen}");
    drop(device);

    // the mcumgr link: its error line, no "Done", non-zero exit
    let device = FakeDevice::start(Script {
        align: 4,
        silent_after: Some(3),
        ..Script::default()
    });
    let port = device.port();
    let out = common::run_fail(
        Command::new(bin.join("mcumgr"))
            .args(["--conntype", "serial", "--connstring"])
            .arg(format!("dev={port},baud=115200,mtu=256"))
            .args(["-t", "0.3", "image", "upload", &image_arg]),
    );
    common::assert_one_line_error(&out, &port);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("Error: ") && err.contains("image upload"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Done"));
    drop(device);

    // the smpmgr link: exit 1, no success line
    let device = FakeDevice::start(Script {
        align: 4,
        silent_after: Some(2),
        ..Script::default()
    });
    let port = device.port();
    let out = common::run_fail(Command::new(bin.join("smpmgr")).args([
        "--port",
        &port,
        "--timeout",
        "0.3",
        "image",
        "upload",
        "--format",
        "any",
        &image_arg,
    ]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&port) && err.contains("image upload"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("100.0%"));
}

#[test]
fn upload_follows_the_devices_offsets_through_noise() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let payload = data(9_001, 11);
    let image = tmp.path().join("app.bin");
    std::fs::write(&image, &payload).unwrap_or_else(|e| panic!("{e}"));
    // flash encryption's 32-byte writes: every chunk is trimmed and resent
    // from where the device says; one stale offset; garbage and a bad CRC
    let device = FakeDevice::start(Script {
        align: 32,
        stale_at: Some(3),
        noise_at: Some(6),
        ..Script::default()
    });
    let port = device.port();
    let out = common::run_ok(common::espboot().args([
        "recover",
        "-p",
        &port,
        "--timeout",
        "1",
        "upload",
        &image.display().to_string(),
    ]));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Uploaded"));
    let seen = device.seen.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(seen.image, payload);
    // the stale reply made the client send that chunk once more
    let resent = seen.offsets.windows(2).filter(|w| w[1] <= w[0]).count();
    assert_eq!(resent, 1, "{:?}", seen.offsets);
    assert!(
        seen.offsets.iter().all(|o| o % 32 == 0),
        "{:?}",
        seen.offsets
    );
}

#[test]
fn missing_port_and_bad_mtu_are_one_line() {
    let out =
        common::run_fail(common::espboot().args(["recover", "-p", "/nonexistent/tty", "list"]));
    common::assert_one_line_error(&out, "/nonexistent/tty");
    let out = common::run_fail(common::espboot().args([
        "recover",
        "-p",
        "/nonexistent/tty",
        "--mtu",
        "20",
        "list",
    ]));
    common::assert_one_line_error(&out, "mtu 20");
}
