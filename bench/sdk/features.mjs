// What each entry in sdk/entries/ actually turns on, read from the pinned packages' code (not
// from marketing pages). A feature is ✓ when the entry's bundle collects and sends it; notes
// say where it is partial or differs in kind. Update together with the entries and the pins.

export const FEATURE_COLUMNS = [
  ['vitals', 'web vitals'],
  ['attribution', 'attribution'],
  ['pageLoad', 'page load/navigation spans'],
  ['resources', 'resource timing spans'],
  ['fetch', 'fetch tracing'],
  ['xhr', 'XHR tracing'],
  ['propagation', 'trace propagation'],
  ['errors', 'errors'],
  ['interactions', 'user interactions'],
  ['sessions', 'sessions'],
];

const all = (on, notes = {}) => Object.fromEntries(FEATURE_COLUMNS.map(([k]) => [k, on.includes(k) ? notes[k] || true : false]));

// fullFeatured: RUM and tracing together (web vitals, fetch/XHR tracing, errors): the peers
// our size target is measured against.
export const SDKS = {
  rum: {
    name: '@rum/sdk (this repo)',
    packages: [],
    fullFeatured: false,
    features: all(['vitals', 'attribution', 'pageLoad', 'resources', 'fetch', 'propagation', 'interactions', 'sessions'], {
      vitals: 'CLS, FCP, INP, LCP, TTFB',
      attribution: "web-vitals/attribution's fields, plain values",
      pageLoad: 'documentLoad/documentFetch spans (OpenTelemetry document-load shape), joined to the server span named by Server-Timing or meta traceparent',
      resources: 'resourceFetch spans for resources loaded before load, at most 250 per page',
      propagation: 'W3C traceparent on fetch and XHR',
      interactions: 'click and key actions as spans parenting their fetches, rage/dead/error clicks; SPA route changes as views',
      sessions: 'shared across tabs, 30 min idle / 4 h max, session.start/end events',
    }),
    // XHR tracing is switched on by size.mjs when the built js/dist wraps XMLHttpRequest.
    notes: ['no error capture yet (the errors issue)'],
  },
  faro: {
    name: 'Grafana Faro',
    packages: ['@grafana/faro-web-sdk', '@grafana/faro-web-tracing'],
    fullFeatured: true,
    features: all(['vitals', 'attribution', 'pageLoad', 'resources', 'fetch', 'xhr', 'propagation', 'errors', 'interactions', 'sessions'], {
      vitals: 'web-vitals/attribution: CLS, FCP, INP, LCP, TTFB',
      pageLoad: 'faro.performance.navigation events, not spans',
      resources: 'faro.performance.resource events, not spans',
      propagation: 'W3C traceparent (OTel fetch/XHR instrumentations)',
      interactions: 'user actions, only on elements marked data-faro-user-action-name',
    }),
    notes: ['also on by default: console capture, CSP violations, soft-navigation detection'],
  },
  otel: {
    name: 'OpenTelemetry JS (web)',
    packages: [
      '@opentelemetry/sdk-trace-web',
      '@opentelemetry/exporter-trace-otlp-http',
      '@opentelemetry/instrumentation',
      '@opentelemetry/instrumentation-document-load',
      '@opentelemetry/instrumentation-fetch',
      '@opentelemetry/instrumentation-xml-http-request',
      '@opentelemetry/instrumentation-user-interaction',
      '@opentelemetry/context-zone',
      'zone.js',
    ],
    fullFeatured: false,
    features: all(['pageLoad', 'resources', 'fetch', 'xhr', 'propagation', 'interactions'], {
      pageLoad: 'documentLoad + documentFetch spans',
      resources: 'resourceFetch spans',
      propagation: 'W3C traceparent',
      interactions: 'click spans (zone.js)',
    }),
    notes: ['traces only: no web vitals, error or session instrumentation in the OTel web packages'],
  },
  sentry: {
    name: 'Sentry',
    packages: ['@sentry/browser'],
    fullFeatured: true,
    features: all(['vitals', 'attribution', 'pageLoad', 'resources', 'fetch', 'xhr', 'propagation', 'errors', 'interactions', 'sessions'], {
      vitals: 'CLS, FCP, INP, LCP, TTFB',
      attribution: 'elements only: LCP element/url, CLS sources, INP target; no phase breakdown',
      pageLoad: 'pageload and navigation spans',
      propagation: 'sentry-trace + baggage, and W3C traceparent with propagateTraceparent',
      interactions: 'INP interaction spans; click breadcrumbs sent with errors',
      sessions: 'release-health sessions',
    }),
    notes: ['also on by default: long tasks and long animation frames, console breadcrumbs'],
  },
  datadog: {
    name: 'Datadog RUM',
    packages: ['@datadog/browser-rum'],
    fullFeatured: true,
    features: all(['vitals', 'attribution', 'pageLoad', 'resources', 'fetch', 'xhr', 'propagation', 'errors', 'interactions', 'sessions'], {
      vitals: 'CLS, FCP, INP, LCP, TTFB (own implementation)',
      attribution: 'target selectors of LCP, CLS, INP; no phase breakdown',
      pageLoad: 'view events with loading time and navigation timings, not spans',
      resources: 'resource events, not spans',
      propagation: 'W3C traceparent + x-datadog-* headers',
      interactions: 'click actions',
    }),
    notes: ['also on: long tasks; session replay (lazy chunk) and profiler (lazy chunk) are off and not downloaded'],
  },
  elastic: {
    name: 'Elastic APM RUM',
    packages: ['@elastic/apm-rum'],
    fullFeatured: true,
    features: all(['vitals', 'pageLoad', 'resources', 'fetch', 'xhr', 'propagation', 'errors', 'interactions', 'sessions'], {
      vitals: 'LCP, FCP, CLS, INP, FID, TBT; TTFB as a mark',
      pageLoad: 'page-load transaction with navigation timing spans',
      propagation: 'W3C traceparent',
      interactions: 'click transactions',
      sessions: 'with session: true (off by default)',
    }),
    notes: [],
  },
  'web-vitals': {
    name: 'web-vitals attribution (vitals only)',
    packages: ['web-vitals'],
    fullFeatured: false,
    features: all(['vitals', 'attribution'], { vitals: 'CLS, FCP, INP, LCP, TTFB' }),
    notes: ['vitals only: a reference point, not a RUM SDK; the entry adds a sendBeacon on hide'],
  },
};
