//! Bodies of the image management group (group 1): image list and state,
//! upload, slot info. Field names and optionality follow the Python `smp`
//! models (`smp/image_management.py`), which forbid keys they do not know,
//! and MCUboot's `boot_serial.c` (`bs_list`, `bs_set`, `bs_upload`,
//! `bs_slot_info`).

// Wire codec: every narrowing conversion is checked (try_from with a
// typed error), never a silent `as` truncation (issue 10, Guards).
#![warn(clippy::cast_possible_truncation)]

use minicbor::data::Type;
use minicbor::Decoder;

use crate::cbor::{decode_map, each_entry, if_type, once, required, u32_value, Writer};
use crate::error::CodecError;

/// Image list request (read of group 1 command 0): an empty map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageStateReadRequest;

impl ImageStateReadRequest {
    /// `{}` (`a0`).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.map(0);
        w.into_bytes()
    }
}

/// Image state set (write of group 1 command 0): test or confirm the image
/// with `hash`, or the only image when no hash is given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageStateWriteRequest {
    /// The SHA-256 hash TLV of the image.
    pub hash: Option<Vec<u8>>,
    /// Confirm (make permanent) rather than test.
    pub confirm: Option<bool>,
}

impl ImageStateWriteRequest {
    /// Canonical CBOR with the keys that are set (`hash` before `confirm`).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.map(u64::from(self.hash.is_some()) + u64::from(self.confirm.is_some()));
        if let Some(h) = &self.hash {
            w.str("hash").bytes(h);
        }
        if let Some(c) = self.confirm {
            w.str("confirm").bool(c);
        }
        w.into_bytes()
    }

    /// Decodes with zcbor's bulk rules: `confirm` must be a bool and `hash`
    /// a byte string when present; other keys are skipped.
    ///
    /// # Errors
    /// [`CodecError`] for a malformed body.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let mut out = ImageStateWriteRequest::default();
        decode_map(body, |key, d| match key {
            "confirm" => once(&mut out.confirm, "confirm", d.bool()?),
            "hash" => once(&mut out.hash, "hash", d.bytes()?.to_vec()),
            _ => Ok(false),
        })?;
        Ok(out)
    }
}

/// One slot in an image list (`smp.image_management.ImageState`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageState {
    /// Image number; MCUboot sends it only with more than one image.
    pub image: Option<u32>,
    /// Slot within the image (0 primary, 1 secondary).
    pub slot: u32,
    /// `major.minor.revision[.build]`.
    pub version: String,
    /// The image's hash TLV.
    pub hash: Option<Vec<u8>>,
    /// The image is bootable (no `IMAGE_F_NON_BOOTABLE`).
    pub bootable: Option<bool>,
    /// Set for the next swap.
    pub pending: Option<bool>,
    /// Confirmed.
    pub confirmed: Option<bool>,
    /// Running.
    pub active: Option<bool>,
    /// Stays after the next boot.
    pub permanent: Option<bool>,
}

impl ImageState {
    fn encode_zcbor(&self, w: &mut Writer) {
        w.begin_map();
        if let Some(i) = self.image {
            w.str("image").u64(u64::from(i));
        }
        for (name, flag) in [
            ("bootable", self.bootable),
            ("confirmed", self.confirmed),
            ("active", self.active),
            ("pending", self.pending),
            ("permanent", self.permanent),
        ] {
            if let Some(v) = flag {
                w.str(name).bool(v);
            }
        }
        w.str("slot").u64(u64::from(self.slot));
        if let Some(h) = &self.hash {
            w.str("hash").bytes(h);
        }
        w.str("version").str(&self.version);
        w.end();
    }

    fn decode(d: &mut Decoder<'_>) -> Result<Self, CodecError> {
        let mut out = ImageState::default();
        let (mut slot, mut version) = (None, None);
        each_entry(d, |key, d| match key {
            "image" => once(&mut out.image, "image", u32_value(d, "image")?),
            "slot" => once(&mut slot, "slot", u32_value(d, "slot")?),
            "version" => once(&mut version, "version", d.str()?.to_string()),
            "hash" => once(&mut out.hash, "hash", d.bytes()?.to_vec()),
            "bootable" => once(&mut out.bootable, "bootable", d.bool()?),
            "pending" => once(&mut out.pending, "pending", d.bool()?),
            "confirmed" => once(&mut out.confirmed, "confirmed", d.bool()?),
            "active" => once(&mut out.active, "active", d.bool()?),
            "permanent" => once(&mut out.permanent, "permanent", d.bool()?),
            _ => Ok(false),
        })?;
        out.slot = required(slot, "slot")?;
        out.version = required(version, "version")?;
        Ok(out)
    }
}

/// Image list, the reply to a list or a successful state set
/// (`smp.image_management.ImageStatesReadResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageStateResponse {
    /// The listed slots.
    pub images: Vec<ImageState>,
    /// Split image status (unused by MCUboot).
    pub split_status: Option<i64>,
}

impl ImageStateResponse {
    /// As MCUboot's `bs_list` encodes it: `{"images": [...]}` with zcbor's
    /// indefinite-length containers.
    pub fn encode_zcbor(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.begin_map().str("images").begin_array();
        for image in &self.images {
            image.encode_zcbor(&mut w);
        }
        w.end();
        if let Some(s) = self.split_status {
            w.str("splitStatus").i64(s);
        }
        w.end();
        w.into_bytes()
    }

    /// Decodes a list; unknown keys are skipped.
    ///
    /// # Errors
    /// [`CodecError`]; `images` is required.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let mut images = None;
        let mut split_status = None;
        decode_map(body, |key, d| match key {
            "images" => {
                let list = decode_list(d, ImageState::decode)?;
                once(&mut images, "images", list)
            }
            "splitStatus" => once(
                &mut split_status,
                "splitStatus",
                crate::cbor::i64_value(d, "splitStatus")?,
            ),
            _ => Ok(false),
        })?;
        Ok(ImageStateResponse {
            images: required(images, "images")?,
            split_status,
        })
    }
}

/// One upload request (write of group 1 command 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageUploadRequest {
    /// Offset of `data` in the image.
    pub off: u32,
    /// The chunk.
    pub data: Vec<u8>,
    /// Image number (read by MCUboot only when `off` is 0).
    pub image: Option<u32>,
    /// Total image length (required by MCUboot when `off` is 0).
    pub len: Option<u32>,
    /// SHA-256 of the whole image (ignored by MCUboot).
    pub sha: Option<Vec<u8>>,
    /// Upgrade-only flag (ignored by MCUboot).
    pub upgrade: Option<bool>,
}

impl ImageUploadRequest {
    /// Canonical CBOR as smpclient sends it: `len`, `off`, `sha`, `data`,
    /// `image`, `upgrade`, each only when set (`off` and `data` always).
    pub fn encode(&self) -> Vec<u8> {
        let n = 2
            + u64::from(self.image.is_some())
            + u64::from(self.len.is_some())
            + u64::from(self.sha.is_some())
            + u64::from(self.upgrade.is_some());
        let mut w = Writer::new();
        w.map(n);
        if let Some(len) = self.len {
            w.str("len").u64(u64::from(len));
        }
        w.str("off").u64(u64::from(self.off));
        if let Some(sha) = &self.sha {
            w.str("sha").bytes(sha);
        }
        w.str("data").bytes(&self.data);
        if let Some(i) = self.image {
            w.str("image").u64(u64::from(i));
        }
        if let Some(u) = self.upgrade {
            w.str("upgrade").bool(u);
        }
        w.into_bytes()
    }

    /// Decodes as `bs_upload` does (`zcbor_map_decode_bulk` over `image`
    /// u32, `data` bstr, `len` and `off` size_t): those keys must have those
    /// types and appear once; `sha` and `upgrade` are kept when they have
    /// the expected type and otherwise skipped like any other key.
    ///
    /// # Errors
    /// [`CodecError`]; `off` and `data` are required.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let mut out = ImageUploadRequest::default();
        let (mut off, mut data) = (None, None);
        decode_map(body, |key, d| match key {
            "image" => once(&mut out.image, "image", u32_value(d, "image")?),
            "data" => once(&mut data, "data", d.bytes()?.to_vec()),
            "len" => once(&mut out.len, "len", u32_value(d, "len")?),
            "off" => once(&mut off, "off", u32_value(d, "off")?),
            "sha" if out.sha.is_none() => Ok(match if_type(d, Type::Bytes, |d| d.bytes())? {
                Some(b) => {
                    out.sha = Some(b.to_vec());
                    true
                }
                None => false,
            }),
            "upgrade" if out.upgrade.is_none() => Ok(match if_type(d, Type::Bool, |d| d.bool())? {
                Some(b) => {
                    out.upgrade = Some(b);
                    true
                }
                None => false,
            }),
            _ => Ok(false),
        })?;
        out.off = required(off, "off")?;
        out.data = required(data, "data")?;
        Ok(out)
    }
}

/// Reply to an upload chunk (`smp.image_management.ImageUploadWriteResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageUploadResponse {
    /// Result code (MCUboot always sends it).
    pub rc: Option<i64>,
    /// The next offset the server expects (MCUboot: with `rc` 0 only).
    pub off: Option<u32>,
    /// Whether the uploaded image matched `sha` (Zephyr's img_mgmt only).
    pub matched: Option<bool>,
}

impl ImageUploadResponse {
    /// As `bs_upload` encodes it: `{"rc": rc[, "off": off]}`.
    pub fn encode_zcbor(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.begin_map();
        if let Some(rc) = self.rc {
            w.str("rc").i64(rc);
        }
        if let Some(off) = self.off {
            w.str("off").u64(u64::from(off));
        }
        if let Some(m) = self.matched {
            w.str("match").bool(m);
        }
        w.end();
        w.into_bytes()
    }

    /// Decodes a reply; unknown keys are skipped.
    ///
    /// # Errors
    /// [`CodecError`] for a malformed body.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let mut out = ImageUploadResponse::default();
        decode_map(body, |key, d| match key {
            "rc" => once(&mut out.rc, "rc", crate::cbor::i64_value(d, "rc")?),
            "off" => once(&mut out.off, "off", u32_value(d, "off")?),
            "match" => once(&mut out.matched, "match", d.bool()?),
            _ => Ok(false),
        })?;
        Ok(out)
    }
}

/// One slot in a slot-info reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotInfoSlot {
    /// Slot number.
    pub slot: u32,
    /// Slot size in bytes.
    pub size: u32,
    /// The `image` value an upload to this slot uses, if uploads go there.
    pub upload_image_id: Option<u32>,
}

/// One image in a slot-info reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotInfoImage {
    /// Image number.
    pub image: u32,
    /// Its slots.
    pub slots: Vec<SlotInfoSlot>,
    /// `bootutil_max_image_size`, when known.
    pub max_image_size: Option<u32>,
}

/// Reply to slot info (read of group 1 command 6, `bs_slot_info`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotInfoResponse {
    /// Per image.
    pub images: Vec<SlotInfoImage>,
}

impl SlotInfoResponse {
    /// As `bs_slot_info` encodes it.
    pub fn encode_zcbor(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.begin_map().str("images").begin_array();
        for image in &self.images {
            w.begin_map().str("image").u64(u64::from(image.image));
            w.str("slots").begin_array();
            for slot in &image.slots {
                w.begin_map().str("slot").u64(u64::from(slot.slot));
                w.str("size").u64(u64::from(slot.size));
                if let Some(id) = slot.upload_image_id {
                    w.str("upload_image_id").u64(u64::from(id));
                }
                w.end();
            }
            w.end();
            if let Some(max) = image.max_image_size {
                w.str("max_image_size").u64(u64::from(max));
            }
            w.end();
        }
        w.end().end();
        w.into_bytes()
    }

    /// Decodes a reply; unknown keys are skipped.
    ///
    /// # Errors
    /// [`CodecError`]; `images`, `image`, `slots`, `slot` and `size` are
    /// required.
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let mut images = None;
        decode_map(body, |key, d| match key {
            "images" => {
                let list = decode_list(d, |d| {
                    let (mut image, mut slots, mut max) = (None, None, None);
                    each_entry(d, |key, d| match key {
                        "image" => once(&mut image, "image", u32_value(d, "image")?),
                        "max_image_size" => {
                            once(&mut max, "max_image_size", u32_value(d, "max_image_size")?)
                        }
                        "slots" => {
                            let list = decode_list(d, |d| {
                                let (mut slot, mut size, mut id) = (None, None, None);
                                each_entry(d, |key, d| match key {
                                    "slot" => once(&mut slot, "slot", u32_value(d, "slot")?),
                                    "size" => once(&mut size, "size", u32_value(d, "size")?),
                                    "upload_image_id" => once(
                                        &mut id,
                                        "upload_image_id",
                                        u32_value(d, "upload_image_id")?,
                                    ),
                                    _ => Ok(false),
                                })?;
                                Ok(SlotInfoSlot {
                                    slot: required(slot, "slot")?,
                                    size: required(size, "size")?,
                                    upload_image_id: id,
                                })
                            })?;
                            once(&mut slots, "slots", list)
                        }
                        _ => Ok(false),
                    })?;
                    Ok(SlotInfoImage {
                        image: required(image, "image")?,
                        slots: required(slots, "slots")?,
                        max_image_size: max,
                    })
                })?;
                once(&mut images, "images", list)
            }
            _ => Ok(false),
        })?;
        Ok(SlotInfoResponse {
            images: required(images, "images")?,
        })
    }
}

/// Decodes a definite or indefinite list with `item`.
fn decode_list<'b, T>(
    d: &mut Decoder<'b>,
    mut item: impl FnMut(&mut Decoder<'b>) -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    let len = d.array()?;
    let mut out = Vec::new();
    loop {
        match len {
            Some(n) if out.len() as u64 == n => return Ok(out),
            None if d.datatype()? == Type::Break => {
                d.set_position(d.position() + 1);
                return Ok(out);
            }
            _ => {}
        }
        out.push(item(d)?);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_round_trip_and_zcbor_shape() {
        let list = ImageStateResponse {
            images: vec![ImageState {
                slot: 0,
                version: "1.2.3".into(),
                ..ImageState::default()
            }],
            split_status: None,
        };
        let body = list.encode_zcbor();
        // bf 66 "images" 9f bf 64 "slot" 00 67 "version" 65 "1.2.3" ff ff ff
        assert_eq!(body[0], 0xbf);
        assert_eq!(&body[body.len() - 3..], &[0xff, 0xff, 0xff]);
        assert_eq!(ImageStateResponse::decode(&body).ok(), Some(list));
    }

    #[test]
    fn upload_request_follows_zcbor_bulk_rules() {
        let req = ImageUploadRequest {
            off: 0,
            data: vec![1, 2, 3],
            image: Some(0),
            len: Some(3),
            sha: Some(vec![0; 32]),
            upgrade: Some(false),
        };
        assert_eq!(ImageUploadRequest::decode(&req.encode()).ok(), Some(req));
        // Duplicate known key: refused.
        let mut w = Writer::new();
        w.map(3)
            .str("off")
            .u64(0)
            .str("off")
            .u64(1)
            .str("data")
            .bytes(&[]);
        assert!(matches!(
            ImageUploadRequest::decode(&w.into_bytes()),
            Err(CodecError::DuplicateKey { key: "off" })
        ));
        // Missing data: refused.
        let mut w = Writer::new();
        w.map(1).str("off").u64(0);
        assert!(matches!(
            ImageUploadRequest::decode(&w.into_bytes()),
            Err(CodecError::MissingKey { key: "data" })
        ));
        // A malformed `sha` is skipped like an unknown key.
        let mut w = Writer::new();
        w.map(3)
            .str("off")
            .u64(4)
            .str("data")
            .bytes(&[9])
            .str("sha")
            .u64(7);
        let r = ImageUploadRequest::decode(&w.into_bytes());
        assert_eq!(r.ok().map(|r| (r.off, r.sha)), Some((4, None)));
        // Offsets beyond 32 bits do not fit the ESP's size_t.
        let mut w = Writer::new();
        w.map(2).str("off").u64(1 << 32).str("data").bytes(&[]);
        assert!(ImageUploadRequest::decode(&w.into_bytes()).is_err());
    }

    #[test]
    fn slot_info_round_trip() {
        let info = SlotInfoResponse {
            images: vec![SlotInfoImage {
                image: 0,
                slots: vec![
                    SlotInfoSlot {
                        slot: 0,
                        size: 0x1c0000,
                        upload_image_id: None,
                    },
                    SlotInfoSlot {
                        slot: 1,
                        size: 0x1c0000,
                        upload_image_id: Some(0),
                    },
                ],
                max_image_size: Some(0x1be000),
            }],
        };
        assert_eq!(
            SlotInfoResponse::decode(&info.encode_zcbor()).ok(),
            Some(info)
        );
    }
}
