//! `dump-mem ADDRESS SIZE FILE`: memory read word by word with READ_REG
//! into a file, with esptool's `dump_mem` lines (`cmds.py`): whole words
//! only (`size // 4` reads), a progress bar on a terminal.

use std::time::Instant;

use anyhow::Context as _;

use super::connect::Session;
use super::progress::Progress;

/// Arguments of `dump-mem`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Start address.
    #[arg(value_parser = super::parse_address)]
    address: u32,
    /// Bytes to dump.
    #[arg(value_parser = super::parse_address)]
    size: u32,
    /// Output file.
    output: std::path::PathBuf,
}

pub fn run(session: &mut Session, args: &Args) -> anyhow::Result<()> {
    let client = &mut session.client;
    let out = args.output.display();
    outln!();
    outln!(
        "Dumping {} bytes from {:#010x} to file '{out}'...",
        args.size,
        args.address
    );
    let progress = Progress::new(args.size as usize);
    let t = Instant::now();
    let words = args.size / 4;
    let mut data = Vec::with_capacity(words as usize * 4);
    for i in 0..words {
        let at = args.address.wrapping_add(i * 4);
        data.extend_from_slice(&client.read_reg(at)?.to_le_bytes());
        if data.len() % 1024 == 0 || data.len() == args.size as usize {
            progress.update(data.len(), format!("Dumping from {at:#010x}"));
        }
    }
    progress.finish();
    let secs = t.elapsed().as_secs_f64();
    atomic_write::write_atomic(&args.output, &data, false)
        .with_context(|| format!("cannot write {out}"))?;
    let speed = if secs > 0.0 {
        format!(" ({:.1} kbit/s)", data.len() as f64 / secs * 8.0 / 1000.0)
    } else {
        String::new()
    };
    outln!(
        "Dumped {} bytes from {:#010x} in {secs:.1} seconds{speed} to '{out}'.",
        data.len(),
        args.address
    );
    Ok(())
}
