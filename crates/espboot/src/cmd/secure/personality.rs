//! `espsecure` through the multi-call link: espsecure 5.6.0's command line
//! as scripts see it.
//!
//! espsecure is a rich-click group (`espsecure/__init__.py`, `cli()`): it
//! prints the banner `espsecure v5.6.0` once the command name resolved,
//! warns about deprecated spellings on stderr, renders usage errors as a
//! rich "Error" panel 80 columns wide on stderr with exit status 2, and
//! turns every `FatalError` into `ERROR: \nA fatal error occurred: <message>`
//! with exit status 2 (`_main()`). This module reproduces that frame around
//! the same command implementations `espboot secure` runs.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::cmd::choices;
use crate::cmd::did_you_mean::suggestion;
use crate::cmd::rich;
use clap::{CommandFactory, FromArgMatches};

/// espsecure's version line (`log.print(f"espsecure v{esptool.__version__}")`).
const BANNER: &str = "espsecure v5.6.0";

/// Exit status of click usage errors and of espsecure's fatal errors.
const EXIT_USAGE_OR_FATAL: u8 = 2;
/// The longest random key file `generate-flash-encryption-key --keylen`
/// writes (1 GiB). espsecure tries any length and ends in a MemoryError
/// past what the machine holds.
const MAX_RANDOM_KEY_LEN: usize = 1 << 30;

/// espsecure's commands and the positional arguments in their usage line
/// (click upper-cases argument names and turns `-` into `_`).
const COMMANDS: &[(&str, &str)] = &[
    ("digest-secure-bootloader", " IMAGE"),
    ("generate-signing-key", " KEYFILE"),
    ("sign-data", " DATAFILE"),
    ("verify-signature", " DATAFILE"),
    ("extract-public-key", " PUBLIC_KEYFILE"),
    ("digest-rsa-public-key", ""),
    ("digest-sbv2-public-key", ""),
    ("signature-info-v2", " DATAFILE"),
    ("digest-private-key", " DIGEST_FILE"),
    ("generate-flash-encryption-key", " KEY_FILE"),
    ("decrypt-flash-data", " ENCRYPTED_FILE"),
    ("encrypt-flash-data", " PLAINTEXT_FILE"),
    ("generate-sdc-certificate", ""),
    ("digest-sdc-public-key", ""),
];

/// The metavar click shows for each parameter of espsecure's commands
/// whose type names one (`ParamType.get_metavar`: `click.File` shows
/// `FILENAME`, `click.Path` `PATH`, `int` `INTEGER`, `str` `TEXT`; an
/// option taking several files shows `[FILENAME]`), by clap argument id,
/// as espsecure 5.6.0's `--help` prints them. espboot's own help keeps its
/// descriptive names; only the personality shows click's.
const CLICK_METAVARS: &[(&str, &[(&str, &str)])] = &[
    ("generate-signing-key", &[("keyfile", "PATH")]),
    (
        "sign-data",
        &[
            ("datafile", "FILENAME"),
            ("keyfile", "[FILENAME]"),
            ("output", "PATH"),
            ("hsm_config", "FILENAME"),
            ("pub_key", "[FILENAME]"),
            ("signature", "[FILENAME]"),
        ],
    ),
    (
        "verify-signature",
        &[
            ("datafile", "FILENAME"),
            ("hsm_config", "FILENAME"),
            ("keyfile", "FILENAME"),
        ],
    ),
    (
        "extract-public-key",
        &[("public_keyfile", "FILENAME"), ("keyfile", "FILENAME")],
    ),
    (
        "digest-sbv2-public-key",
        &[("keyfile", "FILENAME"), ("output", "PATH")],
    ),
    ("signature-info-v2", &[("datafile", "FILENAME")]),
    (
        "generate-flash-encryption-key",
        &[("key_file", "FILENAME"), ("keylen", "INTEGER")],
    ),
    (
        "encrypt-flash-data",
        &[
            ("plaintext_file", "FILENAME"),
            ("keyfile", "FILENAME"),
            ("output", "FILENAME"),
            ("address", "INTEGER"),
            ("flash_crypt_conf", "INTEGER"),
        ],
    ),
    (
        "decrypt-flash-data",
        &[
            ("encrypted_file", "FILENAME"),
            ("keyfile", "FILENAME"),
            ("output", "FILENAME"),
            ("address", "INTEGER"),
            ("flash_crypt_conf", "INTEGER"),
        ],
    ),
    (
        "digest-secure-bootloader",
        &[
            ("image", "FILENAME"),
            ("keyfile", "FILENAME"),
            ("output", "PATH"),
            ("iv", "FILENAME"),
        ],
    ),
    (
        "digest-private-key",
        &[
            ("digest_file", "FILENAME"),
            ("keyfile", "FILENAME"),
            ("keylen", "INTEGER"),
        ],
    ),
    (
        "generate-sdc-certificate",
        &[
            ("keyfile", "PATH"),
            ("output", "PATH"),
            ("hsm_config", "PATH"),
            ("pub_key", "PATH"),
            ("mac", "TEXT"),
            ("sdc_session_counter", "INTEGER"),
            ("chip_info", "PATH"),
            ("usc", "PATH"),
        ],
    ),
    (
        "digest-sdc-public-key",
        &[
            ("keyfile", "PATH"),
            ("pub_key", "PATH"),
            ("hsm_config", "PATH"),
            ("output", "PATH"),
        ],
    ),
];

/// `sub` with click's metavars (`CLICK_METAVARS`) in place of clap's.
fn with_click_metavars(mut sub: clap::Command) -> clap::Command {
    let name = sub.get_name().to_owned();
    let metavars = CLICK_METAVARS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(&[][..], |(_, m)| *m);
    // `mut_arg` moves the argument it changes to the end, so every argument
    // goes through it, in order, to keep the help's order
    let ids: Vec<clap::Id> = sub.get_arguments().map(|a| a.get_id().clone()).collect();
    for id in ids {
        let metavar = metavars.iter().find(|(i, _)| id == *i).map(|(_, m)| *m);
        sub = sub.mut_arg(id, |a| match metavar {
            Some(m) => a.value_name(m),
            None => a,
        });
    }
    sub
}

/// espsecure's own options that espboot's `secure` commands add (not in
/// the personality's help, refused as click refuses an unknown option).
const ESPBOOT_ONLY_OPTIONS: &[&str] = &["json"];

/// The group's or `command`'s help in rich-click's layout, built from the
/// personality's clap definitions (espboot's words; the usage line, the
/// panels and the names as espsecure has them).
fn help_text(command: Option<&str>) -> String {
    rich::help_width(|| help_page(command))
}

fn help_page(command: Option<&str>) -> String {
    let cli = Cli::command();
    let mut text = String::new();
    rich::line(&mut text, "");
    let Some(name) = command else {
        rich::line(&mut text, " Usage: espsecure [OPTIONS] COMMAND [ARGS]...");
        rich::line(&mut text, "");
        rich::line(
            &mut text,
            &format!(" {BANNER}: Secure Boot and flash encryption for Espressif chips."),
        );
        rich::line(&mut text, "");
        rich::table(&mut text, "Options", &[rich::help_row()]);
        let mut names: Vec<&str> = COMMANDS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let rows: Vec<(String, String)> = names
            .iter()
            .map(|n| {
                let about = subcommand(&cli, n)
                    .and_then(|c| c.get_about())
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                let about = if *n == "digest-rsa-public-key" {
                    format!("{about} [deprecated]")
                } else {
                    about
                };
                (n.to_string(), about)
            })
            .collect();
        rich::commands_table(&mut text, "Commands", &rows);
        return text;
    };
    let positional = COMMANDS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, p)| p);
    rich::line(
        &mut text,
        &format!(" Usage: espsecure {name} [OPTIONS]{positional}"),
    );
    if let Some(sub) = subcommand(&cli, name) {
        let about: Vec<String> = sub.get_about().map(|a| a.to_string()).into_iter().collect();
        let sub = with_click_metavars(sub.clone());
        rich::command_help(&mut text, &about, &sub, ESPBOOT_ONLY_OPTIONS);
    }
    text
}

fn subcommand<'a>(cli: &'a clap::Command, name: &str) -> Option<&'a clap::Command> {
    cli.get_subcommands()
        .find(|c| c.get_name() == name || c.get_all_aliases().any(|a| a == name))
}

/// `command`'s long options as the personality offers them (click
/// suggests among these).
fn long_options(command: &str) -> Vec<String> {
    let cli = Cli::command();
    subcommand(&cli, command).map_or_else(
        || vec!["--help".to_owned()],
        |sub| {
            crate::cmd::did_you_mean::clap_long_options(sub.get_arguments().filter(|a| {
                !a.is_hide_set()
                    && a.get_id() != "help"
                    && !ESPBOOT_ONLY_OPTIONS.contains(&a.get_id().as_str())
            }))
        },
    )
}

/// Options espsecure still accepts in their underscore spelling, with a
/// warning (`EspsecureGroup.DEPRECATED_OPTIONS`).
const DEPRECATED_OPTIONS: &[(&str, &str)] = &[
    ("--aes_xts", "--aes-xts"),
    ("--flash_crypt_conf", "--flash-crypt-conf"),
    ("--append_signatures", "--append-signatures"),
];

#[derive(Debug, clap::Parser)]
#[command(name = "espsecure", disable_help_subcommand = true)]
struct Cli {
    #[command(subcommand)]
    command: super::Command,
}

/// Runs espsecure's command line (`argv[0]` is the tool's name).
pub fn personality(argv: Vec<OsString>) -> ExitCode {
    // esptool's EsptoolGroup.parse_args replaces the deprecated option
    // spellings, with their warnings, before it resolves the command (or
    // answers --help)
    let mut args: Vec<OsString> = argv
        .into_iter()
        .skip(1)
        .map(replace_deprecated_option)
        .collect();
    // The group's only option is -h/--help; the first other word names
    // the command.
    let Some(first) = args.first().and_then(|a| a.to_str()).map(str::to_owned) else {
        // click's `no_args_is_help`: the help, then exit status 2.
        out!("{}", help_text(None));
        return ExitCode::from(EXIT_USAGE_OR_FATAL);
    };
    if first == "-h" || first == "--help" {
        out!("{}", help_text(None));
        return ExitCode::SUCCESS;
    }
    if first.starts_with('-') {
        let hint = suggestion(&first, &["--help"]);
        return usage_error(None, &format!("No such option '{first}'.{hint}"));
    }
    let canonical = first.replace('_', "-");
    let Some((command, _)) = COMMANDS.iter().find(|(name, _)| *name == canonical) else {
        let names: Vec<&str> = COMMANDS.iter().map(|(name, _)| *name).collect();
        let hint = suggestion(&first, &names);
        return usage_error(None, &format!("No such command '{first}'.{hint}"));
    };
    if canonical != first {
        eprintln!("WARNING: Deprecated: Command '{first}' is deprecated. Use '{command}' instead.");
    }
    // click answers -h/--help eagerly, after the group's banner.
    if args.iter().skip(1).any(|a| a == "-h" || a == "--help") {
        outln!("{BANNER}");
        out!("{}", help_text(Some(command)));
        return ExitCode::SUCCESS;
    }
    let deprecated = *command == "digest-rsa-public-key";
    // usage errors name the command as espsecure knows it
    let shown: &str = command;
    // clap knows `digest-rsa-public-key` as an alias of its successor.
    let command: &str = if *command == "digest-rsa-public-key" {
        "digest-sbv2-public-key"
    } else {
        command
    };
    if let Some(slot) = args.first_mut() {
        *slot = OsString::from(command);
    }
    let rest = args;
    outln!("{BANNER}");

    // `--json` is espboot's own option of these commands; espsecure has none.
    if matches!(command, "verify-signature" | "signature-info-v2") {
        if let Some(json) = rest
            .iter()
            .filter_map(|a| a.to_str())
            .find(|a| *a == "--json" || a.starts_with("--json="))
        {
            let name = json.split('=').next().unwrap_or(json);
            let hint = suggestion(
                name,
                &long_options(command)
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            );
            return usage_error(Some(shown), &format!("No such option '{name}'.{hint}"));
        }
    }
    let mut parser_argv = vec![OsString::from("espsecure")];
    let rest_copy = rest.clone();
    // click keeps the last value of a repeated single-value option (and
    // takes a repeated flag)
    let declared = Cli::command().mut_subcommand(command, |c| {
        crate::cmd::accept_empty_paths(c.args_override_self(true))
    });
    // click's own reading of short option clusters and `--flag=value`
    let rest = match declared.find_subcommand(command) {
        Some(sub) => match crate::cmd::click_option_words(sub, &rest) {
            Ok(words) => words,
            Err(message) => {
                // a parser error: click's panel without the usage block
                eprint!("{}", render_panel(&message));
                return ExitCode::from(EXIT_USAGE_OR_FATAL);
            }
        },
        None => rest,
    };
    parser_argv.extend(one_value_per_occurrence(&declared, command, rest));
    let cmd = declared.clone().mut_subcommand(command, |c| {
        let many: Vec<clap::Id> = c
            .get_arguments()
            .filter(|a| !a.is_positional() && a.get_num_args().is_some_and(|n| n.max_values() > 1))
            .map(|a| a.get_id().clone())
            .collect();
        many.into_iter()
            .fold(c, |c, id| c.mut_arg(id, |a| a.num_args(1)))
    });
    let matches = match cmd.clone().try_get_matches_from(parser_argv) {
        Ok(m) => m,
        Err(err) => {
            if err.kind() == ErrorKind::MissingRequiredArgument {
                if let Some(message) = missing_in_click_order(&declared, command, &rest_copy, &err)
                {
                    return usage_error(Some(shown), &message);
                }
            }
            return clap_error(&cmd, command, shown, &err);
        }
    };
    if let Some(message) = matches
        .subcommand_matches(command)
        .and_then(|sub| unreadable_input(&cmd, command, sub))
    {
        return usage_error(Some(shown), &message);
    }
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => return clap_error(&cmd, command, shown, &err),
    };
    super::click_file::enable();
    if let Err(err) = stdin_for_dash(&mut cli.command) {
        print_fatal(&err.to_string());
        return ExitCode::from(EXIT_USAGE_OR_FATAL);
    }
    // click warns of a deprecated command when it invokes it, once its
    // parameters parsed
    if deprecated {
        eprintln!("DeprecationWarning: The command 'digest-rsa-public-key' is deprecated.");
    }
    // `espboot secure` refuses key lengths no chip takes; espsecure writes
    // keylen/8 random bytes for any length (`generate_flash_encryption_key`).
    if let super::Command::GenerateFlashEncryptionKey { keylen, key_file } = &cli.command {
        if ![128, 192, 256, 512].contains(keylen) {
            outln!(
                "Writing {keylen} random bits to key file \"{}\".",
                key_file.display()
            );
            // `os.urandom(keylen // 8)`: Python's floor division, then
            // urandom's own refusals
            let len = keylen.div_euclid(8);
            let exception = if len < 0 {
                Some("ValueError: negative argument not allowed")
            } else if len > i128::from(i64::MAX) {
                Some("OverflowError: Python int too large to convert to C ssize_t")
            } else {
                None
            };
            if let Some(exception) = exception {
                eprintln!("{exception}");
                return ExitCode::FAILURE;
            }
            let Some(len) = usize::try_from(len)
                .ok()
                .filter(|n| *n <= MAX_RANDOM_KEY_LEN)
            else {
                eprintln!(
                    "ERROR: \nA fatal error occurred: --keylen {keylen}: espboot writes at most {MAX_RANDOM_KEY_LEN} random bytes"
                );
                return ExitCode::from(EXIT_USAGE_OR_FATAL);
            };
            let mut key = zeroize::Zeroizing::new(vec![0u8; len]);
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut key);
            return match super::click_file::write(key_file, &key, true) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    print_fatal(&fatal_message(&err));
                    ExitCode::from(EXIT_USAGE_OR_FATAL)
                }
            };
        }
    }
    // espboot's sign-data may sign in place with `-o DATAFILE`; espsecure
    // refuses (`_check_output_is_not_input`), after the key files.
    if let super::Command::SignData {
        output: Some(out),
        datafile,
        keyfile,
        ..
    } = &cli.command
    {
        if !keyfile.iter().any(|k| super::same_file(k, out)) && super::same_file(datafile, out) {
            eprintln!(
                "ERROR: \nA fatal error occurred: The input \"{}\" and output \"{}\" should not be the same!",
                datafile.display(),
                out.display()
            );
            return ExitCode::from(EXIT_USAGE_OR_FATAL);
        }
    }
    match super::run(super::Args {
        command: cli.command,
        as_espsecure: true,
    }) {
        Ok(code) => code,
        Err(err) => {
            // The SDC commands' own checks are click `BadParameter`s.
            if let Some(bad) = err
                .chain()
                .find_map(|e| e.downcast_ref::<super::sdc::BadParameter>())
            {
                if bad.hint.is_empty() {
                    // A mutually exclusive option: click's panel alone.
                    eprint!("{}", render_panel(bad.message));
                    return ExitCode::from(EXIT_USAGE_OR_FATAL);
                }
                return usage_error(
                    Some(command),
                    &format!("Invalid value for {}: {}", bad.hint, bad.message),
                );
            }
            // An output that cannot be created: click's `File` parameters
            // (opened lazily, at the first write) end in click's panel,
            // the rest open with a bare `open()` and end in its OSError;
            // exit status 1 either way.
            if let Some(failure) = crate::fsutil::OpenFailure::of_write_error(&err) {
                const CLICK_FILE_OUTPUTS: [&str; 5] = [
                    "extract-public-key",
                    "digest-private-key",
                    "generate-flash-encryption-key",
                    "encrypt-flash-data",
                    "decrypt-flash-data",
                ];
                if CLICK_FILE_OUTPUTS.contains(&command) {
                    eprint!("{}", render_panel(&failure.click_message()));
                } else {
                    eprintln!("{}", failure.exception());
                }
                return ExitCode::FAILURE;
            }
            // espsecure's HSM code ends with `log.die`: plain `ERROR:` lines
            // and exit status 1, not a FatalError.
            if let Some(died) = err
                .chain()
                .find_map(|e| e.downcast_ref::<super::hsm::Died>())
            {
                for line in died.lines() {
                    eprintln!("ERROR: {line}");
                }
                return ExitCode::FAILURE;
            }
            // An exception espsecure does not catch: Python's traceback
            // (exit status 1); we print its last lines, the exception.
            if let Some(uncaught) = err
                .chain()
                .find_map(|e| e.downcast_ref::<super::keys::Uncaught>())
            {
                if uncaught.deserialize_note {
                    // espsecure's _main, before re-raising the ValueError
                    eprintln!("ERROR: Note: This error originates from the cryptography module. It is likely not a problem with espsecure, please make sure you are using a compatible OpenSSL backend.");
                }
                eprintln!("{}", uncaught.exception);
                return ExitCode::FAILURE;
            }
            print_fatal(&fatal_message(&err));
            ExitCode::from(EXIT_USAGE_OR_FATAL)
        }
    }
}

/// espsecure's wording of a failure: the reference text where the command
/// recorded one, else espboot's own message.
/// esptool's `log.die` of a FatalError: rich's console expands the tabs of
/// a message (configparser's, for one) to 8 columns.
fn print_fatal(message: &str) {
    let text = format!("ERROR: \nA fatal error occurred: {message}");
    eprintln!("{}", crate::cmd::rich::expand_tabs(&text));
}

fn fatal_message(err: &anyhow::Error) -> String {
    err.chain()
        .find_map(|e| e.downcast_ref::<super::Fatal>())
        .map_or_else(|| format!("{err:#}"), |f| f.espsecure().to_owned())
}

/// Rewrites `--aes_xts[=v]` to `--aes-xts[=v]` with espsecure's warning.
fn replace_deprecated_option(arg: OsString) -> OsString {
    let Some(text) = arg.to_str() else {
        return arg;
    };
    let (name, value) = match text.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (text, None),
    };
    let Some((old, new)) = DEPRECATED_OPTIONS.iter().find(|(old, _)| *old == name) else {
        return arg;
    };
    eprintln!("WARNING: Deprecated: Option '{old}' is deprecated. Use '{new}' instead.");
    match value {
        Some(v) => OsString::from(format!("{new}={v}")),
        None => OsString::from(*new),
    }
}

/// click's rendering of an option: `'--version' / '-v'`.
fn click_option_name(cmd: &clap::Command, command: &str, long: &str) -> String {
    let short = cmd
        .find_subcommand(command)
        .and_then(|sub| {
            sub.get_arguments()
                .find(|a| a.get_long() == Some(long.trim_start_matches("--")))
        })
        .and_then(clap::Arg::get_short);
    match short {
        Some(s) => format!("'{long}' / '-{s}'"),
        None => format!("'{long}'"),
    }
}

fn context_str(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        _ => None,
    }
}

/// Arguments espsecure declares as `click.File("rb")`/`("r")`: click opens
/// them while parsing and reports a file it cannot open as a usage error.
const INPUT_FILE_ARGS: &[&str] = &[
    "keyfile",
    "iv",
    "image",
    "hsm_config",
    "pub_key",
    "signature",
    "datafile",
    "plaintext_file",
    "encrypted_file",
];

/// espsecure's options that take several values (`--keyfile a b`) take the
/// next word, then the words after it up to the next one that starts with
/// `-`, `-` itself included (standard input as the data file, say); clap
/// would take a later `-` as one more value. Each value becomes an occurrence of its own
/// (`--keyfile a --keyfile b`) for a parser that takes one per
/// occurrence.
fn one_value_per_occurrence(
    cmd: &clap::Command,
    command: &str,
    words: Vec<OsString>,
) -> Vec<OsString> {
    let Some(def) = cmd.find_subcommand(command) else {
        return words;
    };
    let mut out = Vec::with_capacity(words.len());
    let mut words = words.into_iter().peekable();
    while let Some(word) = words.next() {
        let text = word.to_string_lossy().into_owned();
        let many = |a: &&clap::Arg| {
            !a.is_positional() && a.get_num_args().is_some_and(|n| n.max_values() > 1)
        };
        let separate = def.get_arguments().filter(many).find(|a| {
            a.get_long().is_some_and(|l| text == format!("--{l}"))
                || a.get_short().is_some_and(|c| text == format!("-{c}"))
        });
        // `--keyfile=a.pem b.pem`: the first value joined to the option
        let joined = def.get_arguments().filter(many).find_map(|a| {
            a.get_long()
                .filter(|l| text.starts_with(&format!("--{l}=")))
        });
        out.push(word);
        let option = match (separate, joined) {
            (Some(_), _) => {
                // the first value is the next word, whatever it is
                if let Some(value) = words.next() {
                    out.push(value);
                }
                text.clone()
            }
            (None, Some(long)) => format!("--{long}"),
            (None, None) => continue,
        };
        while let Some(value) = words.next_if(|w| !w.to_string_lossy().starts_with('-')) {
            out.push(OsString::from(&option));
            out.push(value);
        }
    }
    out
}

/// Replaces each input espsecure declares as a `click.File` that was given
/// as `-` by standard input ([`super::click_file::take_stdin`]), in the
/// order espsecure reads them (the first one read gets the data).
fn stdin_for_dash(command: &mut super::Command) -> anyhow::Result<()> {
    use super::click_file::take_stdin;
    use super::Command as C;
    let mut inputs: Vec<&mut std::path::PathBuf> = Vec::new();
    match command {
        C::SignData {
            keyfile,
            hsm_config,
            pub_key,
            signature,
            datafile,
            ..
        } => {
            inputs.push(datafile);
            inputs.extend(keyfile.iter_mut());
            inputs.extend(hsm_config.iter_mut());
            inputs.extend(pub_key.iter_mut());
            inputs.extend(signature.iter_mut());
        }
        C::VerifySignature {
            hsm_config,
            keyfile,
            datafile,
            ..
        } => {
            inputs.push(datafile);
            inputs.extend(hsm_config.iter_mut());
            inputs.extend(keyfile.iter_mut());
        }
        C::ExtractPublicKey { keyfile, .. }
        | C::DigestSbv2PublicKey { keyfile, .. }
        | C::DigestPrivateKey { keyfile, .. } => inputs.push(keyfile),
        C::SignatureInfoV2 { datafile, .. } => inputs.push(datafile),
        C::EncryptFlashData {
            crypt,
            plaintext_file: file,
        }
        | C::DecryptFlashData {
            crypt,
            encrypted_file: file,
        } => {
            inputs.push(&mut crypt.keyfile);
            inputs.push(file);
        }
        C::DigestSecureBootloader {
            keyfile, iv, image, ..
        } => {
            inputs.extend(iv.iter_mut());
            inputs.push(image);
            inputs.push(keyfile);
        }
        // click.Path parameters: `-` is a file name
        C::GenerateSigningKey { .. }
        | C::GenerateFlashEncryptionKey { .. }
        | C::GenerateSdcCertificate(_)
        | C::DigestSdcPublicKey(_) => {}
    }
    for input in inputs {
        take_stdin(input)?;
    }
    Ok(())
}

/// The SDC commands declare their inputs `click.Path(exists=True)`: click
/// only checks that they exist.
const SDC_COMMANDS: &[&str] = &["generate-sdc-certificate", "digest-sdc-public-key"];
const SDC_PATH_ARGS: &[&str] = &["keyfile", "hsm_config", "pub_key", "chip_info", "usc"];

/// click's message for the first input file (in declaration order) that
/// cannot be opened.
fn unreadable_input(cmd: &clap::Command, command: &str, sub: &clap::ArgMatches) -> Option<String> {
    // generate-signing-key's KEYFILE is an output (`click.Path`).
    if command == "generate-signing-key" {
        return None;
    }
    let def = cmd.find_subcommand(command)?;
    let sdc = SDC_COMMANDS.contains(&command);
    for arg in def.get_arguments() {
        let id = arg.get_id().as_str();
        if sdc {
            let Ok(Some(mut values)) = sub.try_get_raw(id) else {
                continue;
            };
            if !SDC_PATH_ARGS.contains(&id) {
                continue;
            }
            if let Some(value) = values.find(|v| std::fs::symlink_metadata(v).is_err()) {
                let long = format!("--{}", arg.get_long().unwrap_or_default());
                return Some(format!(
                    "Invalid value for {}: Path '{}' does not exist.",
                    click_option_name(cmd, command, &long),
                    value.to_string_lossy()
                ));
            }
            continue;
        }
        if !INPUT_FILE_ARGS.contains(&id) {
            continue;
        }
        let Ok(Some(values)) = sub.try_get_raw(id) else {
            continue;
        };
        for value in values.filter(|v| *v != "-") {
            // Python's open() refuses a directory (EISDIR); Rust's opens it
            let opened = std::fs::File::open(value).and_then(|f| {
                if f.metadata()?.is_dir() {
                    Err(std::io::Error::from_raw_os_error(21))
                } else {
                    Ok(f)
                }
            });
            if let Err(e) = opened {
                let name = match arg.get_long() {
                    Some(long) => click_option_name(cmd, command, &format!("--{long}")),
                    None => format!("'{}'", id.to_uppercase()),
                };
                return Some(format!(
                    "Invalid value for {name}: '{}': {}",
                    value.to_string_lossy(),
                    strerror(&e)
                ));
            }
        }
    }
    None
}

/// The C library's text for an I/O error (Python's `strerror`), without
/// Rust's ` (os error N)` suffix.
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// click's report when clap stopped on missing required parameters.
///
/// click (`Command.parse_args`, `iter_params_for_processing`) processes
/// the options given, in the order they appear, then the arguments (click
/// puts every argument in its invocation order, given or not), then the
/// options not given, in declaration order. So an input file that cannot
/// be opened, among the options given or the arguments, comes before
/// anything missing, and a missing argument before a missing option.
/// `None`: the first missing option (clap lists them in declaration
/// order, as espsecure declares them) is what click reports.
fn missing_in_click_order(
    cmd: &clap::Command,
    command: &str,
    args: &[OsString],
    err: &clap::Error,
) -> Option<String> {
    let def = cmd.find_subcommand(command)?;
    let missing: Vec<String> = match err.get(ContextKind::InvalidArg)? {
        ContextValue::Strings(v) => v.clone(),
        ContextValue::String(s) => vec![s.clone()],
        _ => return None,
    };
    // The words after the command: option values (an input file option
    // takes every word up to the next option, as espsecure's parser does
    // for its multi-value options) and the arguments.
    let mut given: Vec<(&clap::Arg, &OsString)> = Vec::new();
    let mut positionals: Vec<&OsString> = Vec::new();
    let mut tokens = args.iter().skip(1).peekable();
    while let Some(token) = tokens.next() {
        let text = token.to_string_lossy();
        let found = def.get_arguments().find(|a| {
            a.get_long().is_some_and(|l| text == format!("--{l}"))
                || a.get_short().is_some_and(|c| text == format!("-{c}"))
        });
        match found {
            Some(arg) if arg.get_action().takes_values() => {
                let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
                if many {
                    while let Some(value) =
                        tokens.next_if(|t| !t.to_string_lossy().starts_with('-'))
                    {
                        given.push((arg, value));
                    }
                } else if let Some(value) = tokens.next() {
                    given.push((arg, value));
                }
            }
            Some(_) => {}
            None if !text.starts_with('-') => positionals.push(token),
            None => {}
        }
    }
    let unreadable = |arg: &clap::Arg, value: &OsString| -> Option<String> {
        if !INPUT_FILE_ARGS.contains(&arg.get_id().as_str())
            || SDC_COMMANDS.contains(&command)
            || value.as_os_str() == "-"
        {
            return None;
        }
        let e = std::fs::File::open(value).err()?;
        let name = match arg.get_long() {
            Some(long) => click_option_name(cmd, command, &format!("--{long}")),
            None => format!("'{}'", arg.get_id().as_str().to_uppercase()),
        };
        Some(format!(
            "Invalid value for {name}: '{}': {}",
            value.to_string_lossy(),
            strerror(&e)
        ))
    };
    if let Some(message) = given.iter().find_map(|(arg, value)| unreadable(arg, value)) {
        return Some(message);
    }
    if let Some(message) = def
        .get_positionals()
        .zip(&positionals)
        .find_map(|(arg, value)| unreadable(arg, value))
    {
        return Some(message);
    }
    let argument = missing.iter().find(|m| !m.starts_with("--"))?;
    let name = argument
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_end_matches("...")
        .replace('-', "_");
    Some(format!("Missing argument '{}'.", name.to_uppercase()))
}

/// Maps a clap parse error to click's message for the same mistake.
fn clap_error(cmd: &clap::Command, command: &str, shown: &str, err: &clap::Error) -> ExitCode {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    let arg = context_str(err, ContextKind::InvalidArg).unwrap_or_default();
    // clap renders an option as `--version <VERSION>` and a positional as
    // `<DATAFILE>`.
    let long = arg
        .split_whitespace()
        .next()
        .filter(|s| s.starts_with("--"))
        .map(str::to_owned);
    let message = match (err.kind(), &long) {
        (ErrorKind::MissingRequiredArgument, Some(long)) => {
            let name = click_option_name(cmd, command, long);
            let choices = choices(cmd, command, long);
            if choices.is_empty() {
                format!("Missing option {name}.")
            } else {
                // click lists the choices one per line, tab-indented
                // (rich expands the tab to 8 columns).
                format!(
                    "Missing option {name}. Choose from:\n        {},",
                    choices.join(",\n        ")
                )
                .trim_end_matches(',')
                .to_owned()
            }
        }
        (ErrorKind::MissingRequiredArgument, None) => {
            let name = arg
                .trim_start_matches('<')
                .trim_end_matches('>')
                .replace('-', "_");
            format!("Missing argument '{}'.", name.to_uppercase())
        }
        (ErrorKind::InvalidValue, Some(long)) => {
            let name = click_option_name(cmd, command, long);
            let value = context_str(err, ContextKind::InvalidValue).unwrap_or_default();
            let choices = choices(cmd, command, long);
            if choices.is_empty() {
                format!("Invalid value for {name}: '{value}'.")
            } else {
                let quoted: Vec<String> = choices.iter().map(|c| format!("'{c}'")).collect();
                format!(
                    "Invalid value for {name}: '{value}' is not one of {}.",
                    quoted.join(", ")
                )
            }
        }
        (ErrorKind::ValueValidation, Some(long)) => {
            // Every option espsecure checks while parsing is an integer
            // (`int` or `AnyIntType`).
            let value = context_str(err, ContextKind::InvalidValue).unwrap_or_default();
            format!(
                "Invalid value for {}: '{value}' is not a valid integer.",
                click_option_name(cmd, command, long)
            )
        }
        (ErrorKind::UnknownArgument, _) => {
            let name = arg.split('=').next().unwrap_or_default().to_owned();
            if name.starts_with("--") {
                // click suggests among the command's long options.
                let hint = suggestion(
                    &name,
                    &long_options(command)
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                );
                format!("No such option '{name}'.{hint}")
            } else if name.starts_with('-') {
                format!("No such option '{name}'.")
            } else {
                format!("Got unexpected extra argument ({name})")
            }
        }
        _ => {
            // Anything else: clap's own first line without its prefix.
            let rendered = err.render().to_string();
            rendered
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_owned()
        }
    };
    usage_error(Some(shown), &message)
}

/// Prints click's usage block and rich's Error panel on stderr, exit 2.
fn usage_error(command: Option<&str>, message: &str) -> ExitCode {
    eprint!("{}", render_usage_error(command, message));
    ExitCode::from(EXIT_USAGE_OR_FATAL)
}

/// rich-click's Error panel alone (a `UsageError` raised without a
/// context: no usage lines).
fn render_panel(message: &str) -> String {
    rich::usage_error(None, message)
}

/// Text of a click usage error as rich-click renders it without a terminal.
fn render_usage_error(command: Option<&str>, message: &str) -> String {
    let (prog, args, help) = match command {
        Some(cmd) => {
            let positional = COMMANDS
                .iter()
                .find(|(name, _)| *name == cmd)
                .map_or("", |(_, p)| p);
            (
                format!("espsecure {cmd}"),
                format!("[OPTIONS]{positional}"),
                format!("espsecure {cmd} -h"),
            )
        }
        None => (
            "espsecure".to_owned(),
            "[OPTIONS] COMMAND [ARGS]...".to_owned(),
            "espsecure -h".to_owned(),
        ),
    };
    let usage = rich::Usage {
        prog: &prog,
        args: &args,
        help: &help,
    };
    rich::usage_error(Some(&usage), message)
}
