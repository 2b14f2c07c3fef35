//! `GET /api/releases` (a service's releases with their figures) and
//! `GET /api/releases/compare` (two of them, a verdict per figure): `docs/api.md`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{ms_to_nanos, ApiError};
use crate::releases;
use crate::store::releases::{self as samples, Filter};
use crate::store::StoreHandle;

/// Longest service, environment or version name accepted.
const MAX_NAME: usize = 256;

#[derive(Deserialize)]
pub(super) struct ReleasesQuery {
    service: Option<String>,
    environment: Option<String>,
    baseline: Option<String>,
    candidate: Option<String>,
    /// Unix milliseconds, inclusive.
    from: Option<i64>,
    /// Unix milliseconds, exclusive.
    to: Option<i64>,
}

/// A name parameter: absent or empty is None; too long is refused.
fn name(value: Option<String>, field: &'static str) -> Result<Option<String>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > MAX_NAME => Err(ApiError::BadQuery(format!(
            "{field} must be at most {MAX_NAME} characters"
        ))),
        v => Ok(v),
    }
}

fn required(value: Option<String>, field: &'static str) -> Result<String, ApiError> {
    name(value, field)?.ok_or_else(|| ApiError::BadQuery(format!("{field} is required")))
}

/// The query's filter (service, environment, time range), checked.
fn filter(q: &ReleasesQuery) -> Result<Filter, ApiError> {
    let from = ms_to_nanos(q.from, "from must be unix milliseconds")?;
    let to = ms_to_nanos(q.to, "to must be unix milliseconds")?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(ApiError::BadRequest("from must not be after to"));
        }
    }
    Ok(Filter {
        service: required(q.service.clone(), "service")?,
        environment: name(q.environment.clone(), "environment")?,
        versions: None,
        from,
        to,
    })
}

/// A malformed query string (a number that is not one): the same JSON as every refusal.
fn query(q: Result<Query<ReleasesQuery>, QueryRejection>) -> Result<ReleasesQuery, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::BadQuery(e.body_text()))
}

/// Each release of the service (per environment), newest first.
pub(super) async fn list(
    State(store): State<StoreHandle>,
    q: Result<Query<ReleasesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let filter = filter(&query(q)?)?;
    let service = filter.service.clone();
    let releases = store
        .read(move |conn| samples::read(conn, &filter, true))
        .await?;
    Ok(Json(json!({
        "service": service,
        "releases": releases::summaries(&releases),
    }))
    .into_response())
}

/// `baseline` against `candidate`: every figure of both, the difference and the verdict.
pub(super) async fn compare(
    State(store): State<StoreHandle>,
    q: Result<Query<ReleasesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let mut filter = filter(&q)?;
    let baseline = required(q.baseline, "baseline")?;
    let candidate = required(q.candidate, "candidate")?;
    filter.versions = Some(vec![baseline.clone(), candidate.clone()]);
    let (service, environment) = (filter.service.clone(), filter.environment.clone());
    let releases = store
        .read(move |conn| samples::read(conn, &filter, false))
        .await?;
    let comparison = releases::comparison(
        &service,
        environment.as_deref(),
        &releases,
        &baseline,
        &candidate,
    )
    .map_err(|e| ApiError::NoRelease(e.to_string()))?;
    Ok(Json(comparison).into_response())
}
