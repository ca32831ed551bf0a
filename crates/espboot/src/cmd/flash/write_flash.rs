//! `write-flash ADDRESS FILE [ADDRESS FILE …]`: esptool's write, each file
//! compressed unless `--no-compress`, then checked by MD5.

use anyhow::{bail, Context};
use esp_serial_client::flash::WriteEvent;
use esp_serial_client::WriteOptions;

use super::connect::Session;
use super::progress::Progress;

/// Arguments of `write-flash`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Erase the whole flash first.
    #[arg(short = 'e', long)]
    erase_all: bool,
    /// Send the data uncompressed (FLASH_BEGIN/FLASH_DATA).
    #[arg(short = 'u', long, conflicts_with = "compress")]
    no_compress: bool,
    /// Compress (the default with the stub).
    #[arg(short = 'z', long)]
    compress: bool,
    /// Accepted for esptool compatibility: 5.6.0 always verifies.
    #[arg(long, hide = true)]
    verify: bool,
    /// ADDRESS FILE pairs.
    #[arg(value_name = "ADDRESS FILE", num_args = 2.., required = true)]
    pairs: Vec<String>,
}

/// The pairs as (address, file name, bytes), sorted by address, overlaps
/// refused as esptool does.
pub fn load_pairs(pairs: &[String]) -> anyhow::Result<Vec<(u32, String, Vec<u8>)>> {
    if !pairs.len().is_multiple_of(2) {
        bail!("Must be pairs of an address and the binary filename to write there");
    }
    let mut out = Vec::new();
    for pair in pairs.chunks_exact(2) {
        let [addr, name] = pair else { continue };
        let address = super::parse_address(addr).map_err(anyhow::Error::msg)?;
        let data = std::fs::read(name).with_context(|| format!("cannot read {name}"))?;
        out.push((address, name.clone(), data));
    }
    out.sort_by_key(|(a, _, _)| *a);
    let mut end = 0u64;
    for (address, name, data) in &out {
        let sector_start = u64::from(address & !0xFFF);
        if sector_start < end {
            bail!("Detected overlap at address: {address:#x} for file: {name}.");
        }
        end = u64::from(*address) + data.len() as u64;
    }
    Ok(out)
}

pub fn run(session: &mut Session, args: &Args) -> anyhow::Result<()> {
    let files = load_pairs(&args.pairs)?;
    let client = &mut session.client;
    outln!();
    outln!("Configuring flash size...");
    client.spi_attach()?;
    if args.erase_all {
        super::erase::erase_all(client)?;
    }
    let compress = !args.no_compress && (args.compress || client.is_stub());
    for (address, name, data) in &files {
        outln!();
        outln!("Writing '{name}' at {address:#010x}...");
        let progress = Progress::new(data.len());
        let erase_all = args.erase_all;
        let mut on = |event: WriteEvent| {
            match event {
            WriteEvent::WillErase {
                start,
                end,
                bytes_before,
            } if !erase_all => {
                if bytes_before != 0 {
                    outln!(
                        "NOTE: Flash address {address:#010x} is not aligned to a 0x1000 byte flash sector. {bytes_before:#x} bytes before this address will be erased."
                    );
                }
                outln!("Flash will be erased from {start:#010x} to {end:#010x}...");
            }
            WriteEvent::CompressionUseless {
                compressed,
                uncompressed,
            } => outln!(
                "NOTE: Cannot compress file '{name}' more than the original size, will flash uncompressed. Compressed size {compressed} bytes >= uncompressed {uncompressed} bytes."
            ),
            WriteEvent::RomErasing => outln!("Erasing flash..."),
            WriteEvent::Compressed { size, compressed } => {
                outln!("Compressed {size} bytes to {compressed}...")
            }
            WriteEvent::RomErased { seconds } => {
                outln!("Took {seconds:.2}s to erase flash block.")
            }
            WriteEvent::Progress { sent, at, .. } => {
                progress.update(sent, format!("Writing at {at:#010x}"))
            }
            WriteEvent::Wrote(report) => {
                progress.finish();
                let t = report.seconds;
                let speed = |n: usize| {
                    if t > 0.0 {
                        format!(" ({:.1} kbit/s)", n as f64 / t * 8.0 / 1000.0)
                    } else {
                        String::new()
                    }
                };
                if report.compressed {
                    outln!(
                        "Wrote {} bytes ({} compressed) at {:#010x} in {t:.1} seconds{}.",
                        report.written,
                        report.sent,
                        report.address,
                        speed(report.written)
                    );
                } else {
                    outln!(
                        "Wrote {} bytes at {:#010x} in {t:.1} seconds{}.",
                        report.written,
                        report.address,
                        speed(report.written)
                    );
                }
            }
            WriteEvent::Verifying => outln!("Verifying written data..."),
            WriteEvent::Verified => outln!("Hash of data verified."),
            _ => {}
        }
        };
        client.write_flash(*address, data, WriteOptions { compress }, &mut on)?;
    }
    Ok(())
}
