//! What a sweep worker remembers between the power-ons of one device: each
//! memo answers only for byte-identical inputs, so a power-on with it does
//! exactly what one without it does, only faster.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::rc::Rc;
use std::sync::Mutex;

use super::*;
use zeroize::Zeroizing;

/// The memo of a sweep worker, for power-ons of one device whose eFuses
/// stay as they are (no first boot): the flash encryption of the eFuse key
/// with its results ([`CryptMemo`]), the ROM stage's result for the
/// bootloader window's physical bytes ([`RomMemo`]) and MCUboot's
/// validation results ([`ValidationMemo`]).
#[derive(Default)]
pub(in crate::chip) struct PowerOnMemo {
    /// Set up on first use: `Some(None)` when flash encryption is off.
    crypt: Option<Option<Rc<CryptMemo>>>,
    pub(super) rom: Option<RomMemo>,
    pub(super) validation: ValidationMemo,
}

impl PowerOnMemo {
    /// The chip's flash encryption (`None`: off), set up from `efuses` on
    /// the first call (the memo serves one set of eFuses).
    pub(super) fn crypt(
        &mut self,
        efuses: &Efuses,
    ) -> Result<Option<Rc<dyn FlashCrypt>>, FuseError> {
        if self.crypt.is_none() {
            let crypt = fuses::flash_crypt(efuses)?.map(|inner| Rc::new(CryptMemo::new(inner)));
            self.crypt = Some(crypt);
        }
        Ok(self
            .crypt
            .clone()
            .flatten()
            .map(|c| c as Rc<dyn FlashCrypt>))
    }
}

/// The ROM stage's outcome for one bootloader window.
pub(super) struct RomMemo {
    /// The window's physical bytes.
    pub(super) raw: Vec<u8>,
    /// The window as read (decrypted).
    pub(super) buf: Vec<u8>,
    pub(super) contents: BootloaderContents,
    pub(super) rom: RomReport,
}

/// Which way a [`CryptMemo`] entry goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Way {
    Encrypt,
    Decrypt,
}

/// A remembered input and its result.
type Entry = (Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>);

/// The chip's flash encryption with its results remembered: encrypting
/// (or decrypting) the same bytes at the same address again copies the
/// remembered result, after comparing the input in full. The resuming
/// power-ons of a sweep write and read the same sectors with the same
/// contents at every cut point (the rest of the same upgrade), so most of
/// their cipher work repeats. Inputs shorter than [`Self::MIN_LEN`] are
/// computed (a lookup costs about as much).
#[derive(Debug)]
pub(super) struct CryptMemo {
    inner: Box<dyn FlashCrypt>,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// By [`CryptMemo::key`]: the remembered inputs with their way,
    /// address and result.
    map: HashMap<u64, Vec<(Way, u32, Entry)>, BuildHasherDefault<KeyHasher>>,
    /// Bytes held (inputs and results).
    bytes: usize,
}

impl CryptMemo {
    /// Shorter inputs are computed every time.
    const MIN_LEN: usize = 256;
    /// Memory held at most per worker; past it the memo starts over.
    const MAX_BYTES: usize = 64 << 20;

    fn new(inner: Box<dyn FlashCrypt>) -> Self {
        CryptMemo {
            inner,
            entries: Mutex::new(Entries::default()),
        }
    }

    fn run(&self, way: Way, address: u32, data: &mut [u8]) -> Result<(), FlashCryptError> {
        let compute = |data: &mut [u8]| match way {
            Way::Encrypt => self.inner.encrypt(address, data),
            Way::Decrypt => self.inner.decrypt(address, data),
        };
        if data.len() < Self::MIN_LEN {
            return compute(data);
        }
        let key = content_hash(data) ^ u64::from(address).rotate_left(32) ^ way as u64;
        let Ok(mut entries) = self.entries.lock() else {
            return compute(data);
        };
        if let Some((_, _, (_, result))) = entries.map.get(&key).and_then(|list| {
            list.iter().find(|(w, a, (input, _))| {
                *w == way && *a == address && input.as_slice() == &data[..]
            })
        }) {
            data.copy_from_slice(result);
            return Ok(());
        }
        let input = Zeroizing::new(data.to_vec());
        compute(data)?;
        if entries.bytes > Self::MAX_BYTES {
            *entries = Entries::default();
        }
        entries.bytes += 2 * data.len();
        entries.map.entry(key).or_default().push((
            way,
            address,
            (input, Zeroizing::new(data.to_vec())),
        ));
        Ok(())
    }
}

impl FlashCrypt for CryptMemo {
    fn encrypt(&self, address: u32, data: &mut [u8]) -> Result<(), FlashCryptError> {
        self.run(Way::Encrypt, address, data)
    }

    fn decrypt(&self, address: u32, data: &mut [u8]) -> Result<(), FlashCryptError> {
        self.run(Way::Decrypt, address, data)
    }

    fn pads_partial_block(&self) -> bool {
        self.inner.pads_partial_block()
    }
}

/// A fast 64-bit hash of `data` to find candidates (equality is then
/// checked in full, so collisions only cost a comparison): eight
/// independent multiply-rotate lanes over 8-byte words (FxHash's step and
/// constant, rustc-hash), so it runs near the multiplier's throughput
/// rather than at its latency per word.
fn content_hash(data: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut lanes = [0u64, 1, 2, 3, 4, 5, 6, 7];
    let mut chunks = data.chunks_exact(64);
    for chunk in &mut chunks {
        for (lane, word) in lanes.iter_mut().zip(chunk.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            *lane = (lane.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
    }
    let mut h = data.len() as u64;
    for byte in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(*byte)).wrapping_mul(K);
    }
    lanes
        .iter()
        .fold(h, |h, lane| (h.rotate_left(5) ^ lane).wrapping_mul(K))
}

/// A [`Hasher`](std::hash::Hasher) for the [`content_hash`]-based key:
/// one cheap finaliser instead of SipHash.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*byte)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    /// The key through splitmix64's finaliser: the table indexes by the
    /// low bits, which the address (mixed in high) must reach too.
    fn write_u64(&mut self, n: u64) {
        let mut z = n;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = z ^ (z >> 31);
    }
}
