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
    /// Show the whole chain on a fresh virtual device: keys, eFuse
    /// provisioning, signed bootloader and app, upgrades, revert,
    /// downgrade and tamper refusal, power-cut recovery.
    Demo(cmd::demo::Args),
    /// Create `imgtool`, `espsecure` and `espefuse` links to this binary in DIR.
    InstallLinks(cmd::links::Args),
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let argv = match cmd::links::personality(&argv) {
        Some(subcommand) => cmd::links::as_espboot_argv(subcommand, argv),
        None => argv,
    };
    let cli = Cli::parse_from(argv);
    let result = match cli.command {
        Command::Image(args) => cmd::image::run(args),
        Command::Secure(args) => cmd::secure::run(args),
        Command::Efuse(args) => cmd::efuse::run(args),
        Command::Sim(args) => cmd::sim::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::InstallLinks(args) => cmd::links::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // One line: the context chain joined with ": ".
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
