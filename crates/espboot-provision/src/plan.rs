//! The plan file: what one provisioning job does to every device, in TOML.
//!
//! ```toml
//! chip = "esp32c3"
//! # optional; the seed's order (flash encryption, then Secure Boot V2)
//! stages = ["flash_encryption", "secure_boot"]
//!
//! [flash_encryption]
//! mode = "release"            # or "development"
//! key_bits = 256              # 128 (ESP32-C2, derived), 256, 512 (ESP32-S2/S3)
//! key_file = "fe.bin"         # optional: a fixed key (tests); default: generated per device
//! block = "BLOCK_KEY0"        # optional: default the first free key block
//! [flash_encryption.final]    # seed 003, flash encryption step 6
//! efuses = { DIS_DOWNLOAD_ICACHE = true, DIS_PAD_JTAG = true }
//! write_protect = true        # 6B: write_protect_efuse DIS_ICACHE (ESP32: MAC)
//! download_mode = "keep"      # 6C: "keep", "secure" or "disabled"
//!
//! [secure_boot]
//! scheme = "rsa3072"
//! keys = ["sb0.pem", "pkcs11:token=factory;object=sb1"]
//! revoke_unused = true
//! [secure_boot.final]         # seed 003, Secure Boot V2 step 7
//! efuses = { SECURE_BOOT_AGGRESSIVE_REVOKE = true }
//! write_protect_rd_dis = true
//! download_mode = "secure"
//!
//! [[firmware]]
//! kind = "bootloader"         # bootloader, partition_table, app, data
//! file = "bootloader.bin"
//! address = 0x0
//! ```
//!
//! Unknown keys are errors naming the key and its line; relative paths are
//! relative to the plan file.

use std::path::{Path, PathBuf};

use esp_efuse::{ChipEfuses, Field, KeyBlock};
use esp_image::Chip;
use esp_secure::sbv2::SigningScheme;
use serde::{Deserialize, Serialize};

/// Why a plan file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The file could not be read.
    #[error("cannot read plan {}", path.display())]
    Read {
        /// The plan file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed, has unknown keys or impossible values.
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        /// The plan file.
        path: PathBuf,
        /// 1-based line of the offending key or value (0: unknown).
        line: usize,
        /// What toml/serde said (names the key and what was expected).
        message: String,
    },
    /// A value that parses but names nothing on the plan's chip.
    #[error("{}: {field}: {problem}", path.display())]
    Value {
        /// The plan file.
        path: PathBuf,
        /// The plan key (`flash_encryption.block`).
        field: String,
        /// What is wrong and what is expected.
        problem: String,
    },
}

/// Which of seed 003's two workflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// "Enable Flash Encryption Externally".
    FlashEncryption,
    /// "Enable Secure Boot V2 Externally".
    SecureBoot,
}

/// Flash encryption mode (seed 003 FE step 4: the counter's value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashEncryptionMode {
    /// One counter bit: can be turned off again (not for production).
    Development,
    /// Every counter bit: permanent.
    Release,
}

/// What the last step of a workflow does to the ROM's download mode
/// (seed 003 FE 6C, SB 7C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownloadModeChoice {
    /// Leave it as it is.
    #[default]
    Keep,
    /// `ENABLE_SECURITY_DOWNLOAD` (not on the ESP32).
    Secure,
    /// `DIS_DOWNLOAD_MODE` (ESP32: `UART_DOWNLOAD_DIS`).
    Disabled,
}

/// The security eFuses at the end of a workflow (FE step 6, SB step 7).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalEfuses {
    /// Each of the seed's security eFuses for this workflow and chip, by
    /// espefuse name, with whether to burn it.
    #[serde(default)]
    pub efuses: std::collections::BTreeMap<String, bool>,
    /// FE 6B: `write_protect_efuse DIS_ICACHE` (ESP32: `MAC`).
    #[serde(default)]
    pub write_protect: bool,
    /// SB 7B-i: `write_protect_efuse RD_DIS`.
    #[serde(default)]
    pub write_protect_rd_dis: bool,
    /// FE 6C / SB 7C.
    #[serde(default)]
    pub download_mode: DownloadModeChoice,
}

/// `[flash_encryption]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlashEncryption {
    /// Development or release.
    pub mode: FlashEncryptionMode,
    /// 128 (ESP32-C2 derived key), 256 or 512 (ESP32-S2/S3, two key blocks).
    pub key_bits: u32,
    /// A fixed key file (raw bytes, espsecure's format); without it a key
    /// is generated on the host for each device and never stored.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The key block (512-bit keys: the first of two); default: the first
    /// free one.
    #[serde(default)]
    pub block: Option<String>,
    /// ESP32: `FLASH_CRYPT_CONFIG` (default 0xF, every tweak bit).
    #[serde(default)]
    pub crypt_config: Option<u8>,
    /// FE step 6.
    #[serde(default, rename = "final")]
    pub final_efuses: FinalEfuses,
}

/// `[secure_boot]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecureBoot {
    /// espsecure's `--scheme` name.
    pub scheme: String,
    /// 1–3 signing keys (public or private PEM files, or PKCS#11 URIs).
    pub keys: Vec<String>,
    /// Key blocks for the digests, one per key; default: the next free.
    #[serde(default)]
    pub blocks: Option<Vec<String>>,
    /// SB 7B-ii: revoke the digest slots no key uses.
    #[serde(default)]
    pub revoke_unused: bool,
    /// SB step 7.
    #[serde(default, rename = "final")]
    pub final_efuses: FinalEfuses,
}

/// What a firmware file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirmwareKind {
    /// The second-stage bootloader (an ESP image).
    Bootloader,
    /// The partition table.
    PartitionTable,
    /// An MCUboot-signed application image for a slot.
    App,
    /// Anything else, written as is.
    Data,
}

/// `[[firmware]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Firmware {
    /// What it is.
    pub kind: FirmwareKind,
    /// The file.
    pub file: PathBuf,
    /// Flash address.
    pub address: u32,
    /// Apps: the slot size (the image and its trailer must fit).
    #[serde(default)]
    pub slot_size: Option<u32>,
}

/// The file as written (before chip-specific resolution).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    chip: String,
    #[serde(default)]
    stages: Option<Vec<Stage>>,
    #[serde(default)]
    flash_encryption: Option<FlashEncryption>,
    #[serde(default)]
    secure_boot: Option<SecureBoot>,
    #[serde(default)]
    firmware: Vec<Firmware>,
}

/// A key source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum KeySource {
    /// A PEM file.
    File(PathBuf),
    /// A key in a PKCS#11 token (RFC 7512 URI).
    Pkcs11(String),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(p) => write!(f, "{}", p.display()),
            // Plans, reports and errors show the URI, never its PIN.
            KeySource::Pkcs11(uri) => f.write_str(&pkcs11_keys::redact_pin(uri)),
        }
    }
}

/// A parsed plan: the chip resolved, names turned into typed handles,
/// paths made absolute. Whether it makes sense is [`crate::check`]'s job.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The plan file.
    pub path: PathBuf,
    /// SHA-256 of the plan file's bytes (records name the plan by it).
    pub sha256: [u8; 32],
    /// The chip.
    pub chip: Chip,
    /// The workflows in the order the plan runs them.
    pub stages: Vec<Stage>,
    /// `[flash_encryption]`.
    pub flash_encryption: Option<FlashEncryption>,
    /// `flash_encryption.block`, resolved.
    pub fe_block: Option<KeyBlock>,
    /// `[secure_boot]`.
    pub secure_boot: Option<SecureBoot>,
    /// `secure_boot.scheme`, resolved.
    pub sb_scheme: Option<SigningScheme>,
    /// `secure_boot.keys`, resolved.
    pub sb_keys: Vec<KeySource>,
    /// `secure_boot.blocks`, resolved.
    pub sb_blocks: Option<Vec<KeyBlock>>,
    /// The security eFuses chosen, per stage, resolved.
    pub final_fields: Vec<(Stage, Field, bool)>,
    /// `[[firmware]]`, paths absolute.
    pub firmware: Vec<Firmware>,
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |before| {
        before.bytes().filter(|b| *b == b'\n').count() + 1
    })
}

impl Plan {
    /// Reads and parses a plan file.
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let bytes = std::fs::read(path).map_err(|source| PlanError::Read {
            path: path.to_owned(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let file: PlanFile = toml::from_str(&text).map_err(|e| PlanError::Syntax {
            path: path.to_owned(),
            line: e.span().map_or(0, |s| line_of(&text, s.start)),
            message: e.message().trim().to_owned(),
        })?;
        use sha2::Digest as _;
        let sha256: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        let base = path.parent().unwrap_or(Path::new("."));
        Plan::resolve(path, sha256, base, file)
    }

    fn resolve(
        path: &Path,
        sha256: [u8; 32],
        base: &Path,
        mut file: PlanFile,
    ) -> Result<Plan, PlanError> {
        let value_err = |field: &str, problem: String| PlanError::Value {
            path: path.to_owned(),
            field: field.to_owned(),
            problem,
        };
        let chip: Chip = file
            .chip
            .parse()
            .map_err(|e: esp_image::chip::UnknownChip| value_err("chip", e.to_string()))?;
        let table = chip.table();
        let key_block = |field: &str, name: &str| {
            table.key_block_by_name(name).ok_or_else(|| {
                let names: Vec<&str> = table.key_blocks.iter().map(|d| d.name).collect();
                value_err(
                    field,
                    format!(
                        "{name:?} is not a key block of {} (expected one of {})",
                        chip.name(),
                        names.join(", ")
                    ),
                )
            })
        };
        let abs = |p: &Path| base.join(p);

        let mut fe_block = None;
        if let Some(fe) = &mut file.flash_encryption {
            if let Some(name) = &fe.block {
                fe_block = Some(key_block("flash_encryption.block", name)?);
            }
            fe.key_file = fe.key_file.as_deref().map(abs);
        }
        let mut sb_scheme = None;
        let mut sb_keys = Vec::new();
        let mut sb_blocks = None;
        if let Some(sb) = &file.secure_boot {
            sb_scheme = Some(
                SigningScheme::ALL
                    .into_iter()
                    .find(|s| s.name() == sb.scheme)
                    .ok_or_else(|| {
                        value_err(
                            "secure_boot.scheme",
                            format!(
                                "{:?} is not a scheme (expected rsa3072, ecdsa192, ecdsa256 or ecdsa384)",
                                sb.scheme
                            ),
                        )
                    })?,
            );
            if sb.keys.is_empty() || sb.keys.len() > 3 {
                return Err(value_err(
                    "secure_boot.keys",
                    format!("{} keys given, expected 1 to 3", sb.keys.len()),
                ));
            }
            sb_keys = sb
                .keys
                .iter()
                .map(|k| {
                    if k.starts_with("pkcs11:") {
                        KeySource::Pkcs11(k.clone())
                    } else {
                        KeySource::File(abs(Path::new(k)))
                    }
                })
                .collect();
            if let Some(blocks) = &sb.blocks {
                sb_blocks = Some(
                    blocks
                        .iter()
                        .map(|b| key_block("secure_boot.blocks", b))
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
        }
        let mut final_fields = Vec::new();
        let sections = [
            (
                Stage::FlashEncryption,
                file.flash_encryption.as_ref().map(|f| &f.final_efuses),
            ),
            (
                Stage::SecureBoot,
                file.secure_boot.as_ref().map(|s| &s.final_efuses),
            ),
        ];
        for (stage, section) in sections {
            let Some(section) = section else { continue };
            let allowed = seed_security_efuses(chip, stage);
            for (name, burn) in &section.efuses {
                let key = format!("{}.final.efuses.{name}", stage.key());
                let field = table
                    .field_by_name(name)
                    .filter(|f| allowed.contains(f))
                    .ok_or_else(|| {
                        let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
                        value_err(
                            &key,
                            format!(
                                "not one of seed 003's {} security eFuses on {} (expected one of {})",
                                stage.key(),
                                chip.name(),
                                names.join(", ")
                            ),
                        )
                    })?;
                final_fields.push((stage, field, *burn));
            }
        }
        let stages = match file.stages.take() {
            Some(stages) => {
                for (present, stage) in [
                    (file.flash_encryption.is_some(), Stage::FlashEncryption),
                    (file.secure_boot.is_some(), Stage::SecureBoot),
                ] {
                    if present != stages.contains(&stage) {
                        return Err(value_err(
                            "stages",
                            format!(
                                "must list {} exactly when the plan has a [{}] section",
                                stage.key(),
                                stage.key()
                            ),
                        ));
                    }
                }
                stages
            }
            None => [
                (file.flash_encryption.is_some(), Stage::FlashEncryption),
                (file.secure_boot.is_some(), Stage::SecureBoot),
            ]
            .into_iter()
            .filter_map(|(p, s)| p.then_some(s))
            .collect(),
        };
        let firmware = file
            .firmware
            .into_iter()
            .map(|f| Firmware {
                file: abs(&f.file),
                ..f
            })
            .collect();
        Ok(Plan {
            path: path.to_owned(),
            sha256,
            chip,
            stages,
            flash_encryption: file.flash_encryption,
            fe_block,
            secure_boot: file.secure_boot,
            sb_scheme,
            sb_keys,
            sb_blocks,
            final_fields,
            firmware,
        })
    }

    /// The plan's flash-encryption key length.
    pub fn fe_key_length(&self) -> Option<esp_efuse::policy::FlashKeyLength> {
        use esp_efuse::policy::FlashKeyLength;
        Some(match self.flash_encryption.as_ref()?.key_bits {
            128 => FlashKeyLength::Derived128,
            256 => FlashKeyLength::Bits256,
            512 => FlashKeyLength::Bits512,
            _ => return None,
        })
    }

    /// The `[stage.final]` section of `stage`.
    pub fn final_section(&self, stage: Stage) -> Option<&FinalEfuses> {
        match stage {
            Stage::FlashEncryption => self.flash_encryption.as_ref().map(|f| &f.final_efuses),
            Stage::SecureBoot => self.secure_boot.as_ref().map(|s| &s.final_efuses),
        }
    }
}

impl Stage {
    /// The plan key of the stage's section.
    pub fn key(self) -> &'static str {
        match self {
            Stage::FlashEncryption => "flash_encryption",
            Stage::SecureBoot => "secure_boot",
        }
    }
}

/// The security eFuses seed 003 lists for `stage` (FE step 6A, SB step 7A),
/// those that exist on `chip` (espefuse name lookup; aliases such as the
/// ESP32-S3's `HARD_DIS_JTAG` = `DIS_PAD_JTAG` counted once), in the seed's
/// order. The seed's SOC capability conditions are approximated by the
/// field existing in the chip's eFuse table.
pub fn seed_security_efuses(chip: Chip, stage: Stage) -> Vec<Field> {
    let names: &[&str] = match (chip, stage) {
        (Chip::Esp32, Stage::FlashEncryption) => &[
            "DISABLE_DL_ENCRYPT",
            "DISABLE_DL_DECRYPT",
            "DISABLE_DL_CACHE",
            "JTAG_DISABLE",
        ],
        (Chip::Esp32, Stage::SecureBoot) => &["JTAG_DISABLE"],
        (_, Stage::FlashEncryption) => &[
            "DIS_BOOT_REMAP",
            "DIS_DOWNLOAD_ICACHE",
            "DIS_DOWNLOAD_DCACHE",
            "HARD_DIS_JTAG",
            "DIS_DIRECT_BOOT",
            "DIS_LEGACY_SPI_BOOT",
            "DIS_USB_JTAG",
            "DIS_PAD_JTAG",
            "DIS_DOWNLOAD_MANUAL_ENCRYPT",
            "DIS_DOWNLOAD_MSPI",
        ],
        (_, Stage::SecureBoot) => &[
            "DIS_BOOT_REMAP",
            "HARD_DIS_JTAG",
            "SOFT_DIS_JTAG",
            "DIS_DIRECT_BOOT",
            "DIS_LEGACY_SPI_BOOT",
            "DIS_USB_JTAG",
            "DIS_PAD_JTAG",
            "SECURE_BOOT_AGGRESSIVE_REVOKE",
        ],
    };
    let mut out: Vec<Field> = Vec::new();
    for name in names {
        if let Some(f) = chip.table().field_by_name(name) {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}
