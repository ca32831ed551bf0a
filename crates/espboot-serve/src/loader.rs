//! The ROM's UART download loader and, once uploaded, the flasher stub
//! (serial.md §2.3 reply table, §2.1 stub differences, §5.1 Secure
//! Download Mode). One [`Loader`] per session of the download mode: it
//! turns decoded SLIP frames into replies, acting on the [`Machine`].
//!
//! The stub is accepted without being run: MEM_BEGIN/MEM_DATA are checked
//! and acknowledged, MEM_END answers and then the loader greets with
//! `OHAI` and answers as the stub does (2 status bytes, SYNC value 0,
//! raw MD5, windowed READ_FLASH, ERASE_FLASH/ERASE_REGION).

use esp_rom_protocol::command::{Command, DataBlock, FlashBegin, Opcode, Request};
use esp_rom_protocol::response::{Failure, Response, StatusFormat};
use esp_rom_protocol::slip;
use esp_secure::flash_encryption::FlashCrypt;
use md5::{Digest, Md5};
use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZFlush, MZStatus};

use crate::machine::Machine;
use crate::regs::RegEffect;

/// Largest decoded frame accepted: a stub FLASH_DATA block (0x4000) with
/// its headers, and room to spare (`et:loader.py:2234`).
pub const MAX_FRAME: usize = 0x4000 + 0x100;

/// SYNC's reply value from the ROM (`07 07 12 20` on the wire); the stub
/// answers 0 (serial.md §1.4).
const ROM_SYNC_VALUE: u32 = 0x2012_0707;
/// SYNC is answered this many times (serial.md §1.4).
const SYNC_REPLIES: usize = 8;
/// The stub's greeting after MEM_END (`et:loader.py:1466-1537`).
const OHAI: &[u8] = b"OHAI";
/// READ_FLASH_SLOW always returns this many data bytes
/// (`et:targets/esp32.py:398-424`).
const READ_SLOW_LEN: u32 = 64;
/// Programming granularity of buffered writes: a multiple of the flash
/// word, the XTS block and the ESP32's 32-byte encryption block, so
/// encrypted and plain writes are cut at the same places.
const CHUNK_ALIGN: u32 = 128;
/// `GET_SECURITY_INFO`'s API version field (not documented; esptool only
/// prints it, serial.md §8.3).
const SECURITY_INFO_API_VERSION: u32 = 0;

/// What the loader asks the server to do after its replies are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoaderExit {
    /// Reboot into the configured boot mode (FLASH_END flag 0, the stub's
    /// reboot).
    Reboot,
    /// The RTC watchdog armed by `--after watchdog-reset` fired: a system
    /// reset into the configured boot mode.
    Watchdog,
    /// Leave the loader and boot from flash (ROM FLASH_END flag 1,
    /// RUN_USER_CODE).
    RunUserCode,
}

/// A flash write in progress.
struct FlashWrite {
    /// Absolute start.
    offset: u32,
    /// Bytes that may be written from `offset`.
    limit: u32,
    /// Bytes programmed so far.
    written: u32,
    /// Bytes received, not yet programmed.
    pending: Vec<u8>,
    /// The zlib stream of a compressed write.
    inflate: Option<Box<InflateState>>,
    /// The stream ended (compressed writes).
    stream_end: bool,
    /// Encryption with the chip's key (`encrypted = 1`).
    crypt: Option<Box<dyn FlashCrypt>>,
    /// The encryption block (`FLASH_ENCRYPTED_WRITE_ALIGN`).
    crypt_align: usize,
    /// Stub: erase sectors as the data reaches them; everything below this
    /// address is erased.
    erase_jit: Option<u32>,
}

/// A stub READ_FLASH being streamed.
struct FlashRead {
    offset: u32,
    len: u32,
    packet: u32,
    inflight: u32,
    sent: u32,
    acked: u32,
    md5: Md5,
}

/// The download-mode loader of one session.
pub struct Loader {
    stub: bool,
    /// A RAM download ended without a jump (the stub is in RAM).
    stub_loaded: bool,
    secure: bool,
    write: Option<FlashWrite>,
    read: Option<FlashRead>,
    /// A command that ends a step of the client's work was handled (any
    /// command but a data block, or the block that completes a write):
    /// the device should be saved before the reply goes out, so a client
    /// that sees the reply sees the files.
    save_point: bool,
    /// Every request answered, in order (for a trace).
    requests: Vec<Opcode>,
}

impl Loader {
    /// The ROM loader; `secure` for Secure Download Mode.
    pub fn new(secure: bool) -> Self {
        Loader {
            stub: false,
            stub_loaded: false,
            secure,
            write: None,
            read: None,
            save_point: false,
            requests: Vec::new(),
        }
    }

    /// True once the stub answers.
    pub fn is_stub(&self) -> bool {
        self.stub
    }

    /// The requests received since the last call.
    pub fn take_requests(&mut self) -> Vec<Opcode> {
        std::mem::take(&mut self.requests)
    }

    /// Whether a save point passed since the last call.
    pub fn take_save_point(&mut self) -> bool {
        std::mem::take(&mut self.save_point)
    }

    /// Switches to or from Secure Download Mode (an eFuse burned live).
    pub fn set_secure(&mut self, secure: bool) {
        self.secure = secure;
    }

    fn format(&self) -> StatusFormat {
        if self.stub {
            StatusFormat::Stub
        } else {
            StatusFormat::Rom
        }
    }

    fn reply(&self, out: &mut Vec<u8>, response: &Response) {
        slip::encode(&response.to_bytes(self.format()), out);
    }

    fn fail(&self, out: &mut Vec<u8>, op: Opcode, failure: Failure) {
        self.reply(out, &Response::failure(op, failure, self.format()));
    }

    /// Finishes a buffered write (the session ends or another command
    /// arrives); returns whether programming failed.
    pub fn finish_write(&mut self, machine: &mut Machine) -> bool {
        match self.write.take() {
            Some(mut w) => flush(&mut w, machine, true).is_err(),
            None => false,
        }
    }

    /// Handles one decoded SLIP frame; replies go to `out`.
    pub fn on_frame(
        &mut self,
        machine: &mut Machine,
        frame: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<LoaderExit> {
        if self.read.is_some() {
            // READ_FLASH: the host acknowledges with the bytes it has.
            if let Some(ack) = frame.first_chunk::<4>().filter(|_| frame.len() == 4) {
                self.on_ack(machine, u32::from_le_bytes(*ack), out);
                return None;
            }
            self.read = None;
        }
        let request = match Request::parse(frame) {
            Ok(r) => r,
            Err(_) => {
                // A request-shaped frame gets the ROM's "invalid message";
                // anything else is noise.
                if let [0, op, ..] = frame {
                    self.fail(out, Opcode::from_byte(*op), Failure::InvalidMessage);
                }
                return None;
            }
        };
        let op = request.op;
        self.requests.push(op);
        if !matches!(
            op,
            Opcode::FlashData | Opcode::FlashDeflData | Opcode::MemData
        ) {
            self.save_point = true;
        }
        let command = match Command::parse(&request) {
            Ok(c) => c,
            Err(_) => {
                self.fail(out, op, Failure::InvalidMessage);
                return None;
            }
        };
        if self.secure && !sdm_allows(op) {
            self.fail(out, op, Failure::InvalidMessage);
            return None;
        }
        // Any command but the write's own data ends a buffered write.
        let continues_write = matches!(
            command,
            Command::FlashData(_)
                | Command::FlashDeflData(_)
                | Command::FlashEnd { .. }
                | Command::FlashDeflEnd { .. }
        );
        if !continues_write && self.finish_write(machine) {
            // the failure is reported on the write's next command; none comes
        }
        self.execute(machine, command, op, out)
    }

    fn execute(
        &mut self,
        machine: &mut Machine,
        command: Command,
        op: Opcode,
        out: &mut Vec<u8>,
    ) -> Option<LoaderExit> {
        let ok = |s: &Self, out: &mut Vec<u8>| s.reply(out, &Response::ok(op, 0));
        match command {
            Command::Sync => {
                let value = if self.stub { 0 } else { ROM_SYNC_VALUE };
                for _ in 0..SYNC_REPLIES {
                    self.reply(out, &Response::ok(op, value));
                }
            }
            Command::ReadReg { address } => {
                self.reply(out, &Response::ok(op, machine.read_reg(address)));
            }
            Command::WriteReg(entries) => {
                let mut exit = None;
                for e in entries {
                    if e.mask == 0 {
                        continue; // delay only
                    }
                    let value = e.apply(machine.read_reg(e.address));
                    if machine.write_reg(e.address, value) == RegEffect::WatchdogReset {
                        exit = Some(LoaderExit::Watchdog);
                    }
                }
                ok(self, out);
                return exit;
            }
            Command::SpiAttach { .. }
            | Command::SpiSetParams { .. }
            | Command::ChangeBaudrate { .. } => ok(self, out),
            Command::GetSecurityInfo => self.security_info(machine, op, out),
            Command::MemBegin { .. } => ok(self, out),
            Command::MemData(block) => {
                if block.checksum_ok {
                    ok(self, out);
                } else {
                    self.fail(out, op, Failure::Checksum);
                }
            }
            Command::MemEnd { stay, entry } => {
                ok(self, out);
                if !stay && entry != 0 {
                    // The uploaded stub starts and greets.
                    slip::encode(OHAI, out);
                    self.stub = true;
                } else {
                    self.stub_loaded = true;
                }
            }
            Command::FlashBegin(b) => self.flash_begin(machine, b, false, op, out),
            Command::FlashDeflBegin(b) => self.flash_begin(machine, b, true, op, out),
            Command::FlashData(block) | Command::FlashDeflData(block) => {
                self.flash_data(machine, block, op, out)
            }
            Command::FlashEnd { run_user_code } | Command::FlashDeflEnd { run_user_code } => {
                let failed = self.finish_write(machine);
                if failed {
                    self.fail(out, op, Failure::FlashWrite);
                    return None;
                }
                ok(self, out);
                return match (self.stub, run_user_code) {
                    // the stub stays unless told to reboot
                    (true, true) => None,
                    (_, false) => Some(LoaderExit::Reboot),
                    (false, true) => Some(LoaderExit::RunUserCode),
                };
            }
            Command::SpiFlashMd5 { offset, size } => {
                if u64::from(offset) + u64::from(size) > u64::from(machine.flash_size()) {
                    self.fail(out, op, Failure::ReadLength);
                    return None;
                }
                let digest = Md5::digest(machine.read(offset, size));
                let data = if self.stub {
                    digest.to_vec()
                } else {
                    hex::encode(digest).into_bytes()
                };
                self.reply(out, &Response::with_data(op, data));
            }
            Command::ReadFlashSlow { .. } if !self.stub && self.stub_hijacked(machine) => {
                // The ROM's flash read now jumps into the stub, which
                // greets instead of answering.
                slip::encode(OHAI, out);
                self.stub = true;
            }
            Command::ReadFlashSlow { offset, len } if !self.stub => {
                if len > READ_SLOW_LEN {
                    self.fail(out, op, Failure::ReadLength);
                    return None;
                }
                let mut data = machine.read(offset, len);
                data.resize(READ_SLOW_LEN as usize, 0);
                self.reply(out, &Response::with_data(op, data));
            }
            Command::EraseFlash if self.stub => {
                let size = machine.flash_size();
                match machine.erase(0, size) {
                    Ok(()) => ok(self, out),
                    Err(_) => self.fail(out, op, Failure::Failed),
                }
            }
            Command::EraseRegion { offset, size } if self.stub => {
                let end = u64::from(offset) + u64::from(size);
                let aligned = end <= u64::from(machine.flash_size())
                    && machine.sector_of(offset).start == offset
                    && (size == 0 || machine.sector_of(offset + size - 1).end == offset + size);
                if !aligned {
                    self.fail(out, op, Failure::Failed);
                    return None;
                }
                match machine.erase(offset, offset + size) {
                    Ok(()) => ok(self, out),
                    Err(_) => self.fail(out, op, Failure::Failed),
                }
            }
            Command::ReadFlash {
                offset,
                len,
                packet_size,
                max_inflight,
            } if self.stub => {
                if packet_size == 0
                    || u64::from(offset) + u64::from(len) > u64::from(machine.flash_size())
                {
                    self.fail(out, op, Failure::ReadLength);
                    return None;
                }
                ok(self, out);
                self.read = Some(FlashRead {
                    offset,
                    len,
                    packet: packet_size,
                    inflight: max_inflight.max(1),
                    sent: 0,
                    acked: 0,
                    md5: Md5::new(),
                });
                self.pump(machine, out);
            }
            Command::RunUserCode if self.stub => {
                ok(self, out);
                return Some(LoaderExit::RunUserCode);
            }
            _ => {
                let failure = if self.stub {
                    Failure::NotImplemented
                } else {
                    Failure::InvalidMessage
                };
                self.fail(out, op, failure);
            }
        }
        None
    }

    /// Whether the ROM's flash read function points into an uploaded stub
    /// (ESP32-S3 with Secure Boot, serial.md §3.3).
    fn stub_hijacked(&self, machine: &Machine) -> bool {
        self.stub_loaded
            && machine
                .chip
                .stub_hijack_read_ptr()
                .is_some_and(|ptr| machine.read_reg(ptr) != 0)
    }

    fn security_info(&self, machine: &Machine, op: Opcode, out: &mut Vec<u8>) {
        let Some(len) = machine.chip.security_info_len() else {
            // ESP32: the ROM has no such command; the stub says so.
            let failure = if self.stub {
                Failure::NotImplemented
            } else {
                Failure::InvalidMessage
            };
            self.fail(out, op, failure);
            return;
        };
        let info = machine.efuses().security_info();
        let mut data = Vec::with_capacity(20);
        data.extend_from_slice(&info.flags.to_le_bytes());
        data.push(info.flash_crypt_cnt);
        data.extend_from_slice(&info.key_purposes);
        if let Some(chip_id) = esp_image::rom_loader::security_info_chip_id(machine.chip) {
            data.extend_from_slice(&chip_id.to_le_bytes());
            data.extend_from_slice(&SECURITY_INFO_API_VERSION.to_le_bytes());
        }
        data.truncate(len);
        self.reply(out, &Response::with_data(op, data));
    }

    fn flash_begin(
        &mut self,
        machine: &mut Machine,
        begin: FlashBegin,
        compressed: bool,
        op: Opcode,
        out: &mut Vec<u8>,
    ) {
        let encrypted = begin.encrypted.unwrap_or(0) != 0;
        let end = u64::from(begin.offset) + u64::from(begin.size);
        if end > u64::from(machine.flash_size()) {
            // esptool's SDM erase-region assumes 16 MB: the ROM erases what exists
            if !(self.secure && !compressed && begin.offset < machine.flash_size()) {
                self.fail(out, op, Failure::Failed);
                return;
            }
        }
        let crypt = if encrypted {
            match espboot_sim::chip::fuses::manual_encrypt_crypt(machine.efuses()) {
                Ok(c) => Some(c),
                Err(_) => {
                    self.fail(out, op, Failure::Failed);
                    return;
                }
            }
        } else {
            None
        };
        if encrypted
            && !begin
                .offset
                .is_multiple_of(machine.chip.encrypted_write_align())
        {
            self.fail(out, op, Failure::Failed);
            return;
        }
        let limit = (u64::from(begin.size).min(u64::from(
            machine.flash_size() - begin.offset.min(machine.flash_size()),
        ))) as u32;
        let erase_jit = if self.stub {
            Some(machine.sector_of(begin.offset).start)
        } else {
            // The ROM erases the whole range up front.
            if limit > 0 && machine.erase(begin.offset, begin.offset + limit).is_err() {
                self.fail(out, op, Failure::FlashWrite);
                return;
            }
            None
        };
        self.write = Some(FlashWrite {
            offset: begin.offset,
            limit,
            written: 0,
            pending: Vec::new(),
            inflate: compressed.then(|| InflateState::new_boxed(DataFormat::Zlib)),
            stream_end: false,
            crypt,
            crypt_align: machine.chip.encrypted_write_align() as usize,
            erase_jit,
        });
        self.reply(out, &Response::ok(op, 0));
    }

    fn flash_data(
        &mut self,
        machine: &mut Machine,
        block: DataBlock,
        op: Opcode,
        out: &mut Vec<u8>,
    ) {
        if !block.checksum_ok {
            self.fail(out, op, Failure::Checksum);
            return;
        }
        let Some(w) = self.write.as_mut() else {
            self.fail(out, op, Failure::NotInFlashMode);
            return;
        };
        if (op == Opcode::FlashDeflData) != w.inflate.is_some() {
            self.fail(out, op, Failure::NotInFlashMode);
            return;
        }
        let result = match w.inflate.take() {
            Some(mut state) => {
                let r = inflate_into(&mut state, &block.data, w);
                w.inflate = Some(state);
                r
            }
            None => {
                let room = w.limit - w.written - w.pending.len() as u32;
                // the ROM's last block is padded past the data: drop the padding
                let take = block.data.len().min(room as usize);
                w.pending.extend_from_slice(&block.data[..take]);
                Ok(())
            }
        };
        if result.is_err() {
            self.write = None;
            self.fail(out, op, Failure::Inflate);
            return;
        }
        let last =
            w.stream_end || (w.inflate.is_none() && w.written + w.pending.len() as u32 >= w.limit);
        self.save_point |= last;
        if flush(w, machine, last).is_err() {
            self.write = None;
            self.fail(out, op, Failure::FlashWrite);
            return;
        }
        self.reply(out, &Response::ok(op, 0));
    }

    fn on_ack(&mut self, machine: &mut Machine, acked: u32, out: &mut Vec<u8>) {
        if let Some(read) = self.read.as_mut() {
            read.acked = acked.min(read.len);
        }
        self.pump(machine, out);
    }

    /// Sends READ_FLASH packets within the host's window, then the digest.
    fn pump(&mut self, machine: &mut Machine, out: &mut Vec<u8>) {
        let Some(read) = self.read.as_mut() else {
            return;
        };
        let window = u64::from(read.packet) * u64::from(read.inflight);
        while read.sent < read.len && u64::from(read.sent - read.acked.min(read.sent)) < window {
            let n = read.packet.min(read.len - read.sent);
            let data = machine.read(read.offset + read.sent, n);
            read.md5.update(&data);
            slip::encode(&data, out);
            read.sent += n;
        }
        if read.acked >= read.len {
            let digest = read.md5.clone().finalize();
            slip::encode(&digest, out);
            self.read = None;
        }
    }
}

/// The commands Secure Download Mode allows (serial.md §5.1).
fn sdm_allows(op: Opcode) -> bool {
    matches!(
        op,
        Opcode::Sync
            | Opcode::SpiAttach
            | Opcode::SpiSetParams
            | Opcode::ChangeBaudrate
            | Opcode::FlashBegin
            | Opcode::FlashData
            | Opcode::FlashEnd
            | Opcode::GetSecurityInfo
    )
}

/// Inflates `input` into the write's pending bytes (bounded by the write).
fn inflate_into(state: &mut InflateState, mut input: &[u8], w: &mut FlashWrite) -> Result<(), ()> {
    let mut buf = vec![0u8; 0x8000];
    loop {
        let r = inflate(state, input, &mut buf, MZFlush::None);
        input = &input[r.bytes_consumed..];
        let room = (w.limit - w.written) as usize - w.pending.len();
        if r.bytes_written > room {
            return Err(());
        }
        w.pending.extend_from_slice(&buf[..r.bytes_written]);
        match r.status {
            Ok(MZStatus::StreamEnd) => {
                w.stream_end = true;
                return Ok(());
            }
            Ok(_) if input.is_empty() && r.bytes_written < buf.len() => return Ok(()),
            Ok(_) => {}
            // more input needed (the next block)
            Err(miniz_oxide::MZError::Buf) => return Ok(()),
            Err(_) => return Err(()),
        }
    }
}

/// Programs the pending bytes up to an absolute [`CHUNK_ALIGN`] boundary
/// (all of them when `last`), erasing ahead for the stub and encrypting
/// when asked.
fn flush(w: &mut FlashWrite, machine: &mut Machine, last: bool) -> Result<(), ()> {
    let at = w.offset + w.written;
    let end = at + w.pending.len() as u32;
    let cut = if last { end } else { end - end % CHUNK_ALIGN };
    if cut <= at {
        return Ok(());
    }
    let n = (cut - at) as usize;
    let mut data: Vec<u8> = w.pending.drain(..n).collect();
    if let Some(erased_to) = w.erase_jit.as_mut() {
        if cut > *erased_to {
            let to = machine.sector_of(cut - 1).end;
            machine.erase(*erased_to, to).map_err(|_| ())?;
            *erased_to = to;
        }
    }
    if let Some(crypt) = &w.crypt {
        data.resize(data.len().div_ceil(w.crypt_align) * w.crypt_align, 0xFF);
        crypt.encrypt(at, &mut data).map_err(|_| ())?;
    }
    machine.program(at, &data).map_err(|_| ())?;
    w.written += n as u32;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use esp_rom_protocol::command::Request;
    use esp_rom_protocol::response::Response;
    use espboot_sim::config::Target;
    use espboot_sim::device::Device;
    use proptest::prelude::*;

    fn machine(target: Target) -> Machine {
        let device = Device::create(target, &[], None).unwrap();
        Machine::unsaved(std::path::Path::new("/nonexistent"), device).unwrap()
    }

    /// Every reply a frame produces, decoded.
    fn replies(out: &[u8]) -> Vec<Vec<u8>> {
        let mut d = slip::Decoder::new(usize::MAX);
        d.push_all(out).into_iter().map(|r| r.unwrap()).collect()
    }

    const OPS: [u8; 24] = [
        0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0D, 0x0E, 0x0F, 0x10, 0x11,
        0x12, 0x13, 0x14, 0xD0, 0xD1, 0xD2, 0xD3, 0x19, 0xFF,
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Requests with any opcode and any data never panic the loader,
        /// ROM or stub, and every reply is a well-formed response.
        #[test]
        fn any_request_gets_an_answer_or_nothing(
            requests in proptest::collection::vec(
                (0usize..OPS.len(), proptest::collection::vec(any::<u32>(), 0..8), any::<bool>()),
                1..24,
            ),
            stub in any::<bool>(),
            esp32 in any::<bool>(),
        ) {
            let mut m = machine(if esp32 { Target::Esp32 } else { Target::Esp32c3 });
            let mut loader = Loader::new(false);
            loader.stub = stub;
            for (op, words, checksum_ok) in requests {
                let data: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
                let chk = if checksum_ok { esp_rom_protocol::command::checksum(data.get(16..).unwrap_or(&[])) } else { 1 };
                let req = Request::new(Opcode::from_byte(OPS[op]), data, chk);
                let mut out = Vec::new();
                let _ = loader.on_frame(&mut m, &req.to_bytes(), &mut out);
                for reply in replies(&out) {
                    if reply.first() == Some(&1) {
                        prop_assert!(Response::parse(&reply, 0).is_ok());
                    }
                }
            }
            loader.finish_write(&mut m);
        }
    }

    #[test]
    fn bad_flash_data_checksum_is_refused_rom_and_stub() {
        for stub in [false, true] {
            let mut m = machine(Target::Esp32c3);
            let mut loader = Loader::new(false);
            loader.stub = stub;
            let mut out = Vec::new();
            let begin = Request::words(Opcode::FlashBegin, &[0x400, 1, 0x400, 0x30000, 0]);
            loader.on_frame(&mut m, &begin.to_bytes(), &mut out);
            let mut block = Request::block(Opcode::FlashData, 0, &[7u8; 0x400]);
            block.checksum ^= 0xFF;
            out.clear();
            loader.on_frame(&mut m, &block.to_bytes(), &mut out);
            let reply = &replies(&out)[0];
            let status = if stub {
                &[0xC1, 0][..]
            } else {
                &[1, 7, 0, 0][..]
            };
            assert_eq!(&reply[8..], status);
        }
    }
}
