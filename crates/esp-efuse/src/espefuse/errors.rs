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
    let mut out = Console::new(efuses.chip());
    for (id, def) in efuses.table().blocks.iter().enumerate() {
        out.say(block_line(def, "read_regs", &efuses.block_words(id)));
    }
    out.run(|_| Ok(())).map(|((), t)| t).unwrap_or_default()
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
        // the ESP32's line has no full stop (esp32/fields.py)
        let stop = if chip == Chip::Esp32 { "" } else { "." };
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

/// `check-error` (without `--recovery`): the warnings, then one line per
/// block with errors; refuses with espefuse's message when there are any.
/// BLOCK0's errors are listed per block, not per field as espefuse does.
pub fn check_error(efuses: &Efuses, debug: bool) -> Result<Transcript, Failed> {
    let (warnings, _) = coding_scheme_warnings(efuses, debug);
    Console::new(efuses.chip())
        .run(|out| {
            for line in warnings.lines() {
                out.say(line);
            }
            let errors = efuses.block_errors();
            if errors.is_empty() {
                out.say("No errors detected.");
                return Ok(());
            }
            let mut writable = true;
            for e in &errors {
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
                    if wr { "writable" } else { "not writable" }
                ));
            }
            if !writable {
                out.say("Not all errors can be fixed because some fields are write-protected!");
            }
            Err(EfuseError::CodingErrors)
        })
        .map(|((), t)| t)
}
