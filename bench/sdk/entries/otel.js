// OpenTelemetry JS for the web: the documented browser setup. Traces only: document load
// (navigation and resource timing spans), fetch, XHR and user interaction (click) spans,
// exported as OTLP/HTTP JSON. It has no web vitals, error or session instrumentation.
import { WebTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-web';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ZoneContextManager } from '@opentelemetry/context-zone';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { XMLHttpRequestInstrumentation } from '@opentelemetry/instrumentation-xml-http-request';
import { UserInteractionInstrumentation } from '@opentelemetry/instrumentation-user-interaction';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

const cfg = globalThis.BENCH_CONFIG;
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
performance.mark('bench:init-start');
const provider = new WebTracerProvider({
  resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'bench' }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: cfg.collector + '/v1/traces' }))],
});
provider.register({ contextManager: new ZoneContextManager() });
// A string here must equal the whole request URL, so the api origin is given as a prefix RegExp.
const propagateTraceHeaderCorsUrls = [new RegExp('^' + escape(cfg.api) + '(/|$)')];
registerInstrumentations({
  instrumentations: [
    new DocumentLoadInstrumentation(),
    new FetchInstrumentation({ propagateTraceHeaderCorsUrls }),
    new XMLHttpRequestInstrumentation({ propagateTraceHeaderCorsUrls }),
    new UserInteractionInstrumentation(),
  ],
});
performance.mark('bench:init-end');
globalThis.BENCH_SDK = 'otel';
