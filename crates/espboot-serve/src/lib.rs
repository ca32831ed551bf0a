//! The virtual chip on a serial line: `espboot sim serve DEV --pty PATH`
//! makes a device directory answer on a pseudo-terminal as the silicon
//! answers on its UART, so unmodified esptool and smpmgr talk to it
//! (specification: serial.md).
//!
//! - [`pty`]: the PTY, its symlink, hang-up detection.
//! - [`machine`]: the device (flash, eFuses) and its registers
//!   ([`regs`]), saved atomically.
//! - [`loader`]: the ROM download loader and the flasher stub over
//!   [`esp_rom_protocol`].
//! - [`boot_log`]: what a flash boot prints on the console.
//! - [`recovery`]: MCUboot's serial recovery over
//!   [`mcumgr_smp::recovery`].
//! - [`control`]: the device lock and `sim boot-mode` requests.
//!
//! The boot mode ([`BootMode`]) is server state, since a PTY has no
//! strapping pins: `download` (the BOOT button held), `normal`, or
//! `recovery` (MCUboot's detect pin held). A client closing the port
//! resets the download loader, as a board's auto-reset circuit would.
//!
//! ```no_run
//! use espboot_serve::{serve, BootMode, ServeOptions};
//!
//! let options = ServeOptions {
//!     dev: "dev".into(),
//!     pty: "/tmp/esp-tty".into(),
//!     recovery_pty: None,
//!     boot: BootMode::Download,
//!     trace: false,
//!     pause_before: None,
//! };
//! // Blocks until SIGINT/SIGTERM; `esptool --port /tmp/esp-tty
//! // --before no-reset chip-id` talks to the device meanwhile.
//! serve(&options, |port| println!("ready {}", port.display()), |line| eprintln!("{line}"))?;
//! # Ok::<(), espboot_serve::ServeError>(())
//! ```

pub mod boot_log;
pub mod control;
pub mod loader;
pub mod machine;
pub mod pty;
pub mod recovery;
pub mod regs;
mod server;

use std::path::{Path, PathBuf};

pub use control::{request_boot_mode, ControlError};

/// How the chip boots at power-on and at each reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BootMode {
    /// The ROM's UART download mode (BOOT/GPIO0 held).
    Download,
    /// Boot from flash: ROM, MCUboot, app.
    Normal,
    /// Boot from flash with MCUboot's serial-recovery pin held.
    Recovery,
}

impl BootMode {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            BootMode::Download => "download",
            BootMode::Normal => "normal",
            BootMode::Recovery => "recovery",
        }
    }
}

/// A boot mode name that is not one of `download`, `normal`, `recovery`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown boot mode {0:?} (expected download, normal or recovery)")]
pub struct UnknownBootMode(pub String);

impl std::str::FromStr for BootMode {
    type Err = UnknownBootMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "download" => Ok(BootMode::Download),
            "normal" => Ok(BootMode::Normal),
            "recovery" => Ok(BootMode::Recovery),
            _ => Err(UnknownBootMode(s.to_owned())),
        }
    }
}

/// What to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The device directory.
    pub dev: PathBuf,
    /// Where to publish UART0 (the ROM loader and the console).
    pub pty: PathBuf,
    /// Where to publish the serial-recovery UART; recovery uses `pty` when
    /// `None`.
    pub recovery_pty: Option<PathBuf>,
    /// The boot mode at power-on and at each reset.
    pub boot: BootMode,
    /// Log every ROM/stub request by name (`cmd SYNC`, ...) and every
    /// eFuse block a program command burns (`efuse program BLOCK4`).
    pub trace: bool,
    /// Fault injection: stop before a given request ([`PauseAt`]).
    pub pause_before: Option<PauseAt>,
}

/// A fault-injection point for tests: the server logs
/// `paused at OP #N` and stops itself (SIGSTOP) right before it
/// handles the `nth` request named `op` (`WRITE_REG`, `FLASH_DATA`, ...,
/// counted from the server's start), or with `op` [`EFUSE_PROGRAM`] the
/// first request after the `nth` eFuse program command that burned
/// something, so that a test can kill the client or the server at a
/// precise point of the client's work (the client is then waiting for that
/// request's reply), or let it go on (SIGCONT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseAt {
    /// The request's name, as `--trace` prints it.
    pub op: String,
    /// Which one (1 = the first).
    pub nth: u32,
}

/// [`PauseAt::op`] for a point right after an eFuse burn.
pub const EFUSE_PROGRAM: &str = "EFUSE_PROGRAM";

/// A `--pause-before` value that is not `OP:N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?}: expected OP:N, a request name and a count from 1 (WRITE_REG:3)")]
pub struct BadPauseAt(pub String);

impl std::str::FromStr for PauseAt {
    type Err = BadPauseAt;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadPauseAt(s.to_owned());
        let (op, nth) = s.split_once(':').ok_or_else(bad)?;
        let nth: u32 = nth.parse().map_err(|_| bad())?;
        if op.is_empty() || nth == 0 {
            return Err(bad());
        }
        Ok(PauseAt {
            op: op.to_owned(),
            nth,
        })
    }
}

/// Errors of the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The device directory cannot be loaded.
    #[error("device {}: {source}", dir.display())]
    Device {
        /// The device.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The device's target is not a chip the virtual chip models.
    #[error("device {}: target {target} has no ROM to serve (expected esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6 or esp32h2)", dir.display())]
    NotAChip {
        /// The device.
        dir: PathBuf,
        /// Its target.
        target: &'static str,
    },
    /// Lock or control file.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The PTY.
    #[error("--pty {}: {source}", path.display())]
    Pty {
        /// The path.
        path: PathBuf,
        /// Why.
        source: pty::PtyError,
    },
    /// The recovery and the main port are one path.
    #[error("--recovery-pty: the same path as --pty")]
    SamePath,
    /// Signal handlers cannot be installed.
    #[error("installing signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    /// The device directory: locked by another command, unreadable, or a
    /// save failed.
    #[error(transparent)]
    Dir(#[from] espboot_sim::device::DirError),
}

/// Serves `options.dev` until SIGINT or SIGTERM: takes the device lock,
/// publishes the port(s), calls `ready` with the main port's path, then
/// runs; `log` gets one line per event (sessions, resets, boots). Bad
/// input (missing device, a path that exists, a device already served)
/// fails before anything is published or changed.
pub fn serve(
    options: &ServeOptions,
    ready: impl FnOnce(&Path),
    mut log: impl FnMut(&str),
) -> Result<(), ServeError> {
    if options.recovery_pty.as_deref() == Some(options.pty.as_path()) {
        return Err(ServeError::SamePath);
    }
    if !options
        .dev
        .join(espboot_sim::device::SETTINGS_FILE)
        .is_file()
    {
        return Err(ServeError::Device {
            dir: options.dev.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not a device directory (no device.json); create one with `espboot sim new`",
            ),
        });
    }
    let _lock = control::lock(&options.dev)?;
    let machine = machine::Machine::load(&options.dev)?;
    let stop = server::stop_flag()?;
    let main = pty::Pty::create(&options.pty).map_err(|source| ServeError::Pty {
        path: options.pty.clone(),
        source,
    })?;
    let recovery = match &options.recovery_pty {
        Some(path) => Some(pty::Pty::create(path).map_err(|source| ServeError::Pty {
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    // a stale request from an earlier run must not apply now
    let _ = std::fs::remove_file(options.dev.join(control::CONTROL_FILE));
    ready(main.link());
    let mut server = server::Server::new(machine, options, main, recovery, &mut log);
    server.run(&stop)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pause_points_parse_as_op_and_count_and_refuse_anything_else() {
        assert_eq!(
            "WRITE_REG:3".parse::<PauseAt>().unwrap(),
            PauseAt {
                op: "WRITE_REG".into(),
                nth: 3
            }
        );
        assert_eq!(
            "EFUSE_PROGRAM:1".parse::<PauseAt>().unwrap().op,
            EFUSE_PROGRAM
        );
        for bad in [
            "WRITE_REG",
            "WRITE_REG:0",
            ":2",
            "WRITE_REG:x",
            "WRITE_REG:-1",
        ] {
            let err = bad.parse::<PauseAt>().unwrap_err();
            assert!(err.to_string().contains("expected OP:N"), "{bad}: {err}");
        }
    }
}
