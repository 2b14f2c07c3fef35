#![no_main]
//! `cargo fuzz run beacon_json`: see `rum_fuzz::checks::beacon_json` for what it checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rum_fuzz::checks::beacon_json(data);
});
