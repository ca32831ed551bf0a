//! The power-cut sweep of the whole chip (ROM, first boot, MCUboot, app
//! loading), including flash encryption.

use super::*;
use flash_sim::flash::FlashOp;
use flash_sim::sweep::torn_hazard;

/// What a sweep compares after each resumed boot.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    /// The images started.
    images: Vec<RunningImage>,
    /// Per slot, the image it holds as the app reads it (decrypted).
    slots: Vec<Option<Vec<u8>>>,
}

/// Observes `device` after the boot that produced `report`.
fn observed(
    device: &mut Device,
    report: &ChipBootReport,
    writes: EncryptedWrites,
) -> Result<Observed, ChipError> {
    let images = report.boot.images.clone();
    let (setup, crypt) = flashed_setup(device)?;
    let mut port = PortFlash::new(&mut device.flash, crypt.as_deref()).with_writes(writes);
    let mut slots = Vec::new();
    for pair in &setup.images {
        for area in [pair.primary, pair.secondary] {
            let image = match flash_sim::run::image_at(&mut port, area, 0) {
                Some(range) => {
                    let mut bytes = vec![0u8; range.len()];
                    port.read(range.start, &mut bytes)?;
                    Some(bytes)
                }
                None => None,
            };
            slots.push(image);
        }
    }
    Ok(Observed { images, slots })
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

/// One cut point of [`sweep`]: power on with the cut after operation
/// `k - 1`, power on again, compare. `None` when it recovered as expected.
fn sweep_point(
    device: &Device,
    k: u64,
    mode: CutMode,
    crypt: Option<&dyn FlashCrypt>,
    log: &[FlashOp],
    expected: &Observed,
    writes: EncryptedWrites,
) -> Option<SweepFailure> {
    let mut trial = device.clone();
    let cut = power_on_with(&mut trial, Some((k - 1, mode)), writes);
    let hazard = match (mode, crypt) {
        (CutMode::Torn, _) => usize::try_from(k - 1)
            .ok()
            .and_then(|i| log.get(i))
            .map(|op| torn_hazard(&device.flash, op)),
        (CutMode::Clean, Some(crypt)) => encrypted_cut_hazard(log, k, &device.flash, crypt),
        (CutMode::Clean, None) => None,
    };
    let resumed = power_on_with(&mut trial, None, writes);
    let failure = if !cut.boot.interrupted && !cut.boot.booted {
        Failure::CutBootFailed {
            error: cut.boot.error.unwrap_or_default(),
        }
    } else if !resumed.boot.booted {
        Failure::NotBootable {
            error: resumed
                .boot
                .error
                .clone()
                .unwrap_or_else(|| "unknown".into()),
        }
    } else {
        match observed(&mut trial, &resumed, writes) {
            Ok(seen) if seen.images != expected.images => Failure::WrongImages {
                expected: expected.images.clone(),
                observed: seen.images,
            },
            Ok(seen) => seen
                .slots
                .iter()
                .zip(&expected.slots)
                .enumerate()
                .find_map(|(index, (got, want))| {
                    let slot = if index % 2 == 0 {
                        Slot::Primary
                    } else {
                        Slot::Secondary
                    };
                    image_difference(index / 2, slot, got.as_deref(), want.as_deref())
                })?,
            Err(e) => Failure::Inspection {
                error: e.to_string(),
            },
        }
    };
    Some(SweepFailure::new(k, mode, hazard, failure))
}

/// A power-cut sweep of the whole chip (ROM, first boot, MCUboot through
/// the port's flash backend, app loading): for every flash operation k of
/// the next uninterrupted power-on, power on with the cut at k, power on
/// again, and compare the images started and every slot's image (as the
/// app reads it) with the uninterrupted outcome. The device is not
/// modified. Unlike [`flash_sim::sweep::sweep_flash`] it also covers flash encryption.
pub fn sweep(
    device: &Device,
    torn: bool,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SweepReport, ChipError> {
    sweep_with(device, torn, EncryptedWrites::AsShipped, progress)
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
    let started = std::time::Instant::now();
    let mut reference = device.clone();
    reference.flash.start_recording();
    let ref_report = power_on_with(&mut reference, None, writes);
    let log = reference.flash.take_recording();
    if !ref_report.boot.booted {
        return Err(ChipError::ReferenceFails(Box::new(ref_report)));
    }
    let expected = observed(&mut reference, &ref_report, writes)?;
    let ops = ref_report.boot.flash_ops;
    let modes: &[CutMode] = if torn {
        &[CutMode::Clean, CutMode::Torn]
    } else {
        &[CutMode::Clean]
    };
    let points: Vec<(u64, CutMode)> = modes
        .iter()
        .flat_map(|&m| (1..=ops).map(move |k| (k, m)))
        .collect();
    let total = points.len() as u64;
    let (setup, crypt) = flashed_setup(&mut device.clone())?;
    // Points are independent: each starts from a copy of the device.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicU64::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(points.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(k, mode)) = points.get(index) else {
                    break;
                };
                if let Some(failure) =
                    sweep_point(device, k, mode, crypt.as_deref(), &log, &expected, writes)
                {
                    if let Ok(mut list) = failures.lock() {
                        list.push((index, failure));
                    }
                }
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(n, total);
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_default();
    failures.sort_by_key(|(index, _)| *index);
    let failures: Vec<SweepFailure> = failures.into_iter().map(|(_, f)| f).collect();
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
/// the device: with flash encryption on, every point runs the whole chip
/// ([`sweep`], through the port's encrypted flash backend); otherwise the
/// boot core's parallel sweep ([`flash_sim::sweep::sweep_flash`], on all
/// cores). The device is not modified.
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
