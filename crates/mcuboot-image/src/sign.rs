//! Building and signing images the way imgtool 2.5.0 does
//! (`imgtool/image.py` `Image.create`, `pad_to`, `_trailer_size`;
//! reference/mcuboot.md §1, §2.4). Outputs are byte-identical to imgtool's
//! for deterministic signatures (Ed25519) and unsigned images.

use std::string::{String, ToString};
use std::vec::Vec;

use crate::header::{ImageFlags, ImageHeader, ImageVersion, IMAGE_HEADER_SIZE, IMAGE_MAGIC};
use crate::keys::{McubootKey as _, PrivateKey, PublicKey};
use crate::tlv::{TlvKind, TLV_INFO_MAGIC, TLV_PROT_INFO_MAGIC};
use crate::verify::{Dependency, Digest, HashAlg, SignatureKind};

/// imgtool's `DEFAULT_MAX_SECTORS` (`image.py`).
pub const DEFAULT_MAX_SECTORS: u32 = 128;
/// `BOOT_MAX_IMG_SECTORS` of the Espressif port (reference/mcuboot.md §2.3).
pub const ESPRESSIF_MAX_SECTORS: u32 = 512;
/// imgtool's `DEFAULT_MAX_ALIGN` (`image.py`).
pub const DEFAULT_MAX_ALIGN: u32 = 8;
/// imgtool's `MAX_SW_TYPE_LENGTH` (`image.py`).
pub const MAX_SW_TYPE_LENGTH: usize = 12;
/// Boot magic for `BOOT_MAX_ALIGN == 8` (`bootutil_public.c` `boot_img_magic`).
pub const BOOT_MAGIC_ALIGN8: [u8; 16] = [
    0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80,
];
/// Boot magic tail for other `BOOT_MAX_ALIGN` values, after the u16 align
/// (`bootutil_public.c`).
pub const BOOT_MAGIC_TAIL: [u8; 14] = [
    0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a,
];
/// Size of the boot magic (`BOOT_MAGIC_SZ`).
pub const BOOT_MAGIC_SIZE: u32 = 16;

/// Why an image could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// Reading the payload or writing the image failed
    /// ([`build_with_header_area_writing`], [`build_streaming`]).
    #[error("{0}")]
    Io(#[source] std::io::Error),
    /// A bad combination of options; the message names them.
    #[error("{0}")]
    Usage(String),
    /// The input does not start with `header_size` zero bytes.
    #[error("the input's first {0:#x} bytes (header area) are not zero; use --pad-header to prepend a header")]
    HeaderNotZero(u32),
    /// The input is shorter than the header it should contain.
    #[error(
        "the input ({len:#x} bytes) is shorter than the header size {header:#x}; use --pad-header"
    )]
    InputTooShort {
        /// Input length.
        len: usize,
        /// Header size.
        header: u32,
    },
    /// The image and its trailer do not fit the slot.
    #[error("image size ({image:#x}) + trailer ({trailer:#x}) exceeds the slot size {slot:#x} (-S) by {excess:#x} bytes{note}")]
    TooLarge {
        /// Image length with TLVs.
        image: u64,
        /// Trailer size.
        trailer: u64,
        /// Slot size.
        slot: u64,
        /// How much too large.
        excess: u64,
        /// Extra explanation.
        note: String,
    },
    /// A field overflows its header width.
    #[error("{0} does not fit its header field")]
    Overflow(&'static str),
    /// A TLV or TLV area longer than its 16-bit length field allows.
    #[error("{0} would be larger than 65535 bytes, the most a TLV length field can hold")]
    TlvOverflow(&'static str),
    /// The key cannot be used this way.
    #[error("{0}")]
    Key(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signature(String),
}

/// `--public-key-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublicKeyFormat {
    /// KEYHASH TLV (default).
    #[default]
    Hash,
    /// PUBKEY TLV with the full key.
    Full,
}

/// `--sha`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShaChoice {
    /// The key type's default (SHA-256 when unsigned).
    #[default]
    Auto,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl ShaChoice {
    fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Sha256 => "256",
            Self::Sha384 => "384",
            Self::Sha512 => "512",
        }
    }
    fn alg(self) -> HashAlg {
        match self {
            Self::Auto | Self::Sha256 => HashAlg::Sha256,
            Self::Sha384 => HashAlg::Sha384,
            Self::Sha512 => HashAlg::Sha512,
        }
    }
}

/// `-s/--security-counter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityCounter {
    /// An explicit value.
    Value(u32),
    /// `auto`: from the version (`major << 24 | minor << 16 | revision`).
    Auto,
}

/// `--vector-to-sign`: output what an external signer must sign instead of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorToSign {
    /// Header, payload and protected TLVs.
    Payload,
    /// Their digest.
    Digest,
}

/// Encryption of the payload (`-E`): a fresh AES key and its wrapped-key
/// TLV, from [`crate::enc::wrap_new_key`].
pub struct Encryption {
    /// The plaintext AES key (16 or 32 bytes; selects the header flag).
    pub aes_key: zeroize::Zeroizing<Vec<u8>>,
    /// The ENC_* TLV type.
    pub tlv_kind: TlvKind,
    /// Its value (the wrapped key).
    pub tlv_value: Vec<u8>,
    /// `-c/--clear`: keep the payload in clear text.
    pub clear: bool,
}

impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryption")
            .field("aes_bits", &(self.aes_key.len() * 8))
            .field("tlv_kind", &self.tlv_kind)
            .field("clear", &self.clear)
            .finish_non_exhaustive()
    }
}

/// A signer: a key file, an HSM, or a signature computed elsewhere
/// (`--fix-sig`). The image code calls only this, so all share one path.
pub trait ImageSigner {
    /// The public key (selects the signature TLV and the hash, feeds KEYHASH).
    fn public_key(&self) -> &PublicKey;
    /// True when only the public key is available (imgtool allows
    /// `--sha 512` with a public P-256 key).
    fn public_only(&self) -> bool {
        false
    }
    /// Signs the image: `digest` is the image hash; `region` is the hashed
    /// region (header, payload, protected TLVs), signed directly in pure mode.
    ///
    /// # Errors
    /// [`signature::Error`] from the signing backend.
    fn sign_image(
        &self,
        digest: &[u8],
        region: &[u8],
        pure: bool,
    ) -> Result<Vec<u8>, signature::Error>;
}

/// Pads an ECDSA DER signature with zeros to `len` (`--pad-sig`,
/// `keys/ecdsa.py`). Python's `b'\0' * negative` is empty: never truncate.
fn pad_der(mut der: Vec<u8>, pad_sig: bool, len: usize) -> Vec<u8> {
    if pad_sig && der.len() < len {
        der.resize(len, 0);
    }
    der
}

/// Any RustCrypto Ed25519 signer (a key file, an HSM) as an [`ImageSigner`]:
/// signs the digest, or the whole region in pure mode.
#[derive(Debug)]
pub struct Ed25519Signer<S> {
    /// The signer's public key.
    pub public: PublicKey,
    /// The signer.
    pub inner: S,
}

impl<S: signature::Signer<ed25519_dalek::Signature>> ImageSigner for Ed25519Signer<S> {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign_image(
        &self,
        digest: &[u8],
        region: &[u8],
        pure: bool,
    ) -> Result<Vec<u8>, signature::Error> {
        let msg = if pure { region } else { digest };
        Ok(self.inner.try_sign(msg)?.to_bytes().to_vec())
    }
}

/// Any RustCrypto ECDSA P-256 prehash signer as an [`ImageSigner`] (DER,
/// zero-padded to 72 bytes with `pad_sig`).
#[derive(Debug)]
pub struct EcdsaP256Signer<S> {
    /// The signer's public key.
    pub public: PublicKey,
    /// The signer.
    pub inner: S,
    /// `--pad-sig`.
    pub pad_sig: bool,
}

impl<S: signature::hazmat::PrehashSigner<p256::ecdsa::Signature>> ImageSigner
    for EcdsaP256Signer<S>
{
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign_image(
        &self,
        digest: &[u8],
        _region: &[u8],
        _pure: bool,
    ) -> Result<Vec<u8>, signature::Error> {
        let sig = self.inner.sign_prehash(digest)?;
        Ok(pad_der(sig.to_der().as_bytes().to_vec(), self.pad_sig, 72))
    }
}

/// Any RustCrypto ECDSA P-384 prehash signer as an [`ImageSigner`] (DER,
/// zero-padded to 103 bytes with `pad_sig`).
#[derive(Debug)]
pub struct EcdsaP384Signer<S> {
    /// The signer's public key.
    pub public: PublicKey,
    /// The signer.
    pub inner: S,
    /// `--pad-sig`.
    pub pad_sig: bool,
}

impl<S: signature::hazmat::PrehashSigner<p384::ecdsa::Signature>> ImageSigner
    for EcdsaP384Signer<S>
{
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign_image(
        &self,
        digest: &[u8],
        _region: &[u8],
        _pure: bool,
    ) -> Result<Vec<u8>, signature::Error> {
        let sig = self.inner.sign_prehash(digest)?;
        Ok(pad_der(sig.to_der().as_bytes().to_vec(), self.pad_sig, 103))
    }
}

/// Any RustCrypto randomized RSA-PSS prehash signer as an [`ImageSigner`]
/// (MCUboot: SHA-256, MGF1-SHA-256, salt length 32, `image_rsa.c`).
#[derive(Debug)]
pub struct RsaPssSigner<S> {
    /// The signer's public key.
    pub public: PublicKey,
    /// The signer.
    pub inner: S,
}

impl<S: signature::hazmat::RandomizedPrehashSigner<rsa::pss::Signature>> ImageSigner
    for RsaPssSigner<S>
{
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign_image(
        &self,
        digest: &[u8],
        _region: &[u8],
        _pure: bool,
    ) -> Result<Vec<u8>, signature::Error> {
        use signature::SignatureEncoding;
        let sig = self
            .inner
            .sign_prehash_with_rng(&mut rand_core::OsRng, digest)?;
        Ok(sig.to_vec())
    }
}

/// A key pair read from a file: one of the RustCrypto adapters above, so a
/// file key and an external signer go through the same code.
#[non_exhaustive]
pub enum KeySigner {
    /// Ed25519.
    Ed25519(Ed25519Signer<ed25519_dalek::SigningKey>),
    /// ECDSA P-256.
    EcdsaP256(EcdsaP256Signer<p256::ecdsa::SigningKey>),
    /// ECDSA P-384.
    EcdsaP384(EcdsaP384Signer<p384::ecdsa::SigningKey>),
    /// RSA-2048/3072 PSS.
    Rsa(RsaPssSigner<rsa::pss::SigningKey<sha2::Sha256>>),
}

impl std::fmt::Debug for KeySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "KeySigner({})", self.public_key().kind())
    }
}

impl KeySigner {
    /// Wraps a private key; `pad_sig` pads ECDSA signatures with zeros to
    /// 72 (P-256) or 103 (P-384) bytes (`--pad-sig`, `keys/ecdsa.py`).
    ///
    /// # Errors
    /// [`SignError::Key`] for X25519, which cannot sign.
    pub fn new(key: PrivateKey, pad_sig: bool) -> Result<Self, SignError> {
        let public = key.public_key();
        Ok(match key {
            PrivateKey::Ed25519(k) => Self::Ed25519(Ed25519Signer { public, inner: k }),
            PrivateKey::P256(k) => Self::EcdsaP256(EcdsaP256Signer {
                public,
                inner: p256::ecdsa::SigningKey::from(&k),
                pad_sig,
            }),
            PrivateKey::P384(k) => Self::EcdsaP384(EcdsaP384Signer {
                public,
                inner: p384::ecdsa::SigningKey::from(&k),
                pad_sig,
            }),
            // MCUboot accepts salt length 32 only (`image_rsa.c`).
            PrivateKey::Rsa(k) => Self::Rsa(RsaPssSigner {
                public,
                inner: rsa::pss::SigningKey::new_with_salt_len(*k, 32),
            }),
            _ => {
                return Err(SignError::Key(
                    "-k/--key: an x25519 key cannot sign (it is for encryption, -E)".into(),
                ))
            }
        })
    }

    fn as_signer(&self) -> &dyn ImageSigner {
        match self {
            Self::Ed25519(s) => s,
            Self::EcdsaP256(s) => s,
            Self::EcdsaP384(s) => s,
            Self::Rsa(s) => s,
        }
    }
}

impl ImageSigner for KeySigner {
    fn public_key(&self) -> &PublicKey {
        self.as_signer().public_key()
    }
    fn sign_image(
        &self,
        digest: &[u8],
        region: &[u8],
        pure: bool,
    ) -> Result<Vec<u8>, signature::Error> {
        self.as_signer().sign_image(digest, region, pure)
    }
}

/// A signature made elsewhere (`--fix-sig` with `--fix-sig-pubkey`).
#[derive(Debug)]
pub struct FixedSigner {
    /// The signer's public key.
    pub public: PublicKey,
    /// True when the key file held only the public key.
    pub public_only: bool,
    /// The raw signature bytes (already base64-decoded).
    pub signature: Vec<u8>,
}

impl ImageSigner for FixedSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn public_only(&self) -> bool {
        self.public_only
    }
    fn sign_image(
        &self,
        _digest: &[u8],
        _region: &[u8],
        _pure: bool,
    ) -> Result<Vec<u8>, signature::Error> {
        Ok(self.signature.clone())
    }
}

/// Every `imgtool sign` option that shapes the image.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignOptions {
    /// `-v`.
    pub version: ImageVersion,
    /// `-H`.
    pub header_size: u32,
    /// `--pad-header`.
    pub pad_header: bool,
    /// `-S`.
    pub slot_size: u32,
    /// `--pad` (implied by `--test`/`--confirm`).
    pub pad: bool,
    /// `--test`.
    pub test: bool,
    /// `--confirm`.
    pub confirm: bool,
    /// `--align`.
    pub align: u32,
    /// `--max-align` (default `max(8, align)`).
    pub max_align: Option<u32>,
    /// `-M` (default 128).
    pub max_sectors: Option<u32>,
    /// `--overwrite-only`.
    pub overwrite_only: bool,
    /// `-L`.
    pub load_addr: Option<u32>,
    /// `-F`.
    pub rom_fixed: Option<u32>,
    /// `-R` (0xff by default).
    pub erased_val: u8,
    /// `-s`.
    pub security_counter: Option<SecurityCounter>,
    /// `-d`.
    pub dependencies: Vec<Dependency>,
    /// `--boot-record`.
    pub boot_record: Option<String>,
    /// `--custom-tlv` / `--custom-tlv-file`, in order.
    pub custom_tlvs: Vec<(u16, Vec<u8>)>,
    /// `--non-bootable`.
    pub non_bootable: bool,
    /// `--public-key-format`.
    pub public_key_format: PublicKeyFormat,
    /// `--sha`.
    pub sha: ShaChoice,
    /// `--pure`.
    pub pure: bool,
    /// `--vector-to-sign`.
    pub vector_to_sign: Option<VectorToSign>,
    /// `--save-enctlv`.
    pub save_enctlv: bool,
    /// `--vid`: vendor UUID (see [`parse_uuid`]).
    pub vid: Option<[u8; 16]>,
    /// `--cid`: image class UUID (see [`parse_uuid`]).
    pub cid: Option<[u8; 16]>,
}

impl SignOptions {
    /// imgtool's defaults for the required `-v`, `-H` and `-S`.
    #[must_use]
    pub fn new(version: ImageVersion, header_size: u32, slot_size: u32) -> Self {
        Self {
            version,
            header_size,
            pad_header: false,
            slot_size,
            pad: false,
            test: false,
            confirm: false,
            align: 1,
            max_align: None,
            max_sectors: None,
            overwrite_only: false,
            load_addr: None,
            rom_fixed: None,
            erased_val: 0xff,
            security_counter: None,
            dependencies: Vec::new(),
            boot_record: None,
            custom_tlvs: Vec::new(),
            non_bootable: false,
            public_key_format: PublicKeyFormat::Hash,
            sha: ShaChoice::Auto,
            pure: false,
            vector_to_sign: None,
            save_enctlv: false,
            vid: None,
            cid: None,
        }
    }

    /// The effective `--max-align`.
    #[must_use]
    pub fn effective_max_align(&self) -> u32 {
        self.max_align.unwrap_or(DEFAULT_MAX_ALIGN.max(self.align))
    }

    /// The boot magic for the effective max-align (`image.py` `boot_magic`).
    #[must_use]
    pub fn boot_magic(&self) -> [u8; 16] {
        let a = self.effective_max_align();
        if a == DEFAULT_MAX_ALIGN {
            BOOT_MAGIC_ALIGN8
        } else {
            let mut m = [0u8; 16];
            m[..2].copy_from_slice(&(a as u16).to_le_bytes());
            m[2..].copy_from_slice(&BOOT_MAGIC_TAIL);
            m
        }
    }

    /// imgtool's `_trailer_size` with `max_sectors` sectors.
    #[must_use]
    pub fn trailer_size_with(&self, max_sectors: u32, enc_tlv_len: Option<usize>) -> u64 {
        let max_align = u64::from(self.effective_max_align());
        let magic_align = align_up(u64::from(BOOT_MAGIC_SIZE), max_align);
        if self.overwrite_only {
            return max_align * 2 + magic_align;
        }
        let mut t = u64::from(max_sectors) * 3 * u64::from(self.align);
        if let Some(len) = enc_tlv_len {
            let keylen = if self.save_enctlv {
                align_up(len as u64, max_align)
            } else {
                align_up(16, max_align)
            };
            t += keylen * 2;
        }
        t + max_align * 4 + magic_align
    }

    /// imgtool's `_trailer_size` with the configured `-M`.
    #[must_use]
    pub fn trailer_size(&self, enc_tlv_len: Option<usize>) -> u64 {
        self.trailer_size_with(self.max_sectors.unwrap_or(DEFAULT_MAX_SECTORS), enc_tlv_len)
    }

    /// Offset from the slot end of the image_ok byte (`pad_to`).
    fn image_ok_from_end(&self) -> u64 {
        let max_align = u64::from(self.effective_max_align());
        align_up(u64::from(BOOT_MAGIC_SIZE), max_align) + max_align
    }
}

fn align_up(n: u64, a: u64) -> u64 {
    n.div_ceil(a) * a
}

/// A built image before padding: what `Image.create` leaves in `payload`.
#[derive(Debug)]
#[non_exhaustive]
pub struct BuiltImage {
    /// Header, payload, TLVs (or, with `--vector-to-sign`, the vector).
    pub bytes: Vec<u8>,
    /// The image hash.
    pub hash: Digest,
    /// The signature placed in the image, if any.
    pub signature: Option<Vec<u8>>,
    /// Length of the ENC_* TLV value, for the trailer size.
    pub enc_tlv_len: Option<usize>,
    /// Whether the vector-to-sign was produced instead of an image.
    pub is_vector: bool,
    /// Non-fatal remarks (e.g. the Espressif sector count would refuse the image).
    pub warnings: Vec<String>,
}

/// Hash selection (`image.py` `key_and_user_sha_to_alg_and_tlv`).
fn select_hash(
    key: Option<&dyn ImageSigner>,
    user: ShaChoice,
    pure: bool,
) -> Result<HashAlg, SignError> {
    let Some(signer) = key else {
        return Ok(user.alg());
    };
    let public = signer.public_key();
    let allowed: &[ShaChoice] = if pure {
        match public {
            PublicKey::Ed25519(_) => &[ShaChoice::Sha512],
            other => {
                return Err(SignError::Usage(std::format!(
                    "--pure: a {} key cannot make pure signatures (only ed25519)",
                    other.kind()
                )))
            }
        }
    } else {
        match public {
            PublicKey::P384(_) => &[ShaChoice::Sha384],
            PublicKey::P256(_) if signer.public_only() => &[ShaChoice::Sha256, ShaChoice::Sha512],
            PublicKey::P256(_) | PublicKey::Rsa(_) => &[ShaChoice::Sha256],
            PublicKey::Ed25519(_) | PublicKey::X25519(_) => &[ShaChoice::Sha256, ShaChoice::Sha512],
            other => {
                return Err(SignError::Key(std::format!(
                    "-k/--key: imgtool does not sign with {} keys",
                    other.kind()
                )))
            }
        }
    };
    if user == ShaChoice::Auto || pure {
        return Ok(allowed[0].alg());
    }
    if allowed.contains(&user) {
        return Ok(user.alg());
    }
    let names: Vec<&str> = allowed.iter().map(|s| s.name()).collect();
    Err(SignError::Usage(std::format!(
        "--sha {}: a {} key allows only {}",
        user.name(),
        public.kind(),
        names.join(", ")
    )))
}

/// Appends a TLV, imgtool style: predefined types as `<BBH` (= u16 LE for
/// types < 0x100), custom ones as `<HH` (same bytes).
fn push_tlv(
    area: &mut Vec<u8>,
    kind: u16,
    value: &[u8],
    what: &'static str,
) -> Result<(), SignError> {
    let len = u16::try_from(value.len()).map_err(|_| SignError::TlvOverflow(what))?;
    area.extend_from_slice(&kind.to_le_bytes());
    area.extend_from_slice(&len.to_le_bytes());
    area.extend_from_slice(value);
    Ok(())
}

/// Wraps TLV records with their info header; empty areas vanish (`TLV.get`).
fn finish_area(magic: u16, body: &[u8], what: &'static str) -> Result<Vec<u8>, SignError> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let tot = u16::try_from(body.len() + 4).map_err(|_| SignError::TlvOverflow(what))?;
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&magic.to_le_bytes());
    out.extend_from_slice(&tot.to_le_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

/// `uuid.NAMESPACE_DNS` (RFC 4122 appendix C), imgtool's namespace for `--vid`.
pub const UUID_NAMESPACE_DNS: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// imgtool's `parse_uuid` (`image.py`): a raw UUID (`8-4-4-4-12` hex or 32
/// hex digits), else a printable name hashed into a version-5 UUID under
/// `namespace` (RFC 4122 §4.3: SHA-1, version and variant bits set).
///
/// # Errors
/// [`SignError::Usage`] for a name without a namespace or unprintable text.
pub fn parse_uuid(namespace: Option<&[u8; 16]>, value: &str) -> Result<[u8; 16], SignError> {
    let hex_only = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    let groups: Vec<&str> = value.split('-').collect();
    let dashed = groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| hex_only(g));
    let compact: String = if dashed {
        groups.concat()
    } else {
        value.to_string()
    };
    if compact.len() == 32 && hex_only(&compact) {
        let mut out = [0u8; 16];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&compact[2 * i..2 * i + 2], 16)
                .map_err(|_| SignError::Usage(std::format!("bad UUID {value}")))?;
        }
        return Ok(out);
    }
    // Python's str.isprintable: no control or separator characters but ' '.
    if !value
        .chars()
        .all(|c| c == ' ' || !(c.is_control() || c.is_whitespace()))
    {
        return Err(SignError::Usage(std::format!(
            "Unknown UUID format: {value:?}"
        )));
    }
    let Some(ns) = namespace else {
        return Err(SignError::Usage(std::format!(
            "Unknown namespace for UUID: {value} (give --vid too, or a raw UUID)"
        )));
    };
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    h.update(ns);
    h.update(value.as_bytes());
    let d = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out[6] = (out[6] & 0x0f) | 0x50;
    out[8] = (out[8] & 0x3f) | 0x80;
    Ok(out)
}

/// Minimal CBOR encoder for the boot record (`boot_record.py`, RFC 8949).
fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[m | 24, n as u8]);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// The BOOT_RECORD TLV value: `{1: sw_type, 4: "maj.min.rev", 5: signer_id,
/// 6: "SHA256", 2: zeros(hash_len)}` (reference/mcuboot.md §1.8).
#[must_use]
pub fn boot_record(
    sw_type: &str,
    version: &ImageVersion,
    hash: HashAlg,
    signer_id: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    let text = |out: &mut Vec<u8>, s: &str| {
        cbor_head(out, 3, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    };
    let bytes = |out: &mut Vec<u8>, b: &[u8]| {
        cbor_head(out, 2, b.len() as u64);
        out.extend_from_slice(b);
    };
    cbor_head(&mut out, 5, 5);
    cbor_head(&mut out, 0, 1);
    text(&mut out, sw_type);
    cbor_head(&mut out, 0, 4);
    text(
        &mut out,
        &std::format!("{}.{}.{}", version.major, version.minor, version.revision),
    );
    cbor_head(&mut out, 0, 5);
    bytes(&mut out, signer_id);
    cbor_head(&mut out, 0, 6);
    text(&mut out, hash.name());
    cbor_head(&mut out, 0, 2);
    bytes(&mut out, &std::vec![0u8; hash.digest_len()]);
    out
}

/// Builds (and signs) an image from `payload`, the input file's bytes
/// (including its zeroed header area unless `--pad-header`), mirroring
/// `Image.load` + `Image.create`. The buffer is reused for the output.
///
/// # Errors
/// [`SignError`] naming the option at fault.
pub fn build(
    mut payload: Vec<u8>,
    opts: &SignOptions,
    signer: Option<&dyn ImageSigner>,
    encryption: Option<&Encryption>,
) -> Result<BuiltImage, SignError> {
    validate_options(opts)?;
    // Image.load: header padding, then check_header.
    if opts.pad_header && opts.header_size > 0 {
        payload.splice(
            0..0,
            std::iter::repeat_n(opts.erased_val, opts.header_size as usize),
        );
    }
    build_with_header_area(payload, opts, signer, encryption)
}

/// Room to reserve for the input so that the TLVs never reallocate the
/// (possibly large) image buffer. Slot padding is streamed ([`padding`]).
#[must_use]
pub fn output_capacity(input_len: usize, opts: &SignOptions) -> usize {
    // Both TLV areas are at most 64 KiB each; encryption pads up to 15 bytes.
    input_len + opts.header_size as usize + 2 * 0x1_0000 + 16
}

/// [`build`] for a buffer whose first `header_size` bytes already are the
/// header area: with `--pad-header`, the caller has placed `header_size`
/// erased bytes before the input (saving a copy of a large image).
///
/// # Errors
/// As [`build`].
pub fn build_with_header_area(
    payload: Vec<u8>,
    opts: &SignOptions,
    signer: Option<&dyn ImageSigner>,
    encryption: Option<&Encryption>,
) -> Result<BuiltImage, SignError> {
    build_impl(payload, opts, signer, encryption, None).map(|(built, _)| built)
}

/// [`build_with_header_area`] that also writes the image to `out` as early
/// as it can: when the header and payload are final before hashing (no
/// payload encryption, no `--vector-to-sign`), a second thread writes them
/// while this one computes the image hash, the costly part of signing a
/// large image. Returns the image and how many of its leading bytes were
/// written; the caller writes `built.bytes[written..]`.
///
/// # Errors
/// As [`build`], and [`SignError::Io`] when `out` fails.
pub fn build_with_header_area_writing(
    payload: Vec<u8>,
    opts: &SignOptions,
    signer: Option<&dyn ImageSigner>,
    encryption: Option<&Encryption>,
    out: &mut (dyn std::io::Write + Send),
) -> Result<(BuiltImage, usize), SignError> {
    build_impl(payload, opts, signer, encryption, Some(Sink::Early(out)))
}

/// The payload of [`build_streaming`]: `len` bytes from `reader`, and where
/// the image goes.
pub struct PayloadStream<'a> {
    /// The payload after the header area.
    pub reader: &'a mut (dyn std::io::Read + Send),
    /// How many bytes `reader` yields (the file length); fewer is an error.
    pub len: usize,
    /// Where the header area and the payload are written, in order.
    pub out: &'a mut (dyn std::io::Write + Send),
}

impl std::fmt::Debug for PayloadStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadStream")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Signs an image whose payload is never held in memory: the header is
/// computed from the payload length first, then the payload is read,
/// hashed and written to `stream.out` in 1 MiB chunks by three threads at
/// once (reading, hashing and writing overlap), which is what makes a
/// 16 MiB image cost little more than its hash.
///
/// `header_area` is the header area only (`header_size` bytes: erased bytes
/// with `--pad-header`, else the input's first bytes). Returns the image
/// without its payload: `bytes` is the header area followed directly by
/// the TLVs, of which the first `header_size` bytes (the header area) were
/// written before the payload; the caller writes `bytes[header_size..]`
/// after it. The image length is `bytes.len() + stream.len`.
///
/// Payload encryption, `--pure` and `--vector-to-sign` need the whole
/// payload in memory: use [`build_with_header_area`] for those.
///
/// # Errors
/// As [`build`]; [`SignError::Io`] when reading or writing fails;
/// [`SignError::Usage`] for the options this form does not support.
pub fn build_streaming(
    header_area: Vec<u8>,
    opts: &SignOptions,
    signer: Option<&dyn ImageSigner>,
    stream: PayloadStream<'_>,
) -> Result<BuiltImage, SignError> {
    if opts.pure || opts.vector_to_sign.is_some() {
        return Err(SignError::Usage(
            "--pure and --vector-to-sign need the payload in memory".into(),
        ));
    }
    if header_area.len() != opts.header_size as usize {
        return Err(SignError::InputTooShort {
            len: header_area.len(),
            header: opts.header_size,
        });
    }
    build_impl(header_area, opts, signer, None, Some(Sink::Stream(stream))).map(|(b, _)| b)
}

/// Where [`build_impl`] sends the image while hashing.
enum Sink<'a> {
    /// The whole image is in the buffer: write its header and payload.
    Early(&'a mut (dyn std::io::Write + Send)),
    /// The buffer holds the header area only; the payload streams through.
    Stream(PayloadStream<'a>),
}

/// Reads `len` bytes of `reader` in chunks on one thread, hashes them on
/// this one and writes `head` then the chunks to `out` on a third.
fn hash_and_write_stream(
    hasher: &mut crate::verify::Hasher,
    head: &[u8],
    stream: PayloadStream<'_>,
) -> std::io::Result<()> {
    use std::sync::mpsc::sync_channel;
    const CHUNK: usize = 1 << 20;
    const BUFFERS: usize = 4;
    let PayloadStream { reader, len, out } = stream;
    std::thread::scope(|scope| {
        let (to_hash, filled) = sync_channel::<Vec<u8>>(BUFFERS);
        let (to_write, hashed) = sync_channel::<Vec<u8>>(BUFFERS);
        let (recycle, empty) = sync_channel::<Vec<u8>>(BUFFERS);
        for _ in 0..BUFFERS {
            // Cannot fail: `empty` lives until the reader ends.
            let _ = recycle.send(Vec::with_capacity(CHUNK));
        }
        let reading = scope.spawn(move || -> std::io::Result<()> {
            let mut left = len;
            while left > 0 {
                let Ok(mut buf) = empty.recv() else {
                    return Ok(()); // the writer failed; it reports why
                };
                let n = left.min(CHUNK);
                buf.resize(n, 0);
                reader.read_exact(&mut buf)?;
                left -= n;
                if to_hash.send(buf).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        });
        let writing = scope.spawn(move || -> std::io::Result<()> {
            out.write_all(head)?;
            for buf in hashed {
                out.write_all(&buf)?;
                // Fails only once the reader has finished.
                let _ = recycle.send(buf);
            }
            Ok(())
        });
        for buf in filled {
            hasher.update(&buf);
            if to_write.send(buf).is_err() {
                break;
            }
        }
        drop(to_write);
        let panicked = || Err(std::io::Error::other("an image streaming thread panicked"));
        let read = reading.join().unwrap_or_else(|_| panicked());
        let written = writing.join().unwrap_or_else(|_| panicked());
        read.and(written)
    })
}

fn build_impl(
    mut payload: Vec<u8>,
    opts: &SignOptions,
    signer: Option<&dyn ImageSigner>,
    encryption: Option<&Encryption>,
    sink: Option<Sink<'_>>,
) -> Result<(BuiltImage, usize), SignError> {
    validate_options(opts)?;
    // The payload bytes not in `payload` (streamed through).
    let streamed_len = match &sink {
        Some(Sink::Stream(stream)) => stream.len,
        _ => 0,
    };
    let header_size = opts.header_size as usize;
    if payload.len() < header_size {
        return Err(SignError::InputTooShort {
            len: payload.len(),
            header: opts.header_size,
        });
    }
    if !opts.pad_header && payload[..header_size].iter().any(|b| *b != 0) {
        return Err(SignError::HeaderNotZero(opts.header_size));
    }

    let hash_alg = select_hash(signer, opts.sha, opts.pure)?;
    let pub_der = signer
        .map(|s| s.public_key().embedded_der())
        .transpose()
        .map_err(|e| SignError::Key(e.to_string()))?;
    let pub_hash: Vec<u8> = match &pub_der {
        Some(der) => hash_alg.digest(der).as_bytes().to_vec(),
        None => std::vec![0u8; 32],
    };

    // Protected TLVs, in imgtool's order.
    let mut prot = Vec::new();
    if let Some(sc) = opts.security_counter {
        let v = match sc {
            SecurityCounter::Value(v) => v,
            SecurityCounter::Auto => opts.version.security_counter(),
        };
        push_tlv(
            &mut prot,
            TlvKind::SecCnt.code(),
            &v.to_le_bytes(),
            "the security counter TLV",
        )?;
    }
    if let Some(sw_type) = &opts.boot_record {
        if sw_type.chars().count() > MAX_SW_TYPE_LENGTH {
            return Err(SignError::Usage(std::format!(
                "--boot-record: '{sw_type}' is too long ({} characters); at most {MAX_SW_TYPE_LENGTH}",
                sw_type.chars().count()
            )));
        }
        let rec = boot_record(sw_type, &opts.version, hash_alg, &pub_hash);
        push_tlv(
            &mut prot,
            TlvKind::BootRecord.code(),
            &rec,
            "the boot record TLV",
        )?;
    }
    for dep in &opts.dependencies {
        push_tlv(
            &mut prot,
            TlvKind::Dependency.code(),
            &dep.to_bytes(),
            "a dependency TLV",
        )?;
    }
    if let Some(vid) = &opts.vid {
        push_tlv(&mut prot, TlvKind::UuidVid.code(), vid, "the UUID_VID TLV")?;
    }
    if let Some(cid) = &opts.cid {
        push_tlv(&mut prot, TlvKind::UuidCid.code(), cid, "the UUID_CID TLV")?;
    }
    for (kind, value) in &opts.custom_tlvs {
        push_tlv(&mut prot, *kind, value, "a custom TLV (--custom-tlv)")?;
    }
    let prot_area = finish_area(
        TLV_PROT_INFO_MAGIC,
        &prot,
        "the protected TLV area (-s, -d, --boot-record, --custom-tlv)",
    )?;
    let protect_tlv_size = u16::try_from(prot_area.len()).map_err(|_| {
        SignError::TlvOverflow("the protected TLV area (-s, -d, --boot-record, --custom-tlv)")
    })?;

    // Encrypted payloads are padded to the AES block size before hashing.
    if encryption.is_some() {
        let rem = payload.len() % 16;
        if rem > 0 {
            payload.resize(payload.len() + 16 - rem, 0);
        }
    }

    let mut flags = ImageFlags::empty();
    if let Some(enc) = encryption {
        flags |= if enc.aes_key.len() == 32 {
            ImageFlags::ENCRYPTED_AES256
        } else {
            ImageFlags::ENCRYPTED_AES128
        };
    }
    let load_addr = opts.load_addr.unwrap_or(0);
    if load_addr != 0 {
        flags |= ImageFlags::RAM_LOAD;
    }
    let rom_fixed = opts.rom_fixed.unwrap_or(0);
    if rom_fixed != 0 {
        flags |= ImageFlags::ROM_FIXED;
    }
    if opts.non_bootable {
        flags |= ImageFlags::NON_BOOTABLE;
    }
    let img_size = payload
        .len()
        .checked_add(streamed_len)
        .and_then(|n| u32::try_from(n - header_size).ok())
        .ok_or(SignError::Overflow("the image size"))?;
    let header = ImageHeader {
        magic: IMAGE_MAGIC,
        load_addr: if rom_fixed != 0 { rom_fixed } else { load_addr },
        hdr_size: u16::try_from(opts.header_size)
            .map_err(|_| SignError::Overflow("-H/--header-size"))?,
        protect_tlv_size,
        img_size,
        flags,
        version: opts.version,
        pad1: 0,
    };
    // A header size below 32 is refused by validate_options.
    payload[..IMAGE_HEADER_SIZE].copy_from_slice(&header.to_bytes());
    let body_end = payload.len();
    payload.extend_from_slice(&prot_area);

    // Header and payload are final here unless the payload gets
    // encrypted below or a vector is produced instead of an image.
    let body_final = encryption.is_none_or(|e| e.clear) && opts.vector_to_sign.is_none();
    let (hash, written) = match sink {
        Some(Sink::Early(out)) if body_final => {
            let body = &payload[..body_end];
            let (hash, wrote) = std::thread::scope(|scope| {
                let writer = scope.spawn(move || out.write_all(body));
                let hash = hash_alg.digest(&payload);
                let wrote = writer
                    .join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("writer thread panicked")));
                (hash, wrote)
            });
            wrote.map_err(SignError::Io)?;
            (hash, body_end)
        }
        Some(Sink::Stream(stream)) => {
            // `payload` is the header area, then the protected TLVs.
            let (head, prot_tlvs) = payload.split_at(body_end);
            let mut hasher = hash_alg.hasher();
            hasher.update(head);
            hash_and_write_stream(&mut hasher, head, stream).map_err(SignError::Io)?;
            hasher.update(prot_tlvs);
            (hasher.finalize(), body_end)
        }
        _ => (hash_alg.digest(&payload), 0),
    };
    let mut unprot = Vec::new();
    push_tlv(
        &mut unprot,
        hash_alg.tlv().code(),
        hash.as_bytes(),
        "the hash TLV",
    )?;
    if opts.pure {
        push_tlv(
            &mut unprot,
            TlvKind::SigPure.code(),
            &[1],
            "the SIG_PURE TLV",
        )?;
    }

    match opts.vector_to_sign {
        Some(VectorToSign::Payload) => {
            return Ok((
                BuiltImage {
                    bytes: payload,
                    hash,
                    signature: None,
                    enc_tlv_len: None,
                    is_vector: true,
                    warnings: Vec::new(),
                },
                written,
            ))
        }
        Some(VectorToSign::Digest) => {
            return Ok((
                BuiltImage {
                    bytes: hash.as_bytes().to_vec(),
                    hash,
                    signature: None,
                    enc_tlv_len: None,
                    is_vector: true,
                    warnings: Vec::new(),
                },
                written,
            ))
        }
        None => {}
    }

    let mut signature = None;
    if let (Some(signer), Some(der)) = (signer, &pub_der) {
        let kind = signer
            .public_key()
            .signature_kind()
            .ok_or_else(|| SignError::Key("an x25519 key cannot sign".into()))?;
        match opts.public_key_format {
            PublicKeyFormat::Hash => push_tlv(
                &mut unprot,
                TlvKind::KeyHash.code(),
                &pub_hash,
                "the KEYHASH TLV",
            )?,
            PublicKeyFormat::Full => {
                push_tlv(&mut unprot, TlvKind::PubKey.code(), der, "the PUBKEY TLV")?
            }
        }
        let sig = signer
            .sign_image(hash.as_bytes(), &payload, opts.pure)
            .map_err(|e| SignError::Signature(e.to_string()))?;
        push_tlv(&mut unprot, sig_tlv(kind).code(), &sig, "the signature TLV")?;
        signature = Some(sig);
    }

    let mut enc_tlv_len = None;
    if let Some(enc) = encryption {
        push_tlv(
            &mut unprot,
            enc.tlv_kind.code(),
            &enc.tlv_value,
            "the encryption TLV",
        )?;
        enc_tlv_len = Some(enc.tlv_value.len());
        if !enc.clear {
            // Only the payload is encrypted, never the header or the TLVs.
            crate::enc::aes_ctr_apply(&enc.aes_key, 0, &mut payload[header_size..body_end])
                .map_err(|e| SignError::Usage(std::format!("-E/--encrypt: {e}")))?;
        }
    }
    let unprot_area = finish_area(TLV_INFO_MAGIC, &unprot, "the unprotected TLV area")?;
    payload.extend_from_slice(&unprot_area);

    let warnings = check_size((payload.len() + streamed_len) as u64, opts, enc_tlv_len)?;
    Ok((
        BuiltImage {
            bytes: payload,
            hash,
            signature,
            enc_tlv_len,
            is_vector: false,
            warnings,
        },
        written,
    ))
}

fn sig_tlv(kind: SignatureKind) -> TlvKind {
    kind.tlv()
}

fn validate_options(opts: &SignOptions) -> Result<(), SignError> {
    if (opts.header_size as usize) < IMAGE_HEADER_SIZE {
        return Err(SignError::Usage(std::format!(
            "-H/--header-size: {:#x} is below the minimum {IMAGE_HEADER_SIZE}",
            opts.header_size
        )));
    }
    if u16::try_from(opts.header_size).is_err() {
        return Err(SignError::Usage(std::format!(
            "-H/--header-size: {:#x} does not fit the 16-bit header field",
            opts.header_size
        )));
    }
    if !matches!(opts.align, 1 | 2 | 4 | 8 | 16 | 32) {
        return Err(SignError::Usage(std::format!(
            "--align: {} is not one of 1, 2, 4, 8, 16, 32",
            opts.align
        )));
    }
    if let Some(m) = opts.max_align {
        if !matches!(m, 8 | 16 | 32) {
            return Err(SignError::Usage(std::format!(
                "--max-align: {m} is not one of 8, 16, 32"
            )));
        }
    }
    if opts.load_addr.unwrap_or(0) != 0 && opts.rom_fixed.unwrap_or(0) != 0 {
        return Err(SignError::Usage(
            "-L/--load-addr and -F/--rom-fixed cannot be used together".into(),
        ));
    }
    if opts.pure && opts.sha != ShaChoice::Auto {
        return Err(SignError::Usage(
            "--pure fixes the hash algorithm; do not combine it with --sha".into(),
        ));
    }
    Ok(())
}

/// imgtool's `check_trailer`, made as strict as the bootloader: for
/// overwrite-only the bootloader reserves `4 * max_align + magic` (its
/// `boot_trailer_info_sz`), not imgtool's `2 * max_align + magic`.
fn check_size(
    len: u64,
    opts: &SignOptions,
    enc_tlv_len: Option<usize>,
) -> Result<Vec<String>, SignError> {
    let slot = u64::from(opts.slot_size);
    let mut warnings = Vec::new();
    if slot == 0 {
        return Ok(warnings);
    }
    let max_align = u64::from(opts.effective_max_align());
    let trailer = if opts.overwrite_only {
        let mut t = max_align * 4 + align_up(u64::from(BOOT_MAGIC_SIZE), max_align);
        if enc_tlv_len.is_some() {
            t += 2 * align_up(16, max_align);
        }
        t
    } else {
        opts.trailer_size(enc_tlv_len)
    };
    if len + trailer > slot {
        let note = if opts.overwrite_only {
            " (overwrite-only: the bootloader reserves 4*max-align + magic for its trailer)"
                .to_string()
        } else {
            std::format!(
                " (-M/--max-sectors {}, --align {})",
                opts.max_sectors.unwrap_or(DEFAULT_MAX_SECTORS),
                opts.align
            )
        };
        return Err(SignError::TooLarge {
            image: len,
            trailer,
            slot,
            excess: len + trailer - slot,
            note,
        });
    }
    if !opts.overwrite_only && opts.max_sectors.is_none() {
        let esp = opts.trailer_size_with(ESPRESSIF_MAX_SECTORS, enc_tlv_len);
        if len + esp > slot {
            warnings.push(std::format!(
                "image size ({len:#x}) + trailer ({esp:#x}) exceeds the slot size {slot:#x} with \
                 -M {ESPRESSIF_MAX_SECTORS} (the Espressif port's sector count); it fits only with \
                 the default -M {DEFAULT_MAX_SECTORS}"
            ));
        }
    }
    Ok(warnings)
}

/// What `--pad` appends to an image of `len` bytes (`Image.pad_to`):
/// `erased_run` bytes of the erased value, then `tail` (erased bytes, the
/// image_ok flag with `--confirm`, the boot magic). Described rather than
/// materialized so a large slot can be streamed to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Padding {
    /// Erased bytes before the tail.
    pub erased_run: usize,
    /// The last bytes of the slot.
    pub tail: Vec<u8>,
}

/// The padding imgtool's `pad_to` adds after an image of `len` bytes.
#[must_use]
pub fn padding(len: usize, opts: &SignOptions, enc_tlv_len: Option<usize>) -> Padding {
    let slot = opts.slot_size as usize;
    let magic = opts.boot_magic();
    // imgtool pads with `size - (len + tsize)` then `tsize - 16` bytes; a
    // negative first count is an empty run in Python.
    let tsize = opts.trailer_size(enc_tlv_len) as usize;
    let total = slot.saturating_sub(len + tsize) + tsize.saturating_sub(magic.len()) + magic.len();
    let ok_from_end = opts.image_ok_from_end() as usize;
    let tail_len = total.min(ok_from_end.max(magic.len()));
    let mut tail = std::vec![opts.erased_val; tail_len];
    let m = tail_len - magic.len();
    tail[m..].copy_from_slice(&magic);
    // imgtool writes image_ok into its padding buffer only.
    if opts.confirm && !opts.overwrite_only && tail_len >= ok_from_end {
        tail[tail_len - ok_from_end] = 0x01;
    }
    Padding {
        erased_run: total - tail_len,
        tail,
    }
}

/// Pads `bytes` in place (`--pad` for a binary output); see [`padding`].
pub fn pad_to_slot(bytes: &mut Vec<u8>, opts: &SignOptions, enc_tlv_len: Option<usize>) {
    let p = padding(bytes.len(), opts, enc_tlv_len);
    bytes.resize(bytes.len() + p.erased_run, opts.erased_val);
    bytes.extend_from_slice(&p.tail);
}

/// The trailer bytes `save` writes into a `.hex` output with `--pad`:
/// `(address offset from the slot start, bytes)` pairs.
#[must_use]
pub fn hex_trailer(opts: &SignOptions) -> Vec<(u32, Vec<u8>)> {
    let slot = opts.slot_size;
    let max_align = opts.effective_max_align();
    let mut out = Vec::new();
    if (opts.test || opts.confirm) && !opts.overwrite_only {
        let mut flag = std::vec![opts.erased_val; max_align as usize];
        if opts.confirm {
            flag[0] = 0x01;
        }
        out.push((slot.wrapping_sub(opts.image_ok_from_end() as u32), flag));
    }
    out.push((
        slot.wrapping_sub(BOOT_MAGIC_SIZE),
        opts.boot_magic().to_vec(),
    ));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Regression: `--pad-sig` used to cut 104-byte P-384 DER signatures to
    /// 103 bytes; imgtool only ever appends zeros.
    #[test]
    fn pad_sig_never_truncates_p384_signatures() {
        let key = PrivateKey::generate(crate::keys::KeyType::EcdsaP384).unwrap();
        let signer = KeySigner::new(key, true).unwrap();
        let mut seen_long = false;
        for i in 0u8..=255 {
            let digest = HashAlg::Sha384.digest(&[i]);
            let sig = signer.sign_image(digest.as_bytes(), &[], false).unwrap();
            let der_len = usize::from(sig[1]) + 2;
            assert!(sig.len() >= der_len, "signature truncated");
            assert_eq!(sig.len(), der_len.max(103));
            seen_long |= der_len == 104;
        }
        assert!(seen_long, "no 104-byte signature in 256 tries");
    }

    /// The writing variant (header and payload written on a second thread
    /// while hashing) yields the same image, and the bytes it wrote plus
    /// the rest are exactly that image; a failing writer is an error.
    #[test]
    fn build_writing_equals_build_and_writes_the_image_prefix() {
        let key = PrivateKey::generate(crate::keys::KeyType::Ed25519).unwrap();
        let signer = KeySigner::new(key, false).unwrap();
        let mut opts = SignOptions::new(ImageVersion::default(), 0x20, 0x20_0000);
        opts.pad_header = true;
        let mut input = std::vec![0xFFu8; 0x20];
        input.extend((0..300_000u32).map(|i| (i * 31 + 7) as u8));
        for signer in [None, Some(&signer as &dyn ImageSigner)] {
            let plain = build_with_header_area(input.clone(), &opts, signer, None).unwrap();
            let mut out = Vec::new();
            let (built, written) =
                build_with_header_area_writing(input.clone(), &opts, signer, None, &mut out)
                    .unwrap();
            assert_eq!(built.bytes, plain.bytes);
            assert_eq!(written, 0x20 + 300_000);
            assert_eq!(out[..], built.bytes[..written]);
        }
        struct Broken;
        impl std::io::Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        assert!(matches!(
            build_with_header_area_writing(input, &opts, None, None, &mut Broken),
            Err(SignError::Io(_))
        ));
    }

    /// The streamed form (payload read, hashed and written in chunks)
    /// writes exactly the image the in-memory form builds, for payloads
    /// around the chunk size, with and without --pad-header; a short
    /// reader is an I/O error.
    #[test]
    fn build_streaming_writes_the_same_image_as_build() {
        let key = PrivateKey::generate(crate::keys::KeyType::Ed25519).unwrap();
        let signer = KeySigner::new(key, false).unwrap();
        for (len, pad_header) in [
            (0usize, true),
            (5000, false),
            ((1 << 20) + 17, true),
            (3 << 20, false),
        ] {
            let mut opts = SignOptions::new(ImageVersion::default(), 0x20, 0x80_0000);
            opts.pad_header = pad_header;
            let body: Vec<u8> = (0..len as u32).map(|i| (i * 13 + 5) as u8).collect();
            let head = if pad_header {
                std::vec![0xFF; 0x20]
            } else {
                std::vec![0; 0x20]
            };
            let mut whole = head.clone();
            whole.extend_from_slice(&body);
            for signer in [None, Some(&signer as &dyn ImageSigner)] {
                let plain = build_with_header_area(whole.clone(), &opts, signer, None).unwrap();
                let mut out = Vec::new();
                let built = build_streaming(
                    head.clone(),
                    &opts,
                    signer,
                    PayloadStream {
                        reader: &mut &body[..],
                        len,
                        out: &mut out,
                    },
                )
                .unwrap();
                out.extend_from_slice(&built.bytes[0x20..]);
                assert!(out == plain.bytes, "len {len} pad_header {pad_header}");
                assert_eq!(built.hash.as_bytes(), plain.hash.as_bytes());
            }
        }
        let opts = SignOptions::new(ImageVersion::default(), 0x20, 0x80_0000);
        let short = build_streaming(
            std::vec![0; 0x20],
            &opts,
            None,
            PayloadStream {
                reader: &mut &[1u8; 10][..],
                len: 11,
                out: &mut Vec::new(),
            },
        );
        assert!(matches!(short, Err(SignError::Io(_))));
    }

    #[test]
    fn trailer_sizes_match_reference_table() {
        // reference/mcuboot.md §2.3: 128 sectors, W = A = 8 -> 3120 bytes.
        let mut o = SignOptions::new(ImageVersion::default(), 32, 0x10000);
        o.align = 8;
        assert_eq!(o.trailer_size(None), 3120);
        o.align = 32;
        o.max_align = Some(32);
        assert_eq!(o.trailer_size(None), 12448);
        o.overwrite_only = true;
        assert_eq!(o.trailer_size(None), 2 * 32 + 32);
    }
}
