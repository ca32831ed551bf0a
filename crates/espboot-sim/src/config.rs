//! `bootloader.conf`: the Espressif port's `KEY=VALUE` configuration, its
//! per-target defaults, and the resolved flash map.
//!
//! Parsing follows `boot/espressif/tools/utils.cmake`
//! (`parse_and_set_config_file`, mcuboot.md §7): a line containing `#`
//! anywhere is ignored, leading spaces are dropped, the name runs to the first
//! `=`, `y`/`Y` means `1` and `n`/`N` un-defines the key; a later file
//! overrides keys of earlier ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::device::{embedded_key_der, EmbeddedKey};

mod flash_map;
pub mod security;
pub mod serial_recovery;
mod target;
pub use flash_map::{
    FlashMap, Signature, SlotPair, Span, DEFAULT_MAX_ALIGN, ESP_ENCRYPTED_ALIGN,
    ESP_MAX_IMG_SECTORS, ESP_SECTOR_SIZE, ESP_WRITE_SIZE,
};
pub use security::{
    FlashEncryptionConfig, GeneratedKey, RomDownload, SecureBootConfig, SecurityConfig,
};
pub use serial_recovery::{DetectPin, RecoveryPort, SerialRecovery};
pub use target::Target;

/// Errors reading or resolving a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A non-comment line without `NAME=VALUE` shape.
    #[error("{path}:{line}: expected NAME=VALUE, found {text:?}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line number (from 1).
        line: usize,
        /// The line as found.
        text: String,
    },
    /// A `NAME=VALUE` line whose name is no `CONFIG_` option name (a key
    /// or other data given as `--config`): only a short prefix is quoted.
    #[error("{path}:{line}: expected a CONFIG_<NAME>=VALUE option, found {text:?}")]
    Name {
        /// The file.
        path: PathBuf,
        /// The line number (from 1).
        line: usize,
        /// At most [`QUOTE_LIMIT`] characters of the line.
        text: String,
    },
    /// A key whose value is not what it should be.
    #[error("{key}={value}: expected {expected}")]
    Value {
        /// The option name.
        key: String,
        /// Its value.
        value: String,
        /// What was expected.
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
        /// The first region.
        a: String,
        /// Its range.
        a_range: Span,
        /// The second region.
        b: String,
        /// Its range.
        b_range: Span,
    },
    /// A region does not fit in the flash.
    #[error("{name} {range} ends beyond the flash size {flash_size:#x}")]
    BeyondFlash {
        /// The region.
        name: String,
        /// Its range.
        range: Span,
        /// The flash size.
        flash_size: u32,
    },
    /// A region not on sector boundaries.
    #[error("{name} {range} is not aligned to the {sector:#x}-byte flash sectors")]
    Unaligned {
        /// The region.
        name: String,
        /// Its range.
        range: Span,
        /// The sector size.
        sector: u32,
    },
    /// A feature of the port the simulator does not model.
    #[error("{0} is not supported by the simulator")]
    Unsupported(&'static str),
    /// Conflicting keys.
    #[error("{a} and {b} both select an upgrade mode; set only one")]
    Conflict {
        /// The first option.
        a: &'static str,
        /// The second option.
        b: &'static str,
    },
    /// `CONFIG_ESP_SIGN_KEY_FILE` could not be read.
    #[error("cannot read signing key {path}: {source}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `CONFIG_ESP_SIGN_KEY_FILE` is not a key imgtool could read.
    #[error("signing key {path}: {reason}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use mcuboot_boot::{DowngradePrevention, UpgradeStrategy};

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
            Err(ConfigError::Conflict { .. })
        ));
    }
}
