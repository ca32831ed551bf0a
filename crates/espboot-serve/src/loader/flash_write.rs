//! FLASH_BEGIN/FLASH_DATA and their compressed forms: buffered, optionally
//! inflated and encrypted writes, programmed in [`CHUNK_ALIGN`] pieces (the
//! ROM erases the range up front, the stub erases ahead of the data).

use esp_rom_protocol::command::{DataBlock, FlashBegin, Opcode};
use esp_rom_protocol::response::{Failure, Response};
use esp_secure::flash_encryption::FlashCrypt;
use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZFlush, MZStatus};

use super::Loader;
use crate::machine::Machine;

/// Programming granularity of buffered writes: a multiple of the flash
/// word, the XTS block and the ESP32's 32-byte encryption block, so
/// encrypted and plain writes are cut at the same places.
const CHUNK_ALIGN: u32 = 128;

/// A flash write in progress.
pub(super) struct FlashWrite {
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

impl Loader {
    /// Finishes a buffered write (the session ends or another command
    /// arrives); returns whether programming failed.
    pub fn finish_write(&mut self, machine: &mut Machine) -> bool {
        match self.write.take() {
            Some(mut w) => flush(&mut w, machine, true).is_err(),
            None => false,
        }
    }

    pub(super) fn flash_begin(
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

    pub(super) fn flash_data(
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
