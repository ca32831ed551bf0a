//! `espboot efuse` (and `espefuse` through the multi-call link): espefuse's
//! command line over the `esp-efuse` model, on virtual eFuse files.
//!
//! Like espefuse, several commands can be chained in one invocation
//! (`burn-key … burn-efuse … summary`); with more than one burn command the
//! burns are batched into a single confirmation and burn at the end.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand};
use esp_efuse::{python_json, virt, Bits, Chip, Efuses, FieldId, KeyGroup, KeyOptions};
use zeroize::Zeroizing;

use crate::fsutil::write_atomic;

/// Console output that never panics (a closed pipe, e.g. `| head`, is not an error).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// Arguments of `espboot efuse`: espefuse's global options followed by one
/// or more commands.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
    /// A simulated device's companion to the virtual file, holding the
    /// read-protected key bits espefuse's file format drops (never set from
    /// the espefuse command line).
    #[arg(skip)]
    hidden: Option<PathBuf>,
}

impl Args {
    /// An espefuse command line (global options first), as `espboot sim
    /// efuse` builds it for a device, also loading and saving the
    /// read-protected key bits in `hidden` (see
    /// `esp_efuse::virt::hidden_to_text`).
    pub fn with_hidden(rest: Vec<String>, hidden: PathBuf) -> Self {
        Args {
            rest,
            hidden: Some(hidden),
        }
    }
}

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
struct Global {
    /// Target chip.
    #[arg(short = 'c', long, env = "ESPTOOL_CHIP", default_value = "auto")]
    chip: String,
    /// Serial port (real chips are not supported yet: use --virt).
    #[arg(short = 'p', long, env = "ESPTOOL_PORT")]
    port: Option<String>,
    /// Baud rate (ignored in virtual mode).
    #[arg(short = 'b', long)]
    baud: Option<u32>,
    /// Reset mode before connecting (ignored in virtual mode).
    #[arg(long)]
    before: Option<String>,
    /// Reset mode after the operation (ignored in virtual mode).
    #[arg(long)]
    after: Option<String>,
    /// Debug output.
    #[arg(short = 'd', long)]
    debug: bool,
    /// Work on virtual eFuses (no chip).
    #[arg(long)]
    virt: bool,
    /// Virtual eFuse file (espefuse's format); without it nothing persists.
    #[arg(long, alias = "path_efuse_file")]
    path_efuse_file: Option<PathBuf>,
    /// Burn without asking for `BURN`.
    #[arg(long, alias = "do_not_confirm")]
    do_not_confirm: bool,
    /// Postpone BLOCK0 protection bits to a second pass (default).
    #[arg(long, overrides_with = "no_postpone")]
    postpone: bool,
    /// Burn BLOCK0 protection bits together with everything else.
    #[arg(long)]
    no_postpone: bool,
}

#[derive(Debug, Parser)]
#[command(name = "espefuse", no_binary_name = true)]
struct OneCommand {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SummaryFormat {
    Summary,
    Json,
    #[value(name = "value_only", alias = "value-only")]
    ValueOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DumpFormat {
    Default,
    Split,
    Joint,
}

#[derive(Debug, clap::Args, Clone)]
struct ProtectOpts {
    /// Leave the key block writeable.
    #[arg(long, alias = "no_write_protect")]
    no_write_protect: bool,
    /// Leave the key block readable.
    #[arg(long, alias = "no_read_protect")]
    no_read_protect: bool,
    /// Ignore read/write-protection errors (as espefuse).
    #[arg(long, alias = "force_write_always")]
    force_write_always: bool,
    /// Print key bytes.
    #[arg(long, alias = "show_sensitive_info")]
    show_sensitive_info: bool,
    /// ESP32: leave the key unprotected.
    #[arg(long, alias = "no_protect_key")]
    no_protect_key: bool,
}

#[derive(Debug, Subcommand, Clone)]
enum Command {
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
        /// Ignore the incompatibility check.
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

const COMMANDS: &[&str] = &[
    "summary",
    "dump",
    "check-error",
    "burn-efuse",
    "burn-bit",
    "burn-block-data",
    "burn-key",
    "burn-key-digest",
    "read-protect-efuse",
    "write-protect-efuse",
];

/// espefuse commands espboot does not implement (yet).
const UNSUPPORTED: &[&str] = &[
    "adc-info",
    "burn-custom-mac",
    "get-custom-mac",
    "set-flash-voltage",
    "execute-scripts",
    "burn-efuse-from-file",
];

fn command_name(tok: &str) -> Option<String> {
    let n = tok.replace('_', "-");
    if COMMANDS.contains(&n.as_str()) || UNSUPPORTED.contains(&n.as_str()) {
        Some(n)
    } else {
        None
    }
}

impl Command {
    fn is_burn(&self) -> bool {
        !matches!(
            self,
            Command::Summary { .. } | Command::Dump { .. } | Command::CheckError { .. }
        )
    }

    fn name(&self) -> &'static str {
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

/// What a staged burn command needs checked after the burn.
enum AfterBurn {
    Nothing,
    Fields(Vec<(FieldId, Bits)>),
    Protected(Vec<String>, bool),
}

struct Session {
    efuses: Efuses,
    path: Option<PathBuf>,
    hidden: Option<PathBuf>,
    do_not_confirm: bool,
    dirty: bool,
}

impl Session {
    fn flush(&mut self) {
        for line in self.efuses.take_log() {
            out!("{}", expand_tabs(&line));
        }
    }
}

fn parse_clap_error(e: clap::Error, what: &str) -> anyhow::Error {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            use std::io::Write as _;
            let _ = write!(std::io::stdout().lock(), "{e}");
            anyhow!("__help__")
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
            anyhow!("{what}: {first}")
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match run_inner(args) {
        Err(e) if e.to_string() == "__help__" => Ok(ExitCode::SUCCESS),
        other => other,
    }
}

fn run_inner(args: Args) -> anyhow::Result<ExitCode> {
    // Split the command line into the global part and the chained commands.
    let mut global_toks: Vec<String> = Vec::new();
    let mut segments: Vec<Vec<String>> = Vec::new();
    for tok in args.rest {
        match command_name(&tok) {
            Some(name) if segments.is_empty() || !global_expects_value(&global_toks, &segments) => {
                segments.push(vec![name]);
            }
            _ => match segments.last_mut() {
                Some(seg) => seg.push(tok),
                None => global_toks.push(tok),
            },
        }
    }
    let global =
        Global::try_parse_from(&global_toks).map_err(|e| parse_clap_error(e, "espefuse"))?;
    if segments.is_empty() {
        bail!(
            "no command given (expected one of: {})",
            COMMANDS.join(", ")
        );
    }
    let mut commands: Vec<Command> = Vec::new();
    for seg in &segments {
        if UNSUPPORTED.contains(&seg[0].as_str()) {
            bail!(
                "espefuse command '{}' is not supported by espboot yet",
                seg[0]
            );
        }
        let c = OneCommand::try_parse_from(seg).map_err(|e| parse_clap_error(e, &seg[0]))?;
        commands.push(c.cmd);
    }

    if !global.virt {
        match &global.port {
            Some(p) => bail!(
                "--port {p}: only virtual eFuses are supported yet (use --virt [--path-efuse-file FILE])"
            ),
            None => bail!("--port is required unless --virt is given (only virtual eFuses are supported yet)"),
        }
    }
    let chip = if global.chip == "auto" {
        // espefuse's virtual mode falls back to ESP32 when no chip is named
        Chip::Esp32
    } else {
        global.chip.parse::<Chip>().map_err(|_| {
            anyhow!(
                "--chip {}: unsupported chip (expected one of: {})",
                global.chip,
                Chip::ALL
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?
    };
    // --debug, --baud, --before, --after and --postpone are accepted for
    // compatibility; they change nothing on virtual eFuses.
    if global.no_postpone {
        bail!("--no-postpone is not supported by espboot (BLOCK0 protection bits are always burned last)");
    }

    let mut efuses = match &global.path_efuse_file {
        Some(path) => {
            let content = match std::fs::read(path) {
                Ok(c) => Some(c),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
            let loaded = virt::load(chip, content.as_deref())
                .with_context(|| format!("--path-efuse-file {}", path.display()))?;
            if let Some(grown) = &loaded.grown_file {
                // espefuse appends an empty image to a missing or short file when opening it
                write_atomic(path, grown, false)?;
            }
            loaded.efuses
        }
        None => Efuses::new(chip),
    };
    if let Some(hidden) = &args.hidden {
        match std::fs::read_to_string(hidden) {
            Ok(text) => virt::apply_hidden_text(&mut efuses, &text)
                .with_context(|| format!("{}", hidden.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", hidden.display())),
        }
    }
    let mut s = Session {
        efuses,
        path: global.path_efuse_file.clone(),
        hidden: args.hidden.clone(),
        do_not_confirm: global.do_not_confirm,
        dirty: false,
    };

    out!("espefuse v5.6.0 (espboot)");
    let burns = commands.iter().filter(|c| c.is_burn()).count();
    let batch = burns > 1;
    // espefuse (cli_util.py repeat_read_commands): with burn and read commands
    // mixed, the read commands run once more at the end of the chain. In batch
    // mode that is still before the single burn, exactly as espefuse does it.
    if burns > 0 {
        let reads: Vec<Command> = commands.iter().filter(|c| !c.is_burn()).cloned().collect();
        commands.extend(reads);
    }
    for cmd in &commands {
        out!("\n=== Run \"{}\" command ===", cmd.name());
        if cmd.is_burn() {
            let staged = stage(&mut s, cmd);
            // what the command printed before a refusal is shown, as espefuse does
            s.flush();
            let after = staged?;
            if batch {
                out!("\nBatch mode is enabled, the burn will be done at the end of the command.");
            } else {
                if !burn(&mut s)? {
                    return Ok(ExitCode::SUCCESS);
                }
                check_after(&mut s, &after)?;
                out!("Successful.");
            }
        } else {
            read_command(&mut s, cmd)?;
        }
    }
    if batch {
        if !burn(&mut s)? {
            return Ok(ExitCode::SUCCESS);
        }
        out!("Successful.");
    }
    Ok(ExitCode::SUCCESS)
}

/// A command name right after an option that takes a value is that value.
fn global_expects_value(global: &[String], segments: &[Vec<String>]) -> bool {
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

fn read_file(path: &str, what: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .with_context(|| format!("{what} {path}: cannot read file"))
}

fn groups_of(items: &[String], n: usize, usage: &str) -> anyhow::Result<Vec<Vec<String>>> {
    if items.is_empty() || !items.len().is_multiple_of(n) {
        bail!("expected {usage} (got {} argument(s))", items.len());
    }
    Ok(items.chunks(n).map(<[String]>::to_vec).collect())
}

fn sbv2_digest(path: &str) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("key file {path}: cannot read file"))?;
    let key = esp_secure::sbv2::PublicKey::from_pem(&text)
        .map_err(|e| anyhow!("key file {path}: not a Secure Boot V2 key: {e}"))?;
    Ok(key.digest().to_vec())
}

fn stage(s: &mut Session, cmd: &Command) -> anyhow::Result<AfterBurn> {
    let e = &mut s.efuses;
    e.set_force_write_always(None);
    let r = match cmd {
        Command::BurnEfuse { pairs, force: _ } => {
            // espefuse (EfuseValuePairType): one token is a name alone (bool
            // fields and bit counters take their implicit value), more must pair up.
            let list: Vec<(String, Option<String>)> = match pairs.len() {
                1 => vec![(pairs[0].clone(), None)],
                n if n % 2 == 1 => {
                    bail!("burn-efuse: the list does not have a valid pair (name value) {pairs:?}")
                }
                _ => pairs
                    .chunks(2)
                    .map(|c| (c[0].clone(), Some(c[1].clone())))
                    .collect(),
            };
            AfterBurn::Fields(e.burn_efuse(&list)?)
        }
        Command::BurnBit {
            block,
            bits,
            force_write_always,
        } => {
            e.set_force_write_always(Some(*force_write_always));
            e.burn_bit(block, bits)?;
            AfterBurn::Nothing
        }
        Command::BurnBlockData {
            items,
            offset,
            force_write_always,
        } => {
            e.set_force_write_always(Some(*force_write_always));
            let mut list = Vec::new();
            for g in groups_of(items, 2, "BLOCK DATAFILE pairs")? {
                let data = read_file(&g[1], "data file")?;
                list.push((g[0].clone(), data.to_vec()));
            }
            e.burn_block_data(&list, *offset)?;
            AfterBurn::Nothing
        }
        Command::BurnKey { items, opts } => {
            e.set_force_write_always(Some(opts.force_write_always));
            let groups = if e.chip() == Chip::Esp32 {
                groups_of(items, 2, "BLOCK KEYFILE pairs")?
                    .into_iter()
                    .map(|g| {
                        Ok(KeyGroup {
                            data: read_file(&g[1], "key file")?.to_vec(),
                            block: g[0].clone(),
                            purpose: String::new(),
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
            } else {
                groups_of(items, 3, "BLOCK KEYFILE PURPOSE groups")?
                    .into_iter()
                    .map(|g| {
                        Ok(KeyGroup {
                            data: read_file(&g[1], "key file")?.to_vec(),
                            block: g[0].clone(),
                            purpose: g[2].clone(),
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
            };
            let ko = key_options(e.chip(), opts);
            e.burn_key(&groups, ko)?;
            AfterBurn::Nothing
        }
        Command::BurnKeyDigest { items, opts } => {
            e.set_force_write_always(Some(opts.force_write_always));
            let groups = match e.chip() {
                Chip::Esp32 => {
                    let g = groups_of(items, 1, "KEYFILE")?;
                    g.iter()
                        .map(|g| {
                            Ok(KeyGroup {
                                block: "BLOCK2".into(),
                                data: sbv2_digest(&g[0])?,
                                purpose: String::new(),
                            })
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?
                }
                Chip::Esp32c2 => {
                    let g = groups_of(items, 1, "KEYFILE")?;
                    g.iter()
                        .map(|g| {
                            Ok(KeyGroup {
                                block: "BLOCK_KEY0".into(),
                                data: sbv2_digest(&g[0])?,
                                purpose: "SECURE_BOOT_DIGEST".into(),
                            })
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?
                }
                _ => groups_of(items, 3, "BLOCK KEYFILE PURPOSE groups")?
                    .into_iter()
                    .map(|g| {
                        Ok(KeyGroup {
                            block: g[0].clone(),
                            data: sbv2_digest(&g[1])?,
                            purpose: g[2].clone(),
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?,
            };
            let ko = key_options(e.chip(), opts);
            e.burn_key_digest(&groups, ko)?;
            AfterBurn::Nothing
        }
        Command::ReadProtectEfuse { names } => {
            e.read_protect(names)?;
            AfterBurn::Protected(names.clone(), true)
        }
        Command::WriteProtectEfuse { names } => {
            e.write_protect(names)?;
            AfterBurn::Protected(names.clone(), false)
        }
        _ => AfterBurn::Nothing,
    };
    Ok(r)
}

fn key_options(chip: Chip, o: &ProtectOpts) -> KeyOptions {
    KeyOptions {
        no_write_protect: o.no_write_protect || (chip == Chip::Esp32 && o.no_protect_key),
        no_read_protect: o.no_read_protect,
        show_sensitive_info: o.show_sensitive_info,
    }
}

/// Plans, confirms and applies the staged burn; false when the user aborted.
fn burn(s: &mut Session) -> anyhow::Result<bool> {
    let any = s.efuses.plan_burn();
    s.flush();
    if !any? {
        return Ok(true);
    }
    out!(". \nThis is an irreversible operation!");
    if !s.do_not_confirm {
        out!("Type 'BURN' (all capitals) to continue.");
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the confirmation from stdin")?;
        if line.trim_end_matches(['\n', '\r']) != "BURN" {
            // espefuse exits with status 0 here, with nothing written
            out!("Aborting.");
            return Ok(false);
        }
    }
    let r = s.efuses.execute_burn();
    s.flush();
    r?;
    s.dirty = true;
    save(s)?;
    Ok(true)
}

fn save(s: &mut Session) -> anyhow::Result<()> {
    if let (Some(path), true) = (&s.path, s.dirty) {
        write_atomic(path, &virt::to_file_bytes(&s.efuses), false)?;
        if let Some(hidden) = &s.hidden {
            write_atomic(hidden, virt::hidden_to_text(&s.efuses).as_bytes(), true)?;
        }
        s.dirty = false;
    }
    Ok(())
}

fn check_after(s: &mut Session, after: &AfterBurn) -> anyhow::Result<()> {
    let r = match after {
        AfterBurn::Nothing => Ok(()),
        AfterBurn::Fields(f) => s.efuses.check_burned(f),
        AfterBurn::Protected(names, read) => s.efuses.check_protected(names, *read),
    };
    s.flush();
    Ok(r?)
}

fn read_command(s: &mut Session, cmd: &Command) -> anyhow::Result<()> {
    let e = &s.efuses;
    match cmd {
        Command::Summary {
            names,
            format,
            active,
            file,
        } => {
            for n in names {
                e.field(n)?;
            }
            let text = match format {
                SummaryFormat::Json => python_json(&e.summary_json_filtered(names, *active)),
                SummaryFormat::ValueOnly => {
                    if names.len() != 1 {
                        bail!("The 'value_only' format can be used exactly for one eFuse.");
                    }
                    let id = e.field(&names[0])?;
                    let rows = e.summary_rows();
                    let row = rows.iter().flat_map(|(_, r)| r).find(|r| r.id == id);
                    row.map(|r| r.value.to_string()).unwrap_or_default()
                }
                SummaryFormat::Summary => e.summary_text(names, *active),
            };
            match file {
                Some(path) => {
                    out!("Saving eFuse values to {}", path.display());
                    let mut t = text;
                    // json.dump() leaves no newline at the end; the text summary ends with one
                    if *format != SummaryFormat::Json {
                        t.push('\n');
                    }
                    write_atomic(path, t.as_bytes(), false)?;
                }
                None => out!("{text}"),
            }
        }
        Command::Dump { format, file_name } => {
            let t = e.table();
            match (format, file_name) {
                (DumpFormat::Default, None) => {
                    for b in t.blocks {
                        let words = e.block_words(b.id as usize);
                        let alias: String = b.aliases.join(" ").chars().take(16).collect();
                        out!(
                            "{:<15} ({:<16}) [{:<2}] dump: {}",
                            b.name,
                            alias,
                            b.id,
                            words
                                .iter()
                                .map(|w| format!("{w:08x}"))
                                .collect::<Vec<_>>()
                                .join(" ")
                        );
                    }
                }
                (DumpFormat::Joint, Some(path)) => {
                    out!("Dump eFuse blocks -> {}", path.display());
                    let mut all = Vec::new();
                    for b in t.blocks {
                        all.extend(e.block_bytes(b.id as usize));
                    }
                    write_atomic(path, &all, false)?;
                }
                (_, Some(path)) => {
                    let stem = path.with_extension("");
                    let ext = path
                        .extension()
                        .map(|x| format!(".{}", x.to_string_lossy()))
                        .unwrap_or_default();
                    for b in t.blocks {
                        let p = PathBuf::from(format!("{}{}{}", stem.display(), b.id, ext));
                        out!("Dump eFuse block{} -> {}", b.id, p.display());
                        write_atomic(&p, &e.block_bytes(b.id as usize), false)?;
                    }
                }
                (_, None) => {
                    for b in t.blocks {
                        out!("{}", esp_efuse::hexify(&e.block_bytes(b.id as usize), ""));
                    }
                }
            }
        }
        Command::CheckError { recovery } => {
            if e.has_coding_errors() {
                if *recovery {
                    bail!("check-error --recovery is not supported by espboot yet");
                }
                bail!("Error(s) were detected in eFuses (coding-error registers are not zero).");
            }
            out!("No errors detected.");
        }
        _ => {}
    }
    Ok(())
}

/// espefuse prints through Rich, which expands tabs to 8-column stops.
fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut col = 0;
    for c in line.chars() {
        match c {
            '\t' => {
                let n = 8 - col % 8;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            '\n' => {
                out.push(c);
                col = 0;
            }
            _ => {
                out.push(c);
                col += 1;
            }
        }
    }
    out
}
