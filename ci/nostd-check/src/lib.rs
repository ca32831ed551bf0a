//! Links the no_std crates into a `#![no_std]` static library (see
//! Cargo.toml). The exported functions keep the linker from discarding the
//! code paths a bootloader would use.
#![no_std]
// `no_mangle` (exported C symbols) is the only unsafe attribute here.
#![deny(unsafe_code)]

use core::panic::PanicInfo;

/// 1 when the 32 bytes hold a valid MCUboot image header.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn nostd_check_header(bytes: &[u8; 32]) -> i32 {
    i32::from(mcuboot_image::ImageHeader::parse(bytes).is_ok())
}

/// A Python-style integer from 16 ASCII bytes (NUL-padded); -1 when invalid.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn nostd_check_int(text: &[u8; 16]) -> i64 {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    core::str::from_utf8(&text[..end])
        .ok()
        .and_then(|t| py_int::parse_u32(t).ok())
        .map_or(-1, i64::from)
}

/// The size of the boot core's response type, so mcuboot-boot is linked in.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn nostd_check_boot_response_size() -> usize {
    core::mem::size_of::<mcuboot_boot::BootResponse>()
}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {}
}
