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
//!
//! Files by concern: `geometry` (the sector map), `cells` (write-once
//! cells, the `NorFlash` implementation), `cut` (power cuts, snapshots,
//! recording and replay), `timing` (the timing model and counters).

use embedded_storage::nor_flash::{NorFlashError, NorFlashErrorKind};

mod cells;
mod cut;
mod geometry;
mod timing;

#[cfg(test)]
mod tests;

pub use cut::{CutMode, FlashOp, Snapshot};
pub use geometry::{Geometry, GeometryError};
pub use timing::{Counters, Region, TimingModel};

use cut::PowerCut;

/// Errors of the simulated flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlashError {
    /// Address or length is not a multiple of the write size.
    #[error("flash write at {offset:#x}+{len:#x} is not aligned to the write size {align}")]
    NotAligned {
        /// Start address of the write.
        offset: u32,
        /// Its length.
        len: u32,
        /// The write size.
        align: u32,
    },
    /// An erase range that does not start and end on sector boundaries.
    #[error("flash erase {from:#x}..{to:#x} does not start and end on sector boundaries")]
    NotSectorAligned {
        /// Start of the range.
        from: u32,
        /// End of the range (exclusive).
        to: u32,
    },
    /// Access beyond the end of the flash.
    #[error("flash access {offset:#x}+{len:#x} is beyond the flash size {capacity:#x}")]
    OutOfBounds {
        /// Start address of the access.
        offset: u32,
        /// Its length.
        len: u32,
        /// The flash size.
        capacity: u32,
    },
    /// Programming a cell that was already programmed (to a value other than
    /// the erased value) since its last erase.
    #[error("flash write to {address:#x}, which was already programmed since its last erase")]
    NotErased {
        /// The first programmed cell.
        address: u32,
    },
    /// The injected power cut happened (at operation `op`), or the device is
    /// still without power.
    #[error("power lost at flash operation {op}")]
    PowerLost {
        /// The operation (1-based, since power-on) that was cut.
        op: u64,
    },
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

/// The simulated NOR flash. Implements [`NorFlash`](embedded_storage::nor_flash::NorFlash) with `WRITE_SIZE = 1`
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
}
