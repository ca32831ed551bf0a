//! The `esp-serial-client` library against `espboot sim serve` on a PTY,
//! each chip also driven by the pinned esptool: the chip the client detects
//! is the one esptool names, and the client's SPI_FLASH_MD5 of a region
//! esptool wrote is the MD5 of the file esptool wrote.

use esp_serial_client::reset::Before;
use esp_serial_client::Client;
use md5::{Digest, Md5};

use crate::support as common;
use crate::support::serve::{data, esptool, new_device, Served};

#[test]
fn client_detects_chip_and_hashes_flash_like_esptool() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let payload = data(20_000, 3);
    let file = dir.join("part.bin");
    std::fs::write(&file, &payload).unwrap_or_else(|e| panic!("{e}"));
    for chip in ["esp32", "esp32s3", "esp32c3", "esp32c2", "esp32c6"] {
        let dev = dir.join(chip);
        new_device(&dev, chip, None);
        let served = Served::start(&dev, dir, "download", false);
        let out = esptool(
            &served,
            &["--no-stub"],
            &["write-flash", "0x10000", &file.display().to_string()],
        )
        .ok();
        let named = out
            .lines()
            .find_map(|l| l.strip_prefix("Detecting chip type... "))
            .unwrap_or_else(|| panic!("{out}"))
            .trim()
            .replace('-', "")
            .to_ascii_lowercase();

        let mut client =
            Client::open(&served.port_arg(), 115_200).unwrap_or_else(|e| panic!("{e}"));
        client
            .connect(Before::NoReset, 7)
            .unwrap_or_else(|e| panic!("{chip}: {e}\n{}", served.log()));
        let detected = client.detect_chip().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(detected.name(), named, "{chip}");
        assert_eq!(detected.name(), chip);
        let md5 = client
            .flash_md5(0x10000, payload.len() as u32)
            .unwrap_or_else(|e| panic!("{chip}: {e}"));
        assert_eq!(md5.as_slice(), Md5::digest(&payload).as_slice(), "{chip}");
        drop(client);

        // the CLI: the same chip, and a wrong --chip refused in one line
        let port = served.port_arg();
        let out = common::espboot()
            .args(["flash", "--port", &port, "--before", "no-reset", "chip-id"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains(&format!(
                "Detecting chip type... {}",
                detected.esptool_name()
            )),
            "{text}"
        );
        let other = if chip == "esp32c6" {
            "esp32c3"
        } else {
            "esp32c6"
        };
        let out = common::espboot()
            .args([
                "flash", "--port", &port, "--before", "no-reset", "--chip", other, "chip-id",
            ])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("Wrong chip argument?") && err.contains(&port),
            "{err}"
        );
    }
}

#[test]
fn client_names_the_missing_port() {
    let err = Client::open("/nonexistent/tty-espboot", 115_200)
        .err()
        .unwrap_or_else(|| panic!("opened a missing port"));
    assert!(
        err.to_string().contains("/nonexistent/tty-espboot"),
        "{err}"
    );
    let out = common::espboot()
        .args(["flash", "--port", "/nonexistent/tty-espboot", "chip-id"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("could not open port /nonexistent/tty-espboot"),
        "{text}"
    );
}
