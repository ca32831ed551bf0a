//! A model of what a flash write costs on a real serial line: the bytes
//! each side sends (SLIP framing and escaping, command and data-block
//! headers, replies) and the request/reply round trips, built from the
//! exact frames [`Client`](crate::Client) sends for an image, so users can
//! see what a board at 115200, 460800 or 921600 baud will take.
//!
//! esptool 5.6.0 sends the same request sequence (`write_flash` with the
//! stub: FLASH_DEFL_BEGIN, 16 KiB blocks, FLASH_DEFL_END, SPI_FLASH_MD5;
//! `verify_flash`: one SPI_FLASH_MD5), so the model is the same for both
//! tools; only the zlib streams differ: esptool sends zlib's at level 9
//! ([`esptool_deflate`]), the client libdeflate's ([`deflate`]).
//! [`write_cost_compressed`] models another compressor's stream.
//!
//! Not modelled: the time the device spends erasing and programming (it
//! overlaps with the transfer on the stub), the connection's register
//! reads (a few dozen short round trips), and the host's own run time.
//!
//! ```
//! use esp_serial_client::wire;
//! let image = vec![0xFF_u8; 64 * 1024];
//! let cost = wire::connect_cost(esp_image::Chip::Esp32c3)
//!     + wire::write_cost(&image, true)
//!     + wire::verify_cost();
//! println!("{:.2} s at 115200 baud", cost.seconds(115_200, 0.0));
//! ```

use std::ops::Add;

use esp_image::Chip;
use esp_rom_protocol::command::{Opcode, Request};
use esp_rom_protocol::response::{Response, StatusFormat};
use esp_rom_protocol::slip;

use crate::stub::Stub;

/// Bit times per byte on an 8N1 line (start bit, 8 data bits, stop bit).
const BITS_PER_BYTE: f64 = 10.0;
/// The stub's flash block (`et:loader.py:2234`), as [`crate::flash`].
const STUB_WRITE_SIZE: usize = 0x4000;
/// RAM download block (`ESP_RAM_BLOCK`).
const RAM_BLOCK: usize = 0x1800;

/// What a sequence of requests costs on the line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireCost {
    /// Bytes the host sends.
    pub host_bytes: u64,
    /// Bytes the device sends.
    pub device_bytes: u64,
    /// Requests that wait for their reply before the next goes out.
    pub round_trips: u64,
}

impl WireCost {
    /// Bytes in both directions.
    pub fn total_bytes(&self) -> u64 {
        self.host_bytes + self.device_bytes
    }

    /// Seconds on a line at `baud` (8N1; each request waits for its reply,
    /// so the directions add up), plus `turnaround` seconds per round trip
    /// (a USB-UART bridge's latency: about 1 ms for a CP210x or CH340, up
    /// to 16 ms for an FTDI at its default latency timer).
    pub fn seconds(&self, baud: u32, turnaround: f64) -> f64 {
        self.total_bytes() as f64 * BITS_PER_BYTE / f64::from(baud.max(1))
            + self.round_trips as f64 * turnaround
    }

    /// One request answered by the stub with an empty success.
    fn request(req: &Request, format: StatusFormat) -> WireCost {
        let reply = Response::ok(req.op, 0).to_bytes(format);
        WireCost {
            host_bytes: slip::encoded(&req.to_bytes()).len() as u64,
            device_bytes: slip::encoded(&reply).len() as u64,
            round_trips: 1,
        }
    }
}

impl Add for WireCost {
    type Output = WireCost;

    fn add(self, other: WireCost) -> WireCost {
        WireCost {
            host_bytes: self.host_bytes + other.host_bytes,
            device_bytes: self.device_bytes + other.device_bytes,
            round_trips: self.round_trips + other.round_trips,
        }
    }
}

/// SYNC (answered 8 times by the ROM), GET_SECURITY_INFO, the stub upload
/// esptool makes for `chip` (MEM_BEGIN and MEM_DATA per segment, MEM_END,
/// the stub's `OHAI`) and SPI_ATTACH.
pub fn connect_cost(chip: Chip) -> WireCost {
    let rom = StatusFormat::Rom;
    let mut sync_data = vec![0x07, 0x07, 0x12, 0x20];
    sync_data.extend_from_slice(&[0x55; 32]);
    let sync = Request::new(Opcode::Sync, sync_data, 0);
    let sync_reply = slip::encoded(&Response::ok(Opcode::Sync, 0x2012_0707).to_bytes(rom)).len();
    let mut cost = WireCost {
        host_bytes: slip::encoded(&sync.to_bytes()).len() as u64,
        device_bytes: 8 * sync_reply as u64,
        round_trips: 1,
    };
    let info = Request::new(Opcode::GetSecurityInfo, Vec::new(), 0);
    let info_reply = Response::with_data(Opcode::GetSecurityInfo, vec![0; 20]).to_bytes(rom);
    cost = cost
        + WireCost {
            host_bytes: slip::encoded(&info.to_bytes()).len() as u64,
            device_bytes: slip::encoded(&info_reply).len() as u64,
            round_trips: 1,
        };
    if let Some(stub) = Stub::for_chip(chip) {
        let mut segments = vec![stub.text.clone()];
        segments.extend(stub.data.clone());
        for (addr, bytes) in &segments {
            let blocks = bytes.len().div_ceil(RAM_BLOCK) as u32;
            let begin = Request::words(
                Opcode::MemBegin,
                &[bytes.len() as u32, blocks, RAM_BLOCK as u32, *addr],
            );
            cost = cost + WireCost::request(&begin, rom);
            for (seq, block) in bytes.chunks(RAM_BLOCK).enumerate() {
                let data = Request::block(Opcode::MemData, seq as u32, block);
                cost = cost + WireCost::request(&data, rom);
            }
        }
        let end = Request::words(Opcode::MemEnd, &[0, stub.entry]);
        cost = cost + WireCost::request(&end, rom);
        cost.device_bytes += slip::encoded(b"OHAI").len() as u64;
    }
    let attach = Request::new(Opcode::SpiAttach, vec![0; 4], 0);
    cost + WireCost::request(&attach, StatusFormat::Stub)
}

/// libdeflate's level for the client's stream. On the first 4 MiB of the
/// espboot executable (machine code and tables, BENCHMARKS.md "esptool
/// side") zlib at level 9 makes 1,682,722 bytes in 0.50 s of CPU; libdeflate
/// makes 1,676,364 at level 6 (0.05 s), 1,664,527 at 9 (0.14 s), 1,621,504
/// at 10 (0.29 s, its first near-optimal-parsing level) and 1,619,118 at 12
/// (0.48 s); measured on x86-64 on 2026-12-06. Level 9 keeps the
/// compression well inside the connection time plus the transfer on a
/// fast line; see [`deflate`] for why the stream may still come from zlib.
const LIBDEFLATE_LEVEL: i32 = 9;

/// Images up to this size are compressed by both libdeflate and zlib (at
/// level 9, esptool's stream), in parallel, and the shorter stream is sent:
/// libdeflate's is a few bytes longer on some small inputs (a 100-byte
/// image: 6 to 13 bytes), and zlib at level 9 costs little there (about
/// 30 ms for 256 KiB of machine code).
const BOTH_UP_TO: usize = 256 * 1024;

/// A larger image whose libdeflate stream is under 1/this of it is mostly
/// runs of one byte (erased-flash padding), where zlib's stream is shorter
/// (4 MiB of 0xFF: 4,086 bytes against libdeflate's 4,249) and cheap to
/// make (12 ms for those 4 MiB; 18 ms with 32 KiB of code in front), so
/// zlib compresses it too and the shorter stream is sent.
const RUNS_RATIO: usize = 256;

/// The zlib stream esptool sends for `image`: `zlib.compress(image, 9)`
/// (`et:cmds.py:1780`), made by the same library (Python links the system
/// zlib, as flate2 here), so the same bytes.
pub fn esptool_deflate(image: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(image.len() / 2 + 64),
        flate2::Compression::new(9),
    );
    // a Vec takes every write, so neither step can fail
    encoder
        .write_all(image)
        .and_then(|()| encoder.finish())
        .expect("zlib into a Vec cannot fail")
}

/// libdeflate's zlib stream for `image` at [`LIBDEFLATE_LEVEL`]; `None` if
/// libdeflate refuses (it cannot with a buffer of its own bound).
fn libdeflate(image: &[u8]) -> Option<Vec<u8>> {
    let level = libdeflater::CompressionLvl::new(LIBDEFLATE_LEVEL).ok()?;
    let mut compressor = libdeflater::Compressor::new(level);
    let mut out = vec![0; compressor.zlib_compress_bound(image.len())];
    let n = compressor.zlib_compress(image, &mut out).ok()?;
    out.truncate(n);
    Some(out)
}

/// The zlib stream [`Client::write_flash`](crate::Client::write_flash)
/// sends for `image`: libdeflate's (level [`LIBDEFLATE_LEVEL`]), which on
/// firmware is shorter than esptool's zlib level-9 stream and made several
/// times faster (BENCHMARKS.md), or zlib's where that is shorter and cheap
/// to know: small images ([`BOTH_UP_TO`]) and images of mostly erased flash
/// ([`RUNS_RATIO`]); esptool's on a tie. Any valid zlib stream does: the
/// stub and the ROM inflate whatever they get.
pub fn deflate(image: &[u8]) -> Vec<u8> {
    let (ours, zlib) = if image.len() <= BOTH_UP_TO {
        let (ours, zlib) = std::thread::scope(|s| {
            // no thread to be had: one after the other
            let zlib = std::thread::Builder::new().spawn_scoped(s, || esptool_deflate(image));
            let ours = libdeflate(image);
            (ours, zlib.ok().and_then(|t| t.join().ok()))
        });
        (ours, Some(zlib.unwrap_or_else(|| esptool_deflate(image))))
    } else {
        (libdeflate(image), None)
    };
    let Some(ours) = ours else {
        return zlib.unwrap_or_else(|| esptool_deflate(image));
    };
    let zlib = match zlib {
        Some(zlib) => zlib,
        None if ours.len() < image.len() / RUNS_RATIO => esptool_deflate(image),
        None => return ours,
    };
    if ours.len() < zlib.len() {
        ours
    } else {
        zlib
    }
}

/// A [`deflate`] started on a thread of its own, so that it runs while the
/// client connects and uploads the stub (the CLI starts one per file as it
/// reads the files). [`Deflation::stream_for`] hands the stream over if it
/// was made from the very bytes being written.
#[derive(Debug)]
pub struct Deflation {
    /// `None` if no thread could be started (the write then compresses).
    thread: Option<std::thread::JoinHandle<(Vec<u8>, Vec<u8>)>>,
}

impl Deflation {
    /// Starts compressing `image`.
    pub fn start(image: Vec<u8>) -> Deflation {
        let thread = std::thread::Builder::new()
            .name("deflate".into())
            .spawn(move || {
                let stream = deflate(&image);
                (image, stream)
            });
        Deflation {
            thread: thread.ok(),
        }
    }

    /// The stream, if it was made from `image`; else `None` (the image was
    /// changed since, e.g. a bootloader header rewritten, or padded).
    pub fn stream_for(self, image: &[u8]) -> Option<Vec<u8>> {
        let (input, stream) = self.thread?.join().ok()?;
        (input == image).then_some(stream)
    }
}

/// A stub `write-flash` of `image` (padded to 4 bytes), compressed when
/// `compress` is set and it helps, as the client decides; with the MD5
/// check that ends it.
pub fn write_cost(image: &[u8], compress: bool) -> WireCost {
    let padded = image.len().next_multiple_of(4);
    if compress {
        let z = deflate(image);
        if z.len() < padded {
            return write_cost_compressed(padded, &z);
        }
    }
    let stub = StatusFormat::Stub;
    let blocks = padded.div_ceil(STUB_WRITE_SIZE) as u32;
    let begin = Request::words(
        Opcode::FlashBegin,
        &[padded as u32, blocks, STUB_WRITE_SIZE as u32, 0, 0],
    );
    let mut cost = WireCost::request(&begin, stub);
    let mut block = vec![0xFF; STUB_WRITE_SIZE];
    for (seq, chunk) in image.chunks(STUB_WRITE_SIZE).enumerate() {
        block.fill(0xFF);
        if let Some(head) = block.get_mut(..chunk.len()) {
            head.copy_from_slice(chunk);
        }
        let data = Request::block(Opcode::FlashData, seq as u32, &block);
        cost = cost + WireCost::request(&data, stub);
    }
    let end = Request::words(Opcode::FlashEnd, &[1]);
    cost + WireCost::request(&end, stub) + verify_cost()
}

/// A compressed stub `write-flash` of an image of `size` bytes whose zlib
/// stream is `compressed` (e.g. the one esptool's Python zlib makes).
pub fn write_cost_compressed(size: usize, compressed: &[u8]) -> WireCost {
    let stub = StatusFormat::Stub;
    let blocks = compressed.len().div_ceil(STUB_WRITE_SIZE) as u32;
    let begin = Request::words(
        Opcode::FlashDeflBegin,
        &[size as u32, blocks, STUB_WRITE_SIZE as u32, 0, 0],
    );
    let mut cost = WireCost::request(&begin, stub);
    for (seq, chunk) in compressed.chunks(STUB_WRITE_SIZE).enumerate() {
        let data = Request::block(Opcode::FlashDeflData, seq as u32, chunk);
        cost = cost + WireCost::request(&data, stub);
    }
    let end = Request::words(Opcode::FlashDeflEnd, &[1]);
    cost + WireCost::request(&end, stub) + verify_cost()
}

/// One stub SPI_FLASH_MD5 (the whole of `verify-flash` on the line).
pub fn verify_cost() -> WireCost {
    let stub = StatusFormat::Stub;
    let req = Request::words(Opcode::SpiFlashMd5, &[0, 0, 0, 0]);
    let reply = Response::with_data(Opcode::SpiFlashMd5, vec![0; 16]).to_bytes(stub);
    WireCost {
        host_bytes: slip::encoded(&req.to_bytes()).len() as u64,
        device_bytes: slip::encoded(&reply).len() as u64,
        round_trips: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slip_escapes_count_and_blocks_add_up() {
        // 0xC0 and 0xDB take two bytes each on the wire
        let plain = write_cost(&[0u8; 0x4000], false);
        let escaped = write_cost(&[0xC0u8; 0x4000], false);
        assert_eq!(escaped.host_bytes - plain.host_bytes, 0x4000);
        // BEGIN, one block, END, MD5
        assert_eq!(plain.round_trips, 4);
        let two = write_cost(&[0u8; 0x4001], false);
        assert_eq!(two.round_trips, 5);
    }

    #[test]
    fn compression_shrinks_the_wire_and_time_scales_with_baud() {
        let image = vec![0xFFu8; 1 << 20];
        let z = write_cost(&image, true);
        let raw = write_cost(&image, false);
        assert!(z.host_bytes * 100 < raw.host_bytes, "{z:?} {raw:?}");
        let slow = raw.seconds(115_200, 0.0);
        let fast = raw.seconds(921_600, 0.0);
        assert!((slow / fast - 8.0).abs() < 1e-9);
        // a 1 MiB raw write at 115200 baud: at least 1 MiB * 10 bits
        assert!(slow > (1u64 << 20) as f64 * 10.0 / 115_200.0);
    }

    fn inflate(z: &[u8]) -> Vec<u8> {
        use std::io::Read as _;
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(z)
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        out
    }

    /// Machine-code-like data: instructions of a few shapes with varying
    /// operands, as a firmware's text section.
    fn code_like(len: usize) -> Vec<u8> {
        let mut x: u32 = 0x1234_5678;
        (0..len)
            .map(|i| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                if i % 4 == 3 {
                    (x >> 28) as u8
                } else {
                    [0x13, 0x05, 0x85, 0x00, 0xEF, 0x37][(x >> 24) as usize % 6]
                }
            })
            .collect()
    }

    #[test]
    fn the_clients_stream_inflates_to_the_image_and_is_not_longer_than_zlibs() {
        // a small image (both compressors run), a large one (libdeflate
        // alone), and erased flash (zlib's stream is shorter)
        for image in [
            code_like(3000),
            code_like(600 * 1024),
            vec![0xFF; 300 * 1024],
        ] {
            let ours = deflate(&image);
            assert!(inflate(&ours) == image, "{} bytes", image.len());
            let zlib = esptool_deflate(&image);
            assert!(inflate(&zlib) == image);
            assert!(ours.len() <= zlib.len(), "{} > {}", ours.len(), zlib.len());
        }
    }

    #[test]
    fn a_deflation_started_ahead_gives_its_stream_only_for_the_same_bytes() {
        let image = code_like(70_000);
        let stream = Deflation::start(image.clone()).stream_for(&image);
        assert_eq!(stream, Some(deflate(&image)));
        let mut patched = image.clone();
        patched[3] ^= 1;
        assert_eq!(Deflation::start(image).stream_for(&patched), None);
    }

    #[test]
    fn connect_uploads_the_stub() {
        let cost = connect_cost(Chip::Esp32c3);
        let stub = Stub::for_chip(Chip::Esp32c3).unwrap_or_else(|| panic!("stub"));
        let size: usize = stub.text.1.len() + stub.data.iter().map(|d| d.1.len()).sum::<usize>();
        assert!(cost.host_bytes as usize > size);
    }
}
