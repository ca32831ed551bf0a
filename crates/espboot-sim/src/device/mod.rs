//! A simulated device: its settings (target, flash map, merged
//! `bootloader.conf`, embedded keys), its flash and its eFuses.
//!
//! [`Device`] lives in memory; [`DeviceDir`] is the only code that knows a
//! device directory's files and writes them (atomically, under the
//! directory's lock). This module converts between those files' bytes and
//! a [`Device`].

mod dir;
mod summary;

use std::path::PathBuf;

use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
use serde::{Deserialize, Serialize};

use crate::chip::bootloader;
use crate::config::{ConfigError, ConfigFile, FlashMap, Target};
use flash_sim::flash::{FlashError, Geometry, GeometryError, SimFlash};

pub use dir::{DeviceDir, DirError, EFUSE_FILE, FLASH_FILE, LOCK_FILE, LOCK_WAIT, SETTINGS_FILE};
pub use summary::{DeviceSummary, ImagePlacement, SlotPlacement};

/// Version of the `device.json` layout.
pub const SETTINGS_FORMAT: u32 = 1;

/// Errors creating, loading or using a device.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The bootloader configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The flash map gives no valid flash geometry.
    #[error("flash geometry: {0}")]
    Geometry(#[from] GeometryError),
    /// A flash operation failed.
    #[error(transparent)]
    Flash(#[from] FlashError),
    /// `device.json` is not valid JSON for [`DeviceSettings`].
    #[error("{SETTINGS_FILE}: {0}")]
    Settings(#[source] serde_json::Error),
    /// `device.json` has a layout version this build does not read.
    #[error("{SETTINGS_FILE}: format {found} is not supported (expected {SETTINGS_FORMAT})")]
    SettingsFormat {
        /// The version in the file.
        found: u32,
    },
    /// The eFuse file cannot be read or written.
    #[error("{EFUSE_FILE}: {0}")]
    Efuse(#[from] esp_efuse::EfuseError),
    /// `flash.bin` does not have the flash size of the map.
    #[error("{FLASH_FILE} is {actual:#x} bytes, expected the flash size {expected:#x}")]
    FlashFileSize {
        /// Its length.
        actual: u64,
        /// The map's flash size.
        expected: u32,
    },
    /// A read or write beyond the end of the flash.
    #[error("{what} {offset:#x}+{len:#x} is beyond the flash size {flash_size:#x}")]
    OutOfRange {
        /// `read` or `write`.
        what: &'static str,
        /// Its start.
        offset: u32,
        /// Its length.
        len: u64,
        /// The flash size.
        flash_size: u32,
    },
    /// The device's bootloader cannot be built.
    #[error(transparent)]
    Bootloader(#[from] crate::chip::bootloader::BootloaderError),
}

/// The embedded public key of the simulated bootloader (what the port
/// generates from `CONFIG_ESP_SIGN_KEY_FILE` with `imgtool getpub`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddedKey {
    /// Where the key came from (for messages only).
    pub source: String,
    /// The DER blob the bootloader embeds and whose hash is the KEYHASH
    /// TLV: SubjectPublicKeyInfo for EC/Ed25519, PKCS#1 RSAPublicKey for RSA
    /// (mcuboot.md §1.6, §9).
    #[serde(with = "hex_bytes")]
    pub der: Vec<u8>,
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

/// The embedded DER of a key file's public key (private or public PEM, as
/// the port's build accepts for `CONFIG_ESP_SIGN_KEY_FILE`), through the
/// image crate's key loader (`imgtool getpub -e raw` equivalent).
pub fn embedded_key_der(pem: &[u8]) -> Result<Vec<u8>, String> {
    use mcuboot_image::keys::McubootKey as _;
    let key = mcuboot_image::keys::load_pem(pem, None).map_err(|e| e.to_string())?;
    key.public_key().embedded_der().map_err(|e| e.to_string())
}

/// Contents of `device.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSettings {
    /// Layout version of this file.
    pub format: u32,
    /// The chip.
    pub target: Target,
    /// The merged configuration (defaults, then each `--config` file).
    pub config: std::collections::BTreeMap<String, String>,
    /// The flash map resolved from `config`.
    pub map: FlashMap,
    /// Public keys embedded in the bootloader.
    #[serde(default)]
    pub keys: Vec<EmbeddedKey>,
}

/// A device: settings plus flash.
#[derive(Debug, Clone)]
pub struct Device {
    /// What `device.json` holds.
    pub settings: DeviceSettings,
    /// The flash contents (`flash.bin`).
    pub flash: SimFlash,
    /// The chip's eFuses (targets the virtual chip models; `None` for the
    /// others, which boot without a ROM stage).
    pub efuses: Option<esp_efuse::Efuses>,
}

impl Device {
    /// A new device for `target` with the port's defaults overridden by each
    /// of `configs` in order: an erased flash holding only, on the chips the
    /// virtual chip models, an unsigned bootloader built from that
    /// configuration at the chip's bootloader offset. `flash_size`
    /// overrides `CONFIG_ESP_FLASH_SIZE`.
    pub fn create(
        target: Target,
        configs: &[PathBuf],
        flash_size: Option<u32>,
    ) -> Result<Self, DeviceError> {
        let mut config = target.default_config();
        for path in configs {
            config.apply_file(path)?;
        }
        Self::from_config(target, &config, flash_size)
    }

    /// A new device from an already merged config.
    pub fn from_config(
        target: Target,
        config: &ConfigFile,
        flash_size: Option<u32>,
    ) -> Result<Self, DeviceError> {
        let map = FlashMap::resolve(config, flash_size)?;
        let keys = config.embedded_keys()?;
        let settings = DeviceSettings {
            format: SETTINGS_FORMAT,
            target,
            config: config.keys.clone(),
            map,
            keys,
        };
        let flash = new_flash(&settings.map)?;
        let efuses = target.chip().map(crate::chip::new_efuses);
        let mut device = Self {
            settings,
            flash,
            efuses,
        };
        // A modelled chip gets the port's bootloader, unsigned, built from
        // the same configuration (what `espboot sim build-bootloader` makes),
        // where its ROM looks for it.
        if let Some(chip) = target.chip() {
            let mut bootloader_config = config.clone();
            if let Some(size) = flash_size {
                // The bootloader header carries the real flash size.
                bootloader_config
                    .keys
                    .insert("CONFIG_ESP_FLASH_SIZE".into(), format!("{size:#x}"));
            }
            let image =
                bootloader::build_bootloader(target, &bootloader_config, &device.settings.keys)?;
            device.write_flash(chip.bootloader_offset(), &image)?;
            device.flash.reset_counters();
        }
        Ok(device)
    }

    /// Gives a modelled chip its factory MAC (see
    /// [`crate::chip::factory_mac`]); nothing for the other targets.
    pub fn program_factory_mac(&mut self, mac: [u8; 6]) -> Result<(), esp_efuse::EfuseError> {
        match &mut self.efuses {
            Some(efuses) => crate::chip::program_factory_mac(efuses, mac),
            None => Ok(()),
        }
    }

    /// A device from the bytes of `device.json` and `flash.bin`.
    pub fn from_files(settings_json: &[u8], flash_bin: &[u8]) -> Result<Self, DeviceError> {
        let settings: DeviceSettings =
            serde_json::from_slice(settings_json).map_err(DeviceError::Settings)?;
        if settings.format != SETTINGS_FORMAT {
            return Err(DeviceError::SettingsFormat {
                found: settings.format,
            });
        }
        settings.map.validate()?;
        if flash_bin.len() as u64 != u64::from(settings.map.flash_size) {
            return Err(DeviceError::FlashFileSize {
                actual: flash_bin.len() as u64,
                expected: settings.map.flash_size,
            });
        }
        let mut flash = SimFlash::from_bytes(geometry(&settings.map)?, flash_bin)?;
        add_regions(&mut flash, &settings.map);
        let efuses = settings.target.chip().map(crate::chip::new_efuses);
        Ok(Self {
            settings,
            flash,
            efuses,
        })
    }

    /// `device.json` contents.
    pub fn settings_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&self.settings).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Writes `data` at `offset` the way `esptool write_flash` does: erase
    /// every sector the data touches, then program it (padded with the
    /// erased value to the write size). Bytes of those sectors outside the
    /// data are erased too.
    pub fn write_flash(&mut self, offset: u32, data: &[u8]) -> Result<(), DeviceError> {
        let flash_size = self.settings.map.flash_size;
        let end = u64::from(offset) + data.len() as u64;
        if end > u64::from(flash_size) {
            return Err(DeviceError::OutOfRange {
                what: "write",
                offset,
                len: data.len() as u64,
                flash_size,
            });
        }
        if data.is_empty() {
            return Ok(());
        }
        let geometry = self.flash.geometry().clone();
        let write_size = geometry.write_size();
        let first = geometry.sector(geometry.sector_index(offset)).start;
        let last = geometry.sector(geometry.sector_index((end - 1) as u32)).end;
        self.flash.erase(first, last)?;
        // Programming needs write-size alignment on both ends.
        let start = offset - offset % write_size;
        let mut buf = vec![geometry.erased_value(); (offset - start) as usize];
        buf.extend_from_slice(data);
        let padded = buf.len().div_ceil(write_size as usize) * write_size as usize;
        buf.resize(padded, geometry.erased_value());
        let fits = (u64::from(start) + buf.len() as u64).min(u64::from(last)) - u64::from(start);
        buf.truncate(fits as usize);
        self.flash.write(start, &buf)?;
        Ok(())
    }

    /// Reads `size` bytes at `offset`.
    pub fn read_flash(&mut self, offset: u32, size: u32) -> Result<Vec<u8>, DeviceError> {
        let flash_size = self.settings.map.flash_size;
        if u64::from(offset) + u64::from(size) > u64::from(flash_size) {
            return Err(DeviceError::OutOfRange {
                what: "read",
                offset,
                len: u64::from(size),
                flash_size,
            });
        }
        let mut out = vec![0u8; size as usize];
        self.flash.read(offset, &mut out)?;
        Ok(out)
    }
}

/// The flash geometry of a device map: uniform sectors, the map's write
/// size and erased value.
pub fn geometry(map: &FlashMap) -> Result<Geometry, GeometryError> {
    // The SPI flash itself programs any 4-byte aligned word; the 32-byte
    // alignment of an encrypted configuration is the port's
    // (`flash_area_align()`), which it only applies once encryption is on.
    Geometry::uniform(
        map.sector_size,
        map.flash_size / map.sector_size,
        map.write_size
            .min(crate::chip::port_flash::PORT_ALIGN_PLAIN),
        map.erased_val,
    )
}

/// Registers the map's regions on `flash` so its counters are split per
/// region.
pub fn add_regions(flash: &mut SimFlash, map: &FlashMap) {
    for (name, span) in map.regions() {
        flash.add_region(name, span.offset..span.offset + span.size);
    }
}

fn new_flash(map: &FlashMap) -> Result<SimFlash, DeviceError> {
    let mut flash = SimFlash::new(geometry(map)?);
    add_regions(&mut flash, map);
    Ok(flash)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn write_flash_erases_covered_sectors_and_pads() {
        let mut dev = Device::create(Target::Esp32c3, &[], None).unwrap();
        dev.write_flash(0x20000, &[0u8; 0x2000]).unwrap();
        // Rewriting part of the data works: the covered sector is erased.
        dev.write_flash(0x20ffe, &[1, 2, 3]).unwrap();
        let back = dev.read_flash(0x20000, 0x2000).unwrap();
        assert!(back[..0xffe].iter().all(|&b| b == 0xff), "sector erased");
        assert_eq!(&back[0xffe..0x1002], &[1, 2, 3, 0xff]);
        assert!(back[0x1004..0x2000].iter().all(|&b| b == 0xff));
        assert!(matches!(
            dev.write_flash(0x3fffff, &[1, 2]),
            Err(DeviceError::OutOfRange { .. })
        ));
    }

    #[test]
    fn settings_round_trip() {
        let mut dev = Device::create(Target::Esp32c3, &[], Some(8 << 20)).unwrap();
        dev.write_flash(0x1000, b"hello").unwrap();
        let json = dev.settings_json();
        let again = Device::from_files(&json, dev.flash.data()).unwrap();
        assert_eq!(again.settings, dev.settings);
        assert_eq!(again.flash.data(), dev.flash.data());
        assert!(matches!(
            Device::from_files(&json, &[0xff; 16]),
            Err(DeviceError::FlashFileSize { .. })
        ));
    }
}
