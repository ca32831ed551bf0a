//! The stub's windowed READ_FLASH: packets of the requested size, at most
//! `max_inflight` unacknowledged, then the raw MD5 of everything sent
//! (serial.md §2.1).

use esp_rom_protocol::slip;
use md5::{Digest, Md5};

use super::Loader;
use crate::machine::Machine;

/// A stub READ_FLASH being streamed.
pub(super) struct FlashRead {
    offset: u32,
    len: u32,
    packet: u32,
    inflight: u32,
    sent: u32,
    acked: u32,
    md5: Md5,
}

impl FlashRead {
    /// A read of `len` bytes at `offset`, sent `packet` bytes at a time
    /// with at most `max_inflight` packets unacknowledged (at least one).
    pub(super) fn new(offset: u32, len: u32, packet: u32, max_inflight: u32) -> Self {
        FlashRead {
            offset,
            len,
            packet,
            inflight: max_inflight.max(1),
            sent: 0,
            acked: 0,
            md5: Md5::new(),
        }
    }
}

impl Loader {
    pub(super) fn on_ack(&mut self, machine: &mut Machine, acked: u32, out: &mut Vec<u8>) {
        if let Some(read) = self.read.as_mut() {
            read.acked = acked.min(read.len);
        }
        self.pump(machine, out);
    }

    /// Sends READ_FLASH packets within the host's window, then the digest.
    pub(super) fn pump(&mut self, machine: &mut Machine, out: &mut Vec<u8>) {
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
