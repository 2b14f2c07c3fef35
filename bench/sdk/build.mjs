// Bundles each SDK entry (sdk/entries/<id>.js) the way an app would ship it: one minified ES
// module per SDK, bench/out/<id>.js, production mode. Code an SDK loads only on demand
// (`import()`: Datadog's session replay recorder and profiler) goes to its own chunk in
// out/chunks/, as an app's bundler would split it, instead of being inlined into the bundle;
// out/manifest.json lists, per SDK, the files loaded with the page and the lazy chunks.
// Ours also gets its .wasm beside the bundle, where `new URL('./rum_sdk_bg.wasm',
// import.meta.url)` looks for it.
//   node sdk/build.mjs            every SDK
//   node sdk/build.mjs rum otel   only these
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SDK_IDS = ['rum', 'faro', 'otel', 'sentry', 'datadog', 'elastic', 'web-vitals'];

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
export const OUT = here('../out/');
export const JS_DIST = here('../../js/dist/');

export async function buildAll(ids = SDK_IDS) {
  if (!existsSync(JS_DIST + 'index.js') || !existsSync(JS_DIST + 'rum_sdk_bg.wasm')) {
    throw new Error(`${JS_DIST}index.js or rum_sdk_bg.wasm is missing: run \`cd js && npm run build\` first`);
  }
  mkdirSync(OUT, { recursive: true });
  const failed = [];
  // Kept across partial builds (`node sdk/build.mjs rum`); a failed SDK loses its entry.
  const manifestPath = OUT + 'manifest.json';
  const manifest = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : {};
  for (const id of ids) {
    if (!SDK_IDS.includes(id)) {
      failed.push(id);
      console.error(`unknown SDK id "${id}" (known: ${SDK_IDS.join(', ')})`);
      continue;
    }
    try {
      // Chunk names carry a content hash: last build's chunks would otherwise stay behind.
      rmSync(`${OUT}${id}.js`, { force: true });
      if (existsSync(OUT + 'chunks')) {
        for (const f of readdirSync(OUT + 'chunks')) if (f.startsWith(`${id}-`)) rmSync(`${OUT}chunks/${f}`);
      }
      const result = await build({
        entryPoints: { [id]: here(`./entries/${id}.js`) },
        outdir: OUT,
        chunkNames: `chunks/${id}-[hash]`,
        splitting: true,
        metafile: true,
        bundle: true,
        minify: true,
        format: 'esm',
        target: 'es2020',
        platform: 'browser',
        // What a production build of an app does: dead development branches go away
        // (Elastic's __DEV__ logging is keyed on it) and licence comments are not shipped
        // inline. The same for every SDK.
        define: { 'process.env.NODE_ENV': '"production"' },
        legalComments: 'none',
        alias: { '@rum/sdk': JS_DIST + 'index.js' },
        logLevel: 'warning',
      });
      manifest[id] = filesOf(id, result.metafile);
      if (id === 'rum') {
        copyFileSync(JS_DIST + 'rum_sdk_bg.wasm', OUT + 'rum_sdk_bg.wasm');
        manifest[id].files.push('rum_sdk_bg.wasm');
      }
      const lazy = manifest[id].lazy.length ? ` (+ ${manifest[id].lazy.length} lazy chunk(s))` : '';
      console.log(`built out/${id}.js${lazy}`);
    } catch (e) {
      failed.push(id);
      delete manifest[id];
      console.error(`build of ${id} failed: ${e.message}`);
    }
  }
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  return failed;
}

// The entry, the chunks it imports statically (loaded with it) and those it only imports
// dynamically (not loaded unless the feature behind them is used), relative to out/.
function filesOf(id, metafile) {
  const rel = (p) => p.slice(p.lastIndexOf('out/') + 4);
  const outputs = Object.fromEntries(Object.entries(metafile.outputs).map(([p, o]) => [rel(p), o]));
  const files = [];
  const visit = (file) => {
    if (files.includes(file)) return;
    files.push(file);
    for (const i of outputs[file].imports) if (i.kind === 'import-statement' && !i.external) visit(rel(i.path));
  };
  visit(`${id}.js`);
  const lazy = Object.keys(outputs).filter((f) => f.endsWith('.js') && !files.includes(f));
  return { files, lazy };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ids = process.argv.slice(2);
  try {
    const failed = await buildAll(ids.length ? ids : SDK_IDS);
    if (failed.length) {
      console.error(`failed: ${failed.join(', ')}`);
      process.exit(1);
    }
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
