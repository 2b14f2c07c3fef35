//! The gateway's self-metrics: counters named by an enum, one [`Telemetry`] per running
//! gateway, rendered in the Prometheus text format at `GET /metrics` on the admin listener.
//!
//! Every counter is typed ([`Counter`]), its labels from [`crate::outcome`]. Rejections are
//! counted by their reason: a refusal's response carries a [`RejectedReason`] extension that
//! [`count_requests`] reads. The policy stages report what they dropped or cut through the
//! pipeline, so no count lives in a process-wide static and tests see exact figures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::model::{Batch, Source};
use crate::outcome::{
    DropReason, EarlyDecision, RejectReason, RejectedReason, SampleReason, Signal,
};

/// Which of the gateway's two listeners a connection metric is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Listener {
    Ingest,
    Admin,
}

impl Listener {
    pub fn as_str(self) -> &'static str {
        match self {
            Listener::Ingest => "ingest",
            Listener::Admin => "admin",
        }
    }
}

/// Every counter the gateway keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Counter {
    /// Beacon requests acknowledged (2xx on `/v1/rum`).
    BeaconsAccepted,
    /// OTLP requests acknowledged (2xx on `/v1/traces`).
    OtlpRequestsAccepted,
    /// Spans from beacons committed.
    SpansAccepted,
    /// Spans from OTLP committed.
    OtlpSpansAccepted,
    /// Page views committed.
    PageViewsAccepted,
    /// Web vitals committed.
    VitalsAccepted,
    /// Browser events (custom and session events) committed.
    BrowserEventsAccepted,
    /// Requests refused, by reason.
    Rejected(RejectReason),
    /// Spans of traces tail sampling dropped (deleted, or not stored when they came late).
    SpansSampledOut,
    /// Traces tail sampling decided: kept or not, and by which policy.
    TracesSampled(bool, SampleReason),
    /// Tail-sampling decisions a cap forced before the trace's window ended.
    EarlyDecisions(EarlyDecision),
    /// String values cut to `limits.max_string_chars`.
    StringsTruncated,
    /// Items (spans or log records) the receiver acknowledged.
    Exported(Signal),
    /// Export requests the receiver acknowledged.
    ExportRequests(Signal),
    /// Export attempts that will be retried (connection error, 429, 502, 503, 504).
    ExportRetries(Signal),
    /// Items dropped on the way to the receiver, by reason.
    ExportDropped(Signal, DropReason),
    /// Connections answered 503 and closed because `limits.max_connections` were open.
    ConnectionsRefused(Listener),
    /// Connections closed for sending no complete request head (or, over TLS, not finishing
    /// the handshake) in time.
    HeaderTimeouts(Listener),
    /// HTTPS connections closed because the TLS handshake failed (e.g. a client that does
    /// not trust the certificate, or plain HTTP sent to an HTTPS listener).
    TlsHandshakeFailures(Listener),
    /// Requests the HTTP parser refused before any handler ran, by reason code.
    ParserRefusals(Listener, RejectReason),
    /// Acknowledged batches (kept in the ingest log) that the SQLite index refused.
    IndexRefused,
}

impl Counter {
    fn name(self) -> &'static str {
        match self {
            Counter::BeaconsAccepted => "rum_gateway_beacons_accepted_total",
            Counter::OtlpRequestsAccepted => "rum_gateway_otlp_requests_accepted_total",
            Counter::SpansAccepted => "rum_gateway_spans_accepted_total",
            Counter::OtlpSpansAccepted => "rum_gateway_otlp_spans_accepted_total",
            Counter::PageViewsAccepted => "rum_gateway_page_views_accepted_total",
            Counter::VitalsAccepted => "rum_gateway_vitals_accepted_total",
            Counter::BrowserEventsAccepted => "rum_gateway_browser_events_accepted_total",
            Counter::Rejected(_) => "rum_gateway_rejected_total",
            Counter::SpansSampledOut => "rum_gateway_spans_sampled_out_total",
            Counter::TracesSampled(..) => "rum_gateway_traces_sampled_total",
            Counter::EarlyDecisions(_) => "rum_gateway_tail_early_decisions_total",
            Counter::StringsTruncated => "rum_gateway_strings_truncated_total",
            Counter::Exported(_) => "rum_gateway_export_items_total",
            Counter::ExportRequests(_) => "rum_gateway_export_requests_total",
            Counter::ExportRetries(_) => "rum_gateway_export_retries_total",
            Counter::ExportDropped(..) => "rum_gateway_export_dropped_total",
            Counter::ConnectionsRefused(_) => "rum_gateway_connections_refused_total",
            Counter::HeaderTimeouts(_) => "rum_gateway_header_read_timeouts_total",
            Counter::ParserRefusals(..) => "rum_gateway_http_parse_refusals_total",
            Counter::TlsHandshakeFailures(_) => "rum_gateway_tls_handshake_failures_total",
            Counter::IndexRefused => "rum_gateway_store_index_refused_total",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Counter::BeaconsAccepted => "Beacon requests acknowledged.",
            Counter::OtlpRequestsAccepted => "OTLP trace requests acknowledged.",
            Counter::SpansAccepted => "Browser spans committed to the store.",
            Counter::OtlpSpansAccepted => "Backend (OTLP) spans committed to the store.",
            Counter::PageViewsAccepted => "Page views committed to the store.",
            Counter::VitalsAccepted => "Web vitals committed to the store.",
            Counter::BrowserEventsAccepted => "Browser events (custom and session) committed to the store.",
            Counter::Rejected(_) => "Ingest requests refused, by reason code.",
            Counter::SpansSampledOut => {
                "Spans of traces tail sampling dropped (deleted after the decision, or arriving after it)."
            }
            Counter::TracesSampled(..) => {
                "Traces tail sampling decided, by decision (kept or dropped) and policy."
            }
            Counter::EarlyDecisions(_) => {
                "Tail-sampling decisions forced before the decision window ended, by the cap that forced them."
            }
            Counter::StringsTruncated => "String values cut to limits.max_string_chars.",
            Counter::Exported(_) => "Spans or log records the export receiver acknowledged.",
            Counter::ExportRequests(_) => "Export requests the receiver acknowledged.",
            Counter::ExportRetries(_) => "Export attempts retried after a transient failure.",
            Counter::ExportDropped(..) => "Spans or log records dropped before export, by reason.",
            Counter::ConnectionsRefused(_) => {
                "Connections refused (503) because limits.max_connections were open."
            }
            Counter::HeaderTimeouts(_) => {
                "Connections closed for sending no request head (or TLS handshake) within limits.header_read_timeout_ms."
            }
            Counter::TlsHandshakeFailures(_) => "HTTPS connections whose TLS handshake failed.",
            Counter::ParserRefusals(..) => {
                "Requests the HTTP parser refused (400, 414, 431) before any handler, by reason code."
            }
            Counter::IndexRefused => {
                "Acknowledged batches, kept in the ingest log, that the SQLite index refused."
            }
        }
    }

    fn labels(self) -> String {
        match self {
            Counter::Rejected(reason) => format!("{{reason=\"{}\"}}", reason.as_str()),
            Counter::Exported(s) | Counter::ExportRequests(s) | Counter::ExportRetries(s) => {
                format!("{{signal=\"{}\"}}", s.as_str())
            }
            Counter::ExportDropped(s, reason) => {
                format!(
                    "{{signal=\"{}\",reason=\"{}\"}}",
                    s.as_str(),
                    reason.as_str()
                )
            }
            Counter::TracesSampled(kept, reason) => format!(
                "{{decision=\"{}\",reason=\"{}\"}}",
                if kept { "kept" } else { "dropped" },
                reason.as_str()
            ),
            Counter::EarlyDecisions(reason) => format!("{{reason=\"{}\"}}", reason.as_str()),
            Counter::ConnectionsRefused(l)
            | Counter::HeaderTimeouts(l)
            | Counter::TlsHandshakeFailures(l) => {
                format!("{{listener=\"{}\"}}", l.as_str())
            }
            Counter::ParserRefusals(l, reason) => {
                format!(
                    "{{listener=\"{}\",reason=\"{}\"}}",
                    l.as_str(),
                    reason.as_str()
                )
            }
            _ => String::new(),
        }
    }
}

/// One gateway's counters and gauges.
#[derive(Debug, Default)]
pub struct Telemetry {
    counters: Mutex<BTreeMap<Counter, u64>>,
    queue_bytes: AtomicU64,
    export_enabled: std::sync::atomic::AtomicBool,
    /// Open connections of the ingest and admin listeners.
    open_connections: [AtomicU64; 2],
    /// Tail sampling, when it runs: traces waiting, and each adaptive service's ratio.
    sampling: Mutex<Option<SamplingGauges>>,
}

/// Traces waiting for a tail-sampling decision, and each adaptive service's ratio.
type SamplingGauges = (u64, Vec<(String, f64)>);

impl Telemetry {
    pub fn new() -> Arc<Telemetry> {
        Arc::new(Telemetry::default())
    }

    pub fn add(&self, counter: Counter, n: u64) {
        if n == 0 {
            return;
        }
        // A panic while holding the lock leaves plain integers: still usable.
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *counters.entry(counter).or_default() += n;
    }

    pub fn get(&self, counter: Counter) -> u64 {
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters.get(&counter).copied().unwrap_or(0)
    }

    /// Sets the outbox size gauge (and shows export metrics even before any traffic).
    pub fn set_queue_bytes(&self, bytes: u64) {
        self.export_enabled.store(true, Ordering::Relaxed);
        self.queue_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Tail sampling's gauges, after each decision pass.
    pub fn set_sampling(&self, waiting: u64, ratios: Vec<(String, f64)>) {
        *self.sampling.lock().unwrap_or_else(|p| p.into_inner()) = Some((waiting, ratios));
    }

    pub fn connection_opened(&self, listener: Listener) {
        self.open_connections[listener as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_closed(&self, listener: Listener) {
        self.open_connections[listener as usize].fetch_sub(1, Ordering::Relaxed);
    }

    pub fn open_connections(&self, listener: Listener) -> u64 {
        self.open_connections[listener as usize].load(Ordering::Relaxed)
    }

    /// Counts what a committed batch held.
    pub fn batch_committed(&self, batch: &Batch) {
        let browser = batch
            .spans
            .iter()
            .filter(|s| s.source == Source::Browser)
            .count() as u64;
        self.add(Counter::SpansAccepted, browser);
        self.add(
            Counter::OtlpSpansAccepted,
            batch.spans.len() as u64 - browser,
        );
        self.add(Counter::PageViewsAccepted, batch.page_views.len() as u64);
        self.add(Counter::VitalsAccepted, batch.vitals.len() as u64);
        self.add(Counter::BrowserEventsAccepted, batch.events.len() as u64);
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut counters = self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for counter in [
            Counter::BeaconsAccepted,
            Counter::OtlpRequestsAccepted,
            Counter::SpansAccepted,
            Counter::OtlpSpansAccepted,
            Counter::PageViewsAccepted,
            Counter::VitalsAccepted,
            Counter::BrowserEventsAccepted,
            Counter::SpansSampledOut,
            Counter::StringsTruncated,
            Counter::ConnectionsRefused(Listener::Ingest),
            Counter::HeaderTimeouts(Listener::Ingest),
        ] {
            counters.entry(counter).or_default();
        }
        let sampling = self
            .sampling
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if sampling.is_some() {
            for reason in SampleReason::ALL {
                let kept = reason != SampleReason::DropRule;
                counters
                    .entry(Counter::TracesSampled(kept, reason))
                    .or_default();
            }
            counters
                .entry(Counter::TracesSampled(false, SampleReason::Ratio))
                .or_default();
            for reason in EarlyDecision::ALL {
                counters.entry(Counter::EarlyDecisions(reason)).or_default();
            }
        }
        if self.export_enabled.load(Ordering::Relaxed) {
            for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
                counters.entry(Counter::Exported(signal)).or_default();
                counters.entry(Counter::ExportRetries(signal)).or_default();
                for reason in DropReason::ALL {
                    counters
                        .entry(Counter::ExportDropped(signal, reason))
                        .or_default();
                }
            }
        }
        let mut out = String::new();
        let mut last_name = "";
        for (counter, value) in counters {
            if counter.name() != last_name {
                last_name = counter.name();
                let _ = writeln!(out, "# HELP {last_name} {}", counter.help());
                let _ = writeln!(out, "# TYPE {last_name} counter");
            }
            let _ = writeln!(out, "{}{} {value}", counter.name(), counter.labels());
        }
        out.push_str("# HELP rum_gateway_connections_open Connections being served.\n");
        out.push_str("# TYPE rum_gateway_connections_open gauge\n");
        for listener in [Listener::Ingest, Listener::Admin] {
            let _ = writeln!(
                out,
                "rum_gateway_connections_open{{listener=\"{}\"}} {}",
                listener.as_str(),
                self.open_connections(listener)
            );
        }
        if let Some((waiting, ratios)) = sampling {
            out.push_str("# HELP rum_gateway_tail_waiting_traces Traces waiting for their tail-sampling decision.\n");
            out.push_str("# TYPE rum_gateway_tail_waiting_traces gauge\n");
            let _ = writeln!(out, "rum_gateway_tail_waiting_traces {waiting}");
            out.push_str("# HELP rum_gateway_sample_ratio The adaptive trace-id ratio of each service with a target rate.\n");
            out.push_str("# TYPE rum_gateway_sample_ratio gauge\n");
            for (service, ratio) in ratios {
                let _ = writeln!(
                    out,
                    "rum_gateway_sample_ratio{{service=\"{}\"}} {ratio}",
                    label_value(&service)
                );
            }
        }
        if self.export_enabled.load(Ordering::Relaxed) {
            out.push_str("# HELP rum_gateway_export_queue_bytes Payload bytes waiting in the export outbox.\n");
            out.push_str("# TYPE rum_gateway_export_queue_bytes gauge\n");
            let _ = writeln!(
                out,
                "rum_gateway_export_queue_bytes {}",
                self.queue_bytes.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label_value(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`, for the admin listener.
pub fn router(telemetry: Arc<Telemetry>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(telemetry)
}

async fn metrics(State(telemetry): State<Arc<Telemetry>>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        telemetry.render(),
    )
        .into_response()
}

/// Middleware for the ingest router: counts acknowledged requests by endpoint and refused
/// ones by reason code.
pub async fn count_requests(
    State(telemetry): State<Arc<Telemetry>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    // CORS preflights (OPTIONS) succeed too but carry no data.
    let is_post = request.method() == axum::http::Method::POST;
    let response = next.run(request).await;
    if let Some(RejectedReason(reason)) = response.extensions().get::<RejectedReason>() {
        telemetry.add(Counter::Rejected(*reason), 1);
    } else if is_post && response.status().is_success() {
        match path.as_str() {
            "/v1/rum" => telemetry.add(Counter::BeaconsAccepted, 1),
            "/v1/traces" => telemetry.add(Counter::OtlpRequestsAccepted, 1),
            _ => {}
        }
    }
    response
}

/// The ingest router with [`count_requests`] around it.
pub fn count_ingest(router: Router, telemetry: Arc<Telemetry>) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        telemetry,
        count_requests,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_labels_once_per_family() {
        let t = Telemetry::new();
        t.add(Counter::Rejected(RejectReason::UnknownKey), 2);
        t.add(Counter::Rejected(RejectReason::MissingKey), 1);
        t.add(
            Counter::ExportDropped(Signal::Traces, DropReason::ClientError),
            3,
        );
        t.set_queue_bytes(42);
        let text = t.render();
        assert!(
            text.contains("rum_gateway_rejected_total{reason=\"unknown_key\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("rum_gateway_rejected_total{reason=\"missing_key\"} 1\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE rum_gateway_rejected_total counter")
                .count(),
            1,
            "{text}"
        );
        assert!(text.contains(
            "rum_gateway_export_dropped_total{signal=\"traces\",reason=\"client_error\"} 3\n"
        ));
        assert!(text.contains(
            "rum_gateway_export_dropped_total{signal=\"logs\",reason=\"queue_full\"} 0\n"
        ));
        assert!(text.contains("rum_gateway_export_queue_bytes 42\n"));
        assert!(text.contains("rum_gateway_beacons_accepted_total 0\n"));
    }

    #[test]
    fn policy_counters_are_exposed_with_exact_values() {
        let t = Telemetry::new();
        t.add(Counter::SpansSampledOut, 3);
        let text = t.render();
        assert!(
            text.contains("rum_gateway_spans_sampled_out_total 3\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE rum_gateway_strings_truncated_total counter\n"));
        assert!(
            text.contains("rum_gateway_strings_truncated_total 0\n"),
            "{text}"
        );
    }
}
