//! imgtool `sign --compression lzma2|lzma2armthumb` (`main.py` 2.5.0): the
//! uncompressed image is built and signed first; its size, hash and
//! signature become the DECOMP_SIZE/SHA/SIGNATURE protected TLVs of a
//! second image whose payload is a 2-byte LZMA2 properties header and a
//! raw LZMA2 stream (ARM-Thumb BCJ first for `lzma2armthumb`). When that
//! is not smaller, imgtool keeps the uncompressed image.
//!
//! With `-E` (imgtool's `keep_comp_size`), the first build only sets the
//! encryption flag in its header (`dont_encrypt`: no padding, no wrapped
//! key, a clear payload), so DECOMP_SHA and DECOMP_SIGNATURE cover that
//! header; the second image also carries COMP_DEC_SIZE, the compressed
//! payload's size before the AES block padding, and is encrypted as any
//! other. The fall-back keeps the first build as it is: flagged encrypted,
//! yet clear and without a wrapped key, as imgtool writes it.
//!
//! The stream comes from the C liblzma, which Python's `lzma` module also
//! binds, with imgtool's parameters, so the bytes are the same.

use std::boxed::Box;
use std::io::Read as _;
use std::vec::Vec;

use super::build::ImageBuilder;
use super::encryption::Encryption;
use super::error::SignError;
use super::options::{SignOptions, Trailer};
use super::signer::ImageSigner;
use super::write::{OutputFormat, SignedImage};
use crate::codec::tlv::TlvKind;

/// imgtool's `comp_default_preset` (`main.py`).
const PRESET: u32 = 9;
/// imgtool's `comp_default_dictsize` (`main.py`).
const DICT_SIZE: u32 = 131_072;
/// imgtool's `comp_default_pb`, `comp_default_lc`, `comp_default_lp`.
const PB: u32 = 2;
const LC: u32 = 3;
const LP: u32 = 1;

/// `--compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// `disabled` (imgtool's default).
    #[default]
    Disabled,
    /// `lzma2`.
    Lzma2,
    /// `lzma2armthumb`: the ARM-Thumb branch filter, then LZMA2.
    Lzma2ArmThumb,
}

/// What a compressed signing did, for imgtool's two stdout lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompressionReport {
    /// Bytes of the raw LZMA2 stream.
    pub compressed: usize,
    /// Bytes of the payload it compresses.
    pub original: usize,
    /// Whether the compressed image was kept (else the uncompressed one).
    pub used: bool,
}

/// imgtool's `create_lzma2_header`: the LZMA2 dictionary-size byte (the
/// first `i` whose size `(2 | (i & 1)) << (i / 2 + 11)` holds the
/// dictionary) and the `(pb * 5 + lp) * 9 + lc` properties byte.
fn lzma2_header() -> [u8; 2] {
    let dict = (0u32..40)
        .find(|i| u64::from(DICT_SIZE) <= u64::from(2 | (i & 1)) << (i / 2 + 11))
        .unwrap_or(40);
    let props = (PB * 5 + LP) * 9 + LC;
    [dict as u8, props as u8]
}

/// The raw LZMA2 stream of `data` with imgtool's filters.
fn compress(data: &[u8], kind: Compression) -> Result<Vec<u8>, SignError> {
    use liblzma::stream::{Action, Filters, LzmaOptions, Status, Stream};
    let mut lzma = LzmaOptions::new_preset(PRESET).map_err(SignError::Compress)?;
    lzma.dict_size(DICT_SIZE)
        .literal_position_bits(LP)
        .literal_context_bits(LC)
        .position_bits(PB);
    let mut filters = Filters::new();
    if kind == Compression::Lzma2ArmThumb {
        filters.arm_thumb();
    }
    filters.lzma2(&lzma);
    let mut stream = Stream::new_raw_encoder(&filters).map_err(SignError::Compress)?;
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    let mut input = data;
    loop {
        if out.capacity() == out.len() {
            out.reserve(out.len().max(4096));
        }
        let before = stream.total_in();
        let status = stream
            .process_vec(input, &mut out, Action::Finish)
            .map_err(SignError::Compress)?;
        let used = usize::try_from(stream.total_in() - before).unwrap_or(input.len());
        input = input.get(used..).unwrap_or_default();
        if status == Status::StreamEnd {
            return Ok(out);
        }
    }
}

/// Signs `input` (the input file: read whole, since it is compressed;
/// an in-memory one may carry its address, an Intel HEX input's lowest)
/// as imgtool does with `--compression kind`, encrypted with `encryption`
/// if given, writing the image to `out`.
///
/// The compressed image sits at the uncompressed one's address (imgtool
/// copies `base_addr` over), so an Intel HEX output needs no `-x` when the
/// input is one. imgtool builds it without `--test` and `--non-bootable`
/// (`main.py` does not pass them to the second `Image`): its header lacks
/// the NON_BOOTABLE flag and an Intel HEX output lacks the erased image_ok
/// field; both are reproduced.
///
/// # Errors
/// [`SignError`] from either build or from liblzma.
pub fn sign_compressed(
    opts: &SignOptions,
    signer: Option<&dyn ImageSigner>,
    encryption: Option<&Encryption>,
    input: super::Input<'_>,
    kind: Compression,
    out: &mut (dyn std::io::Write + Send),
    format: OutputFormat,
) -> Result<(SignedImage, CompressionReport), SignError> {
    let (data, address) = match input {
        super::Input::Bytes { data, address } => (data, address),
        super::Input::Reader { reader, len } => {
            let mut data = Vec::new();
            reader
                .take(len.saturating_add(1))
                .read_to_end(&mut data)
                .map_err(SignError::ReadInput)?;
            if data.len() as u64 != len {
                return Err(SignError::InputChanged);
            }
            (data, None)
        }
    };
    let header_size = opts.header_size as usize;
    let payload = if opts.pad_header {
        data.clone()
    } else {
        data.get(header_size..).unwrap_or_default().to_vec()
    };
    let mut first_bytes = Vec::new();
    let first = ImageBuilder::new(opts)
        .signer(signer)
        .encryption_flag_only(encryption)
        .build(super::Input::Bytes {
            data: data.clone(),
            address,
        })?;
    let image_size = first.header().img_size;
    let first = first.write_to(&mut first_bytes, format)?;
    let compressed = compress(&payload, kind)?;
    let mut tlvs: Vec<(TlvKind, Vec<u8>)> = std::vec![
        (
            TlvKind::DecompSize,
            opts.endian.u32_bytes(image_size).to_vec()
        ),
        (TlvKind::DecompSha, first.hash.as_bytes().to_vec()),
    ];
    if let Some(sig) = &first.signature {
        tlvs.push((TlvKind::DecompSignature, sig.clone()));
    }
    let tlv_bytes: usize = tlvs.iter().map(|(_, v)| v.len()).sum();
    let mut report = CompressionReport {
        compressed: compressed.len(),
        original: payload.len(),
        used: false,
    };
    if compressed.len() + tlv_bytes >= payload.len() {
        out.write_all(&first_bytes)
            .map_err(SignError::WriteOutput)?;
        return Ok((first, report));
    }
    report.used = true;
    let stored_len = lzma2_header().len() + compressed.len();
    if encryption.is_some() {
        // The payload's size before encryption pads it (`keep_comp_size`).
        let stored_len =
            u32::try_from(stored_len).map_err(|_| SignError::ImageTooLarge(stored_len as u64))?;
        tlvs.push((
            TlvKind::CompDecSize,
            opts.endian.u32_bytes(stored_len).to_vec(),
        ));
    }
    let mut second = opts.clone();
    second.compression = kind;
    second.compression_tlvs = tlvs;
    second.non_bootable = false;
    if second.trailer == Trailer::Test {
        second.trailer = Trailer::Pad;
    }
    let mut body = Vec::with_capacity(stored_len + header_size);
    if !opts.pad_header {
        // load_compressed fills the header area with zeros then.
        body.resize(header_size, 0);
    }
    body.extend_from_slice(&lzma2_header());
    body.extend_from_slice(&compressed);
    let signed = ImageBuilder::new(&second)
        .signer(signer)
        .encryption(encryption)
        // The same input address, moved for a prepended header as the
        // first build moved it: imgtool's `base_addr` of the first image.
        .build(super::Input::Bytes {
            data: body,
            address,
        })
        .and_then(|built| built.write_to(out, format))
        .map_err(|error| SignError::Compressed {
            report,
            error: Box::new(error),
        })?;
    Ok((signed, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lzma2_header_is_imgtools_for_its_defaults() {
        // create_lzma2_header(131072, 2, 3, 1) in imgtool 2.5.0: dict byte
        // 10 (2 << 16), properties (2 * 5 + 1) * 9 + 3 = 102.
        assert_eq!(lzma2_header(), [10, 102]);
    }

    /// The compressed image lands where the input's Intel HEX put it
    /// (moved down by a prepended header), as the uncompressed one would:
    /// imgtool copies `base_addr` to the compressed image. Without the
    /// address the `.hex` output was refused.
    #[test]
    fn compressed_hex_output_keeps_the_input_address() {
        use crate::ImageVersion;
        let data: Vec<u8> = (0u32..4000).map(|i| (i / 9 % 7) as u8).collect();
        let mut opts = SignOptions::new(ImageVersion::default(), 0x20, 0x10000);
        opts.pad_header = true;
        let mut out = Vec::new();
        let (_, report) = sign_compressed(
            &opts,
            None,
            None,
            super::super::Input::Bytes {
                data: data.clone(),
                address: Some(0x1_0020),
            },
            Compression::Lzma2,
            &mut out,
            OutputFormat::IntelHex { address: None },
        )
        .unwrap();
        assert!(report.used);
        let (base, image) = crate::hexfile::read(core::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(base, 0x1_0000);
        let mut binary = Vec::new();
        sign_compressed(
            &opts,
            None,
            None,
            super::super::Input::Bytes {
                data,
                address: None,
            },
            Compression::Lzma2,
            &mut binary,
            OutputFormat::Binary,
        )
        .unwrap();
        assert_eq!(image, binary);
    }

    /// imgtool's second `Image` is made without `test` and `non_bootable`:
    /// the compressed image's header has no NON_BOOTABLE flag.
    #[test]
    fn compressed_image_drops_non_bootable_as_imgtool_does() {
        use crate::codec::header::{ImageFlags, ImageHeader};
        use crate::ImageVersion;
        let data: Vec<u8> = (0u32..4000).map(|i| (i / 9 % 7) as u8).collect();
        let mut opts = SignOptions::new(ImageVersion::default(), 0x20, 0x10000);
        opts.pad_header = true;
        opts.non_bootable = true;
        let mut out = Vec::new();
        let (_, report) = sign_compressed(
            &opts,
            None,
            None,
            super::super::Input::Bytes {
                data,
                address: None,
            },
            Compression::Lzma2,
            &mut out,
            OutputFormat::Binary,
        )
        .unwrap();
        assert!(report.used);
        let header = ImageHeader::parse(&out).unwrap();
        assert!(!header.flags.contains(ImageFlags::NON_BOOTABLE));
        assert!(header.flags.contains(ImageFlags::COMPRESSED_LZMA2));
    }
}
