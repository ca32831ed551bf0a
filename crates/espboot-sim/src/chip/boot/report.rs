//! The typed outcome of one power-on: what the ROM found, which CPUs
//! started, and the text lines rendered from it.

use super::*;

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
