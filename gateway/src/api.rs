//! The admin listener's JSON API (`docs/api.md`): recent traces, one trace's spans with its
//! page view, recent page views with their vitals, recent sessions and one session's
//! timeline, error groups and their occurrences, source map uploads, releases and their
//! comparison ([`releases`]), and health.

mod pages;
mod releases;
mod traces;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::errors::sourcemap::UploadError;
use crate::errors::SourceMaps;
use crate::model::time::now_unix_nano;
use crate::store::errors::ErrorFilter;
use crate::store::{self, StoreError, StoreHandle};

/// Items a list returns when `limit` is absent.
const DEFAULT_LIMIT: u32 = 50;
/// Most items a list returns.
const MAX_LIMIT: u32 = 1000;

/// Buckets of an error group's sparkline.
const SPARKLINE_BUCKETS: usize = 24;

/// What the handlers share: the store, and the source maps uploads go to.
#[derive(Clone)]
struct ApiState {
    store: StoreHandle,
    maps: Option<Arc<SourceMaps>>,
}

impl FromRef<ApiState> for StoreHandle {
    fn from_ref(state: &ApiState) -> StoreHandle {
        state.store.clone()
    }
}

/// The API; `maps` enables `POST /api/sourcemaps`.
pub fn router(store: StoreHandle, maps: Option<Arc<SourceMaps>>) -> Router {
    let upload_limit = maps.as_ref().map_or(0, |m| {
        usize::try_from(m.max_map_bytes())
            .unwrap_or(usize::MAX)
            .saturating_add(1)
    });
    let mut router = Router::new();
    if maps.is_some() {
        router = router.route(
            "/api/sourcemaps",
            post(upload_sourcemap).layer(DefaultBodyLimit::max(upload_limit)),
        );
    }
    router
        .route("/healthz", get(healthz))
        .route("/api/traces", get(traces::list))
        .route("/api/traces/{trace_id}", get(traces::get))
        .route("/api/page_views", get(pages::list_views))
        .route("/api/page_views/{page_view_id}", get(pages::get_view))
        .route("/api/pages", get(pages::list))
        .route("/api/pages/series", get(pages::series))
        .route("/api/sessions", get(list_sessions))
        .route("/api/sessions/{session_id}", get(get_session))
        .route("/api/errors", get(list_errors))
        .route("/api/errors/{fingerprint}", get(get_error_group))
        .route("/api/sampling", get(get_sampling))
        .route("/api/vitals/quantiles", get(vital_quantiles))
        .route("/api/releases", get(releases::list))
        .route("/api/releases/compare", get(releases::compare))
        .fallback(not_found)
        .with_state(ApiState { store, maps })
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
    #[error("no page view with that id")]
    NoPageView,
    #[error("no error group with that fingerprint")]
    NoErrorGroup,
    #[error("{0}")]
    BadQuery(String),
    #[error("{0}")]
    NoRelease(String),
    #[error("{0}")]
    Upload(#[from] UploadError),
    #[error("the source map could not be read: {0}")]
    UploadBody(String),
    #[error("no admin endpoint at {0}")]
    NoEndpoint(String),
    #[error("store error: {0}")]
    Store(#[from] StoreError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, reason) = match &self {
            ApiError::BadRequest(_) | ApiError::BadQuery(_) => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            ApiError::NotFound
            | ApiError::NoSession
            | ApiError::NoPageView
            | ApiError::NoErrorGroup
            | ApiError::NoRelease(_)
            | ApiError::NoEndpoint(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Upload(UploadError::MissingParam(_) | UploadError::BadParam(_)) => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            ApiError::Upload(UploadError::InvalidMap(_)) => {
                (StatusCode::BAD_REQUEST, "invalid_sourcemap")
            }
            ApiError::Upload(UploadError::TooLarge { .. }) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::UploadBody(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Upload(UploadError::Io(e)) => {
                tracing::error!(error = %e, "Storing an uploaded source map failed.");
                (StatusCode::INTERNAL_SERVER_ERROR, "store_error")
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

/// Longest text a filter parameter may hold.
const MAX_PARAM_CHARS: usize = 1024;

/// A text filter: absent or empty is None; too long is refused.
fn text_param(value: Option<String>, field: &'static str) -> Result<Option<String>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > MAX_PARAM_CHARS => Err(ApiError::BadQuery(format!(
            "{field} must be at most {MAX_PARAM_CHARS} characters"
        ))),
        v => Ok(v),
    }
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

/// The metrics `/api/vitals/quantiles` knows.
const QUANTILE_METRICS: [&str; 7] = [
    "LCP",
    "INP",
    "CLS",
    "FCP",
    "TTFB",
    "fetch.duration",
    "server.duration",
];

#[derive(Debug, Deserialize)]
struct QuantileQuery {
    metric: String,
    service: Option<String>,
    version: Option<String>,
    route: Option<String>,
    country: Option<String>,
    browser: Option<String>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
}

/// p75 and p95 of a metric over a time range: from the raw reports inside the raw tier, from
/// the hourly rollups before it (`store/rollups.rs`).
async fn vital_quantiles(
    State(store): State<StoreHandle>,
    Query(q): Query<QuantileQuery>,
) -> Result<Response, ApiError> {
    if !QUANTILE_METRICS.contains(&q.metric.as_str()) {
        return Err(ApiError::BadRequest(
            "metric must be one of LCP, INP, CLS, FCP, TTFB, fetch.duration, server.duration",
        ));
    }
    let from = ms_to_nanos(q.from_ms, "from_ms must be a non-negative time in ms")?.unwrap_or(0);
    let to = ms_to_nanos(q.to_ms, "to_ms must be a non-negative time in ms")?
        .unwrap_or_else(now_unix_nano);
    if to <= from {
        return Err(ApiError::BadRequest("to_ms must be after from_ms"));
    }
    let filter = store::rollups::Filter {
        metric: q.metric,
        service: q.service,
        version: q.version,
        route: q.route,
        country: q.country,
        browser: q.browser,
    };
    let quantiles = store
        .read(move |conn| {
            // Span latencies are kept only as rollups (made when their partition is archived).
            let rolled_to = if filter.metric.contains('.') {
                to
            } else {
                store::retention::vitals_rolled_to(conn)?
            };
            store::rollups::quantiles(conn, &filter, from, to, rolled_to)
        })
        .await?;
    Ok(Json(quantiles).into_response())
}

/// Tail sampling's state: whether it runs, the traces waiting, each adaptive service's ratio.
async fn get_sampling(State(store): State<StoreHandle>) -> Json<serde_json::Value> {
    Json(match store.sampling() {
        Some(status) => json!({ "tail_sampling": true, "status": status }),
        None => json!({ "tail_sampling": false }),
    })
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

#[derive(Deserialize)]
struct ErrorsQuery {
    limit: Option<u32>,
    service: Option<String>,
    version: Option<String>,
    environment: Option<String>,
    /// Unix milliseconds.
    from: Option<i64>,
    to: Option<i64>,
}

/// Unix milliseconds → nanoseconds, for a time filter.
fn ms_to_nanos(ms: Option<i64>, name: &'static str) -> Result<Option<i64>, ApiError> {
    match ms {
        None => Ok(None),
        Some(ms) => ms
            .checked_mul(1_000_000)
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or(ApiError::BadRequest(name)),
    }
}

/// Error groups, most recently seen first, with a sparkline of their occurrences.
async fn list_errors(
    State(store): State<StoreHandle>,
    Query(q): Query<ErrorsQuery>,
) -> Result<Response, ApiError> {
    let limit = ListQuery { limit: q.limit }.limit()?;
    let filter = ErrorFilter {
        service: q.service.filter(|s| !s.is_empty()),
        version: q.version.filter(|s| !s.is_empty()),
        environment: q.environment.filter(|s| !s.is_empty()),
        from: ms_to_nanos(q.from, "from must be unix milliseconds")?,
        to: ms_to_nanos(q.to, "to must be unix milliseconds")?,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if from > to {
            return Err(ApiError::BadRequest("from must not be after to"));
        }
    }
    let now = now_unix_nano();
    let groups = store
        .read(move |conn| store::errors::groups(conn, &filter, limit, SPARKLINE_BUCKETS, now))
        .await?;
    Ok(Json(json!({ "groups": groups, "sparkline_buckets": SPARKLINE_BUCKETS })).into_response())
}

/// One group and its latest occurrences (`limit`, default 50).
async fn get_error_group(
    State(store): State<StoreHandle>,
    Path(fingerprint): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    if fingerprint.len() != 32 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest("a fingerprint is 32 hex digits"));
    }
    let limit = q.limit()?;
    let now = now_unix_nano();
    let group = store
        .read(move |conn| {
            store::errors::group(
                conn,
                &fingerprint.to_ascii_lowercase(),
                limit,
                SPARKLINE_BUCKETS,
                now,
            )
        })
        .await?
        .ok_or(ApiError::NoErrorGroup)?;
    Ok(Json(group).into_response())
}

#[derive(Deserialize)]
struct UploadQuery {
    service: Option<String>,
    version: Option<String>,
    url: Option<String>,
}

/// `POST /api/sourcemaps?service=…&version=…&url=…` with the map as the body.
async fn upload_sourcemap(
    State(state): State<ApiState>,
    Query(q): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Some(maps) = state.maps else {
        return Err(ApiError::NoEndpoint("/api/sourcemaps".into()));
    };
    let body = body.map_err(|e| match maps.max_map_bytes() {
        max if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::UploadBody(format!("over errors.max_sourcemap_bytes ({max})"))
        }
        _ => ApiError::UploadBody(e.body_text()),
    })?;
    let stored = tokio::task::spawn_blocking(move || {
        maps.upload(
            q.service.as_deref(),
            q.version.as_deref(),
            q.url.as_deref(),
            &body,
        )
    })
    .await
    .map_err(|_| ApiError::Store(StoreError::WriterGone))??;
    Ok((StatusCode::CREATED, Json(json!({ "stored": stored }))).into_response())
}
