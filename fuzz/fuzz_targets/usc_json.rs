#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_harness::Target::from_name("usc_json").map(|t| t.run(data));
});
