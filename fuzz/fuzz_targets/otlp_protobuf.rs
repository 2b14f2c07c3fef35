#![no_main]
//! `cargo fuzz run otlp_protobuf`: see `rum_fuzz::checks::otlp_protobuf` for what it checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rum_fuzz::checks::otlp_protobuf(data);
});
