//! `read-flash ADDRESS SIZE FILE`.

use std::time::Instant;

use anyhow::Context;

use super::connect::Session;
use super::progress::Progress;

/// Arguments of `read-flash`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Start address.
    #[arg(value_parser = super::parse_address)]
    address: u32,
    /// Bytes to read.
    #[arg(value_parser = super::parse_address)]
    size: u32,
    /// Output file.
    filename: std::path::PathBuf,
}

pub fn run(session: &mut Session, args: &Args) -> anyhow::Result<()> {
    let client = &mut session.client;
    outln!();
    outln!("Configuring flash size...");
    client.spi_attach()?;
    let progress = Progress::new(args.size as usize);
    let t = Instant::now();
    let address = args.address;
    let data = client.read_flash(address, args.size, &mut |done, _| {
        progress.update(
            done,
            format!("Reading from {:#010x}", address as usize + done),
        )
    })?;
    progress.finish();
    let secs = t.elapsed().as_secs_f64();
    atomic_write::write_atomic(&args.filename, &data, false)
        .with_context(|| format!("cannot write {}", args.filename.display()))?;
    let speed = if secs > 0.0 {
        format!(" ({:.1} kbit/s)", data.len() as f64 / secs * 8.0 / 1000.0)
    } else {
        String::new()
    };
    outln!(
        "Read {} bytes from {address:#010x} in {secs:.1} seconds{speed} to '{}'.",
        data.len(),
        args.filename.display()
    );
    Ok(())
}
