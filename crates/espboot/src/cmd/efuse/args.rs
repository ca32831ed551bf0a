//! espefuse's command line: global options, then one or more commands,
//! each parsed by clap on its own.

use std::path::PathBuf;

use anyhow::bail;
use clap::{CommandFactory, Parser, Subcommand};
use esp_efuse::{Chip, VirtualFile};

pub(super) use super::click::{CallbackChip, UsageError};
use super::click_args::{click_command, parse_global, ClickCommand};

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
    pub(super) debug: u8,
    /// Work on virtual eFuses (no chip).
    #[arg(long)]
    pub(super) virt: bool,
    /// An eFuse token dump (`EFSR:esp32:000:…`): the virtual chip's eFuses
    /// and its chip (`--chip` is then ignored); implies `--virt`.
    #[arg(long)]
    pub(super) token: Option<String>,
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
    /// An ESP-IDF eFuse CSV table whose fields extend the chip's table
    /// (shown under "User fuses" by `summary`).
    #[arg(long, alias = "extend_efuse_table")]
    pub(super) extend_efuse_table: Option<PathBuf>,
    /// How the commands were spelled.
    #[arg(skip)]
    pub(super) spelling: Spelling,
}

impl Global {
    /// How the chain runs, for `banner`'s command line.
    pub(super) fn run_options(&self, banner: super::Banner) -> super::RunOptions<'_> {
        super::RunOptions {
            do_not_confirm: self.do_not_confirm,
            spelling: &self.spelling,
            banner,
            debug: self.debug > 0,
        }
    }
}

/// Parses `args` into `T` as click reads a repeated single-value option
/// or flag: the last one counts (clap refuses the repeat by default).
pub(super) fn parse_last_wins<T: Parser>(
    args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
) -> Result<T, clap::Error> {
    let command = T::command()
        .args_override_self(true)
        .mut_subcommands(|c| c.args_override_self(true));
    let matches = crate::cmd::accept_empty_paths(command).try_get_matches_from(args)?;
    T::from_arg_matches(&matches)
}

#[derive(Debug, Parser)]
#[command(name = "espefuse", no_binary_name = true)]
pub(super) struct OneCommand {
    #[command(subcommand)]
    pub(super) cmd: Command,
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
    /// espefuse's EFSR token of the read registers.
    Token,
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
    /// Print the EFSW token of what is about to be burned, before the
    /// confirmation (it may hold key material).
    #[arg(long)]
    pub(super) show_token: bool,
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
        /// The names came as one string: an option right after one name
        /// (`summary NAME --format …`) makes click's ChainingCommand give
        /// the argument nargs=1, and espefuse then takes the string for the
        /// list (`len` counts its characters, `in` tests for a substring).
        #[arg(skip)]
        one_string: bool,
        /// The names were cut to none (an option or the next command right
        /// after the options): espefuse gets None for the list.
        #[arg(skip)]
        names_unset: bool,
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
        /// The pairs came as one string (an option right after one name,
        /// see `Summary`): espefuse then pairs up its characters.
        #[arg(skip)]
        one_string: bool,
        /// Skip the incompatible-settings check.
        #[arg(long)]
        force: bool,
        /// Print the EFSW token of what is about to be burned, before the
        /// confirmation (it may hold key material).
        #[arg(long)]
        show_token: bool,
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
        /// Print the EFSW token of what is about to be burned, before the
        /// confirmation (it may hold key material).
        #[arg(long)]
        show_token: bool,
    },
    /// Burn raw data to blocks: BLOCK FILE pairs.
    #[command(name = "burn-block-data", alias = "burn_block_data")]
    BurnBlockData {
        /// BLOCK FILE pairs.
        #[arg(required = true)]
        items: Vec<String>,
        /// Byte offset in the block.
        /// (click's int: espefuse takes a negative one too)
        #[arg(short = 'o', long, default_value_t = 0, allow_hyphen_values = true, value_parser = click_int)]
        offset: i64,
        #[arg(long, alias = "force_write_always")]
        force_write_always: bool,
        /// Print the EFSW token of what is about to be burned, before the
        /// confirmation (it may hold key material).
        #[arg(long)]
        show_token: bool,
    },
    /// Burn keys: BLOCK KEYFILE PURPOSE groups (ESP32: BLOCK KEYFILE pairs).
    #[command(name = "burn-key", alias = "burn_key")]
    BurnKey {
        /// Arguments. Required on every chip but the ESP32-C2, whose
        /// espefuse leaves them optional (`efuse/esp32c2/operations.py`);
        /// the chain reader reports the missing ones ([`super::click_args`]).
        items: Vec<String>,
        #[command(flatten)]
        opts: ProtectOpts,
        /// The groups were cut to none (the next command's name right
        /// after them): the ESP32-C2's espefuse gets None for them.
        #[arg(skip)]
        groups_unset: bool,
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
    /// Print the 48-bit custom MAC address.
    #[command(name = "get-custom-mac", alias = "get_custom_mac")]
    GetCustomMac,
    /// Print the ADC calibration data stored in the eFuses.
    #[command(name = "adc-info", alias = "adc_info")]
    AdcInfo,
    /// Burn a 48-bit custom MAC address (AA:CD:EF:01:02:03).
    #[command(name = "burn-custom-mac", alias = "burn_custom_mac")]
    BurnCustomMac {
        /// The address, bytes separated by colons.
        #[arg(allow_hyphen_values = true)]
        mac: String,
        #[arg(long, alias = "force_write_always")]
        force_write_always: bool,
        /// Print the EFSW token of what is about to be burned, before the
        /// confirmation (it may hold key material).
        #[arg(long)]
        show_token: bool,
    },
    /// Permanently set the internal flash voltage regulator (ESP32, ESP32-S2,
    /// ESP32-S3): 1.8V, 3.3V or OFF.
    #[command(name = "set-flash-voltage", alias = "set_flash_voltage")]
    SetFlashVoltage {
        /// 1.8V, 3.3V or OFF.
        voltage: String,
        // only the ESP32's espefuse has it here (`esp32/operations.py`)
        /// Print the EFSW token of what is about to be burned, before the
        /// confirmation (it may hold key material).
        #[arg(long)]
        show_token: bool,
    },
    /// Disable reading of eFuses.
    #[command(name = "read-protect-efuse", alias = "read_protect_efuse")]
    ReadProtectEfuse {
        /// Field names (checked against the eFuses' state when the run
        /// starts, as espefuse's Choice is built from them).
        names: Vec<String>,
        /// The names came as one string (an option right after one name,
        /// see `Summary`): espefuse then takes each character for a name.
        #[arg(skip)]
        one_string: bool,
        /// Print the EFSW token of what is about to be burned, before the
        /// confirmation (it may hold key material).
        #[arg(long)]
        show_token: bool,
    },
    /// Disable writing of eFuses.
    #[command(name = "write-protect-efuse", alias = "write_protect_efuse")]
    WriteProtectEfuse {
        /// Field names (checked when the run starts, see ReadProtectEfuse).
        names: Vec<String>,
        /// The names came as one string (an option right after one name,
        /// see `Summary`): espefuse then takes each character for a name.
        #[arg(skip)]
        one_string: bool,
        /// Print the EFSW token of what is about to be burned, before the
        /// confirmation (it may hold key material).
        #[arg(long)]
        show_token: bool,
    },
    // `espefuse/__init__.py` execute_scripts_cli: kept so that it fails as
    // espefuse does, when it runs
    /// Removed in espefuse v5 (see its migration guide).
    #[command(name = "execute-scripts", alias = "execute_scripts", hide = true)]
    ExecuteScripts {
        /// Ignored (scripts and their options).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
}

const COMMANDS_HELP: &str =
    "Commands (chain several; with more than one burn command the burns are batched):
  summary, dump, get-custom-mac, adc-info, check-error, burn-efuse, burn-bit,
  burn-block-data, burn-key, burn-key-digest, burn-custom-mac, set-flash-voltage,
  read-protect-efuse, write-protect-efuse

`espefuse COMMAND --help` shows a command's arguments.";

/// espefuse commands espboot does not implement (yet).
const UNSUPPORTED: &[&str] = &["burn-efuse-from-file"];

impl Command {
    /// A command that stages a burn (the others only read).
    pub(super) fn is_burn(&self) -> bool {
        !matches!(
            self,
            Command::Summary { .. }
                | Command::Dump { .. }
                | Command::CheckError { .. }
                | Command::GetCustomMac
                | Command::AdcInfo
                | Command::ExecuteScripts { .. }
        )
    }

    /// The command's `--force-write-always`, if it has the option.
    pub(super) fn force_write_always(&self) -> Option<bool> {
        match self {
            Command::BurnBit {
                force_write_always, ..
            }
            | Command::BurnBlockData {
                force_write_always, ..
            }
            | Command::BurnCustomMac {
                force_write_always, ..
            } => Some(*force_write_always),
            Command::BurnKey { opts, .. } | Command::BurnKeyDigest { opts, .. } => {
                Some(opts.force_write_always)
            }
            _ => None,
        }
    }

    /// The command's `--show-token` (base_operations.py `add_show_token`).
    pub(super) fn show_token(&self) -> bool {
        match self {
            Command::BurnEfuse { show_token, .. }
            | Command::BurnBit { show_token, .. }
            | Command::BurnBlockData { show_token, .. }
            | Command::BurnCustomMac { show_token, .. }
            | Command::SetFlashVoltage { show_token, .. }
            | Command::ReadProtectEfuse { show_token, .. }
            | Command::WriteProtectEfuse { show_token, .. } => *show_token,
            Command::BurnKey { opts, .. } | Command::BurnKeyDigest { opts, .. } => opts.show_token,
            _ => false,
        }
    }

    /// The command's `--show-sensitive-info` (the key commands').
    pub(super) fn show_sensitive_info(&self) -> bool {
        match self {
            Command::BurnKey { opts, .. } | Command::BurnKeyDigest { opts, .. } => {
                opts.show_sensitive_info
            }
            _ => false,
        }
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
            Command::GetCustomMac => "get-custom-mac",
            Command::AdcInfo => "adc-info",
            Command::BurnCustomMac { .. } => "burn-custom-mac",
            Command::SetFlashVoltage { .. } => "set-flash-voltage",
            Command::ExecuteScripts { .. } => "execute-scripts",
        }
    }
}

/// `--token` was refused: espefuse reports it from its group callback,
/// after the banner, with its hint about the port.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct TokenFailure(pub(super) esp_efuse::token::TokenError);

/// A help page espefuse prints after its group callback.
pub(super) enum HelpPage {
    /// Text ready to print.
    Text(String),
    /// A command's page (`help::command_help`), drawn once the eFuse CSV
    /// table of `--extend-efuse-table`, if any, is placed on `chip`:
    /// espefuse loads it for `--help` too, and lists its fields.
    Command {
        name: String,
        chip: Chip,
        extend_table: Option<PathBuf>,
    },
}

/// What the command line asks for.
// parsed once per run: the size difference costs nothing
#[allow(clippy::large_enum_variant)]
pub(super) enum Parsed {
    /// Help text (clap's) to print, nothing else to do.
    Help(String),
    /// A command's `-h`/`--help`: espefuse prints its banner first (and the
    /// NOTE when no chip was named), then the command's help, exit 0.
    /// `virt_file`: the `--virt --path-efuse-file` espefuse has created by
    /// then (with the chip it emulates).
    CommandHelp {
        page: HelpPage,
        chip_named: bool,
        virt_file: Option<CallbackChip>,
    },
    /// The group's help: no arguments, `-h`/`--help` among the global
    /// options (`asked`), or no command (espefuse prints its help for all
    /// three); `chip` is the one named, if any.
    GroupHelp { chip: Option<Chip>, asked: bool },
    /// The global options and the chained commands.
    Run {
        global: Global,
        /// The global options' own tokens (what `sim efuse` checks).
        global_tokens: Vec<String>,
        commands: Vec<Command>,
    },
}

/// What espefuse decides from the words of the whole command line, before
/// it reads any command, and how the commands read were spelled.
#[derive(Debug, Clone, Default)]
pub(super) struct Spelling {
    /// Per command, its deprecation warning for an underscore spelling
    /// (`esptool/cli_util.py` `get_command`), printed when click resolves
    /// it (after the banner and the connection).
    pub(super) warnings: Vec<Option<String>>,
    /// More than one word names a burn command, in any spelling
    /// (`espefuse/__init__.py` cli: batch mode), whether or not it is read
    /// as a command.
    pub(super) batch: bool,
}

/// The command names (and underscore aliases) clap knows, with a token's
/// `_` read as `-`.
fn command_name(tok: &str) -> Option<String> {
    let name = tok.replace('_', "-");
    let known = OneCommand::command().find_subcommand(&name).is_some();
    (known || UNSUPPORTED.contains(&name.as_str())).then_some(name)
}

/// Splits the command line into the global part and the chained commands
/// and parses each, the way espefuse's click group does.
pub(super) fn parse(argv: Vec<String>) -> anyhow::Result<Parsed> {
    // esptool/cli_util.py _replace_deprecated_args: while the group parses,
    // before the banner
    for tok in &argv {
        if tok.split('=').next() == Some("--file_name") {
            eprintln!(
                "WARNING: Deprecated: Option '--file_name' is deprecated. Use '--file-name' instead."
            );
        }
    }
    // the group's options end at the first word naming a command that is
    // no option's value
    let global_len = (0..argv.len())
        .find(|&i| command_name(&argv[i]).is_some() && (i == 0 || !expects_value(&argv[i - 1])))
        .unwrap_or(argv.len());
    let global_tokens = argv[..global_len].to_vec();
    let mut chain_words = argv[global_len..].to_vec();
    // cli_util.py EspefuseGroup: the words are split into groups at every
    // word naming a command (an option's value too); with a burn and a read
    // command among them (spelled with hyphens), the groups of the read
    // commands are repeated at the end of the line before click reads it
    let starts: Vec<usize> = (0..argv.len())
        .filter(|&i| super::click_args::names_command(&argv[i]))
        .collect();
    let exact = |list: &[&str], w: &String| list.contains(&w.as_str());
    let used = |list: &[&str]| starts.iter().any(|&i| exact(list, &argv[i]));
    if used(super::click::BURN_COMMANDS) && used(super::click::READ_COMMANDS) {
        for (n, &i) in starts.iter().enumerate() {
            if exact(super::click::READ_COMMANDS, &argv[i]) {
                let end = starts.get(n + 1).copied().unwrap_or(argv.len());
                chain_words.extend_from_slice(&argv[i..end]);
            }
        }
    }
    let burn_words = starts
        .iter()
        .filter(|&&i| exact(super::click::BURN_COMMANDS, &argv[i].replace('_', "-")))
        .count();
    // espefuse/__init__.py cli: any word naming execute-scripts
    let removed_only = starts
        .iter()
        .any(|&i| argv[i].replace('_', "-") == "execute-scripts");
    let asked = global_tokens.iter().any(|t| t == "-h" || t == "--help");
    if asked || chain_words.is_empty() {
        // the chip named (click's ChipType: any case, `-`, `(`, `)` dropped)
        let named = global_tokens
            .iter()
            .position(|t| t == "-c" || t == "--chip")
            .and_then(|i| global_tokens.get(i + 1).cloned())
            .or_else(|| {
                global_tokens
                    .iter()
                    .find_map(|t| t.strip_prefix("--chip=").map(str::to_string))
            })
            .or_else(|| std::env::var("ESPTOOL_CHIP").ok())
            .map(|c| {
                c.to_lowercase()
                    .chars()
                    .filter(|ch| !matches!(ch, '-' | '(' | ')'))
                    .collect::<String>()
            });
        if asked || named.as_deref() != Some("auto") {
            // an unknown chip is click's usage error, before any help
            if !asked {
                parse_global(&global_tokens)?;
            }
            return Ok(Parsed::GroupHelp {
                chip: named.and_then(|c| c.parse::<Chip>().ok()),
                asked,
            });
        }
        return Ok(Parsed::GroupHelp { chip: None, asked });
    }
    let Some((mut global, group_args)) = parse_global(&global_tokens)? else {
        return Ok(Parsed::Help(String::new()));
    };
    // a token names the chip, whatever --chip says (efuse_interface.py
    // get_esp); its format is checked in the group's callback, after the
    // banner and before any command is read, so a bad token is reported
    // first
    // espefuse/__init__.py cli: with execute-scripts anywhere in the chain
    // the group's callback returns before it reads the token or makes the
    // chip (no file), and before it adds the other commands, so click
    // knows execute-scripts alone
    let token = match &global.token {
        _ if removed_only => None,
        // an empty token without --virt or --port is the missing --port
        Some(text) if text.is_empty() && !global.virt && global.port.is_none() => None,
        Some(text) => {
            Some(esp_efuse::token::decode(text).map_err(|e| anyhow::Error::new(TokenFailure(e)))?)
        }
        None => None,
    };
    let token_chip = token.as_ref().map(|t| t.chip);
    // espefuse's virtual mode falls back to ESP32 when no chip is named
    // (and so do the usage texts, before a chip is detected)
    let chip = token_chip.unwrap_or_else(|| global.chip.parse::<Chip>().unwrap_or(Chip::Esp32));
    let chip_detected_later = token_chip.is_none()
        && global.chip.parse::<Chip>().is_err()
        && global.port.is_some()
        && !global.virt;
    // espefuse/__init__.py: the group's callback makes the emulated chip
    // (get_esp), which creates the virtual file, before click resolves and
    // parses the chained commands; their usage errors and help come after it
    // (a token makes the chip virtual: efuse_interface.py get_esp)
    let after_callback = (global.virt || token.is_some()).then(|| CallbackChip {
        chip,
        // `if self.efuse_file:`: an empty name is no file
        file: global
            .path_efuse_file
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
            .map(VirtualFile::espefuse),
        token: token.as_ref().map(|t| t.efuses()),
        debug: global.debug > 0,
    });
    drop(token);
    let after_callback = after_callback.filter(|_| !removed_only);
    // the commands parsed so far, for a usage error of a later one
    let parsed_before = std::cell::RefCell::new(Vec::new());
    let parsed_so_far = &parsed_before;
    let parsed = (move || -> anyhow::Result<Parsed> {
        let unknown = |word: &str| {
            if removed_only {
                UsageError::no_such_command_among(word, &["execute-scripts"])
            } else {
                UsageError::no_such_command(word, chip)
            }
        };
        // click resolves the commands in order: a word before the first
        // command is taken for one
        if let Some(word) = group_args.first() {
            return Err(unknown(word).into());
        }
        let mut commands: Vec<Command> = Vec::new();
        // per command read, its underscore spelling's warning
        let mut warnings: Vec<Option<String>> = Vec::new();
        let mut rest = chain_words;
        while let Some(word) = rest.first().cloned() {
            let warned_before: Vec<String> = warnings.iter().flatten().cloned().collect();
            // click resolves the word (`core.py` resolve_command): the name,
            // or its underscore spelling with a warning (esptool's
            // get_command); the chip's commands or, with execute-scripts on
            // the line, that one alone
            let resolved = command_name(&word).filter(|n| {
                (word == *n || word == n.replace('-', "_"))
                    && (!removed_only || n == "execute-scripts")
            });
            let Some(name) = resolved else {
                // a word that looks like an option (`parser.py` _split_opt:
                // it starts with no letter or digit) has the group read the
                // words left again (`core.py` resolve_command): with no
                // command's name among them espefuse prints its help, after
                // the banner; else the group's own usage errors come first
                let option_like = word.chars().next().is_some_and(|c| !c.is_alphanumeric());
                if option_like && !removed_only {
                    if !rest.iter().any(|w| super::click_args::names_command(w)) {
                        return Ok(Parsed::CommandHelp {
                            page: HelpPage::Text(super::help::group_help(Some(chip))),
                            chip_named: true,
                            virt_file: None,
                        });
                    }
                    if let Err(e) = parse_global(&rest) {
                        return Err(match e.downcast::<UsageError>() {
                            Ok(mut u) => {
                                u.after_banner = true;
                                u.warnings = warned_before;
                                u.into()
                            }
                            Err(e) => e,
                        });
                    }
                }
                let mut e = unknown(&word);
                e.warnings = warned_before;
                return Err(e.into());
            };
            // efuse/<chip>/operations.py: only the ESP32, S2 and S3 add it; click
            // names the word as given, before its own deprecation warning
            if name == "set-flash-voltage"
                && !chip_detected_later
                && !esp_efuse::espefuse::has_set_flash_voltage(chip)
            {
                let mut e = UsageError::no_such_command(&word, chip);
                e.warnings = warned_before;
                return Err(e.into());
            }
            warnings.push((word != name).then(|| {
                format!(
                    "WARNING: Deprecated: Command '{word}' is deprecated. Use '{name}' instead."
                )
            }));
            let warned = || -> Vec<String> { warnings.iter().flatten().cloned().collect() };
            let with_warnings = |mut e: UsageError| {
                e.warnings = warned();
                e.after_banner = true;
                anyhow::Error::new(e)
            };
            if UNSUPPORTED.contains(&name.as_str()) {
                bail!("espefuse command '{name}' is not supported by espboot yet");
            }
            // click hands execute-scripts its words unprocessed up to the
            // next command's name, but for its own options (`__init__.py`
            // execute_scripts_cli)
            if name == "execute-scripts" {
                let end = rest[1..]
                    .iter()
                    .position(|w| super::click_args::names_command(w))
                    .map_or(rest.len(), |p| p + 1);
                let words = rest[1..end].to_vec();
                let more = end < rest.len();
                if let Some(option) = execute_scripts_options(&words, more) {
                    let chip_named = global.chip != "auto";
                    return match option {
                        Ok(()) => Ok(Parsed::CommandHelp {
                            page: HelpPage::Text(super::help::command_help(
                                "execute-scripts",
                                chip,
                                &[],
                            )),
                            chip_named,
                            virt_file: None,
                        }),
                        Err(e) => Err(with_warnings(e)),
                    };
                }
                commands.push(Command::ExecuteScripts { rest: words });
                rest.drain(..end);
                continue;
            }
            let mut seg = rest.clone();
            seg[0] = name.clone();
            let ClickCommand {
                tokens,
                extra,
                one_string,
                unset,
            } = if chip_detected_later {
                // espefuse connects and detects the chip before it reads the
                // commands; here the words are shaped by the first chip whose
                // espefuse reads them all (ESP32's usage text when none does), and
                // the detected chip checks the values when the command runs
                std::iter::once(Chip::Esp32)
                    .chain(Chip::ALL.into_iter().filter(|c| *c != Chip::Esp32))
                    .map(|c| click_command(&seg, c))
                    .find(|r| {
                        r.as_ref().is_ok_and(|c| {
                            c.extra
                                .first()
                                .is_none_or(|w| super::click_args::names_command(w))
                        })
                    })
                    .unwrap_or_else(|| click_command(&seg, chip))
            } else {
                click_command(&seg, chip)
            }
            .map_err(with_warnings)?;
            match parse_last_wins::<OneCommand>(&tokens) {
                Ok(mut c) => {
                    if let Command::Summary { one_string: o, .. }
                    | Command::BurnEfuse { one_string: o, .. }
                    | Command::ReadProtectEfuse { one_string: o, .. }
                    | Command::WriteProtectEfuse { one_string: o, .. } = &mut c.cmd
                    {
                        *o = one_string;
                    }
                    if let Command::Summary { names_unset: u, .. }
                    | Command::BurnKey {
                        groups_unset: u, ..
                    } = &mut c.cmd
                    {
                        *u = unset;
                    }
                    let warning = warnings.last().cloned().flatten();
                    parsed_so_far.borrow_mut().push((c.cmd.clone(), warning));
                    commands.push(c.cmd)
                }
                Err(e) => {
                    let chip_named = global.chip != "auto";
                    return clap_error(e, &name)
                        .map(|p| match p {
                            Parsed::Help(_) => Parsed::CommandHelp {
                                page: HelpPage::Command {
                                    name: name.clone(),
                                    chip,
                                    extend_table: global.extend_efuse_table.clone(),
                                },
                                chip_named,
                                virt_file: None,
                            },
                            other => other,
                        })
                        .map_err(|e| match e.downcast::<UsageError>() {
                            Ok(u) => with_warnings(u.on(chip)),
                            Err(e) => e,
                        });
                }
            }
            // what click's parser left over is the next command; click
            // converts this command's arguments before it looks that up
            let next_unknown = extra.first().is_some_and(|w| command_name(w).is_none());
            if let (Some(cmd), true) = (commands.last(), next_unknown && !chip_detected_later) {
                super::operands::click_convert(chip, cmd).map_err(with_warnings)?;
            }
            rest = extra;
        }
        global.spelling = Spelling {
            warnings,
            batch: burn_words > 1,
        };
        Ok(Parsed::Run {
            global,
            global_tokens,
            commands,
        })
    })();
    match parsed {
        Ok(Parsed::CommandHelp {
            page, chip_named, ..
        }) => Ok(Parsed::CommandHelp {
            page,
            chip_named,
            virt_file: after_callback,
        }),
        Err(e) => Err(match e.downcast::<UsageError>() {
            Ok(mut u) => {
                if u.after_banner {
                    u.virt_file = after_callback.map(Box::new);
                    u.parsed_before =
                        Some(Box::new(super::click::ParsedBefore(parsed_before.take())));
                }
                u.into()
            }
            Err(e) => e,
        }),
        other => other,
    }
}

/// execute-scripts' own options as click reads them (`--index` and
/// `--configfiles` take a value, options anywhere among the scripts):
/// `Some(Ok)` for `--help`, `Some(Err)` for an option it lacks, `None`
/// when the words are fine. `more`: another command follows.
fn execute_scripts_options(words: &[String], more: bool) -> Option<Result<(), UsageError>> {
    const TAKES_VALUE: [&str; 2] = ["--index", "--configfiles"];
    let mut i = 0;
    while let Some(word) = words.get(i) {
        i += 1;
        let option = word.split('=').next().unwrap_or(word);
        if word == "--help" || word == "-h" {
            return Some(Ok(()));
        } else if TAKES_VALUE.contains(&option) {
            if !word.contains('=') {
                // the next word is its value, whatever it looks like
                i += 1;
            }
        } else if word.len() > 1 && word.starts_with('-') {
            let long: Vec<String> = TAKES_VALUE.iter().map(|o| o.to_string()).collect();
            // cli_util.py ChainingCommand.parse_args: the first option or
            // command after the first word sets SCRIPTS' nargs to its index,
            // which the usage line shows (`[SCRIPTS]` for one)
            let cut = words
                .iter()
                .skip(1)
                .position(|w| w.starts_with('-'))
                .map(|p| p + 1)
                .or((more && !words.is_empty()).then_some(words.len()));
            let args = if cut == Some(1) {
                " [SCRIPTS]"
            } else {
                " [SCRIPTS]..."
            };
            return Some(Err(UsageError::no_such_option_among(
                "execute-scripts",
                option,
                &long,
            )
            .with_usage_args(args)));
        }
    }
    None
}

/// A command name right after an option that takes a value is that value
/// (click's parser takes the next word for it, `--format summary`).
fn expects_value(last: &str) -> bool {
    matches!(
        last,
        "--chip"
            | "-c"
            | "--port"
            | "-p"
            | "--path-efuse-file"
            | "--path_efuse_file"
            | "--file"
            | "--file-name"
            | "--format"
            | "--offset"
            | "-o"
            | "--baud"
            | "-b"
            | "--before"
            | "--after"
            | "-a"
            | "--token"
    )
}

/// Help is printed and ends the run; anything else is a one-line error
/// naming the command.
pub(super) fn clap_error(e: clap::Error, what: &str) -> anyhow::Result<Parsed> {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(Parsed::Help(e.to_string())),
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

/// click's `int` (`crate::cmd::click_int`), within an `i64`.
fn click_int(text: &str) -> Result<i64, String> {
    crate::cmd::click_int(text)
        .ok()
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| format!("'{text}' is not a valid integer."))
}
