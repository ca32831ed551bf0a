//! The coding-error reports of espefuse: `get_coding_scheme_warnings`
//! (printed when espefuse reads the eFuses and again by `summary` and
//! `check-error`) and `check-error`'s per-block summary
//! (`base_operations.py` `get_error_summary`, `check_error`;
//! `<chip>/fields.py` `get_coding_scheme_warnings`, `print_status_regs`).

use super::transcript::{Console, Failed, Transcript};
use crate::error::EfuseError;
use crate::model::Efuses;
use crate::tables::Chip;

/// What espefuse's `--debug` prints as it reads the eFuses
/// (base_fields.py `EfuseBlockBase.read` and `print_block`): each block's
/// read registers, in address order.
pub fn read_regs_dump(efuses: &Efuses) -> Transcript {
    let mut out = Console::of(efuses);
    for (id, def) in efuses.table().blocks.iter().enumerate() {
        out.say(block_line(def, "read_regs", &efuses.block_words(id)));
        // an ESP32 under the REPEAT coding scheme: BLOCK0 reads, the
        // next block does not (see `read_check`)
        if efuses.coding_scheme_unsupported().is_some() {
            break;
        }
    }
    out.run(|_| Ok(())).map(|((), t)| t).unwrap_or_default()
}

/// Whether espefuse can read the eFuses at all: not an ESP32 under the
/// REPEAT coding scheme, whose blocks 1-3 it refuses to read (after
/// BLOCK0, whose `-d` line [`read_regs_dump`] prints).
pub fn read_check(efuses: &Efuses) -> Result<(), EfuseError> {
    match efuses.coding_scheme_unsupported() {
        Some(cs) => Err(EfuseError::CodingSchemeUnsupported(cs)),
        None => Ok(()),
    }
}

/// What espefuse does last as it reads the chip: each calculated MAC field
/// (`MAC_EUI64` on the C6 and H2, a field without a word) reads its shown
/// value back through its own `check_format` (base_fields.py
/// `EfuseFieldBase.update`). When its block has coding errors the value
/// ends in `(Block1 has ERRORS:n FAIL:b)`, whose two colons break the MAC's
/// colon count, so espefuse can read no such chip: every command fails,
/// after the coding-error lines.
pub fn calculated_fields_check(efuses: &Efuses) -> Result<(), EfuseError> {
    let calculated_macs = efuses
        .table()
        .fields
        .iter()
        .filter(|f| f.word.is_none() && f.class == crate::tables::FieldClass::Mac);
    for def in calculated_macs {
        let shown = efuses.get(def.field)?.to_string();
        super::parse_value(efuses, def.field, Some(&shown))?;
    }
    Ok(())
}

/// One line of espefuse's `print_block` (base_fields.py; also what `dump`
/// prints): the block's name, its aliases cut to 16 characters, its
/// number, `comment`, and the words in address order.
pub fn block_line(def: &crate::tables::BlockDef, comment: &str, words: &[u32]) -> String {
    let alias: String = def.aliases.join(" ").chars().take(16).collect();
    format!(
        "{:<15} ({alias:<16}) [{:<2}] {comment}: {}",
        def.name,
        def.id,
        words
            .iter()
            .map(|w| format!("{w:08x}"))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// `get_coding_scheme_warnings()`: one line per block with errors, then,
/// when a block failed or with espefuse's `--debug` (`debug`), the status
/// registers. Returns the lines and whether a block failed (espefuse's
/// return value).
pub fn coding_scheme_warnings(efuses: &Efuses, debug: bool) -> (Transcript, bool) {
    let errors = efuses.block_errors();
    let chip = efuses.chip();
    let mut out = Console::new(chip);
    for e in &errors {
        let fail = if e.fail { "True" } else { "False" };
        // the ESP32's and the ESP32-C2's lines have no full stop
        // (esp32/fields.py, esp32c2/fields.py)
        let stop = if matches!(chip, Chip::Esp32 | Chip::Esp32c2) {
            ""
        } else {
            "."
        };
        out.say(format!(
            "Error(s) in BLOCK{} [ERRORS:{} FAIL:{fail}]{stop}",
            e.block, e.num_errors
        ));
    }
    let failed = errors.iter().any(|e| e.fail);
    if failed || debug {
        out.say("");
        let reg = |name: &str, off: usize| format!("{name:27} 0x{:08x}", efuses.read_reg(off));
        let regs = efuses.table().error_regs;
        match chip {
            Chip::Esp32 => {
                if let Some(off) = regs.first() {
                    out.say(reg("EFUSE_REG_DEC_STATUS", *off));
                }
            }
            _ => {
                // BLOCK0's repeat-error registers as its err_bitarray prints them
                let rs = efuses.rs_error_regs();
                let repeat = regs.get(..regs.len() - rs.len()).unwrap_or_default();
                let len = efuses.block_len_words(0).max(repeat.len());
                let mut words = vec![0u32; len - repeat.len()];
                words.extend(repeat.iter().map(|off| efuses.read_reg(*off)));
                out.say(block_line(&efuses.table().blocks[0], "err__regs", &words));
                if chip == Chip::Esp32c2 {
                    if let Some(off) = rs.first() {
                        out.say(reg("EFUSE_RD_RS_ERR_REG", *off));
                    }
                } else {
                    for (i, off) in rs.iter().enumerate() {
                        out.say(reg(&format!("EFUSE_RD_RS_ERR{i}_REG"), *off));
                    }
                }
            }
        }
    }
    let lines = out.run(|_| Ok(())).map(|((), t)| t).unwrap_or_default();
    (lines, failed)
}

/// `check-error`'s report (`get_error_summary`, base_operations.py): the
/// warnings, then a line per block with errors, BLOCK0's per field that has
/// errors, and a note when some cannot be fixed. Returns the lines and
/// whether any block has errors.
pub fn error_summary(efuses: &Efuses, debug: bool) -> (Transcript, bool) {
    let (warnings, _) = coding_scheme_warnings(efuses, debug);
    let mut out = Console::new(efuses.chip());
    for line in warnings.lines() {
        out.say(line);
    }
    let errors = efuses.block_errors();
    let mut writable = true;
    let state = |wr: bool| if wr { "writable" } else { "not writable" };
    for e in &errors {
        if e.block == 0 {
            for i in efuses.listed_block_fields(0) {
                if !efuses.field_has_error(i) {
                    continue;
                }
                let wr = efuses.is_writeable_at(i);
                writable &= wr;
                // `{val:<8}` formats a bool as the int it is
                let value = match efuses.get_at(i, true) {
                    crate::model::FieldValue::Bool(b) => u8::from(b).to_string(),
                    v => v.to_string(),
                };
                out.say(format!(
                    "BLOCK{:<2}: {:<40} = {value:<8} ({})",
                    0,
                    efuses.def_at(i).field.name(),
                    state(wr)
                ));
            }
            continue;
        }
        let def = &efuses.table().blocks[e.block];
        let wr = efuses.is_block_writeable(e.block);
        writable &= wr;
        let name = format!(
            "{} [ERRORS:{} FAIL:{}]",
            def.name,
            e.num_errors,
            u8::from(e.fail)
        );
        let mut bytes = efuses.block_bytes(e.block);
        bytes.reverse();
        let hex = format!("0x{}", crate::hexify(&bytes, ""));
        out.say(format!(
            "BLOCK{:<2}: {name:<40} = {hex:<8} ({})",
            e.block,
            state(wr)
        ));
    }
    if !writable && !errors.is_empty() {
        out.say("Not all errors can be fixed because some fields are write-protected!");
    }
    let lines = out.run(|_| Ok(())).map(|((), t)| t).unwrap_or_default();
    (lines, !errors.is_empty())
}

/// `check-error` (without `--recovery`): [`error_summary`], then espefuse's
/// refusal when a block has errors, or its all-clear line.
pub fn check_error(efuses: &Efuses, debug: bool) -> Result<Transcript, Failed> {
    let (summary, errors) = error_summary(efuses, debug);
    Console::of(efuses)
        .run(|out| {
            for line in summary.lines() {
                out.say(line);
            }
            if errors {
                return Err(EfuseError::CodingErrors);
            }
            out.say("No errors detected.");
            Ok(())
        })
        .map(|((), t)| t)
}

/// A block `check-error --recovery` burns again, with the words espefuse
/// read before the first of those burns. espefuse keeps each block's words
/// from that read (`block.get_bitstring()`), so a read-protected block still
/// holds its data when its turn comes, although the burn of an earlier
/// block has made the controller hide it by then.
#[derive(Debug)]
pub struct RecoveryBlock {
    /// The block's number.
    pub block: usize,
    words: zeroize::Zeroizing<Vec<u32>>,
}

/// The blocks `check-error --recovery` burns again, in its order (last
/// block first): those with errors that hold data, whose own bits are
/// programmed once more so that the controller rewrites their check bits.
pub fn recovery_blocks(efuses: &Efuses) -> Vec<RecoveryBlock> {
    let errors = efuses.block_errors();
    (0..efuses.table().blocks.len())
        .rev()
        .filter(|b| errors.iter().any(|e| e.block == *b))
        .map(|block| RecoveryBlock {
            block,
            words: zeroize::Zeroizing::new(efuses.block_words(block)),
        })
        .filter(|r| r.words.iter().any(|w| *w != 0))
        .collect()
}

/// `check-error --recovery` for one of [`recovery_blocks`]: stages the
/// block's data as read (base_operations.py `check_error`: `block.save`),
/// with espefuse's debug line.
pub fn stage_recovery(efuses: &mut Efuses, recovery: &RecoveryBlock) -> Transcript {
    let data = zeroize::Zeroizing::new(crate::model::registers::words_to_bytes(&recovery.words));
    let mut out = Console::of(efuses);
    out.block_save(&recovery.words, &data);
    efuses.stage_block_bytes(recovery.block, &data);
    out.run(|_| Ok(())).map(|((), t)| t).unwrap_or_default()
}

/// Burns what is staged in `block` alone through `backend` (espefuse's
/// `EfuseBlockBase.burn`: no plan, no postponed fields), after
/// [`stage_recovery`] and the confirmation.
pub fn burn_block_alone(
    efuses: &mut Efuses,
    block: usize,
    backend: &mut dyn crate::backend::EfuseBackend,
) -> Result<Transcript, Failed> {
    Console::of(efuses)
        .run(|out| efuses.burn_one_block(block, out, backend))
        .map(|((), t)| t)
}
