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
/// The deployment environment of a resource.
pub const DEPLOYMENT_ENVIRONMENT: &str = "deployment.environment.name";
/// [`DEPLOYMENT_ENVIRONMENT`]'s name before semantic conventions 1.27.
pub const DEPLOYMENT_ENVIRONMENT_OLD: &str = "deployment.environment";
/// On kept spans: the ratio they were sampled at.
pub const SAMPLING_RATIO: &str = "sampling.ratio";
/// On spans kept only because their trace holds an error.
pub const SAMPLING_KEPT_FOR_ERROR: &str = "sampling.kept_for_error";
/// Namespaces the enrich stage writes (from the gateway's lookups and the checked browser
/// context): a page's own values under them are dropped, and the scrubber leaves them alone.
pub const ENRICHMENT_PREFIXES: [&str; 5] = ["geo.", "user_agent.", "os.", "device.", "browser."];
/// The clock-skew shift applied to a beacon's times, milliseconds (positive: the browser
/// was behind).
pub const CLOCK_SKEW_ADJUSTED_MS: &str = "rum.clock_skew.adjusted_ms";
