//! Connecting as esptool does: find the port (or try every candidate),
//! reset and sync at the initial baud, detect the chip and check
//! `--chip`, apply the Secure Download Mode rules, upload the flasher stub
//! unless `--no-stub` (or the chip cannot run it), change the baud rate,
//! and the `--after` action (esptool 5.6.0 `__init__.py` `cli`,
//! `cmds.py` `connect_esp`, `connect_first_available`, `run_stub`,
//! `reset_chip`).

use anyhow::bail;
use esp_serial_client::reset::Before;
use esp_serial_client::Client;

use super::Args;

/// The ROM loader's baud rate: esptool never syncs faster
/// (`ESP_ROM_BAUD`).
const ROM_BAUD: u32 = 115_200;

/// Test hook: a `:`-separated list of port paths that replaces the
/// system's port list in auto-detection (the test machine has no USB
/// serial ports; a test lists a `sim serve` PTY here).
const CANDIDATES_ENV: &str = "ESPBOOT_PORT_CANDIDATES";

/// The commands esptool still runs in Secure Download Mode (`cli`'s
/// sanity check; the SDC commands are not implemented here).
const SDM_COMMANDS: [&str; 3] = ["get-security-info", "write-flash", "erase-region"];

/// `--before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BeforeArg {
    DefaultReset,
    UsbReset,
    NoReset,
    NoResetNoSync,
}

/// `--after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AfterArg {
    HardReset,
    SoftReset,
    NoReset,
    NoResetStub,
    WatchdogReset,
}

/// A connected device.
pub struct Session {
    pub client: Client,
    pub port: String,
    /// The chip's ROM runs in Secure Download Mode.
    pub secure_download_mode: bool,
}

fn before(arg: BeforeArg) -> Before {
    match arg {
        BeforeArg::DefaultReset => Before::DefaultReset,
        BeforeArg::UsbReset => Before::UsbReset,
        BeforeArg::NoReset => Before::NoReset,
        BeforeArg::NoResetNoSync => Before::NoResetNoSync,
    }
}

fn print_warnings(client: &mut Client) {
    for w in client.take_warnings() {
        eprintln!("WARNING: {w}");
    }
}

/// The ports esptool would try when none is given, best first
/// (`esp_pylib.serial_ports.get_port_list`).
fn candidates() -> Vec<String> {
    if let Some(list) = std::env::var_os(CANDIDATES_ENV) {
        return std::env::split_paths(&list)
            .map(|p| p.display().to_string())
            .collect();
    }
    esp_serial_client::control::system_candidates()
}

impl Session {
    /// Opens the port (or finds one) and connects for `command` (its
    /// esptool name); prints esptool's connection lines.
    pub fn open(args: &Args, command: &str) -> anyhow::Result<Session> {
        // esptool syncs at 115200 at most, then changes the rate
        let initial_baud = if args.before == BeforeArg::NoResetNoSync {
            args.baud
        } else {
            args.baud.min(ROM_BAUD)
        };
        let mut session = match &args.port {
            Some(port) => Session::connect(args, port, initial_baud)?,
            None => {
                let ports = candidates();
                outln!("Found {} serial ports...", ports.len());
                let mut found = None;
                for port in &ports {
                    match Session::connect(args, port, initial_baud) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => {
                            eprintln!("ERROR: {port} failed to connect: {}", crate::one_line(&e))
                        }
                    }
                }
                match found {
                    Some(s) => s,
                    None => bail!(
                        "Could not connect to an Espressif device on any of the {} available serial ports.",
                        ports.len()
                    ),
                }
            }
        };
        let chip = session
            .client
            .chip()
            .map(|c| c.esptool_name())
            .unwrap_or_default();
        outln!("Connected to {chip} on {}:", session.port);
        if session.secure_download_mode && !SDM_COMMANDS.contains(&command) {
            bail!("The '{command}' command is not available in Secure Download Mode.");
        }
        session.start_stub(args)?;
        if args.baud > initial_baud {
            session
                .client
                .change_baud(args.baud, &mut |line| outln!("{line}"))?;
        }
        Ok(session)
    }

    /// One port: open, reset and sync, detect or check the chip.
    fn connect(args: &Args, port: &str, baud: u32) -> anyhow::Result<Session> {
        outln!("Serial port {port}:");
        let mut client = Client::open(port, baud)?;
        outln!("Connecting...");
        let connected = client.connect(before(args.before), args.connect_attempts);
        print_warnings(&mut client);
        connected?;
        if args.chip.is_none() {
            out!("Detecting chip type...");
        }
        let detected = client.detect_chip()?;
        match args.chip {
            None => outln!(" {}", detected.esptool_name()),
            Some(expected) if expected != detected => bail!(
                "This chip is {}, not {}. Wrong chip argument?",
                detected.esptool_name(),
                expected.esptool_name()
            ),
            Some(_) => {}
        }
        let secure_download_mode = client.secure_download_mode()?;
        Ok(Session {
            client,
            port: port.to_owned(),
            secure_download_mode,
        })
    }

    /// esptool's `run_stub`, with its reasons not to.
    fn start_stub(&mut self, args: &Args) -> anyhow::Result<()> {
        let client = &mut self.client;
        if args.no_stub {
            return Ok(());
        }
        if self.secure_download_mode {
            eprintln!(
                "WARNING: Stub flasher is not supported in Secure Download Mode, it has been disabled. Set --no-stub to suppress this warning."
            );
        } else if client.stub_was_running() {
            outln!("Stub flasher is already running. No upload is necessary.");
        } else if client.stub_disabled()? {
            eprintln!(
                "WARNING: Stub flasher has been disabled for compatibility, set --no-stub to suppress this warning."
            );
        } else {
            outln!();
            outln!("Uploading stub flasher...");
            outln!("Running stub flasher...");
            client.run_stub()?;
            outln!("Stub flasher running.");
        }
        Ok(())
    }

    /// esptool's `reset_chip` for `--after`.
    pub fn finish(mut self, after: AfterArg) -> anyhow::Result<()> {
        outln!();
        let client = &mut self.client;
        let result = match after {
            AfterArg::HardReset => hard_reset(client, false),
            AfterArg::WatchdogReset if self.secure_download_mode => {
                eprintln!(
                    "WARNING: Watchdog hard reset is not supported in Secure Download Mode, attempting classic hard reset instead."
                );
                hard_reset(client, false)
            }
            AfterArg::WatchdogReset => hard_reset(client, true),
            AfterArg::SoftReset => {
                outln!("Soft resetting...");
                client.soft_reset().map_err(Into::into)
            }
            AfterArg::NoResetStub => {
                outln!("Staying in flasher stub.");
                Ok(())
            }
            AfterArg::NoReset => {
                outln!("Staying in bootloader.");
                client.leave_stub().map_err(Into::into)
            }
        };
        print_warnings(client);
        result
    }
}

/// esptool's `hard_reset` / `watchdog_reset` and their messages.
fn hard_reset(client: &mut Client, watchdog: bool) -> anyhow::Result<()> {
    if !watchdog {
        outln!("Hard resetting via RTS pin...");
        client.hard_reset()?;
        return Ok(());
    }
    let chip = client.chip();
    if chip.and_then(esp_image::Chip::rtc_wdt).is_some() {
        outln!("Hard resetting with a watchdog...");
    } else {
        outln!(
            "NOTE: Watchdog hard reset is not supported on {}, attempting classic hard reset instead.",
            chip.map(|c| c.esptool_name()).unwrap_or_default()
        );
        outln!("Hard resetting via RTS pin...");
    }
    client.watchdog_reset()?;
    Ok(())
}
