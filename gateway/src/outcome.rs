//! Every outcome the gateway names: why a request was refused, why exported data was
//! dropped, and the signals it exports, each as an enum with its stable label (the `reason`
//! and `signal` labels of `/metrics`, the `error` field of a refusal's body).

/// Why the gateway refused a request: the `error` of its JSON body and the `reason` label
/// of `rum_gateway_rejected_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    MissingKey,
    UnknownKey,
    OriginNotAllowed,
    UnsupportedMediaType,
    PayloadTooLarge,
    BodyReadFailed,
    BodyTimeout,
    MalformedBody,
    UnsupportedVersion,
    InvalidField,
    Busy,
    StoreFailed,
    RateLimited,
    UnsupportedEncoding,
    TooManyEvents,
    NotFound,
    MethodNotAllowed,
    /// The HTTP parser's own refusals, before any handler ran.
    MalformedRequest,
    UriTooLong,
    HeadersTooLarge,
    /// Answered at accept, without reading the request.
    TooManyConnections,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::MissingKey => "missing_key",
            RejectReason::UnknownKey => "unknown_key",
            RejectReason::OriginNotAllowed => "origin_not_allowed",
            RejectReason::UnsupportedMediaType => "unsupported_media_type",
            RejectReason::PayloadTooLarge => "payload_too_large",
            RejectReason::BodyReadFailed => "body_read_failed",
            RejectReason::BodyTimeout => "body_timeout",
            RejectReason::MalformedBody => "malformed_body",
            RejectReason::UnsupportedVersion => "unsupported_version",
            RejectReason::InvalidField => "invalid_field",
            RejectReason::Busy => "busy",
            RejectReason::StoreFailed => "store_failed",
            RejectReason::RateLimited => "rate_limited",
            RejectReason::UnsupportedEncoding => "unsupported_encoding",
            RejectReason::TooManyEvents => "too_many_events",
            RejectReason::NotFound => "not_found",
            RejectReason::MethodNotAllowed => "method_not_allowed",
            RejectReason::MalformedRequest => "malformed_request",
            RejectReason::UriTooLong => "uri_too_long",
            RejectReason::HeadersTooLarge => "headers_too_large",
            RejectReason::TooManyConnections => "too_many_connections",
        }
    }
}

/// Marks a response as a refusal for this reason, so the self-metrics middleware counts it.
#[derive(Debug, Clone, Copy)]
pub struct RejectedReason(pub RejectReason);

/// The three OTLP signals the gateway exports.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Signal {
    /// Spans, to `/v1/traces`.
    Traces,
    /// Page views and web vitals as events, to `/v1/logs`.
    Logs,
    /// Web vitals as histograms, to `/v1/metrics`.
    Metrics,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Logs => "logs",
            Signal::Metrics => "metrics",
        }
    }

    pub fn parse(text: &str) -> Option<Signal> {
        match text {
            "traces" => Some(Signal::Traces),
            "logs" => Some(Signal::Logs),
            "metrics" => Some(Signal::Metrics),
            _ => None,
        }
    }

    /// The OTLP/HTTP path of the signal.
    pub fn path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Logs => "/v1/logs",
            Signal::Metrics => "/v1/metrics",
        }
    }
}

/// Why exported data was dropped without reaching the receiver. Counted per item (span or
/// log record) in `rum_gateway_export_dropped_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// The outbox reached `export.max_queue_bytes`; its oldest entries made room.
    QueueFull,
    /// The receiver answered a 4xx other than 429: the request will never succeed.
    ClientError,
    /// The receiver answered a 5xx other than 502, 503, 504 (not retryable in OTLP/HTTP).
    ServerError,
    /// The receiver answered 2xx but reported some items rejected (OTLP partial success).
    PartialSuccess,
    /// An outbox entry the exporter cannot read (unknown signal): written by another version.
    Unreadable,
}

impl DropReason {
    /// Every reason, so `/metrics` shows zero counts too.
    pub const ALL: [DropReason; 5] = [
        DropReason::QueueFull,
        DropReason::ClientError,
        DropReason::ServerError,
        DropReason::PartialSuccess,
        DropReason::Unreadable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::ClientError => "client_error",
            DropReason::ServerError => "server_error",
            DropReason::PartialSuccess => "partial_success",
            DropReason::Unreadable => "unreadable",
        }
    }
}

/// Why tail sampling kept or dropped a trace, in the order the policies are tried
/// (`sample/policy.rs`): the `reason` label of `rum_gateway_traces_sampled_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SampleReason {
    /// Dropped: a span matched a `[[sample.drop]]` rule (health checks, static assets).
    DropRule,
    /// Kept: a span has status error, or an `exception` event, or a browser error names it.
    Error,
    /// Kept: slower than its `[sample] slow_ms` / `[[sample.slow]]` threshold.
    Slow,
    /// Kept: a span matched a `[[sample.keep]]` rule (a critical path).
    KeepRule,
    /// Kept or dropped by the trace-id ratio (fixed or adaptive).
    Ratio,
}

impl SampleReason {
    pub const ALL: [SampleReason; 5] = [
        SampleReason::DropRule,
        SampleReason::Error,
        SampleReason::Slow,
        SampleReason::KeepRule,
        SampleReason::Ratio,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SampleReason::DropRule => "drop_rule",
            SampleReason::Error => "error",
            SampleReason::Slow => "slow",
            SampleReason::KeepRule => "keep_rule",
            SampleReason::Ratio => "ratio",
        }
    }
}

/// What forced a tail-sampling decision before the trace's decision window ended: the
/// `reason` label of `rum_gateway_tail_early_decisions_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EarlyDecision {
    /// More than `sample.max_waiting_traces` traces were waiting: the oldest was decided.
    WaitingCap,
    /// The trace reached `sample.max_spans_per_trace` spans.
    SpanCap,
}

impl EarlyDecision {
    pub const ALL: [EarlyDecision; 2] = [EarlyDecision::WaitingCap, EarlyDecision::SpanCap];

    pub fn as_str(self) -> &'static str {
        match self {
            EarlyDecision::WaitingCap => "waiting_cap",
            EarlyDecision::SpanCap => "span_cap",
        }
    }
}
