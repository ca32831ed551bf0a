//! Command operands turned into typed values: key files, digests, field
//! and key-block names, protection options.

use super::*;
use esp_efuse::ChipEfuses as _;

pub(super) fn read_file(path: &str, what: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .with_context(|| format!("{what} {path}: cannot read file"))
}

/// One place of a group: click's type converting the word there.
#[derive(Clone, Copy)]
enum Slot<'a> {
    /// `click.Choice` of these names.
    Choice(&'a [String]),
    /// `click.File("rb")`.
    File,
}

/// click's `Choice` refusal (`types.py` `get_invalid_choice_message`):
/// each choice once, in order.
fn choice_message(value: &str, choices: &[String]) -> String {
    let mut unique: Vec<&String> = Vec::new();
    for c in choices {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    let listed: Vec<String> = unique.iter().map(|c| py_repr::str(c)).collect();
    if listed.len() == 1 {
        format!("{} is not {}.", py_repr::str(value), listed[0])
    } else {
        format!(
            "{} is not one of {}.",
            py_repr::str(value),
            listed.join(", ")
        )
    }
}

/// click's `File("rb")` conversion: the file must open for reading (`-`
/// is stdin). The refusal names the file and the OS's reason.
pub(super) fn click_file(path: &str) -> Result<(), String> {
    if path == "-" {
        return Ok(());
    }
    let reason = match std::fs::metadata(path) {
        // Python's open() refuses a directory, Rust's does not
        Ok(m) if m.is_dir() => "Is a directory".to_string(),
        _ => match std::fs::File::open(path) {
            Ok(_) => return Ok(()),
            Err(e) => os_reason(&e),
        },
    };
    Err(format!("'{path}': {reason}"))
}

/// The C library's text for an OS error (Python's `strerror`), without
/// Rust's ` (os error N)`.
fn os_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// click's conversion of a grouped variadic argument (espefuse 5.6.0
/// `base_operations.py` TupleParameter over NonCompositeTuple): at most
/// `max` groups, a multiple of the group size, then each word converted
/// by its place's type in turn; the first refusal is click's `Invalid
/// value for` usage error naming the argument. `shown`: how the refusals
/// of the count show the values.
fn convert_groups(
    command: &str,
    argument: &str,
    items: &[String],
    shown: &str,
    slots: &[Slot],
    max: usize,
) -> Result<(), args::UsageError> {
    let n = slots.len();
    let invalid = |message: String| args::UsageError::invalid_value(command, argument, &message);
    if items.len() > max * n {
        return Err(invalid(format!(
            "Expected at most {max} groups ({n} values each), got {} (values: {shown})",
            items.len(),
        )));
    }
    if !items.len().is_multiple_of(n) {
        return Err(invalid(format!(
            "Expected multiple of {n} values, got {} (values: {shown})",
            items.len(),
        )));
    }
    for group in items.chunks(n) {
        for (word, slot) in group.iter().zip(slots) {
            match slot {
                Slot::Choice(names) if !names.contains(word) => {
                    return Err(invalid(choice_message(word, names)));
                }
                Slot::File => click_file(word).map_err(invalid)?,
                Slot::Choice(_) => {}
            }
        }
    }
    Ok(())
}

/// The grouped argument of `burn-key`, `burn-key-digest` (but the ESP32's
/// and ESP32-C2's) and `burn-block-data` on `chip` (the `@click.argument`
/// types of `efuse/base_operations.py` and `efuse/<chip>/operations.py`):
/// its metavar as one value (`<BLOCK> <KEYFILE>`), the choices of its
/// block and purpose places, and the most groups it takes.
struct Grouped {
    metavar: &'static str,
    blocks: Vec<String>,
    purposes: Option<Vec<String>>,
    max: usize,
}

impl Grouped {
    fn of(chip: Chip, command: &str) -> Option<Grouped> {
        let metavar = super::click::grouped_metavar(command, chip)?;
        let keys = || owned(espefuse::key_block_names(chip));
        Some(match command {
            "burn-key" if chip == Chip::Esp32 => Grouped {
                metavar,
                blocks: keys(),
                purposes: None,
                max: super::click::key_groups_max(chip, false),
            },
            "burn-key" => Grouped {
                metavar,
                blocks: keys(),
                purposes: Some(purpose_names(chip, false)),
                max: super::click::key_groups_max(chip, false),
            },
            "burn-key-digest" if !matches!(chip, Chip::Esp32 | Chip::Esp32c2) => Grouped {
                metavar,
                blocks: keys(),
                purposes: Some(purpose_names(chip, true)),
                max: super::click::key_groups_max(chip, true),
            },
            "burn-block-data" => {
                let blocks = owned(espefuse::burn_block_data_names(chip));
                Grouped {
                    metavar,
                    max: blocks.len(),
                    blocks,
                    purposes: None,
                }
            }
            _ => return None,
        })
    }

    fn slots(&self) -> Vec<Slot<'_>> {
        let mut slots = vec![Slot::Choice(&self.blocks), Slot::File];
        if let Some(p) = &self.purposes {
            slots.push(Slot::Choice(p));
        }
        slots
    }
}

/// click's conversion of the arguments of `burn-key`, `burn-key-digest`
/// and `burn-block-data` on `chip`, before any command runs.
pub(super) fn click_convert(chip: Chip, cmd: &Command) -> Result<(), args::UsageError> {
    let (name, items) = match cmd {
        // the ESP32's and ESP32-C2's single KEYFILE
        Command::BurnKeyDigest { items, .. } if matches!(chip, Chip::Esp32 | Chip::Esp32c2) => {
            return match items.first() {
                Some(file) => click_file(file)
                    .map_err(|m| args::UsageError::invalid_value("burn-key-digest", "KEYFILE", &m)),
                None => Ok(()),
            };
        }
        Command::BurnKey { items, .. } => ("burn-key", items),
        Command::BurnKeyDigest { items, .. } => ("burn-key-digest", items),
        Command::BurnBlockData { items, .. } => ("burn-block-data", items),
        _ => return Ok(()),
    };
    let Some(g) = Grouped::of(chip, name) else {
        return Ok(());
    };
    let argument = super::click::variadic_metavar(name, chip);
    let shown = py_repr::tuple(items);
    convert_groups(name, &argument, items, &shown, &g.slots(), g.max)
}

/// The same conversion when espefuse's chain cut the grouped argument to
/// one word (an option or a command's name right after it,
/// `cli_util.py` ChainingCommand): click hands the type a string, whose
/// characters are the values, and names the argument by its plain
/// metavar.
pub(super) fn click_convert_one_string(
    chip: Chip,
    name: &str,
    word: &str,
) -> Result<(), args::UsageError> {
    let Some(g) = Grouped::of(chip, name) else {
        return Ok(());
    };
    let chars: Vec<String> = word.chars().map(String::from).collect();
    convert_groups(name, g.metavar, &chars, word, &g.slots(), g.max)
}

/// The key purposes click's Choice offers on `chip` (espefuse's
/// `KEY_PURPOSES_NAME`; `digest`: `DIGEST_KEY_PURPOSES`).
fn purpose_names(chip: Chip, digest: bool) -> Vec<String> {
    chip.table()
        .listed_purposes()
        .iter()
        .filter(|p| !digest || p.digest)
        .map(|p| p.purpose.to_string())
        .collect()
}

fn owned(names: Vec<&str>) -> Vec<String> {
    names.into_iter().map(str::to_string).collect()
}

pub(super) fn groups_of(
    items: &[String],
    n: usize,
    usage: &str,
) -> anyhow::Result<Vec<Vec<String>>> {
    if items.is_empty() || !items.len().is_multiple_of(n) {
        bail!("expected {usage} (got {} argument(s))", items.len());
    }
    Ok(items.chunks(n).map(<[String]>::to_vec).collect())
}

/// A key file `burn-key-digest` cannot use (espsecure's
/// `_get_sbv2_pub_key` decides, as espefuse calls it).
#[derive(Debug, thiserror::Error)]
#[error("key file {path}: not a Secure Boot V2 key: {reason}")]
pub(super) struct DigestKeyRefused {
    pub(super) path: String,
    /// espboot's reason.
    pub(super) reason: String,
    /// espsecure's refusal (`_digest_sbv2_public_key`, as espefuse calls
    /// it).
    pub(super) refusal: crate::cmd::secure::keys::Refusal,
}

/// A PEM file `burn-key … ECDSA_KEY` cannot use: espsecure's refusal
/// (`load_ecdsa_signing_key`, as espefuse calls it).
#[derive(Debug, thiserror::Error)]
#[error("key file {path}: not an ECDSA NIST P-192, P-256 or P-384 private key in PEM")]
pub(super) struct EcdsaKeyRefused {
    pub(super) path: String,
    pub(super) refusal: crate::cmd::secure::keys::Refusal,
}

/// The private scalar of the ECDSA key in a PEM file (big-endian, the
/// curve's size), what `burn-key` burns for an ECDSA_KEY purpose.
pub(super) fn ecdsa_scalar(path: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let pem = read_file(path, "key file")?;
    let refused = |refusal| EcdsaKeyRefused {
        path: path.to_string(),
        refusal,
    };
    let key = crate::cmd::secure::keys::ecdsa_signing_key(&pem).map_err(refused)?;
    key.ecdsa_scalar().ok_or_else(|| {
        refused(crate::cmd::secure::keys::Refusal::Fatal(
            "Supports NIST192p, NIST256p and NIST384p keys only.".into(),
        ))
        .into()
    })
}

/// The Secure Boot V2 digest of a public key file.
pub(super) fn sbv2_digest(path: &str) -> anyhow::Result<[u8; 32]> {
    let data = read_file(path, "key file")?;
    let refused = |reason: String, refusal| DigestKeyRefused {
        path: path.to_string(),
        reason,
        refusal,
    };
    // cryptography refuses some files our reader takes (a blank line in
    // the body, inconsistent key numbers), so espsecure's verdict comes
    // first
    let espsecure = crate::cmd::secure::keys::sbv2_verification_refusal(&data);
    match (esp_secure::sbv2::PublicKey::from_verification_file(&data), espsecure) {
        (Ok(key), None) => Ok(key.digest()),
        (Err(error), Some(refusal)) => Err(refused(error.to_string(), refusal).into()),
        (Ok(_), Some(refusal)) => Err(refused(
            "a PEM key block strict readers refuse (a stray header, blank line or encryption header, or inconsistent key numbers)".into(),
            refusal,
        )
        .into()),
        // a key espsecure loads that the chip's digest cannot take
        (Err(error), None) => Err(anyhow::Error::new(error).context(format!("key file {path}"))),
    }
}

pub(super) fn force_flag(given: bool) -> ForceWrite {
    if given {
        ForceWrite::On
    } else {
        ForceWrite::Off
    }
}

/// `burn-efuse` arguments as (name, value) pairs: one token is a name alone
/// (bool fields and bit counters take their implicit value), more pair up
/// (their count is checked before, as click does).
pub(super) fn name_value_list(pairs: &[String]) -> Vec<(String, Option<String>)> {
    if let [name] = pairs {
        return vec![(name.clone(), None)];
    }
    pairs
        .chunks(2)
        .map(|c| (c[0].clone(), c.get(1).cloned()))
        .collect()
}

/// `burn-key` and `burn-key-digest` arguments to key groups: BLOCK KEYFILE
/// PURPOSE groups (ESP32 `burn-key`: BLOCK KEYFILE pairs; ESP32 and
/// ESP32-C2 `burn-key-digest`: KEYFILEs, into the chip's one digest slot).
/// `digest`: the files are public keys, burned as their digests.
pub(super) fn key_groups(
    chip: Chip,
    items: &[String],
    digest: bool,
) -> anyhow::Result<Vec<KeyGroup>> {
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
    // espefuse reads the ECDSA keys' PEM files before it looks for block
    // names given twice (base_operations.py `_adjust_key_data_for_blocks`)
    let mut scalars = Vec::with_capacity(groups.len());
    for g in &groups {
        let ecdsa = !digest
            && g.get(2)
                .is_some_and(|p| espefuse::key_purpose(chip, p).ok() == Some(KeyPurpose::EcdsaKey));
        scalars.push(if ecdsa {
            Some(ecdsa_scalar(&g[1])?)
        } else {
            None
        });
    }
    // espefuse refuses block names given twice (as given); the ESP32-C2's
    // groups all name BLOCK_KEY0 and are told apart by purpose instead
    if chip != Chip::Esp32c2 {
        espefuse::check_repeated(&groups.iter().map(|g| &g[0]).collect::<Vec<_>>())?;
    }
    let is_file = |path: &str| std::path::Path::new(path).is_file();
    groups
        .iter()
        .zip(scalars)
        .map(|(g, scalar)| {
            espefuse::check_key_group_order(chip, g, &is_file)?;
            let data = match scalar {
                Some(scalar) => scalar,
                None => data(&g[1])?,
            };
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
pub(super) fn fields_named(
    efuses: &esp_efuse::Efuses,
    names: &[String],
) -> anyhow::Result<Vec<esp_efuse::FieldRef>> {
    espefuse::check_repeated(names)?;
    Ok(names
        .iter()
        .map(|n| espefuse::efuse(efuses, n))
        .collect::<Result<Vec<_>, _>>()?)
}

/// The key commands' options; `force` is the chain's `--force-write-always`
/// (the last command with the option decides), `show_sensitive` the
/// chain's `--show-sensitive-info` (see `run_commands`).
pub(super) fn key_options(
    chip: Chip,
    o: &ProtectOpts,
    force: ForceWrite,
    show_sensitive: bool,
) -> KeyCommandOptions {
    KeyCommandOptions {
        protection: KeyOptions {
            no_write_protect: o.no_write_protect || (chip == Chip::Esp32 && o.no_protect_key),
            no_read_protect: o.no_read_protect,
        },
        force_write_always: force == ForceWrite::On,
        show_sensitive_info: show_sensitive,
    }
}
