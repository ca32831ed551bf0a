//! espefuse's command line: global options, then one or more commands,
//! each parsed by clap on its own.

use std::path::PathBuf;

use anyhow::bail;
use clap::{CommandFactory, Parser, Subcommand};
use esp_efuse::Chip;

use super::click;
pub(super) use super::click::UsageError;

/// espefuse's global options.
#[derive(Debug, Parser)]
#[command(
    name = "espefuse",
    no_binary_name = true,
    about = "eFuses, virtual (espefuse-compatible)",
    override_usage = "espefuse [OPTIONS] COMMAND [ARGS]... [COMMAND [ARGS]...]...",
    after_help = COMMANDS_HELP,
    after_long_help = COMMANDS_HELP
)]
pub(crate) struct Global {
    /// Target chip.
    #[arg(short = 'c', long, env = "ESPTOOL_CHIP", default_value = "auto")]
    pub(super) chip: String,
    /// Serial port of the chip (a device or a PTY path).
    #[arg(short = 'p', long, env = "ESPTOOL_PORT")]
    pub(super) port: Option<String>,
    /// Baud rate (ignored in virtual mode).
    #[arg(short = 'b', long, env = "ESPTOOL_BAUD")]
    pub(super) baud: Option<u32>,
    /// Reset mode before connecting (ignored in virtual mode).
    #[arg(long)]
    pub(super) before: Option<String>,
    /// Reset mode after the operation (ignored in virtual mode).
    #[arg(short = 'a', long)]
    after: Option<String>,
    /// Debug output (click accepts the flag repeated).
    #[arg(short = 'd', long, action = clap::ArgAction::Count)]
    debug: u8,
    /// Work on virtual eFuses (no chip).
    #[arg(long)]
    pub(super) virt: bool,
    /// Virtual eFuse file (espefuse's format); without it nothing persists.
    #[arg(long, alias = "path_efuse_file")]
    pub(super) path_efuse_file: Option<PathBuf>,
    /// Burn without asking for `BURN`.
    #[arg(long, alias = "do_not_confirm")]
    pub(super) do_not_confirm: bool,
    /// Postpone BLOCK0 protection bits to a second pass (default).
    #[arg(long, overrides_with = "no_postpone")]
    postpone: bool,
    /// Burn BLOCK0 protection bits together with everything else.
    #[arg(long)]
    pub(super) no_postpone: bool,
    /// How the commands were spelled.
    #[arg(skip)]
    pub(super) spelling: Spelling,
}

#[derive(Debug, Parser)]
#[command(name = "espefuse", no_binary_name = true)]
struct OneCommand {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum SummaryFormat {
    Summary,
    Json,
    #[value(name = "value_only", alias = "value-only")]
    ValueOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum DumpFormat {
    Default,
    Split,
    Joint,
}

#[derive(Debug, clap::Args, Clone)]
pub(super) struct ProtectOpts {
    /// Leave the key block writeable.
    #[arg(long, alias = "no_write_protect")]
    pub(super) no_write_protect: bool,
    /// Leave the key block readable.
    #[arg(long, alias = "no_read_protect")]
    pub(super) no_read_protect: bool,
    /// Ignore read/write-protection errors (as espefuse).
    #[arg(long, alias = "force_write_always")]
    pub(super) force_write_always: bool,
    /// Print key bytes.
    #[arg(long, alias = "show_sensitive_info")]
    pub(super) show_sensitive_info: bool,
    /// ESP32: leave the key unprotected.
    #[arg(long, alias = "no_protect_key")]
    pub(super) no_protect_key: bool,
}

#[derive(Debug, Subcommand, Clone)]
pub(super) enum Command {
    /// Print a summary of the eFuses.
    Summary {
        /// Only these fields.
        names: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "summary")]
        format: SummaryFormat,
        /// Only non-zero or protected fields.
        #[arg(long)]
        active: bool,
        /// Write to this file instead of stdout.
        #[arg(long)]
        file: Option<PathBuf>,
        /// espboot's own: only the JSON summary on stdout, no banner or
        /// headers (`espboot efuse … summary --json`; not an espefuse option).
        #[arg(long)]
        json: bool,
    },
    /// Print the raw block registers.
    Dump {
        /// Output format.
        #[arg(long, value_enum, default_value = "default")]
        format: DumpFormat,
        /// Write the blocks to files.
        #[arg(long, alias = "file_name")]
        file_name: Option<PathBuf>,
    },
    /// Check for coding errors.
    #[command(name = "check-error", alias = "check_error")]
    CheckError {
        /// Try to recover (nothing to recover on virtual eFuses).
        #[arg(long)]
        recovery: bool,
    },
    /// Burn eFuses: NAME [VALUE] pairs.
    #[command(name = "burn-efuse", alias = "burn_efuse")]
    BurnEfuse {
        /// NAME VALUE pairs (bool fields and bit counters may omit VALUE).
        #[arg(required = true, allow_hyphen_values = true)]
        pairs: Vec<String>,
        /// Skip the incompatible-settings check.
        #[arg(long)]
        force: bool,
    },
    /// Burn individual bits of a block.
    #[command(name = "burn-bit", alias = "burn_bit")]
    BurnBit {
        /// Block name.
        block: String,
        /// Bit numbers (0 = LSB of word 0).
        #[arg(required = true)]
        bits: Vec<u64>,
        #[arg(long, alias = "force_write_always")]
        force_write_always: bool,
    },
    /// Burn raw data to blocks: BLOCK FILE pairs.
    #[command(name = "burn-block-data", alias = "burn_block_data")]
    BurnBlockData {
        /// BLOCK FILE pairs.
        #[arg(required = true)]
        items: Vec<String>,
        /// Byte offset in the block.
        #[arg(short = 'o', long, default_value_t = 0)]
        offset: usize,
        #[arg(long, alias = "force_write_always")]
        force_write_always: bool,
    },
    /// Burn keys: BLOCK KEYFILE PURPOSE groups (ESP32: BLOCK KEYFILE pairs).
    #[command(name = "burn-key", alias = "burn_key")]
    BurnKey {
        /// Arguments.
        #[arg(required = true)]
        items: Vec<String>,
        #[command(flatten)]
        opts: ProtectOpts,
    },
    /// Burn Secure Boot V2 public-key digests: BLOCK KEYFILE PURPOSE groups
    /// (ESP32, ESP32-C2: KEYFILE).
    #[command(name = "burn-key-digest", alias = "burn_key_digest")]
    BurnKeyDigest {
        /// Arguments.
        #[arg(required = true)]
        items: Vec<String>,
        #[command(flatten)]
        opts: ProtectOpts,
    },
    /// Disable reading of eFuses.
    #[command(name = "read-protect-efuse", alias = "read_protect_efuse")]
    ReadProtectEfuse {
        /// Field names.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Disable writing of eFuses.
    #[command(name = "write-protect-efuse", alias = "write_protect_efuse")]
    WriteProtectEfuse {
        /// Field names.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

const COMMANDS_HELP: &str =
    "Commands (chain several; with more than one burn command the burns are batched):
  summary, dump, check-error, burn-efuse, burn-bit, burn-block-data, burn-key,
  burn-key-digest, read-protect-efuse, write-protect-efuse

`espefuse COMMAND --help` shows a command's arguments.";

/// espefuse commands espboot does not implement (yet).
const UNSUPPORTED: &[&str] = &[
    "adc-info",
    "burn-custom-mac",
    "get-custom-mac",
    "set-flash-voltage",
    "execute-scripts",
    "burn-efuse-from-file",
];

impl Command {
    /// A command that stages a burn (the others only read).
    pub(super) fn is_burn(&self) -> bool {
        !matches!(
            self,
            Command::Summary { .. } | Command::Dump { .. } | Command::CheckError { .. }
        )
    }

    /// espefuse's name of the command.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Command::Summary { .. } => "summary",
            Command::Dump { .. } => "dump",
            Command::CheckError { .. } => "check-error",
            Command::BurnEfuse { .. } => "burn-efuse",
            Command::BurnBit { .. } => "burn-bit",
            Command::BurnBlockData { .. } => "burn-block-data",
            Command::BurnKey { .. } => "burn-key",
            Command::BurnKeyDigest { .. } => "burn-key-digest",
            Command::ReadProtectEfuse { .. } => "read-protect-efuse",
            Command::WriteProtectEfuse { .. } => "write-protect-efuse",
        }
    }
}

/// What the command line asks for.
// parsed once per run: the size difference costs nothing
#[allow(clippy::large_enum_variant)]
pub(super) enum Parsed {
    /// `--help` (or a command's): printed, nothing else to do.
    Help,
    /// The global options and the chained commands.
    Run {
        global: Global,
        /// The global options' own tokens (what `sim efuse` checks).
        global_tokens: Vec<String>,
        commands: Vec<Command>,
    },
}

/// How the commands were spelled: espefuse repeats only the read commands
/// spelled with hyphens after burns, and warns of each underscore spelling
/// when it resolves the command (after the banner and the connection).
#[derive(Debug, Clone, Default)]
pub(super) struct Spelling {
    /// Per command, whether it was spelled with hyphens.
    pub(super) hyphenated: Vec<bool>,
    /// Per command, its deprecation warning (`esptool/cli_util.py`
    /// `get_command`).
    pub(super) warnings: Vec<Option<String>>,
}

/// The command names (and underscore aliases) clap knows, with a token's
/// `_` read as `-`.
fn command_name(tok: &str) -> Option<String> {
    let name = tok.replace('_', "-");
    let known = OneCommand::command().find_subcommand(&name).is_some();
    (known || UNSUPPORTED.contains(&name.as_str())).then_some(name)
}

/// espefuse's `--chip` choices (`efuse_interface.py` SUPPORTED_CHIPS, after
/// "auto"), in its order.
const CLICK_CHIPS: &[&str] = &[
    "auto", "linux", "esp32", "esp32c2", "esp32c3", "esp32c6", "esp32c61", "esp32c5", "esp32e22",
    "esp32h2", "esp32h21", "esp32h4", "esp32p4", "esp32s2", "esp32s3", "esp32s31",
];

/// The group's options click knows that espboot does not take (they are
/// still suggested for a misspelt option).
const CLICK_ONLY_GLOBAL: &[&str] = &["--token", "--extend-efuse-table"];

/// Splits the command line into the global part and the chained commands
/// and parses each, the way espefuse's click group does.
pub(super) fn parse(argv: Vec<String>) -> anyhow::Result<Parsed> {
    let mut global_tokens: Vec<String> = Vec::new();
    let mut segments: Vec<Vec<String>> = Vec::new();
    let mut spelled: Vec<String> = Vec::new();
    // esptool/cli_util.py _replace_deprecated_args: while the group parses,
    // before the banner
    for tok in &argv {
        if tok.split('=').next() == Some("--file_name") {
            eprintln!(
                "WARNING: Deprecated: Option '--file_name' is deprecated. Use '--file-name' instead."
            );
        }
    }
    for tok in argv {
        match command_name(&tok) {
            Some(name) if segments.is_empty() || !expects_value(&global_tokens, &segments) => {
                spelled.push(tok);
                segments.push(vec![name]);
            }
            _ => match segments.last_mut() {
                Some(seg) => seg.push(tok),
                None => global_tokens.push(tok),
            },
        }
    }
    let spelling = Spelling {
        hyphenated: segments
            .iter()
            .zip(&spelled)
            .map(|(s, t)| s[0] == *t)
            .collect(),
        warnings: segments
            .iter()
            .zip(&spelled)
            .map(|(s, t)| {
                (s[0] != *t).then(|| {
                    format!(
                        "WARNING: Deprecated: Command '{t}' is deprecated. Use '{}' instead.",
                        s[0]
                    )
                })
            })
            .collect(),
    };
    let Some((mut global, group_args)) = parse_global(&global_tokens)? else {
        return Ok(Parsed::Help);
    };
    // espefuse's virtual mode falls back to ESP32 when no chip is named
    // (and so do the usage texts, before a chip is detected)
    let chip = global.chip.parse::<Chip>().unwrap_or(Chip::Esp32);
    global.spelling = spelling.clone();
    if segments.is_empty() {
        let names: Vec<String> = OneCommand::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        bail!("no command given (expected one of: {})", names.join(", "));
    }
    // click resolves the commands in order: a word before the first
    // command is taken for one
    if let Some(word) = group_args.first() {
        return Err(UsageError::no_such_command(word, chip).into());
    }
    let mut commands: Vec<Command> = Vec::new();
    for (k, seg) in segments.iter().enumerate() {
        let warned =
            || -> Vec<String> { spelling.warnings[..=k].iter().flatten().cloned().collect() };
        let with_warnings = |mut e: UsageError| {
            e.warnings = warned();
            e.after_banner = true;
            anyhow::Error::new(e)
        };
        if UNSUPPORTED.contains(&seg[0].as_str()) {
            bail!(
                "espefuse command '{}' is not supported by espboot yet",
                seg[0]
            );
        }
        let (tokens, extra) = click_command(seg, chip).map_err(with_warnings)?;
        match OneCommand::try_parse_from(&tokens) {
            Ok(c) => commands.push(c.cmd),
            Err(e) => {
                return clap_error(e, &seg[0]).map_err(|e| match e.downcast::<UsageError>() {
                    Ok(u) => with_warnings(u.on(chip)),
                    Err(e) => e,
                })
            }
        }
        // what click's parser left over is the next command's name
        if let Some(word) = extra.first() {
            return Err(with_warnings(UsageError::no_such_command(word, chip)));
        }
    }
    Ok(Parsed::Run {
        global,
        global_tokens,
        commands,
    })
}

/// The group's options as click reads them: unknown options and bad
/// choices are click's usage errors (before the banner). Returns the
/// options and the words that are no option's value (`None`: help was
/// printed).
fn parse_global(tokens: &[String]) -> anyhow::Result<Option<(Global, Vec<String>)>> {
    let cmd = Global::command();
    let mut long = long_options(&cmd);
    long.extend(CLICK_ONLY_GLOBAL.iter().map(|s| s.to_string()));
    let scan = scan_options(&cmd, "espefuse", tokens, &long)?;
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
                if !CLICK_CHIPS.contains(&v.as_str()) {
                    return Err(not_one_of("espefuse", "'--chip' / '-c'", &v, CLICK_CHIPS).into());
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
            "--before" => reset_mode(
                "--before",
                "'--before'",
                value,
                &["default-reset", "usb-reset", "no-reset", "no-reset-no-sync"],
            )?,
            "--after" => reset_mode(
                "--after",
                "'--after' / '-a'",
                value,
                &["hard-reset", "soft-reset", "no-reset", "watchdog-reset"],
            )?,
            _ => value.clone(),
        };
        options.push(format!("{name}={value}"));
    }
    match Global::try_parse_from(&options) {
        Ok(g) => Ok(Some((g, scan.positionals))),
        Err(e) => clap_error(e, "espefuse").map(|_| None),
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
    let mut long: Vec<String> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    long.push("--help".to_string());
    long
}

/// click's option pass (`parser.py` `_process_args_for_options`): each
/// option must be one of `cmd`'s (else `No such option`), an option taking
/// a value takes the next word whatever it is (none: `requires an
/// argument`), `--` ends the options.
fn scan_options(
    cmd: &clap::Command,
    command: &str,
    tokens: &[String],
    long: &[String],
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
        if let Some(body) = tok.strip_prefix("--").filter(|b| !b.is_empty()) {
            let (name, attached) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            if name == "help" {
                scan.options.push(("--help".to_string(), None));
                continue;
            }
            let Some(arg) = find_long(name) else {
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
        _ => (0, None),
    }
}

/// One command's words as espefuse reads them (`cli_util.py`
/// ChainingCommand.parse_args and ChainParser): an option after the first
/// argument ends the variadic argument there (what follows the options is
/// left for the next command: `No such command`); options anywhere else
/// are click's; argument values are converted as click's types do.
/// Returns the words for clap and the words left over.
fn click_command(seg: &[String], chip: Chip) -> Result<(Vec<String>, Vec<String>), UsageError> {
    let name = seg[0].as_str();
    let args = &seg[1..];
    let root = OneCommand::command();
    let Some(cmd) = root.find_subcommand(name) else {
        return Ok((seg.to_vec(), Vec::new()));
    };
    let (singles, variadic) = positional_shape(name, chip);
    let cut = args
        .iter()
        .skip(1)
        .position(|a| a.starts_with('-'))
        .map(|p| p + 1);
    let capacity = match (variadic, cut) {
        (Some((param, required)), Some(cut)) => {
            // ChainingCommand: nargs = args.index(option) - arguments_count
            // + 1, the index of the option's first occurrence; a negative
            // nargs other than 0 leaves the argument variadic
            let i = args.iter().position(|a| *a == args[cut]).unwrap_or(cut);
            let nargs = i as isize - singles as isize;
            if nargs == 0 && required {
                return Err(UsageError::bare(
                    name,
                    format!("Command `{name}` requires the `{param}` argument."),
                ));
            }
            match usize::try_from(nargs) {
                Ok(n) if n > 0 => singles + n,
                _ => usize::MAX,
            }
        }
        (Some(_), None) => usize::MAX,
        (None, _) => singles,
    };
    let mut long = long_options(cmd);
    long.retain(|l| l != "--json");
    let scan = scan_options(cmd, name, args, &long)?;
    let mut positionals = scan.positionals;
    let extra = if positionals.len() > capacity {
        positionals.split_off(capacity)
    } else {
        Vec::new()
    };
    check_values(name, chip, &scan.options, &positionals)?;
    missing_arguments(name, chip, positionals.len())?;
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
    Ok((tokens, extra))
}

/// click's conversion of option values and integer arguments.
fn check_values(
    name: &str,
    chip: Chip,
    options: &[(String, Option<String>)],
    positionals: &[String],
) -> Result<(), UsageError> {
    for (option, value) in options {
        let Some(value) = value else { continue };
        match (name, option.as_str()) {
            ("summary", "--format") => {
                let choices = ["summary", "json", "value_only"];
                if !choices.contains(&value.as_str()) {
                    return Err(not_one_of(name, "'--format'", value, &choices).on(chip));
                }
            }
            ("dump", "--format") => {
                let choices = ["default", "split", "joint", "token"];
                if !choices.contains(&value.as_str()) {
                    return Err(not_one_of(name, "'--format'", value, &choices).on(chip));
                }
            }
            ("burn-block-data", "--offset") if py_int::parse_decimal(value).is_err() => {
                return Err(UsageError::message(
                    name,
                    format!(
                        "Invalid value for '--offset' / '-o': '{value}' is not a valid integer."
                    ),
                )
                .on(chip));
            }
            _ => {}
        }
    }
    if name == "burn-bit" {
        if let Some(block) = positionals.first() {
            let names = esp_efuse::espefuse::burn_block_data_names(chip);
            if !names.contains(&block.as_str()) {
                let (choice, _) = click::block_choice(chip);
                return Err(not_one_of(name, &format!("'{choice}'"), block, &names).on(chip));
            }
        }
        for bit in positionals.iter().skip(1) {
            if py_int::parse_decimal(bit).is_err() {
                return Err(UsageError::message(
                    name,
                    format!("Invalid value for 'BIT_NUMBER...': '{bit}' is not a valid integer."),
                )
                .on(chip));
            }
        }
    }
    Ok(())
}

/// click's `Missing argument` for a required argument not given.
fn missing_arguments(name: &str, chip: Chip, given: usize) -> Result<(), UsageError> {
    let (singles, variadic) = positional_shape(name, chip);
    if name == "burn-bit" && given == 0 {
        let (choice, hint) = click::block_choice(chip);
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

/// A command name right after an option that takes a value is that value.
fn expects_value(global: &[String], segments: &[Vec<String>]) -> bool {
    let last = match segments.last() {
        Some(seg) => seg.last(),
        None => global.last(),
    };
    matches!(
        last.map(String::as_str),
        Some(
            "--chip"
                | "-c"
                | "--port"
                | "-p"
                | "--path-efuse-file"
                | "--path_efuse_file"
                | "--file"
                | "--file-name"
        )
    )
}

/// Help is printed and ends the run; anything else is a one-line error
/// naming the command.
fn clap_error(e: clap::Error, what: &str) -> anyhow::Result<Parsed> {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            use std::io::Write as _;
            let _ = write!(std::io::stdout().lock(), "{e}");
            Ok(Parsed::Help)
        }
        // click: `No such option '--x'.`
        ErrorKind::UnknownArgument => {
            let option = match e.get(clap::error::ContextKind::InvalidArg) {
                Some(clap::error::ContextValue::String(arg)) => arg.clone(),
                _ => String::new(),
            };
            Err(UsageError::no_such_option(what, &option).into())
        }
        _ => {
            let text = e.to_string();
            let first = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ")
                .to_string();
            Err(UsageError::message(what, first).into())
        }
    }
}
