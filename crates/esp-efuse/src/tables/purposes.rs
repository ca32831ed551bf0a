// @generated from espefuse 5.6.0 by scripts/gen-efuse-tables -- do not edit.
// Source: espefuse/efuse_defs/<chip>.yaml and espefuse/efuse/<chip>/{mem_definition,fields}.py,
// as loaded by espefuse itself in --virt mode; controller registers observed in its emulator.

/// Every key purpose espefuse knows for the supported chips (numeric
/// values differ per chip: see `ChipTable::key_purposes` and
/// `ChipTable::purpose_value`).
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
    /// `CUSTOM_<n>`: a KEY_PURPOSE value no named purpose uses, on chips
    /// with custom purposes.
    Custom(u8),
    /// `CUSTOM_DIGEST_<n>`: the same value, burned as a digest.
    CustomDigest(u8),
    /// `CUSTOM_MAX`: the largest KEY_PURPOSE value.
    CustomMax,
    /// `CUSTOM_DIGEST_MAX`: the largest value, burned as a digest.
    CustomDigestMax,
}

impl KeyPurpose {
    /// The purpose espefuse spells `name`.
    pub fn from_name(name: &str) -> Option<KeyPurpose> {
        Some(match name {
            "USER" => KeyPurpose::User,
            "RESERVED" => KeyPurpose::Reserved,
            "XTS_AES_256_KEY_1" => KeyPurpose::XtsAes256Key1,
            "XTS_AES_256_KEY_2" => KeyPurpose::XtsAes256Key2,
            "XTS_AES_128_KEY" => KeyPurpose::XtsAes128Key,
            "HMAC_DOWN_ALL" => KeyPurpose::HmacDownAll,
            "HMAC_DOWN_JTAG" => KeyPurpose::HmacDownJtag,
            "HMAC_DOWN_DIGITAL_SIGNATURE" => KeyPurpose::HmacDownDigitalSignature,
            "HMAC_UP" => KeyPurpose::HmacUp,
            "SECURE_BOOT_DIGEST0" => KeyPurpose::SecureBootDigest0,
            "SECURE_BOOT_DIGEST1" => KeyPurpose::SecureBootDigest1,
            "SECURE_BOOT_DIGEST2" => KeyPurpose::SecureBootDigest2,
            "XTS_AES_256_KEY" => KeyPurpose::XtsAes256Key,
            "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS" => KeyPurpose::XtsAes128KeyDerivedFrom128EfuseBits,
            "SECURE_BOOT_DIGEST" => KeyPurpose::SecureBootDigest,
            "ECDSA_KEY" => KeyPurpose::EcdsaKey,
            "CUSTOM_MAX" => KeyPurpose::CustomMax,
            "CUSTOM_DIGEST_MAX" => KeyPurpose::CustomDigestMax,
            _ => {
                let (digest, n) = match name.strip_prefix("CUSTOM_DIGEST_") {
                    Some(n) => (true, n),
                    None => (false, name.strip_prefix("CUSTOM_")?),
                };
                // espefuse spells the value in plain decimal
                let value: u8 = n.parse().ok().filter(|v: &u8| v.to_string() == n)?;
                if digest {
                    KeyPurpose::CustomDigest(value)
                } else {
                    KeyPurpose::Custom(value)
                }
            }
        })
    }

    /// Every named purpose, in table order.
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

impl core::fmt::Display for KeyPurpose {
    /// espefuse's spelling.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            KeyPurpose::User => f.write_str("USER"),
            KeyPurpose::Reserved => f.write_str("RESERVED"),
            KeyPurpose::XtsAes256Key1 => f.write_str("XTS_AES_256_KEY_1"),
            KeyPurpose::XtsAes256Key2 => f.write_str("XTS_AES_256_KEY_2"),
            KeyPurpose::XtsAes128Key => f.write_str("XTS_AES_128_KEY"),
            KeyPurpose::HmacDownAll => f.write_str("HMAC_DOWN_ALL"),
            KeyPurpose::HmacDownJtag => f.write_str("HMAC_DOWN_JTAG"),
            KeyPurpose::HmacDownDigitalSignature => f.write_str("HMAC_DOWN_DIGITAL_SIGNATURE"),
            KeyPurpose::HmacUp => f.write_str("HMAC_UP"),
            KeyPurpose::SecureBootDigest0 => f.write_str("SECURE_BOOT_DIGEST0"),
            KeyPurpose::SecureBootDigest1 => f.write_str("SECURE_BOOT_DIGEST1"),
            KeyPurpose::SecureBootDigest2 => f.write_str("SECURE_BOOT_DIGEST2"),
            KeyPurpose::XtsAes256Key => f.write_str("XTS_AES_256_KEY"),
            KeyPurpose::XtsAes128KeyDerivedFrom128EfuseBits => f.write_str("XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS"),
            KeyPurpose::SecureBootDigest => f.write_str("SECURE_BOOT_DIGEST"),
            KeyPurpose::EcdsaKey => f.write_str("ECDSA_KEY"),
            KeyPurpose::Custom(n) => write!(f, "CUSTOM_{n}"),
            KeyPurpose::CustomDigest(n) => write!(f, "CUSTOM_DIGEST_{n}"),
            KeyPurpose::CustomMax => f.write_str("CUSTOM_MAX"),
            KeyPurpose::CustomDigestMax => f.write_str("CUSTOM_DIGEST_MAX"),
        }
    }
}
