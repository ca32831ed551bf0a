//! Why a demo step failed, or why the demo could not run at all.
//!
//! The Display text of each variant is the step's failure detail line the
//! demo prints (and puts into `--json`), so it must stay stable.

use std::path::PathBuf;

use esp_image::Chip;
use flash_sim::sweep::SweepFailure;
use mcuboot_boot::SwapType;
use mcuboot_image::ImageVersion;

use crate::chip::boot::{FirstBootEvent, RomSecureBoot};

/// A demo step that did not behave as documented, or a library call it
/// depends on that failed.
///
/// Library errors keep their own message; the variants whose message the
/// demo printed with every cause (`a: b: c`) keep doing so, and still expose
/// the cause through [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// One of the demo's files (keys, images, `bootloader.conf`) could not
    /// be written.
    #[error("{}", error_chain(source))]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: atomic_write::WriteError,
    },
    /// The device directory `device/` could not be created.
    #[error("{}", error_chain(source))]
    CreateDeviceDir {
        /// What failed.
        source: Box<crate::device::DirError>,
    },
    /// The device could not be saved into its directory at the end.
    #[error("cannot save the device in {}: {}", dir.display(), error_chain(source))]
    SaveDevice {
        /// The demo's work directory.
        dir: PathBuf,
        /// What failed.
        source: Box<crate::device::DirError>,
    },
    /// An MCUboot signing key could not be generated or encoded.
    #[error(transparent)]
    KeyFile(#[from] mcuboot_image::keys::KeyFileError),
    /// The Secure Boot V2 signing key could not be generated or encoded.
    #[error(transparent)]
    Sbv2Key(#[from] esp_secure::sbv2::KeyError),
    /// The target or `bootloader.conf` was refused.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The virtual device could not be built or written.
    #[error(transparent)]
    Device(#[from] crate::device::DeviceError),
    /// An MCUboot image could not be signed.
    #[error(transparent)]
    Sign(#[from] mcuboot_image::sign::SignError),
    /// An eFuse read, stage or burn failed.
    #[error(transparent)]
    Efuse(#[from] esp_efuse::EfuseError),
    /// The flash encryption configuration could not be read from eFuse.
    #[error(transparent)]
    Fuse(#[from] crate::chip::fuses::FuseError),
    /// The bootloader image could not be built.
    #[error(transparent)]
    Bootloader(#[from] crate::chip::bootloader::BootloaderError),
    /// The bootloader could not be signed for Secure Boot V2.
    #[error(transparent)]
    Sbv2Sign(#[from] esp_secure::sbv2::SignError),
    /// Data could not be encrypted for the flash.
    #[error(transparent)]
    FlashCrypt(#[from] esp_secure::flash_encryption::FlashCryptError),
    /// An app payload could not be built.
    #[error(transparent)]
    App(#[from] crate::chip::app::AppError),
    /// The virtual chip refused an app call, an update write or the sweep.
    #[error(transparent)]
    Chip(#[from] crate::chip::boot::ChipError),
    /// An image version the demo uses does not parse (a bug in the demo).
    #[error("version {text}: {source:?}")]
    Version {
        /// The version text.
        text: String,
        /// Why it does not parse.
        source: mcuboot_image::VersionError,
    },
    /// The chip has no eFuse model.
    #[error("{chip} has no eFuse model")]
    NoEfuseModel {
        /// The chip.
        chip: Chip,
    },
    /// The flash map has no image slots.
    #[error("the flash map has no image slots")]
    NoImageSlots,
    /// The eFuses have no free slot for the Secure Boot V2 digest.
    #[error("no Secure Boot V2 digest slot")]
    NoDigestSlot,
    /// The flash encryption key could still be read after it was burned.
    #[error("the flash encryption key is still readable after burn-key")]
    FlashEncryptionKeyReadable,
    /// Flash encryption is not enabled in eFuse after provisioning.
    #[error("flash encryption is not enabled in eFuse")]
    FlashEncryptionNotEnabled,
    /// The ROM booted a bootloader whose signature does not match it.
    #[error("the ROM ran a tampered bootloader")]
    TamperedBootloaderRan,
    /// The power-on report has no ROM stage.
    #[error("the chip reported no ROM stage")]
    NoRomStage,
    /// The ROM did not verify the bootloader or did not decrypt the flash.
    #[error(
        "expected the ROM to verify the bootloader and decrypt the flash, got secure boot '{secure_boot}', flash encryption {flash_encryption}"
    )]
    RomChecksSkipped {
        /// What the ROM's Secure Boot check did.
        secure_boot: RomSecureBoot,
        /// The ROM decrypted the flash.
        flash_encryption: bool,
    },
    /// The port's first boot acted although the host provisioned everything.
    #[error(
        "the host provisioned everything, yet the port's first boot acted: {}",
        join_events(events)
    )]
    FirstBootActed {
        /// What the first boot did.
        events: Vec<FirstBootEvent>,
    },
    /// Nothing booted where an image was expected to.
    #[error(
        "expected {expected} to boot, nothing booted: {}",
        error.as_deref().unwrap_or("no error reported")
    )]
    NothingBooted {
        /// The version expected to run.
        expected: ImageVersion,
        /// The boot's error, if it reported one.
        error: Option<String>,
    },
    /// Another image ran, or after another kind of swap, than expected.
    #[error(
        "expected {expected} after a '{}' boot, got {} after '{}'",
        expected_swap.name(),
        running.as_deref().unwrap_or("nothing"),
        swap.name()
    )]
    WrongImage {
        /// The version expected to run.
        expected: ImageVersion,
        /// The swap expected before it.
        expected_swap: SwapType,
        /// The version that runs (`maj.min.rev+build`), if any.
        running: Option<String>,
        /// The swap that happened.
        swap: SwapType,
    },
    /// An older image marked pending was swapped in.
    #[error(
        "the downgrade was not refused: running {}, swap '{}'",
        running.as_deref().unwrap_or("nothing"),
        swap.name()
    )]
    DowngradeNotRefused {
        /// The version that runs, if any.
        running: Option<String>,
        /// The swap that happened.
        swap: SwapType,
    },
    /// An image with a flipped bit was not refused.
    #[error(
        "the tampered image was not refused: running {}",
        running.as_deref().unwrap_or("nothing")
    )]
    TamperedImageNotRefused {
        /// The version that runs, if any.
        running: Option<String>,
    },
    /// Power cuts outside the port's erase-before-write window broke the
    /// upgrade.
    #[error("{broken} of {cut_points} cut points broke the upgrade, first: {first}")]
    CutPointsBroke {
        /// How many cut points broke it (not counting the known hazards).
        broken: usize,
        /// How many cut points were tried.
        cut_points: u64,
        /// The first of them.
        first: Box<SweepFailure>,
    },
    /// No cut point in the second half of the swap recovers.
    #[error("no cut point recovers")]
    NoRecoveringCutPoint,
    /// The power cut came too late to interrupt the swap.
    #[error("the power cut did not interrupt the swap")]
    CutDidNotInterrupt,
    /// The swap did not resume to the new image after the power cut.
    #[error(
        "after the power cut, expected 1.2.0 to boot, got {}: {}",
        running.as_deref().unwrap_or("nothing"),
        error.as_deref().unwrap_or("")
    )]
    NotResumed {
        /// The version that runs, if any.
        running: Option<String>,
        /// The boot's error, if it reported one.
        error: Option<String>,
    },
}

/// An error and its sources on one line (`a: b: c`).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn join_events(events: &[FirstBootEvent]) -> String {
    events
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
