// Builds the npm package and the script-tag build into dist/:
//   cargo (wasm32, profile `wasm`) → wasm-opt -Oz → esbuild (bundle) → terser (minify).
// Then prints the size report. Needs the wasm32 target and npm's binaryen (npm ci).
// The wasm imports nothing and exports plain functions of numbers, loaded by
// src/wasm.js: no wasm-bindgen glue (docs/architecture.md has the measurement).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { report } from './size.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: 'inherit', cwd: here, ...opts });

run('cargo', ['build', '-p', 'rum-sdk', '--target', 'wasm32-unknown-unknown', '--profile', 'wasm'], { cwd: root });
rmSync(here + 'pkg', { recursive: true, force: true });
rmSync(here + 'dist', { recursive: true, force: true });
mkdirSync(here + 'dist');
run(here + 'node_modules/.bin/wasm-opt', [
  // Flattening and re-looping before -Oz, and telling wasm-opt that the module's own memory
  // starts zeroed with nothing below 1 KB (rustc puts the stack first), save about 180 B
  // brotli over -Oz alone.
  '--flatten', '--rereloop', '-Oz', '-Oz', '--zero-filled-memory', '--low-memory-unused',
  '--strip-debug', '--strip-producers', '--strip-target-features', '--converge',
  // The features rustc's wasm32 target emits by default; wasm-opt must be told.
  '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
  '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue',
  root + 'target/wasm32-unknown-unknown/wasm/rum_sdk.wasm', '-o', 'dist/rum_sdk_bg.wasm',
]);
checkExports(here + 'dist/rum_sdk_bg.wasm');
const esbuild = here + 'node_modules/.bin/esbuild';
// ./rum_sdk_wasm.js stays a separate chunk: the inlined wasm, imported only where the .wasm is
// missing (src/wasm.js).
run(esbuild, ['src/index.js', '--bundle', '--format=esm', '--target=es2020', '--outfile=dist/index.js', '--log-level=warning', '--external:./rum_sdk_wasm.js']);
writeFileSync(here + 'dist/rum_sdk_wasm.js', `// @rum/sdk's wasm, inlined for bundlers that do not emit rum_sdk_bg.wasm.\nexport default '${readFileSync(here + 'dist/rum_sdk_bg.wasm').toString('base64')}';\n`);
const sri = (file) => 'sha384-' + createHash('sha384').update(readFileSync(here + 'dist/' + file)).digest('base64');
run(esbuild, ['src/script.js', '--bundle', '--format=iife', '--target=es2020', '--outfile=dist/rum.js', '--log-level=warning', '--log-override:empty-import-meta=silent', `--define:WASM_INTEGRITY="${sri('rum_sdk_bg.wasm')}"`]);
// terser's three compress passes shrink the bundle about 3% more than esbuild's minifier.
for (const [file, module] of [['dist/index.js', true], ['dist/rum.js', false]]) {
  run(here + 'node_modules/.bin/terser', [file, '--compress', 'passes=3,pure_getters=true,unsafe_arrows=true', '--mangle', '--ecma', '2020', ...(module ? ['--module'] : []), '-o', file]);
}
copyFileSync(here + 'src/index.d.ts', here + 'dist/index.d.ts');
writeLoader();
// The Subresource Integrity hashes of this build, for pages that pin what they load.
const integrity = Object.fromEntries(['rum.js', 'rum_sdk_bg.wasm', 'index.js'].map((f) => [f, sri(f)]));
writeFileSync(here + 'dist/integrity.json', JSON.stringify(integrity, null, 2) + '\n');
report();
for (const [file, hash] of Object.entries(integrity)) console.log(`integrity ${file}: ${hash}`);

// The loader snippet, minified, with rum.js's Subresource Integrity hash: dist/loader.html is
// what a page pastes into its <head> (with its own URL for rum.js in place of RUM_SCRIPT_URL).
function writeLoader() {
  run(here + 'node_modules/.bin/terser', ['src/loader.js', '--compress', '--mangle', '-o', 'dist/loader.min.js']);
  const snippet = readFileSync(here + 'dist/loader.min.js', 'utf8').trim().replace('RUM_SCRIPT_INTEGRITY', sri('rum.js'));
  writeFileSync(here + 'dist/loader.html', '<script>' + snippet + '</script>\n');
  rmSync(here + 'dist/loader.min.js');
}

// The module must import nothing (src/wasm.js gives it no imports) and export what the JS
// calls: a missing export would only show as a silently dead SDK in the browser.
function checkExports(path) {
  const module = new WebAssembly.Module(readFileSync(path));
  const imports = WebAssembly.Module.imports(module);
  if (imports.length) throw new Error('the wasm imports ' + imports.map((i) => i.module + '.' + i.name));
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const called = new Set();
  for (const file of ['core.js', 'channel.js', 'vitals.js', 'document-load.js', 'journey.js', 'errors.js']) {
    for (const m of readFileSync(here + 'src/' + file, 'utf8').matchAll(/\b(?:wasm|module)\.([A-Za-z]+)\b(?!['"])/g)) called.add(m[1]);
  }
  for (const name of [...called, 'memory', 'fcp', 'lcp', 'shift', 'event', 'input', 'hidden', 'loaded', 'restore', 'restorePaint', 'newView']) {
    if (!exported.has(name)) throw new Error('the wasm does not export ' + name);
  }
}
