// @rum/sdk: this repository's SDK, from its built npm package (js/dist). The bundle keeps
// `new URL('./rum_sdk_bg.wasm', import.meta.url)`, so the .wasm is copied next to it.
import { init } from '@rum/sdk';

const cfg = globalThis.BENCH_CONFIG;
performance.mark('bench:init-start');
init({ endpoint: cfg.collector, apiKey: 'bench', service: { name: 'bench' }, propagateTraceTo: [cfg.api] });
performance.mark('bench:init-end');
globalThis.BENCH_SDK = 'rum';
