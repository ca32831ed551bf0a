//! The image trailer at the end of every slot (and of the scratch area):
//! its magic, flags and layout, byte-compatible with MCUboot
//! (`bootutil_public.c`, `bootutil_misc.h`, `bootutil_area.c`; reference
//! mcuboot.md §2). The signer writes it (`--pad`, `--test`, `--confirm`)
//! and the boot core reads and writes it, both from these definitions.
//!
//! ```text
//!  S - status_off ...  status records: M * STATE_COUNT * W bytes (scratch: STATE_COUNT * W)
//! [enc keys]           two fields of ALIGN_UP(key or TLV size, A) with encryption
//!  swap_size_off       u32 LE, padded to A
//! [unprot_tlv_off]     swap-offset only: (sec_tot << 16) | pri_tot
//!  swap_info_off       (image << 4) | swap_type
//!  copy_done_off       0x01 when set
//!  image_ok_off        0x01 when set
//!  S - 16              magic (16 bytes, written as ALIGN_UP(16, A) bytes)
//! ```
//! Field spacing is A (`BOOT_MAX_ALIGN`); a field write is W bytes
//! (`flash_area_align()`), the magic write is `ALIGN_UP(16, A)` bytes.

/// `BOOT_MAGIC_SZ` (`bootutil_priv.h`).
pub const MAGIC_SIZE: u32 = 16;

/// The 16-byte trailer magic for `BOOT_MAX_ALIGN == 8` (`boot_img_magic`,
/// `bootutil_public.c`; imgtool `image.py` `boot_magic`).
pub const MAGIC_ALIGN8: [u8; 16] = [
    0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80,
];

/// The last 14 bytes of the magic for any other `BOOT_MAX_ALIGN`; the first
/// two are the alignment as u16 LE (`union boot_img_magic_t`,
/// `bootutil_public.c`; imgtool `image.py` `boot_magic`).
pub const MAGIC_TAIL_WIDE: [u8; 14] = [
    0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a,
];

/// `BOOT_FLAG_SET` (`bootutil_public.h`): image_ok and copy_done when set.
pub const FLAG_SET: u8 = 0x01;

/// `BOOT_MAX_ALIGN` when the port does not raise it (`bootutil_public.h`;
/// imgtool `image.py` `DEFAULT_MAX_ALIGN`).
pub const DEFAULT_MAX_ALIGN: u32 = 8;

/// imgtool's `DEFAULT_MAX_SECTORS` (`image.py`): the `-M` it assumes.
pub const DEFAULT_MAX_SECTORS: u32 = 128;

/// `MCUBOOT_MAX_IMG_SECTORS` of the Espressif port (`mcuboot_config.h`;
/// reference/mcuboot.md §2.3, §7).
pub const ESPRESSIF_MAX_SECTORS: u32 = 512;

/// The trailer magic for a given `BOOT_MAX_ALIGN`: [`MAGIC_ALIGN8`] for 8,
/// else the alignment as a little-endian `uint16_t` and [`MAGIC_TAIL_WIDE`].
#[must_use]
pub const fn magic_for(max_align: u32) -> [u8; 16] {
    magic_in(max_align, super::Endian::Little)
}

/// [`magic_for`] in byte order `e`: imgtool `-e big` writes the alignment
/// most significant byte first (`Image.__init__`, `image.py`).
#[must_use]
pub const fn magic_in(max_align: u32, e: super::Endian) -> [u8; 16] {
    if max_align == DEFAULT_MAX_ALIGN {
        return MAGIC_ALIGN8;
    }
    // The union's `uint16_t align` keeps the low 16 bits.
    let [a0, a1] = e.u16_bytes((max_align & 0xffff) as u16);
    let t = MAGIC_TAIL_WIDE;
    [
        a0, a1, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12],
        t[13],
    ]
}

/// The `BOOT_MAX_ALIGN` a magic was written for, if it is one of
/// [`magic_for`]'s.
#[must_use]
pub fn max_align_of_magic(magic: &[u8; 16]) -> Option<u32> {
    if *magic == MAGIC_ALIGN8 {
        return Some(DEFAULT_MAX_ALIGN);
    }
    let (align, tail) = magic.split_first_chunk::<2>()?;
    (tail == MAGIC_TAIL_WIDE).then(|| u32::from(u16::from_le_bytes(*align)))
}

/// `ALIGN_UP(v, a)` for a power-of-two `a`, saturating instead of wrapping.
#[must_use]
pub const fn align_up(v: u32, a: u32) -> u32 {
    if a == 0 {
        return v;
    }
    v.div_ceil(a).saturating_mul(a)
}

/// `ALIGN_DOWN(v, a)`.
#[must_use]
pub const fn align_down(v: u32, a: u32) -> u32 {
    if a == 0 {
        return v;
    }
    v / a * a
}

/// The sizes and field positions of one trailer (`boot_trailer_sz`,
/// `boot_*_off`). Sizes saturate at `u32::MAX` rather than wrap, so an
/// absurd `-M` yields a trailer that fits no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrailerLayout {
    /// `BOOT_MAX_ALIGN` A (8, 16 or 32): field spacing and magic variant.
    pub max_align: u32,
    /// `BOOT_WRITE_SZ` W: the size of one status record.
    pub write_size: u32,
    /// `BOOT_MAX_IMG_SECTORS` M: the sectors the status area covers.
    pub max_sectors: u32,
    /// `BOOT_STATUS_STATE_COUNT`: status records per sector (3; 2 for
    /// swap-offset).
    pub status_states: u32,
    /// Swap-offset's extra word with the unprotected TLV sizes.
    pub swap_offset: bool,
    /// With encryption (`MCUBOOT_ENC_IMAGES`): the size of one saved key
    /// field before alignment (the AES key size, or the encryption TLV's
    /// with `MCUBOOT_SWAP_SAVE_ENCTLV`); 0 without.
    pub enc_key_size: u32,
}

impl TrailerLayout {
    /// A swap trailer without encryption or swap-offset's extra word.
    #[must_use]
    pub const fn new(max_align: u32, write_size: u32, max_sectors: u32) -> Self {
        Self {
            max_align,
            write_size,
            max_sectors,
            status_states: 3,
            swap_offset: false,
            enc_key_size: 0,
        }
    }

    /// `BOOT_MAGIC_ALIGN_SIZE`: the magic as written.
    #[must_use]
    pub const fn magic_align_size(&self) -> u32 {
        align_up(MAGIC_SIZE, self.max_align)
    }

    /// `boot_trailer_info_sz`: everything but the status records.
    #[must_use]
    pub const fn info_size(&self) -> u32 {
        let a = self.max_align;
        let fields = if self.swap_offset { 5 } else { 4 };
        let keys = if self.enc_key_size == 0 {
            0
        } else {
            align_up(self.enc_key_size, a).saturating_mul(2)
        };
        a.saturating_mul(fields)
            .saturating_add(keys)
            .saturating_add(self.magic_align_size())
    }

    /// `boot_status_sz`: the status records of a slot.
    #[must_use]
    pub const fn status_size(&self) -> u32 {
        self.max_sectors
            .saturating_mul(self.status_states)
            .saturating_mul(self.write_size)
    }

    /// `boot_trailer_sz`: the trailer of a slot.
    #[must_use]
    pub const fn size(&self) -> u32 {
        self.status_size().saturating_add(self.info_size())
    }

    /// `boot_scratch_trailer_sz`: the trailer of the scratch area, with
    /// room for one sector's status records.
    #[must_use]
    pub const fn scratch_size(&self) -> u32 {
        self.status_states
            .saturating_mul(self.write_size)
            .saturating_add(self.info_size())
    }

    /// Bytes from the end of the area to the image_ok field, as imgtool
    /// places it (`image.py` `pad_to`, `save`): `ALIGN_UP(16, A) + A`. The
    /// same field as [`Self::image_ok_off`] when the area size is a multiple
    /// of A.
    #[must_use]
    pub const fn image_ok_from_end(&self) -> u32 {
        self.magic_align_size().saturating_add(self.max_align)
    }

    /// `boot_magic_off` in an area of `area_size` bytes.
    #[must_use]
    pub const fn magic_off(&self, area_size: u32) -> u32 {
        area_size.saturating_sub(MAGIC_SIZE)
    }

    /// `boot_image_ok_off`.
    #[must_use]
    pub const fn image_ok_off(&self, area_size: u32) -> u32 {
        align_down(
            self.magic_off(area_size).saturating_sub(self.max_align),
            self.max_align,
        )
    }

    /// `boot_copy_done_off`.
    #[must_use]
    pub const fn copy_done_off(&self, area_size: u32) -> u32 {
        self.image_ok_off(area_size).saturating_sub(self.max_align)
    }

    /// `boot_swap_info_off`.
    #[must_use]
    pub const fn swap_info_off(&self, area_size: u32) -> u32 {
        self.copy_done_off(area_size).saturating_sub(self.max_align)
    }

    /// `boot_unprotected_tlv_sizes_off` (swap-offset only).
    #[must_use]
    pub const fn unprot_tlv_sizes_off(&self, area_size: u32) -> u32 {
        self.swap_info_off(area_size).saturating_sub(self.max_align)
    }

    /// `boot_swap_size_off`.
    #[must_use]
    pub const fn swap_size_off(&self, area_size: u32) -> u32 {
        let above = if self.swap_offset {
            self.unprot_tlv_sizes_off(area_size)
        } else {
            self.swap_info_off(area_size)
        };
        above.saturating_sub(self.max_align)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_variants_and_their_alignment() {
        assert_eq!(magic_for(8), MAGIC_ALIGN8);
        let m32 = magic_for(32);
        assert_eq!(m32[..2], [32, 0]);
        assert_eq!(m32[2..], MAGIC_TAIL_WIDE);
        for a in [8, 16, 32] {
            assert_eq!(max_align_of_magic(&magic_for(a)), Some(a));
        }
        assert_eq!(max_align_of_magic(&[0xff; 16]), None);
    }

    #[test]
    fn big_endian_magic_puts_the_alignment_msb_first() {
        use crate::codec::Endian;
        assert_eq!(magic_in(8, Endian::Big), MAGIC_ALIGN8);
        let m16 = magic_in(16, Endian::Big);
        assert_eq!(m16[..2], [0, 16]);
        assert_eq!(m16[2..], MAGIC_TAIL_WIDE);
    }

    #[test]
    fn sizes_match_the_reference_table() {
        // reference/mcuboot.md §2.3: 128 sectors, W = A = 8 -> 3120 bytes.
        assert_eq!(TrailerLayout::new(8, 8, 128).size(), 3120);
        assert_eq!(TrailerLayout::new(32, 32, 128).size(), 12448);
        // The Espressif port: W = 4, A = 8, M = 512.
        let esp = TrailerLayout::new(8, 4, 512);
        assert_eq!(esp.size(), 512 * 3 * 4 + 4 * 8 + 16);
        assert_eq!(esp.scratch_size(), 3 * 4 + 4 * 8 + 16);
        let offset = TrailerLayout {
            status_states: 2,
            swap_offset: true,
            ..esp
        };
        assert_eq!(offset.info_size(), 5 * 8 + 16);
        assert_eq!(TrailerLayout::new(8, 8, u32::MAX).size(), u32::MAX);
    }

    #[test]
    fn field_offsets_count_down_from_the_magic() {
        let l = TrailerLayout::new(8, 4, 512);
        let s = 0x1_0000;
        assert_eq!(l.magic_off(s), s - 16);
        assert_eq!(l.image_ok_off(s), s - 24);
        assert_eq!(s - l.image_ok_off(s), l.image_ok_from_end());
        assert_eq!(l.copy_done_off(s), s - 32);
        assert_eq!(l.swap_info_off(s), s - 40);
        assert_eq!(l.swap_size_off(s), s - 48);
        let o = TrailerLayout {
            swap_offset: true,
            ..l
        };
        assert_eq!(o.unprot_tlv_sizes_off(s), s - 48);
        assert_eq!(o.swap_size_off(s), s - 56);
    }
}
