//! Write-once cells: the `NorFlash` implementation, with MCUboot's
//! simulator rules (whole-sector erases, aligned writes to erased cells
//! only) and the fast paths that keep sweeps quick.

use std::ops::Range;

use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};

use super::cut::{CutMode, FlashOp};
use super::{FlashError, SimFlash};

impl SimFlash {
    fn check_range(&self, offset: u32, len: usize) -> Result<Range<usize>, FlashError> {
        let capacity = self.geometry.capacity();
        let len32 = u32::try_from(len).unwrap_or(u32::MAX);
        match offset.checked_add(len32) {
            Some(end) if end <= capacity => Ok(offset as usize..end as usize),
            _ => Err(FlashError::OutOfBounds {
                offset,
                len: len32,
                capacity,
            }),
        }
    }

    fn erase_sector(&mut self, index: usize, mode: Option<CutMode>) {
        let r = self.geometry.sector(index);
        let size = r.len() as u32;
        let (start, end) = (r.start as usize, r.end as usize);
        let end = match mode {
            None => end,
            Some(CutMode::Torn) => start + (end - start) / 2,
            Some(CutMode::Clean) => return,
        };
        // A sector known to be erased already stays as it is: no bytes
        // change, so it is not dirty either (the operation still counts).
        if self.erased_from[index] != r.start {
            self.data[start..end].fill(self.geometry.erased);
            self.dirty[index] = true;
            // A torn erase leaves the upper half as it was.
            self.erased_from[index] = match mode {
                None => r.start,
                Some(_) => r.end,
            };
        }
        if mode.is_none() {
            if let Some(log) = &mut self.recording {
                log.push(FlashOp::Erase { sector: index });
            }
        }
        let time = self.timing.erase_us(size);
        let c = self.counters_for(r.start);
        c.erases += 1;
        c.time_us += time;
    }
}

/// Index of the first byte of `cells` that does not hold `erased` (a
/// programmed cell). Compares 4 KiB at a time with an all-erased block (a
/// vectorised `memcmp`), because this check runs over every programmed byte
/// and dominated sweep profiles.
fn first_programmed(cells: &[u8], erased: u8) -> Option<usize> {
    static ONES: [u8; 4096] = [0xff; 4096];
    static ZEROS: [u8; 4096] = [0x00; 4096];
    let block: &[u8] = match erased {
        0xff => &ONES,
        0x00 => &ZEROS,
        _ => return cells.iter().position(|&b| b != erased),
    };
    let mut base = 0;
    for chunk in cells.chunks(block.len()) {
        if chunk != &block[..chunk.len()] {
            return chunk.iter().position(|&b| b != erased).map(|i| base + i);
        }
        base += chunk.len();
    }
    None
}

impl ErrorType for SimFlash {
    type Error = FlashError;
}

impl ReadNorFlash for SimFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        if let Some(op) = self.lost_at {
            return Err(FlashError::PowerLost { op });
        }
        let r = self.check_range(offset, bytes.len())?;
        bytes.copy_from_slice(&self.data[r]);
        let time = self.timing.read_us(bytes.len() as u64);
        let c = self.counters_for(offset);
        c.bytes_read += bytes.len() as u64;
        c.time_us += time;
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.geometry.capacity() as usize
    }
}

impl NorFlash for SimFlash {
    const WRITE_SIZE: usize = 1;
    const ERASE_SIZE: usize = 1;

    /// Erases every sector of `from..to`; each sector is one operation.
    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        if let Some(op) = self.lost_at {
            return Err(FlashError::PowerLost { op });
        }
        if from > to {
            return Err(FlashError::NotSectorAligned { from, to });
        }
        self.check_range(from, (to - from) as usize)?;
        if !self.geometry.is_sector_boundary(from) || !self.geometry.is_sector_boundary(to) {
            return Err(FlashError::NotSectorAligned { from, to });
        }
        if from == to {
            return Ok(());
        }
        let first = self.geometry.sector_index(from);
        let last = self.geometry.sector_index(to - 1);
        for index in first..=last {
            let mode = self.begin_op()?;
            self.erase_sector(index, mode);
            if mode.is_some() {
                return Err(FlashError::PowerLost { op: self.ops });
            }
        }
        Ok(())
    }

    /// Programs `bytes` at `offset`; one operation.
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        if let Some(op) = self.lost_at {
            return Err(FlashError::PowerLost { op });
        }
        let align = self.geometry.write_size;
        let len32 = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        if !offset.is_multiple_of(align) || len32 % align != 0 {
            return Err(FlashError::NotAligned {
                offset,
                len: len32,
                align,
            });
        }
        let r = self.check_range(offset, bytes.len())?;
        if bytes.is_empty() {
            return Ok(());
        }
        let first = self.geometry.sector_index(offset);
        let last_byte = offset + (len32 - 1);
        let known_erased =
            self.erased_from[first] <= offset && last_byte < self.geometry.bounds[first + 1];
        if !known_erased {
            if let Some(i) = first_programmed(&self.data[r.clone()], self.geometry.erased) {
                return Err(FlashError::NotErased {
                    address: offset + i as u32,
                });
            }
        }
        let mode = self.begin_op()?;
        let n = match mode {
            None => bytes.len(),
            Some(CutMode::Torn) => bytes.len() / 2,
            Some(CutMode::Clean) => 0,
        };
        if n > 0 {
            let done = r.start..r.start + n;
            self.data[done].copy_from_slice(&bytes[..n]);
            if mode.is_none() {
                if let Some(log) = &mut self.recording {
                    log.push(FlashOp::Write {
                        offset,
                        bytes: bytes.to_vec(),
                    });
                }
            }
            let end = offset + n as u32;
            let last = self.geometry.sector_index(end - 1);
            self.dirty[first..=last].fill(true);
            // Every cell written was erased before, and those above the
            // written range in each sector are untouched.
            for index in first..=last {
                let sector_end = self.geometry.bounds[index + 1];
                let mark = &mut self.erased_from[index];
                *mark = (*mark).max(end.min(sector_end));
            }
            let time = self.timing.program_us(offset, n as u32);
            let c = self.counters_for(offset);
            c.writes += 1;
            c.bytes_written += n as u64;
            c.time_us += time;
        }
        match mode {
            None => Ok(()),
            Some(_) => Err(FlashError::PowerLost { op: self.ops }),
        }
    }
}
