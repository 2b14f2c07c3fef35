//! The fuzz targets' checks (`checks.rs`, shared with `tests/fuzz_corpus.rs`).

pub mod checks;
