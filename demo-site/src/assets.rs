//! The shop page's own static files, embedded in the binary (like the page template) so the
//! demo runs from any working directory: `/static/shop.css`, `/static/shop.js` and
//! `/static/logo.svg`.

use axum::http::header;
use axum::routing::get;
use axum::Router;

/// One embedded file: its URL path, `Content-Type` and body.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// Every file under `/static/`.
const ASSETS: [Asset; 3] = [
    Asset {
        path: "/static/shop.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../static/shop.css"),
    },
    Asset {
        path: "/static/shop.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../static/shop.js"),
    },
    Asset {
        path: "/static/logo.svg",
        content_type: "image/svg+xml",
        body: include_str!("../static/logo.svg"),
    },
];

/// `GET /static/{file}` for each of [`ASSETS`]; not traced, as a browser sends no trace
/// context with subresource requests and each would make a one-span trace of its own.
pub fn router() -> Router {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        let (content_type, body) = (asset.content_type, asset.body);
        router.route(
            asset.path,
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, content_type),
                        // no-cache, like the page: an edit shows up on reload, and every page
                        // load really fetches each file.
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    body,
                )
            }),
        )
    })
}
