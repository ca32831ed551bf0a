//! esptool's `--before` reset strategies as data: the DTR/RTS line changes
//! and waits, in order (esptool 5.6.0 `reset.py`: `ClassicReset`,
//! `UnixTightReset` timings; serial.md §1.4). The client plays them on the
//! port; tests compare them as sequences, no hardware needed.

use std::time::Duration;

/// esptool's default `reset_delay` for the classic reset
/// (`DEFAULT_RESET_DELAY` = 0.05 s, esptool `reset.py`).
pub const RESET_DELAY: Duration = Duration::from_millis(50);

/// One step of a reset sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Set DTR (true = asserted; on the usual auto-reset circuit DTR drives
    /// IO0).
    Dtr(bool),
    /// Set RTS (true = asserted; drives EN).
    Rts(bool),
    /// Wait.
    Wait(Duration),
}

/// `--before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Before {
    /// Classic DTR/RTS reset into the bootloader.
    DefaultReset,
    /// Leave the lines alone; sync.
    NoReset,
    /// Leave the lines alone; do not sync either.
    NoResetNoSync,
}

impl Before {
    /// The line changes this strategy makes (esptool `ClassicReset.reset`:
    /// IO0=HIGH with EN=LOW, 100 ms, IO0=LOW with EN=HIGH, `reset_delay`,
    /// IO0=HIGH).
    pub fn sequence(self) -> Vec<Step> {
        match self {
            Before::DefaultReset => vec![
                Step::Dtr(false),
                Step::Rts(true),
                Step::Wait(Duration::from_millis(100)),
                Step::Dtr(true),
                Step::Rts(false),
                Step::Wait(RESET_DELAY),
                Step::Dtr(false),
            ],
            Before::NoReset | Before::NoResetNoSync => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_reset_holds_io0_low_while_en_rises() {
        let seq = Before::DefaultReset.sequence();
        // EN released (RTS false) while IO0 held low (DTR true)...
        let en_release = seq.iter().position(|s| *s == Step::Rts(false)).unwrap();
        let io0_low = seq.iter().position(|s| *s == Step::Dtr(true)).unwrap();
        assert!(io0_low < en_release);
        // ...then IO0 released after the reset delay.
        assert_eq!(seq.last(), Some(&Step::Dtr(false)));
        assert_eq!(seq[seq.len() - 2], Step::Wait(RESET_DELAY));
        assert!(Before::NoReset.sequence().is_empty());
    }
}
