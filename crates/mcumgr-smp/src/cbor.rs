//! CBOR helpers shared by the bodies: a writer for the two encodings in use
//! and a reader of text-keyed maps with zcbor's bulk-decode rules.
//!
//! - Requests are encoded as smpclient encodes them: `cbor2.dumps(..,
//!   canonical=True)` (`smp/message.py`), i.e. definite-length maps with
//!   keys ordered by encoded length, then bytewise.
//! - Responses are encoded as MCUboot's Espressif build encodes them: zcbor
//!   without `ZCBOR_CANONICAL` writes **indefinite-length** maps and lists
//!   (`boot/zcbor/src/zcbor_encode.c:345-366`; the port's CMakeLists does not
//!   define `ZCBOR_CANONICAL`), keys in `boot_serial.c`'s order.

// Wire codec: every narrowing conversion is checked (try_from with a
// typed error), never a silent `as` truncation (issue 10, Guards).
#![warn(clippy::cast_possible_truncation)]

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

use crate::error::CodecError;

/// A CBOR writer into memory. Writing into a `Vec` cannot fail, so the
/// encoder's `Infallible` errors are discarded in this one place.
pub(crate) struct Writer(Encoder<Vec<u8>>);

/// Writes one item; a `Vec` writer cannot fail.
macro_rules! put {
    ($self:ident, $call:expr) => {{
        let written = $call.is_ok();
        debug_assert!(written, "encoding into a Vec cannot fail");
        $self
    }};
}

impl Writer {
    pub(crate) fn new() -> Self {
        Writer(Encoder::new(Vec::new()))
    }

    /// A definite-length map of `n` pairs.
    pub(crate) fn map(&mut self, n: u64) -> &mut Self {
        put!(self, self.0.map(n))
    }

    /// An indefinite-length map (zcbor), closed by [`Writer::end`].
    pub(crate) fn begin_map(&mut self) -> &mut Self {
        put!(self, self.0.begin_map())
    }

    /// An indefinite-length list (zcbor), closed by [`Writer::end`].
    pub(crate) fn begin_array(&mut self) -> &mut Self {
        put!(self, self.0.begin_array())
    }

    /// Closes an indefinite-length container.
    pub(crate) fn end(&mut self) -> &mut Self {
        put!(self, self.0.end())
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        put!(self, self.0.str(s))
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        put!(self, self.0.bytes(b))
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        put!(self, self.0.u64(v))
    }

    pub(crate) fn i64(&mut self, v: i64) -> &mut Self {
        put!(self, self.0.i64(v))
    }

    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        put!(self, self.0.bool(v))
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0.into_writer()
    }
}

/// Calls `f` for each entry of the map at the decoder's position with the
/// key and the decoder positioned at the value. `f` returns whether it
/// consumed the value; unconsumed values are skipped. Keys must be text
/// strings, as zcbor's `zcbor_map_decode_bulk` requires
/// (`boot/boot_serial/src/zcbor_bulk.c`). Definite and indefinite maps are
/// accepted.
pub(crate) fn each_entry<'b>(
    d: &mut Decoder<'b>,
    mut f: impl FnMut(&'b str, &mut Decoder<'b>) -> Result<bool, CodecError>,
) -> Result<(), CodecError> {
    if !matches!(d.datatype()?, Type::Map | Type::MapIndef) {
        return Err(CodecError::NotAMap);
    }
    let len = d.map()?;
    let mut remaining = len;
    loop {
        match remaining {
            Some(0) => return Ok(()),
            Some(n) => remaining = Some(n - 1),
            None => {
                if d.datatype()? == Type::Break {
                    d.set_position(d.position() + 1);
                    return Ok(());
                }
            }
        }
        if d.datatype()? != Type::String {
            return Err(CodecError::KeyNotText);
        }
        let key = d.str()?;
        if !f(key, d)? {
            d.skip()?;
        }
    }
}

/// Decodes the top-level map of `body`; bytes after it are ignored, as
/// zcbor decodes exactly one element.
pub(crate) fn decode_map<'b>(
    body: &'b [u8],
    f: impl FnMut(&'b str, &mut Decoder<'b>) -> Result<bool, CodecError>,
) -> Result<(), CodecError> {
    let mut d = Decoder::new(body);
    each_entry(&mut d, f)
}

/// Stores a decoded value, refusing a second occurrence of its key.
pub(crate) fn once<T>(
    slot: &mut Option<T>,
    key: &'static str,
    value: T,
) -> Result<bool, CodecError> {
    if slot.is_some() {
        return Err(CodecError::DuplicateKey { key });
    }
    *slot = Some(value);
    Ok(true)
}

/// A value the caller requires.
pub(crate) fn required<T>(slot: Option<T>, key: &'static str) -> Result<T, CodecError> {
    slot.ok_or(CodecError::MissingKey { key })
}

/// Reads a value of `ty` if that is what comes next; otherwise leaves it
/// (to be skipped), as zcbor's bulk decode does for keys it is not asked
/// about.
pub(crate) fn if_type<'b, T>(
    d: &mut Decoder<'b>,
    ty: Type,
    read: impl FnOnce(&mut Decoder<'b>) -> Result<T, minicbor::decode::Error>,
) -> Result<Option<T>, CodecError> {
    if d.datatype()? == ty {
        Ok(Some(read(d)?))
    } else {
        Ok(None)
    }
}

/// An unsigned integer of at most 32 bits (zcbor's `zcbor_uint32_decode`;
/// `size_t` is 32 bits on the ESP chips).
pub(crate) fn u32_value(d: &mut Decoder<'_>, key: &'static str) -> Result<u32, CodecError> {
    match d.datatype()? {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => {
            u32::try_from(d.u64()?).map_err(|_| CodecError::OutOfRange { key })
        }
        _ => Err(CodecError::OutOfRange { key }),
    }
}

/// Any integer that fits an `i64` (response codes).
pub(crate) fn i64_value(d: &mut Decoder<'_>, key: &'static str) -> Result<i64, CodecError> {
    i64::try_from(d.int()?).map_err(|_| CodecError::OutOfRange { key })
}
