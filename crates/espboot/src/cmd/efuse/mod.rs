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
use esp_efuse::{policy, Bits, Chip, Efuses, KeyGroup, KeyOptions, KeyPurpose, VirtualFile};
use esp_serial_client::reset::Before;
use esp_serial_client::Client;
use zeroize::Zeroizing;

use crate::fsutil::write_atomic;

mod args;
mod click;
mod click_args;
mod help;

use args::{Command, DumpFormat, Parsed, ProtectOpts, SummaryFormat};

/// Console output that never panics (a closed pipe, e.g. `| head`, is not an error).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

// Declared after `out!` so the command modules use this writeln-based
// `out!`, not the crate root's (macro_rules! scoping is textual).
mod operands;
mod port;
mod session;

use port::connect;
use session::{run_commands, RunOptions};

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
        Ok(Parsed::Help(text)) => {
            if !text.is_empty() {
                out!("{}", text.trim_end());
            }
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::CommandHelp {
            page,
            chip_named,
            virt_file,
        }) => {
            // the group's callback runs before click shows the command's help
            out!("espefuse v5.6.0");
            if let Err(e) = group_callback(virt_file.as_ref(), false) {
                return espefuse_failure(&e);
            }
            if !chip_named {
                out!("NOTE: Chip not specified, showing commands for ESP32 by default. Specify the --chip option to get chip-specific help.");
            }
            match help_text(page) {
                Ok(text) => out!("{}", text.trim_end()),
                Err(e) => return espefuse_failure(&e),
            }
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::GroupHelp { chip, .. }) => {
            use std::io::Write as _;
            let _ = write!(std::io::stdout().lock(), "{}", help::group_help(chip));
            return ExitCode::SUCCESS;
        }
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
    if let Some(removed) = err.downcast_ref::<Removed>() {
        let _ = writeln!(stderr, "ERROR: {removed}");
        return ExitCode::from(2);
    }
    if let Some(args::TokenFailure(e)) = err.downcast_ref::<args::TokenFailure>() {
        // efuse_interface.py get_esp, from the group's callback: after the
        // banner; a FatalError gets __init__.py's hint about the port, any
        // other exception is a traceback (its last line here), exit 1
        out!("espefuse v5.6.0");
        if !e.is_fatal() {
            let _ = writeln!(stderr, "{e}");
            return ExitCode::from(1);
        }
        // a chip espefuse knows but espboot lacks is espboot's own
        // refusal: no hint about the port there
        let hint = if matches!(e, esp_efuse::token::TokenError::ChipNotInEspboot(_)) {
            ""
        } else {
            "\nPlease make sure you specified the right port with --port."
        };
        let _ = writeln!(stderr, "ERROR: \nA fatal error occurred: {e}{hint}");
        return ExitCode::from(2);
    }
    if let Some(usage) = err.downcast_ref::<args::UsageError>() {
        if usage.after_banner {
            out!("espefuse v5.6.0");
            let efuses = match group_callback(usage.virt_file.as_deref(), true) {
                Ok(efuses) => efuses,
                Err(e) => {
                    drop(stderr);
                    return espefuse_failure(&e);
                }
            };
            // click converted each earlier command's arguments as it parsed
            // it: an invalid one there is the error espefuse reports
            let parsed_before = usage.parsed_before.as_deref().map_or(&[][..], |p| &p.0);
            if let Some(mut efuses) = efuses {
                efuses.settle_as_read();
                for (cmd, warning) in parsed_before {
                    if let Some(warning) = warning {
                        let _ = writeln!(stderr, "{warning}");
                    }
                    if let Err(e) = session::click_convert_command(&efuses, cmd, Banner::Espefuse) {
                        drop(stderr);
                        return espefuse_failure(&e);
                    }
                }
                // their warnings are printed
                let printed = parsed_before.iter().filter(|(_, w)| w.is_some()).count();
                for warning in usage.warnings.iter().skip(printed) {
                    let _ = writeln!(stderr, "{warning}");
                }
                let _ = write!(stderr, "{}", usage.click_text());
                return ExitCode::from(2);
            }
        }
        for warning in &usage.warnings {
            let _ = writeln!(stderr, "{warning}");
        }
        let _ = write!(stderr, "{}", usage.click_text());
        return ExitCode::from(2);
    }
    // an output that cannot be created: click's panel for a click.File,
    // open()'s OSError for the rest; exit status 1 either way
    if let Some(failure) = crate::fsutil::OpenFailure::of_write_error(err) {
        if err.downcast_ref::<ClickFileOutput>().is_some() {
            let _ = write!(
                stderr,
                "{}",
                crate::cmd::rich::usage_error(None, &failure.click_message())
            );
        } else {
            let _ = writeln!(stderr, "{}", failure.exception());
        }
        return ExitCode::from(1);
    }
    // A bad CSV row or a field its chip cannot place is an uncaught Python
    // exception in espefuse (a traceback, exit 1): the same status, and
    // the traceback's last line (espboot's own where espefuse goes on).
    if err.downcast_ref::<PythonException>().is_some() {
        let _ = writeln!(stderr, "{err}");
        return ExitCode::from(1);
    }
    use esp_efuse::custom_table::{CsvError, ExtendError};
    let table_error = match (
        err.downcast_ref::<CsvError>(),
        err.downcast_ref::<ExtendError>(),
    ) {
        (Some(csv), _) => Some(csv.python_exception()),
        (_, Some(e @ (ExtendError::UnknownBlock { .. } | ExtendError::OutsideBlock { .. }))) => {
            Some(e.python_exception())
        }
        _ => None,
    };
    if let Some(exception) = table_error {
        let _ = writeln!(stderr, "{}", exception.unwrap_or_else(|| err.to_string()));
        return ExitCode::from(1);
    }
    // a burn-efuse or burn-custom-mac value espefuse's own parsing does
    // not catch: a traceback (exit 1) there, one line here
    if let Some(esp_efuse::EfuseError::Value(value)) = err.downcast_ref::<esp_efuse::EfuseError>() {
        if let Some(exception) = value.python_exception() {
            let _ = writeln!(stderr, "{exception}");
            return ExitCode::from(1);
        }
    }
    let refusal = match (
        err.downcast_ref::<operands::DigestKeyRefused>(),
        err.downcast_ref::<operands::EcdsaKeyRefused>(),
    ) {
        (Some(digest), _) => Some(&digest.refusal),
        (_, Some(ecdsa)) => Some(&ecdsa.refusal),
        _ => None,
    };
    // a key file espsecure refuses (burn-key-digest, an ECDSA_KEY
    // purpose): its FatalError as espefuse reports any; an exception it
    // does not catch is a traceback (exit 1) there, its last line here
    if let Some(refusal) = refusal {
        use crate::cmd::secure::keys::Refusal;
        match refusal {
            Refusal::Fatal(message) => {
                let _ = writeln!(stderr, "ERROR: \nA fatal error occurred: {message}");
                return ExitCode::from(2);
            }
            Refusal::Uncaught { exception, .. } => {
                let _ = writeln!(stderr, "{exception}");
                return ExitCode::from(1);
            }
        }
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
    let _ = writeln!(stderr, "{}", crate::cmd::rich::expand_tabs(&text));
    ExitCode::from(2)
}

/// What espefuse's group callback does before click reads the chained
/// commands, so before a command's usage error or help: it makes the
/// emulated chip, creating the virtual eFuse file (a blank chip's image
/// when it is missing or empty, an existing file left as it is; with
/// `--token` the token's eFuses), and, when `read` (not for a help page:
/// `skip_connect`), reads the eFuses, printing what that prints.
fn group_callback(
    chip: Option<&click::CallbackChip>,
    read: bool,
) -> anyhow::Result<Option<Efuses>> {
    let Some(cb) = chip else {
        return Ok(None);
    };
    let efuses = match &cb.file {
        Some(file) => {
            let context = || format!("--path-efuse-file {}", file.path().display());
            let _lock = file.lock(VirtualFile::LOCK_WAIT).with_context(context)?;
            match &cb.token {
                Some(efuses) => {
                    file.save(efuses).with_context(context)?;
                    efuses.clone()
                }
                None => file.open(cb.chip).with_context(context)?,
            }
        }
        None => cb.token.clone().unwrap_or_else(|| Efuses::new(cb.chip)),
    };
    if read {
        let (lines, readable) = session::read_output(&efuses, cb.debug, Banner::Espefuse);
        for line in lines {
            out!("{line}");
        }
        readable?;
    }
    Ok(Some(efuses))
}

/// What ends espefuse with an uncaught Python exception (a traceback,
/// exit 1): its last line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct PythonException(String);

/// `summary --file`, a `click.File` in espefuse: an output it cannot
/// create ends in click's panel, not in `open()`'s OSError.
#[derive(Debug, thiserror::Error)]
#[error("summary --file")]
struct ClickFileOutput;

/// stdin ended before the `BURN` confirmation (espefuse: click's Abort).
#[derive(Debug, thiserror::Error)]
#[error("no confirmation on stdin (type 'BURN' or pass --do-not-confirm): nothing was burned")]
struct Aborted;

/// The confirmation was answered with something other than `BURN`.
#[derive(Debug, thiserror::Error)]
#[error("the burn was not confirmed with 'BURN': nothing was burned")]
struct NotConfirmed;

/// A command espefuse v5 no longer has but still accepts, to fail with
/// its own message (`log.die(…, exit_code=2)`: `ERROR: ` and the text).
#[derive(Debug, thiserror::Error)]
enum Removed {
    /// `espefuse/__init__.py` execute_scripts_cli.
    #[error("REMOVED: `execute_scripts` was replaced with the public API in v5. Please see Migration Guide in documentation for details: https://docs.espressif.com/projects/esptool/en/latest/migration-guide.html#espefuse-py-v5-migration-guide")]
    ExecuteScripts,
}

/// Which banner the run prints first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Banner {
    /// espefuse's own (the personality).
    Espefuse,
    /// espefuse's, marked as espboot's (`espboot efuse`).
    Espboot,
}

impl Banner {
    /// `--path-efuse-file`: read as espefuse reads it through the
    /// personality; `espboot efuse` refuses a file that does not fit the
    /// chip (wrong `--chip`) instead of reading part of it.
    fn virtual_file(self, path: std::path::PathBuf) -> VirtualFile {
        match self {
            Banner::Espefuse => VirtualFile::espefuse(path),
            Banner::Espboot => VirtualFile::espefuse(path).strict(),
        }
    }
}

/// `espboot efuse ARGS…`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args::parse(args.rest)? {
        Parsed::Run {
            global, commands, ..
        } => run_global(global, commands, Banner::Espboot),
        Parsed::GroupHelp { asked, .. } => espboot_group_help(asked),
        Parsed::Help(text) => {
            out!("{}", text.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        Parsed::CommandHelp { page, .. } => {
            out!("{}", help_text(page)?.trim_end());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The text of a help page: a command's with the fields of its eFuse CSV
/// table, which is read and placed as for a run (with its errors).
fn help_text(page: args::HelpPage) -> anyhow::Result<String> {
    Ok(match page {
        args::HelpPage::Text(text) => text,
        args::HelpPage::Command {
            name,
            chip,
            extend_table,
        } => {
            let users = match &extend_table {
                Some(path) => load_custom(chip, path)?,
                None => Vec::new(),
            };
            help::command_help(&name, chip, &users)
        }
    })
}

/// `espboot efuse` without a command: clap's help when asked for, else a
/// one-line error naming the commands.
fn espboot_group_help(asked: bool) -> anyhow::Result<ExitCode> {
    use clap::CommandFactory as _;
    if asked {
        use std::io::Write as _;
        let help = args::Global::command().render_long_help();
        let _ = write!(std::io::stdout().lock(), "{help}");
        return Ok(ExitCode::SUCCESS);
    }
    let names: Vec<String> = args::OneCommand::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    bail!("no command given (expected one of: {})", names.join(", "));
}

fn run_global(
    mut global: args::Global,
    commands: Vec<Command>,
    banner: Banner,
) -> anyhow::Result<ExitCode> {
    // espefuse/__init__.py cli: with execute-scripts in the chain (click
    // has refused every other command by now) the group's callback returns
    // before it checks the port and makes the chip: nothing is read or
    // written, execute-scripts fails on a chip of its own
    if banner == Banner::Espefuse
        && global
            .path_efuse_file
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
    {
        // the emulator tests `if self.efuse_file:`: an empty name is no
        // file (a blank chip in memory)
        global.path_efuse_file = None;
    }
    if banner == Banner::Espefuse
        && commands
            .iter()
            .any(|c| matches!(c, Command::ExecuteScripts { .. }))
    {
        global.virt = true;
        global.port = None;
        global.token = None;
        global.path_efuse_file = None;
        global.extend_efuse_table = None;
    }
    // --after is accepted for compatibility; --baud and --before apply to
    // a port only.
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
    // an empty token counts as none where espefuse checks for a port
    // (`__init__.py` cli: `not (virt or token)`)
    let token = global
        .token
        .clone()
        .filter(|t| !t.is_empty() || global.virt || global.port.is_some());
    if let Some(text) = token {
        return run_on_token(&text, global, commands, banner);
    }
    if !global.virt {
        let Some(port) = global.port.clone() else {
            if banner == Banner::Espefuse {
                // the group callback's BadOptionUsage, after the banner
                let mut e = args::UsageError::message(
                    "espefuse",
                    "Missing required argument. Please specify the --port option.".to_string(),
                );
                e.after_banner = true;
                return Err(e.into());
            }
            bail!("--port (or ESPTOOL_PORT) is required unless --virt is given");
        };
        if !print_banner(banner, &commands)? {
            return Ok(ExitCode::SUCCESS);
        }
        let (mut chip_port, chip) = connect(&port, named, &global, json_only(&commands))?;
        let mut efuses = chip_port
            .load(chip)
            .with_context(|| format!("{port}: reading the eFuses"))?;
        efuses.set_postpone(!global.no_postpone);
        if let Some(path) = &global.extend_efuse_table {
            efuses.set_custom_fields(load_custom(chip, path)?);
        }
        let baud = global.baud.unwrap_or(115_200);
        let result = run_commands(
            efuses,
            Box::new(chip_port),
            commands,
            global.run_options(banner),
        );
        return port::download_mode_burned(result, &port, baud, chip);
    }
    // espefuse's virtual mode falls back to ESP32 when no chip is named
    let chip = named.unwrap_or(Chip::Esp32);
    let file = global
        .path_efuse_file
        .clone()
        .map(|path| banner.virtual_file(path));
    let table = global.extend_efuse_table.clone();
    let postpone = !global.no_postpone;
    run_on_file(
        chip,
        file,
        move |e| {
            e.set_postpone(postpone);
            if let Some(path) = &table {
                e.set_custom_fields(load_custom(chip, path)?);
            }
            Ok(())
        },
        commands,
        global.run_options(banner),
    )
}

/// `--token`: a virtual chip whose eFuses (and chip, whatever `--chip`
/// says) come from the token, as espefuse's emulator loads it. With
/// `--path-efuse-file` the token's eFuses replace the file's and every
/// burn is saved there; without it nothing persists (`--virt` changes
/// nothing: a token is always virtual).
fn run_on_token(
    text: &str,
    global: args::Global,
    commands: Vec<Command>,
    banner: Banner,
) -> anyhow::Result<ExitCode> {
    let token = esp_efuse::token::decode(text).map_err(args::TokenFailure)?;
    let chip = token.chip;
    let file = global
        .path_efuse_file
        .clone()
        .map(|path| banner.virtual_file(path));
    efuse_file_openable(file.as_ref(), banner)?;
    let _lock = match &file {
        Some(f) => Some(
            f.lock(VirtualFile::LOCK_WAIT)
                .with_context(|| format!("--path-efuse-file {}", f.path().display()))?,
        ),
        None => None,
    };
    if !print_banner(banner, &commands)? {
        return Ok(ExitCode::SUCCESS);
    }
    let mut efuses = token.efuses();
    drop(token);
    // emulate_efuse_controller_base.py: the loaded image is saved at once
    let backend: Box<dyn EfuseBackend> = match file {
        Some(f) => {
            f.save(&efuses)
                .with_context(|| format!("--path-efuse-file {}", f.path().display()))?;
            Box::new(f)
        }
        None => Box::new(Emulated),
    };
    efuses.set_postpone(!global.no_postpone);
    if let Some(path) = &global.extend_efuse_table {
        efuses.set_custom_fields(load_custom(chip, path)?);
    }
    run_commands(efuses, backend, commands, global.run_options(banner))
}

/// Reads `--extend-efuse-table FILE` and places its fields on `chip`;
/// espefuse names duplicates on a line of their own before its fatal error.
fn load_custom(
    chip: Chip,
    path: &std::path::Path,
) -> anyhow::Result<Vec<esp_efuse::custom_table::ChipCustomField>> {
    let data =
        std::fs::read(path).with_context(|| format!("--extend-efuse-table {}", path.display()))?;
    let name = path.display().to_string();
    let table = esp_efuse::custom_table::parse(&name, &data).inspect_err(|e| {
        if let esp_efuse::custom_table::CsvErrorKind::DuplicateName { report, .. } = &e.kind {
            for line in report {
                println!("{line}");
            }
        }
    })?;
    esp_efuse::custom_table::extend(chip, &name, &table).map_err(|e| {
        if let esp_efuse::custom_table::ExtendError::DuplicateNames { names } = &e {
            println!("Names that are not unique: {}", names.join(", "));
        }
        e.into()
    })
}

/// espefuse opens the virtual eFuse file after its banner, with `open()`:
/// a missing directory or a directory is its OSError there (espboot's lock
/// file next to it would fail first, with a misleading word).
fn efuse_file_openable(file: Option<&VirtualFile>, banner: Banner) -> anyhow::Result<()> {
    let Some(f) = file else {
        return Ok(());
    };
    let path = f.path();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let errno = if path.is_dir() {
        21
    } else if dir.is_some_and(|d| !d.is_dir()) {
        2
    } else {
        return Ok(());
    };
    let failure =
        crate::fsutil::OpenFailure::of_io(&std::io::Error::from_raw_os_error(errno), path);
    if banner == Banner::Espefuse {
        out!("espefuse v5.6.0");
        return Err(PythonException(failure.exception()).into());
    }
    bail!(
        "--path-efuse-file {}: {}",
        path.display(),
        failure.reason.to_lowercase()
    )
}

/// Runs `commands` on a virtual file (or a blank chip in memory), holding
/// the file's lock until every command has run and saved: concurrent runs
/// on one file would otherwise each burn into the state they read and the
/// last save would drop the others' burns.
fn run_on_file(
    chip: Chip,
    file: Option<VirtualFile>,
    // --no-postpone and --extend-efuse-table, applied to the loaded eFuses
    // after the banner, as espefuse reads the table
    prepare: impl FnOnce(&mut Efuses) -> anyhow::Result<()>,
    commands: Vec<Command>,
    opts: RunOptions,
) -> anyhow::Result<ExitCode> {
    let banner = opts.banner;
    efuse_file_openable(file.as_ref(), banner)?;
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
    let mut efuses = efuses;
    if !print_banner(banner, &commands)? {
        return Ok(ExitCode::SUCCESS);
    }
    prepare(&mut efuses)?;
    run_commands(efuses, backend, commands, opts)
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
    let (global, global_tokens, commands) = match args::parse(argv)? {
        Parsed::Run {
            global,
            global_tokens,
            commands,
        } => (global, global_tokens, commands),
        Parsed::GroupHelp { asked, .. } => return espboot_group_help(asked),
        Parsed::Help(text) => {
            out!("{}", text.trim_end());
            return Ok(ExitCode::SUCCESS);
        }
        Parsed::CommandHelp { page, .. } => {
            out!("{}", help_text(page)?.trim_end());
            return Ok(ExitCode::SUCCESS);
        }
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
                | "--token"
        )
    });
    if let Some(option) = device_option {
        bail!("{option}: the device sets the chip and its eFuses");
    }
    let postpone = !global.no_postpone;
    let table = global.extend_efuse_table.clone();
    run_on_file(
        chip,
        Some(file),
        move |e| {
            e.set_postpone(postpone);
            if let Some(path) = &table {
                e.set_custom_fields(load_custom(chip, path)?);
            }
            Ok(())
        },
        commands,
        global.run_options(Banner::Espboot),
    )
}
