// Grafana Faro: the web SDK's default instrumentations (errors, web vitals with attribution,
// session, views, navigation and resource timings, user actions, console, CSP) plus
// faro-web-tracing (OpenTelemetry fetch and XHR spans).
import { initializeFaro, getWebInstrumentations } from '@grafana/faro-web-sdk';
import { TracingInstrumentation } from '@grafana/faro-web-tracing';

const cfg = globalThis.BENCH_CONFIG;
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
performance.mark('bench:init-start');
initializeFaro({
  url: cfg.collector + '/collect',
  app: { name: 'bench' },
  sessionTracking: { enabled: true, samplingRate: 1 },
  instrumentations: [
    ...getWebInstrumentations(),
    new TracingInstrumentation({
      instrumentationOptions: { propagateTraceHeaderCorsUrls: [new RegExp('^' + escape(cfg.api) + '(/|$)')] },
    }),
  ],
});
performance.mark('bench:init-end');
globalThis.BENCH_SDK = 'faro';
