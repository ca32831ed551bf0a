// @generated from espefuse 5.6.0 by scripts/gen-efuse-tables -- do not edit.
// Source: espefuse/efuse_defs/<chip>.yaml and espefuse/efuse/<chip>/{mem_definition,fields}.py,
// as loaded by espefuse itself in --virt mode; controller registers observed in its emulator.

/// Every key purpose name espefuse knows for the supported chips (numeric
/// values differ per chip: see `ChipTable::key_purposes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyPurpose {
    /// `USER`
    User,
    /// `RESERVED`
    Reserved,
    /// `XTS_AES_256_KEY_1`
    XtsAes256Key1,
    /// `XTS_AES_256_KEY_2`
    XtsAes256Key2,
    /// `XTS_AES_128_KEY`
    XtsAes128Key,
    /// `HMAC_DOWN_ALL`
    HmacDownAll,
    /// `HMAC_DOWN_JTAG`
    HmacDownJtag,
    /// `HMAC_DOWN_DIGITAL_SIGNATURE`
    HmacDownDigitalSignature,
    /// `HMAC_UP`
    HmacUp,
    /// `SECURE_BOOT_DIGEST0`
    SecureBootDigest0,
    /// `SECURE_BOOT_DIGEST1`
    SecureBootDigest1,
    /// `SECURE_BOOT_DIGEST2`
    SecureBootDigest2,
    /// `XTS_AES_256_KEY`
    XtsAes256Key,
    /// `XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS`
    XtsAes128KeyDerivedFrom128EfuseBits,
    /// `SECURE_BOOT_DIGEST`
    SecureBootDigest,
    /// `ECDSA_KEY`
    EcdsaKey,
}

impl KeyPurpose {
    /// espefuse's spelling of the purpose.
    pub fn name(self) -> &'static str {
        match self {
            KeyPurpose::User => "USER",
            KeyPurpose::Reserved => "RESERVED",
            KeyPurpose::XtsAes256Key1 => "XTS_AES_256_KEY_1",
            KeyPurpose::XtsAes256Key2 => "XTS_AES_256_KEY_2",
            KeyPurpose::XtsAes128Key => "XTS_AES_128_KEY",
            KeyPurpose::HmacDownAll => "HMAC_DOWN_ALL",
            KeyPurpose::HmacDownJtag => "HMAC_DOWN_JTAG",
            KeyPurpose::HmacDownDigitalSignature => "HMAC_DOWN_DIGITAL_SIGNATURE",
            KeyPurpose::HmacUp => "HMAC_UP",
            KeyPurpose::SecureBootDigest0 => "SECURE_BOOT_DIGEST0",
            KeyPurpose::SecureBootDigest1 => "SECURE_BOOT_DIGEST1",
            KeyPurpose::SecureBootDigest2 => "SECURE_BOOT_DIGEST2",
            KeyPurpose::XtsAes256Key => "XTS_AES_256_KEY",
            KeyPurpose::XtsAes128KeyDerivedFrom128EfuseBits => "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS",
            KeyPurpose::SecureBootDigest => "SECURE_BOOT_DIGEST",
            KeyPurpose::EcdsaKey => "ECDSA_KEY",
        }
    }

    /// Every purpose, in table order.
    pub const ALL: &'static [KeyPurpose] = &[
        KeyPurpose::User,
        KeyPurpose::Reserved,
        KeyPurpose::XtsAes256Key1,
        KeyPurpose::XtsAes256Key2,
        KeyPurpose::XtsAes128Key,
        KeyPurpose::HmacDownAll,
        KeyPurpose::HmacDownJtag,
        KeyPurpose::HmacDownDigitalSignature,
        KeyPurpose::HmacUp,
        KeyPurpose::SecureBootDigest0,
        KeyPurpose::SecureBootDigest1,
        KeyPurpose::SecureBootDigest2,
        KeyPurpose::XtsAes256Key,
        KeyPurpose::XtsAes128KeyDerivedFrom128EfuseBits,
        KeyPurpose::SecureBootDigest,
        KeyPurpose::EcdsaKey,
    ];
}
