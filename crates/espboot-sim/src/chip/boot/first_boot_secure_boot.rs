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
        let fail = |m: String| Stop::Failed(format!("secure boot first boot: {m}"));
        let blocks = rom_blocks(self.chip, signed_blocks(buf, contents)).map_err(|why| {
            fail(format!(
                "CONFIG_SECURE_BOOT is set but {why} (sign it with `espboot secure sign-data --version 2`)"
            ))
        })?;
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
            return Err(fail(
                "ESP32-C2 keeps the Secure Boot digest and the flash-encryption key in its one \
                 key block: set CONFIG_SECURE_BOOT_FLASH_ENC_KEYS_BURN_TOGETHER=y and \
                 CONFIG_SECURE_FLASH_ENCRYPTION_AES128_DERIVED=y"
                    .into(),
            ));
        }
        let mut deferred = Vec::new();
        if trusted.is_empty() && shared_block {
            // burned with the flash-encryption key, in one batch
            deferred = self.digest_groups(&efuses, &blocks).map_err(fail)?;
            actions.push(
                "Secure Boot V2 key digest deferred to the flash-encryption key's eFuse batch"
                    .into(),
            );
        } else if trusted.is_empty() {
            let groups = self.digest_groups(&efuses, &blocks).map_err(fail)?;
            efuses
                .stage_key_digests(&groups, KeyOptions::default())
                .map_err(|e| fail(e.to_string()))?;
            commit(&mut efuses).map_err(fail)?;
            for g in &groups {
                actions.push(format!(
                    "burned Secure Boot V2 key digest {} into {}",
                    hex_digest(&g.data),
                    block_name(&efuses, g.block)
                ));
            }
        } else if !blocks
            .iter()
            .any(|b| fuses::digest_trusted(&trusted, &b.key_digest))
        {
            return Err(fail(
                "the key digests already in eFuse do not match any signature block of the bootloader"
                    .into(),
            ));
        } else {
            actions.push("using the Secure Boot V2 key digests already in eFuse".into());
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
            if burn_field(&mut efuses, field, Burn::All).map_err(fail)? {
                burned.push(field.name());
            }
        }
        actions.push(format!(
            "secure boot enabled (burned {})",
            burned.join(", ")
        ));
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
    ) -> Result<Vec<KeyGroup>, String> {
        let digests: Vec<[u8; 32]> = blocks
            .iter()
            .take(policy::secure_boot_digest_slots(self.chip))
            .map(|b| b.key_digest)
            .collect();
        if digests.is_empty() {
            return Err("the bootloader has no signature block".into());
        }
        policy::secure_boot_digest_groups(efuses, &digests)
            .map_err(|e| format!("Secure Boot V2 digest: {e}"))
    }
}

/// What the secure-boot first boot staged, committed once MCUboot succeeds.
pub(super) struct StagedSecureBoot {
    pub(super) efuses: Efuses,
    pub(super) actions: Vec<String>,
    /// Digests to burn with the flash-encryption key.
    pub(super) deferred: Vec<KeyGroup>,
}
