//! OpenSSL's legacy PEM encryption, which `openssl genrsa -aes256`,
//! `openssl ec -des3` and Python `cryptography`'s `TraditionalOpenSSL`
//! format with a password write (OpenSSL `crypto/pem/pem_lib.c`,
//! `PEM_do_header`): RFC 1421 headers `Proc-Type: 4,ENCRYPTED` and
//! `DEK-Info: <cipher>,<IV in hex>` before the body, which is the key's
//! DER encrypted in CBC mode with PKCS#7 padding. The cipher key is
//! OpenSSL's `EVP_BytesToKey` of the password: MD5, one round, salted
//! with the IV's first 8 bytes.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use md5::{Digest, Md5};
use zeroize::Zeroizing;

use crate::KeyFileError;

/// The CBC ciphers a `DEK-Info` header names that this crate decrypts:
/// the ones Python `cryptography` 50 decrypts (its Rust PEM loader), which
/// imgtool and espsecure load keys with. It refuses the others OpenSSL
/// writes (`AES-192-CBC`, `DES-CBC`, …) and lower-case names ("Key
/// encrypted with unknown cipher.").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CbcCipher {
    DesEde3,
    Aes128,
    Aes256,
}

impl CbcCipher {
    /// The cipher named `name`.
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "DES-EDE3-CBC" => Some(Self::DesEde3),
            "AES-128-CBC" => Some(Self::Aes128),
            "AES-256-CBC" => Some(Self::Aes256),
            _ => None,
        }
    }

    /// Key length in bytes.
    fn key_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::DesEde3 => 24,
            Self::Aes256 => 32,
        }
    }

    /// IV (block) length in bytes.
    fn iv_len(self) -> usize {
        match self {
            Self::DesEde3 => 8,
            Self::Aes128 | Self::Aes256 => 16,
        }
    }
}

/// A `DEK-Info` header: the cipher and its IV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DekInfo {
    cipher: CbcCipher,
    iv: Vec<u8>,
}

impl DekInfo {
    /// Parses the header's value, `<cipher>,<IV in hex>`.
    ///
    /// # Errors
    /// [`KeyFileError::UnsupportedLegacyCipher`] for a cipher this crate
    /// does not decrypt or an IV of the wrong length or not in hex.
    pub(crate) fn parse(value: &str) -> Result<Self, KeyFileError> {
        let (name, iv_hex) = value.split_once(',').unwrap_or((value, ""));
        let refused = || KeyFileError::UnsupportedLegacyCipher {
            cipher: name.chars().take(32).collect(),
        };
        let cipher = CbcCipher::from_name(name).ok_or_else(refused)?;
        let iv_hex = iv_hex.as_bytes();
        if iv_hex.len() != 2 * cipher.iv_len() {
            return Err(refused());
        }
        let iv = iv_hex
            .chunks(2)
            .map(|pair| {
                let digits = core::str::from_utf8(pair).ok()?;
                u8::from_str_radix(digits, 16).ok()
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(refused)?;
        Ok(Self { cipher, iv })
    }

    /// Decrypts `body` with `password`.
    ///
    /// # Errors
    /// [`KeyFileError::WrongPassword`] when the padding does not check
    /// out (OpenSSL's "bad decrypt").
    pub(crate) fn decrypt(
        &self,
        password: &[u8],
        body: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
        let key = bytes_to_key(password, &self.iv[..8], self.cipher.key_len());
        let (key, iv) = (key.as_slice(), self.iv.as_slice());
        let plain = match self.cipher {
            CbcCipher::DesEde3 => decrypt_cbc::<des::TdesEde3>(key, iv, body),
            CbcCipher::Aes128 => decrypt_cbc::<aes::Aes128>(key, iv, body),
            CbcCipher::Aes256 => decrypt_cbc::<aes::Aes256>(key, iv, body),
        };
        plain.ok_or(KeyFileError::WrongPassword)
    }
}

/// CBC decryption with PKCS#7 padding, `None` when the padding is bad.
fn decrypt_cbc<C>(key: &[u8], iv: &[u8], body: &[u8]) -> Option<Zeroizing<Vec<u8>>>
where
    C: aes::cipher::BlockDecryptMut + aes::cipher::BlockCipher + aes::cipher::KeyInit,
{
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    decryptor
        .decrypt_padded_vec_mut::<Pkcs7>(body)
        .ok()
        .map(Zeroizing::new)
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one round: `D_i = MD5(D_{i-1}
/// || password || salt)`, concatenated to `len` bytes.
fn bytes_to_key(password: &[u8], salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(Vec::with_capacity(len + 16));
    let mut previous: Option<Zeroizing<[u8; 16]>> = None;
    while key.len() < len {
        let mut md5 = Md5::new();
        if let Some(d) = &previous {
            md5.update(d.as_slice());
        }
        md5.update(password);
        md5.update(salt);
        let d = Zeroizing::new(<[u8; 16]>::from(md5.finalize()));
        key.extend_from_slice(d.as_slice());
        previous = Some(d);
    }
    key.truncate(len);
    key
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// `openssl enc -aes-256-cbc -md md5 -S 0001020304050607 -k pw -P`
    /// (OpenSSL 3) prints this key: EVP_BytesToKey as OpenSSL derives it,
    /// two MD5 rounds for 32 bytes.
    #[test]
    fn bytes_to_key_is_openssls() {
        let key = bytes_to_key(b"pw", &[0, 1, 2, 3, 4, 5, 6, 7], 32);
        let hex: String = key.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(
            hex,
            "A55F79AA00E8DD0E7D3CE26ED40D7CD3A029A787189B34D30D90860969005FCB"
        );
        assert_eq!(
            bytes_to_key(b"pw", &[0, 1, 2, 3, 4, 5, 6, 7], 24)[..],
            key[..24]
        );
    }

    #[test]
    fn dek_info_names_cipher_and_iv() {
        let info = DekInfo::parse("AES-128-CBC,000102030405060708090a0b0c0d0e0F").unwrap();
        assert_eq!(info.cipher, CbcCipher::Aes128);
        assert_eq!(info.iv, (0..16).collect::<Vec<u8>>());
        for bad in [
            "AES-128-CBC,0001",
            "AES-128-CBC",
            "AES-192-CBC,000102030405060708090A0B0C0D0E0F",
            "aes-128-cbc,000102030405060708090A0B0C0D0E0F",
            "AES-128-CBC, 000102030405060708090A0B0C0D0E0F",
            "DES-CBC,0001020304050607",
            "DES-EDE3-CBC,00010203040506zz",
        ] {
            assert!(
                matches!(
                    DekInfo::parse(bad),
                    Err(KeyFileError::UnsupportedLegacyCipher { .. })
                ),
                "{bad}"
            );
        }
    }
}
