#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_harness::Target::from_name("key_file").map(|t| t.run(data));
});
