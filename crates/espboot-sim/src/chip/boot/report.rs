//! The typed outcome of one power-on: what the ROM found, which CPUs
//! started, and the text lines rendered from it.

use esp_efuse::DownloadMode;

use super::*;

/// What the ROM stage found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RomReport {
    /// Where the bootloader was read (hex in `--json`).
    #[serde(serialize_with = "hex_u32")]
    pub bootloader_offset: u32,
    /// What the Secure Boot V2 check did.
    pub secure_boot: RomSecureBoot,
    /// The signature block that verified.
    pub secure_boot_block: Option<usize>,
    /// Reads were decrypted (flash encryption enabled).
    pub flash_encryption: bool,
    /// The download mode the eFuses leave (`enabled`, `secure` or
    /// `disabled` in `--json`).
    #[serde(serialize_with = "download_mode_name")]
    pub download_mode: DownloadMode,
}

/// The ROM's Secure Boot V2 check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RomSecureBoot {
    /// Secure Boot V2 is not enabled.
    Disabled,
    /// Enabled, and the bootloader's signature checked out.
    Verified,
    /// Enabled, and the bootloader's signature did not check out.
    Failed,
}

impl std::fmt::Display for RomSecureBoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RomSecureBoot::Disabled => "disabled",
            RomSecureBoot::Verified => "verified",
            RomSecureBoot::Failed => "failed",
        })
    }
}

/// A CPU of the chip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum Cpu {
    /// The PRO CPU, which runs image 0.
    Pro,
    /// The APP CPU, which runs image 1 with multi-processor boot.
    App,
}

impl std::fmt::Display for Cpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cpu::Pro => "PRO",
            Cpu::App => "APP",
        })
    }
}

/// An image started on a CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuStart {
    /// The CPU.
    pub cpu: Cpu,
    /// The image it runs.
    pub image: usize,
    /// Entry address from the load header (`0x` and 8 hex digits in
    /// `--json`).
    #[serde(serialize_with = "hex_u32_8")]
    pub entry: u32,
}

fn hex_u32<S: serde::Serializer>(value: &u32, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_args!("{value:#x}"))
}

fn hex_u32_8<S: serde::Serializer>(value: &u32, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_args!("{value:#010x}"))
}

fn download_mode_name<S: serde::Serializer>(
    mode: &DownloadMode,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(mode.name())
}

/// What one power-on did, as `espboot sim boot --json` prints it: the boot
/// core's report plus the chip's stages.
#[derive(Debug, Clone, Serialize)]
pub struct ChipBootReport {
    /// The boot core's report (booted images, swaps, flash counters, and
    /// the failure as text).
    #[serde(flatten)]
    pub boot: BootReport,
    /// The target.
    pub chip: &'static str,
    /// The ROM stage of the last (re)boot; `None` for targets without one.
    pub rom: Option<RomReport>,
    /// What the port's first boot did (eFuses burned, regions encrypted).
    pub first_boot: Vec<FirstBootEvent>,
    /// Resets during this power-on.
    pub resets: u32,
    /// Images started, in start order.
    pub cpus: Vec<CpuStart>,
    /// Why nothing started (`boot.error` is its text); `None` when an
    /// image started, after a power cut, and on targets without a chip
    /// model.
    #[serde(
        rename = "mcuboot_refusal",
        serialize_with = "serialize_refusal",
        skip_serializing_if = "no_refusal"
    )]
    pub failure: Option<std::sync::Arc<BootFailure>>,
}

fn refusal_of(failure: &Option<std::sync::Arc<BootFailure>>) -> Option<&McubootRefusal> {
    match failure.as_deref() {
        Some(BootFailure::Mcuboot { refusal, .. }) => refusal.as_ref(),
        _ => None,
    }
}

fn no_refusal(failure: &Option<std::sync::Arc<BootFailure>>) -> bool {
    refusal_of(failure).is_none()
}

fn serialize_refusal<S: serde::Serializer>(
    failure: &Option<std::sync::Arc<BootFailure>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    refusal_of(failure).serialize(serializer)
}

impl ChipBootReport {
    /// Why MCUboot refused the image in a primary slot, when that is what
    /// stopped the boot (`--json`: `mcuboot_refusal`).
    pub fn mcuboot_refusal(&self) -> Option<&McubootRefusal> {
        refusal_of(&self.failure)
    }

    /// Human-readable lines: the first-boot actions, then the boot summary
    /// (with the failure, if any).
    pub fn lines(&self) -> Vec<String> {
        self.lines_with(self.boot.summary())
    }

    /// What `espboot sim boot` prints: the [`lines`](Self::lines) for
    /// stdout, with the failure left out of the summary, and the failure
    /// apart for stderr, so that it is printed once.
    pub fn terminal_lines(&self) -> (Vec<String>, Option<&str>) {
        let error = if self.boot.booted || self.boot.interrupted {
            None
        } else {
            self.boot.error.as_deref()
        };
        let summary = match error {
            Some(_) => self.boot.summary_without_error(),
            None => self.boot.summary(),
        };
        (self.lines_with(summary), error)
    }

    fn lines_with(&self, summary: String) -> Vec<String> {
        let mut out: Vec<String> = self
            .first_boot
            .iter()
            .map(|a| format!("first boot: {a}"))
            .collect();
        if let Some(rom) = &self.rom {
            out.push(format!(
                "ROM: bootloader at {:#x}; secure boot {}{}; flash encryption {}",
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
                "{} CPU: image {} started at entry {:#010x}",
                c.cpu, c.image, c.entry
            ));
        }
        out.extend(self.boot.refusal_lines());
        out.push(summary);
        out
    }
}
