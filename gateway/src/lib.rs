//! rum-gateway: the self-hosted ingest gateway of the RUM product.
//!
//! Data flows one way, each stage a module with a narrow type at its boundary:
//!
//! ```text
//!  SDK beacon  ─ ingest/beacon.rs ─┐                      (issue 5: enrich → scrub → sample)
//!                                  ├─ validate.rs ─► Batch ─────────────────────────────► store/
//!  OTLP/HTTP   ─ ingest/otlp.rs ───┘
//! ```
//!
//! * [`ingest`]: the ingest listener's HTTP handlers: authentication by ingest key, CORS,
//!   content type and body-size checks, decoding.
//! * [`validate`]: turns a decoded beacon into the gateway's own [`model::Batch`].
//! * [`enrich`]: adds client address, geo, user agent and browser context to browser data,
//!   and corrects the browser's clock.
//! * [`pipeline`]: the policy stages between validation and the store: count caps, [`scrub`]
//!   (personal data and secrets), string truncation, [`sample`] (trace-id ratio sampling);
//!   [`limit`] holds the rate limits, the gzip decoder and the caps; [`admin_auth`] the admin
//!   listener's token.
//! * [`store`]: the embedded SQLite store; a request is acknowledged only after its batch has
//!   committed.
//! * [`export`] and [`convert`]: the durable outbox and the OTLP/HTTP exporter that drains it.
//! * [`telemetry`]: self-metrics at `GET /metrics` on the admin listener.
//! * [`api`] and [`viewer`]: the admin listener's JSON API and trace viewer.

pub mod admin_auth;
pub mod api;
pub mod apps;
pub mod config;
pub mod connections;

pub mod enrich;

pub mod export;
pub mod ingest;
pub mod limit;
pub mod model;
pub mod outcome;
pub mod pipeline;
pub mod readiness;
pub mod rejection;
pub mod sample;
pub mod scrub;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod validate;
pub mod viewer;
pub mod wire;
