#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_harness::Target::from_name("mcuboot_image").map(|t| t.run(data));
});
