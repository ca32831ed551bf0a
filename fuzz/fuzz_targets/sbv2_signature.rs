#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_harness::Target::from_name("sbv2_signature").map(|t| t.run(data));
});
