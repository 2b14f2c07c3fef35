// The ESM entry of the npm package: `import { init } from '@rum/sdk'`.
// The .wasm sits beside this file and is loaded relative to it; where a bundler did not emit
// it, from the inlined copy in ./rum_sdk_wasm.js (src/wasm.js), a chunk loaded only then.
import { createInit } from './core.js';

export { event, setUser, setAttributes, setView, error } from './core.js';

export const init = createInit(
  () => new URL('./rum_sdk_bg.wasm', import.meta.url),
  () => import('./rum_sdk_wasm.js'),
);
