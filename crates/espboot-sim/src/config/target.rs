//! The Espressif targets of the port and their defaults.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ConfigError, ConfigFile};

/// The Espressif targets of the port (`boot/espressif/port/<target>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Target {
    /// ESP32.
    Esp32,
    /// ESP32-S2.
    Esp32s2,
    /// ESP32-S3.
    Esp32s3,
    /// ESP32-C2 (ESP8684).
    Esp32c2,
    /// ESP32-C3.
    Esp32c3,
    /// ESP32-C5 (no chip model).
    Esp32c5,
    /// ESP32-C6.
    Esp32c6,
    /// ESP32-C61 (no chip model).
    Esp32c61,
    /// ESP32-H2.
    Esp32h2,
    /// ESP32-P4 (no chip model).
    Esp32p4,
}

impl Target {
    /// Names as the port spells them.
    pub const NAMES: [&'static str; 10] = [
        "esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c5", "esp32c6", "esp32c61",
        "esp32h2", "esp32p4",
    ];
    pub(crate) const ALL: [Target; 10] = [
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
