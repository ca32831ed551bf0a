//! `espboot sim serve` and `espboot sim boot-mode`: the device on a
//! pseudo-terminal (espboot_serve).

use std::path::PathBuf;
use std::process::ExitCode;

use espboot_serve::{BootMode, ServeOptions};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Device directory.
    dev: PathBuf,
    /// Where to publish the chip's UART0 (ROM download protocol and
    /// console): a symlink to a new pseudo-terminal.
    #[arg(long, value_name = "PATH")]
    pty: PathBuf,
    /// Where to publish MCUboot's serial-recovery UART (default: the
    /// --pty port).
    #[arg(long = "recovery-pty", value_name = "PATH")]
    recovery_pty: Option<PathBuf>,
    /// Boot mode at power-on and at each reset: download (BOOT held),
    /// normal, or recovery (MCUboot's detect pin held).
    #[arg(long, value_name = "MODE", default_value = "download", value_parser = parse_mode)]
    boot: BootMode,
    /// Print every ROM/stub request received (`cmd SYNC`, `cmd READ_REG`, ...)
    /// and the serial-recovery input dropped without a reply.
    #[arg(long)]
    trace: bool,
    /// Fault injection (tests): stop this process (SIGSTOP) right before
    /// the Nth request named OP, after printing `paused at OP #N`.
    #[arg(long, value_name = "OP:N", hide = true)]
    pause_before: Option<espboot_serve::PauseAt>,
}

#[derive(Debug, clap::Args)]
pub struct BootModeArgs {
    /// Device directory (served by `espboot sim serve`).
    dev: PathBuf,
    /// download, normal or recovery.
    #[arg(value_parser = parse_mode)]
    mode: BootMode,
    /// Reset the chip now (otherwise the mode applies at the next reset).
    #[arg(long)]
    reset: bool,
}

fn parse_mode(s: &str) -> Result<BootMode, String> {
    s.parse()
        .map_err(|e: espboot_serve::UnknownBootMode| e.to_string())
}

pub fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let options = ServeOptions {
        dev: a.dev,
        pty: a.pty,
        recovery_pty: a.recovery_pty,
        boot: a.boot,
        trace: a.trace,
        pause_before: a.pause_before,
    };
    espboot_serve::serve(
        &options,
        |port| outln!("ready {}", port.display()),
        |line| outln!("{line}"),
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn boot_mode(a: BootModeArgs) -> anyhow::Result<ExitCode> {
    espboot_serve::request_boot_mode(&a.dev, a.mode, a.reset)?;
    Ok(ExitCode::SUCCESS)
}
