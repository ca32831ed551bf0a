//! The host side of MCUboot serial recovery (SMP over the console framing)
//! on a serial port: a USB-UART bridge, USB-Serial-JTAG, or the PTY of
//! `espboot sim serve --boot recovery`.
//!
//! The protocol is `mcumgr-smp`'s (no I/O there); this crate adds the port:
//! requests are framed in lines of the configured width, replies are read
//! until a whole frame with the request's sequence number arrives, a silent
//! device is asked again up to [`Config::tries`] times, and uploads follow
//! the offset the device returns (MCUboot writes whole alignment units and
//! answers with where it wants the next chunk, serial.md §6.4).
//!
//! Device data is untrusted: replies are decoded by the bounded
//! [`mcumgr_smp::frame::Decoder`] and checked against the request; nothing
//! here panics on what a device sends.
//!
//! ```no_run
//! use smp_serial_client::{Client, Config};
//! let mut client = Client::open("/dev/ttyUSB0", Config::default())?;
//! for image in client.image_list()?.images {
//!     println!("slot {} version {}", image.slot, image.version);
//! }
//! let image = std::fs::read("app-signed.bin").map_err(|e| e.to_string())?;
//! client.upload(&image, 0, &mut |done, total| eprintln!("{done}/{total}"))?;
//! client.reset()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Sources: serial.md §6.2-§6.5; mcumgr's serial transport
//! (`nmxact/nmserial/serial_xport.go`, `serial_sesn.go` `MtuOut`) and
//! smpclient 7.3.0 (`smpclient/__init__.py` `request`, `upload`).
#![warn(missing_docs, unreachable_pub)]

use std::fmt;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use mcumgr_smp::client::{decode_reply, Reply, Request, RequestError};
use mcumgr_smp::frame::{Decoded, Decoder, DecoderConfig, LineChars};
use mcumgr_smp::header::{version, Header};
use mcumgr_smp::image::{ImageStateReadRequest, ImageStateResponse, ImageUploadRequest};
use mcumgr_smp::os::{EchoRequest, RcResponse, ResetRequest};
use mcumgr_smp::{CodecError, FrameError, MgmtErr};
use sha2::{Digest, Sha256};

/// mcumgr's serial default `mtu` when a connection string has none
/// (`nmserial.NewXportCfg`: 128); the ESP port's documentation uses 256.
pub const MCUMGR_DEFAULT_MTU: usize = 128;

/// The `mtu` of the Espressif port's documented connection string
/// (`dev=<PORT>,baud=115200,mtu=256`, serial.md §6.6).
pub const ESP_PORT_MTU: usize = 256;

/// `OMP_MSG_OVERHEAD` (`nmxact/omp/omp.go`): what mcumgr keeps free of
/// `mtu * 3 / 4` for a message (`serial_sesn.go` `MtuOut`).
const MCUMGR_MSG_OVERHEAD: usize = 13;

/// mcumgr's largest upload chunk (`IMAGE_UPLOAD_MAX_CHUNK`,
/// `nmxact/xact/image.go`); also MCUboot's receive buffer.
const MAX_CHUNK: usize = 512;

/// Upload chunks are cut to this many bytes (except the last) so that
/// MCUboot, which writes whole `flash_area_align` units (4 on the ESP
/// port, serial.md §6.4), takes each chunk whole and nothing is sent
/// twice.
const CHUNK_ALIGN: usize = 4;

/// An upload that keeps being sent back to the same offset this many
/// times is abandoned.
const MAX_STALLS: u32 = 8;

/// How requests are framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    line_chars: LineChars,
    max_message: usize,
}

impl Framing {
    /// As mcumgr frames for a connection string's `mtu`: lines of
    /// `mtu - 4` base64 characters (rounded down to whole groups of 4, so
    /// each line decodes on its own) and messages of at most
    /// `mtu * 3 / 4 - 13` bytes (`serial_xport.go` `Tx`, `serial_sesn.go`
    /// `MtuOut`).
    ///
    /// # Errors
    /// [`Error::Framing`] when `mtu` is too small to carry a message.
    pub fn mcumgr(mtu: usize) -> Result<Framing, Error> {
        let line_chars = LineChars::new(mtu.saturating_sub(4) / 4 * 4).map_err(Error::Framing)?;
        let max_message = (mtu * 3 / 4).saturating_sub(MCUMGR_MSG_OVERHEAD);
        Self::checked(line_chars, max_message, mtu)
    }

    /// As smpclient frames for `line_length` and `line_buffers`: lines of
    /// `((line_length - 4) // 4) * 4` characters, and messages as large as
    /// fit `line_length * line_buffers` encoded bytes (delimiters and
    /// newlines included) in at most `line_buffers` lines.
    ///
    /// # Errors
    /// [`Error::Framing`] when the lines cannot carry a message.
    pub fn lines(line_length: usize, line_buffers: usize) -> Result<Framing, Error> {
        let line_chars = LineChars::for_line_length(line_length).map_err(Error::Framing)?;
        let budget = line_length.saturating_mul(line_buffers.max(1));
        // base64 characters that fit: whole lines of `line_chars` plus 3
        // bytes of delimiter and newline per line
        let lines = (budget / (line_chars.get() + 3)).min(line_buffers.max(1));
        let rest = budget - lines * (line_chars.get() + 3);
        let partial = rest.saturating_sub(3) / 4 * 4;
        let chars = lines * line_chars.get() + if lines < line_buffers { partial } else { 0 };
        // the frame adds a 2-byte length and a 2-byte CRC to the message
        let max_message = (chars / 4 * 3).saturating_sub(4);
        Self::checked(line_chars, max_message, budget)
    }

    fn checked(line_chars: LineChars, max_message: usize, mtu: usize) -> Result<Framing, Error> {
        // a header, a small map and some data must fit
        if max_message < 64 {
            return Err(Error::MtuTooSmall { mtu });
        }
        Ok(Framing {
            line_chars,
            max_message,
        })
    }

    /// Base64 characters per line.
    pub fn line_chars(&self) -> LineChars {
        self.line_chars
    }

    /// The largest SMP message (header and body) sent in one frame.
    pub fn max_message(&self) -> usize {
        self.max_message
    }
}

/// Connection settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Baud rate (irrelevant on a PTY).
    pub baud: u32,
    /// Line width and message size.
    pub framing: Framing,
    /// How long to wait for each reply.
    pub timeout: Duration,
    /// How long to wait for the first upload reply (MCUboot erases the
    /// whole slot first; smpclient allows 40 s).
    pub first_upload_timeout: Duration,
    /// Attempts per request before giving up (mcumgr's `--tries`).
    pub tries: u32,
    /// SMP header version bits ([`version::V1`] as mcumgr sends,
    /// [`version::V2`] as smpclient sends; MCUboot echoes either).
    pub version: u8,
}

impl Default for Config {
    /// 115200 baud, mcumgr framing with `mtu=256` (the ESP port's
    /// documented connection string), 3 s per reply, 40 s for the first
    /// upload chunk, 3 tries, SMP version 1 header bits.
    fn default() -> Self {
        Config {
            baud: 115_200,
            framing: Framing::mcumgr(ESP_PORT_MTU).unwrap_or(Framing {
                line_chars: LineChars::MCUBOOT,
                max_message: ESP_PORT_MTU * 3 / 4 - MCUMGR_MSG_OVERHEAD,
            }),
            timeout: Duration::from_secs(3),
            first_upload_timeout: Duration::from_secs(40),
            tries: 3,
            version: version::V1,
        }
    }
}

impl Config {
    /// The default with mcumgr framing for `mtu`.
    ///
    /// # Errors
    /// See [`Framing::mcumgr`].
    pub fn with_mtu(mtu: usize) -> Result<Config, Error> {
        Ok(Config {
            framing: Framing::mcumgr(mtu)?,
            ..Config::default()
        })
    }
}

/// What the client was doing, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Image list (state read).
    ImageList,
    /// Image upload.
    Upload,
    /// Reset.
    Reset,
    /// Echo.
    Echo,
    /// Image state write (test or confirm).
    ImageStateWrite,
    /// Another request.
    Request,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::ImageList => "image list",
            Operation::Upload => "image upload",
            Operation::Reset => "reset",
            Operation::Echo => "echo",
            Operation::ImageStateWrite => "image state write",
            Operation::Request => "request",
        })
    }
}

/// What went wrong; every variant names the port.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The port could not be opened.
    #[error("could not open port {port}: {source}")]
    Open {
        /// The port.
        port: String,
        /// Why.
        source: serialport::Error,
    },
    /// Reading or writing the port failed.
    #[error("{port}: {operation}: {source}")]
    Io {
        /// The port.
        port: String,
        /// The operation.
        operation: Operation,
        /// Why.
        source: std::io::Error,
    },
    /// No reply after every try.
    #[error("{port}: {operation}: no reply from the device ({tries} tries, {} s each){}", timeout.as_secs_f64(), at.map(|(off, len)| format!(" after {off} of {len} bytes")).unwrap_or_default())]
    Timeout {
        /// The port.
        port: String,
        /// The operation.
        operation: Operation,
        /// Tries made.
        tries: u32,
        /// Timeout of each.
        timeout: Duration,
        /// Upload progress when it stopped: (bytes acknowledged, total).
        at: Option<(u32, u32)>,
    },
    /// The device does not have the command (`MGMT_ERR_ENOTSUP`).
    #[error("{port}: {operation}: the device does not support it (ENOTSUP, rc 8); the Espressif port's MCUboot has no echo or image state set in serial recovery, only image list, upload and reset")]
    NotSupported {
        /// The port.
        port: String,
        /// The operation.
        operation: Operation,
    },
    /// The device answered with another error code.
    #[error("{port}: {operation}: the device answered {}", describe_rc(*rc))]
    Device {
        /// The port.
        port: String,
        /// The operation.
        operation: Operation,
        /// The `rc` it sent.
        rc: i64,
    },
    /// A reply that does not answer the request.
    #[error("{port}: {operation}: malformed reply: {source}")]
    Malformed {
        /// The port.
        port: String,
        /// The operation.
        operation: Operation,
        /// What is wrong.
        source: CodecError,
    },
    /// An upload reply without a usable offset.
    #[error("{port}: image upload: {what}")]
    Upload {
        /// The port.
        port: String,
        /// What the device did.
        what: UploadFault,
    },
    /// A line width that cannot carry base64.
    #[error("cannot frame requests: {0}")]
    Framing(FrameError),
    /// A request that cannot be encoded or framed.
    #[error("cannot encode the request: {0}")]
    Encode(RequestError),
    /// The MTU leaves no room for a message.
    #[error("mtu {mtu} is too small to carry an SMP message")]
    MtuTooSmall {
        /// The MTU.
        mtu: usize,
    },
    /// An image larger than SMP's 32-bit offsets.
    #[error("image of {len} bytes is larger than an upload can carry")]
    ImageTooLarge {
        /// The length.
        len: usize,
    },
}

/// How an upload went wrong on the device's side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadFault {
    /// A reply without `off` (smpclient: "No offset received").
    #[error("the device's reply has no offset")]
    NoOffset,
    /// An offset beyond the image.
    #[error("the device asked for offset {off} of a {len}-byte image")]
    OffsetBeyond {
        /// The offset.
        off: u32,
        /// The image length.
        len: u32,
    },
    /// The device keeps asking for the same offset.
    #[error("the device keeps asking for offset {off} without taking data")]
    NoProgress {
        /// The offset.
        off: u32,
    },
}

fn describe_rc(rc: i64) -> String {
    match MgmtErr::from_code(rc) {
        Some(e) => format!("{} (rc {rc})", e.name()),
        None => format!("rc {rc}"),
    }
}

/// A connection to a device in serial recovery.
pub struct Client {
    port_name: String,
    port: Box<dyn serialport::SerialPort>,
    decoder: Decoder,
    config: Config,
    seq: u8,
    last_reply: Vec<u8>,
}

impl Client {
    /// Opens `port` (8N1, no DTR/RTS changes beyond what opening does).
    ///
    /// # Errors
    /// [`Error::Open`].
    pub fn open(port: &str, config: Config) -> Result<Client, Error> {
        let handle = serialport::new(port, config.baud)
            .timeout(Duration::from_millis(20))
            .open()
            .map_err(|source| Error::Open {
                port: port.to_owned(),
                source,
            })?;
        let client = Client {
            port_name: port.to_owned(),
            port: handle,
            decoder: Decoder::new(DecoderConfig::CLIENT),
            config,
            seq: 0,
            last_reply: Vec::new(),
        };
        // what the device printed before (boot log) is not a reply
        let _ = client.port.clear(serialport::ClearBuffer::All);
        Ok(client)
    }

    /// The port's name as given to [`Client::open`].
    pub fn port_name(&self) -> &str {
        &self.port_name
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The last reply message received (header and body), as the device
    /// sent it.
    pub fn last_reply(&self) -> &[u8] {
        &self.last_reply
    }

    /// Sends `request` and returns the device's reply in any of its three
    /// forms; on silence the request is sent again (with a new sequence
    /// number, so a late reply to the earlier one is not taken for it) up
    /// to [`Config::tries`] times.
    ///
    /// # Errors
    /// [`Error::Timeout`], [`Error::Io`], [`Error::Malformed`],
    /// [`Error::Framing`].
    pub fn request<R: Request>(
        &mut self,
        request: &R,
        operation: Operation,
        timeout: Duration,
    ) -> Result<Reply<R::Response>, Error> {
        self.request_at(request, operation, timeout, None)
    }

    fn request_at<R: Request>(
        &mut self,
        request: &R,
        operation: Operation,
        timeout: Duration,
        at: Option<(u32, u32)>,
    ) -> Result<Reply<R::Response>, Error> {
        let tries = self.config.tries.max(1);
        for _ in 0..tries {
            let seq = self.next_seq();
            let lines = request
                .frame(seq, self.config.version, self.config.framing.line_chars)
                .map_err(Error::Encode)?;
            self.decoder.clear();
            self.port
                .write_all(&lines)
                .and_then(|()| self.port.flush())
                .map_err(|source| self.io(operation, source))?;
            if let Some(message) = self.read_reply(seq, operation, timeout)? {
                let reply = decode_reply::<R>(seq, &message).map_err(|source| Error::Malformed {
                    port: self.port_name.clone(),
                    operation,
                    source,
                });
                self.last_reply = message;
                return reply;
            }
        }
        Err(Error::Timeout {
            port: self.port_name.clone(),
            operation,
            tries,
            timeout,
            at,
        })
    }

    fn next_seq(&mut self) -> u8 {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        seq
    }

    fn io(&self, operation: Operation, source: std::io::Error) -> Error {
        Error::Io {
            port: self.port_name.clone(),
            operation,
            source,
        }
    }

    /// Reads until a whole message with sequence `seq` arrives (others are
    /// stale replies to earlier tries and are skipped), or `timeout`.
    fn read_reply(
        &mut self,
        seq: u8,
        operation: Operation,
        timeout: Duration,
    ) -> Result<Option<Vec<u8>>, Error> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 1024];
        while Instant::now() < deadline {
            let n = match self.port.read(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    0
                }
                Err(e) => return Err(self.io(operation, e)),
            };
            let Some(bytes) = buf.get(..n) else {
                continue;
            };
            for decoded in self.decoder.push(bytes) {
                if let Decoded::Message(message) = decoded {
                    if Header::decode(&message).is_ok_and(|h| h.seq == seq) {
                        return Ok(Some(message));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The `rc` of an error reply as an [`Error`].
    fn rc_error(&self, operation: Operation, rc: i64) -> Error {
        if rc == i64::from(MgmtErr::NotSup.code()) {
            Error::NotSupported {
                port: self.port_name.clone(),
                operation,
            }
        } else {
            Error::Device {
                port: self.port_name.clone(),
                operation,
                rc,
            }
        }
    }

    fn expect_ok<T>(&self, operation: Operation, reply: Reply<T>) -> Result<T, Error> {
        match reply {
            Reply::Ok(t) => Ok(t),
            Reply::Rc(rc) => Err(self.rc_error(operation, rc.rc)),
            Reply::GroupError(e) => Err(self.rc_error(operation, e.rc)),
        }
    }

    /// The images the device lists (image state read).
    ///
    /// # Errors
    /// As [`Client::request`]; an error reply as [`Error::Device`] /
    /// [`Error::NotSupported`].
    pub fn image_list(&mut self) -> Result<ImageStateResponse, Error> {
        let timeout = self.config.timeout;
        let reply = self.request(&ImageStateReadRequest, Operation::ImageList, timeout)?;
        self.expect_ok(Operation::ImageList, reply)
    }

    /// Uploads `image` to image number `image_number`'s slot, following
    /// the offsets the device returns; `progress(acknowledged, total)` is
    /// called after every reply.
    ///
    /// # Errors
    /// As [`Client::request`] (a silent device names the bytes
    /// acknowledged); [`Error::Upload`] when the device's offsets make no
    /// sense or stop advancing; an error reply as [`Error::Device`].
    pub fn upload(
        &mut self,
        image: &[u8],
        image_number: u32,
        progress: &mut dyn FnMut(u32, u32),
    ) -> Result<(), Error> {
        let len =
            u32::try_from(image.len()).map_err(|_| Error::ImageTooLarge { len: image.len() })?;
        let sha = Sha256::digest(image).to_vec();
        let mut off: u32 = 0;
        let mut stalls = 0;
        progress(0, len);
        loop {
            let first = off == 0;
            let mut request = ImageUploadRequest {
                off,
                data: Vec::new(),
                image: first.then_some(image_number),
                len: first.then_some(len),
                sha: first.then(|| sha.clone()),
                upgrade: None,
            };
            let rest = image.get(off as usize..).unwrap_or_default();
            request.data = rest
                .get(..self.chunk_len(&request, rest.len()))
                .unwrap_or_default()
                .to_vec();
            let timeout = if first {
                self.config.first_upload_timeout
            } else {
                self.config.timeout
            };
            let reply = self.request_at(&request, Operation::Upload, timeout, Some((off, len)))?;
            let reply = self.expect_ok(Operation::Upload, reply)?;
            if let Some(rc) = reply.rc.filter(|rc| *rc != 0) {
                return Err(self.rc_error(Operation::Upload, rc));
            }
            let next = reply
                .off
                .ok_or_else(|| self.upload_fault(UploadFault::NoOffset))?;
            if next > len {
                return Err(self.upload_fault(UploadFault::OffsetBeyond { off: next, len }));
            }
            if next <= off {
                stalls += 1;
                if stalls >= MAX_STALLS {
                    return Err(self.upload_fault(UploadFault::NoProgress { off: next }));
                }
            } else {
                stalls = 0;
            }
            progress(next, len);
            if next == len {
                return Ok(());
            }
            off = next;
        }
    }

    fn upload_fault(&self, what: UploadFault) -> Error {
        Error::Upload {
            port: self.port_name.clone(),
            what,
        }
    }

    /// The longest data chunk (of `remaining` bytes) that keeps `request`
    /// within [`Framing::max_message`]: whole [`CHUNK_ALIGN`] units unless it
    /// is the image's last chunk.
    fn chunk_len(&self, request: &ImageUploadRequest, remaining: usize) -> usize {
        let max = self.config.framing.max_message;
        let overhead = mcumgr_smp::header::HEADER_LEN + request.encode().len();
        // a byte string's CBOR head grows from 1 to 3 bytes with its length
        let room = max.saturating_sub(overhead + 2);
        let mut n = remaining.min(room).min(MAX_CHUNK);
        if n < remaining {
            n = n / CHUNK_ALIGN * CHUNK_ALIGN;
        }
        n.max(remaining.min(1))
    }

    /// Resets the device (MCUboot answers `{"rc": 0}` and resets 250 ms
    /// later).
    ///
    /// # Errors
    /// As [`Client::request`]; a non-zero `rc` as [`Error::Device`].
    pub fn reset(&mut self) -> Result<(), Error> {
        let timeout = self.config.timeout;
        let reply = self.request(&ResetRequest::default(), Operation::Reset, timeout)?;
        let rc: RcResponse = self.expect_ok(Operation::Reset, reply)?;
        if rc.rc != 0 {
            return Err(self.rc_error(Operation::Reset, rc.rc));
        }
        Ok(())
    }

    /// Echo: the text the device sends back.
    ///
    /// # Errors
    /// As [`Client::request`]; [`Error::NotSupported`] on the Espressif
    /// port's build.
    pub fn echo(&mut self, text: &str) -> Result<String, Error> {
        let timeout = self.config.timeout;
        let reply = self.request(
            &EchoRequest { d: text.to_owned() },
            Operation::Echo,
            timeout,
        )?;
        Ok(self.expect_ok(Operation::Echo, reply)?.r)
    }
}

#[cfg(test)]
mod tests;
