//! The serial protocol of the Espressif ROM download mode and of esptool's
//! flasher stub, transport-agnostic (`no_std` + `alloc`): bytes in, bytes
//! out, for a virtual device (`espboot sim serve`) and for a client alike.
//!
//! - [`slip`]: SLIP framing ([`slip::encode`], the streaming
//!   [`slip::Decoder`] with a frame-size bound, which never panics on
//!   garbage).
//! - [`command`]: requests: the [`command::Opcode`]s, the raw
//!   [`command::Request`] packet (`00 op len16 chk32 data`), the XOR
//!   [`command::checksum`], and the typed [`command::Command`] decoded from
//!   a request.
//! - [`response`]: responses (`01 op len16 value32 data status`) with the
//!   ROM's 4 status bytes or the stub's 2 ([`response::StatusFormat`]), and
//!   their error codes.
//!
//! Sources: serial.md §1.4, §2.1, §2.3 (esptool 5.6.0 `loader.py`,
//! `util.py`; esp-flasher-stub `src/commands.h`, `src/command_handler.c`).
//!
//! ```
//! use esp_rom_protocol::command::{Command, Opcode, Request};
//! use esp_rom_protocol::response::{Response, Status, StatusFormat};
//! use esp_rom_protocol::slip::{self, Decoder};
//!
//! // What esptool sends to read a register...
//! let request = Request::new(Opcode::ReadReg, 0x6000_8844u32.to_le_bytes().to_vec(), 0);
//! let mut wire = Vec::new();
//! slip::encode(&request.to_bytes(), &mut wire);
//! // ...decoded by the device...
//! let mut decoder = Decoder::new(1024);
//! let frames = decoder.push_all(&wire);
//! let req = Request::parse(frames[0].as_ref().unwrap()).unwrap();
//! assert_eq!(Command::parse(&req), Ok(Command::ReadReg { address: 0x6000_8844 }));
//! // ...and the ROM's answer.
//! let reply = Response::ok(req.op, 0x1234_5678).to_bytes(StatusFormat::Rom);
//! assert_eq!(reply, [1, 0x0a, 4, 0, 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0]);
//! let back = Response::parse(&reply, 0).unwrap();
//! assert_eq!(back.status, Status::Ok);
//! ```

#![no_std]
#![warn(missing_docs)]

extern crate alloc;

pub mod command;
pub mod response;
pub mod slip;
