// Loads the SDK's wasm. The module imports nothing and exports plain functions of numbers
// (rum-sdk/src/bindings.rs), so no generated glue is needed.
//
// The npm entry finds the .wasm beside its own JS (`new URL(…, import.meta.url)`, which Vite,
// webpack and Parcel follow and emit). esbuild and Rollup emit no .wasm, so there the request
// 404s (or an SPA server answers its index page): the SDK then imports its inlined copy, a JS
// chunk every bundler emits (`inline`), loaded only in that case. A real .wasm that does not
// compile (a Content-Security-Policy without 'wasm-unsafe-eval') fails with the browser's reason.

const compile = async (bytes) => (await WebAssembly.instantiate(bytes, {})).instance.exports;

/**
 * `say(message)` is told why the .wasm beside the JS was not used, when it was not. `integrity`
 * (the script-tag build's own .wasm hash) makes the browser refuse any other bytes.
 */
export async function loadWasm(url, inline, say, integrity) {
  let missing = 'no URL';
  if (url) {
    try {
      const response = await fetch(url, { integrity });
      missing = 'HTTP ' + response.status;
      if (response.ok) {
        const bytes = await response.arrayBuffer();
        // "\0asm": a module (its compile errors are the answer), not an SPA's index page.
        if (new Uint8Array(bytes.slice(0, 4)).join() == '0,97,115,109') return compile(bytes);
        missing = 'not wasm';
      }
    } catch (e) {
      missing = e;
    }
  }
  const problem = `the .wasm at ${url} (${missing})`;
  if (!inline) throw problem;
  say(problem + ': loaded its inlined copy instead (serving rum_sdk_bg.wasm there saves bytes)');
  return compile(Uint8Array.from(atob((await inline()).default), (c) => c.charCodeAt(0)));
}
