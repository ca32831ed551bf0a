//! click's reading of espefuse's words (click 8.5 `parser.py` and
//! `types.py`, espefuse 5.6.0 `cli_util.py` ChainingCommand): which words
//! are options and values, where a command's arguments end, and the
//! conversions click makes before any command runs. What passes is handed
//! to clap in a form it reads the same way.

use clap::CommandFactory;
use esp_efuse::Chip;

use super::args::{clap_error, Global, OneCommand};
use super::click::{self, UsageError};

/// The group's options as click reads them: unknown options and bad
/// choices are click's usage errors (before the banner). Returns the
/// options and the words that are no option's value (`None`: help was
/// printed).
pub(super) fn parse_global(tokens: &[String]) -> anyhow::Result<Option<(Global, Vec<String>)>> {
    let cmd = Global::command();
    let long = long_options(&cmd);
    let scan = scan_options(&cmd, "espefuse", tokens, &long, &[], false)?;
    let mut options = Vec::new();
    for (name, value) in &scan.options {
        let Some(value) = value else {
            options.push(name.clone());
            continue;
        };
        let value = match name.as_str() {
            // esptool/util.py strip_chip_name: any case, `-`, `(`, `)` dropped
            "--chip" => {
                let v: String = value
                    .to_lowercase()
                    .chars()
                    .filter(|c| !matches!(c, '-' | '(' | ')'))
                    .collect();
                if !click::CHIP_CHOICES.contains(&v.as_str()) {
                    return Err(
                        not_one_of("espefuse", "'--chip' / '-c'", &v, click::CHIP_CHOICES).into(),
                    );
                }
                v
            }
            "--baud" => {
                if py_int::parse_decimal(value).is_err() {
                    return Err(UsageError::message(
                        "espefuse",
                        format!("Invalid value for '--baud' / '-b': '{value}' is not a valid baud rate."),
                    )
                    .into());
                }
                value.clone()
            }
            // click.File("r") opens it while the group parses
            "--extend-efuse-table" => {
                let path = std::path::Path::new(value);
                let opened = crate::fsutil::open_for_reading_as_python(path);
                if let Err(e) = opened {
                    let failure = crate::fsutil::OpenFailure::of_io(&e, path);
                    return Err(UsageError::message(
                        "espefuse",
                        format!(
                            "Invalid value for '--extend-efuse-table': '{value}': {}",
                            failure.reason
                        ),
                    )
                    .into());
                }
                value.clone()
            }
            "--before" => reset_mode("--before", "'--before'", value, click::BEFORE_CHOICES)?,
            "--after" => reset_mode("--after", "'--after' / '-a'", value, click::AFTER_CHOICES)?,
            _ => value.clone(),
        };
        options.push(format!("{name}={value}"));
    }
    match super::args::parse_last_wins::<Global>(&options) {
        Ok(g) => Ok(Some((g, scan.positionals))),
        Err(e) => clap_error(e, "espefuse").map(|p| {
            if let super::args::Parsed::Help(text) = p {
                use std::io::Write as _;
                let _ = write!(std::io::stdout().lock(), "{text}");
            }
            None
        }),
    }
}

/// esptool/cli_util.py ResetModeType: a choice, also spelled with
/// underscores (deprecated, with a warning while the group parses).
fn reset_mode(option: &str, shown: &str, value: &str, choices: &[&str]) -> anyhow::Result<String> {
    if value.contains('_') {
        let new = value.replace('_', "-");
        if !choices.contains(&new.as_str()) {
            return Err(UsageError::message(
                "espefuse",
                format!("Invalid value for {shown}: {value} is not a valid reset mode."),
            )
            .into());
        }
        eprintln!(
            "WARNING: Deprecated: Choice '{value}' for option '{option}' is deprecated. Use '{new}' instead."
        );
        return Ok(new);
    }
    if !choices.contains(&value) {
        return Err(not_one_of("espefuse", shown, value, choices).into());
    }
    Ok(value.to_string())
}

/// click's Choice refusal (`types.py` Choice `get_invalid_choice_message`).
fn not_one_of(command: &str, shown: &str, value: &str, choices: &[&str]) -> UsageError {
    let quoted: Vec<String> = choices.iter().map(|c| format!("'{c}'")).collect();
    UsageError::message(
        command,
        format!(
            "Invalid value for {shown}: '{value}' is not one of {}.",
            quoted.join(", ")
        ),
    )
}

/// One parameter list as click's parser reads it.
struct Scan {
    /// Options in order: the long name (`--x`, `-h` stays `-h`) and the
    /// value, if the option takes one.
    options: Vec<(String, Option<String>)>,
    /// The other words, in order.
    positionals: Vec<String>,
}

/// The long option names of `cmd` (with `--`), `--help` included.
fn long_options(cmd: &clap::Command) -> Vec<String> {
    crate::cmd::did_you_mean::clap_long_options(
        cmd.get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "help"),
    )
}

/// click's option pass (`parser.py` `_process_args_for_options`): each
/// option must be one of `cmd`'s (else `No such option`), an option taking
/// a value takes the next word whatever it is (none: `requires an
/// argument`), `--` ends the options. `chain`: espefuse's ChainParser
/// (`cli_util.py`), where a word naming a command also ends them (that
/// word and all after it are left as they are, for the arguments).
fn scan_options(
    cmd: &clap::Command,
    command: &str,
    tokens: &[String],
    long: &[String],
    absent: &[&str],
    chain: bool,
) -> Result<Scan, UsageError> {
    let mut scan = Scan {
        options: Vec::new(),
        positionals: Vec::new(),
    };
    let find_long = |name: &str| {
        cmd.get_arguments().find(|a| {
            a.get_long() == Some(name)
                || a.get_all_aliases()
                    .is_some_and(|aliases| aliases.contains(&name))
        })
    };
    let takes_value = |a: &clap::Arg| a.get_action().takes_values();
    let mut rest = tokens.iter();
    while let Some(tok) = rest.next() {
        if tok == "--" {
            scan.positionals.extend(rest.by_ref().cloned());
            break;
        }
        if chain && names_command(tok) {
            scan.positionals.push(tok.clone());
            scan.positionals.extend(rest.by_ref().cloned());
            break;
        }
        if let Some(body) = tok.strip_prefix("--").filter(|b| !b.is_empty()) {
            let (name, attached) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            if name == "help" {
                scan.options.push(("--help".to_string(), None));
                continue;
            }
            let Some(arg) =
                find_long(name).filter(|a| !absent.contains(&a.get_long().unwrap_or_default()))
            else {
                return Err(UsageError::no_such_option_among(
                    command,
                    &format!("--{name}"),
                    long,
                ));
            };
            let long_name = format!("--{}", arg.get_long().unwrap_or(name));
            if !takes_value(arg) {
                scan.options.push((long_name, None));
                continue;
            }
            let value = match attached.or_else(|| rest.next().cloned()) {
                Some(v) => v,
                None => {
                    return Err(UsageError::bare(
                        command,
                        format!("Option '--{name}' requires an argument."),
                    ))
                }
            };
            scan.options.push((long_name, Some(value)));
            continue;
        }
        if tok.len() > 1 && tok.starts_with('-') {
            // short options, possibly clustered (`-dd`) or with their value
            // attached (`-o5`)
            let chars: Vec<char> = tok[1..].chars().collect();
            let mut i = 0;
            while i < chars.len() {
                let ch = chars[i];
                i += 1;
                if ch == 'h' {
                    scan.options.push(("--help".to_string(), None));
                    continue;
                }
                let Some(arg) = cmd.get_arguments().find(|a| a.get_short() == Some(ch)) else {
                    return Err(UsageError::no_such_option(command, &format!("-{ch}")));
                };
                let long_name = format!("--{}", arg.get_long().unwrap_or_default());
                if !takes_value(arg) {
                    scan.options.push((long_name, None));
                    continue;
                }
                let attached: String = chars[i..].iter().collect();
                let value = if attached.is_empty() {
                    match rest.next() {
                        Some(v) => v.clone(),
                        None => {
                            return Err(UsageError::bare(
                                command,
                                format!("Option '-{ch}' requires an argument."),
                            ))
                        }
                    }
                } else {
                    attached
                };
                scan.options.push((long_name, Some(value)));
                break;
            }
            continue;
        }
        scan.positionals.push(tok.clone());
    }
    Ok(scan)
}

/// A command's positional arguments in espefuse on `chip`: how many
/// single ones come first, and the variadic one's name and whether it is
/// required (`None`: no variadic argument).
fn positional_shape(command: &str, chip: Chip) -> (usize, Option<(&'static str, bool)>) {
    match command {
        "summary" => (0, Some(("efuses_to_show", false))),
        "burn-efuse" => (0, Some(("name_value_pairs", true))),
        "burn-bit" => (1, Some(("bit_number", true))),
        "burn-block-data" => (0, Some(("block_datafile", true))),
        "burn-key" if chip == Chip::Esp32 => (0, Some(("block_keyfile", true))),
        // efuse/esp32c2/operations.py: not required
        "burn-key" if chip == Chip::Esp32c2 => (0, Some(("block_keyfile_keypurpose", false))),
        "burn-key" => (0, Some(("block_keyfile_keypurpose", true))),
        "burn-key-digest" if matches!(chip, Chip::Esp32 | Chip::Esp32c2) => (1, None),
        "burn-key-digest" => (0, Some(("block_keyfile_keypurpose", true))),
        "read-protect-efuse" | "write-protect-efuse" => (0, Some(("efuse_name", true))),
        "burn-custom-mac" | "set-flash-voltage" => (1, None),
        _ => (0, None),
    }
}

/// The options of our clap command that `name` lacks in espefuse on
/// `chip` (long names without the dashes): the ESP32's key commands have
/// only `--no-protect-key` (`efuse/esp32/operations.py`), the other chips'
/// only `--no-write-protect` and `--no-read-protect`
/// (`base_operations.py` protect_options).
fn absent_options(name: &str, chip: Chip) -> &'static [&'static str] {
    match name {
        "burn-key" | "burn-key-digest" if chip == Chip::Esp32 => {
            &["no-write-protect", "no-read-protect"]
        }
        "burn-key" | "burn-key-digest" => &["no-protect-key"],
        _ => &[],
    }
}

/// Whether a word names one of espefuse's commands, `_` read as `-`
/// (`efuse_interface.py` SUPPORTED_COMMANDS, which every chip's chain
/// splitting uses, set-flash-voltage included).
pub(super) fn names_command(word: &str) -> bool {
    let word = word.replace('_', "-");
    super::click::BURN_COMMANDS
        .iter()
        .chain(super::click::READ_COMMANDS)
        .chain(&["execute-scripts"])
        .any(|c| *c == word)
}

/// One command's words as espefuse reads them (`cli_util.py`
/// ChainingCommand.parse_args and ChainParser): `seg` is the command's
/// name and every word of the chain after it. The first word naming a
/// command, or an option after the first word, cuts the variadic argument
/// to the words before it; options are read up to `--` or a word naming
/// a command; the arguments then take their values from the words left,
/// whatever they are (a command's name too), and what they leave over is
/// the next command (`extra`). Argument values are converted as click's
/// types do.
pub(super) fn click_command(seg: &[String], chip: Chip) -> Result<ClickCommand, UsageError> {
    let name = seg[0].as_str();
    let args = &seg[1..];
    let root = OneCommand::command();
    let Some(cmd) = root.find_subcommand(name) else {
        return Ok(ClickCommand {
            tokens: seg.to_vec(),
            extra: Vec::new(),
            one_string: false,
            unset: false,
        });
    };
    let (singles, variadic) = positional_shape(name, chip);
    let cut = args
        .iter()
        .enumerate()
        .position(|(i, a)| names_command(a) || (i > 0 && a.starts_with('-')));
    let mut one_string = false;
    let mut nargs_cut: Option<usize> = None;
    let capacity = match (variadic, cut) {
        (Some((param, required)), Some(cut)) => {
            // ChainingCommand: nargs = args.index(word) - arguments_count
            // + 1, the index of the word's first occurrence; a negative
            // nargs leaves the argument variadic
            let i = args.iter().position(|a| *a == args[cut]).unwrap_or(cut);
            let nargs = i as isize - singles as isize;
            if nargs == 0 && required {
                return Err(UsageError::bare(
                    name,
                    format!("Command `{name}` requires the `{param}` argument."),
                ));
            }
            one_string = nargs == 1;
            match usize::try_from(nargs) {
                Ok(n) => {
                    nargs_cut = Some(n);
                    singles + n
                }
                Err(_) => usize::MAX,
            }
        }
        (Some(_), None) => usize::MAX,
        (None, _) => singles,
    };
    let one = nargs_cut == Some(1);
    let mut long = long_options(cmd);
    long.retain(|l| l != "--json");
    // only the ESP32's set-flash-voltage has --show-token
    // (`esp32/operations.py`; the S2's and S3's do not)
    if name == "set-flash-voltage" && chip != Chip::Esp32 {
        long.retain(|l| l != "--show-token");
        if args
            .iter()
            .any(|a| a.split('=').next() == Some("--show-token"))
        {
            return Err(
                UsageError::no_such_option_among(name, "--show-token", &long).on_cut(chip, one),
            );
        }
    }
    let absent = absent_options(name, chip);
    long.retain(|l| !absent.contains(&l.trim_start_matches('-')));
    let scan =
        scan_options(cmd, name, args, &long, absent, true).map_err(|e| e.on_cut(chip, one))?;
    let mut positionals = scan.positionals;
    // click's parser (`_unpack_args`, `_Argument.process`): the argument
    // cut to n values takes the next n words; some but fewer than n (n >
    // 1) is its usage error, none leaves it unset (None to the command)
    let mut unset = false;
    if let (Some((param, _)), Some(n)) = (variadic, nargs_cut) {
        let available = positionals.len().saturating_sub(singles);
        if n == 0 || available == 0 {
            unset = true;
            one_string = false;
        } else if n > 1 && available < n {
            return Err(UsageError::bare(
                name,
                format!("Argument '{param}' takes {n} values."),
            ));
        }
    }
    let mut extra = if positionals.len() > capacity {
        positionals.split_off(capacity)
    } else {
        Vec::new()
    };
    // burn-efuse handed one string (`NAME --force …`): espefuse's pair type
    // refuses it when click converts it, before it resolves the words left
    // for the next command (one character is no eFuse name), so those
    // words never matter
    if one_string && name == "burn-efuse" {
        extra.clear();
    }
    // click's --help is eager: it prints the command's help and exits 0
    // before the arguments are checked (TupleParameter looks for it too)
    if scan.options.iter().any(|(o, _)| o == "--help")
        || positionals.iter().any(|p| p == "-h" || p == "--help")
    {
        return Ok(ClickCommand {
            tokens: vec![name.to_string(), "--help".to_string()],
            extra: Vec::new(),
            one_string: false,
            unset: false,
        });
    }
    check_values(name, chip, &scan.options, &positionals, one)?;
    missing_arguments(name, chip, positionals.len(), one)?;
    let mut tokens = vec![name.to_string()];
    for (option, value) in scan.options {
        tokens.push(match value {
            Some(v) => format!("{option}={v}"),
            None => option,
        });
    }
    if !positionals.is_empty() {
        tokens.push("--".to_string());
        tokens.extend(positionals);
    }
    Ok(ClickCommand {
        tokens,
        extra,
        one_string,
        unset,
    })
}

/// One command's words as click has read them ([`click_command`]).
pub(super) struct ClickCommand {
    /// The words for clap.
    pub(super) tokens: Vec<String>,
    /// The words left over (the next command's name, for click).
    pub(super) extra: Vec<String>,
    /// The variadic argument was cut to a single value: click hands the
    /// command a string, not a tuple.
    pub(super) one_string: bool,
    /// The variadic argument was cut and got no value: the command gets
    /// None (not an empty tuple).
    pub(super) unset: bool,
}

/// The eFuse names read-protect-efuse and write-protect-efuse take.
fn protect_list(name: &str) -> Option<esp_efuse::espefuse::NameList> {
    match name {
        "read-protect-efuse" => Some(esp_efuse::espefuse::NameList::ReadProtectable),
        "write-protect-efuse" => Some(esp_efuse::espefuse::NameList::WriteProtectable),
        _ => None,
    }
}

/// click's conversion of option values and integer arguments.
/// `one_string`: the variadic argument was cut to one word, which the
/// grouped arguments of the key and block-data commands read character
/// by character (`base_operations.py` TupleParameter).
fn check_values(
    name: &str,
    chip: Chip,
    options: &[(String, Option<String>)],
    positionals: &[String],
    one: bool,
) -> Result<(), UsageError> {
    for (option, value) in options {
        let Some(value) = value else { continue };
        match (name, option.as_str()) {
            ("summary", "--format") => {
                let choices = ["summary", "json", "value_only"];
                if !choices.contains(&value.as_str()) {
                    return Err(not_one_of(name, "'--format'", value, &choices).on_cut(chip, one));
                }
            }
            ("dump", "--format") => {
                let choices = ["default", "split", "joint", "token"];
                if !choices.contains(&value.as_str()) {
                    return Err(not_one_of(name, "'--format'", value, &choices).on_cut(chip, one));
                }
            }
            // click.Path(dir_okay=False)
            ("dump", "--file-name") if std::path::Path::new(value).is_dir() => {
                return Err(UsageError::message(
                    name,
                    format!("Invalid value for '--file-name': File '{value}' is a directory."),
                )
                .on_cut(chip, one));
            }
            ("burn-block-data", "--offset") if py_int::parse_decimal(value).is_err() => {
                return Err(UsageError::message(
                    name,
                    format!(
                        "Invalid value for '--offset' / '-o': '{value}' is not a valid integer."
                    ),
                )
                .on_cut(chip, one));
            }
            _ => {}
        }
    }
    // click converts the options first (`core.py` iter_params_for_processing:
    // the parser records them before the arguments)
    if one {
        if let Some(word) = positionals.first() {
            super::operands::click_convert_one_string(chip, name, word)?;
        }
    }
    if name == "set-flash-voltage" {
        if let Some(voltage) = positionals.first() {
            let choices = esp_efuse::espefuse::FlashVoltage::NAMES;
            if !choices.contains(&voltage.as_str()) {
                let (choice, _) = click::voltage_choice();
                return Err(
                    not_one_of(name, &format!("'{choice}'"), voltage, &choices).on_cut(chip, one)
                );
            }
        }
    }
    if name == "burn-bit" {
        if let Some(block) = positionals.first() {
            let names = click::block_choices(chip);
            if !names.contains(&block.as_str()) {
                let (choice, _) = click::block_choice(chip);
                return Err(
                    not_one_of(name, &format!("'{choice}'"), block, &names).on_cut(chip, one)
                );
            }
        }
        for bit in positionals.iter().skip(1) {
            if py_int::parse_decimal(bit).is_err() {
                return Err(UsageError::message(
                    name,
                    format!(
                        "Invalid value for 'BIT_NUMBER{}': '{bit}' is not a valid integer.",
                        if one { "" } else { "..." }
                    ),
                )
                .on_cut(chip, one));
            }
        }
    }
    Ok(())
}

/// click's `Missing argument` for a required argument not given. `cut`:
/// espefuse's chain gave the variadic argument a fixed count, so its
/// metavar has no `...` (the Choice of the protect commands; the others'
/// variadic arguments get none then).
fn missing_arguments(name: &str, chip: Chip, given: usize, one: bool) -> Result<(), UsageError> {
    let (singles, variadic) = positional_shape(name, chip);
    if one && given == 0 {
        if let Some(list) = protect_list(name) {
            let names = esp_efuse::espefuse::help_efuse_choices(chip, list, &[]);
            return Err(UsageError::choices(name, &names, None, false).on_cut(chip, one));
        }
    }
    if name == "burn-bit" && given == 0 {
        let (choice, hint) = click::block_choice(chip);
        return Err(UsageError::missing_argument(name, chip, &choice, &hint));
    }
    if name == "set-flash-voltage" && given == 0 {
        let (choice, hint) = click::voltage_choice();
        return Err(UsageError::missing_argument(name, chip, &choice, &hint));
    }
    let required = match variadic {
        Some((_, required)) => required && given <= singles,
        None => given < singles,
    };
    // the Choice arguments of read/write-protect-efuse are not rendered:
    // clap reports those
    if required && !matches!(name, "read-protect-efuse" | "write-protect-efuse") {
        let metavar = click::variadic_metavar(name, chip);
        return Err(UsageError::missing_argument(name, chip, &metavar, ""));
    }
    Ok(())
}
