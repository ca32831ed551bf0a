//! Round trips and garbage: the codec never panics and keeps its bound.

use esp_rom_protocol::command::{Command, Opcode, Request};
use esp_rom_protocol::response::{Response, Status, StatusFormat};
use esp_rom_protocol::slip::{self, Decoder, SlipError};
use proptest::prelude::*;

proptest! {
    #[test]
    fn slip_round_trips(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 1..8)) {
        let mut wire = Vec::new();
        for f in &frames {
            slip::encode(f, &mut wire);
        }
        let mut d = Decoder::new(300);
        let out: Vec<_> = d.push_all(&wire).into_iter().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(out, frames);
    }

    #[test]
    fn slip_survives_any_split(frame in proptest::collection::vec(any::<u8>(), 1..200), cut in 0usize..400) {
        let wire = slip::encoded(&frame);
        let cut = cut.min(wire.len());
        let mut d = Decoder::new(1024);
        let mut out = d.push_all(&wire[..cut]);
        out.extend(d.push_all(&wire[cut..]));
        prop_assert_eq!(out, vec![Ok(frame)]);
    }

    #[test]
    fn garbage_never_panics_and_stays_bounded(garbage in proptest::collection::vec(any::<u8>(), 0..2000), limit in 1usize..64) {
        let mut d = Decoder::new(limit);
        for r in d.push_all(&garbage) {
            match r {
                Ok(frame) => {
                    prop_assert!(frame.len() <= limit);
                    // every layer above accepts or refuses, never panics
                    if let Ok(req) = Request::parse(&frame) {
                        let _ = Command::parse(&req);
                    }
                    let _ = Response::parse(&frame, 16);
                }
                Err(SlipError::Oversize { limit: l }) => prop_assert_eq!(l, limit),
                Err(SlipError::BadEscape(_)) => {}
                Err(_) => {}
            }
        }
        // a valid frame after the garbage still decodes
        let mut tail = vec![slip::END];
        tail.extend(slip::encoded(&[1]));
        let out = d.push_all(&tail);
        prop_assert_eq!(out.last().cloned(), Some(Ok(vec![1u8])));
    }

    #[test]
    fn requests_round_trip(op in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..100), chk in any::<u32>()) {
        let req = Request::new(Opcode::from_byte(op), data, chk);
        prop_assert_eq!(Request::parse(&req.to_bytes()), Ok(req.clone()));
        let _ = Command::parse(&req);
    }

    #[test]
    fn responses_round_trip(op in any::<u8>(), value in any::<u32>(), data in proptest::collection::vec(any::<u8>(), 0..64), code in 0x100u16.., stub in any::<bool>()) {
        let format = if stub { StatusFormat::Stub } else { StatusFormat::Rom };
        let ok = Response { op: Opcode::from_byte(op), value, data: data.clone(), status: Status::Ok };
        prop_assert_eq!(Response::parse(&ok.to_bytes(format), data.len()), Ok(ok));
        let err = Response { op: Opcode::from_byte(op), value, data: data.clone(), status: Status::Error(code) };
        prop_assert_eq!(Response::parse(&err.to_bytes(format), data.len()), Ok(err));
    }
}
