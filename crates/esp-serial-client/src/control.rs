//! The port's lines and speed, and what esptool does around a command:
//! the USB ids that choose the reset sequence, playing a sequence on the
//! port, CHANGE_BAUDRATE, and the `--after` actions (hard reset, soft
//! reset, RTC watchdog reset, leaving the stub) and `run`.
//!
//! Sources: esptool 5.6.0 `loader.py` (`change_baud`, `hard_reset`,
//! `soft_reset`, `watchdog_reset`, `run`, `get_usb_vid_pid`), its
//! `targets/*.py` overrides, `esp_pylib/serial_ports.py`; serial.md §1.4.

use std::path::Path;
use std::time::Duration;

use esp_image::rom_loader::{RTC_WDT_RESET_CONFIG0, RTC_WDT_RESET_TIMEOUT, RTC_WDT_WKEY};
use esp_image::Chip;
use esp_rom_protocol::command::{Opcode, Request};

use crate::reset::{self, ModemLines, Step, UsbIds};
use crate::{Client, Error, DEFAULT_TIMEOUT};

/// Something esptool warns about and goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// The port has no modem lines (a pseudo-terminal, some USB ROM
    /// interfaces): the chip was not reset (esptool `ResetStrategy`,
    /// printed once).
    LinesNotSupported {
        /// The port.
        port: String,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::LinesNotSupported { port } => write!(
                f,
                "Chip was NOT reset. Setting RTS/DTR lines is not supported for port '{port}'. \
                 Set --before and --after arguments to 'no-reset' and switch to bootloader \
                 manually to avoid this warning."
            ),
        }
    }
}

/// How the chip was reset by [`Client::hard_reset`] or
/// [`Client::watchdog_reset`] (what esptool prints differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HardReset {
    /// EN pulsed through RTS ("Hard resetting via RTS pin...").
    Rts,
    /// The RTC watchdog armed ("Hard resetting with a watchdog...").
    Watchdog,
}

/// esptool waits this long after arming the watchdog (`sleep(0.5)`,
/// `targets/esp32c3.py` `watchdog_reset`).
const WATCHDOG_SETTLE: Duration = Duration::from_millis(500);

/// After CHANGE_BAUDRATE esptool waits this long and drops what arrived
/// ("get rid of crap sent during baud rate change", `change_baud`).
const BAUD_SETTLE: Duration = Duration::from_millis(50);

/// The ESP32-S3's `RTC_CNTL_OPTION1_REG` and its force-download bit,
/// cleared before a hard reset so the chip does not come back in download
/// mode (`targets/esp32s3.py` `hard_reset`).
const ESP32S3_RTC_OPTION1: (u32, u32) = (0x6000_812C, 0x1);

/// The USB ids of `port`, as `esp_pylib.serial_ports.get_port_vid_pid`
/// finds them among the system's ports (a symlink's target first, then
/// the name itself); `None` for a port that is not a USB device.
pub fn usb_ids(port: &str) -> Option<UsbIds> {
    let listed = serialport::available_ports().ok()?;
    let mut names = vec![port.to_owned()];
    if let Ok(real) = std::fs::canonicalize(Path::new(port)) {
        let real = real.display().to_string();
        if real != port {
            names.insert(0, real);
        }
    }
    names.iter().find_map(|name| {
        listed.iter().find_map(|p| match &p.port_type {
            serialport::SerialPortType::UsbPort(usb) if &p.port_name == name => Some(UsbIds {
                vid: usb.vid,
                pid: usb.pid,
            }),
            _ => None,
        })
    })
}

/// Device-name patterns esptool ranks after Espressif's own USB ports on
/// Linux, in this order (`LINUX_DEVICE_PATTERNS`, `esp_pylib/constants.py`).
const LINUX_PORT_PATTERNS: [&str; 2] = ["ttyUSB", "ttyACM"];

/// The ports esptool tries when none is given, best first
/// (`esp_pylib.serial_ports.get_port_list` on Linux): Espressif's USB
/// vendor id first, then `ttyUSB*`, then `ttyACM*`, then the rest, each
/// group in the system's listing order (a stable sort).
pub fn order_candidates(listed: Vec<serialport::SerialPortInfo>) -> Vec<String> {
    let rank = |p: &serialport::SerialPortInfo| -> (i32, usize) {
        if let serialport::SerialPortType::UsbPort(usb) = &p.port_type {
            if usb.vid == reset::ESPRESSIF_VID {
                return (-2, 0);
            }
        }
        LINUX_PORT_PATTERNS
            .iter()
            .position(|pat| p.port_name.contains(pat))
            .map_or((0, 0), |i| (-1, i))
    };
    let mut ports = listed;
    ports.sort_by_key(|p| rank(p));
    ports.into_iter().map(|p| p.port_name).collect()
}

/// The system's serial ports in esptool's order ([`order_candidates`]).
pub fn system_candidates() -> Vec<String> {
    order_candidates(serialport::available_ports().unwrap_or_default())
}

/// The lines of an open port, through the serial library. It has no call
/// that sets both lines at once (and this workspace has no `unsafe` for a
/// raw `TIOCMSET`), so [`Step::DtrRts`] is played as DTR then RTS.
pub(crate) struct PortLines<'a> {
    pub(crate) port: &'a mut dyn serialport::SerialPort,
}

/// Whether a modem-line failure means "this port has no modem lines":
/// ENOTTY or EINVAL from the ioctl (esptool `ResetStrategy.__call__`).
/// The serial library keeps only the errno's text for these.
fn no_modem_lines(e: &serialport::Error) -> bool {
    e.kind == serialport::ErrorKind::Unknown
        && matches!(
            e.description.as_str(),
            // ENOTTY as nix and glibc spell it, EINVAL
            "Not a typewriter" | "Inappropriate ioctl for device" | "Invalid argument"
        )
}

fn line_error(e: serialport::Error) -> std::io::Error {
    let kind = if no_modem_lines(&e) {
        std::io::ErrorKind::Unsupported
    } else {
        std::io::ErrorKind::Other
    };
    std::io::Error::new(kind, e.description)
}

impl ModemLines for PortLines<'_> {
    fn set_dtr(&mut self, level: bool) -> std::io::Result<()> {
        self.port
            .write_data_terminal_ready(level)
            .map_err(line_error)
    }
    fn set_rts(&mut self, level: bool) -> std::io::Result<()> {
        self.port.write_request_to_send(level).map_err(line_error)
    }
    fn set_dtr_rts(&mut self, dtr: bool, rts: bool) -> std::io::Result<()> {
        self.set_dtr(dtr)?;
        self.set_rts(rts)
    }
}

impl Client {
    /// The port's USB ids (looked up once).
    pub fn usb(&mut self) -> Option<UsbIds> {
        if self.usb.is_none() {
            self.usb = Some(usb_ids(&self.port_name));
        }
        self.usb.flatten()
    }

    /// Warnings gathered so far (each given once).
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    /// Plays a reset sequence on the port. A port without modem lines
    /// (ENOTTY/EINVAL, as a PTY answers) gets esptool's one-time warning
    /// and the sequence is abandoned; other failures are errors.
    pub fn play_reset(&mut self, steps: &[Step]) -> Result<(), Error> {
        let mut lines = PortLines {
            port: self.port.as_mut(),
        };
        let result = reset::play(steps, &mut lines);
        // what DTR was left at, for the DTR re-write after an RTS change
        for s in steps {
            if let Step::Dtr(level) = *s {
                self.dtr = level;
            }
        }
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                if !self.lines_warned {
                    self.lines_warned = true;
                    self.warnings.push(Warning::LinesNotSupported {
                        port: self.port_name.clone(),
                    });
                }
                Ok(())
            }
            Err(source) => Err(Error::Io {
                port: self.port_name.clone(),
                operation: "reset (DTR/RTS)",
                source,
            }),
        }
    }

    /// The DTR level the port was last set to.
    pub fn dtr(&self) -> bool {
        self.dtr
    }

    /// CHANGE_BAUDRATE to `baud`, then the port follows (esptool
    /// `change_baud`): the stub takes the old rate as the second word,
    /// the ROM 0. Returns what to print before and after, as esptool does,
    /// through `say`.
    pub fn change_baud(&mut self, baud: u32, say: &mut dyn FnMut(&str)) -> Result<(), Error> {
        say(&format!("Changing baud rate to {baud}..."));
        let old = if self.stub { self.baud } else { 0 };
        let req = Request::words(Opcode::ChangeBaudrate, &[baud, old]);
        self.command(&req, 0, DEFAULT_TIMEOUT, "change baud rate")?;
        say("Changed.");
        self.port
            .set_baud_rate(baud)
            .map_err(|source| self.lines_error(source))?;
        self.baud = baud;
        std::thread::sleep(BAUD_SETTLE);
        self.flush_input()
    }

    /// `--after hard-reset` (esptool `hard_reset`): on the ESP32-S3 the
    /// force-download bit is cleared first (failures ignored, as esptool
    /// does), then EN is pulsed; the longer pulse on the chip's own
    /// USB-Serial-JTAG.
    pub fn hard_reset(&mut self) -> Result<HardReset, Error> {
        if self.chip == Some(Chip::Esp32s3) {
            let (reg, mask) = ESP32S3_RTC_OPTION1;
            let _ = self.write_reg(reg, 0, mask, 0);
        }
        let usb = self.usb();
        let uses_usb = usb.is_some_and(|u| u.vid == reset::ESPRESSIF_VID && u.is_usb_jtag_serial());
        let fc = usb.is_some_and(UsbIds::flow_control);
        let steps = reset::hard_reset(self.dtr, uses_usb, fc);
        self.play_reset(&steps)?;
        Ok(HardReset::Rts)
    }

    /// `--after watchdog-reset`: the RTC watchdog armed to reset the system
    /// on the chips esptool does it on (`watchdog_reset` of
    /// `targets/esp32c3.py`, S2, S3, C2); elsewhere esptool falls back to
    /// a hard reset ([`HardReset::Rts`]).
    pub fn watchdog_reset(&mut self) -> Result<HardReset, Error> {
        let Some(wdt) = self.chip.and_then(Chip::rtc_wdt) else {
            return self.hard_reset();
        };
        self.write_reg(wdt.wprotect, RTC_WDT_WKEY, u32::MAX, 0)?;
        self.write_reg(wdt.config1, RTC_WDT_RESET_TIMEOUT, u32::MAX, 0)?;
        // the chip resets as this lands; its reply may never come
        let _ = self.write_reg(wdt.config0, RTC_WDT_RESET_CONFIG0, u32::MAX, 0);
        let _ = self.write_reg(wdt.wprotect, 0, u32::MAX, 0);
        std::thread::sleep(WATCHDOG_SETTLE);
        Ok(HardReset::Watchdog)
    }

    /// `run` (esptool `run`): an empty FLASH_BEGIN, then FLASH_END asking
    /// to run the user code (`reboot` false) or to reboot.
    pub fn run_user_code(&mut self, reboot: bool) -> Result<(), Error> {
        self.flash_begin(0, 0, false)?;
        let req = Request::words(Opcode::FlashEnd, &[u32::from(!reboot)]);
        self.command(&req, 0, DEFAULT_TIMEOUT, "leave flash download mode")?;
        Ok(())
    }

    /// `--after soft-reset` (esptool `soft_reset(False)`): the ROM runs
    /// the user code; the stub cannot (esptool: only on the ESP8266).
    pub fn soft_reset(&mut self) -> Result<(), Error> {
        if self.stub {
            return Err(Error::SoftResetFromStub {
                port: self.port_name.clone(),
            });
        }
        self.run_user_code(false)
    }

    /// `--after no-reset` from the stub (esptool `soft_reset(True)`): the
    /// stub reboots into the ROM loader. Nothing to do on the ROM.
    pub fn leave_stub(&mut self) -> Result<(), Error> {
        if !self.stub {
            return Ok(());
        }
        self.run_user_code(true)?;
        self.stub = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_rank_espressif_then_usb_bridges_then_the_rest() {
        use serialport::{SerialPortInfo, SerialPortType, UsbPortInfo};
        let usb = |vid| {
            SerialPortType::UsbPort(UsbPortInfo {
                vid,
                pid: 0x1001,
                serial_number: None,
                manufacturer: None,
                product: None,
            })
        };
        let port = |name: &str, t| SerialPortInfo {
            port_name: name.into(),
            port_type: t,
        };
        let got = order_candidates(vec![
            port("/dev/ttyS0", SerialPortType::Unknown),
            port("/dev/ttyACM0", usb(0x1234)),
            port("/dev/ttyUSB1", usb(0x10C4)),
            port("/dev/ttyACM1", usb(reset::ESPRESSIF_VID)),
            port("/dev/ttyUSB0", usb(0x0403)),
        ]);
        assert_eq!(
            got,
            [
                "/dev/ttyACM1",
                "/dev/ttyUSB1",
                "/dev/ttyUSB0",
                "/dev/ttyACM0",
                "/dev/ttyS0"
            ]
        );
    }

    #[test]
    fn a_path_that_is_no_port_has_no_usb_ids() {
        assert_eq!(usb_ids("/nonexistent/tty"), None);
    }
}
