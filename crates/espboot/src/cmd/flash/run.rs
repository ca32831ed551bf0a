//! `run`: attach the flash, then an empty FLASH_BEGIN and a FLASH_END
//! that asks the loader to run the application (esptool `run_cli`:
//! `attach_flash`, `ESPLoader.run`). Only the ROM needs the attach (the
//! stub attaches itself; `attach_flash` skips it there).

use super::connect::Session;

pub fn run(session: &mut Session) -> anyhow::Result<()> {
    let client = &mut session.client;
    if !client.is_stub() {
        outln!();
        outln!("Enabling default SPI flash mode...");
        client.spi_attach()?;
    }
    client.run_user_code(false)?;
    Ok(())
}
