// The OpenTelemetry JS SDK as a Node.js backend would use it: nested spans with typed
// attributes, sent to the gateway with the SDK's own OTLP/HTTP exporter (JSON or protobuf),
// while an in-memory exporter keeps what the SDK recorded. Prints those spans as JSON on
// stdout for tests/test_otlp_sdks.py to compare with what the gateway stored and exported.
//
//   node emit-spans.mjs <traces endpoint URL> <ingest key> json|protobuf
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';

const [url, key, protocol] = process.argv.slice(2);
const Exporter = protocol === 'protobuf' ? ProtobufExporter : JsonExporter;
const memory = new InMemorySpanExporter();
const provider = new TracerProvider({
  resource: resourceFromAttributes({ 'service.name': `node-backend-${protocol}`, 'service.version': '1.4.0', 'process.pid': 4242 }),
  spanProcessors: [
    new SimpleSpanProcessor({ exporter: memory }),
    new SimpleSpanProcessor({ exporter: new Exporter({ url, headers: { Authorization: `Bearer ${key}` } }) }),
  ],
});
const tracer = provider.getTracer('tests.otel-js', '1.0.0');

// A request from a browser: its parent span is remote (the exporter sends flags 0x300).
const browser = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true,
});
const server = tracer.startSpan('GET /api/products', {
  kind: SpanKind.SERVER,
  attributes: {
    'app.string': 'héllo wörld', 'app.int': 42, 'app.negative': -7, 'app.float': 2.5,
    'app.true': true, 'app.false': false, 'app.strings': ['a', 'b'], 'app.ints': [1, 2, 3],
    'app.floats': [0.5, 1.5], 'app.bools': [true, false],
  },
}, browser);
const inServer = trace.setSpan(browser, server);
const query = tracer.startSpan('load products', {
  links: [{ context: server.spanContext(), attributes: { 'link.reason': 'batch', 'link.n': 2 } }],
}, inServer);
query.addEvent('cache miss', { 'cache.key': 'sku-42', 'cache.size': 7, 'cache.ratio': 0.25 });
const db = tracer.startSpan('SELECT products', { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql' } }, trace.setSpan(inServer, query));
db.recordException(new Error('timeout'));
db.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' });
db.end();
query.end();
server.setStatus({ code: SpanStatusCode.OK });
server.end();
// A trace of its own (no parent: flags 0x100).
tracer.startSpan('cache warm-up', { kind: SpanKind.CONSUMER }).end();
await provider.forceFlush();

const nanos = ([s, ns]) => (BigInt(s) * 1_000_000_000n + BigInt(ns)).toString();
const kinds = ['internal', 'server', 'client', 'producer', 'consumer'];
const statuses = ['unset', 'ok', 'error'];
const spans = memory.getFinishedSpans().map((s) => ({
  trace_id: s.spanContext().traceId,
  span_id: s.spanContext().spanId,
  parent_span_id: s.parentSpanContext?.spanId ?? null,
  name: s.name,
  kind: kinds[s.kind],
  start: nanos(s.startTime),
  end: nanos(s.endTime),
  status: statuses[s.status.code],
  attributes: s.attributes,
  resource: s.resource.attributes,
  events: s.events.map((e) => ({ name: e.name, time: nanos(e.time), attributes: e.attributes ?? {} })),
  links: s.links.map((l) => ({ trace_id: l.context.traceId, span_id: l.context.spanId, attributes: l.attributes ?? {} })),
}));
process.stdout.write(JSON.stringify(spans));
await provider.shutdown();
