//! Whether the device already shows a step done: what a resumed run
//! skips. The device's eFuses and flash decide, never the journal: a key
//! step is done only once its block has the protections `burn-key` gives
//! it, a firmware step only once the flash holds what the step writes.

use esp_efuse::{policy, Chip, ChipEfuses, EfuseError, Efuses, KeyGroup};
use esp_secure::flash_encryption::FlashCrypt;
use zeroize::Zeroizing;

use super::{host_ciphertext, RunError};
use crate::device::{Device, DeviceError};
use crate::steps::{Action, KeyPart, Step};

/// What the device checks of a run need besides the device.
pub(super) struct Ctx<'a> {
    /// The Secure Boot V2 key digests, by slot.
    pub(super) digests: &'a [[u8; 32]],
    /// The host's flash-encryption cipher with the device's key, when the
    /// run knows it.
    pub(super) cipher: Option<&'a dyn FlashCrypt>,
    /// The length of the flash-encryption key in memory (0: none).
    pub(super) key_len: usize,
}

/// Digest 0 in its fixed slot (the ESP32-C2's BLOCK_KEY0 high half).
pub(super) fn digest_group(
    chip: Chip,
    digests: &[[u8; 32]],
    index: usize,
    kind: &'static str,
) -> Result<KeyGroup, RunError> {
    let unreachable = RunError::Unreachable {
        index,
        kind,
        reason: "no digest computed for Secure Boot key 0",
    };
    let slot = policy::secure_boot_digest(chip, 0).ok_or(RunError::Unreachable {
        index,
        kind,
        reason: "the chip has no Secure Boot digest slot",
    })?;
    let digest = digests.first().ok_or(unreachable)?;
    Ok(KeyGroup {
        block: slot.block.unwrap_or(esp_efuse::KeyBlock::BlockKey0),
        purpose: slot.purpose,
        data: zeroize::Zeroizing::new(digest.to_vec()),
    })
}

/// The block number of a key block on this chip.
fn block_number(efuses: &Efuses, block: esp_efuse::KeyBlock) -> Option<usize> {
    efuses
        .chip()
        .table()
        .key_block_def(block)
        .map(|d| usize::from(d.block))
}

/// Whether key block `b` holding a key of `purpose` has the protections
/// `burn-key` gives it (esp-efuse's `stage_keys` with the default
/// [`esp_efuse::KeyOptions`]: the block write-protected, and read-protected
/// where the purpose needs it). espefuse burns them after the key and its
/// purpose, in a burn of their own: a run cut off between the two left the
/// key readable and writable, and its step is not done.
fn key_block_protected(efuses: &Efuses, b: usize, purpose: esp_efuse::KeyPurpose) -> bool {
    let read_protect = efuses
        .table()
        .purpose_def(purpose)
        .is_some_and(|d| d.need_rd_protect);
    let key_readable = read_protect && efuses.is_block_readable(b);
    !(efuses.is_block_writeable(b) || key_readable)
}

/// Whether the device has the read and write protection that `burn-key`
/// of `action` gives its block, as esp-efuse's own staging of the same burn
/// with a stand-in key of `key_len` bytes sets them on a blank chip of the
/// same kind (the ESP32 and the ESP32-C2, which have no key purpose to
/// check: espefuse burns the protection after the key, and a run cut off
/// between the two left the key readable). Without a key length, or a burn
/// the blank chip refuses, the key's presence alone decides, as before.
fn key_protections_burned(efuses: &Efuses, action: &Action, key_len: usize) -> bool {
    let Action::BurnKey {
        block,
        purpose,
        part,
        ..
    } = action
    else {
        return true;
    };
    let len = match part {
        KeyPart::Whole => key_len,
        KeyPart::FirstHalf | KeyPart::SecondHalf => key_len / 2,
    };
    if len == 0 {
        return true;
    }
    let mut blank = Efuses::new(efuses.chip());
    let group = KeyGroup {
        block: *block,
        purpose: *purpose,
        data: Zeroizing::new(vec![0x5A; len]),
    };
    if blank
        .stage_keys(&[group], esp_efuse::KeyOptions::default())
        .and_then(|()| blank.commit())
        .is_err()
    {
        return true;
    }
    [esp_efuse::Field::RdDis, esp_efuse::Field::WrDis]
        .iter()
        .all(|f| match (blank.raw(*f), efuses.raw(*f)) {
            (Ok(want), Ok(have)) => want & !have == 0,
            _ => true,
        })
}

/// Whether key block `block` holds readable non-zero data.
pub(super) fn key_block_holds_data(efuses: &Efuses, block: esp_efuse::KeyBlock) -> bool {
    block_number(efuses, block).is_some_and(|b| {
        efuses.is_block_readable(b) && efuses.block_bytes(b).iter().any(|&x| x != 0)
    })
}

/// Whether key block `block` holds readable bits that burning `keys` and
/// `digests` would not set: a key burn cut off before its protection, whose
/// key is not the one about to be burned. The burn's own staging on a blank
/// chip of the same kind says which bits it sets (key byte order, the
/// ESP32-C2's digest in the block's high half), so the comparison needs no
/// layout of its own; the block's contents are compared, never shown.
pub(super) fn key_block_conflicts(
    efuses: &Efuses,
    block: esp_efuse::KeyBlock,
    keys: &[KeyGroup],
    digests: &[KeyGroup],
) -> bool {
    let Some(b) = block_number(efuses, block).filter(|b| efuses.is_block_readable(*b)) else {
        return false;
    };
    let mut blank = Efuses::new(efuses.chip());
    // left readable: the blank chip would hide a read-protected key's bits
    let readable = esp_efuse::KeyOptions {
        no_write_protect: true,
        no_read_protect: true,
    };
    let staged = (keys.is_empty() || blank.stage_keys(keys, readable).is_ok())
        && (digests.is_empty() || blank.stage_key_digests(digests, readable).is_ok())
        && blank.commit().is_ok();
    if !staged {
        return false;
    }
    let want = Zeroizing::new(blank.block_bytes(b));
    let have = Zeroizing::new(efuses.block_bytes(b));
    have.iter().zip(want.iter()).any(|(h, w)| h & !w != 0)
}

/// Whether the device shows step `i` done.
pub(super) fn is_done(
    device: &mut dyn Device,
    efuses: &Efuses,
    steps: &[Step],
    i: usize,
    ctx: &Ctx<'_>,
) -> Result<bool, DeviceError> {
    let digests = ctx.digests;
    let Some(step) = steps.get(i) else {
        return Ok(false);
    };
    Ok(match &step.action {
        // erasing again would wipe what later steps wrote: done once the
        // key that follows it is burned
        Action::EraseFlash => {
            let later = steps
                .iter()
                .enumerate()
                .skip(i + 1)
                .find(|(_, s)| s.action.on_device());
            match later {
                Some((j, _)) => is_done(device, efuses, steps, j, ctx)?,
                None => false,
            }
        }
        Action::BurnKey {
            with_digest: Some(_),
            ..
        } => {
            let key = match efuses.flash_encryption_key() {
                Ok(key) => key.is_some(),
                Err(EfuseError::HiddenKeyUnknown { .. }) => true,
                Err(e) => return Err(e.into()),
            };
            let len = policy::secure_boot_digest(efuses.chip(), 0).map_or(32, |s| s.len);
            // and protected as burn-key leaves the key (regression: a cut
            // between the ESP32-C2's key-and-digest program and the key's
            // protection was resumed as done, the key left readable)
            key && digests.first().is_some_and(|d| {
                efuses
                    .secure_boot_digests()
                    .iter()
                    .any(|b| b.as_slice() == d.get(..len).unwrap_or(d))
            }) && key_protections_burned(efuses, &step.action, ctx.key_len)
        }
        Action::BurnKey { block, purpose, .. } => match (purpose, block_number(efuses, *block)) {
            (Some(p), Some(b))
                if efuses
                    .table()
                    .blocks
                    .iter()
                    .any(|d| d.key_purpose.is_some()) =>
            {
                efuses.blocks_with_purpose(*p).contains(&b) && key_block_protected(efuses, b, *p)
            }
            // ESP32, ESP32-C2: no purpose field; the key is there when the
            // AES block has one (read-protected keys the host cannot see
            // count as present)
            _ => {
                let present = match efuses.flash_encryption_key() {
                    Ok(key) => key.is_some(),
                    Err(EfuseError::HiddenKeyUnknown { .. }) => true,
                    Err(e) => return Err(e.into()),
                };
                present && key_protections_burned(efuses, &step.action, ctx.key_len)
            }
        },
        Action::BurnKeyDigest {
            index,
            block,
            purpose,
        } => {
            let len = policy::secure_boot_digest(efuses.chip(), *index).map_or(32, |s| s.len);
            let burned = match digests.get(*index) {
                Some(d) => efuses
                    .secure_boot_digests()
                    .iter()
                    .any(|burned| burned.as_slice() == d.get(..len).unwrap_or(d)),
                None => false,
            };
            // a digest in a key block with a purpose: protected as burn-key leaves it
            let protected = match (purpose, block_number(efuses, *block)) {
                (Some(p), Some(b)) => key_block_protected(efuses, b, *p),
                _ => true,
            };
            burned && protected
        }
        Action::BurnEfuse { field, value } => efuses.raw(*field)? & value == *value,
        Action::WriteProtect { field } => !efuses.is_writeable(*field)?,
        Action::FlashWrite {
            file,
            address,
            encrypt,
            ..
        } => {
            // unreadable now: not done (the write then reports the file)
            let Ok(data) = std::fs::read(file) else {
                return Ok(false);
            };
            match (encrypt, ctx.cipher) {
                (false, _) => device.flash_matches(*address, &data, false)?,
                (true, Some(cipher)) => {
                    let ciphertext = host_ciphertext(cipher, *address, &data)?;
                    device.flash_matches(*address, &ciphertext, false)?
                }
                // the key is gone (generated by an earlier run): a run only
                // goes past a write once it verified it, so the write is done
                // when the first device step after the writes is
                (true, None) => {
                    let later = steps.iter().enumerate().skip(i + 1).find(|(_, s)| {
                        s.action.on_device() && !matches!(s.action, Action::FlashWrite { .. })
                    });
                    match later {
                        Some((j, _)) => is_done(device, efuses, steps, j, ctx)?,
                        None => false,
                    }
                }
            }
        }
        Action::GenerateFlashKey { .. } | Action::DeleteFlashKey | Action::DigestKey { .. } => true,
    })
}
