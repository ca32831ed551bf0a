//! `espboot sim`: the virtual device (a directory with `flash.bin` and
//! `device.json`), its bootloader runs, power cuts and power-cut sweeps.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use espboot_sim::chip::boot::{self as chip_boot, AppCall, ChipBootReport};
use espboot_sim::chip::flash_write::{self, FileWrite, FlashAccess, WriteError, WriteOptions};
use espboot_sim::config::{parse_flash_size, Target};
use espboot_sim::device::{Device, DeviceDir, DeviceSummary};
use flash_sim::flash::CutMode;
use flash_sim::sweep::{Hazard, SweepFailure, SweepReport};

use crate::fsutil::write_atomic;
use crate::progress::{Progress, Unit};

mod build;
mod serve;

/// Arguments of `espboot sim`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Create a device directory: settings from the target's port defaults
    /// and each --config file in order, an erased flash holding an unsigned
    /// bootloader built from that configuration.
    New(NewArgs),
    /// Erase the sectors covered by each FILE and program it at ADDR (like
    /// `esptool write_flash`). Refuses, before writing anything, a file
    /// that does not belong at its address (--force writes it anyway).
    #[command(alias = "write_flash", alias = "write-flash")]
    Write(WriteArgs),
    /// Build the simulated MCUboot bootloader (an ESP image carrying its
    /// configuration and public keys) for a target and bootloader.conf.
    #[command(alias = "build_bootloader")]
    BuildBootloader(build::BuildBootloaderArgs),
    /// Build an app payload (load header, IRAM and DRAM segments) to sign
    /// with `-H 32 --pad-header` into an MCUboot image.
    #[command(alias = "build_app")]
    BuildApp(build::BuildAppArgs),
    /// Read SIZE bytes of flash at ADDR into a file.
    #[command(alias = "read_flash", alias = "read-flash")]
    Read(ReadArgs),
    /// Power the device on once: run the bootloader.
    Boot(BootArgs),
    /// What the running application does through the MCUboot API.
    App(AppArgs),
    /// Repeat the next boot with a power cut at every flash operation and
    /// check it always recovers to the uninterrupted outcome.
    Sweep(SweepArgs),
    /// Run any `espboot efuse` (espefuse) command on the device's eFuses,
    /// DEV/efuse.bin: `espboot sim efuse DEV summary`, `... burn-key ...`.
    Efuse(EfuseArgs),
    /// Serve the device on a pseudo-terminal as the chip answers on its
    /// UART: esptool (ROM loader and flasher stub), MCUboot serial
    /// recovery (smpmgr, mcumgr), the boot log. Prints one `ready` line,
    /// then runs until SIGINT/SIGTERM.
    Serve(serve::ServeArgs),
    /// Change the boot mode of a running `sim serve` (and reset with --reset).
    #[command(alias = "boot_mode")]
    BootMode(serve::BootModeArgs),
}

#[derive(Debug, clap::Args)]
struct EfuseArgs {
    /// Device directory.
    dev: PathBuf,
    /// The espefuse command line, without --chip/--virt/--path-efuse-file.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    command: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct NewArgs {
    /// Device directory to create (must not exist or be empty).
    dev: PathBuf,
    #[command(flatten)]
    port: PortConfigArgs,
    /// Machine-readable report on stdout: target, chip model, flash map,
    /// and per slot where its image goes and the `imgtool sign -S` to use.
    #[arg(long)]
    json: bool,
}

/// The target and bootloader configuration, as `sim new` and `sim
/// build-bootloader` take them.
#[derive(Debug, clap::Args)]
struct PortConfigArgs {
    /// Chip (the port's target name, e.g. esp32c3).
    #[arg(long)]
    target: String,
    /// bootloader.conf file(s) over the target's defaults; later files
    /// override earlier keys.
    #[arg(long = "config", value_name = "FILE")]
    configs: Vec<PathBuf>,
    /// Flash size (e.g. 4MB); overrides CONFIG_ESP_FLASH_SIZE.
    #[arg(long = "flash-size", alias = "flash_size")]
    flash_size: Option<String>,
}

impl PortConfigArgs {
    /// The parsed target and flash-size override.
    fn target_and_size(&self) -> anyhow::Result<(Target, Option<u32>)> {
        let target: Target = self.target.parse().context("--target")?;
        let flash_size = self
            .flash_size
            .as_deref()
            .map(parse_size)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--flash-size: {e}"))?;
        Ok((target, flash_size))
    }
}

#[derive(Debug, clap::Args)]
struct WriteArgs {
    /// Device directory.
    dev: PathBuf,
    /// Encrypt the data with the chip's flash-encryption key as it is
    /// written (esptool `write_flash --encrypt`: the ROM encrypts; refused
    /// when the eFuses disable manual encryption).
    #[arg(long)]
    encrypt: bool,
    /// ADDR FILE pairs.
    #[arg(value_name = "ADDR FILE", num_args = 2.., required = true)]
    pairs: Vec<String>,
    /// Skip the checks of what is written where (bootloader image at the
    /// bootloader offset, MCUboot images at image starts (one sector into
    /// swap-offset's secondary slots) and padded to end at the slot end, no write across a
    /// region boundary), like `esptool --force`.
    #[arg(long)]
    force: bool,
    /// Machine-readable report (each file's address, size, end, region) on
    /// stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ReadArgs {
    /// Device directory.
    dev: PathBuf,
    /// Flash address.
    addr: String,
    /// Number of bytes (e.g. 0x1000 or 4MB).
    size: String,
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
struct BootArgs {
    /// Device directory.
    dev: PathBuf,
    /// Machine-readable report on stdout.
    #[arg(long)]
    json: bool,
    /// Cut the power after N flash operations (erased sectors and writes) of
    /// this boot: operation N+1 does not happen (or is torn with --torn).
    #[arg(long = "cut-after", alias = "cut_after", value_name = "N")]
    cut_after: Option<u64>,
    /// The interrupted operation is half done instead of not done.
    #[arg(long, requires = "cut_after")]
    torn: bool,
}

#[derive(Debug, clap::Args)]
struct AppArgs {
    /// Device directory.
    dev: PathBuf,
    /// Machine-readable report on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: AppAction,
}

#[derive(Debug, clap::Subcommand)]
enum AppAction {
    /// boot_set_confirmed: mark the running image good (primary image_ok).
    Confirm {
        /// Image number (0 or 1).
        #[arg(long, default_value_t = 0)]
        image: usize,
    },
    /// The app's update agent: erase the secondary slot and write FILE (a
    /// signed image) through the port's flash backend, encrypted with the
    /// chip's own key when flash encryption is on (how an update is staged
    /// on a device whose key never left it). Then `set-pending`.
    WriteUpdate {
        /// The signed image.
        file: PathBuf,
        /// Image number (0 or 1).
        #[arg(long, default_value_t = 0)]
        image: usize,
    },
    /// boot_set_pending: request an upgrade to the secondary slot's image.
    #[command(alias = "set_pending")]
    SetPending {
        /// Permanent upgrade (no revert) instead of a test.
        #[arg(long)]
        permanent: bool,
        /// Image number (0 or 1).
        #[arg(long, default_value_t = 0)]
        image: usize,
    },
}

#[derive(Debug, clap::Args)]
struct SweepArgs {
    /// Device directory.
    dev: PathBuf,
    /// Machine-readable report on stdout.
    #[arg(long)]
    json: bool,
    /// Also cut with the interrupted operation half done (torn), at every
    /// point.
    #[arg(long)]
    torn: bool,
    /// Accept the cut points of a known, documented hazard: they are
    /// counted and reported apart and do not fail the sweep.
    /// `port-erase-before-write`: with flash encryption on, MCUboot's
    /// Espressif port erases a whole sector before each encrypted write
    /// (esp_mcuboot.c), so a cut in between loses that sector, on silicon
    /// too.
    #[arg(long = "allow", value_name = "HAZARD", value_enum)]
    allow: Vec<AllowedHazard>,
    /// With flash encryption on, run the port with the opt-in fix of its
    /// encrypted writes (erase without writing 0xff back, program erased
    /// cells without erasing them) instead of esp_mcuboot.c as shipped.
    #[arg(long)]
    port_fix: bool,
}

/// A known hazard `sim sweep --allow` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AllowedHazard {
    /// [`Hazard::EraseBeforeWrite`].
    PortEraseBeforeWrite,
}

impl AllowedHazard {
    fn covers(self, hazard: &Hazard) -> bool {
        match (self, hazard) {
            (AllowedHazard::PortEraseBeforeWrite, Hazard::EraseBeforeWrite { .. }) => true,
            #[allow(unreachable_patterns)] // Hazard is non-exhaustive
            _ => false,
        }
    }
}

/// `sim sweep --json`: the report, whose `failures` are the cut points
/// that fail the sweep, and the cut points of allowed hazards apart.
#[derive(serde::Serialize)]
struct SweepJson<'a> {
    #[serde(flatten)]
    report: &'a SweepReport,
    allowed: &'a [SweepFailure],
}

fn parse_addr(s: &str) -> Result<u32, String> {
    py_int::parse_u32(s).map_err(|_| format!("expected an address (decimal or 0x hex), got {s:?}"))
}

fn parse_size(s: &str) -> Result<u32, String> {
    parse_flash_size(s).ok_or_else(|| format!("expected a size such as 0x1000 or 4MB, got {s:?}"))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::New(a) => new(a),
        Command::Write(a) => write(a),
        Command::BuildBootloader(a) => build::build_bootloader_cmd(a),
        Command::BuildApp(a) => build::build_app_cmd(a),
        Command::Read(a) => read(a),
        Command::Boot(a) => boot(a),
        Command::App(a) => app(a),
        Command::Sweep(a) => sweep(a),
        Command::Efuse(a) => efuse(a),
        Command::Serve(a) => serve::serve(a),
        Command::BootMode(a) => serve::boot_mode(a),
    }
}

/// Opens the device directory `dev` (taking its lock for the whole
/// command) and loads the device.
fn load(dev: &Path) -> anyhow::Result<(DeviceDir, Device)> {
    let dir = DeviceDir::open(dev)?;
    let device = dir.load()?;
    Ok((dir, device))
}

/// `sim new --json`: the device directory and its summary.
#[derive(serde::Serialize)]
struct Created<'a> {
    device: &'a Path,
    #[serde(flatten)]
    summary: &'a DeviceSummary,
}

fn new(a: NewArgs) -> anyhow::Result<ExitCode> {
    if DeviceDir::holds_device(&a.dev) {
        bail!("device {}: already exists", a.dev.display());
    }
    let (target, flash_size) = a.port.target_and_size()?;
    let mut device = Device::create(target, &a.port.configs, flash_size)
        .with_context(|| format!("device {}", a.dev.display()))?;
    // a modelled chip also gets its eFuses: blank but for a factory MAC of
    // its own, deterministic from the device's name
    let name = a.dev.file_name().map(|n| n.to_string_lossy().into_owned());
    let mac = espboot_sim::chip::factory_mac(&name.unwrap_or_default());
    device
        .program_factory_mac(mac)
        .with_context(|| format!("device {}", a.dev.display()))?;
    DeviceDir::create(&a.dev, &device)?;
    let summary = DeviceSummary::of(&device);
    if a.json {
        let report = Created {
            device: &a.dev,
            summary: &summary,
        };
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "created {} ({}): {}",
            a.dev.display(),
            target.name(),
            device.settings.map
        );
        if let Some(note) = summary.new_image_note() {
            eprintln!("note: {note}");
        }
    }
    if target.chip().is_none() {
        eprintln!(
            "note: {} has no chip model here (no ROM stage, eFuses, Secure Boot or flash \
             encryption): the device runs MCUboot's boot core alone; modelled chips: esp32, \
             esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2",
            target.name()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn efuse(a: EfuseArgs) -> anyhow::Result<ExitCode> {
    let (dir, device) = load(&a.dev)?;
    let target = device.settings.target.name();
    let chip: esp_efuse::Chip = target.parse().map_err(|_| {
        anyhow::anyhow!(
            "device {}: no eFuse tables for {target} (supported: esp32, esp32s2, esp32s3, \
             esp32c2, esp32c3, esp32c6, esp32h2)",
            a.dev.display()
        )
    })?;
    // `dir` keeps the device locked while the command runs
    crate::cmd::efuse::run_on_device(chip, dir.efuse_file(), a.command)
}

fn write(a: WriteArgs) -> anyhow::Result<ExitCode> {
    if !a.pairs.len().is_multiple_of(2) {
        bail!(
            "ADDR FILE: expected address/file pairs, got {} values",
            a.pairs.len()
        );
    }
    let mut files = Vec::new();
    for pair in a.pairs.chunks(2) {
        let addr = parse_addr(&pair[0]).map_err(|e| anyhow::anyhow!("ADDR: {e}"))?;
        let path = PathBuf::from(&pair[1]);
        let data =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        files.push((addr, path, data));
    }
    let (dir, mut device) = load(&a.dev)?;
    let writes: Vec<FileWrite<'_>> = files
        .iter()
        .map(|(addr, _, data)| FileWrite { addr: *addr, data })
        .collect();
    let options = WriteOptions {
        encrypt: a.encrypt,
        force: a.force,
    };
    let result = flash_write::write_files(&mut device, &writes, options);
    if let Err(WriteError::Device { .. }) = &result {
        // what was written before the failure is on the device
        dir.save(&device)?;
    }
    let report = result.map_err(|e| match e.file() {
        Some((index, addr)) => {
            let path = files.get(index).map_or(Path::new(""), |(_, p, _)| p);
            anyhow::anyhow!("{} at {addr:#x}: {e}", path.display())
        }
        None => anyhow::anyhow!("device {}: {e}", a.dev.display()),
    })?;
    dir.save(&device)?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for warning in &report.warnings {
            let path = files
                .get(warning.file())
                .map_or(Path::new(""), |(_, p, _)| p);
            eprintln!("warning: {}: {warning}", path.display());
        }
        for (file, (_, path, _)) in report.files.iter().zip(&files) {
            outln!(
                "wrote {} ({} bytes) at {:#x}..{:#x}{}{}",
                path.display(),
                file.size,
                file.addr,
                file.end,
                file.region
                    .as_deref()
                    .map_or(String::new(), |r| format!(", {r}")),
                if report.encrypted {
                    ", encrypted by the ROM"
                } else {
                    ""
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read(a: ReadArgs) -> anyhow::Result<ExitCode> {
    let addr = parse_addr(&a.addr).map_err(|e| anyhow::anyhow!("ADDR: {e}"))?;
    let size = parse_size(&a.size).map_err(|e| anyhow::anyhow!("SIZE: {e}"))?;
    let (_dir, mut device) = load(&a.dev)?;
    flash_write::check_download_mode(&device, FlashAccess::Read)
        .map_err(|e| anyhow::anyhow!("device {}: {e}", a.dev.display()))?;
    let bytes = device.read_flash(addr, size)?;
    write_atomic(&a.output, &bytes, false)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the report: JSON, or the lines on stdout and the failure once,
/// on stderr.
fn print_boot(report: &ChipBootReport, json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(report)?);
    } else {
        let (lines, error) = report.terminal_lines();
        for line in lines {
            outln!("{line}");
        }
        if let Some(error) = error {
            eprintln!("error: boot failed: {error}");
        }
    }
    Ok(())
}

fn boot(a: BootArgs) -> anyhow::Result<ExitCode> {
    let (dir, mut device) = load(&a.dev)?;
    let cut = a.cut_after.map(|n| {
        let mode = if a.torn {
            CutMode::Torn
        } else {
            CutMode::Clean
        };
        (n, mode)
    });
    let report = chip_boot::power_on(&mut device, cut);
    // The flash state after the boot (or after the power cut) is the
    // device's new state, whatever the outcome.
    dir.save(&device)?;
    print_boot(&report, a.json)?;
    Ok(if report.boot.booted {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `sim app DEV confirm|set-pending --json`: the call made.
#[derive(serde::Serialize)]
struct AppCalled {
    image: usize,
    call: &'static str,
    permanent: bool,
}

fn app(a: AppArgs) -> anyhow::Result<ExitCode> {
    let (dir, mut device) = load(&a.dev)?;
    let (image, call) = match a.action {
        AppAction::Confirm { image } => (image, AppCall::Confirm),
        AppAction::SetPending { permanent, image } => (image, AppCall::SetPending { permanent }),
        AppAction::WriteUpdate { file, image } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("FILE: cannot read {}", file.display()))?;
            let written = chip_boot::app_write_update(&mut device, image, &bytes)
                .map_err(|e| anyhow::anyhow!("device {}: {e}", a.dev.display()))?;
            dir.save(&device)?;
            if a.json {
                outln!("{}", serde_json::to_string_pretty(&written)?);
            } else {
                outln!(
                    "wrote {} ({} bytes) at {:#x}..{:#x}, image {image}'s secondary slot, through \
                     the app's flash backend{}",
                    file.display(),
                    written.size,
                    written.addr,
                    u64::from(written.addr) + u64::from(written.size),
                    if written.encrypted {
                        " (encrypted with the chip's key)"
                    } else {
                        ""
                    }
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    chip_boot::app_call(&mut device, image, call)
        .map_err(|e| anyhow::anyhow!("device {}: {e}", a.dev.display()))?;
    dir.save(&device)?;
    let (name, permanent, said) = match call {
        AppCall::Confirm => ("confirm", false, "confirmed the running image".to_string()),
        AppCall::SetPending { permanent } => (
            "set-pending",
            permanent,
            format!(
                "the next boot upgrades to the secondary slot's image ({})",
                if permanent {
                    "permanent"
                } else {
                    "test: reverted unless confirmed"
                }
            ),
        ),
    };
    if a.json {
        let called = AppCalled {
            image,
            call: name,
            permanent,
        };
        outln!("{}", serde_json::to_string_pretty(&called)?);
    } else {
        outln!("image {image}: {said}");
    }
    Ok(ExitCode::SUCCESS)
}

fn sweep(a: SweepArgs) -> anyhow::Result<ExitCode> {
    let (_dir, mut device) = load(&a.dev)?;
    // a spinner while the uninterrupted boot is recorded, then a bar over
    // the cut points with rate and ETA
    let bar = Progress::new(Unit::Items, None, "cut points");
    let progress = |done: u64, total: u64| bar.update(done, total);
    let report = chip_boot::sweep_device(
        &mut device,
        a.torn,
        if a.port_fix {
            chip_boot::EncryptedWrites::ProgramErased
        } else {
            chip_boot::EncryptedWrites::AsShipped
        },
        &progress,
    )
    .map_err(|e| match e {
        chip_boot::ChipError::FlashSweep(e) => {
            anyhow::Error::new(e).context(format!("device {}", a.dev.display()))
        }
        e => anyhow::anyhow!("device {}: {e}", a.dev.display()),
    })?;
    bar.finish();
    let mut report = report;
    let (allowed, failures): (Vec<SweepFailure>, Vec<SweepFailure>) =
        std::mem::take(&mut report.failures)
            .into_iter()
            .partition(|f| {
                f.hazard
                    .as_ref()
                    .is_some_and(|h| a.allow.iter().any(|allow| allow.covers(h)))
            });
    report.failures = failures;
    if a.json {
        let out = SweepJson {
            report: &report,
            allowed: &allowed,
        };
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!("{}", report.summary());
        if !report.failures.is_empty() || !allowed.is_empty() {
            outln!("{}", report.class_summary());
        }
        if let Some(first) = allowed.first() {
            outln!(
                "{} more cut points fall into an allowed hazard (--allow): what the device does \
                 after such a cut, e.g. {first}",
                allowed.len()
            );
        }
        for failure in report.failures.iter().take(20) {
            outln!("  {failure}");
        }
    }
    Ok(if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
