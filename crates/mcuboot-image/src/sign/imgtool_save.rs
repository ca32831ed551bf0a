//! imgtool 2.5.0's `check_trailer` and `save` (imgtool/image.py) in
//! Python's unbounded integers, for the values [`SignOptions`] cannot hold:
//! a negative `-M` shrinks the trailer below zero, a slot size may be
//! negative, and a `.hex` output is placed at any `-x` address, below 0 or
//! past 4 GiB. The normal path ([`super::ImageBuilder`], [`super::write`])
//! places the trailer with the same layout in `u32`s.

use std::vec;
use std::vec::Vec;

use super::SignOptions;
use crate::codec::trailer;
use crate::hexfile::{self, UpperAddressOverflow};

/// Where imgtool places the trailer and a `.hex` output's records, as the
/// Python integers its command line gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImgtoolLayout {
    /// `-S`.
    pub slot_size: i128,
    /// `-M` (imgtool's default when not given).
    pub max_sectors: i128,
    /// `-x`.
    pub hex_addr: Option<i128>,
    /// `--pad`, or `--test`/`--confirm`, which imply it.
    pub pad: bool,
    /// `--test`.
    pub test: bool,
    /// `--confirm`.
    pub confirm: bool,
}

/// Why imgtool saves nothing. Not `non_exhaustive`: it models one
/// pinned release, whose refusals are all here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveRefusal {
    /// `check_trailer`: the image and its trailer do not fit the slot.
    ExceedsSlot {
        /// The image's length.
        image: i128,
        /// The trailer's size (negative with a negative `-M`).
        trailer: i128,
        /// `-S`.
        slot: i128,
    },
    /// A `.hex` output without `-x`, from an input that had no address.
    NoHexAddress,
    /// `save` sets `image_ok` at an index before the padded image's start
    /// (a trailer shrunk below zero): Python's `IndexError`.
    ImageOkBeforeStart,
    /// `pad_to` repeats a list past a C `ssize_t` (`[erased] * n`):
    /// Python's `OverflowError`.
    PaddingPastIndex,
    /// `pad_to` builds a list of more than 4 Gi elements (eight bytes
    /// each), or a padded image past 4 GiB, or the padding cannot be
    /// allocated: Python's `MemoryError` (espboot writes no padded image
    /// past 4 GiB).
    PaddingOutOfMemory,
}

/// What `save` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The output file's bytes.
    pub bytes: Vec<u8>,
    /// Set when imgtool stopped after writing `bytes`: intelhex wrote the
    /// records before the one whose upper address does not fit a byte.
    pub stopped: Option<UpperAddressOverflow>,
}

/// The length of Python's `[x] * n` (negative: empty): past a `ssize_t`
/// Python cannot even size it; past 4 Gi elements (32 GiB of list) it
/// runs out of memory.
fn list_length(n: i128) -> Result<usize, SaveRefusal> {
    if n >= 1 << 63 {
        return Err(SaveRefusal::PaddingPastIndex);
    }
    if n > i128::from(u32::MAX) {
        return Err(SaveRefusal::PaddingOutOfMemory);
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

/// imgtool's `check_trailer` and `save` for `image`, which the builder
/// made without a trailer: the trailer size from `-M` as it is, the slot
/// check (not for an exported vector, which `create` returns before it
/// checks), then either the padding (binary) or the `image_ok` flag and
/// magic `puts` at `-x` + `-S` (Intel HEX: `hex_output` is then
/// imgtool's `base_addr` of the input, if it had an address: its lowest,
/// less a prepended header unless it is 0, below 0 too).
///
/// # Errors
/// [`SaveRefusal`] when imgtool refuses before it writes anything.
pub fn imgtool_save(
    opts: &SignOptions,
    layout: &ImgtoolLayout,
    image: Vec<u8>,
    enc_tlv_len: Option<usize>,
    hex_output: Option<Option<i128>>,
) -> Result<Saved, SaveRefusal> {
    let len = i128::try_from(image.len()).unwrap_or(i128::MAX);
    let max_align = opts.effective_max_align();
    let magic = trailer::magic_in(max_align, opts.endian);
    let magic_len = i128::try_from(magic.len()).unwrap_or(i128::MAX);
    let max_align = i128::from(max_align);
    let magic_align = (magic_len + max_align - 1) / max_align * max_align;
    // _trailer_size: with 0 sectors, plus the swap status of -M's count
    let mut trailer_size = i128::from(opts.trailer_size_with(0, enc_tlv_len));
    if !opts.overwrite_only {
        // Python's integers do not overflow; i128 holds any -M py-int reads
        // times 96
        let status = layout
            .max_sectors
            .saturating_mul(3)
            .saturating_mul(i128::from(opts.align));
        trailer_size = trailer_size.saturating_add(status);
    }
    let slot = layout.slot_size;
    // create returns with an exported vector before check_trailer
    if slot > 0 && len.saturating_add(trailer_size) > slot && opts.vector_to_sign.is_none() {
        return Err(SaveRefusal::ExceedsSlot {
            image: len,
            trailer: trailer_size,
            slot,
        });
    }
    let flags = (layout.test || layout.confirm) && !opts.overwrite_only;
    // image_ok's place, counted back from the end of the slot
    let image_ok_from_end = magic_align + max_align;
    let erased = opts.erased_val;
    if let Some(input_address) = hex_output {
        let base = layout
            .hex_addr
            .or(input_address)
            .ok_or(SaveRefusal::NoHexAddress)?;
        let mut flag = vec![erased; usize::try_from(max_align).unwrap_or(0)];
        if layout.confirm {
            if let Some(first) = flag.first_mut() {
                *first = 0x01;
            }
        }
        // later segments overwrite earlier ones, as imgtool's `puts` do
        let mut segments: Vec<(i128, &[u8])> = vec![(base, &image)];
        if layout.pad {
            if flags {
                segments.push((base + slot - image_ok_from_end, &flag));
            }
            segments.push((base + slot - magic_len, &magic));
        }
        return Ok(match hexfile::write(&segments) {
            Ok(text) => Saved {
                bytes: text.into_bytes(),
                stopped: None,
            },
            Err(cut) => Saved {
                bytes: cut.text.into_bytes(),
                stopped: Some(cut.overflow),
            },
        });
    }
    let mut bytes = image;
    if layout.pad {
        // `[erased] * n` for the padding, then for the trailer's erased part
        let padding = list_length(slot.saturating_sub(len.saturating_add(trailer_size)))?;
        let erased_tail = list_length(trailer_size.saturating_sub(magic_len))?;
        // Python builds the padding as lists of eight-byte references: past
        // 4 GiB of output (32 GiB of list) it runs out of memory, and espboot
        // writes no padded image past 4 GiB
        if (bytes.len() + padding + erased_tail + magic.len()) as u64 > u64::from(u32::MAX) {
            return Err(SaveRefusal::PaddingOutOfMemory);
        }
        let mut tail = Vec::new();
        tail.try_reserve_exact(padding + erased_tail + magic.len())
            .map_err(|_| SaveRefusal::PaddingOutOfMemory)?;
        tail.resize(padding + erased_tail, erased);
        tail.extend_from_slice(&magic);
        if flags && layout.confirm {
            let at = usize::try_from(image_ok_from_end)
                .ok()
                .and_then(|back| tail.len().checked_sub(back))
                .ok_or(SaveRefusal::ImageOkBeforeStart)?;
            tail[at] = 0x01;
        }
        bytes.extend_from_slice(&tail);
    }
    Ok(Saved {
        bytes,
        stopped: None,
    })
}
