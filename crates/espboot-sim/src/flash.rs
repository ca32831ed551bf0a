//! A simulated NOR flash with MCUboot-simulator semantics and power-cut
//! injection.
//!
//! Rules enforced (the same as MCUboot's `sim/simflash`, reference
//! mcuboot.md §6):
//! - erase works on whole sectors and sets every byte to the erased value
//!   (0xff or 0x00);
//! - program (write) must be aligned to the write size in address and length
//!   and may only touch cells that still hold the erased value ("write once
//!   per erase", tracked per byte). Programming the erased value itself
//!   changes no bit, so such a cell stays programmable, as on real NOR
//!   flash: MCUboot relies on that when it copies a whole sector, trailer
//!   area included, and later sets a flag in it. It is also what a cell
//!   loaded from a `flash.bin` looks like, so a device behaves the same
//!   whether or not it was saved in between;
//! - the sector map is runtime geometry: uniform (the ESP 4 KiB sectors) or
//!   non-uniform (e.g. the STM32F4 16/64/128 KiB mix).
//!
//! Every erased sector and every write call is one *operation*. A power cut
//! can be armed at operation `n` (1-based, counted from [`SimFlash::arm_power_cut`]):
//! operations before `n` complete, operation `n` either does not happen
//! ([`CutMode::Clean`]) or is torn ([`CutMode::Torn`]: the first half of the
//! bytes are programmed, or the first half of the sector is erased), and it
//! and every later access returns [`FlashError::PowerLost`] until
//! [`SimFlash::power_cycle`].

use std::ops::Range;

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Errors of the simulated flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlashError {
    /// Address or length is not a multiple of the write size.
    #[error("flash write at {offset:#x}+{len:#x} is not aligned to the write size {align}")]
    NotAligned { offset: u32, len: u32, align: u32 },
    /// An erase range that does not start and end on sector boundaries.
    #[error("flash erase {from:#x}..{to:#x} does not start and end on sector boundaries")]
    NotSectorAligned { from: u32, to: u32 },
    /// Access beyond the end of the flash.
    #[error("flash access {offset:#x}+{len:#x} is beyond the flash size {capacity:#x}")]
    OutOfBounds {
        offset: u32,
        len: u32,
        capacity: u32,
    },
    /// Programming a cell that was already programmed (to a value other than
    /// the erased value) since its last erase.
    #[error("flash write to {address:#x}, which was already programmed since its last erase")]
    NotErased { address: u32 },
    /// The injected power cut happened (at operation `op`), or the device is
    /// still without power.
    #[error("power lost at flash operation {op}")]
    PowerLost { op: u64 },
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::NotAligned { .. } | Self::NotSectorAligned { .. } => {
                NorFlashErrorKind::NotAligned
            }
            Self::OutOfBounds { .. } => NorFlashErrorKind::OutOfBounds,
            Self::NotErased { .. } | Self::PowerLost { .. } => NorFlashErrorKind::Other,
        }
    }
}

/// Errors building a flash geometry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GeometryError {
    #[error("sector map is empty")]
    Empty,
    #[error("sector size {0:#x} is not a positive multiple of the write size {1}")]
    BadSector(u32, u32),
    #[error("write size {0} is not one of 1, 2, 4, 8, 16, 32")]
    BadWriteSize(u32),
    #[error("flash larger than 4 GiB")]
    TooLarge,
}

/// How an armed power cut treats the interrupted operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CutMode {
    /// The interrupted operation does not happen at all.
    Clean,
    /// The interrupted operation is half done: a write programs the first
    /// half of its bytes, an erase erases the first half of the sector.
    Torn,
}

impl CutMode {
    /// `clean` or `torn`, as sweep reports name the modes.
    pub fn name(self) -> &'static str {
        match self {
            CutMode::Clean => "clean",
            CutMode::Torn => "torn",
        }
    }
}

/// The physical layout of a flash device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// Start offset of every sector, plus the capacity as a final entry.
    bounds: Vec<u32>,
    /// Size of every sector when uniform (fast address → sector lookup).
    uniform: Option<u32>,
    write_size: u32,
    erased: u8,
}

impl Geometry {
    /// Uniform sectors: `count` sectors of `sector_size` bytes.
    pub fn uniform(
        sector_size: u32,
        count: u32,
        write_size: u32,
        erased: u8,
    ) -> Result<Self, GeometryError> {
        Self::from_runs(&[(sector_size, count)], write_size, erased)
    }

    /// A sector map given as runs of `(sector size, count)`, from address 0.
    pub fn from_runs(
        runs: &[(u32, u32)],
        write_size: u32,
        erased: u8,
    ) -> Result<Self, GeometryError> {
        if !matches!(write_size, 1 | 2 | 4 | 8 | 16 | 32) {
            return Err(GeometryError::BadWriteSize(write_size));
        }
        let mut bounds = vec![0u32];
        let mut at: u64 = 0;
        for &(size, count) in runs {
            if size == 0 || size % write_size != 0 {
                return Err(GeometryError::BadSector(size, write_size));
            }
            for _ in 0..count {
                at += u64::from(size);
                bounds.push(u32::try_from(at).map_err(|_| GeometryError::TooLarge)?);
            }
        }
        if bounds.len() < 2 {
            return Err(GeometryError::Empty);
        }
        let first = bounds[1];
        let uniform = runs
            .iter()
            .all(|&(s, c)| c == 0 || s == first)
            .then_some(first);
        Ok(Self {
            bounds,
            uniform,
            write_size,
            erased,
        })
    }

    /// Total size in bytes.
    pub fn capacity(&self) -> u32 {
        self.bounds.last().copied().unwrap_or(0)
    }

    /// Program granularity in bytes (MCUboot's `flash_area_align()`).
    pub fn write_size(&self) -> u32 {
        self.write_size
    }

    /// The value every byte has after an erase.
    pub fn erased_value(&self) -> u8 {
        self.erased
    }

    /// Number of sectors.
    pub fn sector_count(&self) -> usize {
        self.bounds.len() - 1
    }

    /// The sector holding `address` (which must be below the capacity).
    pub fn sector_index(&self, address: u32) -> usize {
        match self.uniform {
            Some(size) => (address / size) as usize,
            None => match self.bounds.binary_search(&address) {
                Ok(i) => i,
                Err(i) => i - 1,
            },
        }
    }

    /// The byte range of sector `index`.
    pub fn sector(&self, index: usize) -> Range<u32> {
        self.bounds[index]..self.bounds[index + 1]
    }

    /// Whether `address` is a sector boundary (the capacity counts as one).
    pub fn is_sector_boundary(&self, address: u32) -> bool {
        match self.uniform {
            Some(size) => address.is_multiple_of(size) && address <= self.capacity(),
            None => self.bounds.binary_search(&address).is_ok(),
        }
    }

    /// Sizes of the sectors covering `offset..offset+size` (a flash area), or
    /// `None` if the area does not start and end on sector boundaries.
    pub fn area_sectors(&self, offset: u32, size: u32) -> Option<Vec<u32>> {
        let end = offset.checked_add(size)?;
        if !self.is_sector_boundary(offset)
            || !self.is_sector_boundary(end)
            || end > self.capacity()
        {
            return None;
        }
        let first = self.sector_index(offset);
        let last = self.sector_index(end - 1);
        Some(
            (first..=last)
                .map(|i| self.sector(i).len() as u32)
                .collect(),
        )
    }
}

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
    pub name: String,
    pub range: Range<u32>,
}

/// A full copy of the flash contents, to restore cheaply with
/// [`SimFlash::restore`].
#[derive(Debug, Clone)]
pub struct Snapshot {
    data: Vec<u8>,
    /// The flash's per-sector erased marks for `data`.
    erased_from: Vec<u32>,
}

/// One flash operation as the flash saw it, recorded by
/// [`SimFlash::start_recording`]; issuing it again with [`SimFlash::replay`]
/// has exactly the original's effect (and counts as one operation, so an
/// armed power cut applies to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlashOp {
    /// Erase of one sector (an erase call over several sectors is one
    /// operation per sector).
    Erase { sector: usize },
    /// One write call.
    Write { offset: u32, bytes: Vec<u8> },
}

impl Snapshot {
    /// The flash bytes of the snapshot.
    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

#[derive(Debug, Clone, Copy)]
struct PowerCut {
    at_op: u64,
    mode: CutMode,
}

/// The simulated NOR flash. Implements [`NorFlash`] with `WRITE_SIZE = 1`
/// and `ERASE_SIZE = 1`; the real geometry is enforced at run time.
#[derive(Debug, Clone)]
pub struct SimFlash {
    geometry: Geometry,
    /// The cell contents. Whether a cell may be programmed is not stored
    /// separately: a cell is programmable exactly when it holds the erased
    /// value (see the module documentation), so `data` alone decides.
    data: Vec<u8>,
    /// Per sector: changed since the last snapshot restore.
    dirty: Vec<bool>,
    /// Per sector: an address from which every byte to the sector's end
    /// holds the erased value (the sector end when nothing is known). A
    /// write at or above it needs no check for programmed cells (NOR is
    /// mostly programmed upwards after an erase, so most writes take that
    /// path), and erasing a sector whose mark is its start changes nothing.
    erased_from: Vec<u32>,
    regions: Vec<Region>,
    /// One entry per region, then one for "outside every region".
    counters: Vec<Counters>,
    timing: TimingModel,
    /// Operations (sector erases and writes) since power-on.
    ops: u64,
    cut: Option<PowerCut>,
    /// The operation at which power was lost, while the device is off.
    lost_at: Option<u64>,
    /// Operations performed since [`Self::start_recording`], if recording.
    recording: Option<Vec<FlashOp>>,
}

impl SimFlash {
    /// A fully erased flash with the given geometry.
    pub fn new(geometry: Geometry) -> Self {
        let size = geometry.capacity() as usize;
        let sectors = geometry.sector_count();
        Self {
            data: vec![geometry.erased; size],
            dirty: vec![false; sectors],
            erased_from: geometry.bounds[..sectors].to_vec(),
            geometry,
            regions: Vec::new(),
            counters: vec![Counters::default()],
            timing: TimingModel::default(),
            ops: 0,
            cut: None,
            lost_at: None,
            recording: None,
        }
    }

    /// A flash holding `contents` (raw physical bytes, e.g. a `flash.bin`).
    /// Bytes that differ from the erased value count as programmed; bytes
    /// equal to it as erased (a fresh erase/program cycle reproduces them).
    pub fn from_bytes(geometry: Geometry, contents: &[u8]) -> Result<Self, FlashError> {
        let mut flash = Self::new(geometry);
        if contents.len() != flash.data.len() {
            return Err(FlashError::OutOfBounds {
                offset: 0,
                len: u32::try_from(contents.len()).unwrap_or(u32::MAX),
                capacity: flash.geometry.capacity(),
            });
        }
        flash.data.copy_from_slice(contents);
        let erased = flash.geometry.erased;
        for (index, mark) in flash.erased_from.iter_mut().enumerate() {
            let r = flash.geometry.sector(index);
            let cells = &flash.data[r.start as usize..r.end as usize];
            *mark = match cells.iter().rposition(|&b| b != erased) {
                Some(last) => r.start + last as u32 + 1,
                None => r.start,
            };
        }
        Ok(flash)
    }

    /// The geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The raw flash bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

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

    /// Operations (sector erases + writes) since the last power-on.
    pub fn ops(&self) -> u64 {
        self.ops
    }

    /// Arms a power cut at operation `at_op` (1-based, counted from now).
    pub fn arm_power_cut(&mut self, at_op: u64, mode: CutMode) {
        self.ops = 0;
        self.cut = Some(PowerCut { at_op, mode });
    }

    /// True once the armed cut has happened (until [`Self::power_cycle`]).
    pub fn power_lost(&self) -> bool {
        self.lost_at.is_some()
    }

    /// Restores power: disarms any cut and restarts the operation count.
    pub fn power_cycle(&mut self) {
        self.cut = None;
        self.lost_at = None;
        self.ops = 0;
    }

    /// A copy of the contents; also marks every sector clean, so a later
    /// [`Self::restore`] copies back only what changed since.
    pub fn snapshot(&mut self) -> Snapshot {
        self.dirty.fill(false);
        Snapshot {
            data: self.data.clone(),
            erased_from: self.erased_from.clone(),
        }
    }

    /// Brings `snapshot` (taken from this flash) up to date with the
    /// current contents, copying only the sectors changed since the last
    /// snapshot, restore or update, and marks every sector clean: a later
    /// [`Self::restore`] returns to the present state.
    pub fn update_snapshot(&mut self, snapshot: &mut Snapshot) {
        for (index, dirty) in self.dirty.iter_mut().enumerate() {
            if *dirty {
                let r = self.geometry.sector(index);
                let r = r.start as usize..r.end as usize;
                snapshot.data[r.clone()].copy_from_slice(&self.data[r]);
                snapshot.erased_from[index] = self.erased_from[index];
                *dirty = false;
            }
        }
    }

    /// Starts recording every operation performed (cut operations
    /// excepted), dropping an earlier recording.
    pub fn start_recording(&mut self) {
        self.recording = Some(Vec::new());
    }

    /// Stops recording and returns the operations performed since
    /// [`Self::start_recording`], in order.
    pub fn take_recording(&mut self) -> Vec<FlashOp> {
        self.recording.take().unwrap_or_default()
    }

    /// Issues `op` again, exactly as the original call did: one operation,
    /// subject to an armed power cut.
    ///
    /// # Errors
    /// As [`NorFlash::erase`] and [`NorFlash::write`].
    pub fn replay(&mut self, op: &FlashOp) -> Result<(), FlashError> {
        match op {
            FlashOp::Erase { sector } => {
                if *sector >= self.geometry.sector_count() {
                    return Err(FlashError::OutOfBounds {
                        offset: self.geometry.capacity(),
                        len: 0,
                        capacity: self.geometry.capacity(),
                    });
                }
                let r = self.geometry.sector(*sector);
                self.erase(r.start, r.end)
            }
            FlashOp::Write { offset, bytes } => self.write(*offset, bytes),
        }
    }

    /// Returns to `snapshot` (taken from this flash), copying only the
    /// sectors changed since; counters, cut and power state are reset.
    pub fn restore(&mut self, snapshot: &Snapshot) {
        for (index, dirty) in self.dirty.iter_mut().enumerate() {
            if *dirty {
                let r = self.geometry.sector(index);
                let r = r.start as usize..r.end as usize;
                self.data[r.clone()].copy_from_slice(&snapshot.data[r]);
                self.erased_from[index] = snapshot.erased_from[index];
                *dirty = false;
            }
        }
        self.reset_counters();
        self.power_cycle();
    }

    fn counters_for(&mut self, address: u32) -> &mut Counters {
        let index = self
            .regions
            .iter()
            .position(|r| r.range.contains(&address))
            .unwrap_or(self.regions.len());
        &mut self.counters[index]
    }

    /// Starts operation number `ops+1`: `Ok(None)` to perform it fully,
    /// `Ok(Some(mode))` when it is the cut operation, `Err` when power is
    /// already off.
    fn begin_op(&mut self) -> Result<Option<CutMode>, FlashError> {
        if let Some(op) = self.lost_at {
            return Err(FlashError::PowerLost { op });
        }
        self.ops += 1;
        match self.cut {
            Some(cut) if cut.at_op == self.ops => {
                self.lost_at = Some(self.ops);
                Ok(Some(cut.mode))
            }
            _ => Ok(None),
        }
    }

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn esp(write_size: u32, erased: u8) -> SimFlash {
        SimFlash::new(Geometry::uniform(0x1000, 8, write_size, erased).unwrap())
    }

    #[test]
    fn erase_sets_erased_value_by_sector() {
        for erased in [0xff, 0x00] {
            let mut f = esp(4, erased);
            f.write(0x1000, &[0x5a; 8]).unwrap();
            assert_eq!(f.data()[0x1000], 0x5a);
            assert_eq!(
                f.erase(0x1000, 0x1800),
                Err(FlashError::NotSectorAligned {
                    from: 0x1000,
                    to: 0x1800
                })
            );
            f.erase(0x1000, 0x2000).unwrap();
            assert!(f.data()[0x1000..0x2000].iter().all(|&b| b == erased));
            assert_eq!(f.total_counters().erases, 1);
        }
    }

    #[test]
    fn program_twice_without_erase_is_refused() {
        for erased in [0xff, 0x00] {
            let mut f = esp(1, erased);
            let other = !erased;
            f.write(0x10, &[other]).unwrap();
            assert_eq!(
                f.write(0x10, &[other]),
                Err(FlashError::NotErased { address: 0x10 })
            );
            f.erase(0, 0x1000).unwrap();
            f.write(0x10, &[other]).unwrap();
        }
    }

    /// Programming the erased value changes no bit, so the cell can still be
    /// programmed afterwards, as on real NOR flash (MCUboot copies whole
    /// sectors, erased trailer bytes included, then sets flags in them).
    #[test]
    fn programming_the_erased_value_leaves_the_cell_programmable() {
        for erased in [0xff, 0x00] {
            let mut f = esp(1, erased);
            f.write(0x10, &[erased]).unwrap();
            f.write(0x10, &[0x01]).unwrap();
            assert_eq!(f.data()[0x10], 0x01);
        }
    }

    #[test]
    fn alignment_is_enforced() {
        let mut f = esp(8, 0xff);
        assert!(matches!(
            f.write(4, &[0; 8]),
            Err(FlashError::NotAligned { .. })
        ));
        assert!(matches!(
            f.write(8, &[0; 4]),
            Err(FlashError::NotAligned { .. })
        ));
        f.write(8, &[0; 16]).unwrap();
        assert!(matches!(
            f.write(0x8000, &[0; 8]),
            Err(FlashError::OutOfBounds { .. })
        ));
        assert!(matches!(
            f.erase(0x8000, 0x9000),
            Err(FlashError::OutOfBounds { .. })
        ));
    }

    #[test]
    fn non_uniform_sector_map() {
        // STM32F4-like: 4 x 16K, 64K, 3 x 128K (MCUboot sim Stm32f4 device).
        let g = Geometry::from_runs(&[(0x4000, 4), (0x10000, 1), (0x20000, 3)], 4, 0xff).unwrap();
        assert_eq!(g.capacity(), 0x80000);
        assert_eq!(g.sector_index(0x10000), 4);
        assert_eq!(g.sector_index(0x1ffff), 4);
        assert_eq!(g.sector_index(0x20000), 5);
        assert!(g.is_sector_boundary(0xc000));
        assert!(!g.is_sector_boundary(0x30000));
        assert_eq!(
            g.area_sectors(0x0, 0x20000),
            Some(vec![0x4000, 0x4000, 0x4000, 0x4000, 0x10000])
        );
        assert_eq!(g.area_sectors(0x0, 0x18000), None);
        let mut f = SimFlash::new(g);
        f.write(0x10000, &[1; 4]).unwrap();
        assert!(f.erase(0x10000, 0x18000).is_err());
        f.erase(0xc000, 0x20000).unwrap();
        assert_eq!(f.total_counters().erases, 2);
    }

    #[test]
    fn clean_cut_stops_at_the_cut_operation() {
        let mut f = esp(4, 0xff);
        f.arm_power_cut(2, CutMode::Clean);
        f.write(0, &[1; 4]).unwrap();
        assert_eq!(f.write(4, &[2; 4]), Err(FlashError::PowerLost { op: 2 }));
        assert_eq!(&f.data()[4..8], &[0xff; 4]);
        let mut buf = [0u8; 4];
        assert!(
            f.read(0, &mut buf).is_err(),
            "reads fail while power is off"
        );
        f.power_cycle();
        f.read(0, &mut buf).unwrap();
        assert_eq!(buf, [1; 4]);
        f.write(4, &[2; 4]).unwrap();
    }

    #[test]
    fn torn_write_programs_a_prefix_and_torn_erase_half_a_sector() {
        let mut f = esp(1, 0xff);
        f.write(0x1000, &[7; 0x1000]).unwrap();
        f.arm_power_cut(1, CutMode::Torn);
        assert!(f.write(0, &[1, 2, 3, 4]).is_err());
        assert_eq!(&f.data()[0..4], &[1, 2, 0xff, 0xff]);
        f.power_cycle();
        f.arm_power_cut(1, CutMode::Torn);
        assert!(f.erase(0x1000, 0x2000).is_err());
        assert!(f.data()[0x1000..0x1800].iter().all(|&b| b == 0xff));
        assert!(f.data()[0x1800..0x2000].iter().all(|&b| b == 7));
        f.power_cycle();
        // The erased half may be programmed again; the other half may not.
        f.write(0x1000, &[1]).unwrap();
        assert!(f.write(0x1800, &[1]).is_err());
    }

    #[test]
    fn multi_sector_erase_counts_one_operation_per_sector() {
        let mut f = esp(4, 0xff);
        f.arm_power_cut(3, CutMode::Clean);
        f.write(0x2000, &[0; 4]).unwrap();
        assert!(f.erase(0, 0x3000).is_err());
        assert_eq!(f.total_counters().erases, 1);
        assert_eq!(f.data()[0x2000], 0, "third sector not erased");
    }

    #[test]
    fn counters_per_region_and_timing() {
        let mut f = esp(4, 0xff);
        f.add_region("primary", 0..0x4000);
        f.add_region("secondary", 0x4000..0x8000);
        f.erase(0, 0x2000).unwrap();
        f.write(0, &[0; 256]).unwrap();
        f.write(0x4000, &[0; 8]).unwrap();
        let c = f.region_counters();
        assert_eq!(c[0].0, "primary");
        assert_eq!((c[0].1.erases, c[0].1.bytes_written), (2, 256));
        assert_eq!((c[1].1.erases, c[1].1.bytes_written), (0, 8));
        assert_eq!(c[2].0, "other");
        // 2 x 45 ms + one full page 0.4 ms.
        assert!((c[0].1.time_us - 90_400.0).abs() < 1e-6);
        // 8 bytes: 30 + 7 x 2.5 µs.
        assert!((c[1].1.time_us - 47.5).abs() < 1e-6);
        let t = TimingModel::default();
        assert_eq!(t.erase_us(0x20000), 300_000.0);
        assert_eq!(t.erase_us(0x4000), 180_000.0);
    }

    #[test]
    fn restore_returns_to_snapshot() {
        let mut f = esp(4, 0xff);
        f.write(0, &[1; 4]).unwrap();
        let snap = f.snapshot();
        f.erase(0, 0x1000).unwrap();
        f.write(0x3000, &[2; 4]).unwrap();
        f.restore(&snap);
        assert_eq!(f.data(), snap.data());
        assert!(
            f.write(0, &[3; 4]).is_err(),
            "programmed state restored too"
        );
        assert_eq!(f.total_counters(), Counters::default());
    }

    /// The page-wise program time: partial first and last pages, whole
    /// pages in between (the reference is the page-by-page definition).
    #[test]
    fn program_time_is_the_sum_over_pages() {
        let t = TimingModel {
            first_byte_us: 0.3,
            next_byte_us: 0.1,
            page_program_us: 7.7,
            page_size: 16,
            ..TimingModel::default()
        };
        for offset in 0..40u32 {
            for len in 0..70u32 {
                let mut want = 0.0;
                let mut at = offset;
                while at < offset + len {
                    let page_end = ((at / 16 + 1) * 16).min(offset + len);
                    let n = page_end - at;
                    want += (0.3 + f64::from(n - 1) * 0.1).min(7.7);
                    at = page_end;
                }
                assert_eq!(
                    t.program_us(offset, len).to_bits(),
                    want.to_bits(),
                    "{offset}+{len}"
                );
            }
        }
    }

    #[test]
    fn update_snapshot_moves_the_restore_point() {
        let mut f = esp(4, 0xff);
        let mut snap = f.snapshot();
        f.write(0x1000, &[1; 4]).unwrap();
        f.update_snapshot(&mut snap);
        assert_eq!(&snap.data()[0x1000..0x1004], &[1; 4]);
        f.erase(0x1000, 0x2000).unwrap();
        f.write(0x2000, &[2; 4]).unwrap();
        f.restore(&snap);
        assert_eq!(f.data(), snap.data());
        assert_eq!(&f.data()[0x1000..0x1004], &[1; 4]);
        assert_eq!(&f.data()[0x2000..0x2004], &[0xff; 4]);
    }

    /// Replaying a recording on the starting state reproduces the end
    /// state; the cut operation is not recorded, and a replayed operation
    /// obeys an armed cut like the original call.
    #[test]
    fn replay_reproduces_recorded_operations() {
        let mut f = esp(4, 0xff);
        f.write(0x3000, &[9; 8]).unwrap();
        let start = f.clone();
        f.start_recording();
        f.erase(0x3000, 0x5000).unwrap();
        f.write(0x3000, &[1; 8]).unwrap();
        f.arm_power_cut(1, CutMode::Torn);
        assert!(f.write(0x4000, &[2; 8]).is_err());
        let log = f.take_recording();
        assert_eq!(
            log,
            vec![
                FlashOp::Erase { sector: 3 },
                FlashOp::Erase { sector: 4 },
                FlashOp::Write {
                    offset: 0x3000,
                    bytes: vec![1; 8]
                },
            ]
        );
        let mut g = start.clone();
        for op in &log {
            g.replay(op).unwrap();
        }
        g.arm_power_cut(1, CutMode::Torn);
        assert!(g
            .replay(&FlashOp::Write {
                offset: 0x4000,
                bytes: vec![2; 8]
            })
            .is_err());
        assert_eq!(f.data(), g.data());
        assert!(g.replay(&FlashOp::Erase { sector: 8 }).is_err());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Erase(usize),
        Write(u32, Vec<u8>),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0usize..4).prop_map(Op::Erase),
            (0u32..0x4000, proptest::collection::vec(any::<u8>(), 0..64))
                .prop_map(|(o, b)| Op::Write(o, b)),
        ]
    }

    #[derive(Debug, Clone)]
    enum Step {
        Erase(usize),
        Write(u32, Vec<u8>),
        TornErase(usize),
        TornWrite(u32, Vec<u8>),
        Snapshot,
        Restore,
    }

    fn step() -> impl Strategy<Value = Step> {
        let bytes =
            || proptest::collection::vec(prop_oneof![Just(0xffu8), Just(0x00), any::<u8>()], 0..48);
        // Offsets cluster at the start and the end of the sectors, so
        // writes overlap each other and cross sector boundaries.
        let offset =
            || (0u32..4, prop_oneof![0u32..96, 0xfa0u32..0x1000]).prop_map(|(s, o)| s * 0x1000 + o);
        prop_oneof![
            (0usize..4).prop_map(Step::Erase),
            (offset(), bytes()).prop_map(|(o, b)| Step::Write(o, b)),
            (0usize..4).prop_map(Step::TornErase),
            (offset(), bytes()).prop_map(|(o, b)| Step::TornWrite(o, b)),
            Just(Step::Snapshot),
            Just(Step::Restore),
        ]
    }

    proptest! {
        /// A write is accepted exactly when every cell it covers holds the
        /// erased value (the definition; the flash short-cuts the check
        /// with per-sector marks), through torn operations, snapshots and
        /// restores.
        #[test]
        fn write_acceptance_matches_the_erased_value_rule(
            steps in proptest::collection::vec(step(), 1..60),
            erased in prop_oneof![Just(0xffu8), Just(0x00)],
        ) {
            let g = Geometry::uniform(0x1000, 4, 1, erased).unwrap();
            let mut f = SimFlash::new(g);
            let mut model = vec![erased; 0x4000];
            let mut snap = (f.snapshot(), model.clone());
            for st in &steps {
                match st {
                    Step::Erase(s) | Step::TornErase(s) => {
                        let torn = matches!(st, Step::TornErase(_));
                        if torn { f.arm_power_cut(1, CutMode::Torn); }
                        let r = f.erase(*s as u32 * 0x1000, (*s as u32 + 1) * 0x1000);
                        prop_assert_eq!(r.is_err(), torn);
                        let n = if torn { 0x800 } else { 0x1000 };
                        model[s * 0x1000..s * 0x1000 + n].fill(erased);
                    }
                    Step::Write(o, b) | Step::TornWrite(o, b) => {
                        let torn = matches!(st, Step::TornWrite(..));
                        let o = *o as usize;
                        let fits = o + b.len() <= 0x4000;
                        let ok = fits && model[o..o + b.len()].iter().all(|&c| c == erased);
                        if torn { f.arm_power_cut(1, CutMode::Torn); }
                        let r = f.write(o as u32, b);
                        if !ok {
                            let refused = r.is_err() && !matches!(r, Err(FlashError::PowerLost { .. }));
                            prop_assert!(refused, "{:?}", r);
                        } else if torn && !b.is_empty() {
                            let lost = matches!(r, Err(FlashError::PowerLost { .. }));
                            prop_assert!(lost);
                            model[o..o + b.len() / 2].copy_from_slice(&b[..b.len() / 2]);
                        } else {
                            prop_assert!(r.is_ok(), "{:?}", r);
                            model[o..o + b.len()].copy_from_slice(b);
                        }
                    }
                    Step::Snapshot => snap = (f.snapshot(), model.clone()),
                    Step::Restore => {
                        f.restore(&snap.0);
                        model.clone_from(&snap.1);
                    }
                }
                f.power_cycle();
                prop_assert_eq!(f.data(), &model[..]);
                // Every erased mark holds, and a loaded copy's marks too.
                let loaded = SimFlash::from_bytes(f.geometry().clone(), f.data()).unwrap();
                for g in [&f, &loaded] {
                    for (index, &mark) in g.erased_from.iter().enumerate() {
                        let end = g.geometry.sector(index).end;
                        prop_assert!(g.data[mark as usize..end as usize].iter().all(|&b| b == erased));
                    }
                }
            }
        }
    }

    proptest! {
        /// The flash behaves like a reference model: erase resets a sector,
        /// a write succeeds iff aligned, in bounds and over unprogrammed
        /// cells; a power cut at op k leaves exactly ops 1..k-1 applied.
        #[test]
        fn matches_reference_model(ops in proptest::collection::vec(op(), 1..40),
                                   ws in prop_oneof![Just(1u32), Just(4), Just(8), Just(32)],
                                   erased in prop_oneof![Just(0xffu8), Just(0x00)],
                                   cut in 1u64..50) {
            let g = Geometry::uniform(0x1000, 4, ws, erased).unwrap();
            let mut f = SimFlash::new(g.clone());
            let mut model = vec![erased; 0x4000];
            let mut prog = vec![false; 0x4000];
            f.arm_power_cut(cut, CutMode::Clean);
            let mut performed = 0u64;
            for op in &ops {
                let r = match op {
                    Op::Erase(s) => f.erase(*s as u32 * 0x1000, (*s as u32 + 1) * 0x1000),
                    Op::Write(o, b) => f.write(*o, b),
                };
                let lost = performed + 1 >= cut;
                match op {
                    Op::Erase(s) => {
                        if lost { let was_lost = matches!(r, Err(FlashError::PowerLost { .. })); prop_assert!(was_lost); break; }
                        prop_assert!(r.is_ok());
                        performed += 1;
                        model[s * 0x1000..(s + 1) * 0x1000].fill(erased);
                        prog[s * 0x1000..(s + 1) * 0x1000].fill(false);
                    }
                    Op::Write(o, b) => {
                        let o = *o as usize;
                        let ok = o.is_multiple_of(ws as usize) && b.len() % ws as usize == 0
                            && o + b.len() <= 0x4000 && !prog[o..o + b.len()].iter().any(|&p| p);
                        if !ok { let refused = r.is_err() && !matches!(r, Err(FlashError::PowerLost { .. })); prop_assert!(refused); continue; }
                        if b.is_empty() { prop_assert!(r.is_ok()); continue; }
                        if lost { let was_lost = matches!(r, Err(FlashError::PowerLost { .. })); prop_assert!(was_lost); break; }
                        prop_assert!(r.is_ok());
                        performed += 1;
                        model[o..o + b.len()].copy_from_slice(b);
                        prog[o..o + b.len()].fill(true);
                    }
                }
            }
            prop_assert_eq!(f.data(), &model[..]);
        }
    }
}
