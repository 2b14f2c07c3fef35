// Elastic APM RUM: page-load transaction (navigation and resource timing spans, LCP/FCP/CLS/
// FID/TBT/INP), fetch/XHR spans, errors, click transactions. User sessions are off by
// default in Elastic and turned on here.
import { init } from '@elastic/apm-rum';

const cfg = globalThis.BENCH_CONFIG;
performance.mark('bench:init-start');
init({ serviceName: 'bench', serverUrl: cfg.collector, distributedTracingOrigins: [cfg.api], session: true });
performance.mark('bench:init-end');
globalThis.BENCH_SDK = 'elastic';
