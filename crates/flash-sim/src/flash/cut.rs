//! Power cuts: arming a cut at an operation, clean or torn; snapshots to
//! return to a state cheaply; recording and replaying operations (the
//! sweep's fast path).

use embedded_storage::nor_flash::NorFlash;

use super::{FlashError, SimFlash};

/// How an armed power cut treats the interrupted operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
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
    Erase {
        /// Sector index.
        sector: usize,
    },
    /// One write call.
    Write {
        /// Start address.
        offset: u32,
        /// The bytes programmed.
        bytes: Vec<u8>,
    },
}

impl Snapshot {
    /// The flash bytes of the snapshot.
    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct PowerCut {
    at_op: u64,
    mode: CutMode,
}

impl SimFlash {
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

    /// `Ok(Some(mode))` when it is the cut operation, `Err` when power is
    /// already off.
    pub(super) fn begin_op(&mut self) -> Result<Option<CutMode>, FlashError> {
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
}
