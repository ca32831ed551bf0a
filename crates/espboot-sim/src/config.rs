//! `bootloader.conf`: the Espressif port's `KEY=VALUE` configuration, its
//! per-target defaults, and the resolved flash map.
//!
//! Parsing follows `boot/espressif/tools/utils.cmake`
//! (`parse_and_set_config_file`, mcuboot.md §7): a line containing `#`
//! anywhere is ignored, leading spaces are dropped, the name runs to the first
//! `=`, `y`/`Y` means `1` and `n`/`N` un-defines the key; a later file
//! overrides keys of earlier ones.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use mcuboot_boot::{DowngradePrevention, UpgradeStrategy};
use serde::{Deserialize, Serialize};

use crate::device::{embedded_key_der, EmbeddedKey};

pub mod security;
pub mod serial_recovery;
pub use security::{
    FlashEncryptionConfig, GeneratedKey, RomDownload, SecureBootConfig, SecurityConfig,
};
pub use serial_recovery::{DetectPin, RecoveryPort, SerialRecovery};

/// Errors reading or resolving a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A non-comment line without `NAME=VALUE` shape.
    #[error("{path}:{line}: expected NAME=VALUE, found {text:?}")]
    Syntax {
        path: PathBuf,
        line: usize,
        text: String,
    },
    /// A `NAME=VALUE` line whose name is no `CONFIG_` option name (a key
    /// or other data given as `--config`): only a short prefix is quoted.
    #[error("{path}:{line}: expected a CONFIG_<NAME>=VALUE option, found {text:?}")]
    Name {
        path: PathBuf,
        line: usize,
        /// At most [`QUOTE_LIMIT`] characters of the line.
        text: String,
    },
    /// A key whose value is not what it should be.
    #[error("{key}={value}: expected {expected}")]
    Value {
        key: String,
        value: String,
        expected: &'static str,
    },
    /// A key the flash map needs is missing.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A target not in the port's list.
    #[error("unknown target {0:?} (expected one of {list})", list = Target::NAMES.join(", "))]
    UnknownTarget(String),
    /// Two regions of the flash map overlap.
    #[error("{a} {a_range} overlaps {b} {b_range}")]
    Overlap {
        a: String,
        a_range: Span,
        b: String,
        b_range: Span,
    },
    /// A region does not fit in the flash.
    #[error("{name} {range} ends beyond the flash size {flash_size:#x}")]
    BeyondFlash {
        name: String,
        range: Span,
        flash_size: u32,
    },
    /// A region not on sector boundaries.
    #[error("{name} {range} is not aligned to the {sector:#x}-byte flash sectors")]
    Unaligned {
        name: String,
        range: Span,
        sector: u32,
    },
    /// A feature of the port the simulator does not model.
    #[error("{0} is not supported by the simulator")]
    Unsupported(String),
    /// Conflicting keys.
    #[error("{0}")]
    Conflict(String),
    /// `CONFIG_ESP_SIGN_KEY_FILE` could not be read.
    #[error("cannot read signing key {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `CONFIG_ESP_SIGN_KEY_FILE` is not a key imgtool could read.
    #[error("signing key {path}: {reason}")]
    BadKey { path: PathBuf, reason: String },
}

/// A parsed configuration: keys in file order of last definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFile {
    /// `NAME → VALUE`, with `y` already turned into `1`.
    pub keys: BTreeMap<String, String>,
    /// Directory of the file that last set `CONFIG_ESP_SIGN_KEY_FILE`
    /// (relative key paths are resolved against it).
    #[serde(skip)]
    pub key_file_base: Option<PathBuf>,
}

/// How much of a line that is not configuration an error quotes: enough
/// to recognise it, too little to echo a key given as `--config` whole.
pub const QUOTE_LIMIT: usize = 16;

/// The first [`QUOTE_LIMIT`] characters of `line`, with `...` when cut.
fn quote_prefix(line: &str) -> String {
    match line.char_indices().nth(QUOTE_LIMIT) {
        Some((end, _)) => format!("{}...", &line[..end]),
        None => line.to_string(),
    }
}

/// A `bootloader.conf` option name: `CONFIG_` then letters, digits and
/// underscores (Kconfig's symbol syntax).
fn is_option_name(name: &str) -> bool {
    name.strip_prefix("CONFIG_").is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

impl ConfigFile {
    /// Applies the lines of `text` (read from `path`, used in errors and as
    /// the base of a relative `CONFIG_ESP_SIGN_KEY_FILE`) over this config.
    pub fn apply_str(&mut self, text: &str, path: &Path) -> Result<(), ConfigError> {
        for (index, raw) in text.lines().enumerate() {
            if raw.contains('#') {
                continue;
            }
            let line = raw.trim_start_matches(' ').trim_end();
            if line.is_empty() {
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                return Err(ConfigError::Syntax {
                    path: path.to_path_buf(),
                    line: index + 1,
                    text: quote_prefix(raw),
                });
            };
            let name = name.trim();
            if !is_option_name(name) {
                return Err(ConfigError::Name {
                    path: path.to_path_buf(),
                    line: index + 1,
                    text: quote_prefix(raw),
                });
            }
            let value = value.trim();
            match value {
                "n" | "N" => {
                    self.keys.remove(name);
                }
                "y" | "Y" => {
                    self.keys.insert(name.to_string(), "1".to_string());
                }
                _ => {
                    self.keys.insert(name.to_string(), value.to_string());
                }
            }
            if name == KEY_FILE {
                self.key_file_base = path.parent().map(Path::to_path_buf);
            }
        }
        Ok(())
    }

    /// Reads `path` and applies it over this config.
    pub fn apply_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.apply_str(&text, path)
    }

    /// The value of `key`, if defined.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.keys.get(key).map(String::as_str)
    }

    /// Whether `key` is defined (any value; `n` un-defines).
    pub fn is_set(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    fn number(&self, key: &'static str) -> Result<Option<u32>, ConfigError> {
        self.get(key)
            .map(|v| {
                py_int::parse_u32(v).map_err(|_| ConfigError::Value {
                    key: key.to_string(),
                    value: v.to_string(),
                    expected: "a number (decimal or 0x-prefixed hex, as Python's int(x, 0))",
                })
            })
            .transpose()
    }

    fn required(&self, key: &'static str) -> Result<u32, ConfigError> {
        self.number(key)?.ok_or(ConfigError::Missing(key))
    }

    /// `CONFIG_ESP_SIGN_KEY_FILE`, resolved against the directory of the
    /// config file that set it.
    pub fn sign_key_file(&self) -> Option<PathBuf> {
        let name = Path::new(self.get(KEY_FILE)?);
        Some(match &self.key_file_base {
            Some(base) if name.is_relative() => base.join(name),
            _ => name.to_path_buf(),
        })
    }
}

const KEY_FILE: &str = "CONFIG_ESP_SIGN_KEY_FILE";

impl ConfigFile {
    /// The public key(s) the port's build embeds in the bootloader: the
    /// key of `CONFIG_ESP_SIGN_KEY_FILE` (private or public PEM, resolved
    /// against the config file that set it), as `imgtool getpub` turns it
    /// into `autogen-pubkey.c` (mcuboot.md §7). Empty when no key file is
    /// configured.
    ///
    /// # Errors
    /// [`ConfigError::KeyFile`] when the file cannot be read,
    /// [`ConfigError::BadKey`] when it is not a key.
    pub fn embedded_keys(&self) -> Result<Vec<EmbeddedKey>, ConfigError> {
        let Some(path) = self.sign_key_file() else {
            return Ok(Vec::new());
        };
        // May be a private key: wiped from memory once parsed.
        let pem = zeroize::Zeroizing::new(std::fs::read(&path).map_err(|source| {
            ConfigError::KeyFile {
                path: path.clone(),
                source,
            }
        })?);
        let der = embedded_key_der(&pem).map_err(|reason| ConfigError::BadKey {
            path: path.clone(),
            reason,
        })?;
        Ok(vec![EmbeddedKey {
            source: path.display().to_string(),
            der,
        }])
    }
}

/// Parses a flash size: `4MB` (esptool's spelling, also `4M`, `512KB`) or a
/// byte count.
pub fn parse_flash_size(text: &str) -> Option<u32> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let (digits, unit) = if let Some(d) = upper.strip_suffix("MB").or(upper.strip_suffix('M')) {
        (d, 1u32 << 20)
    } else if let Some(d) = upper.strip_suffix("KB").or(upper.strip_suffix('K')) {
        (d, 1u32 << 10)
    } else {
        return py_int::parse_u32(t).ok().filter(|&n| n > 0);
    };
    let n: u32 = digits.trim().parse().ok()?;
    n.checked_mul(unit).filter(|&n| n > 0)
}

/// The Espressif targets of the port (`boot/espressif/port/<target>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Target {
    Esp32,
    Esp32s2,
    Esp32s3,
    Esp32c2,
    Esp32c3,
    Esp32c5,
    Esp32c6,
    Esp32c61,
    Esp32h2,
    Esp32p4,
}

impl Target {
    /// Names as the port spells them.
    pub const NAMES: [&'static str; 10] = [
        "esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c5", "esp32c6", "esp32c61",
        "esp32h2", "esp32p4",
    ];
    const ALL: [Target; 10] = [
        Target::Esp32,
        Target::Esp32s2,
        Target::Esp32s3,
        Target::Esp32c2,
        Target::Esp32c3,
        Target::Esp32c5,
        Target::Esp32c6,
        Target::Esp32c61,
        Target::Esp32h2,
        Target::Esp32p4,
    ];

    /// The port's name of the target.
    pub fn name(self) -> &'static str {
        let index = Self::ALL.iter().position(|&t| t == self).unwrap_or(0);
        Self::NAMES[index]
    }

    /// The chip the virtual chip models this target as: the seven chips
    /// with eFuse tables (esp-image's [`esp_image::Chip`]); `None` for
    /// esp32c5, esp32c61 and esp32p4, which boot without a ROM stage.
    pub fn chip(self) -> Option<esp_image::Chip> {
        use esp_image::Chip;
        match self {
            Target::Esp32 => Some(Chip::Esp32),
            Target::Esp32s2 => Some(Chip::Esp32s2),
            Target::Esp32s3 => Some(Chip::Esp32s3),
            Target::Esp32c2 => Some(Chip::Esp32c2),
            Target::Esp32c3 => Some(Chip::Esp32c3),
            Target::Esp32c6 => Some(Chip::Esp32c6),
            Target::Esp32h2 => Some(Chip::Esp32h2),
            Target::Esp32c5 | Target::Esp32c61 | Target::Esp32p4 => None,
        }
    }

    /// The port's default `bootloader.conf` for this target
    /// (`boot/espressif/port/<target>/bootloader.conf` at MCUboot
    /// 2d4bacc3, tabulated in mcuboot.md §7), as a parsed config.
    pub fn default_config(self) -> ConfigFile {
        // (flash size, bootloader offset, application size, slot 1 start)
        let (flash, boot_off, app_size, secondary, scratch) = match self {
            Target::Esp32 => ("4MB", "0x1000", "0x150000", "0x170000", "0x3E0000"),
            Target::Esp32s2 => ("4MB", "0x1000", "0x1C0000", "0x1E0000", "0x3E0000"),
            Target::Esp32s3 => ("4MB", "0x0000", "0x150000", "0x170000", "0x3E0000"),
            Target::Esp32c2 => ("2MB", "0x0000", "0xC0000", "0xE0000", "0x1E0000"),
            Target::Esp32c3 | Target::Esp32c6 | Target::Esp32c61 | Target::Esp32h2 => {
                ("4MB", "0x0000", "0x1C0000", "0x1E0000", "0x3E0000")
            }
            Target::Esp32c5 | Target::Esp32p4 => {
                ("4MB", "0x2000", "0x1C0000", "0x1E0000", "0x3E0000")
            }
        };
        let mut keys = BTreeMap::new();
        let mut set = |k: &str, v: &str| {
            keys.insert(k.to_string(), v.to_string());
        };
        set("CONFIG_ESP_FLASH_SIZE", flash);
        set("CONFIG_ESP_BOOTLOADER_SIZE", "0xF000");
        set("CONFIG_ESP_BOOTLOADER_OFFSET", boot_off);
        set("CONFIG_ESP_IMAGE0_PRIMARY_START_ADDRESS", "0x20000");
        set("CONFIG_ESP_APPLICATION_SIZE", app_size);
        set("CONFIG_ESP_IMAGE0_SECONDARY_START_ADDRESS", secondary);
        set("CONFIG_ESP_MCUBOOT_WDT_ENABLE", "1");
        set("CONFIG_ESP_SCRATCH_OFFSET", scratch);
        set("CONFIG_ESP_SCRATCH_SIZE", "0x1F000");
        set("CONFIG_ESP_CONSOLE_UART", "1");
        set("CONFIG_ESP_CONSOLE_UART_NUM", "0");
        if matches!(
            self,
            Target::Esp32c5 | Target::Esp32c6 | Target::Esp32c61 | Target::Esp32p4
        ) {
            set("CONFIG_BOOTLOADER_PROJECT_VER", "0x1");
        }
        ConfigFile {
            keys,
            key_file_base: None,
        }
    }
}

impl std::str::FromStr for Target {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        Self::NAMES
            .iter()
            .position(|&n| n.eq_ignore_ascii_case(s))
            .map(|i| Self::ALL[i])
            .ok_or_else(|| ConfigError::UnknownTarget(s.to_string()))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A byte range of the flash, `offset..offset+size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub offset: u32,
    pub size: u32,
}

impl Span {
    /// End address (exclusive), saturating.
    pub fn end(&self) -> u64 {
        u64::from(self.offset) + u64::from(self.size)
    }

    fn overlaps(&self, other: &Span) -> bool {
        u64::from(self.offset) < other.end() && u64::from(other.offset) < self.end()
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..{:#x}", self.offset, self.end())
    }
}

/// The image signature scheme (`CONFIG_ESP_SIGN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Signature {
    /// No signature key configured: images are checked by hash only.
    None,
    Ec256,
    Ed25519,
    Rsa2048,
    Rsa3072,
}

/// One image's two slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotPair {
    pub primary: Span,
    pub secondary: Span,
}

/// Sector size of the ESP SPI flash as the port's flash backend reports it
/// (`FLASH_SECTOR_SIZE`, `port/esp_mcuboot.c`, mcuboot.md §7).
pub const ESP_SECTOR_SIZE: u32 = 0x1000;
/// `MCUBOOT_MAX_IMG_SECTORS` of the port (`mcuboot_config.h`, mcuboot.md §7).
pub use mcuboot_image::codec::trailer::ESPRESSIF_MAX_SECTORS as ESP_MAX_IMG_SECTORS;
/// `flash_area_align()` of the port without flash encryption (mcuboot.md §7).
pub const ESP_WRITE_SIZE: u32 = 4;
/// `flash_area_align()` and `MCUBOOT_BOOT_MAX_ALIGN` with flash encryption.
pub const ESP_ENCRYPTED_ALIGN: u32 = 32;
/// `BOOT_MAX_ALIGN` default (mcuboot.md §2.1).
pub use mcuboot_image::codec::trailer::DEFAULT_MAX_ALIGN;

/// The flash map and boot options resolved from a merged configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashMap {
    pub flash_size: u32,
    pub sector_size: u32,
    pub bootloader: Span,
    pub images: Vec<SlotPair>,
    pub scratch: Option<Span>,
    /// The upgrade strategy (the port's `mcuboot_config.h`:
    /// `CONFIG_ESP_BOOT_SWAP_USING_SCRATCH` is the default).
    pub strategy: UpgradeStrategy,
    /// Downgrade prevention
    /// (`CONFIG_ESP_DOWNGRADE_PREVENTION[_SECURITY_COUNTER]`).
    pub downgrade: DowngradePrevention,
    pub signature: Signature,
    pub write_size: u32,
    pub max_align: u32,
    pub erased_val: u8,
    pub max_sectors: u32,
}

/// One line: flash size, strategy and every region, e.g. `4 MiB flash,
/// swap using scratch; bootloader 0x0..0xf000, image 0 primary slot
/// 0x10000..0x1d0000, …`.
impl fmt::Display for FlashMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.flash_size.is_multiple_of(1 << 20) {
            write!(f, "{} MiB flash", self.flash_size >> 20)?;
        } else {
            write!(f, "{:#x} bytes of flash", self.flash_size)?;
        }
        write!(f, ", {}", self.strategy)?;
        for (i, (name, span)) in self.regions().iter().enumerate() {
            f.write_str(if i == 0 { "; " } else { ", " })?;
            write!(f, "{name} {span}")?;
        }
        Ok(())
    }
}

impl FlashMap {
    /// Resolves `config`; `flash_size` (from the command line) overrides
    /// `CONFIG_ESP_FLASH_SIZE`. Checks that regions are inside the flash,
    /// sector aligned and disjoint.
    pub fn resolve(config: &ConfigFile, flash_size: Option<u32>) -> Result<Self, ConfigError> {
        let flash_size = match flash_size {
            Some(size) => size,
            None => {
                let text = config
                    .get("CONFIG_ESP_FLASH_SIZE")
                    .ok_or(ConfigError::Missing("CONFIG_ESP_FLASH_SIZE"))?;
                parse_flash_size(text).ok_or_else(|| ConfigError::Value {
                    key: "CONFIG_ESP_FLASH_SIZE".into(),
                    value: text.into(),
                    expected: "a flash size such as 4MB",
                })?
            }
        };
        for unsupported in [
            "CONFIG_ESP_BOOT_DIRECT_XIP",
            "CONFIG_ESP_BOOT_RAM_LOAD",
            "CONFIG_ESP_SINGLE_APPLICATION_SLOT",
        ] {
            if config.is_set(unsupported) {
                return Err(ConfigError::Unsupported(unsupported.to_string()));
            }
        }
        let modes: Vec<(&str, UpgradeStrategy)> = [
            (
                "CONFIG_ESP_BOOT_SWAP_USING_SCRATCH",
                UpgradeStrategy::SwapScratch,
            ),
            ("CONFIG_ESP_BOOT_SWAP_USING_MOVE", UpgradeStrategy::SwapMove),
            (
                "CONFIG_ESP_BOOT_SWAP_USING_OFFSET",
                UpgradeStrategy::SwapOffset,
            ),
            (
                "CONFIG_ESP_BOOT_UPGRADE_ONLY",
                UpgradeStrategy::OverwriteOnly,
            ),
        ]
        .into_iter()
        .filter(|(k, _)| config.is_set(k))
        .collect();
        let strategy = match modes.as_slice() {
            [] => UpgradeStrategy::SwapScratch,
            [(_, s)] => *s,
            [(a, _), (b, _), ..] => {
                return Err(ConfigError::Conflict(format!(
                    "{a} and {b} both select an upgrade mode; set only one"
                )))
            }
        };
        let downgrade = if config.is_set("CONFIG_ESP_DOWNGRADE_PREVENTION") {
            if config.is_set("CONFIG_ESP_DOWNGRADE_PREVENTION_SECURITY_COUNTER") {
                DowngradePrevention::SecurityCounter
            } else {
                DowngradePrevention::Version
            }
        } else {
            // The port only reads the _SECURITY_COUNTER key inside
            // `#ifdef CONFIG_ESP_DOWNGRADE_PREVENTION` (mcuboot_config.h).
            DowngradePrevention::Off
        };
        let signature = if config.is_set("CONFIG_ESP_SIGN_RSA") {
            match config.get("CONFIG_ESP_SIGN_RSA_LEN").unwrap_or("2048") {
                "2048" => Signature::Rsa2048,
                "3072" => Signature::Rsa3072,
                other => {
                    return Err(ConfigError::Value {
                        key: "CONFIG_ESP_SIGN_RSA_LEN".into(),
                        value: other.into(),
                        expected: "2048 or 3072",
                    })
                }
            }
        } else if config.is_set("CONFIG_ESP_SIGN_EC256") {
            Signature::Ec256
        } else if config.is_set("CONFIG_ESP_SIGN_ED25519") {
            Signature::Ed25519
        } else {
            Signature::None
        };
        let image_number = config.number("CONFIG_ESP_IMAGE_NUMBER")?.unwrap_or(1);
        if !(1..=2).contains(&image_number) {
            return Err(ConfigError::Value {
                key: "CONFIG_ESP_IMAGE_NUMBER".into(),
                value: image_number.to_string(),
                expected: "1 or 2",
            });
        }
        let app_size = config.required("CONFIG_ESP_APPLICATION_SIZE")?;
        let slot = |key: &'static str| -> Result<Span, ConfigError> {
            Ok(Span {
                offset: config.required(key)?,
                size: app_size,
            })
        };
        let mut images = vec![SlotPair {
            primary: slot("CONFIG_ESP_IMAGE0_PRIMARY_START_ADDRESS")?,
            secondary: slot("CONFIG_ESP_IMAGE0_SECONDARY_START_ADDRESS")?,
        }];
        if image_number == 2 {
            images.push(SlotPair {
                primary: slot("CONFIG_ESP_IMAGE1_PRIMARY_START_ADDRESS")?,
                secondary: slot("CONFIG_ESP_IMAGE1_SECONDARY_START_ADDRESS")?,
            });
        }
        let scratch = match strategy {
            UpgradeStrategy::SwapScratch => Some(Span {
                offset: config.required("CONFIG_ESP_SCRATCH_OFFSET")?,
                size: config.required("CONFIG_ESP_SCRATCH_SIZE")?,
            }),
            _ => None,
        };
        let bootloader = Span {
            offset: config.number("CONFIG_ESP_BOOTLOADER_OFFSET")?.unwrap_or(0),
            size: config.required("CONFIG_ESP_BOOTLOADER_SIZE")?,
        };
        let encrypted = config.is_set("CONFIG_SECURE_FLASH_ENC_ENABLED");
        let map = FlashMap {
            flash_size,
            sector_size: ESP_SECTOR_SIZE,
            bootloader,
            images,
            scratch,
            strategy,
            downgrade,
            signature,
            write_size: if encrypted {
                ESP_ENCRYPTED_ALIGN
            } else {
                ESP_WRITE_SIZE
            },
            max_align: if encrypted {
                ESP_ENCRYPTED_ALIGN
            } else {
                DEFAULT_MAX_ALIGN
            },
            erased_val: 0xff,
            max_sectors: ESP_MAX_IMG_SECTORS,
        };
        map.validate()?;
        Ok(map)
    }

    /// Every region with its name, for validation and counters.
    pub fn regions(&self) -> Vec<(String, Span)> {
        let mut out = vec![("bootloader".to_string(), self.bootloader)];
        for (i, pair) in self.images.iter().enumerate() {
            out.push((format!("image {i} primary slot"), pair.primary));
            out.push((format!("image {i} secondary slot"), pair.secondary));
        }
        if let Some(scratch) = self.scratch {
            out.push(("scratch".to_string(), scratch));
        }
        out
    }

    /// Checks that regions are non-empty, inside the flash, on sector
    /// boundaries (slots and scratch) and pairwise disjoint.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let regions = self.regions();
        for (name, span) in &regions {
            if span.end() > u64::from(self.flash_size) {
                return Err(ConfigError::BeyondFlash {
                    name: name.clone(),
                    range: *span,
                    flash_size: self.flash_size,
                });
            }
            if name != "bootloader"
                && (span.size == 0
                    || span.offset % self.sector_size != 0
                    || span.size % self.sector_size != 0)
            {
                return Err(ConfigError::Unaligned {
                    name: name.clone(),
                    range: *span,
                    sector: self.sector_size,
                });
            }
        }
        for (i, (a, sa)) in regions.iter().enumerate() {
            for (b, sb) in &regions[i + 1..] {
                if sa.overlaps(sb) {
                    return Err(ConfigError::Overlap {
                        a: a.clone(),
                        a_range: *sa,
                        b: b.clone(),
                        b_range: *sb,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn target_chip_is_the_chip_of_the_same_name() {
        for target in Target::ALL {
            let by_name: Option<esp_image::Chip> = target.name().parse().ok();
            assert_eq!(target.chip(), by_name, "{}", target.name());
        }
        assert_eq!(Target::ALL.iter().filter(|t| t.chip().is_some()).count(), 7);
    }

    fn parse(text: &str) -> ConfigFile {
        let mut c = ConfigFile::default();
        c.apply_str(text, Path::new("/cfg/bootloader.conf"))
            .unwrap();
        c
    }

    #[test]
    fn parser_follows_the_port_cmake_rules() {
        let c = parse(
            "# comment\n  CONFIG_A=y\nCONFIG_B=0x10 # trailing comment drops the line\n\
             CONFIG_C=N\nCONFIG_D=Y\nCONFIG_E=hello world\n\n",
        );
        assert_eq!(c.get("CONFIG_A"), Some("1"));
        assert_eq!(c.get("CONFIG_B"), None);
        assert!(!c.is_set("CONFIG_C"));
        assert_eq!(c.get("CONFIG_D"), Some("1"));
        assert_eq!(c.get("CONFIG_E"), Some("hello world"));
    }

    #[test]
    fn later_files_override_and_n_undefines() {
        let mut c = Target::Esp32c3.default_config();
        c.apply_str(
            "CONFIG_ESP_BOOT_SWAP_USING_MOVE=y\nCONFIG_ESP_MCUBOOT_WDT_ENABLE=n\nCONFIG_ESP_APPLICATION_SIZE=0x100000\n",
            Path::new("a.conf"),
        )
        .unwrap();
        assert!(!c.is_set("CONFIG_ESP_MCUBOOT_WDT_ENABLE"));
        let map = FlashMap::resolve(&c, None).unwrap();
        assert_eq!(map.strategy, UpgradeStrategy::SwapMove);
        assert_eq!(map.images[0].primary.size, 0x100000);
        assert_eq!(map.scratch, None);
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let mut c = ConfigFile::default();
        let e = c
            .apply_str("CONFIG_A=1\nnot a key\n", Path::new("x.conf"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.conf:2: expected NAME=VALUE, found \"not a key\""
        );
        let e = c
            .apply_str(
                "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=\n",
                Path::new("k"),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "k:1: expected a CONFIG_<NAME>=VALUE option, found \"ABEiM0RVZneImaq7...\""
        );
        assert!(c.apply_str("CONFIG_A B=1\n", Path::new("k")).is_err());
        assert!(c.apply_str("CONFIG_=1\n", Path::new("k")).is_err());
    }

    #[test]
    fn esp32c3_defaults_match_the_port() {
        let map = FlashMap::resolve(&Target::Esp32c3.default_config(), None).unwrap();
        assert_eq!(map.flash_size, 0x400000);
        assert_eq!(map.strategy, UpgradeStrategy::SwapScratch);
        assert_eq!(map.images.len(), 1);
        assert_eq!(
            map.images[0].primary,
            Span {
                offset: 0x20000,
                size: 0x1C0000
            }
        );
        assert_eq!(
            map.images[0].secondary,
            Span {
                offset: 0x1E0000,
                size: 0x1C0000
            }
        );
        assert_eq!(
            map.scratch,
            Some(Span {
                offset: 0x3E0000,
                size: 0x1F000
            })
        );
        assert_eq!(
            (map.write_size, map.max_align, map.max_sectors),
            (4, 8, 512)
        );
        for name in Target::NAMES {
            let t: Target = name.parse().unwrap();
            assert_eq!(t.name(), name);
            FlashMap::resolve(&t.default_config(), None).unwrap();
        }
    }

    #[test]
    fn overlapping_slots_are_named() {
        let mut c = Target::Esp32c3.default_config();
        c.apply_str(
            "CONFIG_ESP_IMAGE0_SECONDARY_START_ADDRESS=0x100000\n",
            Path::new("o.conf"),
        )
        .unwrap();
        let e = FlashMap::resolve(&c, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "image 0 primary slot 0x20000..0x1e0000 overlaps image 0 secondary slot 0x100000..0x2c0000"
        );
    }

    #[test]
    fn slot_beyond_flash_is_named() {
        let e = FlashMap::resolve(&Target::Esp32c3.default_config(), Some(2 << 20)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "image 0 secondary slot 0x1e0000..0x3a0000 ends beyond the flash size 0x200000"
        );
    }

    #[test]
    fn multi_image_and_signing_keys() {
        let mut c = Target::Esp32.default_config();
        c.apply_str(
            "CONFIG_ESP_IMAGE_NUMBER=2\nCONFIG_ESP_APPLICATION_SIZE=0x80000\n\
             CONFIG_ESP_IMAGE0_PRIMARY_START_ADDRESS=0x10000\nCONFIG_ESP_IMAGE0_SECONDARY_START_ADDRESS=0x90000\n\
             CONFIG_ESP_IMAGE1_PRIMARY_START_ADDRESS=0x110000\nCONFIG_ESP_IMAGE1_SECONDARY_START_ADDRESS=0x190000\n\
             CONFIG_ESP_SCRATCH_OFFSET=0x210000\nCONFIG_ESP_SCRATCH_SIZE=0x40000\n\
             CONFIG_ESP_SIGN_RSA=y\nCONFIG_ESP_SIGN_RSA_LEN=3072\nCONFIG_ESP_SIGN_KEY_FILE=keys/root.pem\n\
             CONFIG_ESP_DOWNGRADE_PREVENTION=y\nCONFIG_ESP_DOWNGRADE_PREVENTION_SECURITY_COUNTER=y\n",
            Path::new("/cfg/multi.conf"),
        )
        .unwrap();
        let map = FlashMap::resolve(&c, None).unwrap();
        assert_eq!(map.images.len(), 2);
        assert_eq!(map.images[1].secondary.offset, 0x190000);
        assert_eq!(map.signature, Signature::Rsa3072);
        assert_eq!(map.downgrade, DowngradePrevention::SecurityCounter);
        assert_eq!(c.sign_key_file(), Some(PathBuf::from("/cfg/keys/root.pem")));
    }

    #[test]
    fn embedded_keys_name_the_key_file() {
        let dir = std::env::temp_dir().join(format!("espboot-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("junk.pem"), "not a key").unwrap();
        let mut c = Target::Esp32c3.default_config();
        assert_eq!(c.embedded_keys().unwrap(), vec![]);
        c.apply_str(
            "CONFIG_ESP_SIGN_KEY_FILE=missing.pem\n",
            &dir.join("a.conf"),
        )
        .unwrap();
        let e = c.embedded_keys().unwrap_err();
        assert!(matches!(e, ConfigError::KeyFile { .. }), "{e}");
        assert!(e.to_string().contains("missing.pem"), "{e}");
        c.apply_str("CONFIG_ESP_SIGN_KEY_FILE=junk.pem\n", &dir.join("a.conf"))
            .unwrap();
        let e = c.embedded_keys().unwrap_err();
        assert!(matches!(e, ConfigError::BadKey { .. }), "{e}");
        assert!(e.to_string().contains("junk.pem"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn flash_sizes() {
        assert_eq!(parse_flash_size("4MB"), Some(0x400000));
        assert_eq!(parse_flash_size("16m"), Some(0x1000000));
        assert_eq!(parse_flash_size("512KB"), Some(0x80000));
        assert_eq!(parse_flash_size("0x200000"), Some(0x200000));
        assert_eq!(parse_flash_size("lots"), None);
        assert_eq!(parse_flash_size("0MB"), None);
    }

    #[test]
    fn two_upgrade_modes_conflict() {
        let mut c = Target::Esp32c3.default_config();
        c.apply_str(
            "CONFIG_ESP_BOOT_SWAP_USING_MOVE=y\nCONFIG_ESP_BOOT_UPGRADE_ONLY=y\n",
            Path::new("c"),
        )
        .unwrap();
        assert!(matches!(
            FlashMap::resolve(&c, None),
            Err(ConfigError::Conflict(_))
        ));
    }
}
