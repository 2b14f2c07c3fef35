// init(): the SDK's entry point for both builds. Everything that must happen before the
// wasm arrives (session, fetch and XHR wrappers) happens here, synchronously; recording and
// sending start when the wasm has loaded (and a prerendered page was activated). The wasm
// owns the records, the batching and the beacon's bytes; this file hands it facts and sends
// what it writes. Any failure leaves the page as it was: init never throws.

import { loadWasm } from './wasm.js';
import { createSession } from './session.js';
import { createTracer, instrumentFetch, instrumentXhr, propagationMatcher } from './fetch.js';
import { randomHex } from './ids.js';
import { startVitals } from './vitals.js';
import { channel } from './channel.js';
import { createSender } from './send.js';
import { watchPageLoad } from './document-load.js';
import { startJourney, json } from './journey.js';
import { watchErrors, HANDLED } from './errors.js';

// Fetch and XHR records, and API calls, kept while the wasm loads; beyond this they are
// dropped.
const MAX_PENDING = 100;

let handle;
// The public API's calls before the wasm is live (from the page's first line: they need no
// init), with their time; `live` takes them once it is.
const calls = [];
let live = (name, args) => calls.length < MAX_PENDING && calls.push([name, args, performance.now()]);
const api = (name) => (...args) => {
  try {
    live(name, args);
  } catch {}
};
/** `rum.event(name, attributes)`: a custom event. */
export const event = api('event');
/** `rum.setUser({ id })`: `user.id` on what follows (never an e-mail address). */
export const setUser = api('setUser');
/** `rum.setAttributes({...})`: attributes on everything that follows. */
export const setAttributes = api('setAttributes');
/** `rum.setView(name)`: names the current view (a route template such as `/product/:sku`). */
export const setView = api('setView');
/** `rum.error(error, attributes)`: a handled error. */
export const error = api('error');
// The errors the loader snippet caught before this script ran (js/src/script.js).
let early;
export const earlyErrors = (events) => (early = events);

export function createInit(defaultWasmUrl, inlineWasm, wasmIntegrity) {
  return function init(options) {
    if (handle) return handle;
    let drain;
    const listeners = [];
    handle = {
      event,
      setUser,
      setAttributes,
      setView,
      error,
      /** Sends whatever is queued now. */
      flush() {
        if (drain) drain();
      },
      /** Calls `callback` with each web vital report, shaped like web-vitals' Metric. */
      onMetric(callback) {
        if (typeof callback === 'function') listeners.push(callback);
      },
    };
    const o = options || {};
    // Why the SDK records nothing, said once each on the console with `debug: true`.
    const said = {};
    const say = (message) => {
      try {
        if (o.debug && !said[message]) console.warn('rum: ' + message), (said[message] = 1);
      } catch {}
    };
    try {
      // A misconfiguration is said even without `debug`.
      if (typeof o.endpoint !== 'string' || !o.apiKey) return console.warn('rum: init needs `endpoint` and `apiKey`: nothing is recorded'), handle;
      const service = o.service || {};
      const rate = typeof o.sampleRate === 'number' ? o.sampleRate : 1;
      const session = createSession(rate, o.sessionIdleTimeout || 18e5, o.sessionMaxDuration || 144e5);
      const url = o.endpoint.replace(/\/+$/, '') + '/v1/rum?key=' + encodeURIComponent(o.apiKey);
      const beaconBase = url.slice(0, url.indexOf('?'));
      let wasmUrl;
      try {
        // An IIFE bundle has no import.meta.url: then only the inlined copy is left.
        wasmUrl = new URL(o.wasmUrl || defaultWasmUrl(), location.href).href;
      } catch {}
      let pending = [];
      let record = (r) => pending.length < MAX_PENDING && pending.push(r);
      // The user action or route change whose calls are its children, while its window is open.
      const ctx = {};
      let journey;
      const tracer = createTracer({
        propagate: propagationMatcher(o.propagateTraceTo),
        sampled: () => session.current.sampled,
        parent: () => ctx.current && performance.now() <= ctx.current.until && ctx.current,
        began: (r) => journey && journey.mark(1, r.start),
        // The SDK's own traffic is not the page's: no spans for beacons or the wasm download.
        ignore: (u) => u.startsWith(beaconBase) || u === wasmUrl,
        done: (r) => record(r),
      });
      const originalFetch = instrumentFetch(tracer);
      instrumentXhr(tracer);
      // An unsampled session still propagates its decision, but sends nothing and never
      // downloads the wasm.
      if (!session.current.sampled) return say('this session is not sampled (sampleRate): nothing is sent'), handle;
      // Errors from now on; kept (at most 100) until the wasm is live.
      let errors = [];
      let recordError = (numbers, strings) => errors.length < MAX_PENDING && errors.push([numbers, strings]);
      const reportError = watchErrors((numbers, strings) => recordError(numbers, strings), o.captureConsole, early);
      const recordPageLoad = watchPageLoad();
      const viewId = randomHex(8);
      const navType = navigationType();
      const loaded = loadWasm(wasmUrl, inlineWasm, say, wasmIntegrity);
      // A prerendered page is measured from its activation, as web-vitals does.
      whenActivated(() =>
        loaded
          .then((wasm) => {
            const io = channel(wasm);
            const send = createSender(url, originalFetch || fetch, o.debug && say);
            const connection = navigator.connection || {};
            const mobile = navigator.userAgentData ? +!!navigator.userAgentData.mobile : 2;
            const [seed1, seed2] = crypto.getRandomValues(new Uint32Array(2));
            const interval = io.call(
              wasm.init,
              [performance.timeOrigin, seed1, seed2, screen.width, screen.height, innerWidth, innerHeight, mobile, +(document.visibilityState == 'visible')],
              [service.name, service.version, service.environment, session.current.id, viewId, location.href, document.referrer, navType, connection.effectiveType, navigator.language],
            );
            if (!interval) return;
            // Every beacon the wasm has ready leaves now; `unloading` sends them plain.
            drain = (unloading) => {
              try {
                for (let n; (n = wasm.flush(Date.now())); ) send(io.read(wasm.out(), n), unloading);
                if (unloading) send(undefined, true);
              } catch {}
            };
            const due = (result) => result && drain();
            record = (r) => due(io.call(wasm.http, [r.start, r.end, r.status || 0], [r.traceId, r.spanId, r.method, r.url, r.error, r.parentId]));
            pending.forEach(record);
            pending = [];
            const vitals = startVitals(wasm, io, {
              reportAllChanges: o.reportAllChanges,
              attribution: o.attribution,
              viewId,
              navigationType: navType,
              report(metric, numbers, attribution) {
                for (const listener of listeners) {
                  try {
                    listener(metric);
                  } catch {}
                }
                due(io.call(wasm.vital, numbers, [attribution]));
              },
            });
            journey = startJourney(wasm, io, { due, drain, session, ctx, vitals });
            let user = {};
            let attributes = {};
            const methods = {
              event: (name, attrs, t) => typeof name == 'string' && journey.event(name, attrs, t),
              setView: (name) => journey.setView(String(name)),
              setUser: (u) => journey.setUser((user = Object(u)).id, attributes),
              setAttributes: (attrs) => journey.setUser(user.id, (attributes = Object(attrs))),
              error: (thrown, attrs) => reportError(HANDLED, thrown, undefined, '', 0, 0, json(attrs)),
            };
            recordError = (numbers, strings) => due(io.call(wasm.error, [...numbers, +session.take()], strings));
            errors.splice(0).forEach((e) => recordError(...e));
            live = (name, args, t) => methods[name](args[0], args[1], t);
            calls.splice(0).forEach((c) => live(...c));
            // Hidden or unloading: final values, then send. A hidden page still runs, so its
            // beacons are compressed first; at `pagehide` (the page unloads, or enters the
            // back/forward cache) everything leaves at once, uncompressed.
            const onHidden = (e) => {
              vitals.hidden(e.timeStamp);
              wasm.seen(e.timeStamp, 0);
              if (e.type == 'pagehide') wasm.leave(e.timeStamp);
              drain(e.type == 'pagehide');
            };
            document.addEventListener('visibilitychange', (e) => (document.visibilityState == 'visible' ? wasm.seen(e.timeStamp, 1) : onHidden(e)), true);
            // Not capturing: the page's own pagehide listeners send first, so that our beacons
            // never take the 64 KiB keepalive quota their requests need.
            addEventListener('pagehide', onHidden);
            setInterval(drain, interval);
            recordPageLoad(wasm, io, drain);
          })
          .catch((e) => say('not recording: ' + e)),
      );
    } catch (e) {
      say('not recording: ' + e);
    }
    return handle;
  };
}

function whenActivated(callback) {
  if (document.prerendering) addEventListener('prerenderingchange', callback, { capture: true, once: true });
  else callback();
}

// web-vitals' navigationType: prerender, restore, or the navigation entry's type with
// underscores as dashes (back-forward).
function navigationType() {
  const nav = performance.getEntriesByType('navigation')[0];
  if (document.prerendering || (nav && nav.activationStart > 0)) return 'prerender';
  if (document.wasDiscarded) return 'restore';
  return nav ? nav.type.replace(/_/g, '-') : 'navigate';
}
