//! One module per tool. Each owns its clap arguments and a `run` function
//! that calls into the libraries; no algorithm lives here.

use std::ffi::OsString;

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

/// `words` as click's parser splits them (click/parser.py
/// `_match_short_opt`, `_match_long_opt`): a cluster of short options
/// (`-sf`) is each option in turn, the first that takes a value takes the
/// rest of the word (`-H32`, `-k=file` is the value `=file`) or else the
/// next word; and `--flag=value` is refused, as click refuses it. Values
/// are left as they are, whatever they look like.
pub(crate) fn click_option_words(
    command: &clap::Command,
    words: &[OsString],
) -> Result<Vec<OsString>, String> {
    let option = |short: Option<char>, long: Option<&str>| {
        command.get_arguments().find(|a| {
            !a.is_positional()
                && (short.is_some_and(|c| a.get_short() == Some(c))
                    || long.is_some_and(|l| a.get_long() == Some(l)))
        })
    };
    let values_of = |a: &clap::Arg| {
        if a.get_action().takes_values() {
            a.get_num_args().map_or(1, |n| n.min_values())
        } else {
            0
        }
    };
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while let Some(word) = words.get(i) {
        i += 1;
        let Some(text) = word.to_str() else {
            out.push(word.clone());
            continue;
        };
        if text == "--" {
            out.extend(words[i - 1..].iter().cloned());
            break;
        }
        let mut take = 0;
        if let Some(long) = text.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            // click's help option is a flag like the others
            if name == "help" && value.is_some() {
                return Err("Option '--help' does not take a value.".to_owned());
            }
            if let Some(a) = option(None, Some(name)) {
                match (values_of(a), value) {
                    (0, Some(_)) => {
                        return Err(format!("Option '--{name}' does not take a value."))
                    }
                    (n, None) => take = n,
                    (n, Some(_)) => take = n.saturating_sub(1),
                }
            }
            out.push(word.clone());
        } else if text.len() > 1 && text.starts_with('-') {
            let mut expanded = Vec::new();
            let mut known = true;
            for (at, c) in text[1..].char_indices() {
                let Some(a) = option(Some(c), None) else {
                    known = false;
                    break;
                };
                expanded.push(OsString::from(format!("-{c}")));
                let n = values_of(a);
                if n > 0 {
                    let rest = &text[1 + at + c.len_utf8()..];
                    if rest.is_empty() {
                        take = n;
                    } else {
                        expanded.push(OsString::from(rest));
                        take = n - 1;
                    }
                    break;
                }
            }
            if known {
                out.extend(expanded);
            } else {
                // an unknown option: clap names it as click does
                out.push(word.clone());
            }
        } else {
            out.push(word.clone());
        }
        for _ in 0..take {
            if let Some(value) = words.get(i) {
                out.push(value.clone());
                i += 1;
            }
        }
    }
    Ok(out)
}
