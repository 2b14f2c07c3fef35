#![no_main]
//! `cargo fuzz run gzip`: see `rum_fuzz::checks::gzip` for what it checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rum_fuzz::checks::gzip(data);
});
