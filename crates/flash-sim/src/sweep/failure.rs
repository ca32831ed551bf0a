//! Typed sweep failures: which cut point failed, how, and what was
//! expected and observed. `Display` gives the one-line text of
//! `espboot sim sweep`; `Serialize` the `--json` record.

use std::fmt;

use mcuboot_boot::Slot;
use serde::{Serialize, Serializer};

use crate::flash::{CutMode, FlashError};
use crate::run::{RunningImage, TrailerSummary};

/// One failed cut point of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepFailure {
    /// The flash operation the power was cut at (1-based, counted from
    /// power-on of the cut boot).
    pub operation: u64,
    /// How the operation was cut.
    pub mode: CutMode,
    /// The failure class: the known hazard this cut point falls into, if
    /// the sweep recognised one (`None`: unexplained, a bug candidate).
    pub hazard: Option<Hazard>,
    /// Whether the device survives it (derived from `failure`).
    pub safety: Safety,
    /// What went wrong.
    pub failure: Failure,
}

impl SweepFailure {
    /// A failed cut point; its [`Safety`] follows from `failure`, and a
    /// failure that is only a different swap type recorded in a trailer is
    /// classed [`Hazard::SwapTypeRecordOnly`] whatever the cut.
    pub fn new(operation: u64, mode: CutMode, hazard: Option<Hazard>, failure: Failure) -> Self {
        let hazard = match &failure {
            Failure::TrailerDiffers {
                expected, observed, ..
            } if expected.magic == observed.magic
                && expected.image_ok == observed.image_ok
                && expected.copy_done == observed.copy_done =>
            {
                Some(Hazard::SwapTypeRecordOnly)
            }
            _ => hazard,
        };
        SweepFailure {
            operation,
            mode,
            hazard,
            safety: Safety::of(&failure),
            failure,
        }
    }

    /// The class this failure is counted under.
    pub fn class(&self) -> HazardKind {
        self.hazard.map_or(HazardKind::Unexplained, |h| h.kind())
    }
}

impl fmt::Display for SweepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.mode {
            CutMode::Clean => "cut",
            CutMode::Torn => "torn",
        };
        write!(f, "{label} at op {}", self.operation)?;
        match &self.hazard {
            Some(hazard) => write!(f, " [{hazard}; {}]", self.safety)?,
            None => write!(f, " [unexplained; {}]", self.safety)?,
        }
        write!(f, ": {}", self.failure)
    }
}

/// What a failed cut point leaves the device able to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Safety {
    /// A valid image still boots (the old one, or the right one with a
    /// trailer or a slot copy other than the uninterrupted boot leaves):
    /// the device keeps running and can retry the upgrade.
    Safe,
    /// Nothing boots after the cut, and nothing will on any later power-on
    /// (the boot is deterministic): the device needs reflashing.
    Brick,
}

impl Safety {
    /// The safety of a failure: a brick when the boot after the cut started
    /// nothing (or the sweep could not tell).
    pub fn of(failure: &Failure) -> Safety {
        match failure {
            Failure::WrongImages { observed, .. } if !observed.is_empty() => Safety::Safe,
            Failure::TrailerDiffers { .. } | Failure::ImageDiffers { .. } => Safety::Safe,
            _ => Safety::Brick,
        }
    }

    /// `safe` or `brick`.
    pub fn name(self) -> &'static str {
        match self {
            Safety::Safe => "safe",
            Safety::Brick => "brick",
        }
    }
}

impl fmt::Display for Safety {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A cut point in a window where losing data is known behaviour of the
/// flash or of the bootloader's flash backend rather than a bug of the
/// upgrade logic: the failure classes of a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Hazard {
    /// The bootloader's flash backend erases a whole sector to write part
    /// of it back (as MCUboot's Espressif port does for every encrypted
    /// write, `aligned_flash_write(.., erase = true)` in `esp_mcuboot.c`):
    /// a cut between the erase and the write-back loses the sector's other
    /// bytes, which then read as the decryption of erased flash. `sector`
    /// is the address of the sector found erased.
    EraseBeforeWrite {
        /// Address of the sector left erased.
        sector: u32,
    },
    /// The backend's erase is a physical erase followed by writing the
    /// erased value back encrypted (`flash_area_erase` in `esp_mcuboot.c`,
    /// so that erased flash reads 0xff through the decrypting cache): a cut
    /// before the write-back is complete leaves part of the erased range
    /// reading as garbage instead of 0xff. `sector` is the first sector
    /// left (partly) unfilled.
    EraseWriteBack {
        /// Address of the first sector whose write-back is missing.
        sector: u32,
    },
    /// The cut operation was torn (half done), a state MCUboot's design
    /// excludes: it assumes a write of `flash_area_align()` bytes and a
    /// sector erase either happen or not (MCUboot's simulator never tears
    /// an operation).
    TornOperation {
        /// Whether the torn operation was an erase (else a write).
        erase: bool,
        /// Its address (sector address for an erase).
        address: u32,
    },
    /// The right images run and every slot holds the right image; a
    /// trailer differs only in the swap type its `swap_info` records. Seen
    /// when a cut lands before a revert's status is written: the next boot
    /// finds the primary trailer erased and the secondary's good, decides
    /// the swap afresh from MCUboot's swap table (`boot_swap_type`), which
    /// gives a permanent swap of the same images, and records `perm` where
    /// the uninterrupted revert records `revert`. `swap_info` is not read
    /// again once `copy_done` is set, and MCUboot's simulator does not
    /// compare it (`verify_trailer` in `sim/src/image.rs` checks magic,
    /// image_ok and copy_done only).
    SwapTypeRecordOnly,
}

impl Hazard {
    /// The class without its address.
    pub fn kind(&self) -> HazardKind {
        match self {
            Hazard::EraseBeforeWrite { .. } => HazardKind::EraseBeforeWrite,
            Hazard::EraseWriteBack { .. } => HazardKind::EraseWriteBack,
            Hazard::TornOperation { .. } => HazardKind::TornOperation,
            Hazard::SwapTypeRecordOnly => HazardKind::SwapTypeRecordOnly,
        }
    }
}

impl fmt::Display for Hazard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hazard::EraseBeforeWrite { sector } => {
                write!(f, "{ERASE_BEFORE_WRITE_HAZARD} at {sector:#x}")
            }
            Hazard::EraseWriteBack { sector } => {
                write!(f, "{} at {sector:#x}", HazardKind::EraseWriteBack)
            }
            Hazard::TornOperation { erase, address } => write!(
                f,
                "torn {} at {address:#x}",
                if *erase { "erase" } else { "write" }
            ),
            Hazard::SwapTypeRecordOnly => f.write_str(HazardKind::SwapTypeRecordOnly.name()),
        }
    }
}

/// A failure class of a sweep, without its address: how sweep summaries
/// group failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum HazardKind {
    /// [`Hazard::EraseBeforeWrite`].
    EraseBeforeWrite,
    /// [`Hazard::EraseWriteBack`].
    EraseWriteBack,
    /// [`Hazard::TornOperation`].
    TornOperation,
    /// [`Hazard::SwapTypeRecordOnly`].
    SwapTypeRecordOnly,
    /// No known hazard explains the failure: a bug of the boot core or of
    /// the simulator until shown otherwise.
    Unexplained,
}

impl HazardKind {
    /// How the class is named in text.
    pub fn name(self) -> &'static str {
        match self {
            HazardKind::EraseBeforeWrite => ERASE_BEFORE_WRITE_HAZARD,
            HazardKind::EraseWriteBack => "port erase write-back hazard",
            HazardKind::TornOperation => "torn operation",
            HazardKind::SwapTypeRecordOnly => "swap type record only",
            HazardKind::Unexplained => "unexplained",
        }
    }
}

impl fmt::Display for HazardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How [`Hazard::EraseBeforeWrite`] is named in text.
pub const ERASE_BEFORE_WRITE_HAZARD: &str = "port erase-before-write hazard";

/// Serializes an error as its one-line message.
fn as_message<E: fmt::Display, S: Serializer>(error: &E, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(error)
}

/// Serializes an optional error as its message, or `null`.
fn as_optional_message<E: fmt::Display, S: Serializer>(
    error: &Option<E>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match error {
        Some(e) => s.collect_str(e),
        None => s.serialize_none(),
    }
}

/// Serializes a slot as `primary` or `secondary`.
fn slot_name<S: Serializer>(slot: &Slot, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(slot_label(*slot))
}

fn slot_label(slot: Slot) -> &'static str {
    match slot {
        Slot::Primary => "primary",
        Slot::Secondary => "secondary",
    }
}

/// What went wrong at a cut point.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Failure {
    /// The replayed operation under the armed cut was performed anyway.
    CutOperationPerformed,
    /// The replayed operation under the armed cut failed with another
    /// flash error.
    CutOperationFailed {
        /// The flash error.
        #[serde(serialize_with = "as_message")]
        error: FlashError,
    },
    /// The cut boot finished before reaching the cut.
    CutBootFinished,
    /// The cut boot failed with something other than the power cut.
    CutBootFailed {
        /// Why, as the boot reported it.
        error: String,
    },
    /// Bringing the flash to the state before the cut failed: replaying a
    /// recorded operation.
    ReplayFailed {
        /// The operation that failed to replay.
        replayed: u64,
        /// Its flash error (`None`: it was not in the recording).
        #[serde(serialize_with = "as_optional_message")]
        error: Option<FlashError>,
    },
    /// The cut operation is not in the recording of the uninterrupted boot.
    NotRecorded,
    /// The boot after the cut booted nothing.
    NotBootable {
        /// Why, as the boot reported it.
        error: String,
    },
    /// The boot after the cut started other images than the uninterrupted
    /// boot.
    WrongImages {
        /// What the uninterrupted boot started.
        expected: Vec<RunningImage>,
        /// What the boot after the cut started.
        observed: Vec<RunningImage>,
    },
    /// A slot's trailer differs from the uninterrupted outcome.
    TrailerDiffers {
        /// Image index.
        image: usize,
        /// The slot.
        #[serde(serialize_with = "slot_name")]
        slot: Slot,
        /// The trailer after the uninterrupted boot.
        expected: TrailerSummary,
        /// The trailer after the boot that followed the cut.
        observed: TrailerSummary,
    },
    /// A slot's image bytes differ from the uninterrupted outcome.
    ImageDiffers {
        /// Image index.
        image: usize,
        /// The slot.
        #[serde(serialize_with = "slot_name")]
        slot: Slot,
        /// Length of the image after the uninterrupted boot (`None`: no
        /// image).
        expected_len: Option<u64>,
        /// Length of the image after the boot that followed the cut.
        observed_len: Option<u64>,
        /// Offset of the first differing byte, when both hold an image.
        first_difference: Option<u64>,
    },
    /// The state after the cut could not be inspected.
    Inspection {
        /// Why.
        error: String,
    },
}

fn images_text(images: &[RunningImage]) -> String {
    if images.is_empty() {
        return "nothing".to_string();
    }
    images
        .iter()
        .map(|i| format!("image {} {} ({})", i.image, i.version, slot_label(i.slot)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn len_text(len: Option<u64>) -> String {
    match len {
        Some(n) => format!("{n} bytes"),
        None => "no image".to_string(),
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::CutOperationPerformed => f.write_str("the cut operation was performed"),
            Failure::CutOperationFailed { error } => {
                write!(f, "the cut operation failed otherwise: {error}")
            }
            Failure::CutBootFinished => f.write_str("the cut boot finished before the cut"),
            Failure::CutBootFailed { error } => write!(f, "the cut boot failed otherwise: {error}"),
            Failure::ReplayFailed { replayed, error } => match error {
                Some(e) => write!(f, "replaying operation {replayed} failed: {e}"),
                None => write!(f, "replaying operation {replayed} failed: not recorded"),
            },
            Failure::NotRecorded => f.write_str("the cut operation was not recorded"),
            Failure::NotBootable { error } => {
                write!(f, "no bootable image after the cut: {error}")
            }
            Failure::WrongImages { expected, observed } => write!(
                f,
                "booted {}, expected {}",
                images_text(observed),
                images_text(expected)
            ),
            Failure::TrailerDiffers {
                image,
                slot,
                expected,
                observed,
            } => write!(
                f,
                "image {image} {} slot trailer {observed}, expected {expected}",
                slot_label(*slot)
            ),
            Failure::ImageDiffers {
                image,
                slot,
                expected_len,
                observed_len,
                first_difference,
            } => {
                write!(
                    f,
                    "image {image} {} slot image differs ({} vs expected {}",
                    slot_label(*slot),
                    len_text(*observed_len),
                    len_text(*expected_len)
                )?;
                if let Some(p) = first_difference {
                    write!(f, ", first difference at +{p:#x}")?;
                }
                f.write_str(")")
            }
            Failure::Inspection { error } => f.write_str(error),
        }
    }
}

/// The first difference between two optional images (`None` when they
/// are equal), as a [`Failure::ImageDiffers`] for `image`'s `slot`.
pub fn image_difference(
    image: usize,
    slot: Slot,
    observed: Option<&[u8]>,
    expected: Option<&[u8]>,
) -> Option<Failure> {
    if observed == expected {
        return None;
    }
    let first_difference = match (observed, expected) {
        (Some(o), Some(e)) => o
            .iter()
            .zip(e.iter())
            .position(|(a, b)| a != b)
            .map(|p| p as u64),
        _ => None,
    };
    Some(Failure::ImageDiffers {
        image,
        slot,
        expected_len: expected.map(|e| e.len() as u64),
        observed_len: observed.map(|o| o.len() as u64),
        first_difference,
    })
}
