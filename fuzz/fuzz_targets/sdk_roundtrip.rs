#![no_main]
//! `cargo fuzz run sdk_roundtrip`: see `rum_fuzz::checks::sdk_roundtrip` for what it checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rum_fuzz::checks::sdk_roundtrip(data);
});
