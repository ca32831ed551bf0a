//! imgtool's `--help` pages and the option facts its usage errors quote,
//! rendered from the personality's clap definitions in click's plain
//! layout (`crate::cmd::click_help`). The names, short forms, metavars,
//! choices and `[required]` markers are imgtool 2.5.0's (declared on the
//! clap arguments); the descriptions are espboot's own.

use crate::cmd::click_help::{self, Page};

/// imgtool 2.5.0's options of each command, by long name, in the order
/// click lists them in `--help` and checks them for presence
/// (imgtool/main.py: the options declared below `@click.command` come
/// first, top to bottom; then those above it, bottom to top, which click
/// appends to the finished command one by one). An option of ours that is
/// not listed is espboot's own (`--json`): left out of the help and of
/// click's suggestions, refused as unknown.
const IMGTOOL_OPTIONS: &[(&str, &[&str])] = &[
    (
        "sign",
        &[
            "vid",
            "cid",
            "vector-to-sign",
            "hmac-sha",
            "sha",
            "sig-out",
            "pure",
            "fix-sig-pubkey",
            "fix-sig",
            "key",
            "public-key-format",
            "max-align",
            "align",
            "version",
            "security-counter",
            "dependencies",
            "pad-sig",
            "header-size",
            "pad-header",
            "slot-size",
            "pad",
            "test",
            "confirm",
            "max-sectors",
            "boot-record",
            "overwrite-only",
            "endian",
            "clear",
            "compression",
            "encrypt-keylen",
            "encrypt",
            "save-enctlv",
            "rom-fixed",
            "load-addr",
            "hex-addr",
            "erased-val",
            "custom-tlv-file",
            "custom-tlv",
            "non-bootable",
        ],
    ),
    ("verify", &["key"]),
    ("dumpinfo", &["silent", "format", "outfile"]),
    (
        "getpub",
        &["output", "key", "name-suffix", "encoding", "lang"],
    ),
    ("getpubhash", &["output", "key", "name-suffix", "encoding"]),
    ("getpriv", &["format", "key", "minimal"]),
    ("keygen", &["key", "type", "password"]),
    ("keyinfo", &["key", "require"]),
    ("version", &[]),
];

/// Descriptions the personality shows instead of `espboot image`'s,
/// whose text mentions what only espboot has (PKCS#11 keys, `--json`,
/// `$ESPBOOT_PASSWORD`): (command, long option, text).
const IMGTOOL_WORDING: &[(&str, &str, &str)] = &[
    ("sign", "key", "Signing key (PEM)"),
    (
        "dumpinfo",
        "format",
        "Output format: human, yaml or json (human on stdout, yaml with -o \
         unless given)",
    ),
    (
        "keygen",
        "password",
        "Protect the key with a password (asked for twice)",
    ),
];

/// imgtool's option order for `command` (`create` is `sign`).
fn imgtool_order(command: &str) -> &'static [&'static str] {
    let command = if command == SIGN_ALIAS {
        "sign"
    } else {
        command
    };
    IMGTOOL_OPTIONS
        .iter()
        .find(|(name, _)| *name == command)
        .map(|(_, longs)| *longs)
        .unwrap_or_default()
}

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

/// The options of `sub` imgtool has, in imgtool's order.
fn options(sub: &clap::Command) -> Vec<&clap::Arg> {
    imgtool_order(sub.get_name())
        .iter()
        .filter_map(|long| {
            sub.get_arguments()
                .find(|a| !a.is_positional() && a.get_long() == Some(long))
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
            let long = arg.get_long().unwrap_or_default();
            let mut text = IMGTOOL_WORDING
                .iter()
                .find(|(c, l, _)| *c == real && *l == long)
                .map(|(_, _, text)| (*text).to_owned())
                .or_else(|| arg.get_help().map(ToString::to_string))
                .unwrap_or_default();
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

/// Where `long` stands among `command`'s options in imgtool's order
/// (click reports the first missing option in that order).
pub(super) fn declared_at(command: &str, long: &str) -> usize {
    let long = long.trim_start_matches("--");
    imgtool_order(command)
        .iter()
        .position(|l| *l == long)
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imgtool_order_names_every_personality_option_once() {
        // A listed name the parser lacks would silently drop the option
        // from the help; a command missing from the table would show none.
        let parser = parser();
        for sub in parser.get_subcommands() {
            let order = imgtool_order(sub.get_name());
            assert!(
                IMGTOOL_OPTIONS.iter().any(|(c, _)| *c == sub.get_name()),
                "{} has no imgtool order",
                sub.get_name()
            );
            assert_eq!(options(sub).len(), order.len(), "{}", sub.get_name());
        }
        for (command, long, _) in IMGTOOL_WORDING {
            assert!(imgtool_order(command).contains(long), "{command} --{long}");
        }
    }
}
