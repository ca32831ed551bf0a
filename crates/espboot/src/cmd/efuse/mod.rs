//! `espboot efuse` (and `espefuse` through the multi-call link): espefuse's
//! command line over `esp_efuse::espefuse`, on virtual eFuse files
//! (`--virt`) or on a chip over a serial port (`--port`): one model, two
//! backends (`esp_efuse::backend`), the same checks and messages.
//!
//! Like espefuse, several commands can be chained in one invocation
//! (`burn-key … burn-efuse … summary`); with more than one burn command the
//! burns are batched into a single confirmation and burn at the end.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use esp_efuse::backend::{EfuseBackend, Emulated};
use esp_efuse::espefuse::{self, Failed, ForceWrite, KeyCommandOptions, Transcript};
use esp_efuse::{policy, Bits, Chip, Efuses, Field, KeyGroup, KeyOptions, VirtualFile};
use esp_serial_client::reset::Before;
use esp_serial_client::Client;
use zeroize::Zeroizing;

use crate::fsutil::write_atomic;

mod args;

use args::{Command, DumpFormat, Parsed, ProtectOpts, SummaryFormat};

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
}

/// `espefuse` through the multi-call link: espefuse's own command line,
/// banner, messages and exit statuses (fatal errors: `A fatal error
/// occurred: …` on stderr, exit 2; usage errors: exit 2; a confirmation
/// that never came: `Aborted.`, exit 1).
pub fn personality(argv: Vec<std::ffi::OsString>) -> ExitCode {
    let argv: Vec<String> = argv
        .into_iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let result = match args::parse(argv) {
        Ok(Parsed::Help) => return ExitCode::SUCCESS,
        Ok(Parsed::Run {
            global, commands, ..
        }) => run_global(global, commands, Banner::Espefuse),
        Err(e) => Err(e),
    };
    match result {
        Ok(code) => code,
        Err(err) => espefuse_failure(&err),
    }
}

/// How espefuse reports a failure, and its exit status.
fn espefuse_failure(err: &anyhow::Error) -> ExitCode {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    if err.downcast_ref::<Aborted>().is_some() {
        // click turns the EOF of input() into Abort: "\nAborted.", exit 1
        let _ = writeln!(stderr, "\nAborted.");
        return ExitCode::from(1);
    }
    if let Some(usage) = err.downcast_ref::<args::UsageError>() {
        if usage.after_banner {
            out!("espefuse v5.6.0");
        }
        let _ = write!(stderr, "{}", usage.click_text());
        return ExitCode::from(2);
    }
    // espefuse/__init__.py _main: log.die("\nA fatal error occurred: …", 2);
    // the console expands tabs to 8 columns
    let message = match err.downcast_ref::<esp_efuse::EfuseError>() {
        // the burn checks' messages keep espefuse's tabs and line breaks
        Some(esp_efuse::EfuseError::Check { check, hint }) => format!(
            "{}{}",
            check.espefuse_message(),
            if *hint {
                "(use '--force-write-always' option to ignore it)"
            } else {
                ""
            }
        ),
        _ => format!("{err:#}"),
    };
    let text = format!("ERROR: \nA fatal error occurred: {message}");
    let _ = writeln!(stderr, "{}", expand_tabs(&text));
    ExitCode::from(2)
}

/// Tabs expanded to the next multiple of 8 columns on each line (as rich,
/// espefuse's console, prints them).
fn expand_tabs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut column = 0;
    for c in text.chars() {
        match c {
            '\t' => {
                let n = 8 - column % 8;
                out.extend(std::iter::repeat_n(' ', n));
                column += n;
            }
            '\n' => {
                out.push(c);
                column = 0;
            }
            _ => {
                out.push(c);
                column += 1;
            }
        }
    }
    out
}

/// stdin ended before the `BURN` confirmation (espefuse: click's Abort).
#[derive(Debug, thiserror::Error)]
#[error("no confirmation on stdin (type 'BURN' or pass --do-not-confirm): nothing was burned")]
struct Aborted;

/// The confirmation was answered with something other than `BURN`.
#[derive(Debug, thiserror::Error)]
#[error("the burn was not confirmed with 'BURN': nothing was burned")]
struct NotConfirmed;

/// Which banner the run prints first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Banner {
    /// espefuse's own (the personality).
    Espefuse,
    /// espefuse's, marked as espboot's (`espboot efuse`).
    Espboot,
}

/// `espboot efuse ARGS…`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Parsed::Run {
        global, commands, ..
    } = args::parse(args.rest)?
    else {
        return Ok(ExitCode::SUCCESS);
    };
    run_global(global, commands, Banner::Espboot)
}

fn run_global(
    global: args::Global,
    commands: Vec<Command>,
    banner: Banner,
) -> anyhow::Result<ExitCode> {
    // --debug, --after and --postpone are accepted for compatibility;
    // --baud and --before apply to a port only.
    if global.no_postpone {
        bail!("--no-postpone is not supported by espboot (BLOCK0 protection bits are always burned last)");
    }
    let named = if global.chip == "auto" {
        None
    } else {
        Some(global.chip.parse::<Chip>().map_err(|_| {
            anyhow!(
                "--chip {}: unsupported chip (expected one of: {})",
                global.chip,
                Chip::ALL
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?)
    };
    if !global.virt {
        let Some(port) = global.port.clone() else {
            bail!("--port (or ESPTOOL_PORT) is required unless --virt is given");
        };
        if !print_banner(banner, &commands)? {
            return Ok(ExitCode::SUCCESS);
        }
        let mut chip_port = connect(&port, named, &global, json_only(&commands))?;
        let chip = chip_port.io().chip;
        let efuses = chip_port
            .load(chip)
            .with_context(|| format!("{port}: reading the eFuses"))?;
        return run_commands(
            efuses,
            Box::new(chip_port),
            global.do_not_confirm,
            commands,
            &global.hyphenated,
            banner,
        );
    }
    // espefuse's virtual mode falls back to ESP32 when no chip is named
    let chip = named.unwrap_or(Chip::Esp32);
    let file = global.path_efuse_file.map(VirtualFile::espefuse);
    run_on_file(
        chip,
        file,
        global.do_not_confirm,
        commands,
        &global.hyphenated,
        banner,
    )
}

/// The register access of a chip on a serial port, for the eFuse
/// backend ([`esp_efuse::backend::Port`]).
struct SerialRegisters {
    client: Client,
    chip: Chip,
}

impl esp_efuse::backend::RegisterIo for SerialRegisters {
    type Error = esp_serial_client::Error;

    fn read_reg(&mut self, addr: u32) -> Result<u32, Self::Error> {
        self.client.read_reg(addr)
    }

    fn write_reg(
        &mut self,
        addr: u32,
        value: u32,
        mask: u32,
        delay_us: u32,
    ) -> Result<(), Self::Error> {
        self.client.write_reg(addr, value, mask, delay_us)
    }
}

/// espefuse's `--before` choices (underscores too).
fn before_option(given: Option<&str>) -> anyhow::Result<Before> {
    Ok(
        match given.unwrap_or("default-reset").replace('_', "-").as_str() {
            "default-reset" | "usb-reset" => Before::DefaultReset,
            "no-reset" => Before::NoReset,
            "no-reset-no-sync" => Before::NoResetNoSync,
            other => bail!(
                "--before {other}: expected one of default-reset, usb-reset, no-reset, no-reset-no-sync"
            ),
        },
    )
}

/// Connects to the chip on `port` as espefuse does (esptool's connect,
/// chip detection, no stub) and checks it is the `--chip` named, outside
/// Secure Download Mode.
/// `quiet`: the connection lines go to stderr (stdout is only JSON).
fn connect(
    port: &str,
    named: Option<Chip>,
    global: &args::Global,
    quiet: bool,
) -> anyhow::Result<esp_efuse::backend::Port<SerialRegisters>> {
    let say = |line: String| {
        if quiet {
            eprintln!("{line}");
        } else {
            out!("{line}");
        }
    };
    let before = before_option(global.before.as_deref())?;
    let mut client = Client::open(port, global.baud.unwrap_or(115_200))?;
    say("Connecting...".into());
    client.connect(before, 7)?;
    let chip = client.detect_chip()?;
    say(format!("Detecting chip type... {}", esptool_name(chip)));
    if let Some(expected) = named {
        if expected != chip {
            bail!(
                "{port}: this chip is {}, not {}. Wrong --chip argument?",
                esptool_name(chip),
                esptool_name(expected)
            );
        }
    }
    // efuse/<chip>/fields.py: the eFuses cannot be read in Secure Download
    // Mode (GET_SECURITY_INFO flag bit 2; the ESP32 has neither)
    if chip != Chip::Esp32 {
        let info = client.security_info()?;
        let flags = info
            .get(..4)
            .map_or(0, |f| u32::from_le_bytes([f[0], f[1], f[2], f[3]]));
        if flags & (1 << 2) != 0 {
            bail!("{port}: Secure Download Mode is enabled. The tool can not read eFuses.");
        }
    }
    Ok(esp_efuse::backend::Port::new(SerialRegisters {
        client,
        chip,
    }))
}

/// The chip's name as esptool prints it (`ESP32-C3`).
fn esptool_name(chip: Chip) -> String {
    let name = chip.name().to_uppercase();
    match name.strip_prefix("ESP32") {
        Some(rest) if !rest.is_empty() => format!("ESP32-{rest}"),
        _ => name,
    }
}

/// Runs `commands` on a virtual file (or a blank chip in memory), holding
/// the file's lock until every command has run and saved: concurrent runs
/// on one file would otherwise each burn into the state they read and the
/// last save would drop the others' burns.
fn run_on_file(
    chip: Chip,
    file: Option<VirtualFile>,
    do_not_confirm: bool,
    commands: Vec<Command>,
    hyphenated: &[bool],
    banner: Banner,
) -> anyhow::Result<ExitCode> {
    let _lock = match &file {
        Some(f) => Some(
            f.lock(VirtualFile::LOCK_WAIT)
                .with_context(|| format!("--path-efuse-file {}", f.path().display()))?,
        ),
        None => None,
    };
    let (efuses, backend): (Efuses, Box<dyn EfuseBackend>) = match file {
        Some(f) => {
            let efuses = f
                .open(chip)
                .with_context(|| format!("--path-efuse-file {}", f.path().display()))?;
            (efuses, Box::new(f))
        }
        None => (Efuses::new(chip), Box::new(Emulated)),
    };
    if !print_banner(banner, &commands)? {
        return Ok(ExitCode::SUCCESS);
    }
    run_commands(
        efuses,
        backend,
        do_not_confirm,
        commands,
        hyphenated,
        banner,
    )
}

/// Whether only `summary --json` runs (it prints nothing but the JSON).
fn json_only(commands: &[Command]) -> bool {
    matches!(
        commands,
        [Command::Summary {
            json: true,
            file: None,
            ..
        }]
    )
}

/// Prints the banner the run starts with; refuses what espefuse's own
/// command line does not have. Returns whether to go on.
fn print_banner(banner: Banner, commands: &[Command]) -> anyhow::Result<bool> {
    match banner {
        Banner::Espefuse => {
            // click prints the group's banner before it parses a command's options
            out!("espefuse v5.6.0");
            if commands
                .iter()
                .any(|c| matches!(c, Command::Summary { json: true, .. }))
            {
                return Err(args::UsageError::no_such_option("summary", "--json").into());
            }
        }
        // issue 15: `summary --json` alone prints nothing but the JSON
        Banner::Espboot if json_only(commands) => {}
        Banner::Espboot => out!("espefuse v5.6.0 (espboot)"),
    }
    Ok(true)
}

/// `espboot sim efuse DEV ARGS…`: espefuse's commands on a device's eFuse
/// file (with its hidden key bits); the chip and the file are the device's.
pub fn run_on_device(chip: Chip, file: VirtualFile, argv: Vec<String>) -> anyhow::Result<ExitCode> {
    let Parsed::Run {
        global,
        global_tokens,
        commands,
    } = args::parse(argv)?
    else {
        return Ok(ExitCode::SUCCESS);
    };
    let device_option = global_tokens.iter().find(|t| {
        let name = t.split('=').next().unwrap_or_default();
        matches!(
            name,
            "--chip"
                | "-c"
                | "--port"
                | "-p"
                | "--virt"
                | "--path-efuse-file"
                | "--path_efuse_file"
        )
    });
    if let Some(option) = device_option {
        bail!("{option}: the device sets the chip and its eFuse file");
    }
    if global.no_postpone {
        bail!("--no-postpone is not supported by espboot (BLOCK0 protection bits are always burned last)");
    }
    run_on_file(
        chip,
        Some(file),
        global.do_not_confirm,
        commands,
        &global.hyphenated,
        Banner::Espboot,
    )
}

/// What a staged burn command needs checked after the burn.
enum AfterBurn {
    Nothing,
    Fields(Vec<(Field, Bits)>),
    Protected(Vec<Field>, bool),
}

struct Session {
    efuses: Efuses,
    /// Where the eFuses live: burns program and read back there.
    backend: Box<dyn EfuseBackend>,
    do_not_confirm: bool,
    /// The last burn command's `--force-write-always`, for the burn plan.
    force: ForceWrite,
}

fn print(t: &Transcript) {
    for line in t.lines() {
        out!("{line}");
    }
}

/// The command's result; on a refusal, what it printed first (as espefuse
/// shows it) and the refusal as the error.
fn printed<T>(r: Result<T, Failed>) -> anyhow::Result<T> {
    r.map_err(|f| {
        print(&f.printed);
        anyhow::Error::new(f.error)
    })
}

fn run_commands(
    efuses: Efuses,
    backend: Box<dyn EfuseBackend>,
    do_not_confirm: bool,
    mut commands: Vec<Command>,
    hyphenated: &[bool],
    banner: Banner,
) -> anyhow::Result<ExitCode> {
    let chip = efuses.chip();
    let mut s = Session {
        efuses,
        backend,
        do_not_confirm,
        force: ForceWrite::Unavailable,
    };
    let json_only = json_only(&commands);
    // reading the eFuses reports the controller's coding errors
    // (`get_coding_scheme_warnings`), before any command runs
    let (warnings, _) = espefuse::coding_scheme_warnings(&s.efuses);
    for line in warnings.lines() {
        if json_only {
            eprintln!("{line}");
        } else {
            out!("{line}");
        }
    }
    // click converts every command's arguments before any command runs
    // (after the group's banner): names and pairing of burn-efuse
    for cmd in &commands {
        if let (Command::BurnKey { items, .. }, Banner::Espefuse) = (cmd, banner) {
            burn_key_arity(chip, items)?;
        }
        if let Command::BurnEfuse { pairs, .. } = cmd {
            let argument = "[<EFUSE_NAME> <VALUE>] ...";
            if pairs.len() > 1 && pairs.len() % 2 == 1 {
                let quoted: Vec<String> = pairs.iter().map(|p| format!("'{p}'")).collect();
                return Err(args::UsageError::invalid_value(
                    "burn-efuse",
                    argument,
                    &format!(
                        "The list does not have a valid pair (name value) ({})",
                        quoted.join(", ")
                    ),
                )
                .into());
            }
            for name in pairs.iter().step_by(2) {
                if let Err(e) = espefuse::field(chip, name) {
                    if banner == Banner::Espboot {
                        // our own name keeps the clearer message (did-you-mean)
                        return Err(e.into());
                    }
                    return Err(args::UsageError::invalid_value(
                        "burn-efuse",
                        argument,
                        &format!("Invalid eFuse name '{name}'."),
                    )
                    .into());
                }
            }
            // the values too (EfuseValuePairType's check_arg): their
            // errors are fatal, printed before any command runs
            espefuse::parse_burn_pairs(&s.efuses, &name_value_list(pairs))?;
        }
    }
    let burns = commands.iter().filter(|c| c.is_burn()).count();
    let batch = burns > 1;
    // espefuse (cli_util.py repeat_read_commands): with burn and read commands
    // mixed, the read commands run once more at the end of the chain. In batch
    // mode that is still before the single burn, exactly as espefuse does it.
    // Only commands spelled with hyphens count there (cli_util.py compares
    // the tokens as given), though batch mode counts every spelling.
    let as_given = |i: usize| hyphenated.get(i).copied().unwrap_or(true);
    let given = |burn: bool| {
        commands
            .iter()
            .enumerate()
            .any(|(i, c)| c.is_burn() == burn && as_given(i))
    };
    if given(true) && given(false) {
        let reads: Vec<Command> = commands
            .iter()
            .enumerate()
            .filter(|(i, c)| !c.is_burn() && as_given(*i))
            .map(|(_, c)| c.clone())
            .collect();
        commands.extend(reads);
    }
    for cmd in &commands {
        if !json_only {
            out!("\n=== Run \"{}\" command ===", cmd.name());
        }
        if cmd.is_burn() {
            let after = stage(&mut s, cmd)?;
            if batch {
                out!("\nBatch mode is enabled, the burn will be done at the end of the command.");
            } else {
                burn(&mut s)?;
                check_after(&s, &after)?;
                out!("Successful.");
            }
        } else {
            read_command(&s, cmd)?;
        }
    }
    if batch {
        burn(&mut s)?;
        out!("Successful.");
    }
    Ok(ExitCode::SUCCESS)
}

fn read_file(path: &str, what: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .with_context(|| format!("{what} {path}: cannot read file"))
}

/// click's arity check of burn-key's arguments (espefuse 5.6.0
/// `cli_util.py` TupleParameter: `Expected multiple of N values, got M
/// (values: (…))`). The usage text's group limit is the number of block
/// names the chip's burn-key accepts (`efuse/<chip>/operations.py`): two
/// names (block and alias) per key block, ESP32's 3 blocks and the
/// ESP32-C2's single key block.
fn burn_key_arity(chip: Chip, items: &[String]) -> anyhow::Result<()> {
    let (n, argument) = match chip {
        Chip::Esp32 => (2, "[<BLOCK> <KEYFILE>] ... (max 6 groups)"),
        Chip::Esp32c2 => (3, "[<BLOCK> <KEYFILE> <KEYPURPOSE>] ... (max 2 groups)"),
        _ => (3, "[<BLOCK> <KEYFILE> <KEYPURPOSE>] ... (max 12 groups)"),
    };
    if items.len().is_multiple_of(n) {
        return Ok(());
    }
    // Python's repr of a tuple of strings
    let quoted: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    let tuple = if quoted.len() == 1 {
        format!("({},)", quoted.join(""))
    } else {
        format!("({})", quoted.join(", "))
    };
    Err(args::UsageError::invalid_value(
        "burn-key",
        argument,
        &format!(
            "Expected multiple of {n} values, got {} (values: {tuple})",
            items.len()
        ),
    )
    .into())
}

fn groups_of(items: &[String], n: usize, usage: &str) -> anyhow::Result<Vec<Vec<String>>> {
    if items.is_empty() || !items.len().is_multiple_of(n) {
        bail!("expected {usage} (got {} argument(s))", items.len());
    }
    Ok(items.chunks(n).map(<[String]>::to_vec).collect())
}

/// The Secure Boot V2 digest of a public key file.
fn sbv2_digest(path: &str) -> anyhow::Result<[u8; 32]> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("key file {path}: cannot read file"))?;
    let key = esp_secure::sbv2::PublicKey::from_pem(&text)
        .map_err(|e| anyhow!("key file {path}: not a Secure Boot V2 key: {e}"))?;
    Ok(key.digest())
}

fn force_flag(given: bool) -> ForceWrite {
    if given {
        ForceWrite::On
    } else {
        ForceWrite::Off
    }
}

/// `burn-efuse` arguments as (name, value) pairs: one token is a name alone
/// (bool fields and bit counters take their implicit value), more pair up
/// (their count is checked before, as click does).
fn name_value_list(pairs: &[String]) -> Vec<(String, Option<String>)> {
    if let [name] = pairs {
        return vec![(name.clone(), None)];
    }
    pairs
        .chunks(2)
        .map(|c| (c[0].clone(), c.get(1).cloned()))
        .collect()
}

/// Maps one burn command's arguments to typed values and stages it,
/// printing what espefuse prints.
fn stage(s: &mut Session, cmd: &Command) -> anyhow::Result<AfterBurn> {
    let chip = s.efuses.chip();
    let e = &mut s.efuses;
    s.force = ForceWrite::Unavailable;
    let (after, printed_lines) = match cmd {
        Command::BurnEfuse { pairs, force } => {
            // espefuse (EfuseValuePairType): one token is a name alone (bool
            // fields and bit counters take their implicit value), more must pair up.
            let list = name_value_list(pairs);
            let values = espefuse::parse_burn_pairs(e, &list)?;
            let t = printed(espefuse::burn_efuse(e, &values, *force))?;
            (AfterBurn::Fields(values), t)
        }
        Command::BurnBit {
            block,
            bits,
            force_write_always,
        } => {
            s.force = force_flag(*force_write_always);
            let block = espefuse::block(chip, block)?;
            (
                AfterBurn::Nothing,
                printed(espefuse::burn_bit(e, block, bits))?,
            )
        }
        Command::BurnBlockData {
            items,
            offset,
            force_write_always,
        } => {
            s.force = force_flag(*force_write_always);
            let groups = groups_of(items, 2, "BLOCK DATAFILE pairs")?;
            espefuse::check_repeated(&groups.iter().map(|g| &g[0]).collect::<Vec<_>>())?;
            let mut list = Vec::new();
            for g in groups {
                let data = read_file(&g[1], "data file")?;
                list.push((espefuse::block(chip, &g[0])?, data.to_vec()));
            }
            (
                AfterBurn::Nothing,
                printed(espefuse::burn_block_data(e, &list, *offset))?,
            )
        }
        Command::BurnKey { items, opts } => {
            s.force = force_flag(opts.force_write_always);
            let groups = key_groups(chip, items, false)?;
            let t = printed(espefuse::burn_key(e, &groups, key_options(chip, opts)))?;
            (AfterBurn::Nothing, t)
        }
        Command::BurnKeyDigest { items, opts } => {
            s.force = force_flag(opts.force_write_always);
            let groups = key_groups(chip, items, true)?;
            let t = printed(espefuse::burn_key_digest(
                e,
                &groups,
                key_options(chip, opts),
            ))?;
            (AfterBurn::Nothing, t)
        }
        Command::ReadProtectEfuse { names } => {
            let fields = fields_named(chip, names)?;
            let t = printed(espefuse::read_protect(e, &fields))?;
            (AfterBurn::Protected(fields, true), t)
        }
        Command::WriteProtectEfuse { names } => {
            let fields = fields_named(chip, names)?;
            let t = printed(espefuse::write_protect(e, &fields))?;
            (AfterBurn::Protected(fields, false), t)
        }
        Command::Summary { .. } | Command::Dump { .. } | Command::CheckError { .. } => {
            (AfterBurn::Nothing, Transcript::default())
        }
    };
    print(&printed_lines);
    Ok(after)
}

/// `burn-key` and `burn-key-digest` arguments to key groups: BLOCK KEYFILE
/// PURPOSE groups (ESP32 `burn-key`: BLOCK KEYFILE pairs; ESP32 and
/// ESP32-C2 `burn-key-digest`: KEYFILEs, into the chip's one digest slot).
/// `digest`: the files are public keys, burned as their digests.
fn key_groups(chip: Chip, items: &[String], digest: bool) -> anyhow::Result<Vec<KeyGroup>> {
    let data = |path: &str| -> anyhow::Result<Zeroizing<Vec<u8>>> {
        if digest {
            Ok(Zeroizing::new(sbv2_digest(path)?.to_vec()))
        } else {
            read_file(path, "key file")
        }
    };
    if digest && policy::secure_boot_digest_slots(chip) == 1 {
        let slot = policy::secure_boot_digest(chip, 0)
            .ok_or_else(|| anyhow!("{chip} has no Secure Boot V2 digest slot"))?;
        let block = slot
            .block
            .ok_or_else(|| anyhow!("{chip}: no fixed Secure Boot V2 digest block"))?;
        return groups_of(items, 1, "KEYFILE")?
            .iter()
            .map(|g| {
                Ok(KeyGroup {
                    block,
                    purpose: slot.purpose,
                    data: data(&g[0])?,
                })
            })
            .collect();
    }
    let esp32 = chip == Chip::Esp32;
    let groups = if esp32 {
        groups_of(items, 2, "BLOCK KEYFILE pairs")?
    } else {
        groups_of(items, 3, "BLOCK KEYFILE PURPOSE groups")?
    };
    // espefuse refuses block names given twice (as given); the ESP32-C2's
    // groups all name BLOCK_KEY0 and are told apart by purpose instead
    if chip != Chip::Esp32c2 {
        espefuse::check_repeated(&groups.iter().map(|g| &g[0]).collect::<Vec<_>>())?;
    }
    let is_file = |path: &str| std::path::Path::new(path).is_file();
    groups
        .iter()
        .map(|g| {
            espefuse::check_key_group_order(chip, g, &is_file)?;
            let data = data(&g[1])?;
            let block = espefuse::key_block(chip, &g[0])?;
            let purpose = match g.get(2) {
                Some(name) => Some(espefuse::key_purpose(chip, name)?),
                None => None,
            };
            Ok(KeyGroup {
                block,
                purpose,
                data,
            })
        })
        .collect()
}

/// Field names (refusing repeats and unknown names) to fields.
fn fields_named(chip: Chip, names: &[String]) -> anyhow::Result<Vec<Field>> {
    espefuse::check_repeated(names)?;
    Ok(names
        .iter()
        .map(|n| espefuse::field(chip, n))
        .collect::<Result<Vec<_>, _>>()?)
}

fn key_options(chip: Chip, o: &ProtectOpts) -> KeyCommandOptions {
    KeyCommandOptions {
        protection: KeyOptions {
            no_write_protect: o.no_write_protect || (chip == Chip::Esp32 && o.no_protect_key),
            no_read_protect: o.no_read_protect,
        },
        force_write_always: o.force_write_always,
        show_sensitive_info: o.show_sensitive_info,
    }
}

/// Plans, confirms and applies the staged burn. Without a confirmation it
/// fails ([`Aborted`] at the end of stdin, [`NotConfirmed`] for another
/// answer): a run that burned nothing never succeeds.
fn burn(s: &mut Session) -> anyhow::Result<()> {
    let (any, plan) = printed(espefuse::plan(&mut s.efuses, s.force))?;
    print(&plan);
    if !any {
        return Ok(());
    }
    out!(". \nThis is an irreversible operation!");
    if !s.do_not_confirm {
        out!("Type 'BURN' (all capitals) to continue.");
        let mut line = String::new();
        let read = std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the confirmation from stdin")?;
        if read == 0 {
            return Err(Aborted.into());
        }
        if line.trim_end_matches(['\n', '\r']) != "BURN" {
            // espefuse prints this and exits with status 0; espboot fails
            // instead, so that a script never mistakes it for a burn
            out!("Aborting.");
            return Err(NotConfirmed.into());
        }
    }
    print(&printed(espefuse::burn_with(
        &mut s.efuses,
        s.force,
        s.backend.as_mut(),
    ))?);
    s.backend.store(&s.efuses)?;
    Ok(())
}

fn check_after(s: &Session, after: &AfterBurn) -> anyhow::Result<()> {
    let t = match after {
        AfterBurn::Nothing => return Ok(()),
        AfterBurn::Fields(values) => espefuse::check_burned(&s.efuses, values),
        AfterBurn::Protected(fields, read) => espefuse::check_protected(&s.efuses, fields, *read),
    };
    print(&printed(t)?);
    Ok(())
}

fn read_command(s: &Session, cmd: &Command) -> anyhow::Result<()> {
    let e = &s.efuses;
    match cmd {
        Command::Summary {
            names,
            format,
            active,
            file,
            json,
        } => {
            let only = espefuse::summary_filter(e.chip(), names)?;
            let format = if *json { &SummaryFormat::Json } else { format };
            let text = match format {
                SummaryFormat::Json => {
                    espefuse::python_json(&e.summary_json_filtered(only.as_deref(), *active))
                }
                SummaryFormat::ValueOnly => {
                    if names.len() != 1 {
                        bail!("The 'value_only' format can be used exactly for one eFuse.");
                    }
                    e.summary_value(only.as_deref().unwrap_or_default())
                        .unwrap_or_default()
                }
                SummaryFormat::Summary => {
                    // base_operations.py summary: the warnings again, and a
                    // last line when a block failed
                    let (warnings, failed) = espefuse::coding_scheme_warnings(e);
                    print(&warnings);
                    let mut text = e.summary_text(only.as_deref(), *active);
                    if failed {
                        text.push_str("\nWARNING: Coding scheme has encoding bit error warnings");
                    }
                    text
                }
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
        Command::Dump { format, file_name } => dump(e, *format, file_name.as_deref())?,
        Command::CheckError { recovery } => {
            if *recovery && !e.block_errors().is_empty() {
                bail!("check-error --recovery is not supported by espboot yet");
            }
            print(&printed(espefuse::check_error(e))?);
        }
        _ => {}
    }
    Ok(())
}

fn dump(e: &Efuses, format: DumpFormat, file_name: Option<&Path>) -> anyhow::Result<()> {
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
    Ok(())
}
