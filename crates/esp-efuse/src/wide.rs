//! Unsigned integers of any width an eFuse field can have, and the wider
//! values a command line can give for one.
//!
//! espefuse reads `uint:N` values with Python's unbounded `int(text, 0)` and
//! shows them with `str(int)`; a field of an `--extend-efuse-table` CSV may
//! be `uint:N` up to 255 bits (`mem_definition_base.py` `extend_efuses`), so
//! `u64` is not enough.

use std::fmt;

use crate::bits::Bits;

/// The widest value [`WideUint::parse`] takes: 16384 bits, more than the
/// 4300 decimal digits Python's `int()` converts by default
/// (`sys.get_int_max_str_digits()`), so every decimal value espefuse reads
/// fits, and the bound keeps the decimal printing of a hostile hex value
/// cheap.
pub const MAX_WIDE_BITS: usize = 16384;

/// A non-negative integer, little-endian 32-bit limbs without high zero
/// limbs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WideUint {
    limbs: Vec<u32>,
}

/// Why a text is not a [`WideUint`] for [`WideUint::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WideParseError {
    /// Python's `int(text, 0)` refuses the text.
    Invalid,
    /// More than [`MAX_WIDE_BITS`] bits.
    TooWide,
}

impl WideUint {
    /// `value`.
    pub fn from_u64(value: u64) -> WideUint {
        let mut w = WideUint {
            limbs: vec![value as u32, (value >> 32) as u32],
        };
        w.normalize();
        w
    }

    /// The integer whose bit `i` is `bits.get(i)` (bit 0 least significant).
    pub fn from_bits(bits: &Bits) -> WideUint {
        let mut w = WideUint {
            limbs: vec![0; bits.len().div_ceil(32)],
        };
        for i in (0..bits.len()).filter(|i| bits.get(*i)) {
            w.limbs[i / 32] |= 1 << (i % 32);
        }
        w.normalize();
        w
    }

    /// `2^bits - 1`, the largest value of a `uint:bits` field.
    pub fn all_ones(bits: usize) -> WideUint {
        let mut w = WideUint {
            limbs: vec![u32::MAX; bits / 32],
        };
        if !bits.is_multiple_of(32) {
            w.limbs.push((1u32 << (bits % 32)) - 1);
        }
        w.normalize();
        w
    }

    /// Parses Python's `int(text, 0)`: the sign (`true` when negative) and
    /// the magnitude.
    ///
    /// # Errors
    /// [`WideParseError::Invalid`] for any spelling Python refuses,
    /// [`WideParseError::TooWide`] above [`MAX_WIDE_BITS`] bits.
    pub fn parse(text: &str) -> Result<(bool, WideUint), WideParseError> {
        let mut limbs = vec![0u32; MAX_WIDE_BITS / 32];
        let negative = py_int::parse_wide(text, &mut limbs).map_err(|e| match e {
            py_int::ParseIntError::OutOfRange => WideParseError::TooWide,
            _ => WideParseError::Invalid,
        })?;
        let mut w = WideUint { limbs };
        w.normalize();
        Ok((negative, w))
    }

    /// Bits needed to write the value (0 for 0).
    pub fn bit_len(&self) -> usize {
        self.limbs.last().map_or(0, |top| {
            self.limbs.len() * 32 - top.leading_zeros() as usize
        })
    }

    /// Whether the value is 0.
    pub fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    /// The value, if it fits a `u64`.
    pub fn to_u64(&self) -> Option<u64> {
        match self.limbs.as_slice() {
            [] => Some(0),
            [lo] => Some(u64::from(*lo)),
            [lo, hi] => Some(u64::from(*lo) | u64::from(*hi) << 32),
            _ => None,
        }
    }

    /// The value as the `len` bits of a field, if it fits them.
    pub fn to_bits(&self, len: usize) -> Option<Bits> {
        if self.bit_len() > len {
            return None;
        }
        let mut bits = Bits::zeros(len);
        for i in 0..self.bit_len() {
            bits.set(i, self.limbs[i / 32] & (1 << (i % 32)) != 0);
        }
        Some(bits)
    }

    fn normalize(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }
}

impl fmt::Display for WideUint {
    /// Decimal, as Python's `str(int)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const CHUNK: u64 = 1_000_000_000;
        let mut rest = self.limbs.clone();
        let mut chunks = Vec::new();
        while !rest.is_empty() {
            // rest, remainder = divmod(rest, 10^9), most significant limb first
            let mut remainder = 0u64;
            for limb in rest.iter_mut().rev() {
                let v = remainder << 32 | u64::from(*limb);
                *limb = (v / CHUNK) as u32;
                remainder = v % CHUNK;
            }
            chunks.push(remainder);
            while rest.last() == Some(&0) {
                rest.pop();
            }
        }
        let mut text = chunks.pop().unwrap_or(0).to_string();
        for chunk in chunks.iter().rev() {
            text.push_str(&format!("{chunk:09}"));
        }
        f.pad(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_decimal_like_python() {
        assert_eq!(WideUint::default().to_string(), "0");
        assert_eq!(
            WideUint::from_u64(u64::MAX).to_string(),
            u64::MAX.to_string()
        );
        // 2**128 - 1 and 2**200 (Python's str())
        assert_eq!(
            WideUint::all_ones(128).to_string(),
            "340282366920938463463374607431768211455"
        );
        let (neg, v) = WideUint::parse(&format!("0x1{}", "0".repeat(50))).unwrap();
        assert!(!neg);
        assert_eq!(
            v.to_string(),
            "1606938044258990275541962092341162602522202993782792835301376"
        );
        assert_eq!(v.bit_len(), 201);
        assert_eq!(
            WideUint::parse("1000000000000000000000000000001")
                .unwrap()
                .1
                .to_string(),
            "1000000000000000000000000000001"
        );
    }

    #[test]
    fn bits_round_trip_and_width_is_checked() {
        let (_, v) = WideUint::parse("0x300_0000_0000_0000_0000_0001").unwrap();
        assert_eq!(v.to_bits(89), None);
        let bits = v.to_bits(90).unwrap();
        assert_eq!(WideUint::from_bits(&bits), v);
        assert!(bits.get(0) && bits.get(88) && bits.get(89) && !bits.get(1));
        assert_eq!(WideUint::from_u64(5).to_u64(), Some(5));
        assert_eq!(v.to_u64(), None);
    }

    #[test]
    fn parse_is_bounded() {
        assert_eq!(WideUint::parse("-7"), Ok((true, WideUint::from_u64(7))));
        assert_eq!(WideUint::parse("07"), Err(WideParseError::Invalid));
        let huge = format!("0x1{}", "0".repeat(MAX_WIDE_BITS / 4));
        assert_eq!(WideUint::parse(&huge), Err(WideParseError::TooWide));
        assert_eq!(WideUint::parse(&"9".repeat(4300)).map(|v| v.0), Ok(false));
    }
}
