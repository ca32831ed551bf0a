//! The flash as MCUboot sees it on an Espressif chip: the port's flash
//! backend (`boot/espressif/port/esp_mcuboot.c`) over the physical NOR flash,
//! with the chip's transparent flash encryption when it is enabled.
//!
//! Without flash encryption the backend passes 4-byte aligned operations
//! straight through (`flash_area_align()` is 4).
//!
//! With flash encryption enabled the physical flash holds ciphertext, and
//! the backend does what the port does on silicon (mcuboot.md §7):
//! - reads decrypt (the chip's cache decrypts transparently);
//! - `flash_area_align()` is 32;
//! - every write first **erases the 4 KiB sectors it touches**: a write that
//!   does not cover whole sectors reads the sector (decrypted), erases it,
//!   merges the new bytes and writes the whole sector back encrypted
//!   (`aligned_flash_write(.., erase = true)`);
//! - every erase writes the erased value back, encrypted, so that erased
//!   areas read as 0xff through the decrypting cache, which MCUboot's state
//!   machine relies on.
//!
//! A consequence worth simulating: a power cut between the erase and the
//! write-back of such a read-modify-write loses the sector's other bytes
//! (they read back as decrypted garbage), which a plain NOR flash model never
//! shows. Each physical erase and write is one operation of the underlying
//! [`SimFlash`], so power cuts land between them as on silicon.

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use std::ops::Range;

use esp_secure::flash_encryption::{FlashCrypt, FlashCryptError, XTS_DATA_UNIT};
use zeroize::Zeroizing;

use flash_sim::flash::{FlashError, SimFlash};
use flash_sim::sweep::PhysicalFlash;

/// `FLASH_SECTOR_SIZE` of the port.
pub const PORT_SECTOR_SIZE: u32 = 0x1000;
/// `FLASH_BUFFER_SIZE` of the port: the chunk size of the erased-value
/// write-back after an erase.
const FLASH_BUFFER_SIZE: u32 = 256;
/// `flash_area_erased_val()` of the port.
pub const PORT_ERASED_VALUE: u8 = 0xff;
/// `flash_area_align()` without and with flash encryption.
pub const PORT_ALIGN_PLAIN: u32 = 4;
/// `flash_area_align()` with flash encryption: one AES-XTS block pair.
pub const PORT_ALIGN_ENCRYPTED: u32 = 32;

/// Errors of the port's flash backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortFlashError {
    #[error(transparent)]
    /// The flash failed (or the power was cut).
    Flash(#[from] FlashError),
    #[error("flash encryption: {0}")]
    /// Encrypting or decrypting failed.
    Crypt(#[from] FlashCryptError),
    /// The port refuses reads and writes that run past the flash.
    #[error("flash access {offset:#x}+{len:#x} is beyond the flash")]
    OutOfBounds {
        /// The address.
        offset: u32,
        /// The length in bytes.
        len: u32,
    },
}

impl NorFlashError for PortFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            PortFlashError::Flash(e) => e.kind(),
            PortFlashError::OutOfBounds { .. } => NorFlashErrorKind::OutOfBounds,
            PortFlashError::Crypt(_) => NorFlashErrorKind::Other,
        }
    }
}

impl PortFlashError {
    /// True when the error is the simulated power cut.
    pub fn is_power_loss(&self) -> bool {
        matches!(self, PortFlashError::Flash(FlashError::PowerLost { .. }))
    }
}

fn align_down(x: u32, a: u32) -> u32 {
    x - x % a
}

fn align_up(x: u32, a: u32) -> u32 {
    x.div_ceil(a) * a
}

/// How the backend writes and erases with flash encryption on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum EncryptedWrites {
    /// `esp_mcuboot.c` as shipped: `flash_area_write` erases every sector
    /// it writes (`aligned_flash_write(.., erase = true)`), and
    /// `flash_area_erase` writes the erased value back encrypted. A power
    /// cut inside either loses a sector (the erase-before-write and
    /// erase write-back hazards of the power-cut sweep).
    #[default]
    AsShipped,
    /// An opt-in fix of the port, modelled here: `flash_area_erase` only
    /// erases; reads return 0xff for 16-byte blocks that are physically
    /// erased (checked with `bootloader_flash_read(.., allow_decrypt =
    /// false)`) and decrypt the rest; `flash_area_write` programs the
    /// encrypted data straight into physically erased cells and falls back
    /// to the shipped erase-then-write only where the destination is not
    /// erased (data from before the fix). MCUboot erases before it writes
    /// and writes each `flash_area_align()` unit once, so every backend
    /// operation is again one physical erase or program, as on plain flash.
    /// The cost: a ciphertext block that is all 0xff (probability 2^-128)
    /// would read as erased.
    ProgramErased,
}

/// The port's flash backend over `flash`, encrypting with `crypt` when flash
/// encryption is enabled on the chip.
pub struct PortFlash<'f> {
    flash: &'f mut SimFlash,
    crypt: Option<&'f dyn FlashCrypt>,
    writes: EncryptedWrites,
}

impl<'f> PortFlash<'f> {
    /// The backend; `crypt` is `Some` when the chip's flash encryption is
    /// enabled (an odd number of crypt-counter bits burned).
    pub fn new(flash: &'f mut SimFlash, crypt: Option<&'f dyn FlashCrypt>) -> Self {
        PortFlash {
            flash,
            crypt,
            writes: EncryptedWrites::AsShipped,
        }
    }

    /// The backend writing as `writes` says when encryption is on.
    pub fn with_writes(mut self, writes: EncryptedWrites) -> Self {
        self.writes = writes;
        self
    }

    /// True when the fixed backend treats physically erased cells as erased.
    fn program_erased(&self) -> bool {
        self.crypt.is_some() && self.writes == EncryptedWrites::ProgramErased
    }

    /// `flash_area_align()`: what the boot core must use as its write size.
    pub fn align(&self) -> u32 {
        if self.crypt.is_some() {
            PORT_ALIGN_ENCRYPTED
        } else {
            PORT_ALIGN_PLAIN
        }
    }

    /// The underlying physical flash.
    pub fn physical(&mut self) -> &mut SimFlash {
        self.flash
    }

    fn check(&self, offset: u32, len: usize) -> Result<u32, PortFlashError> {
        let len32 = u32::try_from(len).map_err(|_| PortFlashError::OutOfBounds {
            offset,
            len: u32::MAX,
        })?;
        match offset.checked_add(len32) {
            Some(end) if end <= self.flash.geometry().capacity() => Ok(len32),
            _ => Err(PortFlashError::OutOfBounds { offset, len: len32 }),
        }
    }

    /// `bootloader_flash_read(.., allow_decrypt = true)`.
    fn read_through_cache(&mut self, offset: u32, out: &mut [u8]) -> Result<(), PortFlashError> {
        let Some(crypt) = self.crypt else {
            return Ok(self.flash.read(offset, out)?);
        };
        // The cache decrypts whole 16-byte blocks.
        let len = u32::try_from(out.len()).unwrap_or(u32::MAX);
        let start = align_down(offset, 16);
        let end = align_up(offset + len, 16);
        let mut buf = Zeroizing::new(vec![0u8; (end - start) as usize]);
        self.flash.read(start, &mut buf)?;
        if self.writes == EncryptedWrites::ProgramErased {
            let raw = Zeroizing::new(buf.to_vec());
            crypt.decrypt(start, &mut buf)?;
            for (plain, cipher) in buf.chunks_mut(16).zip(raw.chunks(16)) {
                if cipher.iter().all(|b| *b == PORT_ERASED_VALUE) {
                    plain.fill(PORT_ERASED_VALUE);
                }
            }
        } else {
            crypt.decrypt(start, &mut buf)?;
        }
        let skip = (offset - start) as usize;
        out.copy_from_slice(&buf[skip..skip + out.len()]);
        Ok(())
    }

    /// `bootloader_flash_write(.., write_encrypted)`: one physical program
    /// operation, of ciphertext when encryption is on.
    fn program(&mut self, offset: u32, data: &[u8]) -> Result<(), PortFlashError> {
        match self.crypt {
            None => Ok(self.flash.write(offset, data)?),
            Some(crypt) => {
                // Not zeroized: once encrypted it holds the ciphertext the
                // flash stores anyway (and on an error the caller's
                // plaintext, which the caller owns).
                let mut buf = data.to_vec();
                crypt.encrypt(offset, &mut buf)?;
                Ok(self.flash.write(offset, &buf)?)
            }
        }
    }

    /// `aligned_flash_write(dest, src, size, erase)`.
    fn aligned_write(&mut self, dest: u32, src: &[u8], erase: bool) -> Result<(), PortFlashError> {
        let encrypted = self.crypt.is_some();
        let alignment = match (encrypted, erase) {
            (true, true) => PORT_SECTOR_SIZE,
            (true, false) => PORT_ALIGN_ENCRYPTED,
            (false, _) => PORT_ALIGN_PLAIN,
        };
        let size = u32::try_from(src.len()).unwrap_or(u32::MAX);
        if dest.is_multiple_of(alignment) && size % alignment == 0 {
            if encrypted && erase {
                self.flash.erase(dest, dest + size)?;
            }
            return self.program(dest, src);
        }
        // Unaligned: read-modify-(erase-)write, one sector-sized chunk at a
        // time, as the port does with its 4 KiB auxiliary buffer.
        let mut aux = Zeroizing::new(vec![0u8; PORT_SECTOR_SIZE as usize]);
        let mut write_addr = dest;
        let mut src_off = 0usize;
        let mut remaining = size;
        while remaining > 0 {
            let aligned = align_down(write_addr, alignment);
            let buf_off = write_addr - aligned;
            let chunk = remaining.min(PORT_SECTOR_SIZE - buf_off);
            // The port reads and writes back ALIGN_UP(chunk, alignment)
            // bytes from the aligned address. Callers of MCUboot's core
            // always write whole flash_area_align() units, so the bytes this
            // covers always include the merged ones.
            let span = align_up(chunk, alignment).min(PORT_SECTOR_SIZE);
            self.read_through_cache(aligned, &mut aux[..span as usize])?;
            if encrypted && erase {
                let erase_len = align_up(chunk, PORT_SECTOR_SIZE);
                self.flash.erase(aligned, aligned + erase_len)?;
            }
            let from = buf_off as usize;
            let n = (chunk as usize).min(span as usize - from);
            aux[from..from + n].copy_from_slice(&src[src_off..src_off + n]);
            let data = aux[..span as usize].to_vec();
            self.program(aligned, &data)?;
            write_addr += chunk;
            src_off += chunk as usize;
            remaining -= chunk;
        }
        Ok(())
    }

    /// `aligned_flash_erase(addr, size)`: partial sectors keep their head and
    /// tail (read, erase, write back).
    fn aligned_erase(&mut self, addr: u32, size: u32) -> Result<(), PortFlashError> {
        let sector = PORT_SECTOR_SIZE;
        if addr.is_multiple_of(sector) && size.is_multiple_of(sector) {
            return Ok(self.flash.erase(addr, addr + size)?);
        }
        let start = align_down(addr, sector);
        let end = align_up(addr + size, sector);
        let mut aux = Zeroizing::new(vec![0u8; sector as usize]);
        let mut current = start;
        while current < end {
            let preserve_head = addr > current;
            let preserve_tail = addr + size < current + sector;
            if preserve_head || preserve_tail {
                self.read_through_cache(current, &mut aux)?;
                let erase_start = addr.saturating_sub(current);
                let erase_end = (current + sector).min(addr + size) - current;
                self.flash.erase(current, current + sector)?;
                if preserve_head {
                    let head = aux[..erase_start as usize].to_vec();
                    self.aligned_write(current, &head, false)?;
                }
                if preserve_tail {
                    let tail = aux[erase_end as usize..].to_vec();
                    self.aligned_write(current + erase_end, &tail, false)?;
                }
                current += sector;
            } else {
                let contiguous = align_down(addr + size, sector) - current;
                self.flash.erase(current, current + contiguous)?;
                current += contiguous;
            }
        }
        Ok(())
    }
}

/// The sweep's validation memo compares the physical bytes an image's reads
/// depend on: with encryption on, whole cipher units around it (the last
/// bytes of an image share a unit with what follows; `XTS_DATA_UNIT` is the
/// largest unit either algorithm encrypts as one, the ESP32 algorithm's
/// 32-byte blocks included).
impl PhysicalFlash for PortFlash<'_> {
    fn physical(&self) -> &SimFlash {
        self.flash
    }

    fn depends_on(&self, range: Range<u32>) -> Range<u32> {
        if self.crypt.is_none() {
            return range;
        }
        let unit = XTS_DATA_UNIT as u32;
        let end = align_up(range.end, unit).min(self.flash.geometry().capacity());
        align_down(range.start, unit)..end
    }
}

impl ErrorType for PortFlash<'_> {
    type Error = PortFlashError;
}

impl ReadNorFlash for PortFlash<'_> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), PortFlashError> {
        self.check(offset, bytes.len())?;
        self.read_through_cache(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.flash.geometry().capacity() as usize
    }
}

impl NorFlash for PortFlash<'_> {
    const WRITE_SIZE: usize = 1;
    const ERASE_SIZE: usize = 1;

    /// `flash_area_erase`.
    fn erase(&mut self, from: u32, to: u32) -> Result<(), PortFlashError> {
        let size = to.checked_sub(from).ok_or(PortFlashError::OutOfBounds {
            offset: from,
            len: 0,
        })?;
        self.check(from, size as usize)?;
        self.aligned_erase(from, size)?;
        if self.crypt.is_some() && !self.program_erased() {
            // Make erased cells read as 0xff through the decrypting cache.
            let fill = [PORT_ERASED_VALUE; FLASH_BUFFER_SIZE as usize];
            let mut offset = from;
            while offset < to {
                let n = (to - offset).min(FLASH_BUFFER_SIZE);
                self.aligned_write(offset, &fill[..n as usize], false)?;
                offset += n;
            }
        }
        Ok(())
    }

    /// `flash_area_write`.
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), PortFlashError> {
        let len = self.check(offset, bytes.len())?;
        let mut erase = self.crypt.is_some();
        if erase && self.program_erased() {
            // Whole 32-byte units, as the encrypted program writes them.
            let start = align_down(offset, PORT_ALIGN_ENCRYPTED);
            let end =
                align_up(offset + len, PORT_ALIGN_ENCRYPTED).min(self.flash.geometry().capacity());
            let mut raw = vec![0u8; (end - start) as usize];
            self.flash.read(start, &mut raw)?;
            erase = raw.iter().any(|b| *b != PORT_ERASED_VALUE);
        }
        self.aligned_write(offset, bytes, erase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use esp_secure::flash_encryption::{FlashEncryptionKey, XtsFlashCrypt};
    use flash_sim::flash::{CutMode, Geometry};

    const SIZE: u32 = 0x8000;

    fn flash() -> SimFlash {
        SimFlash::new(
            Geometry::uniform(PORT_SECTOR_SIZE, SIZE / PORT_SECTOR_SIZE, 4, 0xff).unwrap(),
        )
    }

    fn xts() -> XtsFlashCrypt {
        let key: Vec<u8> = (0..64u8).collect();
        XtsFlashCrypt::new(&FlashEncryptionKey::from_bytes(&key)).unwrap()
    }

    #[test]
    fn plain_backend_passes_aligned_operations_through() {
        let mut phys = flash();
        let mut port = PortFlash::new(&mut phys, None);
        assert_eq!(port.align(), 4);
        port.write(0x1004, &[1, 2, 3, 4]).unwrap();
        let mut out = [0u8; 8];
        port.read(0x1000, &mut out).unwrap();
        assert_eq!(out, [0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
        port.erase(0x1000, 0x2000).unwrap();
        assert_eq!(phys.data()[0x1004], 0xff);
        assert_eq!(phys.total_counters().erases, 1);
    }

    #[test]
    fn encrypted_backend_stores_ciphertext_and_reads_plaintext() {
        let crypt = xts();
        let mut phys = flash();
        let mut port = PortFlash::new(&mut phys, Some(&crypt));
        assert_eq!(port.align(), 32);
        port.erase(0x2000, 0x3000).unwrap();
        let mut out = [0u8; 64];
        port.read(0x2fc0, &mut out).unwrap();
        assert_eq!(
            out, [0xff; 64],
            "erased cells must read 0xff through the cache"
        );

        let data: Vec<u8> = (0..32u8).collect();
        port.write(0x2fe0, &data).unwrap();
        let mut back = [0u8; 32];
        port.read(0x2fe0, &mut back).unwrap();
        assert_eq!(back.as_slice(), data.as_slice());
        // The physical bytes are the chip's encryption of the plaintext.
        let mut expect = data.clone();
        crypt.encrypt(0x2fe0, &mut expect).unwrap();
        assert_eq!(&phys.data()[0x2fe0..0x3000], expect.as_slice());
    }

    #[test]
    fn encrypted_write_keeps_the_rest_of_the_sector() {
        let crypt = xts();
        let mut phys = flash();
        let mut port = PortFlash::new(&mut phys, Some(&crypt));
        port.erase(0, SIZE).unwrap();
        port.write(0x1000, &[0xA5; 32]).unwrap();
        port.write(0x1020, &[0x5A; 32]).unwrap();
        let mut out = [0u8; 96];
        port.read(0x1000, &mut out).unwrap();
        assert_eq!(&out[..32], &[0xA5; 32]);
        assert_eq!(&out[32..64], &[0x5A; 32]);
        assert_eq!(&out[64..], &[0xff; 32]);
    }

    #[test]
    fn partial_erase_preserves_head_and_tail() {
        let mut phys = flash();
        let mut port = PortFlash::new(&mut phys, None);
        port.write(0x1000, &[7; 0x1000]).unwrap();
        port.erase(0x1100, 0x1200).unwrap();
        let mut out = vec![0u8; 0x1000];
        port.read(0x1000, &mut out).unwrap();
        assert!(out[..0x100].iter().all(|&b| b == 7));
        assert!(out[0x100..0x200].iter().all(|&b| b == 0xff));
        assert!(out[0x200..].iter().all(|&b| b == 7));
    }

    /// A power cut between the erase and the write-back of an encrypted
    /// read-modify-write loses the neighbouring bytes of the sector: they
    /// read back as the decryption of erased flash, not as what was there.
    #[test]
    fn power_cut_inside_encrypted_read_modify_write_loses_the_sector() {
        let crypt = xts();
        let mut phys = flash();
        {
            let mut port = PortFlash::new(&mut phys, Some(&crypt));
            port.erase(0, SIZE).unwrap();
            port.write(0x1000, &[0x11; 32]).unwrap();
        }
        // Operation 1 of the next write is the sector erase; cut right after it.
        phys.arm_power_cut(2, CutMode::Clean);
        {
            let mut port = PortFlash::new(&mut phys, Some(&crypt));
            let err = port.write(0x1020, &[0x22; 32]).unwrap_err();
            assert!(err.is_power_loss());
        }
        phys.power_cycle();
        let mut port = PortFlash::new(&mut phys, Some(&crypt));
        let mut out = [0u8; 32];
        port.read(0x1000, &mut out).unwrap();
        assert_ne!(
            out, [0x11; 32],
            "the earlier data did not survive the torn RMW"
        );
        assert_ne!(out, [0xff; 32], "erased flash does not decrypt to 0xff");
    }
}
