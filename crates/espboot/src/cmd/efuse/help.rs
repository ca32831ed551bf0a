//! espefuse's group help (`espefuse`, `espefuse -h`, a group with no
//! command: rich-click's help, exit 0), rendered from the personality's
//! command list: the usage line, the description, the global options, and
//! the chip's burn and read commands with their short help
//! (`efuse/base_operations.py`, `efuse/<chip>/operations.py`,
//! `espefuse/__init__.py`; order as `efuse_interface.py`
//! SUPPORTED_BURN_COMMANDS and SUPPORTED_READ_COMMANDS).
//!
//! Deliberate difference: rich-click reads the bracketed choice lists of
//! `--chip`, `--before` and `--after` as markup and garbles those rows;
//! here they show their names and help.

use esp_efuse::Chip;

use super::args::OneCommand;
use clap::CommandFactory as _;

/// espefuse's global options: long name, short name, metavar, help
/// (`espefuse/__init__.py` `cli`).
const OPTIONS: &[(&str, &str, &str, &str)] = &[
    ("--chip", "-c", "", "Target chip type."),
    (
        "--baud",
        "-b",
        "BAUD-RATE",
        "Serial port baud rate used when flashing/reading.",
    ),
    ("--port", "-p", "SERIAL-PORT", "Serial port device."),
    (
        "--before",
        "",
        "",
        "Which reset to perform before connecting to the chip.",
    ),
    (
        "--after",
        "-a",
        "",
        "Which reset to perform after operation is finished.",
    ),
    (
        "--debug",
        "-d",
        "",
        "Show debugging information (loglevel=DEBUG).",
    ),
    (
        "--virt",
        "",
        "",
        "For host tests, work in virtual mode (no chip connection).",
    ),
    (
        "--token",
        "",
        "TEXT",
        "eFuse token dump (format example: EFSR:esp32:000:...).",
    ),
    (
        "--path-efuse-file",
        "",
        "PATH",
        "For host tests, save eFuse memory to file.",
    ),
    (
        "--do-not-confirm",
        "",
        "",
        "Do not pause for confirmation before permanently writing eFuses. Use with caution!",
    ),
    (
        "--postpone/--no-postpone",
        "",
        "",
        "Postpone burning some eFuses from BLOCK0 at the end (enabled by default, can be disabled with --no-postpone).",
    ),
    (
        "--extend-efuse-table",
        "",
        "FILENAME",
        "CSV file from ESP-IDF (esp_efuse_custom_table.csv).",
    ),
    ("--help", "-h", "", "Show this message and exit."),
];

/// The commands espefuse's help lists for `chip`, burn commands first
/// (`efuse_interface.py`), each with its short help.
fn panels(chip: Chip) -> [(&'static str, Vec<(String, &'static str)>); 2] {
    let ours = OneCommand::command();
    let listed = |names: &[&'static str]| -> Vec<(String, &'static str)> {
        names
            .iter()
            .filter(|n| ours.find_subcommand(n).is_some())
            .filter(|n| {
                **n != "set-flash-voltage" || esp_efuse::espefuse::has_set_flash_voltage(chip)
            })
            .map(|n| (n.to_string(), short_help(n, chip)))
            .collect()
    };
    [
        (
            "Burn commands",
            listed(&[
                "read-protect-efuse",
                "write-protect-efuse",
                "burn-efuse",
                "burn-block-data",
                "burn-bit",
                "burn-key",
                "burn-key-digest",
                "burn-custom-mac",
                "set-flash-voltage",
            ]),
        ),
        (
            "Read commands",
            listed(&[
                "summary",
                "dump",
                "get-custom-mac",
                "adc-info",
                "check-error",
            ]),
        ),
    ]
}

/// A command's short help as espefuse declares it on `chip` (the command's
/// `short_help`, else its docstring's first sentence).
fn short_help(command: &str, chip: Chip) -> &'static str {
    match command {
        "read-protect-efuse" => "Disable readback for the eFuse.",
        "write-protect-efuse" => "Disable writing to the eFuse.",
        "burn-efuse" => "Burn the eFuse with the specified name.",
        "burn-block-data" => "Burn non-key data to EFUSE blocks.",
        "burn-bit" => "Burn bit in the eFuse block.",
        "burn-key" if chip == Chip::Esp32 => "Burn a 256-bit key to EFUSE.",
        "burn-key" => "Burn the key block with the specified name.",
        "burn-key-digest" if chip == Chip::Esp32c2 => {
            "Parse an ECDSA public key and burn the digest."
        }
        "burn-key-digest" if matches!(chip, Chip::Esp32s2 | Chip::Esp32s3) => {
            "Burn the key block with the specified name."
        }
        "burn-key-digest" => "Parse a RSA public key and burn the digest.",
        "burn-custom-mac" => "Burn a 48-bit Custom MAC address.",
        "set-flash-voltage" => "Permanently set the internal flash voltage regulator.",
        "summary" => "Print human-readable summary of eFuse values.",
        "dump" => "Dump raw hex values of all eFuses.",
        "get-custom-mac" => "Get the 48-bit Custom MAC Address.",
        "adc-info" => "Display information about ADC calibration data stored in eFuse.",
        "check-error" => "Checks eFuse errors.",
        _ => "",
    }
}

/// The help text (`chip`: `None` when no chip was named: ESP32's commands,
/// after the NOTE espefuse prints first).
pub(super) fn group_help(chip: Option<Chip>) -> String {
    let width = 80usize;
    let mut text = String::new();
    let mut line = |s: &str| {
        text.push_str(s);
        text.push('\n');
    };
    if chip.is_none() {
        line("NOTE: Chip not specified, showing commands for ESP32 by default. Specify the --chip option to get chip-specific help.");
    }
    let blank = " ".repeat(width);
    let padded = |s: &str| format!("{s}{}", " ".repeat(width.saturating_sub(s.chars().count())));
    line(&blank);
    line(&padded(
        " Usage: espefuse [OPTIONS] COMMAND1 [ARGS]... [COMMAND2 [ARGS]...]...",
    ));
    line(&blank);
    line(&padded(
        " espefuse v5.6.0 - Utility for eFuse configuration in Espressif SoCs.",
    ));
    line(&blank);
    let inner = width - 4;
    let top = |title: &str| {
        let head = format!("\u{256d}\u{2500} {title} ");
        let n = head.chars().count();
        format!("{head}{}\u{256e}", "\u{2500}".repeat(width - 1 - n))
    };
    let bottom = format!("\u{2570}{}\u{256f}", "\u{2500}".repeat(width - 2));
    let row = |s: &str| format!("\u{2502} {} \u{2502}", padded_to(s, inner));
    // rich-click's option table: name (23, folded), short (2), metavar
    // (22), help (23, word-wrapped), two spaces between
    line(&top("Options"));
    for (long, short, metavar, help) in OPTIONS {
        let names = fold(long, 23);
        let helps = wrap(help, 23);
        for k in 0..names.len().max(helps.len()) {
            let cell = |v: &Vec<String>| v.get(k).cloned().unwrap_or_default();
            let (s, m) = if k == 0 { (*short, *metavar) } else { ("", "") };
            line(&row(&format!(
                "{}  {}  {}  {}",
                padded_to(&cell(&names), 23),
                padded_to(s, 2),
                padded_to(m, 22),
                cell(&helps)
            )));
        }
    }
    line(&bottom);
    // command tables: name (18, cut with an ellipsis), help (56, wrapped)
    for (title, commands) in panels(chip.unwrap_or(Chip::Esp32)) {
        line(&top(title));
        for (name, help) in commands {
            let name = if name.chars().count() > 18 {
                format!("{}\u{2026}", name.chars().take(17).collect::<String>())
            } else {
                name
            };
            for (k, h) in wrap(help, inner - 20).iter().enumerate() {
                let n = if k == 0 { name.as_str() } else { "" };
                line(&row(&format!("{}  {h}", padded_to(n, 18))));
            }
        }
        line(&bottom);
    }
    text
}

fn padded_to(s: &str, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(s.chars().count())))
}

/// `s` cut into pieces of `width` characters.
fn fold(s: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(width).map(|c| c.iter().collect()).collect()
}

/// Words filling lines of `width` greedily (a word longer than a line is
/// folded).
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    let mut row = String::new();
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        let (rn, wn) = (row.chars().count(), word.chars().count());
        if rn > 0 && rn + 1 + wn <= width {
            row.push(' ');
            row.push_str(word);
            continue;
        }
        if rn > 0 {
            rows.push(std::mem::take(&mut row));
        }
        let mut pieces = fold(word, width);
        row = pieces.pop().unwrap_or_default();
        rows.extend(pieces);
    }
    rows.push(row);
    rows
}
