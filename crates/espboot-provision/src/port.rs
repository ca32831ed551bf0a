//! A device on a serial port (feature `port`): eFuses read and burned
//! register by register through esp-efuse's [`Port`] backend (as espefuse
//! does), flash written and verified with esptool's protocol through
//! `esp-serial-client` (stub flasher, SPI_FLASH_MD5).
//!
//! Encrypted writes (`write-flash --encrypt`) are not supported yet over a
//! port: they are refused with [`DeviceError::PortUnsupported`].

use esp_efuse::backend::{EfuseBackend, Port, RegisterIo};
use esp_efuse::{Burn, Efuses, Field, KeyGroup, KeyOptions};
use esp_image::Chip;
use esp_serial_client::flash::WriteOptions;
use esp_serial_client::reset::Before;
use esp_serial_client::Client;

use crate::device::{Device, DeviceError};

/// Connection attempts, as esptool's default (`--connect-attempts 7`).
const CONNECT_ATTEMPTS: u32 = 7;
/// GET_SECURITY_INFO flag: Secure Download Mode is on (serial.md §4.3,
/// `efuse/<chip>/fields.py`).
const SECURE_DOWNLOAD_FLAG: u32 = 1 << 2;

/// The register access of a chip on a serial port.
struct SerialRegisters {
    client: Client,
}

impl RegisterIo for SerialRegisters {
    type Error = esp_serial_client::Error;

    fn read_reg(&mut self, addr: u32) -> Result<u32, Self::Error> {
        self.client.read_reg(addr)
    }

    fn write_reg(
        &mut self,
        addr: u32,
        value: u32,
        mask: u32,
        delay_us: u32,
    ) -> Result<(), Self::Error> {
        self.client.write_reg(addr, value, mask, delay_us)
    }
}

/// A chip in download mode on a serial port.
pub struct PortDevice {
    port: Port<SerialRegisters>,
    chip: Chip,
    spi_attached: bool,
}

impl std::fmt::Debug for PortDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortDevice")
            .field("port", &self.port.io().client.port_name())
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
        if chip != Chip::Esp32 && secure_download(&mut client)? {
            return Err(DeviceError::SecureDownloadMode(port.to_owned()));
        }
        if !client.stub_disabled()? {
            client.run_stub()?;
        }
        Ok(PortDevice {
            port: Port::new(SerialRegisters { client }),
            chip,
            spi_attached: false,
        })
    }

    /// The chip detected on the port.
    pub fn chip(&self) -> Chip {
        self.chip
    }

    fn client(&mut self) -> Result<&mut Client, DeviceError> {
        let client = &mut self.port.io_mut().client;
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

/// Whether the chip reports Secure Download Mode (eFuses and flash reads
/// are refused then).
fn secure_download(client: &mut Client) -> Result<bool, DeviceError> {
    let info = client.security_info()?;
    let flags = info
        .get(..4)
        .map_or(0, |f| u32::from_le_bytes([f[0], f[1], f[2], f[3]]));
    Ok(flags & SECURE_DOWNLOAD_FLAG != 0)
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
        self.client()?.erase_flash()?;
        Ok(())
    }

    fn write_flash(&mut self, address: u32, data: &[u8], encrypt: bool) -> Result<(), DeviceError> {
        if encrypt {
            return Err(DeviceError::PortUnsupported("write-flash --encrypt"));
        }
        let client = self.client()?;
        let compress = client.is_stub();
        client.write_flash(address, data, WriteOptions { compress }, &mut |_| {})?;
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
