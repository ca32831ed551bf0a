//! `chip-id`: the detected chip (and, where the chip has one, esptool's
//! chip id line is not printed: 5.6.0 prints the chip only on chips
//! without an eFuse chip id).

use super::connect::Session;

pub fn run(session: &mut Session) -> anyhow::Result<()> {
    let chip = session
        .client
        .chip()
        .map(|c| c.esptool_name())
        .unwrap_or("unknown");
    outln!("Chip is {chip}");
    Ok(())
}
