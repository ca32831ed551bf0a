//! The security options of `bootloader.conf`, resolved once into types
//! (as [`super::FlashMap`] is for the flash layout), so the chip code asks
//! typed questions instead of looking up `CONFIG_…` names. The names and
//! their meaning are the port's Kconfig options (mcuboot.md §7; the
//! first-boot code in `boot/espressif/hal/src/secure_boot.c` and
//! `flash_encrypt.c` at MCUboot 2d4bacc3).

use super::ConfigFile;

/// `CONFIG_SECURE_BOOT` / `CONFIG_SECURE_BOOT_V2_ENABLED`: the port enables
/// Secure Boot V2 at its first boot.
pub const KEY_SECURE_BOOT: &str = "CONFIG_SECURE_BOOT";
/// The Secure Boot V2 flavour of [`KEY_SECURE_BOOT`].
pub const KEY_SECURE_BOOT_V2: &str = "CONFIG_SECURE_BOOT_V2_ENABLED";
/// Leave JTAG enabled when Secure Boot is enabled.
pub const KEY_ALLOW_JTAG: &str = "CONFIG_SECURE_BOOT_ALLOW_JTAG";
/// Leave the ROM BASIC console enabled when Secure Boot is enabled.
pub const KEY_ALLOW_ROM_BASIC: &str = "CONFIG_SECURE_BOOT_ALLOW_ROM_BASIC";
/// Burn aggressive key revocation with Secure Boot.
pub const KEY_AGGRESSIVE_REVOKE: &str = "CONFIG_SECURE_BOOT_ENABLE_AGGRESSIVE_KEY_REVOKE";
/// Disable the ROM download mode at the first boot.
pub const KEY_DISABLE_ROM_DL: &str = "CONFIG_SECURE_DISABLE_ROM_DL_MODE";
/// Restrict the ROM download mode to Secure Download Mode.
pub const KEY_SECURE_ROM_DL: &str = "CONFIG_SECURE_ENABLE_SECURE_ROM_DL_MODE";
/// ESP32-C2: burn the Secure Boot digest and the flash-encryption key in one
/// batch (they share the chip's one key block).
pub const KEY_BURN_TOGETHER: &str = "CONFIG_SECURE_BOOT_FLASH_ENC_KEYS_BURN_TOGETHER";
/// The port enables flash encryption at its first boot.
pub const KEY_FLASH_ENC: &str = "CONFIG_SECURE_FLASH_ENC_ENABLED";
/// Release mode (else development mode).
pub const KEY_FLASH_ENC_RELEASE: &str = "CONFIG_SECURE_FLASH_ENCRYPTION_MODE_RELEASE";
/// A generated key of 128 bits, derived to 256 (ESP32-C2).
pub const KEY_FLASH_ENC_AES128_DERIVED: &str = "CONFIG_SECURE_FLASH_ENCRYPTION_AES128_DERIVED";
/// A generated 512-bit XTS-AES-256 key (ESP32-S3 and others).
pub const KEY_FLASH_ENC_AES256: &str = "CONFIG_SECURE_FLASH_ENCRYPTION_AES256";
/// Development mode: keep the ROM loader's manual encryption.
pub const KEY_UART_ALLOW_ENC: &str = "CONFIG_SECURE_FLASH_UART_BOOTLOADER_ALLOW_ENC";
/// Development mode: keep the ROM loader's decryption of reads.
pub const KEY_UART_ALLOW_DEC: &str = "CONFIG_SECURE_FLASH_UART_BOOTLOADER_ALLOW_DEC";
/// Development mode: keep the ROM loader's flash cache.
pub const KEY_UART_ALLOW_CACHE: &str = "CONFIG_SECURE_FLASH_UART_BOOTLOADER_ALLOW_CACHE";
/// Load image 1 on the second CPU (`CONFIG_ESP_MULTI_PROCESSOR_BOOT`).
pub const KEY_MULTI_PROCESSOR_BOOT: &str = "CONFIG_ESP_MULTI_PROCESSOR_BOOT";

/// What the first boot does to the ROM download mode with Secure Boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RomDownload {
    /// Left as it is.
    Keep,
    /// Restricted to Secure Download Mode.
    Secure,
    /// Disabled.
    Disable,
}

/// The flash-encryption key the port generates when the host burned none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GeneratedKey {
    /// The chip's default length (256 bits).
    Default,
    /// 128 bits derived to 256 (`…_AES128_DERIVED`), where the chip has it.
    Aes128Derived,
    /// 512 bits, XTS-AES-256 (`…_AES256`), where the chip has it.
    Aes256,
}

/// Flash encryption as the first boot enables it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlashEncryptionConfig {
    /// Release mode: every ROM loader path to plaintext is closed and the
    /// crypt counter write-protected.
    pub release: bool,
    /// The key generated when none is burned (a Kconfig choice: at most
    /// one of its options is set; the first checked wins).
    pub generated_key: GeneratedKey,
    /// Development mode only: the ROM loader may still encrypt writes.
    pub uart_allow_encrypt: bool,
    /// Development mode only: the ROM loader may still decrypt reads.
    pub uart_allow_decrypt: bool,
    /// Development mode only: the ROM loader may still use the cache.
    pub uart_allow_cache: bool,
}

/// Secure Boot V2 as the first boot enables it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecureBootConfig {
    /// JTAG stays enabled.
    pub allow_jtag: bool,
    /// The ROM BASIC console stays enabled.
    pub allow_rom_basic: bool,
    /// Aggressive key revocation is burned.
    pub aggressive_revoke: bool,
    /// ESP32-C2: digest and flash-encryption key in one batch.
    pub keys_burn_together: bool,
    /// The ROM download mode after the first boot.
    pub rom_download: RomDownload,
}

/// The security options of a merged configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityConfig {
    /// Secure Boot V2, when the configuration enables it.
    pub secure_boot: Option<SecureBootConfig>,
    /// Flash encryption, when the configuration enables it.
    pub flash_encryption: Option<FlashEncryptionConfig>,
    /// Image 1 runs on the second CPU.
    pub multi_processor_boot: bool,
}

impl SecurityConfig {
    /// Reads the options from `config` (a key counts when it is set).
    pub fn resolve(config: &ConfigFile) -> SecurityConfig {
        let set = |key| config.is_set(key);
        let secure_boot = (set(KEY_SECURE_BOOT) || set(KEY_SECURE_BOOT_V2)).then(|| {
            SecureBootConfig {
                allow_jtag: set(KEY_ALLOW_JTAG),
                allow_rom_basic: set(KEY_ALLOW_ROM_BASIC),
                aggressive_revoke: set(KEY_AGGRESSIVE_REVOKE),
                keys_burn_together: set(KEY_BURN_TOGETHER),
                // the port checks "disable" first
                rom_download: if set(KEY_DISABLE_ROM_DL) {
                    RomDownload::Disable
                } else if set(KEY_SECURE_ROM_DL) {
                    RomDownload::Secure
                } else {
                    RomDownload::Keep
                },
            }
        });
        let flash_encryption = set(KEY_FLASH_ENC).then(|| FlashEncryptionConfig {
            release: set(KEY_FLASH_ENC_RELEASE),
            generated_key: if set(KEY_FLASH_ENC_AES128_DERIVED) {
                GeneratedKey::Aes128Derived
            } else if set(KEY_FLASH_ENC_AES256) {
                GeneratedKey::Aes256
            } else {
                GeneratedKey::Default
            },
            uart_allow_encrypt: set(KEY_UART_ALLOW_ENC),
            uart_allow_decrypt: set(KEY_UART_ALLOW_DEC),
            uart_allow_cache: set(KEY_UART_ALLOW_CACHE),
        });
        SecurityConfig {
            secure_boot,
            flash_encryption,
            multi_processor_boot: set(KEY_MULTI_PROCESSOR_BOOT),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Target;
    use std::path::Path;

    fn resolve(text: &str) -> SecurityConfig {
        let mut config = Target::Esp32c3.default_config();
        config.apply_str(text, Path::new("t.conf")).unwrap();
        SecurityConfig::resolve(&config)
    }

    #[test]
    fn defaults_enable_nothing() {
        let s = resolve("");
        assert_eq!(s.secure_boot, None);
        assert_eq!(s.flash_encryption, None);
        assert!(!s.multi_processor_boot);
    }

    #[test]
    fn options_resolve_to_their_types() {
        let s = resolve(
            "CONFIG_SECURE_BOOT_V2_ENABLED=y\nCONFIG_SECURE_DISABLE_ROM_DL_MODE=y\n\
             CONFIG_SECURE_ENABLE_SECURE_ROM_DL_MODE=y\nCONFIG_SECURE_BOOT_ALLOW_JTAG=y\n\
             CONFIG_SECURE_FLASH_ENC_ENABLED=y\nCONFIG_SECURE_FLASH_ENCRYPTION_AES256=y\n\
             CONFIG_SECURE_FLASH_UART_BOOTLOADER_ALLOW_DEC=y\n",
        );
        let sb = s.secure_boot.unwrap();
        assert_eq!(sb.rom_download, RomDownload::Disable, "disable wins");
        assert!(sb.allow_jtag && !sb.allow_rom_basic && !sb.aggressive_revoke);
        let fe = s.flash_encryption.unwrap();
        assert_eq!(fe.generated_key, GeneratedKey::Aes256);
        assert!(!fe.release && fe.uart_allow_decrypt && !fe.uart_allow_encrypt);
    }
}
