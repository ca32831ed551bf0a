//! The power-cut sweep: for every flash operation of an uninterrupted
//! boot, cut the power there, boot again, and check the invariants
//! (MCUboot's simulator `run_perm_with_fails`, exhaustively).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use mcuboot_boot::owned::OwnedBootConfig;
use mcuboot_boot::{BootError, BootResponse, Slot, UpgradeStrategy};
use serde::Serialize;

use crate::flash::{CutMode, FlashError, FlashOp, SimFlash};
use crate::run::{boot_outcome, slot_states, BootReport, RunError, RunningImage, SlotState};

pub mod failure;
mod memo;

#[cfg(all(test, feature = "scenario"))]
mod tests;

pub use failure::{Failure, Hazard, HazardKind, Safety, SweepFailure};
pub use memo::{PhysicalFlash, ValidationMemo};

/// Options of a sweep.
#[derive(Debug, Clone, Copy, Default)]
pub struct SweepOptions {
    /// Also sweep with torn operations (each point twice).
    pub torn: bool,
    /// Worker threads; 0 = available parallelism.
    pub threads: usize,
}

/// How many failed cut points fell into one class with one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClassCount {
    /// The failure class.
    pub class: HazardKind,
    /// Whether the device survives these cut points.
    pub safety: Safety,
    /// Failed cut points of this class and outcome.
    pub count: u64,
}

/// The failures of `failures` counted per class and outcome, in class
/// order (safe before brick).
pub fn class_counts(failures: &[SweepFailure]) -> Vec<ClassCount> {
    let mut counts: std::collections::BTreeMap<(HazardKind, Safety), u64> =
        std::collections::BTreeMap::new();
    for failure in failures {
        *counts.entry((failure.class(), failure.safety)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((class, safety), count)| ClassCount {
            class,
            safety,
            count,
        })
        .collect()
}

/// Result of a sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    /// The upgrade strategy of the bootloader swept.
    pub strategy: UpgradeStrategy,
    /// Cut points tried (operations × modes).
    pub cut_points: u64,
    /// Flash operations of the uninterrupted boot.
    pub boot_ops: u64,
    /// Modes swept (`clean`, `torn`).
    pub modes: Vec<CutMode>,
    /// The failures per class and outcome ([`class_counts`]).
    pub classes: Vec<ClassCount>,
    /// The failed cut points.
    pub failures: Vec<SweepFailure>,
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
        strategy: UpgradeStrategy,
        boot_ops: u64,
        modes: &[CutMode],
        failures: Vec<SweepFailure>,
        started: Instant,
        reference: BootReport,
    ) -> Self {
        let cut_points = boot_ops * modes.len() as u64;
        let seconds = started.elapsed().as_secs_f64();
        SweepReport {
            strategy,
            classes: class_counts(&failures),
            cut_points,
            boot_ops,
            modes: modes.to_vec(),
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
            self.modes
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join("+"),
            self.failures.len(),
            self.seconds,
            self.points_per_second
        )
    }

    /// The per-class line: the strategy, then each class with its count and
    /// whether it is safe or a brick, e.g. `swap-move: 3 safe, 12 bricks
    /// (port erase-before-write hazard: 12 brick; torn operation: 3 safe)`.
    pub fn class_summary(&self) -> String {
        let count = |safety| self.failures.iter().filter(|f| f.safety == safety).count();
        let (safe, bricks) = (count(Safety::Safe), count(Safety::Brick));
        let mut line = format!(
            "{}: {safe} safe, {bricks} brick{}",
            self.strategy.label(),
            if bricks == 1 { "" } else { "s" }
        );
        if !self.classes.is_empty() {
            let parts: Vec<String> = self
                .classes
                .iter()
                .map(|c| format!("{}: {} {}", c.class, c.count, c.safety))
                .collect();
            line.push_str(&format!(" ({})", parts.join("; ")));
        }
        line
    }
}

/// The outcome of a boot that the invariants compare.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expected {
    pub(crate) images: Vec<RunningImage>,
    pub(crate) slots: Vec<SlotState>,
    /// The flash after the uninterrupted boot.
    pub(crate) data: Vec<u8>,
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
    setup: &OwnedBootConfig,
    flash: &SimFlash,
    options: &SweepOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SweepReport, RunError> {
    sweep_flash_with(setup, flash, options, SweepMethod::default(), progress)
}

/// [`sweep_flash`] with a chosen [`SweepMethod`].
pub fn sweep_flash_with(
    setup: &OwnedBootConfig,
    flash: &SimFlash,
    options: &SweepOptions,
    method: SweepMethod,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SweepReport, RunError> {
    let started = Instant::now();
    let mut reference = flash.clone();
    reference.start_recording();
    let (ref_result, ref_report) = boot_outcome(setup, &mut reference, None);
    let log = reference.take_recording();
    if let Err(e) = ref_result {
        return Err(RunError::ReferenceFails(e));
    }
    if !ref_report.booted {
        return Err(RunError::NothingBooted);
    }
    let ops = ref_report.flash_ops;
    if log.len() as u64 != ops {
        return Err(RunError::Recording {
            recorded: log.len() as u64,
            counted: ops,
        });
    }
    let expected = Expected {
        images: ref_report.images.clone(),
        slots: slot_states(setup, &mut reference)?,
        data: reference.data().to_vec(),
    };
    let modes: Vec<CutMode> = if options.torn {
        vec![CutMode::Clean, CutMode::Torn]
    } else {
        vec![CutMode::Clean]
    };
    let make_worker = || BootCoreWorker {
        setup,
        expected: &expected,
        flash: flash.clone(),
        memo: ValidationMemo::default(),
    };
    let failures = run_cut_points(
        &log,
        &modes,
        options.threads,
        method,
        &make_worker,
        progress,
    );
    let failures = failures
        .into_iter()
        .map(|(k, mode, failure)| {
            let hazard = match mode {
                CutMode::Clean => None,
                CutMode::Torn => usize::try_from(k - 1)
                    .ok()
                    .and_then(|i| log.get(i))
                    .map(|op| torn_hazard(flash, op)),
            };
            SweepFailure::new(k, mode, hazard, failure)
        })
        .collect();
    Ok(SweepReport::finish(
        setup.strategy,
        ops,
        &modes,
        failures,
        started,
        ref_report,
    ))
}

/// One worker of [`run_cut_points`]: a flash to cut, and what to do after
/// the cut. Each worker is made and used on its own thread and keeps its
/// own state (flash, snapshot, memos); the
/// workers share only the read-only recording.
pub trait CutWorker {
    /// The flash the cut boots run on; [`run_cut_points`] brings it to
    /// the state before each cut point.
    fn flash(&mut self) -> &mut SimFlash;

    /// After the cut: power on again from [`Self::flash`] as the cut left
    /// it and check the outcome. `None` = pass.
    fn resume(&mut self) -> Option<Failure>;

    /// [`SweepMethod::Rerun`]: the whole cut point (the cut boot with the
    /// power cut at operation `k`, the resuming boot, the check) from the
    /// state before the boot, which [`Self::flash`] holds.
    fn rerun(&mut self, k: u64, mode: CutMode) -> Option<Failure>;
}

/// The sweep engine: every operation k of the recording `log` (1-based) in
/// each of `modes` is a cut point. With [`SweepMethod::Replay`] a worker
/// brings its flash to the state after operations 1..k-1 by replaying the
/// recording (walking forward, keeping a snapshot), issues operation k
/// under the armed cut and calls [`CutWorker::resume`]; with
/// [`SweepMethod::Rerun`] it calls [`CutWorker::rerun`] on the flash as it
/// was before the boot. Returns the failed points sorted by operation,
/// clean before torn. `threads` 0 = available parallelism.
pub fn run_cut_points<W: CutWorker>(
    log: &[FlashOp],
    modes: &[CutMode],
    threads: usize,
    method: SweepMethod,
    make_worker: &(dyn Fn() -> W + Sync),
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Vec<(u64, CutMode, Failure)> {
    let ops = log.len() as u64;
    let total = ops * modes.len() as u64;
    let threads = match threads {
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
    let report_point = |k: u64, mode: CutMode, failure: Option<Failure>| {
        if let Some(failure) = failure {
            if let Ok(mut f) = failures.lock() {
                f.push((k, mode, failure));
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
                let mut worker = make_worker();
                let mut snap = worker.flash().snapshot();
                // Operations of the recording applied to the flash and `snap`.
                let mut applied = 0u64;
                loop {
                    let first = next.fetch_add(chunk, Ordering::Relaxed) + 1;
                    if first > ops {
                        break;
                    }
                    let last = (first + chunk - 1).min(ops);
                    for k in first..=last {
                        if method == SweepMethod::Rerun {
                            for &mode in modes {
                                worker.flash().restore(&snap);
                                let failure = worker.rerun(k, mode);
                                report_point(k, mode, failure);
                            }
                            continue;
                        }
                        // Bring the flash to the state after operations 1..k-1.
                        let work = worker.flash();
                        while applied + 1 < k {
                            let op = usize::try_from(applied).ok().and_then(|i| log.get(i));
                            let replayed = op.map(|op| work.replay(op));
                            if !matches!(replayed, Some(Ok(()))) {
                                let error = replayed.and_then(Result::err);
                                for kk in k..=last {
                                    for &mode in modes {
                                        report_point(
                                            kk,
                                            mode,
                                            Some(Failure::ReplayFailed {
                                                replayed: applied + 1,
                                                error,
                                            }),
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
                        for &mode in modes {
                            let failure = match op {
                                Some(op) => cut_and_resume(&mut worker, op, mode),
                                None => Some(Failure::NotRecorded),
                            };
                            report_point(k, mode, failure);
                            worker.flash().restore(&snap);
                        }
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_default();
    failures.sort_by_key(|(k, mode, _)| (*k, *mode == CutMode::Torn));
    failures
}

/// One cut point of [`SweepMethod::Replay`]: the worker's flash holds the
/// state after operations 1..k-1; issue operation k (`op`) under the cut,
/// then resume. `None` = pass.
fn cut_and_resume<W: CutWorker>(worker: &mut W, op: &FlashOp, mode: CutMode) -> Option<Failure> {
    let flash = worker.flash();
    flash.arm_power_cut(1, mode);
    match flash.replay(op) {
        Err(FlashError::PowerLost { .. }) => {}
        Ok(()) => return Some(Failure::CutOperationPerformed),
        Err(error) => return Some(Failure::CutOperationFailed { error }),
    }
    flash.power_cycle();
    worker.resume()
}

/// The boot core's [`CutWorker`]: the resuming boot runs `setup` on the
/// flash with a byte-exact [`ValidationMemo`].
struct BootCoreWorker<'a> {
    setup: &'a OwnedBootConfig,
    expected: &'a Expected,
    flash: SimFlash,
    memo: ValidationMemo,
}

impl CutWorker for BootCoreWorker<'_> {
    fn flash(&mut self) -> &mut SimFlash {
        &mut self.flash
    }

    fn resume(&mut self) -> Option<Failure> {
        let resumed = self.setup.boot_cached(&mut self.flash, &mut self.memo);
        check_resumed(self.setup, &mut self.flash, resumed, self.expected)
    }

    fn rerun(&mut self, k: u64, mode: CutMode) -> Option<Failure> {
        check_point(self.setup, &mut self.flash, k, mode, self.expected)
    }
}

/// The class of a torn cut of `op`: [`Hazard::TornOperation`] at its
/// address.
pub fn torn_hazard(flash: &SimFlash, op: &FlashOp) -> Hazard {
    match op {
        FlashOp::Erase { sector } => Hazard::TornOperation {
            erase: true,
            address: flash.geometry().sector(*sector).start,
        },
        FlashOp::Write { offset, .. } => Hazard::TornOperation {
            erase: false,
            address: *offset,
        },
    }
}

/// One cut point of [`SweepMethod::Rerun`]: cut boot, resuming boot,
/// invariant check. `None` = pass.
fn check_point(
    setup: &OwnedBootConfig,
    flash: &mut SimFlash,
    k: u64,
    mode: CutMode,
    expected: &Expected,
) -> Option<Failure> {
    flash.arm_power_cut(k, mode);
    match setup.boot(flash) {
        Err(BootError::Flash(FlashError::PowerLost { .. })) => {}
        Ok(_) => return Some(Failure::CutBootFinished),
        Err(e) => {
            return Some(Failure::CutBootFailed {
                error: e.to_string(),
            })
        }
    }
    flash.power_cycle();
    let resumed = setup.boot(flash);
    check_resumed(setup, flash, resumed, expected)
}

/// The invariants after the resuming boot: it booted the expected images,
/// and every slot's image bytes and trailer equal the uninterrupted
/// outcome. `None` = pass.
fn check_resumed(
    setup: &OwnedBootConfig,
    flash: &mut SimFlash,
    resumed: Result<BootResponse, BootError<FlashError>>,
    expected: &Expected,
) -> Option<Failure> {
    let report = BootReport::new(&resumed, flash);
    if !report.booted {
        return Some(Failure::NotBootable {
            error: report.error.unwrap_or_default(),
        });
    }
    if report.images != expected.images {
        return Some(Failure::WrongImages {
            expected: expected.images.clone(),
            observed: report.images,
        });
    }
    let slots = match slot_states(setup, flash) {
        Ok(s) => s,
        Err(e) => {
            return Some(Failure::Inspection {
                error: e.to_string(),
            })
        }
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
