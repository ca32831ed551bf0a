//! The TLV areas after the payload (reference/mcuboot.md §1.3, §1.4): the
//! type table ([`TlvKind`]), reading them ([`TlvIter`], mirroring
//! `boot/bootutil/src/tlv.c`) and writing them ([`TlvWriter`], as imgtool's
//! `image.py` `TLV` class does).

use core::fmt;

mod iter;
#[cfg(feature = "alloc")]
mod writer;

pub use iter::{find_protected, SliceTlvs, TlvEntry, TlvError, TlvIter};
#[cfg(feature = "alloc")]
pub use writer::{TlvWriteError, TlvWriter};

/// `IMAGE_TLV_INFO_MAGIC` (`image.h`): the unprotected area's info header.
pub const TLV_INFO_MAGIC: u16 = 0x6907;
/// `IMAGE_TLV_PROT_INFO_MAGIC` (`image.h`): the protected area's info header.
pub const TLV_PROT_INFO_MAGIC: u16 = 0x6908;
/// Size of `struct image_tlv_info` and of `struct image_tlv` (`image.h`).
pub const TLV_HEADER_SIZE: u32 = 4;

macro_rules! tlv_kinds {
    ($( $(#[$doc:meta])* $name:ident = $val:literal => $cname:literal, )*) => {
        /// A TLV type (`IMAGE_TLV_*` in `image.h`; imgtool `TLV_VALUES`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum TlvKind {
            $( $(#[$doc])* $name, )*
            /// Vendor-defined type (`0xXXa0..=0xXXfe`, imgtool `--custom-tlv`).
            Vendor(u16),
            /// Any other value.
            Unknown(u16),
        }

        impl TlvKind {
            /// The 16-bit `it_type`.
            #[must_use]
            pub const fn code(self) -> u16 {
                match self {
                    $( Self::$name => $val, )*
                    Self::Vendor(v) | Self::Unknown(v) => v,
                }
            }

            /// Classifies a raw `it_type`.
            #[must_use]
            pub const fn from_code(code: u16) -> Self {
                match code {
                    $( $val => Self::$name, )*
                    v if is_vendor_code(v) => Self::Vendor(v),
                    v => Self::Unknown(v),
                }
            }

            /// MCUboot's name without the `IMAGE_TLV_` prefix (`"SHA256"`), or
            /// `None` for vendor and unknown types.
            #[must_use]
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$name => Some($cname), )*
                    Self::Vendor(_) | Self::Unknown(_) => None,
                }
            }
        }
    };
}

/// MCUboot's vendor range (`image.h`): low byte `0xa0..=0xff` in every
/// upper byte, except `IMAGE_TLV_ANY`. This only classifies what a parser
/// finds; what the signer accepts is [`CUSTOM_TLV_RANGE`].
const fn is_vendor_code(v: u16) -> bool {
    let [low, _] = v.to_le_bytes();
    low >= 0xa0 && v != 0xffff
}

/// Types imgtool accepts for custom protected TLVs: `TLV_VENDOR_RES_MIN`
/// ..= `TLV_VENDOR_RES_MAX` (`image.py` `TLV.add`). It is wider than
/// MCUboot's vendor range (0x0100 is accepted, for example), and every
/// predefined type lies below it.
pub const CUSTOM_TLV_RANGE: core::ops::RangeInclusive<u16> = 0x00a0..=0xfffe;

tlv_kinds! {
    /// Hash of the signing public key.
    KeyHash = 0x01 => "KEYHASH",
    /// The full public key (DER).
    PubKey = 0x02 => "PUBKEY",
    /// SHA-256 of the hashed region.
    Sha256 = 0x10 => "SHA256",
    /// SHA-384 of the hashed region.
    Sha384 = 0x11 => "SHA384",
    /// SHA-512 of the hashed region.
    Sha512 = 0x12 => "SHA512",
    /// RSA-2048 PSS signature.
    Rsa2048Pss = 0x20 => "RSA2048_PSS",
    /// Obsolete ECDSA P-224 signature.
    Ecdsa224 = 0x21 => "ECDSA224",
    /// ECDSA (P-256 or P-384) DER signature.
    EcdsaSig = 0x22 => "ECDSA_SIG",
    /// RSA-3072 PSS signature.
    Rsa3072Pss = 0x23 => "RSA3072_PSS",
    /// Ed25519 signature.
    Ed25519 = 0x24 => "ED25519",
    /// Signature over the image itself, not its digest (value 1).
    SigPure = 0x25 => "SIG_PURE",
    /// RSA-OAEP wrapped AES key.
    EncRsa2048 = 0x30 => "ENC_RSA2048",
    /// AES key-wrapped AES key.
    EncKw = 0x31 => "ENC_KW",
    /// ECIES-P256 wrapped AES key.
    EncEc256 = 0x32 => "ENC_EC256",
    /// ECIES-X25519 (SHA-256) wrapped AES key.
    EncX25519 = 0x33 => "ENC_X25519",
    /// ECIES-X25519 (SHA-512) wrapped AES key.
    EncX25519Sha512 = 0x34 => "ENC_X25519_SHA512",
    /// Dependency on another image's version.
    Dependency = 0x40 => "DEPENDENCY",
    /// Security counter.
    SecCnt = 0x50 => "SEC_CNT",
    /// Measured-boot record (CBOR).
    BootRecord = 0x60 => "BOOT_RECORD",
    /// Decompressed size.
    DecompSize = 0x70 => "DECOMP_SIZE",
    /// Hash of the decompressed image.
    DecompSha = 0x71 => "DECOMP_SHA",
    /// Signature of the decompressed image.
    DecompSignature = 0x72 => "DECOMP_SIGNATURE",
    /// Compressed and decrypted size.
    CompDecSize = 0x73 => "COMP_DEC_SIZE",
    /// Vendor UUID.
    UuidVid = 0x74 => "UUID_VID",
    /// Class UUID.
    UuidCid = 0x75 => "UUID_CID",
    /// Iterator wildcard (`IMAGE_TLV_ANY`); never stored.
    Any = 0xffff => "ANY",
}

impl From<u16> for TlvKind {
    fn from(code: u16) -> Self {
        Self::from_code(code)
    }
}

impl From<TlvKind> for u16 {
    fn from(kind: TlvKind) -> u16 {
        kind.code()
    }
}

impl fmt::Display for TlvKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{:#06x}", self.code()),
        }
    }
}

impl TlvKind {
    /// `code` as the type of a custom TLV (imgtool `--custom-tlv`): inside
    /// [`CUSTOM_TLV_RANGE`], which excludes every predefined type.
    ///
    /// # Errors
    /// [`CustomTlvError::Predefined`] for a type MCUboot defines,
    /// [`CustomTlvError::OutOfRange`] for any other code outside the range.
    pub fn custom(code: u64) -> Result<Self, CustomTlvError> {
        match u16::try_from(code) {
            Ok(c) if CUSTOM_TLV_RANGE.contains(&c) => Ok(Self::from_code(c)),
            Ok(c) if c < *CUSTOM_TLV_RANGE.start() && Self::from_code(c).name().is_some() => {
                Err(CustomTlvError::Predefined(Self::from_code(c)))
            }
            _ => Err(CustomTlvError::OutOfRange(code)),
        }
    }
}

/// A custom TLV type was refused ([`TlvKind::custom`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CustomTlvError {
    /// The type is one MCUboot defines.
    Predefined(TlvKind),
    /// The type is outside [`CUSTOM_TLV_RANGE`].
    OutOfRange(u64),
}

impl fmt::Display for CustomTlvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lo, hi) = (CUSTOM_TLV_RANGE.start(), CUSTOM_TLV_RANGE.end());
        match self {
            Self::Predefined(k) => write!(
                f,
                "type {:#x} conflicts with the predefined TLV {k}",
                k.code()
            ),
            Self::OutOfRange(c) => write!(
                f,
                "type {c:#x} is outside the custom range {lo:#06x}..={hi:#06x}"
            ),
        }
    }
}

impl core::error::Error for CustomTlvError {}

/// The two TLV areas of an image, each opened by an info header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlvArea {
    /// Hashed with the image (`IMAGE_TLV_PROT_INFO_MAGIC`).
    Protected,
    /// After the hashed region (`IMAGE_TLV_INFO_MAGIC`).
    Unprotected,
}

impl TlvArea {
    /// The info header's magic.
    #[must_use]
    pub const fn info_magic(self) -> u16 {
        match self {
            Self::Protected => TLV_PROT_INFO_MAGIC,
            Self::Unprotected => TLV_INFO_MAGIC,
        }
    }
}

impl fmt::Display for TlvArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Protected => "protected",
            Self::Unprotected => "unprotected",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_types_follow_imgtool_not_the_vendor_classification() {
        assert_eq!(TlvKind::custom(0xa0), Ok(TlvKind::Vendor(0xa0)));
        // imgtool accepts 0x0100 although MCUboot does not call it vendor.
        assert_eq!(TlvKind::custom(0x100), Ok(TlvKind::Unknown(0x100)));
        assert_eq!(
            TlvKind::custom(0x10),
            Err(CustomTlvError::Predefined(TlvKind::Sha256))
        );
        assert_eq!(TlvKind::custom(0x05), Err(CustomTlvError::OutOfRange(5)));
        assert_eq!(
            TlvKind::custom(0xffff),
            Err(CustomTlvError::OutOfRange(0xffff))
        );
        assert_eq!(
            TlvKind::custom(0x1_0000),
            Err(CustomTlvError::OutOfRange(0x1_0000))
        );
    }
}
