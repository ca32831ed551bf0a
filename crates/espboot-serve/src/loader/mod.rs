//! The ROM's UART download loader and, once uploaded, the flasher stub
//! (serial.md §2.3 reply table, §2.1 stub differences, §5.1 Secure
//! Download Mode). One [`Loader`] per session of the download mode: it
//! turns decoded SLIP frames into replies, acting on the [`Machine`].
//!
//! The stub is accepted without being run: MEM_BEGIN/MEM_DATA are checked
//! and acknowledged, MEM_END answers and then the loader greets with
//! `OHAI` and answers as the stub does (2 status bytes, SYNC value 0,
//! raw MD5, windowed READ_FLASH, ERASE_FLASH/ERASE_REGION).

use esp_rom_protocol::command::{Command, Opcode, Request};
use esp_rom_protocol::response::{Failure, Response, StatusFormat};
use esp_rom_protocol::slip;
use md5::{Digest, Md5};

use crate::machine::Machine;
use crate::regs::RegEffect;

mod flash_read;
mod flash_write;

use flash_read::FlashRead;
use flash_write::FlashWrite;

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
                self.read = Some(FlashRead::new(offset, len, packet_size, max_inflight));
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

#[cfg(test)]
mod tests;
