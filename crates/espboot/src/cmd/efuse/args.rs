//! espefuse's command line: global options, then one or more commands,
//! each parsed by clap on its own.

use std::path::PathBuf;

use anyhow::bail;
use clap::{CommandFactory, Parser, Subcommand};

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
    #[arg(long)]
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
    /// Per command, whether it was spelled with hyphens as given (espefuse
    /// repeats only those read commands after burns).
    #[arg(skip)]
    pub(super) hyphenated: Vec<bool>,
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

/// The command names (and underscore aliases) clap knows, with a token's
/// `_` read as `-`.
fn command_name(tok: &str) -> Option<String> {
    let name = tok.replace('_', "-");
    let known = OneCommand::command().find_subcommand(&name).is_some();
    (known || UNSUPPORTED.contains(&name.as_str())).then_some(name)
}

/// Splits the command line into the global part and the chained commands
/// and parses each.
pub(super) fn parse(argv: Vec<String>) -> anyhow::Result<Parsed> {
    let mut global_tokens: Vec<String> = Vec::new();
    let mut segments: Vec<Vec<String>> = Vec::new();
    // esptool/cli_util.py: the group warns first of deprecated options
    // (_replace_deprecated_args), then of each underscore command name
    // (get_command), on stderr
    let mut warnings: Vec<String> = Vec::new();
    let mut hyphenated: Vec<bool> = Vec::new();
    for tok in &argv {
        if tok.split('=').next() == Some("--file_name") {
            warnings.push(
                "WARNING: Deprecated: Option '--file_name' is deprecated. Use '--file-name' instead."
                    .to_string(),
            );
        }
    }
    for tok in argv {
        if tok.contains('_') && !expects_value(&global_tokens, &segments) {
            if let Some(name) = command_name(&tok) {
                warnings.push(format!(
                    "WARNING: Deprecated: Command '{tok}' is deprecated. Use '{name}' instead."
                ));
            }
        }
        match command_name(&tok) {
            Some(name) if segments.is_empty() || !expects_value(&global_tokens, &segments) => {
                hyphenated.push(name == tok);
                segments.push(vec![name]);
            }
            _ => match segments.last_mut() {
                // click ends burn-efuse's pairs at `--force`: what follows
                // is the next command (`No such command` if it is none)
                Some(seg)
                    if seg[0] == "burn-efuse"
                        && seg.iter().any(|t| t == "--force")
                        && !tok.starts_with('-') =>
                {
                    segments.push(vec![tok]);
                }
                Some(seg) => seg.push(tok),
                None => global_tokens.push(tok),
            },
        }
    }
    for warning in &warnings {
        eprintln!("{warning}");
    }
    let global = match Global::try_parse_from(&global_tokens) {
        Ok(mut g) => {
            g.hyphenated = hyphenated;
            g
        }
        Err(e) => return clap_error(e, "espefuse"),
    };
    if segments.is_empty() {
        let names: Vec<String> = OneCommand::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        bail!("no command given (expected one of: {})", names.join(", "));
    }
    let mut commands: Vec<Command> = Vec::new();
    for seg in &segments {
        if command_name(&seg[0]).is_none() {
            return Err(UsageError {
                command: "espefuse".to_string(),
                message: format!("No such command '{}'.", seg[0]),
                after_banner: true,
                usage_args: None,
            }
            .into());
        }
        if UNSUPPORTED.contains(&seg[0].as_str()) {
            bail!(
                "espefuse command '{}' is not supported by espboot yet",
                seg[0]
            );
        }
        // click takes `--force` anywhere among burn-efuse's pairs (its
        // values never start with `--`); clap's hyphen-accepting list would
        // swallow it, so it is moved in front of the pairs
        let mut seg = seg.clone();
        if seg[0] == "burn-efuse" && seg.iter().skip(1).any(|t| t == "--force") {
            seg.retain(|t| t != "--force");
            seg.insert(1, "--force".to_string());
        }
        match OneCommand::try_parse_from(&seg) {
            Ok(c) => commands.push(c.cmd),
            Err(e) => return clap_error(e, &seg[0]).map_err(after_banner),
        }
    }
    Ok(Parsed::Run {
        global,
        global_tokens,
        commands,
    })
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

/// A command-line error, as click reports it (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{command}: {message}")]
pub(super) struct UsageError {
    /// `espefuse` for the global options, else the command's name.
    command: String,
    /// clap's one-line description of what is wrong.
    message: String,
    /// Found while click converts a command's arguments, which is after
    /// the group has printed its banner (the banner is still due).
    pub(super) after_banner: bool,
    /// The usage line's arguments when they depend on the chip (click
    /// names the argument by them).
    usage_args: Option<String>,
}

/// Marks a command's usage error as found after the banner.
fn after_banner(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<UsageError>() {
        Ok(mut u) => {
            u.after_banner = true;
            u.into()
        }
        Err(e) => e,
    }
}

impl UsageError {
    /// An option the command does not have (click's `No such option`).
    pub(super) fn no_such_option(command: &str, option: &str) -> Self {
        UsageError {
            command: command.to_string(),
            message: format!("No such option '{option}'."),
            after_banner: false,
            usage_args: None,
        }
    }

    /// A bad value of `command`'s arguments (click's `Invalid value for …`).
    pub(super) fn invalid_value(command: &str, argument: &str, message: &str) -> Self {
        UsageError {
            command: command.to_string(),
            message: format!("Invalid value for '{argument}': {message}"),
            after_banner: false,
            usage_args: Some(format!(" {argument}")),
        }
    }

    /// rich-click's rendering (espefuse 5.6.0 without a terminal): the
    /// usage line and the help hint, padded to the console width, then the
    /// message in an `Error` box (rich-click `rich_format_error`).
    pub(super) fn click_text(&self) -> String {
        let (prog, args, hint) = if self.command == "espefuse" {
            (
                "espefuse".to_string(),
                " [OPTIONS] COMMAND1 [ARGS]... [COMMAND2 [ARGS]...]...".to_string(),
                "espefuse -h".to_string(),
            )
        } else {
            let args = match &self.usage_args {
                Some(a) => a.clone(),
                None => usage_arguments(&self.command).to_string(),
            };
            (
                format!("espefuse {}", self.command),
                format!("[OPTIONS]{args}"),
                format!("espefuse {} -h", self.command),
            )
        };
        let args = args.trim_start().to_string();
        let width = console_width();
        let blank = " ".repeat(width);
        let mut text = String::new();
        let mut line = |s: &str| {
            text.push_str(s);
            text.push('\n');
        };
        line(&blank);
        // rich Columns of (`Usage:`, prog, args) with one space between
        // cells, as many per row as fit in the padded width
        let room = width.saturating_sub(2);
        let (u, p, a) = ("Usage:".len(), prog.chars().count(), args.chars().count());
        if u + 1 + p + 1 + a <= room {
            line(&padded(&format!(" Usage: {prog} {args}"), width));
        } else if u.max(a) + 1 + p <= room {
            line(&padded(
                &format!(" {} {prog}", padded("Usage:", u.max(a))),
                width,
            ));
            line(&padded(&format!(" {args}"), width));
        } else {
            for cell in ["Usage:", &prog, &args] {
                line(&padded(&format!(" {cell}"), width));
            }
        }
        line(&blank);
        line(&padded(&format!(" Try '{hint}' for help"), width));
        let inner = width.saturating_sub(4).max(1);
        let title = "\u{2500} Error ";
        let rule = width.saturating_sub(2 + title.chars().count());
        line(&format!(
            "\u{256d}{title}{}\u{256e}",
            "\u{2500}".repeat(rule)
        ));
        for row in wrap(&self.message, inner) {
            line(&format!("\u{2502} {} \u{2502}", padded(&row, inner)));
        }
        line(&format!(
            "\u{2570}{}\u{256f}",
            "\u{2500}".repeat(width.saturating_sub(2))
        ));
        line(&blank);
        text
    }
}

/// The arguments part of a command's click usage line (espefuse 5.6.0,
/// the commands' `@click.argument`s; the chip-independent ones).
fn usage_arguments(command: &str) -> &'static str {
    match command {
        "summary" => " [EFUSES_TO_SHOW]...",
        "burn-efuse" => " [<EFUSE_NAME> <VALUE>] ...",
        "burn-key-digest" => " KEYFILE",
        "burn-custom-mac" => " MAC",
        _ => "",
    }
}

/// rich's console width without a terminal: `COLUMNS`, else 80.
fn console_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&w| w > 4)
        .unwrap_or(80)
}

/// `s` padded with spaces to `width` characters.
fn padded(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

/// rich's word wrap: words (split at spaces) fill each line greedily; a
/// word longer than a line is folded.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows = Vec::new();
    for source in text.lines() {
        let mut row = String::new();
        for word in source.split(' ').filter(|w| !w.is_empty()) {
            let (rn, wn) = (row.chars().count(), word.chars().count());
            if rn > 0 && rn + 1 + wn <= width {
                row.push(' ');
                row.push_str(word);
                continue;
            }
            if rn > 0 {
                rows.push(std::mem::take(&mut row));
            }
            let chars: Vec<char> = word.chars().collect();
            let mut chunks = chars.chunks(width).peekable();
            while let Some(chunk) = chunks.next() {
                if chunks.peek().is_some() {
                    rows.push(chunk.iter().collect());
                } else {
                    row = chunk.iter().collect();
                }
            }
        }
        rows.push(row);
    }
    rows
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
            Err(UsageError {
                command: what.to_string(),
                message: first,
                after_banner: false,
                usage_args: None,
            }
            .into())
        }
    }
}
