//! MCUboot's serial recovery (`boot/boot_serial/src/boot_serial.c` as the
//! Espressif port builds it) as a state machine: bytes from the recovery
//! UART in, bytes to send back out, over a [`RecoveryDevice`].
//!
//! | group/id | op | command | [`Features::ESP_PORT`] | with the feature |
//! |---|---|---|---|---|
//! | 1/0 | read | image list: validated slots with version (`bs_list`) | yes | `image_state`: state flags; `image_hash`: hash |
//! | 1/0 | write | image state set (`bs_set`) | `{"rc":8}` | `image_state` |
//! | 1/1 | any | upload to the primary slot (`bs_upload`) | yes | |
//! | 1/6 | read | slot info (`bs_slot_info`) | `{"rc":8}` | `slot_info` |
//! | 0/0 | any | echo (`bs_echo`) | `{"rc":8}` | `echo` |
//! | 0/1 | any | console echo control | `{"rc":0}` | |
//! | 0/5 | any | reset: `{"rc":0}`, then a reset 250 ms later | yes | |
//! | 0/6 | any | MCUmgr params (`bs_mcumgr_params`) | `{"rc":8}` | `mcumgr_params` |
//! | other | | | `{"rc":8}` | |
//!
//! Requests shorter than the header, with an op other than read or write,
//! or whose header length is smaller than the body are dropped without a
//! reply (`boot_serial_input`). Replies copy the request header with
//! `op + 1`, flags 0 and the reply length, so the version bits are echoed
//! (Go mcumgr requires that). Reply bodies are encoded as zcbor encodes
//! them on the port (indefinite-length maps), lines of 124 base64
//! characters.
//!
//! One deliberate difference: `bs_slot_info` answers a write with
//! `{"rc":8}` and then, lacking a `return`, a second malformed reply; here
//! only the first is sent.
//!
//! # Serving it
//!
//! A server that enters recovery (the bootloader has serial recovery and
//! the detect GPIO is held at power-on) creates one [`Recovery`] for that
//! boot with the bootloader's [`RecoveryConfig`], then for every read from
//! the recovery UART:
//!
//! 1. calls [`Recovery::on_bytes`] with the bytes and its
//!    [`RecoveryDevice`];
//! 2. writes [`Output::bytes`] back;
//! 3. saves the device when [`Output::flash_changed`];
//! 4. when [`Output::reset_after`] is set, waits that long, resets the
//!    device (a power-on in its boot mode) and, if that boot enters
//!    recovery again, starts a new [`Recovery`].
//!
//! A client closing the port is not a reset: MCUboot keeps its upload
//! state, so the same [`Recovery`] serves the next client.
//! [`Recovery::take_events`] tells what happened, for a log.

mod device;
mod list;
mod upload;

use std::time::Duration;

pub use device::{
    ImageLayout, ImageVersion, RecoveryDevice, SetPendingError, Slot, SlotImage, SwapType,
    IMAGE_F_NON_BOOTABLE,
};

use crate::error::{FrameError, MgmtErr};
use crate::frame::{self, Decoded, Decoder, DecoderConfig, LineChars};
use crate::header::{group, image_id, os_id, Header, Op, HEADER_LEN};
use crate::os::{EchoRequest, EchoResponse, McumgrParamsResponse, RcResponse};

/// Delay between the reset reply and the reset (`bs_reset`:
/// `esp_rom_delay_us(250000)`).
pub const RESET_DELAY: Duration = Duration::from_millis(250);

/// The optional commands of `boot_serial.c`, each behind an MCUboot
/// configuration macro that the Espressif port does not define
/// (`boot/espressif/hal/include/mcuboot_config/mcuboot_config.h:194-212`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct Features {
    /// `MCUBOOT_BOOT_MGMT_ECHO`.
    pub echo: bool,
    /// `MCUBOOT_BOOT_MGMT_MCUMGR_PARAMS`.
    pub mcumgr_params: bool,
    /// `MCUBOOT_SERIAL_IMG_GRP_IMAGE_STATE`: state flags and state set.
    pub image_state: bool,
    /// `MCUBOOT_SERIAL_IMG_GRP_HASH`: hashes in the list, state set by hash.
    pub image_hash: bool,
    /// `MCUBOOT_SERIAL_IMG_GRP_SLOT_INFO`.
    pub slot_info: bool,
}

impl Features {
    /// What MCUboot's Espressif port builds: none of them.
    pub const ESP_PORT: Features = Features {
        echo: false,
        mcumgr_params: false,
        image_state: false,
        image_hash: false,
        slot_info: false,
    };

    /// The "full" profile: every optional command, with upstream semantics
    /// (serial.md §6.3).
    pub const FULL: Features = Features {
        echo: true,
        mcumgr_params: true,
        image_state: true,
        image_hash: true,
        slot_info: true,
    };
}

/// How uploads erase the primary slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EraseMode {
    /// The whole slot when the first chunk arrives.
    WholeSlot,
    /// Sector by sector ahead of the writes, and the trailer's sector at
    /// the end (`MCUBOOT_ERASE_PROGRESSIVELY`, set by
    /// `CONFIG_ESP_MCUBOOT_ERASE_PROGRESSIVELY`).
    Progressive,
}

/// Build options of the recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// Optional commands.
    pub features: Features,
    /// Upload erase mode.
    pub erase: EraseMode,
}

impl Default for RecoveryConfig {
    /// The Espressif port's build with whole-slot erase.
    fn default() -> Self {
        RecoveryConfig {
            features: Features::ESP_PORT,
            erase: EraseMode::WholeSlot,
        }
    }
}

/// A device operation, for [`Event::DeviceFailed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceOp {
    /// Erase.
    Erase,
    /// Write.
    Write,
    /// Image validation.
    Validate,
    /// Trailer read.
    SwapType,
    /// Trailer write.
    SetPending,
}

/// What happened, for a server's log.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// Input dropped by the framing, or a request dropped for its header.
    Dropped(Dropped),
    /// A request was answered.
    Request {
        /// Its header.
        header: Header,
        /// The reply's `rc`, when the reply carries one.
        rc: Option<i64>,
    },
    /// An upload chunk was processed.
    Upload {
        /// Image number.
        image: u32,
        /// Offset in the request.
        off: u32,
        /// Bytes of data in the request.
        len: usize,
        /// The offset now expected.
        next: u32,
        /// The reply's code.
        rc: i64,
    },
    /// Part of a primary slot was erased.
    Erased {
        /// Image number.
        image: u32,
        /// Offset in the slot.
        offset: u32,
        /// Length.
        len: u32,
    },
    /// A device call failed.
    DeviceFailed {
        /// Which.
        op: DeviceOp,
        /// The device's error.
        error: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A reset was accepted; the device resets after [`RESET_DELAY`].
    Reset,
}

/// Why input produced no request (its text is a server log's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Dropped {
    /// The console framing dropped it.
    #[error("{0}")]
    Frame(FrameError),
    /// A decoded message shorter than its header.
    #[error("a message of {len} bytes, shorter than an SMP header")]
    Short {
        /// Its length.
        len: usize,
    },
    /// An op other than read (0) or write (2).
    #[error("op {op}, neither read (0) nor write (2)")]
    Op {
        /// The op bits.
        op: u8,
    },
    /// The header's length is smaller than the body.
    #[error("a header length of {header} bytes for a body of {body}")]
    Length {
        /// Header length field.
        header: u16,
        /// Body length.
        body: usize,
    },
    /// Input after an accepted reset.
    #[error("input after an accepted reset")]
    AfterReset,
}

/// What [`Recovery::on_bytes`] produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Bytes to write to the recovery UART, in order.
    pub bytes: Vec<u8>,
    /// Set once a reset was accepted: write `bytes`, wait this long, then
    /// reset the device (power it on again in the boot mode it has).
    pub reset_after: Option<Duration>,
    /// The device's flash was erased or written (save it).
    pub flash_changed: bool,
}

/// MCUboot's serial recovery for one boot: create it when the device enters
/// recovery, feed it every byte read from the recovery UART, write back what
/// it returns. Upload progress is per boot, like `bs_upload`'s statics.
#[derive(Debug)]
pub struct Recovery {
    config: RecoveryConfig,
    decoder: Decoder,
    upload: upload::UploadState,
    reset: bool,
    /// Flash erased or written since the last [`Output`].
    changed: bool,
    events: Vec<Event>,
}

impl Recovery {
    /// Recovery with `config`, as entered at boot.
    pub fn new(config: RecoveryConfig) -> Self {
        Recovery {
            config,
            decoder: Decoder::new(DecoderConfig::MCUBOOT),
            upload: upload::UploadState::default(),
            reset: false,
            changed: false,
            events: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> RecoveryConfig {
        self.config
    }

    /// True once a reset was accepted; later input is ignored.
    pub fn reset_requested(&self) -> bool {
        self.reset
    }

    /// Drains what happened since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Feeds bytes read from the UART; returns the reply lines to write.
    /// Never panics on any input.
    pub fn on_bytes<D: RecoveryDevice>(&mut self, input: &[u8], device: &mut D) -> Output {
        let mut out = Output::default();
        if self.reset {
            if !input.is_empty() {
                self.events.push(Event::Dropped(Dropped::AfterReset));
            }
            return out;
        }
        for decoded in self.decoder.push(input) {
            if self.reset {
                self.events.push(Event::Dropped(Dropped::AfterReset));
                break;
            }
            match decoded {
                Decoded::Dropped(e) => self.events.push(Event::Dropped(Dropped::Frame(e))),
                Decoded::Message(message) => {
                    if let Some(reply) = self.on_message(&message, device) {
                        // Replies are at most a few hundred bytes.
                        if let Ok(lines) = frame::encode(&reply, LineChars::MCUBOOT) {
                            out.bytes.extend_from_slice(&lines);
                        }
                    }
                }
            }
        }
        if self.reset {
            out.reset_after = Some(RESET_DELAY);
        }
        out.flash_changed = std::mem::take(&mut self.changed);
        out
    }

    /// Handles one decoded SMP message (header and body, as
    /// `boot_serial_input` receives it) and returns the reply message, if
    /// any. For transports without console framing, and tests.
    pub fn on_message<D: RecoveryDevice>(
        &mut self,
        message: &[u8],
        device: &mut D,
    ) -> Option<Vec<u8>> {
        if message.len() < HEADER_LEN {
            self.events
                .push(Event::Dropped(Dropped::Short { len: message.len() }));
            return None;
        }
        let header = Header::decode(message).ok()?;
        let body = &message[HEADER_LEN..];
        if !matches!(header.kind(), Some(Op::Read | Op::Write)) {
            self.events
                .push(Event::Dropped(Dropped::Op { op: header.op }));
            return None;
        }
        if usize::from(header.len) < body.len() {
            self.events.push(Event::Dropped(Dropped::Length {
                header: header.len,
                body: body.len(),
            }));
            return None;
        }
        let f = self.config.features;
        let not_supported = || RcResponse::new(i64::from(MgmtErr::NotSup.code())).encode_zcbor();
        let reply = match (header.group, header.id) {
            (group::IMAGE, image_id::STATE) => {
                if header.kind() == Some(Op::Read) {
                    list::list(self, device)
                } else if f.image_state {
                    list::set(self, body, device)
                } else {
                    not_supported()
                }
            }
            (group::IMAGE, image_id::UPLOAD) => upload::upload(self, body, device),
            (group::IMAGE, image_id::SLOT_INFO) if f.slot_info => {
                if header.kind() == Some(Op::Read) {
                    list::slot_info(device)
                } else {
                    not_supported()
                }
            }
            (group::OS, os_id::ECHO) if f.echo => match EchoRequest::decode(body) {
                Ok(req) => {
                    let reply = EchoResponse { r: req.d }.encode_zcbor();
                    if reply.len() <= out_max(f, device.image_count()) {
                        reply
                    } else {
                        // zcbor runs out of bs_obuf: bs_echo answers ENOMEM.
                        RcResponse::new(i64::from(MgmtErr::NoMem.code())).encode_zcbor()
                    }
                }
                Err(_) => RcResponse::new(i64::from(MgmtErr::Inval.code())).encode_zcbor(),
            },
            (group::OS, os_id::CONS_ECHO_CTRL) => RcResponse::new(0).encode_zcbor(),
            (group::OS, os_id::RESET) => {
                // No reset hook on the port: always accepted.
                self.reset = true;
                self.events.push(Event::Reset);
                RcResponse::new(0).encode_zcbor()
            }
            (group::OS, os_id::MCUMGR_PARAMS) if f.mcumgr_params => McumgrParamsResponse {
                buf_size: frame::MCUBOOT_MAX_RECEIVE as u32,
                buf_count: 1,
            }
            .encode_zcbor(),
            _ => not_supported(),
        };
        let rc = reply_rc(&reply);
        self.events.push(Event::Request { header, rc });
        let len = u16::try_from(reply.len()).ok()?;
        let mut out = header.response(len).encode().to_vec();
        out.extend_from_slice(&reply);
        Some(out)
    }

    fn device_failed<E: std::error::Error + Send + Sync + 'static>(&mut self, op: DeviceOp, e: E) {
        self.events.push(Event::DeviceFailed {
            op,
            error: Box::new(e),
        });
    }
}

/// `BOOT_SERIAL_OUT_MAX`, the size of the reply buffer `bs_obuf`
/// (`boot_serial.c:105-127`): 128 bytes per image, plus 48 with image
/// state and 36 with hashes, or 164 with slot info if that is larger.
fn out_max(f: Features, images: usize) -> usize {
    let message = 128 + if f.image_state { 48 } else { 0 } + if f.image_hash { 36 } else { 0 };
    let message = if f.slot_info {
        message.max(164)
    } else {
        message
    };
    message * images.max(1)
}

/// The `rc` of a reply body, for the log.
fn reply_rc(body: &[u8]) -> Option<i64> {
    let mut rc = None;
    crate::cbor::decode_map(body, |key, d| match key {
        "rc" => Ok({
            rc = crate::cbor::i64_value(d, "rc").ok();
            true
        }),
        _ => Ok(false),
    })
    .ok()?;
    rc
}

#[cfg(test)]
mod tests;
