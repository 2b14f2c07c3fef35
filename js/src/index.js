// The ESM entry of the npm package: `import { init } from '@rum/sdk'`.
// The .wasm sits beside this file and is loaded relative to it.
import { createInit } from './core.js';

export { event, setUser, setAttributes, setView, error } from './core.js';

export const init = createInit(() => new URL('./rum_sdk_bg.wasm', import.meta.url));
