#![no_main]
//! `cargo fuzz run stack`: see `rum_fuzz::checks::stack` for what it checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rum_fuzz::checks::stack(data);
});
