//! One invocation's chain of espefuse commands on an eFuse image: staging
//! burns, the burn itself with its checks, and the read-only commands.

use super::operands::{
    click_convert, fields_named, force_flag, groups_of, key_groups, key_options, name_value_list,
    read_file,
};
use super::*;
use esp_efuse::ChipEfuses as _;

/// What a staged burn command needs checked after the burn.
pub(super) enum AfterBurn {
    Nothing,
    Fields(Vec<(esp_efuse::FieldRef, Bits)>),
    Protected(Vec<esp_efuse::FieldRef>, bool),
    /// `burn-custom-mac` prints the address read back.
    CustomMac,
}

pub(super) struct Session {
    efuses: Efuses,
    /// Where the eFuses live: burns program and read back there.
    backend: Box<dyn EfuseBackend>,
    do_not_confirm: bool,
    /// The chain's `--force-write-always` (see `run_commands`).
    force: ForceWrite,
    /// Whether a command of the chain has `--show-token` (see
    /// `run_commands`).
    show_token: bool,
    /// Whose command line this is (the personality shows nothing for a
    /// `summary` name espefuse does not know; `espboot efuse` refuses it).
    banner: Banner,
    /// `-d/--debug`: the register dumps espefuse prints as it reads.
    debug: bool,
    /// Key bytes are printed (see `run_commands`).
    show_sensitive: bool,
}

pub(super) fn print(t: &Transcript) {
    for line in t.lines() {
        out!("{line}");
    }
}

/// The command's result; on a refusal, what it printed first (as espefuse
/// shows it) and the refusal as the error.
pub(super) fn printed<T>(r: Result<T, Failed>) -> anyhow::Result<T> {
    r.map_err(|f| {
        print(&f.printed);
        anyhow::Error::new(f.error)
    })
}

/// The group's options that say how a chain runs (not where the eFuses
/// are).
pub(super) struct RunOptions<'a> {
    pub(super) do_not_confirm: bool,
    pub(super) spelling: &'a args::Spelling,
    pub(super) banner: Banner,
    /// `-d/--debug`: the register dumps espefuse prints as it reads.
    pub(super) debug: bool,
}

/// What reading the eFuses prints, before any command runs: with `-d`
/// each block's registers, then the controller's coding errors
/// (`get_coding_scheme_warnings`), with `-d` the status registers too.
/// A chip espefuse cannot read stops the reading ([`espefuse::read_check`],
/// and for the personality, after the coding errors,
/// [`espefuse::calculated_fields_check`]): the lines printed until then,
/// and the refusal.
pub(super) fn read_output(
    efuses: &Efuses,
    debug: bool,
    banner: Banner,
) -> (Vec<String>, Result<(), esp_efuse::EfuseError>) {
    let mut read = if debug {
        espefuse::read_regs_dump(efuses).lines().to_vec()
    } else {
        Vec::new()
    };
    if let Err(e) = espefuse::read_check(efuses) {
        return (read, Err(e));
    }
    let (warnings, _) = espefuse::coding_scheme_warnings(efuses, debug);
    read.extend(warnings.lines().iter().cloned());
    // `espboot efuse` reads on: the refusal is espefuse's own flaw
    let readable = match banner {
        Banner::Espefuse => espefuse::calculated_fields_check(efuses),
        Banner::Espboot => Ok(()),
    };
    (read, readable)
}

pub(super) fn run_commands(
    efuses: Efuses,
    backend: Box<dyn EfuseBackend>,
    commands: Vec<Command>,
    opts: RunOptions,
) -> anyhow::Result<ExitCode> {
    let RunOptions {
        do_not_confirm,
        spelling,
        banner,
        debug,
    } = opts;
    let mut efuses = efuses;
    // espefuse builds its field list and reads the coding scheme once,
    // when it reads the chip
    efuses.settle_as_read();
    efuses.set_debug(debug);
    let mut s = Session {
        efuses,
        backend,
        do_not_confirm,
        force: ForceWrite::Unavailable,
        show_token: false,
        banner,
        debug,
        show_sensitive: false,
    };
    // `--show-token` is a callback too (base_operations.py add_show_token)
    // that only ever sets espefuse's flag: one command of the chain with it
    // shows the token before every burn of the run
    s.show_token = commands.iter().any(Command::show_token);
    // `--show-sensitive-info` too (base_operations.py
    // add_show_sensitive_info_option): it keeps its flag in the context,
    // set by --debug or by any command of the chain, and the key commands
    // read the context when they run, after the whole chain was parsed
    s.show_sensitive = debug || commands.iter().any(Command::show_sensitive_info);
    // `--force-write-always` is a callback of each command that has it
    // (base_operations.py add_force_write_always): click runs them all while
    // it parses the chain, so the last such command's flag, given or not,
    // holds for every burn of the run
    s.force = commands
        .iter()
        .rev()
        .find_map(Command::force_write_always)
        .map_or(ForceWrite::Unavailable, force_flag);
    let json_only = json_only(&commands);
    let (read, readable) = read_output(&s.efuses, debug, banner);
    for line in &read {
        if json_only {
            eprintln!("{line}");
        } else {
            out!("{line}");
        }
    }
    readable?;
    // click resolves and converts every command's arguments before any
    // command runs (after the group's banner and the connection): each
    // underscore spelling's warning, then the names and pairing of burn-efuse
    for (i, cmd) in commands.iter().enumerate() {
        if let Some(Some(warning)) = spelling.warnings.get(i) {
            eprintln!("{warning}");
        }
        click_convert_command(&s.efuses, cmd, banner)?;
    }
    // espefuse/__init__.py: batch mode with more than one word naming a
    // burn command; the read commands' repeat after burns is already in
    // the chain (cli_util.py repeat_read_commands, `args::parse`)
    let batch = spelling.batch;
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
        } else if let Command::CheckError { recovery: true } = cmd {
            check_error_recovery(&mut s)?;
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

/// click's conversion of one command's arguments as espefuse's chain
/// parses it, against the eFuses read (names, values, key groups): what
/// fails here fails before the next command of the chain is parsed.
pub(super) fn click_convert_command(
    efuses: &Efuses,
    cmd: &Command,
    banner: Banner,
) -> anyhow::Result<()> {
    let chip = efuses.chip();
    // the key and block-data groups: click's types (for `espboot
    // efuse`, key_groups gives its own clearer messages when it runs)
    if banner == Banner::Espefuse {
        click_convert(chip, cmd)?;
    }
    if let Command::BurnEfuse {
        pairs, one_string, ..
    } = cmd
    {
        let argument = &super::click::variadic_metavar("burn-efuse", chip);
        // one string (an option right after a lone name): espefuse's
        // EfuseValuePairType pairs up its characters
        // (efuse/base_operations.py), and prints the string itself
        let one = *one_string && banner == Banner::Espefuse;
        let chars: Vec<String>;
        let words = if one {
            chars = pairs.concat().chars().map(String::from).collect();
            &chars
        } else {
            pairs
        };
        if words.len() > 1 && words.len() % 2 == 1 {
            let list = if one {
                pairs.concat()
            } else {
                let quoted: Vec<String> = pairs.iter().map(|p| format!("'{p}'")).collect();
                format!("({})", quoted.join(", "))
            };
            return Err(args::UsageError::invalid_value(
                "burn-efuse",
                argument,
                &format!("The list does not have a valid pair (name value) {list}"),
            )
            .into());
        }
        let choices = espefuse::efuse_choices(efuses, espefuse::NameList::All);
        for name in words.iter().step_by(2) {
            if banner == Banner::Espboot {
                // our own name keeps the clearer message (did-you-mean)
                espefuse::efuse(efuses, name)?;
            } else if !choices.contains(&name.as_str()) {
                return Err(args::UsageError::invalid_value(
                    "burn-efuse",
                    argument,
                    &format!(
                        "Invalid eFuse name '{name}'. Available eFuse names: [{}]",
                        choices
                            .iter()
                            .map(|c| format!("'{c}'"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .into());
            }
        }
        // the values too (EfuseValuePairType's check_arg): their
        // errors are fatal, printed before any command runs
        espefuse::parse_burn_pairs(efuses, &name_value_list(pairs))?;
    }
    // read/write-protect-efuse: click.Choice of the names espefuse's
    // eFuse list has when it starts
    if let Command::ReadProtectEfuse {
        names, one_string, ..
    }
    | Command::WriteProtectEfuse {
        names, one_string, ..
    } = cmd
    {
        let list = if matches!(cmd, Command::ReadProtectEfuse { .. }) {
            espefuse::NameList::ReadProtectable
        } else {
            espefuse::NameList::WriteProtectable
        };
        let choices = espefuse::efuse_choices(efuses, list);
        let bad = names.iter().find(|n| !choices.contains(&n.as_str()));
        if names.is_empty() || (bad.is_some() && banner == Banner::Espefuse) {
            if banner == Banner::Espboot {
                bail!("{}: expected one or more eFuse names", cmd.name());
            }
            return Err(args::UsageError::choices(
                cmd.name(),
                &choices,
                bad.map(String::as_str),
                !*one_string,
            )
            .into());
        }
    }
    // CustomMACType converts the address as click parses it
    if let Command::BurnCustomMac { mac, .. } = cmd {
        espefuse::custom_mac(efuses, mac)?;
    }
    Ok(())
}

/// Maps one burn command's arguments to typed values and stages it,
/// printing what espefuse prints.
pub(super) fn stage(s: &mut Session, cmd: &Command) -> anyhow::Result<AfterBurn> {
    let chip = s.efuses.chip();
    let e = &mut s.efuses;
    let (after, printed_lines) = match cmd {
        Command::BurnEfuse { pairs, force, .. } => {
            // espefuse (EfuseValuePairType): one token is a name alone (bool
            // fields and bit counters take their implicit value), more must pair up.
            let list = name_value_list(pairs);
            let values = espefuse::parse_burn_pairs(e, &list)?;
            let t = printed(espefuse::burn_efuse(e, &values, *force, s.force))?;
            // every value fitted its field, or the burn above failed
            let bits = values
                .iter()
                .map(|(f, v)| Ok((*f, espefuse::value_bits(e, *f, v)?)))
                .collect::<Result<Vec<_>, esp_efuse::EfuseError>>()?;
            (AfterBurn::Fields(bits), t)
        }
        Command::BurnBit { block, bits, .. } => {
            let name = block;
            let block = espefuse::block(chip, name)?;
            (
                AfterBurn::Nothing,
                printed(espefuse::burn_bit(e, block, name, bits))?,
            )
        }
        Command::BurnBlockData { items, offset, .. } => {
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
        // the ESP32-C2's espefuse takes no groups and unpacks them with
        // `zip(*groups)` (efuse/esp32c2/operations.py burn_key_cli): an empty
        // tuple gives no three values, None is no iterable
        Command::BurnKey {
            items,
            groups_unset,
            ..
        } if items.is_empty() => {
            return Err(if s.banner == Banner::Espboot {
                anyhow::anyhow!("burn-key: expected BLOCK KEYFILE KEYPURPOSE groups")
            } else if *groups_unset {
                PythonException(
                    "TypeError: zip() argument after * must be an iterable, not NoneType"
                        .to_owned(),
                )
                .into()
            } else {
                PythonException(
                    "ValueError: not enough values to unpack (expected 3, got 0)".to_owned(),
                )
                .into()
            });
        }
        Command::BurnKey { items, opts, .. } => {
            // espefuse prints the sensitive-data notice before it checks
            // the groups (a block named twice)
            let options = key_options(chip, opts, s.force, s.show_sensitive);
            print(&espefuse::burn_key_start(e, options));
            let groups = key_groups(chip, items, false)?;
            let t = printed(espefuse::burn_key_after_notice(e, &groups, options))?;
            (AfterBurn::Nothing, t)
        }
        Command::BurnKeyDigest { items, opts } => {
            // espefuse reads the key files after the command's first lines
            let options = key_options(chip, opts, s.force, s.show_sensitive);
            print(&printed(espefuse::burn_key_digest_start(e, options))?);
            let groups = key_groups(chip, items, true)?;
            let t = printed(espefuse::burn_key_digest(e, &groups, options))?;
            (AfterBurn::Nothing, t)
        }
        Command::ReadProtectEfuse {
            names, one_string, ..
        }
        | Command::WriteProtectEfuse {
            names, one_string, ..
        } if *one_string && s.banner == Banner::Espefuse => {
            // espefuse iterates the string: each character is a name, the
            // repeats are refused first, then the first one is looked up
            // (base_operations.py read_protect_efuse, write_protect_efuse)
            let chars: Vec<String> = names.concat().chars().map(String::from).collect();
            espefuse::check_repeated(&chars)?;
            return Err(PythonException(format!(
                "KeyError: '{}'",
                chars.first().map_or("", String::as_str)
            ))
            .into());
        }
        Command::ReadProtectEfuse { names, .. } => {
            let fields = fields_named(e, names)?;
            let t = printed(espefuse::read_protect(e, &fields, s.force))?;
            (AfterBurn::Protected(fields, true), t)
        }
        Command::WriteProtectEfuse { names, .. } => {
            let fields = fields_named(e, names)?;
            let t = printed(espefuse::write_protect(e, &fields, s.force))?;
            (AfterBurn::Protected(fields, false), t)
        }
        Command::BurnCustomMac { mac, .. } => {
            let mac = espefuse::custom_mac(e, mac)?;
            (
                AfterBurn::CustomMac,
                printed(espefuse::burn_custom_mac(e, &mac, s.force))?,
            )
        }
        Command::SetFlashVoltage { voltage, .. } => {
            let voltage = espefuse::FlashVoltage::from_name(voltage).ok_or_else(|| {
                anyhow!(
                    "set-flash-voltage {voltage}: expected one of {}",
                    espefuse::FlashVoltage::NAMES.join(", ")
                )
            })?;
            (
                AfterBurn::Nothing,
                printed(espefuse::set_flash_voltage(e, voltage, s.force))?,
            )
        }
        Command::Summary { .. }
        | Command::Dump { .. }
        | Command::CheckError { .. }
        | Command::GetCustomMac
        | Command::AdcInfo
        | Command::ExecuteScripts { .. } => (AfterBurn::Nothing, Transcript::default()),
    };
    print(&printed_lines);
    Ok(after)
}

/// Plans, confirms and applies the staged burn. Without a confirmation it
/// fails ([`Aborted`] at the end of stdin, [`NotConfirmed`] for another
/// answer): a run that burned nothing never succeeds.
pub(super) fn burn(s: &mut Session) -> anyhow::Result<()> {
    let (any, plan) = printed(espefuse::plan(&mut s.efuses, s.force))?;
    print(&plan);
    if !any {
        return Ok(());
    }
    // base_fields.py burn_all: after the plan's checks, before the prompt
    if s.show_token {
        out!("\neFuse token for burning:");
        out!("{}", esp_efuse::token::write_token(&s.efuses));
    }
    confirm(s, "")?;
    let burned = espefuse::burn_with(&mut s.efuses, s.force, s.backend.as_mut());
    if burned.is_err() {
        // what was programmed before a failure stays burned: espefuse's
        // emulator saves its file at every burn
        s.backend.store(&s.efuses)?;
    }
    print(&printed(burned)?);
    s.backend.store(&s.efuses)?;
    Ok(())
}

/// espefuse's `confirm(action)` before an irreversible operation: without
/// `--do-not-confirm`, only the answer `BURN` goes on. Otherwise it fails
/// ([`Aborted`] at the end of stdin, [`NotConfirmed`] for another answer).
fn confirm(s: &Session, action: &str) -> anyhow::Result<()> {
    let stop = if action.ends_with('\n') { "" } else { ". " };
    out!("{action}{stop}\nThis is an irreversible operation!");
    if s.do_not_confirm {
        return Ok(());
    }
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
    Ok(())
}

/// `check-error --recovery` (base_operations.py `check_error`): the error
/// summary; then each block with errors that holds data, last block first,
/// is programmed again with its own data (one confirmation, before the
/// first); then the summary again, which decides.
pub(super) fn check_error_recovery(s: &mut Session) -> anyhow::Result<()> {
    let (summary, mut errors) = espefuse::error_summary(&s.efuses, s.debug);
    print(&summary);
    if errors {
        let blocks = espefuse::recovery_blocks(&s.efuses);
        for (n, recovery) in blocks.iter().enumerate() {
            print(&espefuse::stage_recovery(&mut s.efuses, recovery));
            if n == 0 {
                confirm(s, "Recovery of block coding errors")?;
            }
            let burned =
                espefuse::burn_block_alone(&mut s.efuses, recovery.block, s.backend.as_mut());
            if burned.is_err() {
                // what the earlier blocks (and a block read back wrong)
                // burned stays burned: espefuse's emulator saves its file
                // at every burn
                s.backend.store(&s.efuses)?;
            }
            print(&printed(burned)?);
        }
        if !blocks.is_empty() {
            s.backend.store(&s.efuses)?;
        }
        let (summary, again) = espefuse::error_summary(&s.efuses, s.debug);
        print(&summary);
        errors = again;
    }
    if errors {
        return Err(esp_efuse::EfuseError::CodingErrors.into());
    }
    out!("No errors detected.");
    Ok(())
}

pub(super) fn check_after(s: &Session, after: &AfterBurn) -> anyhow::Result<()> {
    let t = match after {
        AfterBurn::Nothing => return Ok(()),
        AfterBurn::Fields(values) => espefuse::check_burned(&s.efuses, values),
        AfterBurn::Protected(fields, read) => espefuse::check_protected(&s.efuses, fields, *read),
        AfterBurn::CustomMac => espefuse::get_custom_mac(&s.efuses),
    };
    print(&printed(t)?);
    Ok(())
}

pub(super) fn read_command(s: &Session, cmd: &Command) -> anyhow::Result<()> {
    let e = &s.efuses;
    let debug = s.debug;
    match cmd {
        Command::Summary {
            names,
            format,
            active,
            file,
            json,
            one_string,
            names_unset,
        } => {
            let personality = s.banner == Banner::Espefuse;
            // base_operations.py summary: `len(efuses_to_show)` of None
            if personality && *names_unset && *format == SummaryFormat::ValueOnly && !*json {
                return Err(PythonException(
                    "TypeError: object of type 'NoneType' has no len()".to_string(),
                )
                .into());
            }
            let only = if personality && *one_string {
                // espefuse tests `name in "NAME"`: every field whose name
                // is part of the string
                let text = names.concat();
                let within: Vec<String> = e
                    .chip()
                    .table()
                    .fields
                    .iter()
                    .map(|f| f.field.name().to_string())
                    .chain(e.custom_fields().iter().map(|c| c.field.name.clone()))
                    .filter(|n| text.contains(n.as_str()))
                    .collect();
                Some(espefuse::summary_refs(e, &within).unwrap_or_default())
            } else if personality {
                // base_operations.py summary filters the fields by the names
                // as given: an unknown name shows nothing, it is no error
                espefuse::summary_refs(e, names)
            } else {
                // `espboot efuse summary` refuses a name it does not know
                for name in names {
                    espefuse::efuse(e, name)?;
                }
                espefuse::summary_refs(e, names)
            };
            let format = if *json { &SummaryFormat::Json } else { format };
            let text = match format {
                SummaryFormat::Json => e.summary_json_text(only.as_deref(), *active),
                SummaryFormat::ValueOnly => {
                    // espefuse counts the names given, then prints the value
                    // of each field whose name is one of them (an
                    // alternative or unknown name prints nothing)
                    let given = if personality && *one_string {
                        names.concat().chars().count()
                    } else {
                        names.len()
                    };
                    if given != 1 {
                        bail!("The 'value_only' format can be used exactly for one eFuse.");
                    }
                    let values = e.summary_values(only.as_deref().unwrap_or_default(), *active);
                    if values.is_empty() && file.is_none() {
                        return Ok(());
                    }
                    values.join("\n")
                }
                SummaryFormat::Summary => {
                    // base_operations.py summary: the warnings again, and a
                    // last line when a block failed
                    let (warnings, failed) = espefuse::coding_scheme_warnings(e, debug);
                    print(&warnings);
                    let mut text = e.summary_text(only.as_deref(), *active);
                    if failed {
                        text.push_str("\nWARNING: Coding scheme has encoding bit error warnings");
                    }
                    text
                }
            };
            match file {
                Some(path) if path.as_os_str() == "-" => {
                    // click.File's `-` is stdout
                    out!("Saving eFuse values to <stdout>");
                    match text.strip_suffix('}') {
                        // json.dump's last brace reaches stdout after the
                        // console's empty line
                        Some(body) if *format == SummaryFormat::Json && personality => {
                            use std::io::Write as _;
                            let _ = write!(std::io::stdout().lock(), "{body}\n}}");
                        }
                        _ => out!("{text}"),
                    }
                    if personality {
                        // espefuse then closes it, and its next print fails
                        return Err(PythonException(
                            "ValueError: I/O operation on closed file.".to_owned(),
                        )
                        .into());
                    }
                }
                Some(path) => {
                    out!("Saving eFuse values to {}", path.display());
                    let mut t = text;
                    // json.dump() leaves no newline at the end; the text summary ends
                    // with one, and value_only matching no field writes nothing
                    if *format != SummaryFormat::Json && !t.is_empty() {
                        t.push('\n');
                    }
                    write_atomic(path, t.as_bytes(), false).context(super::ClickFileOutput)?;
                    // base_operations.py summary: the empty line that ends
                    // the JSON goes to the console, then "Done" once the
                    // file is closed
                    if *format == SummaryFormat::Json {
                        out!("");
                    }
                    out!("Done");
                }
                None => out!("{text}"),
            }
        }
        Command::Dump { format, file_name } => dump(e, *format, file_name.as_deref())?,
        Command::CheckError { .. } => print(&printed(espefuse::check_error(e, debug))?),
        Command::GetCustomMac => print(&printed(espefuse::get_custom_mac(e))?),
        Command::AdcInfo => print(&printed(espefuse::adc_info(e))?),
        Command::ExecuteScripts { .. } => return Err(super::Removed::ExecuteScripts.into()),
        _ => {}
    }
    Ok(())
}

pub(super) fn dump(e: &Efuses, format: DumpFormat, file_name: Option<&Path>) -> anyhow::Result<()> {
    let t = e.table();
    match (format, file_name) {
        (DumpFormat::Default, None) => {
            for b in t.blocks {
                let words = e.block_words(b.id as usize);
                out!("{}", espefuse::block_line(b, "dump", &words));
            }
        }
        (DumpFormat::Token, None) => out!("{}", esp_efuse::token::read_token(e)),
        (DumpFormat::Token, Some(path)) => {
            // written as espefuse writes it: the token, no newline
            out!("eFuse token dump -> {}", path.display());
            write_atomic(path, esp_efuse::token::read_token(e).as_bytes(), false)?;
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
