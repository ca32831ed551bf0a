#![allow(clippy::unwrap_used)]

use super::*;

fn keys() -> Vec<SigningKey> {
    [
        SigningScheme::Ecdsa192,
        SigningScheme::Ecdsa256,
        SigningScheme::Ecdsa384,
    ]
    .into_iter()
    .map(|s| SigningKey::generate(s).unwrap())
    .collect()
}

#[test]
fn three_schemes_sign_verify_and_report_digests() {
    let keys = keys();
    let signers: Vec<&dyn Sbv2Signer> = keys.iter().map(|k| k as &dyn Sbv2Signer).collect();
    let image: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    let signed = sign_image(&image, &signers, SignOptions::default()).unwrap();
    assert_eq!(signed.bytes.len(), 8192 + 4096);
    assert_eq!(signed.padded_by, 8192 - 5000);
    for (i, key) in keys.iter().enumerate() {
        let outcomes = verify_blocks(&signed.bytes, &key.public_key(), true).unwrap();
        assert_eq!(
            outcomes[i],
            BlockOutcome::Valid(ValidBlock {
                scheme: Some(key.scheme()),
                verdict: KeyVerdict::Verified,
            })
        );
    }
    let infos = signature_info(&signed.bytes).unwrap();
    let digests: Vec<[u8; 32]> = keys.iter().map(|k| k.public_key().digest()).collect();
    assert_eq!(
        infos.iter().map(|i| i.key_digest).collect::<Vec<_>>(),
        digests
    );
    assert_eq!(
        verify_with_digests(&signed.bytes, &digests[2..]).unwrap(),
        2
    );
    assert!(verify_with_digests(&signed.bytes, &[[0; 32]]).is_err());
    // A fourth block does not fit.
    let more = SignOptions {
        append_signatures: true,
        skip_padding: false,
    };
    assert!(matches!(
        sign_image(&signed.bytes, &signers[..1], more),
        Err(SignError::TooManyBlocks {
            free: 0,
            requested: 1
        })
    ));
}

/// A reader that hands out at most `step` bytes per read, so the
/// stream's hold-back of the last sector meets every split.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The streaming signer (the CLI's path) pads, keeps blocks and signs
/// exactly as the in-memory one: same data, padding, kept blocks and
/// digests, across sector and read-chunk boundaries and short reads.
#[test]
fn sign_stream_matches_sign_image_across_lengths_options_and_short_reads() {
    let keys = keys();
    let one: Vec<&dyn Sbv2Signer> = vec![&keys[1]];
    let mixed: Vec<&dyn Sbv2Signer> = vec![&keys[2], &keys[0]];
    let append = SignOptions {
        append_signatures: true,
        skip_padding: false,
    };
    let skip = SignOptions {
        append_signatures: false,
        skip_padding: true,
    };
    let bytes = |len: usize| -> Vec<u8> { (0..len).map(|i| (i * 7 + i / 251) as u8).collect() };
    let signed_once = sign_image(&bytes(8192), &one, SignOptions::default())
        .unwrap()
        .bytes;
    let chunk = STREAM_CHUNK + SECTOR_SIZE;
    let mut cases: Vec<(Vec<u8>, &Vec<&dyn Sbv2Signer>, SignOptions)> = Vec::new();
    for len in [
        0,
        1,
        4095,
        4096,
        4097,
        8192,
        chunk - 1,
        chunk,
        chunk + 1,
        2 * chunk + 100,
    ] {
        cases.push((bytes(len), &one, SignOptions::default()));
    }
    cases.push((bytes(5000), &mixed, SignOptions::default()));
    cases.push((bytes(5000), &one, skip));
    cases.push((signed_once.clone(), &one, append));
    cases.push((signed_once, &mixed, append));
    for (image, signers, options) in &cases {
        let memory = sign_image(image, signers, *options).unwrap();
        for step in [usize::MAX, 4095, 1000] {
            let mut out = Vec::new();
            let input = Trickle { data: image, step };
            let summary = sign_stream(input, &mut out, signers, *options).unwrap();
            let what = format!("len {} step {step} {options:?}", image.len());
            assert_eq!(summary.data_len, memory.data_len, "{what}");
            assert_eq!(summary.padded_by, memory.padded_by, "{what}");
            assert_eq!(summary.kept_blocks, memory.kept_blocks, "{what}");
            assert_eq!(summary.total_blocks, memory.total_blocks, "{what}");
            assert_eq!(out.len(), memory.bytes.len(), "{what}");
            assert_eq!(
                out[..summary.data_len],
                memory.bytes[..memory.data_len],
                "{what}"
            );
            let sector = |b: &[u8]| -> Vec<_> {
                sector_blocks(&b[b.len() - SECTOR_SIZE..])
                    .into_iter()
                    .map(|b| b.map(|b| (b.image_digest().to_vec(), b.key_digest())).ok())
                    .collect()
            };
            assert_eq!(sector(&out), sector(&memory.bytes), "{what}");
            for key in &keys {
                let verify = |bytes: &[u8]| {
                    verify_blocks(bytes, &key.public_key(), !options.skip_padding)
                        .map_err(|e| e.to_string())
                };
                assert_eq!(verify(&out), verify(&memory.bytes), "{what}");
            }
        }
    }
}

#[test]
fn sign_stream_reports_read_errors_and_too_many_blocks() {
    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("device gone"))
        }
    }
    let keys = keys();
    let one: Vec<&dyn Sbv2Signer> = vec![&keys[1]];
    let err = sign_stream(Broken, &mut Vec::new(), &one, SignOptions::default()).unwrap_err();
    assert!(matches!(err, SignStreamError::Read(_)), "{err}");
    let four: Vec<&dyn Sbv2Signer> = vec![&keys[0], &keys[1], &keys[2], &keys[1]];
    let err = sign_stream(
        &[0u8; 10][..],
        &mut Vec::new(),
        &four,
        SignOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SignStreamError::Sign(SignError::TooManyBlocks {
                free: 3,
                requested: 4
            })
        ),
        "{err}"
    );
    let none: Vec<&dyn Sbv2Signer> = Vec::new();
    let err = sign_stream(
        &[0u8; 10][..],
        &mut Vec::new(),
        &none,
        SignOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, SignStreamError::Sign(SignError::NoSigners)),
        "{err}"
    );
}

/// An external signer (HSM, KMS) plugs in through the RustCrypto
/// `PrehashSigner` trait and goes through the same checked path.
#[test]
fn prehash_signer_adapter_signs_and_a_foreign_signature_is_refused() {
    struct Device(SigningKey);
    impl signature::hazmat::PrehashSigner<Sbv2Signature> for Device {
        fn sign_prehash(&self, prehash: &[u8]) -> Result<Sbv2Signature, signature::Error> {
            self.0.sign_prehash(prehash)
        }
    }
    let key = SigningKey::generate(SigningScheme::Ecdsa384).unwrap();
    let hsm = PrehashSigner {
        public_key: key.public_key(),
        signer: Device(key.clone()),
    };
    let signed = sign_image(&[7; 4096], &[&hsm], SignOptions::default()).unwrap();
    assert_eq!(verify_image(&signed.bytes, &key.public_key()).unwrap(), 0);

    // A signature over other data, presented as pre-calculated.
    let other = key
        .sign_prehash(&SigningScheme::Ecdsa384.image_digest(b"other"))
        .unwrap();
    let pre = PrecalculatedSignature {
        public_key: key.public_key(),
        signature: other,
    };
    assert!(matches!(
        sign_image(&[7; 4096], &[&pre], SignOptions::default()),
        Err(SignError::BadSignature {
            index: 0,
            scheme: SigningScheme::Ecdsa384
        })
    ));
}

#[test]
fn flipped_bytes_fail_verification() {
    let key = SigningKey::generate(SigningScheme::Ecdsa256).unwrap();
    let signed = sign_image(&[0x5A; 4096], &[&key], SignOptions::default())
        .unwrap()
        .bytes;
    let trusted = [key.public_key().digest()];
    assert_eq!(verify_with_digests(&signed, &trusted).unwrap(), 0);
    for at in [0usize, 4095, 4096 + 40, 4096 + 120, 4096 + 1195] {
        let mut bad = signed.clone();
        bad[at] ^= 1;
        assert!(
            verify_image(&bad, &key.public_key()).is_err(),
            "flip at {at}"
        );
        assert!(verify_with_digests(&bad, &trusted).is_err(), "flip at {at}");
    }
}

#[test]
fn block_parse_rejects_bad_crc_and_short_input() {
    let key = SigningKey::generate(SigningScheme::Ecdsa256).unwrap();
    let signed = sign_image(&[1; 4096], &[&key], SignOptions::default())
        .unwrap()
        .bytes;
    let mut block = signed[4096..4096 + SIG_BLOCK_SIZE].to_vec();
    assert!(SignatureBlock::parse(&block).is_ok());
    block[1196] ^= 0xFF;
    assert!(matches!(
        SignatureBlock::parse(&block),
        Err(BlockError::Crc { .. })
    ));
    assert_eq!(
        SignatureBlock::parse(&block[..100]),
        Err(BlockError::Length(100))
    );
}

/// Sets byte `at` of block `slot` in a signed image and recomputes the
/// block's CRC, so the block stays valid in espsecure's eyes.
fn poke(image: &mut [u8], slot: usize, at: usize, value: u8) {
    let start = image.len() - SECTOR_SIZE + slot * SIG_BLOCK_SIZE;
    let block = &mut image[start..start + SIG_BLOCK_SIZE];
    block[at] = value;
    let crc = CRC32.checksum(&block[..CRC_OFFSET]);
    block[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
}

fn verdicts(image: &[u8], key: &SigningKey) -> Vec<(Option<SigningScheme>, KeyVerdict)> {
    report_blocks(image, &key.public_key(), true)
        .unwrap()
        .outcomes
        .into_iter()
        .map(|o| match o {
            BlockOutcome::Valid(v) => (v.scheme, v.verdict),
            BlockOutcome::Invalid(e) => panic!("invalid block: {e}"),
        })
        .collect()
}

/// espsecure reads a block's signature where the kind of key says, and
/// stops with an exception where the fields do not fit it; verification
/// reports where, and goes on.
#[test]
fn blocks_that_do_not_fit_the_key_report_where_espsecure_stops() {
    use EspsecureStop::*;
    use KeyVerdict::*;
    use SigningScheme::*;
    let rsa = SigningKey::generate(Rsa3072).unwrap();
    let p256 = SigningKey::generate(Ecdsa256).unwrap();
    let p384 = SigningKey::generate(Ecdsa384).unwrap();
    let signed = sign_image(&[7; 4096], &[&rsa, &p256, &p384], SignOptions::default())
        .unwrap()
        .bytes;
    let schemes = [Some(Rsa3072), Some(Ecdsa256), Some(Ecdsa384)];
    // An RSA key digests SHA-256 only: the P-384 block's digest is too long.
    let rsa_verdicts: Vec<KeyVerdict> = verdicts(&signed, &rsa).iter().map(|v| v.1).collect();
    assert_eq!(
        rsa_verdicts,
        [Verified, NotSigned, EspsecureStops(DigestLength)]
    );
    assert_eq!(
        verdicts(&signed, &p384)[1..],
        [(schemes[1], NotSigned), (schemes[2], Verified)]
    );

    // An ECDSA key reads an RSA block's byte 36 (the modulus's low byte) as
    // its curve id.
    for (curve_id, verdict) in [
        (CURVE_ID_P256, NotSigned),
        (CURVE_ID_P384, EspsecureStops(DigestLength)),
        (7, EspsecureStops(CurveId(7))),
    ] {
        let mut image = signed.clone();
        poke(&mut image, 0, 36, curve_id);
        assert_eq!(
            verdicts(&image, &p256)[0],
            (schemes[0], verdict),
            "curve id {curve_id}"
        );
    }
    // The hash type byte: unread by an RSA key, fatal for an ECDSA key.
    let mut image = signed.clone();
    poke(&mut image, 0, 2, 5);
    assert_eq!(verdicts(&image, &rsa)[0], (schemes[0], Verified));
    assert_eq!(
        verdicts(&image, &p256)[0],
        (schemes[0], EspsecureStops(HashType(5)))
    );

    // A P-384 block claiming P-256: a scheme we do not know, still valid.
    let mut image = signed.clone();
    poke(&mut image, 2, 52, CURVE_ID_P256);
    assert_eq!(
        verdicts(&image, &p384)[2],
        (None, EspsecureStops(DigestLength))
    );
    assert_eq!(
        verdicts(&image, &p256)[2],
        (None, EspsecureStops(DigestLength))
    );
    let infos = signature_info(&image).unwrap();
    assert_eq!(infos.len(), 3);
    assert_eq!(infos[2].scheme, None);
    assert!(infos[2].image_digest_ok);
    let block = &image[image.len() - SECTOR_SIZE + 2 * SIG_BLOCK_SIZE..];
    assert_eq!(
        infos[2].key_digest,
        <[u8; 32]>::from(Sha256::digest(&block[52..149]))
    );
    // The ROM trusts no block it cannot parse.
    let trusted = [p384.public_key().digest()];
    assert!(verify_with_digests(&image, &trusted).is_err());
    assert_eq!(verify_with_digests(&signed, &trusted).unwrap(), 2);
}
