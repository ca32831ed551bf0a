//! Property tests: the parsers never panic on arbitrary bytes, and the
//! header and TLV encodings round-trip.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use mcuboot_image::{
    validate, HashAlg, ImageFlags, ImageHeader, ImageVersion, SignatureKind, SliceTlvs, TlvKind,
    ValidateOptions, IMAGE_MAGIC,
};
use proptest::prelude::*;

fn header_strategy() -> impl Strategy<Value = ImageHeader> {
    (
        any::<u32>(),
        32u16..,
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        any::<[u8; 8]>(),
    )
        .prop_map(
            |(load_addr, hdr_size, protect_tlv_size, img_size, flags, ver)| ImageHeader {
                magic: IMAGE_MAGIC,
                load_addr,
                hdr_size,
                protect_tlv_size,
                img_size,
                flags: ImageFlags::from_bits_retain(flags),
                version: ImageVersion::from_bytes(&ver),
                pad1: 0,
            },
        )
}

proptest! {
    #[test]
    fn header_round_trips(h in header_strategy()) {
        let bytes = h.to_bytes();
        let parsed = ImageHeader::parse(&bytes);
        if h.hashed_len().is_some() {
            prop_assert_eq!(parsed, Ok(h));
        } else {
            prop_assert!(parsed.is_err());
        }
    }

    #[test]
    fn version_display_parses_back(v in any::<[u8; 8]>()) {
        let v = ImageVersion::from_bytes(&v);
        prop_assert_eq!(v.to_string().parse::<ImageVersion>(), Ok(v));
    }

    #[test]
    fn tlv_code_round_trips(code in any::<u16>()) {
        prop_assert_eq!(TlvKind::from_code(code).code(), code);
    }

    #[test]
    fn tlvs_round_trip(
        prot in proptest::collection::vec((0x40u16..0x80, proptest::collection::vec(any::<u8>(), 0..40)), 0..4),
        unprot in proptest::collection::vec((0x01u16..0x40, proptest::collection::vec(any::<u8>(), 0..40)), 0..4),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let area = |magic: u16, tlvs: &[(u16, Vec<u8>)]| {
            let mut body = Vec::new();
            for (t, d) in tlvs {
                body.extend_from_slice(&t.to_le_bytes());
                body.extend_from_slice(&(d.len() as u16).to_le_bytes());
                body.extend_from_slice(d);
            }
            let mut out = magic.to_le_bytes().to_vec();
            out.extend_from_slice(&((body.len() + 4) as u16).to_le_bytes());
            out.extend(body);
            out
        };
        let prot_area = if prot.is_empty() { Vec::new() } else { area(0x6908, &prot) };
        let hdr = ImageHeader {
            magic: IMAGE_MAGIC,
            hdr_size: 32,
            img_size: payload.len() as u32,
            protect_tlv_size: prot_area.len() as u16,
            ..ImageHeader::default()
        };
        let mut image = hdr.to_bytes().to_vec();
        image.extend_from_slice(&payload);
        image.extend_from_slice(&prot_area);
        image.extend(area(0x6907, &unprot));
        let found: Vec<(u16, Vec<u8>, bool)> = SliceTlvs::new(&image, &hdr)
            .unwrap()
            .map(|r| r.map(|(e, d)| (e.kind.code(), d.to_vec(), e.protected)))
            .collect::<Result<_, _>>()
            .unwrap();
        let expected: Vec<(u16, Vec<u8>, bool)> = prot.iter().map(|(t, d)| (*t, d.clone(), true))
            .chain(unprot.iter().map(|(t, d)| (*t, d.clone(), false)))
            .collect();
        prop_assert_eq!(found, expected);
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), hdr_fix in any::<bool>()) {
        let mut bytes = bytes;
        if hdr_fix && bytes.len() >= 32 {
            // Make the header valid-looking so the TLV code is exercised.
            bytes[..4].copy_from_slice(&IMAGE_MAGIC.to_le_bytes());
            bytes[8] = 32;
            bytes[9] = 0;
            let room = (bytes.len() - 32) as u32;
            let img = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) % (room + 1);
            bytes[12..16].copy_from_slice(&img.to_le_bytes());
        }
        if let Ok(hdr) = ImageHeader::parse(&bytes) {
            if let Ok(tlvs) = SliceTlvs::new(&bytes, &hdr) {
                for _ in tlvs {}
            }
            let key = [0u8; 44];
            for kind in [SignatureKind::Ed25519, SignatureKind::EcdsaP256, SignatureKind::Rsa2048] {
                let mut src = &bytes[..];
                let _ = validate(&mut src, &hdr, &[&key], &ValidateOptions::new(HashAlg::Sha256).with_signature(kind).tlv_allow_list(true));
            }
        }
    }
}
