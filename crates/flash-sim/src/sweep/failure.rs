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
    /// A known hazard this cut point falls into, if the sweep recognised
    /// one.
    pub hazard: Option<Hazard>,
    /// What went wrong.
    pub failure: Failure,
}

impl fmt::Display for SweepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.mode {
            CutMode::Clean => "cut",
            CutMode::Torn => "torn",
        };
        write!(f, "{label} at op {}", self.operation)?;
        if let Some(hazard) = &self.hazard {
            write!(f, " [{hazard}]")?;
        }
        write!(f, ": {}", self.failure)
    }
}

/// A cut point in a window where losing data is the bootloader's known
/// behaviour rather than a bug of the upgrade logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Hazard {
    /// The bootloader's flash backend erases a whole sector to write part
    /// of it back (as MCUboot's Espressif port does for encrypted writes):
    /// a cut between the erase and the write-back loses the sector's other
    /// bytes. `sector` is the address of the sector found erased.
    EraseBeforeWrite {
        /// Address of the sector left erased.
        sector: u32,
    },
}

impl fmt::Display for Hazard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hazard::EraseBeforeWrite { sector } => {
                write!(f, "{ERASE_BEFORE_WRITE_HAZARD} at {sector:#x}")
            }
        }
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
