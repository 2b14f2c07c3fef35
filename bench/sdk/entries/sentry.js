// Sentry for the browser: default integrations (errors, sessions, breadcrumbs) plus
// browserTracingIntegration (page load and navigation spans, resource spans, fetch and XHR
// spans, web vitals, INP interaction spans). No replay integration.
import * as Sentry from '@sentry/browser';

const cfg = globalThis.BENCH_CONFIG;
performance.mark('bench:init-start');
Sentry.init({
  dsn: cfg.collector.replace('http://', 'http://public@') + '/1',
  integrations: [Sentry.browserTracingIntegration()],
  tracesSampleRate: 1,
  tracePropagationTargets: [cfg.api],
  // Sentry's own headers are sentry-trace + baggage; this adds the W3C traceparent the other
  // SDKs send, so the api sees the same header from every SDK.
  propagateTraceparent: true,
});
performance.mark('bench:init-end');
globalThis.BENCH_SDK = 'sentry';
