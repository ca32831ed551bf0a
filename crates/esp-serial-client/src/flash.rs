//! Flash operations: stub upload, SPI attach/parameters, compressed and
//! plain writes with esptool's block sizes and retries, MD5 verification,
//! windowed reads, erases. Each mirrors esptool 5.6.0 (`loader.py`
//! `run_stub`, `flash_begin`, `flash_defl_*`, `read_flash`, `erase_*`;
//! `cmds.py` `write_flash`, `erase_region`, `verify_flash`; serial.md §2).

use std::time::{Duration, Instant};

use esp_image::Chip;
use esp_rom_protocol::command::{Opcode, Request};
use esp_rom_protocol::slip;
use md5::{Digest, Md5};

use crate::stub::Stub;
use crate::wire::Deflation;
use crate::{timeout_per_mb, Client, Error, DEFAULT_TIMEOUT};

/// RAM download block size (`ESP_RAM_BLOCK`, `et:loader.py:355`).
const RAM_BLOCK: usize = 0x1800;
/// Flash sector (`FLASH_SECTOR_SIZE`).
pub const SECTOR: u32 = 0x1000;
/// Flash block of the ROM loader (`FLASH_WRITE_SIZE`, `et:loader.py:357`).
const ROM_WRITE_SIZE: usize = 0x400;
/// Flash block of the stub (`et:loader.py:2234`).
const STUB_WRITE_SIZE: usize = 0x4000;
/// Attempts per data block (`WRITE_BLOCK_ATTEMPTS`, `et:loader.py`).
const WRITE_BLOCK_ATTEMPTS: u32 = 3;
/// Seconds per MB of erase (`ERASE_REGION_TIMEOUT_PER_MB`,
/// `ERASE_WRITE_TIMEOUT_PER_MB`).
const ERASE_PER_MB: f64 = 40.0;
/// Whole-chip erase (`CHIP_ERASE_TIMEOUT`).
const CHIP_ERASE_TIMEOUT: Duration = Duration::from_secs(120);
/// ROM MEM_END wait (`MEM_END_ROM_TIMEOUT`).
const MEM_END_ROM_TIMEOUT: Duration = Duration::from_millis(200);
/// READ_FLASH packet and window (`et:loader.py:1691-1731`).
const READ_PACKET: u32 = 0x1000;
const READ_INFLIGHT: u32 = 64;
/// READ_FLASH_SLOW block (`et:targets/esp32.py:398`).
const SLOW_READ_BLOCK: usize = 64;

/// How to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Send zlib-compressed data (FLASH_DEFL_*), when the loader can take
    /// it (the stub, or the ESP32 ROM) and it is smaller.
    pub compress: bool,
    /// Have the loader encrypt the data with the chip's flash-encryption
    /// key (the `encrypted` word of FLASH_BEGIN/FLASH_DEFL_BEGIN): the data
    /// is padded to the chip's encryption block, and not checked by MD5
    /// afterwards since the flash then holds ciphertext (`et:cmds.py`
    /// `write_flash`).
    pub encrypt: bool,
    /// End a compressed stub write with FLASH_END rather than
    /// FLASH_DEFL_END: esptool picks the end command by whether the *last*
    /// file of the command is encrypted (`last_file_encrypted`,
    /// `et:cmds.py:1905-1914`), and the stub answers both.
    pub end_as_uncompressed: bool,
}

impl WriteOptions {
    /// A plain write, compressed or not.
    pub fn new(compress: bool) -> Self {
        WriteOptions {
            compress,
            ..WriteOptions::default()
        }
    }

    /// The same write through the chip's flash encryption.
    pub fn encrypted(self, encrypt: bool) -> Self {
        WriteOptions { encrypt, ..self }
    }

    /// The same write ended as esptool ends it when the command's last file
    /// is encrypted.
    pub fn ending_as_uncompressed(self, end_as_uncompressed: bool) -> Self {
        WriteOptions {
            end_as_uncompressed,
            ..self
        }
    }
}

/// What a write did, for esptool's lines.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WriteReport {
    /// The address the caller asked for.
    pub address: u32,
    /// Bytes written to flash (after padding to 4).
    pub written: usize,
    /// Bytes sent on the wire in data blocks (compressed size, or
    /// `written`).
    pub sent: usize,
    /// Whether the data went compressed.
    pub compressed: bool,
    /// Seconds from the begin command to the last block's reply.
    pub seconds: f64,
}

/// Events of a write, in the order esptool prints them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WriteEvent {
    /// The sector range the write erases.
    WillErase {
        /// First byte.
        start: u32,
        /// Last byte.
        end: u32,
        /// Bytes before the address that get erased (unaligned address).
        bytes_before: u32,
    },
    /// Compression was asked but does not shrink the data.
    CompressionUseless {
        /// Compressed size.
        compressed: usize,
        /// Uncompressed size.
        uncompressed: usize,
    },
    /// The ROM erases up front.
    RomErasing,
    /// Compressed size, before FLASH_DEFL_BEGIN.
    Compressed {
        /// Uncompressed.
        size: usize,
        /// Compressed.
        compressed: usize,
    },
    /// The ROM finished erasing.
    RomErased {
        /// Seconds the erase took.
        seconds: f64,
    },
    /// A block was acknowledged.
    Progress {
        /// Bytes sent so far.
        sent: usize,
        /// Bytes to send.
        total: usize,
        /// Flash address reached.
        at: u32,
    },
    /// All blocks acknowledged.
    Wrote(WriteReport),
    /// MD5 verification starts.
    Verifying,
    /// MD5 matched.
    Verified,
    /// The data went encrypted: the flash holds ciphertext, nothing to
    /// compare the MD5 with.
    CannotVerify,
}

/// Progress of a read: bytes read so far, total.
pub type ReadProgress<'a> = &'a mut dyn FnMut(usize, usize);

fn md5_hex(d: &[u8]) -> String {
    esp_efuse::hexify(&Md5::digest(d), "")
}

fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl Client {
    fn chip_name(&self) -> &'static str {
        self.chip.map(Chip::esptool_name).unwrap_or("ESP")
    }

    fn rom_unsupported(&self, function: &'static str) -> Error {
        Error::RomUnsupported {
            port: self.port_name.clone(),
            chip: self.chip_name(),
            function,
        }
    }

    fn bad_request(&self, operation: &'static str, what: &'static str) -> Error {
        Error::BadRequest {
            port: self.port_name.clone(),
            operation,
            what,
        }
    }

    /// The ESP32-C2 revision v0.0 (a blank eFuse) has no working stub:
    /// esptool disables it (`et:targets/esp32c2.py:156-160`: chip revision
    /// from BLOCK2 word 1, major bits 20-21, minor bits 16-19).
    pub fn stub_disabled(&mut self) -> Result<bool, Error> {
        if self.chip != Some(Chip::Esp32c2) {
            return Ok(false);
        }
        let word = self.read_reg(0x6000_8800 + 0x40 + 4)?;
        Ok((word >> 16) & 0x3F == 0)
    }

    /// Uploads and starts esptool's flasher stub for the detected chip
    /// (`run_stub`): MEM_BEGIN/MEM_DATA per segment, MEM_END with the
    /// entry, then the stub's `OHAI`. Returns false if a stub already
    /// answered SYNC (nothing uploaded).
    pub fn run_stub(&mut self) -> Result<bool, Error> {
        if self.stub {
            return Ok(false);
        }
        let chip = self
            .chip
            .ok_or_else(|| self.bad_request("upload stub", "the chip is not detected yet"))?;
        let stub = Stub::for_chip(chip)
            .ok_or_else(|| self.bad_request("upload stub", "embedded stub image is invalid"))?;
        let mut segments = vec![stub.text.clone()];
        segments.extend(stub.data.clone());
        for (addr, bytes) in &segments {
            let blocks = bytes.len().div_ceil(RAM_BLOCK);
            let req = Request::words(
                Opcode::MemBegin,
                &[bytes.len() as u32, blocks as u32, RAM_BLOCK as u32, *addr],
            );
            self.command(&req, 0, DEFAULT_TIMEOUT, "enter RAM download mode")?;
            for (seq, block) in bytes.chunks(RAM_BLOCK).enumerate() {
                let req = Request::block(Opcode::MemData, seq as u32, block);
                self.command(&req, 0, DEFAULT_TIMEOUT, "write to target RAM")?;
            }
        }
        let req = Request::words(Opcode::MemEnd, &[u32::from(stub.entry == 0), stub.entry]);
        // the ROM may reset its UART before replying; esptool ignores it
        let _ = self.command(&req, 0, MEM_END_ROM_TIMEOUT, "leave RAM download mode");
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        loop {
            match self.next_frame(deadline, "start stub") {
                Ok(frame) if frame == b"OHAI" => break,
                Ok(_) => continue,
                Err(_) => {
                    return Err(Error::StubNoGreeting {
                        port: self.port_name.clone(),
                    })
                }
            }
        }
        self.stub = true;
        Ok(true)
    }

    /// SPI_ATTACH with the default pins (`flash_spi_attach(0)`).
    pub fn spi_attach(&mut self) -> Result<(), Error> {
        let data = if self.stub {
            words(&[0])
        } else {
            words(&[0, 0])
        };
        let req = Request::new(Opcode::SpiAttach, data, 0);
        self.command(&req, 0, DEFAULT_TIMEOUT, "configure SPI flash pins")?;
        Ok(())
    }

    /// SPI_SET_PARAMS for a flash of `size` bytes (`flash_set_parameters`).
    pub fn spi_set_params(&mut self, size: u32) -> Result<(), Error> {
        let req = Request::words(
            Opcode::SpiSetParams,
            &[0, size, 64 * 1024, 4 * 1024, 256, 0xFFFF],
        );
        self.command(&req, 0, DEFAULT_TIMEOUT, "set SPI params")?;
        Ok(())
    }

    fn write_block_size(&self) -> usize {
        if self.stub {
            STUB_WRITE_SIZE
        } else {
            ROM_WRITE_SIZE
        }
    }

    fn begin_words(&self, size: u32, blocks: u32, offset: u32, encrypt: bool) -> Vec<u32> {
        let mut w = vec![size, blocks, self.write_block_size() as u32, offset];
        // the ESP32 ROM takes four words (`et:loader.py:1198-1201`)
        if self.stub || self.chip.is_some_and(Chip::rom_encrypts) {
            w.push(u32::from(encrypt));
        }
        w
    }

    /// FLASH_BEGIN: the ROM erases `size` bytes at `offset` now.
    pub(crate) fn flash_begin(
        &mut self,
        size: u32,
        offset: u32,
        encrypt: bool,
    ) -> Result<(), Error> {
        let blocks = (size as usize).div_ceil(self.write_block_size()) as u32;
        let req = Request::words(
            Opcode::FlashBegin,
            &self.begin_words(size, blocks, offset, encrypt),
        );
        let timeout = if self.stub {
            DEFAULT_TIMEOUT
        } else {
            timeout_per_mb(ERASE_PER_MB, size)
        };
        self.command(&req, 0, timeout, "enter flash download mode")?;
        Ok(())
    }

    fn data_block(
        &mut self,
        op: Opcode,
        seq: u32,
        block: &[u8],
        timeout: Duration,
        operation: &'static str,
    ) -> Result<(), Error> {
        let req = Request::block(op, seq, block);
        let mut last = None;
        // esptool's `flash_block`/`flash_defl_block` resend the block on
        // any `FatalError` from `check_command`: an error status, a reply
        // that never came, noise or a short frame. A port that fails or
        // stops taking data (pyserial's `SerialException`, not a
        // `FatalError`) ends the write at once.
        for _ in 0..WRITE_BLOCK_ATTEMPTS {
            match self.command(&req, 0, timeout, operation) {
                Ok(_) => return Ok(()),
                Err(e @ (Error::Io { .. } | Error::Lines { .. } | Error::WriteTimeout { .. })) => {
                    return Err(e)
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| self.bad_request(operation, "no attempt made")))
    }

    /// Writes `data` at `address` as esptool's `write_flash` does for one
    /// file: pads to 4 bytes, aligns to a sector with 0xFF on the ROM,
    /// compresses if asked and useful, sends the blocks (3 attempts each),
    /// ends the stub's write, then checks SPI_FLASH_MD5 against the data.
    pub fn write_flash(
        &mut self,
        address: u32,
        data: &[u8],
        options: WriteOptions,
        on: &mut dyn FnMut(WriteEvent),
    ) -> Result<WriteReport, Error> {
        self.write_flash_deflated(address, data, options, None, on)
    }

    /// [`Client::write_flash`] with the compression of `data` possibly
    /// started ahead ([`Deflation::start`] on the same bytes): its stream is
    /// used if it was made from exactly what is sent, else the data is
    /// compressed now.
    pub fn write_flash_deflated(
        &mut self,
        address: u32,
        data: &[u8],
        options: WriteOptions,
        deflation: Option<Deflation>,
        on: &mut dyn FnMut(WriteEvent),
    ) -> Result<WriteReport, Error> {
        let op = "write flash";
        let encrypt = options.encrypt;
        if encrypt && !self.stub && !self.chip.is_some_and(Chip::rom_encrypts) {
            return Err(self.rom_unsupported("encrypted write_flash"));
        }
        // encrypted data goes in whole encryption blocks (`pad_to(image,
        // FLASH_ENCRYPTED_WRITE_ALIGN)`)
        let pad = match self.chip {
            Some(chip) if encrypt => chip.encrypted_write_align() as usize,
            _ => 4,
        };
        let mut image = data.to_vec();
        image.resize(data.len().next_multiple_of(pad), 0xFF);
        let orig_address = address;
        let mut address = address;
        if !self.stub {
            let over = address % SECTOR;
            address -= over;
            let mut aligned = vec![0xFF; over as usize];
            aligned.extend_from_slice(&image);
            image = aligned;
        }
        let size = u32::try_from(image.len())
            .map_err(|_| self.bad_request(op, "data larger than 4 GiB"))?;
        let end = address
            .checked_add(size)
            .ok_or_else(|| self.bad_request(op, "data runs past 4 GiB"))?;
        let bytes_before = orig_address % SECTOR;
        on(WriteEvent::WillErase {
            start: orig_address - bytes_before,
            end: u32::try_from(u64::from(end).next_multiple_of(u64::from(SECTOR)) - 1)
                .unwrap_or(u32::MAX),
            bytes_before,
        });

        // FLASH_DEFL_* exist in the stub and the ESP32 ROM only
        // (`stub_and_esp32_function_only`)
        let can_inflate = self.stub || self.chip == Some(Chip::Esp32);
        // the digest for the check at the end is made while the data is
        // compressed (or its compression started ahead is awaited)
        let (image_md5, z) = std::thread::scope(|s| {
            let md5 = std::thread::Builder::new().spawn_scoped(s, || md5_hex(&image));
            let z = (options.compress && can_inflate).then(|| {
                deflation
                    .and_then(|d| d.stream_for(&image))
                    .unwrap_or_else(|| crate::wire::deflate(&image))
            });
            let md5 = md5.ok().and_then(|t| t.join().ok());
            (md5.unwrap_or_else(|| md5_hex(&image)), z)
        });
        let mut payload = image.clone();
        let mut compressed = false;
        if let Some(z) = z {
            if z.len() < image.len() {
                payload = z;
                compressed = true;
            } else {
                on(WriteEvent::CompressionUseless {
                    compressed: z.len(),
                    uncompressed: image.len(),
                });
            }
        }
        let block_size = self.write_block_size();
        let blocks = payload.len().div_ceil(block_size) as u32;
        if !self.stub {
            on(WriteEvent::RomErasing);
        }
        let started = Instant::now();
        if compressed {
            on(WriteEvent::Compressed {
                size: image.len(),
                compressed: payload.len(),
            });
            let write_size = if self.stub {
                size
            } else {
                // the ROM wants the erase size in whole blocks
                (image.len().div_ceil(block_size) * block_size) as u32
            };
            let req = Request::words(
                Opcode::FlashDeflBegin,
                &self.begin_words(write_size, blocks, address, encrypt),
            );
            let timeout = if self.stub {
                DEFAULT_TIMEOUT
            } else {
                timeout_per_mb(ERASE_PER_MB, write_size)
            };
            self.command(&req, 0, timeout, "enter compressed flash mode")?;
        } else {
            self.flash_begin(size, address, encrypt)?;
        }
        if !self.stub {
            on(WriteEvent::RomErased {
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        // a compressed block may inflate a lot; scale the write timeout as
        // esptool does per block (`_get_flash_defl_block_timeout`)
        let ratio = image.len() as f64 / payload.len().max(1) as f64;
        let mut sent = 0usize;
        for (seq, chunk) in payload.chunks(block_size).enumerate() {
            let seq = seq as u32;
            if compressed {
                let inflated = (chunk.len() as f64 * ratio) as u32;
                let timeout = timeout_per_mb(ERASE_PER_MB, inflated);
                self.data_block(
                    Opcode::FlashDeflData,
                    seq,
                    chunk,
                    timeout,
                    "write compressed data to flash",
                )?;
            } else {
                let mut block = chunk.to_vec();
                block.resize(block_size, 0xFF);
                self.data_block(
                    Opcode::FlashData,
                    seq,
                    &block,
                    DEFAULT_TIMEOUT,
                    "write to target flash",
                )?;
            }
            sent += chunk.len();
            let at = if compressed {
                address + ((sent as f64 * ratio) as u32).min(size)
            } else {
                address + sent as u32
            };
            on(WriteEvent::Progress {
                sent,
                total: payload.len(),
                at,
            });
        }
        if self.stub {
            // the stub writes after acknowledging; its END reply comes
            // once the last block is in flash (`et:cmds.py:1897-1914`)
            let (op_end, name) = if compressed && !options.end_as_uncompressed {
                (Opcode::FlashDeflEnd, "leave compressed flash mode")
            } else {
                (Opcode::FlashEnd, "leave flash download mode")
            };
            let req = Request::words(op_end, &[1]);
            self.command(
                &req,
                0,
                timeout_per_mb(ERASE_PER_MB, STUB_WRITE_SIZE as u32 * 4),
                name,
            )?;
        }
        let report = WriteReport {
            address: orig_address,
            written: image.len(),
            sent,
            compressed,
            seconds: started.elapsed().as_secs_f64(),
        };
        on(WriteEvent::Wrote(report.clone()));
        on(WriteEvent::Verifying);
        if encrypt {
            on(WriteEvent::CannotVerify);
            return Ok(report);
        }
        let flash = esp_efuse::hexify(&self.flash_md5(address, size)?, "");
        if flash != image_md5 {
            let erased = md5_hex(&vec![0xFF; image.len()]);
            return Err(if flash == erased {
                self.bad_request(op, "Write failed, the written flash region is empty.")
            } else {
                Error::DigestMismatch {
                    port: self.port_name.clone(),
                    operation: op,
                    expected: image_md5,
                    actual: flash,
                }
            });
        }
        on(WriteEvent::Verified);
        Ok(report)
    }

    /// Whether flash at `address` holds `data` (SPI_FLASH_MD5 against the
    /// data padded to 4 bytes, as esptool's `verify_flash` pads).
    pub fn verify_flash(&mut self, address: u32, data: &[u8]) -> Result<bool, Error> {
        let mut image = data.to_vec();
        image.resize(data.len().next_multiple_of(4), 0xFF);
        let size = u32::try_from(image.len())
            .map_err(|_| self.bad_request("verify flash", "data larger than 4 GiB"))?;
        // the local digest is made while the device makes its own
        std::thread::scope(|s| {
            let digest = || <[u8; 16]>::from(Md5::digest(&image));
            let local = std::thread::Builder::new().spawn_scoped(s, digest);
            let flash = self.flash_md5(address, size)?;
            let local = local.ok().and_then(|t| t.join().ok());
            Ok(flash == local.unwrap_or_else(digest))
        })
    }

    /// Reads `len` bytes at `offset`: the stub's windowed READ_FLASH
    /// (packets of 4 KiB, each acknowledged with the running total, then
    /// the MD5 of the whole read, checked), or the ESP32 ROM's
    /// READ_FLASH_SLOW in 64-byte requests.
    pub fn read_flash(
        &mut self,
        offset: u32,
        len: u32,
        progress: ReadProgress<'_>,
    ) -> Result<Vec<u8>, Error> {
        let op = "read flash";
        if !self.stub {
            if self.chip != Some(Chip::Esp32) {
                return Err(self.rom_unsupported("read_flash"));
            }
            let mut out = Vec::with_capacity(len as usize);
            while out.len() < len as usize {
                let want = SLOW_READ_BLOCK.min(len as usize - out.len());
                let req = Request::words(
                    Opcode::ReadFlashSlow,
                    &[offset + out.len() as u32, want as u32],
                );
                let resp = self.command(&req, SLOW_READ_BLOCK, DEFAULT_TIMEOUT, op)?;
                let got = resp
                    .data
                    .get(..want)
                    .ok_or_else(|| self.malformed(op, "short block"))?;
                out.extend_from_slice(got);
                progress(out.len(), len as usize);
            }
            return Ok(out);
        }
        let req = Request::words(
            Opcode::ReadFlash,
            &[offset, len, READ_PACKET, READ_INFLIGHT],
        );
        self.command(&req, 0, DEFAULT_TIMEOUT, op)?;
        let mut out = Vec::with_capacity(len as usize);
        while out.len() < len as usize {
            let frame = self.next_frame(Instant::now() + DEFAULT_TIMEOUT, op)?;
            out.extend_from_slice(&frame);
            if out.len() < len as usize && frame.len() < READ_PACKET as usize {
                return Err(self.malformed(op, "short data packet"));
            }
            let ack = slip::encoded(&(out.len() as u32).to_le_bytes());
            self.write_raw(&ack, op)?;
            progress(out.len().min(len as usize), len as usize);
        }
        if out.len() > len as usize {
            return Err(self.malformed(op, "more data than asked for"));
        }
        let digest = self.next_frame(Instant::now() + DEFAULT_TIMEOUT, op)?;
        if digest.len() != 16 {
            return Err(self.malformed(op, "digest frame is not 16 bytes"));
        }
        let actual = Md5::digest(&out);
        if digest.as_slice() != actual.as_slice() {
            return Err(Error::DigestMismatch {
                port: self.port_name.clone(),
                operation: op,
                expected: esp_efuse::hexify(&digest, ""),
                actual: esp_efuse::hexify(&actual, ""),
            });
        }
        Ok(out)
    }

    /// ERASE_FLASH (stub only).
    pub fn erase_flash(&mut self) -> Result<(), Error> {
        if !self.stub {
            return Err(self.rom_unsupported("erase_flash"));
        }
        let req = Request::new(Opcode::EraseFlash, Vec::new(), 0);
        self.command(&req, 0, CHIP_ERASE_TIMEOUT, "erase flash")?;
        Ok(())
    }

    /// Erases `size` bytes at `offset`, both sector multiples: the stub's
    /// ERASE_REGION, or on the ROM a FLASH_BEGIN with no data after
    /// setting the flash size (`et:cmds.py:2416-2427`).
    pub fn erase_region(&mut self, offset: u32, size: u32, flash_size: u32) -> Result<(), Error> {
        let op = "erase region";
        if !offset.is_multiple_of(SECTOR) {
            return Err(self.bad_request(op, "Offset to erase from must be a multiple of 4096"));
        }
        if !size.is_multiple_of(SECTOR) {
            return Err(self.bad_request(op, "Size of data to erase must be a multiple of 4096"));
        }
        if self.stub {
            let req = Request::words(Opcode::EraseRegion, &[offset, size]);
            self.command(&req, 0, timeout_per_mb(ERASE_PER_MB, size), op)?;
        } else {
            self.spi_set_params(flash_size)?;
            self.flash_begin(size, offset, false)?;
        }
        Ok(())
    }
}
