//! Traces the browser records: [`http`] client spans for fetch and XMLHttpRequest calls, and
//! [`document_load`], the page load as OpenTelemetry's document-load instrumentation shapes
//! it. [`span`] writes what every span has; [`ids`] the W3C identifiers. Spans are written
//! straight into their beacon JSON as the facts arrive, never built as structures first.

pub mod document_load;
pub mod http;
pub mod ids;
pub mod span;
