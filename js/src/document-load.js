// Feeds the page load (rum-sdk/src/trace/document_load.rs) from the browser: once
// `loadEventEnd` is set, after `load`, in a task of its own so the page's load handlers are
// not delayed, the navigation entry, then every resource timing entry (observed from init:
// the timeline's own buffer holds only 250), then the navigation entry again.

const serverTraceparent = (entry) => ((entry.serverTiming || []).find((s) => s.name === 'traceparent') || {}).description;

/** Starts collecting; `record(forward)` runs once the page has loaded and the wasm is live. */
export function watchPageLoad() {
  // Called just after the fetch and XHR wrappers are installed: calls that started before
  // (a loader page's early fetches) have no client span, and become resource spans.
  const wrappedAt = performance.now();
  const resources = [];
  let observer;
  try {
    observer = new PerformanceObserver((list) => resources.push(...list.getEntries()));
    observer.observe({ type: 'resource', buffered: true });
  } catch {}
  let tries = 0;
  return (wasm, io, onDue) => {
    const record = () => {
      try {
        recordNow();
      } catch {}
    };
    const recordNow = () => {
      // The entry fields the wasm reads, in its order (rum-sdk/src/trace/document_load.rs:
      // FIELD_NAMES); the last is the paint's, set apart (a resource's: `wrappedAt`).
      const names = io.text(wasm.fields()).split(',');
      const numbers = (entry, fcp = 0) => [...names.map((f) => +entry[f] || 0).slice(0, -1), fcp];
      const nav = performance.getEntriesByType('navigation')[0];
      if (!nav) return;
      // loadEventEnd is set once the load handlers have run; wait for it (at most ~5 s).
      if (!nav.loadEventEnd) return ++tries < 50 && setTimeout(record, 100);
      if (observer) {
        resources.push(...observer.takeRecords());
        observer.disconnect();
      }
      // The navigation entry, its resources, and the entry again, which closes the page load.
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      const meta = document.querySelector('meta[name=traceparent]');
      const navStrings = [nav.name, nav.nextHopProtocol, serverTraceparent(nav), meta && meta.content];
      const navNumbers = numbers(nav, fcp ? fcp.startTime : 0);
      io.call(wasm.navigation, [...navNumbers, 0], navStrings);
      for (const r of resources.splice(0)) {
        if (io.call(wasm.resource, numbers(r, wrappedAt), [r.name, r.initiatorType, r.nextHopProtocol, r.renderBlockingStatus, serverTraceparent(r)])) onDue();
      }
      if (io.call(wasm.navigation, [...navNumbers, 1], navStrings)) onDue();
    };
    const later = () => setTimeout(record);
    if (document.readyState === 'complete') later();
    else addEventListener('load', later, { capture: true, once: true });
  };
}
