//! The embedded trace viewer: static files (`gateway/viewer/`) that render the admin API's
//! JSON, compiled into the binary. The pages build DOM nodes with `textContent` and attribute
//! values only (no HTML from data), and a strict Content-Security-Policy allows nothing but
//! this listener's own scripts (native ES modules) and styles.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file the viewer loads: path → (content, content type).
const ASSETS: &[(&str, &str, &str)] = &[
    ("/", include_str!("../viewer/index.html"), HTML),
    ("/viewer.css", include_str!("../viewer/viewer.css"), CSS),
    ("/js/app.js", include_str!("../viewer/js/app.js"), JS),
    ("/js/api.js", include_str!("../viewer/js/api.js"), JS),
    ("/js/dom.js", include_str!("../viewer/js/dom.js"), JS),
    ("/js/range.js", include_str!("../viewer/js/range.js"), JS),
    ("/js/vitals.js", include_str!("../viewer/js/vitals.js"), JS),
    (
        "/js/attributes.js",
        include_str!("../viewer/js/attributes.js"),
        JS,
    ),
    ("/js/chart.js", include_str!("../viewer/js/chart.js"), JS),
    (
        "/js/pages/traces.js",
        include_str!("../viewer/js/pages/traces.js"),
        JS,
    ),
    (
        "/js/pages/trace.js",
        include_str!("../viewer/js/pages/trace.js"),
        JS,
    ),
    (
        "/js/pages/pages.js",
        include_str!("../viewer/js/pages/pages.js"),
        JS,
    ),
    (
        "/js/pages/page_view.js",
        include_str!("../viewer/js/pages/page_view.js"),
        JS,
    ),
    (
        "/js/pages/sessions.js",
        include_str!("../viewer/js/pages/sessions.js"),
        JS,
    ),
    (
        "/js/pages/session.js",
        include_str!("../viewer/js/pages/session.js"),
        JS,
    ),
    (
        "/js/pages/errors.js",
        include_str!("../viewer/js/pages/errors.js"),
        JS,
    ),
    (
        "/js/pages/error_group.js",
        include_str!("../viewer/js/pages/error_group.js"),
        JS,
    ),
    (
        "/js/pages/releases.js",
        include_str!("../viewer/js/pages/releases.js"),
        JS,
    ),
    (
        "/js/pages/compare.js",
        include_str!("../viewer/js/pages/compare.js"),
        JS,
    ),
    // uPlot (MIT, gateway/viewer/vendor/README.md): the charts. Chosen for its size (about
    // 50 KB minified, no dependencies) and speed (it draws on a canvas); served from here,
    // never from a CDN.
    (
        "/vendor/uPlot.iife.min.js",
        include_str!("../viewer/vendor/uPlot.iife.min.js"),
        JS,
    ),
    (
        "/vendor/uPlot.min.css",
        include_str!("../viewer/vendor/uPlot.min.css"),
        CSS,
    ),
];

pub fn router() -> Router {
    let mut router = Router::new();
    for &(path, body, content_type) in ASSETS {
        router = router.route(path, get(move || async move { asset(body, content_type) }));
    }
    // Browsers ask for it on every page; answer without a 404 in their console.
    router.route(
        "/favicon.ico",
        get(|| async { axum::http::StatusCode::NO_CONTENT }),
    )
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::ASSETS;
    use std::path::Path;

    fn files(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("viewer directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path.to_string_lossy().into_owned());
            }
        }
    }

    /// Every script and stylesheet under `gateway/viewer/` is served, with the bytes on disk
    /// (a module added there and forgotten here would fail the viewer at run time).
    #[test]
    fn every_viewer_file_is_served() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("viewer");
        let mut all = Vec::new();
        files(&root, &mut all);
        for file in all
            .iter()
            .filter(|f| f.ends_with(".js") || f.ends_with(".css"))
        {
            let rel = &file[root.to_string_lossy().len()..];
            let served = ASSETS
                .iter()
                .find(|(path, _, _)| *path == rel)
                .unwrap_or_else(|| panic!("{rel} is not in viewer.rs's ASSETS"));
            let disk = std::fs::read_to_string(file).expect("read");
            assert_eq!(served.1, disk, "{rel} is served with other content");
        }
    }

    /// The viewer's own scripts never parse data as HTML or code.
    #[test]
    fn no_html_or_eval_sinks() {
        for (path, body, _) in ASSETS.iter().filter(|(p, _, _)| p.starts_with("/js/")) {
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "createContextualFragment",
                "DOMParser",
                "eval(",
                "new Function",
            ] {
                assert!(!body.contains(sink), "{path} uses {sink}");
            }
        }
    }
}
