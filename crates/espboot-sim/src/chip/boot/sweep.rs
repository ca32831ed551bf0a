//! The power-cut sweep of the whole chip (ROM, first boot, MCUboot, app
//! loading), including flash encryption.
//!
//! It runs on the sweep engine of the plain boot core
//! ([`flash_sim::sweep::run_cut_points`]): the next power-on is recorded
//! once at the physical flash level (with encryption on, the ciphertext
//! erases and programs the port's backend issues), and the state a
//! power-on cut at operation k leaves is produced by replaying operations
//! 1..k-1 and issuing operation k under the armed cut. That is exact for
//! the same reasons as on plain flash: the whole power-on is deterministic
//! (ROM, port and boot core read the same bytes up to the cut, the
//! encryption is a function of key and address), the flash refuses every
//! operation after the cut, and a power-on whose uninterrupted run burns no
//! eFuse burns none when cut (eFuses are burned only after MCUboot
//! returns). The resuming power-on then runs whole, through the decrypting
//! backend, with a byte-exact memo of the ROM stage and of MCUboot's
//! validation results ([`PowerOnMemo`]). Test:
//! `replayed_encrypted_cut_state_is_the_cut_power_ons`.

use std::ops::Range;

use super::*;
use flash_sim::flash::FlashOp;
use flash_sim::sweep::{run_cut_points, torn_hazard, CutWorker, PhysicalFlash, SweepMethod};

/// What a sweep of the whole chip does.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct ChipSweepOptions {
    /// Also sweep with torn operations (each point twice).
    pub torn: bool,
    /// How the port's backend writes with flash encryption on.
    pub writes: EncryptedWrites,
    /// How the cut states are produced: [`SweepMethod::Replay`] (the
    /// default) unless the uninterrupted power-on burns eFuses (a first
    /// boot), which only whole power-ons ([`SweepMethod::Rerun`]) model.
    pub method: SweepMethod,
    /// Worker threads; 0 = available parallelism.
    pub threads: usize,
}

impl ChipSweepOptions {
    /// Clean cuts (and torn ones with `torn`), the port as shipped, replay.
    pub fn new(torn: bool) -> Self {
        ChipSweepOptions {
            torn,
            ..Self::default()
        }
    }

    /// The same with the port's encrypted writes done as `writes` says.
    pub fn with_writes(mut self, writes: EncryptedWrites) -> Self {
        self.writes = writes;
        self
    }

    /// The same with the cut states produced as `method` says.
    pub fn with_method(mut self, method: SweepMethod) -> Self {
        self.method = method;
        self
    }

    /// The same on `threads` worker threads (0 = all cores).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
}

/// An image as the uninterrupted power-on leaves it in a slot.
#[derive(Debug)]
struct ExpectedImage {
    /// Where it is (header to the end of the TLV area).
    range: Range<u32>,
    /// Its bytes as the app reads them (decrypted).
    bytes: Vec<u8>,
}

/// What a sweep compares after each resumed power-on, and with what.
struct Judge<'a> {
    setup: &'a OwnedBootConfig,
    crypt: Option<&'a dyn FlashCrypt>,
    writes: EncryptedWrites,
    /// The images the uninterrupted power-on started.
    images: Vec<RunningImage>,
    /// Per slot (image 0 primary, image 0 secondary, ...), its image.
    slots: Vec<Option<ExpectedImage>>,
    /// The physical flash after the uninterrupted power-on.
    data: Vec<u8>,
}

impl<'a> Judge<'a> {
    /// The expectation: `flash` as the uninterrupted power-on `report`
    /// left it.
    fn new(
        setup: &'a OwnedBootConfig,
        crypt: Option<&'a dyn FlashCrypt>,
        writes: EncryptedWrites,
        flash: &mut SimFlash,
        report: &ChipBootReport,
    ) -> Result<Self, ChipError> {
        let mut slots = Vec::new();
        let mut port = PortFlash::new(flash, crypt).with_writes(writes);
        for pair in &setup.images {
            for area in [pair.primary, pair.secondary] {
                let image = match flash_sim::run::image_at(&mut port, area, 0) {
                    Some(range) => {
                        let mut bytes = vec![0u8; range.len()];
                        port.read(range.start, &mut bytes)?;
                        Some(ExpectedImage { range, bytes })
                    }
                    None => None,
                };
                slots.push(image);
            }
        }
        Ok(Judge {
            setup,
            crypt,
            writes,
            images: report.boot.images.clone(),
            slots,
            data: flash.data().to_vec(),
        })
    }

    /// The failure of a cut point whose resuming power-on gave `resumed`
    /// on `flash`: it must start the expected images, and every slot must
    /// hold the expected image as the app reads it. `None` = pass.
    fn check(&self, flash: &mut SimFlash, resumed: &ChipBootReport) -> Option<Failure> {
        if !resumed.boot.booted {
            return Some(Failure::NotBootable {
                error: resumed
                    .boot
                    .error
                    .clone()
                    .unwrap_or_else(|| "unknown".into()),
            });
        }
        if resumed.boot.images != self.images {
            return Some(Failure::WrongImages {
                expected: self.images.clone(),
                observed: resumed.boot.images.clone(),
            });
        }
        let mut port = PortFlash::new(flash, self.crypt).with_writes(self.writes);
        let areas = self.setup.images.iter().flat_map(|pair| {
            [
                (pair.primary, Slot::Primary),
                (pair.secondary, Slot::Secondary),
            ]
        });
        for (index, ((area, slot), want)) in areas.zip(&self.slots).enumerate() {
            let got = flash_sim::run::image_at(&mut port, area, 0);
            if let (Some(range), Some(want)) = (&got, want) {
                // The same physical bytes where the expected image lies
                // are the same image as the app reads it (same key, same
                // addresses): no need to decrypt.
                let raw = port.depends_on(range.clone());
                let raw = raw.start as usize..raw.end as usize;
                if *range == want.range
                    && port.physical().data().get(raw.clone()) == self.data.get(raw)
                {
                    continue;
                }
            }
            let got = match got {
                Some(range) => {
                    let mut bytes = vec![0u8; range.len()];
                    if let Err(e) = port.read(range.start, &mut bytes) {
                        return Some(Failure::Inspection {
                            error: ChipError::from(e).to_string(),
                        });
                    }
                    Some(bytes)
                }
                None => None,
            };
            let want = want.as_ref().map(|w| w.bytes.as_slice());
            if let Some(failure) = image_difference(index / 2, slot, got.as_deref(), want) {
                return Some(failure);
            }
        }
        None
    }
}

/// The class of a clean cut before operation `k` of the recorded
/// uninterrupted boot `log`, on a device with flash encryption on.
///
/// Every operation of the port's encrypted backend starts with a physical
/// erase (`esp_mcuboot.c`: `flash_area_write` erases the sectors it writes,
/// `aligned_flash_write(.., erase = true)`; `flash_area_erase` erases, then
/// writes the erased value back encrypted). So a clean cut before a
/// physical write, or between the erases of consecutive sectors, lands
/// inside one backend operation, with sectors erased and not yet written
/// back: they read as the decryption of erased flash. When the data that
/// was about to be written decrypts to all 0xff, the cut interrupted an
/// erase's write-back ([`Hazard::EraseWriteBack`]); otherwise a write's
/// erase-before-write ([`Hazard::EraseBeforeWrite`]). A cut before an
/// erase that follows a write is at a backend-operation boundary: the
/// state a plain NOR flash can also be in, which MCUboot must survive
/// (`None`).
fn encrypted_cut_hazard(
    log: &[FlashOp],
    k: u64,
    flash: &SimFlash,
    crypt: &dyn FlashCrypt,
) -> Option<Hazard> {
    let index = usize::try_from(k.checked_sub(1)?).ok()?;
    let previous = log.get(index.checked_sub(1)?)?;
    let inside = match log.get(index)? {
        FlashOp::Write { .. } => true,
        FlashOp::Erase { .. } => matches!(previous, FlashOp::Erase { .. }),
    };
    if !inside {
        return None;
    }
    // The sector erased and not yet written back: the one of the last
    // erase before the cut.
    let sector = log[..index].iter().rev().find_map(|op| match op {
        FlashOp::Erase { sector } => Some(flash.geometry().sector(*sector).start),
        FlashOp::Write { .. } => None,
    })?;
    // What the backend operation was about to write: the next write.
    let fill = log[index..].iter().find_map(|op| match op {
        FlashOp::Write { offset, bytes } => {
            let mut plain = bytes.clone();
            Some(crypt.decrypt(*offset, &mut plain).is_ok() && plain.iter().all(|b| *b == 0xff))
        }
        FlashOp::Erase { .. } => None,
    })?;
    Some(if fill {
        Hazard::EraseWriteBack { sector }
    } else {
        Hazard::EraseBeforeWrite { sector }
    })
}

/// A worker of the chip sweep: its own copy of the device (the engine
/// brings its flash to each cut state) and memo.
struct ChipWorker<'a> {
    judge: &'a Judge<'a>,
    initial: &'a Device,
    device: Device,
    memo: Option<PowerOnMemo>,
}

impl CutWorker for ChipWorker<'_> {
    fn flash(&mut self) -> &mut SimFlash {
        &mut self.device.flash
    }

    fn resume(&mut self) -> Option<Failure> {
        let (resumed, memo) =
            power_on_memo(&mut self.device, None, self.judge.writes, self.memo.take());
        self.memo = memo;
        if !resumed.first_boot.is_empty() {
            // It burned eFuses (the uninterrupted power-on burns none, so
            // this is a failure's detour): the next point starts from the
            // device's eFuses again, and the memo, valid for one set of
            // eFuses, is dropped.
            self.device.efuses = self.initial.efuses.clone();
            self.memo = Some(PowerOnMemo::default());
        }
        self.judge.check(&mut self.device.flash, &resumed)
    }

    /// Two whole power-ons, the first cut at operation `k`.
    fn rerun(&mut self, k: u64, mode: CutMode) -> Option<Failure> {
        // the flash is the device's (the engine restored it); the eFuses
        // may have been burned by the previous point
        self.device.efuses = self.initial.efuses.clone();
        let writes = self.judge.writes;
        let cut = power_on_with(&mut self.device, Some((k - 1, mode)), writes);
        if !cut.boot.interrupted && !cut.boot.booted {
            return Some(Failure::CutBootFailed {
                error: cut.boot.error.unwrap_or_default(),
            });
        }
        let resumed = power_on_with(&mut self.device, None, writes);
        self.judge.check(&mut self.device.flash, &resumed)
    }
}

/// A power-cut sweep of the whole chip (ROM, first boot, MCUboot through
/// the port's flash backend, app loading): for every flash operation k of
/// the next uninterrupted power-on, power on with the cut at k, power on
/// again, and compare the images started and every slot's image (as the
/// app reads it) with the uninterrupted outcome. The device is not
/// modified. Unlike [`flash_sim::sweep::sweep_flash`] it also covers flash
/// encryption.
pub fn sweep(
    device: &Device,
    torn: bool,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SweepReport, ChipError> {
    sweep_chip(device, &ChipSweepOptions::new(torn), progress)
}

/// [`sweep`] with the port's encrypted writes done as `writes` says: with
/// [`EncryptedWrites::ProgramErased`] it shows what the opt-in fix of the
/// port removes.
pub fn sweep_with(
    device: &Device,
    torn: bool,
    writes: EncryptedWrites,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SweepReport, ChipError> {
    sweep_chip(
        device,
        &ChipSweepOptions::new(torn).with_writes(writes),
        progress,
    )
}

/// [`sweep`] as `options` say. Both methods report the same cut points,
/// failures and classes (test `replay_and_power_on_chip_sweeps_agree`).
pub fn sweep_chip(
    device: &Device,
    options: &ChipSweepOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SweepReport, ChipError> {
    let started = std::time::Instant::now();
    let writes = options.writes;
    let mut reference = device.clone();
    reference.flash.start_recording();
    let ref_report = power_on_with(&mut reference, None, writes);
    let log = reference.flash.take_recording();
    if !ref_report.boot.booted {
        return Err(ChipError::ReferenceFails(Box::new(ref_report)));
    }
    let (setup, crypt) = flashed_setup(&mut device.clone())?;
    let judge = Judge::new(
        &setup,
        crypt.as_deref(),
        writes,
        &mut reference.flash,
        &ref_report,
    )?;
    let ops = ref_report.boot.flash_ops;
    let modes: &[CutMode] = if options.torn {
        &[CutMode::Clean, CutMode::Torn]
    } else {
        &[CutMode::Clean]
    };
    // A first boot (eFuse burns, the reset after enabling flash
    // encryption) makes the cut power-on differ from a prefix of the
    // recording in more than flash: only whole power-ons model it.
    let method = if ref_report.first_boot.is_empty() && ref_report.resets == 0 {
        options.method
    } else {
        SweepMethod::Rerun
    };
    let make_worker = || ChipWorker {
        judge: &judge,
        initial: device,
        device: device.clone(),
        memo: Some(PowerOnMemo::default()),
    };
    let failures = run_cut_points(&log, modes, options.threads, method, &make_worker, progress);
    let failures = failures
        .into_iter()
        .map(|(k, mode, failure)| {
            let hazard = match (mode, crypt.as_deref()) {
                (CutMode::Torn, _) => usize::try_from(k - 1)
                    .ok()
                    .and_then(|i| log.get(i))
                    .map(|op| torn_hazard(&device.flash, op)),
                (CutMode::Clean, Some(crypt)) => {
                    encrypted_cut_hazard(&log, k, &device.flash, crypt)
                }
                (CutMode::Clean, None) => None,
            };
            SweepFailure::new(k, mode, hazard, failure)
        })
        .collect();
    Ok(SweepReport::finish(
        setup.strategy,
        ops,
        modes,
        failures,
        started,
        ref_report.boot,
    ))
}

/// The power-cut sweep `espboot sim sweep` runs, with the engine chosen by
/// the device: with flash encryption on, the whole chip ([`sweep_chip`],
/// through the port's encrypted flash backend, replaying the recording);
/// otherwise the boot core's sweep ([`flash_sim::sweep::sweep_flash`]).
/// Both run on all cores. The device is not modified.
pub fn sweep_device(
    device: &mut Device,
    torn: bool,
    writes: EncryptedWrites,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SweepReport, ChipError> {
    let (setup, crypt) = flashed_setup(device)?;
    if crypt.is_some() {
        sweep_with(device, torn, writes, progress)
    } else {
        let options = flash_sim::sweep::SweepOptions { torn, threads: 0 };
        flash_sim::sweep::sweep_flash(&setup, &device.flash, &options, progress)
            .map_err(ChipError::FlashSweep)
    }
}
