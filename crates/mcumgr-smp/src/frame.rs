//! SMP over a serial console ("console framing"), byte-exact with MCUboot's
//! `boot_serial.c` (`boot_serial_output`, `boot_serial_in_dec`,
//! `boot_serial_read_console`), smp's `packet.py` and Go mcumgr's
//! `nmxact/nmserial/serial_xport.go` (serial.md §6.2):
//!
//! ```text
//! frame   = be16(len(message) + 2) ‖ message ‖ be16(crc16_xmodem(message))
//! text    = base64(frame)                              standard alphabet, padded
//! line 1  = 06 09 ‖ text[0..n]   ‖ 0A
//! line k  = 04 14 ‖ text[...]    ‖ 0A                  continuation
//! ```
//!
//! `n`, the base64 characters per line, is always a multiple of 4 so every
//! line decodes on its own: smpclient and mcumgr decode line by line.

// Wire codec: every narrowing conversion is checked (try_from with a
// typed error), never a silent `as` truncation (issue 10, Guards).
#![warn(clippy::cast_possible_truncation)]

use base64ct::{Base64, Encoding};

use crate::error::FrameError;

/// First two bytes of the first line of a frame (`SHELL_NLIP_PKT_START1/2`).
pub const START: [u8; 2] = [0x06, 0x09];
/// First two bytes of a continuation line (`SHELL_NLIP_DATA_START1/2`).
pub const CONTINUATION: [u8; 2] = [0x04, 0x14];
/// `MCUBOOT_SERIAL_MAX_RECEIVE_SIZE` of the Espressif port (default of
/// `boot_serial.c:101-103`): the line buffer is one byte larger
/// (`in_buf[MCUBOOT_SERIAL_MAX_RECEIVE_SIZE + 1]`, `boot_serial.c:163`).
pub const MCUBOOT_MAX_RECEIVE: usize = 512;

/// CRC-16/XMODEM (poly 0x1021, init 0): `smp/packet.py:25`; MCUboot ESP's
/// `~esp_crc16_be(~0, ..)` is the same function (serial.md §6.2).
pub const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);

/// Base64 characters per line: a multiple of 4, at least 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineChars(usize);

impl LineChars {
    /// What MCUboot sends: `BOOT_SERIAL_FRAME_MTU` = 124 (`boot_serial.c:131`).
    pub const MCUBOOT: LineChars = LineChars(124);

    /// `chars` characters per line.
    ///
    /// # Errors
    /// [`FrameError::BadLineChars`] unless `chars` is a non-zero multiple of 4.
    pub fn new(chars: usize) -> Result<Self, FrameError> {
        if chars == 0 || !chars.is_multiple_of(4) {
            return Err(FrameError::BadLineChars { chars });
        }
        Ok(LineChars(chars))
    }

    /// smpclient's sizing for a line length in bytes (delimiter and newline
    /// included): `((line_length - 4) // 4) * 4` (`smp/packet.py:87`);
    /// 128 gives 124.
    ///
    /// # Errors
    /// [`FrameError::BadLineChars`] when the line cannot hold 4 characters.
    pub fn for_line_length(line_length: usize) -> Result<Self, FrameError> {
        Self::new(line_length.saturating_sub(4) / 4 * 4)
    }

    /// The number of characters.
    pub fn get(self) -> usize {
        self.0
    }
}

/// Frames one SMP message (header and body) as console lines.
///
/// # Errors
/// [`FrameError::MessageTooLong`] when the frame length does not fit 16 bits.
pub fn encode(message: &[u8], chars: LineChars) -> Result<Vec<u8>, FrameError> {
    let total = u16::try_from(message.len() + 2)
        .map_err(|_| FrameError::MessageTooLong { len: message.len() })?;
    let mut frame = Vec::with_capacity(message.len() + 4);
    frame.extend_from_slice(&total.to_be_bytes());
    frame.extend_from_slice(message);
    frame.extend_from_slice(&CRC16.checksum(message).to_be_bytes());
    let text = Base64::encode_string(&frame);
    let mut out = Vec::with_capacity(text.len() + text.len() / chars.get() * 3 + 3);
    for (i, line) in text.as_bytes().chunks(chars.get()).enumerate() {
        out.extend_from_slice(if i == 0 { &START } else { &CONTINUATION });
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    Ok(out)
}

/// Limits and leniency of a [`Decoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Bytes a line may take, newline included; a line that fills this
    /// without a newline is dropped and reading starts over.
    pub max_line: usize,
    /// Bytes a decoded frame may take (length prefix, message and CRC).
    pub max_frame: usize,
    /// Look for a start delimiter anywhere in a line rather than only at its
    /// beginning (a client reading a console that also carries log text).
    pub find_start_in_line: bool,
}

impl DecoderConfig {
    /// MCUboot's receiver on the Espressif port: a 513-byte line buffer
    /// (`in_buf`, dropped when full without a newline,
    /// `boot_serial.c:1676-1684`) and 513 bytes of decoded frame
    /// (`boot_serial_in_dec` with `maxout = sizeof(in_buf)`); delimiters
    /// count only at the start of a line.
    pub const MCUBOOT: DecoderConfig = DecoderConfig {
        max_line: MCUBOOT_MAX_RECEIVE + 1,
        max_frame: MCUBOOT_MAX_RECEIVE + 1,
        find_start_in_line: false,
    };

    /// A client: any frame the 16-bit length allows, lines up to 64 KiB,
    /// and log text before a start delimiter is skipped (smpclient,
    /// `smpclient/transport/serial/encoded.py`).
    pub const CLIENT: DecoderConfig = DecoderConfig {
        max_line: 0x1_0000,
        max_frame: 0x1_0000 + 2,
        find_start_in_line: true,
    };
}

/// What the decoder made of a completed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A complete SMP message (header and body, without length and CRC).
    Message(Vec<u8>),
    /// Bytes that were dropped and why (MCUboot drops them silently).
    Dropped(FrameError),
}

/// Streaming decoder of console framing: feed it any bytes, in any pieces;
/// it never panics and its memory is bounded by [`DecoderConfig`].
///
/// A start line (re)starts a frame, continuation lines append, other lines
/// are ignored. A frame is complete when its decoded length equals the
/// length prefix plus 2 and the CRC-16/XMODEM residue is 0
/// (`boot_serial_in_dec`).
#[derive(Debug, Clone)]
pub struct Decoder {
    config: DecoderConfig,
    line: Vec<u8>,
    frame: Option<Vec<u8>>,
}

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(config: DecoderConfig) -> Self {
        Decoder {
            config,
            line: Vec::new(),
            frame: None,
        }
    }

    /// True when a line or a frame is partly received.
    pub fn is_mid_frame(&self) -> bool {
        !self.line.is_empty() || self.frame.is_some()
    }

    /// Forgets partial input (a line hang-up).
    pub fn clear(&mut self) {
        self.line.clear();
        self.frame = None;
    }

    /// Feeds bytes; returns what completed lines produced, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Decoded> {
        let mut out = Vec::new();
        for &b in bytes {
            self.line.push(b);
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.on_line(&line, &mut out);
            } else if self.line.len() >= self.config.max_line {
                self.line.clear();
                out.push(Decoded::Dropped(FrameError::LineTooLong {
                    max: self.config.max_line,
                }));
            }
        }
        out
    }

    fn on_line(&mut self, line: &[u8], out: &mut Vec<Decoded>) {
        let start = if line.starts_with(&START) {
            Some(0)
        } else if line.starts_with(&CONTINUATION) {
            None
        } else if self.config.find_start_in_line {
            match line.windows(2).position(|w| w == START) {
                Some(at) => Some(at),
                None => return,
            }
        } else {
            return;
        };
        let (text, frame) = match start {
            Some(at) => (&line[at + 2..], self.frame.insert(Vec::new())),
            None => match self.frame.as_mut() {
                Some(frame) => (&line[2..], frame),
                None => {
                    out.push(Decoded::Dropped(FrameError::StrayContinuation));
                    return;
                }
            },
        };
        match decode_line(
            text,
            self.config.max_frame - frame.len().min(self.config.max_frame),
        ) {
            Ok(bytes) => frame.extend_from_slice(&bytes),
            Err(e) => {
                self.frame = None;
                out.push(Decoded::Dropped(e));
                return;
            }
        }
        if frame.len() <= 2 {
            return;
        }
        let expected = usize::from(u16::from_be_bytes([frame[0], frame[1]]));
        let got = frame.len() - 2;
        if got < expected {
            return;
        }
        let frame = self.frame.take().unwrap_or_default();
        if got > expected {
            out.push(Decoded::Dropped(FrameError::LengthMismatch {
                expected,
                got,
            }));
        } else if expected <= 2 {
            out.push(Decoded::Dropped(FrameError::TooShort { len: expected }));
        } else if CRC16.checksum(&frame[2..]) != 0 {
            out.push(Decoded::Dropped(FrameError::Crc));
        } else {
            out.push(Decoded::Message(frame[2..frame.len() - 2].to_vec()));
        }
    }
}

/// Decodes the base64 text of one line (newline included), at most `room`
/// bytes. mbedtls, which MCUboot uses, skips a final `\r\n`/`\n` and
/// trailing spaces; the text itself must be canonical padded base64.
fn decode_line(text: &[u8], room: usize) -> Result<Vec<u8>, FrameError> {
    let mut end = text.len();
    while end > 0 && matches!(text[end - 1], b'\n' | b'\r' | b' ') {
        end -= 1;
    }
    let text = &text[..end];
    let bytes = Base64::decode_vec(std::str::from_utf8(text).map_err(|_| FrameError::Base64)?)
        .map_err(|_| FrameError::Base64)?;
    if bytes.len() > room {
        return Err(FrameError::FrameTooLong { max: room });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(CRC16.checksum(b"123456789"), 0x31C3);
    }

    /// serial.md §9: smpclient's MCUmgr params request and the ESP reply.
    #[test]
    fn appendix_frames() {
        let msg = [0x08, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0xa0];
        let lines = encode(&msg, LineChars::MCUBOOT).unwrap_or_default();
        assert_eq!(lines, b"\x06\x09AAsIAAABAAAABqBzEw==\n");
        let mut d = Decoder::new(DecoderConfig::MCUBOOT);
        assert_eq!(d.push(&lines), vec![Decoded::Message(msg.to_vec())]);
    }

    #[test]
    fn multi_line_frames_split_on_quads() {
        let msg: Vec<u8> = (0..=255u8).collect();
        let lines = encode(&msg, LineChars::MCUBOOT).unwrap_or_default();
        let parts: Vec<&[u8]> = lines.split(|&b| b == b'\n').collect();
        assert!(parts.len() > 3);
        for part in &parts[..parts.len() - 1] {
            assert_eq!((part.len() - 2) % 4, 0);
            assert!(part.len() - 2 <= 124);
        }
        let mut d = Decoder::new(DecoderConfig::CLIENT);
        assert_eq!(d.push(&lines), vec![Decoded::Message(msg)]);
    }

    #[test]
    fn mcuboot_drops_long_lines_and_large_frames() {
        // A line of 513 bytes without a newline is dropped.
        let mut d = Decoder::new(DecoderConfig::MCUBOOT);
        let out = d.push(&[b'A'; 513]);
        assert_eq!(
            out,
            vec![Decoded::Dropped(FrameError::LineTooLong { max: 513 })]
        );
        // A 400-byte message in one 536-character line: too long a line.
        let msg = vec![0u8; 400];
        let chars = LineChars::new(600).unwrap_or(LineChars::MCUBOOT);
        let lines = encode(&msg, chars).unwrap_or_default();
        let out = d.push(&lines);
        assert!(
            out.iter().all(|o| !matches!(o, Decoded::Message(_))),
            "{out:?}"
        );
        // The same message in 124-character lines fits.
        let lines = encode(&msg, LineChars::MCUBOOT).unwrap_or_default();
        assert_eq!(d.push(&lines), vec![Decoded::Message(msg)]);
        // 509 bytes of message make a 513-byte frame: the largest accepted.
        let msg = vec![7u8; 509];
        let lines = encode(&msg, LineChars::MCUBOOT).unwrap_or_default();
        assert_eq!(d.push(&lines), vec![Decoded::Message(msg)]);
        let msg = vec![7u8; 510];
        let lines = encode(&msg, LineChars::MCUBOOT).unwrap_or_default();
        assert!(matches!(
            d.push(&lines).last(),
            Some(Decoded::Dropped(FrameError::FrameTooLong { .. }))
        ));
    }

    #[test]
    fn bad_crc_is_dropped_and_the_next_frame_decodes() {
        let msg = [0x08, 0, 0, 1, 0, 1, 1, 0, 0xa0];
        let mut lines = encode(&msg, LineChars::MCUBOOT).unwrap_or_default();
        lines[5] ^= 1;
        let mut d = Decoder::new(DecoderConfig::MCUBOOT);
        let out = d.push(&lines);
        assert!(matches!(out.as_slice(), [Decoded::Dropped(_)]), "{out:?}");
        let good = encode(&msg, LineChars::MCUBOOT).unwrap_or_default();
        assert_eq!(d.push(&good), vec![Decoded::Message(msg.to_vec())]);
    }

    #[test]
    fn client_skips_log_text_before_a_frame() {
        let msg = [0x09, 0, 0, 1, 0, 1, 1, 0, 0xa0];
        let mut input = b"I (12) boot: log line\nnoise".to_vec();
        input.extend(encode(&msg, LineChars::MCUBOOT).unwrap_or_default());
        let mut d = Decoder::new(DecoderConfig::CLIENT);
        assert_eq!(d.push(&input), vec![Decoded::Message(msg.to_vec())]);
        // MCUboot only honours delimiters at the start of a line.
        let mut d = Decoder::new(DecoderConfig::MCUBOOT);
        assert_eq!(d.push(&input), vec![]);
    }

    proptest! {
        #[test]
        fn decoder_never_panics(chunks in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..700), 0..8)) {
            for config in [DecoderConfig::MCUBOOT, DecoderConfig::CLIENT] {
                let mut d = Decoder::new(config);
                for c in &chunks {
                    let _ = d.push(c);
                    prop_assert!(d.line.len() < config.max_line);
                    prop_assert!(d.frame.as_ref().map_or(0, Vec::len) <= config.max_frame);
                }
            }
        }

        #[test]
        fn structured_garbage_never_panics(parts in proptest::collection::vec(
            (0u8..4, proptest::collection::vec(any::<u8>(), 0..200)), 0..12)) {
            // Lines built from delimiters, valid base64 of random bytes and
            // raw bytes exercise the paths past the delimiter check.
            let mut input = Vec::new();
            for (kind, bytes) in &parts {
                match kind {
                    0 => input.extend_from_slice(&START),
                    1 => input.extend_from_slice(&CONTINUATION),
                    _ => {}
                }
                if *kind == 3 {
                    input.extend_from_slice(bytes);
                } else {
                    input.extend_from_slice(Base64::encode_string(bytes).as_bytes());
                }
                input.push(b'\n');
            }
            let mut d = Decoder::new(DecoderConfig::MCUBOOT);
            let _ = d.push(&input);
        }

        #[test]
        fn round_trip_in_any_pieces(msg in proptest::collection::vec(any::<u8>(), 1..1500),
                                    chars in 1usize..130, cut in 1usize..64) {
            let chars = LineChars::new(chars * 4).unwrap_or(LineChars::MCUBOOT);
            let lines = encode(&msg, chars).unwrap_or_default();
            let mut d = Decoder::new(DecoderConfig::CLIENT);
            let mut got = Vec::new();
            for piece in lines.chunks(cut) {
                got.extend(d.push(piece));
            }
            prop_assert_eq!(got, vec![Decoded::Message(msg)]);
        }
    }
}
