//! One module per tool. Each owns its clap arguments and a `run` function
//! that calls into the libraries; no algorithm lives here.

pub(crate) mod click_help;
pub mod demo;
pub(crate) mod did_you_mean;
pub mod efuse;
pub mod flash;
pub mod image;
pub mod key_file;
pub mod links;
pub mod provision;
pub mod recover;
pub(crate) mod rich;
pub mod secure;
pub mod sim;
pub mod token;

/// The values a choice option (`--long`) of subcommand `command` accepts,
/// from its clap definition: what click lists in an "is not one of" error.
pub(crate) fn choices(cmd: &clap::Command, command: &str, long: &str) -> Vec<String> {
    cmd.find_subcommand(command)
        .and_then(|sub| {
            sub.get_arguments()
                .find(|a| a.get_long() == Some(long.trim_start_matches("--")))
        })
        .map(|a| {
            a.get_possible_values()
                .iter()
                .map(|v| v.get_name().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A decimal integer as click's `int` type reads it, Python's `int(text)`:
/// signs, `_` separators, surrounding blanks and leading zeros are taken
/// (`py_int::parse_decimal`). The message is click's.
pub(crate) fn click_int(text: &str) -> Result<i128, String> {
    py_int::parse_decimal(text).map_err(|_| format!("'{text}' is not a valid integer."))
}
