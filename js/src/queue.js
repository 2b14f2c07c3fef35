// The beacon queue: spans and vitals wait here and leave together as one beacon v1
// (docs/beacon-v1.md) when 30 are queued, every 5 s, and when the page hides or unloads.

const MAX_ITEMS = 30; // keeps a beacon far below sendBeacon's 64 KB
const INTERVAL_MS = 5000;

export function createQueue({ url, envelope, fetch }) {
  let spans = [];
  let vitals = [];
  const flush = () => {
    if (!spans.length && !vitals.length) return;
    const body = JSON.stringify({ v: 1, sentAt: Date.now(), ...envelope, spans, vitals });
    spans = [];
    vitals = [];
    // sendBeacon is delivered even while the page unloads; when it refuses (its queue is
    // full), fetch with keepalive. text/plain keeps both free of CORS preflights.
    try {
      if (navigator.sendBeacon(url, body)) return;
    } catch {}
    try {
      fetch(url, { method: 'POST', body, keepalive: true, headers: { 'content-type': 'text/plain;charset=UTF-8' } }).catch(() => {});
    } catch {}
  };
  const add = (list, item) => {
    list.push(item);
    if (spans.length + vitals.length >= MAX_ITEMS) flush();
  };
  setInterval(flush, INTERVAL_MS);
  return { span: (s) => add(spans, s), vital: (v) => add(vitals, v), flush };
}

// A fetch record (js/src/fetch.js) as a CLIENT span, after OpenTelemetry's HTTP conventions:
// named after the method alone (no low-cardinality route is known), an error for network
// failures and for 4xx and 5xx responses.
export function fetchSpan(r, timeOrigin) {
  const attrs = { 'http.request.method': r.method, 'url.full': r.url };
  if (r.status) attrs['http.response.status_code'] = r.status;
  const failed = r.error || r.status >= 400;
  if (failed) attrs['error.type'] = r.error || String(r.status);
  const span = { traceId: r.traceId, spanId: r.spanId, name: r.method, kind: 'client', start: timeOrigin + r.start, end: timeOrigin + Math.max(r.end, r.start), attrs };
  if (failed) span.status = 'error';
  return span;
}
