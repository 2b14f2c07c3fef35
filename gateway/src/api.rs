//! The admin listener's JSON API (`docs/api.md`): recent traces, one trace's spans with its
//! page view, recent page views with their vitals, recent sessions and one session's
//! timeline, and health.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::model::attr::PAGE_VIEW_ID;
use crate::model::TraceId;
use crate::store::{self, StoreError, StoreHandle};

/// Items a list returns when `limit` is absent.
const DEFAULT_LIMIT: u32 = 50;
/// Most items a list returns.
const MAX_LIMIT: u32 = 1000;

pub fn router(store: StoreHandle) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/traces", get(list_traces))
        .route("/api/traces/{trace_id}", get(get_trace))
        .route("/api/page_views", get(list_page_views))
        .route("/api/pages", get(list_pages))
        .route("/api/sessions", get(list_sessions))
        .route("/api/sessions/{session_id}", get(get_session))
        .fallback(not_found)
        .with_state(store)
}

/// Any other path of the admin listener: the same JSON body as every refusal.
async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NoEndpoint(uri.path().to_string())
}

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("no trace with that id")]
    NotFound,
    #[error("no session with that id")]
    NoSession,
    #[error("no admin endpoint at {0}")]
    NoEndpoint(String),
    #[error("store error: {0}")]
    Store(#[from] StoreError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, reason) = match &self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::NotFound | ApiError::NoSession | ApiError::NoEndpoint(_) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            ApiError::Store(e) => {
                tracing::error!(error = %e, "Admin API read failed.");
                (StatusCode::INTERNAL_SERVER_ERROR, "store_error")
            }
        };
        (
            status,
            Json(json!({ "error": reason, "message": self.to_string() })),
        )
            .into_response()
    }
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<u32>,
}

impl ListQuery {
    fn limit(&self) -> Result<u32, ApiError> {
        match self.limit.unwrap_or(DEFAULT_LIMIT) {
            n @ 1..=MAX_LIMIT => Ok(n),
            _ => Err(ApiError::BadRequest("limit must be between 1 and 1000")),
        }
    }
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn list_traces(
    State(store): State<StoreHandle>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit()?;
    let traces = store
        .read(move |conn| store::recent_traces(conn, limit))
        .await?;
    Ok(Json(json!({ "traces": traces })).into_response())
}

async fn get_trace(
    State(store): State<StoreHandle>,
    Path(trace_id): Path<String>,
) -> Result<Response, ApiError> {
    let trace_id = TraceId::from_hex(&trace_id)
        .ok_or(ApiError::BadRequest("trace id must be 32 hex digits"))?
        .to_string();
    let (spans, page_view) = store
        .read(move |conn| {
            let spans = store::trace_spans(conn, &trace_id)?;
            // The page view the trace's browser spans belong to, with its vitals.
            let view_id = spans
                .iter()
                .find_map(|s| s.attributes.get(PAGE_VIEW_ID)?.as_str().map(String::from));
            let view = match view_id {
                Some(id) => store::page_view(conn, &id)?,
                None => None,
            };
            Ok((spans, view))
        })
        .await?;
    if spans.is_empty() {
        return Err(ApiError::NotFound);
    }
    let trace_id = spans.first().map(|s| s.trace_id.clone());
    Ok(
        Json(json!({ "trace_id": trace_id, "spans": spans, "page_view": page_view }))
            .into_response(),
    )
}

async fn list_page_views(
    State(store): State<StoreHandle>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit()?;
    let views = store
        .read(move |conn| store::recent_page_views(conn, limit))
        .await?;
    Ok(Json(json!({ "page_views": views })).into_response())
}

/// Per URL path: p75 of each vital and the share of each rating.
async fn list_pages(State(store): State<StoreHandle>) -> Result<Response, ApiError> {
    let pages = store.read(store::summary::pages).await?;
    Ok(Json(json!({ "pages": pages })).into_response())
}

async fn list_sessions(
    State(store): State<StoreHandle>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit()?;
    let sessions = store
        .read(move |conn| store::sessions::recent_sessions(conn, limit))
        .await?;
    Ok(Json(json!({ "sessions": sessions })).into_response())
}

/// A session id as the beacon carries it: 1–64 characters of `[A-Za-z0-9_-]`.
fn is_session_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The session's views and, in time order, its views, route changes, actions, fetches,
/// vitals and events.
async fn get_session(
    State(store): State<StoreHandle>,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    if !is_session_id(&session_id) {
        return Err(ApiError::BadRequest(
            "session id must be 1–64 characters of [A-Za-z0-9_-]",
        ));
    }
    let session = store
        .read(move |conn| store::sessions::session(conn, &session_id))
        .await?
        .ok_or(ApiError::NoSession)?;
    Ok(Json(session).into_response())
}
