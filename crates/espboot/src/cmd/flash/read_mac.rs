//! `read-mac` and `chip-id` (which on every chip here falls back to the
//! MAC, as esptool 5.6.0's `chip_id` does: only the ESP8266 has a chip id).

use super::connect::Session;

fn mac_line(label: &str, bytes: &[u8]) {
    outln!(
        "{:<20}{}",
        format!("{label}:"),
        esp_efuse::hexify(bytes, ":")
    );
}

pub fn read_mac(session: &mut Session) -> anyhow::Result<()> {
    let mac = session.client.read_mac()?;
    outln!();
    match mac.eui64 {
        Some(eui64) => {
            mac_line("MAC", &eui64);
            mac_line("BASE MAC", &mac.base);
            mac_line("MAC_EXT", eui64.get(3..5).unwrap_or_default());
        }
        None => mac_line("MAC", &mac.base),
    }
    Ok(())
}

pub fn chip_id(session: &mut Session) -> anyhow::Result<()> {
    let name = session
        .client
        .chip()
        .map(|c| c.esptool_name())
        .unwrap_or("ESP");
    outln!();
    // esptool warns on stderr
    eprintln!("WARNING: {name} has no chip ID. Reading MAC address instead.");
    let mac = session.client.read_mac()?;
    match mac.eui64 {
        Some(eui64) => {
            mac_line("MAC", &eui64);
            mac_line("BASE MAC", &mac.base);
            mac_line("MAC_EXT", eui64.get(3..5).unwrap_or_default());
        }
        None => mac_line("MAC", &mac.base),
    }
    Ok(())
}
