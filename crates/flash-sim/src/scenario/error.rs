//! Why a scenario failed on a combination.

use mcuboot_boot::{BootError, FlagState, MagicState, Slot};

use super::DepType;
use crate::flash::{FlashError, GeometryError};

/// An image maker's own error (imgtool's exit status, a build error, ...).
pub type MakeError = Box<dyn std::error::Error + Send + Sync>;

/// Why a scenario failed on one combination.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The image maker failed.
    #[error("making an image: {0}")]
    Image(#[from] MakeError),
    /// The configuration's sector map is not a valid flash.
    #[error("flash: {0}")]
    Geometry(#[from] GeometryError),
    /// Setting up the flash failed.
    #[error("{what}: {source}")]
    Flash {
        /// What the fixture was doing.
        what: &'static str,
        /// The flash error.
        #[source]
        source: FlashError,
    },
    /// An image does not fit where the fixture installs it.
    #[error("{bytes} bytes do not fit in the slot")]
    DoesNotFit {
        /// The image size.
        bytes: usize,
    },
    /// An uninterrupted boot failed.
    #[error("boot failed: {0}")]
    Boot(#[source] BootError<FlashError>),
    /// A boot meant to be cut failed with something other than the cut.
    #[error("cut boot failed otherwise: {0}")]
    CutBoot(#[source] BootError<FlashError>),
    /// Another boot-core call (trailer read, `set_confirmed`,
    /// `max_image_size`) failed.
    #[error("{call}: {source}")]
    Call {
        /// The call.
        call: &'static str,
        /// What the boot core reported.
        #[source]
        source: BootError<FlashError>,
    },
    /// A slot's trailer is not what the scenario expects.
    #[error(
        "image {image} {slot:?} trailer is magic {magic:?} image_ok {image_ok:?} copy_done \
         {copy_done:?}, expected {expected_magic:?} {expected_image_ok:?} {expected_copy_done:?}"
    )]
    Trailer {
        /// Image index.
        image: usize,
        /// The slot.
        slot: Slot,
        /// The magic found.
        magic: MagicState,
        /// image_ok found.
        image_ok: FlagState,
        /// copy_done found.
        copy_done: FlagState,
        /// The magic expected (`None`: any).
        expected_magic: Option<MagicState>,
        /// image_ok expected (`None`: any).
        expected_image_ok: Option<FlagState>,
        /// copy_done expected (`None`: any).
        expected_copy_done: Option<FlagState>,
    },
    /// A check of the scenario did not hold.
    #[error("{0}")]
    Check(&'static str),
    /// The upgrade was still running after `boots` boots of a TEST image
    /// that was never confirmed.
    #[error("not reverted after {boots} boots")]
    NotReverted {
        /// Boots so far.
        boots: u32,
    },
    /// The oversized image the scenario built is not oversized.
    #[error("oversized image is only {len} bytes (max {max})")]
    NotOversized {
        /// The image size.
        len: usize,
        /// The largest image the slot accepts.
        max: u32,
    },
    /// An image of a dependency case was upgraded or held against
    /// expectation.
    #[error("{case:?}: image {image} should be {}", if *.upgrade { "upgraded" } else { "held" })]
    Dependency {
        /// The case's dependency kinds.
        case: [DepType; 2],
        /// The image.
        image: usize,
        /// Whether it should have been upgraded.
        upgrade: bool,
    },
    /// A power cut during the scenario led to a failure.
    #[error("cut at {at}/{total}: {source}")]
    AtCut {
        /// The cut operation.
        at: u64,
        /// Operations of the uninterrupted boot.
        total: u64,
        /// What failed after it.
        #[source]
        source: Box<ScenarioError>,
    },
    /// Some cut points of a sweep failed (the first is kept).
    #[error("{failed} of {points} cut points failed; first: {first}")]
    Cuts {
        /// Failed cut points.
        failed: usize,
        /// Cut points tried.
        points: u64,
        /// The first failure.
        #[source]
        first: Box<ScenarioError>,
    },
    /// One case of a table-driven scenario failed.
    #[error("{table}[{index}]: {source}")]
    Case {
        /// The table (`TEST_DEPS`).
        table: &'static str,
        /// The case's index.
        index: usize,
        /// What failed.
        #[source]
        source: Box<ScenarioError>,
    },
    /// The scenario needs a layout with two images.
    #[error("dependency scenarios need a two-image layout")]
    NeedsTwoImages,
    /// The scenario panicked.
    #[error("panicked")]
    Panicked,
}

/// The error of a failed `check`, or `Ok`.
pub(super) fn expect(cond: bool, what: &'static str) -> Result<(), ScenarioError> {
    if cond {
        Ok(())
    } else {
        Err(ScenarioError::Check(what))
    }
}

/// Maps a flash error of the fixture doing `what`.
pub(super) fn flash(what: &'static str) -> impl FnOnce(FlashError) -> ScenarioError {
    move |source| ScenarioError::Flash { what, source }
}
