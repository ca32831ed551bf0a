//! The serial-recovery keys of `bootloader.conf` (mcuboot.md §7, seed 000
//! "Serial recovery mode"; defaults from
//! `boot/espressif/port/serial_adapter.c:34-146` at MCUboot 2d4bacc3).

use serde::{Deserialize, Serialize};

use super::{ConfigError, ConfigFile, Target};

/// `CONFIG_ESP_MCUBOOT_SERIAL`: the bootloader is built with serial
/// recovery (`boot_serial.c`; `mcuboot_config.h:194-196`).
pub const KEY_SERIAL: &str = "CONFIG_ESP_MCUBOOT_SERIAL";
/// Recovery on the USB Serial/JTAG port instead of a UART.
pub const KEY_USB_SERIAL_JTAG: &str = "CONFIG_ESP_MCUBOOT_SERIAL_USB_SERIAL_JTAG";
/// `MCUBOOT_ERASE_PROGRESSIVELY` (`mcuboot_config.h:206-208`).
pub const KEY_ERASE_PROGRESSIVELY: &str = "CONFIG_ESP_MCUBOOT_ERASE_PROGRESSIVELY";
/// espboot's own key, not MCUboot's: the recovery behaves as if the build
/// defined `MCUBOOT_BOOT_MGMT_ECHO`, `MCUBOOT_BOOT_MGMT_MCUMGR_PARAMS`,
/// `MCUBOOT_SERIAL_IMG_GRP_IMAGE_STATE`, `MCUBOOT_SERIAL_IMG_GRP_HASH` and
/// `MCUBOOT_SERIAL_IMG_GRP_SLOT_INFO`, which the Espressif port does not
/// (serial.md §6.3). The real port's bootloader ignores it.
pub const KEY_FULL: &str = "CONFIG_ESP_MCUBOOT_SERIAL_FULL";

/// Where the recovery protocol is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RecoveryPort {
    /// A UART (`CONFIG_ESP_SERIAL_BOOT_UART_NUM`, default 1) on the given pins.
    Uart {
        /// UART number.
        num: u32,
        /// RX pin.
        rx_gpio: u32,
        /// TX pin.
        tx_gpio: u32,
    },
    /// The chip's USB Serial/JTAG controller.
    UsbSerialJtag,
}

/// The pin that selects recovery at boot (`boot_serial_detect_pin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectPin {
    /// `CONFIG_ESP_SERIAL_BOOT_GPIO_DETECT`.
    pub gpio: u32,
    /// `CONFIG_ESP_SERIAL_BOOT_GPIO_INPUT_TYPE`: 1 pull-up, 0 pull-down.
    pub pull_up: bool,
    /// `CONFIG_ESP_SERIAL_BOOT_GPIO_DETECT_VAL`: the level that means "held".
    pub level: u32,
    /// `CONFIG_ESP_SERIAL_BOOT_DETECT_DELAY_S`: how long it must be held.
    pub delay_s: u32,
}

/// The serial-recovery settings of a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialRecovery {
    /// `CONFIG_ESP_MCUBOOT_SERIAL`.
    pub enabled: bool,
    /// UART or USB Serial/JTAG.
    pub port: RecoveryPort,
    /// `CONFIG_ESP_SERIAL_BOOT_BAUDRATE` (115200).
    pub baud: u32,
    /// The detect pin.
    pub detect: DetectPin,
    /// `CONFIG_ESP_MCUBOOT_ERASE_PROGRESSIVELY`.
    pub erase_progressively: bool,
    /// [`KEY_FULL`].
    pub full: bool,
}

/// Per-target default (detect, RX, TX) pins of `serial_adapter.c`.
fn default_pins(target: Target) -> (u32, u32, u32) {
    match target {
        Target::Esp32 => (5, 8, 9),
        Target::Esp32s2 | Target::Esp32s3 => (5, 18, 17),
        Target::Esp32c2 => (18, 2, 3),
        Target::Esp32c3 => (5, 8, 9),
        Target::Esp32c5 | Target::Esp32c6 | Target::Esp32c61 => (3, 10, 11),
        Target::Esp32p4 => (3, 5, 6),
        Target::Esp32h2 => (12, 10, 11),
    }
}

impl ConfigFile {
    /// The serial-recovery settings for `target`, with the port's defaults
    /// for keys that are not set.
    ///
    /// # Errors
    /// [`ConfigError::Value`] for a key that is not a number.
    pub fn serial_recovery(&self, target: Target) -> Result<SerialRecovery, ConfigError> {
        let (detect, rx, tx) = default_pins(target);
        let num = |key: &'static str, default: u32| -> Result<u32, ConfigError> {
            Ok(self.number(key)?.unwrap_or(default))
        };
        let port = if self.is_set(KEY_USB_SERIAL_JTAG) {
            RecoveryPort::UsbSerialJtag
        } else {
            RecoveryPort::Uart {
                num: num("CONFIG_ESP_SERIAL_BOOT_UART_NUM", 1)?,
                rx_gpio: num("CONFIG_ESP_SERIAL_BOOT_GPIO_RX", rx)?,
                tx_gpio: num("CONFIG_ESP_SERIAL_BOOT_GPIO_TX", tx)?,
            }
        };
        Ok(SerialRecovery {
            enabled: self.is_set(KEY_SERIAL),
            port,
            baud: num("CONFIG_ESP_SERIAL_BOOT_BAUDRATE", 115_200)?,
            detect: DetectPin {
                gpio: num("CONFIG_ESP_SERIAL_BOOT_GPIO_DETECT", detect)?,
                pull_up: num("CONFIG_ESP_SERIAL_BOOT_GPIO_INPUT_TYPE", 0)? == 1,
                level: num("CONFIG_ESP_SERIAL_BOOT_GPIO_DETECT_VAL", 1)?,
                delay_s: num("CONFIG_ESP_SERIAL_BOOT_DETECT_DELAY_S", 5)?,
            },
            erase_progressively: self.is_set(KEY_ERASE_PROGRESSIVELY),
            full: self.is_set(KEY_FULL),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn seed_000_example_and_defaults() {
        let mut c = Target::Esp32.default_config();
        let off = c.serial_recovery(Target::Esp32).unwrap();
        assert!(!off.enabled);
        assert_eq!(
            off.port,
            RecoveryPort::Uart {
                num: 1,
                rx_gpio: 8,
                tx_gpio: 9
            }
        );
        c.apply_str(
            "CONFIG_ESP_MCUBOOT_SERIAL=y\nCONFIG_ESP_SERIAL_BOOT_GPIO_DETECT=32\n\
             CONFIG_ESP_SERIAL_BOOT_GPIO_INPUT_TYPE=0\nCONFIG_ESP_SERIAL_BOOT_GPIO_DETECT_VAL=1\n\
             CONFIG_ESP_SERIAL_BOOT_DETECT_DELAY_S=5\nCONFIG_ESP_SERIAL_BOOT_UART_NUM=1\n\
             CONFIG_ESP_SERIAL_BOOT_GPIO_RX=25\nCONFIG_ESP_SERIAL_BOOT_GPIO_TX=26\n",
            Path::new("seed.conf"),
        )
        .unwrap();
        let on = c.serial_recovery(Target::Esp32).unwrap();
        assert!(on.enabled && !on.erase_progressively && !on.full);
        assert_eq!(
            on.port,
            RecoveryPort::Uart {
                num: 1,
                rx_gpio: 25,
                tx_gpio: 26
            }
        );
        assert_eq!(
            (on.detect.gpio, on.detect.level, on.detect.delay_s),
            (32, 1, 5)
        );
        assert_eq!(on.baud, 115_200);

        let mut c = Target::Esp32c3.default_config();
        c.apply_str(
            "CONFIG_ESP_MCUBOOT_SERIAL=y\nCONFIG_ESP_MCUBOOT_SERIAL_USB_SERIAL_JTAG=y\n\
             CONFIG_ESP_MCUBOOT_ERASE_PROGRESSIVELY=y\nCONFIG_ESP_MCUBOOT_SERIAL_FULL=y\n\
             CONFIG_ESP_SERIAL_BOOT_BAUDRATE=lots\n",
            Path::new("c3.conf"),
        )
        .unwrap();
        assert!(matches!(
            c.serial_recovery(Target::Esp32c3),
            Err(ConfigError::Value { .. })
        ));
        c.apply_str(
            "CONFIG_ESP_SERIAL_BOOT_BAUDRATE=115200\n",
            Path::new("c3.conf"),
        )
        .unwrap();
        let r = c.serial_recovery(Target::Esp32c3).unwrap();
        assert_eq!(r.port, RecoveryPort::UsbSerialJtag);
        assert!(r.erase_progressively && r.full);
        assert_eq!(r.detect.gpio, 5);
    }
}
