//! `run`: attach the flash, then an empty FLASH_BEGIN and a FLASH_END
//! that asks the loader to run the application (esptool `run_cli`:
//! `attach_flash`, `ESPLoader.run`). It prints nothing of its own.

use super::connect::Session;

pub fn run(session: &mut Session) -> anyhow::Result<()> {
    let client = &mut session.client;
    client.spi_attach()?;
    client.run_user_code(false)?;
    Ok(())
}
