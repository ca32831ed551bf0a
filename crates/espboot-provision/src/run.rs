//! The resumable executor: each step reads the device, is skipped when the
//! device already shows it done, else acts, reads back, verifies and is
//! journaled before the next. A run interrupted anywhere (process killed,
//! port gone) is resumed by running again: the device's state, not the
//! journal, decides what is left, so nothing is burned twice and the device
//! ends as an uninterrupted run leaves it.

use esp_efuse::{Chip, KeyGroup};
use esp_secure::flash_encryption::{
    Esp32FlashCrypt, FlashCrypt, FlashEncryptionKey, XtsFlashCrypt,
};
use zeroize::Zeroizing;

use crate::check::{check, Finding};
use crate::device::{Device, DeviceError};
use crate::events::{now_ms, Event, Observer, StepState};
use crate::keys::{flash_key, key_digest};
use crate::plan::Plan;
use crate::record::{RecordError, RecordStore, StepResult};
use crate::steps::{self, Action, KeyPart, LayoutError, Step};

mod done;
use done::{digest_group, is_done, key_block_conflicts, key_block_holds_data, Ctx};

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
    /// The device stopped answering in the middle of a step (its port
    /// vanished, it was unplugged or lost power). Running again resumes.
    #[error("{device}: the device stopped answering during step {index} ({name}): {source}")]
    Lost {
        /// The device as the caller names it (the port).
        device: String,
        /// Step position (1-based).
        index: usize,
        /// What the step does ([`Step::name`]).
        name: String,
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
    /// The device holds eFuses this plan cannot build on: resuming would
    /// need something an earlier run had and lost (a generated
    /// flash-encryption key, never stored). Nothing more is done.
    #[error("step {index} ({kind}): the device cannot reach the plan's end state: {reason}; already burned: {}", if .burned.is_empty() { "nothing".to_owned() } else { .burned.join("; ") })]
    Stranded {
        /// Step position (1-based).
        index: usize,
        /// Step type.
        kind: &'static str,
        /// Why.
        reason: &'static str,
        /// The commands of the burns the device already shows.
        burned: Vec<String>,
    },
    /// The flash-encryption key cannot encrypt the firmware (wrong length
    /// for the chip's cipher).
    #[error("step {index} ({kind}): encrypting {path} on the host: {source}")]
    Encrypt {
        /// Step position (1-based).
        index: usize,
        /// Step type.
        kind: &'static str,
        /// The firmware file.
        path: String,
        /// What the cipher said.
        #[source]
        source: esp_secure::flash_encryption::FlashCryptError,
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

impl RunError {
    /// The step the run stopped in (1-based), when it stopped in one.
    pub fn step(&self) -> Option<usize> {
        match self {
            RunError::Device { index, .. }
            | RunError::Lost { index, .. }
            | RunError::NotVerified { index, .. }
            | RunError::Unreachable { index, .. }
            | RunError::Stranded { index, .. }
            | RunError::Encrypt { index, .. } => Some(*index).filter(|i| *i > 0),
            _ => None,
        }
    }
}

/// Run options.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Stop right after this many device actions, before journaling the
    /// last: what a killed process leaves (fault-injection tests).
    pub stop_after: Option<usize>,
    /// At `stop_after`, the process kills itself (SIGKILL) instead of
    /// returning: nothing more is recorded, the run stays open and its
    /// claim held by a process that is gone, as `kill -9` leaves them.
    pub kill: bool,
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
    run_observed(plan, device, store, opts, "device", &mut |_: &Event| {})
}

/// [`run`], telling `observer` how it goes: an [`Event::Run`] once the
/// device is read, an [`Event::Step`] as each step starts and ends (done,
/// skipped as already done, or failed) and an [`Event::Summary`] at the
/// end. `name` is the device as the caller names it (its port), in the
/// events and in the error of a device that stopped answering. A run that
/// fails ends its step with [`StepState::Failed`]; the caller reports the
/// error (as an [`Event::Error`] if it likes).
pub fn run_observed(
    plan: &Plan,
    device: &mut dyn Device,
    store: &mut dyn RecordStore,
    opts: RunOptions,
    name: &str,
    observer: &mut dyn Observer,
) -> Result<RunReport, RunError> {
    let mut emit = Emitter {
        observer,
        device: name,
        mac: String::new(),
        started_ms: now_ms(),
        current: None,
    };
    match run_steps(plan, device, store, opts, &mut emit) {
        Ok(report) => {
            let time_ms = now_ms();
            emit.observer.event(&Event::Summary {
                time_ms,
                device: name.to_owned(),
                mac: report.mac.clone(),
                run_id: report.run_id,
                outcome: "complete",
                done: report.done,
                already_done: report.already_done,
                elapsed_ms: time_ms - emit.started_ms,
            });
            Ok(report)
        }
        Err(err) => {
            let current = emit.current.take();
            let err = match (&current, err) {
                (
                    Some(Event::Step {
                        index: started,
                        name: step_name,
                        ..
                    }),
                    RunError::Device { index, source, .. },
                ) if index == *started && source.is_connection_lost() => RunError::Lost {
                    device: name.to_owned(),
                    index,
                    name: step_name.clone(),
                    source,
                },
                (_, err) => err,
            };
            emit.step_failed(current);
            Err(err)
        }
    }
}

/// Hands a run's events to its observer, remembering the step under way
/// so that a failure can end it.
struct Emitter<'a> {
    observer: &'a mut dyn Observer,
    /// The device as the caller names it.
    device: &'a str,
    /// The device's MAC, once read.
    mac: String,
    /// When the run began.
    started_ms: i64,
    /// The last step event, while its step is under way.
    current: Option<Event>,
}

impl Emitter<'_> {
    /// Step `i` of `steps` is in `state`.
    fn step(&mut self, steps: &[Step], i: usize, detail: &str, state: StepState) {
        let Some(step) = steps.get(i) else {
            return;
        };
        let event = Event::Step {
            time_ms: now_ms(),
            device: self.device.to_owned(),
            mac: self.mac.clone(),
            index: i + 1,
            total: steps.len(),
            stage: step.stage.key(),
            seed_step: step.seed_step,
            kind: step.action.kind(),
            name: step.name(),
            on_device: step.action.on_device(),
            state,
            detail: detail.to_owned(),
        };
        self.observer.event(&event);
        self.current = (state == StepState::Started).then_some(event);
    }

    /// The step under way (`current`) failed.
    fn step_failed(&mut self, current: Option<Event>) {
        if let Some(mut event) = current {
            if let Event::Step { time_ms, state, .. } = &mut event {
                *time_ms = now_ms();
                *state = StepState::Failed;
            }
            self.observer.event(&event);
        }
    }
}

fn run_steps(
    plan: &Plan,
    device: &mut dyn Device,
    store: &mut dyn RecordStore,
    opts: RunOptions,
    emit: &mut Emitter<'_>,
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
    let sha = esp_efuse::hexify(&plan.sha256, "");
    let run_id = store.begin_run(&mac, chip.name(), &sha)?;
    emit.mac.clone_from(&mac);
    emit.observer.event(&Event::Run {
        time_ms: now_ms(),
        device: emit.device.to_owned(),
        chip: chip.name(),
        mac: mac.clone(),
        run_id,
        plan_sha256: sha,
        steps: steps.len(),
    });
    let mut report = RunReport {
        run_id,
        mac,
        ..RunReport::default()
    };
    let mut actions = 0usize;
    let mut fe_key: Option<HostKey> = None;
    // the burns the device shows, for a stranded device's report
    let mut burned: Vec<String> = Vec::new();
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
        // what the step burns or writes, for the record and the events
        let detail = crate::record::step_detail(step, &digests);
        let journal = |store: &mut dyn RecordStore, result| {
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
        emit.step(&steps, i, &detail, StepState::Started);
        if !step.action.on_device() {
            match &step.action {
                Action::GenerateFlashKey { bits } => {
                    fe_key = Some(HostKey {
                        key: flash_key(plan, *bits)?,
                        on_device: plan
                            .flash_encryption
                            .as_ref()
                            .is_some_and(|f| f.key_file.is_some()),
                    });
                }
                Action::DeleteFlashKey => fe_key = None,
                Action::DigestKey { .. } => {} // computed before the first step
                _ => {}
            }
            journal(store, StepResult::Host)?;
            emit.step(&steps, i, &detail, StepState::Done);
            continue;
        }
        let efuses = device.efuses().map_err(dev(index, kind))?;
        let cipher = match fe_key.as_ref().filter(|k| k.on_device) {
            Some(k) => Some(host_cipher(plan, &k.key).map_err(|e| dev(index, kind)(e.into()))?),
            None => None,
        };
        let ctx = Ctx {
            digests: &digests,
            cipher: cipher.as_deref(),
            key_len: fe_key.as_ref().map_or(0, |k| k.key.as_bytes().len()),
        };
        if is_done(device, &efuses, &steps, i, &ctx).map_err(dev(index, kind))? {
            if is_burn(&step.action) {
                burned.push(command.clone());
            }
            if matches!(
                step.action,
                Action::BurnKey {
                    part: KeyPart::FirstHalf,
                    ..
                }
            ) {
                first_half_found = true;
            }
            // a generated key an earlier run burned is gone: unless that run
            // also wrote the firmware, stop before burning anything more
            let stale_key = fe_key.as_ref().is_some_and(|k| !k.on_device);
            if stale_key && matches!(step.action, Action::BurnKey { .. }) {
                let write = steps
                    .iter()
                    .position(|s| matches!(s.action, Action::FlashWrite { encrypt: true, .. }));
                if let Some(j) = write {
                    if !is_done(device, &efuses, &steps, j, &ctx).map_err(dev(index, kind))? {
                        return Err(RunError::Stranded {
                            index: j + 1,
                            kind: "FlashWrite",
                            reason:
                                "an earlier run burned a generated flash-encryption key, which \
                                     is lost (never stored), before writing the firmware: the \
                                     firmware cannot be encrypted for this device",
                            burned,
                        });
                    }
                }
            }
            report.already_done += 1;
            journal(store, StepResult::AlreadyDone)?;
            emit.step(&steps, i, &detail, StepState::SkippedAlreadyDone);
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
            return Err(RunError::Stranded {
                index,
                kind,
                reason: "an earlier run burned the first half of a generated 512-bit key, which is lost; \
                         this device cannot get the second half",
                burned,
            });
        }
        // a cut inside an earlier run's burn-key (the key block programmed,
        // its purpose or protection not yet) leaves the block holding the
        // key: the plan's key file gives the same bits again and the burn
        // completes, but a generated key is lost, and burning a new one over
        // it would OR two keys together (espefuse's refusal would print the
        // mixed bits)
        if let Action::BurnKey {
            block,
            purpose,
            part,
            with_digest,
        } = &step.action
        {
            let device_key = fe_key.as_ref().filter(|k| k.on_device);
            // the plan's key file changed since the cut: its key is not the
            // one half burned, and burning it would OR the two together
            if let Some(k) = device_key {
                let (keys, digest) = key_burn(
                    chip,
                    *block,
                    *purpose,
                    *part,
                    with_digest.is_some(),
                    k.key.as_bytes(),
                    &digests,
                    index,
                )?;
                if key_block_conflicts(&efuses, *block, &keys, &digest) {
                    burned.push(format!("{block}: key data of an unfinished burn-key"));
                    return Err(RunError::Stranded {
                        index,
                        kind,
                        reason: "an earlier run was cut off while burning a flash-encryption \
                                 key, and the key block holds bits the plan's key file does not \
                                 set (the key file changed since): burning it would combine two \
                                 keys, and no key bit can be cleared",
                        burned,
                    });
                }
            }
            if device_key.is_none() && key_block_holds_data(&efuses, *block) {
                burned.push(format!("{block}: key data of an unfinished burn-key"));
                return Err(RunError::Stranded {
                    index,
                    kind,
                    reason: "an earlier run was cut off while burning a generated \
                             flash-encryption key, which is lost (never stored): the key block \
                             holds its data, the burn did not finish, and no other key can be \
                             burned over it",
                    burned,
                });
            }
        }
        if matches!(step.action, Action::FlashWrite { encrypt: true, .. }) && ctx.cipher.is_none() {
            return Err(RunError::Stranded {
                index,
                kind,
                reason: "an earlier run burned a generated flash-encryption key, which is lost \
                         (never stored): the firmware cannot be encrypted for this device",
                burned,
            });
        }
        act(
            device,
            &steps,
            i,
            fe_key.as_ref().map(|k| k.key.as_bytes()),
            &ctx,
        )?;
        if let (Action::BurnKey { .. }, Some(k)) = (&step.action, fe_key.as_mut()) {
            // burned by this run: the key in memory is the device's
            k.on_device = true;
        }
        actions += 1;
        if opts.stop_after == Some(actions) {
            if opts.kill {
                let _ = rustix::process::kill_process(
                    rustix::process::getpid(),
                    rustix::process::Signal::KILL,
                );
            }
            store.finish_run(run_id, "interrupted")?;
            return Err(RunError::Interrupted(actions));
        }
        let after = device.efuses().map_err(dev(index, kind))?;
        let cipher = match fe_key.as_ref().filter(|k| k.on_device) {
            Some(k) => Some(host_cipher(plan, &k.key).map_err(|e| dev(index, kind)(e.into()))?),
            None => None,
        };
        let ctx = Ctx {
            digests: &digests,
            cipher: cipher.as_deref(),
            key_len: fe_key.as_ref().map_or(0, |k| k.key.as_bytes().len()),
        };
        // an erase shows only through the steps after it (see `is_done`)
        let erase = matches!(step.action, Action::EraseFlash);
        if !erase && !is_done(device, &after, &steps, i, &ctx).map_err(dev(index, kind))? {
            return Err(RunError::NotVerified { index, kind });
        }
        if is_burn(&step.action) {
            burned.push(command.clone());
        }
        report.done += 1;
        journal(store, StepResult::Done)?;
        emit.step(&steps, i, &detail, StepState::Done);
    }
    store.finish_run(run_id, "complete")?;
    Ok(report)
}

/// The flash-encryption key a run holds in memory (never on disk).
struct HostKey {
    /// The key (zeroized on drop).
    key: FlashEncryptionKey,
    /// Whether the device holds this key: read from the plan's key file,
    /// or generated and burned by this run. A key generated for a device
    /// whose key an earlier run burned is not the device's.
    on_device: bool,
}

/// Whether a step burns eFuses.
fn is_burn(action: &Action) -> bool {
    matches!(
        action,
        Action::BurnKey { .. }
            | Action::BurnEfuse { .. }
            | Action::WriteProtect { .. }
            | Action::BurnKeyDigest { .. }
    )
}

/// The chip's flash-encryption cipher with `key`, as espsecure's
/// `encrypt-flash-data` uses it (seed 003, FE step 5): the ESP32's AES with
/// the FLASH_CRYPT_CONFIG the plan burns, XTS-AES on the other chips
/// (256/512-bit keys, the ESP32-C2's key derived from 128 bits).
fn host_cipher(
    plan: &Plan,
    key: &FlashEncryptionKey,
) -> Result<Box<dyn FlashCrypt>, esp_secure::flash_encryption::FlashCryptError> {
    Ok(match plan.chip.flash_crypt_algorithm() {
        esp_image::FlashCryptAlgorithm::Esp32Legacy => {
            let conf = plan
                .flash_encryption
                .as_ref()
                .and_then(|f| f.crypt_config)
                .unwrap_or(0xF);
            Box::new(Esp32FlashCrypt::new(key, u32::from(conf))?)
        }
        _ => Box::new(XtsFlashCrypt::new(key)?),
    })
}

/// `data` encrypted on the host for `address`, padded with 0xFF to the
/// 32-byte flash-encryption block as the ROM pads `--encrypt` writes.
fn host_ciphertext(
    cipher: &dyn FlashCrypt,
    address: u32,
    data: &[u8],
) -> Result<Vec<u8>, esp_secure::flash_encryption::FlashCryptError> {
    let mut buf = data.to_vec();
    buf.resize(data.len().div_ceil(32) * 32, 0xFF);
    cipher.encrypt(address, &mut buf)?;
    Ok(buf)
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

/// The key groups `burn-key` burns for a flash-encryption key step: the
/// key's `part`, and digest 0 where the ESP32-C2 burns it with the key.
#[allow(clippy::too_many_arguments)]
fn key_burn(
    chip: Chip,
    block: esp_efuse::KeyBlock,
    purpose: Option<esp_efuse::KeyPurpose>,
    part: KeyPart,
    with_digest: bool,
    key: &[u8],
    digests: &[[u8; 32]],
    index: usize,
) -> Result<(Vec<KeyGroup>, Vec<KeyGroup>), RunError> {
    let data = match part {
        KeyPart::Whole => key,
        KeyPart::FirstHalf => key.get(..32).unwrap_or(key),
        KeyPart::SecondHalf => key.get(32..).unwrap_or(key),
    };
    let group = KeyGroup {
        block,
        purpose,
        data: Zeroizing::new(data.to_vec()),
    };
    let digest = if with_digest {
        vec![digest_group(chip, digests, index, "BurnKey")?]
    } else {
        Vec::new()
    };
    Ok((vec![group], digest))
}

/// Does step `i`.
fn act(
    device: &mut dyn Device,
    steps: &[Step],
    i: usize,
    fe_key: Option<&[u8]>,
    ctx: &Ctx<'_>,
) -> Result<(), RunError> {
    let digests = ctx.digests;
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
            let chip = efuses_chip(device)?;
            let (keys, digest) = key_burn(
                chip,
                *block,
                *purpose,
                *part,
                with_digest.is_some(),
                key,
                digests,
                index,
            )?;
            device.burn_keys(&keys, &digest).map_err(dev)
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
            // seed 003 FE step 5: encrypted on the host (`encrypt-flash-data`),
            // written as it is (`write-flash` without `--encrypt`)
            let data = match (encrypt, ctx.cipher) {
                (false, _) => data,
                (true, Some(cipher)) => {
                    host_ciphertext(cipher, *address, &data).map_err(|source| {
                        RunError::Encrypt {
                            index,
                            kind,
                            path: file.display().to_string(),
                            source,
                        }
                    })?
                }
                (true, None) => {
                    return Err(RunError::Unreachable {
                        index,
                        kind,
                        reason: "no flash-encryption key of this device in memory",
                    })
                }
            };
            device.write_flash(*address, &data, false).map_err(dev)
        }
        Action::GenerateFlashKey { .. } | Action::DeleteFlashKey | Action::DigestKey { .. } => {
            Ok(())
        }
    }
}
