// Feeds the wasm metric core (rum-sdk/src/vitals) from the browser: buffered
// PerformanceObservers, trusted input, load and back/forward-cache restores. Only numbers
// go in; the reports a call makes come back as its result (rum-sdk/src/bindings.rs), get
// their attribution (js/src/attribution.js) unless it is turned off, and go to `report` as
// the public Metric and as the numbers the wasm records them from.

import { createAttribution } from './attribution.js';

// Times with float noise (29.800000000745058) to 3 decimals: browsers give them to 5 µs at
// best. Layout-shift scores are kept whole.
const round = (key, value) => (typeof value == 'number' && value % 1 && key != 'largestShiftValue' ? Math.round(value * 1e3) / 1e3 : value);

// The wasm's MetricName and Rating discriminants, in order.
const NAMES = ['CLS', 'FCP', 'INP', 'LCP', 'TTFB'];
const RATINGS = ['good', 'needs-improvement', 'poor'];

export function startVitals(module, io, { reportAllChanges, attribution, viewId, navigationType, report }) {
  const nav = performance.getEntriesByType('navigation')[0];
  const count = () => performance.interactionCount || 0;
  const attr = attribution !== false && createAttribution();
  const note = attr ? attr.bookkeeping : {};
  // Each call returns how many reports it made, six numbers each in the channel (copied
  // out before anything else uses it); calls never throw into the page.
  const wasm = {};
  for (const k in module) {
    wasm[k] = (...args) => {
      try {
        const n = module[k](...args);
        const out = io.numbers();
        const flags = out[31];
        for (const r of Array.from({ length: n }, (_, i) => out.slice(i * 6, i * 6 + 6))) onReport(...r);
        return flags;
      } catch {}
    };
  }
  // The current view's (an SPA route change makes a new one).
  const view = { viewId, navigationType };
  const onReport = (n, value, delta, rating, generation, detail) => {
    const name = NAMES[n];
    const metric = { name, value, rating: RATINGS[rating], delta, id: 'v1-' + view.viewId + '-' + name + generation, navigationType: generation ? 'back-forward-cache' : view.navigationType, attribution: {} };
    // A failing attribution must not cost the metric.
    try {
      if (attr) metric.attribution = attr.attribute[name](value, detail, generation > 0) || {};
    } catch {}
    // The wasm records the report; attribution crosses as JSON, its times to the µs.
    report(metric, [n, value, delta, rating, generation], attr ? JSON.stringify(metric.attribution, round) : '');
  };
  try {
    module.start((nav && nav.activationStart) || 0, firstHiddenTime(nav), !!reportAllChanges);
  } catch {}

  const observers = [];
  const observe = (type, handle, options) => {
    if (!PerformanceObserver.supportedEntryTypes.includes(type)) return;
    const po = new PerformanceObserver((list) => {
      try {
        list.getEntries().forEach(handle);
      } catch {}
    });
    po.observe({ type, buffered: true, ...options });
    observers.push([po, handle]);
  };
  // Entries the browser holds but has not delivered yet, before a final report.
  const drain = () => {
    try {
      observers.forEach(([po, handle]) => po.takeRecords().forEach(handle));
    } catch {}
  };

  // Attribution bookkeeping first: the report an entry causes needs it.
  observe('paint', (e) => e.name === 'first-contentful-paint' && (note.fcp?.(e), wasm.fcp(e.startTime)));
  observe('largest-contentful-paint', (e) => (note.lcp?.(e), wasm.lcp(e.startTime)));
  observe('layout-shift', (e) => (note.shift?.(e), note.shifted?.(wasm.shift(e.startTime, e.value, e.hadRecentInput))));
  const onEvent = (e) => (note.event?.(e), wasm.event(e.interactionId || 0, e.duration, count()));
  observe('event', onEvent, { durationThreshold: 40 });
  observe('first-input', onEvent);
  if (attr) {
    observe('long-animation-frame', note.loaf);
    observe('resource', note.resource);
  }

  // LCP is final at the first trusted keydown or click (a script's synthetic events do not
  // count), reported when the browser is next idle or the page hides, as web-vitals does.
  // Only the first counts, so the listeners go then (a click costs nothing more after it).
  const onInput = () => {
    drain();
    wasm.input();
  };
  const onFirstInput = (e) => {
    if (!e.isTrusted) return;
    types.forEach((t) => removeEventListener(t, onFirstInput, true));
    whenIdleOrHidden(onInput);
  };
  const types = ['keydown', 'click'];
  types.forEach((t) => addEventListener(t, onFirstInput, true));
  // TTFB once the page has loaded, as web-vitals reports it.
  const onLoad = () =>
    setTimeout(() => {
      const entry = performance.getEntriesByType('navigation')[0];
      if (entry) wasm.loaded(entry.responseStart, performance.now());
    });
  if (document.readyState === 'complete') onLoad();
  else addEventListener('load', onLoad, true);
  // A restore from the back/forward cache starts new metric instances; FCP and LCP are the
  // time to the second animation frame after `pageshow`.
  addEventListener(
    'pageshow',
    (e) => {
      if (!e.persisted) return;
      note.restored?.(e.timeStamp);
      wasm.restore(count());
      requestAnimationFrame(() => requestAnimationFrame(() => wasm.restorePaint(performance.now() - e.timeStamp)));
    },
    true,
  );

  return Object.assign(view, {
    /** The page is hidden or unloads at `timeStamp`: final values are reported now. */
    hidden(timeStamp) {
      drain();
      wasm.hidden(timeStamp, count());
    },
    /** An SPA route change: CLS and INP so far are the ending view's, reported now. */
    newView() {
      drain();
      wasm.newView(count());
    },
  });
}

// web-vitals' whenIdleOrHidden: at once if hidden, else at the next idle moment (at most 1 s
// away) or when the page hides, whichever comes first.
function whenIdleOrHidden(callback) {
  if (document.visibilityState === 'hidden') return callback();
  let done = false;
  const once = () => done || ((done = true), callback());
  addEventListener('visibilitychange', once, { once: true, capture: true });
  (globalThis.requestIdleCallback || setTimeout)(once, { timeout: 1000 });
}

// When the page was first hidden, as web-vitals' visibility watcher determines it: the first
// `visibility-state` entry named hidden since activation, else 0 if hidden now, else never.
function firstHiddenTime(nav) {
  const activation = (nav && nav.activationStart) || 0;
  const entry = performance.getEntriesByType('visibility-state').find((e) => e.name === 'hidden' && e.startTime >= activation);
  if (entry) return entry.startTime;
  return document.visibilityState === 'hidden' && !document.prerendering ? 0 : Infinity;
}
