//! Links the no_std crates into a `#![no_std]` static library (see
//! Cargo.toml). The exported functions keep the linker from discarding the
//! code paths a bootloader would use.
#![no_std]
// `no_mangle` (exported C symbols) and the allocator are the only unsafe
// code here.
#![deny(unsafe_code)]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::panic::PanicInfo;

/// esp-rom-protocol needs `alloc`; a device supplies its own allocator.
/// This one always fails, which is enough to prove the crate links without
/// std (an allocation failure would call the default error handler).
struct NoHeap;

#[allow(unsafe_code)]
unsafe impl GlobalAlloc for NoHeap {
    unsafe fn alloc(&self, _: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static HEAP: NoHeap = NoHeap;

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

/// The length of Python's repr of 16 bytes (py-repr), so it is linked in.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn nostd_check_bytes_repr_len(value: &[u8; 16]) -> usize {
    py_repr::bytes(value).len()
}

/// The length of PyYAML's document for a mapping of one name to 16
/// bytes (py-yaml), so the emitter is linked in.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn nostd_check_yaml_len(value: &[u8; 16]) -> usize {
    let name = py_yaml::PyStr::fsdecode(value);
    py_yaml::dump(&py_yaml::Value::Map(alloc::vec![(
        alloc::string::String::from("name"),
        py_yaml::Value::Str(name),
    )]))
    .len()
}

/// The length of 16 bytes of base64 as Python decodes it (py-base64), or
/// -1 when Python would refuse it; so the decoder is linked in.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn nostd_check_base64_len(text: &[u8; 16]) -> i64 {
    py_base64::decode(text, py_base64::Alphabet::Standard)
        .map_or(-1, |bytes| i64::try_from(bytes.len()).unwrap_or(-1))
}

/// The size of the boot core's response type, so mcuboot-boot is linked in.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn nostd_check_boot_response_size() -> usize {
    core::mem::size_of::<mcuboot_boot::BootResponse>()
}

/// 1 when the 64 bytes parse as a ROM loader request frame (esp-rom-protocol).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn nostd_check_rom_request(frame: &[u8; 64]) -> i32 {
    i32::from(esp_rom_protocol::command::Request::parse(frame).is_ok())
}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {}
}
