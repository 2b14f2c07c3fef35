// The beacon queue: spans and vitals wait here and leave together as one beacon v1
// (docs/beacon-v1.md) when 30 are queued, every 5 s, and when the page hides or unloads.
// Beacons are gzip-compressed (CompressionStream) except while the page unloads: compressing
// is asynchronous, and an unloading page runs nothing after its event handlers, so then they
// leave as plain JSON, together with any beacon whose compression has not finished.

const MAX_ITEMS = 30; // keeps a typical beacon far below sendBeacon's 64 KB
// sendBeacon and keepalive fetch share a 64 KB quota of bytes in flight: beacons of at most
// 30 KB leave room for two at once while the page unloads.
const MAX_BYTES = 30000;
const INTERVAL_MS = 5000;

// Times are milliseconds with float noise (29.800000000745058); browsers give them to 5 µs
// at best, so 3 decimals lose nothing. Layout-shift scores are kept whole.
function round(key, value) {
  return typeof value == 'number' && value % 1 && this.name != 'CLS' && key != 'largestShiftValue' ? Math.round(value * 1e3) / 1e3 : value;
}

export function createQueue({ url, envelope, fetch }) {
  let spans = [];
  let vitals = [];
  // Beacons being compressed; sent plain instead if the page unloads first.
  const compressing = new Set();
  const deliver = (to, body) => {
    // sendBeacon is delivered even while the page unloads. When it refuses (the in-flight
    // quota is used up), fetch with keepalive, and when that is refused too, a plain fetch,
    // which a live page completes. text/plain keeps all three free of CORS preflights.
    try {
      if (navigator.sendBeacon(to, body)) return;
    } catch {}
    const post = (keepalive) => fetch(to, { method: 'POST', body, keepalive, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    try {
      post(true).catch(() => post(false).catch(() => {}));
    } catch {}
  };
  const send = (s, v, unloading) => {
    const body = JSON.stringify({ v: 1, sentAt: Date.now(), ...envelope, spans: s, vitals: v }, round);
    // Over the limit (long URLs, attribution with many scripts): send each half on its own.
    if (s.length + v.length > 1 && body.length > MAX_BYTES / 3 && new TextEncoder().encode(body).length > MAX_BYTES) {
      const hs = Math.ceil(s.length / 2);
      const hv = Math.floor(v.length / 2);
      send(s.slice(0, hs), v.slice(0, hv), unloading);
      send(s.slice(hs), v.slice(hv), unloading);
      return;
    }
    if (unloading || typeof CompressionStream != 'function') return deliver(url, body);
    const job = { body };
    compressing.add(job);
    // `delete` is true only while the job is still ours: not already sent plain at unload.
    new Response(new Blob([body]).stream().pipeThrough(new CompressionStream('gzip')))
      .blob()
      .then(
        (gz) => compressing.delete(job) && deliver(url + '&encoding=gzip', new Blob([gz], { type: 'text/plain' })),
        () => compressing.delete(job) && deliver(url, body),
      );
  };
  // `unloading`: the page will run nothing more, so everything leaves now, uncompressed.
  const flush = (unloading) => {
    if (unloading) {
      compressing.forEach((job) => deliver(url, job.body));
      compressing.clear();
    }
    if (!spans.length && !vitals.length) return;
    const [s, v] = [spans, vitals];
    spans = [];
    vitals = [];
    send(s, v, unloading);
  };
  const add = (list, item) => {
    list.push(item);
    if (spans.length + vitals.length >= MAX_ITEMS) flush();
  };
  setInterval(flush, INTERVAL_MS);
  return { span: (s) => add(spans, s), vital: (v) => add(vitals, v), flush };
}

// A fetch or XHR record (js/src/fetch.js) as a CLIENT span, after OpenTelemetry's HTTP
// conventions: named after the method alone (no low-cardinality route is known), an error for
// network failures and for 4xx and 5xx responses.
export function fetchSpan(r, timeOrigin) {
  const attrs = { 'http.request.method': r.method, 'url.full': r.url };
  if (r.status) attrs['http.response.status_code'] = r.status;
  const failed = r.error || r.status >= 400;
  if (failed) attrs['error.type'] = r.error || String(r.status);
  const span = { traceId: r.traceId, spanId: r.spanId, name: r.method, kind: 'client', start: timeOrigin + r.start, end: timeOrigin + Math.max(r.end, r.start), attrs };
  if (failed) span.status = 'error';
  return span;
}
