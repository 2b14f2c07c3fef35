//! The ingest listener: beacons from browsers and OTLP/HTTP from backends.
//!
//! Both endpoints have one shape: `receive` (the axum handler) runs `handle`, which checks in
//! this order, before reading the body: the client's rate, the ingest key (and its rate), the
//! origin, the content type and the declared length; then reads at most the body limit,
//! inflates it, decodes it, validates it, runs the pipeline and writes to the store. Every
//! refusal is a [`Rejection`].

pub mod beacon;
pub(crate) mod decode;
pub mod otlp;
mod request;

use std::sync::Arc;

use axum::http::{Method, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::apps::App;
use crate::enrich::RequestContext;
use crate::limit::{Limits, RateLimits};
use crate::model::time::now_unix_nano;
use crate::pipeline::Pipeline;
use crate::rejection::Rejection;
use crate::store::writer::WriteError;
use crate::store::StoreHandle;
use crate::validate::{Checks, ValidBatch};

/// What the ingest handlers share; built once by the server.
#[derive(Clone)]
pub struct IngestState {
    pub apps: Arc<[App]>,
    pub limits: Arc<Limits>,
    /// `enrich.clock_skew_threshold_ms`, in nanoseconds: validation judges a beacon's times
    /// as the correction will leave them.
    pub clock_skew_threshold_nanos: i64,
    pub rate: Arc<RateLimits>,
    pub pipeline: Arc<Pipeline>,
    pub store: StoreHandle,
}

impl IngestState {
    /// What validation checks a request received now against.
    fn checks(&self) -> Checks<'_> {
        Checks {
            limits: &self.limits,
            received_unix_nano: now_unix_nano(),
            clock_skew_threshold_nanos: self.clock_skew_threshold_nanos,
        }
    }

    /// The steps after validation, the same for both endpoints: the pipeline, then the
    /// store; resolves once the batch is durable. Returns the spans and vitals stored.
    async fn store(
        &self,
        valid: ValidBatch,
        ctx: &RequestContext,
    ) -> Result<(usize, usize), Rejection> {
        let processed = self.pipeline.process(valid, ctx);
        let counts = (processed.batch.spans.len(), processed.batch.vitals.len());
        self.store
            .write_with(processed.batch, processed.payloads)
            .await?;
        Ok(counts)
    }
}

pub fn router(state: IngestState) -> Router {
    Router::new()
        .route("/v1/rum", post(beacon::receive).options(beacon::preflight))
        .route("/v1/traces", post(otlp::receive))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// `GET /healthz`: the process is up, with the admin listener's body (`docs/api.md`), for
/// load balancers that probe the port they send traffic to.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn not_found(uri: Uri) -> Rejection {
    Rejection::NotFound(uri.path().to_string())
}

async fn method_not_allowed(method: Method) -> Rejection {
    Rejection::MethodNotAllowed(method.to_string())
}

impl From<WriteError> for Rejection {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Busy => Rejection::Busy,
            WriteError::Failed => Rejection::StoreFailed,
        }
    }
}
