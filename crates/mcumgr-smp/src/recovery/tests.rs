//! The state machine against a RAM device.

use super::*;
use crate::client::{decode_reply, Reply, Request};
use crate::frame::{Decoded, Decoder, DecoderConfig};
use crate::header::version;
use crate::image::{ImageStateReadRequest, ImageStateWriteRequest, ImageUploadRequest};
use crate::os::RcResponse;
use proptest::prelude::*;

const SLOT: u32 = 0x8000;

#[derive(Debug, thiserror::Error)]
#[error("RAM device failure")]
struct RamError;

struct Ram {
    slot: Vec<u8>,
    align: u32,
    erases: Vec<(u32, u32)>,
    writes: Vec<(u32, usize)>,
    listed: Option<SlotImage>,
    pending: Vec<(usize, bool)>,
    changed_outputs: usize,
}

impl Ram {
    fn new(align: u32) -> Self {
        Ram {
            slot: vec![0u8; SLOT as usize],
            align,
            erases: Vec::new(),
            writes: Vec::new(),
            listed: None,
            pending: Vec::new(),
            changed_outputs: 0,
        }
    }
}

impl RecoveryDevice for Ram {
    type Error = RamError;
    fn image_count(&self) -> usize {
        1
    }
    fn layout(&self, image: usize) -> Option<ImageLayout> {
        (image == 0).then_some(ImageLayout {
            primary_size: SLOT,
            secondary_size: SLOT,
            sector_size: 0x1000,
            align: self.align,
            status_offset: SLOT - 0x1830,
            max_image_size: Some(SLOT - 0x2000),
        })
    }
    fn erase(&mut self, _: usize, offset: u32, len: u32) -> Result<(), RamError> {
        let r = offset as usize..(offset + len) as usize;
        self.slot.get_mut(r).ok_or(RamError)?.fill(0xff);
        self.erases.push((offset, len));
        Ok(())
    }
    fn write(&mut self, _: usize, offset: u32, data: &[u8]) -> Result<(), RamError> {
        assert_eq!(offset % self.align, 0, "unaligned write offset");
        assert_eq!(data.len() as u32 % self.align, 0, "unaligned write length");
        let r = offset as usize..offset as usize + data.len();
        self.slot.get_mut(r).ok_or(RamError)?.copy_from_slice(data);
        self.writes.push((offset, data.len()));
        Ok(())
    }
    fn validated_image(&mut self, _: usize, slot: Slot) -> Result<Option<SlotImage>, RamError> {
        Ok(if slot == Slot::Primary {
            self.listed.clone()
        } else {
            None
        })
    }
    fn swap_type(&mut self, _: usize) -> Result<SwapType, RamError> {
        Ok(SwapType::None)
    }
    fn set_pending(
        &mut self,
        image: usize,
        permanent: bool,
    ) -> Result<(), SetPendingError<RamError>> {
        self.pending.push((image, permanent));
        Ok(())
    }
}

fn exchange<R: Request>(rec: &mut Recovery, dev: &mut Ram, req: &R, seq: u8) -> Reply<R::Response> {
    let bytes = req
        .frame(seq, version::V2, LineChars::MCUBOOT)
        .unwrap_or_default();
    let out = rec.on_bytes(&bytes, dev);
    if out.flash_changed {
        dev.changed_outputs += 1;
    }
    let mut d = Decoder::new(DecoderConfig::CLIENT);
    match d.push(&out.bytes).as_slice() {
        [Decoded::Message(m)] => match decode_reply::<R>(seq, m) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        },
        other => panic!("expected one reply, got {other:?}"),
    }
}

fn upload(
    rec: &mut Recovery,
    dev: &mut Ram,
    off: u32,
    data: &[u8],
    len: Option<u32>,
) -> (i64, Option<u32>) {
    let req = ImageUploadRequest {
        off,
        data: data.to_vec(),
        len,
        image: len.map(|_| 0),
        ..ImageUploadRequest::default()
    };
    match exchange(rec, dev, &req, 1) {
        Reply::Ok(r) => (r.rc.unwrap_or(-1), r.off),
        other => panic!("{other:?}"),
    }
}

#[test]
fn upload_trims_to_alignment_and_pads_the_last_chunk() {
    let image: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    let mut dev = Ram::new(4);
    let mut rec = Recovery::new(RecoveryConfig::default());
    // smpmgr's first chunk of 85 bytes advances to 84 (serial.md §6.4).
    assert_eq!(
        upload(&mut rec, &mut dev, 0, &image[..85], Some(1000)),
        (0, Some(84))
    );
    assert_eq!(dev.erases, vec![(0, SLOT)], "whole-slot erase at off 0");
    // 147 bytes advance by 144.
    assert_eq!(
        upload(&mut rec, &mut dev, 84, &image[84..231], None),
        (0, Some(228))
    );
    // A stale offset is answered with the expected one.
    assert_eq!(
        upload(&mut rec, &mut dev, 84, &image[84..100], None),
        (0, Some(228))
    );
    let mut off = 228;
    while off < 1000 {
        let end = (off + 147).min(1000);
        let (rc, next) = upload(
            &mut rec,
            &mut dev,
            off,
            &image[off as usize..end as usize],
            None,
        );
        assert_eq!(rc, 0);
        off = next.unwrap_or(0);
    }
    assert_eq!(off, 1000);
    assert_eq!(&dev.slot[..1000], image.as_slice());
    // Chunks that wrote said so; a stale chunk and a list do not.
    let writing = dev.changed_outputs;
    assert!(writing >= 8, "{writing}");
    assert_eq!(
        upload(&mut rec, &mut dev, 84, &image[84..100], None),
        (0, Some(1000))
    );
    let _ = exchange(&mut rec, &mut dev, &ImageStateReadRequest, 2);
    assert_eq!(dev.changed_outputs, writing);
    assert!(dev.slot[1000..].iter().all(|&b| b == 0xff));
}

#[test]
fn encrypted_alignment_is_32() {
    let image = vec![0x5a; 100];
    let mut dev = Ram::new(32);
    let mut rec = Recovery::new(RecoveryConfig::default());
    assert_eq!(
        upload(&mut rec, &mut dev, 0, &image[..85], Some(100)),
        (0, Some(64))
    );
    assert_eq!(
        upload(&mut rec, &mut dev, 64, &image[64..], None),
        (0, Some(100))
    );
    assert_eq!(dev.writes, vec![(0, 64), (64, 32), (96, 32)]);
    assert_eq!(&dev.slot[..100], image.as_slice());
    assert_eq!(&dev.slot[100..128], &[0xff; 28]);
}

#[test]
fn progressive_erase_runs_ahead_and_clears_the_trailer_sector() {
    let image = vec![1u8; 0x1100];
    let mut dev = Ram::new(4);
    let mut rec = Recovery::new(RecoveryConfig {
        erase: EraseMode::Progressive,
        ..RecoveryConfig::default()
    });
    let mut off = 0u32;
    while off < 0x1100 {
        let end = (off + 400).min(0x1100);
        let len = (off == 0).then_some(0x1100);
        let (rc, next) = upload(
            &mut rec,
            &mut dev,
            off,
            &image[off as usize..end as usize],
            len,
        );
        assert_eq!(rc, 0);
        off = next.unwrap_or(0);
    }
    let trailer_sector = (SLOT - 0x1830) / 0x1000 * 0x1000;
    assert_eq!(
        dev.erases,
        vec![(0, 0x1000), (0x1000, 0x1000), (trailer_sector, 0x1000)]
    );
}

#[test]
fn upload_errors_follow_bs_upload() {
    let mut dev = Ram::new(4);
    let mut rec = Recovery::new(RecoveryConfig::default());
    // Beyond the announced length.
    assert_eq!(
        upload(&mut rec, &mut dev, 0, &[1; 40], Some(100)),
        (0, Some(40))
    );
    assert_eq!(upload(&mut rec, &mut dev, 40, &[1; 80], None), (3, None));
    dev.erases.clear();
    // off 0 without len.
    assert_eq!(upload(&mut rec, &mut dev, 0, &[1; 8], None), (3, None));
    // len larger than the slot.
    assert_eq!(
        upload(&mut rec, &mut dev, 0, &[1; 8], Some(SLOT + 1)),
        (3, None)
    );
    assert!(dev.erases.is_empty());
    // A body that is not a map.
    let h = Header::request(Op::Write, 0, group::IMAGE, image_id::UPLOAD, 3, 1);
    let mut msg = h.encode().to_vec();
    msg.push(0x01);
    let reply = rec.on_message(&msg, &mut dev).unwrap_or_default();
    assert_eq!(
        &reply[HEADER_LEN..],
        RcResponse::new(3).encode_zcbor().as_slice()
    );
}

#[test]
fn esp_build_answers_enotsup_and_full_build_answers() {
    let mut dev = Ram::new(4);
    for (features, echo_ok) in [(Features::ESP_PORT, false), (Features::FULL, true)] {
        let mut rec = Recovery::new(RecoveryConfig {
            features,
            ..RecoveryConfig::default()
        });
        let echo = crate::os::EchoRequest { d: "hello".into() };
        match exchange(&mut rec, &mut dev, &echo, 9) {
            Reply::Ok(r) => assert!(echo_ok && r.r == "hello"),
            Reply::Rc(rc) => assert!(!echo_ok && rc.rc == 8),
            other => panic!("{other:?}"),
        }
        let params = crate::client::McumgrParamsRequest;
        match exchange(&mut rec, &mut dev, &params, 10) {
            Reply::Ok(r) => assert!(echo_ok && r.buf_size == 512 && r.buf_count == 1),
            Reply::Rc(rc) => assert!(!echo_ok && rc.rc == 8),
            other => panic!("{other:?}"),
        }
        let set = ImageStateWriteRequest {
            hash: None,
            confirm: Some(true),
        };
        match exchange(&mut rec, &mut dev, &set, 11) {
            Reply::Ok(_) => assert!(echo_ok),
            Reply::Rc(rc) => assert!(!echo_ok && rc.rc == 8),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(dev.pending, vec![(0, true)]);
}

/// The full build's reply buffer holds 212 bytes for one image: a longer
/// echo is answered ENOMEM, as `bs_echo` does when zcbor runs out of room.
#[test]
fn long_echo_exceeds_the_reply_buffer() {
    let mut dev = Ram::new(4);
    let mut rec = Recovery::new(RecoveryConfig {
        features: Features::FULL,
        ..RecoveryConfig::default()
    });
    // map start + "r" + tstr header (2 bytes) + text + break = 212.
    let fits = crate::os::EchoRequest { d: "x".repeat(206) };
    assert!(matches!(exchange(&mut rec, &mut dev, &fits, 1), Reply::Ok(r) if r.r.len() == 206));
    let too_long = crate::os::EchoRequest { d: "x".repeat(207) };
    assert!(matches!(
        exchange(&mut rec, &mut dev, &too_long, 2),
        Reply::Rc(RcResponse { rc: 2, .. })
    ));
}

#[test]
fn list_reports_validated_images_with_flags_in_full_build() {
    let mut dev = Ram::new(4);
    dev.listed = Some(SlotImage {
        version: ImageVersion {
            major: 1,
            minor: 2,
            revision: 3,
            build: 0,
        },
        flags: 0,
        hash: Some(vec![0xab; 32]),
    });
    let mut rec = Recovery::new(RecoveryConfig::default());
    let Reply::Ok(list) = exchange(&mut rec, &mut dev, &ImageStateReadRequest, 4) else {
        panic!("list");
    };
    assert_eq!(list.images.len(), 1);
    assert_eq!(
        (list.images[0].slot, list.images[0].version.as_str()),
        (0, "1.2.3")
    );
    assert_eq!(list.images[0].hash, None);
    assert_eq!(list.images[0].bootable, None);
    let mut rec = Recovery::new(RecoveryConfig {
        features: Features::FULL,
        ..RecoveryConfig::default()
    });
    let Reply::Ok(list) = exchange(&mut rec, &mut dev, &ImageStateReadRequest, 5) else {
        panic!("list");
    };
    let s = &list.images[0];
    assert_eq!(s.hash.as_deref(), Some(&[0xab; 32][..]));
    assert_eq!(
        (s.bootable, s.confirmed, s.active, s.pending),
        (Some(true), Some(true), Some(true), None)
    );
    // A hash that matches nothing: ENOENT.
    let set = ImageStateWriteRequest {
        hash: Some(vec![1; 32]),
        confirm: Some(false),
    };
    assert!(matches!(
        exchange(&mut rec, &mut dev, &set, 6),
        Reply::Rc(RcResponse { rc: 5, .. })
    ));
    let set = ImageStateWriteRequest {
        hash: Some(vec![1; 31]),
        confirm: Some(false),
    };
    assert!(matches!(
        exchange(&mut rec, &mut dev, &set, 7),
        Reply::Rc(RcResponse { rc: 3, .. })
    ));
}

#[test]
fn reply_echoes_the_request_header_and_drops_bad_ops() {
    let mut dev = Ram::new(4);
    let mut rec = Recovery::new(RecoveryConfig::default());
    // Go mcumgr: version 0, requires byte 0 of the reply to be exactly 1 or 3.
    let mut h = Header::request(Op::Read, version::V1, group::IMAGE, image_id::STATE, 200, 1);
    h.reserved = 0b101;
    let mut msg = h.encode().to_vec();
    msg.push(0xa0);
    let reply = rec.on_message(&msg, &mut dev).unwrap_or_default();
    assert_eq!(reply[0], 0b1010_0001);
    assert_eq!(&reply[4..8], &[0, 1, 200, 0]);
    // Op 1 (a response) and op 4: no reply.
    for op in [1u8, 4] {
        let mut bad = msg.clone();
        bad[0] = op;
        assert_eq!(rec.on_message(&bad, &mut dev), None);
    }
    // A header length smaller than the body: no reply.
    let mut bad = msg.clone();
    bad[3] = 0;
    assert_eq!(rec.on_message(&bad, &mut dev), None);
}

#[test]
fn reset_replies_then_ignores_input() {
    let mut dev = Ram::new(4);
    let mut rec = Recovery::new(RecoveryConfig::default());
    let bytes = crate::os::ResetRequest::default()
        .frame(3, version::V2, LineChars::MCUBOOT)
        .unwrap_or_default();
    let mut twice = bytes.clone();
    twice.extend_from_slice(&bytes);
    let out = rec.on_bytes(&twice, &mut dev);
    assert_eq!(out.reset_after, Some(RESET_DELAY));
    let mut d = Decoder::new(DecoderConfig::CLIENT);
    assert_eq!(
        d.push(&out.bytes).len(),
        1,
        "one reply, the second reset is ignored"
    );
    assert!(rec.on_bytes(&bytes, &mut dev).bytes.is_empty());
}

proptest! {
    #[test]
    fn recovery_never_panics(input in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut dev = Ram::new(4);
        let mut rec = Recovery::new(RecoveryConfig { features: Features::FULL, erase: EraseMode::Progressive });
        let _ = rec.on_bytes(&input, &mut dev);
    }

    #[test]
    fn any_message_body_gets_at_most_one_reply(group in 0u16..3, id in 0u8..8, op in 0u8..4,
                                               body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut dev = Ram::new(4);
        let mut rec = Recovery::new(RecoveryConfig { features: Features::FULL, erase: EraseMode::Progressive });
        let h = Header { op, version: 1, reserved: 0, flags: 0, len: body.len() as u16, group, seq: 1, id };
        let mut msg = h.encode().to_vec();
        msg.extend_from_slice(&body);
        let reply = rec.on_message(&msg, &mut dev);
        prop_assert_eq!(reply.is_some(), op == 0 || op == 2);
    }
}

/// Go mcumgr keeps up to 5 upload requests in flight (serial.md §6.5):
/// requests whose offset went stale through alignment trimming are answered
/// with the expected offset, in order, and the client's resends complete the
/// image.
#[test]
fn pipelined_uploads_with_stale_offsets() {
    let image: Vec<u8> = (0..1500u32).map(|i| (i % 251) as u8).collect();
    let mut dev = Ram::new(4);
    let mut rec = Recovery::new(RecoveryConfig::default());
    let chunk = 150usize;
    let mut next = 0usize;
    let mut seq = 0u8;
    let mut rounds = 0;
    while next < image.len() {
        rounds += 1;
        assert!(rounds < 50, "no progress");
        // A window of 5 requests sent back to back from the client's view
        // of the offset, Go mcumgr's "image" key always present.
        let mut input = Vec::new();
        let mut sent = Vec::new();
        for k in 0..5 {
            let off = next + k * chunk;
            if off >= image.len() {
                break;
            }
            let end = (off + chunk).min(image.len());
            let req = ImageUploadRequest {
                off: off as u32,
                data: image[off..end].to_vec(),
                image: Some(0),
                len: (off == 0).then_some(image.len() as u32),
                ..ImageUploadRequest::default()
            };
            seq = seq.wrapping_add(1);
            sent.push(seq);
            input.extend(
                req.frame(
                    seq,
                    version::V1,
                    LineChars::new(252).unwrap_or(LineChars::MCUBOOT),
                )
                .unwrap_or_default(),
            );
        }
        let out = rec.on_bytes(&input, &mut dev);
        let replies = Decoder::new(DecoderConfig::CLIENT).push(&out.bytes);
        assert_eq!(replies.len(), sent.len(), "one reply per request, in order");
        for (reply, seq) in replies.iter().zip(&sent) {
            let Decoded::Message(m) = reply else {
                panic!("{reply:?}")
            };
            let Ok(Reply::Ok(r)) = decode_reply::<ImageUploadRequest>(*seq, m) else {
                panic!("reply to {seq}")
            };
            assert_eq!(r.rc, Some(0));
            // The client continues from the last offset the server reported.
            next = r.off.unwrap_or(0) as usize;
        }
    }
    assert_eq!(next, image.len());
    assert_eq!(&dev.slot[..image.len()], image.as_slice());
}
