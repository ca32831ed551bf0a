//! Reed-Solomon encoder for key blocks: the code espefuse applies with
//! `reedsolo.RSCodec(12)` (GF(2^8), primitive polynomial 0x11d, generator 2,
//! first consecutive root 0; esptool.md §4.1), 32 data bytes + 12 parity bytes.

// Codec: narrowing conversions are checked or justified where they occur.
#![warn(clippy::cast_possible_truncation)]

/// Parity bytes appended to each 32-byte block.
pub const RS_PARITY_LEN: usize = 12;

const PRIM: u16 = 0x11d;

struct Gf {
    exp: [u8; 512],
    log: [u8; 256],
}

impl Gf {
    // `try_from` is not callable in a const fn. Both casts fit: `x` is
    // reduced by PRIM whenever bit 8 is set, so it stays below 0x100, and
    // `i` counts below 255.
    #[allow(clippy::cast_possible_truncation)]
    const fn new() -> Gf {
        let mut exp = [0u8; 512];
        let mut log = [0u8; 256];
        let mut x: u16 = 1;
        let mut i = 0;
        while i < 255 {
            exp[i] = x as u8;
            log[x as usize] = i as u8;
            x <<= 1;
            if x & 0x100 != 0 {
                x ^= PRIM;
            }
            i += 1;
        }
        while i < 512 {
            exp[i] = exp[i - 255];
            i += 1;
        }
        Gf { exp, log }
    }

    fn mul(&self, a: u8, b: u8) -> u8 {
        if a == 0 || b == 0 {
            0
        } else {
            self.exp[self.log[a as usize] as usize + self.log[b as usize] as usize]
        }
    }
}

static GF: Gf = Gf::new();

/// The generator polynomial prod_{i<12} (x - 2^i), highest degree first.
fn generator() -> [u8; RS_PARITY_LEN + 1] {
    let mut g = [0u8; RS_PARITY_LEN + 1];
    g[0] = 1;
    for (len, i) in (1..).zip(0..RS_PARITY_LEN) {
        let root = GF.exp[i];
        // g(x) * (x + root): shift and add.
        let mut next = [0u8; RS_PARITY_LEN + 1];
        for j in 0..len {
            next[j] ^= g[j];
            next[j + 1] ^= GF.mul(g[j], root);
        }
        g = next;
    }
    g
}

/// The 12 parity bytes for `data` (systematic encoding: the codeword is
/// `data || parity`).
pub fn rs_parity(data: &[u8]) -> [u8; RS_PARITY_LEN] {
    let g = generator();
    let mut rem = [0u8; RS_PARITY_LEN];
    for &byte in data {
        let coef = byte ^ rem[0];
        rem.copy_within(1.., 0);
        rem[RS_PARITY_LEN - 1] = 0;
        if coef != 0 {
            for (r, &gc) in rem.iter_mut().zip(g[1..].iter()) {
                *r ^= GF.mul(gc, coef);
            }
        }
    }
    rem
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Vector produced by `python -c "import reedsolo;
    /// print(list(reedsolo.RSCodec(12).encode(bytes(range(32)))[32:]))"` (reedsolo as
    /// installed with espefuse 5.6.0).
    #[test]
    fn parity_matches_reedsolo() {
        let data: Vec<u8> = (0..32).collect();
        assert_eq!(
            rs_parity(&data),
            [160, 76, 71, 13, 63, 252, 178, 3, 218, 233, 244, 19]
        );
        assert_eq!(rs_parity(&[0u8; 32]), [0u8; 12]);
    }
}
