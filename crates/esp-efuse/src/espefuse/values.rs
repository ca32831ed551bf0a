//! `burn-efuse` values in espefuse's text form to bits (`CheckArgValue`,
//! `check_format`, `convert_to_bitstring` in base_fields.py): Python
//! integers, hex bytes, MAC addresses, ESP32 SPI pins, key purposes.

use crate::bits::Bits;
use crate::error::{EfuseError, FieldName, ValueError};
use crate::model::{Efuses, FieldRef};
use crate::tables::{Chip, Field, FieldClass, FieldType, KeyPurpose};
use crate::wide::{WideParseError, WideUint};

/// A `burn-efuse` value after espefuse's argument checks
/// (`CheckArgValue`), before it becomes the field's bits
/// (`convert_to_bitstring`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewValue {
    /// The field's new bits (bools, bytes, MAC addresses, key purposes).
    Bits(Bits),
    /// An integer for a `uint:N` field, of any size Python's `int()` reads:
    /// espefuse checks it against the field's width only when it converts
    /// it, after it has printed the list of eFuses to burn.
    Int {
        /// Whether it is negative.
        negative: bool,
        /// Its magnitude.
        magnitude: WideUint,
    },
}

impl NewValue {
    fn int(value: u64) -> NewValue {
        NewValue::Int {
            negative: false,
            magnitude: WideUint::from_u64(value),
        }
    }

    /// The value as the `len` bits of its field (bitstring's `uint:len=…`).
    ///
    /// # Errors
    /// [`ValueError::TooLarge`] for an integer of more than `len` bits,
    /// [`ValueError::Negative`] below 0. [`NewValue::Bits`] are made of the
    /// field's width by the parser and returned as they are.
    pub fn to_bits(&self, len: usize) -> Result<Bits, ValueError> {
        match self {
            NewValue::Bits(bits) => Ok(bits.clone()),
            NewValue::Int {
                negative,
                magnitude,
            } => {
                // bitstring compares with 2**len first, which a negative
                // number never reaches
                if *negative && !magnitude.is_zero() {
                    return Err(ValueError::Negative);
                }
                magnitude.to_bits(len).ok_or_else(|| ValueError::TooLarge {
                    value: magnitude.clone(),
                    bits: len,
                })
            }
        }
    }
}

impl std::fmt::Display for NewValue {
    /// As espefuse prints the value it could not convert (`str()`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NewValue::Bits(bits) => f.write_str(&bits.python_str()),
            NewValue::Int {
                negative,
                magnitude,
            } => write!(f, "{}{magnitude}", if *negative { "-" } else { "" }),
        }
    }
}

/// `burn-efuse NAME [VALUE] …`: looks the names up (the chip's fields and
/// those of an eFuse CSV table, see [`super::efuse`]) and checks each value
/// for its field, in espefuse's order. A name given twice keeps its first
/// place and its last value, as espefuse's `EfuseValuePairType` does (it
/// collects the pairs into a Python dict).
pub fn parse_burn_pairs(
    efuses: &Efuses,
    pairs: &[(String, Option<String>)],
) -> Result<Vec<(FieldRef, NewValue)>, EfuseError> {
    let mut unique: Vec<(&str, FieldRef, Option<&str>)> = Vec::new();
    for (name, value) in pairs {
        let field = super::efuse(efuses, name)?;
        match unique.iter_mut().find(|(n, _, _)| n == name) {
            Some(slot) => slot.2 = value.as_deref(),
            None => unique.push((name, field, value.as_deref())),
        }
    }
    unique
        .into_iter()
        .map(|(_, f, v)| Ok((f, parse_ref_value(efuses, f, v)?)))
        .collect()
}

/// [`parse_value`] for a chip field or a user field.
pub fn parse_ref_value(
    efuses: &Efuses,
    field: FieldRef,
    value: Option<&str>,
) -> Result<NewValue, EfuseError> {
    match field {
        FieldRef::Chip(f) => parse_value(efuses, f, value),
        FieldRef::User(u) => {
            let def = efuses.user_def(u)?;
            let spec = Spec {
                name: FieldName::User(def.field.name.clone()),
                len: def.field.bit_count as usize,
                ty: def.ty(),
                class: FieldClass::Plain,
                mac_bytes: 6,
                calculated: false,
            };
            parse_typed(&spec, value, || Ok(0))
        }
    }
}

/// `value` as `field`'s bits (espefuse's `convert_to_bitstring`).
///
/// # Errors
/// As [`NewValue::to_bits`], for the field's width.
pub fn value_bits(efuses: &Efuses, field: FieldRef, value: &NewValue) -> Result<Bits, EfuseError> {
    let len = efuses.ref_bits(field, true)?.len();
    Ok(value.to_bits(len)?)
}

/// What a value is parsed for.
struct Spec {
    name: FieldName,
    len: usize,
    ty: FieldType,
    class: FieldClass,
    /// The bytes a MAC value is written with.
    mac_bytes: usize,
    /// A calculated field (no word of its own).
    calculated: bool,
}

/// A field's new value from its command-line text. `None` means the value
/// was omitted: bools take 1, bit counters the next bit.
pub fn parse_value(
    efuses: &Efuses,
    field: Field,
    value: Option<&str>,
) -> Result<NewValue, EfuseError> {
    let f = efuses.def(field)?;
    // the MAC fields' and the calculated fields' values are checked here
    // like any other (format, length, zero); only CUSTOM_MAC is burned, the
    // others are refused after the burn listing (see `burn_efuse`)
    let chip = efuses.chip();
    if f.class == FieldClass::KeyPurpose {
        let missing = ValueError::PurposeMissing {
            field: field.into(),
        };
        let given = value.ok_or(missing)?;
        let v = u64::from(key_purpose_value(chip, given)?);
        // check_format took the digits as int(s); check_arg_value then reads
        // them as int(s, 0), which refuses a leading zero ("04", and "٠٤"
        // in Arabic-Indic digits); a name stands for its number
        let digits = given.chars().all(py_int::is_digit);
        if digits && py_int::parse(given).is_err() {
            return Err(ValueError::NotAnInteger {
                field: field.into(),
                value: given.to_string(),
            }
            .into());
        }
        return Ok(NewValue::int(v));
    }
    let spec = Spec {
        name: field.into(),
        len: f.bit_len as usize,
        ty: f.ty,
        class: f.class,
        // base_fields.py EfuseMacFieldBase.check_format: MAC_EUI64 is
        // written as 8 bytes, every other MAC field as 6; a calculated
        // field (no word) skips the unicast check
        mac_bytes: if field == Field::MacEui64 { 8 } else { 6 },
        calculated: f.word.is_none(),
    };
    parse_typed(&spec, value, || efuses.raw(field))
}

/// espefuse's `check_format` and `check_arg_value` by the field's type;
/// `old` reads a bit counter's current value.
fn parse_typed(
    spec: &Spec,
    value: Option<&str>,
    old: impl Fn() -> Result<u64, EfuseError>,
) -> Result<NewValue, EfuseError> {
    let field = &spec.name;
    let len = spec.len;
    let required = || ValueError::Required {
        field: field.clone(),
    };
    let not_integer = |s: &str| ValueError::NotAnInteger {
        field: field.clone(),
        value: s.to_string(),
    };
    match spec.ty {
        FieldType::Bool => {
            let v = match value {
                None => 1,
                Some(s) => py_int::parse_u64(s).map_err(|_| not_integer(s))?,
            };
            if v != 1 {
                return Err(ValueError::BoolNotOne {
                    field: field.clone(),
                    value: v,
                }
                .into());
            }
            Ok(NewValue::Bits(
                Bits::from_u64(1, 1).unwrap_or_else(|| Bits::zeros(1)),
            ))
        }
        FieldType::Uint => {
            if spec.class == FieldClass::BitCount && value.is_none() {
                // the lowest bit not yet set (past the field's end when it is
                // full: refused as too large when converted, as espefuse does)
                let old = old()?;
                let next = (0..64)
                    .map(|b| old | 1 << b)
                    .find(|new| *new != old)
                    .unwrap_or(old);
                return Ok(NewValue::int(next));
            }
            let s = value.ok_or_else(required)?;
            let (negative, magnitude) = match WideUint::parse(s) {
                Ok(v) => v,
                Err(WideParseError::Invalid) => return Err(not_integer(s).into()),
                Err(WideParseError::TooWide) => {
                    return Err(ValueError::TooWide {
                        field: field.clone(),
                    }
                    .into())
                }
            };
            if spec.class == FieldClass::SpiPin {
                if negative {
                    return Err(not_integer(s).into());
                }
                // `check_format` first (any pin past 33 is refused, 32 and
                // 33 are stored as 30 and 31), then `check_arg_value`'s
                // refusal of 0
                let pin = spi_pin(&magnitude)?;
                if pin == 0 {
                    return Err(ValueError::Zero {
                        field: field.clone(),
                    }
                    .into());
                }
                return Ok(NewValue::int(pin));
            }
            if magnitude.is_zero() && spec.class != FieldClass::BitCount {
                return Err(ValueError::Zero {
                    field: field.clone(),
                }
                .into());
            }
            Ok(NewValue::Int {
                negative,
                magnitude,
            })
        }
        FieldType::Bytes => {
            let s = value.ok_or_else(required)?;
            let not_hex = || ValueError::NotHex {
                field: field.clone(),
                value: s.to_string(),
            };
            let bytes = if spec.class == FieldClass::Mac {
                // the MAC as written ends up in memory order
                parse_mac_of(s, spec.mac_bytes, !spec.calculated)?
            } else if let Some(h) = s.strip_prefix("0x") {
                let mut b = hex::decode(h).map_err(|_| not_hex())?;
                b.reverse();
                b
            } else {
                hex::decode(s).map_err(|_| not_hex())?
            };
            if bytes.len() * 8 != len {
                return Err(ValueError::Length {
                    field: field.clone(),
                    expected: len,
                    got: bytes.len() * 8,
                }
                .into());
            }
            Ok(NewValue::Bits(Bits::from_bytes(&bytes)))
        }
    }
}

/// The numeric value for a key purpose name or number
/// (`EfuseKeyPurposeFieldBase.check_format`).
fn key_purpose_value(chip: Chip, s: &str) -> Result<u8, ValueError> {
    use crate::tables::ChipEfuses as _;
    let table = chip.table();
    let out_of_range = |value: String| ValueError::PurposeOutOfRange { value };
    if let Some(p) = KeyPurpose::from_name(s).and_then(|p| table.purpose_def(p)) {
        return u8::try_from(p.value)
            .ok()
            .filter(|v| *v > 0 && !p.virtual_purpose)
            .ok_or_else(|| out_of_range(p.value.to_string()));
    }
    // `raw_val.isdigit()`, then `int(raw_val)`, which reads only the
    // decimal digits of the digits isdigit takes
    if !s.is_empty() && s.chars().all(py_int::is_digit) {
        let number = py_int::parse_decimal(s).map_err(|e| match e {
            py_int::ParseIntError::Invalid => ValueError::PurposeNotDecimal {
                value: s.to_string(),
            },
            _ => out_of_range(s.to_string()),
        })?;
        let bits = table.custom_key_purpose_bits;
        let known = u8::try_from(number).ok().filter(|v| {
            *v > 0
                && (table.purpose_by_value(*v).is_some()
                    || (bits > 0 && u32::from(*v) < (1u32 << bits)))
        });
        return known.ok_or_else(|| out_of_range(s.to_string()));
    }
    Err(ValueError::PurposeName {
        name: s.to_string(),
    })
}

/// `AA:BB:CC:DD:EE:FF`, a unicast address.
pub(super) fn parse_mac(s: &str) -> Result<Vec<u8>, ValueError> {
    parse_mac_of(s, 6, true)
}

/// `bytes` hex bytes separated by colons; `unicast`: the first byte's
/// multicast bit must be clear.
fn parse_mac_of(s: &str, bytes: usize, unicast: bool) -> Result<Vec<u8>, ValueError> {
    if s.matches(':').count() != bytes - 1 {
        return Err(ValueError::MacFormat { bytes });
    }
    // the length first, then the digits (base_fields.py
    // EfuseMacFieldBase.check_format)
    let digits = s.replace(':', "");
    // a summary's value may be pasted back: " (OK)" and the like are cut
    // at the first space
    let digits = digits.split(' ').next().unwrap_or_default();
    if digits.chars().count() != bytes * 2 {
        return Err(ValueError::MacDigits { bytes });
    }
    let b = hex::decode(digits).map_err(|_| ValueError::MacNotHex {
        value: s.to_string(),
    })?;
    if unicast && b.first().is_some_and(|b| b & 1 != 0) {
        return Err(ValueError::MacMulticast);
    }
    Ok(b)
}

/// ESP32 SPI pad pins: GPIO32/33 are stored as 30/31 (esp32/fields.py
/// `EfuseSpiPinField.check_format`).
fn spi_pin(pin: &WideUint) -> Result<u64, ValueError> {
    let refused = || ValueError::SpiPin { pin: pin.clone() };
    match pin.to_u64().ok_or_else(refused)? {
        30 | 31 | 34.. => Err(refused()),
        p @ (32 | 33) => Ok(p - 2),
        p => Ok(p),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_espefuse_rules() {
        let e = Efuses::new(Chip::Esp32c3);
        let v = |f, s: Option<&str>| parse_value(&e, f, s).and_then(|v| Ok(v.to_bits(64)?));
        assert_eq!(v(Field::SpiBootCryptCnt, Some("0b11")).unwrap().to_u64(), 3);
        assert_eq!(v(Field::SpiBootCryptCnt, None).unwrap().to_u64(), 1);
        // too wide is refused when converted for the field (3 bits), not parsed
        let eight = parse_value(&e, Field::SpiBootCryptCnt, Some("8")).unwrap();
        assert_eq!(
            eight.to_bits(3),
            Err(ValueError::TooLarge {
                value: WideUint::from_u64(8),
                bits: 3
            })
        );
        assert_eq!(
            eight.to_bits(3).unwrap_err().to_string(),
            "8 is too large an unsigned integer for a bitstring of length 3. The allowed range is [0, 7]."
        );
        assert!(matches!(
            v(Field::SecureBootEn, Some("2")),
            Err(EfuseError::Value(ValueError::BoolNotOne { value: 2, .. }))
        ));
        assert_eq!(
            v(Field::KeyPurpose0, Some("XTS_AES_128_KEY"))
                .unwrap()
                .to_u64(),
            4
        );
        assert!(matches!(
            v(Field::KeyPurpose0, Some("USER")),
            Err(EfuseError::Value(ValueError::PurposeOutOfRange { .. }))
        ));
        assert!(matches!(
            v(Field::CustomMac, Some("01:00:00:00:00:00")),
            Err(EfuseError::Value(ValueError::MacMulticast))
        ));
        assert_eq!(
            parse_value(&e, Field::CustomMac, Some("02:00:00:00:00:01"))
                .unwrap()
                .to_bits(48)
                .unwrap()
                .bytes(),
            [2, 0, 0, 0, 0, 1]
        );
        let esp32 = Efuses::new(Chip::Esp32);
        assert!(matches!(
            parse_value(&esp32, Field::SpiPadConfigClk, Some("31")),
            Err(EfuseError::Value(ValueError::SpiPin { pin })) if pin.to_u64() == Some(31)
        ));
        // past 2^64 the pin is still named (esp32/fields.py check_format)
        assert_eq!(
            parse_value(&esp32, Field::SpiPadConfigClk, Some("18446744073709551616"))
                .unwrap_err()
                .to_string(),
            "IO pin 18446744073709551616 cannot be set for SPI flash. 0-29, 32 & 33 only."
        );
        // then check_arg_value: 0 burns nothing
        assert!(matches!(
            parse_value(&esp32, Field::SpiPadConfigClk, Some("0x0")),
            Err(EfuseError::Value(ValueError::Zero { .. }))
        ));
        assert_eq!(
            parse_value(&esp32, Field::SpiPadConfigClk, Some("33"))
                .unwrap()
                .to_bits(5)
                .unwrap()
                .to_u64(),
            31
        );
    }

    #[test]
    fn regression_mac_fields_were_refused_before_their_values_were_checked() {
        // espefuse checks a MAC field's value (MAC_EUI64 in 8 bytes, no
        // unicast check for that calculated field) and refuses the burn
        // only when it saves it
        let e = Efuses::new(Chip::Esp32c6);
        let eui = parse_value(&e, Field::MacEui64, Some("01:11:22:33:44:55:66:77"));
        assert!(eui.is_ok(), "{eui:?}");
        let err = parse_value(&e, Field::MacEui64, Some("0x01")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MAC Address needs to be a 8-byte hexadecimal format separated by colons (:)!"
        );
        let err = parse_value(&e, Field::MacExt, Some("00:11:22:33:44:55")).unwrap_err();
        assert!(err.to_string().contains("(16 bits)"), "{err}");
        let err = parse_value(&e, Field::Mac, Some("01:11:22:33:44:55")).unwrap_err();
        assert_eq!(err.to_string(), "Custom MAC must be a unicast MAC!");
    }

    #[test]
    fn regression_wide_uint_values_were_limited_to_64_bits() {
        // a uint:100 field takes any integer of up to 100 bits, in every
        // spelling Python's int(x, 0) reads; a negative one is refused as
        // bitstring refuses it
        let wide = "0xf_0000_0000_0000_0000_0000_0001";
        let NewValue::Int {
            negative: false,
            magnitude,
        } = parse_typed(
            &Spec {
                name: FieldName::User("WIDE".into()),
                len: 100,
                ty: FieldType::Uint,
                class: FieldClass::Plain,
                mac_bytes: 6,
                calculated: false,
            },
            Some(wide),
            || Ok(0),
        )
        .unwrap()
        else {
            panic!("not an integer")
        };
        let bits = magnitude.to_bits(100).unwrap();
        assert!(bits.get(0) && bits.get(99) && bits.get(96) && !bits.get(95));
        let too_wide = NewValue::Int {
            negative: false,
            magnitude: WideUint::all_ones(101),
        };
        assert_eq!(
            too_wide.to_bits(100).unwrap_err().to_string(),
            "2535301200456458802993406410751 is too large an unsigned integer for a bitstring \
             of length 100. The allowed range is [0, 1267650600228229401496703205375]."
        );
        let negative = NewValue::Int {
            negative: true,
            magnitude: WideUint::from_u64(1),
        };
        assert_eq!(negative.to_bits(100), Err(ValueError::Negative));
        assert_eq!(negative.to_string(), "-1");
    }

    #[test]
    fn regression_calculated_fields_were_refused_before_the_burn_listing() {
        // a calculated field's value is read like any uint's (zero and too
        // wide refused as such); the burn lists it, prints its line, then
        // refuses it with nothing staged (base_fields.py
        // EfuseWaferBase.save, esp32/fields.py EfusePkg.save,
        // esp32s3/fields.py EfusePsramCap.save without the full stop)
        let cases = [
            (
                Chip::Esp32,
                Field::WaferVersionMajor,
                "Burning WAFER_VERSION_MAJOR is not supported.",
            ),
            (
                Chip::Esp32,
                Field::PkgVersion,
                "Burning PKG_VERSION is not supported.",
            ),
            (
                Chip::Esp32s2,
                Field::WaferVersionMinor,
                "Burning WAFER_VERSION_MINOR is not supported.",
            ),
            (
                Chip::Esp32s3,
                Field::WaferVersionMinor,
                "Burning WAFER_VERSION_MINOR is not supported.",
            ),
            (
                Chip::Esp32s3,
                Field::PsramCapacity,
                "Burning PSRAM_CAPACITY is not supported",
            ),
            (
                Chip::Esp32c3,
                Field::WaferVersionMinor,
                "Burning WAFER_VERSION_MINOR is not supported.",
            ),
        ];
        for (chip, field, refusal) in cases {
            let mut e = Efuses::new(chip);
            let zero = parse_value(&e, field, Some("0")).unwrap_err();
            assert!(
                zero.to_string().starts_with("New value should not be 0"),
                "{zero}"
            );
            let one = parse_value(&e, field, Some("1")).unwrap();
            let staged = |e: &Efuses| -> Vec<Bits> {
                (0..e.table().fields.len())
                    .map(|i| e.field_bits_at(i, false))
                    .collect()
            };
            let before = staged(&e);
            let failed = crate::espefuse::burn_efuse(
                &mut e,
                &[(FieldRef::Chip(field), one)],
                false,
                crate::espefuse::ForceWrite::Unavailable,
            )
            .unwrap_err();
            assert_eq!(failed.error.to_string(), refusal, "{chip:?} {field:?}");
            let last = failed.printed.lines().last().unwrap();
            assert!(
                last.starts_with(&format!("    - '{field}' (calc "))
                    && (last.ends_with("-> 0x1") || last.ends_with("-> 0b001")),
                "{chip:?} {field:?}: {last}"
            );
            assert!(
                before == staged(&e),
                "{chip:?} {field:?}: something was staged"
            );
        }
    }

    #[test]
    fn regression_uncaught_value_errors_were_told_in_espboots_words() {
        // what Python raises for the value (the traceback's last line)
        let e = Efuses::new(Chip::Esp32c3);
        let exception = |f: Field, v: &str| match parse_value(&e, f, Some(v)) {
            Err(EfuseError::Value(err)) => err.python_exception(),
            other => panic!("{f:?} {v}: {other:?}"),
        };
        assert_eq!(
            exception(Field::WrDis, "a'b").as_deref(),
            Some("ValueError: invalid literal for int() with base 0: \"a'b\"")
        );
        let id = Field::OptionalUniqueId;
        assert_eq!(
            exception(id, "0x123").as_deref(),
            Some("binascii.Error: Odd-length string")
        );
        assert_eq!(
            exception(id, "0xzz").as_deref(),
            Some("binascii.Error: Non-hexadecimal digit found")
        );
        assert_eq!(
            exception(id, "\u{e9}\u{e9}").as_deref(),
            Some("ValueError: string argument should contain only ASCII characters")
        );
        assert_eq!(
            exception(Field::CustomMac, "zz:11:22:33:44:55").as_deref(),
            Some("binascii.Error: Non-hexadecimal digit found")
        );
        // a FatalError of espefuse's is no traceback
        assert_eq!(exception(Field::WrDis, "0"), None);
    }
}
