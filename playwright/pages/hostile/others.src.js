// The other SDKs a hostile page runs beside ours, from npm (pinned in playwright/package.json),
// bundled by hostile.spec.mjs with esbuild into build/others.js (not committed). Each install
// function sets the SDK up the way its documentation shows, with an in-page record of what it
// saw, so the spec can compare what it recorded with and without our SDK on the page.
import { WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { XMLHttpRequestInstrumentation } from '@opentelemetry/instrumentation-xml-http-request';
import * as Sentry from '@sentry/browser';

const attr = (a, ...names) => names.map((n) => a[n]).find((v) => v !== undefined);

// OpenTelemetry web: a tracer provider with the fetch and XHR instrumentations; finished spans
// kept in memory. It injects its own `traceparent` into same-origin calls.
window.installOtel = () => {
  const exporter = new InMemorySpanExporter();
  const provider = new WebTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [new FetchInstrumentation(), new XMLHttpRequestInstrumentation()],
  });
  window.otherSaw = () =>
    exporter.getFinishedSpans().map((s) => ({
      name: s.name,
      kind: s.kind,
      traceId: s.spanContext().traceId,
      spanId: s.spanContext().spanId,
      method: attr(s.attributes, 'http.method', 'http.request.method'),
      url: attr(s.attributes, 'http.url', 'url.full'),
      status: attr(s.attributes, 'http.status_code', 'http.response.status_code'),
      code: s.status.code,
    }));
};

// Sentry: errors, breadcrumbs and tracing (it adds `sentry-trace` and `baggage` headers to
// same-origin calls); envelopes go to a transport that keeps them in the page.
window.installSentry = () => {
  const crumbs = [];
  const spans = [];
  const events = [];
  Sentry.init({
    dsn: 'http://public@127.0.0.1:9/1',
    transport: () => ({ send: async (envelope) => (events.push(envelope[1].map((i) => i[0].type)), {}), flush: async () => true }),
    integrations: [Sentry.browserTracingIntegration({ instrumentPageLoad: false, instrumentNavigation: false })],
    tracesSampleRate: 1,
    tracePropagationTargets: [/^\//, location.origin],
    beforeBreadcrumb(b) {
      if (b.category === 'fetch' || b.category === 'xhr') crumbs.push({ category: b.category, method: b.data.method, url: b.data.url, status: b.data.status_code });
      return b;
    },
  });
  Sentry.getClient().on('spanEnd', (span) => {
    const j = Sentry.spanToJSON(span);
    if (j.op === 'http.client') spans.push({ name: j.description, traceId: j.trace_id, spanId: j.span_id, status: j.data['http.response.status_code'], url: j.data.url });
  });
  // With no active span, Sentry propagates its scope's trace (sentry-trace: {trace}-{random span}).
  window.otherSaw = () => ({ crumbs, spans, traceId: Sentry.getTraceData()['sentry-trace'].split('-')[0] });
};
