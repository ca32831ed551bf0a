//! `flash-id`: the SPI flash's JEDEC id decoded as esptool 5.6.0's
//! `flash_id` / `print_flash_id` print it (`et:cmds.py:2444-2477`).

use esp_image::rom_loader::{
    flash_type_efuse, flash_voltage_regs, FlashVoltageRegs, RTC_CNTL_DREFH_SDIO_M,
    RTC_CNTL_SDIO_FORCE, RTC_CNTL_XPD_SDIO_REG,
};

use super::connect::Session;

/// esptool's `DETECTED_FLASH_SIZES` for the capacity byte (`et:cmds.py:82`):
/// `1 << id` bytes for the W25Q-style ids 0x12..0x1C.
pub(super) fn detected_flash_size(size_id: u32) -> Option<String> {
    match size_id {
        0x12 | 0x13 => Some(format!("{}KB", (1u32 << size_id) >> 10)),
        0x14..=0x1C => Some(format!("{}MB", (1u32 << size_id) >> 20)),
        _ => None,
    }
}

pub fn run(session: &mut Session) -> anyhow::Result<()> {
    let id = session.client.flash_jedec_id()?;
    let manufacturer = id & 0xFF;
    // esptool swaps the two device bytes: high byte first
    let device = ((id >> 16) & 0xFF) | (((id >> 8) & 0xFF) << 8);
    let size = detected_flash_size(id >> 16);
    outln!();
    let title = "Flash Memory Information:";
    outln!("{title}");
    outln!("{}", "=".repeat(title.len()));
    outln!("Manufacturer: {manufacturer:02x}");
    outln!("Device: {device:04x}");
    outln!(
        "Detected flash size: {}",
        size.as_deref().unwrap_or("Unknown")
    );
    if let Some((reg, mask)) = session.client.chip().and_then(flash_type_efuse) {
        let octal = session.client.read_reg(reg)? & mask != 0;
        let kind = if octal {
            "octal (8 data lines)"
        } else {
            "quad (4 data lines)"
        };
        outln!("Flash type set in eFuse: {kind}");
    }
    if let Some(regs) = session.client.chip().and_then(flash_voltage_regs) {
        let (source, voltage) = flash_voltage(session, &regs)?;
        outln!("Flash voltage set by {source}: {voltage}");
    }
    Ok(())
}

/// esptool's decision order: an RTC override, then the eFuse, then the
/// strapping pin (`get_flash_voltage`, `esptool/targets/esp32.py`).
fn flash_voltage(
    session: &mut Session,
    regs: &FlashVoltageRegs,
) -> anyhow::Result<(&'static str, &'static str)> {
    if let Some(conf_reg) = regs.rtc_sdio_conf {
        let conf = session.client.read_reg(conf_reg)?;
        if conf & RTC_CNTL_SDIO_FORCE != 0 {
            let v = if conf & RTC_CNTL_DREFH_SDIO_M != 0 {
                "1.9V"
            } else if conf & RTC_CNTL_XPD_SDIO_REG != 0 {
                "1.8V"
            } else {
                "OFF"
            };
            return Ok(("RTC_CNTL", v));
        }
    }
    let efuse = session.client.read_reg(regs.efuse_vdd_spi)?;
    if efuse & regs.efuse_force != 0 {
        let v = if efuse & regs.efuse_xpd == 0 {
            "OFF"
        } else if efuse & regs.efuse_tieh == 0 {
            "1.8V"
        } else {
            "3.3V"
        };
        return Ok(("eFuse", v));
    }
    let strap = session.client.read_reg(regs.strap)?;
    let v = if strap & regs.strap_vddspi != 0 {
        "1.8V"
    } else {
        "3.3V"
    };
    Ok(("a strapping pin", v))
}
