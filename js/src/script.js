// The script-tag build: `<script src=".../rum.js"></script>` then `RUM.init({...})`.
// The .wasm is loaded from beside this script's own URL.
import { createInit } from './core.js';

export { event, setUser, setAttributes, setView, error } from './core.js';

const src = document.currentScript && document.currentScript.src;
export const init = createInit(() => new URL('./rum_sdk_bg.wasm', src || location.href));
