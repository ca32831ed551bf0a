//! What the ROM and the bootloader read from the eFuses: flash-encryption and
//! Secure Boot state, key blocks by purpose. For the virtual chip.

use crate::state::Efuses;
use crate::tables::{Chip, KeyPurpose};

/// A key block and the purpose it was burned for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySlot {
    /// Block number.
    pub block: usize,
    /// Purpose (None on ESP32, whose blocks have fixed roles).
    pub purpose: Option<KeyPurpose>,
}

impl Efuses {
    fn raw_named(&self, name: &str) -> u64 {
        self.field(name).map(|id| self.raw(id)).unwrap_or(0)
    }

    /// The flash-encryption counter (`SPI_BOOT_CRYPT_CNT`, ESP32 `FLASH_CRYPT_CNT`).
    pub fn flash_crypt_cnt(&self) -> u64 {
        match self.chip() {
            Chip::Esp32 => self.raw_named("FLASH_CRYPT_CNT"),
            _ => self.raw_named("SPI_BOOT_CRYPT_CNT"),
        }
    }

    /// Flash encryption is on when an odd number of counter bits is set
    /// (the YAML meanings: 1 and 7 "Enable", 3 "Disable" on 3-bit counters).
    pub fn flash_encryption_enabled(&self) -> bool {
        self.flash_crypt_cnt().count_ones() % 2 == 1
    }

    /// Secure Boot V2 is enforced by the ROM (`SECURE_BOOT_EN`, ESP32 `ABS_DONE_1`).
    pub fn secure_boot_v2_enabled(&self) -> bool {
        match self.chip() {
            Chip::Esp32 => self.raw_named("ABS_DONE_1") != 0,
            _ => self.raw_named("SECURE_BOOT_EN") != 0,
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
                    let raw = self.raw_named(kp.name());
                    let purpose = u8::try_from(raw)
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

    /// The Secure Boot V2 digests the ROM accepts: SECURE_BOOT_DIGESTn blocks
    /// whose SECURE_BOOT_KEY_REVOKEn is not set (ESP32: BLOCK2; ESP32-C2: the
    /// 16-byte BLOCK_KEY0 high half).
    pub fn secure_boot_digests(&self) -> Vec<Vec<u8>> {
        match self.chip() {
            Chip::Esp32 => vec![self.block_bytes(2)],
            Chip::Esp32c2 => vec![self.block_bytes(3).get(16..).unwrap_or(&[]).to_vec()],
            _ => {
                let slots = [
                    (KeyPurpose::SecureBootDigest0, "SECURE_BOOT_KEY_REVOKE0"),
                    (KeyPurpose::SecureBootDigest1, "SECURE_BOOT_KEY_REVOKE1"),
                    (KeyPurpose::SecureBootDigest2, "SECURE_BOOT_KEY_REVOKE2"),
                ];
                let mut out = Vec::new();
                for (p, revoke) in slots {
                    if self.raw_named(revoke) != 0 {
                        continue;
                    }
                    for b in self.blocks_with_purpose(p) {
                        out.push(self.block_bytes(b));
                    }
                }
                out
            }
        }
    }
}
