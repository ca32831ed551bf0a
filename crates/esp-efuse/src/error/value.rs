//! Refusals of `burn-efuse` values in espefuse's text form.

use super::FieldName;
use crate::tables::Field;

/// A value in espefuse's text form (`burn-efuse NAME VALUE`) that does not
/// fit its field (`CheckArgValue`, `check_format`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// Not an integer.
    #[error("invalid value '{value}' for eFuse '{field}': expected an integer")]
    NotAnInteger {
        /// The field.
        field: FieldName,
        /// The text given.
        value: String,
    },
    /// A bool field takes 1 only.
    #[error(
        "New value is not accepted for eFuse '{field}' (will always burn 0->1), given value={value}"
    )]
    BoolNotOne {
        /// The field.
        field: FieldName,
        /// The value given.
        value: u64,
    },
    /// The field needs a value.
    #[error("New value required for eFuse '{field}' (given None)")]
    Required {
        /// The field.
        field: FieldName,
    },
    /// 0 burns nothing.
    #[error("New value should not be 0 for '{field}' (given value= 0)")]
    Zero {
        /// The field.
        field: FieldName,
    },
    /// The integer does not fit the field (bitstring's message).
    #[error(
        "{value} is too large an unsigned integer for a bitstring of length {bits}. The allowed range is [0, {}].",
        crate::wide::WideUint::all_ones(*bits)
    )]
    TooLarge {
        /// The value.
        value: crate::wide::WideUint,
        /// The field's length.
        bits: usize,
    },
    /// A negative integer for an unsigned field (bitstring's message).
    #[error("uint cannot be initialised with a negative number.")]
    Negative,
    /// An integer wider than espboot reads (espefuse reads any, and then
    /// refuses it as too large for any eFuse field).
    #[error(
        "invalid value for eFuse '{field}': an integer of more than {} bits",
        crate::wide::MAX_WIDE_BITS
    )]
    TooWide {
        /// The field.
        field: FieldName,
    },
    /// Not hex digits.
    #[error("invalid hex value '{value}' for eFuse '{field}'")]
    NotHex {
        /// The field.
        field: FieldName,
        /// The text given.
        value: String,
    },
    /// A byte value of the wrong length.
    #[error(
        "The length of eFuse '{field}' ({expected} bits) (given len of the new value= {got} bits)"
    )]
    Length {
        /// The field.
        field: FieldName,
        /// Its length.
        expected: usize,
        /// The value's length.
        got: usize,
    },
    /// Not `AA:BB:CC:DD:EE:FF` (8 bytes for MAC_EUI64).
    #[error("MAC Address needs to be a {bytes}-byte hexadecimal format separated by colons (:)!")]
    MacFormat {
        /// The bytes expected.
        bytes: usize,
    },
    /// Not twice as many characters as bytes between the colons.
    #[error(
        "MAC Address needs to be a {bytes}-byte hexadecimal number ({} hexadecimal characters)!",
        bytes * 2
    )]
    MacDigits {
        /// The bytes expected.
        bytes: usize,
    },
    /// 12 characters, not all hex digits.
    #[error("MAC Address '{value}': Non-hexadecimal digit found")]
    MacNotHex {
        /// The text given.
        value: String,
    },
    /// A multicast MAC.
    #[error("Custom MAC must be a unicast MAC!")]
    MacMulticast,
    /// ESP32 SPI pad configuration: a pin the flash cannot use.
    #[error("{}", spi_pin_message(pin))]
    SpiPin {
        /// The pin as a decimal number (any Python integer).
        pin: crate::WideUint,
    },
    /// The field cannot be burned with `burn-efuse`.
    #[error("Burning {field} is not supported.")]
    NotBurnable {
        /// The field.
        field: Field,
    },
    /// The ESP32-S3's PSRAM_CAPACITY, a calculated field: its own message,
    /// without the full stop (`espefuse/efuse/esp32s3/fields.py`
    /// EfusePsramCap.save).
    #[error("Burning {field} is not supported")]
    PsramCapNotBurnable {
        /// The field.
        field: Field,
    },
    /// The ESP32's factory MAC (BLOCK0) cannot be burned
    /// (`espefuse/efuse/esp32/fields.py` EfuseMacField.save).
    #[error("Writing Factory MAC address is not supported")]
    FactoryMac,
    /// A key purpose value no purpose uses (`check_format`).
    #[error("'{value}' can not be set (value out of range)")]
    PurposeOutOfRange {
        /// The value, as given or as the purpose's number.
        value: String,
    },
    /// A key purpose number with a digit `int()` does not read (a
    /// superscript or circled digit, for which `str.isdigit()` holds).
    #[error("'{value}' is not a decimal number")]
    PurposeNotDecimal {
        /// The text given.
        value: String,
    },
    /// Not a key purpose name.
    #[error("'{name}' unknown name")]
    PurposeName {
        /// The text given.
        name: String,
    },
    /// A key purpose field named with no value: espefuse's check_format
    /// calls `isdigit()` on the missing value.
    #[error("New value required for eFuse '{field}' (given None)")]
    PurposeMissing {
        /// The field.
        field: FieldName,
    },
}

fn spi_pin_message(pin: &crate::WideUint) -> String {
    if matches!(pin.to_u64(), Some(30 | 31)) {
        "IO pins 30 & 31 cannot be set for SPI flash. 0-29, 32 & 33 only.".into()
    } else {
        format!("IO pin {pin} cannot be set for SPI flash. 0-29, 32 & 33 only.")
    }
}

impl ValueError {
    /// Whether espefuse fails here with an uncaught Python exception (a
    /// traceback, exit status 1) rather than a `FatalError`: `int(…, 0)`
    /// of a non-integer (`base_fields.py` CheckArgValue) and
    /// `binascii.unhexlify` of non-hex digits (`check_format`).
    pub fn uncaught_in_espefuse(&self) -> bool {
        self.python_exception().is_some()
    }

    /// The last line of the traceback espefuse dies with where
    /// [`Self::uncaught_in_espefuse`]: Python's `int(value, 0)` refusal,
    /// or `binascii.unhexlify`'s of the digits (after a `0x`; a MAC's
    /// without its colons), which checks for non-ASCII text, then an odd
    /// length, then the digits.
    pub fn python_exception(&self) -> Option<String> {
        let unhexlify = |digits: &str| {
            Some(if !digits.is_ascii() {
                "ValueError: string argument should contain only ASCII characters".to_string()
            } else if digits.len() % 2 == 1 {
                "binascii.Error: Odd-length string".to_string()
            } else {
                "binascii.Error: Non-hexadecimal digit found".to_string()
            })
        };
        match self {
            Self::NotAnInteger { value, .. } => Some(format!(
                "ValueError: invalid literal for int() with base 0: {}",
                py_repr::str(value)
            )),
            Self::NotHex { value, .. } => unhexlify(value.strip_prefix("0x").unwrap_or(value)),
            // the MAC's length is checked before its digits
            Self::MacNotHex { value } => unhexlify(&value.replace(':', "")),
            Self::PurposeNotDecimal { value } => Some(format!(
                "ValueError: invalid literal for int() with base 10: {}",
                py_repr::str(value)
            )),
            Self::PurposeMissing { .. } => {
                Some("AttributeError: 'NoneType' object has no attribute 'isdigit'".to_string())
            }
            _ => None,
        }
    }
}
