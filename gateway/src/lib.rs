//! rum-gateway: the self-hosted ingest gateway of the RUM product. `docs/architecture.md`
//! draws the flow and the layers; `tests/layers.rs` checks them.
//!
//! ```text
//!  HTTP ─ connections ─ ingest/{beacon,otlp} ─ wire ─ validate ─► ValidBatch
//!  ValidBatch ─ pipeline: enrich → scrub → errors → truncate → sample → export::encode
//!             ─► store (rows + outbox, one transaction; ack after commit) ─► export::otlp
//! ```
//!
//! The public surface is small, for the binary, the tests and tools: [`config`] (the
//! configuration), [`server`] (running the listeners, the routers, [`server::OfflineIngest`]),
//! [`store`] (opening a store and its row statements, for bulk loaders), [`model`] (the
//! records and attribute keys), [`wire`] (the beacon format) and [`errors`] (stack parsing,
//! source maps and fingerprints, which the tests drive on recorded stacks). Everything else is
//! crate-private.

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
pub(crate) mod sample;
pub(crate) mod scrub;
pub mod server;
pub mod store;
pub(crate) mod telemetry;
pub(crate) mod tls;
pub(crate) mod validate;
pub(crate) mod viewer;
pub mod wire;
