//! SMP, the Simple Management Protocol of mcumgr, as MCUboot's serial
//! recovery and its clients speak it over a serial console. No I/O: bytes
//! in, bytes out.
//!
//! - [`header`]: the 8-byte SMP header ([`header::Header`], [`header::Op`],
//!   group and command ids).
//! - [`frame`]: console framing (`06 09` / `04 14` lines of base64 with a
//!   length prefix and CRC-16/XMODEM); [`frame::encode`] and the streaming
//!   [`frame::Decoder`], which never panics and keeps its memory bounded.
//! - [`image`] and [`os`]: typed CBOR bodies of the image and OS groups,
//!   both directions: requests encode as smpclient encodes them and decode
//!   with MCUboot's (zcbor's) rules; replies encode as MCUboot's Espressif
//!   build encodes them and decode leniently.
//! - [`client`]: the [`client::Request`] trait (body, message, frame) and
//!   [`client::decode_reply`] in smpclient's order.
//! - [`recovery`]: MCUboot's `boot_serial.c` as a state machine over a
//!   [`recovery::RecoveryDevice`] — image list, upload with alignment and
//!   progressive or whole-slot erase, reset, and the optional commands
//!   behind [`recovery::Features`].
//!
//! ```
//! use mcumgr_smp::client::{decode_reply, Reply, Request};
//! use mcumgr_smp::frame::{Decoded, Decoder, DecoderConfig, LineChars};
//! use mcumgr_smp::header::version;
//! use mcumgr_smp::image::ImageStateReadRequest;
//! use mcumgr_smp::recovery::{
//!     ImageLayout, Recovery, RecoveryConfig, RecoveryDevice, SetPendingError, Slot, SlotImage,
//!     SwapType,
//! };
//!
//! /// A device without images.
//! struct Empty;
//! impl RecoveryDevice for Empty {
//!     type Error = std::io::Error;
//!     fn image_count(&self) -> usize { 1 }
//!     fn layout(&self, _: usize) -> Option<ImageLayout> {
//!         Some(ImageLayout { primary_size: 0x10000, secondary_size: 0x10000, sector_size: 0x1000,
//!                            align: 4, status_offset: 0xe000, max_image_size: None })
//!     }
//!     fn erase(&mut self, _: usize, _: u32, _: u32) -> Result<(), Self::Error> { Ok(()) }
//!     fn write(&mut self, _: usize, _: u32, _: &[u8]) -> Result<(), Self::Error> { Ok(()) }
//!     fn validated_image(&mut self, _: usize, _: Slot) -> Result<Option<SlotImage>, Self::Error> {
//!         Ok(None)
//!     }
//!     fn swap_type(&mut self, _: usize) -> Result<SwapType, Self::Error> { Ok(SwapType::None) }
//!     fn set_pending(&mut self, _: usize, _: bool) -> Result<(), SetPendingError<Self::Error>> {
//!         Ok(())
//!     }
//! }
//!
//! // The client frames a request...
//! let request = ImageStateReadRequest.frame(42, version::V2, LineChars::MCUBOOT)?;
//! // ...the server (MCUboot's serial recovery) answers it...
//! let mut recovery = Recovery::new(RecoveryConfig::default());
//! let output = recovery.on_bytes(&request, &mut Empty);
//! // ...and the client decodes the reply lines.
//! let mut decoder = Decoder::new(DecoderConfig::CLIENT);
//! let reply = match decoder.push(&output.bytes).as_slice() {
//!     [Decoded::Message(reply)] => reply.clone(),
//!     other => panic!("one reply expected, got {other:?}"),
//! };
//! match decode_reply::<ImageStateReadRequest>(42, &reply)? {
//!     Reply::Ok(list) => assert!(list.images.is_empty()),
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs, unreachable_pub)]

mod cbor;
pub mod client;
pub mod error;
pub mod frame;
pub mod header;
pub mod image;
pub mod os;
pub mod recovery;

pub use error::{CodecError, FrameError, MgmtErr};
