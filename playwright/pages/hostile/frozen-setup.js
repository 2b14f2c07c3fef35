// Runs before the SDK: the prototypes a hardened page (SES lockdown, a "frozen realm"
// policy) freezes, and the web APIs the SDK wraps made read-only: XMLHttpRequest.prototype
// and History.prototype frozen, `fetch` non-writable.
for (const o of [Object.prototype, Array.prototype, Function.prototype, Promise.prototype, String.prototype, Error.prototype, EventTarget.prototype, XMLHttpRequest.prototype, History.prototype]) Object.freeze(o);
Object.defineProperty(window, 'fetch', { value: window.fetch, writable: false, configurable: false });
