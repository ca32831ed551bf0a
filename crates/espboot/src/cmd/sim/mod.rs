//! `espboot sim`: the virtual device (a directory with `flash.bin` and
//! `device.json`), its bootloader runs, power cuts and power-cut sweeps.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use espboot_sim::chip::boot::{self as chip_boot, AppCall, ChipBootReport};
use espboot_sim::chip::fuses::{self, DownloadMode};
use espboot_sim::chip::preflight::{check_write, PreflightError};
use espboot_sim::config::{parse_flash_size, Target};
use espboot_sim::device::{Device, DeviceDir};
use flash_sim::flash::CutMode;

use crate::fsutil::write_atomic;

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
    /// bootloader offset, MCUboot images at slot starts, no write across a
    /// region boundary), like `esptool --force`.
    #[arg(long)]
    force: bool,
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

/// What the ROM's download mode lets esptool do: `write` needs it enabled
/// or secure, `read` needs it fully enabled.
fn check_download_mode(dev: &Path, device: &Device, read: bool) -> anyhow::Result<()> {
    let Some(efuses) = &device.efuses else {
        return Ok(());
    };
    match fuses::download_mode(efuses) {
        DownloadMode::Disabled => bail!(
            "device {}: ROM download mode is disabled in eFuse (DIS_DOWNLOAD_MODE): \
             esptool cannot connect, so the flash can no longer be read or written",
            dev.display()
        ),
        DownloadMode::Secure if read => bail!(
            "device {}: the ROM is in secure download mode (ENABLE_SECURITY_DOWNLOAD): \
             flash reads are refused",
            dev.display()
        ),
        _ => Ok(()),
    }
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
    outln!(
        "created {} ({}): {}",
        a.dev.display(),
        target.name(),
        device.settings.map
    );
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
    let (dir, mut device) = load(&a.dev)?;
    check_download_mode(&a.dev, &device, false)?;
    let crypt = if a.encrypt {
        let efuses = device.efuses.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "--encrypt: device {} has no eFuses (target {})",
                a.dev.display(),
                device.settings.target.name()
            )
        })?;
        Some(fuses::manual_encrypt_crypt(efuses).map_err(|e| match e {
            fuses::ManualEncryptError::Disabled => anyhow::anyhow!(
                "--encrypt: {e}; write data encrypted on the host with `espboot secure encrypt-flash-data` instead"
            ),
            e => anyhow::anyhow!("--encrypt: {e}"),
        })?)
    } else {
        None
    };
    // With flash encryption on, what the chip will see of raw data is its
    // decryption: that is what the checks look at.
    let chip_view = match (&crypt, &device.efuses) {
        (None, Some(efuses)) => fuses::flash_crypt(efuses).ok().flatten(),
        _ => None,
    };
    // Every file is read and checked before the first one is written.
    let mut writes = Vec::new();
    for pair in a.pairs.chunks(2) {
        let addr = parse_addr(&pair[0]).map_err(|e| anyhow::anyhow!("ADDR: {e}"))?;
        let path = Path::new(&pair[1]);
        let mut data =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        if !a.force {
            let settings = &device.settings;
            let mut view = std::borrow::Cow::Borrowed(&data[..]);
            if let Some(chip_crypt) = &chip_view {
                let mut plain = data.clone();
                plain.resize(data.len().div_ceil(32) * 32, 0xff);
                if chip_crypt.decrypt(addr, &mut plain).is_ok() {
                    plain.truncate(data.len());
                    view = std::borrow::Cow::Owned(plain);
                }
            }
            check_write(settings.target, &settings.map, addr, &view).map_err(|e| {
                // --force cannot make the flash larger.
                let hint = match e {
                    PreflightError::BeyondFlash { .. } => "",
                    // plaintext written to an encrypted chip reads as garbage
                    _ if chip_view.is_some() => {
                        " (flash encryption is on and the chip decrypts what it reads: write \
                         data encrypted with `espboot secure encrypt-flash-data`, or use \
                         --encrypt; --force writes it anyway)"
                    }
                    _ => " (--force writes it anyway)",
                };
                anyhow::anyhow!("{} at {addr:#x}: {e}{hint}", path.display())
            })?;
        }
        if let Some(crypt) = &crypt {
            // esptool pads encrypted writes to the 32-byte block size
            data.resize(data.len().div_ceil(32) * 32, 0xff);
            crypt
                .encrypt(addr, &mut data)
                .map_err(|e| anyhow::anyhow!("{} at {addr:#x}: --encrypt: {e}", path.display()))?;
        }
        writes.push((addr, path, data));
    }
    for (addr, path, data) in writes {
        device
            .write_flash(addr, &data)
            .with_context(|| format!("{} at {addr:#x}", path.display()))?;
    }
    dir.save(&device)?;
    Ok(ExitCode::SUCCESS)
}

fn read(a: ReadArgs) -> anyhow::Result<ExitCode> {
    let addr = parse_addr(&a.addr).map_err(|e| anyhow::anyhow!("ADDR: {e}"))?;
    let size = parse_size(&a.size).map_err(|e| anyhow::anyhow!("SIZE: {e}"))?;
    let (_dir, mut device) = load(&a.dev)?;
    check_download_mode(&a.dev, &device, true)?;
    let bytes = device.read_flash(addr, size)?;
    write_atomic(&a.output, &bytes, false)?;
    Ok(ExitCode::SUCCESS)
}

fn print_boot(report: &ChipBootReport, json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(report)?);
    } else {
        for line in report.lines() {
            outln!("{line}");
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
    if let Some(error) = &report.boot.error {
        if !a.json && !report.boot.interrupted {
            eprintln!("error: boot failed: {error}");
        }
    }
    Ok(if report.boot.booted {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn app(a: AppArgs) -> anyhow::Result<ExitCode> {
    let (dir, mut device) = load(&a.dev)?;
    let (image, call) = match a.action {
        AppAction::Confirm { image } => (image, AppCall::Confirm),
        AppAction::SetPending { permanent, image } => (image, AppCall::SetPending { permanent }),
        AppAction::WriteUpdate { file, image } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("FILE: cannot read {}", file.display()))?;
            chip_boot::app_write_update(&mut device, image, &bytes)
                .map_err(|e| anyhow::anyhow!("device {}: {e}", a.dev.display()))?;
            dir.save(&device)?;
            outln!(
                "wrote {} ({} bytes) to image {image}'s secondary slot through the app's flash backend",
                file.display(),
                bytes.len()
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    chip_boot::app_call(&mut device, image, call)
        .map_err(|e| anyhow::anyhow!("device {}: {e}", a.dev.display()))?;
    dir.save(&device)?;
    Ok(ExitCode::SUCCESS)
}

fn sweep(a: SweepArgs) -> anyhow::Result<ExitCode> {
    let (_dir, mut device) = load(&a.dev)?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} cut points {pos}/{len} [{elapsed_precise}] {per_sec} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let report = chip_boot::sweep_device(&mut device, a.torn, &progress).map_err(|e| match e {
        chip_boot::ChipError::FlashSweep(e) => {
            anyhow::Error::new(e).context(format!("device {}", a.dev.display()))
        }
        e => anyhow::anyhow!("device {}: {e}", a.dev.display()),
    })?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!("{}", report.summary());
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
