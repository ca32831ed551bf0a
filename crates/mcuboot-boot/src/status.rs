//! The swap progress record (`struct boot_status`) and where it is read from.

use embedded_storage::nor_flash::NorFlash;

use crate::config::{Slot, UpgradeStrategy};
use crate::flash::Res;
use crate::geometry::Area;
use crate::loader::Loader;
use crate::trailer::{FlagState, MagicState, SwapType, Trailer};

/// `BOOT_STATUS_OP_*` (swap-move has a MOVE phase before the SWAP phase).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Move,
    Swap,
}

/// `BOOT_STATUS_SOURCE_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    None,
    Primary,
    Scratch,
}

/// `struct boot_status`: `idx` counts from `BOOT_STATUS_IDX_0` = 1 and
/// `state` from `BOOT_STATUS_STATE_0` = 1.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Status {
    pub op: Op,
    pub idx: u32,
    pub state: u8,
    pub swap_type: SwapType,
    pub swap_size: u32,
    pub source: Source,
    pub use_scratch: bool,
}

impl Status {
    /// `boot_status_reset`.
    pub(crate) fn reset(strategy: UpgradeStrategy) -> Self {
        Status {
            op: if strategy == UpgradeStrategy::SwapOffset {
                Op::Swap
            } else {
                Op::Move
            },
            idx: 1,
            state: 1,
            swap_type: SwapType::None,
            swap_size: 0,
            source: Source::None,
            use_scratch: false,
        }
    }

    /// `boot_status_is_reset`.
    pub(crate) fn is_reset(&self, strategy: UpgradeStrategy) -> bool {
        let op0 = if strategy == UpgradeStrategy::SwapOffset {
            Op::Swap
        } else {
            Op::Move
        };
        self.op == op0 && self.idx == 1 && self.state == 1
    }
}

impl<F: NorFlash> Loader<'_, '_, '_, F> {
    // --------------------------------------------------------- status reading

    /// `swap_status_source` (scratch table; move/offset have their own rule).
    fn status_source(&mut self) -> Res<Source, F> {
        let pri = self.read_state(Slot::Primary)?;
        if self.strategy() != UpgradeStrategy::SwapScratch {
            let sec = self.read_state(Slot::Secondary)?;
            return Ok(
                if pri.magic == MagicState::Good
                    && pri.copy_done == FlagState::Unset
                    && sec.magic != MagicState::Good
                {
                    Source::Primary
                } else {
                    Source::None
                },
            );
        }
        let st = self.scratch_trailer()?;
        let scr = st.read_state(&mut self.fl)?;
        let src = if pri.magic == MagicState::Good
            && scr.magic != MagicState::Good
            && pri.copy_done == FlagState::Set
        {
            Source::None
        } else if pri.magic == MagicState::Good
            && scr.magic != MagicState::Good
            && pri.copy_done == FlagState::Unset
        {
            Source::Primary
        } else if scr.magic == MagicState::Good {
            if self.cfg.images.len() > 1 && usize::from(scr.image_num) != self.cur {
                Source::None
            } else {
                Source::Scratch
            }
        } else if pri.magic == MagicState::Unset && pri.copy_done == FlagState::Unset {
            Source::Primary
        } else {
            Source::None
        };
        Ok(src)
    }

    /// `swap_read_status`.
    pub(crate) fn swap_read_status(&mut self, bs: &mut Status) -> Res<(), F> {
        bs.source = self.status_source()?;
        let tr = match bs.source {
            Source::None => return Ok(()),
            Source::Scratch => self.scratch_trailer()?,
            Source::Primary => self.trailer(Slot::Primary),
        };
        match self.strategy() {
            UpgradeStrategy::SwapScratch => self.read_status_bytes_forward(&tr, bs)?,
            _ => self.read_status_bytes_backward(&tr, bs)?,
        }
        let (info, erased) = tr.read_swap_info_raw(&mut self.fl)?;
        bs.swap_type = if erased {
            SwapType::None
        } else {
            match info & 0x0f {
                2 => SwapType::Test,
                3 => SwapType::Perm,
                4 => SwapType::Revert,
                5 => SwapType::Fail,
                _ => SwapType::None,
            }
        };
        Ok(())
    }

    /// `swap_read_status_bytes` (scratch): the first erased record after the
    /// first written one gives idx/state. A written record after that gap is
    /// an "inconsistent status", ignored with `MCUBOOT_VALIDATE_PRIMARY_SLOT`.
    fn read_status_bytes_forward(&mut self, tr: &Trailer, bs: &mut Status) -> Res<(), F> {
        let max = tr.lay.status_entries();
        let states = tr.lay.states();
        let mut win = ReadWindow::new();
        let mut found = false;
        let mut found_idx = 0u32;
        let mut i = 0;
        while i < max {
            let written = self.entry_written(tr, i, &mut win)?;
            if !written {
                if found && found_idx == 0 {
                    found_idx = i;
                }
            } else if !found {
                found = true;
            } else if found_idx != 0 {
                break;
            }
            i += 1;
        }
        if found {
            if found_idx == 0 {
                found_idx = i;
            }
            bs.idx = found_idx / states + 1;
            bs.state = (found_idx % states + 1) as u8;
        }
        Ok(())
    }

    /// Status entry `i` is written; status records are spaced by
    /// `BOOT_WRITE_SZ` whatever area they are in. Reads go through a small
    /// window so a scan costs a few flash reads rather than one per record.
    fn entry_written(&mut self, tr: &Trailer, i: u32, win: &mut ReadWindow) -> Res<bool, F> {
        let off = tr.lay.status_off() + i * self.write_sz();
        let b = win.byte(&mut self.fl, tr.area, off, tr.lay.size)?;
        Ok(b != self.fl.erased)
    }

    /// `swap_read_status_bytes` (move/offset): the last written record.
    fn read_status_bytes_backward(&mut self, tr: &Trailer, bs: &mut Status) -> Res<(), F> {
        let max = tr.lay.status_entries();
        let m = self.cfg.max_sectors;
        let mut win = ReadWindow::new();
        let mut found = 0u32;
        let mut i = max;
        while i > 0 {
            if self.entry_written(tr, i - 1, &mut win)? {
                found = i;
                break;
            }
            i -= 1;
        }
        if found == 0 {
            return Ok(());
        }
        match self.strategy() {
            UpgradeStrategy::SwapMove => {
                if found < m {
                    bs.op = Op::Move;
                    bs.idx = found + 1;
                    bs.state = 1;
                } else {
                    bs.op = Op::Swap;
                    bs.idx = (found - m) / 2 + 1;
                    bs.state = ((found - m) % 2 + 1) as u8;
                }
            }
            _ => {
                bs.op = Op::Swap;
                bs.idx = found / 2 + 1;
                bs.state = (found % 2 + 1) as u8;
            }
        }
        Ok(())
    }

    /// `boot_status_internal_off` / `BOOT_WRITE_SZ`, as a record index.
    pub(crate) fn status_entry(&self, bs: &Status) -> u32 {
        let states = self.strategy().status_state_count();
        match (self.strategy(), bs.op) {
            (UpgradeStrategy::SwapMove, Op::Move) => bs.idx - 1,
            (UpgradeStrategy::SwapMove, Op::Swap) => {
                self.cfg.max_sectors + (bs.idx - 1) * 2 + (u32::from(bs.state) - 1)
            }
            _ => (bs.idx - 1) * states + (u32::from(bs.state) - 1),
        }
    }
}

/// A cached 256-byte window of an area, for byte-by-byte scans.
pub(crate) struct ReadWindow {
    buf: [u8; 256],
    start: u32,
    len: u32,
    /// (start, len) currently in `buf`.
    filled: (u32, usize),
}

impl ReadWindow {
    pub(crate) fn new() -> Self {
        ReadWindow {
            buf: [0; 256],
            start: 0,
            len: 0,
            filled: (0, 0),
        }
    }

    /// The byte at `off` of `area` (of size `size`), refilling the window
    /// around it when needed.
    pub(crate) fn byte<F: NorFlash>(
        &mut self,
        fl: &mut crate::flash::Flash<'_, F>,
        area: Area,
        off: u32,
        size: u32,
    ) -> Res<u8, F> {
        let cap = self.buf.len() as u32;
        if off >= self.start + self.len {
            // Forward (or first) read: the window starts at `off`.
            self.start = off;
            self.len = size.saturating_sub(off).min(cap);
        } else if off < self.start {
            // Backward scan: the window ends at `off`.
            self.start = off.saturating_sub(cap - 1);
            self.len = off - self.start + 1;
        }
        if off < self.start || off >= self.start + self.len || self.len == 0 {
            return Err(crate::error::BootError::OutOfBounds { area });
        }
        let (s, l) = (self.start, self.len as usize);
        if self.filled != (s, l) {
            fl.read(area, s, &mut self.buf[..l])?;
            self.filled = (s, l);
        }
        Ok(self.buf[(off - self.start) as usize])
    }
}
