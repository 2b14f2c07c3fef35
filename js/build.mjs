// Builds the npm package and the script-tag build into dist/:
//   cargo (wasm32, profile `wasm`) → wasm-bindgen (--target web) → wasm-opt -Oz → esbuild.
// Then prints the size report. Needs the wasm32 target and wasm-bindgen-cli at the version
// in Cargo.lock (scripts/ensure-tools.sh installs both).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
// wasm-opt also renames every import and export to a one- or two-letter name: wasm-bindgen's
// names carry 16-hex-digit hashes that no compressor can shrink and that appear in both the
// .wasm and the JS. The glue is rewritten with the mapping wasm-opt prints.
const mapping = execFileSync(here + 'node_modules/.bin/wasm-opt', [
  '-Oz', '--strip-debug', '--strip-producers', '--converge',
  // The features rustc's wasm32 target emits by default; wasm-opt must be told.
  '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
  '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue',
  '--minify-imports-and-exports-and-modules',
  'pkg/rum_sdk_bg.wasm', '-o', 'dist/rum_sdk_bg.wasm',
], { cwd: here, encoding: 'utf8' });
renameInGlue(here + 'pkg/rum_sdk.js', mapping, readFileSync(here + 'dist/rum_sdk_bg.wasm'));
const esbuild = here + 'node_modules/.bin/esbuild';
run(esbuild, ['src/index.js', '--bundle', '--minify', '--format=esm', '--target=es2020', '--outfile=dist/index.js', '--log-level=warning']);
run(esbuild, ['src/script.js', '--bundle', '--minify', '--format=iife', '--global-name=RUM', '--target=es2020', '--outfile=dist/rum.js', '--log-level=warning', '--log-override:empty-import-meta=silent']);
copyFileSync(here + 'src/index.d.ts', here + 'dist/index.d.ts');
report();

// Applies wasm-opt's `--minify-imports-and-exports-and-modules` mapping to wasm-bindgen's
// glue, then checks every import the minified module asks for is defined.
function renameInGlue(gluePath, mappingText, wasmBytes) {
  const pairs = (section) => {
    const body = (mappingText.split('"' + section + '"')[1] || '').split('"exports"')[0];
    return [...body.matchAll(/\[("[^"]*"(?:\s*,\s*"[^"]*")*)\]/g)].map((m) => JSON.parse('[' + m[1] + ']'));
  };
  let glue = readFileSync(gluePath, 'utf8');
  const imports = pairs('imports');
  const modules = new Set(imports.map(([module]) => module));
  if (modules.size !== 1) throw new Error('expected one import module, got ' + [...modules]);
  for (const [, from, to] of imports) glue = glue.replace(new RegExp('\\b' + from + '(?=: function)', 'g'), to);
  for (const [from, to] of pairs('exports')) glue = glue.replace(new RegExp('\\bwasm\\.' + from + '\\b', 'g'), 'wasm.' + to);
  // Binaryen names the single module "a".
  glue = glue.replace(JSON.stringify([...modules][0]) + ': import0', '"a": import0');
  const defined = new Set([...glue.matchAll(/^\s+([A-Za-z_$][\w$]*): function/gm)].map((m) => m[1]));
  for (const imp of WebAssembly.Module.imports(new WebAssembly.Module(wasmBytes))) {
    if (imp.module !== 'a' || !defined.has(imp.name)) throw new Error('glue lacks import ' + imp.module + '.' + imp.name);
  }
  writeFileSync(gluePath, glue);
}
