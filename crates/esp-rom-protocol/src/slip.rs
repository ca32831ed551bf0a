//! SLIP framing as the ROM and esptool use it (RFC 1055 with esptool's
//! conventions, `et:loader.py:2283-2340`): every frame starts and ends with
//! `C0`; inside, `C0` is sent as `DB DC` and `DB` as `DB DD`.
//!
//! The [`Decoder`] is what a device needs on an untrusted line: bytes
//! outside a frame are skipped (the ROM ignores line noise), `C0 C0` is an
//! empty frame boundary and yields nothing, an invalid escape or a frame
//! longer than the bound is reported once as an error and the rest of that
//! frame is dropped. Memory stays below the bound whatever arrives.

use alloc::vec::Vec;
use core::fmt;

/// Frame delimiter.
pub const END: u8 = 0xC0;
/// Escape byte.
pub const ESC: u8 = 0xDB;
/// `ESC ESC_END` stands for `END` inside a frame.
pub const ESC_END: u8 = 0xDC;
/// `ESC ESC_ESC` stands for `ESC` inside a frame.
pub const ESC_ESC: u8 = 0xDD;

/// Appends `payload` as one SLIP frame (`C0 … C0`) to `out`.
pub fn encode(payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(payload.len() + payload.len() / 16 + 2);
    out.push(END);
    for &b in payload {
        match b {
            END => out.extend_from_slice(&[ESC, ESC_END]),
            ESC => out.extend_from_slice(&[ESC, ESC_ESC]),
            _ => out.push(b),
        }
    }
    out.push(END);
}

/// `payload` as one SLIP frame.
pub fn encoded(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode(payload, &mut out);
    out
}

/// Why a frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlipError {
    /// The frame grew past the decoder's bound (the rest of it is skipped).
    Oversize {
        /// The bound, in decoded bytes.
        limit: usize,
    },
    /// `DB` followed by something other than `DC` or `DD`.
    BadEscape(u8),
}

impl fmt::Display for SlipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlipError::Oversize { limit } => {
                write!(f, "SLIP frame longer than {limit} bytes")
            }
            SlipError::BadEscape(b) => write!(f, "invalid SLIP escape 0xdb 0x{b:02x}"),
        }
    }
}

impl core::error::Error for SlipError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between frames: skip everything but `C0`.
    Idle,
    /// Inside a frame.
    InFrame,
    /// Inside a frame, after `DB`.
    Escape,
    /// Inside a frame that was already reported bad: skip to its end.
    Discard,
}

/// A streaming SLIP decoder with a bound on the decoded frame size.
#[derive(Debug, Clone)]
pub struct Decoder {
    buf: Vec<u8>,
    state: State,
    limit: usize,
}

impl Decoder {
    /// A decoder that refuses frames longer than `limit` decoded bytes.
    pub fn new(limit: usize) -> Self {
        Decoder {
            buf: Vec::new(),
            state: State::Idle,
            limit,
        }
    }

    /// Forgets a partly received frame (the line was reset or closed).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.state = State::Idle;
    }

    /// True while inside a frame.
    pub fn in_frame(&self) -> bool {
        self.state != State::Idle
    }

    /// Feeds one byte; returns a complete frame, or the error that dropped
    /// the current one. Empty frames (`C0 C0`) yield nothing.
    pub fn push(&mut self, byte: u8) -> Option<Result<Vec<u8>, SlipError>> {
        match (self.state, byte) {
            (State::Idle, END) => {
                self.state = State::InFrame;
                None
            }
            (State::Idle, _) => None,
            (State::InFrame, END) => {
                if self.buf.is_empty() {
                    // `C0 C0`: the first was the end of something we did not
                    // see start, or an empty frame; this one opens a frame.
                    return None;
                }
                self.state = State::Idle;
                Some(Ok(core::mem::take(&mut self.buf)))
            }
            (State::InFrame, ESC) => {
                self.state = State::Escape;
                None
            }
            (State::InFrame, b) => self.store(b),
            (State::Escape, ESC_END) => {
                self.state = State::InFrame;
                self.store(END)
            }
            (State::Escape, ESC_ESC) => {
                self.state = State::InFrame;
                self.store(ESC)
            }
            (State::Escape, END) => {
                // A frame cut short inside an escape: drop it.
                self.buf.clear();
                self.state = State::Idle;
                Some(Err(SlipError::BadEscape(END)))
            }
            (State::Escape, b) => {
                self.buf.clear();
                self.state = State::Discard;
                Some(Err(SlipError::BadEscape(b)))
            }
            (State::Discard, END) => {
                self.state = State::Idle;
                None
            }
            (State::Discard, _) => None,
        }
    }

    fn store(&mut self, b: u8) -> Option<Result<Vec<u8>, SlipError>> {
        if self.buf.len() >= self.limit {
            self.buf = Vec::new();
            self.state = State::Discard;
            return Some(Err(SlipError::Oversize { limit: self.limit }));
        }
        self.buf.push(b);
        None
    }

    /// Feeds `bytes`; returns every frame (or error) they complete, in order.
    pub fn push_all(&mut self, bytes: &[u8]) -> Vec<Result<Vec<u8>, SlipError>> {
        bytes.iter().filter_map(|&b| self.push(b)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn escapes_round_trip() {
        let payload = [1, END, 2, ESC, 3];
        let wire = encoded(&payload);
        assert_eq!(wire, [END, 1, ESC, ESC_END, 2, ESC, ESC_ESC, 3, END]);
        let mut d = Decoder::new(64);
        assert_eq!(d.push_all(&wire), vec![Ok(payload.to_vec())]);
    }

    #[test]
    fn garbage_between_frames_and_double_delimiters_are_skipped() {
        let mut d = Decoder::new(64);
        let mut wire = vec![0x55, 0x12, END, END];
        wire.extend_from_slice(&[7, 8, END]);
        assert_eq!(d.push_all(&wire), vec![Ok(vec![7, 8])]);
    }

    #[test]
    fn oversize_frames_are_dropped_once_and_the_next_frame_decodes() {
        let mut d = Decoder::new(4);
        let mut wire = encoded(&[1, 2, 3, 4, 5, 6]);
        wire.extend(encoded(&[9]));
        assert_eq!(
            d.push_all(&wire),
            vec![Err(SlipError::Oversize { limit: 4 }), Ok(vec![9])]
        );
    }

    #[test]
    fn bad_escape_drops_the_frame() {
        let mut d = Decoder::new(16);
        let mut wire = vec![END, 1, ESC, 0x00, 2, END];
        wire.extend(encoded(&[3]));
        assert_eq!(
            d.push_all(&wire),
            vec![Err(SlipError::BadEscape(0)), Ok(vec![3])]
        );
    }
}
