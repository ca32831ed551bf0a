//! The only writer of signed images: [`BuiltImage::write_to`] hashes and
//! signs while it writes, then adds the unprotected TLVs, checks the slot
//! size, and pads to the slot or writes Intel HEX (`image.py`
//! `Image.create`, `check_trailer`, `pad_to`, `save`).

use crate::keys::McubootKey as _;
use std::io::{Read, Write};
use std::vec::Vec;

use super::build::{output_capacity, Body, BuiltImage};
use super::error::{SignError, SignWarning, TrailerRule};
use super::options::{PublicKeyFormat, Trailer, VectorToSign};
use crate::codec::tlv::{TlvArea, TlvKind, TlvWriter};
use crate::codec::trailer::{magic_in, TrailerLayout, ESPRESSIF_MAX_SECTORS, FLAG_SET, MAGIC_SIZE};
use crate::Digest;

/// How the output is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// The raw image (padded to the slot with a [`Trailer`]).
    Binary,
    /// Intel HEX at `address`, or at the input's own address (imgtool
    /// `-x/--hex-addr`); with a [`Trailer`], the trailer's fields are
    /// separate records at the end of the slot.
    IntelHex {
        /// The image's address.
        address: Option<u32>,
    },
}

/// What was written.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedImage {
    /// The image hash.
    pub hash: Digest,
    /// The signature placed in the image, if any.
    pub signature: Option<Vec<u8>>,
    /// Length of the image (or vector) before slot padding.
    pub len: u64,
    /// Length of the encryption TLV's value, if encrypted.
    pub enc_tlv_len: Option<usize>,
    /// Whether a vector to sign was written instead of an image.
    pub is_vector: bool,
    /// Remarks that did not stop signing.
    pub warnings: Vec<SignWarning>,
}

impl BuiltImage<'_, '_> {
    /// Hashes, signs and writes the image to `out` in `format`.
    ///
    /// A binary image whose payload comes from a reader and needs no
    /// second look (no encryption, no pure signing, no vector) streams:
    /// the header is written, then the payload is read, hashed and written
    /// in overlapping chunks. Otherwise the payload is read into memory,
    /// and its header and payload are written while the hash is computed
    /// when nothing changes them afterwards.
    ///
    /// # Errors
    /// [`SignError`]; the output then holds an incomplete image and must
    /// be discarded.
    pub fn write_to(
        mut self,
        out: &mut (dyn Write + Send),
        format: OutputFormat,
    ) -> Result<SignedImage, SignError> {
        let in_memory = self.encryption.is_some()
            || self.opts.signing.is_pure()
            || self.opts.vector_to_sign.is_some()
            || format != OutputFormat::Binary;
        let body = core::mem::replace(&mut self.body, Body::Memory(Vec::new()));
        match body {
            Body::Stream { head, reader, len } if !in_memory => {
                self.write_streamed(out, head, reader, len)
            }
            body => self.write_from_memory(out, format, body),
        }
    }

    /// The streamed binary path.
    fn write_streamed(
        &self,
        out: &mut (dyn Write + Send),
        mut head: Vec<u8>,
        reader: &mut (dyn Read + Send),
        len: u64,
    ) -> Result<SignedImage, SignError> {
        put_header(&mut head, &self.header, self.opts.endian);
        let mut hasher = self.hash.hasher();
        super::stream::hash_and_copy(&mut hasher, &head, reader, len, out)?;
        hasher.update(&self.protected);
        let digest = hasher.finalize();
        let (unprotected, signature) = self.unprotected_area(&digest, &[])?;
        out.write_all(&self.protected)
            .and_then(|()| out.write_all(&unprotected))
            .map_err(SignError::WriteOutput)?;
        let image_len = (head.len() + self.protected.len() + unprotected.len()) as u64 + len;
        let warnings = self.check_size(image_len)?;
        self.pad_binary(out, image_len, self.enc_tlv_len())?;
        Ok(SignedImage {
            hash: digest,
            signature,
            len: image_len,
            enc_tlv_len: None,
            is_vector: false,
            warnings,
        })
    }

    /// Every other path: the header area and payload in one buffer.
    fn write_from_memory(
        &self,
        out: &mut (dyn Write + Send),
        format: OutputFormat,
        body: Body<'_>,
    ) -> Result<SignedImage, SignError> {
        let header_size = self.opts.header_size as usize;
        let mut buf = match body {
            Body::Memory(buf) => buf,
            Body::Stream { head, reader, len } => read_payload(head, reader, len, self.opts)?,
        };
        if self.payload_encryption().is_some() {
            // Zero padding to the AES block size (`Image.create`).
            let padded = usize::try_from(self.padded_len)
                .map_err(|_| SignError::ImageTooLarge(self.padded_len))?;
            buf.resize(header_size + padded, 0);
        }
        put_header(&mut buf, &self.header, self.opts.endian);
        let body_end = buf.len();
        buf.extend_from_slice(&self.protected);

        // Header and payload are final unless the payload gets encrypted or
        // a vector is written instead: then write them while hashing.
        let body_final = self.payload_encryption().is_none_or(|e| e.is_clear())
            && self.opts.vector_to_sign.is_none()
            && format == OutputFormat::Binary;
        let (digest, written) = if body_final {
            let digest = super::stream::hash_while_writing(self.hash, &buf, &buf[..body_end], out)?;
            (digest, body_end)
        } else {
            (self.hash.digest(&buf), 0)
        };

        if let Some(vector) = self.opts.vector_to_sign {
            let bytes = match vector {
                VectorToSign::Payload => buf,
                VectorToSign::Digest => digest.as_bytes().to_vec(),
            };
            self.write_whole(out, format, &bytes, None)?;
            return Ok(SignedImage {
                hash: digest,
                signature: None,
                len: bytes.len() as u64,
                enc_tlv_len: None,
                is_vector: true,
                warnings: Vec::new(),
            });
        }

        let (unprotected, signature) = self.unprotected_area(&digest, &buf)?;
        if let Some(enc) = self.payload_encryption() {
            // Only the payload is encrypted, never the header or the TLVs.
            enc.apply(buf.get_mut(header_size..body_end).unwrap_or_default())?;
        }
        buf.extend_from_slice(&unprotected);
        let warnings = self.check_size(buf.len() as u64)?;
        let enc_tlv_len = self.enc_tlv_len();
        match format {
            OutputFormat::Binary => {
                out.write_all(buf.get(written..).unwrap_or_default())
                    .map_err(SignError::WriteOutput)?;
                self.pad_binary(out, buf.len() as u64, enc_tlv_len)?;
            }
            OutputFormat::IntelHex { .. } => self.write_whole(out, format, &buf, enc_tlv_len)?,
        }
        Ok(SignedImage {
            hash: digest,
            signature,
            len: buf.len() as u64,
            enc_tlv_len,
            is_vector: false,
            warnings,
        })
    }

    /// Writes `bytes` (none written yet) and what follows it in `format`.
    fn write_whole(
        &self,
        out: &mut (dyn Write + Send),
        format: OutputFormat,
        bytes: &[u8],
        enc_tlv_len: Option<usize>,
    ) -> Result<(), SignError> {
        match format {
            OutputFormat::Binary => {
                out.write_all(bytes).map_err(SignError::WriteOutput)?;
                self.pad_binary(out, bytes.len() as u64, enc_tlv_len)
            }
            OutputFormat::IntelHex { address } => {
                let base = address
                    .or(self.address)
                    .ok_or(SignError::HexAddressRequired)?;
                let mut segments: Vec<(i128, &[u8])> = std::vec![(i128::from(base), bytes)];
                let trailer = self.hex_trailer();
                for (offset, data) in &trailer {
                    segments.push((i128::from(base) + i128::from(*offset), data));
                }
                let text = crate::hexfile::write(&segments)
                    .map_err(|e| SignError::HexPastFourGiB(e.overflow))?;
                out.write_all(text.as_bytes())
                    .map_err(SignError::WriteOutput)
            }
        }
    }

    /// The unprotected TLV area (hash, SIG_PURE, key, signature, wrapped
    /// key) and the signature. `region` is the hashed region, which only
    /// pure signing reads.
    fn unprotected_area(
        &self,
        digest: &Digest,
        region: &[u8],
    ) -> Result<(Vec<u8>, Option<Vec<u8>>), SignError> {
        let mut area = TlvWriter::new_in(TlvArea::Unprotected, self.opts.endian);
        area.push(self.hash.tlv(), digest.as_bytes())?;
        let pure = self.opts.signing.is_pure();
        if pure {
            area.push(TlvKind::SigPure, &[1])?;
        }
        let mut signature = None;
        if let (Some(signer), Some(der)) = (self.signer, &self.public_der) {
            let kind = signer
                .public_key()
                .signature_kind()
                .ok_or(SignError::CannotSign)?;
            match self.opts.public_key_format {
                PublicKeyFormat::Hash => area.push(TlvKind::KeyHash, &self.key_hash)?,
                PublicKeyFormat::Full => area.push(TlvKind::PubKey, der)?,
            };
            let sig = if pure {
                let pure_signer = signer
                    .pure()
                    .ok_or(super::OptionError::PureNeedsEd25519(kind))?;
                pure_signer.sign_region(region)
            } else {
                signer.sign_digest(digest.as_bytes())
            }
            .map_err(SignError::Signature)?;
            area.push(kind.tlv(), &sig)?;
            signature = Some(sig);
        }
        if let Some((enc, kind)) = self
            .payload_encryption()
            .and_then(|e| e.tlv_kind().map(|k| (e, k)))
        {
            area.push(kind.tlv_kind(), enc.tlv_value())?;
        }
        Ok((area.finish()?, signature))
    }

    /// The encryption TLV's length for the trailer: imgtool's
    /// `enctlv_len`, still 0 for a flag-only encryption (whose trailer
    /// keeps its key fields all the same, `_trailer_size`).
    fn enc_tlv_len(&self) -> Option<usize> {
        self.encryption
            .map(|_| self.payload_encryption().map_or(0, |e| e.tlv_value().len()))
    }

    /// imgtool's `check_trailer`, made as strict as the bootloader unless
    /// [`SlotCheck::Imgtool`](super::SlotCheck): for overwrite-only the
    /// bootloader reserves `4 * max_align + magic` (its
    /// `boot_trailer_info_sz`), not imgtool's `2 * max_align + magic`.
    fn check_size(&self, len: u64) -> Result<Vec<SignWarning>, SignError> {
        let opts = self.opts;
        let slot = u64::from(opts.slot_size);
        let enc_tlv_len = self.enc_tlv_len();
        let mut warnings = Vec::new();
        if slot == 0 {
            return Ok(warnings);
        }
        let (trailer, rule) = if opts.overwrite_only && opts.slot_check == super::SlotCheck::Imgtool
        {
            (opts.trailer_size(enc_tlv_len), TrailerRule::OverwriteOnly)
        } else if opts.overwrite_only {
            let layout = TrailerLayout {
                enc_key_size: if enc_tlv_len.is_some() { 16 } else { 0 },
                ..TrailerLayout::new(opts.effective_max_align(), opts.align, 0)
            };
            (layout.size(), TrailerRule::OverwriteOnly)
        } else {
            let rule = TrailerRule::Swap {
                max_sectors: opts.max_sectors_or_default(),
                align: opts.align,
            };
            (opts.trailer_size(enc_tlv_len), rule)
        };
        let trailer = u64::from(trailer);
        if len + trailer > slot {
            return Err(SignError::TooLarge {
                image: len,
                trailer,
                slot,
                rule,
            });
        }
        if !opts.overwrite_only && opts.max_sectors.is_none() {
            let esp = u64::from(opts.trailer_size_with(ESPRESSIF_MAX_SECTORS, enc_tlv_len));
            if len + esp > slot {
                warnings.push(SignWarning::EspressifSectorCount {
                    image: len,
                    trailer: esp,
                    slot,
                });
            }
        }
        Ok(warnings)
    }

    /// `--pad` for a binary output (`Image.pad_to`): the erased run, then
    /// the tail (erased bytes, image_ok with `--confirm`, the boot magic),
    /// streamed so a large slot is never held in memory.
    fn pad_binary(
        &self,
        out: &mut (dyn Write + Send),
        len: u64,
        enc_tlv_len: Option<usize>,
    ) -> Result<(), SignError> {
        if !self.opts.trailer.pads() {
            return Ok(());
        }
        let (erased_run, tail) = padding(self.opts, len, enc_tlv_len);
        let erased = self.opts.erased_val;
        let chunk =
            std::vec![erased; usize::try_from(erased_run).map_or(1 << 16, |n| n.min(1 << 16))];
        let mut left = erased_run;
        while left > 0 {
            let n = usize::try_from(left).map_or(chunk.len(), |l| l.min(chunk.len()));
            out.write_all(&chunk[..n]).map_err(SignError::WriteOutput)?;
            left -= n as u64;
        }
        out.write_all(&tail).map_err(SignError::WriteOutput)
    }

    /// The trailer records of an Intel HEX output with `--pad` (`save`):
    /// `(offset from the slot start, bytes)`.
    fn hex_trailer(&self) -> Vec<(u32, Vec<u8>)> {
        let opts = self.opts;
        if !opts.trailer.pads() {
            return Vec::new();
        }
        let slot = opts.slot_size;
        let max_align = opts.effective_max_align();
        let layout = TrailerLayout::new(max_align, opts.align, 0);
        let mut out = Vec::new();
        if matches!(opts.trailer, Trailer::Test | Trailer::Confirm) && !opts.overwrite_only {
            let mut flag = std::vec![opts.erased_val; max_align as usize];
            if opts.trailer == Trailer::Confirm {
                flag[0] = FLAG_SET;
            }
            out.push((slot.wrapping_sub(layout.image_ok_from_end()), flag));
        }
        out.push((
            slot.wrapping_sub(MAGIC_SIZE),
            magic_in(max_align, opts.endian).to_vec(),
        ));
        out
    }
}

/// What `pad_to` appends after an image of `len` bytes: a run of erased
/// bytes, then the tail (erased bytes, image_ok with `--confirm`, the
/// boot magic). imgtool pads with `size - (len + tsize)` then `tsize - 16`
/// bytes; a negative first count is an empty run in Python.
fn padding(opts: &super::SignOptions, len: u64, enc_tlv_len: Option<usize>) -> (u64, Vec<u8>) {
    let slot = u64::from(opts.slot_size);
    let max_align = opts.effective_max_align();
    let magic = magic_in(max_align, opts.endian);
    let magic_len = magic.len() as u64;
    let tsize = u64::from(opts.trailer_size(enc_tlv_len));
    let total = slot.saturating_sub(len + tsize) + tsize.saturating_sub(magic_len) + magic_len;
    let ok_from_end = u64::from(TrailerLayout::new(max_align, opts.align, 0).image_ok_from_end());
    let tail_len = total.min(ok_from_end.max(magic_len));
    // At most image_ok's offset from the end: a few dozen bytes.
    let mut tail = std::vec![opts.erased_val; tail_len as usize];
    let m = tail.len() - magic.len();
    tail[m..].copy_from_slice(&magic);
    // imgtool writes image_ok into its padding buffer only.
    if opts.trailer == Trailer::Confirm && !opts.overwrite_only && tail_len >= ok_from_end {
        let at = tail.len() - ok_from_end as usize;
        tail[at] = FLAG_SET;
    }
    (total - tail_len, tail)
}

/// Reads the payload after `head` into one buffer with room for the TLVs.
fn read_payload(
    head: Vec<u8>,
    reader: &mut (dyn Read + Send),
    len: u64,
    opts: &super::SignOptions,
) -> Result<Vec<u8>, SignError> {
    let total = usize::try_from(len)
        .ok()
        .and_then(|l| l.checked_add(head.len()))
        .ok_or(SignError::ImageTooLarge(len))?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(output_capacity(total, opts))
        .map_err(|_| SignError::ImageTooLarge(len))?;
    buf.extend_from_slice(&head);
    reader
        .take(len)
        .read_to_end(&mut buf)
        .map_err(SignError::ReadInput)?;
    if buf.len() != total {
        return Err(SignError::InputChanged);
    }
    Ok(buf)
}

/// Writes `header` over the start of the header area.
fn put_header(head: &mut [u8], header: &crate::ImageHeader, endian: crate::codec::Endian) {
    let bytes = header.to_bytes_in(endian);
    if let Some(dst) = head.get_mut(..bytes.len()) {
        dst.copy_from_slice(&bytes);
    }
}
