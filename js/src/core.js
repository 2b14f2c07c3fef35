// init(): the SDK's entry point for both builds. Everything that must happen before the
// wasm arrives (session, fetch and XHR wrappers) happens here, synchronously; measuring and
// sending start when the wasm has loaded (and a prerendered page was activated). Any failure
// leaves the page as it was: init never throws.

import loadWasm, * as wasm from '../pkg/rum_sdk.js';
import { currentSession } from './session.js';
import { createTracer, instrumentFetch, instrumentXhr, propagationMatcher } from './fetch.js';
import { randomHex } from './ids.js';
import { startVitals } from './vitals.js';
import { createQueue, fetchSpan } from './queue.js';

const SDK_VERSION = '0.1.0';
// Fetch and XHR records kept while the wasm loads; beyond this they are dropped.
const MAX_PENDING = 100;

let handle;

export function createInit(defaultWasmUrl) {
  return function init(options) {
    if (handle) return handle;
    let queue;
    const listeners = [];
    handle = {
      /** Sends whatever is queued now. */
      flush() {
        if (queue) queue.flush();
      },
      /** Calls `callback` with each web vital report, shaped like web-vitals' Metric. */
      onMetric(callback) {
        if (typeof callback === 'function') listeners.push(callback);
      },
    };
    try {
      const o = options || {};
      if (typeof o.endpoint !== 'string' || !o.apiKey) return handle;
      const service = o.service || {};
      const rate = typeof o.sampleRate === 'number' ? o.sampleRate : 1;
      const session = currentSession(rate);
      const url = o.endpoint.replace(/\/+$/, '') + '/v1/rum?key=' + encodeURIComponent(o.apiKey);
      const beaconBase = url.slice(0, url.indexOf('?'));
      const wasmUrl = new URL(o.wasmUrl || defaultWasmUrl(), location.href).href;
      const timeOrigin = performance.timeOrigin;
      const pending = [];
      const tracer = createTracer({
        propagate: propagationMatcher(o.propagateTraceTo),
        sampled: session.sampled,
        // The SDK's own traffic is not the page's: no spans for beacons or the wasm download.
        ignore: (u) => u.startsWith(beaconBase) || u === wasmUrl,
        done: (record) => (queue ? queue.span(fetchSpan(record, timeOrigin)) : pending.length < MAX_PENDING && pending.push(record)),
      });
      const originalFetch = instrumentFetch(tracer);
      instrumentXhr(tracer);
      // An unsampled session still propagates its decision, but sends nothing and never
      // downloads the wasm.
      if (!session.sampled) return handle;
      const resource = {
        'service.name': service.name || 'unknown_service',
        'telemetry.sdk.name': 'rum-sdk',
        'telemetry.sdk.language': 'webjs',
        'telemetry.sdk.version': SDK_VERSION,
      };
      if (service.version) resource['service.version'] = service.version;
      if (service.environment) resource['deployment.environment.name'] = service.environment;
      const view = { id: randomHex(8), url: location.href, referrer: document.referrer, type: navigationType(), start: timeOrigin };
      const loaded = loadWasm({ module_or_path: wasmUrl });
      // A prerendered page is measured from its activation, as web-vitals does.
      whenActivated(() =>
        loaded
          .then(() => {
            const q = createQueue({ url, envelope: { resource, session: { id: session.id }, view, context: browserContext() }, fetch: originalFetch || fetch });
            const vitals = startVitals(wasm, {
              reportAllChanges: o.reportAllChanges,
              attribution: o.attribution,
              viewId: view.id,
              navigationType: view.type,
              report(v) {
                const metric = { name: v.name, value: v.value, rating: v.rating, delta: v.delta, id: v.id, navigationType: v.nav, attribution: v.attr || {} };
                for (const listener of listeners) {
                  try {
                    listener(metric);
                  } catch {}
                }
                q.vital(v);
              },
            });
            // Hidden or unloading: final values, then send. A hidden page still runs, so its
            // beacon is compressed first; at `pagehide` (the page unloads, or enters the
            // back/forward cache) everything leaves at once, uncompressed.
            const onHidden = (e) => {
              vitals.hidden(e.timeStamp);
              q.flush(e.type == 'pagehide');
            };
            document.addEventListener('visibilitychange', (e) => document.visibilityState === 'hidden' && onHidden(e), true);
            addEventListener('pagehide', onHidden, true);
            queue = q;
            pending.splice(0).forEach((r) => q.span(fetchSpan(r, timeOrigin)));
          })
          .catch(() => {}),
      );
    } catch {}
    return handle;
  };
}

// What the browser tells about itself; the gateway turns it into `browser.*` attributes.
function browserContext() {
  const tag = (t) => (/^[A-Za-z0-9-]{1,35}$/.test(t || '') ? t : undefined);
  const connection = navigator.connection;
  return {
    screen: { width: screen.width, height: screen.height },
    viewport: { width: innerWidth, height: innerHeight },
    connection: connection && tag(connection.effectiveType) ? { effectiveType: connection.effectiveType } : undefined,
    language: tag(navigator.language),
    mobile: navigator.userAgentData ? !!navigator.userAgentData.mobile : undefined,
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
