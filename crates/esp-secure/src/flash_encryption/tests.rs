#![allow(clippy::unwrap_used)]

use super::*;
use aes::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use aes::{Aes128, Aes256};
use proptest::prelude::*;

/// Below 16 MiB the multiply form must equal the per-bit description
/// of reference/esptool.md §3.2: groups of 19/19/19 descending runs of
/// address bits 23..5 plus a tail run ending at bit 14/12/10/8, each
/// group enabled by one FLASH_CRYPT_CONFIG bit.
#[test]
fn tweak_matches_the_documented_bit_pattern_below_16_mib() {
    let mut pattern = Vec::new();
    for tail_top in [14u32, 12, 10, 8] {
        for top in [23u32, 23, 23, tail_top] {
            pattern.extend((5..=top).rev());
        }
    }
    assert_eq!(pattern.len(), 256);
    let group_end = [67usize, 132, 195, 256];
    for config in 0..16u32 {
        let crypt =
            Esp32FlashCrypt::new(&FlashEncryptionKey::from_bytes(&[0; 32]), config).unwrap();
        for address in (0..1u32 << 24).step_by(0x1_3e0).chain([0xFF_FFE0]) {
            let mut expected = [0u8; 32];
            for (n, bit) in pattern.iter().enumerate() {
                let group = group_end.iter().position(|end| n < *end).unwrap();
                if config & (1 << group) != 0 && address >> bit & 1 != 0 {
                    expected[n / 8] |= 0x80 >> (n % 8);
                }
            }
            assert_eq!(
                *crypt.block_key(address),
                expected,
                "{config:#x} {address:#x}"
            );
        }
    }
}

#[test]
fn unaligned_address_is_rejected() {
    let crypt = XtsFlashCrypt::new(&FlashEncryptionKey::from_bytes(&[1; 32])).unwrap();
    let mut data = [0u8; 16];
    assert!(matches!(
        crypt.encrypt(0x1008, &mut data),
        Err(FlashCryptError::UnalignedAddress(0x1008))
    ));
}

#[test]
fn wrong_key_lengths_are_rejected() {
    for n in [0usize, 16, 64, 31] {
        assert!(Esp32FlashCrypt::new(&FlashEncryptionKey::from_bytes(&vec![0; n]), 0xF).is_err());
    }
    for n in [0usize, 24, 48, 33] {
        assert!(XtsFlashCrypt::new(&FlashEncryptionKey::from_bytes(&vec![0; n])).is_err());
    }
}

/// The streaming API (1 MiB chunks, split across threads) gives the
/// same bytes as one in-place call, for an unaligned start and a tail
/// that is not a whole unit.
#[test]
fn streaming_equals_in_place_for_both_algorithms() {
    let data: Vec<u8> = (0..(2 << 20) + 3 * 16)
        .map(|i| (i * 131 + 3) as u8)
        .collect();
    let xts = XtsFlashCrypt::new(&FlashEncryptionKey::from_bytes(&[3; 64])).unwrap();
    let esp32 = Esp32FlashCrypt::new(&FlashEncryptionKey::from_bytes(&[4; 32]), 0xF).unwrap();
    let crypts: [&dyn FlashCrypt; 2] = [&xts, &esp32];
    for crypt in crypts {
        for direction in [Direction::Encrypt, Direction::Decrypt] {
            let address = 0x1_0010;
            let mut expected = data.clone();
            match direction {
                Direction::Encrypt => crypt.encrypt(address, &mut expected).unwrap(),
                Direction::Decrypt => crypt.decrypt(address, &mut expected).unwrap(),
            }
            let mut out = Vec::new();
            let mut seen = 0;
            let n = crypt
                .stream(direction, address, &mut &data[..], &mut out, &mut |d| {
                    seen = d
                })
                .unwrap();
            assert_eq!(n, data.len() as u64);
            assert_eq!(seen, data.len() as u64);
            assert!(out == expected, "{crypt:?} {direction:?}");
        }
    }
}

/// The batched XTS must equal the `xts-mode` crate applied unit by
/// unit to the reversed units, for both key sizes and directions.
#[test]
fn batched_xts_matches_the_xts_mode_crate() {
    use xts_mode::Xts128;
    let data: Vec<u8> = (0..128 * 21).map(|i| (i * 29 + 7) as u8).collect();
    for key_len in [32usize, 64] {
        let key: Vec<u8> = (0..key_len).map(|i| (i * 5 + 1) as u8).collect();
        let crypt = XtsFlashCrypt::new(&FlashEncryptionKey::from_bytes(&key)).unwrap();
        for address in [0u32, 0x80, 0x12_3400, 0xFFFF_F000 - 128 * 21] {
            let mut ours = data.clone();
            crypt.encrypt(address, &mut ours).unwrap();
            let mut oracle = data.clone();
            for (n, unit) in oracle.chunks_exact_mut(128).enumerate() {
                let mut tweak = [0u8; 16];
                tweak[..4].copy_from_slice(&(address + 128 * n as u32).to_le_bytes());
                unit.reverse();
                if key_len == 32 {
                    let (k1, k2) = key.split_at(16);
                    Xts128::new(Aes128::new(k1.into()), Aes128::new(k2.into()))
                        .encrypt_sector(unit, tweak);
                } else {
                    let (k1, k2) = key.split_at(32);
                    Xts128::new(Aes256::new(k1.into()), Aes256::new(k2.into()))
                        .encrypt_sector(unit, tweak);
                }
                unit.reverse();
            }
            assert_eq!(ours, oracle, "key {key_len} address {address:#x}");
            crypt.decrypt(address, &mut ours).unwrap();
            assert_eq!(ours, data);
        }
    }
}

/// The ESP32 algorithm written the simple way, with the workspace's
/// `aes` 0.8 (what this module used before switching the per-block
/// cipher to `aes` 0.9 for speed): one key schedule per 32-byte block.
fn esp32_simple(crypt: &Esp32FlashCrypt, address: u32, data: &mut [u8], direction: Direction) {
    use aes::{Aes256Dec, Aes256Enc};
    for (n, block32) in data.chunks_mut(32).enumerate() {
        let key = crypt.block_key(address + 32 * n as u32);
        let key = GenericArray::from_slice(&key[..]);
        for half in block32.chunks_exact_mut(16) {
            let mut block = *aes::Block::from_slice(half);
            block.reverse();
            match direction {
                Direction::Encrypt => Aes256Dec::new(key).decrypt_block(&mut block),
                Direction::Decrypt => Aes256Enc::new(key).encrypt_block(&mut block),
            }
            block.reverse();
            half.copy_from_slice(&block);
        }
    }
}

proptest! {
    #[test]
    fn xts_decrypt_inverts_encrypt_and_chunks_agree(
        key_len in prop::sample::select(vec![16usize, 32, 64]),
        key_seed in any::<u8>(),
        unit in 0u32..0x1000,
        start16 in 0u32..8,
        blocks in 1usize..40,
        split in 0usize..40,
    ) {
        let key: Vec<u8> = (0..key_len).map(|i| (i as u8).wrapping_mul(31) ^ key_seed).collect();
        let crypt = XtsFlashCrypt::new(&FlashEncryptionKey::from_bytes(&key)).unwrap();
        let address = unit * 0x80 + start16 * 16;
        let plain: Vec<u8> = (0..blocks * 16).map(|i| (i * 7) as u8).collect();
        let mut whole = plain.clone();
        crypt.encrypt(address, &mut whole).unwrap();
        prop_assert_ne!(&whole, &plain);
        let cut = (split.min(blocks)) * 16;
        let mut pieces = plain.clone();
        let (a, b) = pieces.split_at_mut(cut);
        crypt.encrypt(address, a).unwrap();
        crypt.encrypt(address + cut as u32, b).unwrap();
        prop_assert_eq!(&pieces, &whole);
        crypt.decrypt(address, &mut whole).unwrap();
        prop_assert_eq!(whole, plain);
    }

    #[test]
    fn esp32_decrypt_inverts_encrypt_and_chunks_agree(
        key_len in prop::sample::select(vec![24usize, 32]),
        config in 0u32..16,
        address16 in 0u32..0x10000,
        blocks in 1usize..20,
        split in 0usize..20,
    ) {
        let key: Vec<u8> = (0..key_len).map(|i| (i as u8).wrapping_mul(13)).collect();
        let crypt = Esp32FlashCrypt::new(&FlashEncryptionKey::from_bytes(&key), config).unwrap();
        let address = address16 * 16;
        let plain: Vec<u8> = (0..blocks * 16).map(|i| (i * 3) as u8).collect();
        let mut whole = plain.clone();
        crypt.encrypt(address, &mut whole).unwrap();
        let cut = (split.min(blocks)) * 16;
        let mut pieces = plain.clone();
        let (a, b) = pieces.split_at_mut(cut);
        crypt.encrypt(address, a).unwrap();
        crypt.encrypt(address + cut as u32, b).unwrap();
        prop_assert_eq!(&pieces, &whole);
        crypt.decrypt(address, &mut whole).unwrap();
        prop_assert_eq!(whole, plain);
    }

    /// The fast ESP32 path (aes 0.9, tweak limbs) equals the simple
    /// one over random keys, configs, 32-byte-aligned addresses
    /// anywhere in the 4 GiB space, data and both directions.
    #[test]
    fn esp32_fast_path_matches_the_simple_one(
        key in prop::collection::vec(any::<u8>(), 32),
        config in 0u32..16,
        block in 0u32..(1 << 27) - 64,
        data in prop::collection::vec(any::<u8>(), 1..64usize).prop_map(|v| {
            v.into_iter().flat_map(|b| [b; 32]).collect::<Vec<u8>>()
        }),
        decrypt in any::<bool>(),
    ) {
        let crypt = Esp32FlashCrypt::new(&FlashEncryptionKey::from_bytes(&key), config).unwrap();
        let address = block * 32;
        let direction = if decrypt { Direction::Decrypt } else { Direction::Encrypt };
        let mut ours = data.clone();
        match direction {
            Direction::Encrypt => crypt.encrypt(address, &mut ours).unwrap(),
            Direction::Decrypt => crypt.decrypt(address, &mut ours).unwrap(),
        }
        let mut simple = data;
        esp32_simple(&crypt, address, &mut simple, direction);
        prop_assert_eq!(ours, simple);
    }

    /// The pipelined stream (reader thread, worker threads, writes
    /// overlapping encryption) equals one in-place call for random
    /// lengths around the 1 MiB chunk size and random aligned starts.
    #[test]
    fn stream_matches_in_place_for_random_lengths(
        len in prop::sample::select(vec![16usize, 4096, (1 << 20) - 16, 1 << 20, (1 << 20) + 128, (3 << 20) + 48]),
        start in 0u32..0x1000,
        xts in any::<bool>(),
        seed in any::<u8>(),
    ) {
        let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(37) ^ seed).collect();
        let address = start * 16;
        let xts_crypt = XtsFlashCrypt::new(&FlashEncryptionKey::from_bytes(&[seed; 32])).unwrap();
        let esp32 = Esp32FlashCrypt::new(&FlashEncryptionKey::from_bytes(&[seed; 32]), 0xF).unwrap();
        let crypt: &dyn FlashCrypt = if xts { &xts_crypt } else { &esp32 };
        let mut expected = data.clone();
        crypt.encrypt(address, &mut expected).unwrap();
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let n = crypt
            .stream(Direction::Encrypt, address, &mut &data[..], &mut out, &mut |d| seen.push(d))
            .unwrap();
        prop_assert_eq!(n, len as u64);
        prop_assert_eq!(seen.last().copied(), Some(len as u64));
        prop_assert!(seen.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(out == expected);
    }
}
