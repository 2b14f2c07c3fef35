// The npm package in users' bundlers, unchanged: for each bundler (pinned in
// bundlers/package-lock.json) a fresh app is made from its template in bundlers/, the tarball
// `npm pack` makes of js/ is installed into it, the app is built for production, its output
// directory served on loopback and loaded in Chromium, and a beacon from it must reach the
// real gateway: the app's one fetch as a span and its page view, with no error on the page.
// Needs js/dist built (scripts/test.sh builds it first) and `npm ci` in bundlers/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname, normalize, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { root, startGateway, launchBrowser, eventually } from './harness.mjs';

const bundlers = join(root, 'playwright', 'bundlers');
const deps = join(bundlers, 'node_modules');
const version = (name) => JSON.parse(readFileSync(join(deps, name, 'package.json'), 'utf8')).version;

// Each app: its template directory, the packages its build calls (linked into the app's
// node_modules, as an install would put them) and where the build writes.
const APPS = [
  { name: 'vite', label: () => `Vite ${version('vite')}`, uses: ['vite'] },
  { name: 'webpack', label: () => `webpack ${version('webpack')} + webpack-cli ${version('webpack-cli')}`, uses: ['webpack', 'webpack-cli'] },
  { name: 'esbuild-esm', label: () => `esbuild ${version('esbuild')} --format=esm`, uses: ['esbuild'] },
  { name: 'esbuild-iife', label: () => `esbuild ${version('esbuild')} (IIFE)`, uses: ['esbuild'] },
  { name: 'rollup', label: () => `Rollup ${version('rollup')} + @rollup/plugin-node-resolve ${version('@rollup/plugin-node-resolve')}`, uses: ['rollup', '@rollup/plugin-node-resolve'] },
  { name: 'parcel', label: () => `Parcel ${version('parcel')}`, uses: ['parcel'] },
];

let work, tarball, gateway, browser;
const results = [];
const started = Date.now();

before(async () => {
  assert.ok(existsSync(join(root, 'js', 'dist', 'index.js')), 'js/dist is built (cd js && npm run build)');
  assert.ok(existsSync(deps), 'the bundlers are installed (scripts/ensure-tools.sh --browser)');
  work = mkdtempSync(join(tmpdir(), 'rum-bundlers-'));
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: join(root, 'js'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  tarball = join(work, pack.filename);
  console.log(`${pack.filename}: ${pack.files.map((f) => f.path).join(', ')}`);
  gateway = await startGateway();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
  console.log('bundler      | result | build   | output (raw / gzip)  | wasm');
  for (const r of results) {
    console.log(`${r.name.padEnd(12)} | ${r.ok ? 'pass' : 'FAIL'}   | ${r.build ?? '-'} | ${r.size ?? '-'} | ${r.wasm ?? '-'}`);
  }
  console.log(`bundlers.spec total ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

/** Makes the app: template + shared main.js, the packed SDK installed, the bundler linked in. */
function makeApp(app) {
  const dir = join(work, app.name);
  cpSync(join(bundlers, app.name), dir, { recursive: true });
  cpSync(join(bundlers, 'app', 'main.js'), join(dir, 'main.js'));
  // As a user installs it: the tarball into node_modules, recorded in package.json.
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  // The bundler from bundlers/node_modules (pinned there), where a devDependency would be.
  for (const name of app.uses) {
    mkdirSync(join(dir, 'node_modules', name, '..'), { recursive: true });
    symlinkSync(join(deps, name), join(dir, 'node_modules', name), 'dir');
  }
  return dir;
}

/** Every file under `dir`, with its size. */
function listFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => ({ path: relative(dir, f), size: statSync(f).size, gzip: gzipSync(readFileSync(f), { level: 9 }).length }));
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json' };

/** A loopback static server for `dir` (as a CDN would serve it), and `/api/ping` for the app's fetch. */
async function serve(dir) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path === '/favicon.ico') return res.writeHead(204).end();
    if (path === '/api/ping') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"pong":true}');
    const rel = normalize(path === '/' ? 'index.html' : path.slice(1));
    const file = join(dir, rel);
    if (rel.startsWith('..') || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

const kb = (n) => (n / 1024).toFixed(1) + ' kB';

for (const app of APPS) {
  test(`${app.name}: a production build of a fresh app records a beacon`, async (t) => {
    const result = { name: app.name, ok: false };
    results.push(result);
    const label = app.label();
    const dir = makeApp(app);

    const t0 = Date.now();
    const bin = join(deps, '.bin');
    try {
      execFileSync('npm', ['run', '--silent', 'build'], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NODE_ENV: 'production', PARCEL_WORKERS: '1', NO_COLOR: '1' },
      });
    } catch (e) {
      const why = `${e.stdout}\n${e.stderr}`.split('\n').find((l) => /error|fail/i.test(l) && !/Build failed\.?$/.test(l.trim()));
      result.wasm = 'build failed: ' + (why || '').trim();
      throw new Error(`${label}: the build failed\n${e.stdout}\n${e.stderr}`);
    }
    result.build = ((Date.now() - t0) / 1000).toFixed(1).padStart(5) + ' s';
    const out = join(dir, 'dist');
    // What the page can load; source maps (Parcel writes them by default) are left out.
    const all = listFiles(out);
    const files = all.filter((f) => !f.path.endsWith('.map'));
    const maps = all.length - files.length;
    const raw = files.reduce((s, f) => s + f.size, 0);
    const gz = files.reduce((s, f) => s + f.gzip, 0);
    result.size = `${kb(raw)} / ${kb(gz)}`.padEnd(20);
    const emitted = files.filter((f) => f.path.endsWith('.wasm')).map((f) => f.path);
    t.diagnostic(`${label}: built in ${result.build.trim()}, ${files.length} files, ${kb(raw)} (gzip ${kb(gz)}): ${files.map((f) => `${f.path} ${f.size} B`).join(', ')}${maps ? ` (and ${maps} source maps)` : ''}`);

    const site = await serve(out);
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    const wasmFailed = [];
    const responses = [];
    page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      // The browser's own line for a .wasm the page could not load is noted, not an error of the app.
      if (/^Failed to load resource/.test(m.text()) && /\.wasm$/.test(m.location().url)) wasmFailed.push(m.location().url);
      else errors.push(`console: ${m.text()} (${m.location().url})`);
    });
    page.on('response', (r) => responses.push({ url: r.url(), status: r.status() }));
    const service = `bundler-${app.name}`;
    try {
      await page.goto(`${site.url}/?endpoint=${encodeURIComponent(gateway.ingest)}&service=${service}`);
      assert.deepEqual(await page.evaluate(() => window.ping), { pong: true }, "the app's fetch answers as without the SDK");
      // Flush until the fetch's span is stored (the wasm may still be loading at first).
      const span = await eventually(async () => {
        await page.evaluate(() => window.rum.flush());
        const { traces } = await gateway.api('/api/traces?limit=1000');
        for (const tr of traces) {
          const { spans } = await gateway.api('/api/traces/' + tr.trace_id);
          const s = spans.find((s) => s.resource?.['service.name'] === service && String(s.attributes['url.full']) === site.url + '/api/ping');
          if (s) return s;
        }
      }, 15000, `the span of ${app.name}'s fetch at the gateway`);
      assert.equal(span.source, 'browser');
      // Leaving the page sends its view with the final vitals.
      await page.goto('about:blank');
      const view = await eventually(async () => {
        const { page_views } = await gateway.api('/api/page_views?limit=100');
        return page_views.find((v) => v.resource['service.name'] === service && v.vitals.FCP);
      }, 15000, `the page view of ${app.name}`);
      assert.ok(view.vitals.FCP.value > 0);
      assert.deepEqual(errors, [], 'no error on the page');
      result.ok = true;
    } finally {
      const fetched = responses.filter((r) => /\.wasm(\?|$)/.test(r.url));
      const chunk = responses.filter((r) => /rum_sdk_wasm/.test(r.url) && r.status === 200);
      result.wasm = [
        emitted.length ? `emitted ${emitted.join(', ')}` : 'no .wasm emitted',
        ...fetched.map((r) => `fetched ${new URL(r.url).pathname} ${r.status}`),
        chunk.length ? `inline chunk ${chunk.map((r) => new URL(r.url).pathname).join(', ')}` : '',
        !fetched.some((r) => r.status === 200) && result.ok && !chunk.length ? 'inline fallback (in the bundle)' : '',
      ].filter(Boolean).join('; ');
      t.diagnostic(`${label}: ${result.wasm}${wasmFailed.length ? `; browser logged a failed load of ${wasmFailed.join(', ')}` : ''}${errors.length ? '; errors: ' + errors.join(' | ') : ''}`);
      await context.close();
      await site.stop();
    }
  });
}
