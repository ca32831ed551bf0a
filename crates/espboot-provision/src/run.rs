//! The resumable executor: each step reads the device, is skipped when the
//! device already shows it done, else acts, reads back, verifies and is
//! journaled before the next. A run interrupted anywhere (process killed,
//! port gone) is resumed by running again: the device's state, not the
//! journal, decides what is left, so nothing is burned twice and the device
//! ends as an uninterrupted run leaves it.

use esp_efuse::{policy, Chip, ChipEfuses, EfuseError, Efuses, KeyGroup};
use zeroize::Zeroizing;

use crate::check::{check, Finding};
use crate::device::{Device, DeviceError};
use crate::plan::{KeySource, Plan};
use crate::record::{RecordError, RecordStore, StepResult};
use crate::steps::{self, Action, KeyPart, LayoutError, Step};

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The pre-flight checks found problems; nothing was done.
    #[error("plan {}: {} problem(s), nothing done; first: {}", .plan, .findings.len(), .findings.first().map_or("", |f| f.message.as_str()))]
    Check {
        /// The plan file.
        plan: String,
        /// What the checks found.
        findings: Vec<Finding>,
    },
    /// The steps could not be laid out.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// The device is another chip.
    #[error("device is an {found}, the plan is for {plan}")]
    WrongChip {
        /// The device's chip.
        found: &'static str,
        /// The plan's.
        plan: &'static str,
    },
    /// A device operation failed.
    #[error("step {index} ({kind}): {source}")]
    Device {
        /// Step position (1-based).
        index: usize,
        /// Step type.
        kind: &'static str,
        /// What failed (boxed: device errors are large).
        #[source]
        source: Box<DeviceError>,
    },
    /// A step did not read back as done after it acted.
    #[error("step {index} ({kind}): did not verify on the device after it ran")]
    NotVerified {
        /// Step position (1-based).
        index: usize,
        /// Step type.
        kind: &'static str,
    },
    /// The device is in a state this plan cannot finish from.
    #[error("step {index} ({kind}): {reason}")]
    Unreachable {
        /// Step position (1-based).
        index: usize,
        /// Step type.
        kind: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A Secure Boot key could not be read.
    #[error("secure_boot.keys: {key}: {reason}")]
    Key {
        /// The key source.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A firmware file could not be read.
    #[error("firmware {path}")]
    Firmware {
        /// The file.
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The record database failed.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The run was stopped on purpose after this many device actions
    /// ([`RunOptions::stop_after`]), before journaling the last one.
    #[error("interrupted after {0} device action(s)")]
    Interrupted(usize),
}

/// Run options.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Stop right after this many device actions, before journaling the
    /// last: what a killed process leaves (fault-injection tests).
    pub stop_after: Option<usize>,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// The record's run id.
    pub run_id: i64,
    /// The device's MAC.
    pub mac: String,
    /// Steps done now.
    pub done: usize,
    /// Device steps found already done.
    pub already_done: usize,
}

/// Runs `plan` on `device`, journaling into `store`.
pub fn run(
    plan: &Plan,
    device: &mut dyn Device,
    store: &mut dyn RecordStore,
    opts: RunOptions,
) -> Result<RunReport, RunError> {
    let findings = check(plan);
    if !findings.is_empty() {
        return Err(RunError::Check {
            plan: plan.path.display().to_string(),
            findings,
        });
    }
    let steps = steps::steps(plan)?;
    let chip = plan.chip;
    let dev = |index: usize, kind: &'static str| {
        move |source: DeviceError| RunError::Device {
            index,
            kind,
            source: Box::new(source),
        }
    };
    let efuses = device.efuses().map_err(dev(0, "read eFuses"))?;
    if efuses.chip() != chip {
        return Err(RunError::WrongChip {
            found: efuses.chip().name(),
            plan: chip.name(),
        });
    }
    // espefuse shows "aa:bb:cc:dd:ee:ff (OK)": the address alone
    let mac = efuses
        .get(esp_efuse::Field::Mac)
        .map_or_else(|_| "unknown".to_owned(), |v| v.to_string());
    let mac = mac
        .split_whitespace()
        .next()
        .unwrap_or("unknown")
        .to_owned();
    let sha: String = plan.sha256.iter().map(|b| format!("{b:02x}")).collect();
    let run_id = store.begin_run(&mac, chip.name(), &sha)?;
    let mut report = RunReport {
        run_id,
        mac,
        ..RunReport::default()
    };
    let mut actions = 0usize;
    let mut fe_key: Option<Zeroizing<Vec<u8>>> = None;
    // every digest up front: the ESP32-C2 burns digest 0 with the key at FE 3
    let digests: Vec<[u8; 32]> = plan
        .sb_keys
        .iter()
        .map(key_digest)
        .collect::<Result<_, _>>()?;
    let mut first_half_found = false;

    for (i, step) in steps.iter().enumerate() {
        let index = i + 1;
        let kind = step.action.kind();
        let command = step.command(chip);
        let journal = |store: &mut dyn RecordStore, result| {
            let detail = crate::record::step_detail(step, &digests);
            store.step(
                run_id,
                index,
                step.seed_step,
                kind,
                &command,
                &detail,
                result,
            )
        };
        if !step.action.on_device() {
            match &step.action {
                Action::GenerateFlashKey { bits } => {
                    fe_key = Some(flash_key(plan, *bits)?);
                }
                Action::DeleteFlashKey => fe_key = None,
                Action::DigestKey { .. } => {} // computed before the first step
                _ => {}
            }
            journal(store, StepResult::Host)?;
            continue;
        }
        let efuses = device.efuses().map_err(dev(index, kind))?;
        if is_done(device, &efuses, &steps, i, &digests).map_err(dev(index, kind))? {
            if matches!(
                step.action,
                Action::BurnKey {
                    part: KeyPart::FirstHalf,
                    ..
                }
            ) {
                first_half_found = true;
            }
            report.already_done += 1;
            journal(store, StepResult::AlreadyDone)?;
            continue;
        }
        // a generated 512-bit key whose first half an earlier run burned is lost
        let generated = plan
            .flash_encryption
            .as_ref()
            .is_some_and(|f| f.key_file.is_none());
        if first_half_found
            && generated
            && matches!(
                step.action,
                Action::BurnKey {
                    part: KeyPart::SecondHalf,
                    ..
                }
            )
        {
            return Err(RunError::Unreachable {
                index,
                kind,
                reason: "an earlier run burned the first half of a generated 512-bit key, which is lost; \
                         this device cannot get the second half",
            });
        }
        act(
            device,
            &steps,
            i,
            fe_key.as_deref().map(Vec::as_slice),
            &digests,
        )?;
        actions += 1;
        if opts.stop_after == Some(actions) {
            store.finish_run(run_id, "interrupted")?;
            return Err(RunError::Interrupted(actions));
        }
        let after = device.efuses().map_err(dev(index, kind))?;
        // an erase shows only through the steps after it (see `is_done`)
        let erase = matches!(step.action, Action::EraseFlash);
        if !erase && !is_done(device, &after, &steps, i, &digests).map_err(dev(index, kind))? {
            return Err(RunError::NotVerified { index, kind });
        }
        report.done += 1;
        journal(store, StepResult::Done)?;
    }
    store.finish_run(run_id, "complete")?;
    Ok(report)
}

/// The flash-encryption key: the plan's key file, or a fresh key.
fn flash_key(plan: &Plan, bits: u32) -> Result<Zeroizing<Vec<u8>>, RunError> {
    match plan
        .flash_encryption
        .as_ref()
        .and_then(|f| f.key_file.as_ref())
    {
        Some(path) => {
            std::fs::read(path)
                .map(Zeroizing::new)
                .map_err(|source| RunError::Firmware {
                    path: path.display().to_string(),
                    source,
                })
        }
        None => {
            let key = esp_secure::flash_encryption::FlashEncryptionKey::generate(bits as usize);
            Ok(Zeroizing::new(key.as_bytes().to_vec()))
        }
    }
}

/// The Secure Boot V2 digest of a key source.
fn key_digest(key: &KeySource) -> Result<[u8; 32], RunError> {
    match key {
        KeySource::File(path) => {
            let pem = std::fs::read_to_string(path).map_err(|e| RunError::Key {
                key: key.to_string(),
                reason: e.to_string(),
            })?;
            let public =
                esp_secure::sbv2::PublicKey::from_pem(&pem).map_err(|e| RunError::Key {
                    key: key.to_string(),
                    reason: e.to_string(),
                })?;
            Ok(public.digest())
        }
        KeySource::Pkcs11(_) => Err(RunError::Key {
            key: key.to_string(),
            reason: "PKCS#11 key sources are not supported by `run` yet (use the public key file)"
                .to_owned(),
        }),
    }
}

/// The chip of a device.
fn efuses_chip(device: &mut dyn Device) -> Result<Chip, RunError> {
    device
        .efuses()
        .map(|e| e.chip())
        .map_err(|source| RunError::Device {
            index: 0,
            kind: "read eFuses",
            source: Box::new(source),
        })
}

/// Digest 0 in its fixed slot (the ESP32-C2's BLOCK_KEY0 high half).
fn digest_group(
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

/// Whether the device shows step `i` done.
fn is_done(
    device: &mut dyn Device,
    efuses: &Efuses,
    steps: &[Step],
    i: usize,
    digests: &[[u8; 32]],
) -> Result<bool, DeviceError> {
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
                Some((j, _)) => is_done(device, efuses, steps, j, digests)?,
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
            key && digests.first().is_some_and(|d| {
                efuses
                    .secure_boot_digests()
                    .iter()
                    .any(|b| b.as_slice() == d.get(..len).unwrap_or(d))
            })
        }
        Action::BurnKey { block, purpose, .. } => match (purpose, block_number(efuses, *block)) {
            (Some(p), Some(b))
                if efuses
                    .table()
                    .blocks
                    .iter()
                    .any(|d| d.key_purpose.is_some()) =>
            {
                efuses.blocks_with_purpose(*p).contains(&b)
            }
            // ESP32, ESP32-C2: no purpose field; the key is there when the
            // AES block has one (read-protected keys the host cannot see
            // count as present)
            _ => match efuses.flash_encryption_key() {
                Ok(key) => key.is_some(),
                Err(EfuseError::HiddenKeyUnknown { .. }) => true,
                Err(e) => return Err(e.into()),
            },
        },
        Action::BurnKeyDigest { index, .. } => {
            let len = policy::secure_boot_digest(efuses.chip(), *index).map_or(32, |s| s.len);
            match digests.get(*index) {
                Some(d) => efuses
                    .secure_boot_digests()
                    .iter()
                    .any(|burned| burned.as_slice() == d.get(..len).unwrap_or(d)),
                None => false,
            }
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
            match std::fs::read(file) {
                Ok(data) => device.flash_matches(*address, &data, *encrypt)?,
                Err(_) => false,
            }
        }
        Action::GenerateFlashKey { .. } | Action::DeleteFlashKey | Action::DigestKey { .. } => true,
    })
}

/// Does step `i`.
fn act(
    device: &mut dyn Device,
    steps: &[Step],
    i: usize,
    fe_key: Option<&[u8]>,
    digests: &[[u8; 32]],
) -> Result<(), RunError> {
    let index = i + 1;
    let Some(step) = steps.get(i) else {
        return Ok(());
    };
    let kind = step.action.kind();
    let dev = |source| RunError::Device {
        index,
        kind,
        source: Box::new(source),
    };
    match &step.action {
        Action::EraseFlash => device.erase_flash().map_err(dev),
        Action::BurnKey {
            block,
            purpose,
            part,
            with_digest,
        } => {
            let key = fe_key.ok_or(RunError::Unreachable {
                index,
                kind,
                reason: "no flash-encryption key in memory",
            })?;
            let data = match part {
                KeyPart::Whole => key,
                KeyPart::FirstHalf => key.get(..32).unwrap_or(key),
                KeyPart::SecondHalf => key.get(32..).unwrap_or(key),
            };
            let group = KeyGroup {
                block: *block,
                purpose: *purpose,
                data: Zeroizing::new(data.to_vec()),
            };
            let digest = match with_digest {
                Some(_) => vec![digest_group(efuses_chip(device)?, digests, index, kind)?],
                None => Vec::new(),
            };
            device.burn_keys(&[group], &digest).map_err(dev)
        }
        Action::BurnKeyDigest {
            index: slot,
            block,
            purpose,
        } => {
            let digest = digests.get(*slot).ok_or(RunError::Unreachable {
                index,
                kind,
                reason: "no digest computed for this slot",
            })?;
            let group = KeyGroup {
                block: *block,
                purpose: *purpose,
                data: Zeroizing::new(digest.to_vec()),
            };
            device.burn_keys(&[], &[group]).map_err(dev)
        }
        Action::BurnEfuse { field, value } => device.burn_field(*field, *value).map_err(dev),
        Action::WriteProtect { field } => device.write_protect(*field).map_err(dev),
        Action::FlashWrite {
            file,
            address,
            encrypt,
            ..
        } => {
            let data = std::fs::read(file).map_err(|source| RunError::Firmware {
                path: file.display().to_string(),
                source,
            })?;
            device.write_flash(*address, &data, *encrypt).map_err(dev)
        }
        Action::GenerateFlashKey { .. } | Action::DeleteFlashKey | Action::DigestKey { .. } => {
            Ok(())
        }
    }
}
