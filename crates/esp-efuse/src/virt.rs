//! espefuse's virtual eFuse file (`--virt --path-efuse-file`), esptool.md §4.5:
//! the controller's little-endian register image of `EFUSE_MEM_SIZE` bytes,
//! reversed byte for byte (`file[k] = image[SIZE-1-k]`).

use crate::error::EfuseError;
use crate::state::Efuses;
use crate::tables::Chip;
use crate::tables::ChipEfuses as _;

/// What loading a virtual file found.
#[derive(Debug)]
pub struct LoadedFile {
    /// The eFuses.
    pub efuses: Efuses,
    /// espefuse appends `SIZE` zero bytes to a missing or too short file when it
    /// opens it (mode `a+b`); this is the content the file then has.
    pub grown_file: Option<Vec<u8>>,
}

/// Parses file content (None: the file does not exist).
pub fn load(chip: Chip, content: Option<&[u8]>) -> Result<LoadedFile, EfuseError> {
    let table = chip.table();
    let size = table.mem_size;
    let mut efuses = Efuses::new(chip);
    match content {
        Some(c) if c.len() >= size => {
            let mut mem: Vec<u8> = c[..size].to_vec();
            mem.reverse();
            check_chip(chip, &mem, c.len())?;
            efuses.set_register_image(mem);
            Ok(LoadedFile {
                efuses,
                grown_file: None,
            })
        }
        other => {
            let mut grown = other.map(<[u8]>::to_vec).unwrap_or_default();
            if !grown.is_empty() && grown.iter().any(|b| *b != 0) {
                // A short, non-empty file is most likely another chip's file
                // (ESP32 files are 288 bytes): refuse instead of growing it.
                return Err(EfuseError::ChipMismatch(format!(
                    "virtual eFuse file is {} bytes but a {chip} eFuse file is {size} bytes (wrong --chip?)",
                    grown.len()
                )));
            }
            grown.extend(std::iter::repeat_n(0u8, size));
            Ok(LoadedFile {
                efuses,
                grown_file: Some(grown),
            })
        }
    }
}

/// Heuristic check that a register image belongs to `chip`: once anything was
/// burned, espefuse's emulator leaves the chip's read opcode (0x5AA5) in its
/// EFUSE_CONF register, whose address differs between chip families.
fn check_chip(chip: Chip, mem: &[u8], file_len: usize) -> Result<(), EfuseError> {
    let table = chip.table();
    if file_len != table.mem_size {
        return Err(EfuseError::ChipMismatch(format!(
            "virtual eFuse file is {file_len} bytes but a {chip} eFuse file is {} bytes (wrong --chip?)",
            table.mem_size
        )));
    }
    let reg = |off: usize| -> u32 {
        mem.get(off..off + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let burned_here = table
        .controller_regs
        .iter()
        .all(|(off, v)| reg(*off) & v == *v);
    let other_family = Chip::ALL
        .iter()
        .filter(|c| **c != chip && c.table().mem_size == table.mem_size)
        .any(|c| {
            let t = c.table();
            let mine: Vec<_> = table.controller_regs.iter().collect();
            !t.controller_regs.iter().all(|r| mine.contains(&r))
                && t.controller_regs.iter().all(|(off, v)| reg(*off) & v == *v)
        });
    if !burned_here && other_family {
        return Err(EfuseError::ChipMismatch(format!(
            "virtual eFuse file was not written for {chip} (its controller registers belong to another chip; wrong --chip?)"
        )));
    }
    Ok(())
}

/// The file content for the current state.
pub fn to_file_bytes(efuses: &Efuses) -> Vec<u8> {
    let mut v = efuses.register_image().to_vec();
    v.reverse();
    v
}

/// A companion to the virtual file for the read-protected key bits it cannot
/// hold ([`Efuses::hidden_blocks`]): one line per block, `BLOCK<n> <hex>`.
/// It holds key material: keep it private (mode 0600).
pub fn hidden_to_text(efuses: &Efuses) -> zeroize::Zeroizing<String> {
    let mut out = zeroize::Zeroizing::new(String::new());
    for (block, bytes) in efuses.hidden_blocks() {
        let bytes = zeroize::Zeroizing::new(bytes);
        out.push_str(&format!("BLOCK{block} {}\n", hex_lower(&bytes).as_str()));
    }
    out
}

fn hex_lower(bytes: &[u8]) -> zeroize::Zeroizing<String> {
    let mut s = zeroize::Zeroizing::new(String::with_capacity(bytes.len() * 2));
    for b in bytes {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// Applies text written by [`hidden_to_text`] to `efuses`.
pub fn apply_hidden_text(efuses: &mut Efuses, text: &str) -> Result<(), EfuseError> {
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = || {
            EfuseError::BadValue(format!(
                "hidden eFuse data, line {}: expected `BLOCK<n> <hex>`",
                index + 1
            ))
        };
        let (name, hex) = line.split_once(' ').ok_or_else(bad)?;
        let block: usize = name
            .strip_prefix("BLOCK")
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)?;
        if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let bytes: zeroize::Zeroizing<Vec<u8>> = zeroize::Zeroizing::new(
            (0..hex.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
                .collect(),
        );
        efuses.restore_hidden_block(block, &bytes)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod hidden_tests {
    use super::*;
    use crate::{KeyGroup, KeyOptions};

    #[test]
    fn read_protected_key_survives_a_reload_through_the_hidden_text() {
        let mut efuses = Efuses::new(Chip::Esp32c3);
        let key: Vec<u8> = (0u8..32).collect();
        efuses
            .burn_key(
                &[KeyGroup {
                    block: "BLOCK_KEY0".into(),
                    data: key,
                    purpose: "XTS_AES_128_KEY".into(),
                }],
                KeyOptions::default(),
            )
            .unwrap();
        efuses.plan_burn().unwrap();
        efuses.execute_burn().unwrap();
        let hidden = hidden_to_text(&efuses);
        assert!(hidden.starts_with("BLOCK4 "));
        let file = to_file_bytes(&efuses);
        let mut reloaded = load(Chip::Esp32c3, Some(&file)).unwrap().efuses;
        assert_eq!(reloaded.hardware_block_bytes(4), vec![0; 32]);
        apply_hidden_text(&mut reloaded, &hidden).unwrap();
        assert_eq!(
            reloaded.hardware_block_bytes(4),
            efuses.hardware_block_bytes(4)
        );
        assert!(apply_hidden_text(&mut reloaded, "BLOCK99 00").is_err());
        assert!(apply_hidden_text(&mut reloaded, "BLOCK4 0").is_err());
    }
}
