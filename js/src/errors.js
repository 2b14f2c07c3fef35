// The page's errors (rum-sdk/src/errors.rs records them): uncaught exceptions, unhandled
// rejections, failed loads of scripts, stylesheets and images (capture-phase `error` on the
// element), `rum.error(error, attributes)`, and `console.error` when `captureConsole` is on.
// Listening changes nothing the page sees: no handler is replaced, nothing is prevented.
// The SDK's own failures are caught where they happen and never reach these listeners.

import { failedWith } from './fetch.js';

// The wasm's kinds (rum-sdk/src/errors.rs: KINDS), in order.
export const UNCAUGHT = 0;
export const REJECTION = 1;
export const HANDLED = 2;
const CONSOLE = 3;
const RESOURCE = 4;

/**
 * Starts listening; each error goes to `record(numbers, strings)` in the wasm's `error`
 * layout (rum-sdk/src/bindings.rs), with its time. `early`: the `error` and
 * `unhandledrejection` events the loader snippet caught before the SDK ran.
 */
export function watchErrors(record, captureConsole, early) {
  const report = (kind, thrown, message, source, line, col, attrs, t = performance.now()) => {
    try {
      const e = thrown instanceof Object ? thrown : undefined;
      const request = e && failedWith.get(e);
      record(
        [t, kind, line || 0, col || 0],
        [
          (e && e.name) || (kind == RESOURCE ? 'ResourceError' : 'Error'),
          String((e && e.message) ?? message ?? thrown).slice(0, 4096),
          e && typeof e.stack == 'string' ? e.stack.slice(0, 16384) : '',
          source,
          request && request.traceId,
          request && request.spanId,
          attrs,
        ],
      );
    } catch {}
  };
  const onError = (e) => {
    const t = e.target;
    if (e instanceof ErrorEvent) report(UNCAUGHT, e.error, e.message, e.filename, e.lineno, e.colno, undefined, e.timeStamp);
    else if (t instanceof Element) {
      // A script, stylesheet or image that failed to load. (Its attributes are written by
      // hand: a page's JSON.stringify may be replaced, and this runs outside report's try.)
      const url = t.src || t.href || '';
      const tag = t.localName;
      report(RESOURCE, undefined, 'Failed to load ' + tag + ' ' + url, url, 0, 0, '{"rum.resource.initiator_type":"' + tag + '"}', e.timeStamp);
    }
  };
  const onRejection = (e) => report(REJECTION, e.reason, undefined, undefined, 0, 0, undefined, e.timeStamp);
  addEventListener('error', onError, true);
  addEventListener('unhandledrejection', onRejection);
  (early || []).forEach((e) => (e.type == 'error' ? onError : onRejection)(e));
  if (captureConsole && typeof console == 'object') {
    const original = console.error;
    console.error = function (...args) {
      report(CONSOLE, args.find((a) => a instanceof Error), args.map(String).join(' '));
      return original.apply(this, args);
    };
  }
  return report;
}
