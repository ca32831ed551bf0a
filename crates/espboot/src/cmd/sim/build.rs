//! `espboot sim build-bootloader` and `espboot sim build-app`: the images a
//! user signs and writes to a virtual chip, in place of the port's CMake
//! build of MCUboot and an RTOS build of the app.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use espboot_sim::chip::app::{build_app, AppOptions};
use espboot_sim::chip::bootloader::{build_bootloader, require_chip};
use espboot_sim::config::{FlashMap, Target};

use super::{parse_addr, parse_size};
use crate::fsutil::write_atomic;

#[derive(Debug, clap::Args)]
pub(super) struct BuildBootloaderArgs {
    #[command(flatten)]
    port: super::PortConfigArgs,
    /// Output file (the unsigned bootloader; sign it with
    /// `espboot secure sign-data --version 2` or espsecure).
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(super) struct BuildAppArgs {
    /// Chip (the port's target name, e.g. esp32c3).
    #[arg(long)]
    target: String,
    /// App version (maj.min.rev+build), embedded in the payload; sign the
    /// image with the same -v.
    #[arg(long)]
    version: String,
    /// Image number (1: the second image of CONFIG_ESP_IMAGE_NUMBER=2).
    #[arg(long, default_value_t = 0)]
    image: usize,
    /// Use the bootloader memory map of CONFIG_ESP_MULTI_PROCESSOR_BOOT
    /// (esp32, esp32s3).
    #[arg(long = "multi-processor", alias = "multi_processor")]
    multi_processor: bool,
    /// Pad the payload to this many bytes (e.g. 1MB, 0x100000).
    #[arg(long)]
    size: Option<String>,
    /// Load address of the IRAM segment (and entry point).
    #[arg(long = "iram-addr", alias = "iram_addr", value_name = "ADDR")]
    iram_addr: Option<String>,
    /// Load address of the DRAM segment.
    #[arg(long = "dram-addr", alias = "dram_addr", value_name = "ADDR")]
    dram_addr: Option<String>,
    /// Add an RTC fast memory segment (chips that have one).
    #[arg(long)]
    rtc: bool,
    /// Skip the loader's checks: build a deliberately bad app, to rehearse
    /// the loader's refusal.
    #[arg(long)]
    unchecked: bool,
    /// Output file: the payload, to sign with `-H 32 --pad-header` (the
    /// load header's flash offsets assume a 32-byte MCUboot header).
    #[arg(short, long)]
    output: PathBuf,
}

fn target(text: &str) -> anyhow::Result<Target> {
    text.parse().context("--target")
}

pub(super) fn build_bootloader_cmd(a: BuildBootloaderArgs) -> anyhow::Result<ExitCode> {
    let (target, flash_size) = a.port.target_and_size()?;
    require_chip(target).context("--target")?;
    let mut config = target.default_config();
    for path in &a.port.configs {
        config.apply_file(path)?;
    }
    if let Some(size) = flash_size {
        // The header and the embedded configuration carry the real size.
        config
            .keys
            .insert("CONFIG_ESP_FLASH_SIZE".into(), format!("{size:#x}"));
    }
    // Bad flash maps are refused before anything else happens.
    FlashMap::resolve(&config, None)?;
    let keys = config.embedded_keys()?;
    let image = build_bootloader(target, &config, &keys)?;
    write_atomic(&a.output, &image, false)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn build_app_cmd(a: BuildAppArgs) -> anyhow::Result<ExitCode> {
    let target = target(&a.target)?;
    let chip = require_chip(target).context("--target")?;
    let addr = |flag: &str, text: &Option<String>| {
        text.as_deref()
            .map(parse_addr)
            .transpose()
            .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
    };
    let options = AppOptions {
        version: a.version,
        image: a.image,
        multi_processor: a.multi_processor,
        size: a
            .size
            .as_deref()
            .map(parse_size)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--size: {e}"))?
            .map(|s| s as usize),
        iram_addr: addr("--iram-addr", &a.iram_addr)?,
        dram_addr: addr("--dram-addr", &a.dram_addr)?,
        rtc: a.rtc,
        unchecked: a.unchecked,
    };
    let payload = build_app(chip, &options)?;
    write_atomic(&a.output, &payload, false)?;
    Ok(ExitCode::SUCCESS)
}
