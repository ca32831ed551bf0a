//! `espboot flash --port P …`: esptool's jobs on a serial port through
//! `esp-serial-client`. First increment: connect and detect (`chip-id`).

use std::process::ExitCode;

use anyhow::bail;
use esp_image::Chip;
use esp_serial_client::reset::Before;
use esp_serial_client::Client;

/// Arguments of `espboot flash`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Serial port (a device or a PTY path).
    #[arg(short = 'p', long, env = "ESPTOOL_PORT")]
    port: String,
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
}

/// Runs `espboot flash`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let before = match args.before {
        BeforeArg::DefaultReset => Before::DefaultReset,
        BeforeArg::NoReset => Before::NoReset,
        BeforeArg::NoResetNoSync => Before::NoResetNoSync,
    };
    let mut client = Client::open(&args.port, args.baud)?;
    outln!("Connecting...");
    client.connect(before, args.connect_attempts)?;
    let detected = client.detect_chip()?;
    if let Some(expected) = args.chip {
        if expected != detected {
            bail!(
                "{}: this chip is {detected}, not {expected}. Wrong --chip argument?",
                args.port
            );
        }
    }
    match args.command {
        FlashCommand::ChipId => outln!("Detecting chip type... {detected}"),
    }
    Ok(ExitCode::SUCCESS)
}
