//! Traces the browser records: [`http`] client spans for fetch and XMLHttpRequest calls, and
//! [`document_load`], the page load as OpenTelemetry's document-load instrumentation shapes
//! it. [`span`] is the record both produce; [`ids`] the W3C identifiers.

pub mod document_load;
pub mod http;
pub mod ids;
pub mod span;
