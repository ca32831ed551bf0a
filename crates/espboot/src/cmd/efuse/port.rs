//! A chip over a serial port as the eFuse backend (`--port`): register
//! access through esptool's ROM protocol and espefuse's connect sequence.

use super::*;

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
) -> anyhow::Result<(esp_efuse::backend::Port<Client>, Chip)> {
    let say = |line: String| {
        if quiet {
            eprintln!("{line}");
        } else {
            out!("{line}");
        }
    };
    let before = before_option(global.before.as_deref())?;
    let mut client = Client::open(port, global.baud.unwrap_or(115_200))?;
    // esptool/loader.py connect: the reset modes that leave the chip as it is
    if let Some(mode @ ("no-reset" | "no-reset-no-sync")) = global
        .before
        .as_deref()
        .map(|b| b.replace('_', "-"))
        .as_deref()
    {
        say(format!(
            "NOTE: Pre-connection option \"{mode}\" was selected. Connection may fail if the chip is not in bootloader or flasher stub mode."
        ));
    }
    say("Connecting...".into());
    client.connect(before, 7)?;
    let chip = client.detect_chip()?;
    // efuse_interface.py get_esp: only `--chip auto` runs esptool's
    // detect_chip (and prints it); a named chip's class connects directly
    if named.is_none() {
        say(format!("Detecting chip type... {}", chip.esptool_name()));
    }
    if let Some(expected) = named {
        if expected != chip {
            bail!(
                "{port}: this chip is {}, not {}. Wrong --chip argument?",
                chip.esptool_name(),
                expected.esptool_name()
            );
        }
    }
    // efuse/<chip>/fields.py: the eFuses cannot be read in Secure Download
    // Mode
    if client.secure_download_mode()? {
        bail!("{port}: Secure Download Mode is enabled. The tool can not read eFuses.");
    }
    Ok((esp_efuse::backend::Port::new(client), chip))
}

/// A burn that cut the host off: ENABLE_SECURITY_DOWNLOAD put the chip in
/// Secure Download Mode, or DIS_DOWNLOAD_MODE silenced it, at the read
/// command after the program. espefuse reconnects, says so, and ends with
/// success (`efuse/<chip>/fields.py` `efuse_read`, `base_fields.py`
/// `reconnect_chip`); the same lines here, printed once the library has
/// reported which.
pub(super) fn download_mode_burned(
    result: anyhow::Result<ExitCode>,
    port: &str,
    baud: u32,
    chip: Chip,
) -> anyhow::Result<ExitCode> {
    let Err(err) = result else {
        return result;
    };
    let burned = match err.downcast_ref::<esp_efuse::EfuseError>() {
        Some(e @ esp_efuse::EfuseError::SecureDownloadModeBurned)
        | Some(e @ esp_efuse::EfuseError::DownloadModeBurned) => e,
        _ => return Err(err),
    };
    out!("Re-connecting...");
    out!("Port: {port}, Baudrate: {baud}, Connect mode: default-reset");
    out!("Connecting...");
    if matches!(burned, esp_efuse::EfuseError::SecureDownloadModeBurned) {
        out!("Detecting chip type... {}", chip.esptool_name());
        out!("Established a connection with the chip.");
        out!("Secure download mode is enabled.");
        out!("espefuse can not continue to work in Secure download mode.");
        out!("ENABLE_SECURITY_DOWNLOAD is enabled.");
    } else {
        out!("Can not re-connect to the chip.");
        out!("This is the correct behavior as we are actually burning DIS_DOWNLOAD_MODE which disables the connection to the chip.");
        out!("DIS_DOWNLOAD_MODE is enabled.");
    }
    out!("Successful.");
    Ok(ExitCode::SUCCESS)
}
