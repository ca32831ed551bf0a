//! imgtool's `--help` pages and the option facts its usage errors quote,
//! rendered from the personality's clap definitions in click's plain
//! layout (`crate::cmd::click_help`). The names, short forms, metavars,
//! choices and `[required]` markers are imgtool 2.5.0's (declared on the
//! clap arguments); the descriptions are espboot's own.

use crate::cmd::click_help::{self, Page};

/// espboot's own options, which imgtool does not have: left out of the
/// help and of click's suggestions, refused as unknown (`command`, long).
pub(super) const ESPBOOT_ONLY: &[(&str, &str)] = &[("verify", "json"), ("dumpinfo", "json")];

/// The name imgtool also accepts for `sign` (imgtool/main.py registers the
/// same function as `create`).
pub(super) const SIGN_ALIAS: &str = "create";

/// Our description of click's help option.
const HELP_OPTION: &str = "Show this help and exit.";

/// The `espboot image` parser, which the personality shares.
pub(super) fn parser() -> clap::Command {
    <super::Args as clap::Args>::augment_args(clap::Command::new("imgtool"))
}

/// imgtool's command names (`create` included), sorted as click lists them.
pub(super) fn command_names() -> Vec<String> {
    let mut names: Vec<String> = parser()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .chain([SIGN_ALIAS.to_owned()])
        .collect();
    names.sort();
    names
}

/// The options of `command` imgtool has, in declaration order.
fn options(sub: &clap::Command) -> Vec<&clap::Arg> {
    sub.get_arguments()
        .filter(|a| !a.is_positional() && !a.is_hide_set())
        .filter(|a| {
            let long = a.get_long().unwrap_or_default();
            !ESPBOOT_ONLY.contains(&(sub.get_name(), long))
        })
        .collect()
}

/// The option's spellings, short before long (click's `join_options`
/// orders them by prefix length).
fn spellings(arg: &clap::Arg) -> Vec<String> {
    arg.get_short()
        .map(|s| format!("-{s}"))
        .into_iter()
        .chain(arg.get_long().map(|l| format!("--{l}")))
        .collect()
}

/// click's metavar of an option (`Option.make_metavar`): the declared one
/// (`filename`, `TEXT`), else the choices as `[a|b]`; none for a flag.
/// clap's derive names every value after its field (`FORMAT`); such a
/// name counts as undeclared. imgtool declares its two-value options'
/// metavar as `[tag] [value]`.
fn metavar(arg: &clap::Arg) -> Option<String> {
    if !arg.get_action().takes_values() {
        return None;
    }
    let names: Vec<String> = arg
        .get_value_names()
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect();
    if names.len() > 1 {
        let bracketed: Vec<String> = names.iter().map(|n| format!("[{n}]")).collect();
        return Some(bracketed.join(" "));
    }
    let derived = arg.get_id().as_str().to_uppercase();
    let declared = names.first().filter(|n| **n != derived);
    let choices: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_owned())
        .collect();
    match declared {
        Some(name) => Some(name.clone()),
        None if !choices.is_empty() => Some(format!("[{}]", choices.join("|"))),
        None => Some(names.first().cloned().unwrap_or(derived)),
    }
}

/// The usage arguments: `[OPTIONS]` and the positionals' names.
fn usage_args(sub: &clap::Command) -> String {
    std::iter::once("[OPTIONS]".to_owned())
        .chain(sub.get_positionals().map(|p| {
            let name = p
                .get_value_names()
                .and_then(|n| n.first().map(ToString::to_string))
                .unwrap_or_else(|| p.get_id().as_str().to_owned())
                .to_uppercase();
            if p.is_required_set() {
                name
            } else {
                format!("[{name}]")
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `--help` page of `command` (`imgtool` for the group), as imgtool
/// lays it out; `None` for a command imgtool does not have.
pub(super) fn help(command: &str) -> Option<String> {
    let help_row = ("-h, --help".to_owned(), HELP_OPTION.to_owned());
    let parser = parser();
    if command == "imgtool" {
        let commands = command_names()
            .into_iter()
            .map(|name| {
                let real = if name == SIGN_ALIAS { "sign" } else { &name };
                let about = parser
                    .find_subcommand(real)
                    .and_then(clap::Command::get_about)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                (name, about)
            })
            .collect();
        let page = Page {
            prog: "imgtool",
            args: "[OPTIONS] COMMAND [ARGS]...",
            description: "",
            options: vec![help_row],
            commands,
        };
        return Some(page.render(click_help::width()));
    }
    let real = if command == SIGN_ALIAS {
        "sign"
    } else {
        command
    };
    let sub = parser.find_subcommand(real)?;
    let mut rows: Vec<(String, String)> = options(sub)
        .into_iter()
        .map(|arg| {
            let mut term = spellings(arg).join(", ");
            if let Some(m) = metavar(arg) {
                term = format!("{term} {m}");
            }
            let mut text = arg.get_help().map(ToString::to_string).unwrap_or_default();
            if arg.is_required_set() {
                // click's Option.get_help_record
                text = if text.is_empty() {
                    "[required]".to_owned()
                } else {
                    format!("{text}  [required]")
                };
            }
            (term, text)
        })
        .collect();
    rows.push(help_row);
    let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
    let prog = format!("imgtool {command}");
    let args = usage_args(sub);
    let page = Page {
        prog: &prog,
        args: &args,
        description: &about,
        options: rows,
        commands: Vec::new(),
    };
    Some(page.render(click_help::width()))
}

/// The usage block click prints above a usage error.
pub(super) fn usage(command: &str) -> String {
    let text = help(command).unwrap_or_default();
    text.split("\n\n").next().unwrap_or_default().to_owned()
}

/// The long options imgtool's `command` has (`--help` included), for
/// click's suggestions.
pub(super) fn long_options(command: &str) -> Vec<String> {
    let parser = parser();
    let real = if command == SIGN_ALIAS {
        "sign"
    } else {
        command
    };
    let Some(sub) = parser.find_subcommand(real) else {
        return vec!["--help".to_owned()];
    };
    crate::cmd::did_you_mean::clap_long_options(options(sub))
}

/// The option's names as click quotes them (`'-k' / '--key'`).
pub(super) fn option_names(command: &str, long: &str) -> String {
    let parser = parser();
    let names = parser
        .find_subcommand(command)
        .and_then(|sub| {
            sub.get_arguments()
                .find(|a| a.get_long() == Some(long.trim_start_matches("--")))
        })
        .map(spellings)
        .unwrap_or_else(|| vec![long.to_owned()]);
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Where `long` is declared among `command`'s options (click reports the
/// first missing option in that order).
pub(super) fn declared_at(command: &str, long: &str) -> usize {
    let parser = parser();
    parser
        .find_subcommand(command)
        .and_then(|sub| {
            sub.get_arguments()
                .position(|a| a.get_long() == Some(long.trim_start_matches("--")))
        })
        .unwrap_or(usize::MAX)
}
