//! How long flash operations take (a datasheet model) and what was done
//! where: per-region counters.

use std::ops::Range;

use super::SimFlash;

/// Timing of a serial NOR flash, to estimate how long an upgrade takes.
///
/// Defaults are the typical figures of the Winbond W25Q32JV datasheet
/// (§9.6 "AC Electrical Characteristics": tSE 4 KiB sector erase 45 ms,
/// tBE1 32 KiB block erase 120 ms, tBE2 64 KiB block erase 150 ms, tPP page
/// program 0.4 ms, tBP1 first byte 30 µs, tBP2 next byte 2.5 µs), a 4 MiB
/// part of the kind fitted to ESP32-C3 modules. Reads are modelled at
/// 10 MB/s (40 MHz DIO, the port's `--flash-mode dio`, mcuboot.md §7).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimingModel {
    /// Erase time of a 4 KiB sector, µs.
    pub sector_erase_4k_us: f64,
    /// Erase time of a 32 KiB block, µs.
    pub block_erase_32k_us: f64,
    /// Erase time of a 64 KiB block, µs.
    pub block_erase_64k_us: f64,
    /// Program time of a whole 256-byte page, µs.
    pub page_program_us: f64,
    /// Program time of the first byte of a partial page, µs.
    pub first_byte_us: f64,
    /// Program time of each further byte of a partial page, µs.
    pub next_byte_us: f64,
    /// Program page size (256 bytes on SPI NOR).
    pub page_size: u32,
    /// Read throughput, bytes per µs.
    pub read_bytes_per_us: f64,
}

impl Default for TimingModel {
    fn default() -> Self {
        Self {
            sector_erase_4k_us: 45_000.0,
            block_erase_32k_us: 120_000.0,
            block_erase_64k_us: 150_000.0,
            page_program_us: 400.0,
            first_byte_us: 30.0,
            next_byte_us: 2.5,
            page_size: 256,
            read_bytes_per_us: 10.0,
        }
    }
}

impl TimingModel {
    /// Time to erase one sector of `size` bytes: the cheapest combination of
    /// the chip's erase commands covering it.
    pub fn erase_us(&self, size: u32) -> f64 {
        let blocks64 = size / 0x10000;
        let rest = size % 0x10000;
        let blocks32 = rest / 0x8000;
        let rest = rest % 0x8000;
        let sectors4 = rest.div_ceil(0x1000);
        f64::from(blocks64) * self.block_erase_64k_us
            + f64::from(blocks32) * self.block_erase_32k_us
            + f64::from(sectors4) * self.sector_erase_4k_us
    }

    /// Time to program `len` bytes at `offset`, page by page.
    pub fn program_us(&self, offset: u32, len: u32) -> f64 {
        let page = self.page_size.max(1);
        let piece = |n: u32| {
            let partial = self.first_byte_us + f64::from(n.saturating_sub(1)) * self.next_byte_us;
            partial.min(self.page_program_us)
        };
        let mut total = 0.0;
        let mut at = offset;
        let end = offset.saturating_add(len);
        // Pieces in address order, each added as it comes (the sum is the
        // same, bit for bit, as adding page by page); whole pages cost the
        // same, so that piece is computed once (this runs for every write
        // of a sweep).
        let first_end = (at / page).saturating_add(1).saturating_mul(page).min(end);
        if at < end {
            total += piece(first_end - at);
            at = first_end;
        }
        let whole = piece(page);
        while end - at >= page {
            total += whole;
            at += page;
        }
        if at < end {
            total += piece(end - at);
        }
        total
    }

    /// Time to read `len` bytes.
    pub fn read_us(&self, len: u64) -> f64 {
        len as f64 / self.read_bytes_per_us
    }
}

/// Operation counters for one named region (or the whole flash).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    /// Sectors erased.
    pub erases: u64,
    /// Write calls.
    pub writes: u64,
    /// Bytes programmed.
    pub bytes_written: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Modelled time spent, µs.
    pub time_us: f64,
}

impl Counters {
    fn add(&mut self, other: &Counters) {
        self.erases += other.erases;
        self.writes += other.writes;
        self.bytes_written += other.bytes_written;
        self.bytes_read += other.bytes_read;
        self.time_us += other.time_us;
    }
}

/// A named region whose operations are counted separately (a flash area:
/// primary slot, scratch, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Name in the counters (`image 0 primary slot`, ...).
    pub name: String,
    /// Flash addresses of the region.
    pub range: Range<u32>,
}

impl SimFlash {
    /// Uses `timing` for the time estimates.
    pub fn set_timing(&mut self, timing: TimingModel) {
        self.timing = timing;
    }

    /// Counts operations on `range` separately under `name`.
    pub fn add_region(&mut self, name: impl Into<String>, range: Range<u32>) {
        self.regions.push(Region {
            name: name.into(),
            range,
        });
        self.counters
            .insert(self.regions.len() - 1, Counters::default());
    }

    /// Counters per region (in the order added), then `"other"` for
    /// operations outside every region.
    pub fn region_counters(&self) -> Vec<(&str, Counters)> {
        self.regions
            .iter()
            .map(|r| r.name.as_str())
            .chain(std::iter::once("other"))
            .zip(self.counters.iter().copied())
            .collect()
    }

    /// Counters summed over the whole flash.
    pub fn total_counters(&self) -> Counters {
        let mut total = Counters::default();
        for c in &self.counters {
            total.add(c);
        }
        total
    }

    /// Clears every counter (not the operation count).
    pub fn reset_counters(&mut self) {
        for c in &mut self.counters {
            *c = Counters::default();
        }
    }

    pub(super) fn counters_for(&mut self, address: u32) -> &mut Counters {
        let index = self
            .regions
            .iter()
            .position(|r| r.range.contains(&address))
            .unwrap_or(self.regions.len());
        &mut self.counters[index]
    }
}
