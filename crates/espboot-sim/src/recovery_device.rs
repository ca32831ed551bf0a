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
use crate::run::Setup;
use esp_secure::flash_encryption::FlashCrypt;

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
    setup: Setup,
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
                let status_offset = status_offset.map_err(|e| ChipError::Boot(e.to_string()))?;
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
