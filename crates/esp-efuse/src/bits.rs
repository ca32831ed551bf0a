//! A little-endian bit string: bit `i` of a field is bit `i % 8` of byte `i / 8`,
//! i.e. the field's bytes in block memory order (esptool.md §4.1).

/// A fixed-length bit string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bits {
    len: usize,
    data: Vec<u8>,
}

impl Bits {
    /// All zeros.
    pub fn zeros(len: usize) -> Bits {
        Bits {
            len,
            data: vec![0; len.div_ceil(8)],
        }
    }

    /// From an integer; `None` if it does not fit in `len` bits.
    pub fn from_u64(len: usize, value: u64) -> Option<Bits> {
        if len < 64 && value >> len != 0 {
            return None;
        }
        let mut b = Bits::zeros(len);
        for i in 0..len.min(64) {
            if value >> i & 1 == 1 {
                b.set(i, true);
            }
        }
        Some(b)
    }

    /// From bytes in memory order (`bytes.len() * 8` bits).
    pub fn from_bytes(bytes: &[u8]) -> Bits {
        Bits {
            len: bytes.len() * 8,
            data: bytes.to_vec(),
        }
    }

    /// Length in bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero-length string.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bit `i`.
    pub fn get(&self, i: usize) -> bool {
        i < self.len && self.data[i / 8] >> (i % 8) & 1 == 1
    }

    /// Sets bit `i` (ignored past the end).
    pub fn set(&mut self, i: usize, v: bool) {
        if i >= self.len {
            return;
        }
        if v {
            self.data[i / 8] |= 1 << (i % 8);
        } else {
            self.data[i / 8] &= !(1 << (i % 8));
        }
    }

    /// Bytes in memory order.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The value as an integer (low 64 bits).
    pub fn to_u64(&self) -> u64 {
        let mut v = 0u64;
        for i in 0..self.len.min(64) {
            if self.get(i) {
                v |= 1 << i;
            }
        }
        v
    }

    /// No bit set.
    pub fn is_zero(&self) -> bool {
        self.data.iter().all(|b| *b == 0)
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> u32 {
        self.data.iter().map(|b| b.count_ones()).sum()
    }

    /// Bitwise or (same length).
    pub fn or(&self, other: &Bits) -> Bits {
        let mut r = self.clone();
        for (a, b) in r.data.iter_mut().zip(&other.data) {
            *a |= *b;
        }
        r
    }

    /// Bitwise and (same length).
    pub fn and(&self, other: &Bits) -> Bits {
        let mut r = self.clone();
        for (a, b) in r.data.iter_mut().zip(&other.data) {
            *a &= *b;
        }
        r
    }

    /// Hex digits most significant first, padded with leading zero bits to
    /// a multiple of 4 (espefuse's JSON `raw_value` without `0x`).
    pub fn hex_msb(&self) -> String {
        let msb_first: Vec<u8> = self.data.iter().rev().copied().collect();
        let hex = hex::encode(msb_first);
        // bits past the end are zero: drop the padding nibble, if any
        let digits = self.len.div_ceil(4);
        hex[hex.len() - digits..].to_string()
    }

    /// Python `str(bitstring)`: `0x…` when the length is a multiple of 4,
    /// `0b…` otherwise, most significant bit first.
    pub fn python_str(&self) -> String {
        if self.len.is_multiple_of(4) {
            format!("0x{}", self.hex_msb())
        } else {
            let mut s = String::from("0b");
            for i in (0..self.len).rev() {
                s.push(if self.get(i) { '1' } else { '0' });
            }
            s
        }
    }
}

impl Drop for Bits {
    /// Bit strings carry key material on their way to the key blocks.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.data);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn formatting_follows_bitstring() {
        let b = Bits::from_u64(3, 7).unwrap();
        assert_eq!(b.python_str(), "0b111");
        assert_eq!(b.hex_msb(), "7");
        let b = Bits::from_u64(4, 4).unwrap();
        assert_eq!(b.python_str(), "0x4");
        assert!(Bits::from_u64(3, 8).is_none());
        let b = Bits::from_bytes(&[0x01, 0xab]);
        assert_eq!(b.python_str(), "0xab01");
    }
}
