//! Flash encryption, first boot: key generation or reuse, in-place
//! encryption of the flash contents, burning the crypt counter.

use super::first_boot_secure_boot::digest_bytes;
use super::*;

impl PowerOn {
    /// `esp_flash_encrypt_init`, `esp_flash_encrypt_contents` and
    /// `esp_flash_encrypt_enable`.
    pub(super) fn enable_flash_encryption(
        &mut self,
        flash: &mut SimFlash,
        plain_bootloader: &[u8],
        contents: &BootloaderContents,
        setup: &OwnedBootConfig,
        options: FlashEncryptionConfig,
    ) -> Result<(), Stop> {
        let fail = |e: FlashEncryptionFirstBootError| {
            Stop::Failed(BootFailure::FlashEncryptionFirstBoot(e))
        };
        let burn_fail = |e: FieldBurnError| fail(FlashEncryptionFirstBootError::Burn(e));
        let efuse_fail = |e| fail(FlashEncryptionFirstBootError::Efuse(e));
        // 1. the key: the host's, already burned, or generated on chip
        let key = match fuses::flash_encryption_key(&self.efuses)
            .map_err(|e| fail(FlashEncryptionFirstBootError::Key(e)))?
        {
            Some(key) => {
                self.first_boot.push(FirstBootEvent::FlashKeyInEfuse);
                let deferred = std::mem::take(&mut self.deferred_digests);
                if !deferred.is_empty() {
                    // the host burned the key alone: the shared block may
                    // refuse the digest now (it is written once)
                    self.efuses
                        .stage_key_digests(&deferred, KeyOptions::default())
                        .map_err(efuse_fail)?;
                    commit(&mut self.efuses).map_err(efuse_fail)?;
                }
                if let Some(config) = policy::crypt_config(self.chip) {
                    // a host key leaves FLASH_CRYPT_CONFIG at 0; the
                    // bootloader sets every tweak bit before enabling
                    burn_field(&mut self.efuses, config, Burn::Bits(0xF)).map_err(burn_fail)?;
                }
                key
            }
            None => self.generate_key(options.generated_key).map_err(fail)?,
        };
        let crypt = fuses::crypt_for(&self.efuses, &key)
            .map_err(|e| fail(FlashEncryptionFirstBootError::Key(e)))?;
        // 2. encrypt in place
        let mut regions: Vec<(FlashRegion, u32, u32)> = Vec::new();
        let offset = self.chip.bootloader_offset();
        let mut bootloader_len = u32::try_from(contents.signature_sector_offset())
            .map_err(|_| fail(FlashEncryptionFirstBootError::BootloaderTooLarge))?;
        if !signed_blocks(plain_bootloader, contents).is_empty() {
            bootloader_len += SECTOR;
        }
        regions.push((FlashRegion::Bootloader, offset, bootloader_len));
        for (i, slots) in setup.images.iter().enumerate() {
            let primary_has_app = i > 0 || {
                let mut magic = [0u8; 4];
                flash.read(slots.primary.offset + 0x20, &mut magic).is_ok()
                    && u32::from_le_bytes(magic) == LOAD_HEADER_MAGIC
            };
            if primary_has_app {
                regions.push((
                    FlashRegion::Primary(i),
                    slots.primary.offset,
                    slots.primary.size,
                ));
            } else {
                self.first_boot
                    .push(FirstBootEvent::PrimaryLeftPlain { image: i });
            }
            regions.push((
                FlashRegion::Secondary(i),
                slots.secondary.offset,
                slots.secondary.size,
            ));
        }
        if let Some(s) = setup.scratch {
            regions.push((FlashRegion::Scratch, s.offset, s.size));
        }
        for (region, start, len) in regions {
            encrypt_in_place(flash, crypt.as_ref(), start, len).map_err(|e| match e {
                Some(source) => fail(FlashEncryptionFirstBootError::Encrypt { region, source }),
                None => Stop::PowerLost,
            })?;
            self.first_boot.push(FirstBootEvent::RegionEncrypted {
                region,
                start,
                end: u64::from(start) + u64::from(len),
            });
        }
        // 3. the crypt counter and the download-mode restrictions
        let release = options.release;
        let chip = self.chip;
        let counter = policy::crypt_counter(chip);
        // development mode: one more counter bit makes it odd
        let value = if release { Burn::All } else { Burn::NextBit };
        burn_field(&mut self.efuses, counter, value).map_err(burn_fail)?;
        let mut restrictions: Vec<Field> = Vec::new();
        if release || !options.uart_allow_encrypt {
            restrictions.push(policy::manual_encrypt_disable(chip));
        }
        if release || !options.uart_allow_decrypt {
            restrictions.extend(policy::download_decrypt_disable(chip));
        }
        if release || !options.uart_allow_cache {
            restrictions.extend(policy::download_cache_disable(chip));
        }
        let mut burned = Vec::new();
        for field in restrictions {
            if burn_field(&mut self.efuses, field, Burn::All).map_err(burn_fail)? {
                burned.push(field);
            }
        }
        if release {
            self.efuses
                .stage_write_protect(counter)
                .map_err(efuse_fail)?;
            commit(&mut self.efuses).map_err(efuse_fail)?;
        }
        let counter_value = self.efuses.raw(counter).map_err(efuse_fail)?;
        self.first_boot
            .push(FirstBootEvent::FlashEncryptionEnabled {
                release,
                counter,
                counter_value,
                burned,
                counter_write_protected: release,
            });
        Ok(())
    }

    /// Generates the chip's flash-encryption key and burns it read- and
    /// write-protected, as the port does when the host provided none.
    pub(super) fn generate_key(
        &mut self,
        generated: GeneratedKey,
    ) -> Result<FlashEncryptionKey, FlashEncryptionFirstBootError> {
        // the length the configuration asks for, where the chip has it
        let supported = |length| policy::flash_encryption_key(self.chip, length).is_some();
        let length = match generated {
            GeneratedKey::Aes128Derived if supported(FlashKeyLength::Derived128) => {
                FlashKeyLength::Derived128
            }
            GeneratedKey::Aes256 if supported(FlashKeyLength::Bits512) => FlashKeyLength::Bits512,
            _ => FlashKeyLength::Bits256,
        };
        let bits = length.bytes() * 8;
        let key = FlashEncryptionKey::generate(bits);
        let group = policy::flash_encryption_key_group(&self.efuses, key.as_bytes())
            .map_err(FlashEncryptionFirstBootError::KeyBlock)?;
        let deferred = std::mem::take(&mut self.deferred_digests);
        if !deferred.is_empty() {
            self.efuses
                .stage_key_digests(&deferred, KeyOptions::default())
                .map_err(FlashEncryptionFirstBootError::Efuse)?;
        }
        self.efuses
            .stage_keys(std::slice::from_ref(&group), KeyOptions::default())
            .map_err(FlashEncryptionFirstBootError::Efuse)?;
        commit(&mut self.efuses).map_err(FlashEncryptionFirstBootError::Efuse)?;
        for g in &deferred {
            self.first_boot.push(FirstBootEvent::DigestBurned {
                digest: digest_bytes(&g.data),
                block: block_name(&self.efuses, g.block),
                with_key: true,
            });
        }
        if let Some(config) = policy::crypt_config(self.chip) {
            // FLASH_CRYPT_CONFIG 0xF: every key-tweak bit in use
            burn_field(&mut self.efuses, config, Burn::Bits(0xF))
                .map_err(FlashEncryptionFirstBootError::Burn)?;
        }
        self.first_boot.push(FirstBootEvent::FlashKeyGenerated {
            bits,
            block: group.block,
            purpose: group.purpose,
        });
        Ok(key)
    }
}

/// `esp_flash_encrypt_region`: sector by sector, read the plaintext, erase,
/// write it back encrypted. `Err(None)` is a power cut.
pub(super) fn encrypt_in_place(
    flash: &mut SimFlash,
    crypt: &dyn FlashCrypt,
    start: u32,
    len: u32,
) -> Result<(), Option<EncryptError>> {
    let mut sector = vec![0u8; SECTOR as usize];
    let mut addr = start;
    while addr < start.saturating_add(len) {
        flash
            .read(addr, &mut sector)
            .map_err(|e| Some(EncryptError::Flash(e)))?;
        crypt
            .encrypt(addr, &mut sector)
            .map_err(|e| Some(EncryptError::Crypt(e)))?;
        let lost = |e: flash_sim::flash::FlashError, f: &SimFlash| {
            if f.power_lost() {
                None
            } else {
                Some(EncryptError::Flash(e))
            }
        };
        if let Err(e) = flash.erase(addr, addr + SECTOR) {
            return Err(lost(e, flash));
        }
        if let Err(e) = flash.write(addr, &sector) {
            return Err(lost(e, flash));
        }
        addr += SECTOR;
    }
    Ok(())
}
