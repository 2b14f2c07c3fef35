// init(): the SDK's entry point for both builds. Everything that must happen before the
// wasm arrives (session, fetch wrapper) happens here, synchronously; the rest starts when
// the wasm has loaded. Any failure leaves the page as it was: init never throws.

import loadWasm, { start, fetchDone, flush } from '../pkg/rum_sdk.js';
import { currentSession } from './session.js';
import { instrumentFetch, propagationMatcher } from './fetch.js';
import { randomHex } from './ids.js';

const SDK_VERSION = '0.1.0';
// Fetch records kept while the wasm loads; beyond this they are dropped.
const MAX_PENDING = 100;

let handle;

export function createInit(defaultWasmUrl) {
  return function init(options) {
    if (handle) return handle;
    let live = false;
    handle = {
      /** Sends whatever is queued now. */
      flush() {
        if (live) flush();
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
      const pending = [];
      const done = (record) => (live ? fetchDone(record) : pending.length < MAX_PENDING && pending.push(record));
      const originalFetch = instrumentFetch({
        propagate: propagationMatcher(o.propagateTraceTo),
        sampled: session.sampled,
        // The SDK's own traffic is not the page's: no spans for beacons or the wasm download.
        ignore: (u) => u.startsWith(beaconBase) || u === wasmUrl,
        done,
      });
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
      const config = {
        url,
        timeOrigin: performance.timeOrigin,
        resource,
        session: { id: session.id },
        view: { id: randomHex(8), url: location.href, referrer: document.referrer, type: navigationType(), start: performance.timeOrigin },
        fetch: originalFetch && originalFetch.bind(globalThis),
      };
      loadWasm({ module_or_path: wasmUrl })
        .then(() => {
          if (!start(config)) return;
          live = true;
          pending.splice(0).forEach((r) => fetchDone(r));
        })
        .catch(() => {});
    } catch {}
    return handle;
  };
}

// web-vitals' navigationType: prerender, restore, or the navigation entry's type with
// underscores as dashes (back-forward).
function navigationType() {
  const nav = performance.getEntriesByType('navigation')[0];
  if (document.prerendering || (nav && nav.activationStart > 0)) return 'prerender';
  if (document.wasDiscarded) return 'restore';
  return nav ? nav.type.replace(/_/g, '-') : 'navigate';
}
