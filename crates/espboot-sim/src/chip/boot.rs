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
use mcuboot_boot::{BootResponse, Slot};
use serde::Serialize;

use super::bootloader::{parse_bootloader, BootloaderContents, BootloaderError};
use super::fuses::{self, FuseError};
use super::port_flash::{PortFlash, PORT_ALIGN_ENCRYPTED, PORT_ALIGN_PLAIN};
use crate::config::{
    ConfigError, ConfigFile, FlashEncryptionConfig, FlashMap, GeneratedKey, RomDownload,
    SecureBootConfig, SecurityConfig,
};
use crate::device::Device;
use crate::run;
use flash_sim::flash::{CutMode, SimFlash};
use flash_sim::run::{BootReport, RunError, RunningImage};
use flash_sim::sweep::failure::image_difference;
use flash_sim::sweep::{Failure, Hazard, SweepFailure, SweepReport};
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

/// What the ROM stage found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RomReport {
    /// Where the bootloader was read (hex).
    pub bootloader_offset: String,
    /// `disabled`; with Secure Boot V2 enabled, `verified` when the
    /// bootloader's signature checked out and `failed` when it did not.
    pub secure_boot: &'static str,
    /// The signature block that verified.
    pub secure_boot_block: Option<usize>,
    /// Reads were decrypted (flash encryption enabled).
    pub flash_encryption: bool,
    /// `enabled`, `secure` or `disabled`.
    pub download_mode: &'static str,
}

/// An image started on a CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuStart {
    /// `PRO` or `APP`.
    pub cpu: &'static str,
    pub image: usize,
    /// Entry address from the load header (hex).
    pub entry: String,
}

/// What one power-on did, as `espboot sim boot --json` prints it: the boot
/// core's report plus the chip's stages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChipBootReport {
    #[serde(flatten)]
    pub boot: BootReport,
    /// The target.
    pub chip: &'static str,
    /// The ROM stage of the last (re)boot; `None` for targets without one.
    pub rom: Option<RomReport>,
    /// What the port's first boot did (eFuses burned, regions encrypted).
    pub first_boot: Vec<String>,
    /// Resets during this power-on.
    pub resets: u32,
    /// Images started, in start order.
    pub cpus: Vec<CpuStart>,
}

impl ChipBootReport {
    /// Human-readable lines: the first-boot actions, then the boot summary.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .first_boot
            .iter()
            .map(|a| format!("first boot: {a}"))
            .collect();
        if let Some(rom) = &self.rom {
            out.push(format!(
                "ROM: bootloader at {}; secure boot {}{}; flash encryption {}",
                rom.bootloader_offset,
                rom.secure_boot,
                rom.secure_boot_block
                    .map(|b| format!(" (signature block {b})"))
                    .unwrap_or_default(),
                if rom.flash_encryption { "on" } else { "off" },
            ));
        }
        for c in &self.cpus {
            out.push(format!(
                "{} CPU: image {} started at entry {}",
                c.cpu, c.image, c.entry
            ));
        }
        out.push(self.boot.summary());
        out
    }
}

/// Errors of the application-side calls and sweeps on a chip.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChipError {
    #[error("flash encryption: {0}")]
    FlashEncryption(#[from] FuseError),
    #[error("reading the bootloader: {0}")]
    ReadBootloader(String),
    #[error("no valid bootloader at {offset:#x}: {source}")]
    Bootloader {
        offset: u32,
        source: BootloaderError,
    },
    #[error("bootloader configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("image {image} is not configured (the bootloader has {count} image(s))")]
    NoSuchImage { image: usize, count: usize },
    /// The boot core refused the call.
    #[error("{0}")]
    Boot(String),
    #[error("the uninterrupted boot fails, nothing to sweep against: {0}")]
    ReferenceFails(String),
    /// A target without a ROM stage: the boot core alone.
    #[error(transparent)]
    Run(#[from] RunError),
    /// An update larger than the secondary slot's room for it.
    #[error("image {image}: the update is {len} bytes but its slot has room for {room}")]
    UpdateTooLarge { image: usize, len: usize, room: u32 },
    /// `set-pending` with nothing to upgrade to: MCUboot would find no
    /// image at the next boot and erase the slot's trailer again.
    #[error("image {image}: the secondary slot ({:#x}..{:#x}) holds no image to upgrade to: {why}", slot.offset, u64::from(slot.offset) + u64::from(slot.size))]
    NoUpgradeImage {
        image: usize,
        slot: mcuboot_boot::Area,
        why: NoUpgradeImage,
    },
}

/// Why the secondary slot holds no upgrade image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoUpgradeImage {
    /// The image's place in the slot is erased.
    #[error("it is erased; write a signed image there first")]
    Erased,
    /// Erased, on a device whose flash is encrypted: through the port's
    /// encrypted backend erased flash reads back as garbage, so MCUboot sees
    /// a corrupt image rather than an empty slot.
    #[error("it is erased, and with flash encryption on erased flash reads back as garbage, not as an image; write an encrypted signed image there first")]
    ErasedEncrypted,
    /// Something is there, but not an MCUboot image.
    #[error("no MCUboot image header there ({0})")]
    NotAnImage(mcuboot_image::HeaderError),
}

/// Why a (re)boot stopped.
enum Stop {
    /// Something refused to run: the message says what and why.
    Failed(String),
    /// The power was cut.
    PowerLost,
    /// The port reset the chip (after enabling flash encryption).
    Reset,
}

/// Powers the device on once, following resets, with an optional power cut
/// after `n` flash operations (`cut = Some((n, mode))`). Targets the chip
/// does not model run the boot core alone ([`run::boot`]).
pub fn power_on(device: &mut Device, cut: Option<(u64, CutMode)>) -> ChipBootReport {
    let target = device.settings.target;
    let Some(chip) = target.chip() else {
        return ChipBootReport {
            boot: run::boot(device, cut),
            chip: target.name(),
            rom: None,
            first_boot: Vec::new(),
            resets: 0,
            cpus: Vec::new(),
        };
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
    };
    let mut resets = 0;
    let outcome = loop {
        match run.boot_once(flash) {
            Err(Stop::Reset) if resets < MAX_RESETS => {
                resets += 1;
                run.first_boot.push("reset".into());
            }
            other => break other,
        }
    };
    let boot = match &outcome {
        Ok(rsp) => BootReport::from_outcome(Ok(rsp), flash),
        Err(Stop::Failed(msg)) => BootReport::from_outcome(Err(msg), flash),
        Err(Stop::PowerLost) => BootReport::from_outcome(Err(&"power lost"), flash),
        Err(Stop::Reset) => BootReport::from_outcome(Err(&"reset loop"), flash),
    };
    flash.power_cycle();
    let PowerOn {
        efuses,
        first_boot,
        rom,
        cpus,
        ..
    } = run;
    device.efuses = Some(efuses);
    ChipBootReport {
        boot,
        chip: target.name(),
        rom,
        first_boot,
        resets,
        cpus,
    }
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

/// `boot_set_confirmed` / `boot_set_pending` as the running app calls them:
/// through the port's flash backend, with the flashed bootloader's
/// configuration.
pub fn app_call(device: &mut Device, image: usize, call: AppCall) -> Result<(), ChipError> {
    let (setup, crypt) = flashed_setup(device)?;
    if image >= setup.images.len() {
        return Err(ChipError::NoSuchImage {
            image,
            count: setup.images.len(),
        });
    }
    device.flash.power_cycle();
    if let AppCall::SetPending { .. } = call {
        check_upgrade_image(device, &setup, crypt.as_deref(), image)?;
    }
    let mut port = PortFlash::new(&mut device.flash, crypt.as_deref());
    let result = setup.with_config(|cfg| match call {
        AppCall::Confirm => mcuboot_boot::set_confirmed(&mut port, cfg, image),
        AppCall::SetPending { permanent } => {
            mcuboot_boot::set_pending(&mut port, cfg, image, permanent)
        }
    });
    result.map_err(|e| ChipError::Boot(e.to_string()))
}

/// What a running application's update agent does with a downloaded
/// image: erase `image`'s secondary slot and write `bytes` where MCUboot
/// looks for the upgrade (the slot start, one sector further for
/// swap-offset), both through the port's flash backend
/// (`flash_area_erase`/`flash_area_write`). With flash encryption on, the
/// image lands encrypted with the chip's own key, which the host never
/// has (a device-generated key): this is the only way to stage an update
/// on such a device.
pub fn app_write_update(device: &mut Device, image: usize, bytes: &[u8]) -> Result<(), ChipError> {
    let (setup, crypt) = flashed_setup(device)?;
    let Some(slots) = setup.images.get(image) else {
        return Err(ChipError::NoSuchImage {
            image,
            count: setup.images.len(),
        });
    };
    let slot = slots.secondary;
    let offset = if setup.strategy == mcuboot_boot::UpgradeStrategy::SwapOffset {
        device.settings.map.sector_size
    } else {
        0
    };
    let align = setup.write_size.max(1) as usize;
    let mut padded = bytes.to_vec();
    padded.resize(bytes.len().div_ceil(align) * align, setup.erased_val);
    if padded.len() as u64 + u64::from(offset) > u64::from(slot.size) {
        return Err(ChipError::UpdateTooLarge {
            image,
            len: bytes.len(),
            room: slot.size.saturating_sub(offset),
        });
    }
    device.flash.power_cycle();
    let mut port = PortFlash::new(&mut device.flash, crypt.as_deref());
    port.erase(slot.offset, slot.offset + slot.size)
        .and_then(|()| port.write(slot.offset + offset, &padded))
        .map_err(|e| ChipError::Boot(e.to_string()))
}

/// Refuses a `set-pending` of `image` whose secondary slot holds no image
/// header where MCUboot looks for one (the slot start, one sector further
/// for swap-offset), reading through the port's backend as the app would.
fn check_upgrade_image(
    device: &mut Device,
    setup: &OwnedBootConfig,
    crypt: Option<&dyn FlashCrypt>,
    image: usize,
) -> Result<(), ChipError> {
    let slot = setup.images[image].secondary;
    let offset = if setup.strategy == mcuboot_boot::UpgradeStrategy::SwapOffset {
        device.settings.map.sector_size
    } else {
        0
    };
    let at = slot.offset.saturating_add(offset);
    let mut raw = [0u8; mcuboot_image::IMAGE_HEADER_SIZE];
    device
        .flash
        .read(at, &mut raw)
        .map_err(|e| ChipError::Boot(e.to_string()))?;
    let erased = device.flash.geometry().erased_value();
    let refuse = |why| ChipError::NoUpgradeImage { image, slot, why };
    if raw.iter().all(|&b| b == erased) {
        return Err(refuse(if crypt.is_some() {
            NoUpgradeImage::ErasedEncrypted
        } else {
            NoUpgradeImage::Erased
        }));
    }
    let mut header = raw;
    if let Some(c) = crypt {
        c.decrypt(at, &mut header)
            .map_err(|e| ChipError::Boot(e.to_string()))?;
    }
    if header.iter().all(|&b| b == erased) {
        // Erased as the app sees it: the port wrote encrypted erased bytes.
        return Err(refuse(NoUpgradeImage::Erased));
    }
    mcuboot_image::ImageHeader::parse(&header)
        .map(drop)
        .map_err(|e| refuse(NoUpgradeImage::NotAnImage(e)))
}

/// What the running application asks MCUboot for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppCall {
    Confirm,
    SetPending { permanent: bool },
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

/// The bootloader window as the ROM sees it.
fn read_bootloader(
    chip: Chip,
    flash: &mut SimFlash,
    crypt: Option<&dyn FlashCrypt>,
) -> Result<Vec<u8>, String> {
    let offset = chip.bootloader_offset();
    let end = flash
        .geometry()
        .capacity()
        .min(offset.saturating_add(BOOTLOADER_WINDOW));
    let mut buf = vec![0u8; end.saturating_sub(offset) as usize];
    flash.read(offset, &mut buf).map_err(|e| e.to_string())?;
    if let Some(c) = crypt {
        c.decrypt(offset, &mut buf).map_err(|e| e.to_string())?;
    }
    Ok(buf)
}

/// The valid signature blocks of a signed bootloader (`buf` from the
/// bootloader offset): `(index, key digest)` of each block whose image
/// digest matches and whose signature verifies with its own key.
fn signed_blocks(buf: &[u8], contents: &BootloaderContents) -> Vec<SignedBlock> {
    let signed_len = contents.signature_sector_offset();
    let (Some(data), Some(sector)) = (
        buf.get(..signed_len),
        buf.get(signed_len..signed_len + SECTOR as usize),
    ) else {
        return Vec::new();
    };
    sbv2::sector_blocks(sector)
        .into_iter()
        .enumerate()
        .filter_map(|(index, block)| {
            let block = block.ok()?;
            let digest = block.scheme().image_digest(data);
            if block.image_digest() != &digest[..] {
                return None;
            }
            let key = block.public_key().ok()?;
            block.verify_signature(&digest, &key).ok()?;
            Some(SignedBlock {
                index,
                scheme: block.scheme(),
                key_digest: block.key_digest(),
            })
        })
        .collect()
}

/// A valid signature block of the bootloader.
struct SignedBlock {
    index: usize,
    scheme: sbv2::SigningScheme,
    key_digest: [u8; 32],
}

/// The blocks the chip's ROM would look at, or why none.
fn rom_blocks(chip: Chip, blocks: Vec<SignedBlock>) -> Result<Vec<SignedBlock>, String> {
    if blocks.is_empty() {
        return Err("the bootloader has no valid Secure Boot V2 signature block".into());
    }
    let schemes: Vec<&str> = blocks.iter().map(|b| b.scheme.name()).collect();
    let usable: Vec<SignedBlock> = blocks
        .into_iter()
        .filter(|b| fuses::rom_verifies(chip, b.scheme, b.index))
        .collect();
    if usable.is_empty() {
        return Err(format!(
            "the bootloader is signed with {} but the {chip} ROM verifies {}",
            schemes.join(", "),
            fuses::rom_schemes(chip)
        ));
    }
    Ok(usable)
}

fn hex_digest(d: &[u8]) -> String {
    d.iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        + "…"
}

/// Burns `value` into `field` (bits only go 0→1); whether anything changed.
fn burn_field(efuses: &mut Efuses, field: Field, value: Burn) -> Result<bool, String> {
    efuses
        .burn(field, value)
        .map_err(|e| format!("{field}: {e}"))
}

/// Burns everything staged.
fn commit(efuses: &mut Efuses) -> Result<(), String> {
    efuses.commit().map(|_| ()).map_err(|e| e.to_string())
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
    first_boot: Vec<String>,
    rom: Option<RomReport>,
    cpus: Vec<CpuStart>,
    /// Secure Boot digests that go into the same eFuse batch as the
    /// flash-encryption key (ESP32-C2's shared key block).
    deferred_digests: Vec<KeyGroup>,
}

impl PowerOn {
    fn boot_once(&mut self, flash: &mut SimFlash) -> Result<BootResponse, Stop> {
        let chip = self.chip;
        // --- ROM -------------------------------------------------------------
        let crypt = fuses::flash_crypt(&self.efuses)
            .map_err(|e| Stop::Failed(format!("ROM: flash encryption: {e}")))?;
        let offset = chip.bootloader_offset();
        let buf = read_bootloader(chip, flash, crypt.as_deref())
            .map_err(|e| Stop::Failed(format!("ROM: reading the bootloader: {e}")))?;
        let contents = parse_bootloader(chip, &buf).map_err(|e| {
            Stop::Failed(format!(
                "ROM: no valid bootloader at {offset:#x}{}: {e}",
                if crypt.is_some() {
                    " (read through flash decryption)"
                } else {
                    ""
                }
            ))
        })?;
        let mut rom = RomReport {
            bootloader_offset: format!("{offset:#x}"),
            secure_boot: "disabled",
            secure_boot_block: None,
            flash_encryption: crypt.is_some(),
            download_mode: fuses::download_mode(&self.efuses).name(),
        };
        if self.efuses.secure_boot_v2_enabled() {
            let trusted = fuses::trusted_digests(&self.efuses);
            let checked = rom_blocks(chip, signed_blocks(&buf, &contents)).and_then(|blocks| {
                blocks
                    .iter()
                    .find(|b| fuses::digest_trusted(&trusted, &b.key_digest))
                    .map(|b| b.index)
                    .ok_or_else(|| {
                        let list = |ds: &mut dyn Iterator<Item = &[u8]>| {
                            let v: Vec<String> = ds.map(hex_digest).collect();
                            if v.is_empty() {
                                "none".to_string()
                            } else {
                                v.join(", ")
                            }
                        };
                        format!(
                            "the bootloader is signed by key digest(s) {} but the eFuses trust only {} (unburned or revoked key)",
                            list(&mut blocks.iter().map(|b| &b.key_digest[..])),
                            list(&mut trusted.iter().map(Vec::as_slice)),
                        )
                    })
            });
            match checked {
                Ok(index) => {
                    rom.secure_boot = "verified";
                    rom.secure_boot_block = Some(index);
                }
                Err(why) => {
                    // enabled but refused: never report it as disabled
                    rom.secure_boot = "failed";
                    self.rom = Some(rom);
                    return Err(Stop::Failed(format!(
                        "ROM: secure boot check failed: {why}"
                    )));
                }
            }
        }
        self.rom = Some(rom);

        // --- the port: configuration, secure boot key digests ----------------
        let capacity = flash.geometry().capacity();
        let setup = port_setup(&contents, capacity, crypt.is_some())
            .map_err(|e| Stop::Failed(format!("bootloader configuration: {e}")))?;
        let security = SecurityConfig::resolve(&contents.config);
        let pending = match security.secure_boot {
            Some(options) if !self.efuses.secure_boot_v2_enabled() => {
                Some(self.stage_secure_boot(&buf, &contents, &security, options)?)
            }
            _ => None,
        };

        // --- MCUboot -----------------------------------------------------------
        let rsp = {
            let mut port = PortFlash::new(flash, crypt.as_deref());
            setup.with_config(|cfg| mcuboot_boot::boot(&mut port, cfg))
        };
        let rsp = match rsp {
            Ok(rsp) => rsp,
            Err(_) if flash.power_lost() => return Err(Stop::PowerLost),
            // the staged eFuse batch is dropped with `pending`
            Err(e) => return Err(Stop::Failed(format!("MCUboot: {e}"))),
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
        let mut port = PortFlash::new(flash, crypt.as_deref());
        let mut entries = Vec::new();
        for booted in rsp.images.iter().flatten() {
            if booted.image > 0 && !multi {
                // without multi-processor boot the port only loads image 0
                continue;
            }
            let header_at = booted.area.offset + u32::from(booted.header.hdr_size);
            let mut raw = [0u8; LOAD_HEADER_LEN];
            port.read(header_at, &mut raw).map_err(|e| {
                Stop::Failed(format!(
                    "image {}: reading the load header: {e}",
                    booted.image
                ))
            })?;
            let header = LoadHeader::parse(&raw).map_err(|e| {
                Stop::Failed(format!(
                    "image {}: load header at {header_at:#x}: {e} (\"Load header magic verification failed\")",
                    booted.image
                ))
            })?;
            let image_len =
                u32::from(booted.header.hdr_size).saturating_add(booted.header.img_size);
            header.check(chip, &memory, image_len).map_err(|e| {
                Stop::Failed(format!(
                    "image {}: the loader refuses the app: {e}",
                    booted.image
                ))
            })?;
            entries.push((booted.image, header.entry_addr));
        }
        // image 1 goes to the APP CPU first (appcpu_start), then image 0 runs
        entries.sort_by_key(|(image, _)| std::cmp::Reverse(*image));
        self.cpus = entries
            .into_iter()
            .map(|(image, entry)| CpuStart {
                cpu: if image == 1 { "APP" } else { "PRO" },
                image,
                entry: format!("{entry:#010x}"),
            })
            .collect();
        Ok(rsp)
    }

    /// `check_and_generate_secure_boot_keys` plus
    /// `esp_secure_boot_enable_secure_features`, on a copy of the eFuses
    /// that becomes real only when MCUboot succeeds.
    fn stage_secure_boot(
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
    fn digest_groups(
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

    /// `esp_flash_encrypt_init`, `esp_flash_encrypt_contents` and
    /// `esp_flash_encrypt_enable`.
    fn enable_flash_encryption(
        &mut self,
        flash: &mut SimFlash,
        plain_bootloader: &[u8],
        contents: &BootloaderContents,
        setup: &OwnedBootConfig,
        options: FlashEncryptionConfig,
    ) -> Result<(), Stop> {
        let fail = |m: String| Stop::Failed(format!("flash encryption first boot: {m}"));
        // 1. the key: the host's, already burned, or generated on chip
        let key =
            match fuses::flash_encryption_key(&self.efuses).map_err(|e| fail(e.to_string()))? {
                Some(key) => {
                    self.first_boot
                        .push("flash encryption: using the key already in eFuse".into());
                    let deferred = std::mem::take(&mut self.deferred_digests);
                    if !deferred.is_empty() {
                        // the host burned the key alone: the shared block may
                        // refuse the digest now (it is written once)
                        self.efuses
                            .stage_key_digests(&deferred, KeyOptions::default())
                            .map_err(|e| fail(e.to_string()))?;
                        commit(&mut self.efuses).map_err(fail)?;
                    }
                    if let Some(config) = policy::crypt_config(self.chip) {
                        // a host key leaves FLASH_CRYPT_CONFIG at 0; the
                        // bootloader sets every tweak bit before enabling
                        burn_field(&mut self.efuses, config, Burn::Bits(0xF)).map_err(fail)?;
                    }
                    key
                }
                None => self.generate_key(options.generated_key).map_err(fail)?,
            };
        let crypt = fuses::crypt_for(&self.efuses, &key).map_err(|e| fail(e.to_string()))?;
        // 2. encrypt in place
        let mut regions: Vec<(String, u32, u32)> = Vec::new();
        let offset = self.chip.bootloader_offset();
        let mut bootloader_len = u32::try_from(contents.signature_sector_offset())
            .map_err(|_| fail("bootloader too large".into()))?;
        if !signed_blocks(plain_bootloader, contents).is_empty() {
            bootloader_len += SECTOR;
        }
        regions.push(("bootloader".into(), offset, bootloader_len));
        for (i, slots) in setup.images.iter().enumerate() {
            let primary_has_app = i > 0 || {
                let mut magic = [0u8; 4];
                flash.read(slots.primary.offset + 0x20, &mut magic).is_ok()
                    && u32::from_le_bytes(magic) == LOAD_HEADER_MAGIC
            };
            if primary_has_app {
                regions.push((
                    format!("image {i} primary slot"),
                    slots.primary.offset,
                    slots.primary.size,
                ));
            } else {
                self.first_boot.push(format!(
                    "flash encryption: image {i} primary slot holds no plaintext app (no load header at +0x20), left as is"
                ));
            }
            regions.push((
                format!("image {i} secondary slot"),
                slots.secondary.offset,
                slots.secondary.size,
            ));
        }
        if let Some(s) = setup.scratch {
            regions.push(("scratch".into(), s.offset, s.size));
        }
        for (name, start, len) in &regions {
            encrypt_in_place(flash, crypt.as_ref(), *start, *len).map_err(|e| match e {
                Some(msg) => fail(format!("{name}: {msg}")),
                None => Stop::PowerLost,
            })?;
            self.first_boot.push(format!(
                "flash encryption: encrypted {name} {start:#x}..{:#x} in place",
                u64::from(*start) + u64::from(*len)
            ));
        }
        // 3. the crypt counter and the download-mode restrictions
        let release = options.release;
        let chip = self.chip;
        let counter = policy::crypt_counter(chip);
        // development mode: one more counter bit makes it odd
        let value = if release { Burn::All } else { Burn::NextBit };
        burn_field(&mut self.efuses, counter, value).map_err(fail)?;
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
            if burn_field(&mut self.efuses, field, Burn::All).map_err(fail)? {
                burned.push(field.name());
            }
        }
        if release {
            self.efuses
                .stage_write_protect(counter)
                .map_err(|e| fail(e.to_string()))?;
            commit(&mut self.efuses).map_err(fail)?;
            burned.push("write protection of the counter");
        }
        let raw = self.efuses.raw(counter).map_err(|e| fail(e.to_string()))?;
        self.first_boot.push(format!(
            "flash encryption enabled in {} mode ({counter} = {raw:#b}{}{})",
            if release { "release" } else { "development" },
            if burned.is_empty() { "" } else { "; burned " },
            burned.join(", ")
        ));
        Ok(())
    }

    /// Generates the chip's flash-encryption key and burns it read- and
    /// write-protected, as the port does when the host provided none.
    fn generate_key(&mut self, generated: GeneratedKey) -> Result<FlashEncryptionKey, String> {
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
            .map_err(|e| format!("the flash-encryption key: {e}"))?;
        let deferred = std::mem::take(&mut self.deferred_digests);
        if !deferred.is_empty() {
            self.efuses
                .stage_key_digests(&deferred, KeyOptions::default())
                .map_err(|e| e.to_string())?;
        }
        self.efuses
            .stage_keys(std::slice::from_ref(&group), KeyOptions::default())
            .map_err(|e| e.to_string())?;
        commit(&mut self.efuses)?;
        for g in &deferred {
            self.first_boot.push(format!(
                "burned Secure Boot V2 key digest {} into {} with the key",
                hex_digest(&g.data),
                block_name(&self.efuses, g.block)
            ));
        }
        if let Some(config) = policy::crypt_config(self.chip) {
            // FLASH_CRYPT_CONFIG 0xF: every key-tweak bit in use
            burn_field(&mut self.efuses, config, Burn::Bits(0xF))?;
        }
        self.first_boot.push(format!(
            "flash encryption: generated a {bits}-bit key on chip and burned it into {}{} (read- and write-protected)",
            group.block,
            group.purpose.map(|p| format!(" ({p})")).unwrap_or_default()
        ));
        Ok(key)
    }
}

/// What the secure-boot first boot staged, committed once MCUboot succeeds.
struct StagedSecureBoot {
    efuses: Efuses,
    actions: Vec<String>,
    /// Digests to burn with the flash-encryption key.
    deferred: Vec<KeyGroup>,
}

/// `esp_flash_encrypt_region`: sector by sector, read the plaintext, erase,
/// write it back encrypted. `Err(None)` is a power cut.
fn encrypt_in_place(
    flash: &mut SimFlash,
    crypt: &dyn FlashCrypt,
    start: u32,
    len: u32,
) -> Result<(), Option<String>> {
    let mut sector = vec![0u8; SECTOR as usize];
    let mut addr = start;
    while addr < start.saturating_add(len) {
        flash
            .read(addr, &mut sector)
            .map_err(|e| Some(e.to_string()))?;
        crypt
            .encrypt(addr, &mut sector)
            .map_err(|e| Some(e.to_string()))?;
        let lost = |e: flash_sim::flash::FlashError, f: &SimFlash| {
            if f.power_lost() {
                None
            } else {
                Some(e.to_string())
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

/// What a sweep compares after each resumed boot.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    /// The images started.
    images: Vec<RunningImage>,
    /// Per slot, the image it holds as the app reads it (decrypted).
    slots: Vec<Option<Vec<u8>>>,
}

/// Observes `device` after the boot that produced `report`.
fn observed(device: &mut Device, report: &ChipBootReport) -> Result<Observed, ChipError> {
    let images = report.boot.images.clone();
    let (setup, crypt) = flashed_setup(device)?;
    let mut port = PortFlash::new(&mut device.flash, crypt.as_deref());
    let mut slots = Vec::new();
    for pair in &setup.images {
        for area in [pair.primary, pair.secondary] {
            let image = match flash_sim::run::image_at(&mut port, area, 0) {
                Some(range) => {
                    let mut bytes = vec![0u8; range.len()];
                    port.read(range.start, &mut bytes)
                        .map_err(|e| ChipError::Boot(e.to_string()))?;
                    Some(bytes)
                }
                None => None,
            };
            slots.push(image);
        }
    }
    Ok(Observed { images, slots })
}

/// The first sector that a cut left physically erased although it held
/// data before the boot: with flash encryption on, the port writes every
/// erased sector back (encrypted 0xff), so a raw-erased sector only exists
/// between a sector erase and its write-back.
fn erased_mid_rewrite(before: &Device, after: &Device) -> Option<u32> {
    let sector = SECTOR as usize;
    let old = before.flash.data();
    let new = after.flash.data();
    old.chunks(sector)
        .zip(new.chunks(sector))
        .position(|(o, n)| n.iter().all(|b| *b == 0xff) && o.iter().any(|b| *b != 0xff))
        .map(|index| (index * sector) as u32)
}

/// One cut point of [`sweep`]: power on with the cut after operation
/// `k - 1`, power on again, compare. `None` when it recovered as expected.
fn sweep_point(
    device: &Device,
    k: u64,
    mode: CutMode,
    encrypted: bool,
    expected: &Observed,
) -> Option<SweepFailure> {
    let mut trial = device.clone();
    let cut = power_on(&mut trial, Some((k - 1, mode)));
    // With flash encryption on, `esp_mcuboot.c` (`aligned_flash_write`
    // with `erase = true`) erases the whole 4 KiB sector before writing it
    // back encrypted, so a power cut in between loses the sector's other
    // bytes: the port's behaviour on silicon, not a simulator artefact.
    let hazard = if encrypted {
        erased_mid_rewrite(device, &trial).map(|sector| Hazard::EraseBeforeWrite { sector })
    } else {
        None
    };
    let resumed = power_on(&mut trial, None);
    let failure = if !cut.boot.interrupted && !cut.boot.booted {
        Failure::CutBootFailed {
            error: cut.boot.error.unwrap_or_default(),
        }
    } else if !resumed.boot.booted {
        Failure::NotBootable {
            error: resumed
                .boot
                .error
                .clone()
                .unwrap_or_else(|| "unknown".into()),
        }
    } else {
        match observed(&mut trial, &resumed) {
            Ok(seen) if seen.images != expected.images => Failure::WrongImages {
                expected: expected.images.clone(),
                observed: seen.images,
            },
            Ok(seen) => seen
                .slots
                .iter()
                .zip(&expected.slots)
                .enumerate()
                .find_map(|(index, (got, want))| {
                    let slot = if index % 2 == 0 {
                        Slot::Primary
                    } else {
                        Slot::Secondary
                    };
                    image_difference(index / 2, slot, got.as_deref(), want.as_deref())
                })?,
            Err(e) => Failure::Inspection {
                error: e.to_string(),
            },
        }
    };
    Some(SweepFailure {
        operation: k,
        mode,
        hazard,
        failure,
    })
}

/// A power-cut sweep of the whole chip (ROM, first boot, MCUboot through
/// the port's flash backend, app loading): for every flash operation k of
/// the next uninterrupted power-on, power on with the cut at k, power on
/// again, and compare the images started and every slot's image (as the
/// app reads it) with the uninterrupted outcome. The device is not
/// modified. Unlike [`flash_sim::sweep::sweep_flash`] it also covers flash encryption.
pub fn sweep(
    device: &Device,
    torn: bool,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SweepReport, ChipError> {
    let started = std::time::Instant::now();
    let mut reference = device.clone();
    let ref_report = power_on(&mut reference, None);
    if !ref_report.boot.booted {
        return Err(ChipError::ReferenceFails(
            ref_report
                .boot
                .error
                .clone()
                .unwrap_or_else(|| "unknown".into()),
        ));
    }
    let expected = observed(&mut reference, &ref_report)?;
    let ops = ref_report.boot.flash_ops;
    let modes: &[CutMode] = if torn {
        &[CutMode::Clean, CutMode::Torn]
    } else {
        &[CutMode::Clean]
    };
    let points: Vec<(u64, CutMode)> = modes
        .iter()
        .flat_map(|&m| (1..=ops).map(move |k| (k, m)))
        .collect();
    let total = points.len() as u64;
    let encrypted = device
        .efuses
        .as_ref()
        .is_some_and(Efuses::flash_encryption_enabled);
    // Points are independent: each starts from a copy of the device.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicU64::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(points.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(k, mode)) = points.get(index) else {
                    break;
                };
                if let Some(failure) = sweep_point(device, k, mode, encrypted, &expected) {
                    if let Ok(mut list) = failures.lock() {
                        list.push((index, failure));
                    }
                }
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(n, total);
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_default();
    failures.sort_by_key(|(index, _)| *index);
    let failures: Vec<SweepFailure> = failures.into_iter().map(|(_, f)| f).collect();
    Ok(SweepReport::finish(
        ops,
        modes,
        failures,
        started,
        ref_report.boot,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::chip::app::{build_app, AppOptions};
    use crate::chip::bootloader::build_bootloader;
    use crate::config::Target;
    use crate::device::EmbeddedKey;
    use esp_secure::sbv2::{SigningKey as Sbv2Key, SigningScheme};
    use mcuboot_image::keys::{KeyType, McubootKey as _, PrivateKey};
    use mcuboot_image::sign::{ImageBuilder, KeySigner, SignOptions, Trailer};

    /// A device of `target` whose flashed (unsigned) bootloader was built
    /// with the port defaults plus `conf`, and the MCUboot signer whose key
    /// it embeds.
    struct Bench {
        device: Device,
        chip: Chip,
        config: ConfigFile,
        mcuboot: KeySigner,
        key: EmbeddedKey,
    }

    impl Bench {
        fn new(target: Target, conf: &str) -> Bench {
            let mut config = target.default_config();
            config
                .apply_str(
                    &format!("CONFIG_ESP_SIGN_EC256=y\n{conf}"),
                    std::path::Path::new("test.conf"),
                )
                .unwrap();
            let private = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
            let key = EmbeddedKey {
                source: "test".into(),
                der: private.public_key().embedded_der().unwrap(),
            };
            let mut device = Device::from_config(target, &config, None).unwrap();
            let chip = target.chip().unwrap();
            let bootloader = build_bootloader(target, &config, std::slice::from_ref(&key)).unwrap();
            device
                .write_flash(chip.bootloader_offset(), &bootloader)
                .unwrap();
            Bench {
                device,
                chip,
                config,
                mcuboot: KeySigner::new(private, false).unwrap(),
                key,
            }
        }

        fn bootloader(&self) -> Vec<u8> {
            build_bootloader(
                self.device.settings.target,
                &self.config,
                std::slice::from_ref(&self.key),
            )
            .unwrap()
        }

        fn flash_bootloader(&mut self, bytes: &[u8]) {
            let at = self.chip.bootloader_offset();
            self.device.write_flash(at, bytes).unwrap();
        }

        fn slot(&self, image: usize, primary: bool) -> (u32, u32) {
            let s = &self.device.settings.map.images[image];
            let span = if primary { s.primary } else { s.secondary };
            (span.offset, span.size)
        }

        /// `imgtool sign -H 32 --pad-header --align 4 [--max-align 32] -M 512 -v V -S SLOT [--pad --confirm]`
        fn app(&self, version: &str, image: usize, confirm: bool) -> Vec<u8> {
            let multi = self.config.is_set("CONFIG_ESP_MULTI_PROCESSOR_BOOT");
            let mut options = AppOptions::new(version);
            options.image = image;
            options.multi_processor = multi;
            let payload = build_app(self.chip, &options).unwrap();
            let (_, slot_size) = self.slot(image, true);
            let mut opts = SignOptions::new(version.parse().unwrap(), 32, slot_size);
            opts.pad_header = true;
            opts.align = 4;
            opts.max_sectors = Some(512);
            if self.config.is_set("CONFIG_SECURE_FLASH_ENC_ENABLED") {
                opts.max_align = Some(32);
            }
            opts.trailer = Trailer::from_flags(false, false, confirm);
            ImageBuilder::new(&opts)
                .signer(Some(&self.mcuboot))
                .to_vec(payload)
                .unwrap()
        }

        fn boot(&mut self) -> ChipBootReport {
            power_on(&mut self.device, None)
        }
    }

    /// Two Secure Boot V2 keys of a scheme the chip's ROM verifies (RSA-3072
    /// keys are slow to generate: made once per test binary).
    fn sb_keys(chip: Chip) -> &'static [Sbv2Key; 2] {
        static RSA: std::sync::OnceLock<[Sbv2Key; 2]> = std::sync::OnceLock::new();
        static ECDSA: std::sync::OnceLock<[Sbv2Key; 2]> = std::sync::OnceLock::new();
        let (cell, scheme) = if chip == Chip::Esp32c2 {
            (&ECDSA, SigningScheme::Ecdsa256)
        } else {
            (&RSA, SigningScheme::Rsa3072)
        };
        cell.get_or_init(|| [0, 1].map(|_| Sbv2Key::generate(scheme).unwrap()))
    }

    fn sbv2_signed(bootloader: &[u8], key: &Sbv2Key) -> Vec<u8> {
        sbv2::sign_image(bootloader, &[key], sbv2::SignOptions::default())
            .unwrap()
            .bytes
    }

    fn running(report: &ChipBootReport) -> Option<&str> {
        report.boot.images.first().map(|i| i.version.as_str())
    }

    #[test]
    fn plain_chip_runs_the_rom_then_mcuboot_then_starts_the_app() {
        let mut bench = Bench::new(Target::Esp32c3, "");
        let (primary, _) = bench.slot(0, true);
        let app = bench.app("1.0.0", 0, true);
        bench.device.write_flash(primary, &app).unwrap();
        let report = bench.boot();
        assert!(report.boot.booted, "{:?}", report.boot.error);
        let rom = report.rom.as_ref().unwrap();
        assert_eq!((rom.secure_boot, rom.flash_encryption), ("disabled", false));
        assert_eq!(report.cpus.len(), 1);
        assert_eq!((report.cpus[0].cpu, report.cpus[0].image), ("PRO", 0));
        assert!(report.first_boot.is_empty());

        // an erased bootloader region: the ROM finds nothing to run
        bench.device.write_flash(0, &[0xff; 0x1000]).unwrap();
        let report = bench.boot();
        assert!(!report.boot.booted);
        assert!(report
            .boot
            .error
            .unwrap()
            .contains("ROM: no valid bootloader at 0x0"));
    }

    #[test]
    fn secure_boot_first_boot_burns_the_digest_then_the_rom_enforces_it() {
        // ESP32: BLOCK2 and ABS_DONE_1; ESP32-C2: the digest's first 128
        // bits in BLOCK_KEY0; the others: a SECURE_BOOT_DIGEST0 key block
        for target in [Target::Esp32c3, Target::Esp32, Target::Esp32c2] {
            secure_boot_first_boot_on(target);
        }
    }

    fn secure_boot_first_boot_on(target: Target) {
        let mut bench = Bench::new(
            target,
            "CONFIG_SECURE_BOOT=y\nCONFIG_SECURE_BOOT_V2_ENABLED=y\n",
        );
        let (primary, _) = bench.slot(0, true);
        let app = bench.app("1.0.0", 0, true);
        bench.device.write_flash(primary, &app).unwrap();

        // unsigned: the port refuses to enable secure boot, nothing burned
        let report = bench.boot();
        assert!(!report.boot.booted);
        assert!(report
            .boot
            .error
            .unwrap()
            .contains("no valid Secure Boot V2 signature block"));
        assert!(!bench
            .device
            .efuses
            .as_ref()
            .unwrap()
            .secure_boot_v2_enabled());

        let [key, other] = sb_keys(bench.chip);
        if bench.chip != Chip::Esp32c2 {
            // an ECDSA-signed bootloader: this ROM only verifies RSA-3072
            let ecdsa = &sb_keys(Chip::Esp32c2)[0];
            bench.flash_bootloader(&sbv2_signed(&bench.bootloader(), ecdsa));
            let error = bench.boot().boot.error.unwrap();
            assert!(error.contains("ROM verifies RSA-3072"), "{error}");
        }
        let signed = sbv2_signed(&bench.bootloader(), key);
        bench.flash_bootloader(&signed);
        let report = bench.boot();
        assert!(report.boot.booted, "{:?}", report.boot.error);
        assert!(report
            .first_boot
            .iter()
            .any(|a| a.contains("burned Secure Boot V2 key digest")));
        let efuses = bench.device.efuses.as_ref().unwrap();
        assert!(efuses.secure_boot_v2_enabled());
        assert!(fuses::digest_trusted(
            &fuses::trusted_digests(efuses),
            &key.public_key().digest()
        ));
        if target == Target::Esp32c3 {
            // unused digest slots were revoked
            assert_eq!(efuses.raw(Field::SecureBootKeyRevoke1).unwrap(), 1);
        }

        let report = bench.boot();
        assert_eq!(report.rom.as_ref().unwrap().secure_boot, "verified");
        assert!(report.first_boot.is_empty());

        // signed by a key whose digest is not burned: refused by the ROM
        bench.flash_bootloader(&sbv2_signed(&bench.bootloader(), other));
        let report = bench.boot();
        assert!(!report.boot.booted);
        let error = report.boot.error.unwrap();
        assert!(error.contains("ROM: secure boot check failed"), "{error}");
        assert!(error.contains("unburned or revoked"), "{error}");

        // one flipped byte in the signed data: refused
        let mut tampered = signed.clone();
        tampered[0x40] ^= 1;
        bench.flash_bootloader(&tampered);
        assert!(!bench.boot().boot.booted);

        // the burned key, revoked: refused
        bench.flash_bootloader(&signed);
        assert!(bench.boot().boot.booted);
        if target != Target::Esp32c3 {
            // one digest, no revocation bits
            return;
        }
        let efuses = bench.device.efuses.as_mut().unwrap();
        efuses.burn(Field::SecureBootKeyRevoke0, Burn::All).unwrap();
        let report = bench.boot();
        assert!(!report.boot.booted);
        assert!(report
            .boot
            .error
            .unwrap()
            .contains("secure boot check failed"));
    }

    #[test]
    fn flash_encryption_first_boot_encrypts_in_place_and_resets() {
        for target in [
            Target::Esp32,
            Target::Esp32c3,
            Target::Esp32c2,
            Target::Esp32s3,
        ] {
            let mut bench = Bench::new(target, "CONFIG_SECURE_FLASH_ENC_ENABLED=y\n");
            let (primary, slot_size) = bench.slot(0, true);
            let app = bench.app("1.0.0", 0, true);
            bench.device.write_flash(primary, &app).unwrap();
            let bootloader = bench.bootloader();
            let report = bench.boot();
            assert!(report.boot.booted, "{target:?}: {:?}", report.boot.error);
            assert_eq!(report.resets, 1, "{target:?}");
            assert!(report.rom.as_ref().unwrap().flash_encryption);
            let efuses = bench.device.efuses.as_ref().unwrap();
            assert!(efuses.flash_encryption_enabled());
            // the physical slot is the plaintext encrypted for its address
            let key = fuses::flash_encryption_key(efuses).unwrap().unwrap();
            let crypt = fuses::crypt_for(efuses, &key).unwrap();
            let mut expected = app.clone();
            expected.resize(slot_size as usize, 0xff);
            crypt.encrypt(primary, &mut expected).unwrap();
            let physical = bench.device.read_flash(primary, slot_size).unwrap();
            assert!(physical == expected, "{target:?}: slot ciphertext");
            let at = bench.chip.bootloader_offset();
            let mut expected = bootloader.clone();
            expected.resize(bootloader.len().div_ceil(0x1000) * 0x1000, 0xff);
            crypt.encrypt(at, &mut expected).unwrap();
            let physical = bench.device.read_flash(at, expected.len() as u32).unwrap();
            assert!(physical == expected, "{target:?}: bootloader ciphertext");
            // the next power-on boots straight through the decrypting reads
            let report = bench.boot();
            assert!(report.boot.booted && report.resets == 0 && report.first_boot.is_empty());
        }
    }

    #[test]
    fn power_cut_during_first_boot_encryption_leaves_an_unbootable_chip() {
        let mut bench = Bench::new(Target::Esp32c3, "CONFIG_SECURE_FLASH_ENC_ENABLED=y\n");
        let (primary, _) = bench.slot(0, true);
        let app = bench.app("1.0.0", 0, true);
        bench.device.write_flash(primary, &app).unwrap();
        let mut cut_early = bench.device.clone();
        // after the first bootloader sector was erased and rewritten encrypted
        let report = power_on(&mut bench.device, Some((2, CutMode::Clean)));
        assert!(report.boot.interrupted);
        let efuses = bench.device.efuses.as_ref().unwrap();
        assert!(
            fuses::flash_encryption_key(efuses).unwrap().is_some(),
            "key burned first"
        );
        assert!(!efuses.flash_encryption_enabled(), "counter not yet burned");
        let report = bench.boot();
        assert!(!report.boot.booted);
        assert!(report
            .boot
            .error
            .unwrap()
            .contains("ROM: no valid bootloader"));

        // cut before anything was encrypted: the next boot reuses the burned key
        let report = power_on(&mut cut_early, Some((0, CutMode::Clean)));
        assert!(report.boot.interrupted);
        let report = power_on(&mut cut_early, None);
        assert!(report.boot.booted, "{:?}", report.boot.error);
        assert!(report
            .first_boot
            .iter()
            .any(|a| a.contains("using the key already in eFuse")));
    }

    #[test]
    fn app_overlapping_the_loader_is_refused_with_the_region_named() {
        let mut bench = Bench::new(Target::Esp32c3, "");
        let (primary, slot_size) = bench.slot(0, true);
        let loader = bench.chip.memory_map(false).bootloader_regions[0].clone();
        let iram = loader.iram.clone().unwrap();
        let mut options = AppOptions::new("1.0.0");
        options.iram_addr = Some(iram.start);
        options.unchecked = true;
        let payload = build_app(bench.chip, &options).unwrap();
        let mut opts = SignOptions::new("1.0.0".parse().unwrap(), 32, slot_size);
        opts.pad_header = true;
        opts.align = 4;
        let image = ImageBuilder::new(&opts)
            .signer(Some(&bench.mcuboot))
            .to_vec(payload)
            .unwrap();
        bench.device.write_flash(primary, &image).unwrap();
        let report = bench.boot();
        assert!(!report.boot.booted);
        let error = report.boot.error.unwrap();
        assert!(error.contains("the loader refuses the app"), "{error}");
        assert!(error.contains(loader.name), "{error}");
    }

    #[test]
    fn esp32_multi_processor_boot_starts_image_1_on_the_app_cpu_first() {
        let conf = "CONFIG_ESP_IMAGE_NUMBER=2\nCONFIG_ESP_MULTI_PROCESSOR_BOOT=y\n\
                    CONFIG_ESP_APPLICATION_SIZE=0x80000\n\
                    CONFIG_ESP_IMAGE0_PRIMARY_START_ADDRESS=0x10000\n\
                    CONFIG_ESP_IMAGE0_SECONDARY_START_ADDRESS=0x90000\n\
                    CONFIG_ESP_IMAGE1_PRIMARY_START_ADDRESS=0x110000\n\
                    CONFIG_ESP_IMAGE1_SECONDARY_START_ADDRESS=0x190000\n\
                    CONFIG_ESP_SCRATCH_OFFSET=0x210000\nCONFIG_ESP_SCRATCH_SIZE=0x40000\n";
        let mut bench = Bench::new(Target::Esp32, conf);
        for image in [0, 1] {
            let (at, _) = bench.slot(image, true);
            let app = bench.app("1.0.0", image, true);
            bench.device.write_flash(at, &app).unwrap();
        }
        let report = bench.boot();
        assert!(report.boot.booted, "{:?}", report.boot.error);
        let order: Vec<(&str, usize)> = report.cpus.iter().map(|c| (c.cpu, c.image)).collect();
        assert_eq!(order, [("APP", 1), ("PRO", 0)]);
        assert_eq!(running(&report), Some("1.0.0+0"));
    }

    #[test]
    fn encrypted_swap_sweep_finds_only_the_port_erase_before_write_hazard() {
        let mut bench = Bench::new(Target::Esp32c3, "CONFIG_SECURE_FLASH_ENC_ENABLED=y\n");
        let (primary, _) = bench.slot(0, true);
        let (secondary, _) = bench.slot(0, false);
        let app = bench.app("1.0.0", 0, true);
        bench.device.write_flash(primary, &app).unwrap();
        assert!(bench.boot().boot.booted);
        // the upgrade is written through the encrypted flash, as an OTA agent does
        let update = bench.app("1.1.0", 0, false);
        let efuses = bench.device.efuses.as_ref().unwrap();
        let key = fuses::flash_encryption_key(efuses).unwrap().unwrap();
        let crypt = fuses::crypt_for(efuses, &key).unwrap();
        let mut encrypted = update.clone();
        encrypted.resize(update.len().div_ceil(32) * 32, 0xff);
        crypt.encrypt(secondary, &mut encrypted).unwrap();
        bench.device.write_flash(secondary, &encrypted).unwrap();
        app_call(
            &mut bench.device,
            0,
            AppCall::SetPending { permanent: true },
        )
        .unwrap();
        let report = sweep(&bench.device, false, &|_, _| {}).unwrap();
        assert!(report.cut_points > 1000);
        assert_eq!(report.reference.images[0].version, "1.1.0+0");
        // every failure is a cut between the port's sector erase and its
        // encrypted write-back (esp_mcuboot.c); they are rare but real
        assert!(!report.failures.is_empty());
        assert!(report.failures.len() * 100 < report.cut_points as usize);
        for failure in &report.failures {
            assert!(failure.hazard.is_some(), "{failure}");
        }
    }

    #[test]
    fn esp32c2_burns_digest_and_flash_encryption_key_into_its_one_block() {
        let both = "CONFIG_SECURE_BOOT=y\nCONFIG_SECURE_BOOT_V2_ENABLED=y\n\
                    CONFIG_SECURE_FLASH_ENC_ENABLED=y\n";
        for (extra, works) in [
            ("", false),
            (
                "CONFIG_SECURE_BOOT_FLASH_ENC_KEYS_BURN_TOGETHER=y\n\
                 CONFIG_SECURE_FLASH_ENCRYPTION_AES128_DERIVED=y\n",
                true,
            ),
        ] {
            let mut bench = Bench::new(Target::Esp32c2, &format!("{both}{extra}"));
            let (primary, _) = bench.slot(0, true);
            let app = bench.app("1.0.0", 0, true);
            bench.device.write_flash(primary, &app).unwrap();
            let key = Sbv2Key::generate(SigningScheme::Ecdsa256).unwrap();
            let signed = sbv2_signed(&bench.bootloader(), &key);
            bench.flash_bootloader(&signed);
            let report = bench.boot();
            if !works {
                assert!(!report.boot.booted);
                let error = report.boot.error.unwrap();
                assert!(
                    error.contains("CONFIG_SECURE_BOOT_FLASH_ENC_KEYS_BURN_TOGETHER"),
                    "{error}"
                );
                continue;
            }
            assert!(
                report.boot.booted,
                "{:?} {:?}",
                report.boot.error, report.first_boot
            );
            assert_eq!(report.resets, 1);
            let efuses = bench.device.efuses.as_ref().unwrap();
            assert!(efuses.secure_boot_v2_enabled() && efuses.flash_encryption_enabled());
            assert_eq!(
                fuses::flash_encryption_key(efuses).unwrap().unwrap().bits(),
                128
            );
            assert_eq!(bench.boot().rom.unwrap().secure_boot, "verified");
        }
    }
}
