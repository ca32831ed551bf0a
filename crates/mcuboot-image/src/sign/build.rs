//! The one way to build an image: [`ImageBuilder`] checks the options,
//! picks the hash, reads the input's header area and computes everything
//! that precedes the payload bytes (the header, the protected TLVs). The
//! result, a [`BuiltImage`], is then written by
//! [`BuiltImage::write_to`](super::BuiltImage::write_to), which hashes and
//! signs while it writes (`image.py` `Image.load` + `Image.create`).

use crate::keys::McubootKey as _;
use std::io::Read;
use std::vec::Vec;

use super::encryption::Encryption;
use super::error::SignError;
use super::options::SignOptions;
use super::protected::protected_area;
use super::signer::{select_hash, ImageSigner};
use crate::codec::header::{ImageFlags, ImageHeader, IMAGE_MAGIC};
use crate::enc::AES_BLOCK_SIZE;
use crate::HashAlg;

/// Where the image's input comes from: the application binary, with its
/// zeroed header area unless [`SignOptions::pad_header`].
pub enum Input<'r> {
    /// In memory; `address` is where its first byte belongs (an Intel HEX
    /// input's lowest address).
    Bytes {
        /// The input bytes.
        data: Vec<u8>,
        /// Their address, if known.
        address: Option<u32>,
    },
    /// `len` bytes from `reader` (a file). The payload is streamed through
    /// the hash to the output unless something needs it in memory
    /// (encryption, pure signing, a vector to sign, Intel HEX output).
    Reader {
        /// The input.
        reader: &'r mut (dyn Read + Send),
        /// How many bytes it yields; fewer or more is
        /// [`SignError::InputChanged`]. Know it before reading (a regular
        /// file's size): pipes and procfs files report none, read those
        /// into [`Input::Bytes`].
        len: u64,
    },
}

impl core::fmt::Debug for Input<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Bytes { data, address } => f
                .debug_struct("Input::Bytes")
                .field("len", &data.len())
                .field("address", address)
                .finish(),
            Self::Reader { len, .. } => f
                .debug_struct("Input::Reader")
                .field("len", len)
                .finish_non_exhaustive(),
        }
    }
}

/// Builds one image from [`SignOptions`], an optional signer and an
/// optional encryption.
///
/// ```
/// use mcuboot_image::sign::{ImageBuilder, Input, OutputFormat, SignOptions, Trailer};
///
/// let mut opts = SignOptions::new("1.2.3".parse()?, 0x20, 0x4000);
/// opts.pad_header = true;
/// opts.trailer = Trailer::Pad;
/// let mut image = Vec::new();
/// let signed = ImageBuilder::new(&opts)
///     .build(Input::Bytes { data: vec![0xaa; 100], address: None })?
///     .write_to(&mut image, OutputFormat::Binary)?;
/// assert_eq!(image.len(), 0x4000); // padded to the slot, boot magic last
/// assert_eq!(signed.hash.as_bytes().len(), 32); // unsigned: SHA-256
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy)]
pub struct ImageBuilder<'a> {
    opts: &'a SignOptions,
    signer: Option<&'a dyn ImageSigner>,
    encryption: Option<&'a Encryption>,
    /// Whether the payload is padded, encrypted and the wrapped key added;
    /// without, `encryption` only sets the header flag (imgtool's
    /// `dont_encrypt`, the first of the two `--compression` builds).
    encrypt_payload: bool,
}

impl core::fmt::Debug for ImageBuilder<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ImageBuilder")
            .field("opts", self.opts)
            .field("signed", &self.signer.is_some())
            .field("encryption", &self.encryption)
            .field("encrypt_payload", &self.encrypt_payload)
            .finish()
    }
}

impl<'a> ImageBuilder<'a> {
    /// An unsigned, unencrypted image with these options.
    #[must_use]
    pub fn new(opts: &'a SignOptions) -> Self {
        Self {
            opts,
            signer: None,
            encryption: None,
            encrypt_payload: true,
        }
    }

    /// Signs with `signer` (unsigned with `None`).
    #[must_use]
    pub fn signer(mut self, signer: Option<&'a dyn ImageSigner>) -> Self {
        self.signer = signer;
        self
    }

    /// Encrypts the payload and carries the wrapped key (clear with `None`).
    #[must_use]
    pub fn encryption(mut self, encryption: Option<&'a Encryption>) -> Self {
        self.encryption = encryption;
        self.encrypt_payload = true;
        self
    }

    /// Sets the header flag of `encryption`'s AES key size but leaves the
    /// payload unpadded and clear and adds no wrapped key: imgtool's
    /// `create(..., dont_encrypt=True)`, whose hash and signature the
    /// compressed image carries as DECOMP_SHA and DECOMP_SIGNATURE.
    #[must_use]
    pub(super) fn encryption_flag_only(mut self, encryption: Option<&'a Encryption>) -> Self {
        self.encryption = encryption;
        self.encrypt_payload = false;
        self
    }

    /// Checks everything and computes what precedes the payload; reads the
    /// header area of a [`Input::Reader`] (not the payload).
    ///
    /// # Errors
    /// [`SignError`]: bad options, a key or encryption imgtool refuses, a
    /// header area that is not zero, an unreadable input.
    pub fn build<'r>(self, input: Input<'r>) -> Result<BuiltImage<'a, 'r>, SignError> {
        let opts = self.opts;
        opts.check()?;
        let hash = select_hash(self.signer, opts.signing)?;
        let public_der = self
            .signer
            .map(|s| s.public_key().embedded_der())
            .transpose()?;
        if let (Some(enc), Some(signer)) = (self.encryption, self.signer) {
            if let Some(kind) = signer.public_key().signature_kind() {
                enc.check_pairing(kind)?;
            }
        }
        let signer_id = match public_der.as_ref().or(opts.boot_record_signer.as_ref()) {
            Some(der) => hash.digest(der).as_bytes().to_vec(),
            None => std::vec![0u8; HashAlg::Sha256.digest_len()],
        };
        let protected = protected_area(opts, hash, &signer_id)?;

        let (body, address) = Body::from_input(input, opts)?;
        let payload_len = body.payload_len(opts);
        // Encrypted payloads are padded to the AES block size before hashing.
        let padded_len = match self.encryption.filter(|_| self.encrypt_payload) {
            Some(_) => payload_len.div_ceil(AES_BLOCK_SIZE as u64) * AES_BLOCK_SIZE as u64,
            None => payload_len,
        };
        let header = header(opts, self.encryption, padded_len, protected.len())?;
        Ok(BuiltImage {
            opts,
            signer: self.signer,
            encryption: self.encryption,
            encrypt_payload: self.encrypt_payload,
            hash,
            header,
            protected,
            public_der,
            key_hash: signer_id,
            body,
            padded_len,
            address,
        })
    }
}

impl ImageBuilder<'_> {
    /// [`ImageBuilder::build`] from `data` in memory, then
    /// [`BuiltImage::write_to`](super::BuiltImage::write_to) a new buffer as
    /// a binary image (padded if [`SignOptions::trailer`] says so).
    ///
    /// # Errors
    /// As [`ImageBuilder::build`] and `write_to`.
    pub fn to_vec(self, data: Vec<u8>) -> Result<Vec<u8>, SignError> {
        let mut out = Vec::new();
        self.build(Input::Bytes {
            data,
            address: None,
        })?
        .write_to(&mut out, super::OutputFormat::Binary)?;
        Ok(out)
    }
}

/// The header for a payload of `img_size` bytes.
fn header(
    opts: &SignOptions,
    encryption: Option<&Encryption>,
    img_size: u64,
    protected_len: usize,
) -> Result<ImageHeader, SignError> {
    let (load_addr, mut flags) = opts.load_address.header_fields();
    if let Some(enc) = encryption {
        flags |= enc.header_flag();
    }
    if opts.non_bootable {
        flags |= ImageFlags::NON_BOOTABLE;
    }
    match opts.compression {
        super::Compression::Disabled => {}
        super::Compression::Lzma2 => flags |= ImageFlags::COMPRESSED_LZMA2,
        super::Compression::Lzma2ArmThumb => {
            flags |= ImageFlags::COMPRESSED_LZMA2 | ImageFlags::COMPRESSED_ARM_THUMB_FLT;
        }
    }
    Ok(ImageHeader {
        magic: IMAGE_MAGIC,
        load_addr,
        // Both checked by `SignOptions::check` and the TLV writer.
        hdr_size: u16::try_from(opts.header_size).unwrap_or(u16::MAX),
        protect_tlv_size: u16::try_from(protected_len).unwrap_or(u16::MAX),
        img_size: u32::try_from(img_size).map_err(|_| SignError::ImageTooLarge(img_size))?,
        flags,
        version: opts.version,
        pad1: 0,
    })
}

/// The header area and the payload: in memory, or the header area with
/// the payload still in the reader.
pub(super) enum Body<'r> {
    /// The header area followed by the payload.
    Memory(Vec<u8>),
    /// The header area; `len` payload bytes follow in `reader`.
    Stream {
        head: Vec<u8>,
        reader: &'r mut (dyn Read + Send),
        len: u64,
    },
}

impl<'r> Body<'r> {
    /// `Image.load` + `check_header`: prepends the header area with
    /// `--pad-header`, else requires the input's own to be zero.
    fn from_input(input: Input<'r>, opts: &SignOptions) -> Result<(Self, Option<u32>), SignError> {
        let header_size = opts.header_size as usize;
        match input {
            Input::Bytes { data, address } => {
                let data = if opts.pad_header {
                    let mut buf = Vec::with_capacity(output_capacity(data.len(), opts));
                    buf.resize(header_size, opts.erased_val);
                    buf.extend_from_slice(&data);
                    buf
                } else {
                    data
                };
                check_header_area(&data, opts, data.len() as u64)?;
                // imgtool moves the address down for a prepended header,
                // but only a non-zero one (`Image.load`).
                let address = match address {
                    Some(a) if opts.pad_header && a != 0 => Some(a.wrapping_sub(opts.header_size)),
                    other => other,
                };
                Ok((Self::Memory(data), address))
            }
            Input::Reader { reader, len } => {
                if opts.pad_header {
                    let head = std::vec![opts.erased_val; header_size];
                    return Ok((Self::Stream { head, reader, len }, None));
                }
                let mut head = Vec::with_capacity(header_size);
                reader
                    .take(opts.header_size.into())
                    .read_to_end(&mut head)
                    .map_err(SignError::ReadInput)?;
                check_header_area(&head, opts, len)?;
                let len = len - head.len() as u64;
                Ok((Self::Stream { head, reader, len }, None))
            }
        }
    }

    /// Bytes of payload after the header area.
    fn payload_len(&self, opts: &SignOptions) -> u64 {
        match self {
            Self::Memory(buf) => (buf.len() as u64).saturating_sub(opts.header_size.into()),
            Self::Stream { len, .. } => *len,
        }
    }
}

/// The header area must be present and, unless prepended, zero.
fn check_header_area(head: &[u8], opts: &SignOptions, input_len: u64) -> Result<(), SignError> {
    let header_size = opts.header_size as usize;
    let Some(area) = head.get(..header_size) else {
        return Err(SignError::InputTooShort {
            len: input_len,
            header: opts.header_size,
        });
    };
    if !opts.pad_header && area.iter().any(|b| *b != 0) {
        return Err(SignError::HeaderNotZero(opts.header_size));
    }
    Ok(())
}

/// Room to reserve for an image in memory so that the TLVs never
/// reallocate the (possibly large) buffer: both TLV areas are at most
/// 64 KiB each, encryption pads up to 15 bytes.
pub(super) fn output_capacity(input_len: usize, opts: &SignOptions) -> usize {
    input_len
        .saturating_add(opts.header_size as usize)
        .saturating_add(2 * 0x1_0000 + AES_BLOCK_SIZE)
}

/// An image whose header and protected TLVs are known; the payload is
/// hashed, signed and written by [`BuiltImage::write_to`](super::BuiltImage::write_to).
pub struct BuiltImage<'a, 'r> {
    pub(super) opts: &'a SignOptions,
    pub(super) signer: Option<&'a dyn ImageSigner>,
    pub(super) encryption: Option<&'a Encryption>,
    /// See [`ImageBuilder::encryption_flag_only`].
    pub(super) encrypt_payload: bool,
    pub(super) hash: HashAlg,
    pub(super) header: ImageHeader,
    pub(super) protected: Vec<u8>,
    pub(super) public_der: Option<Vec<u8>>,
    /// KEYHASH: the signing key's hash (zeros when unsigned).
    pub(super) key_hash: Vec<u8>,
    pub(super) body: Body<'r>,
    /// The payload length in the header (after encryption padding).
    pub(super) padded_len: u64,
    /// The input's address (Intel HEX), moved for a prepended header.
    pub(super) address: Option<u32>,
}

impl core::fmt::Debug for BuiltImage<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BuiltImage")
            .field("header", &self.header)
            .field("hash", &self.hash)
            .field("protected_len", &self.protected.len())
            .finish_non_exhaustive()
    }
}

impl BuiltImage<'_, '_> {
    /// The image header.
    #[must_use]
    pub fn header(&self) -> &ImageHeader {
        &self.header
    }

    /// The image hash algorithm.
    #[must_use]
    pub fn hash_alg(&self) -> HashAlg {
        self.hash
    }

    /// The encryption applied to the payload (none for a flag-only one).
    pub(super) fn payload_encryption(&self) -> Option<&Encryption> {
        self.encryption.filter(|_| self.encrypt_payload)
    }
}
