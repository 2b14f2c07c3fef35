// Size report of the built SDK: raw, gzip and brotli bytes of the .wasm and the JS, and the
// total a user downloads (.wasm + ESM entry) against the budget, and as ratios to baselines
// measured in the same run from their npm packages: Elastic's apm-rum (the smallest
// full-featured peer) and Google's web-vitals attribution build (vitals alone). `npm run size`.
import { readFileSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { fileURLToPath } from 'node:url';

// The developers' guide: the whole SDK with every feature on, .wasm + JS.
export const BUDGET_BROTLI = 14000;

const dist = fileURLToPath(new URL('./dist/', import.meta.url));
const modules = fileURLToPath(new URL('./node_modules/', import.meta.url));
const BASELINES = [
  ['@elastic/apm-rum 5.17.5', '@elastic/apm-rum/dist/bundles/elastic-apm-rum.umd.min.js'],
  ['web-vitals 6.2.3 (attribution, vitals only)', 'web-vitals/dist/web-vitals.attribution.iife.js'],
];

export function measure(file, base = dist) {
  const bytes = readFileSync(base + file);
  return {
    file,
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

export function report() {
  const rows = ['rum_sdk_bg.wasm', 'index.js', 'rum.js'].map((f) => measure(f));
  const pad = (s, n) => String(s).padStart(n);
  console.log('file'.padEnd(18) + pad('raw', 8) + pad('gzip', 8) + pad('brotli', 8));
  for (const r of rows) console.log(r.file.padEnd(18) + pad(r.raw, 8) + pad(r.gzip, 8) + pad(r.brotli, 8));
  const [wasm, esm, script] = rows;
  const total = (js) => wasm.brotli + js.brotli;
  console.log(`total brotli (npm: .wasm + index.js): ${total(esm)} B; (script tag: .wasm + rum.js): ${total(script)} B`);
  console.log(`budget: ${BUDGET_BROTLI} B brotli; npm build uses ${((100 * total(esm)) / BUDGET_BROTLI).toFixed(1)}%`);
  try {
    const inline = measure('rum_sdk_wasm.js');
    console.log(`inlined wasm chunk (rum_sdk_wasm.js, fetched only where the .wasm is missing): ${inline.brotli} B brotli`);
    const loader = measure('loader.html');
    console.log(`loader snippet (dist/loader.html, inline in the page): ${loader.raw} B raw, ${loader.gzip} B gzip`);
  } catch {}
  for (const [name, path] of BASELINES) {
    try {
      const b = measure(path, modules);
      console.log(`baseline ${name}: ${b.brotli} B brotli; ours (npm build, every feature on) / baseline = ${(total(esm) / b.brotli).toFixed(2)}`);
    } catch {
      console.log(`baseline ${name}: not installed (npm ci in js/)`);
    }
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) report();
