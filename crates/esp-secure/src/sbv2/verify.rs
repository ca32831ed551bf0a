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
    /// No valid block in this slot.
    Invalid(BlockError),
    /// A valid block signed by the key.
    Verified(SigningScheme),
    /// A valid block signed by another key.
    OtherKey(SigningScheme),
}

/// Checks every slot of a signed image against `key`, as espsecure
/// `verify-signature --version 2` (all three slots, a stored image digest
/// mismatch is fatal). Returns per-slot outcomes; at least one is
/// [`BlockOutcome::Verified`] on success.
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
    /// The block's (valid) signing scheme.
    pub scheme: SigningScheme,
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
        self.outcomes
            .iter()
            .any(|o| matches!(o, BlockOutcome::Verified(_)))
    }
}

/// Checks the slots of a signed image against `key` without deciding the
/// overall verdict, so callers can report every slot as espsecure does.
/// Fails only when the image is too short or not sector aligned.
pub fn report_blocks(
    image: &[u8],
    key: &PublicKey,
    require_aligned: bool,
) -> Result<BlockReport, VerifyError> {
    let (data, sector) = split_signed(image, require_aligned)?;
    let mut digests: [Option<Vec<u8>>; 2] = [None, None];
    let mut outcomes = Vec::with_capacity(MAX_BLOCKS);
    for (index, block) in sector_blocks(sector).into_iter().enumerate() {
        let block = match block {
            Ok(b) => b,
            Err(e) => {
                outcomes.push(BlockOutcome::Invalid(e));
                continue;
            }
        };
        let scheme = block.scheme();
        let slot = usize::from(scheme == SigningScheme::Ecdsa384);
        let digest = digests[slot].get_or_insert_with(|| scheme.image_digest(data));
        if block.image_digest() != &digest[..] {
            return Ok(BlockReport {
                outcomes,
                mismatch: Some(DigestMismatch {
                    index,
                    scheme,
                    stored: block.image_digest().to_vec(),
                    actual: digest.clone(),
                }),
            });
        }
        outcomes.push(match block.verify_signature(digest, key) {
            Ok(()) => BlockOutcome::Verified(scheme),
            Err(_) => BlockOutcome::OtherKey(scheme),
        });
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
        .position(|o| matches!(o, BlockOutcome::Verified(_)))
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

/// One block as `signature-info-v2` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    /// Slot index.
    pub index: BlockIndex,
    /// Signing scheme.
    pub scheme: SigningScheme,
    /// SHA-256 of the key field (the eFuse digest).
    pub key_digest: [u8; 32],
    /// Whether the stored image digest matches the data.
    pub image_digest_ok: bool,
}

/// Lists the valid blocks of an aligned signed image, stopping at the
/// first empty or invalid slot (as espsecure `signature-info-v2`).
pub fn signature_info(image: &[u8]) -> Result<Vec<BlockInfo>, VerifyError> {
    let (data, sector) = split_signed(image, true)?;
    let mut infos = Vec::new();
    for (index, block) in sector_blocks(sector).into_iter().enumerate() {
        let Ok(block) = block else { break };
        let digest = block.scheme().image_digest(data);
        infos.push(BlockInfo {
            index,
            scheme: block.scheme(),
            key_digest: block.key_digest(),
            image_digest_ok: block.image_digest() == &digest[..],
        });
    }
    Ok(infos)
}
