//! Command operands turned into typed values: key files, digests, field
//! and key-block names, protection options.

use super::*;

pub(super) fn read_file(path: &str, what: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .with_context(|| format!("{what} {path}: cannot read file"))
}

/// click's arity check of burn-key's arguments (espefuse 5.6.0
/// `cli_util.py` TupleParameter: `Expected multiple of N values, got M
/// (values: (…))`), N the group size: ESP32's BLOCK KEYFILE pairs, the
/// other chips' BLOCK KEYFILE PURPOSE groups.
pub(super) fn burn_key_arity(chip: Chip, items: &[String]) -> anyhow::Result<()> {
    let n = if chip == Chip::Esp32 { 2 } else { 3 };
    let argument = super::click::variadic_metavar("burn-key", chip);
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
        &argument,
        &format!(
            "Expected multiple of {n} values, got {} (values: {tuple})",
            items.len()
        ),
    )
    .into())
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

/// The Secure Boot V2 digest of a public key file.
pub(super) fn sbv2_digest(path: &str) -> anyhow::Result<[u8; 32]> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("key file {path}: cannot read file"))?;
    let key = esp_secure::sbv2::PublicKey::from_pem(&text)
        .map_err(|e| anyhow!("key file {path}: not a Secure Boot V2 key: {e}"))?;
    Ok(key.digest())
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
/// (the last command with the option decides, see `run_commands`).
pub(super) fn key_options(chip: Chip, o: &ProtectOpts, force: ForceWrite) -> KeyCommandOptions {
    KeyCommandOptions {
        protection: KeyOptions {
            no_write_protect: o.no_write_protect || (chip == Chip::Esp32 && o.no_protect_key),
            no_read_protect: o.no_read_protect,
        },
        force_write_always: force == ForceWrite::On,
        show_sensitive_info: o.show_sensitive_info,
    }
}
