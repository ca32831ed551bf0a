//! espefuse's burn commands (`base_operations.py`, `<chip>/operations.py`;
//! esptool.md §4.3) on typed arguments. Each stages its writes with
//! espefuse's checks and returns what espefuse prints; [`plan`] and
//! [`burn`] then burn everything staged, as espefuse's confirmation
//! protocol does.

use super::transcript::{Console, Failed, Transcript};
use super::values::NewValue;
use crate::bits::Bits;
use crate::error::{BlockDataError, EfuseError, ReadableReason, Repeated};
use crate::model::keys::repeated;
use crate::model::stage::Slot;
use crate::model::{Efuses, FieldRef, ForceWrite, KeyGroup, KeyOptions};
use crate::tables::{Chip, Field};

/// Options of `burn-key` and `burn-key-digest`.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyCommandOptions {
    /// How the keys are protected.
    pub protection: KeyOptions,
    /// `--force-write-always`.
    pub force_write_always: bool,
    /// `--show-sensitive-info`: print key bytes.
    pub show_sensitive_info: bool,
}

fn forced(flag: bool) -> ForceWrite {
    if flag {
        ForceWrite::On
    } else {
        ForceWrite::Off
    }
}

/// `burn-efuse NAME VALUE …` with the values already turned into bits
/// ([`super::parse_burn_pairs`]), chip fields and user fields alike.
/// `force` skips the ESP32-S3's incompatible-settings check (`--force`);
/// `force_write` is the chain's `--force-write-always` (espefuse keeps one
/// flag for the whole run, set by every command of the chain that has the
/// option, and burn-efuse's checks read it too: base_operations.py
/// `add_force_write_always`, base_fields.py `print_error_msg`).
pub fn burn_efuse(
    efuses: &mut Efuses,
    values: &[(FieldRef, NewValue)],
    force: bool,
    force_write: ForceWrite,
) -> Result<Transcript, Failed> {
    let chip = efuses.chip();
    Console::of(efuses)
        .run(|out| {
            let fields: Vec<FieldRef> = values.iter().map(|(f, _)| *f).collect();
            let mut slots = Vec::new();
            for f in &fields {
                slots.push(efuses.ref_slot(*f)?);
            }
            out.say("The eFuses to burn:");
            // a field of a block that is not NONE-coded gets the ATTENTION
            // note, naming the block's other fields of espefuse's list; once
            // given, the last one is repeated for every later block burned
            // into (base_operations.py burn_efuse, as it is written)
            let list = super::names::listed_in_run(efuses);
            let mut attention = false;
            let mut blocked: Vec<&str> = Vec::new();
            for b in 0..efuses.table().blocks.len() {
                let in_block: Vec<&str> = slots
                    .iter()
                    .filter(|s| s.block == b)
                    .map(|s| s.name.as_str())
                    .collect();
                if !in_block.is_empty() {
                    out.say(format!("  from BLOCK{b}"));
                    for name in &in_block {
                        out.say(format!("     - {name}"));
                        let coded = b != 0 && (efuses.coding_is_rs(b) || efuses.coding_is_34());
                        if coded {
                            blocked = list
                                .iter()
                                .filter(|l| l.block == b && !in_block.contains(&l.name))
                                .map(|l| l.name)
                                .collect();
                            attention = true;
                        }
                    }
                    if attention && !blocked.is_empty() {
                        out.say("    ATTENTION! This BLOCK uses NOT the NONE coding scheme and after 'BURN', these efuses can not be burned in the feature:");
                        for chunk in blocked.chunks(5) {
                            out.say(format!("               {}", crate::error::python_list(chunk)));
                        }
                    }
                }
            }
            drop(list);
            out.say(if attention {
                "\nBurning eFuses (see 'ATTENTION!' above):"
            } else {
                "\nBurning eFuses:"
            });
            for (field, value) in values {
                let (name, description, efuse_type) = match field {
                    FieldRef::Chip(f) => {
                        let d = efuses.def(*f)?;
                        (d.name().to_string(), d.description.to_string(), d.efuse_type.to_string())
                    }
                    FieldRef::User(u) => {
                        let c = &efuses.user_def(*u)?.field;
                        (c.name.clone(), c.comment.clone(), c.efuse_type())
                    }
                };
                // base_fields.py convert_to_bitstring: an integer too wide
                // for the field is refused only here, after the list above
                let new = match super::values::value_bits(efuses, *field, value) {
                    Ok(new) => new,
                    Err(e) => {
                        out.say(format!(
                            "New value '{value}' is not suitable for {name} ({efuse_type})"
                        ));
                        return Err(e);
                    }
                };
                out.say(format!(
                    "    - '{name}' ({description}) {} -> {}",
                    efuses.ref_bits(*field, true)?.python_str(),
                    new.python_str()
                ));
                let i = match field {
                    FieldRef::Chip(f) => efuses.index(*f)?,
                    FieldRef::User(u) => {
                        efuses.stage_user(*u, new, force_write, out)?;
                        continue;
                    }
                };
                let f = efuses.def_at(i);
                if f.class == crate::tables::FieldClass::VRef {
                    return Err(EfuseError::VRefNotWritable);
                }
                // a calculated field (no bits of its own) takes a value like
                // any uint and is refused only when saved, after its line
                // above (base_fields.py EfuseWaferBase.save, esp32/fields.py
                // EfusePkg.save, esp32s3/fields.py EfusePsramCap.save)
                if f.word.is_none() && f.class != crate::tables::FieldClass::Mac {
                    return Err(if f.class == crate::tables::FieldClass::PsramCap {
                        crate::error::ValueError::PsramCapNotBurnable { field: f.field }.into()
                    } else {
                        crate::error::ValueError::NotBurnable { field: f.field }.into()
                    });
                }
                // the MAC fields other than CUSTOM_MAC are refused only
                // when saved, after their line above (base_fields.py
                // EfuseMacFieldBase.save; the ESP32's factory MAC has its
                // own message, esp32/fields.py)
                if f.class == crate::tables::FieldClass::Mac && f.field != Field::CustomMac {
                    return Err(if chip == Chip::Esp32 && f.field == Field::Mac {
                        crate::error::ValueError::FactoryMac.into()
                    } else {
                        crate::error::ValueError::NotBurnable { field: f.field }.into()
                    });
                }
                if f.field == Field::CustomMac {
                    super::chip_commands::save_custom_mac(efuses, new.bytes(), force_write, out)?;
                    continue;
                }
                efuses.stage_at(i, new, force_write, out)?;
            }
            out.say("");
            let given = |f: Field| fields.contains(&FieldRef::Chip(f));
            if given(Field::EnableSecurityDownload) {
                out.say("ENABLE_SECURITY_DOWNLOAD -> 1: eFuses will not be read back for confirmation because this mode disables any SRAM and register operations.");
                out.say("                               espefuse will not work.");
                out.say("                               esptool can read/write only flash.");
            }
            if given(Field::DisDownloadMode) {
                out.say("DIS_DOWNLOAD_MODE -> 1: eFuses will not be read back for confirmation because this mode disables any communication with the chip.");
                out.say("                        espefuse/esptool will not work because they will not be able to connect to the chip.");
            }
            if chip == Chip::Esp32s3 {
                // esp32s3/fields.py is_efuses_incompatible_for_burn: one of
                // the two being burned now while the other is or gets set
                let bit = |f: Field, read: bool| {
                    efuses
                        .index(f)
                        .is_ok_and(|i| !efuses.field_bits_at(i, read).is_zero())
                };
                let (jtag_now, jtag_new) = (bit(Field::DisUsbJtag, true), bit(Field::DisUsbJtag, false));
                let (serial_now, serial_new) = (
                    bit(Field::DisUsbSerialJtag, true),
                    bit(Field::DisUsbSerialJtag, false),
                );
                if (jtag_now && serial_new) || (jtag_new && serial_now) || (jtag_new && serial_new) {
                    out.say("DIS_USB_JTAG and DIS_USB_SERIAL_JTAG cannot be set together due to a bug in the ROM bootloader!");
                    if !force {
                        return Err(EfuseError::IncompatibleSettings);
                    }
                    out.say("Ignore incompatible eFuse settings.");
                }
            }
            Ok(())
        })
        .map(|((), t)| t)
}

/// After `burn-efuse`: espefuse's "Checking eFuses..." comparison.
pub fn check_burned(efuses: &Efuses, values: &[(FieldRef, Bits)]) -> Result<Transcript, Failed> {
    Console::of(efuses)
        .run(|out| {
            out.say("Checking eFuses...");
            let mut failed = false;
            for (field, new) in values {
                let name = efuses.field_name(*field)?;
                if !efuses.ref_readable(*field)? {
                    out.say(format!(
                        "Efuse {name} is read-protected. Read back the burn value is not possible."
                    ));
                } else {
                    let got = efuses.ref_bits(*field, true)?;
                    // espefuse compares the whole field: bits already set that the new
                    // value lacks (SPI_BOOT_CRYPT_CNT 3 over 7) fail the check too
                    if &got != new {
                        out.say(format!(
                            "{} -> {} Efuse {name} failed to burn. Protected?",
                            got.python_str(),
                            new.python_str(),
                        ));
                        failed = true;
                    }
                }
            }
            if failed {
                Err(EfuseError::BurnNotSuccessful)
            } else {
                Ok(())
            }
        })
        .map(|((), t)| t)
}

/// The names of espefuse's eFuse list protected by the same bits as
/// `slot` (`read`: RD_DIS, else WR_DIS): the fields a protection also
/// covers, the field itself among them.
fn sharing(efuses: &Efuses, slot: &Slot, read: bool) -> Vec<String> {
    super::names::listed_shown(efuses)
        .into_iter()
        .filter(|l| {
            if read {
                l.rd_dis == slot.rd_dis.as_slice()
            } else {
                l.wr_dis == slot.wr_dis
            }
        })
        .map(|l| l.name.to_string())
        .collect()
}

/// `read-protect-efuse NAME…` (names checked with [`check_repeated`]); a
/// user field protects its whole block (the block's RD_DIS bits).
/// `force_write`: the chain's `--force-write-always` (see [`burn_efuse`]).
pub fn read_protect(
    efuses: &mut Efuses,
    fields: &[FieldRef],
    force_write: ForceWrite,
) -> Result<Transcript, Failed> {
    Console::of(efuses)
        .run(|out| {
            for field in fields {
                let slot = efuses.ref_slot(*field)?;
                let name = &slot.name;
                if let FieldRef::Chip(f) = field {
                    if slot.rd_dis.is_empty() {
                        return Err(EfuseError::NoProtectionBit {
                            field: *f,
                            read: true,
                        });
                    }
                }
                if !efuses.ref_readable(*field)? {
                    out.say(format!("Efuse {name} is already read protected"));
                    continue;
                }
                // espefuse's checks compare the name given with block names,
                // which a user field never has
                if let FieldRef::Chip(f) = field {
                    must_stay_readable(efuses, *f, out)?;
                }
                let sharing = sharing(efuses, &slot, true);
                out.say(format!(
                    "Permanently read-disabling eFuse{} {}",
                    if sharing.len() > 1 { "s" } else { "" },
                    sharing.join(", ")
                ));
                efuses.disable_read_slot(&slot, force_write, out)?;
            }
            Ok(())
        })
        .map(|((), t)| t)
}

/// The per-chip blocks `read-protect-efuse` must leave readable.
fn must_stay_readable(efuses: &Efuses, field: Field, out: &mut Console) -> Result<(), EfuseError> {
    let refuse = |reason| Err(EfuseError::MustStayReadable { field, reason });
    match efuses.chip() {
        Chip::Esp32 => {
            let rev = efuses.chip_revision();
            if field == Field::Block2 && efuses.raw_present(Field::AbsDone0) == 0 && rev >= 300 {
                if efuses.raw_present(Field::AbsDone1) != 0 {
                    return refuse(ReadableReason::SecureBootV2On);
                }
                out.say("If Secure Boot V2 is used, BLOCK2 must be readable, please stop this operation!");
            }
        }
        Chip::Esp32c2 => {
            let mut error =
                efuses.raw_present(Field::XtsKeyLength256) == 0 && field == Field::BlockKey0;
            error |= efuses.raw_present(Field::SecureBootEn) != 0
                && (field == Field::BlockKey0 || field == Field::BlockKey0Hi128);
            if error {
                return refuse(ReadableReason::Purpose);
            }
        }
        _ => {
            let purpose_field = efuses
                .table()
                .blocks
                .iter()
                .find(|b| b.name == field.name())
                .and_then(|b| b.key_purpose);
            if let Some(kp) = purpose_field {
                let need = u8::try_from(efuses.raw_present(kp))
                    .ok()
                    .and_then(|v| efuses.table().purpose_by_value(v))
                    .is_some_and(|p| p.need_rd_protect);
                if !need {
                    return refuse(ReadableReason::Purpose);
                }
            }
        }
    }
    Ok(())
}

/// `write-protect-efuse NAME…` (names checked with [`check_repeated`]); a
/// user field protects its whole block (the block's WR_DIS bit).
/// `force_write`: the chain's `--force-write-always` (see [`burn_efuse`]).
pub fn write_protect(
    efuses: &mut Efuses,
    fields: &[FieldRef],
    force_write: ForceWrite,
) -> Result<Transcript, Failed> {
    Console::of(efuses)
        .run(|out| {
            for field in fields {
                let slot = efuses.ref_slot(*field)?;
                let name = &slot.name;
                if let FieldRef::Chip(f) = field {
                    if slot.wr_dis.is_none() {
                        return Err(EfuseError::NoProtectionBit {
                            field: *f,
                            read: false,
                        });
                    }
                }
                if !efuses.ref_writeable(*field)? {
                    out.say(format!("Efuse {name} is already write protected."));
                    continue;
                }
                let sharing = sharing(efuses, &slot, false);
                out.say(format!(
                    "Permanently write-disabling eFuse{} {}",
                    if sharing.len() > 1 { "s" } else { "" },
                    sharing.join(", ")
                ));
                efuses.disable_write_slot(&slot, force_write, out)?;
            }
            Ok(())
        })
        .map(|((), t)| t)
}

/// Refuses names given twice in one command, as espefuse does before
/// anything else (`check_duplicate_name_in_list`: names as given, so an
/// alternative name and its field's name are not repeats).
pub fn check_repeated<S: AsRef<str>>(names: &[S]) -> Result<(), EfuseError> {
    let names: Vec<String> = names.iter().map(|n| n.as_ref().to_string()).collect();
    let dup = repeated(&names);
    if dup.is_empty() {
        Ok(())
    } else {
        Err(EfuseError::Repeated(Repeated::Names(dup)))
    }
}

/// After a protect command: each field must now be protected.
pub fn check_protected(
    efuses: &Efuses,
    fields: &[FieldRef],
    read: bool,
) -> Result<Transcript, Failed> {
    Console::of(efuses)
        .run(|out| {
            out.say("Checking eFuses...");
            let mut failed = false;
            for field in fields {
                let protected = if read {
                    !efuses.ref_readable(*field)?
                } else {
                    !efuses.ref_writeable(*field)?
                };
                if !protected {
                    out.say(format!(
                        "Efuse {} is not {}-protected.",
                        efuses.field_name(*field)?,
                        if read { "read" } else { "write" }
                    ));
                    failed = true;
                }
            }
            if failed {
                Err(EfuseError::BurnNotSuccessful)
            } else {
                Ok(())
            }
        })
        .map(|((), t)| t)
}

/// `burn-key` (ESP32: `BLOCK KEYFILE` pairs, `purpose: None`).
pub fn burn_key(
    efuses: &mut Efuses,
    groups: &[KeyGroup],
    opts: KeyCommandOptions,
) -> Result<Transcript, Failed> {
    burn_key_inner(efuses, groups, opts, false)
}

/// What `burn-key` prints before it checks its groups: the sensitive-data
/// notice (`cli_util.py` EfuseContext.show_sensitive_info, read by every
/// chip's burn_key_cli before it calls burn_key). Check the groups after
/// it, then call [`burn_key_after_notice`].
pub fn burn_key_start(efuses: &Efuses, opts: KeyCommandOptions) -> Transcript {
    let mut t = Transcript::default();
    if !opts.show_sensitive_info {
        t = Console::of(efuses)
            .run(|out| {
                out.say("Sensitive data will be hidden (see --show-sensitive-info)");
                Ok(())
            })
            .map(|((), t)| t)
            .unwrap_or_default();
    }
    t
}

/// [`burn_key`] after [`burn_key_start`] (which printed the notice).
pub fn burn_key_after_notice(
    efuses: &mut Efuses,
    groups: &[KeyGroup],
    opts: KeyCommandOptions,
) -> Result<Transcript, Failed> {
    burn_key_inner(efuses, groups, opts, true)
}

fn burn_key_inner(
    efuses: &mut Efuses,
    groups: &[KeyGroup],
    opts: KeyCommandOptions,
    noticed: bool,
) -> Result<Transcript, Failed> {
    let console = Console::of(efuses).showing_keys(opts.show_sensitive_info);
    let console = if noticed {
        console.notice_given()
    } else {
        console
    };
    console
        .run(|out| {
            efuses.stage_keys_with(
                groups,
                opts.protection,
                forced(opts.force_write_always),
                out,
            )
        })
        .map(|((), t)| t)
}

/// What `burn-key-digest` does before it reads the key files: espefuse
/// prints the sensitive-data notice as the command starts (`cli_util.py`
/// EfuseContext.show_sensitive_info), then the ESP32 checks the coding
/// scheme and the chip revision (`esp32/operations.py` burn_key_digest).
/// Read the key files after it, then call [`burn_key_digest`].
pub fn burn_key_digest_start(
    efuses: &Efuses,
    opts: KeyCommandOptions,
) -> Result<Transcript, Failed> {
    Console::of(efuses)
        .run(|out| {
            if !opts.show_sensitive_info {
                out.say("Sensitive data will be hidden (see --show-sensitive-info)");
            }
            efuses.digest_preconditions()
        })
        .map(|((), t)| t)
}

/// `burn-key-digest` with the digests already computed from the public
/// keys (ESP32 and ESP32-C2 take one `KEYFILE`, in the block and with the
/// purpose [`crate::policy::secure_boot_digest`] names), after
/// [`burn_key_digest_start`] (which printed the notice).
pub fn burn_key_digest(
    efuses: &mut Efuses,
    groups: &[KeyGroup],
    opts: KeyCommandOptions,
) -> Result<Transcript, Failed> {
    Console::of(efuses)
        .showing_keys(opts.show_sensitive_info)
        .notice_given()
        .run(|out| {
            efuses.stage_key_digests_with(
                groups,
                opts.protection,
                forced(opts.force_write_always),
                out,
            )
        })
        .map(|((), t)| t)
}

/// `burn-bit BLOCK BIT…` (its `--force-write-always` applies to [`plan`]);
/// `given` is the block's name as the user spelt it (espefuse's range
/// error names it so, `base_operations.py` burn_bit).
pub fn burn_bit(
    efuses: &mut Efuses,
    block: usize,
    given: &str,
    bits: &[u64],
) -> Result<Transcript, Failed> {
    Console::of(efuses)
        .run(|out| {
            let def = &efuses.table().blocks[block];
            let words = efuses.block_len_words(block);
            let len = words * 32;
            let mut data = vec![0u32; words];
            for bit in bits {
                let bit = usize::try_from(*bit).ok().filter(|v| *v < len).ok_or(
                    EfuseError::BitNumber {
                        name: given.to_string(),
                        max: len - 1,
                    },
                )?;
                data[bit / 32] |= 1 << (bit % 32);
            }
            let hex: String = data.iter().rev().map(|w| format!("{w:08x}")).collect();
            out.say(format!(
                "bit_number:   [{:03}]........................................................[0]",
                len - 1
            ));
            out.say(format!("BLOCK{:>2}   : 0x{hex}", def.id));
            // printed whether or not --debug is given (`print_block(…, debug=True)`)
            out.say(super::errors::block_line(def, "regs_to_write", &data));
            let bytes = crate::model::registers::words_to_bytes(&data);
            out.block_save(&efuses.block_words(block), &bytes);
            efuses.stage_block_bytes(block, &bytes);
            Ok(())
        })
        .map(|((), t)| t)
}

/// `burn-block-data BLOCK FILE … [--offset N]` (no byte reversal; its
/// `--force-write-always` applies to [`plan`]). `offset` is click's int: a
/// negative one passes espefuse's checks and only pads the data
/// (`base_operations.py` burn_block_data).
pub fn burn_block_data(
    efuses: &mut Efuses,
    items: &[(usize, Vec<u8>)],
    offset: i64,
) -> Result<Transcript, Failed> {
    Console::of(efuses)
        .run(|out| {
            if offset != 0 && items.len() > 1 {
                return Err(BlockDataError::OffsetWithSeveralBlocks.into());
            }
            for (block, data) in items {
                let block = *block;
                let size = efuses.block_len_words(block) * 4;
                if usize::try_from(offset).is_ok_and(|o| o >= size) {
                    return Err(BlockDataError::Offset { block, size }.into());
                }
                let mut buf = data.clone();
                if offset != 0 {
                    // zeros before the data (none for a negative offset),
                    // zeros after it up to the block's size
                    let lead = usize::try_from(offset).unwrap_or(0);
                    let mut v = vec![0u8; lead];
                    v.extend_from_slice(data);
                    if v.len() < size {
                        v.resize(size, 0);
                    }
                    buf = v;
                }
                if buf.len() != size {
                    return Err(BlockDataError::DoesNotFit {
                        block,
                        size,
                        len: buf.len(),
                        offset,
                    }
                    .into());
                }
                // espefuse prints this line through rich, which takes the
                // bracketed hex for a style tag when it starts with a letter
                out.say(super::transcript::rich_markup(&format!(
                    "[{block:02}] {:<20} size={:02} bytes, offset={:02} -> [{}]",
                    efuses.table().blocks[block].name,
                    buf.len(),
                    offset,
                    crate::hexify(&buf, " ")
                )));
                out.block_save(&efuses.block_words(block), &buf);
                efuses.stage_block_bytes(block, &buf);
            }
            Ok(())
        })
        .map(|((), t)| t)
}

/// The burn plan espefuse shows before asking for confirmation: checks
/// every staged block; `false` when there is nothing to burn. `force` is
/// the last burn command's `--force-write-always`.
pub fn plan(efuses: &mut Efuses, force: ForceWrite) -> Result<(bool, Transcript), Failed> {
    Console::of(efuses).run(|out| efuses.plan_burn(force, out))
}

/// Burns everything staged after [`plan`] (BLOCK0's protection bits last,
/// staged again with `force` as for the plan); a refusal before the first
/// block is programmed leaves the eFuses as before, and what was
/// programmed before a failure stays burned.
pub fn burn(efuses: &mut Efuses, force: ForceWrite) -> Result<Transcript, Failed> {
    burn_with(efuses, force, &mut crate::backend::Emulated)
}

/// [`burn`] through `backend` (a virtual file, a chip on a port): each
/// block is programmed there and read back from there.
pub fn burn_with(
    efuses: &mut Efuses,
    force: ForceWrite,
    backend: &mut dyn crate::backend::EfuseBackend,
) -> Result<Transcript, Failed> {
    Console::of(efuses)
        .run(|out| efuses.execute_burn(force, out, backend))
        .map(|((), t)| t)
}
