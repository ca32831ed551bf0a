//! The every-configuration scenario tester (in the style of ripgrep's
//! `SearcherTester`): one scenario runs over each sector layout × write
//! size × erased value for a strategy, every combination is labelled, and
//! failures are collected and reported together.
//!
//! The scenarios port MCUboot's simulator tests (`sim/tests/core.rs`,
//! `sim/src/image.rs`; mcuboot.md §6). Images come from an [`ImageMaker`]
//! (imgtool itself, or our image crate), so the same scenarios run on both.
//!
//! Files: this one holds the configurations (layouts × write sizes ×
//! erased values) and the runner; `maker` the image makers, `fixture` a
//! flash with images installed, `upgrade` the single-image scenarios and
//! `dependency` the two-image dependency scenarios.

use std::sync::Mutex;

use mcuboot_boot::owned::OwnedBootConfig;
use mcuboot_boot::{Area, DowngradePrevention, ImageSlots, UpgradeStrategy};

mod dependency;
mod error;
mod fixture;
mod maker;
#[cfg(test)]
mod tests;
mod upgrade;

pub use dependency::{dependency_combo, DepTest, DepType, TEST_DEPS};
pub use error::{MakeError, ScenarioError};
pub use fixture::{upgrade_fixture, Fixture, PRIMARY_PAYLOAD, UPGRADE_PAYLOAD};
pub use maker::{CachedMaker, ImageMaker, ImageSpec, OwnMaker};
pub use upgrade::{
    bad_secondary_slot, basic_revert, basic_upgrade_ops, bootstrap, downgrade_equal_allowed,
    downgrade_prevention, norevert, norevert_newimage, oversized_bootstrap,
    oversized_secondary_slot, perm_with_cuts, perm_with_fails, revert_with_fails,
    secondary_trailer_leftover,
};

/// A flash device and its flash map, like MCUboot's sim devices.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Short name for labels (`k64f`, `esp32c3`, ...).
    pub name: &'static str,
    /// Physical sectors from address 0: `(size, count)` runs.
    pub runs: Vec<(u32, u32)>,
    /// The slots of each image.
    pub images: Vec<ImageSlots>,
    /// The scratch area, if any.
    pub scratch: Option<Area>,
    /// `BOOT_MAX_IMG_SECTORS`.
    pub max_sectors: u32,
    /// Strategies this layout cannot use (MCUboot's sim excludes them the
    /// same way, e.g. swap-move on STM32F4's mixed sectors).
    pub excludes: Vec<UpgradeStrategy>,
}

fn slots(p: u32, s: u32, size: u32) -> ImageSlots {
    ImageSlots {
        primary: Area::new(p, size),
        secondary: Area::new(s, size),
    }
}

/// The single-image layouts every scenario runs on.
pub fn layouts() -> Vec<Layout> {
    vec![
        // The Espressif port default for ESP32-C3 (mcuboot.md §7):
        // 4 MiB of 4 KiB sectors, 0x1C0000 slots, 0x1F000 scratch, M=512.
        Layout {
            name: "esp32c3",
            runs: vec![(0x1000, 1024)],
            images: vec![slots(0x20000, 0x1E0000, 0x1C0000)],
            scratch: Some(Area::new(0x3E0000, 0x1F000)),
            max_sectors: 512,
            excludes: vec![],
        },
        // MCUboot sim K64F: 4 KiB sectors, 128 KiB slots, one-sector scratch.
        Layout {
            name: "k64f",
            runs: vec![(0x1000, 128)],
            images: vec![slots(0x20000, 0x40000, 0x20000)],
            scratch: Some(Area::new(0x60000, 0x1000)),
            max_sectors: 128,
            excludes: vec![],
        },
        // MCUboot sim STM32F4: 16/64/128 KiB sectors, one 128 KiB sector
        // per slot and for the scratch. Move and offset need uniform
        // sectors with a spare one.
        Layout {
            name: "stm32f4",
            runs: vec![(0x4000, 4), (0x10000, 1), (0x20000, 3)],
            images: vec![slots(0x20000, 0x40000, 0x20000)],
            scratch: Some(Area::new(0x60000, 0x20000)),
            max_sectors: 128,
            excludes: vec![UpgradeStrategy::SwapMove, UpgradeStrategy::SwapOffset],
        },
        // MCUboot sim nRF52840: a 0xd000 scratch that does not divide the
        // slot, so swap regions end unevenly.
        Layout {
            name: "nrf52840",
            runs: vec![(0x1000, 256)],
            images: vec![slots(0x8000, 0x3C000, 0x34000)],
            scratch: Some(Area::new(0x70000, 0xD000)),
            max_sectors: 128,
            excludes: vec![],
        },
    ]
}

/// The two-image layout of the dependency scenarios (MCUboot sim
/// K64fMulti-like: 4 KiB sectors, 128 KiB slots).
pub fn multi_layout() -> Layout {
    Layout {
        name: "k64f-multi",
        runs: vec![(0x1000, 256)],
        images: vec![
            slots(0x20000, 0x40000, 0x20000),
            slots(0x60000, 0x80000, 0x20000),
        ],
        scratch: Some(Area::new(0xA0000, 0x1000)),
        max_sectors: 128,
        excludes: vec![],
    }
}

/// Write sizes swept (MCUboot sim: align 1/2/4/8, plus 32 with max-align 32).
pub const WRITE_SIZES: [u32; 4] = [1, 4, 8, 32];
/// Erased values swept.
pub const ERASED_VALUES: [u8; 2] = [0xff, 0x00];

/// One configuration: a layout with a strategy, write size and erased value.
#[derive(Debug, Clone)]
pub struct Combo {
    /// The device and its flash map.
    pub layout: Layout,
    /// The upgrade strategy.
    pub strategy: UpgradeStrategy,
    /// `flash_area_align()`.
    pub write_size: u32,
    /// The erased value.
    pub erased: u8,
}

impl Combo {
    /// `layout/strategy/w4/ff`.
    pub fn label(&self) -> String {
        format!(
            "{}/{}/w{}/{:02x}",
            self.layout.name, self.strategy, self.write_size, self.erased
        )
    }

    /// The boot core setup of this combination.
    pub fn setup(&self) -> OwnedBootConfig {
        OwnedBootConfig {
            images: self.layout.images.clone(),
            scratch: self.layout.scratch,
            strategy: self.strategy,
            downgrade: DowngradePrevention::Off,
            write_size: self.write_size,
            // BOOT_MAX_ALIGN must be at least the write size (mcuboot.md §2.1).
            max_align: self.write_size.max(8),
            erased_val: self.erased,
            max_sectors: self.layout.max_sectors,
            bootstrap: false,
            keys: Vec::new(),
            signature: None,
            sector_runs: self.layout.runs.clone(),
        }
    }
}

/// Every combination of `layouts` for `strategy`, excluded layouts left
/// out (a layout lists the strategies it cannot host in `Layout::excludes`).
pub fn combos(layouts: &[Layout], strategy: UpgradeStrategy) -> Vec<Combo> {
    let mut out = Vec::new();
    for layout in layouts.iter().filter(|l| !l.excludes.contains(&strategy)) {
        for &write_size in &WRITE_SIZES {
            for &erased in &ERASED_VALUES {
                out.push(Combo {
                    layout: layout.clone(),
                    strategy,
                    write_size,
                    erased,
                });
            }
        }
    }
    out
}

/// How a scenario ended on one combination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// The scenario does not apply (MCUboot's sim returns early the same
    /// way, e.g. revert tests under overwrite-only).
    NotApplicable(&'static str),
}

/// Collected results of one scenario over many combinations.
#[derive(Debug, Default)]
pub struct Report {
    /// Labels of the combinations that passed.
    pub passed: Vec<String>,
    /// Labels of the combinations the scenario does not apply to, and why.
    pub not_applicable: Vec<(String, &'static str)>,
    /// Labels of the failed combinations, and why they failed.
    pub failed: Vec<(String, ScenarioError)>,
}

impl Report {
    /// Panics with every failure when there is any (for `#[test]`s).
    #[track_caller]
    pub fn assert_ok(&self, scenario: &str) {
        assert!(
            self.failed.is_empty() && !(self.passed.is_empty() && self.not_applicable.is_empty()),
            "{scenario}: {} of {} combinations failed ({} passed, {} n/a):\n  {}",
            self.failed.len(),
            self.failed.len() + self.passed.len() + self.not_applicable.len(),
            self.passed.len(),
            self.not_applicable.len(),
            if self.failed.is_empty() {
                "nothing passed".to_string()
            } else {
                self.failed
                    .iter()
                    .map(|(label, e)| format!("{label}: {e}"))
                    .collect::<Vec<_>>()
                    .join("\n  ")
            }
        );
    }
}

/// Runs `scenario` on every combination (in parallel) and collects results.
pub fn run_all(
    combos: &[Combo],
    scenario: &(dyn Fn(&Combo) -> Result<Verdict, ScenarioError> + Sync),
) -> Report {
    let results = Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(combos.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(combo) = combos.get(i) else { break };
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(combo)))
                        .unwrap_or_else(|_| Err(ScenarioError::Panicked));
                if let Ok(mut r) = results.lock() {
                    r.push((combo.label(), outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut report = Report::default();
    for (label, outcome) in results {
        match outcome {
            Ok(Verdict::Pass) => report.passed.push(label),
            Ok(Verdict::NotApplicable(why)) => report.not_applicable.push((label, why)),
            Err(e) => report.failed.push((label, e)),
        }
    }
    report
}

// ---------------------------------------------------------------------------
// Fixtures: a flash with images installed, like MCUboot sim's `Images`.
