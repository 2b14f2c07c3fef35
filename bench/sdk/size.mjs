// Size of each SDK as a user downloads it: raw, gzip (level 9) and brotli (quality 11) bytes
// of every file its bundle loads with the page (out/manifest.json, written by build.mjs; ours
// is the JS bundle + the .wasm), plus our shipped npm files (js/dist/index.js + .wasm).
// Writes results/size.json and results/size.md and prints the markdown. Reports only: no
// size makes it fail.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { JS_DIST, OUT, SDK_IDS } from './build.mjs';
import { FEATURE_COLUMNS, SDKS } from './features.mjs';
import { BUDGET_BROTLI } from '../../js/size.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const RESULTS = here('../results/');
const MODULES = here('../node_modules/');

// Targets: the developers' guide's budget for the whole SDK with every feature on (the same
// figure js/size.mjs prints against), at most half the smallest full-featured peer, and under
// twice web-vitals' attribution build.
export const TARGET_BROTLI = BUDGET_BROTLI;

function measure(path, name) {
  const bytes = readFileSync(path);
  return {
    file: name,
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

function total(files) {
  const sum = (k) => files.reduce((n, f) => n + f[k], 0);
  return { raw: sum('raw'), gzip: sum('gzip'), brotli: sum('brotli') };
}

// Our SDK gains features branch by branch, and js/dist is whatever was built last: XHR
// tracing is read off the built file (it wraps XMLHttpRequest.prototype or it does not).
function probeOurFeatures() {
  const features = { ...SDKS.rum.features };
  if (readFileSync(JS_DIST + 'index.js', 'utf8').includes('XMLHttpRequest')) {
    features.xhr = true;
    features.propagation = 'W3C traceparent on fetch and XHR';
  }
  return features;
}

function versions(packages) {
  return Object.fromEntries(packages.map((p) => [p, JSON.parse(readFileSync(`${MODULES}${p}/package.json`, 'utf8')).version]));
}

export function measureAll() {
  const manifestPath = OUT + 'manifest.json';
  if (!existsSync(manifestPath)) throw new Error('out/manifest.json is missing: run `node sdk/build.mjs` first');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const ourVersion = JSON.parse(readFileSync(JS_DIST + '../package.json', 'utf8')).version;
  const rows = [];
  const ourFeatures = probeOurFeatures();
  for (const id of SDK_IDS) {
    if (!manifest[id]) throw new Error(`out/manifest.json has no ${id}: its build failed`);
    const sdk = SDKS[id];
    const files = manifest[id].files.map((f) => measure(OUT + f, f));
    rows.push({
      id,
      name: id === 'rum' ? `${sdk.name}, bundled` : sdk.name,
      versions: id === 'rum' ? { '@rum/sdk': ourVersion } : versions(sdk.packages),
      files,
      lazy: manifest[id].lazy.map((f) => measure(OUT + f, f)),
      total: total(files),
      fullFeatured: sdk.fullFeatured,
      features: id === 'rum' ? ourFeatures : sdk.features,
      notes: sdk.notes,
    });
    if (id === 'rum') {
      const dist = ['index.js', 'rum_sdk_bg.wasm'].map((f) => measure(JS_DIST + f, `js/dist/${f}`));
      rows.push({
        id: 'rum-dist',
        name: `${sdk.name}, npm dist`,
        versions: { '@rum/sdk': ourVersion },
        files: dist,
        lazy: [],
        total: total(dist),
        fullFeatured: false,
        features: ourFeatures,
        notes: ['what npm users get: js/dist/index.js + rum_sdk_bg.wasm, before their bundler'],
      });
    }
  }
  return rows;
}

function targets(rows) {
  const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
  const ours = byId.rum.total.brotli;
  const peers = rows.filter((r) => r.fullFeatured).sort((a, b) => a.total.brotli - b.total.brotli);
  const smallest = peers[0];
  const vitals = byId['web-vitals'].total.brotli;
  return [
    { target: `ours ≤ ${TARGET_BROTLI} B brotli`, ours, limit: TARGET_BROTLI, met: ours <= TARGET_BROTLI },
    {
      target: `ours ≤ half of the smallest full-featured peer (${smallest.name}, ${smallest.total.brotli} B)`,
      ours,
      limit: smallest.total.brotli / 2,
      met: ours <= smallest.total.brotli / 2,
    },
    { target: `ours < 2× web-vitals attribution (${vitals} B)`, ours, limit: 2 * vitals, met: ours < 2 * vitals },
  ];
}

const version = (r) => Object.values(r.versions)[0];
const sup = (n) => String(n).replace(/\d/g, (d) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[d]);
const mark = (v) => (v ? '✓' : '—');

export function markdown(rows, goals) {
  const ours = rows.find((r) => r.id === 'rum').total.brotli;
  const lines = ['## SDK size', ''];
  lines.push(
    'Bytes a user downloads for each SDK set up as in `bench/sdk/entries/` (RUM and tracing on, replay off), bundled by esbuild ' +
      '(ESM, minified, es2020, production). gzip level 9, brotli quality 11, each file compressed on its own and summed. ' +
      '"our ratio" is our bundle (JS + .wasm) over that row, brotli.',
    '',
  );
  lines.push('| SDK | version | raw | gzip | brotli | our ratio |', '| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const t = r.total;
    lines.push(`| ${r.name} | ${version(r)} | ${t.raw} | ${t.gzip} | ${t.brotli} | ${(ours / t.brotli).toFixed(2)} |`);
  }
  lines.push('', 'Ours per file:', '', '| file | raw | gzip | brotli |', '| --- | ---: | ---: | ---: |');
  for (const r of rows.filter((r) => r.id.startsWith('rum'))) {
    for (const f of r.files) lines.push(`| ${f.file} | ${f.raw} | ${f.gzip} | ${f.brotli} |`);
  }
  const split = rows.filter((r) => r.files.length > 1 && !r.id.startsWith('rum'));
  for (const r of split) {
    lines.push('', `${r.name} loads ${r.files.length} files with the page (${r.files.map((f) => `${f.file} ${f.brotli} B`).join(', ')}).`);
  }
  for (const r of rows.filter((r) => r.lazy.length)) {
    lines.push(
      `${r.name} also has ${r.lazy.length} lazily imported chunk(s) (${r.lazy.map((f) => `${f.brotli} B`).join(', ')} brotli) for features turned off here; not counted.`,
    );
  }
  lines.push('', '### Targets', '');
  for (const g of goals) {
    lines.push(`- ${g.met ? '**met**' : '**not met**'}: ${g.target}: ours ${g.ours} B vs ${Number.isInteger(g.limit) ? g.limit : g.limit.toFixed(1)} B`);
  }
  lines.push('', '### Features each entry turns on', '');
  lines.push(`| SDK | ${FEATURE_COLUMNS.map(([, h]) => h).join(' | ')} |`, `| --- |${FEATURE_COLUMNS.map(() => ' :-: |').join('')}`);
  const notes = [];
  for (const r of rows.filter((r) => r.id !== 'rum-dist')) {
    const name = r.name.replace(/, bundled$/, '');
    const cells = FEATURE_COLUMNS.map(([k, header]) => {
      const v = r.features[k];
      if (typeof v !== 'string') return mark(v);
      notes.push(`${notes.length + 1}. ${name}, ${header}: ${v}`);
      return `✓${sup(notes.length)}`;
    });
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  lines.push('', ...notes, '');
  for (const r of rows.filter((r) => r.id !== 'rum-dist' && r.notes.length)) lines.push(`- ${r.name.replace(/, bundled$/, '')}: ${r.notes.join('; ')}`);
  lines.push('', 'Versions: ' + rows.filter((r) => r.id !== 'rum-dist').flatMap((r) => Object.entries(r.versions).map(([p, v]) => `${p} ${v}`)).join(', ') + '.', '');
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const rows = measureAll();
    const goals = targets(rows);
    const md = markdown(rows, goals);
    mkdirSync(RESULTS, { recursive: true });
    const sdks = Object.fromEntries(rows.map(({ id, ...r }) => [id, r]));
    // peers: id -> main package and version, the index bench/report.mjs lists.
    const peers = Object.fromEntries(
      rows.filter((r) => !r.id.startsWith('rum')).map((r) => [r.id, { package: Object.keys(r.versions)[0], version: version(r) }]),
    );
    const json = { targetBrotli: TARGET_BROTLI, targets: goals, peers, sdks };
    writeFileSync(RESULTS + 'size.json', JSON.stringify(json, null, 2) + '\n');
    writeFileSync(RESULTS + 'size.md', md);
    console.log(md);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
