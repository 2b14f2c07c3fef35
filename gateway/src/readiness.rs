//! `GET /readyz` on the admin listener: 200 only when the gateway can do everything it was
//! configured to do (the store answers a read, the user-agent regexes are compiled when
//! parsing is on, the configured GeoIP database is loaded), 503 with the reasons otherwise,
//! as the OpenTelemetry Collector's health check and Relay's `ready` endpoint answer.
//! `GET /healthz` only says the process is up.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::enrich::Enricher;
use crate::store::StoreHandle;

/// What readiness looks at.
pub struct Readiness {
    pub store: StoreHandle,
    pub enricher: Arc<Enricher>,
    /// `enrich.user_agent_parsing`.
    pub wants_user_agents: bool,
    /// Whether `enrich.geoip_database` is set.
    pub wants_geo: bool,
}

pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route("/readyz", get(readyz))
        .with_state(Arc::new(readiness))
}

impl Readiness {
    /// Why the gateway is not ready; empty when it is.
    pub async fn problems(&self) -> Vec<&'static str> {
        let mut problems = Vec::new();
        let store_ok = self
            .store
            .read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
            .is_ok();
        if !store_ok {
            problems.push("the store does not answer a read");
        }
        if self.wants_user_agents && self.enricher.user_agents().is_none() {
            problems.push("the user-agent regexes are not loaded (enrich.user_agent_regexes)");
        }
        if self.wants_geo && !self.enricher.geo().is_some_and(|g| g.is_loaded()) {
            problems.push("the GeoIP database is not loaded (enrich.geoip_database)");
        }
        problems
    }
}

async fn readyz(State(readiness): State<Arc<Readiness>>) -> Response {
    let problems = readiness.problems().await;
    if problems.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ready" }))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "reasons": problems })),
        )
            .into_response()
    }
}
