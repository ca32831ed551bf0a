//! espefuse's command-line errors as click 8.5 words them and rich-click
//! draws them (espefuse 5.6.0 without a terminal): the messages
//! (`click/exceptions.py`, `click/parser.py`, `click/types.py`), each
//! command's usage arguments per chip (the `@click.argument`s of
//! `efuse/base_operations.py` and `efuse/<chip>/operations.py`), and the
//! `Error` box.

use esp_efuse::custom_table::ChipCustomField;
use esp_efuse::{espefuse, Chip};

use crate::cmd::rich;

/// A command-line error, as click reports it (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{command}: {message}")]
pub(crate) struct UsageError {
    /// `espefuse` for the global options, else the command's name.
    command: String,
    /// click's message.
    message: String,
    /// Found after the group has printed its banner (click converts the
    /// commands' arguments in the group's `invoke`, after its callback).
    pub(crate) after_banner: bool,
    /// The usage line's arguments (`None`: the chip-independent ones).
    usage_args: Option<String>,
    /// Raised without a click context (the option parser's own errors):
    /// rich-click then draws the box alone, with no usage lines.
    bare: bool,
    /// The deprecation warnings click printed before it (resolving the
    /// commands before this one), after the banner.
    pub(crate) warnings: Vec<String>,
    /// The emulated chip espefuse's group callback has made (and read)
    /// before the error.
    pub(crate) virt_file: Option<Box<CallbackChip>>,
    /// The commands of the chain parsed before this error, each with its
    /// underscore spelling's warning: click converted their arguments as
    /// it parsed them, so an invalid value there is reported first.
    pub(super) parsed_before: Option<Box<ParsedBefore>>,
}

/// The commands of a chain parsed before a usage error, each with its
/// underscore spelling's warning (boxed: errors stay small).
#[derive(Debug)]
pub(super) struct ParsedBefore(pub(super) Vec<(super::args::Command, Option<String>)>);

/// The emulated chip espefuse's group callback makes (efuse_interface.py
/// `get_esp`) before click reads the chained commands: it writes
/// `--path-efuse-file` (the chip's blank image when the file is missing or
/// empty, or the eFuses of `--token`, which replace the file's:
/// emulate_efuse_controller_base.py, loaded, then saved at once), and,
/// unless a help page was asked for, reads the eFuses, which prints the
/// register dump of `-d` and the coding-error warnings.
#[derive(Debug)]
pub(crate) struct CallbackChip {
    /// The emulated chip.
    pub(crate) chip: Chip,
    /// `--path-efuse-file`.
    pub(crate) file: Option<esp_efuse::VirtualFile>,
    /// The token's eFuses, when `--token` was given.
    pub(crate) token: Option<esp_efuse::Efuses>,
    /// `-d/--debug`.
    pub(crate) debug: bool,
}

impl UsageError {
    fn new(command: &str, message: String) -> Self {
        UsageError {
            command: command.to_string(),
            message,
            after_banner: false,
            usage_args: None,
            bare: false,
            warnings: Vec::new(),
            virt_file: None,
            parsed_before: None,
        }
    }

    /// An option the command does not have (click's `No such option`).
    pub(crate) fn no_such_option(command: &str, option: &str) -> Self {
        Self::new(command, format!("No such option '{option}'."))
    }

    /// An unknown option, with click's suggestions among the command's long
    /// options (`parser.py` `_match_long_opt`; short ones get none).
    pub(crate) fn no_such_option_among(command: &str, option: &str, long: &[String]) -> Self {
        let mut e = Self::no_such_option(command, option);
        if option.starts_with("--") {
            e.message.push_str(&suggestion(option, long));
        }
        e
    }

    /// A token where the group expected a command (`core.py`
    /// `resolve_command`), with suggestions among the chip's commands.
    pub(crate) fn no_such_command(name: &str, chip: Chip) -> Self {
        let commands: Vec<String> = espefuse_commands(chip)
            .iter()
            .map(|c| c.to_string())
            .collect();
        let mut e = Self::new(
            "espefuse",
            format!("No such command '{name}'.{}", suggestion(name, &commands)),
        );
        e.after_banner = true;
        e
    }

    /// A command click does not know when only `commands` are registered
    /// (suggestions among those).
    pub(crate) fn no_such_command_among(name: &str, commands: &[&str]) -> Self {
        let commands: Vec<String> = commands.iter().map(|c| c.to_string()).collect();
        let mut e = Self::new(
            "espefuse",
            format!("No such command '{name}'.{}", suggestion(name, &commands)),
        );
        e.after_banner = true;
        e
    }

    /// A bad value of `command`'s arguments (click's `Invalid value for …`).
    pub(crate) fn invalid_value(command: &str, argument: &str, message: &str) -> Self {
        let mut e = Self::new(
            command,
            format!("Invalid value for '{argument}': {message}"),
        );
        e.usage_args = Some(format!(" {argument}"));
        e
    }

    /// A click.Choice argument of many values (`nargs=-1`; `many` false:
    /// espefuse's chain cut it to one value, `nargs=1`), `choices` in
    /// order: `None` when it was not given (`Missing argument … Choose
    /// from:`), else the first value that is none of them (`… is not one
    /// of …`). The usage line shows the choices as the metavar (`...`
    /// after it only for many values, `core.py` Argument.make_metavar).
    pub(crate) fn choices(
        command: &str,
        choices: &[&str],
        value: Option<&str>,
        many: bool,
    ) -> Self {
        let unique = unique_choices(choices);
        let choices = &unique[..];
        let (metavar, hint) = choice(choices);
        let metavar = if many {
            format!("{metavar}...")
        } else {
            metavar
        };
        let message = match value {
            None => format!("Missing argument '{metavar}'.{hint}"),
            Some(v) => {
                let quoted: Vec<String> = choices.iter().map(|c| format!("'{c}'")).collect();
                format!(
                    "Invalid value for '{metavar}': '{v}' is not one of {}.",
                    quoted.join(", ")
                )
            }
        };
        let mut e = Self::new(command, message);
        e.usage_args = Some(format!(" {metavar}"));
        e
    }

    /// An argument that was not given (`exceptions.py` MissingParameter).
    pub(crate) fn missing_argument(command: &str, chip: Chip, metavar: &str, hint: &str) -> Self {
        Self::new(command, format!("Missing argument '{metavar}'.{hint}")).on(chip)
    }

    /// An error click raises without a context: the box alone.
    pub(crate) fn bare(command: &str, message: String) -> Self {
        let mut e = Self::new(command, message);
        e.bare = true;
        e
    }

    /// A message of the group's or a command's own (`click.UsageError`).
    pub(crate) fn message(command: &str, message: String) -> Self {
        Self::new(command, message)
    }

    /// The usage line's arguments, as given.
    pub(crate) fn with_usage_args(mut self, args: &str) -> Self {
        self.usage_args = Some(args.to_string());
        self
    }

    /// The usage line's arguments as `chip` has them.
    pub(crate) fn on(mut self, chip: Chip) -> Self {
        if self.usage_args.is_none() {
            self.usage_args = Some(usage_arguments(&self.command, chip));
        }
        self
    }

    /// The usage line's arguments as `chip` has them, `one`: with the
    /// variadic argument cut to one value by espefuse's chain.
    pub(crate) fn on_cut(self, chip: Chip, one: bool) -> Self {
        if one && self.usage_args.is_none() {
            let args = usage_arguments_one(&self.command, chip);
            return self.with_usage_args(&args);
        }
        self.on(chip)
    }

    /// rich-click's rendering of the error: the usage line and the help
    /// hint, then the message in an `Error` box.
    pub(crate) fn click_text(&self) -> String {
        if self.bare {
            return rich::usage_error(None, &self.message);
        }
        let (prog, args, help) = if self.command == "espefuse" {
            (
                "espefuse".to_string(),
                "[OPTIONS] COMMAND1 [ARGS]... [COMMAND2 [ARGS]...]...".to_string(),
                "espefuse -h".to_string(),
            )
        } else {
            let args = match &self.usage_args {
                Some(a) => a.clone(),
                None => usage_arguments_any_chip(&self.command).to_string(),
            };
            (
                format!("espefuse {}", self.command),
                format!("[OPTIONS]{args}"),
                format!("espefuse {} -h", self.command),
            )
        };
        let usage = rich::Usage {
            prog: &prog,
            args: &args,
            help: &help,
        };
        rich::usage_error(Some(&usage), &self.message)
    }
}

/// The `--chip` choices espefuse's help shows (`espefuse/__init__.py`:
/// "auto", then `efuse_interface.py` SUPPORTED_CHIPS in its order).
pub(super) const CHIP_CHOICES: &[&str] = &[
    "auto", "linux", "esp32", "esp32c2", "esp32c3", "esp32c6", "esp32c61", "esp32c5", "esp32e22",
    "esp32h2", "esp32h21", "esp32h4", "esp32p4", "esp32s2", "esp32s3", "esp32s31",
];

/// `--before`'s choices in espefuse's order (`espefuse/__init__.py`).
pub(super) const BEFORE_CHOICES: &[&str] =
    &["default-reset", "usb-reset", "no-reset", "no-reset-no-sync"];

/// `--after`'s choices in espefuse's order (`espefuse/__init__.py`).
pub(super) const AFTER_CHOICES: &[&str] =
    &["hard-reset", "soft-reset", "no-reset", "watchdog-reset"];

/// espefuse's burn commands in its order (`efuse_interface.py`
/// SUPPORTED_BURN_COMMANDS); `set-flash-voltage` only on the chips whose
/// `operations.py` adds it.
pub(super) const BURN_COMMANDS: &[&str] = &[
    "read-protect-efuse",
    "write-protect-efuse",
    "burn-efuse",
    "burn-block-data",
    "burn-bit",
    "burn-key",
    "burn-key-digest",
    "burn-custom-mac",
    "set-flash-voltage",
];

/// espefuse's read commands in its order (SUPPORTED_READ_COMMANDS).
pub(super) const READ_COMMANDS: &[&str] = &[
    "summary",
    "dump",
    "get-custom-mac",
    "adc-info",
    "check-error",
];

/// Whether `command` is one of espefuse's on `chip`.
pub(super) fn chip_has_command(chip: Chip, command: &str) -> bool {
    command != "set-flash-voltage" || esp_efuse::espefuse::has_set_flash_voltage(chip)
}

/// espefuse's commands on `chip` (what `No such command` suggests from).
fn espefuse_commands(chip: Chip) -> Vec<&'static str> {
    READ_COMMANDS
        .iter()
        .chain(BURN_COMMANDS)
        .chain(&["execute-scripts"])
        .copied()
        .filter(|c| chip_has_command(chip, c))
        .collect()
}

/// The most groups `burn-key` (`digest`: `burn-key-digest`) takes on
/// `chip` (TupleParameter `max_arity`: one per block name; the ESP32-C2's
/// burn-key one more, its SB and FE keys share the key block).
pub(super) fn key_groups_max(chip: Chip, digest: bool) -> usize {
    let n = espefuse::key_block_names(chip).len();
    if chip == Chip::Esp32c2 && !digest {
        n + 1
    } else {
        n
    }
}

/// The metavar of a command's variadic argument on `chip` (what `Missing
/// argument` and `Invalid value for` name).
pub(crate) fn variadic_metavar(command: &str, chip: Chip) -> String {
    match command {
        "burn-efuse" => "[<EFUSE_NAME> <VALUE>] ...".to_string(),
        "burn-key" if chip == Chip::Esp32 => format!(
            "[<BLOCK> <KEYFILE>] ... (max {} groups)",
            key_groups_max(chip, false)
        ),
        "burn-key" => format!(
            "[<BLOCK> <KEYFILE> <KEYPURPOSE>] ... (max {} groups)",
            key_groups_max(chip, false)
        ),
        // ESP32 and ESP32-C2 take a single KEYFILE
        "burn-key-digest" if matches!(chip, Chip::Esp32 | Chip::Esp32c2) => "KEYFILE".to_string(),
        "burn-key-digest" => format!(
            "[<BLOCK> <KEYFILE> <KEYPURPOSE>] ... (max {} groups)",
            key_groups_max(chip, true)
        ),
        "burn-block-data" => format!(
            "[<BLOCK> <DATAFILE>] ... (max {} groups)",
            espefuse::burn_block_data_names(chip).len()
        ),
        "burn-bit" => "BIT_NUMBER...".to_string(),
        "summary" => "[EFUSES_TO_SHOW]...".to_string(),
        "burn-custom-mac" => "MAC".to_string(),
        "execute-scripts" => "[SCRIPTS]...".to_string(),
        _ => String::new(),
    }
}

/// burn-bit's BLOCK argument: a click Choice (`{A|B|…}`) and its `Missing
/// argument` hint (`types.py` Choice `get_missing_message`).
pub(crate) fn block_choice(chip: Chip) -> (String, String) {
    choice(&block_choices(chip))
}

/// set-flash-voltage's VOLTAGE argument: a click Choice and its `Missing
/// argument` hint.
pub(crate) fn voltage_choice() -> (String, String) {
    choice(&esp_efuse::espefuse::FlashVoltage::NAMES)
}

/// A click Choice's metavar (`{A|B|…}`) and its `Missing argument` hint
/// (`types.py` Choice `get_missing_message`).
fn choice(names: &[&str]) -> (String, String) {
    (
        format!("{{{}}}", names.join("|")),
        format!(" Choose from:\n\t{}", names.join(",\n\t")),
    )
}

/// A Choice's names each once, in order: click's Choice shows each choice
/// once (the ESP32's MAC_CUSTOM_VER names two fields).
fn unique_choices<'a>(choices: &[&'a str]) -> Vec<&'a str> {
    let mut unique: Vec<&str> = Vec::new();
    for c in choices {
        if !unique.contains(c) {
            unique.push(c);
        }
    }
    unique
}

/// read-protect-efuse's and write-protect-efuse's EFUSE_NAME argument on
/// `chip` as their help shows it: a click Choice of the eFuse names the
/// command can protect (with the fields of an eFuse CSV table, `users`),
/// taking many (`{A|B|…}...`). `None` for the other commands.
pub(crate) fn protect_metavar(
    command: &str,
    chip: Chip,
    users: &[ChipCustomField],
) -> Option<String> {
    let list = match command {
        "read-protect-efuse" => espefuse::NameList::ReadProtectable,
        "write-protect-efuse" => espefuse::NameList::WriteProtectable,
        _ => return None,
    };
    let names = espefuse::help_efuse_choices(chip, list, users);
    Some(format!("{}...", choice(&unique_choices(&names)).0))
}

/// burn-bit's block choices: espefuse's list with repeats dropped (click's
/// Choice shows each once).
pub(crate) fn block_choices(chip: Chip) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for name in espefuse::burn_block_data_names(chip) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The metavar of a grouped argument (`base_operations.py`
/// TupleParameter) as one value: what it names when espefuse's chain
/// cuts it to one word (`nargs=1`), and the body of its variadic form.
pub(crate) fn grouped_metavar(command: &str, chip: Chip) -> Option<&'static str> {
    match command {
        "burn-key" if chip == Chip::Esp32 => Some("<BLOCK> <KEYFILE>"),
        "burn-key" => Some("<BLOCK> <KEYFILE> <KEYPURPOSE>"),
        "burn-key-digest" if matches!(chip, Chip::Esp32 | Chip::Esp32c2) => None,
        "burn-key-digest" => Some("<BLOCK> <KEYFILE> <KEYPURPOSE>"),
        "burn-block-data" => Some("<BLOCK> <DATAFILE>"),
        _ => None,
    }
}

/// The arguments part of a command's usage line on `chip` when espefuse's
/// chain has cut its variadic argument to one value (`nargs=1`: click's
/// metavar has no `...`, `core.py` Argument.make_metavar).
pub(crate) fn usage_arguments_one(command: &str, chip: Chip) -> String {
    if let Some(m) = grouped_metavar(command, chip) {
        return format!(" {m}");
    }
    match command {
        "summary" => " [EFUSES_TO_SHOW]".to_string(),
        "burn-bit" => format!(" {} BIT_NUMBER", block_choice(chip).0),
        "read-protect-efuse" | "write-protect-efuse" => usage_arguments(command, chip)
            .trim_end_matches("...")
            .to_string(),
        _ => usage_arguments(command, chip),
    }
}

/// The arguments part of a command's usage line on `chip`.
pub(crate) fn usage_arguments(command: &str, chip: Chip) -> String {
    match command {
        "burn-bit" => format!(" {} BIT_NUMBER...", block_choice(chip).0),
        "set-flash-voltage" => format!(" {}", voltage_choice().0),
        "read-protect-efuse" | "write-protect-efuse" => protect_metavar(command, chip, &[])
            .map(|m| format!(" {m}"))
            .unwrap_or_default(),
        "dump" | "check-error" => String::new(),
        _ => format!(" {}", variadic_metavar(command, chip))
            .trim_end()
            .to_string(),
    }
}

/// The chip-independent usage arguments (where no chip is at hand).
fn usage_arguments_any_chip(command: &str) -> &'static str {
    match command {
        "summary" => " [EFUSES_TO_SHOW]...",
        "burn-efuse" => " [<EFUSE_NAME> <VALUE>] ...",
        "burn-custom-mac" => " MAC",
        _ => "",
    }
}

/// click's suggestion after an unknown name: difflib's close matches
/// (`get_close_matches`, n=3, cutoff 0.6), quoted and sorted.
fn suggestion(name: &str, possibilities: &[String]) -> String {
    let mut scored: Vec<(f64, &String)> = possibilities
        .iter()
        .map(|p| (ratio(p, name), p))
        .filter(|(r, _)| *r >= 0.6)
        .collect();
    // heapq.nlargest on (score, name): score, then name, descending
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| b.1.cmp(a.1)));
    let mut best: Vec<&String> = scored.into_iter().take(3).map(|(_, p)| p).collect();
    best.sort();
    let quoted: Vec<String> = best.iter().map(|p| format!("'{p}'")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => format!(" Did you mean {}?", quoted[0]),
        _ => format!(" (Did you mean one of: {}?)", quoted.join(", ")),
    }
}

/// difflib `SequenceMatcher(None, a, b).ratio()`: 2·M/T, M the characters
/// of the matching blocks found by recursive longest-match (no junk: the
/// names are far shorter than autojunk's 200).
fn ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    2.0 * matched(&a, &b) as f64 / total as f64
}

fn matched(a: &[char], b: &[char]) -> usize {
    // find_longest_match: the longest block, earliest in a, then in b
    let (mut best_i, mut best_j, mut best) = (0, 0, 0);
    let mut prev = vec![0usize; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                let k = prev[j] + 1;
                cur[j + 1] = k;
                if k > best {
                    (best_i, best_j, best) = (i + 1 - k, j + 1 - k, k);
                }
            }
        }
        prev = cur;
    }
    if best == 0 {
        return 0;
    }
    best + matched(&a[..best_i], &b[..best_j]) + matched(&a[best_i + best..], &b[best_j + best..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_matches_difflib() {
        // difflib.SequenceMatcher(None, a, b).ratio() in Python 3.11
        assert!((ratio("--file", "--fil") - 10.0 / 11.0).abs() < 1e-9);
        assert!((ratio("--baud", "--bogus") - 8.0 / 13.0).abs() < 1e-9);
        assert!((ratio("--format", "--bogsu") - 0.4).abs() < 1e-9);
    }

    #[test]
    fn suggestion_is_clicks() {
        let long: Vec<String> = ["--chip", "--baud", "--port", "--before", "--after"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(suggestion("--bogus", &long), " Did you mean '--baud'?");
        assert_eq!(suggestion("--xyz", &long), "");
    }
}
