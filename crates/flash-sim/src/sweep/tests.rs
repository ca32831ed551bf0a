//! Tests of the sweep engine and the validation memo.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcuboot_boot::{BootError, UpgradeStrategy};

use super::*;
use crate::flash::{CutMode, FlashError, SimFlash};
use crate::run::image_at;
use crate::run::{boot_with, slot_states};
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
    let mut worker = BootCoreWorker {
        setup: &fx.setup,
        expected: &expected,
        flash: fx.flash.clone(),
        memo: ValidationMemo::default(),
    };
    let snap = worker.flash.snapshot();
    for k in [1, log.len() / 2, log.len()] {
        worker.flash.restore(&snap);
        for op in &log[..k - 1] {
            worker.flash.replay(op).unwrap();
        }
        let failure = cut_and_resume(&mut worker, &log[k - 1], CutMode::Clean);
        assert!(
            matches!(
                failure,
                Some(Failure::TrailerDiffers { .. } | Failure::ImageDiffers { .. })
            ),
            "op {k}: {failure:?}"
        );
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

/// A failure is a typed record: `--json` gets its fields, the text report
/// one line.
#[test]
fn failures_serialize_as_typed_records() {
    let failure = SweepFailure::new(
        7,
        CutMode::Torn,
        Some(Hazard::EraseBeforeWrite { sector: 0x3000 }),
        Failure::ImageDiffers {
            image: 0,
            slot: mcuboot_boot::Slot::Secondary,
            expected_len: Some(10),
            observed_len: None,
            first_difference: None,
        },
    );
    assert_eq!(
        serde_json::to_value(&failure).unwrap(),
        serde_json::json!({
            "operation": 7,
            "mode": "torn",
            "hazard": {"kind": "erase-before-write", "sector": 0x3000},
            "safety": "safe",
            "failure": {
                "kind": "image-differs",
                "image": 0,
                "slot": "secondary",
                "expected_len": 10,
                "observed_len": null,
                "first_difference": null
            }
        })
    );
    assert_eq!(
        failure.to_string(),
        "torn at op 7 [port erase-before-write hazard at 0x3000; safe]: \
         image 0 secondary slot image differs (no image vs expected 10 bytes)"
    );
}

/// A cut before a swap-move revert writes its status leaves the same
/// images in place with `perm` recorded in swap_info instead of `revert`
/// (seen by `espboot sim sweep` on a pending revert): classed as a
/// swap-type record only difference, safe, not unexplained.
#[test]
fn regression_revert_restart_records_perm_is_classified_safe() {
    use crate::run::TrailerSummary;
    use mcuboot_boot::{FlagState, MagicState, SwapType};
    let trailer = |swap_type| TrailerSummary {
        magic: MagicState::Good,
        image_ok: FlagState::Set,
        copy_done: FlagState::Set,
        swap_type,
    };
    let failure = SweepFailure::new(
        6,
        CutMode::Clean,
        None,
        Failure::TrailerDiffers {
            image: 0,
            slot: mcuboot_boot::Slot::Primary,
            expected: trailer(SwapType::Revert),
            observed: trailer(SwapType::Perm),
        },
    );
    assert_eq!(failure.hazard, Some(Hazard::SwapTypeRecordOnly));
    assert_eq!(failure.safety, Safety::Safe);
    // a trailer that differs in more than the swap type stays unexplained
    let mut observed = trailer(SwapType::Perm);
    observed.copy_done = FlagState::Unset;
    let other = SweepFailure::new(
        6,
        CutMode::Clean,
        None,
        Failure::TrailerDiffers {
            image: 0,
            slot: mcuboot_boot::Slot::Primary,
            expected: trailer(SwapType::Revert),
            observed,
        },
    );
    assert_eq!(other.class(), HazardKind::Unexplained);
}
