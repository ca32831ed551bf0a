//! `espboot flash --port P …`: esptool's jobs on a serial port through
//! `esp-serial-client`. First increment: connect and detect (`chip-id`).

mod image_info;
mod merge_bin;

use std::process::ExitCode;

use anyhow::bail;
use esp_image::Chip;
use esp_serial_client::reset::Before;
use esp_serial_client::Client;

/// Arguments of `espboot flash`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Serial port (a device or a PTY path); not needed by the host-only
    /// `merge-bin` and `image-info`.
    #[arg(short = 'p', long, env = "ESPTOOL_PORT")]
    port: Option<String>,
    /// Expected chip; the detected one must match.
    #[arg(short = 'c', long)]
    chip: Option<Chip>,
    /// Baud rate.
    #[arg(short = 'b', long, default_value_t = 115_200)]
    baud: u32,
    /// What to do before connecting.
    #[arg(long, value_enum, default_value = "default-reset")]
    before: BeforeArg,
    /// Connection attempts (0 counts as 1).
    #[arg(long, default_value_t = 7)]
    connect_attempts: u32,
    #[command(subcommand)]
    command: FlashCommand,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum BeforeArg {
    DefaultReset,
    NoReset,
    NoResetNoSync,
}

#[derive(Debug, clap::Subcommand)]
enum FlashCommand {
    /// Connect and print the detected chip.
    #[command(alias = "chip_id")]
    ChipId,
    /// Merge binaries at their flash addresses into one raw, Intel HEX or
    /// UF2 file (host only, like `esptool merge-bin`).
    #[command(alias = "merge_bin")]
    MergeBin(merge_bin::Args),
    /// Print what an ESP image holds (host only, like `esptool image-info`).
    #[command(alias = "image_info")]
    ImageInfo(image_info::Args),
}

/// Runs `espboot flash`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Host-only commands: no port, no connection.
    match &args.command {
        FlashCommand::MergeBin(sub) => return merge_bin::run(args.chip, sub),
        FlashCommand::ImageInfo(sub) => return image_info::run(args.chip, sub),
        FlashCommand::ChipId => {}
    }
    let Some(port) = args.port else {
        bail!("--port is required to talk to a chip (or set ESPTOOL_PORT)");
    };
    let before = match args.before {
        BeforeArg::DefaultReset => Before::DefaultReset,
        BeforeArg::NoReset => Before::NoReset,
        BeforeArg::NoResetNoSync => Before::NoResetNoSync,
    };
    let mut client = Client::open(&port, args.baud)?;
    outln!("Connecting...");
    client.connect(before, args.connect_attempts)?;
    let detected = client.detect_chip()?;
    if let Some(expected) = args.chip {
        if expected != detected {
            bail!("{port}: this chip is {detected}, not {expected}. Wrong --chip argument?");
        }
    }
    // ChipId: the only serial command so far.
    outln!("Detecting chip type... {detected}");
    Ok(ExitCode::SUCCESS)
}
