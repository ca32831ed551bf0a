//! Secure Boot V2: signature blocks, signing, verification.
//!
//! A signed image is the image data padded to a 4 KiB boundary, followed by
//! one 4 KiB *signature sector* holding up to three 1216-byte
//! [`SignatureBlock`]s and 0xFF filler (reference/esptool.md §1). Each block
//! carries the image digest, the signer's public key and the signature; the
//! chip trusts a block when the SHA-256 of its key field is one of the key
//! digests burned in eFuse ([`PublicKey::digest`], [`verify_with_digests`]).

use sha2::{Digest, Sha256};

pub use crate::keys::{
    KeyError, P192PublicKey, P192SecretKey, PublicKey, Sbv2Signature, SigningKey, SigningScheme,
    VerificationKeyError,
};
use crate::keys::{CURVE_ID_P192, CURVE_ID_P256, CURVE_ID_P384, RSA_BYTES};

/// `SIG_BLOCK_MAGIC` (espsecure/__init__.py L33-L51).
pub const SIG_BLOCK_MAGIC: u8 = 0xE7;
/// `SIG_BLOCK_VERSION_RSA`.
pub const SIG_BLOCK_VERSION_RSA: u8 = 0x02;
/// `SIG_BLOCK_VERSION_ECDSA`.
pub const SIG_BLOCK_VERSION_ECDSA: u8 = 0x03;
/// Byte 2 of an ECDSA block: `ECDSA_SHA_256` / `ECDSA_SHA_384`.
const ECDSA_SHA_256: u8 = 0x00;
const ECDSA_SHA_384: u8 = 0x01;
/// `SIG_BLOCK_SIZE`.
pub const SIG_BLOCK_SIZE: usize = 1216;
/// `SECTOR_SIZE`: data is padded to it and the signature sector is one.
pub const SECTOR_SIZE: usize = 4096;
/// At most three blocks fit the signature sector (`SIG_BLOCK_MAX_COUNT`).
pub const MAX_BLOCKS: usize = 3;
/// The CRC32 covers bytes `0..1196` and is stored at 1196 (LE); 16 zero
/// bytes follow (reference/esptool.md §1.1).
const CRC_OFFSET: usize = 1196;

/// zlib's CRC-32 (`zlib.crc32` in espsecure).
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Index of a block in the signature sector (0..=2).
pub type BlockIndex = usize;

/// Why a 1216-byte slot is not a valid signature block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// The slice is not 1216 bytes long.
    #[error("a signature block is {SIG_BLOCK_SIZE} bytes, got {0}")]
    Length(usize),
    /// Byte 0 is not 0xE7 (typically an empty 0xFF slot).
    #[error("no signature block magic (0xE7)")]
    Magic,
    /// Version other than 2 (RSA) or 3 (ECDSA).
    #[error("unknown signature block version {0:#04x}")]
    Version(u8),
    /// The stored CRC32 does not match bytes 0..1196.
    #[error("signature block CRC mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Crc {
        /// CRC in the block.
        stored: u32,
        /// CRC of its contents.
        computed: u32,
    },
    /// An ECDSA block whose hash type / curve id combination is unknown.
    #[error("unknown ECDSA hash type {hash_type:#04x} / curve id {curve_id}")]
    Curve {
        /// Byte 2.
        hash_type: u8,
        /// The curve id byte.
        curve_id: u8,
    },
}

/// Errors of signing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// No signer was given.
    #[error("no signing key or pre-calculated signature given")]
    NoSigners,
    /// The sector already holds three blocks (or too many new ones).
    #[error("the signature sector has room for {free} more block(s), {requested} requested (at most {MAX_BLOCKS} in total)")]
    TooManyBlocks {
        /// Free slots.
        free: usize,
        /// Signers given.
        requested: usize,
    },
    /// The signer failed, or its signature does not verify against its
    /// public key (e.g. a PKCS#1 v1.5 signature where PSS is required).
    #[error("the signature for key {index} does not verify with its public key ({scheme}); it was not made with the right key or padding (Secure Boot V2 needs RSA-PSS salt 32 / ECDSA over the SHA-256 (SHA-384 for P-384) image digest)")]
    BadSignature {
        /// Position of the signer.
        index: usize,
        /// The signer's scheme.
        scheme: SigningScheme,
    },
}

/// Errors of verification.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The file is shorter than a signature sector or not sector aligned.
    #[error("signed data must be at least {SECTOR_SIZE} bytes and a multiple of {SECTOR_SIZE} (unless signed without sector padding); got {0} bytes")]
    Size(usize),
    /// A valid block's stored image digest differs from the image's.
    #[error("signature block {0} image digest does not match the actual image digest")]
    ImageDigest(BlockIndex),
    /// No block verifies with the key (or with any trusted digest).
    #[error("no signature block verifies with the provided key")]
    NoValidSignature,
}

/// One 1216-byte Secure Boot V2 signature block (validated: magic,
/// version, CRC, known scheme).
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureBlock {
    bytes: Box<[u8; SIG_BLOCK_SIZE]>,
    scheme: SigningScheme,
}

impl std::fmt::Debug for SignatureBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureBlock")
            .field("scheme", &self.scheme)
            .field("key_digest", &hex::encode(self.key_digest()))
            .finish()
    }
}

/// Byte ranges of a block's fields for a scheme (reference/esptool.md
/// §1.2-1.3).
struct Layout {
    image_digest: std::ops::Range<usize>,
    key: std::ops::Range<usize>,
    signature: std::ops::Range<usize>,
}

fn layout(scheme: SigningScheme) -> Layout {
    match scheme {
        SigningScheme::Rsa3072 => Layout {
            image_digest: 4..36,
            key: 36..812,
            signature: 812..812 + RSA_BYTES,
        },
        SigningScheme::Ecdsa192 | SigningScheme::Ecdsa256 => Layout {
            image_digest: 4..36,
            key: 36..101,
            signature: 101..165,
        },
        SigningScheme::Ecdsa384 => Layout {
            image_digest: 4..52,
            key: 52..149,
            signature: 149..245,
        },
    }
}

impl SignatureBlock {
    /// Parses and validates a block: exactly 1216 bytes, magic, version,
    /// CRC32 and a known scheme.
    pub fn parse(bytes: &[u8]) -> Result<Self, BlockError> {
        let bytes = *check_envelope(bytes)?;
        let version = bytes[1];
        let scheme = if version == SIG_BLOCK_VERSION_RSA {
            SigningScheme::Rsa3072
        } else {
            let hash_type = bytes[2];
            match (hash_type, bytes[36], bytes[52]) {
                (ECDSA_SHA_256, CURVE_ID_P192, _) => SigningScheme::Ecdsa192,
                (ECDSA_SHA_256, CURVE_ID_P256, _) => SigningScheme::Ecdsa256,
                (ECDSA_SHA_384, _, CURVE_ID_P384) => SigningScheme::Ecdsa384,
                (ECDSA_SHA_384, _, curve_id) | (_, curve_id, _) => {
                    return Err(BlockError::Curve {
                        hash_type,
                        curve_id,
                    })
                }
            }
        };
        Ok(Self {
            bytes: Box::new(bytes),
            scheme,
        })
    }

    /// Builds a block from an image digest, the signer's public key and
    /// its signature.
    pub fn new(image_digest: &[u8], key: &PublicKey, signature: &Sbv2Signature) -> Self {
        let scheme = key.scheme();
        let l = layout(scheme);
        let mut bytes = Box::new([0u8; SIG_BLOCK_SIZE]);
        bytes[0] = SIG_BLOCK_MAGIC;
        match scheme {
            SigningScheme::Rsa3072 => bytes[1] = SIG_BLOCK_VERSION_RSA,
            SigningScheme::Ecdsa384 => {
                bytes[1] = SIG_BLOCK_VERSION_ECDSA;
                bytes[2] = ECDSA_SHA_384;
            }
            _ => {
                bytes[1] = SIG_BLOCK_VERSION_ECDSA;
                bytes[2] = ECDSA_SHA_256;
            }
        }
        copy_into(&mut bytes[l.image_digest], image_digest);
        copy_into(&mut bytes[l.key], &key.block_key_field());
        copy_into(&mut bytes[l.signature], &signature.block_bytes());
        let crc = CRC32.checksum(&bytes[..CRC_OFFSET]);
        bytes[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
        Self { bytes, scheme }
    }

    /// The 1216 bytes.
    pub fn as_bytes(&self) -> &[u8; SIG_BLOCK_SIZE] {
        &self.bytes
    }

    /// The signing scheme.
    pub fn scheme(&self) -> SigningScheme {
        self.scheme
    }

    /// The stored image digest (32 bytes, or 48 for P-384).
    pub fn image_digest(&self) -> &[u8] {
        &self.bytes[layout(self.scheme).image_digest]
    }

    /// SHA-256 of the key field: the value burned in eFuse for this signer
    /// (what `signature-info-v2` prints).
    pub fn key_digest(&self) -> [u8; 32] {
        Sha256::digest(&self.bytes[layout(self.scheme).key]).into()
    }

    /// The signer's public key as stored in the block.
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        PublicKey::from_block_key_field(self.scheme, &self.bytes[layout(self.scheme).key])
    }

    /// The signature as stored in the block.
    pub fn signature(&self) -> Result<Sbv2Signature, signature::Error> {
        Sbv2Signature::from_block_bytes(self.scheme, &self.bytes[layout(self.scheme).signature])
    }

    /// Checks the block's signature over `image_digest` with `key`.
    pub fn verify_signature(
        &self,
        image_digest: &[u8],
        key: &PublicKey,
    ) -> Result<(), signature::Error> {
        if key.scheme() != self.scheme {
            return Err(signature::Error::new());
        }
        key.verify_prehash(image_digest, &self.signature()?)
    }
}

/// Checks what espsecure's `validate_signature_block` checks of a slot
/// (length, magic, version, CRC32), and nothing of the fields: the hash
/// type and curve id may still be unknown ([`BlockError::Curve`]).
pub(crate) fn check_envelope(bytes: &[u8]) -> Result<&[u8; SIG_BLOCK_SIZE], BlockError> {
    let bytes: &[u8; SIG_BLOCK_SIZE] = bytes
        .try_into()
        .map_err(|_| BlockError::Length(bytes.len()))?;
    if bytes[0] != SIG_BLOCK_MAGIC {
        return Err(BlockError::Magic);
    }
    let version = bytes[1];
    if version != SIG_BLOCK_VERSION_RSA && version != SIG_BLOCK_VERSION_ECDSA {
        return Err(BlockError::Version(version));
    }
    let stored = u32::from_le_bytes([
        bytes[CRC_OFFSET],
        bytes[CRC_OFFSET + 1],
        bytes[CRC_OFFSET + 2],
        bytes[CRC_OFFSET + 3],
    ]);
    let computed = CRC32.checksum(&bytes[..CRC_OFFSET]);
    if stored != computed {
        return Err(BlockError::Crc { stored, computed });
    }
    Ok(bytes)
}

fn copy_into(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
}

/// Something that produces Secure Boot V2 signatures: a private key file
/// ([`SigningKey`]), a signature computed elsewhere
/// ([`PrecalculatedSignature`]), or an HSM/remote signer via
/// [`PrehashSigner`]. [`sign_image`] verifies every signature against
/// [`Sbv2Signer::public_key`] before embedding it.
pub trait Sbv2Signer {
    /// The verification key embedded in the block.
    fn public_key(&self) -> PublicKey;
    /// Signs the image digest (SHA-256, or SHA-384 for P-384).
    fn sign_prehash(&self, image_digest: &[u8]) -> Result<Sbv2Signature, signature::Error>;
}

impl Sbv2Signer for SigningKey {
    fn public_key(&self) -> PublicKey {
        SigningKey::public_key(self)
    }
    fn sign_prehash(&self, image_digest: &[u8]) -> Result<Sbv2Signature, signature::Error> {
        SigningKey::sign_prehash(self, image_digest)
    }
}

/// A signature made elsewhere (remote signing service, `openssl pkeyutl`),
/// paired with its public key, as espsecure's `--pub-key` + `--signature`.
#[derive(Clone, Debug)]
pub struct PrecalculatedSignature {
    /// The signer's public key.
    pub public_key: PublicKey,
    /// The signature over the 4 KiB-aligned data's digest.
    pub signature: Sbv2Signature,
}

impl Sbv2Signer for PrecalculatedSignature {
    fn public_key(&self) -> PublicKey {
        self.public_key.clone()
    }
    fn sign_prehash(&self, _image_digest: &[u8]) -> Result<Sbv2Signature, signature::Error> {
        Ok(self.signature.clone())
    }
}

/// Adapts any RustCrypto [`signature::hazmat::PrehashSigner`] producing
/// [`Sbv2Signature`]s (an HSM, a KMS) to [`Sbv2Signer`].
pub struct PrehashSigner<S> {
    /// The signer's public key.
    pub public_key: PublicKey,
    /// The device or service.
    pub signer: S,
}

impl<S: signature::hazmat::PrehashSigner<Sbv2Signature>> Sbv2Signer for PrehashSigner<S> {
    fn public_key(&self) -> PublicKey {
        self.public_key.clone()
    }
    fn sign_prehash(&self, image_digest: &[u8]) -> Result<Sbv2Signature, signature::Error> {
        self.signer.sign_prehash(image_digest)
    }
}

/// Options of [`sign_image`] (espsecure `sign-data` flags).
#[derive(Debug, Clone, Copy, Default)]
pub struct SignOptions {
    /// Keep valid blocks of an already signed, 4 KiB-aligned image and add
    /// the new ones after them (`--append-signatures`).
    pub append_signatures: bool,
    /// Do not pad unaligned data to 4 KiB (`--skip-padding`).
    pub skip_padding: bool,
}

/// The result of [`sign_image`].
#[derive(Debug, Clone)]
pub struct SignedImage {
    /// The signed image: data, then the 4 KiB signature sector.
    pub bytes: Vec<u8>,
    /// Length of the signed data (before the signature sector).
    pub data_len: usize,
    /// 0xFF bytes added to reach a 4 KiB boundary.
    pub padded_by: usize,
    /// Valid blocks kept from the input (with `append_signatures`).
    pub kept_blocks: usize,
    /// Blocks in the sector now.
    pub total_blocks: usize,
}

/// Signs `image` as espsecure `sign-data --version 2` does
/// (`sign_secure_boot_v2`, reference/esptool.md §1.4): pads the data with
/// 0xFF to 4 KiB (unless `skip_padding`), or with `append_signatures` on an
/// aligned image keeps the existing valid blocks and re-signs the data
/// before the old sector; then one block per signer, in order, and 0xFF
/// filler to the end of the sector. In memory; [`sign_stream`] does the
/// same from a reader to a writer.
pub fn sign_image(
    image: &[u8],
    signers: &[&dyn Sbv2Signer],
    options: SignOptions,
) -> Result<SignedImage, SignError> {
    let tail = &image[image.len().saturating_sub(SECTOR_SIZE)..];
    let layout = SignPlan::decide(image.len(), tail, signers, options)?;
    let data = if layout.kept.is_empty() {
        image
    } else {
        &image[..image.len() - SECTOR_SIZE]
    };
    let mut bytes = Vec::with_capacity(data.len() + layout.padded_by + SECTOR_SIZE);
    bytes.extend_from_slice(data);
    bytes.resize(bytes.len() + layout.padded_by, 0xFF);
    let mut hashes = Hashes::for_signers(signers);
    hashes.update(&bytes);
    let data_len = bytes.len();
    bytes.extend_from_slice(&layout.sector(hashes, signers)?);
    Ok(SignedImage {
        bytes,
        data_len,
        padded_by: layout.padded_by,
        kept_blocks: layout.kept.len(),
        total_blocks: layout.kept.len() + signers.len(),
    })
}

/// What [`sign_stream`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignSummary {
    /// Length of the signed data (before the signature sector).
    pub data_len: usize,
    /// 0xFF bytes added to reach a 4 KiB boundary.
    pub padded_by: usize,
    /// Valid blocks kept from the input (with `append_signatures`).
    pub kept_blocks: usize,
    /// Blocks in the sector now.
    pub total_blocks: usize,
}

/// Why [`sign_stream`] failed. The output is incomplete in every case:
/// write it to a temporary file that is discarded on error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignStreamError {
    /// Reading the data failed.
    #[error("reading the data: {0}")]
    Read(#[source] std::io::Error),
    /// Writing the signed image failed.
    #[error("writing the signed image: {0}")]
    Write(#[source] std::io::Error),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// How much [`sign_stream`] reads at a time.
const STREAM_CHUNK: usize = 1 << 20;

/// [`sign_image`] from `input` to `output`, in constant memory: the data
/// is hashed and written as it is read, then the padding and the signature
/// sector follow. The last 4 KiB read are held back until the end, since
/// with `append_signatures` they may be the old signature sector rather
/// than data.
pub fn sign_stream(
    mut input: impl std::io::Read,
    output: &mut impl std::io::Write,
    signers: &[&dyn Sbv2Signer],
    options: SignOptions,
) -> Result<SignSummary, SignStreamError> {
    if signers.is_empty() {
        return Err(SignError::NoSigners.into());
    }
    let mut hashes = Hashes::for_signers(signers);
    let mut data_len = 0;
    let mut feed = |bytes: &[u8], hashes: &mut Hashes| {
        hashes.update(bytes);
        data_len += bytes.len();
        output.write_all(bytes).map_err(SignStreamError::Write)
    };
    let mut buf = vec![0u8; STREAM_CHUNK + SECTOR_SIZE];
    let mut held = 0;
    let mut streamed = 0;
    loop {
        let n = match input.read(&mut buf[held..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SignStreamError::Read(e)),
        };
        held += n;
        if held > SECTOR_SIZE {
            let ready = held - SECTOR_SIZE;
            feed(&buf[..ready], &mut hashes)?;
            streamed += ready;
            buf.copy_within(ready..held, 0);
            held = SECTOR_SIZE;
        }
    }
    let tail = &buf[..held];
    let layout = SignPlan::decide(streamed + held, tail, signers, options)?;
    if layout.kept.is_empty() {
        feed(tail, &mut hashes)?;
    }
    feed(&[0xFF; SECTOR_SIZE][..layout.padded_by], &mut hashes)?;
    let sector = layout.sector(hashes, signers)?;
    output.write_all(&sector).map_err(SignStreamError::Write)?;
    Ok(SignSummary {
        data_len,
        padded_by: layout.padded_by,
        kept_blocks: layout.kept.len(),
        total_blocks: layout.kept.len() + signers.len(),
    })
}

/// How an input of a given length is signed: the padding it gets and the
/// blocks kept from its old signature sector.
struct SignPlan {
    padded_by: usize,
    /// The leading slots espsecure calls valid, copied as they are.
    kept: Vec<[u8; SIG_BLOCK_SIZE]>,
}

impl SignPlan {
    /// For an input of `len` bytes ending in `tail` (its last sector, or
    /// all of it when shorter).
    fn decide(
        len: usize,
        tail: &[u8],
        signers: &[&dyn Sbv2Signer],
        options: SignOptions,
    ) -> Result<Self, SignError> {
        if signers.is_empty() {
            return Err(SignError::NoSigners);
        }
        let mut layout = SignPlan {
            padded_by: 0,
            kept: Vec::new(),
        };
        if !len.is_multiple_of(SECTOR_SIZE) {
            if !options.skip_padding {
                layout.padded_by = SECTOR_SIZE - len % SECTOR_SIZE;
            }
        } else if options.append_signatures && len >= SECTOR_SIZE {
            // espsecure keeps what `validate_signature_block` accepts,
            // whatever its scheme and digest
            for slot in tail.chunks_exact(SIG_BLOCK_SIZE).take(MAX_BLOCKS) {
                match check_envelope(slot) {
                    Ok(block) => layout.kept.push(*block),
                    Err(_) => break,
                }
            }
        }
        if layout.kept.len() + signers.len() > MAX_BLOCKS {
            return Err(SignError::TooManyBlocks {
                free: MAX_BLOCKS - layout.kept.len(),
                requested: signers.len(),
            });
        }
        Ok(layout)
    }

    /// The new signature sector: the kept blocks, one block per signer over
    /// the data's digest, 0xFF filler.
    fn sector(&self, hashes: Hashes, signers: &[&dyn Sbv2Signer]) -> Result<Vec<u8>, SignError> {
        let sha256 = hashes.sha256.map(|h| h.finalize().to_vec());
        let sha384 = hashes.sha384.map(|h| h.finalize().to_vec());
        let mut sector = Vec::with_capacity(SECTOR_SIZE);
        for block in &self.kept {
            sector.extend_from_slice(block);
        }
        for (index, signer) in signers.iter().enumerate() {
            let key = signer.public_key();
            let scheme = key.scheme();
            let bad = || SignError::BadSignature { index, scheme };
            let digest = if scheme == SigningScheme::Ecdsa384 {
                sha384.as_deref()
            } else {
                sha256.as_deref()
            }
            .ok_or_else(bad)?;
            let signature = signer.sign_prehash(digest).map_err(|_| bad())?;
            key.verify_prehash(digest, &signature).map_err(|_| bad())?;
            sector.extend_from_slice(SignatureBlock::new(digest, &key, &signature).as_bytes());
        }
        sector.resize(SECTOR_SIZE, 0xFF);
        Ok(sector)
    }
}

/// The data's digests, only those the signers' schemes need (SHA-384 for
/// P-384, SHA-256 for the others).
struct Hashes {
    sha256: Option<Sha256>,
    sha384: Option<sha2::Sha384>,
}

impl Hashes {
    fn for_signers(signers: &[&dyn Sbv2Signer]) -> Self {
        let p384 = |s: &&dyn Sbv2Signer| s.public_key().scheme() == SigningScheme::Ecdsa384;
        Hashes {
            sha256: signers.iter().any(|s| !p384(s)).then(Sha256::new),
            sha384: signers.iter().any(p384).then(sha2::Sha384::new),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        if let Some(h) = &mut self.sha256 {
            h.update(bytes);
        }
        if let Some(h) = &mut self.sha384 {
            h.update(bytes);
        }
    }
}

#[cfg(feature = "pkcs11")]
mod token;
#[cfg(feature = "pkcs11")]
pub use token::TokenSigner;

mod verify;
pub use verify::{
    leading_valid_blocks, report_blocks, sector_blocks, signature_info, split_signed,
    verify_blocks, verify_image, verify_with_digests, BlockInfo, BlockOutcome, BlockReport,
    DigestMismatch, EspsecureStop, KeyVerdict, ValidBlock,
};

#[cfg(test)]
mod tests;
