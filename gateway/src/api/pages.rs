//! `GET /api/pages` (per page: p75 and rating shares of each vital over a time range),
//! `GET /api/pages/series` (a vital's p75 over time, split by a dimension), and the page
//! views behind them: `GET /api/page_views`, `GET /api/page_views/{id}`: `docs/api.md`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{ms_to_nanos, text_param, ApiError, ListQuery};
use crate::model::time::now_unix_nano;
use crate::store::pages::{self, Dimension, ListFilter, PageFilter};
use crate::store::{self, StoreHandle};

/// The vitals a page reports.
const VITALS: [&str; 5] = ["LCP", "INP", "CLS", "FCP", "TTFB"];

/// Most buckets one series may have (a year of hours).
const MAX_BUCKETS: i64 = 366 * 24;

const HOUR_MS: i64 = 3_600_000;

#[derive(Deserialize)]
pub(super) struct PagesQuery {
    service: Option<String>,
    environment: Option<String>,
    page: Option<String>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    vital: Option<String>,
    bucket: Option<String>,
    by: Option<String>,
    group: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

impl PagesQuery {
    /// The filter, with the range defaulting to all time (from 0 to now).
    fn filter(&mut self) -> Result<PageFilter, ApiError> {
        let from =
            ms_to_nanos(self.from_ms, "from_ms must be a non-negative time in ms")?.unwrap_or(0);
        let to = ms_to_nanos(self.to_ms, "to_ms must be a non-negative time in ms")?
            .unwrap_or_else(|| now_unix_nano().max(from));
        if to < from {
            return Err(ApiError::BadRequest("to_ms must not be before from_ms"));
        }
        Ok(PageFilter {
            service: text_param(self.service.take(), "service")?,
            environment: text_param(self.environment.take(), "environment")?,
            page: text_param(self.page.take(), "page")?,
            from,
            to,
        })
    }

    fn vital(&self) -> Result<Option<String>, ApiError> {
        match self.vital.as_deref().filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) if VITALS.contains(&v) => Ok(Some(v.to_string())),
            Some(_) => Err(ApiError::BadRequest(
                "vital must be one of LCP, INP, CLS, FCP, TTFB",
            )),
        }
    }

    fn by(&self) -> Result<Option<Dimension>, ApiError> {
        match self.by.as_deref().filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(name) => Dimension::parse(name).map(Some).ok_or_else(|| {
                ApiError::BadQuery(format!("by must be one of {}", Dimension::NAMES))
            }),
        }
    }
}

fn range_json(filter: &PageFilter) -> (i64, i64) {
    (filter.from / 1_000_000, filter.to / 1_000_000)
}

/// Per service, environment and page: the page views and each vital's summary.
pub(super) async fn list(
    State(store): State<StoreHandle>,
    query: Result<Query<PagesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(mut q) = query.map_err(|e| ApiError::BadQuery(e.body_text()))?;
    let filter = q.filter()?;
    let (from_ms, to_ms) = range_json(&filter);
    let pages = store.read(move |conn| pages::pages(conn, &filter)).await?;
    Ok(Json(json!({ "from_ms": from_ms, "to_ms": to_ms, "pages": pages })).into_response())
}

/// A vital's p75 per hour or day, one series per group of `by`.
pub(super) async fn series(
    State(store): State<StoreHandle>,
    query: Result<Query<PagesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(mut q) = query.map_err(|e| ApiError::BadQuery(e.body_text()))?;
    let vital = q.vital()?.ok_or(ApiError::BadRequest(
        "vital is required: one of LCP, INP, CLS, FCP, TTFB",
    ))?;
    let bucket_ms = match q.bucket.as_deref().unwrap_or("hour") {
        "hour" => HOUR_MS,
        "day" => 24 * HOUR_MS,
        _ => return Err(ApiError::BadRequest("bucket must be hour or day")),
    };
    let by = q.by()?;
    let from_given = q.from_ms.is_some();
    let mut filter = q.filter()?;
    if !from_given {
        // Without a start: as many buckets back from the end as a series may hold.
        filter.from = filter
            .to
            .saturating_sub(
                MAX_BUCKETS
                    .saturating_mul(bucket_ms)
                    .saturating_mul(1_000_000),
            )
            .max(0);
    }
    let (from_ms, to_ms) = range_json(&filter);
    if (to_ms - from_ms) / bucket_ms > MAX_BUCKETS {
        return Err(ApiError::BadQuery(format!(
            "the range holds more than {MAX_BUCKETS} buckets: narrow it or use bucket=day"
        )));
    }
    let series = store
        .read({
            let vital = vital.clone();
            move |conn| pages::series(conn, &filter, &vital, bucket_ms, by)
        })
        .await?;
    Ok(Json(json!({
        "vital": vital,
        "bucket_ms": bucket_ms,
        "by": by.map(Dimension::name),
        "from_ms": from_ms,
        "to_ms": to_ms,
        "series": series,
    }))
    .into_response())
}

/// A page of page views as `cursor` text: `{start}.{page_view_id}`.
fn decode_cursor(text: &str) -> Option<(i64, String)> {
    let (start, id) = text.split_once('.')?;
    Some((start.parse().ok()?, id.to_string()))
}

/// Page views matching the filters, newest first, each with its vitals.
pub(super) async fn list_views(
    State(store): State<StoreHandle>,
    query: Result<Query<PagesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(mut q) = query.map_err(|e| ApiError::BadQuery(e.body_text()))?;
    let limit = ListQuery { limit: q.limit }.limit()?;
    let vital = q.vital()?;
    let group = match (q.by()?, text_param(q.group.take(), "group")?) {
        (Some(by), Some(group)) => Some((by, group)),
        (None, None) => None,
        _ => return Err(ApiError::BadRequest("by and group go together")),
    };
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(decode_cursor(c).ok_or(ApiError::BadRequest(
            "cursor must be a next_cursor this API returned",
        ))?),
    };
    let mut pages = q.filter()?;
    if q.to_ms.is_none() {
        // Views stamped ahead of the gateway's clock still list.
        pages.to = i64::MAX;
    }
    let filter = ListFilter {
        pages,
        vital,
        group,
        after,
        limit,
    };
    let (views, next) = store
        .read(move |conn| {
            let (ids, more) = pages::page_views(conn, &filter)?;
            let mut views = Vec::with_capacity(ids.len());
            for (_, id) in &ids {
                if let Some(view) = store::page_view(conn, id)? {
                    views.push(view);
                }
            }
            let next = more
                .then(|| ids.last().map(|(start, id)| format!("{start}.{id}")))
                .flatten();
            Ok((views, next))
        })
        .await?;
    Ok(Json(json!({ "page_views": views, "next_cursor": next })).into_response())
}

/// One page view with its vitals.
pub(super) async fn get_view(
    State(store): State<StoreHandle>,
    Path(page_view_id): Path<String>,
) -> Result<Response, ApiError> {
    if page_view_id.is_empty() || page_view_id.len() > 64 {
        return Err(ApiError::BadRequest("a page view id is 1–64 characters"));
    }
    let view = store
        .read(move |conn| store::page_view(conn, &page_view_id))
        .await?
        .ok_or(ApiError::NoPageView)?;
    Ok(Json(view).into_response())
}
