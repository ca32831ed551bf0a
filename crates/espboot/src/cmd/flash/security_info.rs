//! `get-security-info`: GET_SECURITY_INFO decoded and printed as esptool
//! 5.6.0's `get_security_info` does (`et:cmds.py:2735-2812`).

use esp_efuse::{esptool_key_purpose, esptool_key_purpose_name, esptool_names_key_purposes};
use esp_image::rom_loader::ESPTOOL_EFUSE_MAX_KEY;
use esp_image::Chip;

use super::connect::Session;

// `SECURITY_INFO_FLAG_MAP` bits (`et:loader.py:1286-1298`)
const SECURE_BOOT_EN: u32 = 1 << 0;
const SECURE_BOOT_AGGRESSIVE_REVOKE: u32 = 1 << 1;
const SECURE_BOOT_KEY_REVOKE0: u32 = 1 << 3;
const SOFT_DIS_JTAG: u32 = 1 << 6;
const HARD_DIS_JTAG: u32 = 1 << 7;
const DIS_USB: u32 = 1 << 8;
const DIS_DOWNLOAD_DCACHE: u32 = 1 << 9;
const DIS_DOWNLOAD_ICACHE: u32 = 1 << 10;

pub fn run(session: &mut Session) -> anyhow::Result<()> {
    let info = match session.client.security_info_decoded() {
        Ok(info) => info,
        // the ESP32's ROM refuses the command: esptool's line, as scripts see it
        Err(e) => match e.esptool_result_text() {
            Some(text) => anyhow::bail!(text),
            None => return Err(e.into()),
        },
    };
    let chip = session.client.chip();
    outln!();
    let title = "Security Information:";
    outln!("{title}");
    outln!("{}", "=".repeat(title.len()));
    outln!("Flags: {:#010x} ({:#b})", info.flags, info.flags);
    if let Some(chip) = chip.filter(|c| esptool_names_key_purposes(*c)) {
        // Python prints the tuple: "(0, 0, 0, 0, 0, 0, 0)"
        let raw: Vec<String> = info.key_purposes.iter().map(u8::to_string).collect();
        outln!("Key Purposes: ({})", raw.join(", "));
        let desc: Vec<String> = info
            .key_purposes
            .iter()
            .take(ESPTOOL_EFUSE_MAX_KEY + 1)
            .enumerate()
            .map(|(n, p)| {
                let name = esptool_key_purpose(chip, *p)
                    .map_or("UNKNOWN".into(), esptool_key_purpose_name);
                format!("BLOCK_KEY{n} - {name}")
            })
            .collect();
        outln!("  {}", desc.join("\n  "));
    }
    if let (Some(id), Some(api)) = (info.chip_id, info.api_version) {
        outln!("Chip ID: {id}");
        outln!("API Version: {api}");
    }
    if info.flags & SECURE_BOOT_EN != 0 {
        outln!("Secure Boot: Enabled");
        if info.flags & SECURE_BOOT_AGGRESSIVE_REVOKE != 0 {
            outln!("Secure Boot Aggressive key revocation: Enabled");
        }
        let revoked: Vec<u32> = (0..3)
            .filter(|i| info.flags & (SECURE_BOOT_KEY_REVOKE0 << i) != 0)
            .collect();
        if !revoked.is_empty() {
            outln!("Secure Boot Key Revocation Status:\n");
            for i in revoked {
                outln!("\tSecure Boot Key{i} is Revoked\n");
            }
        }
    } else {
        outln!("Secure Boot: Disabled");
    }
    if info.flash_crypt_cnt.count_ones() % 2 != 0 {
        outln!("Flash Encryption: Enabled");
    } else {
        outln!("Flash Encryption: Disabled");
    }
    let counter = if chip == Some(Chip::Esp32) {
        "Flash Crypt Count (FLASH_CRYPT_CNT)"
    } else {
        "SPI Boot Crypt Count (SPI_BOOT_CRYPT_CNT)"
    };
    outln!("{counter}: {:#x}", info.flash_crypt_cnt);
    if info.flags & DIS_DOWNLOAD_DCACHE != 0 {
        outln!("Dcache in UART download mode: Disabled");
    }
    if info.flags & DIS_DOWNLOAD_ICACHE != 0 {
        outln!("Icache in UART download mode: Disabled");
    }
    if info.flags & HARD_DIS_JTAG != 0 {
        outln!("JTAG: Permanently Disabled");
    } else if info.flags & SOFT_DIS_JTAG != 0 {
        outln!("JTAG: Software Access Disabled");
    }
    if info.flags & DIS_USB != 0 {
        outln!("USB Access: Disabled");
    }
    Ok(())
}
