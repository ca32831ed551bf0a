//! Test fixtures shared by this crate's tests and the CLI's provision tests
//! (behind the `test-fixtures` feature, never in a release build): the
//! flash encryption + Secure Boot plan both build, and a device directory's
//! files for byte comparisons.

use std::io;
use std::path::Path;

/// A plan with both workflows, keyed by the files `fe.bin` (flash
/// encryption key) and `sb0.pem` (Secure Boot key) beside it.
#[derive(Debug, Clone, Copy)]
pub struct FeSbPlan<'a> {
    /// `chip = ...`.
    pub chip: &'a str,
    /// The `[flash_encryption]` lines before `key_file` (`mode`, `key_bits`).
    pub flash_encryption: &'a str,
    /// The `[flash_encryption.final]` lines.
    pub flash_encryption_final: &'a str,
    /// `[secure_boot] scheme`.
    pub secure_boot_scheme: &'a str,
    /// The `[secure_boot.final]` lines.
    pub secure_boot_final: &'a str,
    /// `[[firmware]]` tables appended after the workflows (may be empty).
    pub firmware: &'a str,
}

impl FeSbPlan<'_> {
    /// The plan's TOML text.
    pub fn text(&self) -> String {
        format!(
            "chip = \"{chip}\"\n[flash_encryption]\n{fe}\nkey_file = \"fe.bin\"\n\
             [flash_encryption.final]\n{fe_final}\n[secure_boot]\nscheme = \"{scheme}\"\n\
             keys = [\"sb0.pem\"]\nrevoke_unused = true\n[secure_boot.final]\n{sb_final}\n{firmware}",
            chip = self.chip,
            fe = self.flash_encryption,
            fe_final = self.flash_encryption_final,
            scheme = self.secure_boot_scheme,
            sb_final = self.secure_boot_final,
            firmware = self.firmware,
        )
    }
}

/// A fixed flash encryption key of `bytes` bytes (16, 32 or 64), for `fe.bin`.
pub fn flash_encryption_key(bytes: usize) -> Vec<u8> {
    (0..bytes)
        .map(|i| (i as u8).wrapping_mul(37) ^ 0x5a)
        .collect()
}

/// Every file of a device directory but its lock, sorted by name, with its
/// contents.
pub fn device_files(dir: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name() == ".device.lock" {
            continue;
        }
        files.push((
            entry.file_name().to_string_lossy().into_owned(),
            std::fs::read(entry.path())?,
        ));
    }
    files.sort();
    Ok(files)
}
