//! Every attribute key the gateway reads or stamps, in one place (OpenTelemetry semantic
//! conventions where they name it; `rum.*` for the product's own).

/// The browser session (semantic conventions).
pub const SESSION_ID: &str = "session.id";
/// The page view a browser span belongs to.
pub const PAGE_VIEW_ID: &str = "rum.page_view.id";
/// The client's address, set by the enrich stage on browser data.
pub const CLIENT_ADDRESS: &str = "client.address";
/// A URL's query string without the `?`.
pub const URL_QUERY: &str = "url.query";
/// The service of a resource.
pub const SERVICE_NAME: &str = "service.name";
/// The release of a resource's service: with [`SERVICE_NAME`], what a source map is kept for.
pub const SERVICE_VERSION: &str = "service.version";
/// The deployment environment of a resource.
pub const DEPLOYMENT_ENVIRONMENT: &str = "deployment.environment.name";
/// [`DEPLOYMENT_ENVIRONMENT`]'s name before semantic conventions 1.27.
pub const DEPLOYMENT_ENVIRONMENT_OLD: &str = "deployment.environment";
/// Namespaces the enrich stage writes (from the gateway's lookups and the checked browser
/// context): a page's own values under them are dropped, and the scrubber leaves them alone.
pub const ENRICHMENT_PREFIXES: [&str; 5] = ["geo.", "user_agent.", "os.", "device.", "browser."];
/// The clock-skew shift applied to a beacon's times, milliseconds (positive: the browser
/// was behind).
pub const CLOCK_SKEW_ADJUSTED_MS: &str = "rum.clock_skew.adjusted_ms";
/// The application's user (`rum.setUser({ id })`), on every item of a beacon.
pub const USER_ID: &str = "user.id";
/// The session a new session replaced (on `session.start`).
pub const SESSION_PREVIOUS_ID: &str = "session.previous_id";
/// A user action's kind: `click` or `key`; marks a span as an action.
pub const ACTION_TYPE: &str = "rum.action.type";
/// A user action's name (the element's `data-rum-name`, accessible name, text or selector).
pub const ACTION_NAME: &str = "rum.action.name";
/// A user action's target element, as a short CSS selector.
pub const ACTION_TARGET: &str = "rum.action.target";
/// Clicks merged into one action (a rage click is one action).
pub const ACTION_CLICK_COUNT: &str = "rum.action.click_count";
/// A user action's frustration signals: `rage_click`, `dead_click`, `error_click`.
pub const ACTION_FRUSTRATION_TYPE: &str = "rum.action.frustration.type";
/// Name of an SPA route change's span.
pub const ROUTE_CHANGE_SPAN: &str = "routeChange";
/// A route change's previous URL.
pub const ROUTE_CHANGE_PREVIOUS_URL: &str = "rum.route_change.previous_url";
/// What started a route change: `pushState`, `replaceState`, `popstate`, `hashchange`.
pub const ROUTE_CHANGE_TRIGGER: &str = "rum.route_change.trigger";
/// The `rum.*` attributes whose values come from the page's text or URLs (an element's
/// text, a selector, a URL), not from the SDK's ids and counters: the scrubber reads them.
pub const RUM_TEXT_KEYS: [&str; 3] = [ACTION_NAME, ACTION_TARGET, ROUTE_CHANGE_PREVIOUS_URL];

/// An exception's type (semantic conventions): `TypeError`, `ResourceError`.
pub const EXCEPTION_TYPE: &str = "exception.type";
/// An exception's message.
pub const EXCEPTION_MESSAGE: &str = "exception.message";
/// An exception's stack trace as text.
pub const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";

/// Whether the gateway owns `key` (enrichment's namespaces, the client address, the clock
/// skew): a page's own value under it is dropped.
pub fn is_gateway_owned(key: &str) -> bool {
    key == CLIENT_ADDRESS
        || key.starts_with("rum.clock_skew.")
        || ENRICHMENT_PREFIXES.iter().any(|p| key.starts_with(p))
}
