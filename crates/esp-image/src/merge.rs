//! `esptool merge-bin`: several binaries at their flash addresses merged
//! into one raw image, Intel HEX file or UF2 file, with the bootloader's
//! flash parameters rewritten on the way (`esptool/cmds.py` `merge_bin`,
//! `_update_image_flash_params`; `uf2_writer.py`).
//!
//! ```
//! use esp_image::merge::{merge, FlashParams, MergeFormat, MergeInput, MergeOptions};
//! use esp_image::Chip;
//!
//! let inputs = vec![
//!     MergeInput::new(0x1000, vec![1, 2, 3]),
//!     MergeInput::new(0x8000, vec![4]),
//! ];
//! let options = MergeOptions::new(Chip::Esp32, MergeFormat::Raw);
//! let merged = merge(&inputs, &options)?;
//! assert_eq!(merged.bytes.len(), 0x8000 + 1);
//! assert_eq!(merged.bytes[0x1000..0x1003], [1, 2, 3]);
//! assert_eq!(merged.bytes[0], 0xff);
//! # Ok::<(), esp_image::merge::MergeError>(())
//! ```

use md5::{Digest as _, Md5};

use crate::esp_image::{FlashMode, FlashSize};
use crate::image_info::ImageInfo;
use crate::Chip;

/// `ESPLoader.FLASH_SECTOR_SIZE`: the granularity of esptool's overlap
/// check on address/file pairs.
pub const FLASH_SECTOR_SIZE: u64 = 0x1000;

/// UF2 block layout (`uf2_writer.py`, <https://github.com/microsoft/uf2>).
mod uf2 {
    pub(super) const BLOCK_SIZE: usize = 512;
    /// Data part of a block, including the optional MD5 part.
    pub(super) const DATA_SIZE: usize = 476;
    /// esptool's MD5 extension: address, length and MD5 of the chunk.
    pub(super) const MD5_PART_SIZE: usize = 24;
    pub(super) const FIRST_MAGIC: u32 = 0x0A32_4655;
    pub(super) const SECOND_MAGIC: u32 = 0x9E5D_5157;
    pub(super) const FINAL_MAGIC: u32 = 0x0AB1_6F30;
    pub(super) const FLAG_FAMILY_ID_PRESENT: u32 = 0x0000_2000;
    pub(super) const FLAG_MD5_PRESENT: u32 = 0x0000_4000;
}

/// The output format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MergeFormat {
    /// One binary from `target_offset`, gaps filled with 0xFF.
    Raw,
    /// Intel HEX (intelhex 2.3's layout).
    Hex,
    /// UF2 blocks for the ESP USB Bridge.
    Uf2,
}

/// The flash parameters to write into a bootloader image's header; `None`
/// keeps what the image has (esptool's `keep`). Sizes and frequencies are
/// esptool's names (`4MB`, `40m`), checked against the chip when used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlashParams {
    /// `--flash-mode`.
    pub mode: Option<FlashMode>,
    /// `--flash-freq` (`80m`, ...).
    pub freq: Option<String>,
    /// `--flash-size` (`4MB`, ...).
    pub size: Option<String>,
}

impl FlashParams {
    fn all_keep(&self) -> bool {
        self.mode.is_none() && self.freq.is_none() && self.size.is_none()
    }
}

/// Options of one merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeOptions {
    /// The chip: bootloader offset, frequency codes, UF2 family.
    pub chip: Chip,
    /// Output format.
    pub format: MergeFormat,
    /// Flash parameters for a bootloader at the chip's bootloader offset.
    pub flash_params: FlashParams,
    /// Flash address the output starts at (raw; checked for all formats).
    pub target_offset: u32,
    /// Raw only: pad the output with 0xFF to this flash size (`4MB`).
    pub pad_to_size: Option<u64>,
    /// UF2 only: data bytes per block; `None` for the largest.
    pub chunk_size: Option<usize>,
    /// UF2 only: leave out the MD5 part of each block.
    pub md5_disable: bool,
}

impl MergeOptions {
    /// esptool's defaults: everything `keep`, offset 0, no padding.
    pub fn new(chip: Chip, format: MergeFormat) -> Self {
        MergeOptions {
            chip,
            format,
            flash_params: FlashParams::default(),
            target_offset: 0,
            pad_to_size: None,
            chunk_size: None,
            md5_disable: false,
        }
    }
}

/// One binary and its flash address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeInput {
    /// Flash address.
    pub addr: u32,
    /// The bytes.
    pub data: Vec<u8>,
}

impl MergeInput {
    /// `data` at `addr`.
    pub fn new(addr: u32, data: Vec<u8>) -> Self {
        MergeInput { addr, data }
    }
}

/// What happened to an input on its way into the output, in the order
/// esptool reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MergeEvent {
    /// A UF2 input is being added (esptool's `Adding … at …` line);
    /// carries the input's index.
    Adding {
        /// Index into the inputs as given.
        input: usize,
        /// Its address.
        addr: u32,
    },
    /// Header bytes 2..4 were rewritten (the new value, big-endian).
    FlashParamsSet(u16),
    /// The appended SHA-256 was recomputed after the header change.
    ShaUpdated,
    /// The input at the bootloader offset does not start with 0xE9: left
    /// as it is (a warning).
    NotAnImage {
        /// The input's address.
        addr: u32,
    },
    /// The input at the bootloader offset does not parse as an image for
    /// the chip: left as it is (a warning).
    NotAValidImage {
        /// The input's address.
        addr: u32,
    },
}

/// Why a merge was refused. Texts are esptool's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// No inputs.
    #[error("No input data.")]
    NoInput,
    /// An input lies before `target_offset`.
    #[error(
        "Output data target offset is {target_offset:#x}. Input data offset {addr:#x} is before this."
    )]
    BeforeTargetOffset {
        /// `--target-offset`.
        target_offset: u32,
        /// The lowest input address.
        addr: u32,
    },
    /// Two inputs share a flash sector; carries the later input's index.
    #[error("Detected overlap at address: {addr:#x}")]
    Overlap {
        /// Index of the input that overlaps an earlier one.
        input: usize,
        /// Its address.
        addr: u32,
    },
    /// `--flash-freq` is not one of the chip's frequencies.
    #[error("Flash frequency '{name}' is not supported by this chip type. Supported frequencies: {supported}")]
    UnsupportedFlashFreq {
        /// The name given.
        name: String,
        /// The chip's names, comma-separated.
        supported: String,
    },
    /// `--flash-size` is not one the chip's header can hold.
    #[error(
        "Flash size '{name}' is not supported by this chip type. Supported sizes: {supported}"
    )]
    UnsupportedFlashSize {
        /// The name given.
        name: String,
        /// The chip's sizes, comma-separated.
        supported: String,
    },
    /// `--chunk-size` is 0, not a multiple of 4, or larger than a UF2
    /// block's data part leaves room for.
    #[error("UF2 chunk size {chunk} must be a non-zero multiple of 4 of at most {max} bytes")]
    BadChunkSize {
        /// The size given.
        chunk: usize,
        /// The largest allowed with or without the MD5 part.
        max: usize,
    },
    /// A HEX output whose data reaches past 4 GiB, where an extended
    /// address record cannot point.
    #[error("The HEX output would reach past 4 GiB")]
    HexPastFourGiB(#[source] intel_hex::UpperAddressOverflow),
}

/// The merged output and what esptool would have reported on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The output file's bytes.
    pub bytes: Vec<u8>,
    /// Events in order.
    pub events: Vec<MergeEvent>,
}

/// esptool's check of address/file pairs (`AddrFilenamePairType`): sorted
/// by address, no input may start in a flash sector an earlier one touches.
///
/// # Errors
/// [`MergeError::Overlap`] naming the first input that overlaps.
pub fn check_overlap(inputs: &[MergeInput]) -> Result<(), MergeError> {
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|i| inputs[*i].addr);
    let mut end: i64 = 0;
    for i in order {
        let addr = u64::from(inputs[i].addr);
        let size = inputs[i].data.len() as u64;
        let sector_start = (addr & !(FLASH_SECTOR_SIZE - 1)) as i64;
        let sector_end =
            ((addr + size + FLASH_SECTOR_SIZE - 1) & !(FLASH_SECTOR_SIZE - 1)) as i64 - 1;
        if sector_start < end {
            return Err(MergeError::Overlap {
                input: i,
                addr: inputs[i].addr,
            });
        }
        end = sector_end;
    }
    Ok(())
}

fn flash_freq_code(chip: Chip, name: &str) -> Result<u8, MergeError> {
    let table = chip.flash_frequencies();
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, code)| *code)
        .ok_or_else(|| MergeError::UnsupportedFlashFreq {
            name: name.to_owned(),
            supported: table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
        })
}

fn flash_size_bits(name: &str) -> Result<u8, MergeError> {
    FlashSize::from_name(name)
        .map(|s| (s as u8) << 4)
        .ok_or_else(|| MergeError::UnsupportedFlashSize {
            name: name.to_owned(),
            supported: (0..8u8)
                .filter_map(FlashSize::from_nibble)
                .map(FlashSize::name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Rewrites the flash parameters of a bootloader image at the chip's
/// bootloader offset, as esptool does before writing or merging it: only
/// there, only when a parameter is not `keep`, only for a valid image; the
/// appended SHA-256 is recomputed. Other inputs come back unchanged.
///
/// # Errors
/// [`MergeError::UnsupportedFlashFreq`] or
/// [`MergeError::UnsupportedFlashSize`] for a parameter the chip lacks.
pub fn update_image_flash_params(
    chip: Chip,
    addr: u32,
    params: &FlashParams,
    image: &[u8],
    events: &mut Vec<MergeEvent>,
) -> Result<Vec<u8>, MergeError> {
    if image.len() < 8 || addr != chip.bootloader_offset() || params.all_keep() {
        return Ok(image.to_vec());
    }
    if image[0] != crate::esp_image::ESP_IMAGE_MAGIC {
        events.push(MergeEvent::NotAnImage { addr });
        return Ok(image.to_vec());
    }
    if ImageInfo::read(image, chip).is_err() {
        events.push(MergeEvent::NotAValidImage { addr });
        return Ok(image.to_vec());
    }
    let sha_appended = image[23] == 1;
    let mode = params.mode.map_or(image[2], |m| m as u8);
    let freq = match &params.freq {
        Some(name) => flash_freq_code(chip, name)?,
        None => image[3] & 0x0F,
    };
    let size = match &params.size {
        Some(name) => flash_size_bits(name)?,
        None => image[3] & 0xF0,
    };
    let mut out = image.to_vec();
    let new = [mode, size.wrapping_add(freq)];
    if new != image[2..4] {
        events.push(MergeEvent::FlashParamsSet(u16::from_be_bytes(new)));
        out[2..4].copy_from_slice(&new);
    }
    if sha_appended {
        // Parsing cannot fail: only header bytes 2 and 3 changed.
        if let Some(digest) = ImageInfo::read(&out, chip).ok().and_then(|i| i.digest) {
            let len = digest.data_length;
            let after = out.get(len + 32..).unwrap_or_default().to_vec();
            out.truncate(len);
            out.extend_from_slice(&digest.calculated);
            out.extend_from_slice(&after);
            events.push(MergeEvent::ShaUpdated);
        }
    }
    Ok(out)
}

/// Merges `inputs` as `esptool merge-bin` does.
///
/// # Errors
/// [`MergeError`] for no inputs, an input before the target offset,
/// overlapping inputs, a flash parameter the chip lacks, a bad UF2 chunk
/// size.
pub fn merge(inputs: &[MergeInput], options: &MergeOptions) -> Result<Merged, MergeError> {
    check_overlap(inputs)?;
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|i| inputs[*i].addr);
    let first = order.first().ok_or(MergeError::NoInput)?;
    if inputs[*first].addr < options.target_offset {
        return Err(MergeError::BeforeTargetOffset {
            target_offset: options.target_offset,
            addr: inputs[*first].addr,
        });
    }
    let mut events = Vec::new();
    let chip = options.chip;
    let params = &options.flash_params;
    let bytes = match options.format {
        MergeFormat::Raw => {
            let mut out: Vec<u8> = Vec::new();
            let offset = u64::from(options.target_offset);
            let pad_to = |out: &mut Vec<u8>, flash_offset: u64| {
                let want = flash_offset.saturating_sub(offset) as usize;
                if want > out.len() {
                    out.resize(want, 0xFF);
                }
            };
            for &i in &order {
                let input = &inputs[i];
                pad_to(&mut out, u64::from(input.addr));
                let image =
                    update_image_flash_params(chip, input.addr, params, &input.data, &mut events)?;
                out.extend_from_slice(&image);
            }
            if let Some(size) = options.pad_to_size {
                pad_to(&mut out, size);
            }
            out
        }
        MergeFormat::Hex => {
            let mut images = Vec::with_capacity(order.len());
            for &i in &order {
                let input = &inputs[i];
                let image =
                    update_image_flash_params(chip, input.addr, params, &input.data, &mut events)?;
                images.push((i128::from(input.addr), image));
            }
            let segments: Vec<(i128, &[u8])> =
                images.iter().map(|(a, d)| (*a, d.as_slice())).collect();
            intel_hex::write(&segments)
                .map_err(|e| MergeError::HexPastFourGiB(e.overflow))?
                .into_bytes()
        }
        MergeFormat::Uf2 => {
            let md5_part = if options.md5_disable {
                0
            } else {
                uf2::MD5_PART_SIZE
            };
            let max = uf2::DATA_SIZE - md5_part;
            let chunk = options.chunk_size.unwrap_or(max);
            if chunk == 0 || chunk > max || !chunk.is_multiple_of(4) {
                return Err(MergeError::BadChunkSize { chunk, max });
            }
            let mut out = Vec::new();
            for &i in &order {
                let input = &inputs[i];
                events.push(MergeEvent::Adding {
                    input: i,
                    addr: input.addr,
                });
                let image =
                    update_image_flash_params(chip, input.addr, params, &input.data, &mut events)?;
                write_uf2_file(
                    &mut out,
                    chip,
                    input.addr,
                    &image,
                    chunk,
                    !options.md5_disable,
                );
            }
            out
        }
    };
    Ok(Merged { bytes, events })
}

/// Appends one file's UF2 blocks (`UF2Writer.add_file`): block numbers and
/// the block count restart for every file.
fn write_uf2_file(out: &mut Vec<u8>, chip: Chip, addr: u32, image: &[u8], chunk: usize, md5: bool) {
    let blocks = image.len().div_ceil(chunk) as u32;
    let flags = uf2::FLAG_FAMILY_ID_PRESENT | if md5 { uf2::FLAG_MD5_PRESENT } else { 0 };
    let md5_part = if md5 { uf2::MD5_PART_SIZE } else { 0 };
    let mut block_addr = addr;
    for (block_no, data) in image.chunks(chunk).enumerate() {
        let start = out.len();
        for word in [
            uf2::FIRST_MAGIC,
            uf2::SECOND_MAGIC,
            flags,
            block_addr,
            data.len() as u32,
            block_no as u32,
            blocks,
            chip.uf2_family_id(),
        ] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(data);
        if md5 {
            out.extend_from_slice(&block_addr.to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&Md5::digest(data));
        }
        out.resize(out.len() + uf2::DATA_SIZE - md5_part - data.len(), 0);
        out.extend_from_slice(&uf2::FINAL_MAGIC.to_le_bytes());
        debug_assert_eq!(out.len() - start, uf2::BLOCK_SIZE);
        block_addr = block_addr.wrapping_add(data.len() as u32);
    }
}

/// An Intel HEX input that intelhex refuses with an exception esptool
/// does not catch: `intel_hex_to_bin` takes a file that fails with a
/// `HexRecordError` for a binary, but an address filled twice raises
/// `AddressOverlapError`, which is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HexInputRefused(pub intel_hex::RecordError);

impl HexInputRefused {
    /// The last line of esptool's traceback for it.
    #[must_use]
    pub fn python_exception(&self) -> String {
        std::format!("{}: {}", self.0.python_class(), self.0)
    }
}

/// A piece of an esptool input: its address (`None` for a binary that had
/// none) and its bytes.
pub type InputPart = (Option<u32>, Vec<u8>);

/// One esptool input file: a binary placed at `addr`, or, when it is Intel
/// HEX (starts with `:` and parses), its runs of consecutive addresses at
/// their own addresses (`intel_hex_to_bin`). `None` as an address means the
/// input is a binary that had none (`image-info`).
///
/// # Errors
/// [`HexInputRefused`] for a HEX file that fills an address twice.
pub fn split_hex_input(
    bytes: Vec<u8>,
    addr: Option<u32>,
) -> Result<Vec<InputPart>, HexInputRefused> {
    if bytes.first() == Some(&b':') {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            match intel_hex::read_runs(text) {
                Ok(runs) => return Ok(runs.into_iter().map(|(a, d)| (Some(a), d)).collect()),
                Err(intel_hex::HexError::Record(
                    e @ intel_hex::RecordError::AddressOverlap { .. },
                )) => return Err(HexInputRefused(e)),
                Err(_) => {}
            }
        }
    }
    Ok(vec![(addr, bytes)])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::esp_image::{EspImageBuilder, Segment};

    fn bootloader(chip: Chip) -> Vec<u8> {
        EspImageBuilder::new(chip, 0x4080_0000)
            .segment(Segment::new(0x4080_0000, vec![5; 64]))
            .build()
    }

    #[test]
    fn header_patch_recomputes_the_digest() {
        let chip = Chip::Esp32c3;
        let image = bootloader(chip);
        let params = FlashParams {
            mode: Some(FlashMode::Qio),
            freq: Some("80m".into()),
            size: Some("8MB".into()),
        };
        let mut events = Vec::new();
        let out = update_image_flash_params(chip, 0, &params, &image, &mut events).unwrap();
        assert_eq!(
            events,
            [MergeEvent::FlashParamsSet(0x003f), MergeEvent::ShaUpdated]
        );
        let info = ImageInfo::read(&out, chip).unwrap();
        assert!(info.digest.unwrap().is_valid());
        // Elsewhere than the bootloader offset nothing changes.
        let same = update_image_flash_params(chip, 0x1000, &params, &image, &mut events).unwrap();
        assert_eq!(same, image);
        let bad = FlashParams {
            freq: Some("60m".into()),
            ..FlashParams::default()
        };
        let err = update_image_flash_params(chip, 0, &bad, &image, &mut events).unwrap_err();
        assert!(err.to_string().ends_with("80m, 40m, 26m, 20m"), "{err}");
    }

    #[test]
    fn uf2_blocks_are_512_bytes_and_count_per_file() {
        let inputs = vec![
            MergeInput::new(0, vec![1; 1000]),
            MergeInput::new(0x2000, vec![2; 10]),
        ];
        let merged = merge(&inputs, &MergeOptions::new(Chip::Esp32s3, MergeFormat::Uf2)).unwrap();
        assert_eq!(merged.bytes.len(), 4 * 512);
        // Third block of the first file: number 2 of 3.
        let b = &merged.bytes[1024..1536];
        assert_eq!(&b[20..28], &[2, 0, 0, 0, 3, 0, 0, 0]);
    }

    #[test]
    fn overlap_is_by_sector() {
        let inputs = vec![
            MergeInput::new(0, vec![0; 100]),
            MergeInput::new(0x800, vec![0; 4]),
        ];
        assert!(matches!(
            check_overlap(&inputs),
            Err(MergeError::Overlap { input: 1, .. })
        ));
        let inputs = vec![
            MergeInput::new(0x1000, vec![0; 4]),
            MergeInput::new(0, vec![0; 0x1000]),
        ];
        assert!(check_overlap(&inputs).is_ok());
    }
}
