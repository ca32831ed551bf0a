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
    /// The eFuses as last read from the chip: by [`Device::efuses`] or at
    /// the end of a burn (espefuse's read-back of every block). eFuses
    /// change only when this device burns them, so the image stays the
    /// chip's until the next burn; re-reading it before and after every
    /// step cost ~130 READ_REG round trips each (`scripts/bench-provision`).
    efuses: Option<Efuses>,
    /// A burn of ENABLE_SECURITY_DOWNLOAD or DIS_DOWNLOAD_MODE cut the host
    /// off the eFuse registers: the chip confirmed it (Secure Download Mode
    /// on reconnection, or no answer), and nothing more can be read.
    locked: bool,
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
            efuses: None,
            locked: false,
        })
    }

    /// The chip detected on the port.
    pub fn chip(&self) -> Chip {
        self.chip
    }

    fn client(&mut self) -> Result<&mut Client, DeviceError> {
        if self.locked {
            return Err(DeviceError::DownloadModeLocked);
        }
        let client = self.port.io_mut();
        if !self.spi_attached {
            client.spi_attach()?;
            self.spi_attached = true;
        }
        Ok(client)
    }

    /// The chip's eFuses: the image last read, else read now.
    fn current(&mut self) -> Result<Efuses, DeviceError> {
        if let Some(efuses) = &self.efuses {
            return Ok(efuses.clone());
        }
        if self.locked {
            return Err(DeviceError::DownloadModeLocked);
        }
        let efuses = self.port.load(self.chip)?;
        self.efuses = Some(efuses.clone());
        Ok(efuses)
    }

    /// Lets `stage` stage writes on the chip's eFuses, burns them through
    /// the port and keeps the image the burn read back.
    fn burn(
        &mut self,
        stage: impl FnOnce(&mut Efuses) -> Result<(), esp_efuse::EfuseError>,
    ) -> Result<(), DeviceError> {
        let mut efuses = self.current()?;
        stage(&mut efuses)?;
        let staged = efuses.clone();
        // from here the chip may have changed: read it again unless the
        // burn reads it back
        self.efuses = None;
        match efuses.commit_to(&mut self.port) {
            Ok(_) => {
                self.efuses = Some(efuses);
                Ok(())
            }
            // espefuse ends these burns with success: the bit took effect
            // at the read command after the program, which the chip shows
            // by answering only in Secure Download Mode (GET_SECURITY_INFO
            // on reconnection), or not at all. Its registers cannot be read
            // any more; what was staged is what the chip now holds.
            Err(
                esp_efuse::EfuseError::SecureDownloadModeBurned
                | esp_efuse::EfuseError::DownloadModeBurned,
            ) => {
                let mut burned = staged;
                burned.commit()?;
                self.efuses = Some(burned);
                self.locked = true;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Device for PortDevice {
    fn efuses(&mut self) -> Result<Efuses, DeviceError> {
        self.current()
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
            _ => {
                return Err(DeviceError::PortUnsupported(
                    "erase-flash on this flash chip",
                ))
            }
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
