//! A device on a serial port (feature `port`): eFuses read and burned
//! register by register through esp-efuse's [`Port`] backend (as espefuse
//! does), flash written and verified with esptool's protocol through
//! `esp-serial-client` (stub flasher, SPI_FLASH_MD5).
//!
//! A provisioning run encrypts firmware on the host (seed 003, FE step 5,
//! `encrypt-flash-data`) and writes the ciphertext as it is; the ROM's own
//! encryption (`write-flash --encrypt`) is not offered over a port and is
//! refused with [`DeviceError::PortUnsupported`].

use esp_efuse::backend::{EfuseBackend, Port};
use esp_efuse::{Burn, Efuses, Field, KeyGroup, KeyOptions};
use esp_image::Chip;
use esp_serial_client::flash::WriteOptions;
use esp_serial_client::reset::Before;
use esp_serial_client::Client;

use crate::device::{Device, DeviceError};

/// Connection attempts, as esptool's default (`--connect-attempts 7`).
const CONNECT_ATTEMPTS: u32 = 7;
/// A chip in download mode on a serial port.
pub struct PortDevice {
    port: Port<Client>,
    chip: Chip,
    spi_attached: bool,
}

impl std::fmt::Debug for PortDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortDevice")
            .field("port", &self.port.io().port_name())
            .field("chip", &self.chip)
            .finish()
    }
}

impl PortDevice {
    /// Opens `port` at `baud`, connects (esptool's default reset), detects
    /// the chip and uploads the stub flasher where the chip allows it.
    pub fn connect(port: &str, baud: u32) -> Result<PortDevice, DeviceError> {
        let mut client = Client::open(port, baud)?;
        client.connect(Before::DefaultReset, CONNECT_ATTEMPTS)?;
        let chip = client.detect_chip()?;
        if client.secure_download_mode()? {
            return Err(DeviceError::SecureDownloadMode(port.to_owned()));
        }
        if !client.stub_disabled()? {
            client.run_stub()?;
        }
        Ok(PortDevice {
            port: Port::new(client),
            chip,
            spi_attached: false,
        })
    }

    /// The chip detected on the port.
    pub fn chip(&self) -> Chip {
        self.chip
    }

    fn client(&mut self) -> Result<&mut Client, DeviceError> {
        let client = self.port.io_mut();
        if !self.spi_attached {
            client.spi_attach()?;
            self.spi_attached = true;
        }
        Ok(client)
    }

    /// Loads the eFuses, lets `stage` stage writes, burns them through the
    /// port.
    fn burn(
        &mut self,
        stage: impl FnOnce(&mut Efuses) -> Result<(), esp_efuse::EfuseError>,
    ) -> Result<(), DeviceError> {
        let mut efuses = self.port.load(self.chip)?;
        stage(&mut efuses)?;
        efuses.commit_to(&mut self.port)?;
        Ok(())
    }
}

impl Device for PortDevice {
    fn efuses(&mut self) -> Result<Efuses, DeviceError> {
        Ok(self.port.load(self.chip)?)
    }

    fn burn_keys(&mut self, keys: &[KeyGroup], digests: &[KeyGroup]) -> Result<(), DeviceError> {
        self.burn(|efuses| {
            if !keys.is_empty() {
                efuses.stage_keys(keys, KeyOptions::default())?;
            }
            if !digests.is_empty() {
                efuses.stage_key_digests(digests, KeyOptions::default())?;
            }
            Ok(())
        })
    }

    fn burn_field(&mut self, field: Field, value: u64) -> Result<(), DeviceError> {
        self.burn(|efuses| efuses.stage(field, Burn::Bits(value)).map(|_| ()))
    }

    fn write_protect(&mut self, field: Field) -> Result<(), DeviceError> {
        self.burn(|efuses| efuses.stage_write_protect(field).map(|_| ()))
    }

    fn erase_flash(&mut self) -> Result<(), DeviceError> {
        let client = self.client()?;
        if client.is_stub() {
            client.erase_flash()?;
            return Ok(());
        }
        // a ROM without ERASE_FLASH (the ESP32-C2 v0.0, which gets no
        // stub): the whole chip written with 0xFF, its size from the JEDEC
        // id's capacity byte (2^n bytes, esptool's `DETECTED_FLASH_SIZES`)
        let capacity = (client.flash_jedec_id()? >> 16) & 0xFF;
        let size = match capacity {
            0x12..=0x1A => 1u32 << capacity,
            _ => return Err(DeviceError::PortUnsupported("erase-flash on this flash chip")),
        };
        let blank = vec![0xFF; size as usize];
        client.write_flash(0, &blank, WriteOptions::new(false), &mut |_| {})?;
        Ok(())
    }

    fn write_flash(&mut self, address: u32, data: &[u8], encrypt: bool) -> Result<(), DeviceError> {
        if encrypt {
            return Err(DeviceError::PortUnsupported("write-flash --encrypt"));
        }
        let client = self.client()?;
        let compress = client.is_stub();
        client.write_flash(address, data, WriteOptions::new(compress), &mut |_| {})?;
        Ok(())
    }

    fn flash_matches(
        &mut self,
        address: u32,
        data: &[u8],
        encrypt: bool,
    ) -> Result<bool, DeviceError> {
        if encrypt {
            return Err(DeviceError::PortUnsupported("verifying encrypted flash"));
        }
        Ok(self.client()?.verify_flash(address, data)?)
    }
}
