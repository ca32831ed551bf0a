#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_harness::Target::from_name("intel_hex").map(|t| t.run(data));
});
