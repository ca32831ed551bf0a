//! The every-configuration scenario tester (in the style of ripgrep's
//! `SearcherTester`): one scenario runs over each sector layout × write
//! size × erased value for a strategy, every combination is labelled, and
//! failures are collected and reported together.
//!
//! The scenarios port MCUboot's simulator tests (`sim/tests/core.rs`,
//! `sim/src/image.rs`; mcuboot.md §6). Images come from an [`ImageMaker`]
//! (imgtool itself, or our image crate), so the same scenarios run on both.

use std::collections::HashMap;
use std::sync::Mutex;

use embedded_storage::nor_flash::NorFlash;
use mcuboot_boot::{
    magic_for, Area, BootError, DowngradePrevention, FlagState, ImageSlots, MagicState, Slot,
    UpgradeStrategy,
};

use crate::config::Strategy;
use crate::flash::{CutMode, FlashError, SimFlash};
use crate::run::{self, Setup};

/// A flash device and its flash map, like MCUboot's sim devices.
#[derive(Debug, Clone)]
pub struct Layout {
    pub name: &'static str,
    /// Physical sectors from address 0: `(size, count)` runs.
    pub runs: Vec<(u32, u32)>,
    pub images: Vec<ImageSlots>,
    pub scratch: Option<Area>,
    pub max_sectors: u32,
    /// Strategies this layout cannot use (MCUboot's sim excludes them the
    /// same way, e.g. swap-move on STM32F4's mixed sectors).
    pub excludes: Vec<Strategy>,
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
            excludes: vec![Strategy::SwapMove, Strategy::SwapOffset],
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
    pub layout: Layout,
    pub strategy: Strategy,
    pub write_size: u32,
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
    pub fn setup(&self) -> Setup {
        Setup {
            images: self.layout.images.clone(),
            scratch: self.layout.scratch,
            strategy: run::strategy(self.strategy),
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
pub fn combos(layouts: &[Layout], strategy: Strategy) -> Vec<Combo> {
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

/// What an image looks like; the maker turns it into signed bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageSpec {
    /// Seed of the pseudo-random payload.
    pub seed: u32,
    /// Payload length (the header is 32 bytes on top, `-H 32 --pad-header`).
    pub payload_len: u32,
    /// `maj.min.rev+build`.
    pub version: String,
    /// `-s`.
    pub security_counter: Option<u32>,
    /// `-d (image, version)`.
    pub dependencies: Vec<(u8, String)>,
}

impl ImageSpec {
    /// A plain image.
    pub fn new(seed: u32, payload_len: u32, version: &str) -> Self {
        Self {
            seed,
            payload_len,
            version: version.to_string(),
            security_counter: None,
            dependencies: Vec::new(),
        }
    }

    /// The payload bytes (deterministic in `seed`).
    pub fn payload(&self) -> Vec<u8> {
        let mut x = u64::from(self.seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..self.payload_len)
            .map(|_| {
                // xorshift64: cheap, deterministic filler.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }
}

/// Builds signed images (hash-only, `-H 32 --pad-header`, unpadded: the
/// scenarios write trailers themselves like MCUboot's sim does).
pub trait ImageMaker: Sync {
    /// Name for labels (`imgtool`, `espboot`).
    fn name(&self) -> &str;
    /// The image bytes for `spec`.
    fn make(&self, spec: &ImageSpec) -> Result<Vec<u8>, String>;
}

/// Caches another maker's images.
pub struct CachedMaker<M> {
    inner: M,
    cache: Mutex<HashMap<ImageSpec, Vec<u8>>>,
}

impl<M: ImageMaker> CachedMaker<M> {
    pub fn new(inner: M) -> Self {
        Self {
            inner,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl<M: ImageMaker> ImageMaker for CachedMaker<M> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn make(&self, spec: &ImageSpec) -> Result<Vec<u8>, String> {
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(spec).cloned()) {
            return Ok(hit);
        }
        let bytes = self.inner.make(spec)?;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(spec.clone(), bytes.clone());
        }
        Ok(bytes)
    }
}

/// How a scenario ended on one combination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// The scenario does not apply (MCUboot's sim returns early the same
    /// way, e.g. revert tests under overwrite-only).
    NotApplicable(&'static str),
}

/// Collected results of one scenario over many combinations.
#[derive(Debug, Default)]
pub struct Report {
    pub passed: Vec<String>,
    pub not_applicable: Vec<String>,
    pub failed: Vec<String>,
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
                self.failed.join("\n  ")
            }
        );
    }
}

/// Runs `scenario` on every combination (in parallel) and collects results.
pub fn run_all(
    combos: &[Combo],
    scenario: &(dyn Fn(&Combo) -> Result<Verdict, String> + Sync),
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
                        .unwrap_or_else(|_| Err("panicked".to_string()));
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
            Ok(Verdict::NotApplicable(why)) => {
                report.not_applicable.push(format!("{label}: {why}"))
            }
            Err(e) => report.failed.push(format!("{label}: {e}")),
        }
    }
    report
}

// ---------------------------------------------------------------------------
// Fixtures: a flash with images installed, like MCUboot sim's `Images`.

/// Payload sizes: the primary image spans a little over 5 sectors of 4 KiB,
/// the upgrade a little over 7, so swaps cross sector and region boundaries
/// and the sizes differ (copy size = the larger).
pub const PRIMARY_PAYLOAD: u32 = 0x5000 + 0x123;
pub const UPGRADE_PAYLOAD: u32 = 0x7000 + 0x2d4;

/// A flash with the images of one image pair installed.
pub struct Fixture {
    pub setup: Setup,
    pub flash: SimFlash,
    /// Per image: the original (primary) and upgrade images.
    pub primaries: Vec<Vec<u8>>,
    pub upgrades: Vec<Option<Vec<u8>>>,
}

fn err<E: std::fmt::Debug>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e:?}")
}

impl Fixture {
    /// An erased flash for `setup`.
    pub fn empty(setup: Setup) -> Result<Self, String> {
        let flash = setup.new_flash().map_err(err("flash"))?;
        Ok(Self {
            setup,
            flash,
            primaries: Vec::new(),
            upgrades: Vec::new(),
        })
    }

    /// Offset of a new upgrade image in the secondary slot: sector 1 for
    /// swap-offset (mcuboot.md §3.5), else 0.
    pub fn upgrade_offset(&self, image: usize) -> u32 {
        if self.setup.strategy == UpgradeStrategy::SwapOffset {
            let g = self.flash.geometry();
            let base = self.setup.images[image].secondary.offset;
            g.sector(g.sector_index(base)).len() as u32
        } else {
            0
        }
    }

    /// Programs `bytes` at `area + off` (padded with the erased value to the
    /// write size), on erased flash.
    pub fn install(&mut self, area: Area, off: u32, bytes: &[u8]) -> Result<(), String> {
        let w = self.setup.write_size as usize;
        let mut buf = bytes.to_vec();
        buf.resize(buf.len().div_ceil(w) * w, self.setup.erased_val);
        if off as usize + buf.len() > area.size as usize {
            return Err(format!("{} bytes do not fit in the slot", bytes.len()));
        }
        self.flash
            .write(area.offset + off, &buf)
            .map_err(err("installing image"))
    }

    /// imgtool `--pad`: the trailer magic at the end of `area`.
    pub fn mark_magic(&mut self, area: Area) -> Result<(), String> {
        let a = self.setup.max_align;
        let len = 16u32.div_ceil(a) * a;
        let mut buf = vec![self.setup.erased_val; len as usize];
        let magic = magic_for(a);
        let start = buf.len() - 16;
        buf[start..].copy_from_slice(&magic);
        self.flash
            .write(area.offset + area.size - len, &buf)
            .map_err(err("writing magic"))
    }

    /// imgtool `--confirm`: image_ok at `S - (ALIGN_UP(16, A) + A)`.
    pub fn mark_image_ok(&mut self, area: Area) -> Result<(), String> {
        let a = self.setup.max_align;
        let off = area.size - (16u32.div_ceil(a) * a + a);
        let mut buf = vec![self.setup.erased_val; self.setup.write_size as usize];
        buf[0] = 0x01;
        self.flash
            .write(area.offset + off, &buf)
            .map_err(err("writing image_ok"))
    }

    /// Whether `area + off` holds exactly `image`.
    pub fn holds(&self, area: Area, off: u32, image: &[u8]) -> bool {
        let start = (area.offset + off) as usize;
        self.flash.data().get(start..start + image.len()) == Some(image)
    }

    /// The primary slot of `image` holds `bytes`.
    pub fn primary_holds(&self, image: usize, bytes: &[u8]) -> bool {
        self.holds(self.setup.images[image].primary, 0, bytes)
    }

    /// The secondary slot of `image` holds `bytes` (at offset 0, or at
    /// sector 1 for swap-offset, as MCUboot's sim accepts).
    pub fn secondary_holds(&self, image: usize, bytes: &[u8]) -> bool {
        let area = self.setup.images[image].secondary;
        self.holds(area, 0, bytes) || self.holds(area, self.upgrade_offset(image), bytes)
    }

    /// One boot; `Ok` with the response, `Err` with the reason.
    pub fn boot(&mut self) -> Result<mcuboot_boot::BootResponse, String> {
        self.flash.power_cycle();
        self.setup
            .boot(&mut self.flash)
            .map_err(|e| format!("boot failed: {e}"))
    }

    /// One boot with the power cut at operation `at` (1-based); `Ok(true)`
    /// when it was interrupted, `Ok(false)` when it finished first.
    pub fn boot_cut(&mut self, at: u64, mode: CutMode) -> Result<bool, String> {
        self.flash.power_cycle();
        self.flash.arm_power_cut(at, mode);
        let r = self.setup.boot(&mut self.flash);
        self.flash.power_cycle();
        match r {
            Err(BootError::Flash(FlashError::PowerLost { .. })) => Ok(true),
            Ok(_) => Ok(false),
            Err(e) => Err(format!("cut boot failed otherwise: {e}")),
        }
    }

    /// Checks a slot's trailer; overwrite-only is exempt, as in MCUboot's
    /// sim (`verify_trailer`), because it copies the secondary trailer.
    pub fn check_trailer(
        &mut self,
        slot: Slot,
        magic: Option<MagicState>,
        image_ok: Option<FlagState>,
        copy_done: Option<FlagState>,
    ) -> Result<(), String> {
        if self.setup.strategy == UpgradeStrategy::OverwriteOnly {
            return Ok(());
        }
        for image in 0..self.setup.images.len() {
            let t = self
                .setup
                .trailer(&mut self.flash, image, slot)
                .map_err(|e| format!("reading trailer: {e}"))?;
            let ok = magic.is_none_or(|m| m == t.magic)
                && image_ok.is_none_or(|f| f == t.image_ok)
                && copy_done.is_none_or(|f| f == t.copy_done);
            if !ok {
                return Err(format!(
                    "image {image} {slot:?} trailer is magic {:?} image_ok {:?} copy_done {:?}, \
                     expected {magic:?} {image_ok:?} {copy_done:?}",
                    t.magic, t.image_ok, t.copy_done
                ));
            }
        }
        Ok(())
    }
}

/// `make_image`: image A in the primary slot(s), upgrade B in the
/// secondary slot(s) with the trailer magic (a TEST upgrade; `permanent`
/// adds image_ok, a PERM upgrade).
pub fn upgrade_fixture(
    combo_setup: Setup,
    maker: &dyn ImageMaker,
    permanent: bool,
) -> Result<Fixture, String> {
    let mut fx = Fixture::empty(combo_setup)?;
    for image in 0..fx.setup.images.len() {
        let seed = image as u32 * 16;
        let a = maker.make(&ImageSpec::new(
            seed + 1,
            PRIMARY_PAYLOAD,
            &format!("{}.0.1+0", image * 20),
        ))?;
        let b = maker.make(&ImageSpec::new(
            seed + 2,
            UPGRADE_PAYLOAD,
            &format!("{}.0.1+1", image * 20 + 1),
        ))?;
        let slots = fx.setup.images[image];
        fx.install(slots.primary, 0, &a)?;
        let off = fx.upgrade_offset(image);
        fx.install(slots.secondary, off, &b)?;
        fx.mark_magic(slots.secondary)?;
        if permanent {
            fx.mark_image_ok(slots.secondary)?;
        }
        fx.primaries.push(a);
        fx.upgrades.push(Some(b));
    }
    Ok(fx)
}

fn expect(cond: bool, what: &str) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

fn all_primaries(fx: &Fixture, upgraded: bool) -> bool {
    (0..fx.setup.images.len()).all(|i| {
        let want = if upgraded {
            fx.upgrades[i].as_deref()
        } else {
            Some(fx.primaries[i].as_slice())
        };
        want.is_some_and(|w| fx.primary_holds(i, w))
    })
}

fn all_secondaries_hold_originals(fx: &Fixture) -> bool {
    (0..fx.setup.images.len()).all(|i| fx.secondary_holds(i, &fx.primaries[i]))
}

fn is_swap(setup: &Setup) -> bool {
    setup.strategy != UpgradeStrategy::OverwriteOnly
}

use FlagState::{Set as SET, Unset as UNSET};
use MagicState::{Good as GOOD, Unset as MUNSET};

/// Operations of an uninterrupted upgrade boot (`run_basic_upgrade`'s
/// `total_count`), and checks it upgraded.
pub fn basic_upgrade_ops(
    setup: &Setup,
    maker: &dyn ImageMaker,
    permanent: bool,
) -> Result<u64, String> {
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
pub fn bad_secondary_slot(setup: &Setup, maker: &dyn ImageMaker) -> Result<Verdict, String> {
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
fn upgrade_fixture_with(
    setup: Setup,
    maker: &dyn ImageMaker,
    tamper: impl Fn(&mut Vec<u8>),
) -> Result<Fixture, String> {
    let mut fx = Fixture::empty(setup)?;
    let a = maker.make(&ImageSpec::new(1, PRIMARY_PAYLOAD, "0.0.1+0"))?;
    let mut b = maker.make(&ImageSpec::new(2, UPGRADE_PAYLOAD, "1.0.1+1"))?;
    tamper(&mut b);
    let slots = fx.setup.images[0];
    fx.install(slots.primary, 0, &a)?;
    let off = fx.upgrade_offset(0);
    fx.install(slots.secondary, off, &b)?;
    fx.mark_magic(slots.secondary)?;
    fx.primaries.push(a);
    fx.upgrades.push(Some(b));
    Ok(fx)
}

/// `secondary_trailer_leftover`: an otherwise erased secondary slot with a
/// trailer: the trailer gets erased and the primary boots.
pub fn secondary_trailer_leftover(
    setup: &Setup,
    maker: &dyn ImageMaker,
) -> Result<Verdict, String> {
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
pub fn bootstrap(setup: &Setup, maker: &dyn ImageMaker) -> Result<Verdict, String> {
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
    setup: &Setup,
    maker: &dyn ImageMaker,
    image: usize,
    seed: u32,
) -> Result<Vec<u8>, String> {
    let mut probe_flash = setup.new_flash().map_err(err("flash"))?;
    let max = setup
        .with_config(|cfg| mcuboot_boot::max_image_size(&mut probe_flash, cfg, image))
        .map_err(|e| format!("max_image_size: {e}"))?;
    let probe = maker.make(&ImageSpec::new(seed, 0x100, "1.0.1+1"))?;
    let overhead = probe.len() as u32 - 0x100;
    let payload = (max + 8)
        .checked_sub(overhead)
        .ok_or("slot too small for an oversized image")?;
    let img = maker.make(&ImageSpec::new(seed, payload, "1.0.1+1"))?;
    if img.len() as u32 <= max {
        return Err(format!(
            "oversized image is only {} bytes (max {max})",
            img.len()
        ));
    }
    Ok(img)
}

/// `oversized_bootstrap`: an image larger than the slot allows is not
/// bootstrapped; nothing boots.
pub fn oversized_bootstrap(setup: &Setup, maker: &dyn ImageMaker) -> Result<Verdict, String> {
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
        .map_err(|e| e.to_string())?;
    expect(
        !(t.magic == GOOD && t.image_ok == SET && t.copy_done == SET),
        "primary trailer says an image was installed",
    )?;
    Ok(Verdict::Pass)
}

/// `oversized_secondary_slot`: an upgrade larger than allowed is refused;
/// the primary is intact.
pub fn oversized_secondary_slot(setup: &Setup, maker: &dyn ImageMaker) -> Result<Verdict, String> {
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
pub fn norevert_newimage(setup: &Setup, maker: &dyn ImageMaker) -> Result<Verdict, String> {
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
pub fn basic_revert(setup: &Setup, maker: &dyn ImageMaker) -> Result<Verdict, String> {
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
        expect(
            all_primaries(&fx, false),
            &format!("not reverted after {count} boots"),
        )?;
    }
    Ok(Verdict::Pass)
}

/// `norevert`: a TEST upgrade confirmed by the application stays.
pub fn norevert(setup: &Setup, maker: &dyn ImageMaker) -> Result<Verdict, String> {
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
            .map_err(|e| format!("set_confirmed: {e}"))?;
    }
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(SET), Some(SET))?;
    fx.boot()?;
    fx.check_trailer(Slot::Primary, Some(GOOD), Some(SET), Some(SET))?;
    expect(all_primaries(&fx, true), "reverted after confirm")?;
    Ok(Verdict::Pass)
}

fn check_perm_done(fx: &mut Fixture) -> Result<(), String> {
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
    setup: &Setup,
    maker: &dyn ImageMaker,
    mode: CutMode,
) -> Result<Verdict, String> {
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
            failures.push(format!("cut at {i}/{total}: {e}"));
        }
    }
    summarize(failures, total)
}

fn summarize(failures: Vec<String>, total: u64) -> Result<Verdict, String> {
    if failures.is_empty() {
        Ok(Verdict::Pass)
    } else {
        Err(format!(
            "{} of {} cut points failed; first: {}",
            failures.len(),
            total.saturating_sub(1),
            failures[0]
        ))
    }
}

/// `revert_with_fails`: a TEST upgrade interrupted at every operation, then
/// its revert interrupted at the same operation; images and trailers are
/// right at each stage.
pub fn revert_with_fails(
    setup: &Setup,
    maker: &dyn ImageMaker,
    mode: CutMode,
) -> Result<Verdict, String> {
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
            failures.push(format!("cut at {i}/{total}: {e}"));
        }
    }
    summarize(failures, total)
}

/// `perm_with_random_fails`: a PERM upgrade with successive interruptions at
/// the given operation counts (each boot restarts counting), then an
/// uninterrupted boot; ends like the uninterrupted upgrade.
pub fn perm_with_cuts(
    setup: &Setup,
    maker: &dyn ImageMaker,
    cuts: &[(u64, CutMode)],
) -> Result<Verdict, String> {
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
    setup: &Setup,
    maker: &dyn ImageMaker,
    policy: DowngradePrevention,
) -> Result<Verdict, String> {
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
    let slots = fx.setup.images[0];
    fx.install(slots.primary, 0, &a)?;
    let off = fx.upgrade_offset(0);
    fx.install(slots.secondary, off, &b)?;
    fx.mark_magic(slots.secondary)?;
    if is_swap(&fx.setup) {
        fx.mark_image_ok(slots.secondary)?;
    }
    fx.primaries.push(a);
    fx.upgrades.push(Some(b));
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
    setup: &Setup,
    maker: &dyn ImageMaker,
    policy: DowngradePrevention,
) -> Result<Verdict, String> {
    let mut setup = setup.clone();
    setup.downgrade = policy;
    let mut fx = Fixture::empty(setup)?;
    let mut cur = ImageSpec::new(1, PRIMARY_PAYLOAD, "1.2.3+0");
    let mut new = ImageSpec::new(2, UPGRADE_PAYLOAD, "1.2.3+0");
    cur.security_counter = Some(7);
    new.security_counter = Some(7);
    let a = maker.make(&cur)?;
    let b = maker.make(&new)?;
    let slots = fx.setup.images[0];
    fx.install(slots.primary, 0, &a)?;
    let off = fx.upgrade_offset(0);
    fx.install(slots.secondary, off, &b)?;
    fx.mark_magic(slots.secondary)?;
    if is_swap(&fx.setup) {
        fx.mark_image_ok(slots.secondary)?;
    }
    fx.primaries.push(a);
    fx.upgrades.push(Some(b));
    fx.boot()?;
    expect(
        all_primaries(&fx, true),
        "equal version/counter was refused",
    )?;
    Ok(Verdict::Pass)
}

/// The kinds of dependency of MCUboot sim's `DepType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepType {
    Nothing,
    Correct,
    OldCorrect,
    Newer,
    NoUpgrade,
}

/// One of the 11 `TEST_DEPS` cases: dependency kinds per image and whether
/// each image is expected to be upgraded.
#[derive(Debug, Clone, Copy)]
pub struct DepTest {
    pub depends: [DepType; 2],
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
    setup: &Setup,
    maker: &dyn ImageMaker,
    dep: &DepTest,
) -> Result<Verdict, String> {
    if setup.images.len() != 2 {
        return Err("dependency scenarios need a two-image layout".into());
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
        expect(
            holds,
            &format!(
                "{:?}: image {image} should be {}",
                dep.depends,
                if want_new { "upgraded" } else { "held" }
            ),
        )?;
    }
    Ok(Verdict::Pass)
}

/// Images built by our own image crate (`mcuboot_image::sign`), with the
/// options `imgtool sign -v V -H 32 --pad-header [-s N] [-d ...]` would use.
pub struct OwnMaker;

impl ImageMaker for OwnMaker {
    fn name(&self) -> &str {
        "espboot"
    }

    fn make(&self, spec: &ImageSpec) -> Result<Vec<u8>, String> {
        use mcuboot_image::sign::{ImageBuilder, SecurityCounter, SignOptions};
        let parse = |v: &str| {
            v.parse::<mcuboot_image::ImageVersion>()
                .map_err(|e| format!("version {v:?}: {e:?}"))
        };
        let mut opts = SignOptions::new(parse(&spec.version)?, 32, 0x100_0000);
        opts.pad_header = true;
        opts.security_counter = spec.security_counter.map(SecurityCounter::Value);
        for (id, v) in &spec.dependencies {
            opts.dependencies.push(mcuboot_image::Dependency {
                image_id: *id,
                version: parse(v)?,
            });
        }
        ImageBuilder::new(&opts)
            .to_vec(spec.payload())
            .map_err(|e| format!("building image: {e}"))
    }
}
