//! Secure Debug Controller (SDC) certificates and the SDC public key
//! digest, byte-compatible with espsecure 5.6.0 (`espsecure/esp_sdc`).
//!
//! A certificate unlocks debug interfaces on one device for one session:
//! a 20-byte header, a 416-byte body (USC configuration, the signer's
//! P-256 public key, the ECDSA signature over `USC ‖ chip_info`, and the
//! SHA-256 of everything before it), then the 32-byte nonce the device's
//! `chip_info` was derived with — 468 bytes in all. The device trusts the
//! signer when the reversed SHA-256 of its raw public key is burned as
//! `SDC_KEY_DIGEST` ([`public_key_digest`]).

use sha2::{Digest, Sha256};
use signature::RandomizedSigner;

use crate::sbv1::public_key_raw;

/// USC (Unlock Security Configuration) data size (`USC_DATA_SIZE`).
pub const USC_LEN: usize = 256;
/// Header size (`SDC_CERT_HEADER_SIZE`).
pub const HEADER_LEN: usize = 20;
/// Body: USC, public key (64), r (32), s (32), certificate hash (32)
/// (`SDC_CERT_BODY_SIZE`).
pub const BODY_LEN: usize = USC_LEN + 64 + 32 + 32 + 32;
/// Nonce appended after the body (`NONCE_SIZE`).
pub const NONCE_LEN: usize = 32;
/// The certificate file: header, body, nonce.
pub const CERTIFICATE_LEN: usize = HEADER_LEN + BODY_LEN + NONCE_LEN;
/// A `--chip-info` file: chip_info then the nonce (`CHIP_INFO_FILE_SIZE`).
pub const CHIP_INFO_FILE_LEN: usize = 32 + NONCE_LEN;
/// `SDC_CERT_MAGIC` ("RMAC", stored little-endian).
pub const MAGIC: u32 = 0x524D_4143;
/// `SDC_CERT_VERSION_1`.
pub const VERSION: u8 = 1;

/// The session counters a device can hold: SDC_SESSION_COUNTER is a 3-bit
/// eFuse burned one more low bit per session (`_calculate_chip_info`).
pub const SESSION_COUNTERS: [u32; 4] = [0, 1, 3, 7];

/// The CRC-32 in the header: zlib's `crc32(body, 0xFFFFFFFF)`, i.e. the
/// reflected 0x04C11DB7 CRC with a zero start register ("initial value
/// UINT32_MAX, same as ROM crc32_le").
const CRC32_ROM: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::Algorithm {
    width: 32,
    poly: 0x04C1_1DB7,
    init: 0x0000_0000,
    refin: true,
    refout: true,
    xorout: 0xFFFF_FFFF,
    check: 0xD202_D277,
    residue: 0xDEBB_20E3,
});

/// Why an SDC operation failed; texts are espsecure's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdcError {
    /// A session counter other than 0, 1, 3, 7.
    #[error(
        "Invalid SDC session counter value: expected one of 0, 1, 3, 7 (SDC_SESSION_COUNTER is a 3-bit write-only eFuse whose bits burn 0->1 monotonically, so it advances 0 -> 1 -> 3 -> 7), got {0}"
    )]
    SessionCounter(i128),
    /// A certificate that is not [`CERTIFICATE_LEN`] bytes.
    #[error("an SDC certificate is {CERTIFICATE_LEN} bytes, got {0}")]
    Length(usize),
    /// The header's magic, version, lengths or CRC, or the body's hash,
    /// do not match.
    #[error("the SDC certificate's {0} does not match")]
    Corrupt(&'static str),
    /// The signature does not verify with the embedded public key.
    #[error("the SDC certificate's signature does not verify")]
    Signature,
}

/// The debug interfaces a certificate unlocks (USC word 0, bits 0-2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UscFlags {
    /// Bit 0: JTAG.
    pub jtag: bool,
    /// Bit 1: download mode reuse.
    pub download_reuse: bool,
    /// Bit 2: force SPI boot.
    pub force_spi_boot: bool,
}

impl UscFlags {
    /// Flags from their three values.
    pub fn new(jtag: bool, download_reuse: bool, force_spi_boot: bool) -> Self {
        Self {
            jtag,
            download_reuse,
            force_spi_boot,
        }
    }

    /// The 256-byte USC data: the flag word big-endian, then zeros
    /// (`generate_usc_data`).
    pub fn usc_data(self) -> [u8; USC_LEN] {
        let word = u32::from(self.jtag)
            | u32::from(self.download_reuse) << 1
            | u32::from(self.force_spi_boot) << 2;
        let mut out = [0u8; USC_LEN];
        out[..4].copy_from_slice(&word.to_be_bytes());
        out
    }
}

/// The device's chip_info: `SHA256(SHA256(reverse(MAC)) ‖ nonce ‖
/// counter << 4)`. `mac` is in the order `espefuse summary` shows; the ROM
/// hashes it in eFuse order, reversed.
pub fn chip_info(
    mac: &[u8; 6],
    session_counter: i128,
    nonce: &[u8; NONCE_LEN],
) -> Result<[u8; 32], SdcError> {
    let counter = u32::try_from(session_counter)
        .ok()
        .filter(|c| SESSION_COUNTERS.contains(c))
        .ok_or(SdcError::SessionCounter(session_counter))?;
    let mut reversed = *mac;
    reversed.reverse();
    let uniq_id = Sha256::digest(reversed);
    let mut h = Sha256::new();
    h.update(uniq_id);
    h.update(nonce);
    // The counter sits in the high nibble of the eFuse tail byte.
    h.update([(counter << 4) as u8]);
    Ok(h.finalize().into())
}

/// SHA-256 of a raw public key `x ‖ y` (the "public key hash").
pub fn raw_key_hash(raw: &[u8]) -> [u8; 32] {
    Sha256::digest(raw).into()
}

/// The SDC public key digest burned as SDC_KEY_DIGEST: SHA-256 of the raw
/// key `x ‖ y`, byte-reversed so `burn-key` writes it in order.
pub fn public_key_digest(key: &p256::PublicKey) -> [u8; 32] {
    let mut digest = raw_key_hash(&public_key_raw(key));
    digest.reverse();
    digest
}

/// The message a certificate's signature covers: `USC ‖ chip_info`.
pub fn message(usc: UscFlags, chip_info: &[u8; 32]) -> Vec<u8> {
    let mut message = usc.usc_data().to_vec();
    message.extend_from_slice(chip_info);
    message
}

/// SHA-256 of [`message`]: what a signer that takes a digest (an HSM)
/// signs.
pub fn message_digest(usc: UscFlags, chip_info: &[u8; 32]) -> [u8; 32] {
    Sha256::digest(message(usc, chip_info)).into()
}

/// A certificate from a signature made elsewhere (an HSM), checked against
/// `public_key` first as espsecure does.
pub fn certificate_with_signature(
    public_key: &p256::PublicKey,
    sig: &p256::ecdsa::Signature,
    usc: UscFlags,
    chip_info: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>, SdcError> {
    use signature::Verifier;
    p256::ecdsa::VerifyingKey::from(public_key)
        .verify(&message(usc, chip_info), sig)
        .map_err(|_| SdcError::Signature)?;
    Ok(assemble(&usc.usc_data(), public_key, sig, nonce))
}

/// Signs a certificate for `chip_info` with a random ECDSA nonce (as
/// espsecure) and appends `nonce`.
pub fn certificate(
    key: &p256::SecretKey,
    usc: UscFlags,
    chip_info: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
) -> Vec<u8> {
    let signer = p256::ecdsa::SigningKey::from(key);
    let sig: p256::ecdsa::Signature =
        signer.sign_with_rng(&mut rand_core::OsRng, &message(usc, chip_info));
    assemble(&usc.usc_data(), &key.public_key(), &sig, nonce)
}

fn assemble(
    usc: &[u8; USC_LEN],
    public_key: &p256::PublicKey,
    sig: &p256::ecdsa::Signature,
    nonce: &[u8; NONCE_LEN],
) -> Vec<u8> {
    let mut body = Vec::with_capacity(BODY_LEN);
    body.extend_from_slice(usc);
    body.extend_from_slice(&public_key_raw(public_key));
    body.extend_from_slice(&sig.to_bytes());
    let hash = Sha256::digest(&body);
    body.extend_from_slice(&hash);
    let mut out = Vec::with_capacity(CERTIFICATE_LEN);
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.push(VERSION);
    out.push(0);
    out.extend_from_slice(&(USC_LEN as u16).to_le_bytes());
    out.extend_from_slice(&((HEADER_LEN + BODY_LEN) as u16).to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&CRC32_ROM.checksum(&body).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&body);
    out.extend_from_slice(nonce);
    out
}

/// What a valid certificate carries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Certificate {
    /// The signer's public key.
    pub public_key: p256::PublicKey,
    /// The 256-byte USC data.
    pub usc: Vec<u8>,
    /// The nonce after the body.
    pub nonce: [u8; NONCE_LEN],
}

/// Checks a certificate as the device would for `chip_info`: header,
/// CRC, body hash and the signature over `USC ‖ chip_info`.
pub fn verify_certificate(cert: &[u8], chip_info: &[u8; 32]) -> Result<Certificate, SdcError> {
    use signature::Verifier;
    if cert.len() != CERTIFICATE_LEN {
        return Err(SdcError::Length(cert.len()));
    }
    let (header, rest) = cert.split_at(HEADER_LEN);
    let (body, nonce) = rest.split_at(BODY_LEN);
    let field = |at: usize, len: usize| &header[at..at + len];
    if field(0, 4) != MAGIC.to_le_bytes() || header[4] != VERSION {
        return Err(SdcError::Corrupt("magic or version"));
    }
    if field(6, 2) != (USC_LEN as u16).to_le_bytes()
        || field(8, 2) != ((HEADER_LEN + BODY_LEN) as u16).to_le_bytes()
    {
        return Err(SdcError::Corrupt("length"));
    }
    if field(12, 4) != CRC32_ROM.checksum(body).to_le_bytes() {
        return Err(SdcError::Corrupt("CRC-32"));
    }
    let signed_len = BODY_LEN - 32;
    if body[signed_len..] != Sha256::digest(&body[..signed_len])[..] {
        return Err(SdcError::Corrupt("hash"));
    }
    let usc = &body[..USC_LEN];
    let raw_key: &[u8; 64] = body[USC_LEN..USC_LEN + 64]
        .try_into()
        .map_err(|_| SdcError::Corrupt("public key"))?;
    let public_key =
        crate::sbv1::public_key_from_raw(raw_key).map_err(|_| SdcError::Corrupt("public key"))?;
    let sig = p256::ecdsa::Signature::from_slice(&body[USC_LEN + 64..signed_len])
        .map_err(|_| SdcError::Signature)?;
    let mut message = usc.to_vec();
    message.extend_from_slice(chip_info);
    p256::ecdsa::VerifyingKey::from(&public_key)
        .verify(&message, &sig)
        .map_err(|_| SdcError::Signature)?;
    Ok(Certificate {
        public_key,
        usc: usc.to_vec(),
        nonce: nonce.try_into().map_err(|_| SdcError::Corrupt("nonce"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rom_crc_is_zlib_crc32_started_from_all_ones() {
        // zlib.crc32(b"123456789", 0xFFFFFFFF) == 0xD202D277
        assert_eq!(CRC32_ROM.checksum(b"123456789"), 0xD202_D277);
    }

    #[test]
    fn certificate_verifies_for_its_chip_info_only() {
        let key = p256::SecretKey::from_slice(&[7; 32]).unwrap();
        let nonce = [9; NONCE_LEN];
        let info = chip_info(&[1, 2, 3, 4, 5, 6], 3, &nonce).unwrap();
        let cert = certificate(&key, UscFlags::new(true, false, true), &info, &nonce);
        assert_eq!(cert.len(), CERTIFICATE_LEN);
        let parsed = verify_certificate(&cert, &info).unwrap();
        assert_eq!(parsed.public_key, key.public_key());
        assert_eq!(parsed.usc[..4], [0, 0, 0, 5]);
        assert_eq!(parsed.nonce, nonce);
        let other = chip_info(&[1, 2, 3, 4, 5, 6], 7, &nonce).unwrap();
        assert_eq!(verify_certificate(&cert, &other), Err(SdcError::Signature));
    }

    #[test]
    fn session_counter_must_be_reachable() {
        assert_eq!(
            chip_info(&[0; 6], 2, &[0; 32]),
            Err(SdcError::SessionCounter(2))
        );
    }
}
