//! The streamed, early-writing and in-memory paths of
//! [`BuiltImage::write_to`] produce the same bytes, and fail cleanly.

#![allow(clippy::unwrap_used)]

use std::vec::Vec;

use super::*;
use crate::keys::{KeyType, PrivateKey};
use crate::ImageVersion;

fn signer() -> KeySigner {
    KeySigner::new(PrivateKey::generate(KeyType::Ed25519).unwrap(), false).unwrap()
}

/// Builds from memory into a Vec.
fn in_memory(
    opts: &SignOptions,
    signer: Option<&dyn ImageSigner>,
    data: Vec<u8>,
    format: OutputFormat,
) -> Result<(Vec<u8>, SignedImage), SignError> {
    let mut out = Vec::new();
    let signed = ImageBuilder::new(opts)
        .signer(signer)
        .build(Input::Bytes {
            data,
            address: None,
        })?
        .write_to(&mut out, format)?;
    Ok((out, signed))
}

/// Builds from a reader (streamed for binary outputs) into a Vec.
fn from_reader(
    opts: &SignOptions,
    signer: Option<&dyn ImageSigner>,
    data: &[u8],
    len: u64,
) -> Result<(Vec<u8>, SignedImage), SignError> {
    let mut out = Vec::new();
    let signed = ImageBuilder::new(opts)
        .signer(signer)
        .build(Input::Reader {
            reader: &mut &data[..],
            len,
        })?
        .write_to(&mut out, OutputFormat::Binary)?;
    Ok((out, signed))
}

/// The streamed form writes exactly the image the in-memory form builds,
/// for payloads around the 1 MiB chunk size, with and without
/// `--pad-header` and slot padding.
#[test]
fn streamed_and_in_memory_images_are_identical() {
    let signer = signer();
    for (len, pad_header, trailer) in [
        (0usize, true, Trailer::None),
        (5000, false, Trailer::Confirm),
        ((1 << 20) + 17, true, Trailer::Pad),
        (3 << 20, false, Trailer::None),
    ] {
        let mut opts = SignOptions::new(ImageVersion::default(), 0x20, 0x80_0000);
        opts.pad_header = pad_header;
        opts.trailer = trailer;
        let mut input = if pad_header {
            Vec::new()
        } else {
            std::vec![0; 0x20]
        };
        input.extend((0..len as u32).map(|i| (i * 13 + 5) as u8));
        for signer in [None, Some(&signer as &dyn ImageSigner)] {
            let (whole, built) =
                in_memory(&opts, signer, input.clone(), OutputFormat::Binary).unwrap();
            let (streamed, signed) =
                from_reader(&opts, signer, &input, input.len() as u64).unwrap();
            assert!(streamed == whole, "len {len} pad_header {pad_header}");
            assert_eq!(signed.hash.as_bytes(), built.hash.as_bytes());
            assert_eq!(signed.len, built.len);
            if trailer.pads() {
                assert_eq!(whole.len(), 0x80_0000);
            }
        }
    }
}

/// A reader that ends early is a changed input; a failing writer is an
/// output error; neither panics.
#[test]
fn short_inputs_and_failing_outputs_are_errors() {
    let opts = SignOptions::new(ImageVersion::default(), 0x20, 0x80_0000);
    let data = [0u8; 0x30];
    assert!(matches!(
        from_reader(&opts, None, &data, 0x31),
        Err(SignError::InputChanged)
    ));
    assert!(matches!(
        from_reader(&opts, None, &data[..0x10], 0x10),
        Err(SignError::InputTooShort { len: 0x10, .. })
    ));
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let big = std::vec![0u8; 300_000];
    for input in [
        Input::Bytes {
            data: big.clone(),
            address: None,
        },
        Input::Reader {
            reader: &mut &big[..],
            len: big.len() as u64,
        },
    ] {
        let r = ImageBuilder::new(&opts)
            .build(input)
            .unwrap()
            .write_to(&mut Broken, OutputFormat::Binary);
        assert!(matches!(r, Err(SignError::WriteOutput(_))), "{r:?}");
    }
}

/// A reader that yields fewer or more bytes than announced is refused:
/// the header already records the announced size.
#[test]
fn a_reader_that_is_shorter_or_longer_than_announced_is_refused() {
    let opts = SignOptions::new(ImageVersion::default(), 0x20, 0);
    let data = std::vec![0u8; 0x20 + 5000];
    for announced in [data.len() as u64 - 1, data.len() as u64 + 1] {
        let r = ImageBuilder::new(&opts)
            .build(Input::Reader {
                reader: &mut &data[..],
                len: announced,
            })
            .and_then(|built| built.write_to(&mut std::vec::Vec::new(), OutputFormat::Binary));
        assert!(
            matches!(r, Err(SignError::InputChanged)),
            "{announced}: {r:?}"
        );
    }
}

/// The header area must be zero unless it is prepended.
#[test]
fn a_non_zero_header_area_is_refused() {
    let opts = SignOptions::new(ImageVersion::default(), 0x20, 0);
    let mut data = std::vec![0u8; 0x40];
    data[3] = 1;
    assert!(matches!(
        in_memory(&opts, None, data, OutputFormat::Binary),
        Err(SignError::HeaderNotZero(0x20))
    ));
}

/// A padded Intel HEX output whose slot ends past 4 GiB is refused: an
/// extended address record cannot point there. The writer used to keep
/// only the low 16 bits of the upper address and wrote records at the
/// wrong place.
#[test]
fn regression_hex_output_past_4_gib_was_written_with_a_truncated_upper_address() {
    let mut opts = SignOptions::new(ImageVersion::default(), 0x20, 0x2_0000);
    opts.pad_header = true;
    opts.trailer = Trailer::Confirm;
    let at = |address| {
        in_memory(
            &opts,
            None,
            std::vec![1; 16],
            OutputFormat::IntelHex {
                address: Some(address),
            },
        )
    };
    assert!(matches!(
        at(0xffff_0000),
        Err(SignError::HexPastFourGiB(
            crate::hexfile::UpperAddressOverflow::PastFourGiB
        ))
    ));
    // the last slot that fits
    let (text, _) = at(0xfffe_0000).unwrap();
    let (base, data) = crate::hexfile::read(std::str::from_utf8(&text).unwrap()).unwrap();
    assert_eq!((base, data.len()), (0xfffe_0000, 0x2_0000));
}

/// An Intel HEX output needs an address from somewhere; with `--pad` the
/// trailer's records sit at the end of the slot.
#[test]
fn hex_output_takes_its_address_from_the_option_or_the_input() {
    let mut opts = SignOptions::new(ImageVersion::default(), 0x20, 0x1000);
    opts.pad_header = true;
    opts.trailer = Trailer::Confirm;
    assert!(matches!(
        in_memory(
            &opts,
            None,
            std::vec![1; 16],
            OutputFormat::IntelHex { address: None }
        ),
        Err(SignError::HexAddressRequired)
    ));
    let (text, _) = in_memory(
        &opts,
        None,
        std::vec![1; 16],
        OutputFormat::IntelHex {
            address: Some(0x8000),
        },
    )
    .unwrap();
    let (base, data) = crate::hexfile::read(std::str::from_utf8(&text).unwrap()).unwrap();
    assert_eq!(base, 0x8000);
    assert_eq!(data.len(), 0x1000);
    assert_eq!(data[0x1000 - 16..], crate::codec::trailer::MAGIC_ALIGN8);
    assert_eq!(data[0x1000 - 24], 0x01);
    // From an input address, moved down by the prepended header.
    let mut out = Vec::new();
    ImageBuilder::new(&opts)
        .build(Input::Bytes {
            data: std::vec![1; 16],
            address: Some(0x8020),
        })
        .unwrap()
        .write_to(&mut out, OutputFormat::IntelHex { address: None })
        .unwrap();
    assert_eq!(out, text);
}

/// The Espressif sector count is a warning when only imgtool's default fits.
#[test]
fn espressif_sector_count_is_a_warning_and_overflow_an_error() {
    let mut opts = SignOptions::new(ImageVersion::default(), 0x20, 0x4000);
    opts.align = 4;
    let (_, signed) = in_memory(
        &opts,
        None,
        std::vec![0; 0x4000 - 0x700],
        OutputFormat::Binary,
    )
    .unwrap();
    assert!(matches!(
        signed.warnings[..],
        [SignWarning::EspressifSectorCount { slot: 0x4000, .. }]
    ));
    assert!(matches!(
        in_memory(&opts, None, std::vec![0; 0x4000], OutputFormat::Binary),
        Err(SignError::TooLarge { slot: 0x4000, .. })
    ));
}

/// imgtool's encryption for an Ed25519 or P-384 `-E` key: the header flag
/// and the padding, the payload encrypted, no key TLV; HMAC-SHA512 is
/// refused; a key imgtool wraps for keeps its TLV.
#[test]
fn imgtool_encryption_without_a_wrapping_key_sets_the_flag_and_writes_no_tlv() {
    use crate::enc::{AesKeyLen, EncError, HmacSha};
    use crate::keys::KeyFile;
    let file = |t: KeyType| KeyFile::Private(PrivateKey::generate(t).unwrap());
    let for_key = |t: KeyType, hmac: HmacSha, clear: bool| {
        Encryption::for_imgtool_key(file(t), AesKeyLen::Aes128, hmac, clear)
    };
    assert!(matches!(
        for_key(KeyType::Ed25519, HmacSha::Sha512, false),
        Err(EncError::HmacSha512Unsupported(_))
    ));
    let wrapped = for_key(KeyType::X25519, HmacSha::Sha256, false).unwrap();
    assert!(wrapped.tlv_kind().is_some());
    let opts = SignOptions::new(ImageVersion::default(), 0x20, 0);
    // a zero header area, then 0x15 bytes
    let payload: Vec<u8> = (0..0x35u32)
        .map(|i| if i < 0x20 { 0 } else { i as u8 })
        .collect();
    let build = |enc: &Encryption| {
        let mut out = Vec::new();
        ImageBuilder::new(&opts)
            .signer(Some(&signer()))
            .encryption(Some(enc))
            .build(Input::Bytes {
                data: payload.clone(),
                address: None,
            })
            .unwrap()
            .write_to(&mut out, OutputFormat::Binary)
            .unwrap();
        out
    };
    for t in [KeyType::Ed25519, KeyType::EcdsaP384] {
        let clear = for_key(t, HmacSha::Sha256, true).unwrap();
        assert!(clear.tlv_kind().is_none());
        let image = build(&clear);
        let flags = u32::from_le_bytes(image[16..20].try_into().unwrap());
        assert_eq!(
            flags & AesKeyLen::Aes128.header_flag(),
            AesKeyLen::Aes128.header_flag()
        );
        // 0x15 payload bytes padded to 0x20, in clear text
        let img_size = u32::from_le_bytes(image[12..16].try_into().unwrap());
        assert_eq!(img_size, 0x20);
        assert_eq!(&image[0x20..0x35], &payload[0x20..]);
        let hidden = build(&for_key(t, HmacSha::Sha256, false).unwrap());
        assert_ne!(&hidden[0x20..0x35], &payload[0x20..]);
        assert_eq!(hidden.len(), image.len(), "no TLV carries the key");
    }
}

/// imgtool's save arithmetic in Python integers: the slot check, a `.hex`
/// output without an address, padding to the slot with the magic last,
/// and a trailer shrunk below zero by a negative `-M`.
#[test]
fn imgtool_save_checks_pads_and_refuses_as_imgtool() {
    let opts = SignOptions::new(ImageVersion::default(), 0x20, 0);
    let magic = crate::codec::trailer::magic_in(opts.effective_max_align(), opts.endian);
    let layout = ImgtoolLayout {
        slot_size: 0x100,
        max_sectors: 128,
        hex_addr: None,
        pad: true,
        test: false,
        confirm: false,
    };
    assert!(matches!(
        imgtool_save(&opts, &layout, std::vec![0; 0x100], None, None),
        Err(SaveRefusal::ExceedsSlot {
            image: 0x100,
            slot: 0x100,
            ..
        })
    ));
    // an exported vector: create returns before check_trailer
    let mut exported = opts.clone();
    exported.vector_to_sign = Some(super::VectorToSign::Payload);
    let saved = imgtool_save(&exported, &layout, std::vec![0; 0x100], None, None).unwrap();
    assert!(saved.bytes.ends_with(&magic));
    let unpadded = ImgtoolLayout {
        slot_size: 0,
        pad: false,
        ..layout
    };
    assert_eq!(
        imgtool_save(&opts, &unpadded, std::vec![1; 4], None, Some(None)),
        Err(SaveRefusal::NoHexAddress)
    );
    let hex = imgtool_save(&opts, &unpadded, std::vec![1; 4], None, Some(Some(0x1000))).unwrap();
    // four 0x01 bytes at 0x1000, checksum 0x100 - 0x18
    assert_eq!(hex.bytes, b":0410000001010101E8\n:00000001FF\n");
    let fits = ImgtoolLayout {
        slot_size: 0x1_0000,
        ..layout
    };
    let saved = imgtool_save(&opts, &fits, std::vec![1; 0x100], None, None).unwrap();
    assert_eq!(saved.bytes.len(), 0x1_0000);
    assert!(saved.bytes.ends_with(&magic));
    assert_eq!(saved.stopped, None);
    // no slot: no padding, and a trailer under the magic's 16 bytes
    // leaves image_ok's index before the start
    let shrunk = ImgtoolLayout {
        slot_size: 0,
        max_sectors: -20,
        confirm: true,
        ..layout
    };
    assert_eq!(
        imgtool_save(&opts, &shrunk, std::vec![1; 0x100], None, None),
        Err(SaveRefusal::ImageOkBeforeStart)
    );
    // padding Python cannot build: past a ssize_t, past 4 Gi elements,
    // and a padded image past 4 GiB; none is allocated
    for (slot_size, max_sectors, refusal) in [
        (1 << 64, 128, SaveRefusal::PaddingPastIndex),
        (0x10_0000_0000, 128, SaveRefusal::PaddingOutOfMemory),
        (0x1_0000_0000, 128, SaveRefusal::PaddingOutOfMemory),
        (0, 1 << 40, SaveRefusal::PaddingOutOfMemory),
        (0, 1 << 70, SaveRefusal::PaddingPastIndex),
    ] {
        let huge = ImgtoolLayout {
            slot_size,
            max_sectors,
            ..layout
        };
        assert_eq!(
            imgtool_save(&opts, &huge, std::vec![1; 0x100], None, None),
            Err(refusal),
            "{slot_size:#x} {max_sectors:#x}"
        );
    }
    // a -M past i128 arithmetic saturates instead of overflowing
    let saturated = ImgtoolLayout {
        max_sectors: i128::MAX,
        ..fits
    };
    assert!(matches!(
        imgtool_save(&opts, &saturated, std::vec![1; 0x100], None, None),
        Err(SaveRefusal::ExceedsSlot { .. })
    ));
}
