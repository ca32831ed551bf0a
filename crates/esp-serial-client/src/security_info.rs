//! GET_SECURITY_INFO's reply, decoded.

/// GET_SECURITY_INFO's reply, decoded (serial.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityInfo {
    /// The flag word (bit meanings: `SECURITY_INFO_FLAG_MAP`,
    /// `et:loader.py:1286-1298`).
    pub flags: u32,
    /// `SPI_BOOT_CRYPT_CNT` (ESP32 `FLASH_CRYPT_CNT`) as the ROM reports it.
    pub flash_crypt_cnt: u8,
    /// `KEY_PURPOSE_0..5` and a 7th byte.
    pub key_purposes: [u8; 7],
    /// The chip id (absent on the ESP32-S2).
    pub chip_id: Option<u32>,
    /// The ROM API version (absent on the ESP32-S2).
    pub api_version: Option<u32>,
}

/// GET_SECURITY_INFO flag: Secure Download Mode is on, so eFuse and flash
/// reads are refused (`SECURITY_INFO_FLAG_MAP`, `et:loader.py:1286-1298`;
/// serial.md §4.3).
const SECURE_DOWNLOAD_ENABLE: u32 = 1 << 2;

impl SecurityInfo {
    /// The ROM runs in Secure Download Mode.
    pub fn secure_download_mode(&self) -> bool {
        self.flags & SECURE_DOWNLOAD_ENABLE != 0
    }
}
