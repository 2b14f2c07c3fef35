// Builds the npm package and the script-tag build into dist/:
//   cargo (wasm32, profile `wasm`) → wasm-bindgen (--target web) → wasm-opt -Oz → esbuild.
// Then prints the size report. Needs the wasm32 target and wasm-bindgen-cli at the version
// in Cargo.lock (scripts/ensure-tools.sh installs both).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { report } from './size.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: 'inherit', cwd: here, ...opts });

run('cargo', ['build', '-p', 'rum-sdk', '--target', 'wasm32-unknown-unknown', '--profile', 'wasm'], { cwd: root });
rmSync(here + 'pkg', { recursive: true, force: true });
rmSync(here + 'dist', { recursive: true, force: true });
mkdirSync(here + 'dist');
run('wasm-bindgen', [
  '--target', 'web', '--no-typescript', '--out-dir', 'pkg',
  root + 'target/wasm32-unknown-unknown/wasm/rum_sdk.wasm',
]);
// The features rustc's wasm32 target emits by default; wasm-opt must be told.
run(here + 'node_modules/.bin/wasm-opt', [
  '-Oz', '--strip-debug', '--strip-producers', '--converge',
  '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
  '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue',
  'pkg/rum_sdk_bg.wasm', '-o', 'dist/rum_sdk_bg.wasm',
]);
const esbuild = here + 'node_modules/.bin/esbuild';
run(esbuild, ['src/index.js', '--bundle', '--minify', '--format=esm', '--target=es2020', '--outfile=dist/index.js', '--log-level=warning']);
run(esbuild, ['src/script.js', '--bundle', '--minify', '--format=iife', '--global-name=RUM', '--target=es2020', '--outfile=dist/rum.js', '--log-level=warning']);
copyFileSync(here + 'src/index.d.ts', here + 'dist/index.d.ts');
report();
