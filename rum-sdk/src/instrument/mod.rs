//! Instrumentations that turn what the JS layer records into spans.

pub mod fetch;
