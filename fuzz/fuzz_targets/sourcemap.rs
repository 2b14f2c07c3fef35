#![no_main]
//! `cargo fuzz run sourcemap`: see `rum_fuzz::checks::sourcemap` for what it checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rum_fuzz::checks::sourcemap(data);
});
