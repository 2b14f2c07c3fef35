// The script-tag build: `<script src=".../rum.js"></script>` then `RUM.init({...})`, or the
// loader snippet (src/loader.js), which loads this script async and queues the page's `RUM.*`
// calls and errors until it runs. The .wasm is loaded from beside this script's own URL.
import { createInit, earlyErrors, event, setUser, setAttributes, setView, error } from './core.js';

const src = document.currentScript && document.currentScript.src;
// WASM_INTEGRITY: the build's .wasm hash (build.mjs defines it), so that rum.js, itself pinned by
// the page's integrity attribute, runs only the .wasm it was built with.
const init = createInit(() => new URL('./rum_sdk_bg.wasm', src || location.href), undefined, WASM_INTEGRITY);

// The loader's stub, still `window.RUM` until the end of this script: its errors go to init,
// and its calls are made again, in order, once `RUM` is the SDK.
const stub = globalThis.RUM;
if (stub && stub.q) {
  removeEventListener('error', stub.h, true);
  removeEventListener('unhandledrejection', stub.h);
  earlyErrors(stub.e);
  queueMicrotask(() =>
    stub.q.forEach(([name, args]) => {
      try {
        globalThis.RUM[name](...args);
      } catch {}
    }),
  );
}

// A plain object, not an ES module namespace: esbuild's export helper walks the exports with
// for…in, which a page's enumerable Object.prototype keys break (playwright/hostile.spec.mjs).
// A second copy of rum.js on the page (the snippet's and a <script> of its own) leaves the
// first, which holds the session and the wrappers, in place.
if (!stub || stub.q) globalThis.RUM = { init, event, setUser, setAttributes, setView, error };
