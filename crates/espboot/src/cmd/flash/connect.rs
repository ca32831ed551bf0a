//! Connecting as esptool does: reset and sync, detect the chip and check
//! `--chip`, upload the flasher stub unless `--no-stub` (or the chip
//! cannot run it), and the `--after` action.

use anyhow::bail;
use esp_serial_client::reset::Before;
use esp_serial_client::Client;

use super::Args;

/// `--before`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
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
}

impl Session {
    /// Opens the port and connects; prints esptool's connection lines.
    pub fn open(args: &Args) -> anyhow::Result<Session> {
        let Some(port) = args.port.clone() else {
            bail!("no serial port given: pass -p/--port or set ESPTOOL_PORT");
        };
        let before = match args.before {
            // a USB-Serial-JTAG reset is DTR/RTS too; without the USB ids
            // (a PTY) esptool falls back to the classic sequence
            BeforeArg::DefaultReset | BeforeArg::UsbReset => Before::DefaultReset,
            BeforeArg::NoReset => Before::NoReset,
            BeforeArg::NoResetNoSync => Before::NoResetNoSync,
        };
        outln!("Serial port {port}:");
        let mut client = Client::open(&port, args.baud)?;
        outln!("Connecting...");
        client.connect(before, args.connect_attempts)?;
        let detected = client.detect_chip()?;
        outln!("Detecting chip type... {}", detected.esptool_name());
        if let Some(expected) = args.chip {
            if expected != detected {
                bail!(
                    "{port}: This chip is {}, not {}. Wrong chip argument?",
                    detected.esptool_name(),
                    expected.esptool_name()
                );
            }
        }
        outln!("Connected to {} on {port}:", detected.esptool_name());
        if client.stub_was_running() {
            outln!("Stub flasher is already running. No upload is necessary.");
        } else if args.no_stub {
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
        Ok(Session { client, port })
    }

    /// esptool's `--after` on a port that cannot reset a board: the
    /// message it prints (a PTY carries no reset lines, serial.md §1.1).
    pub fn finish(self, after: AfterArg) -> anyhow::Result<()> {
        outln!();
        match after {
            AfterArg::NoReset | AfterArg::NoResetStub => outln!("Staying in bootloader."),
            AfterArg::HardReset | AfterArg::WatchdogReset => {
                outln!("Hard resetting via RTS pin...")
            }
            AfterArg::SoftReset => outln!("Soft resetting..."),
        }
        Ok(())
    }
}
