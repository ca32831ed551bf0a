//! esptool's progress as a bar on a terminal (the CLI's one progress style,
//! [`crate::progress`]); nothing when piped, so scripts read only esptool's
//! result lines.

use crate::progress::Unit;

/// A bar over `total` bytes labelled like esptool's ("Writing at 0x…").
pub struct Progress {
    bar: crate::progress::Progress,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        Progress {
            bar: crate::progress::Progress::new(Unit::Bytes, Some(total as u64), ""),
        }
    }

    pub fn update(&self, done: usize, message: String) {
        self.bar.set_position(done as u64);
        self.bar.set_message(message);
    }

    pub fn finish(&self) {
        self.bar.finish();
    }
}
