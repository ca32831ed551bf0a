//! R15 and the rest of the robustness list: garbage, empty frames, bad
//! checksums, oversize frames and a client that hangs up mid-write leave
//! the server up and the device files whole. Raw bytes go through
//! pyserial from the pinned venv, the way esptool opens the port.

use crate::support as common;
use crate::support::serve::{esptool, new_device, Served};

/// Sends `steps` (hex strings; `read` waits for a reply frame and prints
/// it as hex) on the port with pyserial.
const SCRIPT: &str = r#"
import sys, serial, time
port = serial.Serial(sys.argv[1], 115200, timeout=1)
def slip(b):
    return b"\xc0" + b.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"
def frame():
    buf = b""; started = False; deadline = time.time() + 2
    while time.time() < deadline:
        c = port.read(1)
        if not c: continue
        if c == b"\xc0":
            if started and buf: return buf
            started = True; buf = b""; continue
        if started: buf += c
    return b""
import struct
def req(op, data, chk=0):
    return slip(struct.pack("<BBHI", 0, op, len(data), chk) + data)
port.write(b"\x55\xaa garbage \x00\xff" * 20)
port.write(b"\xc0\xc0")
port.write(b"\xc0" + b"\x01" * 20000 + b"\xc0")   # oversize frame: dropped
port.write(req(0x08, b"\x07\x07\x12\x20" + b"\x55" * 32))
print(frame().hex())
port.reset_input_buffer(); time.sleep(0.1); port.reset_input_buffer()
port.write(req(0x02, struct.pack("<IIIII", 0x1000, 1, 0x400, 0x30000, 0)))
print(frame().hex())
block = bytes(range(256)) * 4
port.write(req(0x03, struct.pack("<IIII", len(block), 0, 0, 0) + block, 0x12))
print(frame().hex())
# a good block, then hang up in the middle of the next
chk = 0xEF
for b in block: chk ^= b
port.write(req(0x03, struct.pack("<IIII", len(block), 0, 0, 0) + block, chk))
print(frame().hex())
port.write(req(0x03, struct.pack("<IIII", len(block), 1, 0, 0) + block, chk)[:300])
port.close()
"#;

#[test]
fn r15_garbage_bad_checksum_oversize_and_hang_up() {
    if common::interop_skipped() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let dev = dir.join("c3");
    new_device(&dev, "esp32c3", None);
    let size = std::fs::metadata(dev.join("flash.bin"))
        .map(|m| m.len())
        .unwrap_or(0);
    let served = Served::start(&dev, dir, "download", false);
    let python = common::reference_bin_dir().join("python3");
    let out = common::run_ok(
        std::process::Command::new(python)
            .args(["-c", SCRIPT])
            .arg(&served.port),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    // SYNC answered (ROM value 0x20120707), FLASH_BEGIN OK, the bad
    // checksum refused with the ROM's 0x107, the good block OK.
    assert_eq!(lines.first(), Some(&"010804000707122000000000"), "{text}");
    assert_eq!(lines.get(1), Some(&"010204000000000000000000"), "{text}");
    assert_eq!(lines.get(2), Some(&"010304000000000001070000"), "{text}");
    assert_eq!(lines.get(3), Some(&"010304000000000000000000"), "{text}");
    // The server is still up and the device files are whole.
    esptool(&served, &[], &["chip-id"]).ok();
    drop(served);
    let flash = std::fs::read(dev.join("flash.bin")).unwrap_or_default();
    assert_eq!(flash.len() as u64, size);
    assert_eq!(
        &flash[0x30000..0x30400],
        &(0..=255u8).cycle().take(0x400).collect::<Vec<_>>()[..]
    );
    common::run_ok(
        common::espboot()
            .args(["sim", "read"])
            .arg(&dev)
            .args(["0x30000", "0x10", "-o"])
            .arg(dir.join("r.bin")),
    );
}
