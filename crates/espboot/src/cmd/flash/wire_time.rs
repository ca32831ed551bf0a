//! `wire-time FILE` (hidden, host only): what writing and verifying FILE
//! costs on a real serial line, from [`esp_serial_client::wire`]'s model
//! (bytes each side sends, round trips, seconds at common baud rates).

use esp_image::Chip;
use esp_serial_client::wire::{self, WireCost};

/// Baud rates the table shows: esptool's default and the two fast rates
/// USB-UART bridges commonly reach.
const BAUDS: [u32; 3] = [115_200, 460_800, 921_600];

/// Arguments of `wire-time`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The image to model.
    file: std::path::PathBuf,
    /// Model a plain write (`--no-compress`).
    #[arg(long)]
    no_compress: bool,
    /// The size of another compressor's zlib stream for FILE (e.g.
    /// esptool's Python zlib), modelled instead of espboot's.
    #[arg(long, value_parser = super::parse_address)]
    compressed_size: Option<u32>,
    /// Seconds of USB-UART latency per request/reply round trip.
    #[arg(long, default_value_t = 0.001)]
    turnaround: f64,
}

pub fn run(chip: Option<Chip>, args: &Args) -> anyhow::Result<std::process::ExitCode> {
    let image = std::fs::read(&args.file)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", args.file.display()))?;
    let chip = chip.unwrap_or(Chip::Esp32c3);
    let connect = wire::connect_cost(chip);
    let write = match args.compressed_size {
        // the other compressor's stream: same length, zlib level 9's bytes
        // stand in for its content (exact for esptool's stream; otherwise
        // only SLIP escapes differ, ~1 %)
        Some(n) if !args.no_compress => {
            let mut z = wire::esptool_deflate(&image);
            z.resize(n as usize, 0);
            wire::write_cost_compressed(image.len().next_multiple_of(4), &z)
        }
        _ => wire::write_cost(&image, !args.no_compress),
    };
    let verify = wire::verify_cost();
    outln!(
        "{}: {} bytes, {} on the wire ({})",
        args.file.display(),
        image.len(),
        if args.no_compress {
            "plain"
        } else {
            "compressed"
        },
        chip.esptool_name()
    );
    outln!("| step | host bytes | device bytes | round trips | 115200 | 460800 | 921600 |");
    outln!("|---|---:|---:|---:|---:|---:|---:|");
    let row = |name: &str, cost: WireCost| {
        let times: Vec<String> = BAUDS
            .iter()
            .map(|&b| format!("{:.2} s", cost.seconds(b, args.turnaround)))
            .collect();
        outln!(
            "| {name} | {} | {} | {} | {} |",
            cost.host_bytes,
            cost.device_bytes,
            cost.round_trips,
            times.join(" | ")
        );
    };
    row("connect + stub", connect);
    row("write-flash (with its MD5)", write);
    row("verify-flash", verify);
    row(
        "connect + write + connect + verify",
        connect + write + connect + verify,
    );
    outln!(
        "(8N1, {:.1} ms per round trip; erase/program time on the device not included)",
        args.turnaround * 1000.0
    );
    Ok(std::process::ExitCode::SUCCESS)
}
