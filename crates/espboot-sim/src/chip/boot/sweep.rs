//! The power-cut sweep of the whole chip (ROM, first boot, MCUboot, app
//! loading), including flash encryption.

use super::*;

/// What a sweep compares after each resumed boot.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    /// The images started.
    images: Vec<RunningImage>,
    /// Per slot, the image it holds as the app reads it (decrypted).
    slots: Vec<Option<Vec<u8>>>,
}

/// Observes `device` after the boot that produced `report`.
fn observed(device: &mut Device, report: &ChipBootReport) -> Result<Observed, ChipError> {
    let images = report.boot.images.clone();
    let (setup, crypt) = flashed_setup(device)?;
    let mut port = PortFlash::new(&mut device.flash, crypt.as_deref());
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

/// The first sector that a cut left physically erased although it held
/// data before the boot: with flash encryption on, the port writes every
/// erased sector back (encrypted 0xff), so a raw-erased sector only exists
/// between a sector erase and its write-back.
fn erased_mid_rewrite(before: &Device, after: &Device) -> Option<u32> {
    let sector = SECTOR as usize;
    let old = before.flash.data();
    let new = after.flash.data();
    old.chunks(sector)
        .zip(new.chunks(sector))
        .position(|(o, n)| n.iter().all(|b| *b == 0xff) && o.iter().any(|b| *b != 0xff))
        .map(|index| (index * sector) as u32)
}

/// One cut point of [`sweep`]: power on with the cut after operation
/// `k - 1`, power on again, compare. `None` when it recovered as expected.
fn sweep_point(
    device: &Device,
    k: u64,
    mode: CutMode,
    encrypted: bool,
    expected: &Observed,
) -> Option<SweepFailure> {
    let mut trial = device.clone();
    let cut = power_on(&mut trial, Some((k - 1, mode)));
    // With flash encryption on, `esp_mcuboot.c` (`aligned_flash_write`
    // with `erase = true`) erases the whole 4 KiB sector before writing it
    // back encrypted, so a power cut in between loses the sector's other
    // bytes: the port's behaviour on silicon, not a simulator artefact.
    let hazard = if encrypted {
        erased_mid_rewrite(device, &trial).map(|sector| Hazard::EraseBeforeWrite { sector })
    } else {
        None
    };
    let resumed = power_on(&mut trial, None);
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
        match observed(&mut trial, &resumed) {
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
    Some(SweepFailure {
        operation: k,
        mode,
        hazard,
        failure,
    })
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
    let started = std::time::Instant::now();
    let mut reference = device.clone();
    let ref_report = power_on(&mut reference, None);
    if !ref_report.boot.booted {
        return Err(ChipError::ReferenceFails(Box::new(ref_report)));
    }
    let expected = observed(&mut reference, &ref_report)?;
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
    let encrypted = device
        .efuses
        .as_ref()
        .is_some_and(Efuses::flash_encryption_enabled);
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
                if let Some(failure) = sweep_point(device, k, mode, encrypted, &expected) {
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
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SweepReport, ChipError> {
    let (setup, crypt) = flashed_setup(device)?;
    if crypt.is_some() {
        sweep(device, torn, progress)
    } else {
        let options = flash_sim::sweep::SweepOptions { torn, threads: 0 };
        flash_sim::sweep::sweep_flash(&setup, &device.flash, &options, progress)
            .map_err(ChipError::FlashSweep)
    }
}
