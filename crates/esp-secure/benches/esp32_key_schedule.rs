//! ESP32 flash encryption against its floor, on one core, in memory.
//!
//! The ESP32 algorithm changes the AES-256 key every 32 bytes, and with
//! FLASH_CRYPT_CONFIG 0xF no two 32-byte blocks below 16 MiB share a key,
//! so no cipher can avoid one key schedule per 32 bytes. The floor is
//! that work alone: 524,288 AES-256 decryption key schedules (flash
//! encryption is AES decryption, reference/esptool.md §3.2) for 16 MiB,
//! each under a different key. The bench times it against
//! `Esp32FlashCrypt::encrypt` of 16 MiB (tweak, schedule, two blocks,
//! byte reversal), alternating the two, and prints the medians and their
//! ratio (issue 16: within 2x of the floor).
//!
//! `cargo bench -p esp-secure --bench esp32_key_schedule [-- ROUNDS]`

use std::hint::black_box;
use std::time::{Duration, Instant};

use aes_keyed::cipher::KeyInit as _;
use esp_secure::flash_encryption::{Esp32FlashCrypt, FlashCrypt as _, FlashEncryptionKey};

const SIZE: usize = 16 << 20;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// One decryption key schedule per 32-byte block of `SIZE` bytes, each
/// under its own key (the key's low word is the block index).
fn key_schedules(key: &[u8; 32]) -> Duration {
    let start = Instant::now();
    let mut k = *key;
    for block in 0..(SIZE / 32) as u32 {
        k[28..].copy_from_slice(&block.to_le_bytes());
        black_box(aes_keyed::Aes256Dec::new(&black_box(k).into()));
    }
    start.elapsed()
}

fn encrypt(crypt: &Esp32FlashCrypt, data: &mut [u8]) -> Duration {
    let start = Instant::now();
    crypt
        .encrypt(0, black_box(data))
        .expect("16 MiB at 0 is aligned");
    start.elapsed()
}

fn main() {
    // `cargo bench` passes `--bench`; a number among the arguments sets the rounds
    let rounds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(9);
    let key = [0x5Au8; 32];
    let crypt = Esp32FlashCrypt::new(&FlashEncryptionKey::from_bytes(&key), 0xF)
        .expect("a 256-bit key and a 4-bit config");
    let mut data: Vec<u8> = (0..SIZE).map(|i| i as u8).collect();
    let (mut floor, mut full) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        floor.push(key_schedules(&key));
        full.push(encrypt(&crypt, &mut data));
    }
    let (floor, full) = (median(floor), median(full));
    println!(
        "16 MiB, one core, median of {rounds}: key schedules alone {:.1} ms, \
         Esp32FlashCrypt::encrypt {:.1} ms, ratio {:.2}x",
        floor.as_secs_f64() * 1e3,
        full.as_secs_f64() * 1e3,
        full.as_secs_f64() / floor.as_secs_f64()
    );
}
