//! A plan as the ordered steps of seed 003, each typed and with the
//! reference tools' command line that does the same.
//!
//! Order (seed 003, "Enable Flash Encryption and Secure Boot V2
//! Externally"): the flash-encryption workflow, then Secure Boot V2's,
//! because SB 7B-i write-protects RD_DIS, after which no key can be read
//! protected. Firmware is written once: at FE step 5 (encrypted by the ROM,
//! `--encrypt`) when the plan encrypts, else at SB step 6. It must already
//! be signed (Secure Boot V2 bootloader signature, MCUboot app signature):
//! signing is a host job done before provisioning, not per device.

use std::path::PathBuf;

use esp_efuse::{policy, ChipEfuses, Field, KeyBlock, KeyPurpose};
use esp_image::Chip;

use crate::plan::{DownloadModeChoice, FirmwareKind, FlashEncryptionMode, KeySource, Plan, Stage};

/// Which part of a flash-encryption key a [`Action::BurnKey`] burns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPart {
    /// The whole key.
    Whole,
    /// A 512-bit key's first 256 bits (`XTS_AES_256_KEY_1`).
    FirstHalf,
    /// A 512-bit key's last 256 bits (`XTS_AES_256_KEY_2`).
    SecondHalf,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// FE 1: erase the whole flash.
    EraseFlash,
    /// FE 2 (host): a flash-encryption key, generated or read from the plan's key file.
    GenerateFlashKey {
        /// Key bits.
        bits: u32,
    },
    /// FE 3: the flash-encryption key (or half of it) into a key block.
    BurnKey {
        /// The block.
        block: KeyBlock,
        /// Its purpose (`None` on the ESP32).
        purpose: Option<KeyPurpose>,
        /// Which bytes of the key.
        part: KeyPart,
        /// ESP32-C2 with Secure Boot: the first key's digest goes into
        /// BLOCK_KEY0's high half in the same burn, because burning the key
        /// write-protects the whole block (seed 003: "For burning both keys
        /// together").
        with_digest: Option<KeySource>,
    },
    /// A field set to a value (FE 4, 6A, 6C; SB 4, 7A, 7B-ii, 7C).
    BurnEfuse {
        /// The field.
        field: Field,
        /// The bits to set.
        value: u64,
    },
    /// FE 5 or SB 6: a firmware file written to flash.
    FlashWrite {
        /// What it is.
        kind: FirmwareKind,
        /// The file.
        file: PathBuf,
        /// Flash address.
        address: u32,
        /// Encrypted by the ROM with the device's key (`--encrypt`).
        encrypt: bool,
    },
    /// FE 6B, SB 7B-i: a field's write protection.
    WriteProtect {
        /// The field (its whole write-protection group is protected).
        field: Field,
    },
    /// FE 7 (host): forget the flash-encryption key.
    DeleteFlashKey,
    /// SB 2 (host): the public key digest of signing key `index`.
    DigestKey {
        /// Slot index.
        index: usize,
        /// The key.
        key: KeySource,
    },
    /// SB 3: a key digest into its slot.
    BurnKeyDigest {
        /// Slot index.
        index: usize,
        /// The block.
        block: KeyBlock,
        /// Its purpose (`None` on the ESP32).
        purpose: Option<KeyPurpose>,
    },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The workflow it belongs to.
    pub stage: Stage,
    /// The seed's step number (`"3"`, `"6A"`, `"7B-ii"`).
    pub seed_step: &'static str,
    /// What it does.
    pub action: Action,
}

impl Action {
    /// Whether the step changes the device (host steps do not).
    pub fn on_device(&self) -> bool {
        !matches!(
            self,
            Action::GenerateFlashKey { .. } | Action::DeleteFlashKey | Action::DigestKey { .. }
        )
    }

    /// A short type name (`BurnKey`, ...), for JSON and records.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::EraseFlash => "EraseFlash",
            Action::GenerateFlashKey { .. } => "GenerateFlashKey",
            Action::BurnKey { .. } => "BurnKey",
            Action::BurnEfuse { .. } => "BurnEfuse",
            Action::FlashWrite { .. } => "FlashWrite",
            Action::WriteProtect { .. } => "WriteProtect",
            Action::DeleteFlashKey => "DeleteFlashKey",
            Action::DigestKey { .. } => "DigestKey",
            Action::BurnKeyDigest { .. } => "BurnKeyDigest",
        }
    }
}

/// Key file names in the command lines (what the seed calls them).
const FE_KEY_FILE: &str = "my_flash_encryption_key.bin";

impl Step {
    /// The reference tools' command line that does this step.
    pub fn command(&self, chip: Chip) -> String {
        let c = chip.name();
        let efuse = format!("espefuse --port PORT --chip {c}");
        match &self.action {
            Action::EraseFlash => format!("esptool --port PORT --chip {c} erase-flash"),
            Action::GenerateFlashKey { bits } => match bits {
                256 => format!("espsecure generate-flash-encryption-key {FE_KEY_FILE}"),
                _ => {
                    format!("espsecure generate-flash-encryption-key --keylen {bits} {FE_KEY_FILE}")
                }
            },
            Action::BurnKey {
                block,
                purpose,
                part,
                with_digest,
            } => {
                let efuse = match with_digest {
                    Some(key) => format!("{efuse} burn-key-digest {key} burn-key"),
                    None => format!("{efuse} burn-key"),
                };
                let file = match part {
                    KeyPart::Whole => FE_KEY_FILE.to_owned(),
                    KeyPart::FirstHalf => format!("{FE_KEY_FILE}.aa"),
                    KeyPart::SecondHalf => format!("{FE_KEY_FILE}.ab"),
                };
                match purpose {
                    Some(p) => format!("{efuse} {block} {file} {p}"),
                    None => format!("{efuse} {block} {file}"),
                }
            }
            Action::BurnEfuse { field, value } => {
                format!("{efuse} burn-efuse {field} {value:#x}")
            }
            Action::FlashWrite {
                file,
                address,
                encrypt,
                ..
            } => format!(
                "esptool --port PORT --chip {c} write-flash{} {address:#x} {}",
                if *encrypt { " --encrypt" } else { "" },
                file.display()
            ),
            Action::WriteProtect { field } => format!("{efuse} write-protect-efuse {field}"),
            Action::DeleteFlashKey => format!("rm {FE_KEY_FILE}  # (never written by espboot)"),
            Action::DigestKey { index, key } => format!(
                "espsecure digest-sbv2-public-key --keyfile {key} --output digest{index}.bin"
            ),
            Action::BurnKeyDigest {
                index,
                block,
                purpose,
            } => match purpose {
                Some(p) => format!("{efuse} burn-key {block} digest{index}.bin {p}"),
                None => format!("{efuse} burn-key {block} digest{index}.bin"),
            },
        }
    }

    /// What the step does in a few words (`burn SPI_BOOT_CRYPT_CNT`), for
    /// progress lines and error messages; the command line is
    /// [`Step::command`].
    pub fn name(&self) -> String {
        match &self.action {
            Action::EraseFlash => "erase flash".to_owned(),
            Action::GenerateFlashKey { bits } => {
                format!("generate a {bits}-bit flash-encryption key")
            }
            Action::BurnKey {
                block,
                part,
                with_digest,
                ..
            } => {
                let what = match part {
                    KeyPart::Whole => "flash-encryption key",
                    KeyPart::FirstHalf => "flash-encryption key's first half",
                    KeyPart::SecondHalf => "flash-encryption key's second half",
                };
                let digest = if with_digest.is_some() {
                    " with Secure Boot digest 0"
                } else {
                    ""
                };
                format!("burn the {what} into {block}{digest}")
            }
            Action::BurnEfuse { field, .. } => format!("burn {field}"),
            Action::FlashWrite { file, address, .. } => {
                let name = file.file_name().unwrap_or(file.as_os_str());
                format!("write {} at {address:#x}", name.to_string_lossy())
            }
            Action::WriteProtect { field } => format!("write-protect {field}"),
            Action::DeleteFlashKey => "forget the flash-encryption key".to_owned(),
            Action::DigestKey { index, .. } => format!("digest Secure Boot key {index}"),
            Action::BurnKeyDigest { index, block, .. } => {
                format!("burn Secure Boot digest {index} into {block}")
            }
        }
    }

    /// The step as JSON (`provision plan --json`).
    pub fn to_json(&self, chip: Chip) -> serde_json::Value {
        let mut v = serde_json::json!({
            "stage": self.stage.key(),
            "seed_step": self.seed_step,
            "type": self.action.kind(),
            "on_device": self.action.on_device(),
            "command": self.command(chip),
        });
        let extra = match &self.action {
            Action::EraseFlash | Action::DeleteFlashKey => serde_json::json!({}),
            Action::GenerateFlashKey { bits } => serde_json::json!({ "bits": bits }),
            Action::BurnKey {
                block,
                purpose,
                part,
                with_digest,
            } => serde_json::json!({
                "block": block.name(),
                "purpose": purpose.map(|p| p.to_string()),
                "part": format!("{part:?}"),
                "with_digest": with_digest.as_ref().map(|k| k.to_string()),
            }),
            Action::BurnEfuse { field, value } => {
                serde_json::json!({ "field": field.name(), "value": value })
            }
            Action::FlashWrite {
                kind,
                file,
                address,
                encrypt,
            } => serde_json::json!({
                "kind": kind,
                "file": file.display().to_string(),
                "address": address,
                "encrypt": encrypt,
            }),
            Action::WriteProtect { field } => serde_json::json!({ "field": field.name() }),
            Action::DigestKey { index, key } => {
                serde_json::json!({ "index": index, "key": key.to_string() })
            }
            Action::BurnKeyDigest {
                index,
                block,
                purpose,
            } => serde_json::json!({
                "index": index,
                "block": block.name(),
                "purpose": purpose.map(|p| p.to_string()),
            }),
        };
        if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
            obj.extend(more);
        }
        v
    }
}

/// Why the steps of a plan cannot be laid out (the plan asks for something
/// the chip cannot hold); [`crate::check`] reports these with their fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// The chip has no flash-encryption key of that length.
    #[error("{chip} has no {bits}-bit flash-encryption key")]
    KeyLength {
        /// The chip.
        chip: &'static str,
        /// Bits asked for.
        bits: u32,
    },
    /// No free key block is left for a key or digest.
    #[error("no free key block left for {what}")]
    NoFreeBlock {
        /// What needed one.
        what: String,
    },
    /// More Secure Boot keys than the chip has digest slots.
    #[error("{chip} holds {max} Secure Boot V2 key digest(s), the plan has {keys}")]
    TooManyDigests {
        /// The chip.
        chip: &'static str,
        /// Slots.
        max: usize,
        /// Keys in the plan.
        keys: usize,
    },
}

/// The key blocks with a KEY_PURPOSE field (`BLOCK_KEY0..5`), in order.
fn purpose_key_blocks(chip: Chip) -> Vec<KeyBlock> {
    let table = chip.table();
    table
        .blocks
        .iter()
        .filter(|b| b.key_purpose.is_some())
        .filter_map(|b| table.canonical_key_block(b.id))
        .collect()
}

/// Whether the chip refuses `purpose` in `block` (BLOCK9, seed 003's
/// SOC_EFUSE_BLOCK9_KEY_PURPOSE_QUIRK warning).
pub(crate) fn block_refuses(chip: Chip, block: KeyBlock, purpose: KeyPurpose) -> bool {
    block == KeyBlock::BlockKey5 && chip.block9_refuses(purpose)
}

/// Lays out the plan's steps in seed 003's order.
pub fn steps(plan: &Plan) -> Result<Vec<Step>, LayoutError> {
    let chip = plan.chip;
    let mut used: Vec<KeyBlock> = Vec::new();
    let mut out = Vec::new();
    // ESP32-C2, both workflows: key and digest share BLOCK_KEY0 and one burn
    let c2_together = chip == Chip::Esp32c2
        && plan.secure_boot.is_some()
        && plan.stages.first() == Some(&Stage::FlashEncryption)
        && plan.fe_key_length() == Some(policy::FlashKeyLength::Derived128);
    let encrypt = plan.flash_encryption.is_some();
    let writes_at = if encrypt {
        Stage::FlashEncryption
    } else {
        Stage::SecureBoot
    };
    let free_block = |used: &[KeyBlock], purpose: KeyPurpose, what: &str| {
        purpose_key_blocks(chip)
            .into_iter()
            .find(|b| !used.contains(b) && !block_refuses(chip, *b, purpose))
            .ok_or(LayoutError::NoFreeBlock {
                what: what.to_owned(),
            })
    };
    for &stage in &plan.stages {
        let mut push = |seed_step, action| {
            out.push(Step {
                stage,
                seed_step,
                action,
            })
        };
        match stage {
            Stage::FlashEncryption => {
                let Some(fe) = &plan.flash_encryption else {
                    continue;
                };
                let bad_length = LayoutError::KeyLength {
                    chip: chip.name(),
                    bits: fe.key_bits,
                };
                let length = plan.fe_key_length().ok_or(bad_length.clone())?;
                let slot = policy::flash_encryption_key(chip, length).ok_or(bad_length)?;
                push("1", Action::EraseFlash);
                push("2", Action::GenerateFlashKey { bits: fe.key_bits });
                if slot.purpose == Some(KeyPurpose::XtsAes256Key) {
                    // the seed's split form: each half in a block of its own
                    let first = match plan.fe_block {
                        Some(b) => b,
                        None => free_block(&used, KeyPurpose::XtsAes256Key1, "XTS_AES_256_KEY_1")?,
                    };
                    used.push(first);
                    let second = purpose_key_blocks(chip)
                        .into_iter()
                        .skip_while(|b| *b != first)
                        .skip(1)
                        .find(|b| {
                            !used.contains(b) && !block_refuses(chip, *b, KeyPurpose::XtsAes256Key2)
                        })
                        .ok_or(LayoutError::NoFreeBlock {
                            what: "XTS_AES_256_KEY_2".to_owned(),
                        })?;
                    used.push(second);
                    push(
                        "3",
                        Action::BurnKey {
                            block: first,
                            purpose: Some(KeyPurpose::XtsAes256Key1),
                            part: KeyPart::FirstHalf,
                            with_digest: None,
                        },
                    );
                    push(
                        "3",
                        Action::BurnKey {
                            block: second,
                            purpose: Some(KeyPurpose::XtsAes256Key2),
                            part: KeyPart::SecondHalf,
                            with_digest: None,
                        },
                    );
                } else {
                    let block = match (plan.fe_block, slot.block, slot.purpose) {
                        (Some(b), _, _) | (None, Some(b), _) => b,
                        (None, None, Some(p)) => free_block(&used, p, &p.to_string())?,
                        (None, None, None) => {
                            return Err(LayoutError::NoFreeBlock {
                                what: "the flash-encryption key".to_owned(),
                            })
                        }
                    };
                    used.push(block);
                    push(
                        "3",
                        Action::BurnKey {
                            block,
                            purpose: slot.purpose,
                            part: KeyPart::Whole,
                            with_digest: c2_together
                                .then(|| plan.sb_keys.first().cloned())
                                .flatten(),
                        },
                    );
                }
                let counter = policy::crypt_counter(chip);
                let full = (1u64
                    << chip
                        .table()
                        .fields
                        .iter()
                        .find(|d| d.field == counter)
                        .map_or(3, |d| d.bit_len))
                    - 1;
                let value = match fe.mode {
                    FlashEncryptionMode::Development => 1,
                    FlashEncryptionMode::Release => full,
                };
                push(
                    "4",
                    Action::BurnEfuse {
                        field: counter,
                        value,
                    },
                );
                if let Some(config) = policy::crypt_config(chip) {
                    push(
                        "4",
                        Action::BurnEfuse {
                            field: config,
                            value: u64::from(fe.crypt_config.unwrap_or(0xF)),
                        },
                    );
                }
                if writes_at == Stage::FlashEncryption {
                    for action in flash_writes(plan, true) {
                        push("5", action);
                    }
                }
                final_steps(plan, chip, stage, &mut push);
                push("7", Action::DeleteFlashKey);
            }
            Stage::SecureBoot => {
                let Some(sb) = &plan.secure_boot else {
                    continue;
                };
                let max = policy::secure_boot_digest_slots(chip);
                if plan.sb_keys.len() > max {
                    return Err(LayoutError::TooManyDigests {
                        chip: chip.name(),
                        max,
                        keys: plan.sb_keys.len(),
                    });
                }
                for (index, key) in plan.sb_keys.iter().enumerate() {
                    push(
                        "2",
                        Action::DigestKey {
                            index,
                            key: key.clone(),
                        },
                    );
                }
                for index in 0..plan.sb_keys.len() {
                    if c2_together {
                        continue; // burned with the key at FE 3
                    }
                    let Some(slot) = policy::secure_boot_digest(chip, index) else {
                        continue;
                    };
                    let chosen = plan.sb_blocks.as_ref().and_then(|b| b.get(index)).copied();
                    let block = match (chosen, slot.block, slot.purpose) {
                        (Some(b), _, _) | (None, Some(b), _) => b,
                        (None, None, Some(p)) => free_block(&used, p, &p.to_string())?,
                        (None, None, None) => {
                            return Err(LayoutError::NoFreeBlock {
                                what: "a key digest".to_owned(),
                            })
                        }
                    };
                    // the ESP32-C2's digest shares BLOCK_KEY0 with a 128-bit key
                    if !(chip == Chip::Esp32c2 && used == [KeyBlock::BlockKey0]) {
                        used.push(block);
                    }
                    push(
                        "3",
                        Action::BurnKeyDigest {
                            index,
                            block,
                            purpose: slot.purpose,
                        },
                    );
                }
                push(
                    "4",
                    Action::BurnEfuse {
                        field: policy::secure_boot_enable(chip),
                        value: 1,
                    },
                );
                if writes_at == Stage::SecureBoot {
                    for action in flash_writes(plan, false) {
                        push("6", action);
                    }
                }
                final_steps(plan, chip, stage, &mut push);
                let _ = sb;
            }
        }
    }
    Ok(out)
}

/// The plan's firmware writes.
fn flash_writes(plan: &Plan, encrypt: bool) -> Vec<Action> {
    plan.firmware
        .iter()
        .map(|f| Action::FlashWrite {
            kind: f.kind,
            file: f.file.clone(),
            address: f.address,
            encrypt,
        })
        .collect()
}

/// FE step 6 / SB step 7: security eFuses, write protection, revocation,
/// download mode.
fn final_steps(plan: &Plan, chip: Chip, stage: Stage, push: &mut impl FnMut(&'static str, Action)) {
    let Some(section) = plan.final_section(stage) else {
        return;
    };
    let (a, b, c) = match stage {
        Stage::FlashEncryption => ("6A", "6B", "6C"),
        Stage::SecureBoot => ("7A", "7B-i", "7C"),
    };
    // in the seed's order, not the file's
    for field in crate::plan::seed_security_efuses(chip, stage) {
        if plan.final_fields.contains(&(stage, field, true)) {
            push(a, Action::BurnEfuse { field, value: 1 });
        }
    }
    match stage {
        Stage::FlashEncryption if section.write_protect => {
            // the seed's DIS_ICACHE; the ESP32-C2 has no such field, its
            // download-cache bit is in the same group
            let field = if chip == Chip::Esp32 {
                Some(Field::Mac)
            } else {
                ["DIS_ICACHE", "DIS_DOWNLOAD_ICACHE"]
                    .iter()
                    .find_map(|n| chip.table().field_by_name(n))
            };
            if let Some(field) = field {
                push(b, Action::WriteProtect { field });
            }
        }
        Stage::SecureBoot => {
            if section.write_protect_rd_dis {
                push(
                    b,
                    Action::WriteProtect {
                        field: Field::RdDis,
                    },
                );
            }
            if plan.secure_boot.as_ref().is_some_and(|s| s.revoke_unused) {
                for index in plan.sb_keys.len()..policy::secure_boot_digest_slots(chip) {
                    if let Some(revoke) =
                        policy::secure_boot_digest(chip, index).and_then(|s| s.revoke)
                    {
                        push(
                            "7B-ii",
                            Action::BurnEfuse {
                                field: revoke,
                                value: 1,
                            },
                        );
                    }
                }
            }
        }
        Stage::FlashEncryption => {}
    }
    let field = match section.download_mode {
        DownloadModeChoice::Keep => None,
        DownloadModeChoice::Secure => policy::secure_download(chip),
        DownloadModeChoice::Disabled => policy::download_disable(chip).first().copied(),
    };
    if let Some(field) = field {
        push(c, Action::BurnEfuse { field, value: 1 });
    }
}
