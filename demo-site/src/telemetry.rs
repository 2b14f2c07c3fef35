//! Tracer provider setup: OTLP/HTTP protobuf export of the backend's spans to rum-gateway, and
//! the W3C trace-context propagator that links them to the browser's spans.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider,
};
use opentelemetry_sdk::Resource;

/// `service.name` of the backend, as the RUM product shows it.
pub const SERVICE_NAME: &str = "demo-shop-backend";

/// How long finished spans wait in the batch before export. Short, so a demo click shows its
/// backend spans within about a second rather than the SDK default of 5 s.
pub const SCHEDULED_DELAY: Duration = Duration::from_millis(200);

/// Upper bound for one export (retries included); a stalled gateway must not hold up shutdown
/// for long. Set on the exporter: the batch config's export timeout is for the async-runtime
/// processor only.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// The OTLP/HTTP traces URL for a gateway base URL (`{gateway}/v1/traces`).
pub fn traces_endpoint(gateway: &str) -> String {
    format!("{}/v1/traces", gateway.trim_end_matches('/'))
}

/// Builds the tracer provider exporting to `{gateway}/v1/traces` with `Authorization: Bearer
/// {api_key}`, and installs the W3C trace-context propagator globally.
///
/// The provider is not installed as the global one: callers pass [`tracer`] around, so several
/// providers (e.g. in tests) can coexist. Call `shutdown()` on it to flush before exiting; it
/// blocks, so from async code do it in `spawn_blocking`.
pub fn init_tracer_provider(gateway: &str, api_key: &str) -> anyhow::Result<SdkTracerProvider> {
    install_propagator();

    let endpoint = traces_endpoint(gateway);
    let authorization = format!("Bearer {api_key}");
    // The exporter silently drops headers it cannot encode; fail loudly instead, or every export
    // would go out without credentials and be rejected.
    axum::http::HeaderValue::from_str(&authorization)
        .context("the API key cannot be sent in an HTTP header")?;

    // `with_endpoint` is used verbatim for HTTP (no `/v1/traces` appended), hence the full URL.
    // This is the default blocking reqwest client: it is built on a helper thread and used from
    // the batch processor's own thread, so it never runs (or drops its runtime) inside tokio.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint.clone())
        .with_timeout(EXPORT_TIMEOUT)
        // `with_headers` percent-decodes values (they are meant to come from
        // OTEL_EXPORTER_OTLP_HEADERS), so escape `%` to send the key byte for byte.
        .with_headers(HashMap::from([(
            "authorization".to_owned(),
            authorization.replace('%', "%25"),
        )]))
        .build()
        .with_context(|| format!("building the OTLP exporter for {endpoint}"))?;

    let batch = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(SCHEDULED_DELAY)
                .build(),
        )
        .build();

    Ok(SdkTracerProvider::builder()
        .with_resource(resource())
        .with_span_processor(batch)
        .build())
}

/// The backend's resource: who emitted the spans.
pub fn resource() -> Resource {
    Resource::builder()
        .with_service_name(SERVICE_NAME)
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("deployment.environment.name", "demo"),
        ])
        .build()
}

/// The tracer the app's middleware and handlers use, scoped to this crate.
pub fn tracer(provider: &SdkTracerProvider) -> SdkTracer {
    let scope = InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    provider.tracer_with_scope(scope)
}

/// Makes `traceparent`/`tracestate` the propagation format: the browser SDK sends those on its
/// fetches, and the default global propagator is a no-op that would drop them.
pub fn install_propagator() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
}
