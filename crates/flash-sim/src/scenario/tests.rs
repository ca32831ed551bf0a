//! Tests of the every-configuration tester itself.

#![allow(clippy::unwrap_used)]

use mcuboot_boot::UpgradeStrategy;

use super::*;

/// Failures are collected per combination, typed, with panics caught;
/// passing and inapplicable combinations are kept apart.
#[test]
fn run_all_collects_typed_failures_per_combination() {
    let all = combos(&layouts(), UpgradeStrategy::SwapScratch);
    let report = run_all(&all, &|combo| match (combo.layout.name, combo.erased) {
        ("k64f", 0x00) => Err(ScenarioError::Check("erased 0x00")),
        ("nrf52840", _) => panic!("boom"),
        ("stm32f4", _) => Ok(Verdict::NotApplicable("not here")),
        _ => Ok(Verdict::Pass),
    });
    let per_layout = WRITE_SIZES.len() * ERASED_VALUES.len();
    assert_eq!(report.not_applicable.len(), per_layout);
    assert_eq!(report.passed.len(), per_layout + WRITE_SIZES.len());
    assert_eq!(report.failed.len(), per_layout + WRITE_SIZES.len());
    assert!(report
        .failed
        .iter()
        .filter(|(label, _)| label.starts_with("k64f/"))
        .all(|(label, e)| label.ends_with("/00") && matches!(e, ScenarioError::Check(_))));
    assert!(report
        .failed
        .iter()
        .filter(|(label, _)| label.starts_with("nrf52840/"))
        .all(|(_, e)| matches!(e, ScenarioError::Panicked)));
    assert_eq!(report.failed[0].0, "k64f/swap-scratch/w1/00");
}

/// A real scenario over every combination of one strategy, on our own
/// images: an upgrade whose hash does not match is refused everywhere.
#[test]
fn bad_secondary_slot_is_refused_on_every_combination() {
    let maker = CachedMaker::new(OwnMaker);
    for strategy in [UpgradeStrategy::SwapScratch, UpgradeStrategy::OverwriteOnly] {
        let all = combos(&layouts(), strategy);
        let report = run_all(&all, &|combo| bad_secondary_slot(&combo.setup(), &maker));
        report.assert_ok(&format!("bad_secondary_slot ({strategy})"));
        assert_eq!(report.passed.len(), all.len());
    }
}
