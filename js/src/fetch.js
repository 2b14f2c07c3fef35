// The fetch and XMLHttpRequest wrappers, installed synchronously by init() so the page's
// first requests are traced too. For each call they make the client span's ids, inject a
// W3C `traceparent` into calls to allowed origins (never into others), and hand a timing
// record to `done` (which queues it until the wasm is live). The page's own functions run
// with the page's arguments, and what they return or throw reaches the page unchanged.

import { randomHex } from './ids.js';

// The errors fetch calls failed with, to their call records: an error report names the
// request that caused it (js/src/errors.js).
export const failedWith = new WeakMap();

// The part both wrappers share: which calls are traced, their ids, and the header value.
// A call made while a user action's handlers run (or a route change starts) is its child:
// `parent()` names that span, and `began` hears of each call.
export function createTracer({ propagate, sampled, ignore, done, parent, began }) {
  return {
    // A record for a call of `method` to `url`, or undefined when the call is not traced.
    start(method, url) {
      url = new URL(String(url), location.href).href;
      if (ignore(url)) return undefined;
      const p = parent();
      const r = { traceId: p ? p.traceId : randomHex(16), parentId: p && p.spanId, spanId: randomHex(8), method: String(method || 'GET').toUpperCase(), url, start: performance.now(), propagate: propagate(url) };
      began(r);
      return r;
    },
    header: (r) => '00-' + r.traceId + '-' + r.spanId + (sampled() ? '-01' : '-00'),
    finish(record, status, error) {
      try {
        record.end = performance.now();
        record.status = status;
        if (error) record.error = error;
        done(record);
      } catch {}
    },
  };
}

export function instrumentFetch(tracer) {
  const original = globalThis.fetch;
  if (typeof original !== 'function') return undefined;

  function fetch(input, init) {
    let record;
    let args = arguments;
    try {
      const isRequest = typeof Request !== 'undefined' && input instanceof Request;
      record = tracer.start((init && init.method) || (isRequest && input.method), isRequest ? input.url : input);
      if (record && record.propagate) {
        const headers = new Headers((init && init.headers) || (isRequest ? input.headers : undefined));
        if (!headers.has('traceparent')) {
          headers.set('traceparent', tracer.header(record));
          args = [input, Object.assign({}, init, { headers })];
        }
      }
    } catch {
      // Anything odd about the arguments: call fetch exactly as the page did, untraced.
      record = undefined;
      args = arguments;
    }
    const result = original.apply(this, args);
    if (record) {
      result.then(
        (response) => tracer.finish(record, response.status),
        (error) => {
          if (error instanceof Object) failedWith.set(error, record);
          tracer.finish(record, 0, (error && error.name) || 'Error');
        },
      );
    }
    return result;
  }

  globalThis.fetch = named(fetch, 'fetch');
  return original;
}

export function instrumentXhr(tracer) {
  const proto = globalThis.XMLHttpRequest && XMLHttpRequest.prototype;
  if (!proto) return;
  const { open, send, setRequestHeader } = proto;
  // What open() was told, per request object, until send().
  const calls = new WeakMap();
  proto.open = named(function open_(method, url) {
    calls.set(this, { method, url });
    return open.apply(this, arguments);
  }, 'open');
  proto.setRequestHeader = named(function setRequestHeader_(name, value) {
    const call = calls.get(this);
    // The page's own traceparent wins, as with fetch.
    if (call && /^traceparent$/i.test(name)) call.own = 1;
    return setRequestHeader.apply(this, arguments);
  }, 'setRequestHeader');
  proto.send = named(function send_() {
    const call = calls.get(this);
    try {
      const record = call && tracer.start(call.method, call.url);
      if (record) {
        if (record.propagate && !call.own) setRequestHeader.call(this, 'traceparent', tracer.header(record));
        let error;
        for (const type of ['error', 'abort', 'timeout']) this.addEventListener(type, () => (error = type));
        this.addEventListener('loadend', () => tracer.finish(record, this.status, error));
      }
    } catch {}
    return send.apply(this, arguments);
  }, 'send');
}

// Keep the names the page sees even after minification renames the functions.
const named = (fn, value) => Object.defineProperty(fn, 'name', { value });

// `propagateTraceTo`: strings are origins (`https://api.example.com`), compared exactly with
// the request URL's origin; RegExps are tested against the whole URL.
export function propagationMatcher(targets) {
  const list = (targets || [location.origin]).map((t) => (t instanceof RegExp ? t : new URL(String(t), location.href).origin));
  return (url) => {
    const origin = new URL(url).origin;
    return list.some((t) => (t instanceof RegExp ? t.test(url) : t === origin));
  };
}
