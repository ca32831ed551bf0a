//! What the ROM and the hardware read from the eFuses: flash-encryption
//! and Secure Boot state, the download mode, key blocks by purpose, and the
//! flash-encryption key the AES block uses. For the virtual chip; which
//! field means what on each chip comes from [`crate::policy`].

use zeroize::Zeroizing;

use crate::error::EfuseError;
use crate::model::Efuses;
use crate::policy::{self, FlashKeyLength};
use crate::tables::{Chip, ChipEfuses, Field, KeyPurpose};

/// A key block and the purpose it was burned for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySlot {
    /// Block number.
    pub block: usize,
    /// Purpose (None on ESP32, whose blocks have fixed roles).
    pub purpose: Option<KeyPurpose>,
}

/// What the ROM's serial download mode still allows (esptool.md §4;
/// `DIS_DOWNLOAD_MODE`, ESP32 `UART_DOWNLOAD_DIS`, `ENABLE_SECURITY_DOWNLOAD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadMode {
    /// Full download mode: esptool reads and writes flash.
    Enabled,
    /// Secure download mode: flash writes only, no reads.
    Secure,
    /// Download mode disabled: no esptool access at all.
    Disabled,
}

impl DownloadMode {
    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            DownloadMode::Enabled => "enabled",
            DownloadMode::Secure => "secure",
            DownloadMode::Disabled => "disabled",
        }
    }
}

/// What the ROM's GET_SECURITY_INFO reports (serial.md §3.2;
/// `et:loader.py:1264-1336`, `et:cmds.py:2735-2812`), derived from the
/// eFuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityInfo {
    /// The flag word ([`SecurityInfo::SECURE_BOOT_EN`] ...).
    pub flags: u32,
    /// The raw crypt counter (`SPI_BOOT_CRYPT_CNT`).
    pub flash_crypt_cnt: u8,
    /// `KEY_PURPOSE_0..5` raw values; the 7th byte is 0.
    pub key_purposes: [u8; 7],
}

impl SecurityInfo {
    /// `SECURE_BOOT_EN`.
    pub const SECURE_BOOT_EN: u32 = 1 << 0;
    /// `SECURE_BOOT_AGGRESSIVE_REVOKE`.
    pub const SECURE_BOOT_AGGRESSIVE_REVOKE: u32 = 1 << 1;
    /// `ENABLE_SECURITY_DOWNLOAD`: Secure Download Mode.
    pub const SECURE_DOWNLOAD_ENABLE: u32 = 1 << 2;
    /// `SECURE_BOOT_KEY_REVOKE0` (1 and 2 follow).
    pub const SECURE_BOOT_KEY_REVOKE0: u32 = 1 << 3;
    /// `SOFT_DIS_JTAG` (odd number of bits set).
    pub const SOFT_DIS_JTAG: u32 = 1 << 6;
    /// `DIS_PAD_JTAG`.
    pub const HARD_DIS_JTAG: u32 = 1 << 7;
    /// `DIS_USB_OTG` (S2/S3), `DIS_USB_JTAG` (C3/C6/H2), `DIS_USB`; the
    /// ROM's mapping is not published and esptool only prints it.
    pub const DIS_USB: u32 = 1 << 8;
    /// `DIS_DOWNLOAD_DCACHE`.
    pub const DIS_DOWNLOAD_DCACHE: u32 = 1 << 9;
    /// `DIS_DOWNLOAD_ICACHE`.
    pub const DIS_DOWNLOAD_ICACHE: u32 = 1 << 10;
}

impl Efuses {
    /// The flash-encryption counter (`SPI_BOOT_CRYPT_CNT`, ESP32 `FLASH_CRYPT_CNT`).
    pub fn flash_crypt_cnt(&self) -> u64 {
        self.raw_present(policy::crypt_counter(self.chip()))
    }

    /// Flash encryption is on when an odd number of counter bits is set
    /// (the YAML meanings: 1 and 7 "Enable", 3 "Disable" on 3-bit counters).
    pub fn flash_encryption_enabled(&self) -> bool {
        self.flash_crypt_cnt().count_ones() % 2 == 1
    }

    /// Secure Boot V2 is enforced by the ROM (`SECURE_BOOT_EN`, ESP32 `ABS_DONE_1`).
    pub fn secure_boot_v2_enabled(&self) -> bool {
        self.raw_present(policy::secure_boot_enable(self.chip())) != 0
    }

    /// The download mode the eFuses leave: what the ROM enters at a reset.
    pub fn download_mode(&self) -> DownloadMode {
        if self.download_mode_disabled() {
            DownloadMode::Disabled
        } else if self.secure_download_enabled() {
            DownloadMode::Secure
        } else {
            DownloadMode::Enabled
        }
    }

    /// Secure Download Mode is burned (`ENABLE_SECURITY_DOWNLOAD`; the
    /// ESP32 has none): the ROM answers only the commands serial.md §5.1
    /// lists.
    pub fn secure_download_enabled(&self) -> bool {
        policy::secure_download(self.chip()).is_some_and(|f| self.raw_present(f) != 0)
    }

    /// The serial download protocol is disabled (`DIS_DOWNLOAD_MODE`, ESP32
    /// `UART_DOWNLOAD_DIS`): the ROM does not answer at all.
    pub fn download_mode_disabled(&self) -> bool {
        policy::download_disable(self.chip())
            .iter()
            .any(|f| self.raw_present(*f) != 0)
    }

    /// The download mode a ROM running in `running` switches to when it
    /// re-reads the eFuses after an eFuse read command (serial.md §5.3):
    /// Secure Download Mode and `DIS_DOWNLOAD_MODE` apply at once, the
    /// ESP32's `UART_DOWNLOAD_DIS` only at the next reset
    /// ([`policy::download_mode_takes_effect`]).
    pub fn download_mode_after_read(&self, running: DownloadMode) -> DownloadMode {
        match policy::download_mode_takes_effect(self.chip()) {
            policy::TakesEffect::AtOnce => self.download_mode(),
            policy::TakesEffect::AtReset => running,
        }
    }

    /// Whether esptool's `--encrypt` (the ROM encrypting what it writes) is
    /// still allowed: development-mode flash encryption without
    /// `DIS_DOWNLOAD_MANUAL_ENCRYPT` (ESP32 `DISABLE_DL_ENCRYPT`).
    pub fn manual_encrypt_allowed(&self) -> bool {
        self.raw_present(policy::manual_encrypt_disable(self.chip())) == 0
    }

    /// Whether a flash-encryption key is burned, decided as esptool's
    /// `is_flash_encryption_key_valid` decides it before `write-flash
    /// --encrypt` (`et:targets/esp32.py:134`, `esp32c2.py:164`,
    /// `esp32c3.py:217`, `esp32s3.py:267`, `esp32c6.py:198`): on the ESP32
    /// and the ESP32-C2 the key block is read-protected or reads non-zero
    /// (C2: its low 128 bits unless `XTS_KEY_LENGTH_256`); on the others a
    /// key block has the XTS-AES-128 purpose (S2/S3: or both XTS-AES-256
    /// halves). On eFuses read from a chip, protected blocks read as zeros.
    pub fn flash_encryption_key_burned(&self) -> bool {
        match self.chip() {
            Chip::Esp32 => self.rd_dis() & 1 != 0 || self.block_bytes(1).iter().any(|b| *b != 0),
            Chip::Esp32c2 => {
                let long = self.raw_present(Field::XtsKeyLength256) != 0;
                let (protected, len) = if long { (3, 32) } else { (1, 16) };
                self.rd_dis() & 3 == protected
                    || self.block_bytes(3).iter().take(len).any(|b| *b != 0)
            }
            _ => {
                let has = |p| !self.blocks_with_purpose(p).is_empty();
                has(KeyPurpose::XtsAes128Key)
                    || (has(KeyPurpose::XtsAes256Key1) && has(KeyPurpose::XtsAes256Key2))
            }
        }
    }

    /// The ESP32's `FLASH_CRYPT_CONFIG` as esptool checks it before `--encrypt`
    /// (`get_flash_crypt_config`, `et:targets/esp32.py:157`): 0xF when RD_DIS
    /// bit 3 hides it; `None` on the chips that have none.
    pub fn flash_crypt_config_for_write(&self) -> Option<u64> {
        let field = policy::crypt_config(self.chip())?;
        Some(if self.rd_dis() & 0b1000 != 0 {
            0xF
        } else {
            self.raw_present(field)
        })
    }

    /// The blocks the checks esptool makes before `write-flash` read: BLOCK0
    /// (crypt counter, manual-encryption and Secure Boot flags, key
    /// purposes, read protection), the blocks holding the chip revision
    /// ([`Efuses::chip_revision`]), and the key block
    /// [`Efuses::flash_encryption_key_burned`] reads on the ESP32 (BLOCK1)
    /// and the ESP32-C2 (BLOCK_KEY0). Loading only these
    /// ([`crate::backend::Port::load_blocks`]) costs a few dozen register
    /// reads over a port instead of the whole register image.
    pub fn flash_write_check_blocks(chip: Chip) -> Vec<usize> {
        let efuses = Efuses::new(chip);
        let mut blocks = vec![0];
        for field in [Field::WaferVersionMajor, Field::WaferVersionMinor] {
            if let Ok(def) = efuses.def(field) {
                blocks.push(usize::from(def.block));
            }
        }
        match chip {
            Chip::Esp32 => blocks.push(1),
            Chip::Esp32c2 => blocks.push(3),
            _ => {}
        }
        blocks.sort_unstable();
        blocks.dedup();
        blocks
    }

    /// Secure Boot as esptool's `get_secure_boot_enabled` reads it before
    /// rewriting a bootloader's flash parameters: ESP32 `ABS_DONE_0` or
    /// `ABS_DONE_1`, the others `SECURE_BOOT_EN`.
    pub fn secure_boot_enabled_any(&self) -> bool {
        match self.chip() {
            Chip::Esp32 => {
                self.raw_present(Field::AbsDone0) != 0 || self.raw_present(Field::AbsDone1) != 0
            }
            _ => self.secure_boot_v2_enabled(),
        }
    }

    /// GET_SECURITY_INFO's fields from these eFuses (fields a chip lacks
    /// read as 0, like the ESP32-C2's key purposes).
    pub fn security_info(&self) -> SecurityInfo {
        let set = |f: Field| self.raw_present(f) != 0;
        let mut flags = 0;
        let bits = [
            (Field::SecureBootEn, SecurityInfo::SECURE_BOOT_EN),
            (
                Field::SecureBootAggressiveRevoke,
                SecurityInfo::SECURE_BOOT_AGGRESSIVE_REVOKE,
            ),
            (
                Field::EnableSecurityDownload,
                SecurityInfo::SECURE_DOWNLOAD_ENABLE,
            ),
            (
                Field::SecureBootKeyRevoke0,
                SecurityInfo::SECURE_BOOT_KEY_REVOKE0,
            ),
            (
                Field::SecureBootKeyRevoke1,
                SecurityInfo::SECURE_BOOT_KEY_REVOKE0 << 1,
            ),
            (
                Field::SecureBootKeyRevoke2,
                SecurityInfo::SECURE_BOOT_KEY_REVOKE0 << 2,
            ),
            (Field::DisPadJtag, SecurityInfo::HARD_DIS_JTAG),
            (Field::DisUsbOtg, SecurityInfo::DIS_USB),
            (Field::DisUsbJtag, SecurityInfo::DIS_USB),
            (Field::DisUsb, SecurityInfo::DIS_USB),
            (Field::DisDownloadDcache, SecurityInfo::DIS_DOWNLOAD_DCACHE),
            (Field::DisDownloadIcache, SecurityInfo::DIS_DOWNLOAD_ICACHE),
        ];
        for (field, bit) in bits {
            if self.has(field) && set(field) {
                flags |= bit;
            }
        }
        if self.has(Field::SoftDisJtag)
            && self.raw_present(Field::SoftDisJtag).count_ones() % 2 == 1
        {
            flags |= SecurityInfo::SOFT_DIS_JTAG;
        }
        let mut key_purposes = [0u8; 7];
        let purposes = [
            Field::KeyPurpose0,
            Field::KeyPurpose1,
            Field::KeyPurpose2,
            Field::KeyPurpose3,
            Field::KeyPurpose4,
            Field::KeyPurpose5,
        ];
        for (slot, field) in key_purposes.iter_mut().zip(purposes) {
            if self.has(field) {
                *slot = u8::try_from(self.raw_present(field)).unwrap_or(0);
            }
        }
        SecurityInfo {
            flags,
            flash_crypt_cnt: u8::try_from(self.flash_crypt_cnt()).unwrap_or(0),
            key_purposes,
        }
    }

    /// Key blocks and their purposes (chips with KEY_PURPOSE_n fields; ESP32-C2
    /// and ESP32 report their single-purpose blocks with `purpose: None`).
    pub fn key_slots(&self) -> Vec<KeySlot> {
        let t = self.table();
        let mut v = Vec::new();
        for b in t.blocks {
            match b.key_purpose {
                Some(kp) => {
                    let purpose = u8::try_from(self.raw_present(kp))
                        .ok()
                        .and_then(|r| t.purpose_by_value(r))
                        .map(|p| p.purpose);
                    v.push(KeySlot {
                        block: b.id as usize,
                        purpose,
                    });
                }
                None if !b.rd_dis.is_empty() || (self.chip() == Chip::Esp32 && b.id > 0) => {
                    v.push(KeySlot {
                        block: b.id as usize,
                        purpose: None,
                    });
                }
                None => {}
            }
        }
        v
    }

    /// Blocks burned with `purpose`.
    pub fn blocks_with_purpose(&self, purpose: KeyPurpose) -> Vec<usize> {
        self.key_slots()
            .into_iter()
            .filter(|s| s.purpose == Some(purpose))
            .map(|s| s.block)
            .collect()
    }

    /// The Secure Boot V2 digests the ROM accepts, slot by slot, skipping
    /// revoked slots (ESP32: BLOCK2; ESP32-C2: the 16-byte BLOCK_KEY0 high
    /// half; the others: SECURE_BOOT_DIGESTn blocks whose
    /// SECURE_BOOT_KEY_REVOKEn is not set). Empty slots read as zeros.
    pub fn secure_boot_digests(&self) -> Vec<Vec<u8>> {
        let chip = self.chip();
        let mut out = Vec::new();
        for index in 0..policy::secure_boot_digest_slots(chip) {
            let Some(slot) = policy::secure_boot_digest(chip, index) else {
                continue;
            };
            if slot.revoke.is_some_and(|f| self.raw_present(f) != 0) {
                continue;
            }
            let blocks = match slot.block {
                Some(kb) => self
                    .table()
                    .key_block_def(kb)
                    .map(|d| vec![usize::from(d.block)])
                    .unwrap_or_default(),
                None => slot
                    .purpose
                    .map(|p| self.blocks_with_purpose(p))
                    .unwrap_or_default(),
            };
            for b in blocks {
                // the digest is in the block's high bytes (ESP32-C2: BLOCK_KEY0_HI_128)
                let bytes = self.block_bytes(b);
                out.push(bytes[bytes.len().saturating_sub(slot.len)..].to_vec());
            }
        }
        out
    }

    /// The flash-encryption key the AES block uses, in espsecure's key-file
    /// byte order (espefuse burns AES-XTS keys, and ESP32 keys given as
    /// `flash_encryption`, reversed); `Ok(None)` when no key is burned.
    /// A read-protected key whose bits the model does not hold is
    /// [`EfuseError::HiddenKeyUnknown`].
    pub fn flash_encryption_key(&self) -> Result<Option<Zeroizing<Vec<u8>>>, EfuseError> {
        let chip = self.chip();
        let fixed = |len| {
            policy::flash_encryption_key(chip, len)
                .and_then(|s| s.block)
                .and_then(|kb| self.table().key_block_def(kb))
                .map(|d| usize::from(d.block))
        };
        match chip {
            Chip::Esp32 | Chip::Esp32c2 => {
                let (block, field, len) = if chip == Chip::Esp32 {
                    // 3/4 coding leaves room for 192 bits
                    let len = if self.coding_is_34() { 24 } else { 32 };
                    (fixed(FlashKeyLength::Bits256), Field::Block1, len)
                } else {
                    // the whole block (XTS_KEY_LENGTH_256) or its low 128 bits,
                    // from which the AES block derives the XTS key
                    let whole =
                        policy::xts_key_length_256(chip).is_some_and(|f| self.raw_present(f) != 0);
                    let len = if whole { 32 } else { 16 };
                    (fixed(FlashKeyLength::Bits256), Field::BlockKey0, len)
                };
                let Some(block) = block else { return Ok(None) };
                let hw = Zeroizing::new(self.hardware_block_bytes(block));
                let protected = !self.is_readable(field, Some(0))?;
                if hw.get(..len).is_none_or(|b| b.iter().all(|x| *x == 0)) && !protected {
                    return Ok(None);
                }
                self.hardware_key(block, len).map(Some)
            }
            _ => {
                let first = self.blocks_with_purpose(KeyPurpose::XtsAes256Key1);
                let second = self.blocks_with_purpose(KeyPurpose::XtsAes256Key2);
                if let (Some(a), Some(b)) = (first.first(), second.first()) {
                    let mut key = self.hardware_key(*a, 32)?;
                    key.extend_from_slice(&self.hardware_key(*b, 32)?);
                    return Ok(Some(key));
                }
                match self.blocks_with_purpose(KeyPurpose::XtsAes128Key).first() {
                    Some(block) => self.hardware_key(*block, 32).map(Some),
                    None => Ok(None),
                }
            }
        }
    }

    /// The first `len` bytes of `block` as the hardware sees them, reversed
    /// into key-file order.
    fn hardware_key(&self, block: usize, len: usize) -> Result<Zeroizing<Vec<u8>>, EfuseError> {
        let all = Zeroizing::new(self.hardware_block_bytes(block));
        let mut key = Zeroizing::new(all.get(..len).unwrap_or(&[]).to_vec());
        if key.iter().all(|b| *b == 0) {
            return Err(EfuseError::HiddenKeyUnknown {
                block,
                name: self.table().blocks[block].name,
            });
        }
        key.reverse();
        Ok(key)
    }
}

/// Whether esptool's `get-security-info` names the `KEY_PURPOSE_n` bytes
/// of GET_SECURITY_INFO for `chip`: its `KEY_PURPOSES` table is empty for
/// the ESP32-C2 and absent for the ESP32 (`esptool/targets/<chip>.py`), so
/// it prints no key purposes there.
pub fn esptool_names_key_purposes(chip: Chip) -> bool {
    !matches!(chip, Chip::Esp32 | Chip::Esp32c2)
}

/// The key purpose esptool's `get-security-info` reports for a
/// `KEY_PURPOSE_n` value: the chip's own eFuse table (the one table of
/// purpose numbers), except on the ESP32-H2, where esptool 5.6.0's
/// `KEY_PURPOSES` (`esptool/targets/esp32h2.py`) names 2 and 3
/// `XTS_AES_256_KEY_1`/`_2` while the chip (espefuse's table) has
/// `RESERVED` at 2 and nothing at 3. `None`: esptool prints `UNKNOWN`.
pub fn esptool_key_purpose(chip: Chip, value: u8) -> Option<KeyPurpose> {
    if !esptool_names_key_purposes(chip) {
        return None;
    }
    match (chip, value) {
        (Chip::Esp32h2, 2) => Some(KeyPurpose::XtsAes256Key1),
        (Chip::Esp32h2, 3) => Some(KeyPurpose::XtsAes256Key2),
        _ => chip.table().purpose_by_value(value).map(|def| def.purpose),
    }
}

/// How esptool's `get-security-info` spells a key purpose: espefuse's name,
/// except `USER`, which it prints as `USER/EMPTY`.
pub fn esptool_key_purpose_name(purpose: KeyPurpose) -> std::borrow::Cow<'static, str> {
    match purpose {
        KeyPurpose::User => "USER/EMPTY".into(),
        other => other.to_string().into(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod esptool_key_purpose_tests {
    use std::path::{Path, PathBuf};

    use super::*;

    /// esptool's own `KEY_PURPOSES` tables, read from the pinned esptool:
    /// every value 0..=255 must name the same purpose (or `UNKNOWN`).
    #[test]
    fn key_purpose_names_match_esptool_tables() {
        if std::env::var("ESPBOOT_SKIP_INTEROP").is_ok_and(|v| v == "1") {
            eprintln!("ESPBOOT_SKIP_INTEROP=1: skipping the esptool KEY_PURPOSES comparison");
            return;
        }
        let bin = std::env::var_os("ESPBOOT_REFERENCE_BIN").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin"),
            PathBuf::from,
        );
        let out = std::process::Command::new(bin.join("python"))
            .args([
                "-c",
                "import json\nfrom esptool.targets import CHIP_DEFS\n\
                 print(json.dumps({k: getattr(v, 'KEY_PURPOSES', None) or {} \
                 for k, v in CHIP_DEFS.items()}))",
            ])
            .output()
            .unwrap_or_else(|e| panic!("python in {}: {e}", bin.display()));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tables: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for chip in Chip::ALL {
            let table = &tables[chip.name()];
            let names = table.as_object().unwrap();
            assert_eq!(
                esptool_names_key_purposes(chip),
                !names.is_empty(),
                "{chip:?}"
            );
            if names.is_empty() {
                continue;
            }
            for value in 0..=u8::MAX {
                let theirs = table[value.to_string()].as_str().unwrap_or("UNKNOWN");
                let ours = esptool_key_purpose(chip, value)
                    .map_or("UNKNOWN".into(), esptool_key_purpose_name);
                assert_eq!(ours, theirs, "{chip:?} KEY_PURPOSE value {value}");
            }
        }
    }
}
