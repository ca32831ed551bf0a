//! The codec against the Python `smp` 4.2.0 package of the pinned venv (the
//! models smpmgr and smpclient use):
//! - requests encoded here are byte-identical to smp's, framed lines too;
//! - replies and frames made by smp decode here;
//! - the recovery's replies parse with smp's strict models (`extra="forbid"`).

mod common;

use mcumgr_smp::client::{decode_reply, McumgrParamsRequest, Reply, Request};
use mcumgr_smp::frame::{self, Decoded, Decoder, DecoderConfig, LineChars};
use mcumgr_smp::header::version;
use mcumgr_smp::image::{
    ImageState, ImageStateReadRequest, ImageStateResponse, ImageStateWriteRequest,
    ImageUploadRequest, ImageUploadResponse,
};
use mcumgr_smp::os::{EchoRequest, EchoResponse, McumgrParamsResponse, RcResponse, ResetRequest};
use mcumgr_smp::recovery::{
    Features, ImageLayout, ImageVersion, Recovery, RecoveryConfig, RecoveryDevice, SetPendingError,
    Slot, SlotImage, SwapType,
};

const SCRIPT: &str = r#"
import json, sys, hashlib, cbor2
from smp import packet
from smp import image_management as im, os_management as om, error as er, header as hd

inp = json.load(sys.stdin)
data = bytes(range(200))
sha = hashlib.sha256(b"image").digest()
reqs = {
    "state_read": im.ImageStatesReadRequest(sequence=5),
    "state_write_hash": im.ImageStatesWriteRequest(hash=b"\x11" * 32, confirm=True, sequence=6),
    "state_write_confirm": im.ImageStatesWriteRequest(confirm=True, sequence=7),
    "upload_first": im.ImageUploadWriteRequest(off=0, data=data[:85], image=0, len=1000, sha=sha, upgrade=False, sequence=8),
    "upload_next": im.ImageUploadWriteRequest(off=84, data=data[:147], sequence=9),
    "echo": om.EchoWriteRequest(d="hello", sequence=10),
    "reset": om.ResetWriteRequest(sequence=11),
    "params": om.MCUMgrParametersReadRequest(sequence=12),
}
out = {"requests": {k: bytes(v).hex() for k, v in reqs.items()}}
out["lines"] = {
    str(n): b"".join(packet.encode(bytes(reqs["upload_first"]), line_length=n)).hex()
    for n in (128, 512, 37)
}
resps = {
    "list": im.ImageStatesReadResponse(images=[im.ImageState(slot=0, version="1.2.3", hash=b"\xab" * 32, bootable=True, confirmed=True, active=True), im.ImageState(slot=1, version="0.0.1.7", pending=True)], sequence=5),
    "upload": im.ImageUploadWriteResponse(off=84, rc=0, sequence=8),
    "echo": om.EchoWriteResponse(r="hello", sequence=10),
    "params": om.MCUMgrParametersReadResponse(buf_size=512, buf_count=1, sequence=12),
}
out["responses"] = {k: b"".join(packet.encode(bytes(v), line_length=128)).hex() for k, v in resps.items()}
# An SMP v1 error as a raw header + {"rc": 8}.
rc8 = cbor2.dumps({"rc": 8})
h = hd.Header(op=hd.OP.READ_RSP, version=hd.Version.V2, flags=hd.Flag(0), length=len(rc8), group_id=0, sequence=12, command_id=6)
out["responses"]["rc8"] = b"".join(packet.encode(bytes(h) + rc8)).hex()

models = {
    "list": im.ImageStatesReadResponse, "list_full": im.ImageStatesReadResponse,
    "upload": im.ImageUploadWriteResponse, "upload_err": im.ImageUploadWriteResponse,
    "echo": om.EchoWriteResponse, "params": om.MCUMgrParametersReadResponse,
    "rc": om.OSManagementErrorV1,
}
parsed = {}
for name, text in inp["replies"].items():
    try:
        m = models[name].loads(bytes.fromhex(text))
        parsed[name] = repr(m.model_dump(exclude={"header", "smp_data", "version", "sequence"}, exclude_none=True))
    except Exception as e:
        parsed[name] = "ERROR " + type(e).__name__ + ": " + str(e)
out["parsed"] = parsed
json.dump(out, sys.stdout)
"#;

fn hex(s: &serde_json::Value) -> Vec<u8> {
    hex::decode(s.as_str().unwrap_or_default()).unwrap_or_else(|e| panic!("hex: {e}"))
}

/// A device with one validated image, for replies.
struct OneImage;

impl RecoveryDevice for OneImage {
    type Error = std::io::Error;
    fn image_count(&self) -> usize {
        1
    }
    fn layout(&self, _: usize) -> Option<ImageLayout> {
        Some(ImageLayout {
            primary_size: 0x10000,
            secondary_size: 0x10000,
            sector_size: 0x1000,
            align: 4,
            status_offset: 0xe000,
            max_image_size: None,
        })
    }
    fn erase(&mut self, _: usize, _: u32, _: u32) -> Result<(), Self::Error> {
        Ok(())
    }
    fn write(&mut self, _: usize, _: u32, _: &[u8]) -> Result<(), Self::Error> {
        Ok(())
    }
    fn validated_image(&mut self, _: usize, slot: Slot) -> Result<Option<SlotImage>, Self::Error> {
        Ok((slot == Slot::Primary).then(|| SlotImage {
            version: ImageVersion {
                major: 1,
                minor: 2,
                revision: 3,
                build: 4,
            },
            flags: 0,
            hash: Some(vec![0x5a; 32]),
        }))
    }
    fn swap_type(&mut self, _: usize) -> Result<SwapType, Self::Error> {
        Ok(SwapType::None)
    }
    fn set_pending(&mut self, _: usize, _: bool) -> Result<(), SetPendingError<Self::Error>> {
        Ok(())
    }
}

/// The recovery's reply message to `req`.
fn recovery_reply<R: Request>(features: Features, req: &R) -> Vec<u8> {
    let mut rec = Recovery::new(RecoveryConfig {
        features,
        ..RecoveryConfig::default()
    });
    let msg = req
        .message(3, version::V2)
        .unwrap_or_else(|e| panic!("{e}"))
        .encode();
    rec.on_message(&msg, &mut OneImage)
        .unwrap_or_else(|| panic!("no reply"))
}

#[test]
fn codec_matches_python_smp() {
    let mut python = reference_tool!("python");
    let upload = ImageUploadRequest {
        off: 0,
        data: (0..85u8).collect(),
        image: Some(0),
        len: Some(1000),
        sha: None,
        upgrade: None,
    };
    let replies = serde_json::json!({
        "list": hex::encode(recovery_reply(Features::ESP_PORT, &ImageStateReadRequest)),
        "list_full": hex::encode(recovery_reply(Features::FULL, &ImageStateReadRequest)),
        "upload": hex::encode(recovery_reply(Features::ESP_PORT, &upload)),
        "upload_err": hex::encode(recovery_reply(Features::ESP_PORT, &ImageUploadRequest { off: 0, data: vec![1], ..ImageUploadRequest::default() })),
        "echo": hex::encode(recovery_reply(Features::FULL, &EchoRequest { d: "hello".into() })),
        "params": hex::encode(recovery_reply(Features::FULL, &McumgrParamsRequest)),
        "rc": hex::encode(recovery_reply(Features::ESP_PORT, &EchoRequest { d: "x".into() })),
    });
    let input = serde_json::json!({ "replies": replies }).to_string();
    let out = common::run_with_input(python.arg("-c").arg(SCRIPT), input.as_bytes());
    let out: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));

    // Requests: byte-identical messages.
    let sha = {
        use sha2::Digest;
        sha2::Sha256::digest(b"image").to_vec()
    };
    let data: Vec<u8> = (0..200u8).collect();
    let ours: Vec<(&str, Vec<u8>)> = vec![
        (
            "state_read",
            ImageStateReadRequest
                .message(5, version::V2)
                .map(|p| p.encode())
                .unwrap_or_default(),
        ),
        (
            "state_write_hash",
            ImageStateWriteRequest {
                hash: Some(vec![0x11; 32]),
                confirm: Some(true),
            }
            .message(6, version::V2)
            .map(|p| p.encode())
            .unwrap_or_default(),
        ),
        (
            "state_write_confirm",
            ImageStateWriteRequest {
                hash: None,
                confirm: Some(true),
            }
            .message(7, version::V2)
            .map(|p| p.encode())
            .unwrap_or_default(),
        ),
        (
            "upload_first",
            ImageUploadRequest {
                off: 0,
                data: data[..85].to_vec(),
                image: Some(0),
                len: Some(1000),
                sha: Some(sha),
                upgrade: Some(false),
            }
            .message(8, version::V2)
            .map(|p| p.encode())
            .unwrap_or_default(),
        ),
        (
            "upload_next",
            ImageUploadRequest {
                off: 84,
                data: data[..147].to_vec(),
                ..ImageUploadRequest::default()
            }
            .message(9, version::V2)
            .map(|p| p.encode())
            .unwrap_or_default(),
        ),
        (
            "echo",
            EchoRequest { d: "hello".into() }
                .message(10, version::V2)
                .map(|p| p.encode())
                .unwrap_or_default(),
        ),
        (
            "reset",
            ResetRequest::default()
                .message(11, version::V2)
                .map(|p| p.encode())
                .unwrap_or_default(),
        ),
        (
            "params",
            McumgrParamsRequest
                .message(12, version::V2)
                .map(|p| p.encode())
                .unwrap_or_default(),
        ),
    ];
    for (name, bytes) in &ours {
        assert_eq!(
            hex::encode(bytes),
            out["requests"][name].as_str().unwrap_or_default(),
            "request {name}"
        );
        // And the server side decodes what smp sends.
        if name.starts_with("upload") {
            let body = &hex(&out["requests"][name])[8..];
            assert!(ImageUploadRequest::decode(body).is_ok(), "{name}");
        }
    }
    // Framing: identical lines for smpclient's line lengths.
    let first = &ours[3].1;
    for n in [128usize, 512, 37] {
        let chars = LineChars::for_line_length(n).unwrap_or(LineChars::MCUBOOT);
        let lines = frame::encode(first, chars).unwrap_or_default();
        assert_eq!(
            hex::encode(&lines),
            out["lines"][n.to_string()].as_str().unwrap_or_default(),
            "line length {n}"
        );
    }

    // Replies made by smp decode here.
    let decode = |name: &str| -> Vec<u8> {
        let mut d = Decoder::new(DecoderConfig::CLIENT);
        match d.push(&hex(&out["responses"][name])).as_slice() {
            [Decoded::Message(m)] => m.clone(),
            other => panic!("{name}: {other:?}"),
        }
    };
    let list = decode_reply::<ImageStateReadRequest>(5, &decode("list"));
    let Ok(Reply::Ok(list)) = list else {
        panic!("{list:?}")
    };
    assert_eq!(
        list,
        ImageStateResponse {
            images: vec![
                ImageState {
                    slot: 0,
                    version: "1.2.3".into(),
                    hash: Some(vec![0xab; 32]),
                    bootable: Some(true),
                    confirmed: Some(true),
                    active: Some(true),
                    ..ImageState::default()
                },
                ImageState {
                    slot: 1,
                    version: "0.0.1.7".into(),
                    pending: Some(true),
                    ..ImageState::default()
                },
            ],
            split_status: None,
        }
    );
    assert_eq!(
        ImageUploadResponse::decode(&decode("upload")[8..]).ok(),
        Some(ImageUploadResponse {
            rc: Some(0),
            off: Some(84),
            matched: None
        })
    );
    assert_eq!(
        EchoResponse::decode(&decode("echo")[8..]).ok().map(|e| e.r),
        Some("hello".into())
    );
    assert_eq!(
        McumgrParamsResponse::decode(&decode("params")[8..]).ok(),
        Some(McumgrParamsResponse {
            buf_size: 512,
            buf_count: 1
        })
    );
    assert_eq!(
        decode_reply::<McumgrParamsRequest>(12, &decode("rc8")).ok(),
        Some(Reply::Rc(RcResponse::new(8)))
    );

    // The recovery's replies pass smp's strict models.
    let parsed = &out["parsed"];
    let p = |name: &str| parsed[name].as_str().unwrap_or_default().to_string();
    for name in [
        "list",
        "list_full",
        "upload",
        "upload_err",
        "echo",
        "params",
        "rc",
    ] {
        assert!(!p(name).starts_with("ERROR"), "{name}: {}", p(name));
    }
    assert_eq!(p("list"), "{'images': [{'slot': 0, 'version': '1.2.3.4'}]}");
    assert_eq!(
        p("list_full"),
        format!(
            "{{'images': [{{'slot': 0, 'version': '1.2.3.4', 'hash': b'{}', \
             'bootable': True, 'confirmed': True, 'active': True}}]}}",
            "Z".repeat(32)
        )
    );
    assert_eq!(p("upload"), "{'off': 84, 'rc': 0}");
    assert_eq!(p("upload_err"), "{'rc': 3}");
    assert_eq!(p("echo"), "{'r': 'hello'}");
    assert_eq!(p("params"), "{'buf_size': 512, 'buf_count': 1}");
    assert_eq!(p("rc"), "{'rc': <MGMT_ERR.ENOTSUP: 8>}");
}
