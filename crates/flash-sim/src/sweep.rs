//! The power-cut sweep: for every flash operation of an uninterrupted
//! boot, cut the power there, boot again, and check the invariants
//! (MCUboot's simulator `run_perm_with_fails`, exhaustively).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use mcuboot_boot::owned::OwnedBootConfig;
use mcuboot_boot::{BootError, BootResponse, Slot, UpgradeStrategy, ValidationCache};
use serde::Serialize;

use crate::flash::{CutMode, FlashError, FlashOp, SimFlash};
use crate::run::{boot_with, slot_states, BootReport, RunError, RunningImage, SlotState};

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
    let ref_report = boot_with(setup, &mut reference, None);
    let log = reference.take_recording();
    if !ref_report.booted {
        return Err(RunError::ReferenceFails(
            ref_report.error.clone().unwrap_or_default(),
        ));
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
    setup: &OwnedBootConfig,
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
    setup: &OwnedBootConfig,
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
    setup: &OwnedBootConfig,
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
    let slots = match slot_states(setup, flash) {
        Ok(s) => s,
        Err(e) => return Some(e.to_string()),
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
    use crate::run::image_at;
    use crate::scenario::{combos, layouts, upgrade_fixture, Fixture, OwnMaker};

    const STRATEGIES: [UpgradeStrategy; 4] = UpgradeStrategy::ALL;

    /// A PERM upgrade pending on the K64F-like layout (small, so every cut
    /// point can be checked the slow way too).
    fn k64f_upgrade(strategy: UpgradeStrategy, write_size: u32, erased: u8) -> Fixture {
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
        let fx = k64f_upgrade(UpgradeStrategy::SwapScratch, 4, 0xff);
        let mut reference = fx.flash.clone();
        reference.start_recording();
        let report = boot_with(&fx.setup, &mut reference, None);
        let log = reference.take_recording();
        // Expect the state before the upgrade instead.
        let mut before = fx.flash.clone();
        let expected = Expected {
            images: report.images.clone(),
            slots: slot_states(&fx.setup, &mut before).unwrap(),
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
        let fx = k64f_upgrade(UpgradeStrategy::SwapScratch, 4, 0xff);
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
