//! The virtual device under MCUboot's serial recovery: a
//! [`mcumgr_smp::recovery::RecoveryDevice`] over a [`Device`].
//!
//! Everything goes through what the flashed bootloader would use: its
//! configuration (flash map, keys, serial-recovery keys) read the way the
//! ROM reads it, and the port's flash backend ([`PortFlash`]), so a device
//! with flash encryption enabled stores uploads as ciphertext and aligns
//! writes to 32 bytes. Images are validated by the boot core
//! ([`mcuboot_boot::validate_slot_image`]) with the bootloader's embedded
//! keys; state set writes the trailer through [`mcuboot_boot::set_pending`].
//!
//! ```
//! use espboot_sim::config::Target;
//! use espboot_sim::device::Device;
//! use espboot_sim::recovery_device::SimRecoveryDevice;
//! use mcumgr_smp::client::{decode_reply, Reply, Request};
//! use mcumgr_smp::frame::{Decoded, Decoder, DecoderConfig, LineChars};
//! use mcumgr_smp::image::ImageStateReadRequest;
//! use mcumgr_smp::recovery::Recovery;
//!
//! let mut device = Device::create(Target::Esp32c3, &[], None)?;
//! let mut target = SimRecoveryDevice::new(&mut device)?;
//! let mut recovery = Recovery::new(target.recovery_config());
//! let request = ImageStateReadRequest.frame(1, 1, LineChars::MCUBOOT)?;
//! let output = recovery.on_bytes(&request, &mut target);
//! let replies = Decoder::new(DecoderConfig::CLIENT).push(&output.bytes);
//! let [Decoded::Message(reply)] = replies.as_slice() else { panic!("{replies:?}") };
//! let Reply::Ok(list) = decode_reply::<ImageStateReadRequest>(1, reply)? else { panic!() };
//! assert!(list.images.is_empty(), "an erased primary slot lists nothing");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use mcuboot_boot::{BootError, Slot as BootSlot};
use mcumgr_smp::recovery::{
    EraseMode, Features, ImageLayout, ImageVersion, RecoveryConfig, RecoveryDevice,
    SetPendingError, Slot, SlotImage, SwapType,
};

use crate::chip::boot::{flashed_bootloader, ChipError, FlashedBootloader};
use crate::chip::port_flash::{PortFlash, PortFlashError};
use crate::config::SerialRecovery;
use crate::device::Device;
use esp_secure::flash_encryption::FlashCrypt;
use mcuboot_boot::owned::OwnedBootConfig;

/// Errors of the virtual device under recovery.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimRecoveryError {
    /// The port's flash backend failed.
    #[error(transparent)]
    Flash(#[from] PortFlashError),
    /// The boot core refused (configuration, flash).
    #[error("boot core: {0}")]
    Boot(#[from] BootError<PortFlashError>),
    /// An access outside the image's primary slot.
    #[error("image {image}: {offset:#x}+{len:#x} is outside the primary slot")]
    OutsideSlot {
        /// Image.
        image: usize,
        /// Offset in the slot.
        offset: u32,
        /// Length.
        len: u64,
    },
}

/// A device in serial recovery, as its flashed bootloader sees it.
pub struct SimRecoveryDevice<'d> {
    device: &'d mut Device,
    setup: OwnedBootConfig,
    crypt: Option<Box<dyn FlashCrypt>>,
    serial: SerialRecovery,
    layouts: Vec<ImageLayout>,
}

impl<'d> SimRecoveryDevice<'d> {
    /// Reads the flashed bootloader's configuration and the eFuses' flash
    /// encryption state of `device`.
    ///
    /// # Errors
    /// [`ChipError`] when there is no valid bootloader or its configuration
    /// is inconsistent.
    pub fn new(device: &'d mut Device) -> Result<Self, ChipError> {
        let FlashedBootloader {
            setup,
            crypt,
            config,
        } = flashed_bootloader(device)?;
        let serial = config.serial_recovery(device.settings.target)?;
        let mut layouts = Vec::new();
        {
            let mut port = PortFlash::new(&mut device.flash, crypt.as_deref());
            for (image, slots) in setup.images.iter().enumerate() {
                let (status_offset, max) = setup.with_config(|cfg| {
                    (
                        mcuboot_boot::status_offset(cfg, image, BootSlot::Primary),
                        mcuboot_boot::max_image_size(&mut port, cfg, image),
                    )
                });
                let status_offset = status_offset.map_err(ChipError::BootConfig)?;
                layouts.push(ImageLayout {
                    primary_size: slots.primary.size,
                    secondary_size: slots.secondary.size,
                    sector_size: setup.sector_runs.first().map_or(0x1000, |r| r.0),
                    align: setup.write_size,
                    status_offset,
                    max_image_size: max.ok(),
                });
            }
        }
        Ok(SimRecoveryDevice {
            device,
            setup,
            crypt,
            serial,
            layouts,
        })
    }

    /// The bootloader's serial-recovery settings.
    pub fn serial_recovery(&self) -> SerialRecovery {
        self.serial
    }

    /// The recovery build options those settings select:
    /// `CONFIG_ESP_MCUBOOT_ERASE_PROGRESSIVELY` and the full profile
    /// (`CONFIG_ESP_MCUBOOT_SERIAL_FULL`).
    pub fn recovery_config(&self) -> RecoveryConfig {
        RecoveryConfig {
            features: if self.serial.full {
                Features::FULL
            } else {
                Features::ESP_PORT
            },
            erase: if self.serial.erase_progressively {
                EraseMode::Progressive
            } else {
                EraseMode::WholeSlot
            },
        }
    }

    /// The device.
    pub fn device(&mut self) -> &mut Device {
        self.device
    }

    /// The absolute flash offset of `offset..offset+len` in `image`'s
    /// primary slot.
    fn absolute(&self, image: usize, offset: u32, len: u64) -> Result<u32, SimRecoveryError> {
        let outside = SimRecoveryError::OutsideSlot { image, offset, len };
        let slot = self.setup.images.get(image).ok_or(outside)?.primary;
        if u64::from(offset) + len > u64::from(slot.size) {
            return Err(SimRecoveryError::OutsideSlot { image, offset, len });
        }
        Ok(slot.offset + offset)
    }

    fn port(&mut self) -> PortFlash<'_> {
        PortFlash::new(&mut self.device.flash, self.crypt.as_deref())
    }
}

impl RecoveryDevice for SimRecoveryDevice<'_> {
    type Error = SimRecoveryError;

    fn image_count(&self) -> usize {
        self.setup.images.len()
    }

    fn layout(&self, image: usize) -> Option<ImageLayout> {
        self.layouts.get(image).copied()
    }

    fn erase(&mut self, image: usize, offset: u32, len: u32) -> Result<(), SimRecoveryError> {
        use embedded_storage::nor_flash::NorFlash;
        let at = self.absolute(image, offset, u64::from(len))?;
        Ok(self.port().erase(at, at + len)?)
    }

    fn write(&mut self, image: usize, offset: u32, data: &[u8]) -> Result<(), SimRecoveryError> {
        use embedded_storage::nor_flash::NorFlash;
        let at = self.absolute(image, offset, data.len() as u64)?;
        Ok(self.port().write(at, data)?)
    }

    fn validated_image(
        &mut self,
        image: usize,
        slot: Slot,
    ) -> Result<Option<SlotImage>, SimRecoveryError> {
        let slot = match slot {
            Slot::Primary => BootSlot::Primary,
            Slot::Secondary => BootSlot::Secondary,
        };
        let crypt = self.crypt.as_deref();
        let mut port = PortFlash::new(&mut self.device.flash, crypt);
        let found = self
            .setup
            .with_config(|cfg| mcuboot_boot::validate_slot_image(&mut port, cfg, image, slot))?;
        Ok(found.map(|f| {
            let v = f.header.version;
            SlotImage {
                version: ImageVersion {
                    major: v.major,
                    minor: v.minor,
                    revision: v.revision,
                    build: v.build,
                },
                flags: f.header.flags.bits(),
                hash: f.validated.hash.map(|d| d.as_bytes().to_vec()),
            }
        }))
    }

    fn swap_type(&mut self, image: usize) -> Result<SwapType, SimRecoveryError> {
        let crypt = self.crypt.as_deref();
        let mut port = PortFlash::new(&mut self.device.flash, crypt);
        let swap = self.setup.with_config(|cfg| {
            let primary = mcuboot_boot::read_trailer(&mut port, cfg, image, BootSlot::Primary)?;
            let secondary = mcuboot_boot::read_trailer(&mut port, cfg, image, BootSlot::Secondary)?;
            Ok::<_, BootError<PortFlashError>>(mcuboot_boot::decide_swap_type(
                &primary,
                &secondary,
                cfg.strategy,
            ))
        })?;
        Ok(match swap {
            mcuboot_boot::SwapType::None => SwapType::None,
            mcuboot_boot::SwapType::Test => SwapType::Test,
            mcuboot_boot::SwapType::Perm => SwapType::Perm,
            mcuboot_boot::SwapType::Revert => SwapType::Revert,
            mcuboot_boot::SwapType::Fail => SwapType::Fail,
            _ => SwapType::Panic,
        })
    }

    fn set_pending(
        &mut self,
        image: usize,
        permanent: bool,
    ) -> Result<(), SetPendingError<SimRecoveryError>> {
        let crypt = self.crypt.as_deref();
        let mut port = PortFlash::new(&mut self.device.flash, crypt);
        let result = self
            .setup
            .with_config(|cfg| mcuboot_boot::set_pending(&mut port, cfg, image, permanent));
        match result {
            Ok(()) => Ok(()),
            Err(BootError::BadTrailerMagic { .. }) => Err(SetPendingError::BadMagic),
            Err(e) => Err(SetPendingError::Device(SimRecoveryError::Boot(e))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::chip::app::{build_app, AppOptions};
    use crate::chip::bootloader::build_bootloader;
    use crate::config::Target;
    use crate::device::EmbeddedKey;
    use mcuboot_image::keys::{KeyType, McubootKey as _, PrivateKey};
    use mcuboot_image::sign::{ImageBuilder, KeySigner, SignOptions};
    use mcumgr_smp::client::{decode_reply, Reply, Request};
    use mcumgr_smp::frame::{Decoded, Decoder, DecoderConfig, LineChars};
    use mcumgr_smp::image::{
        ImageStateReadRequest, ImageStateResponse, ImageStateWriteRequest, ImageUploadRequest,
    };
    use mcumgr_smp::recovery::{Event, Recovery};

    const PRIMARY: u32 = 0x20000;

    /// An ESP32-C3 whose flashed bootloader embeds a fresh EC256 key and has
    /// `conf`, and that key's signer.
    fn bench(conf: &str) -> (Device, KeySigner, bool) {
        let target = Target::Esp32c3;
        let mut config = target.default_config();
        let text = format!("CONFIG_ESP_MCUBOOT_SERIAL=y\nCONFIG_ESP_SIGN_EC256=y\n{conf}");
        config
            .apply_str(&text, std::path::Path::new("t.conf"))
            .unwrap();
        let private = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let key = EmbeddedKey {
            source: "test".into(),
            der: private.public_key().embedded_der().unwrap(),
        };
        let mut device = Device::from_config(target, &config, None).unwrap();
        let bootloader = build_bootloader(target, &config, std::slice::from_ref(&key)).unwrap();
        device.write_flash(0, &bootloader).unwrap();
        let encrypted = config.is_set("CONFIG_SECURE_FLASH_ENC_ENABLED");
        (device, KeySigner::new(private, false).unwrap(), encrypted)
    }

    fn app(signer: &KeySigner, version: &str, encrypted: bool) -> Vec<u8> {
        let chip = Target::Esp32c3.chip().unwrap();
        let mut options = AppOptions::new(version);
        options.size = Some(3000);
        let payload = build_app(chip, &options).unwrap();
        let mut opts = SignOptions::new(version.parse().unwrap(), 32, 0x1C0000);
        opts.pad_header = true;
        opts.align = if encrypted { 32 } else { 4 };
        if encrypted {
            opts.max_align = Some(32);
        }
        ImageBuilder::new(&opts)
            .signer(Some(signer))
            .to_vec(payload)
            .unwrap()
    }

    fn exchange<R: Request>(rec: &mut Recovery, dev: &mut Device, req: &R) -> Reply<R::Response> {
        let bytes = req.frame(1, 0, LineChars::MCUBOOT).unwrap();
        let mut target = SimRecoveryDevice::new(dev).unwrap();
        let out = rec.on_bytes(&bytes, &mut target);
        match Decoder::new(DecoderConfig::CLIENT)
            .push(&out.bytes)
            .as_slice()
        {
            [Decoded::Message(m)] => decode_reply::<R>(1, m).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    /// Uploads `image` in 128-byte chunks as a client would.
    fn upload(rec: &mut Recovery, dev: &mut Device, image: &[u8]) {
        let mut off = 0usize;
        while off < image.len() {
            let end = (off + 128).min(image.len());
            let req = ImageUploadRequest {
                off: off as u32,
                data: image[off..end].to_vec(),
                image: Some(0),
                len: (off == 0).then_some(image.len() as u32),
                ..ImageUploadRequest::default()
            };
            let Reply::Ok(r) = exchange(rec, dev, &req) else {
                panic!("upload at {off}")
            };
            assert_eq!(r.rc, Some(0));
            off = r.off.unwrap() as usize;
        }
    }

    fn list(rec: &mut Recovery, dev: &mut Device) -> ImageStateResponse {
        match exchange(rec, dev, &ImageStateReadRequest) {
            Reply::Ok(l) => l,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn upload_list_and_state_set_through_the_boot_core() {
        let (mut dev, signer, _) = bench("CONFIG_ESP_MCUBOOT_SERIAL_FULL=y\n");
        let config = SimRecoveryDevice::new(&mut dev).unwrap().recovery_config();
        assert_eq!(config.features, Features::FULL);
        assert_eq!(config.erase, EraseMode::WholeSlot);
        let mut rec = Recovery::new(config);
        // A corrupt image uploads but is not listed.
        let good = app(&signer, "1.2.3", false);
        let mut bad = good.clone();
        bad[0x100] ^= 1;
        upload(&mut rec, &mut dev, &bad);
        assert!(list(&mut rec, &mut dev).images.is_empty());
        upload(&mut rec, &mut dev, &good);
        assert_eq!(dev.read_flash(PRIMARY, good.len() as u32).unwrap(), good);
        let l = list(&mut rec, &mut dev);
        assert_eq!(l.images.len(), 1);
        let s = &l.images[0];
        assert_eq!((s.slot, s.version.as_str()), (0, "1.2.3"));
        assert_eq!((s.confirmed, s.active), (Some(true), Some(true)));
        let hash = s.hash.clone().unwrap();
        // State set by hash: boot_set_pending writes the secondary trailer.
        let set = ImageStateWriteRequest {
            hash: Some(hash),
            confirm: Some(false),
        };
        assert!(matches!(exchange(&mut rec, &mut dev, &set), Reply::Ok(_)));
        let (setup, _) = crate::chip::boot::flashed_setup(&mut dev).unwrap();
        let t = setup
            .trailer(&mut dev.flash, 0, BootSlot::Secondary)
            .unwrap();
        assert_eq!(t.swap_type, mcuboot_boot::SwapType::Test);
        // The image runs at the next boot.
        let report = crate::chip::boot::power_on(&mut dev, None);
        assert!(report.boot.booted, "{:?}", report.boot.error);
    }

    #[test]
    fn progressive_erase_is_configured_by_the_bootloader() {
        let (mut dev, signer, _) = bench("CONFIG_ESP_MCUBOOT_ERASE_PROGRESSIVELY=y\n");
        let target = SimRecoveryDevice::new(&mut dev).unwrap();
        let config = target.recovery_config();
        assert_eq!(
            (config.features, config.erase),
            (Features::ESP_PORT, EraseMode::Progressive)
        );
        assert_eq!(target.layout(0).unwrap().status_offset, 0x1C0000 - 0x1830);
        assert_eq!(target.layout(0).unwrap().align, 4);
        drop(target);
        let mut rec = Recovery::new(config);
        upload(&mut rec, &mut dev, &app(&signer, "1.0.0", false));
        let erases: Vec<(u32, u32)> = rec
            .take_events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Erased { offset, len, .. } => Some((offset, len)),
                _ => None,
            })
            .collect();
        assert_eq!(erases.first(), Some(&(0, 0x1000)));
        assert_eq!(erases.last(), Some(&(0x1BE000, 0x1000)));
    }

    #[test]
    fn encrypted_device_aligns_to_32_and_stores_ciphertext() {
        let (mut dev, signer, encrypted) = bench("CONFIG_SECURE_FLASH_ENC_ENABLED=y\n");
        assert!(encrypted);
        dev.write_flash(PRIMARY, &app(&signer, "1.0.0", true))
            .unwrap();
        assert!(crate::chip::boot::power_on(&mut dev, None).boot.booted);
        let target = SimRecoveryDevice::new(&mut dev).unwrap();
        assert_eq!(target.layout(0).unwrap().align, 32);
        let config = target.recovery_config();
        let mut rec = Recovery::new(config);
        let image = app(&signer, "2.0.0", true);
        upload(&mut rec, &mut dev, &image);
        let physical = dev.read_flash(PRIMARY, image.len() as u32).unwrap();
        assert_ne!(physical, image, "ciphertext on flash");
        let l = list(&mut rec, &mut dev);
        assert_eq!(l.images.first().map(|s| s.version.as_str()), Some("2.0.0"));
        let report = crate::chip::boot::power_on(&mut dev, None);
        assert!(report.boot.booted, "{:?}", report.boot.error);
        assert_eq!(report.boot.images[0].version, "2.0.0+0");
    }
}
