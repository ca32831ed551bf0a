//! The demo's steps: provisioning, the first boot, upgrades, refusals and
//! power cuts, each checked against what the device must do, and the
//! helpers they share.

use super::*;
use flash_sim::sweep::{Hazard, SweepFailure};

impl Demo {
    pub(super) fn provision_flash_encryption(&mut self, _: &dyn DemoObserver) -> StepResult {
        let counter = policy::crypt_counter(self.chip);
        let mut lines = Vec::new();
        if self.chip == Chip::Esp32c2 {
            // One key block for both keys: once the flash encryption key is
            // burned the block is write-protected, so the seed burns the
            // Secure Boot digest in the same espefuse run.
            let group = self.digest_group()?;
            self.efuses()?
                .stage_key_digests(&[group], KeyOptions::default())?;
            lines.push(
                "espefuse burn-key-digest secure-boot-signing-key.pem, in the same run as:".into(),
            );
        }
        let key = zeroize::Zeroizing::new(self.fe_key.as_bytes().to_vec());
        let efuses = self.efuses()?;
        let group = policy::flash_encryption_key_group(efuses, &key)?;
        efuses.stage_keys(std::slice::from_ref(&group), KeyOptions::default())?;
        self.burn()?;
        let efuses = self.efuses()?;
        efuses.burn(counter, Burn::All)?;
        let max = efuses.raw(counter)?;
        lines.push(
            format!(
                "espefuse burn-key {} flash-encryption-key.bin {}",
                group.block,
                group.purpose.map(|p| p.to_string()).unwrap_or_default()
            )
            .trim_end()
            .to_owned(),
        );
        lines.push(format!(
            "espefuse burn-efuse {counter} {max}: {counter} = {}",
            self.field(counter)?
        ));
        let efuses = self.efuses()?;
        let key_field = efuses
            .table()
            .block_of_key(group.block)
            .and_then(|b| Field::from_name(b.name));
        if let Some(field) = key_field {
            if efuses.is_readable(field, None)? {
                return Err(DemoError::FlashEncryptionKeyReadable);
            }
            lines.push("the key is read-protected: software reads it back as zeros".into());
        }
        Ok(lines)
    }

    /// The Secure Boot V2 digest as `burn-key-digest` stages it, in its
    /// slot ([`policy::secure_boot_digest_groups`]).
    pub(super) fn digest_group(&mut self) -> Result<KeyGroup, DemoError> {
        let digest = self.sbv2_key.public_key().digest();
        write_file(&self.dir.join("secure-boot-digest.bin"), &digest, false)?;
        policy::secure_boot_digest_groups(self.efuses()?, &[digest])?
            .pop()
            .ok_or(DemoError::NoDigestSlot)
    }

    pub(super) fn provision_secure_boot(&mut self, _: &dyn DemoObserver) -> StepResult {
        let mut lines =
            vec!["espsecure digest-sbv2-public-key -> secure-boot-digest.bin".to_owned()];
        if self.chip == Chip::Esp32c2 {
            lines.push("the digest went into BLOCK_KEY0 with the flash encryption key".into());
        } else {
            let group = self.digest_group()?;
            lines.push(
                format!(
                    "espefuse burn-key {} secure-boot-digest.bin {}",
                    group.block,
                    group.purpose.map(|p| p.to_string()).unwrap_or_default()
                )
                .trim_end()
                .to_owned(),
            );
            // ESP32 takes the digest file through `burn-key secure_boot_v2`
            // (seed 003); `burn-key-digest` there needs an ECO3 revision.
            let esp32 = self.chip == Chip::Esp32;
            let efuses = self.efuses()?;
            let staged = if esp32 {
                efuses.stage_keys(&[group], KeyOptions::default())
            } else {
                efuses.stage_key_digests(&[group], KeyOptions::default())
            };
            staged?;
            self.burn()?;
        }
        let enable = policy::secure_boot_enable(self.chip);
        self.efuses()?.burn(enable, Burn::All)?;
        lines.push(format!(
            "espefuse burn-efuse {enable}: {enable} = {}",
            self.field(enable)?
        ));
        Ok(lines)
    }

    /// The chip's flash encryption as the eFuses configure it (what the
    /// host uses with `espsecure encrypt-flash-data` and the same key file).
    pub(super) fn crypt(&mut self) -> Result<Box<dyn FlashCrypt>, DemoError> {
        let efuses = self.efuses()?;
        fuses::flash_crypt(efuses)?.ok_or(DemoError::FlashEncryptionNotEnabled)
    }

    pub(super) fn power_on(&mut self) -> ChipBootReport {
        chip_boot::power_on(&mut self.device, None)
    }

    pub(super) fn bootloader(&mut self, _: &dyn DemoObserver) -> StepResult {
        let keys = self.config.embedded_keys()?;
        let image = build_bootloader(self.device.settings.target, &self.config, &keys)?;
        write_file(&self.dir.join("bootloader.bin"), &image, false)?;
        let signed = sbv2::sign_image(&image, &[&self.sbv2_key], sbv2::SignOptions::default())?;
        write_file(
            &self.dir.join("bootloader-signed.bin"),
            &signed.bytes,
            false,
        )?;
        let offset = self.chip.bootloader_offset();
        let crypt = self.crypt()?;
        let encrypt = |bytes: &[u8]| -> Result<Vec<u8>, DemoError> {
            let mut out = bytes.to_vec();
            crypt.encrypt(offset, &mut out)?;
            Ok(out)
        };
        let encrypted = encrypt(&signed.bytes)?;
        write_file(
            &self.dir.join("bootloader-signed-enc.bin"),
            &encrypted,
            false,
        )?;
        // An attacker's bootloader first: rebuilt without downgrade
        // prevention, carrying the genuine signature sector. The ROM must
        // refuse it.
        let mut weakened = self.config.clone();
        weakened.keys.remove("CONFIG_ESP_DOWNGRADE_PREVENTION");
        let mut tampered = build_bootloader(self.device.settings.target, &weakened, &keys)?;
        tampered.resize(signed.data_len, 0xff);
        tampered.extend_from_slice(signed.bytes.get(signed.data_len..).unwrap_or(&[]));
        self.flash(offset, &encrypt(&tampered)?)?;
        let refused = self.power_on();
        if refused.boot.booted {
            return Err(DemoError::TamperedBootloaderRan);
        }
        self.flash(offset, &encrypted)?;
        Ok(vec![
            format!(
                "bootloader.bin: ESP image carrying bootloader.conf and the MCUboot public key, {} bytes",
                image.len()
            ),
            format!(
                "espsecure sign-data --version 2: signature sector at {:#x}",
                signed.data_len
            ),
            format!("espsecure encrypt-flash-data --address {offset:#x}: bootloader-signed-enc.bin"),
            format!(
                "a rebuilt bootloader without downgrade prevention, with the genuine signature sector: {}",
                refused.boot.error.as_deref().unwrap_or("refused")
            ),
            format!("write bootloader-signed-enc.bin at {offset:#x}"),
        ])
    }

    /// An app payload with the port's load header (`espboot sim
    /// build-app`), signed like the seed's `imgtool sign --align 4 -v V -H 32
    /// --pad-header -S SLOT`, plus `--max-align 32` (flash encryption) and
    /// `-M 512` to match the port.
    pub(super) fn app(&self, ver: &str, confirm: bool, pad: bool) -> Result<Vec<u8>, DemoError> {
        let payload = build_app(self.chip, &AppOptions::new(ver))?;
        write_file(&self.dir.join(format!("app-{ver}.bin")), &payload, false)?;
        let mut opts = SignOptions::new(version(ver)?, 0x20, self.slot_size);
        opts.pad_header = true;
        opts.align = 4;
        opts.max_align = Some(32);
        opts.max_sectors = Some(512);
        opts.trailer = Trailer::from_flags(pad, false, confirm);
        let bytes = ImageBuilder::new(&opts)
            .signer(Some(&self.signer))
            .to_vec(payload)?;
        write_file(
            &self.dir.join(format!("app-{ver}-signed.bin")),
            &bytes,
            false,
        )?;
        Ok(bytes)
    }

    /// Writes `image` at `at` encrypted with the chip's key, as
    /// `espsecure encrypt-flash-data` then `esptool write_flash` does.
    pub(super) fn flash_encrypted(&mut self, at: u32, image: &[u8]) -> Result<(), DemoError> {
        let mut bytes = image.to_vec();
        bytes.resize(image.len().div_ceil(32) * 32, 0xff);
        self.crypt()?.encrypt(at, &mut bytes)?;
        self.flash(at, &bytes)
    }

    /// What the running app's update agent does with a new image: erase the
    /// secondary slot and write the image, both through the port's flash
    /// backend (`flash_area_erase`/`flash_area_write`), so the slot reads
    /// as erased through the decrypting cache and the image lands encrypted.
    pub(super) fn download_update(&mut self, image: &[u8]) -> Result<(), DemoError> {
        chip_boot::app_write_update(&mut self.device, 0, image)?;
        Ok(())
    }

    pub(super) fn flash(&mut self, at: u32, image: &[u8]) -> Result<(), DemoError> {
        self.device.write_flash(at, image)?;
        Ok(())
    }

    pub(super) fn app_call(&mut self, call: AppCall) -> Result<(), DemoError> {
        chip_boot::app_call(&mut self.device, 0, call)?;
        Ok(())
    }

    pub(super) fn first_boot(&mut self, _: &dyn DemoObserver) -> StepResult {
        let image = self.app("1.0.0", true, true)?;
        self.flash_encrypted(self.primary, &image)?;
        let mut lines = vec![format!(
            "write app-1.0.0-signed.bin encrypted for {:#x}",
            self.primary
        )];
        let report = self.power_on();
        let rom = report.rom.as_ref().ok_or(DemoError::NoRomStage)?;
        if rom.secure_boot != chip_boot::RomSecureBoot::Verified || !rom.flash_encryption {
            return Err(DemoError::RomChecksSkipped {
                secure_boot: rom.secure_boot,
                flash_encryption: rom.flash_encryption,
            });
        }
        if !report.first_boot.is_empty() {
            return Err(DemoError::FirstBootActed {
                events: report.first_boot.clone(),
            });
        }
        lines.extend(
            report
                .lines()
                .into_iter()
                .take(report.lines().len().saturating_sub(1)),
        );
        lines.extend(expect_running(&report.boot, "1.0.0+0", SwapType::None)?);
        Ok(lines)
    }

    pub(super) fn test_upgrade_reverts(&mut self, _: &dyn DemoObserver) -> StepResult {
        let image = self.app("1.1.0", false, false)?;
        self.download_update(&image)?;
        self.app_call(AppCall::SetPending { permanent: false })?;
        let mut lines = vec![format!(
            "the running app downloads app-1.1.0-signed.bin into the secondary slot {:#x} (encrypted by the flash backend) and marks it pending (test)",
            self.secondary
        )];
        lines.extend(expect_running(
            &self.power_on().boot,
            "1.1.0+0",
            SwapType::Test,
        )?);
        lines.push("the app does not confirm; reset".into());
        lines.extend(expect_running(
            &self.power_on().boot,
            "1.0.0+0",
            SwapType::Revert,
        )?);
        Ok(lines)
    }

    pub(super) fn confirmed_upgrade(&mut self, _: &dyn DemoObserver) -> StepResult {
        let image = self.app("1.1.0", false, false)?;
        self.download_update(&image)?;
        self.app_call(AppCall::SetPending { permanent: false })?;
        let mut lines = expect_running(&self.power_on().boot, "1.1.0+0", SwapType::Test)?;
        self.app_call(AppCall::Confirm)?;
        lines.push("the app confirms itself (boot_set_confirmed); reset".into());
        lines.extend(expect_running(
            &self.power_on().boot,
            "1.1.0+0",
            SwapType::None,
        )?);
        Ok(lines)
    }

    pub(super) fn downgrade_refused(&mut self, _: &dyn DemoObserver) -> StepResult {
        let image = self.app("1.0.5", false, false)?;
        self.download_update(&image)?;
        self.app_call(AppCall::SetPending { permanent: true })?;
        let report = self.power_on().boot;
        let running = report.images.first().map(|i| i.version.as_str());
        if running != Some("1.1.0+0") || report.swap == SwapType::Perm {
            return Err(DemoError::DowngradeNotRefused {
                running: running.map(str::to_owned),
                swap: report.swap,
            });
        }
        Ok(vec![
            "write app-1.0.5-signed.bin to the secondary slot, mark it pending (permanent)".into(),
            format!(
                "boot: {} (CONFIG_ESP_DOWNGRADE_PREVENTION)",
                report.summary()
            ),
        ])
    }

    pub(super) fn tampered_refused(&mut self, _: &dyn DemoObserver) -> StepResult {
        let mut image = self.app("1.2.0", false, false)?;
        // One bit of the payload, inside the hashed region.
        let at = 0x20 + 96 + 10;
        image[at] ^= 0x01;
        write_file(&self.dir.join("app-1.2.0-tampered.bin"), &image, false)?;
        self.download_update(&image)?;
        self.app_call(AppCall::SetPending { permanent: true })?;
        let report = self.power_on().boot;
        let running = report.images.first().map(|i| i.version.as_str());
        if running != Some("1.1.0+0") {
            return Err(DemoError::TamperedImageNotRefused {
                running: running.map(str::to_owned),
            });
        }
        Ok(vec![
            format!(
                "flip one bit at offset {at:#x} of app-1.2.0-signed.bin, flash it, mark it pending"
            ),
            format!(
                "boot: {} (hash check failed; the slot is erased)",
                report.summary()
            ),
        ])
    }

    pub(super) fn power_cut_recovers(&mut self, observer: &dyn DemoObserver) -> StepResult {
        let image = self.app("1.2.0", false, false)?;
        self.download_update(&image)?;
        self.app_call(AppCall::SetPending { permanent: true })?;
        let sweep = chip_boot::sweep(&self.device, false, &|done, total| {
            observer.sweep_progress(done, total)
        })?;
        // With flash encryption the port erases a whole sector before each
        // encrypted write; cuts in that window lose the sector on silicon
        // too. Anything else is a failure of the demo.
        let hazards = sweep.failures.iter().filter(|f| f.hazard.is_some()).count();
        if let Some(other) = sweep.failures.iter().find(|f| f.hazard.is_none()) {
            return Err(DemoError::CutPointsBroke {
                broken: sweep.failures.len() - hazards,
                cut_points: sweep.cut_points,
                first: Box::new(other.clone()),
            });
        }
        // The same swap-pending state, kept for `espboot sim sweep` by hand
        // (`--allow port-erase-before-write` accepts the hazard's points).
        DeviceDir::create(self.dir.join(SWAP_PENDING_DIR), &self.device).map_err(|source| {
            DemoError::CreateDeviceDir {
                source: Box::new(source),
            }
        })?;
        let hazard_cut = sweep
            .failures
            .iter()
            .find(|f| matches!(f.hazard, Some(Hazard::EraseBeforeWrite { .. })))
            .map(|f| self.after_hazard_cut(f));
        // a cut in the middle of the swap, at a point outside that window
        let failing: Vec<u64> = sweep.failures.iter().map(|f| f.operation).collect();
        let cut_at = (sweep.boot_ops / 2..sweep.boot_ops)
            .find(|k| !failing.contains(&(k + 1)))
            .ok_or(DemoError::NoRecoveringCutPoint)?;
        let cut = chip_boot::power_on(&mut self.device, Some((cut_at, CutMode::Clean)));
        if !cut.boot.interrupted {
            return Err(DemoError::CutDidNotInterrupt);
        }
        let mut lines = vec![format!(
            "power cut after flash operation {cut_at} of {}: nothing booted",
            sweep.boot_ops
        )];
        let resumed = self.power_on().boot;
        let running = resumed.images.first().map(|i| i.version.as_str());
        if running != Some("1.2.0+0") {
            return Err(DemoError::NotResumed {
                running: running.map(str::to_owned),
                error: resumed.error.clone(),
            });
        }
        lines.push(format!(
            "power back: {} (the swap resumed from its status records)",
            resumed.summary()
        ));
        lines.push(format!(
            "at every one of the {} cut points: {} recover ({:.0} cut points/s)",
            sweep.cut_points,
            sweep.cut_points - hazards as u64,
            sweep.points_per_second
        ));
        if hazards > 0 {
            lines.push(format!(
                "{hazards} cut points land between the port's sector erase and its encrypted \
                 write-back (esp_mcuboot.c erases before every encrypted write) and lose that \
                 sector, as they would on silicon"
            ));
        }
        lines.extend(hazard_cut);
        if hazards > 0 {
            lines.push(format!(
                "the same sweep by hand: espboot sim sweep {} --allow port-erase-before-write",
                self.dir.join(SWAP_PENDING_DIR).display()
            ));
        }
        Ok(lines)
    }

    /// What the device does after the power is cut at `hazard`'s flash
    /// operation, one line: the cut is made on a copy of the device and the
    /// power comes back once, as `espboot sim sweep` does at that point.
    fn after_hazard_cut(&self, hazard: &SweepFailure) -> String {
        let mut copy = self.device.clone();
        // the sweep's operations count from 1; a cut "after" n operations
        // stops operation n + 1
        let after_ops = hazard.operation.saturating_sub(1);
        let cut = chip_boot::power_on(&mut copy, Some((after_ops, CutMode::Clean)));
        let kind = hazard
            .hazard
            .map_or_else(|| "unexplained".to_owned(), |h| h.to_string());
        if !cut.boot.interrupted {
            return format!(
                "a cut at flash operation {} ({kind}) did not interrupt the boot",
                hazard.operation
            );
        }
        let back = chip_boot::power_on(&mut copy, None).boot;
        let outcome = if back.booted {
            let images: Vec<String> = back
                .images
                .iter()
                .map(|i| format!("image {} {}", i.image, i.version))
                .collect();
            format!(
                "boots {} (swap {}): it keeps running and can take the upgrade again",
                images.join(", "),
                back.swap.name()
            )
        } else {
            format!(
                "boots nothing ({}), on every later power-on too: it needs reflashing",
                back.error.as_deref().unwrap_or("no bootable image")
            )
        };
        format!(
            "a cut at flash operation {} ({kind}): the power comes back and the device {outcome}",
            hazard.operation
        )
    }
}
