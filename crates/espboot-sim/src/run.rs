//! Running the boot core on a simulated flash: one boot, the application
//! API, and the power-cut sweep with its invariant checks.
//!
//! [`Setup`] is the owned, serialisable twin of `mcuboot_boot::BootConfig`
//! (which borrows its slices); [`Setup::with_config`] lends one out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use mcuboot_boot::{
    Area, BootConfig, BootError, BootResponse, DowngradePrevention, FlagState, ImageSlots,
    MagicState, SectorLayout, SectorRun, SignatureKind, Slot, SwapType, TrailerState,
    UpgradeStrategy, ValidationCache,
};
use mcuboot_image::ImageSource;
use serde::Serialize;

use crate::config::{Downgrade, FlashMap, Signature, Strategy};
use crate::device::Device;
use crate::flash::{CutMode, FlashError, FlashOp, Geometry, GeometryError, SimFlash};

/// Errors of the application-side calls and of sweeps.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error("{0}")]
    Boot(String),
    #[error("flash geometry: {0}")]
    Geometry(#[from] GeometryError),
    #[error("the uninterrupted boot fails, nothing to sweep against: {0}")]
    ReferenceFails(String),
}

/// Everything the boot core is configured with, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    pub images: Vec<ImageSlots>,
    pub scratch: Option<Area>,
    pub strategy: UpgradeStrategy,
    pub downgrade: DowngradePrevention,
    pub write_size: u32,
    pub max_align: u32,
    pub erased_val: u8,
    pub max_sectors: u32,
    pub bootstrap: bool,
    /// Embedded public keys (DER, as `imgtool getpub` prints them).
    pub keys: Vec<Vec<u8>>,
    pub signature: Option<SignatureKind>,
    /// Physical sector map from address 0: `(sector size, count)` runs.
    pub sector_runs: Vec<(u32, u32)>,
}

impl Setup {
    /// The setup of a device's flash map (the Espressif port: uniform
    /// sectors, no bootstrap).
    pub fn from_map(map: &FlashMap, keys: Vec<Vec<u8>>) -> Self {
        let area = |s: crate::config::Span| Area::new(s.offset, s.size);
        Self {
            images: map
                .images
                .iter()
                .map(|p| ImageSlots {
                    primary: area(p.primary),
                    secondary: area(p.secondary),
                })
                .collect(),
            scratch: map.scratch.map(area),
            strategy: strategy(map.strategy),
            downgrade: match map.downgrade {
                Downgrade::Off => DowngradePrevention::Off,
                Downgrade::Version => DowngradePrevention::Version,
                Downgrade::SecurityCounter => DowngradePrevention::SecurityCounter,
            },
            write_size: map.write_size,
            max_align: map.max_align,
            erased_val: map.erased_val,
            max_sectors: map.max_sectors,
            bootstrap: false,
            keys,
            signature: match map.signature {
                Signature::None => None,
                Signature::Ec256 => Some(SignatureKind::EcdsaP256),
                Signature::Ed25519 => Some(SignatureKind::Ed25519),
                Signature::Rsa2048 => Some(SignatureKind::Rsa2048),
                Signature::Rsa3072 => Some(SignatureKind::Rsa3072),
            },
            sector_runs: vec![(map.sector_size, map.flash_size / map.sector_size)],
        }
    }

    /// The physical flash geometry.
    pub fn geometry(&self) -> Result<Geometry, GeometryError> {
        Geometry::from_runs(&self.sector_runs, self.write_size, self.erased_val)
    }

    /// A fully erased flash of this setup, with counters per area.
    pub fn new_flash(&self) -> Result<SimFlash, GeometryError> {
        let mut flash = SimFlash::new(self.geometry()?);
        for (i, slots) in self.images.iter().enumerate() {
            flash.add_region(format!("image {i} primary slot"), range(slots.primary));
            flash.add_region(format!("image {i} secondary slot"), range(slots.secondary));
        }
        if let Some(s) = self.scratch {
            flash.add_region("scratch", range(s));
        }
        Ok(flash)
    }

    /// Calls `f` with the boot core's view of this setup.
    pub fn with_config<R>(&self, f: impl FnOnce(&BootConfig<'_>) -> R) -> R {
        let key_refs: Vec<&[u8]> = self.keys.iter().map(Vec::as_slice).collect();
        let runs: Vec<SectorRun>;
        let sectors = match self.sector_runs.as_slice() {
            [(size, _)] => SectorLayout::Uniform(*size),
            many => {
                let mut start = 0u32;
                runs = many
                    .iter()
                    .map(|&(sector_size, count)| {
                        let run = SectorRun {
                            start,
                            sector_size,
                            count,
                        };
                        start = start.wrapping_add(sector_size.wrapping_mul(count));
                        run
                    })
                    .collect();
                SectorLayout::Runs(&runs)
            }
        };
        let cfg = BootConfig {
            images: &self.images,
            scratch: self.scratch,
            strategy: self.strategy,
            downgrade: self.downgrade,
            write_size: self.write_size,
            sectors,
            max_align: self.max_align,
            erased_val: self.erased_val,
            max_sectors: self.max_sectors,
            bootstrap: self.bootstrap,
            keys: &key_refs,
            signature: self.signature,
            encryption: None,
        };
        f(&cfg)
    }

    /// One boot.
    pub fn boot(&self, flash: &mut SimFlash) -> Result<BootResponse, BootError<FlashError>> {
        self.with_config(|cfg| mcuboot_boot::boot(flash, cfg))
    }

    /// One boot that takes validation results from `cache` when the
    /// image bytes are unchanged (see [`ValidationMemo`]).
    pub fn boot_cached(
        &self,
        flash: &mut SimFlash,
        cache: &mut dyn ValidationCache<SimFlash>,
    ) -> Result<BootResponse, BootError<FlashError>> {
        self.with_config(|cfg| mcuboot_boot::boot_cached(flash, cfg, cache))
    }

    /// `boot_set_pending` for `image`.
    pub fn set_pending(
        &self,
        flash: &mut SimFlash,
        image: usize,
        permanent: bool,
    ) -> Result<(), BootError<FlashError>> {
        self.with_config(|cfg| mcuboot_boot::set_pending(flash, cfg, image, permanent))
    }

    /// `boot_set_confirmed` for `image`.
    pub fn set_confirmed(
        &self,
        flash: &mut SimFlash,
        image: usize,
    ) -> Result<(), BootError<FlashError>> {
        self.with_config(|cfg| mcuboot_boot::set_confirmed(flash, cfg, image))
    }

    /// The decoded trailer of a slot.
    pub fn trailer(
        &self,
        flash: &mut SimFlash,
        image: usize,
        slot: Slot,
    ) -> Result<TrailerState, BootError<FlashError>> {
        self.with_config(|cfg| mcuboot_boot::read_trailer(flash, cfg, image, slot))
    }

    /// The state the invariants compare: image bytes and trailers of every
    /// slot.
    pub fn slot_states(&self, flash: &mut SimFlash) -> Result<Vec<SlotState>, String> {
        let mut out = Vec::new();
        for (image, slots) in self.images.iter().enumerate() {
            for (slot, area) in [
                (Slot::Primary, slots.primary),
                (Slot::Secondary, slots.secondary),
            ] {
                let trailer = self
                    .trailer(flash, image, slot)
                    .map_err(|e| format!("reading image {image} {slot:?} trailer: {e}"))?;
                let mut offsets = vec![0u32];
                if self.strategy == UpgradeStrategy::SwapOffset && slot == Slot::Secondary {
                    let g = flash.geometry().clone();
                    offsets.push(g.sector(g.sector_index(area.offset)).len() as u32);
                }
                let images = offsets
                    .into_iter()
                    .map(|off| image_at(flash, area, off))
                    .collect();
                out.push(SlotState {
                    image,
                    slot,
                    trailer: TrailerSummary::from(&trailer),
                    images,
                });
            }
        }
        Ok(out)
    }
}

fn range(a: Area) -> std::ops::Range<u32> {
    a.offset..a.offset.saturating_add(a.size)
}

/// The boot core's strategy for a config strategy.
pub fn strategy(s: Strategy) -> UpgradeStrategy {
    match s {
        Strategy::SwapScratch => UpgradeStrategy::SwapScratch,
        Strategy::SwapMove => UpgradeStrategy::SwapMove,
        Strategy::SwapOffset => UpgradeStrategy::SwapOffset,
        Strategy::OverwriteOnly => UpgradeStrategy::OverwriteOnly,
    }
}

/// Reads image bytes from a flash area (an [`ImageSource`]); a read
/// outside the area fails with `None`.
struct AreaReader<'a, F> {
    flash: &'a mut F,
    base: u32,
    size: u32,
}

impl<F: embedded_storage::nor_flash::ReadNorFlash> ImageSource for AreaReader<'_, F> {
    type Error = Option<F::Error>;
    fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), Self::Error> {
        let len = u32::try_from(buf.len()).map_err(|_| None)?;
        if offset.checked_add(len).is_none_or(|end| end > self.size) {
            return Err(None);
        }
        self.flash.read(self.base + offset, buf).map_err(Some)
    }
}

/// The flash range of the whole image (header to the end of its TLVs) at
/// `off` in `area`, if a well-formed one is there. `flash` is the physical
/// flash, or the port's decrypting view of it.
pub(crate) fn image_at<F: embedded_storage::nor_flash::ReadNorFlash>(
    flash: &mut F,
    area: Area,
    off: u32,
) -> Option<std::ops::Range<u32>> {
    let base = area.offset.checked_add(off)?;
    let mut src = AreaReader {
        flash,
        base,
        size: area.size.checked_sub(off)?,
    };
    let header = mcuboot_image::ImageHeader::read_from(&mut src).ok()?;
    let tlvs = mcuboot_image::TlvIter::begin(&mut src, &header, None, false).ok()?;
    Some(base..base.checked_add(tlvs.end())?)
}

/// Trailer fields compared by the invariants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TrailerSummary {
    pub magic: &'static str,
    pub image_ok: &'static str,
    pub copy_done: &'static str,
    pub swap_type: &'static str,
}

fn magic_name(m: MagicState) -> &'static str {
    match m {
        MagicState::Good => "good",
        MagicState::Bad => "bad",
        MagicState::Unset => "unset",
    }
}

fn flag_name(f: FlagState) -> &'static str {
    match f {
        FlagState::Set => "set",
        FlagState::Bad => "bad",
        FlagState::Unset => "unset",
    }
}

impl From<&TrailerState> for TrailerSummary {
    fn from(t: &TrailerState) -> Self {
        Self {
            magic: magic_name(t.magic),
            image_ok: flag_name(t.image_ok),
            copy_done: flag_name(t.copy_done),
            swap_type: t.swap_type.name(),
        }
    }
}

/// One slot's contents for the invariants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    pub image: usize,
    pub slot: Slot,
    pub trailer: TrailerSummary,
    /// Flash range of the image at offset 0 (and, for swap-offset's
    /// secondary, at sector 1).
    pub images: Vec<Option<std::ops::Range<u32>>>,
}

impl SlotState {
    /// What differs from `expected`, in words: the trailer fields, or the
    /// image bytes (`data` is this state's flash, `expected_data` the
    /// expected state's).
    pub fn diff<'a>(
        &self,
        expected: &SlotState,
        data: &'a [u8],
        expected_data: &'a [u8],
    ) -> Option<String> {
        let what = format!("image {} {:?} slot", self.image, self.slot);
        if self.trailer != expected.trailer {
            return Some(format!(
                "{what} trailer {:?}, expected {:?}",
                self.trailer, expected.trailer
            ));
        }
        for (got, want) in self.images.iter().zip(&expected.images) {
            let bytes = |d: &'a [u8], r: &Option<std::ops::Range<u32>>| -> Option<&'a [u8]> {
                r.as_ref()
                    .and_then(|r| d.get(r.start as usize..r.end as usize))
            };
            let (g, w) = (bytes(data, got), bytes(expected_data, want));
            let same = match (got, want) {
                (Some(_), Some(_)) => g == w,
                (None, None) => true,
                _ => false,
            };
            if !same {
                let first = match (g, w) {
                    (Some(g), Some(w)) => g
                        .iter()
                        .zip(w.iter())
                        .position(|(a, b)| a != b)
                        .map(|p| format!(", first difference at +{p:#x}"))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                return Some(format!(
                    "{what} image differs ({:?} bytes vs expected {:?}{first})",
                    g.map(|v| v.len()),
                    w.map(|v| v.len()),
                ));
            }
        }
        None
    }
}

/// One image chosen to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunningImage {
    pub image: usize,
    pub slot: &'static str,
    /// `maj.min.rev+build`.
    pub version: String,
}

/// Flash work in one area during a boot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaCounters {
    pub area: String,
    pub erases: u64,
    pub bytes_written: u64,
    pub writes: u64,
    pub bytes_read: u64,
    /// Modelled time, milliseconds.
    pub time_ms: f64,
}

/// What one boot did, as `espboot sim boot --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootReport {
    /// An image was chosen to run.
    pub booted: bool,
    pub images: Vec<RunningImage>,
    /// Swap type of image 0 acted upon (`none|test|perm|revert|fail`).
    pub swap: &'static str,
    /// Swap type per image.
    pub swaps: Vec<&'static str>,
    /// Per image: the type of an interrupted swap this boot finished.
    pub resumed: Vec<Option<&'static str>>,
    pub erases: u64,
    pub bytes_written: u64,
    /// Flash operations (sector erases and writes) performed.
    pub flash_ops: u64,
    /// Modelled flash time of this boot, milliseconds.
    pub flash_time_ms: f64,
    /// Counters per flash area (slots, scratch, then everything else).
    pub areas: Vec<AreaCounters>,
    /// The power was cut during this boot.
    pub interrupted: bool,
    /// Why nothing was booted.
    pub error: Option<String>,
}

impl BootReport {
    /// A one-line human summary.
    pub fn summary(&self) -> String {
        let state = if self.interrupted {
            "power cut".to_string()
        } else if self.booted {
            let imgs: Vec<String> = self
                .images
                .iter()
                .map(|i| format!("image {} {} (primary slot)", i.image, i.version))
                .collect();
            format!("booted {}", imgs.join(", "))
        } else {
            format!(
                "no bootable image: {}",
                self.error.as_deref().unwrap_or("unknown")
            )
        };
        format!(
            "{state}; swap {}; {} erases, {} bytes written, {} flash ops, {:.1} ms modelled flash time",
            self.swap, self.erases, self.bytes_written, self.flash_ops, self.flash_time_ms
        )
    }

    fn new(result: &Result<BootResponse, BootError<FlashError>>, flash: &SimFlash) -> Self {
        match result {
            Ok(rsp) => Self::from_outcome(Ok(rsp), flash),
            Err(e) => Self::from_outcome(Err(e.to_string()), flash),
        }
    }

    /// The report of a boot that ended with `outcome` (the boot core's
    /// response, or why nothing runs), with `flash`'s counters.
    pub fn from_outcome(outcome: Result<&BootResponse, String>, flash: &SimFlash) -> Self {
        let totals = flash.total_counters();
        let (booted, images, swaps, resumed, error) = match outcome {
            Ok(rsp) => {
                let images: Vec<RunningImage> = rsp
                    .images
                    .iter()
                    .flatten()
                    .map(|b| RunningImage {
                        image: b.image,
                        slot: match b.slot {
                            Slot::Primary => "primary",
                            Slot::Secondary => "secondary",
                        },
                        version: b.header.version.to_string(),
                    })
                    .collect();
                let n = images.len().max(1);
                (
                    !images.is_empty(),
                    images,
                    rsp.swap.iter().take(n).map(|s| s.name()).collect(),
                    rsp.resumed
                        .iter()
                        .take(n)
                        .map(|r| r.map(SwapType::name))
                        .collect(),
                    None,
                )
            }
            Err(e) => (false, Vec::new(), Vec::new(), Vec::new(), Some(e)),
        };
        Self {
            booted,
            images,
            swap: swaps.first().copied().unwrap_or("none"),
            swaps,
            resumed,
            erases: totals.erases,
            bytes_written: totals.bytes_written,
            flash_ops: flash.ops(),
            flash_time_ms: totals.time_us / 1000.0,
            areas: flash
                .region_counters()
                .into_iter()
                .map(|(name, c)| AreaCounters {
                    area: name.to_string(),
                    erases: c.erases,
                    bytes_written: c.bytes_written,
                    writes: c.writes,
                    bytes_read: c.bytes_read,
                    time_ms: c.time_us / 1000.0,
                })
                .collect(),
            interrupted: flash.power_lost(),
            error,
        }
    }
}

/// The setup of a device (its map and embedded keys).
pub fn device_setup(device: &Device) -> Result<Setup, RunError> {
    let keys = device.settings.keys.iter().map(|k| k.der.clone()).collect();
    Ok(Setup::from_map(&device.settings.map, keys))
}

/// Powers `device` on once. With `cut = Some((n, mode))`, the power fails
/// after `n` flash operations (operation `n + 1` is cut).
pub fn boot(device: &mut Device, cut: Option<(u64, CutMode)>) -> BootReport {
    let setup = match device_setup(device) {
        Ok(s) => s,
        Err(e) => {
            let mut r = BootReport::new(&Ok(empty_response()), &device.flash);
            r.booted = false;
            r.error = Some(e.to_string());
            return r;
        }
    };
    boot_with(&setup, &mut device.flash, cut)
}

fn empty_response() -> BootResponse {
    BootResponse {
        images: [None, None],
        swap: [SwapType::None, SwapType::None],
        resumed: [None, None],
    }
}

/// One boot of `setup` on `flash`, counters reset first.
pub fn boot_with(setup: &Setup, flash: &mut SimFlash, cut: Option<(u64, CutMode)>) -> BootReport {
    flash.reset_counters();
    flash.power_cycle();
    if let Some((n, mode)) = cut {
        flash.arm_power_cut(n.saturating_add(1), mode);
    }
    let result = setup.boot(flash);
    let report = BootReport::new(&result, flash);
    flash.power_cycle();
    report
}

/// Options of a sweep.
#[derive(Debug, Clone, Copy, Default)]
pub struct SweepOptions {
    /// Also sweep with torn operations (each point twice).
    pub torn: bool,
    /// Worker threads; 0 = available parallelism.
    pub threads: usize,
}

/// Result of a sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    /// Cut points tried (operations × modes).
    pub cut_points: u64,
    /// Flash operations of the uninterrupted boot.
    pub boot_ops: u64,
    /// Modes swept (`clean`, `torn`).
    pub modes: Vec<&'static str>,
    /// One line per failed cut point.
    pub failures: Vec<String>,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Cut points per second (cut boot + resuming boot + invariant check).
    pub points_per_second: f64,
    /// What the uninterrupted boot did.
    pub reference: BootReport,
}

impl SweepReport {
    /// The report of a sweep started at `started` over `boot_ops`
    /// operations in each of `modes`.
    pub fn finish(
        boot_ops: u64,
        modes: &[CutMode],
        failures: Vec<String>,
        started: Instant,
        reference: BootReport,
    ) -> Self {
        let cut_points = boot_ops * modes.len() as u64;
        let seconds = started.elapsed().as_secs_f64();
        SweepReport {
            cut_points,
            boot_ops,
            modes: modes.iter().map(|m| m.name()).collect(),
            failures,
            seconds,
            points_per_second: if seconds > 0.0 {
                cut_points as f64 / seconds
            } else {
                0.0
            },
            reference,
        }
    }

    /// A one-line human summary.
    pub fn summary(&self) -> String {
        format!(
            "{} cut points ({} flash operations x {}), {} failures, {:.2} s ({:.0} points/s)",
            self.cut_points,
            self.boot_ops,
            self.modes.join("+"),
            self.failures.len(),
            self.seconds,
            self.points_per_second
        )
    }
}

/// The outcome of a boot that the invariants compare.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    images: Vec<RunningImage>,
    slots: Vec<SlotState>,
    /// The flash after the uninterrupted boot.
    data: Vec<u8>,
}

/// How a sweep produces the state each cut boot leaves behind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SweepMethod {
    /// The uninterrupted boot's flash operations are recorded once; the
    /// state a boot cut at operation k leaves is produced by replaying
    /// operations 1..k-1 (kept incrementally, one snapshot per worker) and
    /// issuing operation k under the armed cut. This is exact, not an
    /// approximation: the boot core is deterministic (`no_std`, no clock,
    /// no randomness, no global state) and reads the same bytes up to the
    /// cut, so the cut boot performs the recorded operations 1..k-1 and
    /// then operation k, which the cut stops or tears; after the cut the
    /// flash refuses every access, so nothing else can change. The
    /// resuming boot then runs from power-on as usual, taking validation
    /// results from a byte-exact [`ValidationMemo`] (one per worker).
    /// `replayed_cut_state_is_the_cut_boots` checks the equivalence.
    #[default]
    Replay,
    /// Every cut boot runs the boot core from power-on, no validation
    /// result is reused: the unoptimised reference.
    Rerun,
}

/// Sweeps the next boot of `flash` under `setup`: for every flash operation
/// k of the uninterrupted boot (and each mode), boot with the power cut at
/// k, boot again without cut, and compare with the uninterrupted outcome:
/// the resuming boot must boot the same images, and every slot's image
/// bytes and trailer must equal the uninterrupted result. Uses
/// [`SweepMethod::Replay`].
pub fn sweep_flash(
    setup: &Setup,
    flash: &SimFlash,
    options: &SweepOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SweepReport, RunError> {
    sweep_flash_with(setup, flash, options, SweepMethod::default(), progress)
}

/// [`sweep_flash`] with a chosen [`SweepMethod`].
pub fn sweep_flash_with(
    setup: &Setup,
    flash: &SimFlash,
    options: &SweepOptions,
    method: SweepMethod,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SweepReport, RunError> {
    let started = Instant::now();
    let mut reference = flash.clone();
    reference.start_recording();
    let ref_report = boot_with(setup, &mut reference, None);
    let log = reference.take_recording();
    if !ref_report.booted {
        return Err(RunError::ReferenceFails(
            ref_report.error.clone().unwrap_or_default(),
        ));
    }
    let ops = ref_report.flash_ops;
    if log.len() as u64 != ops {
        return Err(RunError::Boot(format!(
            "recorded {} flash operations of the uninterrupted boot, counted {ops}",
            log.len()
        )));
    }
    let expected = Expected {
        images: ref_report.images.clone(),
        slots: setup.slot_states(&mut reference).map_err(RunError::Boot)?,
        data: reference.data().to_vec(),
    };
    let modes: Vec<CutMode> = if options.torn {
        vec![CutMode::Clean, CutMode::Torn]
    } else {
        vec![CutMode::Clean]
    };
    let total = ops * modes.len() as u64;
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(usize::try_from(ops).unwrap_or(usize::MAX).max(1));
    // Work is handed out in runs of consecutive operations (all modes of
    // an operation together): a replaying worker only ever moves forward
    // through the recording, and small runs keep the threads balanced.
    let chunk = (ops / (threads as u64 * 16)).max(1);
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let failures = Mutex::new(Vec::new());
    let report_point = |k: u64, mode: CutMode, failure: Option<String>| {
        if let Some(failure) = failure {
            let label = match mode {
                CutMode::Clean => "cut",
                CutMode::Torn => "torn",
            };
            if let Ok(mut f) = failures.lock() {
                f.push((
                    k,
                    mode == CutMode::Torn,
                    format!("{label} at op {k}: {failure}"),
                ));
            }
        }
        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
        if d.is_multiple_of(64) || d == total {
            progress(d, total);
        }
    };
    progress(0, total);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut work = flash.clone();
                let mut snap = work.snapshot();
                let mut memo = ValidationMemo::default();
                // Operations of the recording applied to `work` and `snap`.
                let mut applied = 0u64;
                loop {
                    let first = next.fetch_add(chunk, Ordering::Relaxed) + 1;
                    if first > ops {
                        break;
                    }
                    let last = (first + chunk - 1).min(ops);
                    for k in first..=last {
                        if method == SweepMethod::Rerun {
                            for &mode in &modes {
                                work.restore(&snap);
                                let failure = check_point(setup, &mut work, k, mode, &expected);
                                report_point(k, mode, failure);
                            }
                            continue;
                        }
                        // Bring `work` to the state after operations 1..k-1.
                        while applied + 1 < k {
                            let op = usize::try_from(applied).ok().and_then(|i| log.get(i));
                            let replayed = op.map(|op| work.replay(op));
                            if !matches!(replayed, Some(Ok(()))) {
                                for kk in k..=last {
                                    for &mode in &modes {
                                        report_point(
                                            kk,
                                            mode,
                                            Some(format!(
                                                "replaying operation {} failed: {replayed:?}",
                                                applied + 1
                                            )),
                                        );
                                    }
                                }
                                return;
                            }
                            applied += 1;
                        }
                        work.update_snapshot(&mut snap);
                        work.restore(&snap);
                        let op = usize::try_from(k - 1).ok().and_then(|i| log.get(i));
                        for &mode in &modes {
                            let failure = match op {
                                Some(op) => {
                                    replay_point(setup, &mut work, op, mode, &expected, &mut memo)
                                }
                                None => Some(format!("operation {k} was not recorded")),
                            };
                            report_point(k, mode, failure);
                            work.restore(&snap);
                        }
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_default();
    failures.sort();
    Ok(SweepReport::finish(
        ops,
        &modes,
        failures.into_iter().map(|(_, _, s)| s).collect(),
        started,
        ref_report,
    ))
}

/// Validation results remembered together with a copy of the image bytes
/// they were computed from: [`ValidationCache::lookup`] answers only when
/// the flash holds those exact bytes again (a full comparison, far cheaper
/// than hashing), so a modified image is always validated afresh. Serves
/// one boot configuration; keeps the last few images.
#[derive(Debug, Default)]
pub struct ValidationMemo {
    entries: Vec<(std::ops::Range<u32>, Vec<u8>, bool)>,
}

impl ValidationMemo {
    /// Images remembered at most (a sweep sees the old and the new image
    /// of each of at most two image pairs).
    const CAPACITY: usize = 8;

    fn bytes<'f>(flash: &'f SimFlash, image: &std::ops::Range<u32>) -> Option<&'f [u8]> {
        flash.data().get(image.start as usize..image.end as usize)
    }
}

impl ValidationCache<SimFlash> for ValidationMemo {
    fn lookup(&mut self, flash: &mut SimFlash, image: std::ops::Range<u32>) -> Option<bool> {
        let now = Self::bytes(flash, &image)?;
        self.entries
            .iter()
            .find(|(range, bytes, _)| *range == image && bytes.as_slice() == now)
            .map(|&(_, _, valid)| valid)
    }

    fn store(&mut self, flash: &mut SimFlash, image: std::ops::Range<u32>, valid: bool) {
        let Some(now) = Self::bytes(flash, &image) else {
            return;
        };
        if self.entries.len() >= Self::CAPACITY {
            self.entries.remove(0);
        }
        self.entries.push((image, now.to_vec(), valid));
    }
}

/// One cut point of [`SweepMethod::Replay`]: `flash` holds the state after
/// operations 1..k-1; issue operation k (`op`) under the cut, then resume
/// and check. `None` = pass.
fn replay_point(
    setup: &Setup,
    flash: &mut SimFlash,
    op: &FlashOp,
    mode: CutMode,
    expected: &Expected,
    memo: &mut ValidationMemo,
) -> Option<String> {
    flash.arm_power_cut(1, mode);
    match flash.replay(op) {
        Err(FlashError::PowerLost { .. }) => {}
        Ok(()) => return Some("the cut operation was performed".to_string()),
        Err(e) => return Some(format!("the cut operation failed otherwise: {e}")),
    }
    flash.power_cycle();
    let resumed = setup.boot_cached(flash, memo);
    check_resumed(setup, flash, resumed, expected)
}

/// One cut point of [`SweepMethod::Rerun`]: cut boot, resuming boot,
/// invariant check. `None` = pass.
fn check_point(
    setup: &Setup,
    flash: &mut SimFlash,
    k: u64,
    mode: CutMode,
    expected: &Expected,
) -> Option<String> {
    flash.arm_power_cut(k, mode);
    match setup.boot(flash) {
        Err(BootError::Flash(FlashError::PowerLost { .. })) => {}
        Ok(_) => return Some("the cut boot finished before the cut".to_string()),
        Err(e) => return Some(format!("the cut boot failed otherwise: {e}")),
    }
    flash.power_cycle();
    let resumed = setup.boot(flash);
    check_resumed(setup, flash, resumed, expected)
}

/// The invariants after the resuming boot: it booted the expected images,
/// and every slot's image bytes and trailer equal the uninterrupted
/// outcome. `None` = pass.
fn check_resumed(
    setup: &Setup,
    flash: &mut SimFlash,
    resumed: Result<BootResponse, BootError<FlashError>>,
    expected: &Expected,
) -> Option<String> {
    let report = BootReport::new(&resumed, flash);
    if !report.booted {
        return Some(format!(
            "no bootable image after the cut: {}",
            report.error.unwrap_or_default()
        ));
    }
    if report.images != expected.images {
        return Some(format!(
            "booted {:?}, expected {:?}",
            report.images, expected.images
        ));
    }
    let slots = match setup.slot_states(flash) {
        Ok(s) => s,
        Err(e) => return Some(e),
    };
    slots.iter().zip(&expected.slots).find_map(|(got, want)| {
        if setup.strategy == UpgradeStrategy::OverwriteOnly && got.slot == Slot::Secondary {
            // Overwrite-only leaves a stale secondary trailer when the
            // power fails between scrambling the secondary's header and
            // its trailer sector, and (unlike the swap modes,
            // `boot_validate_slot` in loader.c) never erases a trailer
            // left behind an erased header. MCUboot's sim does not check
            // trailers in overwrite mode at all; we still compare the
            // images.
            let mut got = got.clone();
            got.trailer = want.trailer;
            return got.diff(want, flash.data(), &expected.data);
        }
        got.diff(want, flash.data(), &expected.data)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::Strategy;
    use crate::scenario::{combos, layouts, upgrade_fixture, Fixture, OwnMaker};

    const STRATEGIES: [Strategy; 4] = [
        Strategy::SwapScratch,
        Strategy::SwapMove,
        Strategy::SwapOffset,
        Strategy::OverwriteOnly,
    ];

    /// A PERM upgrade pending on the K64F-like layout (small, so every cut
    /// point can be checked the slow way too).
    fn k64f_upgrade(strategy: Strategy, write_size: u32, erased: u8) -> Fixture {
        let combo = combos(&layouts(), strategy)
            .into_iter()
            .find(|c| c.layout.name == "k64f" && c.write_size == write_size && c.erased == erased)
            .unwrap();
        upgrade_fixture(combo.setup(), &OwnMaker, true).unwrap()
    }

    /// The state a boot cut at operation k leaves is the state of replaying
    /// the uninterrupted boot's operations 1..k-1 and issuing operation k
    /// under the cut (the premise of `SweepMethod::Replay`), for every k,
    /// both cut modes and every strategy.
    #[test]
    fn replayed_cut_state_is_the_cut_boots() {
        for strategy in STRATEGIES {
            for (write_size, erased) in [(4, 0xff), (8, 0x00)] {
                let fx = k64f_upgrade(strategy, write_size, erased);
                let mut reference = fx.flash.clone();
                reference.start_recording();
                let report = boot_with(&fx.setup, &mut reference, None);
                let log = reference.take_recording();
                assert!(report.booted, "{strategy}: {report:?}");
                assert_eq!(log.len() as u64, report.flash_ops);
                let mut prefix = fx.flash.clone();
                for (i, op) in log.iter().enumerate() {
                    for mode in [CutMode::Clean, CutMode::Torn] {
                        let mut cut = fx.flash.clone();
                        cut.arm_power_cut(i as u64 + 1, mode);
                        let r = fx.setup.boot(&mut cut);
                        assert!(
                            matches!(r, Err(BootError::Flash(FlashError::PowerLost { .. }))),
                            "{strategy} op {}: {r:?}",
                            i + 1
                        );
                        let mut replayed = prefix.clone();
                        replayed.arm_power_cut(1, mode);
                        assert!(replayed.replay(op).is_err());
                        assert!(
                            cut.data() == replayed.data(),
                            "{strategy} w{write_size} {erased:#x} op {} {mode:?}: states differ",
                            i + 1
                        );
                    }
                    prefix.replay(op).unwrap();
                }
                assert!(prefix.data() == reference.data());
            }
        }
    }

    /// Both sweep methods report the same cut points and failures.
    #[test]
    fn replay_and_rerun_sweeps_agree() {
        let options = SweepOptions {
            torn: true,
            threads: 2,
        };
        for strategy in STRATEGIES {
            let fx = k64f_upgrade(strategy, 4, 0xff);
            let run = |m| sweep_flash_with(&fx.setup, &fx.flash, &options, m, &|_, _| {}).unwrap();
            let (fast, slow) = (run(SweepMethod::Replay), run(SweepMethod::Rerun));
            assert!(fast.cut_points > 100, "{strategy}: {}", fast.cut_points);
            assert_eq!(fast.cut_points, slow.cut_points, "{strategy}");
            assert_eq!(fast.failures, slow.failures, "{strategy}");
        }
    }

    /// The sweep's invariant check still catches a wrong outcome: against
    /// an expectation that is not the uninterrupted result, every point
    /// fails.
    #[test]
    fn replayed_points_fail_against_a_wrong_expectation() {
        let fx = k64f_upgrade(Strategy::SwapScratch, 4, 0xff);
        let mut reference = fx.flash.clone();
        reference.start_recording();
        let report = boot_with(&fx.setup, &mut reference, None);
        let log = reference.take_recording();
        // Expect the state before the upgrade instead.
        let mut before = fx.flash.clone();
        let expected = Expected {
            images: report.images.clone(),
            slots: fx.setup.slot_states(&mut before).unwrap(),
            data: before.data().to_vec(),
        };
        let mut memo = ValidationMemo::default();
        let mut work = fx.flash.clone();
        let snap = work.snapshot();
        for k in [1, log.len() / 2, log.len()] {
            work.restore(&snap);
            for op in &log[..k - 1] {
                work.replay(op).unwrap();
            }
            let failure = replay_point(
                &fx.setup,
                &mut work,
                &log[k - 1],
                CutMode::Clean,
                &expected,
                &mut memo,
            );
            assert!(failure.is_some(), "op {k} passed a wrong expectation");
        }
    }

    /// A copy of `flash` with the byte at `addr` changed.
    fn with_byte_flipped(flash: &SimFlash, addr: u32) -> SimFlash {
        let mut data = flash.data().to_vec();
        data[addr as usize] ^= 0x01;
        SimFlash::from_bytes(flash.geometry().clone(), &data).unwrap()
    }

    /// A remembered validation result is not taken for an image changed
    /// since (header, payload or TLV area): the changed image is refused.
    #[test]
    fn memo_rejects_an_image_modified_after_caching() {
        for strategy in STRATEGIES {
            let fx = k64f_upgrade(strategy, 4, 0xff);
            let mut memo = ValidationMemo::default();
            let mut upgraded = fx.flash.clone();
            assert!(fx.setup.boot_cached(&mut upgraded, &mut memo).is_ok());
            // The new image now runs from the primary slot and is cached.
            let primary = fx.setup.images[0].primary;
            let image = image_at(&mut upgraded, primary, 0).unwrap();
            assert_eq!(image.len(), fx.upgrades[0].as_ref().unwrap().len());
            let mut again = upgraded.clone();
            assert!(fx.setup.boot_cached(&mut again, &mut memo).is_ok());
            for addr in [
                image.start + 8,        // header (img_size)
                image.start + 0x40,     // payload
                image.end - 1,          // last byte of the TLV area
                image.end - 40 + 4 + 4, // inside the SHA-256 TLV value
            ] {
                let mut modified = with_byte_flipped(&upgraded, addr);
                let r = fx.setup.boot_cached(&mut modified, &mut memo);
                assert!(
                    matches!(r, Err(BootError::NoBootableImage { image: 0 })),
                    "{strategy}: byte {addr:#x} flipped, still booted: {r:?}"
                );
                // And it is not remembered as valid afterwards either.
                let mut modified = with_byte_flipped(&upgraded, addr);
                assert!(fx.setup.boot_cached(&mut modified, &mut memo).is_err());
            }
            // The unchanged image is still accepted.
            let mut again = upgraded.clone();
            assert!(fx.setup.boot_cached(&mut again, &mut memo).is_ok());
        }
    }

    /// The memo is used: a second boot of the same image reads (hashes)
    /// far less than the first, and agrees with an uncached boot.
    #[test]
    fn memo_saves_the_primary_validation() {
        let fx = k64f_upgrade(Strategy::SwapScratch, 4, 0xff);
        let mut upgraded = fx.flash.clone();
        fx.setup.boot(&mut upgraded).unwrap();
        let mut memo = ValidationMemo::default();
        let mut first = upgraded.clone();
        first.reset_counters();
        let r1 = fx.setup.boot_cached(&mut first, &mut memo).unwrap();
        let mut second = upgraded.clone();
        second.reset_counters();
        let r2 = fx.setup.boot_cached(&mut second, &mut memo).unwrap();
        let mut plain = upgraded.clone();
        let r3 = fx.setup.boot(&mut plain).unwrap();
        assert_eq!(r1, r3);
        assert_eq!(r2, r3);
        let image_len = fx.upgrades[0].as_ref().unwrap().len() as u64;
        let (read1, read2) = (
            first.total_counters().bytes_read,
            second.total_counters().bytes_read,
        );
        assert!(read1 >= image_len, "{read1}");
        assert!(read2 < image_len / 4, "{read2}");
        assert!(first.data() == second.data() && second.data() == plain.data());
    }
}
