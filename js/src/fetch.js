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
        // Always its own property: a page's polluted Object.prototype.error is not ours.
        record.error = error;
        done(record);
      } catch {}
    },
  };
}

// Zone.js (as Angular loads it) runs change detection after every task and microtask run in
// the app's zone: what the SDK does in reaction to a page's call (a promise reaction, XHR
// listeners) stays outside it, with the engine's own Promise (whatever `Promise` now is) and
// the `then` and addEventListener Zone.js kept, as if the SDK were not there.
const NativePromise = (async () => {})().constructor;
const unzoned = (target, name) => {
  const zone = globalThis.Zone;
  return (zone && zone.__symbol__ && target[zone.__symbol__(name)]) || target[name];
};

export function instrumentFetch(tracer) {
  const original = globalThis.fetch;
  if (typeof original !== 'function') return undefined;

  function fetch(input, init) {
    let record;
    let args = arguments;
    try {
      const isRequest = typeof Request !== 'undefined' && input instanceof Request;
      // fetch() without a URL throws to the page; ours would have fetched "undefined".
      record = arguments.length && tracer.start((init && init.method) || (isRequest && input.method), isRequest ? input.url : input);
      if (record && record.propagate) {
        const headers = new Headers((init && init.headers) || (isRequest ? input.headers : undefined));
        if (!headers.has('traceparent')) {
          headers.set('traceparent', tracer.header(record));
          // Without an init of the page's, ours inherits nothing: the browser reads an init's
          // inherited members (a polluted Object.prototype.method), never an absent init's.
          args = [input, Object.assign(init ? {} : Object.create(null), init, { headers })];
        }
      }
    } catch {
      // Anything odd about the arguments: call fetch exactly as the page did, untraced.
      record = undefined;
      args = arguments;
    }
    const result = original.apply(this, args);
    if (record) {
      // Resolving with the page's promise reads its `then` in a microtask of the engine's;
      // Zone.js patches the engine's `then` too, hence the one it kept.
      unzoned(NativePromise.prototype, 'then').call(
        NativePromise.resolve(result),
        (response) => tracer.finish(record, response && response.status),
        (error) => {
          if (error instanceof Object) failedWith.set(error, record);
          tracer.finish(record, 0, (error && error.name) || 'Error');
        },
      );
    }
    return result;
  }

  try {
    globalThis.fetch = named(fetch, 'fetch');
  } catch {
    // A read-only fetch (a hardened page): calls go untraced, the rest of the SDK still runs.
  }
  return original;
}

export function instrumentXhr(tracer) {
  const proto = globalThis.XMLHttpRequest && XMLHttpRequest.prototype;
  if (!proto) return;
  const { open, send, setRequestHeader } = proto;
  // Another instrumentation's send inside ours (OpenTelemetry's, installed first) may set its
  // own traceparent after ours, and XHR headers add up ("ours, theirs", which servers drop):
  // the one closer to the browser propagates then. (Their send outside ours sets it first,
  // and ours keeps the page's.)
  let inner;
  try {
    inner = !/\[native code]/.test(Function.prototype.toString.call(send));
  } catch {}
  // What open() was told, per request object, until send().
  const calls = new WeakMap();
  // A frozen XMLHttpRequest.prototype (a hardened page): XHR goes untraced, the rest runs.
  try {
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
          if (record.propagate && !call.own && !inner) setRequestHeader.call(this, 'traceparent', tracer.header(record));
          let error;
          const listen = unzoned(this, 'addEventListener');
          for (const type of ['error', 'abort', 'timeout']) listen.call(this, type, () => (error = type));
          listen.call(this, 'loadend', () => tracer.finish(record, this.status, error));
        }
      } catch {}
      return send.apply(this, arguments);
    }, 'send');
  } catch {}
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
