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

/// `command` (and its subcommands) with every path argument taking an
/// empty word too, as click does (`-k ''`, `--file-name ''`); clap's path
/// parser refuses it. What an empty path then means is each tool's own
/// (imgtool reads `-k ''` as no key; `open('')` fails).
pub(crate) fn accept_empty_paths(mut command: clap::Command) -> clap::Command {
    let path = clap::builder::ValueParser::path_buf().type_id();
    // `mut_arg` moves the argument to the end: every one is visited, in
    // order, so that their order (which click's messages follow) stays
    let ids: Vec<clap::Id> = command
        .get_arguments()
        .map(|a| a.get_id().clone())
        .collect();
    for id in ids {
        command = command.mut_arg(id, |a| {
            if a.get_value_parser().type_id() == path {
                a.value_parser(clap::builder::TypedValueParser::map(
                    clap::builder::OsStringValueParser::new(),
                    std::path::PathBuf::from,
                ))
            } else {
                a
            }
        });
    }
    command.mut_subcommands(accept_empty_paths)
}
