//! Secure boot, first boot: `check_and_generate_secure_boot_keys` and
//! `esp_secure_boot_enable_secure_features`, staged until MCUboot succeeds.

use super::*;

impl PowerOn {
    /// `check_and_generate_secure_boot_keys` plus
    /// `esp_secure_boot_enable_secure_features`, on a copy of the eFuses
    /// that becomes real only when MCUboot succeeds.
    pub(super) fn stage_secure_boot(
        &self,
        buf: &[u8],
        contents: &BootloaderContents,
        security: &SecurityConfig,
        options: SecureBootConfig,
    ) -> Result<StagedSecureBoot, Stop> {
        let fail = |e: SecureBootFirstBootError| Stop::Failed(BootFailure::SecureBootFirstBoot(e));
        let burn_fail = |e: FieldBurnError| fail(SecureBootFirstBootError::Burn(e));
        let efuse_fail = |e| fail(SecureBootFirstBootError::Efuse(e));
        let blocks = rom_blocks(self.chip, signed_blocks(buf, contents))
            .map_err(|why| fail(SecureBootFirstBootError::Unsigned(why)))?;
        let mut efuses = self.efuses.clone();
        let mut actions = Vec::new();
        let trusted = fuses::trusted_digests(&efuses);
        // ESP32-C2 has one key block for the digest and the flash-encryption
        // key: the port burns both in one batch
        // (CONFIG_SECURE_BOOT_FLASH_ENC_KEYS_BURN_TOGETHER), so the block
        // stays writable until the key is in.
        let shared_block = self.chip == Chip::Esp32c2
            && security.flash_encryption.is_some()
            && !self.efuses.flash_encryption_enabled();
        let derived_key = security
            .flash_encryption
            .is_some_and(|fe| fe.generated_key == GeneratedKey::Aes128Derived);
        if shared_block && !(options.keys_burn_together && derived_key) {
            return Err(fail(SecureBootFirstBootError::SharedKeyBlockOptions));
        }
        let mut deferred = Vec::new();
        if trusted.is_empty() && shared_block {
            // burned with the flash-encryption key, in one batch
            deferred = self.digest_groups(&efuses, &blocks).map_err(fail)?;
            actions.push(FirstBootEvent::DigestDeferred);
        } else if trusted.is_empty() {
            let groups = self.digest_groups(&efuses, &blocks).map_err(fail)?;
            efuses
                .stage_key_digests(&groups, KeyOptions::default())
                .map_err(efuse_fail)?;
            commit(&mut efuses).map_err(efuse_fail)?;
            for g in &groups {
                actions.push(FirstBootEvent::DigestBurned {
                    digest: digest_bytes(&g.data),
                    block: block_name(&efuses, g.block),
                    with_key: false,
                });
            }
        } else if !blocks
            .iter()
            .any(|b| fuses::digest_trusted(&trusted, &b.key_digest))
        {
            return Err(fail(SecureBootFirstBootError::DigestMismatch));
        } else {
            actions.push(FirstBootEvent::DigestsInEfuse);
        }
        let chip = self.chip;
        let mut fields: Vec<Field> = vec![policy::secure_boot_enable(chip)];
        if !options.allow_jtag {
            fields.extend(policy::jtag_disable(chip));
        }
        if !options.allow_rom_basic {
            fields.extend(policy::rom_basic_disable(chip));
        }
        if options.aggressive_revoke {
            fields.extend(policy::aggressive_revoke(chip));
        }
        // digest slots left empty are revoked, so no key can be added later
        let used = fuses::trusted_digests(&efuses).len();
        for slot in used..policy::secure_boot_digest_slots(chip) {
            fields.extend(policy::secure_boot_digest(chip, slot).and_then(|s| s.revoke));
        }
        match options.rom_download {
            RomDownload::Disable => fields.extend(policy::download_disable(chip)),
            RomDownload::Secure => fields.extend(policy::secure_download(chip)),
            _ => {}
        }
        let mut burned = Vec::new();
        for field in fields {
            if burn_field(&mut efuses, field, Burn::All).map_err(burn_fail)? {
                burned.push(field);
            }
        }
        actions.push(FirstBootEvent::SecureBootEnabled { burned });
        Ok(StagedSecureBoot {
            efuses,
            actions,
            deferred,
        })
    }

    /// `burn-key-digest` groups for the bootloader's signing keys, one per
    /// digest slot the chip has (ESP32 and ESP32-C2: the first block's key).
    pub(super) fn digest_groups(
        &self,
        efuses: &Efuses,
        blocks: &[SignedBlock],
    ) -> Result<Vec<KeyGroup>, SecureBootFirstBootError> {
        let digests: Vec<[u8; 32]> = blocks
            .iter()
            .take(policy::secure_boot_digest_slots(self.chip))
            .map(|b| b.key_digest)
            .collect();
        if digests.is_empty() {
            return Err(SecureBootFirstBootError::NoSignatureBlock);
        }
        policy::secure_boot_digest_groups(efuses, &digests)
            .map_err(SecureBootFirstBootError::DigestBlocks)
    }
}

/// What the secure-boot first boot staged, committed once MCUboot succeeds.
pub(super) struct StagedSecureBoot {
    pub(super) efuses: Efuses,
    pub(super) actions: Vec<FirstBootEvent>,
    /// Digests to burn with the flash-encryption key.
    pub(super) deferred: Vec<KeyGroup>,
}

/// A digest as the fixed-size array events carry (SHA-256; shorter input
/// is zero-padded, which the port's digests never are).
pub(super) fn digest_bytes(data: &[u8]) -> [u8; 32] {
    let mut digest = [0u8; 32];
    for (d, b) in digest.iter_mut().zip(data) {
        *d = *b;
    }
    digest
}
