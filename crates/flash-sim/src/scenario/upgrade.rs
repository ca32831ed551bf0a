//! The single-image scenarios of MCUboot's simulator (`sim/tests/core.rs`):
//! upgrades, reverts, bootstrap, oversized images, power cuts at every
//! operation, downgrade prevention.

use mcuboot_boot::owned::OwnedBootConfig;
use mcuboot_boot::{DowngradePrevention, FlagState, MagicState, Slot, UpgradeStrategy};

use super::error::{expect, ScenarioError};
use super::fixture::{
    all_primaries, all_secondaries_hold_originals, is_swap, upgrade_fixture, Fixture,
    PRIMARY_PAYLOAD, UPGRADE_PAYLOAD,
};
use super::{ImageMaker, ImageSpec, Verdict};
use crate::flash::CutMode;
use crate::run::new_flash;

use FlagState::{Set as SET, Unset as UNSET};
use MagicState::{Good as GOOD, Unset as MUNSET};

/// Operations of an uninterrupted upgrade boot (`run_basic_upgrade`'s
/// `total_count`), and checks it upgraded.
pub fn basic_upgrade_ops(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
    permanent: bool,
) -> Result<u64, ScenarioError> {
    let mut fx = upgrade_fixture(setup.clone(), maker, permanent)?;
    fx.boot()?;
    expect(
        all_primaries(&fx, true),
        "image not upgraded by an uninterrupted boot",
    )?;
    Ok(fx.flash.ops())
}

/// `bad_secondary_slot`: an upgrade whose hash does not match is refused;
/// the primary and its trailer stay as they were.
pub fn bad_secondary_slot(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
) -> Result<Verdict, ScenarioError> {
    let mut fx = upgrade_fixture_with(setup.clone(), maker, |b| {
        // Flip a payload byte: the SHA-256 TLV no longer matches.
        if let Some(x) = b.get_mut(0x40) {
            *x ^= 0x55;
        }
    })?;
    let pri = fx.setup.images[0].primary;
    fx.mark_magic(pri)?;
    fx.mark_image_ok(pri)?;
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(SET), Some(UNSET))?;
    fx.boot()?;
    expect(all_primaries(&fx, false), "primary changed")?;
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(SET), Some(UNSET))?;
    Ok(Verdict::Pass)
}

/// Like [`upgrade_fixture`] (TEST) with `tamper` applied to the upgrade.
pub(super) fn upgrade_fixture_with(
    setup: OwnedBootConfig,
    maker: &dyn ImageMaker,
    tamper: impl Fn(&mut Vec<u8>),
) -> Result<Fixture, ScenarioError> {
    let mut fx = Fixture::empty(setup)?;
    let a = maker.make(&ImageSpec::new(1, PRIMARY_PAYLOAD, "0.0.1+0"))?;
    let mut b = maker.make(&ImageSpec::new(2, UPGRADE_PAYLOAD, "1.0.1+1"))?;
    tamper(&mut b);
    fx.stage_upgrade(a, b, false)?;
    Ok(fx)
}

/// `secondary_trailer_leftover`: an otherwise erased secondary slot with a
/// trailer: the trailer gets erased and the primary boots.
pub fn secondary_trailer_leftover(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
) -> Result<Verdict, ScenarioError> {
    let mut fx = Fixture::empty(setup.clone())?;
    let a = maker.make(&ImageSpec::new(1, PRIMARY_PAYLOAD, "0.0.1+0"))?;
    let slots = fx.setup.images[0];
    fx.install(slots.primary, 0, &a)?;
    fx.primaries.push(a);
    fx.upgrades.push(None);
    if is_swap(&fx.setup) {
        fx.mark_image_ok(slots.secondary)?;
    }
    fx.mark_magic(slots.secondary)?;
    fx.boot()?;
    expect(all_primaries(&fx, false), "primary changed")?;
    fx.check_trailer(Slot::Secondary, Some(MUNSET), Some(UNSET), Some(UNSET))?;
    Ok(Verdict::Pass)
}

/// `bootstrap`: an empty primary is filled from the secondary
/// (`MCUBOOT_BOOTSTRAP`).
pub fn bootstrap(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
) -> Result<Verdict, ScenarioError> {
    let mut setup = setup.clone();
    setup.bootstrap = true;
    let mut fx = Fixture::empty(setup)?;
    let b = maker.make(&ImageSpec::new(2, UPGRADE_PAYLOAD, "1.0.1+1"))?;
    let slots = fx.setup.images[0];
    let off = fx.upgrade_offset(0);
    fx.install(slots.secondary, off, &b)?;
    fx.primaries.push(Vec::new());
    fx.upgrades.push(Some(b));
    fx.boot()?;
    expect(
        all_primaries(&fx, true),
        "image not bootstrapped into the primary",
    )?;
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(SET), Some(SET))?;
    Ok(Verdict::Pass)
}

/// An image (with `seed`, `version`) whose total size is `max + 8`, i.e.
/// just over what the bootloader accepts in `image`'s slots.
fn oversized_image(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
    image: usize,
    seed: u32,
) -> Result<Vec<u8>, ScenarioError> {
    let mut probe_flash = new_flash(setup)?;
    let max = setup
        .with_config(|cfg| mcuboot_boot::max_image_size(&mut probe_flash, cfg, image))
        .map_err(|source| ScenarioError::Call {
            call: "max_image_size",
            source,
        })?;
    let probe = maker.make(&ImageSpec::new(seed, 0x100, "1.0.1+1"))?;
    let overhead = probe.len() as u32 - 0x100;
    let payload = (max + 8).checked_sub(overhead).ok_or(ScenarioError::Check(
        "slot too small for an oversized image",
    ))?;
    let img = maker.make(&ImageSpec::new(seed, payload, "1.0.1+1"))?;
    if img.len() as u32 <= max {
        return Err(ScenarioError::NotOversized {
            len: img.len(),
            max,
        });
    }
    Ok(img)
}

/// `oversized_bootstrap`: an image larger than the slot allows is not
/// bootstrapped; nothing boots.
pub fn oversized_bootstrap(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
) -> Result<Verdict, ScenarioError> {
    let mut setup = setup.clone();
    setup.bootstrap = true;
    let big = oversized_image(&setup, maker, 0, 3)?;
    let mut fx = Fixture::empty(setup)?;
    let slots = fx.setup.images[0];
    let off = fx.upgrade_offset(0);
    if fx.install(slots.secondary, off, &big).is_err() {
        return Ok(Verdict::NotApplicable(
            "an oversized image does not fit the slot at all",
        ));
    }
    fx.primaries.push(Vec::new());
    fx.upgrades.push(Some(big.clone()));
    expect(fx.boot().is_err(), "booted with only an oversized image")?;
    expect(
        !fx.primary_holds(0, &big),
        "oversized image was bootstrapped",
    )?;
    let t = fx
        .setup
        .trailer(&mut fx.flash, 0, Slot::Primary)
        .map_err(|source| ScenarioError::Call {
            call: "reading trailer",
            source,
        })?;
    expect(
        !(t.magic == GOOD && t.image_ok == SET && t.copy_done == SET),
        "primary trailer says an image was installed",
    )?;
    Ok(Verdict::Pass)
}

/// `oversized_secondary_slot`: an upgrade larger than allowed is refused;
/// the primary is intact.
pub fn oversized_secondary_slot(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
) -> Result<Verdict, ScenarioError> {
    let big = oversized_image(setup, maker, 0, 4)?;
    let mut fx = Fixture::empty(setup.clone())?;
    let a = maker.make(&ImageSpec::new(1, PRIMARY_PAYLOAD, "0.0.1+0"))?;
    let slots = fx.setup.images[0];
    fx.install(slots.primary, 0, &a)?;
    let off = fx.upgrade_offset(0);
    if fx.install(slots.secondary, off, &big).is_err() {
        return Ok(Verdict::NotApplicable(
            "an oversized image does not fit the slot at all",
        ));
    }
    fx.primaries.push(a);
    fx.upgrades.push(Some(big));
    fx.mark_magic(slots.primary)?;
    fx.mark_image_ok(slots.primary)?;
    fx.mark_magic(slots.secondary)?;
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(SET), Some(UNSET))?;
    fx.boot()?;
    expect(all_primaries(&fx, false), "primary changed")?;
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(SET), Some(UNSET))?;
    Ok(Verdict::Pass)
}

/// `norevert_newimage`: a primary with the magic (imgtool `--pad`) and no
/// upgrade: nothing happens.
pub fn norevert_newimage(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
) -> Result<Verdict, ScenarioError> {
    let mut fx = Fixture::empty(setup.clone())?;
    let a = maker.make(&ImageSpec::new(1, PRIMARY_PAYLOAD, "0.0.1+0"))?;
    let slots = fx.setup.images[0];
    fx.install(slots.primary, 0, &a)?;
    fx.primaries.push(a);
    fx.upgrades.push(None);
    fx.mark_magic(slots.primary)?;
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(UNSET), Some(UNSET))?;
    fx.boot()?;
    expect(all_primaries(&fx, false), "primary changed")?;
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(UNSET), Some(UNSET))?;
    fx.check_trailer(Slot::Secondary, Some(MUNSET), Some(UNSET), Some(UNSET))?;
    Ok(Verdict::Pass)
}

/// `basic_revert`: a TEST upgrade that is never confirmed reverts; after 2,
/// 3 and 4 boots the original image is back.
pub fn basic_revert(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
) -> Result<Verdict, ScenarioError> {
    if !is_swap(setup) {
        return Ok(Verdict::NotApplicable("overwrite-only never reverts"));
    }
    for count in 2..5 {
        let mut fx = upgrade_fixture(setup.clone(), maker, false)?;
        fx.boot()?;
        expect(
            all_primaries(&fx, true),
            "first boot did not run the test image",
        )?;
        for _ in 1..count {
            fx.boot()?;
        }
        if !all_primaries(&fx, false) {
            return Err(ScenarioError::NotReverted { boots: count });
        }
    }
    Ok(Verdict::Pass)
}

/// `norevert`: a TEST upgrade confirmed by the application stays.
pub fn norevert(setup: &OwnedBootConfig, maker: &dyn ImageMaker) -> Result<Verdict, ScenarioError> {
    if !is_swap(setup) {
        return Ok(Verdict::NotApplicable("overwrite-only never reverts"));
    }
    let mut fx = upgrade_fixture(setup.clone(), maker, false)?;
    fx.boot()?;
    expect(all_primaries(&fx, true), "primary not upgraded")?;
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(UNSET), Some(SET))?;
    fx.check_trailer(Slot::Secondary, Some(MUNSET), Some(UNSET), Some(UNSET))?;
    // The application confirms (boot_set_confirmed).
    for image in 0..fx.setup.images.len() {
        fx.setup
            .set_confirmed(&mut fx.flash, image)
            .map_err(|source| ScenarioError::Call {
                call: "set_confirmed",
                source,
            })?;
    }
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(SET), Some(SET))?;
    fx.boot()?;
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(SET), Some(SET))?;
    expect(all_primaries(&fx, true), "reverted after confirm")?;
    Ok(Verdict::Pass)
}

pub(super) fn check_perm_done(fx: &mut Fixture) -> Result<(), ScenarioError> {
    expect(all_primaries(fx, true), "primary is not the new image")?;
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(SET), Some(SET))?;
    fx.check_trailer(Slot::Secondary, Some(MUNSET), Some(UNSET), Some(UNSET))?;
    if is_swap(&fx.setup) {
        expect(
            all_secondaries_hold_originals(fx),
            "secondary is not the old image",
        )?;
    }
    Ok(())
}

/// `perm_with_fails`: a PERM upgrade interrupted at every flash operation
/// (in `mode`), then booted again, ends like the uninterrupted upgrade.
pub fn perm_with_fails(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
    mode: CutMode,
) -> Result<Verdict, ScenarioError> {
    let total = basic_upgrade_ops(setup, maker, true)?;
    let base = upgrade_fixture(setup.clone(), maker, true)?;
    let mut fx = base;
    let snap = fx.flash.snapshot();
    let mut failures = Vec::new();
    for i in 1..total {
        fx.flash.restore(&snap);
        let r = (|| {
            expect(fx.boot_cut(i, mode)?, "not interrupted")?;
            fx.boot()?;
            check_perm_done(&mut fx)
        })();
        if let Err(e) = r {
            failures.push(ScenarioError::AtCut {
                at: i,
                total,
                source: Box::new(e),
            });
        }
    }
    summarize(failures, total)
}

pub(super) fn summarize(
    failures: Vec<ScenarioError>,
    total: u64,
) -> Result<Verdict, ScenarioError> {
    let failed = failures.len();
    match failures.into_iter().next() {
        None => Ok(Verdict::Pass),
        Some(first) => Err(ScenarioError::Cuts {
            failed,
            points: total.saturating_sub(1),
            first: Box::new(first),
        }),
    }
}

/// `revert_with_fails`: a TEST upgrade interrupted at every operation, then
/// its revert interrupted at the same operation; images and trailers are
/// right at each stage.
pub fn revert_with_fails(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
    mode: CutMode,
) -> Result<Verdict, ScenarioError> {
    if !is_swap(setup) {
        return Ok(Verdict::NotApplicable("overwrite-only never reverts"));
    }
    let total = basic_upgrade_ops(setup, maker, false)?;
    let mut fx = upgrade_fixture(setup.clone(), maker, false)?;
    let snap = fx.flash.snapshot();
    let mut failures = Vec::new();
    for i in 1..total {
        fx.flash.restore(&snap);
        let r = (|| {
            expect(fx.boot_cut(i, mode)?, "upgrade not interrupted")?;
            // copy_done must not be set before the swap completed.
            fx.check_trailer(Slot::Primary, None, None, Some(UNSET))?;
            fx.boot()?;
            expect(all_primaries(&fx, true), "primary is not the test image")?;
            expect(
                all_secondaries_hold_originals(&fx),
                "secondary is not the old image",
            )?;
            fx.check_trailer(Slot::Primary, Some(GOOD), Some(UNSET), Some(SET))?;
            fx.check_trailer(Slot::Secondary, Some(MUNSET), Some(UNSET), Some(UNSET))?;
            // The revert, interrupted at the same point.
            expect(fx.boot_cut(i, mode)?, "revert not interrupted")?;
            fx.boot()?;
            expect(
                all_primaries(&fx, false),
                "primary is not the original after revert",
            )?;
            let upgrades_back = (0..fx.setup.images.len()).all(|k| {
                fx.upgrades[k]
                    .as_deref()
                    .is_some_and(|b| fx.secondary_holds(k, b))
            });
            expect(
                upgrades_back,
                "secondary is not the test image after revert",
            )?;
            fx.check_trailer(Slot::Primary, Some(GOOD), Some(SET), Some(SET))?;
            fx.check_trailer(Slot::Secondary, Some(MUNSET), Some(UNSET), Some(UNSET))?;
            fx.boot()?;
            expect(
                all_primaries(&fx, false),
                "original image gone on the boot after revert",
            )
        })();
        if let Err(e) = r {
            failures.push(ScenarioError::AtCut {
                at: i,
                total,
                source: Box::new(e),
            });
        }
    }
    summarize(failures, total)
}

/// `perm_with_random_fails`: a PERM upgrade with successive interruptions at
/// the given operation counts (each boot restarts counting), then an
/// uninterrupted boot; ends like the uninterrupted upgrade.
pub fn perm_with_cuts(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
    cuts: &[(u64, CutMode)],
) -> Result<Verdict, ScenarioError> {
    let mut fx = upgrade_fixture(setup.clone(), maker, true)?;
    for &(at, mode) in cuts {
        if !fx.boot_cut(at.max(1), mode)? {
            // The upgrade finished before this cut: nothing left to cut.
            break;
        }
    }
    fx.boot()?;
    check_perm_done(&mut fx)?;
    Ok(Verdict::Pass)
}

/// `downgrade_prevention`: with version-based prevention an upgrade to a
/// lower version is refused; with security counters a lower counter is.
pub fn downgrade_prevention(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
    policy: DowngradePrevention,
) -> Result<Verdict, ScenarioError> {
    let mut setup = setup.clone();
    setup.downgrade = policy;
    let mut fx = Fixture::empty(setup)?;
    let (cur, new) = match policy {
        DowngradePrevention::SecurityCounter => {
            // Higher version but lower counter: refused on the counter.
            let mut a = ImageSpec::new(1, PRIMARY_PAYLOAD, "1.0.0+0");
            a.security_counter = Some(5);
            let mut b = ImageSpec::new(2, UPGRADE_PAYLOAD, "2.0.0+0");
            b.security_counter = Some(4);
            (a, b)
        }
        _ => (
            ImageSpec::new(1, PRIMARY_PAYLOAD, "2.0.0+0"),
            ImageSpec::new(2, UPGRADE_PAYLOAD, "1.9.9+0"),
        ),
    };
    let a = maker.make(&cur)?;
    let b = maker.make(&new)?;
    fx.stage_upgrade(a, b, true)?;
    fx.boot()?;
    if policy == DowngradePrevention::SecurityCounter
        && fx.setup.strategy == UpgradeStrategy::OverwriteOnly
    {
        // MCUboot's overwrite-only check (`boot_validate_slot`, loader.c)
        // compares versions only, even with
        // MCUBOOT_DOWNGRADE_PREVENTION_SECURITY_COUNTER; the higher version
        // is installed despite its lower counter.
        expect(
            all_primaries(&fx, true),
            "overwrite-only refused a higher version",
        )?;
    } else {
        expect(all_primaries(&fx, false), "downgrade was installed")?;
    }
    Ok(Verdict::Pass)
}

/// `downgrade_prevention`, the equal case: an equal version (or counter)
/// is allowed.
pub fn downgrade_equal_allowed(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
    policy: DowngradePrevention,
) -> Result<Verdict, ScenarioError> {
    let mut setup = setup.clone();
    setup.downgrade = policy;
    let mut fx = Fixture::empty(setup)?;
    let mut cur = ImageSpec::new(1, PRIMARY_PAYLOAD, "1.2.3+0");
    let mut new = ImageSpec::new(2, UPGRADE_PAYLOAD, "1.2.3+0");
    cur.security_counter = Some(7);
    new.security_counter = Some(7);
    let a = maker.make(&cur)?;
    let b = maker.make(&new)?;
    fx.stage_upgrade(a, b, true)?;
    fx.boot()?;
    expect(
        all_primaries(&fx, true),
        "equal version/counter was refused",
    )?;
    Ok(Verdict::Pass)
}
