//! One power-on of the virtual chip: the ROM stage, the Espressif port's
//! first-boot security steps, MCUboot, and app loading.
//!
//! The order follows the port's `main.c` (mcuboot.md §7, "Boot flow"):
//!
//! 1. **ROM.** With flash encryption enabled (an odd crypt counter), reads
//!    decrypt. The ROM reads the second-stage bootloader at the chip's offset
//!    (0x1000 on ESP32/S2, 0x0 elsewhere), parses the ESP image, and with
//!    Secure Boot V2 enabled verifies its signature blocks against the
//!    burned, unrevoked key digests. Anything else does not run.
//! 2. **Secure boot, first boot** (`CONFIG_SECURE_BOOT`, not yet enabled):
//!    the digests of the keys in the bootloader's signature blocks are
//!    staged for burning (`check_and_generate_secure_boot_keys`).
//! 3. **MCUboot** (`boot_go`) over the port's flash backend
//!    ([`PortFlash`]), configured by what is inside the flashed bootloader.
//!    A failure cancels the staged eFuses.
//! 4. **Secure boot enable**: the staged digests, `SECURE_BOOT_EN` and the
//!    options of the configuration are burned.
//! 5. **Flash encryption, first boot** (`CONFIG_SECURE_FLASH_ENC_ENABLED`,
//!    counter even): use the key already in eFuse or generate and burn one,
//!    encrypt in place the bootloader, the primary slot (if it holds a
//!    plaintext app), the other slots and the scratch, burn the crypt
//!    counter (development or release mode) and reset.
//! 6. **App loading**: the load header of each image to start is checked
//!    against the chip's memory map; with `CONFIG_ESP_MULTI_PROCESSOR_BOOT`
//!    image 1 starts on the APP CPU, then image 0 on the PRO CPU.
//!
//! eFuse burns are not flash operations: a power cut lands between flash
//! operations, and eFuses burned before it stay burned, which is what makes
//! a cut during the first boot's in-place encryption as fatal here as on
//! silicon.

use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
use esp_efuse::policy::{self, FlashKeyLength};
use esp_efuse::{Burn, Efuses, Field, KeyBlock, KeyGroup, KeyOptions};
use esp_image::load_header::{LoadHeader, LOAD_HEADER_LEN, LOAD_HEADER_MAGIC};
use esp_image::Chip;
use esp_secure::flash_encryption::{FlashCrypt, FlashEncryptionKey};
use esp_secure::sbv2;
use mcuboot_boot::{BootError, BootResponse, Slot};
use serde::Serialize;
use std::rc::Rc;

use super::bootloader::{parse_bootloader, BootloaderContents, BootloaderError};
use super::fuses::{self, FuseError};
pub use super::port_flash::EncryptedWrites;
use super::port_flash::{PortFlash, PortFlashError, PORT_ALIGN_ENCRYPTED, PORT_ALIGN_PLAIN};
use crate::config::{
    ConfigError, ConfigFile, FlashEncryptionConfig, FlashMap, GeneratedKey, RomDownload,
    SecureBootConfig, SecurityConfig,
};
use crate::device::Device;
use crate::run;
use esp_secure::flash_encryption::FlashCryptError;
use flash_sim::flash::{CutMode, SimFlash};
use flash_sim::run::{BootReport, RunError, RunningImage};
use flash_sim::sweep::failure::image_difference;
use flash_sim::sweep::{Failure, Hazard, SweepFailure, SweepReport, ValidationMemo};
use mcuboot_boot::owned::OwnedBootConfig;

/// Flash sector size of every modelled chip (`FLASH_SECTOR_SIZE`), also the
/// Secure Boot V2 signature sector size.
const SECTOR: u32 = 0x1000;
/// How much flash the ROM stage reads from the bootloader offset: the
/// bootloader region (`CONFIG_ESP_BOOTLOADER_SIZE` is 0xF000 in every port
/// default) and its signature sector fit.
const BOOTLOADER_WINDOW: u32 = 0x10000;
/// Resets followed within one power-on: the first boot resets once after
/// enabling flash encryption; more means a reset loop.
const MAX_RESETS: u32 = 3;

mod app_calls;
mod error;
mod events;
mod failure;
mod first_boot_flash_encryption;
mod first_boot_secure_boot;
mod memo;
mod report;
mod rom;
mod sweep;

pub use app_calls::{app_call, app_write_update, AppCall, UpdateWritten};
pub use error::{ChipError, NoUpgradeImage};
pub use events::{FirstBootEvent, FlashRegion};
pub use failure::{
    BootFailure, EncryptError, FieldBurnError, FlashEncryptionFirstBootError, McubootRefusal,
    ReadBootloaderError, SecureBootFirstBootError, SecureBootRefusal,
};
use memo::{PowerOnMemo, RomMemo};
pub use report::{ChipBootReport, Cpu, CpuStart, RomReport, RomSecureBoot};
use rom::{hex_digest, read_bootloader, rom_blocks, signed_blocks, SignedBlock};
pub use sweep::{sweep, sweep_chip, sweep_device, sweep_with, ChipSweepOptions};

/// Why a (re)boot stopped.
enum Stop {
    /// Something refused to run: what and why.
    Failed(BootFailure),
    /// The power was cut.
    PowerLost,
    /// The port reset the chip (after enabling flash encryption).
    Reset,
}

/// Powers the device on once, following resets, with an optional power cut
/// after `n` flash operations (`cut = Some((n, mode))`). Targets the chip
/// does not model run the boot core alone ([`run::boot`]).
pub fn power_on(device: &mut Device, cut: Option<(u64, CutMode)>) -> ChipBootReport {
    power_on_with(device, cut, EncryptedWrites::AsShipped)
}

/// [`power_on`] with the port's encrypted writes done as `writes` says
/// (the opt-in fix of the port's power-cut hazards, see
/// [`EncryptedWrites::ProgramErased`]).
pub fn power_on_with(
    device: &mut Device,
    cut: Option<(u64, CutMode)>,
    writes: EncryptedWrites,
) -> ChipBootReport {
    power_on_memo(device, cut, writes, None).0
}

/// [`power_on_with`] taking results from `memo` (see [`PowerOnMemo`]: only
/// for power-ons that burn no eFuse); returns the memo.
pub(super) fn power_on_memo(
    device: &mut Device,
    cut: Option<(u64, CutMode)>,
    writes: EncryptedWrites,
    memo: Option<PowerOnMemo>,
) -> (ChipBootReport, Option<PowerOnMemo>) {
    let target = device.settings.target;
    let Some(chip) = target.chip() else {
        let report = ChipBootReport {
            boot: run::boot(device, cut),
            chip: target.name(),
            rom: None,
            first_boot: Vec::new(),
            resets: 0,
            cpus: Vec::new(),
            failure: None,
        };
        return (report, memo);
    };
    let efuses = device
        .efuses
        .take()
        .unwrap_or_else(|| super::new_efuses(chip));
    let flash = &mut device.flash;
    flash.reset_counters();
    flash.power_cycle();
    if let Some((n, mode)) = cut {
        flash.arm_power_cut(n.saturating_add(1), mode);
    }
    let mut run = PowerOn {
        chip,
        efuses,
        first_boot: Vec::new(),
        rom: None,
        cpus: Vec::new(),
        deferred_digests: Vec::new(),
        writes,
        memo,
    };
    let mut resets = 0;
    let outcome = loop {
        match run.boot_once(flash) {
            Err(Stop::Reset) if resets < MAX_RESETS => {
                resets += 1;
                run.first_boot.push(FirstBootEvent::Reset);
            }
            other => break other,
        }
    };
    let (boot, failure) = match outcome {
        Ok(rsp) => (BootReport::from_outcome(Ok(&rsp), flash), None),
        Err(Stop::PowerLost) => (BootReport::from_outcome(Err(&"power lost"), flash), None),
        Err(Stop::Failed(failure)) => (
            BootReport::from_outcome(Err(&failure), flash),
            Some(failure),
        ),
        Err(Stop::Reset) => {
            let failure = BootFailure::ResetLoop;
            (
                BootReport::from_outcome(Err(&failure), flash),
                Some(failure),
            )
        }
    };
    flash.power_cycle();
    let PowerOn {
        efuses,
        first_boot,
        rom,
        cpus,
        memo,
        ..
    } = run;
    device.efuses = Some(efuses);
    let report = ChipBootReport {
        boot,
        chip: target.name(),
        rom,
        first_boot,
        resets,
        cpus,
        failure: failure.map(std::sync::Arc::new),
    };
    (report, memo)
}

/// The configuration the flashed bootloader carries, read the way the ROM
/// reads it (decrypting when flash encryption is on), for the application
/// side (`boot_set_pending`, `boot_set_confirmed`) and sweeps.
pub fn flashed_setup(
    device: &mut Device,
) -> Result<(OwnedBootConfig, Option<Box<dyn FlashCrypt>>), ChipError> {
    flashed_bootloader(device).map(|b| (b.setup, b.crypt))
}

/// What the flashed bootloader runs with.
pub struct FlashedBootloader {
    /// The boot core's setup.
    pub setup: OwnedBootConfig,
    /// The flash encryption the eFuses enable.
    pub crypt: Option<Box<dyn FlashCrypt>>,
    /// The whole configuration the bootloader carries (the device's own
    /// configuration on targets without a ROM stage).
    pub config: ConfigFile,
}

/// [`flashed_setup`] plus the bootloader's whole configuration, for what
/// the bootloader does beyond booting (serial recovery).
pub fn flashed_bootloader(device: &mut Device) -> Result<FlashedBootloader, ChipError> {
    let Some(chip) = device.settings.target.chip() else {
        let config = ConfigFile {
            keys: device.settings.config.clone(),
            key_file_base: None,
        };
        return Ok(FlashedBootloader {
            setup: run::device_boot_config(device),
            crypt: None,
            config,
        });
    };
    let blank;
    let efuses = match &device.efuses {
        Some(e) => e,
        None => {
            blank = super::new_efuses(chip);
            &blank
        }
    };
    let crypt = fuses::flash_crypt(efuses)?;
    let buf = read_bootloader(chip, &mut device.flash, crypt.as_deref())
        .map_err(ChipError::ReadBootloader)?;
    let contents = parse_bootloader(chip, &buf).map_err(|source| ChipError::Bootloader {
        offset: chip.bootloader_offset(),
        source,
    })?;
    let setup = port_setup(
        &contents,
        device.flash.geometry().capacity(),
        crypt.is_some(),
    )?;
    Ok(FlashedBootloader {
        setup,
        crypt,
        config: contents.config,
    })
}

fn port_setup(
    contents: &BootloaderContents,
    capacity: u32,
    encrypted: bool,
) -> Result<OwnedBootConfig, ConfigError> {
    let map = FlashMap::resolve(&contents.config, Some(capacity))?;
    let keys = contents.keys.iter().map(|k| k.der.clone()).collect();
    let mut setup = run::boot_config(&map, keys);
    // flash_area_align() of the port: 4, or 32 once flash encryption is on
    // (the trailer's max-align is fixed at build time by the configuration).
    setup.write_size = if encrypted {
        PORT_ALIGN_ENCRYPTED
    } else {
        PORT_ALIGN_PLAIN
    };
    Ok(setup)
}

/// Burns `value` into `field` (bits only go 0→1); whether anything
/// changed, or the field and why it could not be burned.
fn burn_field(efuses: &mut Efuses, field: Field, value: Burn) -> Result<bool, FieldBurnError> {
    efuses
        .burn(field, value)
        .map_err(|source| FieldBurnError { field, source })
}

/// Burns everything staged.
fn commit(efuses: &mut Efuses) -> Result<(), esp_efuse::EfuseError> {
    efuses.commit().map(|_| ())
}

/// The name of the block a key group went to (`BLOCK2` for the ESP32's
/// `secure_boot_v2`).
fn block_name(efuses: &Efuses, block: KeyBlock) -> &'static str {
    efuses
        .table()
        .block_of_key(block)
        .map_or(block.name(), |b| b.name)
}

struct PowerOn {
    chip: Chip,
    efuses: Efuses,
    first_boot: Vec<FirstBootEvent>,
    rom: Option<RomReport>,
    cpus: Vec<CpuStart>,
    /// Secure Boot digests that go into the same eFuse batch as the
    /// flash-encryption key (ESP32-C2's shared key block).
    deferred_digests: Vec<KeyGroup>,
    /// How the port's backend writes with flash encryption on.
    writes: EncryptedWrites,
    /// A sweep worker's memo, if any.
    memo: Option<PowerOnMemo>,
}

impl PowerOn {
    /// The ROM stage (reading the bootloader window, Secure Boot V2 check),
    /// from the memo when the window's physical bytes are the ones it saw.
    fn rom_stage(
        &mut self,
        flash: &mut SimFlash,
        crypt: Option<&dyn FlashCrypt>,
    ) -> Result<(Vec<u8>, BootloaderContents), Stop> {
        let chip = self.chip;
        let window = rom::window(chip, flash);
        if let Some(hit) = self
            .memo
            .as_ref()
            .and_then(|m| m.rom.as_ref())
            .filter(|m| flash.data().get(window.clone()) == Some(m.raw.as_slice()))
        {
            self.rom = Some(hit.rom.clone());
            return Ok((hit.buf.clone(), hit.contents.clone()));
        }
        let offset = chip.bootloader_offset();
        let buf = read_bootloader(chip, flash, crypt)
            .map_err(|e| Stop::Failed(BootFailure::RomRead(e)))?;
        let contents = parse_bootloader(chip, &buf).map_err(|source| {
            Stop::Failed(BootFailure::RomNoBootloader {
                offset,
                decrypted: crypt.is_some(),
                source,
            })
        })?;
        let mut rom = RomReport {
            bootloader_offset: offset,
            secure_boot: RomSecureBoot::Disabled,
            secure_boot_block: None,
            flash_encryption: crypt.is_some(),
            download_mode: fuses::download_mode(&self.efuses),
        };
        if self.efuses.secure_boot_v2_enabled() {
            let trusted = fuses::trusted_digests(&self.efuses);
            let checked = rom_blocks(chip, signed_blocks(&buf, &contents)).and_then(|blocks| {
                blocks
                    .iter()
                    .find(|b| fuses::digest_trusted(&trusted, &b.key_digest))
                    .map(|b| b.index)
                    .ok_or_else(|| SecureBootRefusal::UntrustedKey {
                        signed: blocks.iter().map(|b| b.key_digest).collect(),
                        trusted: trusted.clone(),
                    })
            });
            match checked {
                Ok(index) => {
                    rom.secure_boot = RomSecureBoot::Verified;
                    rom.secure_boot_block = Some(index);
                }
                Err(why) => {
                    // enabled but refused: never report it as disabled
                    rom.secure_boot = RomSecureBoot::Failed;
                    self.rom = Some(rom);
                    return Err(Stop::Failed(BootFailure::RomSecureBoot(why)));
                }
            }
        }
        self.rom = Some(rom);

        if let (Some(memo), Some(raw), Some(rom)) =
            (self.memo.as_mut(), flash.data().get(window), &self.rom)
        {
            memo.rom = Some(RomMemo {
                raw: raw.to_vec(),
                buf: buf.clone(),
                contents: contents.clone(),
                rom: rom.clone(),
            });
        }
        Ok((buf, contents))
    }

    fn boot_once(&mut self, flash: &mut SimFlash) -> Result<BootResponse, Stop> {
        let chip = self.chip;
        // --- ROM -------------------------------------------------------------
        let crypt = match self.memo.as_mut() {
            Some(memo) => memo.crypt(&self.efuses),
            None => fuses::flash_crypt(&self.efuses).map(|c| c.map(Rc::from)),
        }
        .map_err(|e| Stop::Failed(BootFailure::RomFlashEncryption(e)))?;
        let (buf, contents) = self.rom_stage(flash, crypt.as_deref())?;

        // --- the port: configuration, secure boot key digests ----------------
        let capacity = flash.geometry().capacity();
        let setup = port_setup(&contents, capacity, crypt.is_some())
            .map_err(|e| Stop::Failed(BootFailure::Config(e)))?;
        let security = SecurityConfig::resolve(&contents.config);
        let pending = match security.secure_boot {
            Some(options) if !self.efuses.secure_boot_v2_enabled() => {
                Some(self.stage_secure_boot(&buf, &contents, &security, options)?)
            }
            _ => None,
        };

        // --- MCUboot -----------------------------------------------------------
        let rsp = {
            let mut port = PortFlash::new(flash, crypt.as_deref()).with_writes(self.writes);
            match self.memo.as_mut() {
                Some(memo) => setup.boot_cached(&mut port, &mut memo.validation),
                None => setup.with_config(|cfg| mcuboot_boot::boot(&mut port, cfg)),
            }
        };
        let rsp = match rsp {
            Ok(rsp) => rsp,
            Err(_) if flash.power_lost() => return Err(Stop::PowerLost),
            // the staged eFuse batch is dropped with `pending`
            Err(error) => {
                let refusal = match error {
                    BootError::NoBootableImage { image } => {
                        mcuboot_refusal(flash, crypt.as_deref(), &setup, image)
                    }
                    _ => None,
                };
                return Err(Stop::Failed(BootFailure::Mcuboot { error, refusal }));
            }
        };

        // --- secure boot enable --------------------------------------------------
        if let Some(staged) = pending {
            self.efuses = staged.efuses;
            self.first_boot.extend(staged.actions);
            self.deferred_digests = staged.deferred;
        }

        // --- flash encryption, first boot ----------------------------------------
        if let (Some(options), None) = (security.flash_encryption, &crypt) {
            self.enable_flash_encryption(flash, &buf, &contents, &setup, options)?;
            return Err(Stop::Reset);
        }

        // --- app loading ---------------------------------------------------------
        let multi = security.multi_processor_boot && chip.has_app_cpu() && setup.images.len() == 2;
        let memory = chip.memory_map(multi);
        let mut port = PortFlash::new(flash, crypt.as_deref()).with_writes(self.writes);
        let mut entries = Vec::new();
        for booted in rsp.images.iter().flatten() {
            if booted.image > 0 && !multi {
                // without multi-processor boot the port only loads image 0
                continue;
            }
            let header_at = booted.area.offset + u32::from(booted.header.hdr_size);
            let mut raw = [0u8; LOAD_HEADER_LEN];
            let image = booted.image;
            port.read(header_at, &mut raw)
                .map_err(|source| Stop::Failed(BootFailure::LoadHeaderRead { image, source }))?;
            let header = LoadHeader::parse(&raw).map_err(|source| {
                Stop::Failed(BootFailure::LoadHeader {
                    image,
                    at: header_at,
                    source,
                })
            })?;
            // -H other than the 32 bytes the app was laid out for shifts
            // every segment: silicon copies header bytes and crashes
            crate::chip::app::check_header_size(&header, u32::from(booted.header.hdr_size))
                .map_err(|source| Stop::Failed(BootFailure::HeaderSize { image, source }))?;
            let image_len =
                u32::from(booted.header.hdr_size).saturating_add(booted.header.img_size);
            header
                .check(chip, &memory, image_len)
                .map_err(|source| Stop::Failed(BootFailure::AppRefused { image, source }))?;
            entries.push((booted.image, header.entry_addr));
        }
        // image 1 goes to the APP CPU first (appcpu_start), then image 0 runs
        entries.sort_by_key(|(image, _)| std::cmp::Reverse(*image));
        self.cpus = entries
            .into_iter()
            .map(|(image, entry)| CpuStart {
                cpu: if image == 1 { Cpu::App } else { Cpu::Pro },
                image,
                entry,
            })
            .collect();
        Ok(rsp)
    }
}

/// Why MCUboot refused `image`'s primary slot, found by validating it
/// again on a copy of the flash (the boot's own counters stay as they
/// are).
fn mcuboot_refusal(
    flash: &SimFlash,
    crypt: Option<&dyn FlashCrypt>,
    setup: &OwnedBootConfig,
    image: usize,
) -> Option<McubootRefusal> {
    let mut copy = SimFlash::from_bytes(flash.geometry().clone(), flash.data()).ok()?;
    let mut port = PortFlash::new(&mut copy, crypt);
    let reason = setup
        .with_config(|cfg| mcuboot_boot::primary_slot_refusal(&mut port, cfg, image))
        .ok()??;
    Some(McubootRefusal { image, reason })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
