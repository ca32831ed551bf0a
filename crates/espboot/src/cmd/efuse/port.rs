//! A chip over a serial port as the eFuse backend (`--port`): register
//! access through esptool's ROM protocol and espefuse's connect sequence.

use super::*;

/// The register access of a chip on a serial port, for the eFuse
/// backend ([`esp_efuse::backend::Port`]).
pub(super) struct SerialRegisters {
    client: Client,
    pub(super) chip: Chip,
}

impl esp_efuse::backend::RegisterIo for SerialRegisters {
    type Error = esp_serial_client::Error;

    fn read_reg(&mut self, addr: u32) -> Result<u32, Self::Error> {
        self.client.read_reg(addr)
    }

    fn write_reg(
        &mut self,
        addr: u32,
        value: u32,
        mask: u32,
        delay_us: u32,
    ) -> Result<(), Self::Error> {
        self.client.write_reg(addr, value, mask, delay_us)
    }
}

/// espefuse's `--before` choices (underscores too).
pub(super) fn before_option(given: Option<&str>) -> anyhow::Result<Before> {
    Ok(
        match given.unwrap_or("default-reset").replace('_', "-").as_str() {
            "default-reset" | "usb-reset" => Before::DefaultReset,
            "no-reset" => Before::NoReset,
            "no-reset-no-sync" => Before::NoResetNoSync,
            other => bail!(
                "--before {other}: expected one of default-reset, usb-reset, no-reset, no-reset-no-sync"
            ),
        },
    )
}

/// Connects to the chip on `port` as espefuse does (esptool's connect,
/// chip detection, no stub) and checks it is the `--chip` named, outside
/// Secure Download Mode.
/// `quiet`: the connection lines go to stderr (stdout is only JSON).
pub(super) fn connect(
    port: &str,
    named: Option<Chip>,
    global: &args::Global,
    quiet: bool,
) -> anyhow::Result<esp_efuse::backend::Port<SerialRegisters>> {
    let say = |line: String| {
        if quiet {
            eprintln!("{line}");
        } else {
            out!("{line}");
        }
    };
    let before = before_option(global.before.as_deref())?;
    let mut client = Client::open(port, global.baud.unwrap_or(115_200))?;
    say("Connecting...".into());
    client.connect(before, 7)?;
    let chip = client.detect_chip()?;
    say(format!("Detecting chip type... {}", esptool_name(chip)));
    if let Some(expected) = named {
        if expected != chip {
            bail!(
                "{port}: this chip is {}, not {}. Wrong --chip argument?",
                esptool_name(chip),
                esptool_name(expected)
            );
        }
    }
    // efuse/<chip>/fields.py: the eFuses cannot be read in Secure Download
    // Mode (GET_SECURITY_INFO flag bit 2; the ESP32 has neither)
    if chip != Chip::Esp32 {
        let info = client.security_info()?;
        let flags = info
            .get(..4)
            .map_or(0, |f| u32::from_le_bytes([f[0], f[1], f[2], f[3]]));
        if flags & (1 << 2) != 0 {
            bail!("{port}: Secure Download Mode is enabled. The tool can not read eFuses.");
        }
    }
    Ok(esp_efuse::backend::Port::new(SerialRegisters {
        client,
        chip,
    }))
}

/// The chip's name as esptool prints it (`ESP32-C3`).
pub(super) fn esptool_name(chip: Chip) -> String {
    let name = chip.name().to_uppercase();
    match name.strip_prefix("ESP32") {
        Some(rest) if !rest.is_empty() => format!("ESP32-{rest}"),
        _ => name,
    }
}
