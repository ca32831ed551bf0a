//! The swap progress record (`struct boot_status`) and where it is read from.

use crate::config::UpgradeStrategy;
use crate::trailer::SwapType;

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
    pub fn reset(strategy: UpgradeStrategy) -> Self {
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
    pub fn is_reset(&self, strategy: UpgradeStrategy) -> bool {
        let op0 = if strategy == UpgradeStrategy::SwapOffset {
            Op::Swap
        } else {
            Op::Move
        };
        self.op == op0 && self.idx == 1 && self.state == 1
    }
}
