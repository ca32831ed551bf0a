//! The ROM stage: reading the bootloader window (decrypting when flash
//! encryption is on) and finding the signature blocks the ROM verifies.

use super::*;

/// The physical bytes the ROM stage reads: the bootloader window, cut
/// short by the end of the flash.
pub(super) fn window(chip: Chip, flash: &SimFlash) -> std::ops::Range<usize> {
    let offset = chip.bootloader_offset();
    let end = flash
        .geometry()
        .capacity()
        .min(offset.saturating_add(BOOTLOADER_WINDOW));
    offset as usize..end.max(offset) as usize
}

/// The bootloader window as the ROM sees it.
pub(super) fn read_bootloader(
    chip: Chip,
    flash: &mut SimFlash,
    crypt: Option<&dyn FlashCrypt>,
) -> Result<Vec<u8>, ReadBootloaderError> {
    let range = window(chip, flash);
    let offset = chip.bootloader_offset();
    let mut buf = vec![0u8; range.len()];
    flash
        .read(offset, &mut buf)
        .map_err(ReadBootloaderError::Flash)?;
    if let Some(c) = crypt {
        c.decrypt(offset, &mut buf)
            .map_err(ReadBootloaderError::Decrypt)?;
    }
    Ok(buf)
}

/// The valid signature blocks of a signed bootloader (`buf` from the
/// bootloader offset): `(index, key digest)` of each block whose image
/// digest matches and whose signature verifies with its own key.
pub(super) fn signed_blocks(buf: &[u8], contents: &BootloaderContents) -> Vec<SignedBlock> {
    let signed_len = contents.signature_sector_offset();
    let (Some(data), Some(sector)) = (
        buf.get(..signed_len),
        buf.get(signed_len..signed_len + SECTOR as usize),
    ) else {
        return Vec::new();
    };
    sbv2::sector_blocks(sector)
        .into_iter()
        .enumerate()
        .filter_map(|(index, block)| {
            let block = block.ok()?;
            let digest = block.scheme().image_digest(data);
            if block.image_digest() != &digest[..] {
                return None;
            }
            let key = block.public_key().ok()?;
            block.verify_signature(&digest, &key).ok()?;
            Some(SignedBlock {
                index,
                scheme: block.scheme(),
                key_digest: block.key_digest(),
            })
        })
        .collect()
}

/// A valid signature block of the bootloader.
pub(super) struct SignedBlock {
    pub(super) index: usize,
    pub(super) scheme: sbv2::SigningScheme,
    pub(super) key_digest: [u8; 32],
}

/// The blocks the chip's ROM would look at, or why none.
pub(super) fn rom_blocks(
    chip: Chip,
    blocks: Vec<SignedBlock>,
) -> Result<Vec<SignedBlock>, SecureBootRefusal> {
    if blocks.is_empty() {
        return Err(SecureBootRefusal::NoSignatureBlock);
    }
    let schemes: Vec<sbv2::SigningScheme> = blocks.iter().map(|b| b.scheme).collect();
    let usable: Vec<SignedBlock> = blocks
        .into_iter()
        .filter(|b| fuses::rom_verifies(chip, b.scheme, b.index))
        .collect();
    if usable.is_empty() {
        return Err(SecureBootRefusal::SchemeNotVerified { chip, schemes });
    }
    Ok(usable)
}

/// The first 8 bytes of a digest in hex, then `…`: how reports name a key
/// digest.
pub(super) fn hex_digest(d: &[u8]) -> String {
    hex::encode(d.get(..8).unwrap_or(d)) + "…"
}
