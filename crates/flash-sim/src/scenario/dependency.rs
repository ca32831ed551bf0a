//! The two-image dependency scenarios (MCUboot sim's `TEST_DEPS`).

use mcuboot_boot::owned::OwnedBootConfig;

use super::error::ScenarioError;
use super::fixture::{is_swap, Fixture, PRIMARY_PAYLOAD, UPGRADE_PAYLOAD};
use super::{ImageMaker, ImageSpec, Verdict};

/// The kinds of dependency of MCUboot sim's `DepType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepType {
    /// No dependency.
    Nothing,
    /// On the other image's upgrade version.
    Correct,
    /// On the other image's current version.
    OldCorrect,
    /// On a version newer than the other image's upgrade.
    Newer,
    /// The image has no upgrade.
    NoUpgrade,
}

/// One of the 11 `TEST_DEPS` cases: dependency kinds per image and whether
/// each image is expected to be upgraded.
#[derive(Debug, Clone, Copy)]
pub struct DepTest {
    /// What each image's upgrade depends on.
    pub depends: [DepType; 2],
    /// Whether each image is expected to be upgraded.
    pub upgraded: [bool; 2],
}

/// MCUboot's `TEST_DEPS` (`sim/tests/core.rs`), in order.
pub const TEST_DEPS: [DepTest; 11] = {
    use DepType::*;
    [
        DepTest {
            depends: [Nothing, Nothing],
            upgraded: [true, true],
        },
        DepTest {
            depends: [Correct, Correct],
            upgraded: [true, true],
        },
        DepTest {
            depends: [Newer, Newer],
            upgraded: [false, false],
        },
        DepTest {
            depends: [Newer, Correct],
            upgraded: [false, false],
        },
        DepTest {
            depends: [Correct, Newer],
            upgraded: [false, false],
        },
        DepTest {
            depends: [Nothing, NoUpgrade],
            upgraded: [true, false],
        },
        DepTest {
            depends: [OldCorrect, NoUpgrade],
            upgraded: [true, false],
        },
        DepTest {
            depends: [Newer, NoUpgrade],
            upgraded: [false, false],
        },
        DepTest {
            depends: [NoUpgrade, Nothing],
            upgraded: [false, true],
        },
        DepTest {
            depends: [NoUpgrade, OldCorrect],
            upgraded: [false, true],
        },
        DepTest {
            depends: [NoUpgrade, Newer],
            upgraded: [false, false],
        },
    ]
};

/// `ImageVersion::new_synthetic` of MCUboot's sim (`depends.rs`):
/// major = image·20 + slot, minor given, revision 1, build = slot.
fn synthetic(image: u8, slot: u8, minor: u8) -> String {
    format!("{}.{}.1+{}", image * 20 + slot, minor, slot)
}

/// `dependency_combos`: a two-image PERM upgrade with the dependencies of
/// `dep`; checks which images end up upgraded.
pub fn dependency_combo(
    setup: &OwnedBootConfig,
    maker: &dyn ImageMaker,
    dep: &DepTest,
) -> Result<Verdict, ScenarioError> {
    if setup.images.len() != 2 {
        return Err(ScenarioError::NeedsTwoImages);
    }
    let mut fx = Fixture::empty(setup.clone())?;
    for image in 0..2u8 {
        let other = 1 - image;
        let seed = u32::from(image) * 16;
        let a = maker.make(&ImageSpec::new(
            seed + 1,
            PRIMARY_PAYLOAD,
            &synthetic(image, 0, 0),
        ))?;
        let slots = fx.setup.images[usize::from(image)];
        fx.install(slots.primary, 0, &a)?;
        fx.primaries.push(a);
        let kind = dep.depends[usize::from(image)];
        if kind == DepType::NoUpgrade {
            fx.upgrades.push(None);
            continue;
        }
        let mut spec = ImageSpec::new(seed + 2, UPGRADE_PAYLOAD, &synthetic(image, 1, 0));
        match kind {
            DepType::Correct => spec.dependencies.push((other, synthetic(other, 1, 0))),
            DepType::OldCorrect => spec.dependencies.push((other, synthetic(other, 0, 0))),
            DepType::Newer => spec.dependencies.push((other, synthetic(other, 1, 1))),
            DepType::Nothing | DepType::NoUpgrade => {}
        }
        let b = maker.make(&spec)?;
        let off = fx.upgrade_offset(usize::from(image));
        fx.install(slots.secondary, off, &b)?;
        fx.mark_magic(slots.secondary)?;
        if is_swap(&fx.setup) {
            fx.mark_image_ok(slots.secondary)?;
        }
        fx.upgrades.push(Some(b));
    }
    fx.boot()?;
    for image in 0..2 {
        let want_new = dep.upgraded[image];
        let holds = if want_new {
            fx.upgrades[image]
                .as_deref()
                .is_some_and(|b| fx.primary_holds(image, b))
        } else {
            fx.primary_holds(image, &fx.primaries[image])
        };
        if !holds {
            return Err(ScenarioError::Dependency {
                case: dep.depends,
                image,
                upgrade: want_new,
            });
        }
    }
    Ok(Verdict::Pass)
}
