//! cargo-fuzz target: see guardld_fuzz::cache.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    guardld_fuzz::cache(data);
});
