//! The client side: typed requests, their console frames, and the decoding
//! of replies in smpclient's order (`smpclient/__init__.py` `request`: the
//! command's reply first, then an SMP v1 error `{"rc"}`, then an SMP v2
//! error `{"err"}`). No I/O: a transport writes [`Request::frame`]'s bytes
//! and feeds what it reads to a [`crate::frame::Decoder`] configured with
//! [`crate::frame::DecoderConfig::CLIENT`].

use crate::error::{CodecError, FrameError};
use crate::frame::{self, LineChars};
use crate::header::{group, image_id, os_id, Header, Op, Packet};
use crate::image::{
    ImageStateReadRequest, ImageStateResponse, ImageStateWriteRequest, ImageUploadRequest,
    ImageUploadResponse, SlotInfoResponse,
};
use crate::os::{
    EchoRequest, EchoResponse, EmptyRequest, GroupErrorResponse, McumgrParamsResponse, RcResponse,
    ResetRequest,
};

/// A request of a known command and the type of its successful reply.
pub trait Request {
    /// The command's reply.
    type Response;
    /// Group of the command.
    const GROUP: u16;
    /// Command id.
    const ID: u8;
    /// Read or write.
    const OP: Op;
    /// The CBOR body.
    fn body(&self) -> Vec<u8>;
    /// Decodes the reply body.
    ///
    /// # Errors
    /// [`CodecError`] when the body is not this reply.
    fn decode_response(body: &[u8]) -> Result<Self::Response, CodecError>;

    /// The SMP message (header and body) with sequence `seq` and protocol
    /// `version` ([`crate::header::version`]).
    ///
    /// # Errors
    /// [`CodecError::BodyTooLong`].
    fn message(&self, seq: u8, version: u8) -> Result<Packet, CodecError> {
        let header = Header::request(Self::OP, version, Self::GROUP, Self::ID, seq, 0);
        Packet::new(header, self.body())
    }

    /// The request as console lines of `chars` base64 characters.
    ///
    /// # Errors
    /// [`RequestError`] when the message does not fit a frame.
    fn frame(&self, seq: u8, version: u8, chars: LineChars) -> Result<Vec<u8>, RequestError> {
        let packet = self.message(seq, version)?;
        Ok(frame::encode(&packet.encode(), chars)?)
    }
}

/// A request could not be framed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The message itself.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The console frame.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// What a server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T> {
    /// The command's reply.
    Ok(T),
    /// `{"rc"[, "rsn"]}` (SMP v1; MCUboot's only error form).
    Rc(RcResponse),
    /// `{"err": {"group", "rc"}}` (SMP v2).
    GroupError(GroupErrorResponse),
}

/// Decodes the reply `message` (header and body) to the request `R` sent
/// with sequence `seq`.
///
/// # Errors
/// [`CodecError`] when the header does not answer the request or the body
/// is none of the three reply forms (the command reply's own error is
/// returned).
pub fn decode_reply<R: Request>(seq: u8, message: &[u8]) -> Result<Reply<R::Response>, CodecError> {
    let packet = Packet::decode(message)?;
    let h = packet.header;
    if h.seq != seq {
        return Err(CodecError::SequenceMismatch {
            expected: seq,
            got: h.seq,
        });
    }
    if h.kind() != Some(R::OP.response()) {
        return Err(CodecError::NotAResponse { op: h.op });
    }
    if h.group != R::GROUP || h.id != R::ID {
        return Err(CodecError::WrongCommand {
            group: h.group,
            id: h.id,
            expected_group: R::GROUP,
            expected_id: R::ID,
        });
    }
    let first = match R::decode_response(&packet.body) {
        Ok(r) => return Ok(Reply::Ok(r)),
        Err(e) => e,
    };
    if let Ok(rc) = RcResponse::decode(&packet.body) {
        return Ok(Reply::Rc(rc));
    }
    if let Ok(e) = GroupErrorResponse::decode(&packet.body) {
        return Ok(Reply::GroupError(e));
    }
    Err(first)
}

macro_rules! request {
    ($ty:ty, $resp:ty, $group:expr, $id:expr, $op:expr, $decode:path) => {
        impl Request for $ty {
            type Response = $resp;
            const GROUP: u16 = $group;
            const ID: u8 = $id;
            const OP: Op = $op;
            fn body(&self) -> Vec<u8> {
                self.encode()
            }
            fn decode_response(body: &[u8]) -> Result<$resp, CodecError> {
                $decode(body)
            }
        }
    };
}

request!(
    ImageStateReadRequest,
    ImageStateResponse,
    group::IMAGE,
    image_id::STATE,
    Op::Read,
    ImageStateResponse::decode
);
request!(
    ImageStateWriteRequest,
    ImageStateResponse,
    group::IMAGE,
    image_id::STATE,
    Op::Write,
    ImageStateResponse::decode
);
request!(
    ImageUploadRequest,
    ImageUploadResponse,
    group::IMAGE,
    image_id::UPLOAD,
    Op::Write,
    ImageUploadResponse::decode
);
request!(
    EchoRequest,
    EchoResponse,
    group::OS,
    os_id::ECHO,
    Op::Write,
    EchoResponse::decode
);
request!(
    ResetRequest,
    RcResponse,
    group::OS,
    os_id::RESET,
    Op::Write,
    RcResponse::decode
);

/// MCUmgr parameters request (read of group 0 command 6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct McumgrParamsRequest;

impl McumgrParamsRequest {
    fn encode(&self) -> Vec<u8> {
        EmptyRequest.encode()
    }
}

request!(
    McumgrParamsRequest,
    McumgrParamsResponse,
    group::OS,
    os_id::MCUMGR_PARAMS,
    Op::Read,
    McumgrParamsResponse::decode
);

/// Slot info request (read of group 1 command 6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlotInfoRequest;

impl SlotInfoRequest {
    fn encode(&self) -> Vec<u8> {
        EmptyRequest.encode()
    }
}

request!(
    SlotInfoRequest,
    SlotInfoResponse,
    group::IMAGE,
    image_id::SLOT_INFO,
    Op::Read,
    SlotInfoResponse::decode
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::version;

    #[test]
    fn params_request_matches_the_appendix_frame() {
        let lines = McumgrParamsRequest
            .frame(0, version::V2, LineChars::MCUBOOT)
            .unwrap_or_default();
        assert_eq!(lines, b"\x06\x09AAsIAAABAAAABqBzEw==\n");
    }

    #[test]
    fn replies_decode_in_smpclient_order() {
        let h = Header::request(Op::Read, 1, group::OS, os_id::MCUMGR_PARAMS, 7, 0);
        let reply = Packet::new(h.response(0), RcResponse::new(8).encode_zcbor())
            .map(|p| p.encode())
            .unwrap_or_default();
        assert_eq!(
            decode_reply::<McumgrParamsRequest>(7, &reply).ok(),
            Some(Reply::Rc(RcResponse::new(8)))
        );
        assert!(matches!(
            decode_reply::<McumgrParamsRequest>(8, &reply),
            Err(CodecError::SequenceMismatch { .. })
        ));
        let ok = Packet::new(
            h.response(0),
            McumgrParamsResponse {
                buf_size: 512,
                buf_count: 1,
            }
            .encode_zcbor(),
        )
        .map(|p| p.encode())
        .unwrap_or_default();
        assert!(matches!(
            decode_reply::<McumgrParamsRequest>(7, &ok),
            Ok(Reply::Ok(McumgrParamsResponse { buf_size: 512, .. }))
        ));
    }
}
