//! `verify-flash ADDRESS FILE …`: SPI_FLASH_MD5 against each file.

use anyhow::bail;

use super::connect::Session;

/// Arguments of `verify-flash`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// ADDRESS FILE pairs.
    #[arg(value_name = "ADDRESS FILE", num_args = 2.., required = true)]
    pairs: Vec<String>,
}

/// Reads the files, as esptool does while it parses its command line
/// (before it connects).
pub fn load(args: &Args) -> anyhow::Result<Vec<super::write_flash::FileArg>> {
    super::write_flash::load_pairs("verify-flash", super::PAIRS, &args.pairs)
}

pub fn run(session: &mut Session, files: &[super::write_flash::FileArg]) -> anyhow::Result<()> {
    let client = &mut session.client;
    outln!();
    outln!("Configuring flash size...");
    client.spi_attach()?;
    let mut mismatch = false;
    for file in files {
        let (address, name, data) = (&file.address, &file.name, &file.data);
        let size = data.len().next_multiple_of(4);
        outln!(
            "Verifying {size:#x} ({size}) bytes at {address:#010x} in flash against '{name}'..."
        );
        if client.verify_flash(*address, data)? {
            outln!("Verification successful (digest matched).");
        } else {
            outln!("Verification failed (digest mismatch).");
            mismatch = true;
        }
    }
    if mismatch {
        bail!("{}: Verification failed.", session.port);
    }
    Ok(())
}
