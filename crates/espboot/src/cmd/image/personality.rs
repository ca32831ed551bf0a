//! `imgtool`: espboot behaving as imgtool 2.5.0 does for scripts.
//!
//! The commands are `espboot image`'s (same bytes); what differs is the
//! edge: imgtool's help pages (click's layout, rendered from the clap
//! definitions by `imgtool_help`), click's usage errors (usage line, `Try 'imgtool CMD
//! --help' for help.`, `Error: …`, exit 2), `version` printing `2.5.0`, and
//! `verify`'s verdicts on stdout with exit 1.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::FromArgMatches as _;

use super::imgtool_help::{self, declared_at, option_names};
use super::sign::{CreateRefusals, ImgtoolRefusal};
use crate::cmd::did_you_mean::suggestion;

/// click's exit status for usage errors.
const EXIT_USAGE: u8 = 2;

/// click's usage error: usage line, the help hint, the message; exit 2.
fn usage_error(command: Option<&str>, message: &str) -> ExitCode {
    let (usage, hint) = match command {
        Some(c) => (imgtool_help::usage(c), format!("imgtool {c} --help")),
        None => (imgtool_help::usage("imgtool"), "imgtool --help".to_owned()),
    };
    // Python writes a lone surrogate of a command-line value as `\udcff`
    let message = py_repr::backslashreplace(message);
    eprint!("{usage}\nTry '{hint}' for help.\n\nError: {message}\n");
    ExitCode::from(EXIT_USAGE)
}

/// The command's long options as click suggests among them.
fn long_options(command: &str) -> Vec<String> {
    imgtool_help::long_options(command)
}

/// click's "Did you mean" tail for `word` among `names`.
fn suggest(word: &str, names: &[String]) -> String {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    suggestion(word, &names)
}

fn context_strings(err: &clap::Error, kind: ContextKind) -> Vec<String> {
    match err.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        _ => Vec::new(),
    }
}

/// click's message for the parse error clap found in `command`'s line
/// (`typed`: the words after the command name).
/// (`shown`: the command's name as typed, `create` for `sign` too, which
/// click's usage line repeats.)
fn clap_error(command: &str, shown: &str, err: &clap::Error, typed: &[OsString]) -> ExitCode {
    let args = context_strings(err, ContextKind::InvalidArg);
    let value = context_strings(err, ContextKind::InvalidValue);
    if err.kind() == ErrorKind::InvalidValue && value.iter().all(String::is_empty) {
        // An option at the end of the line without its value: click says
        // so without the usage block.
        let option = typed
            .last()
            .map(|o| o.to_string_lossy().into_owned())
            .unwrap_or_default();
        eprintln!("Error: Option '{option}' requires an argument.");
        return ExitCode::from(EXIT_USAGE);
    }
    let message = match err.kind() {
        ErrorKind::MissingRequiredArgument => {
            // click checks the arguments (INFILE, …) before the options,
            // and options in their declaration order.
            let positional = args.iter().find(|a| !a.starts_with('-'));
            match positional {
                Some(p) => format!(
                    "Missing argument '{}'.",
                    p.trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_uppercase()
                ),
                None => {
                    let longs: Vec<&str> = args
                        .iter()
                        .filter_map(|a| a.split_whitespace().next())
                        .collect();
                    let first = longs
                        .iter()
                        .min_by_key(|l| declared_at(command, l))
                        .copied()
                        .unwrap_or_default();
                    format!("Missing option {}.", option_names(command, first))
                }
            }
        }
        ErrorKind::InvalidValue => {
            let long = args
                .first()
                .and_then(|a| a.split_whitespace().next())
                .unwrap_or_default()
                .to_owned();
            let bad = value.first().cloned().unwrap_or_default();
            let parser = imgtool_help::parser();
            let quoted: Vec<String> = crate::cmd::choices(&parser, command, &long)
                .iter()
                .map(|c| format!("'{c}'"))
                .collect();
            if quoted.is_empty() {
                format!(
                    "Invalid value for {}: '{bad}'.",
                    option_names(command, &long)
                )
            } else {
                format!(
                    "Invalid value for {}: {} is not one of {}.",
                    option_names(command, &long),
                    py_repr::str(&bad),
                    quoted.join(", ")
                )
            }
        }
        ErrorKind::UnknownArgument => {
            let name = args
                .first()
                .map(|a| a.split('=').next().unwrap_or_default().to_owned())
                .unwrap_or_default();
            let dashdash = typed.iter().position(|w| w == "--");
            let after_dashdash = dashdash.and_then(|d| {
                typed
                    .iter()
                    .skip(d + 1)
                    .position(|w| *w == *name)
                    .map(|i| i + d + 1)
            });
            if let Some(at) = after_dashdash {
                // after `--` every word is an argument: click lists those
                // left over (its `ctx.args`)
                let extra: Vec<String> = typed[at..]
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect();
                if extra.len() > 1 {
                    format!("Got unexpected extra arguments ({})", extra.join(" "))
                } else {
                    format!("Got unexpected extra argument ({name})")
                }
            } else if name.starts_with("--") {
                // click suggests among the command's long options.
                let hint = suggest(&name, &long_options(command));
                format!("No such option '{name}'.{hint}")
            } else if name.starts_with('-') {
                format!("No such option '{name}'.")
            } else {
                // click lists every word left over (its `ctx.args`)
                let extra: Vec<String> = typed
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .skip_while(|a| *a != name)
                    .filter(|a| !a.starts_with('-'))
                    .collect();
                if extra.len() > 1 {
                    format!("Got unexpected extra arguments ({})", extra.join(" "))
                } else {
                    format!("Got unexpected extra argument ({name})")
                }
            }
        }
        _ => err
            .render()
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_owned(),
    };
    usage_error(Some(shown), &message)
}

/// Runs an `imgtool …` command line (`argv[0]` is the tool's name).
pub fn personality(argv: Vec<OsString>) -> ExitCode {
    let args: Vec<OsString> = argv.into_iter().skip(1).collect();
    let Some(first) = args.first().map(|a| a.to_string_lossy().into_owned()) else {
        // click prints the group's help on stderr when no command is given
        eprint!("{}", imgtool_help::help("imgtool").unwrap_or_default());
        return ExitCode::from(EXIT_USAGE);
    };
    if first == "-h" || first == "--help" {
        out!("{}", imgtool_help::help("imgtool").unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    if first.starts_with('-') {
        let hint = suggest(&first, &["--help".to_owned()]);
        return usage_error(None, &format!("No such option '{first}'.{hint}"));
    }
    // imgtool's `create` is `sign` under its older name.
    let command = if first == imgtool_help::SIGN_ALIAS {
        "sign"
    } else {
        first.as_str()
    };
    let names = imgtool_help::command_names();
    if !names.contains(&first) {
        // `create` is resolved by name only; click suggests among the rest.
        let rest: Vec<String> = names
            .into_iter()
            .filter(|n| n != imgtool_help::SIGN_ALIAS)
            .collect();
        let hint = suggest(&first, &rest);
        return usage_error(None, &format!("No such command '{first}'.{hint}"));
    }
    // click handles --help eagerly, wherever it stands
    if asks_for_help(imgtool_help::parser().find_subcommand(command), &args[1..]) {
        out!("{}", imgtool_help::help(&first).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let typed: Vec<OsString> = args.into_iter().skip(1).collect();
    // click keeps the last value of a repeated single-value option.
    let parser = imgtool_help::parser().mut_subcommand(command, |c| {
        crate::cmd::accept_empty_paths(options_take_any_value(c.args_override_self(true)))
    });
    // click's own reading of short option clusters and `--flag=value`
    let typed = match parser.find_subcommand(command) {
        Some(sub) => match crate::cmd::click_option_words(sub, &typed) {
            Ok(words) => words,
            Err(message) => {
                // a parser error: click prints it without the usage block
                eprintln!("Error: {message}");
                return ExitCode::from(EXIT_USAGE);
            }
        },
        None => typed,
    };
    let typed = match parser.find_subcommand(command) {
        Some(sub) => text_values_as_python(sub, typed),
        None => typed,
    };
    // click reports extra arguments only once every parameter has been
    // processed: the line is parsed without them.
    let (mut typed, extras) = match parser.find_subcommand(command) {
        Some(sub) => split_extra_arguments(sub, &typed),
        None => (typed, Vec::new()),
    };
    if command == "keygen" {
        if let Err(code) = prompt_key_type(&parser, &mut typed) {
            return code;
        }
    }
    let mut parser_argv = vec![OsString::from("imgtool"), OsString::from(command)];
    parser_argv.extend(typed.iter().cloned());
    let matches = match parser.clone().try_get_matches_from(parser_argv) {
        Ok(m) => m,
        Err(err) => {
            return match earlier_error(&parser, command, &err, &typed) {
                Some(Earlier::Imgtool(message)) => usage_error(Some(&first), &message),
                Some(Earlier::Parse(earlier)) => clap_error(command, &first, &earlier, &typed),
                None => clap_error(command, &first, &err, &typed),
            };
        }
    };
    let mut parsed = match super::Args::from_arg_matches(&matches) {
        Ok(parsed) => parsed,
        Err(err) => return clap_error(command, &first, &err, &typed),
    };
    if !extras.is_empty() {
        return extra_arguments_error(&first, &parsed, &typed, &extras);
    }
    if command == "version" {
        // imgtool's own version, once click has found no extra argument
        outln!("2.5.0");
        return ExitCode::SUCCESS;
    }
    // imgtool asks for a key's passphrase through Python's getpass
    super::util::prompt_as_imgtool();
    match &mut parsed.command {
        super::Command::Sign(a) => {
            a.imgtool_notices = true;
            // imgtool tests these with `if key:`: an empty name is none
            for path in [&mut a.key, &mut a.encrypt, &mut a.fix_sig] {
                empty_as_absent(path);
            }
        }
        super::Command::Keygen(a) => a.imgtool_prompts = true,
        super::Command::Verify(a) => empty_as_absent(&mut a.key),
        _ => {}
    }
    if let super::Command::Verify(a) = parsed.command {
        if a.json {
            // espboot's own option; imgtool's verify has none.
            let hint = suggest("--json", &long_options(command));
            return usage_error(Some(&first), &format!("No such option '--json'.{hint}"));
        }
        if let Some(code) = key_file_unopenable(a.key.as_deref()) {
            return code;
        }
        // imgtool loads the key, then reads the image (image.py verify).
        let key_loads = a.key.as_ref().is_none_or(|k| !super::util::is_missing(k));
        if key_loads && super::util::is_missing(&a.imgfile) {
            return usage_error(
                Some(command),
                &format!(
                    "Image file {} not found",
                    crate::fsutil::python_str(&a.imgfile)
                ),
            );
        }
        return super::inspect::verify_as_imgtool(a);
    }
    if let super::Command::Dumpinfo(a) = &parsed.command {
        if a.json {
            // espboot's own option; imgtool's dumpinfo has -f json instead.
            let hint = suggest("--json", &long_options(command));
            return usage_error(Some(&first), &format!("No such option '--json'.{hint}"));
        }
        // imgtool/dumpinfo.py: its own layout; `-s` is accepted and ignored.
        let format = a.format.map(super::inspect::DumpFormat::name);
        return match super::imgtool_dumpinfo::dumpinfo(&a.imgfile, a.outfile.as_deref(), format) {
            Ok(Some(code)) => code,
            Ok(None) => usage_error(
                Some(command),
                &format!(
                    "Image file not found ({})",
                    crate::fsutil::python_str(&a.imgfile)
                ),
            ),
            Err(err) => match err.downcast_ref::<super::sign::ImgtoolRefusal>() {
                Some(refusal) => refusal_exit("dumpinfo", refusal),
                None => unwritable_output(&err).unwrap_or_else(|| {
                    match super::util::intelhex_exception(&err) {
                        Some(last_line) => eprintln!("{last_line}"),
                        None => eprintln!("Error: {}", crate::one_line(&err)),
                    }
                    ExitCode::FAILURE
                }),
            },
        };
    }
    if let super::Command::Sign(a) = &mut parsed.command {
        if let Some(message) = sign_parse_time_error(a, &typed) {
            return usage_error(Some(&first), &message);
        }
        // image.py load opens INFILE before main.py loads the key
        if let Err(err) = super::util::refuse_unopenable_as_imgtool(&a.infile) {
            if let Some(refusal) = err.downcast_ref::<ImgtoolRefusal>() {
                return refusal_exit(&first, refusal);
            }
        }
        // image.py load pads with `bytes(header_size)`: past a C ssize_t
        // Python cannot even size it
        let header_size = python_int(&a.header_size).unwrap_or(0);
        if a.pad_header && a.infile.is_file() && i64::try_from(header_size).is_err() {
            return traceback("OverflowError: cannot fit 'int' into an index-sized integer");
        }
        if let Some(code) = key_file_unopenable(a.key.as_deref()) {
            return code;
        }
        // what imgtool refuses only once the keys have loaded: `sign`
        // reports it there, with the values it would trip on left out
        a.imgtool_after_keys = sign_after_keys_error(a);
        if a.imgtool_after_keys.is_some() {
            a.custom_tlv.clear();
            a.custom_tlv_file.clear();
        }
        if a.pure && !a.sha_is_auto() {
            // imgtool/main.py sign, once the fixed signature's key loaded
            a.imgtool_after_fixed_key = Some(ImgtoolRefusal::Usage(
                "Pure signatures, currently, enforces preferred hash algorithm, and forbids sha \
                 selection by user."
                    .to_owned(),
            ));
            a.pure = false;
        }
        imgtool_layout(a);
        let boot_record = boot_record_error(a);
        let mut create = sign_values_python_takes(a);
        if boot_record.is_some() {
            create.before_protected_size = boot_record;
            a.boot_record = None;
        }
        a.imgtool_in_create = create;
    }
    match super::run(parsed) {
        Ok(code) => code,
        Err(err) => {
            if let Some(last_line) =
                unframed_key_exception(&err).or_else(|| super::util::intelhex_exception(&err))
            {
                return traceback(&last_line);
            }
            if let Some(code) = unwritable_output(&err) {
                return code;
            }
            if let Some(refusal) = err.downcast_ref::<ImgtoolRefusal>() {
                return refusal_exit(&first, refusal);
            }
            if let Some(message) = sign_usage_error(&err) {
                return usage_error(Some(&first), &message);
            }
            if let Some(refusal) = err.downcast_ref::<super::keys::KeyinfoError>() {
                return usage_error(Some(&first), &refusal.imgtool_message());
            }
            if let Some(refusal) = err.downcast_ref::<super::keys::KeyUsageError>() {
                return usage_error(Some(&first), &refusal.imgtool_message());
            }
            for cause in err.chain() {
                use mcuboot_image::keys::KeyError;
                // imgtool/main.py getpriv: the key classes' usage errors
                if let Some(
                    e @ (KeyError::OperationNotSupported { .. }
                    | KeyError::FormatNotSupported { .. }),
                ) = cause.downcast_ref::<KeyError>()
                {
                    return usage_error(Some(&first), &e.to_string());
                }
            }
            eprintln!("Error: {}", crate::one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// click's parser's view of `words`: the words that are neither an
/// option nor its value(s), before and after `--`, fill the command's
/// arguments in order; those left over are extra. Returns the line
/// without the extra words, and the extra words.
fn split_extra_arguments(
    command: &clap::Command,
    words: &[OsString],
) -> (Vec<OsString>, Vec<String>) {
    let mut arguments_left = command.get_positionals().count();
    let mut kept = Vec::new();
    let mut extras = Vec::new();
    let mut after_dashdash = false;
    let mut i = 0;
    while let Some(word) = words.get(i) {
        let text = word.to_string_lossy();
        i += 1;
        let is_option = !after_dashdash && text.starts_with('-') && text.len() > 1;
        if !after_dashdash && text == "--" {
            after_dashdash = true;
            kept.push(word.clone());
            continue;
        }
        if is_option {
            kept.push(word.clone());
            // a value given with `=` or attached to a short option takes
            // no further word
            let name = text.split('=').next().unwrap_or_default();
            let attached = text.contains('=') || (!text.starts_with("--") && text.len() > 2);
            let named = |a: &&clap::Arg| {
                !a.is_positional()
                    && (name
                        .strip_prefix("--")
                        .is_some_and(|l| a.get_long() == Some(l))
                        || (name.len() == 2 && name.chars().nth(1) == a.get_short()))
            };
            let values = command
                .get_arguments()
                .find(named)
                .filter(|a| a.get_action().takes_values() && !attached)
                .map_or(0, |a| a.get_num_args().map_or(1, |n| n.min_values()));
            for _ in 0..values {
                if let Some(value) = words.get(i) {
                    kept.push(value.clone());
                    i += 1;
                }
            }
            continue;
        }
        if arguments_left > 0 {
            arguments_left -= 1;
            kept.push(word.clone());
        } else {
            extras.push(text.into_owned());
        }
    }
    (kept, extras)
}

/// click's refusal of a line that parsed but left extra arguments: the
/// failures of converting the values come first (they happen while click
/// processes the parameters), then the extra words.
fn extra_arguments_error(
    shown: &str,
    parsed: &super::Args,
    typed: &[OsString],
    extras: &[String],
) -> ExitCode {
    let json = match &parsed.command {
        super::Command::Verify(a) => a.json,
        super::Command::Dumpinfo(a) => a.json,
        _ => false,
    };
    if json {
        // espboot's own option: click would not know it
        let command = if shown == imgtool_help::SIGN_ALIAS {
            "sign"
        } else {
            shown
        };
        let hint = suggest("--json", &long_options(command));
        return usage_error(Some(shown), &format!("No such option '--json'.{hint}"));
    }
    if let super::Command::Sign(a) = &parsed.command {
        if let Some((_, message)) = sign_option_error(a, typed) {
            return usage_error(Some(shown), &message);
        }
    }
    let message = match extras {
        [one] => format!("Got unexpected extra argument ({one})"),
        many => format!("Got unexpected extra arguments ({})", many.join(" ")),
    };
    usage_error(Some(shown), &message)
}

/// How imgtool ends when a key file has no PEM framing (no `-----BEGIN`
/// line, or no `-----END` line): `cryptography`'s private key loader fails,
/// imgtool then tries its public key loader, whose ValueError it does not
/// catch (imgtool/keys/__init__.py `load`). The same for a key file both
/// of its attempts refuse ([`super::util::RefusedKeyFile`]), and the bare
/// `Exception` it raises for a curve other than P-256 and P-384 that
/// cryptography loads.
pub(super) fn unframed_key_exception(err: &anyhow::Error) -> Option<String> {
    use key_files::KeyFileError as E;
    if let Some(refused) = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<super::util::RefusedKeyFile>())
    {
        return Some(refused.exception.clone());
    }
    use mcuboot_image::keys::{ImgtoolLoadFailure, KeyError};
    err.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<KeyError>() {
            // cryptography loads the key; keys.load then refuses its
            // size or curve
            return ImgtoolLoadFailure::of(e).map(|f| f.to_string());
        }
        match cause.downcast_ref::<E>() {
            Some(E::NotPem { .. } | E::UnterminatedPem { .. }) => Some(format!(
                "ValueError: {}",
                crate::cmd::secure::keys::MALFORMED_FRAMING
            )),
            Some(e) => ImgtoolLoadFailure::of_file_error(e).map(|f| f.to_string()),
            None => None,
        }
    })
}

/// How imgtool ends with `refusal` in `command` (as typed).
pub(super) fn refusal_exit(command: &str, refusal: &ImgtoolRefusal) -> ExitCode {
    match refusal {
        ImgtoolRefusal::Usage(message) => usage_error(Some(command), message),
        ImgtoolRefusal::Uncaught(last_line) => traceback(last_line),
        ImgtoolRefusal::Aborted => {
            // click's handling of EOFError (click/core.py `main`)
            eprintln!("\nAborted!");
            ExitCode::FAILURE
        }
    }
}

/// Python's truthiness of a path option: `''` is false, as if the option
/// were not given.
fn empty_as_absent(path: &mut Option<std::path::PathBuf>) {
    if path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
        *path = None;
    }
}

/// The last line of a Python traceback, exit 1: how the personality
/// reports an exception imgtool does not catch.
fn traceback(last_line: &str) -> ExitCode {
    eprintln!("{}", py_repr::backslashreplace(last_line));
    ExitCode::FAILURE
}

/// imgtool opens its outputs with a bare `open()`: an output that cannot
/// be created ends in Python's OSError for the path as given.
fn unwritable_output(err: &anyhow::Error) -> Option<ExitCode> {
    crate::fsutil::OpenFailure::of_write_error(err).map(|f| traceback(&f.exception()))
}

/// imgtool opens its key file with a bare `open()`
/// (imgtool/keys/__init__.py load_key): a file that is not there, or
/// cannot be opened, is the OSError's traceback.
fn key_file_unopenable(key: Option<&std::path::Path>) -> Option<ExitCode> {
    let e = crate::fsutil::open_for_reading_as_python(key?).err()?;
    Some(traceback(
        &crate::fsutil::OpenFailure::of_io(&e, key?).exception(),
    ))
}

/// imgtool takes any integer for `-S`, `-x`, `-M`, `-s`, `-L` and `-F`
/// (click's int types); what each value then does in imgtool/image.py
/// decides what the personality does with it. Out of range values that
/// reach `struct.pack('I', …)` end in a struct.error traceback (returned,
/// for `sign` to report where imgtool packs them, and the values left
/// out); negative values that imgtool only compares or never uses are
/// mapped onto the value that gives the same image.
fn sign_values_python_takes(a: &mut super::sign::SignArgs) -> CreateRefusals {
    let value = |v: Option<&str>| v.and_then(python_int);
    let big_endian = matches!(a.endian, super::sign::EndianArg::Big);
    let pack = |field, v: i128| struct_pack_error(field, big_endian, v);
    let mut create = CreateRefusals::default();
    // image.py create packs the header ('I' load address, the rom-fixed
    // one when set; 'H' header size; 'H' protected TLV area size, which
    // only `sign` knows; 'I' image size; the version as 'BBHI'), then the
    // security counter ('I'), then each dependency ('B3xBBHI'), then
    // parses the UUIDs; the first failure ends it with the interpreter's
    // own message. The values are left out, for the library to build
    // with until `sign` reports it; what they would have added to the
    // protected area is counted.
    let rom_fixed = value(a.rom_fixed.as_deref()).filter(|v| *v != 0);
    let load_address = rom_fixed.or(value(a.load_addr.as_deref()));
    let mut packed = load_address.and_then(|v| pack(PackField::U32, v));
    if packed.is_some() {
        (a.load_addr, a.rom_fixed) = (None, None);
    }
    let header_size = value(Some(&a.header_size));
    if let Some(refusal) = header_size.and_then(|h| pack(PackField::U16, h)) {
        packed = packed.or(Some(refusal));
        // for the library to build with until `sign` reports it
        a.header_size = mcuboot_image::IMAGE_HEADER_SIZE.to_string();
        a.pad_header = true;
    }
    create.before_protected_size = packed.map(|line| ImgtoolRefusal::Uncaught(line.to_owned()));
    let mut packed = None;
    if !a.pad_header {
        // ImgSz: the input's length less the header it should start with
        let image_size = header_size
            .zip(input_length(&a.infile))
            .map(|(h, len)| len - h);
        packed = packed.or_else(|| image_size.and_then(|n| pack(PackField::U32, n)));
    }
    if let Ok(parts) = mcuboot_image::version_parts(&a.version) {
        if let Some(refusal) = version_pack_error(parts, big_endian) {
            packed = packed.or(Some(refusal));
            if a.boot_record.is_some() {
                // the boot record's "major.minor.revision" text, in CBOR
                let text = |p: [u128; 4]| format!("{}.{}.{}", p[0], p[1], p[2]).len();
                create.protected_size_left_out +=
                    cbor_text_size(text(parts)) - cbor_text_size(text([0; 4]));
            }
            a.version = "0".to_owned();
        }
    }
    if let Some(refusal) =
        value(a.security_counter.as_deref()).and_then(|v| pack(PackField::U32, v))
    {
        packed = packed.or(Some(refusal));
        a.security_counter = None;
        create.protected_size_left_out += TLV_SIZE + 4;
    }
    if let Some(deps) = &a.dependencies {
        let parts = mcuboot_image::sign::parse_dependency_parts(deps).unwrap_or_default();
        let refusal = parts.iter().find_map(|dep| {
            pack(PackField::U8, saturated(dep.image_id))
                .or_else(|| version_pack_error(dep.version, big_endian))
        });
        if let Some(refusal) = refusal {
            packed = packed.or(Some(refusal));
            a.dependencies = None;
            create.protected_size_left_out += (TLV_SIZE + 12) * parts.len() as i64;
        }
    }
    let mut packed = packed.map(|line| ImgtoolRefusal::Uncaught(line.to_owned()));
    if let Some(refusal) = uuid_error(a) {
        packed = packed.or(Some(ImgtoolRefusal::Uncaught(refusal)));
        let uuids = usize::from(a.vid.is_some()) + usize::from(a.cid.is_some());
        create.protected_size_left_out += (TLV_SIZE + 16) * uuids as i64;
        (a.vid, a.cid) = (None, None);
    }
    let range_error = custom_tlv_range_error(a);
    let lengths = custom_tlv_lengths(a);
    // A value past 64 KiB makes the area too long for the header: left
    // out, imgtool's size check finds it first.
    if range_error.is_some() || lengths.iter().any(|len| *len > 0xffff) {
        packed = packed.or(range_error.map(ImgtoolRefusal::Usage));
        create.protected_size_left_out += lengths
            .iter()
            .map(|len| TLV_SIZE + i64::try_from(*len).unwrap_or(i64::MAX / 2))
            .sum::<i64>();
        a.custom_tlv.clear();
        a.custom_tlv_file.clear();
    }
    create.after_protected_size = packed;
    let hex_out = super::util::is_hex(&a.outfile);
    let pads = a.pad || a.test || a.confirm;
    // -S: image.py check_trailer only checks a slot size above 0, and
    // pad_to adds no padding when the room left is negative, so a negative
    // slot size writes the image a slot size of 0 writes. (A .hex output
    // with --pad places the trailer at base + slot size: `imgtool_layout`
    // has taken that one.)
    let slot = value(Some(&a.slot_size));
    if slot.is_some_and(|s| s < 0) && (!hex_out || !pads) {
        a.slot_size = "0".to_owned();
    }
    // Unpadded, a slot past 4 GiB only passes check_trailer's comparison,
    // as a slot size of 0 (no check) does.
    if slot.is_some_and(|s| s > i128::from(u32::MAX)) && !pads {
        a.slot_size = "0".to_owned();
    }
    // -x only places a .hex output.
    if !hex_out && value(a.hex_addr.as_deref()).is_some_and(|x| x < 0) {
        a.hex_addr = None;
    }
    create
}

/// imgtool's `TLV_SIZE`: a TLV record's type and length (image.py).
const TLV_SIZE: i64 = 4;

/// The length of a CBOR text string of `len` bytes (RFC 8949 §3: its head
/// grows with the length).
fn cbor_text_size(len: usize) -> i64 {
    let head = match len {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        _ => 5,
    };
    (len + head) as i64
}

/// The lengths of the custom TLV values, values then files, as main.py
/// has read them (`sign_after_keys_error` checked that they read).
fn custom_tlv_lengths(a: &super::sign::SignArgs) -> Vec<u64> {
    let values = a.custom_tlv.chunks(2).filter_map(|pair| {
        let value = mcuboot_image::sign::custom_tlv_value(pair.get(1)?).ok()?;
        Some(value.len() as u64)
    });
    let files = a.custom_tlv_file.chunks(2).filter_map(|pair| {
        let path = crate::fsutil::path_of_python_str(pair.get(1)?);
        Some(std::fs::metadata(path).ok()?.len())
    });
    values.chain(files).collect()
}

/// Python's `int(text, 0)` of an option's text, a value past 128 bits
/// saturated (every field refuses it the same way).
fn python_int(text: &str) -> Option<i128> {
    match py_int::parse(text) {
        Ok(v) => Some(v),
        Err(py_int::ParseIntError::OutOfRange) => Some(i128::MAX),
        Err(_) => None,
    }
}

/// A `u128` part as an `i128`, saturated.
fn saturated(v: u128) -> i128 {
    i128::try_from(v).unwrap_or(i128::MAX)
}

/// The length of the image data in `infile` as image.py loads it (an
/// Intel HEX file's bytes from its lowest address), or `None` when it
/// cannot be read (the library reports that).
fn input_length(infile: &std::path::Path) -> Option<i128> {
    let len = if super::util::is_hex(infile) {
        super::util::read_image("INFILE", infile).ok()?.0.len() as u64
    } else {
        std::fs::metadata(infile)
            .ok()
            .filter(|m| m.is_file())?
            .len()
    };
    Some(i128::from(len))
}

/// image.py TLV.add's refusal of the first custom TLV type outside the
/// vendor range, as it adds them (after main.py's checks). Its message
/// keeps the unformatted `{TLV_VENDOR_RES_MAX:04x}`, and formats the type
/// as Python's `f"{kind:04x}"` (a sign counts in the width).
fn custom_tlv_range_error(a: &super::sign::SignArgs) -> Option<String> {
    let range = mcuboot_image::codec::tlv::CUSTOM_TLV_RANGE;
    let tags = a.custom_tlv.chunks(2).chain(a.custom_tlv_file.chunks(2));
    let kind = tags
        .filter_map(|pair| pair.first().and_then(|t| python_int(t)))
        .find(|kind| !(i128::from(*range.start())..=i128::from(*range.end())).contains(kind))?;
    let formatted = if kind < 0 {
        format!("-{:03x}", kind.unsigned_abs())
    } else {
        format!("{kind:04x}")
    };
    Some(format!(
        "Invalid custom TLV type value '0x{formatted}', allowed value should be between \
         0x{:04x} and 0x{{TLV_VENDOR_RES_MAX:04x}}",
        range.start()
    ))
}

/// A field of imgtool's `struct.pack` formats.
#[derive(Clone, Copy)]
enum PackField {
    /// `B`
    U8,
    /// `H`
    U16,
    /// `I`
    U32,
}

/// CPython 3.11's `struct.error` for packing `value` as `field` in the
/// byte order imgtool's `-e` picks (`<` or `>`), or `None` when it fits.
/// The texts differ by field, by byte order, and by whether the value
/// fits a C `long` (checked against the pinned Python at the edges:
/// -1, 2^63 - 1, 2^63, 2^64 - 1, 2^64).
fn struct_pack_error(field: PackField, big_endian: bool, value: i128) -> Option<&'static str> {
    const OUT_OF_RANGE: &str = "struct.error: argument out of range";
    let fits_i64 = i64::try_from(value).is_ok();
    let fits_u64 = u64::try_from(value).is_ok();
    let (fits_long, max, message) = match field {
        PackField::U32 => (
            fits_u64,
            0xFFFF_FFFF,
            "struct.error: 'I' format requires 0 <= number <= 4294967295",
        ),
        PackField::U16 if big_endian => (
            fits_u64,
            0xFFFF,
            "struct.error: 'H' format requires 0 <= number <= 65535",
        ),
        PackField::U16 => (
            fits_i64,
            0xFFFF,
            "struct.error: ushort format requires 0 <= number <= 65535",
        ),
        PackField::U8 => (
            fits_i64,
            0xFF,
            "struct.error: ubyte format requires 0 <= number <= 255",
        ),
    };
    if !fits_long {
        Some(OUT_OF_RANGE)
    } else if !(0..=max).contains(&value) {
        Some(message)
    } else {
        None
    }
}

/// `add_header`'s struct.error for a protected TLV area of `size` bytes
/// (its `H` field), or `None` when it fits.
pub(super) fn protected_size_error(big_endian: bool, size: i64) -> Option<&'static str> {
    struct_pack_error(PackField::U16, big_endian, i128::from(size))
}

/// The first `BBHI` field of a version's parts that does not fit.
fn version_pack_error(parts: [u128; 4], big_endian: bool) -> Option<&'static str> {
    let fields = [PackField::U8, PackField::U8, PackField::U16, PackField::U32];
    fields
        .into_iter()
        .zip(parts)
        .find_map(|(field, part)| struct_pack_error(field, big_endian, saturated(part)))
}

/// image.py parse_uuid's ValueError for `--vid`, then for `--cid` (a class
/// name needs the vendor UUID as its namespace).
fn uuid_error(a: &super::sign::SignArgs) -> Option<String> {
    use mcuboot_image::sign::{OptionError, UuidError};
    let (vid, cid) = (a.vid.as_deref(), a.cid.as_deref());
    match mcuboot_image::sign::parse_vid_cid(vid, cid) {
        Err(OptionError::Vid(_)) => Some(format!(
            "ValueError: Unknown UUID format: {}",
            vid.unwrap_or_default()
        )),
        Err(OptionError::Cid(UuidError::NoNamespace)) => Some(format!(
            "ValueError: Unknown namespace for UUID: {}",
            cid.unwrap_or_default()
        )),
        Err(OptionError::Cid(_)) => Some(format!(
            "ValueError: Unknown UUID format: {}",
            cid.unwrap_or_default()
        )),
        _ => None,
    }
}

/// Hands the trailer and the Intel HEX placement to imgtool's own
/// arithmetic ([`mcuboot_image::sign::imgtool_save`]) where the library cannot give
/// imgtool's output: a negative `-M` (it shrinks the trailer's size, below
/// zero too, which lengthens the padded image past the slot and changes
/// the slot check and its message) or one past 32 bits (a trailer past
/// 4 GiB), a padded slot past 4 GiB (whose padding Python cannot build:
/// `MemoryError`, or `OverflowError` past a `ssize_t`), a negative slot size
/// with a padded `.hex` output, and any `.hex` output at a `-x` address
/// (which imgtool places at any Python integer, below 0 or past 4 GiB) or
/// from a `.hex` input whose address a prepended header moves below 0 or
/// whose image may reach past 4 GiB.
/// The compressed path keeps the library's placement.
fn imgtool_layout(a: &mut super::sign::SignArgs) {
    let value = |v: Option<&str>| v.and_then(|t| py_int::parse(t).ok());
    if !matches!(a.compression, super::sign::CompressionArg::Disabled) {
        return;
    }
    let hex_out = super::util::is_hex(&a.outfile);
    let pad = a.pad || a.test || a.confirm;
    let slot = value(Some(&a.slot_size)).unwrap_or(0);
    let max_sectors = value(a.max_sectors.as_deref());
    let hex_addr = value(a.hex_addr.as_deref());
    // a -M past 32 bits, or a padded slot past 4 GiB: Python's integers
    let python_sized = max_sectors.is_some_and(|m| m < 0 || m > i128::from(u32::MAX))
        || (pad && slot > i128::from(u32::MAX));
    // image.py load moves a HEX input's address down for a prepended
    // header: below a header's size, below 0; and one near the top of the
    // address space can reach past 4 GiB, where intelhex writes the
    // records before the first it cannot address, then fails
    let base_out_of_range = || {
        let header_size = value(Some(&a.header_size)).unwrap_or(0);
        if !super::util::is_hex(&a.infile) {
            return false;
        }
        let Ok((data, Some(base))) = super::util::read_image("INFILE", &a.infile) else {
            return false;
        };
        let base = i128::from(base);
        let below_zero = a.pad_header && base != 0 && base < header_size;
        // the image with both TLV areas (at most 64 KiB each) and the
        // trailer at base + slot size
        let reach = base + header_size.max(0) + data.len() as i128 + 0x2_0000 + slot.max(0);
        below_zero || reach > 1 << 32
    };
    let wanted = python_sized
        || (hex_out && (hex_addr.is_some() || (slot < 0 && pad) || base_out_of_range()));
    if !wanted {
        return;
    }
    a.imgtool_layout = Some(mcuboot_image::sign::ImgtoolLayout {
        slot_size: slot,
        max_sectors: max_sectors.unwrap_or(i128::from(
            mcuboot_image::codec::trailer::DEFAULT_MAX_SECTORS,
        )),
        hex_addr: hex_addr.filter(|_| hex_out),
        pad,
        test: a.test,
        confirm: a.confirm,
    });
    // the library builds the image alone
    a.slot_size = "0".to_owned();
    a.max_sectors = None;
    a.hex_addr = None;
    (a.pad, a.test, a.confirm) = (false, false, false);
}

/// Python decodes its command line with `surrogateescape`: a word that is
/// not UTF-8 is still a `str` (its bad bytes lone surrogates), which a
/// file name turns back into the same bytes. The values of `sub`'s text
/// options that are not UTF-8 become [`py_repr::surrogateescape`] text,
/// which the parser takes and imgtool's messages print as Python does
/// (`\udcff`); file names and arguments stay as they are
/// (`--custom-tlv-file`'s name is text, turned back into its bytes where
/// the file is opened: [`crate::fsutil::path_of_python_str`]).
fn text_values_as_python(sub: &clap::Command, words: Vec<OsString>) -> Vec<OsString> {
    use std::os::unix::ffi::OsStrExt as _;
    let takes_text = |a: &clap::Arg| {
        a.get_value_parser().type_id() != std::any::TypeId::of::<std::path::PathBuf>()
    };
    let mut out = Vec::with_capacity(words.len());
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        if word == "--" {
            out.push(word);
            out.extend(words.by_ref());
            break;
        }
        let text = word.to_string_lossy();
        let option = sub.get_arguments().find(|a| {
            let long = text
                .strip_prefix("--")
                .is_some_and(|l| a.get_long() == Some(l));
            let short =
                text.len() == 2 && text.starts_with('-') && text.chars().nth(1) == a.get_short();
            !a.is_positional() && (long || short)
        });
        out.push(word);
        let Some(option) = option.filter(|a| a.get_action().takes_values()) else {
            continue;
        };
        let count = option.get_num_args().map_or(1, |n| n.min_values());
        for value in words.by_ref().take(count) {
            let bytes = value.as_bytes();
            if takes_text(option) && std::str::from_utf8(bytes).is_err() {
                out.push(OsString::from(py_repr::surrogateescape(bytes)));
            } else {
                out.push(value);
            }
        }
    }
    out
}

/// Whether click sees `-h`/`--help` among `words` as the help option:
/// not where it is the value of the option before it, nor after `--`.
fn asks_for_help(command: Option<&clap::Command>, words: &[OsString]) -> bool {
    let mut i = 0;
    while let Some(word) = words.get(i).map(|w| w.to_string_lossy()) {
        if word == "-h" || word == "--help" {
            return true;
        }
        if word == "--" {
            return false;
        }
        let named = |a: &&clap::Arg| {
            let long = word
                .strip_prefix("--")
                .is_some_and(|l| a.get_long() == Some(l));
            let short =
                word.len() == 2 && word.starts_with('-') && word.chars().nth(1) == a.get_short();
            !a.is_positional() && (long || short)
        };
        // the words this option takes as its value(s)
        let values = command
            .and_then(|c| c.get_arguments().find(named))
            .filter(|a| a.get_action().takes_values())
            .map_or(0, |a| a.get_num_args().map_or(1, |n| n.min_values()));
        i += 1 + values;
    }
    false
}

/// click gives an option that takes a value the next word whatever it
/// looks like (`-s -1`, `--boot-record -x`), and only then converts and
/// checks it; clap would read a word starting with `-` as another option.
fn options_take_any_value(mut command: clap::Command) -> clap::Command {
    let ids: Vec<clap::Id> = command
        .get_arguments()
        .filter(|a| !a.is_positional() && a.get_action().takes_values())
        .map(|a| a.get_id().clone())
        .collect();
    for id in ids {
        command = command.mut_arg(id, |a| a.allow_hyphen_values(true));
    }
    command
}

/// keygen's `-t/--type` is a click option with `prompt=True`: when it is
/// missing (and `-k` is given, which click checks first), imgtool asks
/// for it on stdout, re-asks after an empty or invalid answer (its error
/// on stdout too), and ends with `Aborted!` (exit 1) at the end of input.
fn prompt_key_type(parser: &clap::Command, typed: &mut Vec<OsString>) -> Result<(), ExitCode> {
    let given = |names: &[&str]| {
        typed.iter().any(|a| {
            let a = a.to_string_lossy();
            names.iter().any(|n| {
                a == *n
                    || (n.starts_with("--") && a.starts_with(&format!("{n}=")))
                    || (!n.starts_with("--") && a.starts_with(n) && a.len() > 2)
            })
        })
    };
    if given(&["-t", "--type"]) || !given(&["-k", "--key"]) {
        return Ok(());
    }
    let choices = crate::cmd::choices(parser, "keygen", "--type");
    let prompt = format!("Type ({}): ", choices.join(", "));
    let stdin = std::io::stdin();
    loop {
        out!("{prompt}");
        let mut line = String::new();
        match stdin.read_line(&mut line) {
            Ok(0) | Err(_) => {
                eprintln!("Aborted!");
                return Err(ExitCode::FAILURE);
            }
            Ok(_) => {}
        }
        let answer = line.strip_suffix('\n').unwrap_or(&line);
        let answer = answer.strip_suffix('\r').unwrap_or(answer);
        if answer.is_empty() {
            continue;
        }
        if choices.iter().any(|c| c == answer) {
            typed.push(OsString::from("-t"));
            typed.push(OsString::from(answer));
            return Ok(());
        }
        let quoted: Vec<String> = choices.iter().map(|c| format!("'{c}'")).collect();
        outln!("Error: '{answer}' is not one of {}.", quoted.join(", "));
    }
}

/// Where an option was first typed (`-k x`, `-kx`, `--key x`,
/// `--key=x`), for click's invocation order; `usize::MAX` if it was not.
fn typed_at(typed: &[OsString], short: Option<char>, long: &str) -> usize {
    typed
        .iter()
        .position(|arg| {
            let arg = arg.to_string_lossy();
            let long_form = format!("--{long}");
            arg == long_form
                || arg.starts_with(&format!("{long_form}="))
                || short.is_some_and(|s| {
                    let short_form = format!("-{s}");
                    arg.starts_with(&short_form) && !arg.starts_with("--")
                })
        })
        .unwrap_or(usize::MAX)
}

/// An error click reports before the one clap stopped at.
enum Earlier {
    /// imgtool's conversion of an option value typed earlier.
    Imgtool(String),
    /// A parse error (an unknown option) later on the line: click parses
    /// the whole line before it converts any value.
    Parse(clap::Error),
}

/// click parses the whole line first, then converts the given options in
/// the order they were typed, then the arguments, then the options not
/// given; clap refuses a bad choice or a missing parameter as it parses.
/// When clap stops there, stand valid words in for the refused choice or
/// the missing parameters, parse again, and look for what click meets
/// first (`None`: clap's error stands).
fn earlier_error(
    parser: &clap::Command,
    command: &str,
    first: &clap::Error,
    typed: &[OsString],
) -> Option<Earlier> {
    let mut patched = typed.to_vec();
    let mut stop_at = usize::MAX;
    let mut later: Option<clap::Error> = None;
    // each round stands in for one refused word
    for _ in 0..typed.len() + 2 {
        let err = later.as_ref().unwrap_or(first);
        match err.kind() {
            ErrorKind::InvalidValue => {
                let long = context_strings(err, ContextKind::InvalidArg)
                    .first()?
                    .split_whitespace()
                    .next()?
                    .to_owned();
                let bad = context_strings(err, ContextKind::InvalidValue)
                    .first()?
                    .clone();
                let choice = crate::cmd::choices(parser, command, &long).first()?.clone();
                let short = parser
                    .find_subcommand(command)?
                    .get_arguments()
                    .find(|a| a.get_long() == Some(long.trim_start_matches("--")))?
                    .get_short()
                    .map(|c| format!("-{c}"));
                let at = (1..patched.len()).find(|&i| {
                    let option = patched[i - 1].to_string_lossy();
                    patched[i] == *bad && (option == long || Some(&*option) == short.as_deref())
                })?;
                patched[at] = OsString::from(choice);
                stop_at = stop_at.min(at - 1);
            }
            ErrorKind::MissingRequiredArgument if command == "sign" => {
                // missing parameters come after every given option
                stop_at = stop_at.min(typed.len());
                for missing in context_strings(err, ContextKind::InvalidArg) {
                    match missing.split_whitespace().next() {
                        Some(long) if long.starts_with("--") => {
                            let value = if long == "--version" { "0" } else { "0x20" };
                            patched.push(OsString::from(long));
                            patched.push(OsString::from(value));
                        }
                        _ => patched.push(OsString::from("missing")),
                    }
                }
            }
            ErrorKind::UnknownArgument if later.is_some() => {
                return later.map(Earlier::Parse);
            }
            _ => return None,
        }
        let mut argv = vec![OsString::from("imgtool"), OsString::from(command)];
        argv.extend(patched.iter().cloned());
        match parser.clone().try_get_matches_from(argv) {
            Ok(matches) if command == "sign" => {
                let super::Command::Sign(a) = super::Args::from_arg_matches(&matches).ok()?.command
                else {
                    return None;
                };
                let (at, message) = sign_option_error(&a, &patched)?;
                return (at < stop_at).then_some(Earlier::Imgtool(message));
            }
            Ok(_) => return None,
            Err(next) => later = Some(next),
        }
    }
    None
}

/// click's message for a value `BasedIntParamType` (imgtool/main.py)
/// cannot read: Python's `int(value, 0)` fails.
fn based_int_error(names: &str, value: &str) -> Option<String> {
    matches!(py_int::parse(value), Err(py_int::ParseIntError::Invalid)).then(|| {
        format!(
            "Invalid value for {names}: {value} is not a valid integer. Please use code \
             literals prefixed with 0b/0B, 0o/0O, or 0x/0X as necessary."
        )
    })
}

/// What click reports while it converts `sign`'s option values and runs
/// their callbacks (imgtool/main.py `BasedIntParamType`, `validate_*`,
/// `get_dependencies`): the first failure in the order the options were
/// typed, as click processes the given parameters in that order.
fn sign_option_error(a: &super::sign::SignArgs, typed: &[OsString]) -> Option<(usize, String)> {
    let mut failures: Vec<(usize, String)> = Vec::new();
    let mut check = |short: Option<char>, long: &str, message: Option<String>| {
        if let Some(message) = message {
            failures.push((typed_at(typed, short, long), message));
        }
    };
    // decode_version's pattern; a too large part passes it (imgtool then
    // fails while packing the header, as espboot does).
    let bad_version = |text: &str| {
        matches!(
            text.parse::<mcuboot_image::ImageVersion>(),
            Err(mcuboot_image::VersionError::Syntax)
        )
    };
    check(
        Some('v'),
        "version",
        bad_version(&a.version)
            .then(|| format!("Invalid value for '-v' / '--version': {VERSION_SYNTAX}")),
    );
    let minimum = mcuboot_image::IMAGE_HEADER_SIZE;
    check(
        Some('H'),
        "header-size",
        based_int_error("'-H' / '--header-size'", &a.header_size).or_else(|| {
            // validate_header_size
            py_int::parse(&a.header_size)
                .is_ok_and(|size| size < minimum as i128)
                .then(|| {
                    format!(
                        "Invalid value for '-H' / '--header-size': \
                         Minimum value for -H/--header-size is {minimum}"
                    )
                })
        }),
    );
    check(
        Some('S'),
        "slot-size",
        based_int_error("'-S' / '--slot-size'", &a.slot_size),
    );
    for (short, long, value) in [
        ('x', "hex-addr", &a.hex_addr),
        ('L', "load-addr", &a.load_addr),
        ('F', "rom-fixed", &a.rom_fixed),
    ] {
        let names = format!("'-{short}' / '--{long}'");
        check(
            Some(short),
            long,
            value.as_deref().and_then(|v| based_int_error(&names, v)),
        );
    }
    // -M is click's plain `int`: Python's `int(value)`.
    check(
        Some('M'),
        "max-sectors",
        a.max_sectors
            .as_deref()
            .filter(|v| {
                matches!(
                    py_int::parse_decimal(v),
                    Err(py_int::ParseIntError::Invalid)
                )
            })
            .map(|v| {
                format!(
                    "Invalid value for '-M' / '--max-sectors': {} is not a valid integer.",
                    py_repr::str(v)
                )
            }),
    );
    if let Some(counter) = a
        .security_counter
        .as_deref()
        .filter(|c| !c.eq_ignore_ascii_case("auto"))
    {
        // validate_security_counter
        check(
            Some('s'),
            "security-counter",
            matches!(py_int::parse(counter), Err(py_int::ParseIntError::Invalid)).then(|| {
                format!(
                    "Invalid value for '-s' / '--security-counter': {counter} is not a valid \
                     integer. Please use code literals prefixed with 0b/0B, 0o/0O, or 0x/0X as \
                     necessary."
                )
            }),
        );
    }
    if let Some(deps) = &a.dependencies {
        check(
            Some('d'),
            "dependencies",
            dependencies_error(deps)
                .map(|m| format!("Invalid value for '-d' / '--dependencies': {m}")),
        );
    }
    failures.into_iter().min_by_key(|(at, _)| *at)
}

/// imgtool/main.py get_dependencies's refusals: no image id, as many ids
/// as versions, and each version's syntax. An id or a version part out of
/// range passes here (imgtool fails while packing the TLV).
fn dependencies_error(deps: &str) -> Option<String> {
    use mcuboot_image::sign::DependencyError;
    match mcuboot_image::sign::parse_dependencies(deps) {
        Err(DependencyError::Syntax) => Some(format!("Image dependency format is invalid: {deps}")),
        // the message's line break and indentation are imgtool's
        Err(DependencyError::CountMismatch { .. }) => Some(format!(
            "There's a mismatch between the number of dependency images\n                \
             and versions in: {deps}"
        )),
        Err(DependencyError::Version {
            error: mcuboot_image::VersionError::Syntax,
            ..
        }) => Some(VERSION_SYNTAX.to_owned()),
        _ => None,
    }
}

/// imgtool's `decode_version` refusal.
const VERSION_SYNTAX: &str =
    "Invalid version number, should be maj.min.rev+build with later parts optional";

/// The checks imgtool's `sign` makes before it loads the keys, as click
/// usage errors, in imgtool's order (imgtool/main.py sign): the option
/// values, `Image()`, then `Image.load`.
fn sign_parse_time_error(a: &super::sign::SignArgs, typed: &[OsString]) -> Option<String> {
    if let Some((_, message)) = sign_option_error(a, typed) {
        return Some(message);
    }
    let nonzero = |v: &Option<String>| {
        v.as_deref()
            .and_then(|t| py_int::parse(t).ok())
            .is_some_and(|n| n != 0)
    };
    if nonzero(&a.load_addr) && nonzero(&a.rom_fixed) {
        // imgtool/image.py Image.__init__
        return Some("Can not set rom_fixed and load_addr at the same time".to_owned());
    }
    if super::util::is_missing(&a.infile) {
        // imgtool/image.py Image.load
        return Some("Input file not found".to_owned());
    }
    if !a.pad_header && header_area_not_zero(a) {
        // imgtool/image.py check_header, before the key is read
        return Some(
            "Header padding was not requested and image does not start with zeros".to_owned(),
        );
    }
    None
}

/// What imgtool's `sign` refuses after it has loaded the keys and before
/// it reads the fixed signature (imgtool/main.py sign): the custom TLV
/// tags and values.
fn sign_after_keys_error(a: &super::sign::SignArgs) -> Option<ImgtoolRefusal> {
    let usage = |message: String| Some(ImgtoolRefusal::Usage(message));
    let uncaught = |line: String| Some(ImgtoolRefusal::Uncaught(line));
    // imgtool/main.py sign: the custom TLV tags and values.
    let mut tags = Vec::new();
    let values = a.custom_tlv.chunks(2).map(|p| (p, false));
    let files = a.custom_tlv_file.chunks(2).map(|p| (p, true));
    for (pair, is_file) in values.chain(files) {
        let text = pair.first().map(String::as_str).unwrap_or_default();
        let Some(tag) = python_int(text) else {
            return uncaught(format!(
                "ValueError: invalid literal for int() with base 0: {}",
                py_repr::str(text)
            ));
        };
        if tags.contains(&tag) {
            return usage(format!("Custom TLV {tag:#x} already exists."));
        }
        // image.TLV_VALUES: every TLV type imgtool itself writes.
        const PREDEFINED: [i128; 24] = [
            0x01, 0x02, 0x10, 0x11, 0x12, 0x20, 0x22, 0x23, 0x24, 0x25, 0x30, 0x31, 0x32, 0x33,
            0x34, 0x40, 0x50, 0x60, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75,
        ];
        if PREDEFINED.contains(&tag) {
            return usage(format!(
                "Custom TLV {tag:#x} conflicts with predefined TLV."
            ));
        }
        let value = pair.get(1).map(String::as_str).unwrap_or_default();
        if is_file {
            // `Path(value).open("rb")`: `Path('')` is the directory `.`
            let path =
                crate::fsutil::path_of_python_str(if value.is_empty() { "." } else { value });
            if let Err(e) = crate::fsutil::open_for_reading_as_python(&path) {
                return uncaught(crate::fsutil::OpenFailure::of_io(&e, &path).exception());
            }
        } else if let Some(hex) = value.strip_prefix("0x").filter(|_| has_surrogates(value)) {
            // a value from a word that is not UTF-8: Python counts
            // characters (`len(value[2:]) % 2`), then `bytes.fromhex` stops
            // at the first character that is no hex digit or space
            if hex.chars().count() % 2 == 1 {
                return usage("Custom TLV length is odd.".to_owned());
            }
            let position = hex
                .chars()
                .position(|c| !c.is_ascii_hexdigit() && c != ' ')
                .unwrap_or(0);
            return uncaught(format!(
                "ValueError: non-hexadecimal number found in fromhex() arg at position {position}"
            ));
        } else if let Some(error) = py_repr::utf8_encode_error(&py_repr::PyStr::from(value)) {
            // `value.encode('utf-8')`
            return uncaught(format!("UnicodeEncodeError: {error}"));
        } else {
            use mcuboot_image::sign::OptionError;
            match mcuboot_image::sign::custom_tlv_value(value) {
                Err(OptionError::CustomTlvOdd) => {
                    return usage("Custom TLV length is odd.".to_owned())
                }
                Err(OptionError::CustomTlvHex { position }) => {
                    return uncaught(format!(
                        "ValueError: non-hexadecimal number found in fromhex() arg at position {position}"
                    ))
                }
                _ => {}
            }
        }
        tags.push(tag);
    }
    None
}

/// `Image.create`'s refusal of a too long `--boot-record`, after it has
/// settled the hash, then `create_sw_component_data`'s encoding of it.
fn boot_record_error(a: &super::sign::SignArgs) -> Option<ImgtoolRefusal> {
    let sw_type = a.boot_record.as_deref()?;
    // imgtool/image.py Image.create (MAX_SW_TYPE_LENGTH)
    let length = sw_type.chars().count();
    if length > 12 {
        return Some(ImgtoolRefusal::Usage(format!(
            "'{sw_type}' is too long ({length} characters) for sw_type. Its maximum allowed \
             length is 12 characters."
        )));
    }
    // a word that was not UTF-8 holds lone surrogates, which encode() refuses
    py_repr::utf8_encode_error(&py_repr::PyStr::from(sw_type))
        .map(|error| ImgtoolRefusal::Uncaught(format!("UnicodeEncodeError: {error}")))
}

/// Whether `text` holds lone surrogates ([`py_repr::surrogateescape`]).
fn has_surrogates(text: &str) -> bool {
    py_repr::utf8_encode_error(&py_repr::PyStr::from(text)).is_some()
}

/// Whether the input's first `-H` bytes (fewer if it is shorter) hold
/// anything but zeros.
fn header_area_not_zero(a: &super::sign::SignArgs) -> bool {
    // `payload[0:header_size]`: a size past the file takes it all
    let Some(size) = python_int(&a.header_size).map(|h| u64::try_from(h).unwrap_or(u64::MAX))
    else {
        return false;
    };
    let head = if super::util::is_hex(&a.infile) {
        match super::util::read_image("INFILE", &a.infile) {
            Ok((data, _)) => data,
            Err(_) => return false,
        }
    } else {
        let mut head = Vec::new();
        let read = std::fs::File::open(&a.infile)
            .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, size), &mut head));
        if read.is_err() {
            return false;
        }
        head
    };
    head.iter()
        .take(usize::try_from(size).unwrap_or(usize::MAX))
        .any(|&b| b != 0)
}

/// imgtool's `sig_type()` of a signing key (imgtool/keys/*.py).
fn imgtool_sig_type(kind: mcuboot_image::SignatureKind) -> &'static str {
    use mcuboot_image::SignatureKind as K;
    match kind {
        K::Rsa2048 => "PKCS1_PSS_RSA2048_SHA256",
        K::Rsa3072 => "PKCS1_PSS_RSA3072_SHA256",
        K::EcdsaP256 => "ECDSA256_SHA256",
        K::EcdsaP384 => "ECDSA384_SHA384",
        _ => "ED25519",
    }
}

/// imgtool's wording of `sign`'s runtime errors that it raises as
/// `click.UsageError` (usage block, exit 2).
fn sign_usage_error(err: &anyhow::Error) -> Option<String> {
    for cause in err.chain() {
        if cause.is::<super::sign::PublicOnlyKey>() {
            // imgtool/main.py sign
            return Some(
                "Cannot sign with a public-only PEM; signing requires the private key.".to_owned(),
            );
        }
        let sign_error = cause
            .downcast_ref::<super::sign::HintedSignError>()
            .map(|hinted| &hinted.error)
            .or_else(|| cause.downcast_ref());
        match sign_error {
            Some(mcuboot_image::sign::SignError::HeaderNotZero(_)) => {
                // imgtool/image.py Image.load
                return Some(
                    "Header padding was not requested and image does not start with zeros"
                        .to_owned(),
                );
            }
            Some(mcuboot_image::sign::SignError::KeyPairing { .. }) => {
                // imgtool/main.py sign
                return Some(super::sign::KEYS_DO_NOT_PAIR.to_owned());
            }
            Some(mcuboot_image::sign::SignError::HexAddressRequired) => {
                // imgtool/image.py Image.save
                return Some(
                    "No address exists in input file neither was it provided by user".to_owned(),
                );
            }
            Some(mcuboot_image::sign::SignError::Option(
                mcuboot_image::sign::OptionError::HashNotAllowed { hash, key, .. },
            )) => {
                // imgtool/image.py key_and_user_sha_to_alg_and_tlv (its
                // message keeps the unformatted `{allowed}`).
                let sha = match hash {
                    mcuboot_image::HashAlg::Sha256 => "256",
                    mcuboot_image::HashAlg::Sha384 => "384",
                    _ => "512",
                };
                return Some(format!(
                    "Key {} can not be used with --sha {sha}; allowed sha are one of {{allowed}}",
                    imgtool_sig_type(*key)
                ));
            }
            Some(mcuboot_image::sign::SignError::Option(
                mcuboot_image::sign::OptionError::PureNeedsEd25519(key),
            )) => {
                return Some(format!(
                    "Could not find allowed hash algorithms for <class '{}'>",
                    mcuboot_image::keys::ImgtoolKeyClass::of_signer(*key).python_name()
                ));
            }
            Some(mcuboot_image::sign::SignError::TooLarge {
                image,
                trailer,
                slot,
                ..
            }) => {
                // imgtool/image.py Image.check_trailer
                return Some(format!(
                    "Image size ({image:#x}) + trailer ({trailer:#x}) exceeds requested size {slot:#x}"
                ));
            }
            _ => {}
        }
    }
    None
}
