//! Bodies of the OS management group (group 0) and the error replies every
//! group shares (`smp/os_management.py`, `smp/error.py`; `boot_serial.c`
//! `bs_echo`, `bs_reset`, `bs_mcumgr_params`, `bs_rc_rsp`).

// Wire codec: every narrowing conversion is checked (try_from with a
// typed error), never a silent `as` truncation (issue 10, Guards).
#![warn(clippy::cast_possible_truncation)]

use crate::cbor::{decode_map, i64_value, once, required, u32_value, Writer};
use crate::error::{CodecError, MgmtErr};

/// A request with an empty body (`{}`): MCUmgr params, image list, slot info.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmptyRequest;

impl EmptyRequest {
    /// `{}` (`a0`).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.map(0);
        w.into_bytes()
    }
}

/// Echo request `{"d": text}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EchoRequest {
    /// The text to echo.
    pub d: String,
}

impl EchoRequest {
    /// `{"d": d}`.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.map(1).str("d").str(&self.d);
        w.into_bytes()
    }

    /// Decodes as `bs_echo` does: text keys are scanned until `d`, which
    /// must hold a text string; nothing may follow it in the map.
    ///
    /// # Errors
    /// [`CodecError`]; `d` is required.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let mut d_value: Option<String> = None;
        let mut after_d = false;
        decode_map(body, |key, d| {
            if d_value.is_some() {
                after_d = true;
                return Ok(false);
            }
            match key {
                "d" => once(&mut d_value, "d", d.str()?.to_string()),
                _ => Ok(false),
            }
        })?;
        if after_d {
            // zcbor_map_end_decode fails when elements remain after `d`.
            return Err(CodecError::DuplicateKey { key: "d" });
        }
        Ok(EchoRequest {
            d: required(d_value, "d")?,
        })
    }
}

/// Echo reply `{"r": text}` (`smp.os_management.EchoWriteResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EchoResponse {
    /// The echoed text.
    pub r: String,
}

impl EchoResponse {
    /// As `bs_echo` encodes it.
    pub fn encode_zcbor(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.begin_map().str("r").str(&self.r).end();
        w.into_bytes()
    }

    /// Decodes a reply; unknown keys are skipped.
    ///
    /// # Errors
    /// [`CodecError`]; `r` is required.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let mut r = None;
        decode_map(body, |key, d| match key {
            "r" => once(&mut r, "r", d.str()?.to_string()),
            _ => Ok(false),
        })?;
        Ok(EchoResponse {
            r: required(r, "r")?,
        })
    }
}

/// Reset request (`smp.os_management.ResetWriteRequest`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResetRequest {
    /// Force a reset the device refused as busy.
    pub force: Option<u8>,
    /// Boot mode for the next boot (Zephyr retention).
    pub boot_mode: Option<u8>,
}

impl ResetRequest {
    /// Canonical CBOR with the keys that are set (`force` before
    /// `boot_mode`).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.map(u64::from(self.force.is_some()) + u64::from(self.boot_mode.is_some()));
        if let Some(f) = self.force {
            w.str("force").u64(u64::from(f));
        }
        if let Some(m) = self.boot_mode {
            w.str("boot_mode").u64(u64::from(m));
        }
        w.into_bytes()
    }
}

/// MCUmgr parameters reply (`{"buf_size", "buf_count"}`, `bs_mcumgr_params`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct McumgrParamsResponse {
    /// Receive buffer size.
    pub buf_size: u32,
    /// Number of receive buffers.
    pub buf_count: u32,
}

impl McumgrParamsResponse {
    /// As `bs_mcumgr_params` encodes it.
    pub fn encode_zcbor(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.begin_map()
            .str("buf_size")
            .u64(u64::from(self.buf_size))
            .str("buf_count")
            .u64(u64::from(self.buf_count))
            .end();
        w.into_bytes()
    }

    /// Decodes a reply; unknown keys are skipped.
    ///
    /// # Errors
    /// [`CodecError`]; both keys are required.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let (mut size, mut count) = (None, None);
        decode_map(body, |key, d| match key {
            "buf_size" => once(&mut size, "buf_size", u32_value(d, "buf_size")?),
            "buf_count" => once(&mut count, "buf_count", u32_value(d, "buf_count")?),
            _ => Ok(false),
        })?;
        Ok(McumgrParamsResponse {
            buf_size: required(size, "buf_size")?,
            buf_count: required(count, "buf_count")?,
        })
    }
}

/// A reply that is only a result code: SMP version 1 errors
/// (`smp.error.ErrorV1`: `{"rc", ["rsn"]}`), MCUboot's `bs_rc_rsp`, and the
/// reset reply `{"rc": 0}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcResponse {
    /// The code (`MGMT_ERR_*`, or a bootutil code for state set).
    pub rc: i64,
    /// Optional reason text.
    pub rsn: Option<String>,
}

impl RcResponse {
    /// `{"rc": rc}`.
    pub fn new(rc: i64) -> Self {
        RcResponse { rc, rsn: None }
    }

    /// The general error code, if `rc` is one.
    pub fn mgmt_err(&self) -> Option<MgmtErr> {
        MgmtErr::from_code(self.rc)
    }

    /// As `bs_rc_rsp` encodes it.
    pub fn encode_zcbor(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.begin_map().str("rc").i64(self.rc);
        if let Some(r) = &self.rsn {
            w.str("rsn").str(r);
        }
        w.end();
        w.into_bytes()
    }

    /// Decodes `{"rc"[, "rsn"]}`; other keys are an error, as the strict
    /// `ErrorV1` model has it.
    ///
    /// # Errors
    /// [`CodecError`]; `rc` is required.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let (mut rc, mut rsn) = (None, None);
        decode_map(body, |key, d| match key {
            "rc" => once(&mut rc, "rc", i64_value(d, "rc")?),
            "rsn" => once(&mut rsn, "rsn", d.str()?.to_string()),
            _ => Err(CodecError::UnexpectedKey),
        })?;
        Ok(RcResponse {
            rc: required(rc, "rc")?,
            rsn,
        })
    }
}

/// SMP version 2 error reply `{"err": {"group", "rc"}}` (`smp.error.ErrorV2`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupErrorResponse {
    /// The group that reports it.
    pub group: u16,
    /// The group's code.
    pub rc: i64,
}

impl GroupErrorResponse {
    /// Decodes `{"err": {"group", "rc"}}`.
    ///
    /// # Errors
    /// [`CodecError`]; every key is required.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let mut err = None;
        decode_map(body, |key, d| match key {
            "err" => {
                let (mut group, mut rc) = (None, None);
                crate::cbor::each_entry(d, |key, d| match key {
                    "group" => once(&mut group, "group", u32_value(d, "group")?),
                    "rc" => once(&mut rc, "rc", i64_value(d, "rc")?),
                    _ => Ok(false),
                })?;
                let group = u16::try_from(required(group, "group")?)
                    .map_err(|_| CodecError::OutOfRange { key: "group" })?;
                once(
                    &mut err,
                    "err",
                    GroupErrorResponse {
                        group,
                        rc: required(rc, "rc")?,
                    },
                )
            }
            _ => Ok(false),
        })?;
        required(err, "err")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc_reply_is_zcbor_indefinite() {
        assert_eq!(
            RcResponse::new(8).encode_zcbor(),
            [0xbf, 0x62, b'r', b'c', 0x08, 0xff]
        );
        assert_eq!(
            RcResponse::decode(&[0xa1, 0x62, b'r', b'c', 0x08]).ok(),
            Some(RcResponse::new(8))
        );
    }

    #[test]
    fn echo_decode_follows_bs_echo() {
        let ok = EchoRequest { d: "hi".into() }.encode();
        assert_eq!(
            EchoRequest::decode(&ok).ok().map(|e| e.d),
            Some("hi".into())
        );
        let mut w = Writer::new();
        w.map(2).str("x").u64(1).str("d").str("a");
        assert!(EchoRequest::decode(&w.into_bytes()).is_ok());
        let mut w = Writer::new();
        w.map(2).str("d").str("a").str("x").u64(1);
        assert!(EchoRequest::decode(&w.into_bytes()).is_err());
        let mut w = Writer::new();
        w.map(1).str("d").u64(1);
        assert!(EchoRequest::decode(&w.into_bytes()).is_err());
    }
}
