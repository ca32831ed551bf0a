//! One boot of the boot core on a simulated flash, and what it did: the
//! [`BootReport`] (`--json` shape), the per-slot state the sweep's
//! invariants compare, and the flash built from an [`OwnedBootConfig`].

use std::ops::Range;

use mcuboot_boot::owned::OwnedBootConfig;
use mcuboot_boot::{
    Area, BootError, BootResponse, FlagState, MagicState, Slot, SwapType, TrailerState,
    UpgradeStrategy,
};
use mcuboot_image::ImageSource;
use serde::Serialize;

use crate::flash::{CutMode, FlashError, Geometry, GeometryError, SimFlash};
use crate::sweep::failure::{image_difference, Failure};

/// Errors of the application-side calls and of sweeps.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The boot core failed where the harness needed an answer (reading a
    /// trailer for the invariants).
    #[error("reading image {image} {slot:?} trailer: {source}")]
    Trailer {
        /// Image index.
        image: usize,
        /// Slot read.
        slot: Slot,
        /// What the boot core reported.
        source: BootError<FlashError>,
    },
    /// The flash recording and the operation count of a boot disagree.
    #[error("recorded {recorded} flash operations of the uninterrupted boot, counted {counted}")]
    Recording {
        /// Operations recorded.
        recorded: u64,
        /// Operations counted.
        counted: u64,
    },
    /// The sector map of the configuration is not a valid flash.
    #[error("flash geometry: {0}")]
    Geometry(#[from] GeometryError),
    /// A sweep needs a bootable reference: the uninterrupted boot failed.
    #[error("the uninterrupted boot fails, nothing to sweep against: {0}")]
    ReferenceFails(#[source] BootError<FlashError>),
    /// A sweep needs a bootable reference: the uninterrupted boot chose
    /// no image.
    #[error("the uninterrupted boot fails, nothing to sweep against: no image booted")]
    NothingBooted,
}

/// The physical flash geometry of `config` (its sector map, write size and
/// erased value).
///
/// # Errors
/// The sector map is not a valid flash ([`GeometryError`]).
pub fn geometry(config: &OwnedBootConfig) -> Result<Geometry, GeometryError> {
    Geometry::from_runs(&config.sector_runs, config.write_size, config.erased_val)
}

/// A fully erased flash of `config`, with counters per area.
///
/// # Errors
/// As [`geometry`].
pub fn new_flash(config: &OwnedBootConfig) -> Result<SimFlash, GeometryError> {
    let mut flash = SimFlash::new(geometry(config)?);
    for (i, slots) in config.images.iter().enumerate() {
        flash.add_region(format!("image {i} primary slot"), range(slots.primary));
        flash.add_region(format!("image {i} secondary slot"), range(slots.secondary));
    }
    if let Some(s) = config.scratch {
        flash.add_region("scratch", range(s));
    }
    Ok(flash)
}

/// The state the invariants compare: image bytes and trailers of every
/// slot.
///
/// # Errors
/// [`RunError::Trailer`] when a trailer cannot be read.
pub fn slot_states(
    config: &OwnedBootConfig,
    flash: &mut SimFlash,
) -> Result<Vec<SlotState>, RunError> {
    let mut out = Vec::new();
    for (image, slots) in config.images.iter().enumerate() {
        for (slot, area) in [
            (Slot::Primary, slots.primary),
            (Slot::Secondary, slots.secondary),
        ] {
            let trailer =
                config
                    .trailer(flash, image, slot)
                    .map_err(|source| RunError::Trailer {
                        image,
                        slot,
                        source,
                    })?;
            let mut offsets = vec![0u32];
            if config.strategy == UpgradeStrategy::SwapOffset && slot == Slot::Secondary {
                let g = flash.geometry().clone();
                offsets.push(g.sector(g.sector_index(area.offset)).len() as u32);
            }
            let images = offsets
                .into_iter()
                .map(|off| image_at(flash, area, off))
                .collect();
            out.push(SlotState {
                image,
                slot,
                trailer: TrailerSummary::from(&trailer),
                images,
            });
        }
    }
    Ok(out)
}

fn range(a: Area) -> Range<u32> {
    a.offset..a.offset.saturating_add(a.size)
}
struct AreaReader<'a, F> {
    flash: &'a mut F,
    base: u32,
    size: u32,
}

impl<F: embedded_storage::nor_flash::ReadNorFlash> ImageSource for AreaReader<'_, F> {
    type Error = Option<F::Error>;
    fn read_at(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), Self::Error> {
        let len = u32::try_from(buf.len()).map_err(|_| None)?;
        if offset.checked_add(len).is_none_or(|end| end > self.size) {
            return Err(None);
        }
        self.flash.read(self.base + offset, buf).map_err(Some)
    }
}

/// The flash range of the whole image (header to the end of its TLVs) at
/// `off` in `area`, if a well-formed one is there. `flash` is the physical
/// flash, or a port's decrypting view of it.
pub fn image_at<F: embedded_storage::nor_flash::ReadNorFlash>(
    flash: &mut F,
    area: Area,
    off: u32,
) -> Option<Range<u32>> {
    let base = area.offset.checked_add(off)?;
    let mut src = AreaReader {
        flash,
        base,
        size: area.size.checked_sub(off)?,
    };
    let header = mcuboot_image::ImageHeader::read_from(&mut src).ok()?;
    let tlvs = mcuboot_image::TlvIter::begin(&mut src, &header, None, false).ok()?;
    Some(base..base.checked_add(tlvs.end())?)
}

/// Trailer fields compared by the invariants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TrailerSummary {
    /// The magic.
    pub magic: MagicState,
    /// image_ok.
    pub image_ok: FlagState,
    /// copy_done.
    pub copy_done: FlagState,
    /// The swap type in swap_info.
    pub swap_type: SwapType,
}

fn magic_name(m: MagicState) -> &'static str {
    match m {
        MagicState::Good => "good",
        MagicState::Bad => "bad",
        MagicState::Unset => "unset",
    }
}

fn flag_name(f: FlagState) -> &'static str {
    match f {
        FlagState::Set => "set",
        FlagState::Bad => "bad",
        FlagState::Unset => "unset",
    }
}

impl From<&TrailerState> for TrailerSummary {
    fn from(t: &TrailerState) -> Self {
        Self {
            magic: t.magic,
            image_ok: t.image_ok,
            copy_done: t.copy_done,
            swap_type: t.swap_type,
        }
    }
}

impl std::fmt::Display for TrailerSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "magic {}, image_ok {}, copy_done {}, swap_type {}",
            magic_name(self.magic),
            flag_name(self.image_ok),
            flag_name(self.copy_done),
            self.swap_type.name()
        )
    }
}

/// One slot's contents for the invariants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    /// Image index.
    pub image: usize,
    /// Which slot.
    pub slot: Slot,
    /// Its trailer.
    pub trailer: TrailerSummary,
    /// Flash range of the image at offset 0 (and, for swap-offset's
    /// secondary, at sector 1).
    pub images: Vec<Option<Range<u32>>>,
}

impl SlotState {
    /// What differs from `expected`: the trailer, or the image bytes
    /// (`data` is this state's flash, `expected_data` the expected
    /// state's); `None` when nothing does.
    pub fn diff(&self, expected: &SlotState, data: &[u8], expected_data: &[u8]) -> Option<Failure> {
        if self.trailer != expected.trailer {
            return Some(Failure::TrailerDiffers {
                image: self.image,
                slot: self.slot,
                expected: expected.trailer,
                observed: self.trailer,
            });
        }
        self.images
            .iter()
            .zip(&expected.images)
            .find_map(|(got, want)| {
                let (g, w) = (slice(data, got), slice(expected_data, want));
                image_difference(self.image, self.slot, g, w)
            })
    }
}

/// The bytes of `range` in `data`, if there is a range and it is inside.
fn slice<'d>(data: &'d [u8], range: &Option<Range<u32>>) -> Option<&'d [u8]> {
    range
        .as_ref()
        .and_then(|r| data.get(r.start as usize..r.end as usize))
}

/// One image chosen to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunningImage {
    /// Image index.
    pub image: usize,
    /// The slot it runs from (`primary` or `secondary` in JSON).
    pub slot: Slot,
    /// `maj.min.rev+build`.
    pub version: String,
}

/// An upgrade the boot refused and erased (`--json`: `refused`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedUpgrade {
    /// Image index.
    pub image: usize,
    /// The boot core's reason (`SlotRefusal`), as text.
    pub reason: String,
}

/// Flash work in one area during a boot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaCounters {
    /// Region name (`image 0 primary slot`, `scratch`, `other`).
    pub area: String,
    /// Sectors erased.
    pub erases: u64,
    /// Bytes programmed.
    pub bytes_written: u64,
    /// Write calls.
    pub writes: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Modelled time, milliseconds.
    pub time_ms: f64,
}

/// What one boot did, as `espboot sim boot --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootReport {
    /// An image was chosen to run.
    pub booted: bool,
    /// The images chosen to run.
    pub images: Vec<RunningImage>,
    /// Swap type of image 0 acted upon (`none|test|perm|revert|fail`).
    pub swap: SwapType,
    /// Swap type per image.
    pub swaps: Vec<SwapType>,
    /// Per image: the type of an interrupted swap this boot finished.
    pub resumed: Vec<Option<SwapType>>,
    /// The upgrades this boot refused and erased, with the reason.
    pub refused: Vec<RefusedUpgrade>,
    /// Sectors erased.
    pub erases: u64,
    /// Bytes programmed.
    pub bytes_written: u64,
    /// Flash operations (sector erases and writes) performed.
    pub flash_ops: u64,
    /// Modelled flash time of this boot, milliseconds.
    pub flash_time_ms: f64,
    /// Counters per flash area (slots, scratch, then everything else).
    pub areas: Vec<AreaCounters>,
    /// The power was cut during this boot.
    pub interrupted: bool,
    /// Why nothing was booted.
    pub error: Option<String>,
}

impl BootReport {
    /// One line per refused upgrade, saying why it was erased.
    pub fn refusal_lines(&self) -> Vec<String> {
        self.refused
            .iter()
            .map(|r| {
                format!(
                    "image {}: upgrade refused and erased: {}",
                    r.image, r.reason
                )
            })
            .collect()
    }

    /// A one-line human summary.
    pub fn summary(&self) -> String {
        self.summary_with(true)
    }

    /// [`summary`](Self::summary) without the reason of a failed boot, for
    /// a caller that prints the reason apart (once, on stderr).
    pub fn summary_without_error(&self) -> String {
        self.summary_with(false)
    }

    fn summary_with(&self, with_error: bool) -> String {
        let state = if self.interrupted {
            "power cut".to_string()
        } else if self.booted {
            let imgs: Vec<String> = self
                .images
                .iter()
                .map(|i| format!("image {} {} (primary slot)", i.image, i.version))
                .collect();
            format!("booted {}", imgs.join(", "))
        } else if with_error {
            format!(
                "no bootable image: {}",
                self.error.as_deref().unwrap_or("unknown")
            )
        } else {
            "no bootable image".to_string()
        };
        format!(
            "{state}; swap {}; {} erases, {} bytes written, {} flash ops, {:.1} ms modelled flash time",
            self.swap.name(),
            self.erases,
            self.bytes_written, self.flash_ops, self.flash_time_ms
        )
    }

    pub(crate) fn new(
        result: &Result<BootResponse, BootError<FlashError>>,
        flash: &SimFlash,
    ) -> Self {
        match result {
            Ok(rsp) => Self::from_outcome(Ok(rsp), flash),
            Err(e) => Self::from_outcome(Err(e), flash),
        }
    }

    /// The report of a boot that ended with `outcome` (the boot core's
    /// response, or why nothing runs: a boot-core error, or a chip model's
    /// own reason), with `flash`'s counters.
    pub fn from_outcome(
        outcome: Result<&BootResponse, &dyn std::fmt::Display>,
        flash: &SimFlash,
    ) -> Self {
        let totals = flash.total_counters();
        let refused = match outcome {
            Ok(rsp) => rsp
                .refused
                .iter()
                .enumerate()
                .filter_map(|(image, r)| {
                    r.map(|r| RefusedUpgrade {
                        image,
                        reason: r.to_string(),
                    })
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        let (booted, images, swaps, resumed, error) = match outcome {
            Ok(rsp) => {
                let images: Vec<RunningImage> = rsp
                    .images
                    .iter()
                    .flatten()
                    .map(|b| RunningImage {
                        image: b.image,
                        slot: b.slot,
                        version: b.header.version.to_string(),
                    })
                    .collect();
                let n = images.len().max(1);
                (
                    !images.is_empty(),
                    images,
                    rsp.swap.iter().take(n).copied().collect(),
                    rsp.resumed.iter().take(n).copied().collect(),
                    None,
                )
            }
            Err(e) => (
                false,
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Some(e.to_string()),
            ),
        };
        Self {
            booted,
            images,
            swap: swaps.first().copied().unwrap_or(SwapType::None),
            swaps,
            resumed,
            refused,
            erases: totals.erases,
            bytes_written: totals.bytes_written,
            flash_ops: flash.ops(),
            flash_time_ms: totals.time_us / 1000.0,
            areas: flash
                .region_counters()
                .into_iter()
                .map(|(name, c)| AreaCounters {
                    area: name.to_string(),
                    erases: c.erases,
                    bytes_written: c.bytes_written,
                    writes: c.writes,
                    bytes_read: c.bytes_read,
                    time_ms: c.time_us / 1000.0,
                })
                .collect(),
            interrupted: flash.power_lost(),
            error,
        }
    }
}

/// One boot of `config` on `flash`, counters reset first. With
/// `cut = Some((n, mode))`, the power fails after `n` flash operations
/// (operation `n + 1` is cut).
pub fn boot_with(
    config: &OwnedBootConfig,
    flash: &mut SimFlash,
    cut: Option<(u64, CutMode)>,
) -> BootReport {
    boot_outcome(config, flash, cut).1
}

/// [`boot_with`], also returning the boot core's own result.
pub(crate) fn boot_outcome(
    config: &OwnedBootConfig,
    flash: &mut SimFlash,
    cut: Option<(u64, CutMode)>,
) -> (Result<BootResponse, BootError<FlashError>>, BootReport) {
    flash.reset_counters();
    flash.power_cycle();
    if let Some((n, mode)) = cut {
        flash.arm_power_cut(n.saturating_add(1), mode);
    }
    let result = config.boot(flash);
    let report = BootReport::new(&result, flash);
    flash.power_cycle();
    (result, report)
}
