//! `read-mem ADDRESS`: one word read with READ_REG, printed as esptool's
//! `read_mem` does (`cmds.py`).

use super::connect::Session;

/// Arguments of `read-mem`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address of the word (decimal or 0x hex).
    #[arg(value_parser = super::parse_address)]
    address: u32,
}

pub fn run(session: &mut Session, args: &Args) -> anyhow::Result<()> {
    let value = session.client.read_reg(args.address)?;
    outln!();
    outln!("{:#010x} = {value:#010x}", args.address);
    Ok(())
}
