//! `espboot`: one binary for MCUboot on Espressif chips.
//!
//! The binary is a thin shell over the workspace libraries. It is also a
//! multi-call binary: invoked through a link named `imgtool`, `espsecure` or
//! `espefuse`, it accepts that reference tool's own command line, so existing
//! scripts keep working (`espboot install-links DIR` creates the links).

/// `println!` for command output: a closed stdout (`espboot ... | head`) is
/// the reader's choice, not a reason to panic, so write errors are ignored.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` with the same treatment of a closed stdout as [`outln!`].
#[allow(unused_macros)]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        let _ = write!(stdout, $($arg)*).and_then(|()| stdout.flush());
    }};
}

mod cmd;
mod fsutil;
mod progress;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// MCUboot images, Secure Boot V2, flash encryption and eFuses for Espressif
/// chips, in one binary.
#[derive(Debug, Parser)]
#[command(name = "espboot", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// MCUboot images (imgtool-compatible): keys, sign, verify, dumpinfo.
    Image(cmd::image::Args),
    /// Secure Boot V2 and flash encryption (espsecure-compatible).
    Secure(cmd::secure::Args),
    /// eFuses, virtual or real (espefuse-compatible).
    Efuse(cmd::efuse::Args),
    /// The virtual device: flash, boot, power cuts.
    Sim(cmd::sim::Args),
    /// esptool's jobs on a serial port (first increment: chip-id).
    Flash(cmd::flash::Args),
    /// MCUboot serial recovery on a port (mcumgr / smpmgr): list, upload,
    /// reset, echo.
    Recover(cmd::recover::Args),
    /// Production provisioning: seed 003's flash encryption and Secure
    /// Boot V2 workflows as a checked, resumable, recorded plan.
    Provision(cmd::provision::Args),
    /// Show the whole chain on a fresh virtual device: keys, eFuse
    /// provisioning, signed bootloader and app, upgrades, revert,
    /// downgrade and tamper refusal, power-cut recovery.
    Demo(cmd::demo::Args),
    /// Create `imgtool`, `espsecure`, `espefuse`, `esptool`, `mcumgr` and
    /// `smpmgr` links to this binary in DIR, and the `imgtool.py`,
    /// `espsecure.py`, `espefuse.py`, `esptool.py` scripts that run it.
    InstallLinks(cmd::links::Args),
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    match cmd::links::Personality::of(&argv) {
        // Invoked as `imgtool`, `espsecure`, `espefuse`: that tool's module
        // owns the command line, its messages and its exit statuses.
        Some(personality) => personality.main(argv),
        None => run_espboot(argv),
    }
}

/// Runs an `espboot …` command line: parse, one library call, one-line
/// errors (`error: …`, exit 1; usage errors exit 2).
pub(crate) fn run_espboot(argv: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    let result = match cli.command {
        Command::Image(args) => cmd::image::run(args),
        Command::Secure(args) => cmd::secure::run(args),
        Command::Efuse(args) => cmd::efuse::run(args),
        Command::Sim(args) => cmd::sim::run(args),
        Command::Flash(args) => cmd::flash::run(args),
        Command::Recover(args) => cmd::recover::run(args),
        Command::Provision(args) => cmd::provision::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::InstallLinks(args) => cmd::links::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error's chain joined with ": " on one line, each cause once: many
/// library errors already end with their cause's text (`cannot read F:
/// <io error>`), which `{:#}` would print a second time.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Prints a command-line error on one line (help and version requests are
/// printed whole). clap's own rendering spreads a missing-argument error
/// over several lines followed by the usage; scripts and users want the one
/// line that names the argument.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        // Help goes to stdout; a closed pipe is not an error.
        let _ = err.print();
        return if err.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let text = err.render().to_string();
    let end = ["\n\nUsage:", "\n\nFor more information"]
        .iter()
        .filter_map(|marker| text.find(marker))
        .min()
        .unwrap_or(text.len());
    let message = &text[..end];
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    eprintln!("{line} (see --help)");
    ExitCode::from(2)
}
