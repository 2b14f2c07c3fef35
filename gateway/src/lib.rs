//! rum-gateway: the self-hosted ingest gateway of the RUM product. `docs/architecture.md`
//! draws the flow and the layers; `tests/layers.rs` checks them.
//!
//! ```text
//!  HTTP ─ connections ─ ingest/{beacon,otlp} ─ wire ─ validate ─► ValidBatch
//!  ValidBatch ─ pipeline: enrich → scrub → errors → truncate → export::encode
//!             ─► store: ingest log (ack after its fsync) ─► index (SQLite rows)
//!                                                         │   └► tail sampling per trace
//!                                                         │      (`sample`, `store::tail`)
//!                                                         └► export::otlp (its own position)
//! ```
//!
//! The public surface is small, for the binary, the tests and tools: [`config`] (the
//! configuration), [`server`] (running the listeners, the routers, [`server::OfflineIngest`]),
//! [`store`] (opening a store and its row statements, for bulk loaders), [`model`] (the
//! records and attribute keys), [`wire`] (the beacon format) and [`errors`] (stack parsing,
//! source maps and fingerprints, which the tests drive on recorded stacks), and [`decoders`] (the
//! decoders of untrusted bytes, for the fuzz targets), and [`releases`] (release comparison, for
//! `rum-gateway compare`). Everything else is crate-private.

pub(crate) mod admin_auth;
pub(crate) mod api;
pub(crate) mod apps;
pub mod config;
pub(crate) mod connections;
pub(crate) mod enrich;
pub mod errors;
pub(crate) mod export;
pub(crate) mod ingest;
pub(crate) mod limit;
pub mod model;
pub(crate) mod outcome;
pub(crate) mod pipeline;
pub(crate) mod readiness;
pub(crate) mod rejection;
pub mod releases;
pub(crate) mod sample;
pub(crate) mod scrub;
pub mod server;
pub(crate) mod stats;
pub mod store;
pub(crate) mod telemetry;
pub(crate) mod tls;
pub(crate) mod validate;
pub(crate) mod viewer;
pub mod wire;

/// The decoders of untrusted bytes and their validation, exactly the functions the ingest
/// handlers call, for the fuzz targets (`fuzz/`) and their corpus replay
/// (`tests/fuzz_corpus.rs`). Stack parsing and source maps are in [`errors`]. Each returns a
/// [`Rejection`] (a 4xx with a stable reason) for bad input, never panics.
pub mod decoders {
    pub use crate::ingest::decode::gunzip;
    pub use crate::ingest::otlp::{decode_json as otlp_json, decode_protobuf as otlp_protobuf};
    pub use crate::limit::Limits;
    pub use crate::rejection::Rejection;
    pub use crate::validate::beacon::beacon as validate_beacon;
    pub use crate::validate::otlp::request as validate_otlp;
    pub use crate::validate::{Checks, ValidBatch};
    pub use crate::wire::beacon_v1::decode as beacon;
    pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
}
