//! `GET /api/traces` (trace search: filters, time range, cursor pages) and
//! `GET /api/traces/{trace_id}` (one trace's spans, with its page view and session):
//! `docs/api.md`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{ms_to_nanos, text_param, ApiError, ListQuery};
use crate::model::attr::{PAGE_VIEW_ID, SESSION_ID, USER_ID};
use crate::model::TraceId;
use crate::store::pages::{self, ListFilter, PageFilter};
use crate::store::search::{self, Cursor, TraceQuery};
use crate::store::{self, StoreHandle};

/// Most page views a `page` filter resolves to (the page's newest in the range).
const MAX_PAGE_VIEWS_PER_PAGE: u32 = 10_000;

#[derive(Deserialize)]
pub(super) struct TracesQuery {
    service: Option<String>,
    name: Option<String>,
    url: Option<String>,
    status: Option<String>,
    min_ms: Option<f64>,
    max_ms: Option<f64>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    session_id: Option<String>,
    user_id: Option<String>,
    page: Option<String>,
    page_view_id: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Milliseconds → nanoseconds, for a duration bound.
fn duration(ms: Option<f64>, field: &'static str) -> Result<Option<i64>, ApiError> {
    match ms {
        None => Ok(None),
        Some(ms) if (0.0..1e12).contains(&ms) => Ok(Some((ms * 1e6) as i64)),
        Some(_) => Err(ApiError::BadRequest(field)),
    }
}

/// Traces matching the filters, newest first, a page at a time.
pub(super) async fn list(
    State(store): State<StoreHandle>,
    query: Result<Query<TracesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadQuery(e.body_text()))?;
    let limit = ListQuery { limit: q.limit }.limit()?;
    let from = ms_to_nanos(q.from_ms, "from_ms must be a non-negative time in ms")?.unwrap_or(0);
    let to = ms_to_nanos(q.to_ms, "to_ms must be a non-negative time in ms")?.unwrap_or(i64::MAX);
    if to < from {
        return Err(ApiError::BadRequest("to_ms must not be before from_ms"));
    }
    let error = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("error") => Some(true),
        Some("ok") => Some(false),
        Some(_) => return Err(ApiError::BadRequest("status must be error or ok")),
    };
    let min_duration = duration(q.min_ms, "min_ms must be a duration in ms")?;
    let max_duration = duration(q.max_ms, "max_ms must be a duration in ms")?;
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(Cursor::decode(c).ok_or(ApiError::BadRequest(
            "cursor must be a next_cursor this API returned",
        ))?),
    };
    let page = text_param(q.page, "page")?;
    let mut query = TraceQuery {
        service: text_param(q.service, "service")?,
        name: text_param(q.name, "name")?,
        url: text_param(q.url, "url")?,
        error,
        min_duration,
        max_duration,
        from,
        to,
        session_id: text_param(q.session_id, "session_id")?,
        user_id: text_param(q.user_id, "user_id")?,
        page_view_ids: text_param(q.page_view_id, "page_view_id")?.map(|id| vec![id]),
        after,
        limit,
    };
    let (traces, next) = store
        .read(move |conn| {
            if let Some(page) = page {
                // The page's views in the range; with a page view id as well, the one when it
                // is among them.
                let (views, _) = pages::page_views(
                    conn,
                    &ListFilter {
                        pages: PageFilter {
                            page: Some(page),
                            from,
                            to,
                            ..PageFilter::default()
                        },
                        limit: MAX_PAGE_VIEWS_PER_PAGE,
                        ..ListFilter::default()
                    },
                )?;
                let mut ids: Vec<String> = views.into_iter().map(|(_, id)| id).collect();
                if let Some(only) = &query.page_view_ids {
                    ids.retain(|id| only.contains(id));
                }
                if ids.is_empty() {
                    return Ok((Vec::new(), None));
                }
                query.page_view_ids = Some(ids);
            }
            search::search(conn, &query)
        })
        .await?;
    Ok(Json(json!({
        "traces": traces,
        "next_cursor": next.map(|c| c.encode()),
    }))
    .into_response())
}

/// One trace: its spans, the page view its browser spans belong to, and its session and user.
pub(super) async fn get(
    State(store): State<StoreHandle>,
    Path(trace_id): Path<String>,
) -> Result<Response, ApiError> {
    let trace_id = TraceId::from_hex(&trace_id)
        .ok_or(ApiError::BadRequest("trace id must be 32 hex digits"))?
        .to_string();
    let (spans, page_view) = store
        .read(move |conn| {
            let spans = store::trace_spans(conn, &trace_id)?;
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
    let first = |key: &str| {
        spans
            .iter()
            .find_map(|s| s.attributes.get(key)?.as_str().map(String::from))
    };
    let session_id = first(SESSION_ID).or_else(|| page_view.as_ref().map(|v| v.session_id.clone()));
    let user_id = first(USER_ID);
    let trace_id = spans.first().map(|s| s.trace_id.clone());
    Ok(Json(json!({
        "trace_id": trace_id,
        "spans": spans,
        "page_view": page_view,
        "session_id": session_id,
        "user_id": user_id,
    }))
    .into_response())
}
