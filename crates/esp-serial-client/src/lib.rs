//! The host side of the Espressif ROM download protocol on a serial port
//! (a USB-UART bridge, USB-Serial-JTAG, or the PTY of `espboot sim serve`).
//!
//! This crate is a thin trust boundary: it parses what a device sends, so
//! every reply is decoded with a bounded SLIP decoder and checked before use;
//! device data never panics. Framing, requests and responses are
//! `esp-rom-protocol`'s (the same codec the virtual chip serves with); chip
//! facts (detection magic words, security-info chip ids) are `esp-image`'s.
//!
//! - [`reset`]: esptool's reset strategies as recorded DTR/RTS line-state
//!   sequences (data, so they are testable without hardware).
//! - [`Client`]: connect (reset + sync with esptool's retries), READ_REG,
//!   WRITE_REG,
//!   GET_SECURITY_INFO, chip detection, SPI_FLASH_MD5.
//! - [`wire`]: what a flash write costs on a real line (bytes, round
//!   trips, seconds per baud rate).
//!
//! ```no_run
//! use esp_serial_client::{Client, reset::Before};
//! let mut client = Client::open("/dev/ttyUSB0", 115_200)?;
//! client.connect(Before::DefaultReset, 7)?;
//! let chip = client.detect_chip()?;
//! println!("Detecting chip type... {}", chip.name());
//! # Ok::<(), esp_serial_client::Error>(())
//! ```
//!
//! Sources: serial.md §1.4 and §2.1; esptool 5.6.0 `loader.py`
//! (`connect`, `sync`, `command`, `check_command`) and `reset.py`.

pub mod control;
mod error;
pub mod flash;
pub mod reset;
mod security_info;
pub mod stub;
pub mod wire;
mod writer;

pub use control::{HardReset, Warning};
pub use error::Error;
pub use flash::{ReadProgress, WriteOptions, WriteReport};
pub use security_info::SecurityInfo;

use std::io::Read;
use std::time::{Duration, Instant};

use esp_image::Chip;
use esp_rom_protocol::command::{Opcode, Request};
use esp_rom_protocol::response::{Response, Status};
use esp_rom_protocol::slip::{self, Decoder};

/// The register esptool reads to detect chips without a security-info chip
/// id (`CHIP_DETECT_MAGIC_REG_ADDR`, esptool `loader.py`).
pub const CHIP_DETECT_MAGIC_REG: u32 = 0x4000_1000;

/// Default timeout of one command (`DEFAULT_TIMEOUT` = 3 s, esptool
/// `loader.py`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// Longest a write to the port may take before the client gives up
/// (`DEFAULT_SERIAL_WRITE_TIMEOUT` = 10 s, esptool `loader.py`): a device
/// that stops reading must not hang the host.
pub const SERIAL_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Timeout of one SYNC attempt (`SYNC_TIMEOUT` = 0.1 s, esptool `loader.py`).
pub const SYNC_TIMEOUT: Duration = Duration::from_millis(100);

/// Pause after a failed SYNC before the next (`time.sleep(0.05)`, esptool
/// `_connect_attempt`).
const SYNC_RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Largest frame accepted from a device: a READ_FLASH block plus headers
/// with room to spare; longer frames are garbage and are dropped.
const MAX_FRAME: usize = 0x4000 + 64;

/// esptool's `timeout_per_mb`: `seconds_per_mb` per million bytes, never
/// below [`DEFAULT_TIMEOUT`].
pub fn timeout_per_mb(seconds_per_mb: f64, size: u32) -> Duration {
    let t = seconds_per_mb * f64::from(size) / 1e6;
    DEFAULT_TIMEOUT.max(Duration::from_secs_f64(t))
}

/// How many replies esptool skips looking for the answer to its request
/// before giving up (`command` reads up to 100 responses).
const MAX_STALE_REPLIES: usize = 100;

/// A chip's factory MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mac {
    /// The base MAC.
    pub base: [u8; 6],
    /// The EUI-64 form (ESP32-C6, H2).
    pub eui64: Option<[u8; 8]>,
}

/// A connection to a device in download mode.
pub struct Client {
    port_name: String,
    port: Box<dyn serialport::SerialPort>,
    writer: writer::PortWriter,
    decoder: Decoder,
    pending: Vec<Vec<u8>>,
    /// The flasher stub answers (2 status bytes, stub-only commands).
    stub: bool,
    /// The last SYNC reply carried value 0: a stub is already running.
    stub_on_sync: bool,
    /// The chip, once detected.
    chip: Option<Chip>,
    /// The DTR level last set (pyserial opens with it asserted).
    dtr: bool,
    /// The port's current speed.
    baud: u32,
    /// The port's USB ids, once looked up (`Some(None)`: not USB).
    usb: Option<Option<reset::UsbIds>>,
    /// Warnings not yet taken by the caller.
    warnings: Vec<Warning>,
    /// The no-modem-lines warning was given (esptool prints it once).
    lines_warned: bool,
}

/// How long [`Client::open`] waits for a port's exclusive lock. serialport
/// takes a `flock` on open, which lives as long as any copy of the
/// descriptor: a process that has just closed the port may still be
/// exiting, or a child it forked may not have reached `exec` yet (seen
/// with a client dropped right before the next command opened the port).
const LOCK_GRACE: Duration = Duration::from_millis(500);

/// Opens `port`, trying again for [`LOCK_GRACE`] while another descriptor
/// holds its exclusive lock; any other failure is returned at once.
fn open_waiting_for_lock(
    port: &str,
    baud: u32,
) -> Result<Box<dyn serialport::SerialPort>, serialport::Error> {
    let deadline = Instant::now() + LOCK_GRACE;
    loop {
        match serialport::new(port, baud)
            .timeout(Duration::from_millis(10))
            .open()
        {
            // serialport's only word for it (posix/flock.rs)
            Err(e)
                if e.kind() == serialport::ErrorKind::NoDevice
                    && e.description.contains("exclusive lock")
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

impl Client {
    /// Opens `port` at `baud`, 8N1, without touching DTR/RTS yet.
    pub fn open(port: &str, baud: u32) -> Result<Client, Error> {
        // opened before serialport's handle, which makes the port exclusive
        let direct = writer::open_direct(port);
        let handle = open_waiting_for_lock(port, baud).map_err(|source| Error::Open {
            port: port.to_owned(),
            source,
        })?;
        // serialport leaves the descriptor blocking, so one write of a large
        // frame blocks until the device has read all of it; a separate
        // writer on a clone of the port lets every write have a deadline
        let writer_port = handle.try_clone().map_err(|source| Error::Open {
            port: port.to_owned(),
            source,
        })?;
        Ok(Client {
            port_name: port.to_owned(),
            port: handle,
            writer: writer::PortWriter::spawn(writer_port, direct),
            decoder: Decoder::new(MAX_FRAME),
            pending: Vec::new(),
            stub: false,
            stub_on_sync: false,
            chip: None,
            dtr: true,
            baud,
            usb: None,
            warnings: Vec::new(),
            lines_warned: false,
        })
    }

    /// The port's name as given to [`Client::open`].
    pub fn port_name(&self) -> &str {
        &self.port_name
    }

    /// Resets into download mode as `before` says and syncs, up to
    /// `attempts` times (esptool's `--connect-attempts`, default 7; 0
    /// counts as 1). Each attempt plays the next of esptool's reset
    /// sequences for this port ([`reset::Before::strategies`], cycling),
    /// then sends up to 5 SYNCs 50 ms apart (esptool `connect`,
    /// `_connect_attempt`).
    pub fn connect(&mut self, before: reset::Before, attempts: u32) -> Result<(), Error> {
        let attempts = attempts.max(1);
        if before == reset::Before::NoResetNoSync {
            return Ok(());
        }
        let usb = match before {
            reset::Before::NoReset => None,
            _ => self.usb(),
        };
        let strategies = before.strategies(usb, self.dtr);
        for attempt in 0..attempts as usize {
            if let Some(steps) = strategies.get(attempt % strategies.len().max(1)) {
                // empty the input first to isolate the boot log
                self.flush_input()?;
                self.play_reset(steps)?;
            }
            for _ in 0..5 {
                self.flush_input()?;
                if self.sync().is_ok() {
                    return Ok(());
                }
                std::thread::sleep(SYNC_RETRY_PAUSE);
            }
        }
        Err(Error::Connect {
            port: self.port_name.clone(),
            attempts,
        })
    }

    fn lines_error(&self, source: serialport::Error) -> Error {
        Error::Lines {
            port: self.port_name.clone(),
            operation: "reset (DTR/RTS)",
            source,
        }
    }

    /// One SYNC, and the 7 extra replies the ROM sends drained (esptool
    /// `sync`).
    pub fn sync(&mut self) -> Result<(), Error> {
        let mut data = vec![0x07, 0x07, 0x12, 0x20];
        data.extend_from_slice(&[0x55; 32]);
        let req = Request::new(Opcode::Sync, data, 0);
        let first = self.command(&req, 0, SYNC_TIMEOUT, "sync")?;
        // the stub answers SYNC with value 0, the ROM with 0x20120707
        // (esptool `sync`, `sync_stub_detected`)
        self.stub_on_sync = first.value == 0;
        self.stub = self.stub_on_sync;
        // the ROM answers SYNC 8 times; drain the rest without failing
        for _ in 0..7 {
            if self.reply(Opcode::Sync, 0, SYNC_TIMEOUT, "sync").is_err() {
                break;
            }
        }
        Ok(())
    }

    /// READ_REG.
    pub fn read_reg(&mut self, address: u32) -> Result<u32, Error> {
        let req = Request::words(Opcode::ReadReg, &[address]);
        Ok(self
            .command(&req, 0, DEFAULT_TIMEOUT, "read register")?
            .value)
    }

    /// WRITE_REG: `new = value & mask | old & !mask`, then the ROM waits
    /// `delay_us` microseconds before answering (esptool `write_reg`,
    /// serial.md §4.4).
    pub fn write_reg(
        &mut self,
        address: u32,
        value: u32,
        mask: u32,
        delay_us: u32,
    ) -> Result<(), Error> {
        let req = Request::words(Opcode::WriteReg, &[address, value, mask, delay_us]);
        self.command(&req, 0, DEFAULT_TIMEOUT, "write register")?;
        Ok(())
    }

    /// The factory MAC from eFuse, as esptool's `read_mac` assembles it:
    /// the big-endian bytes of `word1:word0` without the top two (on the
    /// ESP32 those are the MAC's CRC). On the C6/H2 also the EUI-64
    /// (base MAC with the two extension bytes of word 1 in the middle).
    pub fn read_mac(&mut self) -> Result<Mac, Error> {
        let chip = match self.chip {
            Some(c) => c,
            None => self.detect_chip()?,
        };
        let reg = chip.mac_efuse_reg();
        let low = self.read_reg(reg)?;
        let high = self.read_reg(reg + 4)?;
        let mut joined = [0u8; 8];
        joined[..4].copy_from_slice(&high.to_be_bytes());
        joined[4..].copy_from_slice(&low.to_be_bytes());
        let mut base = [0u8; 6];
        base.copy_from_slice(&joined[2..]);
        let eui64 = chip.has_eui64().then(|| {
            let ext = ((high >> 16) as u16).to_be_bytes();
            [
                base[0], base[1], base[2], ext[0], ext[1], base[3], base[4], base[5],
            ]
        });
        Ok(Mac { base, eui64 })
    }

    /// GET_SECURITY_INFO's raw data (20 bytes on chips with a chip id, 12 on
    /// the ESP32-S2; the ESP32's ROM refuses the command).
    pub fn security_info(&mut self) -> Result<Vec<u8>, Error> {
        let req = Request::new(Opcode::GetSecurityInfo, Vec::new(), 0);
        let resp = self.command(&req, 20, DEFAULT_TIMEOUT, "get security info")?;
        Ok(resp.data)
    }

    /// GET_SECURITY_INFO decoded as esptool 5.6.0 does: 20 bytes first,
    /// then (any failure, as esptool catches every fatal error there) 12
    /// bytes, the ESP32-S2's form (`et:loader.py:1264-1336`).
    pub fn security_info_decoded(&mut self) -> Result<SecurityInfo, Error> {
        let op = "get security info";
        let data = match self.security_info() {
            Ok(data) => data,
            Err(_) => {
                let req = Request::new(Opcode::GetSecurityInfo, Vec::new(), 0);
                self.command(&req, 12, DEFAULT_TIMEOUT, op)?.data
            }
        };
        let word = |at: usize| {
            data.get(at..at + 4)
                .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        };
        let flags = word(0).ok_or_else(|| self.malformed(op, "short reply"))?;
        let flash_crypt_cnt = *data
            .get(4)
            .ok_or_else(|| self.malformed(op, "short reply"))?;
        let key_purposes: [u8; 7] = data
            .get(5..12)
            .and_then(|k| <[u8; 7]>::try_from(k).ok())
            .ok_or_else(|| self.malformed(op, "short reply"))?;
        Ok(SecurityInfo {
            flags,
            flash_crypt_cnt,
            key_purposes,
            chip_id: word(12),
            api_version: word(16),
        })
    }

    /// Whether the chip's ROM runs in Secure Download Mode. The ESP32 has
    /// no such mode (and its ROM no GET_SECURITY_INFO): always `false`.
    pub fn secure_download_mode(&mut self) -> Result<bool, Error> {
        let chip = match self.chip {
            Some(c) => c,
            None => self.detect_chip()?,
        };
        if chip == Chip::Esp32 {
            return Ok(false);
        }
        Ok(self.security_info_decoded()?.secure_download_mode())
    }

    /// The SPI flash's JEDEC id (RDID, 0x9F; 24 bits read back) through the
    /// SPI peripheral's user-command registers, the way esptool 5.6.0's
    /// `run_spiflash_command` drives them on the ESP32 and later chips
    /// (`et:loader.py:1953-2086`): the user registers are restored after.
    pub fn flash_jedec_id(&mut self) -> Result<u32, Error> {
        // SPI_USR register flags and SPI_USR2 command-length shift (loader.py)
        const SPI_USR_COMMAND: u32 = 1 << 31;
        const SPI_USR_MISO: u32 = 1 << 28;
        const SPI_USR2_COMMAND_LEN_SHIFT: u32 = 28;
        const RDID: u32 = 0x9F;
        const READ_BITS: u32 = 24;
        const ALL: u32 = 0xFFFF_FFFF;
        let chip = self
            .chip
            .ok_or_else(|| self.malformed("SPI flash id", "chip not detected"))?;
        let spi = chip.spi_flash_regs();
        let old_usr = self.read_reg(spi.usr)?;
        let old_usr2 = self.read_reg(spi.usr2)?;
        self.write_reg(spi.miso_dlen, READ_BITS - 1, ALL, 0)?;
        self.write_reg(spi.usr, SPI_USR_COMMAND | SPI_USR_MISO, ALL, 0)?;
        self.write_reg(spi.usr2, (7 << SPI_USR2_COMMAND_LEN_SHIFT) | RDID, ALL, 0)?;
        self.write_reg(spi.w0, 0, ALL, 0)?;
        self.write_reg(spi.cmd, esp_image::rom_loader::SPI_CMD_USR, ALL, 0)?;
        let mut done = false;
        for _ in 0..10 {
            if self.read_reg(spi.cmd)? & esp_image::rom_loader::SPI_CMD_USR == 0 {
                done = true;
                break;
            }
        }
        if !done {
            return Err(self.malformed("SPI flash id", "SPI command did not complete in time"));
        }
        let id = self.read_reg(spi.w0)?;
        self.write_reg(spi.usr, old_usr, ALL, 0)?;
        self.write_reg(spi.usr2, old_usr2, ALL, 0)?;
        Ok(id)
    }

    /// Detects the chip as esptool 5.6.0 does: the chip id of
    /// GET_SECURITY_INFO where the ROM has it, else the magic word at
    /// [`CHIP_DETECT_MAGIC_REG`].
    pub fn detect_chip(&mut self) -> Result<Chip, Error> {
        if let Ok(info) = self.security_info() {
            if let Some(id) = info.get(12..16) {
                let id = u32::from_le_bytes([id[0], id[1], id[2], id[3]]);
                let chip = Chip::ALL
                    .into_iter()
                    .find(|c| esp_image::rom_loader::security_info_chip_id(*c) == Some(id))
                    .ok_or(Error::UnknownChip {
                        port: self.port_name.clone(),
                        magic: id,
                    })?;
                self.chip = Some(chip);
                return Ok(chip);
            }
        }
        let magic = self.read_reg(CHIP_DETECT_MAGIC_REG)?;
        let chip = Chip::ALL
            .into_iter()
            .find(|c| c.detect_magic() == Some(magic))
            .ok_or(Error::UnknownChip {
                port: self.port_name.clone(),
                magic,
            })?;
        self.chip = Some(chip);
        Ok(chip)
    }

    /// SPI_FLASH_MD5 of `size` bytes at `address`: the ROM's 32 hex digits
    /// or the stub's 16 raw bytes, returned as 16 bytes.
    pub fn flash_md5(&mut self, address: u32, size: u32) -> Result<[u8; 16], Error> {
        let req = Request::words(Opcode::SpiFlashMd5, &[address, size, 0, 0]);
        // the ROM hashes at roughly 8 s per MB (esptool `MD5_TIMEOUT_PER_MB`)
        let timeout = timeout_per_mb(8.0, size);
        let op = "flash MD5";
        if self.stub {
            let resp = self.command(&req, 16, timeout, op)?;
            return resp
                .data
                .get(..16)
                .and_then(|d| <[u8; 16]>::try_from(d).ok())
                .ok_or_else(|| self.malformed(op, "short digest"));
        }
        let resp = self.command(&req, 32, timeout, op)?;
        let hex = resp
            .data
            .get(..32)
            .ok_or_else(|| self.malformed(op, "short digest"))?;
        let mut out = [0u8; 16];
        for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            let s = std::str::from_utf8(pair).map_err(|_| self.malformed(op, "digest not hex"))?;
            *o = u8::from_str_radix(s, 16).map_err(|_| self.malformed(op, "digest not hex"))?;
        }
        Ok(out)
    }

    fn malformed(&self, operation: &'static str, what: &'static str) -> Error {
        Error::Malformed {
            port: self.port_name.clone(),
            operation,
            what,
        }
    }

    /// Whether the flasher stub answers.
    pub fn is_stub(&self) -> bool {
        self.stub
    }

    /// Whether the last SYNC found a stub already running (esptool: "Stub
    /// flasher is already running. No upload is necessary.").
    pub fn stub_was_running(&self) -> bool {
        self.stub_on_sync
    }

    /// The detected chip.
    pub fn chip(&self) -> Option<Chip> {
        self.chip
    }

    /// Sends `req` and waits for its reply (`data_len` data bytes before the
    /// status), failing on a device error status.
    fn command(
        &mut self,
        req: &Request,
        data_len: usize,
        timeout: Duration,
        operation: &'static str,
    ) -> Result<Response, Error> {
        let wire = slip::encoded(&req.to_bytes());
        self.write_owned(wire, operation)?;
        let resp = self.reply(req.op, data_len, timeout, operation)?;
        match resp.status {
            Status::Ok => Ok(resp),
            status => Err(Error::Device {
                port: self.port_name.clone(),
                operation,
                status,
            }),
        }
    }

    /// The next reply to `op`, skipping garbage and stale replies to other
    /// opcodes (esptool `command` skips up to 100).
    fn reply(
        &mut self,
        op: Opcode,
        data_len: usize,
        timeout: Duration,
        operation: &'static str,
    ) -> Result<Response, Error> {
        let deadline = Instant::now() + timeout;
        for _ in 0..=MAX_STALE_REPLIES {
            let frame = self.next_frame(deadline, operation)?;
            if let Ok(resp) = Response::parse(&frame, data_len) {
                if resp.op == op {
                    return Ok(resp);
                }
            }
        }
        Err(self.malformed(operation, "no reply to the request among 100 frames"))
    }

    /// The next decoded SLIP frame, whatever it holds (a reply, the stub's
    /// `OHAI`, a READ_FLASH data packet).
    fn next_frame(&mut self, deadline: Instant, operation: &'static str) -> Result<Vec<u8>, Error> {
        loop {
            if !self.pending.is_empty() {
                return Ok(self.pending.remove(0));
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    port: self.port_name.clone(),
                    operation,
                });
            }
            let mut buf = [0u8; 4096];
            match self.port.read(&mut buf) {
                Ok(n) => {
                    let got = buf.get(..n).unwrap_or_default();
                    for frame in self.decoder.push_all(got).into_iter().flatten() {
                        self.pending.push(frame);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Io {
                        port: self.port_name.clone(),
                        operation,
                        source,
                    })
                }
            }
        }
    }

    /// Writes raw bytes (already framed) to the port.
    fn write_raw(&mut self, bytes: &[u8], operation: &'static str) -> Result<(), Error> {
        self.write_owned(bytes.to_vec(), operation)
    }

    /// Writes `bytes`, giving up after [`SERIAL_WRITE_TIMEOUT`].
    fn write_owned(&mut self, bytes: Vec<u8>, operation: &'static str) -> Result<(), Error> {
        match self.writer.write(bytes, SERIAL_WRITE_TIMEOUT) {
            Ok(()) => Ok(()),
            Err(writer::WriteFailure::TimedOut) => Err(Error::WriteTimeout {
                port: self.port_name.clone(),
                operation,
            }),
            Err(writer::WriteFailure::Io(source)) => Err(Error::Io {
                port: self.port_name.clone(),
                operation,
                source,
            }),
        }
    }

    fn flush_input(&mut self) -> Result<(), Error> {
        self.pending.clear();
        self.decoder.reset();
        self.port
            .clear(serialport::ClearBuffer::Input)
            .map_err(|source| self.lines_error(source))
    }
}

/// The eFuse backend's register access over this port: espefuse's READ_REG
/// and WRITE_REG requests ([`esp_efuse::backend::Port`]).
impl esp_efuse::backend::RegisterIo for Client {
    type Error = Error;

    fn read_reg(&mut self, addr: u32) -> Result<u32, Error> {
        Client::read_reg(self, addr)
    }

    fn write_reg(&mut self, addr: u32, value: u32, mask: u32, delay_us: u32) -> Result<(), Error> {
        Client::write_reg(self, addr, value, mask, delay_us)
    }

    /// espefuse's `reconnect_chip`: reset (the default sequence), sync with
    /// esptool's seven attempts, detect the chip, read the security info.
    fn reconnect(&mut self) -> Result<esp_efuse::backend::Reconnected, Error> {
        self.stub = false;
        self.connect(reset::Before::DefaultReset, 7)?;
        self.detect_chip()?;
        Ok(esp_efuse::backend::Reconnected {
            secure_download_mode: self.secure_download_mode()?,
        })
    }
}

#[cfg(all(test, unix))]
mod port_lock_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rustix::fs::{flock, FlockOperation, Mode, OFlags};
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};

    /// Takes `path`'s exclusive lock on a descriptor of its own, as
    /// another process holding the port would.
    fn hold_lock(path: &str) -> rustix::fd::OwnedFd {
        let fd = rustix::fs::open(
            path,
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        flock(&fd, FlockOperation::NonBlockingLockExclusive).unwrap();
        fd
    }

    /// A lock released within the grace is waited for; one held past it
    /// fails the open with serialport's error.
    #[test]
    fn open_waits_for_a_port_lock_being_released() {
        let master =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let port = ptsname(&master, Vec::new())
            .unwrap()
            .to_string_lossy()
            .into_owned();

        let holder = hold_lock(&port);
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            drop(holder);
        });
        let started = Instant::now();
        let client = Client::open(&port, 115_200).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(100));
        releaser.join().unwrap();
        drop(client);

        let _held = hold_lock(&port);
        let started = Instant::now();
        let Err(Error::Open { source, .. }) = Client::open(&port, 115_200) else {
            panic!("the port opened while its lock was held");
        };
        assert!(started.elapsed() >= LOCK_GRACE);
        assert!(source.description.contains("exclusive lock"), "{source}");
    }
}
