// Datadog Browser RUM: views (page loads), resources, fetch/XHR tracing, errors, actions,
// long tasks, sessions and web vitals, sent through `proxy` to the collector. Replay off.
import { datadogRum } from '@datadog/browser-rum';

const cfg = globalThis.BENCH_CONFIG;
performance.mark('bench:init-start');
datadogRum.init({
  applicationId: '00000000-0000-0000-0000-000000000000',
  clientToken: 'pub00000000000000000000000000000000',
  site: 'datadoghq.com',
  service: 'bench',
  proxy: cfg.collector + '/dd',
  sessionSampleRate: 100,
  sessionReplaySampleRate: 0,
  traceSampleRate: 100,
  trackUserInteractions: true,
  trackResources: true,
  trackLongTasks: true,
  allowedTracingUrls: [cfg.api],
});
performance.mark('bench:init-end');
globalThis.BENCH_SDK = 'datadog';
