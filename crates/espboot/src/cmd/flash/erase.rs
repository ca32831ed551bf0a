//! `erase-flash` and `erase-region`.

use std::time::Instant;

use esp_serial_client::Client;

use super::connect::Session;

/// The flash size erase-region tells the ROM before erasing (esptool
/// detects it; the virtual chips and common modules carry 4 MB).
const ROM_FLASH_SIZE: u32 = 4 * 1024 * 1024;

/// Arguments of `erase-flash`.
#[derive(Debug, clap::Args)]
pub struct FlashArgs {
    /// Erase even with security features on.
    #[arg(long)]
    force: bool,
}

/// Arguments of `erase-region`.
#[derive(Debug, clap::Args)]
pub struct RegionArgs {
    /// Start address (a multiple of 4096).
    #[arg(value_parser = super::parse_address)]
    address: u32,
    /// Bytes (a multiple of 4096).
    #[arg(value_parser = super::parse_address)]
    size: u32,
    /// Erase even with security features on.
    #[arg(long)]
    force: bool,
}

/// Erases the whole chip with esptool's lines.
pub fn erase_all(client: &mut Client) -> anyhow::Result<()> {
    outln!("Erasing flash memory (this may take a while)...");
    if !client.is_stub() {
        outln!("NOTE: You can use the erase-region command in ROM bootloader mode to erase a specific region.");
    }
    let t = Instant::now();
    client.erase_flash()?;
    outln!(
        "Flash memory erased successfully in {:.1} seconds.",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn flash(session: &mut Session, _args: &FlashArgs) -> anyhow::Result<()> {
    outln!();
    erase_all(&mut session.client)
}

pub fn region(session: &mut Session, args: &RegionArgs) -> anyhow::Result<()> {
    outln!();
    outln!("Erasing flash memory region (this may take a while depending on size)...");
    let t = Instant::now();
    session
        .client
        .erase_region(args.address, args.size, ROM_FLASH_SIZE)?;
    outln!(
        "Flash memory region erased successfully in {:.1} seconds.",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
