//! espefuse's virtual eFuse file (`--virt --path-efuse-file`), esptool.md
//! §4.5: the controller's little-endian register image of `EFUSE_MEM_SIZE`
//! bytes, reversed byte for byte (`file[k] = image[SIZE-1-k]`), and the
//! companion that keeps what that format cannot: read-protected key bits
//! ([`Efuses::hidden_blocks`]). [`VirtualFile`] is the only code that knows
//! either format.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::{EfuseError, FileError};
use crate::model::Efuses;
use crate::tables::{Chip, ChipEfuses as _};

/// A virtual eFuse file, optionally with its hidden-bits companion.
///
/// ```
/// use esp_efuse::{Burn, Chip, Efuses, Field, VirtualFile};
///
/// let dir = tempfile::tempdir()?;
/// let file = VirtualFile::with_hidden_bits(dir.path().join("efuse.bin"));
/// assert!(file.load(Chip::Esp32c3)?.is_none(), "no file yet");
/// let mut efuses = Efuses::new(Chip::Esp32c3);
/// efuses.burn(Field::SecureBootEn, Burn::All)?;
/// file.save(&efuses)?;
/// let back = file.load(Chip::Esp32c3)?.expect("saved");
/// assert_eq!(back.register_image(), efuses.register_image());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualFile {
    path: PathBuf,
    hidden: Option<PathBuf>,
    reading: Reading,
}

/// How a file's bytes are taken when they do not fit the chip exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// As espefuse's emulator takes them (esptool.md §4.5): the first
    /// `EFUSE_MEM_SIZE` bytes of a longer file; a shorter one is grown by
    /// `EFUSE_MEM_SIZE` zero bytes and read as a blank chip.
    AsEspefuse,
    /// A file of another size, or with another chip family's controller
    /// registers, is refused (wrong `--chip`).
    Strict,
}

/// The companion of `efuse.bin` is `efuse-hidden.txt` beside it.
fn hidden_path_for(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}-hidden.txt"))
}

impl VirtualFile {
    /// How long [`lock`](Self::lock) callers wait by default for another
    /// command on the same file: long enough for a queue of burns run in
    /// parallel by a script (each takes tens of milliseconds), short enough
    /// that a stuck holder is reported.
    pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

    /// espefuse's file alone (`--path-efuse-file`), read as espefuse reads
    /// it: read-protected key bits are lost on save, a longer file is read
    /// by its first `EFUSE_MEM_SIZE` bytes and a shorter one grown.
    pub fn espefuse(path: impl Into<PathBuf>) -> VirtualFile {
        VirtualFile {
            path: path.into(),
            hidden: None,
            reading: Reading::AsEspefuse,
        }
    }

    /// The same file, refused when it does not look like the chip's: of
    /// another size (a short file is grown only while it is all zeros), or
    /// with another chip family's controller registers and not this one's.
    #[must_use]
    pub fn strict(self) -> VirtualFile {
        VirtualFile {
            reading: Reading::Strict,
            ..self
        }
    }

    /// The file plus its companion `<stem>-hidden.txt` (mode 0600: key
    /// material), which keeps the read-protected key bits so a simulated
    /// chip's peripherals still find their keys after a reload.
    pub fn with_hidden_bits(path: impl Into<PathBuf>) -> VirtualFile {
        let path = path.into();
        let hidden = hidden_path_for(&path);
        VirtualFile {
            path,
            hidden: Some(hidden),
            reading: Reading::Strict,
        }
    }

    /// Locks the file against other processes for a read-modify-write
    /// (open, burn, save), waiting up to `wait` for another holder. The
    /// lock is `.<name>.lock` beside the file; it is released when the
    /// returned guard is dropped, or when the process ends.
    pub fn lock(&self, wait: std::time::Duration) -> Result<atomic_write::FileLock, EfuseError> {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lock = self.path.with_file_name(format!(".{name}.lock"));
        Ok(atomic_write::FileLock::acquire(&lock, wait).map_err(FileError::from)?)
    }

    /// The virtual eFuse file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hidden-bits companion, if kept.
    pub fn hidden_path(&self) -> Option<&Path> {
        self.hidden.as_deref()
    }

    /// The eFuses that the bytes of an espefuse file hold (without the
    /// companion), read strictly; `None` for a short, blank file that
    /// espefuse would grow to a blank chip's image.
    pub fn decode(chip: Chip, content: &[u8]) -> Result<Option<Efuses>, EfuseError> {
        Ok(match parse(chip, content, Reading::Strict)? {
            Parsed::Efuses(e) => Some(e),
            Parsed::Grown(_) => None,
        })
    }

    /// The eFuses in the file (and its companion); `None` when the file
    /// does not exist.
    pub fn load(&self, chip: Chip) -> Result<Option<Efuses>, EfuseError> {
        let Some(content) = read_optional(&self.path)? else {
            return Ok(None);
        };
        let mut efuses = match parse(chip, &content, self.reading)? {
            Parsed::Efuses(e) => e,
            // a file too short to hold anything: what espefuse would start from
            Parsed::Grown(_) => Efuses::new(chip),
        };
        self.apply_hidden(&mut efuses)?;
        Ok(Some(efuses))
    }

    /// Opens the file the way espefuse does: a missing or short file is
    /// grown by a blank chip's image (espefuse opens it in mode `a+b` and
    /// appends `SIZE` zero bytes when it is shorter than that).
    pub fn open(&self, chip: Chip) -> Result<Efuses, EfuseError> {
        let content = read_optional(&self.path)?.unwrap_or_default();
        let mut efuses = match parse(chip, &content, self.reading)? {
            Parsed::Efuses(e) => e,
            Parsed::Grown(grown) => {
                atomic_write::write_atomic(&self.path, &grown, false).map_err(FileError::from)?;
                Efuses::new(chip)
            }
        };
        self.apply_hidden(&mut efuses)?;
        Ok(efuses)
    }

    /// Saves `efuses` (and the companion's hidden bits) atomically: each
    /// file goes through a temporary file and a rename. The companion is
    /// written when there are hidden bits or it already exists.
    pub fn save(&self, efuses: &Efuses) -> Result<(), EfuseError> {
        atomic_write::write_atomic(&self.path, &to_file_bytes(efuses), false)
            .map_err(FileError::from)?;
        if let Some(hidden) = &self.hidden {
            let text = hidden_text(efuses);
            if !text.is_empty() || hidden.exists() {
                atomic_write::write_atomic(hidden, text.as_bytes(), true)
                    .map_err(FileError::from)?;
            }
        }
        Ok(())
    }

    fn apply_hidden(&self, efuses: &mut Efuses) -> Result<(), EfuseError> {
        let Some(hidden) = &self.hidden else {
            return Ok(());
        };
        let Some(bytes) = read_optional(hidden)?.map(Zeroizing::new) else {
            return Ok(());
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| FileError::HiddenLine { line: 1 })?;
        apply_hidden_text(efuses, text)
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, EfuseError> {
    match std::fs::read(path) {
        Ok(c) => Ok(Some(c)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FileError::Read {
            path: path.to_path_buf(),
            source,
        }
        .into()),
    }
}

/// What a file's bytes hold.
enum Parsed {
    /// A chip's eFuses.
    Efuses(Efuses),
    /// Nothing yet: the content espefuse grows the file to.
    Grown(Vec<u8>),
}

fn parse(chip: Chip, content: &[u8], reading: Reading) -> Result<Parsed, EfuseError> {
    let size = chip.table().mem_size;
    if let Some(first) = content.get(..size) {
        let mut mem: Vec<u8> = first.to_vec();
        mem.reverse();
        if reading == Reading::Strict {
            check_chip(chip, &mem, content.len())?;
        }
        let mut efuses = Efuses::new(chip);
        efuses.set_register_image(mem);
        return Ok(Parsed::Efuses(efuses));
    }
    if reading == Reading::Strict && content.iter().any(|b| *b != 0) {
        // A short, non-empty file is most likely another chip's file
        // (ESP32 files are 288 bytes): refuse instead of growing it.
        return Err(FileError::Size {
            len: content.len(),
            chip,
        }
        .into());
    }
    let mut grown = content.to_vec();
    grown.extend(std::iter::repeat_n(0u8, size));
    Ok(Parsed::Grown(grown))
}

/// Heuristic check that a register image belongs to `chip`: once anything was
/// burned, espefuse's emulator leaves the chip's read opcode (0x5AA5) in its
/// EFUSE_CONF register and its timing values beside it, at addresses that
/// differ between chip families. Another family's registers must hold those
/// values exactly: its addresses may lie in this chip's blocks, where
/// burned data (all ones, say) has every bit of them set.
fn check_chip(chip: Chip, mem: &[u8], file_len: usize) -> Result<(), EfuseError> {
    let table = chip.table();
    if file_len != table.mem_size {
        return Err(FileError::Size {
            len: file_len,
            chip,
        }
        .into());
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
                && t.controller_regs.iter().all(|(off, v)| reg(*off) == *v)
        });
    if !burned_here && other_family {
        return Err(FileError::OtherChip { chip }.into());
    }
    Ok(())
}

/// The file content for the current state.
pub(crate) fn to_file_bytes(efuses: &Efuses) -> Vec<u8> {
    let mut v = efuses.register_image().to_vec();
    v.reverse();
    v
}

/// The companion's text: one line per block with hidden bits, `BLOCK<n> <hex>`.
fn hidden_text(efuses: &Efuses) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    for (block, bytes) in efuses.hidden_blocks() {
        let mut hex = Zeroizing::new(vec![0u8; bytes.len() * 2]);
        // constant-time encoding of key material
        let digits = base16ct::lower::encode_str(&bytes, &mut hex).unwrap_or_default();
        out.push_str(&format!("BLOCK{block} {digits}\n"));
    }
    out
}

/// Applies text written by [`hidden_text`] to `efuses`.
fn apply_hidden_text(efuses: &mut Efuses, text: &str) -> Result<(), EfuseError> {
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = || FileError::HiddenLine { line: index + 1 };
        let (name, hex) = line.split_once(' ').ok_or_else(bad)?;
        let block: usize = name
            .strip_prefix("BLOCK")
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)?;
        let mut bytes = Zeroizing::new(vec![0u8; hex.len() / 2]);
        let decoded = base16ct::mixed::decode(hex, &mut bytes).map_err(|_| bad())?;
        efuses.restore_hidden_block(block, decoded)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{KeyBlock, KeyGroup, KeyOptions, KeyPurpose};

    #[test]
    fn read_protected_key_survives_a_reload_through_the_hidden_text() {
        let mut efuses = Efuses::new(Chip::Esp32c3);
        let key: Vec<u8> = (0u8..32).collect();
        efuses
            .stage_keys(
                &[KeyGroup::new(
                    KeyBlock::BlockKey0,
                    KeyPurpose::XtsAes128Key,
                    &key,
                )],
                KeyOptions::default(),
            )
            .unwrap();
        efuses.commit().unwrap();
        let hidden = hidden_text(&efuses);
        assert!(hidden.starts_with("BLOCK4 "));
        let file = to_file_bytes(&efuses);
        let Parsed::Efuses(mut reloaded) = parse(Chip::Esp32c3, &file, Reading::Strict).unwrap()
        else {
            panic!("not loaded")
        };
        assert_eq!(reloaded.hardware_block_bytes(4), vec![0; 32]);
        apply_hidden_text(&mut reloaded, &hidden).unwrap();
        assert_eq!(
            reloaded.hardware_block_bytes(4),
            efuses.hardware_block_bytes(4)
        );
        assert!(apply_hidden_text(&mut reloaded, "BLOCK99 00").is_err());
        assert!(apply_hidden_text(&mut reloaded, "BLOCK4 0").is_err());
    }

    /// The companion keeps a block's every word; an ESP32 block under the
    /// 3/4 coding scheme reads 24 of its 32 bytes, and the reload asked for
    /// 24, so a read-protected 3/4 key could not be reloaded at all.
    #[test]
    fn regression_a_hidden_34_key_was_refused_on_reload() {
        let mut efuses = Efuses::new(Chip::Esp32);
        efuses
            .stage(crate::Field::CodingScheme, crate::Burn::Bits(1))
            .unwrap();
        efuses.commit().unwrap();
        assert!(efuses.coding_is_34());
        let key: Vec<u8> = (1u8..=24).collect();
        efuses
            .stage_keys(
                &[KeyGroup::esp32(KeyBlock::FlashEncryption, &key)],
                KeyOptions::default(),
            )
            .unwrap();
        efuses.commit().unwrap();
        let hidden = hidden_text(&efuses);
        assert!(hidden.starts_with("BLOCK1 "), "{}", hidden.as_str());
        let Parsed::Efuses(mut reloaded) =
            parse(Chip::Esp32, &to_file_bytes(&efuses), Reading::Strict).unwrap()
        else {
            panic!("not loaded")
        };
        assert_eq!(reloaded.hardware_block_bytes(1), vec![0; 24]);
        apply_hidden_text(&mut reloaded, &hidden).unwrap();
        assert_eq!(
            reloaded.hardware_block_bytes(1),
            efuses.hardware_block_bytes(1)
        );
        assert_ne!(reloaded.hardware_block_bytes(1), vec![0; 24]);
    }

    #[test]
    #[cfg(unix)]
    fn the_companion_is_private_and_written_only_when_needed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = VirtualFile::with_hidden_bits(dir.path().join("efuse.bin"));
        assert_eq!(
            file.hidden_path(),
            Some(dir.path().join("efuse-hidden.txt").as_path())
        );
        let mut efuses = Efuses::new(Chip::Esp32c3);
        file.save(&efuses).unwrap();
        assert!(!dir.path().join("efuse-hidden.txt").exists());
        let key = KeyGroup::new(KeyBlock::BlockKey1, KeyPurpose::XtsAes128Key, &[9; 32]);
        efuses.stage_keys(&[key], KeyOptions::default()).unwrap();
        efuses.commit().unwrap();
        file.save(&efuses).unwrap();
        let meta = std::fs::metadata(dir.path().join("efuse-hidden.txt")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let back = file.load(Chip::Esp32c3).unwrap().unwrap();
        assert_eq!(back.hardware_block_bytes(5), efuses.hardware_block_bytes(5));
        // espefuse's view of the same file does not have them
        let plain = VirtualFile::espefuse(file.path()).load(Chip::Esp32c3);
        assert_eq!(plain.unwrap().unwrap().hardware_block_bytes(5), vec![0; 32]);
    }
}
