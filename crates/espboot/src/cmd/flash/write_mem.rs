//! `write-mem ADDRESS VALUE [MASK]`: WRITE_REG with a mask (bits outside
//! it keep their value), printed as esptool's `write_mem` does
//! (`cmds.py`).

use super::connect::Session;

/// Arguments of `write-mem`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address of the word.
    #[arg(value_parser = super::parse_address)]
    address: u32,
    /// Value to write.
    #[arg(value_parser = super::parse_address)]
    value: u32,
    /// Bits to change (default all).
    #[arg(value_parser = super::parse_address, default_value = "0xFFFFFFFF")]
    mask: u32,
}

pub fn run(session: &mut Session, args: &Args) -> anyhow::Result<()> {
    session
        .client
        .write_reg(args.address, args.value, args.mask, 0)?;
    outln!();
    outln!(
        "Wrote {:#010x} with mask {:#010x} to {:#010x}.",
        args.value,
        args.mask,
        args.address
    );
    Ok(())
}
