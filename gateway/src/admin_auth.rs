//! The admin listener's token check (`server.admin_token`): required when the listener is
//! bound beyond loopback. A client proves it holds the token with `Authorization: Bearer
//! TOKEN` (scripts) or the `rum_admin_token` cookie (the viewer). Opening the viewer as
//! `/?token=TOKEN` sets that cookie (HttpOnly, SameSite=Strict) and redirects to `/`, so the
//! token leaves the address bar and the viewer's own API calls carry the cookie.
//! `/healthz` and `/readyz` stay open for load balancers; they reveal nothing.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};

use crate::apps::{bearer, constant_time_eq};

/// The cookie the viewer carries the token in.
pub const COOKIE: &str = "rum_admin_token";

/// `router` behind the token, or unchanged when there is none (loopback only).
pub fn protect(router: Router, token: Option<&str>) -> Router {
    match token {
        Some(token) => router.layer(middleware::from_fn_with_state(
            Arc::<str>::from(token),
            check,
        )),
        None => router,
    }
}

async fn check(State(token): State<Arc<str>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/healthz" || path == "/readyz" {
        return next.run(request).await;
    }
    let headers = request.headers();
    if bearer(headers).is_some_and(|t| same(t, &token))
        || cookie(headers).is_some_and(|t| same(t, &token))
    {
        return next.run(request).await;
    }
    let query_token = request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")));
    if path == "/" && query_token.is_some_and(|t| same(t, &token)) {
        let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            return (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, value),
                    (header::LOCATION, HeaderValue::from_static("/")),
                ],
            )
                .into_response();
        }
    }
    tracing::debug!(path, "Refused an admin request without a valid token.");
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
        Json(serde_json::json!({
            "error": "unauthorized",
            "message": "send Authorization: Bearer TOKEN, or open the viewer as /?token=TOKEN",
        })),
    )
        .into_response()
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

fn same(given: &str, token: &str) -> bool {
    constant_time_eq(given.as_bytes(), token.as_bytes())
}
