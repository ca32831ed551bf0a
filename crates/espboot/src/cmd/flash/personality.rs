//! `esptool` / `esptool.py` through the multi-call link: esptool 5.6.0's
//! command line (global options before or after the command, the
//! deprecated underscore spellings of commands, options and
//! `--before`/`--after` values), its banner, and its exit statuses: usage
//! errors exit 2 (click), fatal errors print `ERROR: A fatal error occurred: …`
//! and exit 2 (`esptool/__init__.py` `_main`).

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

/// esptool's command line.
#[derive(Debug, Parser)]
#[command(name = "esptool", version = "v5.6.0", max_term_width = 100)]
struct Esptool {
    #[command(flatten)]
    args: super::Args,
}

/// Options whose values esptool 5 also accepts with underscores.
const VALUE_OPTIONS: [&str; 2] = ["--before", "--after"];

/// esptool's deprecated spellings rewritten to the current ones.
fn modernize(argv: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(argv.len());
    let mut value_next = false;
    for arg in argv {
        let Some(text) = arg.to_str() else {
            out.push(arg);
            value_next = false;
            continue;
        };
        let fixed = if let Some(long) = short_spi_option(text) {
            long.to_owned()
        } else if value_next {
            text.replace('_', "-")
        } else if let Some(long) = text.strip_prefix("--") {
            // --flash_mode=dio → --flash-mode=dio (the name only)
            match long.split_once('=') {
                Some((name, value)) => {
                    let value = if VALUE_OPTIONS.contains(&format!("--{name}").as_str()) {
                        value.replace('_', "-")
                    } else {
                        value.to_owned()
                    };
                    format!("--{}={value}", name.replace('_', "-"))
                }
                None => format!("--{}", long.replace('_', "-")),
            }
        } else {
            text.to_owned()
        };
        value_next = VALUE_OPTIONS.contains(&fixed.as_str());
        out.push(OsString::from(fixed));
    }
    out
}

/// esptool's two-letter short options (click takes `-fm`; clap's short
/// options are one letter), as their long names.
fn short_spi_option(arg: &str) -> Option<&'static str> {
    match arg {
        "-fm" => Some("--flash-mode"),
        "-ff" => Some("--flash-freq"),
        "-fs" => Some("--flash-size"),
        _ => None,
    }
}

/// Runs esptool's command line (argv\[0\] is the link's name).
pub fn personality(argv: Vec<OsString>) -> ExitCode {
    let mut args = vec![OsString::from("esptool")];
    args.extend(modernize(argv.into_iter().skip(1).collect()));
    let parsed = match Esptool::try_parse_from(args) {
        Ok(p) => p,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    outln!("esptool v{}", super::ESPTOOL_VERSION);
    match super::run(parsed.args) {
        Ok(code) => code,
        Err(err) => {
            if let Some(refused) = err.downcast_ref::<esp_image::merge::HexInputRefused>() {
                // raised while click converts the argument: a traceback
                eprintln!("{}", refused.python_exception());
                return ExitCode::FAILURE;
            }
            if let Some(bad) = err.downcast_ref::<super::BadArgument>() {
                let prog = format!("esptool {}", bad.command);
                let usage = crate::cmd::rich::Usage {
                    prog: &prog,
                    args: "[OPTIONS] <address> <filename>...",
                    help: &format!("{prog} -h"),
                };
                let message = format!("Invalid value for '{}': {}", bad.param, bad.message);
                eprint!("{}", crate::cmd::rich::usage_error(Some(&usage), &message));
                return ExitCode::from(2);
            }
            // esptool: `log.print("")` (stdout), then `log.die` (stderr)
            outln!();
            eprintln!("ERROR: A fatal error occurred: {}", crate::one_line(&err));
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underscore_spellings_become_dashes() {
        let got = modernize(
            [
                "--before",
                "no_reset",
                "--after=no_reset_stub",
                "write_flash",
                "--flash_mode",
                "dio",
                "-fs",
                "4MB",
                "0x1000",
                "a_b.bin",
            ]
            .map(OsString::from)
            .to_vec(),
        );
        let want: Vec<OsString> = [
            "--before",
            "no-reset",
            "--after=no-reset-stub",
            "write_flash",
            "--flash-mode",
            "dio",
            "--flash-size",
            "4MB",
            "0x1000",
            "a_b.bin",
        ]
        .map(OsString::from)
        .to_vec();
        assert_eq!(got, want);
    }
}
