//! espefuse's group help (`espefuse`, `espefuse -h`, a group with no
//! command: rich-click's layout, exit 0), rendered from the personality's
//! command list: the usage line, the global options, and the chip's burn
//! and read commands (which commands, in which order: `efuse_interface.py`
//! SUPPORTED_BURN_COMMANDS and SUPPORTED_READ_COMMANDS). The names are
//! espefuse's; the descriptions are espboot's own words.
//!
//! espefuse prints this page through its logger's rich console, which
//! reads the choice metavars of `--chip`, `--before` and `--after`
//! (`[auto|esp32|…]`) as style tags: each is dropped with everything up to
//! its `]`, the descriptions beside it included
//! (`espefuse/cli_util.py` parse_args: `log.print(self.get_help(ctx))`).
//! The page is rendered with those metavars, so its columns are
//! espefuse's, then read the same way. What is left of a description
//! there is ours: `--chip`'s is shorter than its metavar and `--before`'s
//! and `--after`'s longer than theirs, at any width, so the row the
//! console leaves is empty or not where espefuse's is.

use esp_efuse::custom_table::ChipCustomField;
use esp_efuse::{Chip, ChipEfuses as _};

use super::args::OneCommand;
use super::click::{chip_has_command, BURN_COMMANDS, READ_COMMANDS};
use crate::cmd::rich;
use clap::CommandFactory as _;

/// A choice option's metavar as click shows it: `[a|b|…]`.
fn choice_metavar(choices: &[&str]) -> String {
    format!("[{}]", choices.join("|"))
}

/// Where an option's metavar comes from: its own text or a list of choices.
enum Metavar {
    Text(&'static str),
    Choice(&'static [&'static str]),
}

/// No metavar (a flag).
const FLAG: Metavar = Metavar::Text("");

/// espefuse's global options: long name, short name and metavar as
/// `espefuse/__init__.py` `cli` declares them, and a one-line help.
const OPTIONS: &[(&str, &str, Metavar, &str)] = &[
    (
        "--chip",
        "-c",
        Metavar::Choice(super::click::CHIP_CHOICES),
        "The chip (auto: detect it over the port).",
    ),
    (
        "--baud",
        "-b",
        Metavar::Text("BAUD-RATE"),
        "Serial line speed.",
    ),
    (
        "--port",
        "-p",
        Metavar::Text("SERIAL-PORT"),
        "Serial port of the chip.",
    ),
    (
        "--before",
        "",
        Metavar::Choice(super::click::BEFORE_CHOICES),
        "How to reset the chip before connecting to it over the serial port: the usual way, over USB, or not at all (with or without the sync).",
    ),
    (
        "--after",
        "-a",
        Metavar::Choice(super::click::AFTER_CHOICES),
        "How to reset the chip when the command is done: a hard or a soft reset, none, or one by the watchdog.",
    ),
    ("--debug", "-d", FLAG, "Print the register reads and more."),
    (
        "--virt",
        "",
        FLAG,
        "Work on a virtual chip (no serial port).",
    ),
    (
        "--token",
        "",
        Metavar::Text("TEXT"),
        "Work on an eFuse token dump.",
    ),
    (
        "--path-efuse-file",
        "",
        Metavar::Text("PATH"),
        "The virtual chip's eFuse file.",
    ),
    (
        "--do-not-confirm",
        "",
        FLAG,
        "Burn without asking first. Burns cannot be undone.",
    ),
    (
        "--postpone/--no-postpone",
        "",
        FLAG,
        "Burn BLOCK0's protection bits last (the default) or with the rest.",
    ),
    (
        "--extend-efuse-table",
        "",
        Metavar::Text("FILENAME"),
        "ESP-IDF CSV of custom eFuse fields.",
    ),
    ("--help", "-h", FLAG, "Show this help and exit."),
];

/// The commands espefuse's help lists for `chip`, burn commands first
/// (`efuse_interface.py`), each with its short help.
fn panels(chip: Chip) -> [(&'static str, Vec<(String, String)>); 2] {
    let ours = OneCommand::command();
    let listed = |names: &[&'static str]| -> Vec<(String, String)> {
        names
            .iter()
            .filter(|n| ours.find_subcommand(n).is_some() && chip_has_command(chip, n))
            .map(|n| (n.to_string(), short_help(n)))
            .collect()
    };
    [
        ("Burn commands", listed(BURN_COMMANDS)),
        ("Read commands", listed(READ_COMMANDS)),
    ]
}

/// A command's one-line help: the first line of its clap description
/// (espboot's words).
fn short_help(command: &str) -> String {
    OneCommand::command()
        .find_subcommand(command)
        .and_then(|c| c.get_about())
        .map(|a| a.to_string())
        .unwrap_or_default()
}

/// The help text (`chip`: `None` when no chip was named: ESP32's commands,
/// after the NOTE espefuse prints first).
pub(super) fn group_help(chip: Option<Chip>) -> String {
    rich::help_width(|| group_help_page(chip))
}

fn group_help_page(chip: Option<Chip>) -> String {
    let mut text = String::new();
    if chip.is_none() {
        text.push_str("NOTE: Chip not specified, showing commands for ESP32 by default. Specify the --chip option to get chip-specific help.\n");
    }
    // the page as rendered, before the console reads it as markup
    let mut page = String::new();
    rich::line(&mut page, "");
    rich::line(
        &mut page,
        " Usage: espefuse [OPTIONS] COMMAND1 [ARGS]... [COMMAND2 [ARGS]...]...",
    );
    rich::line(&mut page, "");
    rich::line(
        &mut page,
        " espefuse v5.6.0: reads and burns the eFuses of Espressif chips.",
    );
    rich::line(&mut page, "");
    let options: Vec<rich::ParamRow> = OPTIONS
        .iter()
        .map(|(long, short, metavar, help)| rich::ParamRow {
            required: false,
            long: long.to_string(),
            short: short.to_string(),
            metavar: match metavar {
                Metavar::Text(t) => t.to_string(),
                Metavar::Choice(c) => choice_metavar(c),
            },
            help: help.to_string(),
        })
        .collect();
    rich::table(&mut page, "Options", &options);
    for (title, commands) in panels(chip.unwrap_or(Chip::Esp32)) {
        rich::commands_table(&mut page, title, &commands);
    }
    text.push_str(&esp_efuse::espefuse::rich_markup(&page));
    text
}

/// A command's help on `chip` (after the banner and NOTE the caller
/// prints): the usage line with espefuse's argument metavar, the
/// description, and for the key commands the chip's block names and key
/// purposes (tools read chip features from these lists), then the
/// Arguments and Options panels from the personality's definitions. The
/// eFuse names include an eFuse CSV table's fields (`users`).
pub(super) fn command_help(command: &str, chip: Chip, users: &[ChipCustomField]) -> String {
    rich::help_width(|| command_help_page(command, chip, users))
}

fn command_help_page(command: &str, chip: Chip, users: &[ChipCustomField]) -> String {
    let cli = OneCommand::command();
    let mut text = String::new();
    let Some(sub) = cli.find_subcommand(command) else {
        return text;
    };
    rich::line(&mut text, "");
    let metavar = super::click::variadic_metavar(command, chip);
    let arguments = if metavar.is_empty() {
        String::new()
    } else {
        format!(" {metavar}")
    };
    match super::click::protect_metavar(command, chip, users) {
        // rich-click draws the usage line as rich Columns: a choice list
        // wider than the console is cut with `…`
        Some(names) => rich::usage_lines(
            &mut text,
            &format!("espefuse {command}"),
            &format!("[OPTIONS] {names}"),
        ),
        None => {
            for row in rich::wrap(
                &format!("Usage: espefuse {command} [OPTIONS]{arguments}"),
                rich::width().saturating_sub(2),
            ) {
                rich::line(&mut text, &format!(" {row}"));
            }
        }
    }
    let mut description: Vec<String> = sub.get_about().map(|a| a.to_string()).into_iter().collect();
    if command == "burn-efuse" {
        // click's "\n\n" after the first sentence, which rich-click shows
        // as one line break
        let names = esp_efuse::espefuse::help_efuse_names(chip, users);
        if let Some(about) = description.first_mut() {
            about.push_str(&format!(
                "\nAllowed options for EFUSE_NAME: [{}].",
                names.join(", ")
            ));
        }
    }
    if metavar.contains("<BLOCK> <KEYFILE>") {
        let blocks = esp_efuse::espefuse::key_block_names(chip);
        description.push(format!("Block is one of: [{}]", blocks.join(", ")));
        // the S2's espefuse describes burn-key-digest with burn-key's
        // text, every purpose listed (`esp32s2/operations.py`)
        let digest = command == "burn-key-digest" && chip != Chip::Esp32s2;
        let purposes: Vec<String> = chip
            .table()
            .listed_purposes()
            .iter()
            .filter(|p| !digest || p.digest)
            .map(|p| p.purpose.to_string())
            .collect();
        if !purposes.is_empty() && chip != Chip::Esp32 {
            description.push(format!("Key purpose is one of: [{}]", purposes.join(", ")));
        }
    }
    // espboot's own options, and the key options a chip's espefuse lacks
    // (the ESP32 protects a key with --no-protect-key, the others with
    // --no-read-protect and --no-write-protect)
    let mut hidden: Vec<&str> = if chip == Chip::Esp32 {
        vec!["json", "no_read_protect", "no_write_protect"]
    } else {
        vec!["json", "no_protect_key"]
    };
    // only the ESP32's set-flash-voltage has --show-token
    if command == "set-flash-voltage" && chip != Chip::Esp32 {
        hidden.push("show_token");
    }
    let sub = click_order_and_metavars(sub.clone());
    rich::command_help_with_arguments(
        &mut text,
        &description,
        &sub,
        &hidden,
        click_arguments(command, chip, users),
    );
    text
}

/// The Arguments panel of `command` on `chip` as espefuse's click
/// parameters name it: the parameter's name, upper case, and its metavar
/// (a grouped argument's usage metavar, a Choice's `{A|B|…}`, a type's
/// name; the protect commands' Choice of the eFuse names they can
/// protect). `None` for the commands without positionals of their own.
fn click_arguments(
    command: &str,
    chip: Chip,
    users: &[ChipCustomField],
) -> Option<Vec<rich::ParamRow>> {
    let row = |required: bool, name: &str, metavar: String| rich::ParamRow {
        required,
        long: name.to_string(),
        short: String::new(),
        metavar,
        help: if required { "[required]" } else { "" }.to_string(),
    };
    let grouped = |name: &str| {
        vec![row(
            true,
            name,
            super::click::variadic_metavar(command, chip),
        )]
    };
    let key_groups = if chip == Chip::Esp32 {
        "BLOCK_KEYFILE"
    } else {
        "BLOCK_KEYFILE_KEYPURPOSE"
    };
    Some(match command {
        "burn-efuse" => grouped("NAME_VALUE_PAIRS"),
        "burn-block-data" => grouped("BLOCK_DATAFILE"),
        "burn-key" => grouped(key_groups),
        // the ESP32's and the ESP32-C2's take one key file
        "burn-key-digest" if matches!(chip, Chip::Esp32 | Chip::Esp32c2) => {
            vec![row(true, "KEYFILE", "FILENAME".to_string())]
        }
        "burn-key-digest" => grouped("BLOCK_KEYFILE_KEYPURPOSE"),
        "burn-bit" => vec![
            row(true, "BLOCK", super::click::block_choice(chip).0),
            row(true, "BIT_NUMBER", "INTEGER".to_string()),
        ],
        "burn-custom-mac" => vec![row(true, "MAC", "CUSTOM_MAC".to_string())],
        "set-flash-voltage" => vec![row(true, "VOLTAGE", super::click::voltage_choice().0)],
        "summary" => vec![row(false, "EFUSES_TO_SHOW", "TEXT".to_string())],
        "read-protect-efuse" | "write-protect-efuse" => vec![row(
            true,
            "EFUSE_NAME",
            super::click::protect_metavar(command, chip, users)?,
        )],
        _ => return None,
    })
}

/// The metavars espefuse's options show where click derives them from a
/// type rather than a name (`--offset`: `INTEGER`; a `click.File`:
/// `FILENAME`; `dump --file-name` names its own), by command and option
/// id: they set the width of the Options panel's metavar column.
const CLICK_METAVARS: &[(&str, &str, &str)] = &[
    ("burn-block-data", "offset", "INTEGER"),
    ("summary", "file", "FILENAME"),
    ("dump", "file_name", "FILE"),
];

/// The key commands' protection options, first in espefuse's Options panel
/// (`espefuse/efuse/*/operations.py` declares them before the shared
/// options), in its order.
const PROTECTION_FIRST: &[&str] = &["no_protect_key", "no_read_protect", "no_write_protect"];

/// `sub` with espefuse's metavars ([`CLICK_METAVARS`]) and its option
/// order: the key protection options first.
fn click_order_and_metavars(mut sub: clap::Command) -> clap::Command {
    let name = sub.get_name().to_owned();
    let mut ids: Vec<clap::Id> = sub.get_arguments().map(|a| a.get_id().clone()).collect();
    // the ESP32's --no-protect-key, the others' --no-read-protect and
    // --no-write-protect (the rest hidden on each)
    ids.sort_by_key(|id| {
        PROTECTION_FIRST
            .iter()
            .position(|p| id == *p)
            .unwrap_or(PROTECTION_FIRST.len())
    });
    // `mut_arg` moves the argument it changes to the end: every argument
    // goes through it, in the order wanted
    for id in ids {
        let metavar = CLICK_METAVARS
            .iter()
            .find(|(c, i, _)| *c == name && id == *i)
            .map(|(_, _, m)| *m);
        sub = sub.mut_arg(id, |a| match metavar {
            Some(m) => a.value_name(m),
            None => a,
        });
    }
    sub
}
