// The fetch wrapper, installed synchronously by init() so the page's first requests are
// traced too. For each call it makes the client span's ids, injects a W3C `traceparent`
// into calls to allowed origins (never into others), and hands a timing record to `done`
// (which queues it until the wasm is live). It returns the very promise the page's fetch
// returned, so the caller sees the same result, error and timing.

import { randomHex } from './ids.js';

export function instrumentFetch({ propagate, sampled, ignore, done }) {
  const original = globalThis.fetch;
  if (typeof original !== 'function') return undefined;
  const flags = sampled ? '01' : '00';

  function fetch(input, init) {
    let record;
    let args = arguments;
    try {
      const isRequest = typeof Request !== 'undefined' && input instanceof Request;
      const url = new URL(isRequest ? input.url : String(input), location.href).href;
      if (!ignore(url)) {
        record = {
          traceId: randomHex(16),
          spanId: randomHex(8),
          method: String((init && init.method) || (isRequest && input.method) || 'GET').toUpperCase(),
          url,
          start: performance.now(),
        };
        if (propagate(url)) {
          const headers = new Headers((init && init.headers) || (isRequest ? input.headers : undefined));
          if (!headers.has('traceparent')) {
            headers.set('traceparent', '00-' + record.traceId + '-' + record.spanId + '-' + flags);
            args = [input, Object.assign({}, init, { headers })];
          }
        }
      }
    } catch {
      // Anything odd about the arguments: call fetch exactly as the page did, untraced.
      record = undefined;
      args = arguments;
    }
    const result = original.apply(this, args);
    if (record) {
      const finish = (status, error) => {
        try {
          record.end = performance.now();
          record.status = status;
          if (error) record.error = error;
          done(record);
        } catch {}
      };
      result.then(
        (response) => finish(response.status),
        (error) => finish(0, (error && error.name) || 'Error'),
      );
    }
    return result;
  }

  // Keep the name the page sees even after minification renames the function.
  Object.defineProperty(fetch, 'name', { value: 'fetch' });
  globalThis.fetch = fetch;
  return original;
}

// `propagateTraceTo`: strings are origins (`https://api.example.com`), compared exactly with
// the request URL's origin; RegExps are tested against the whole URL.
export function propagationMatcher(targets) {
  const list = (targets || [location.origin]).map((t) => (t instanceof RegExp ? t : new URL(String(t), location.href).origin));
  return (url) => {
    const origin = new URL(url).origin;
    return list.some((t) => (t instanceof RegExp ? t.test(url) : t === origin));
  };
}
