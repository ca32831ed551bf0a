//! Verification of signed images: the signature sector's blocks checked
//! against a public key or against key digests burned in eFuse, and the
//! per-block report and info that espsecure prints.

use super::*;

/// Splits a signed image into signed data and its 4 KiB signature sector.
/// With `require_aligned` the length must be a non-zero multiple of 4096
/// (as espsecure without `--skip-padding`), else at least 4096.
pub fn split_signed(image: &[u8], require_aligned: bool) -> Result<(&[u8], &[u8]), VerifyError> {
    if image.len() < SECTOR_SIZE || (require_aligned && !image.len().is_multiple_of(SECTOR_SIZE)) {
        return Err(VerifyError::Size(image.len()));
    }
    Ok(image.split_at(image.len() - SECTOR_SIZE))
}

/// The three block slots of a signature sector, parsed.
pub fn sector_blocks(sector: &[u8]) -> Vec<Result<SignatureBlock, BlockError>> {
    (0..MAX_BLOCKS)
        .map(|n| {
            let slot = sector
                .get(n * SIG_BLOCK_SIZE..(n + 1) * SIG_BLOCK_SIZE)
                .ok_or(BlockError::Length(0))?;
            SignatureBlock::parse(slot)
        })
        .collect()
}

/// What verification found in one slot (for espsecure-style reports).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockOutcome {
    /// No valid block in this slot (no magic, unknown version, bad CRC).
    Invalid(BlockError),
    /// A block whose magic, version and CRC check out, which espsecure
    /// calls valid, checked against the key.
    Valid(ValidBlock),
}

/// A slot espsecure's `validate_signature_block` accepts, and what the
/// key made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidBlock {
    /// The block's scheme; `None` for an ECDSA block whose hash type or
    /// curve id is unknown ([`SignatureBlock::parse`] refuses it).
    pub scheme: Option<SigningScheme>,
    /// The key's verdict.
    pub verdict: KeyVerdict,
}

impl BlockOutcome {
    /// Whether the key verified this slot's signature.
    pub fn is_verified(&self) -> bool {
        matches!(
            self,
            BlockOutcome::Valid(ValidBlock {
                verdict: KeyVerdict::Verified,
                ..
            })
        )
    }
}

/// What checking a valid block's signature with a key found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyVerdict {
    /// The key verifies the signature.
    Verified,
    /// The block was not signed by the key.
    NotSigned,
    /// The block was not signed by the key, and espsecure 5.6.0 does not
    /// get as far as saying so: it stops with an exception.
    EspsecureStops(EspsecureStop),
}

/// Where espsecure 5.6.0's `verify_signature_v2` raises an exception it
/// does not catch, for a valid block whose fields do not fit the kind of
/// key it checks with (espsecure/__init__.py `verify_signature_v2`: the
/// RSA branch reads any block as RSA-PSS over SHA-256; the ECDSA branch
/// takes the curve id where the hash type byte says, then asserts it).
///
/// Not `non_exhaustive`: it models one pinned release, whose exits are
/// all here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EspsecureStop {
    /// The image digest is not as long as the digest of the hash the key
    /// verifies with, which cryptography's `Prehashed` refuses with a
    /// `ValueError`: an RSA key on a SHA-384 ECDSA block, or an ECDSA
    /// block whose curve id and hash type disagree.
    DigestLength,
    /// The curve id is none of P-192, P-256, P-384: an `AssertionError`.
    CurveId(u8),
    /// The hash type byte is neither SHA-256 (0) nor SHA-384 (1), so no
    /// curve id was read: an `UnboundLocalError`.
    HashType(u8),
}

/// A slot as espsecure reads it once `validate_signature_block` has
/// accepted it: the fields sit where the version and hash type byte put
/// them, whether or not the scheme is one we know.
struct AcceptedBlock<'a> {
    bytes: &'a [u8; SIG_BLOCK_SIZE],
}

impl<'a> AcceptedBlock<'a> {
    fn new(slot: &'a [u8]) -> Result<Self, BlockError> {
        Ok(Self {
            bytes: check_envelope(slot)?,
        })
    }

    fn scheme(&self) -> Option<SigningScheme> {
        SignatureBlock::parse(self.bytes).ok().map(|b| b.scheme())
    }

    /// espsecure digests with SHA-384 only for an ECDSA block whose hash
    /// type byte says SHA-384; everything else is SHA-256.
    fn sha384(&self) -> bool {
        self.bytes[1] == SIG_BLOCK_VERSION_ECDSA && self.bytes[2] == ECDSA_SHA_384
    }

    fn digest_of(&self, data: &[u8]) -> Vec<u8> {
        if self.sha384() {
            sha2::Sha384::digest(data).to_vec()
        } else {
            Sha256::digest(data).to_vec()
        }
    }

    fn stored_digest(&self) -> &[u8] {
        &self.bytes[4..if self.sha384() { 52 } else { 36 }]
    }

    /// The key field `signature_info_v2` digests.
    fn key_field(&self) -> &[u8] {
        if self.bytes[1] == SIG_BLOCK_VERSION_RSA {
            &self.bytes[layout(SigningScheme::Rsa3072).key]
        } else if self.sha384() {
            &self.bytes[layout(SigningScheme::Ecdsa384).key]
        } else {
            &self.bytes[layout(SigningScheme::Ecdsa256).key]
        }
    }

    /// Checks the signature over `digest` (the image digest the block's
    /// stored one matched) with `key`, as espsecure does.
    fn check(&self, digest: &[u8], key: &PublicKey) -> KeyVerdict {
        let signature = if key.scheme() == SigningScheme::Rsa3072 {
            if digest.len() != SigningScheme::Rsa3072.image_digest_len() {
                return KeyVerdict::EspsecureStops(EspsecureStop::DigestLength);
            }
            // The RSA signature's place, whatever the block's version.
            let at = layout(SigningScheme::Rsa3072).signature.start;
            Sbv2Signature::from_block_bytes(SigningScheme::Rsa3072, &self.bytes[at..])
        } else {
            let (curve_id, signature_at) = match self.bytes[2] {
                ECDSA_SHA_256 => (self.bytes[36], layout(SigningScheme::Ecdsa256).signature),
                ECDSA_SHA_384 => (self.bytes[52], layout(SigningScheme::Ecdsa384).signature),
                other => return KeyVerdict::EspsecureStops(EspsecureStop::HashType(other)),
            };
            let scheme = match curve_id {
                CURVE_ID_P192 => SigningScheme::Ecdsa192,
                CURVE_ID_P256 => SigningScheme::Ecdsa256,
                CURVE_ID_P384 => SigningScheme::Ecdsa384,
                other => return KeyVerdict::EspsecureStops(EspsecureStop::CurveId(other)),
            };
            if digest.len() != scheme.image_digest_len() {
                return KeyVerdict::EspsecureStops(EspsecureStop::DigestLength);
            }
            if scheme != key.scheme() {
                // Scalars of another curve's size: no signature of this key.
                return KeyVerdict::NotSigned;
            }
            Sbv2Signature::from_block_bytes(scheme, &self.bytes[signature_at.start..])
        };
        match signature.map(|s| key.verify_prehash(digest, &s)) {
            Ok(Ok(())) => KeyVerdict::Verified,
            _ => KeyVerdict::NotSigned,
        }
    }
}

/// Checks every slot of a signed image against `key`, as espsecure
/// `verify-signature --version 2` (all three slots, a stored image digest
/// mismatch is fatal). Returns per-slot outcomes; at least one is
/// verified on success.
pub fn verify_blocks(
    image: &[u8],
    key: &PublicKey,
    require_aligned: bool,
) -> Result<Vec<BlockOutcome>, VerifyError> {
    let report = report_blocks(image, key, require_aligned)?;
    if let Some(mismatch) = report.mismatch {
        return Err(VerifyError::ImageDigest(mismatch.index));
    }
    if report.verified() {
        Ok(report.outcomes)
    } else {
        Err(VerifyError::NoValidSignature)
    }
}

/// A signature block whose stored image digest differs from the image's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DigestMismatch {
    /// The block's slot.
    pub index: BlockIndex,
    /// The block's scheme (`None`: ECDSA of an unknown hash type or curve).
    pub scheme: Option<SigningScheme>,
    /// The digest the block carries.
    pub stored: Vec<u8>,
    /// The digest of the data before the signature sector.
    pub actual: Vec<u8>,
}

/// The slots checked by [`report_blocks`], in order, up to the first
/// stored image digest mismatch (espsecure reports the slots before it
/// and then fails).
#[derive(Debug)]
#[non_exhaustive]
pub struct BlockReport {
    /// One outcome per slot checked.
    pub outcomes: Vec<BlockOutcome>,
    /// The slot where checking stopped, if a digest mismatched.
    pub mismatch: Option<DigestMismatch>,
}

impl BlockReport {
    /// Whether some slot verified with the key.
    pub fn verified(&self) -> bool {
        self.outcomes.iter().any(BlockOutcome::is_verified)
    }
}

/// Checks the slots of a signed image against `key` without deciding the
/// overall verdict, so callers can report every slot as espsecure does:
/// a slot is valid when its magic, version and CRC check out, its stored
/// image digest is compared first, then its signature is read where
/// espsecure reads it for the kind of key. Fails only when the image is
/// too short or not sector aligned.
pub fn report_blocks(
    image: &[u8],
    key: &PublicKey,
    require_aligned: bool,
) -> Result<BlockReport, VerifyError> {
    let (data, sector) = split_signed(image, require_aligned)?;
    let mut digests: [Option<Vec<u8>>; 2] = [None, None];
    let mut outcomes = Vec::with_capacity(MAX_BLOCKS);
    for (index, slot) in sector
        .chunks_exact(SIG_BLOCK_SIZE)
        .take(MAX_BLOCKS)
        .enumerate()
    {
        let block = match AcceptedBlock::new(slot) {
            Ok(b) => b,
            Err(e) => {
                outcomes.push(BlockOutcome::Invalid(e));
                continue;
            }
        };
        let digest =
            digests[usize::from(block.sha384())].get_or_insert_with(|| block.digest_of(data));
        if block.stored_digest() != &digest[..] {
            return Ok(BlockReport {
                outcomes,
                mismatch: Some(DigestMismatch {
                    index,
                    scheme: block.scheme(),
                    stored: block.stored_digest().to_vec(),
                    actual: digest.clone(),
                }),
            });
        }
        outcomes.push(BlockOutcome::Valid(ValidBlock {
            scheme: block.scheme(),
            verdict: block.check(digest, key),
        }));
    }
    Ok(BlockReport {
        outcomes,
        mismatch: None,
    })
}

/// Verifies a 4 KiB-aligned signed image with `key`; returns the index of
/// the first block it verifies.
pub fn verify_image(image: &[u8], key: &PublicKey) -> Result<BlockIndex, VerifyError> {
    let outcomes = verify_blocks(image, key, true)?;
    outcomes
        .iter()
        .position(BlockOutcome::is_verified)
        .ok_or(VerifyError::NoValidSignature)
}

/// Verifies a signed image the way the ROM does: for each valid block
/// whose key digest is one of `trusted_digests` (the eFuse key digests),
/// check the image digest and the signature with the key stored in the
/// block. Returns the first block that passes.
///
/// Blocks whose key is not trusted, or that fail, are skipped (a revoked
/// or foreign key cannot make a correctly signed image fail).
pub fn verify_with_digests(
    image: &[u8],
    trusted_digests: &[[u8; 32]],
) -> Result<BlockIndex, VerifyError> {
    let (data, sector) = split_signed(image, false)?;
    for (index, block) in sector_blocks(sector).into_iter().enumerate() {
        let Ok(block) = block else { continue };
        if !trusted_digests.contains(&block.key_digest()) {
            continue;
        }
        let digest = block.scheme().image_digest(data);
        if block.image_digest() != &digest[..] {
            continue;
        }
        let Ok(key) = block.public_key() else {
            continue;
        };
        if block.verify_signature(&digest, &key).is_ok() {
            return Ok(index);
        }
    }
    Err(VerifyError::NoValidSignature)
}

/// The schemes of a signature sector's leading slots that espsecure calls
/// valid (magic, version and CRC; it stops at the first it refuses), as
/// `sign-data --append-signatures` keeps them. `None`: an ECDSA block of
/// an unknown hash type or curve.
pub fn leading_valid_blocks(sector: &[u8]) -> Vec<Option<SigningScheme>> {
    sector
        .chunks_exact(SIG_BLOCK_SIZE)
        .take(MAX_BLOCKS)
        .map_while(|slot| AcceptedBlock::new(slot).ok())
        .map(|block| block.scheme())
        .collect()
}

/// One block as `signature-info-v2` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    /// Slot index.
    pub index: BlockIndex,
    /// Signing scheme (`None`: ECDSA of an unknown hash type or curve).
    pub scheme: Option<SigningScheme>,
    /// SHA-256 of the key field (the eFuse digest).
    pub key_digest: [u8; 32],
    /// Whether the stored image digest matches the data.
    pub image_digest_ok: bool,
}

/// Lists the valid blocks of an aligned signed image, stopping at the
/// first empty or invalid slot (as espsecure `signature-info-v2`, which
/// takes a block whose magic, version and CRC check out as valid).
pub fn signature_info(image: &[u8]) -> Result<Vec<BlockInfo>, VerifyError> {
    let (data, sector) = split_signed(image, true)?;
    let mut infos = Vec::new();
    for (index, slot) in sector
        .chunks_exact(SIG_BLOCK_SIZE)
        .take(MAX_BLOCKS)
        .enumerate()
    {
        let Ok(block) = AcceptedBlock::new(slot) else {
            break;
        };
        infos.push(BlockInfo {
            index,
            scheme: block.scheme(),
            key_digest: Sha256::digest(block.key_field()).into(),
            image_digest_ok: block.stored_digest() == &block.digest_of(data)[..],
        });
    }
    Ok(infos)
}
