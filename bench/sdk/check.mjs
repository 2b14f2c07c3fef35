// Smoke test of the built bundles (run `node sdk/build.mjs` first): loads each out/<id>.js once
// in headless Chromium, as the benchmarks will, and checks that it initialises without page
// errors (one `bench:init-end` mark, BENCH_SDK set). It also calls the api with fetch and XHR
// and prints, per SDK, the files the page loaded from out/, the trace headers the api got and
// the collector paths hit, so wiring mistakes show up.
//   node sdk/check.mjs [id ...]
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { OUT, SDK_IDS } from './build.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

const listen = (handler) =>
  new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
const origin = (server) => `http://127.0.0.1:${server.address().port}`;

// Per page load: what was served from out/, what the api and the collector saw.
let seen;

// The api: answers CORS preflights for any header and records the trace headers it gets.
const api = await listen((req, res) => {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] || '*');
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  if (req.method !== 'OPTIONS') {
    const h = Object.keys(req.headers).filter((k) => /traceparent|tracestate|sentry-trace|baggage|x-datadog/.test(k));
    seen.api.push(`${req.url}: ${h.sort().join(', ') || 'no trace headers'}`);
  }
  res.setHeader('Content-Type', 'application/json');
  res.end('{"ok":true}');
});
// The collector: accepts anything, records the path.
const collector = await listen((req, res) => {
  res.setHeader('Access-Control-Allow-Origin', req.headers.origin || '*');
  res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] || '*');
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  if (req.method !== 'OPTIONS') seen.collector.add(`${req.method} ${req.url.replace(/\?.*/, '')}`);
  req.resume();
  req.on('end', () => {
    res.statusCode = req.method === 'OPTIONS' ? 204 : 200;
    res.end(req.method === 'OPTIONS' ? undefined : '{}');
  });
});
const cfg = { collector: origin(collector), api: origin(api) };
// The site: a page per SDK, and out/ as static files.
const site = await listen((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  const page = path.match(/^\/([\w-]+)\.html$/);
  if (path === '/favicon.ico') {
    res.statusCode = 204;
    res.end();
    return;
  }
  if (page) {
    res.setHeader('Content-Type', TYPES['.html']);
    res.end(
      `<!doctype html><meta charset="utf-8"><title>${page[1]}</title>` +
        `<script>globalThis.BENCH_CONFIG = ${JSON.stringify(cfg)};</script>` +
        `<script type="module" src="/${page[1]}.js"></script><body><button id="b">click</button></body>`,
    );
    return;
  }
  const file = OUT + path.slice(1);
  if (path.includes('..') || !existsSync(file)) {
    seen.missing.push(path);
    res.statusCode = 404;
    res.end();
    return;
  }
  seen.files.push(path.slice(1));
  res.setHeader('Content-Type', TYPES[path.slice(path.lastIndexOf('.'))] || 'application/octet-stream');
  res.end(readFileSync(file));
});

const ids = process.argv.slice(2).length ? process.argv.slice(2) : SDK_IDS;
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
let failures = 0;
try {
  for (const id of ids) {
    seen = { files: [], missing: [], api: [], collector: new Set() };
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
    page.on('response', (r) => r.status() >= 400 && errors.push(`http ${r.status()}: ${r.url()}`));
    await page.goto(`${origin(site)}/${id}.html`);
    await page.waitForFunction(() => globalThis.BENCH_SDK, null, { timeout: 10000 }).catch(() => {});
    const state = await page.evaluate(async (apiOrigin) => {
      const marks = performance.getEntriesByName('bench:init-end').length;
      const fetched = await fetch(apiOrigin + '/fetch').then((r) => r.ok, (e) => String(e));
      const xhr = await new Promise((resolve) => {
        const x = new XMLHttpRequest();
        x.open('GET', apiOrigin + '/xhr');
        x.onload = () => resolve(x.status === 200);
        x.onerror = () => resolve('xhr error');
        x.send();
      });
      return { sdk: globalThis.BENCH_SDK, marks, fetched, xhr };
    }, cfg.api);
    await page.click('#b');
    await page.waitForTimeout(2500);
    await page.close({ runBeforeUnload: true });
    await new Promise((r) => setTimeout(r, 300));
    await context.close();
    const ok = state.sdk === id && state.marks === 1 && state.fetched === true && state.xhr === true && !errors.some((e) => !/^(console|http)/.test(e));
    if (!ok) failures++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${id}: BENCH_SDK=${state.sdk} init-end marks=${state.marks} fetch=${state.fetched} xhr=${state.xhr}`);
    console.log(`     loaded: ${seen.files.join(', ')}${seen.missing.length ? `; not found: ${seen.missing.join(', ')}` : ''}`);
    console.log(`     api: ${seen.api.join(' | ')}`);
    console.log(`     collector: ${[...seen.collector].join(', ') || '(nothing yet)'}`);
    for (const e of errors) console.log(`     error: ${e}`);
  }
} finally {
  await browser.close();
  for (const s of [api, collector, site]) s.close();
}
process.exit(failures ? 1 : 0);
