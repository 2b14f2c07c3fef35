// Main-thread cost of each RUM SDK in real headless Chromium, with no SDK ("none") as the
// baseline measured in the same run, interleaved so that drift hits every SDK alike: page load
// (eval+init, ScriptDuration/TaskDuration/main-thread CPU, heap, long tasks, telemetry bytes,
// early requests traced), per fetch and per click. About 12 minutes with the defaults.
//
//   cd bench && npm ci && node sdk/build.mjs && npm run browser
//
// Env: LOADS (page loads per SDK, default 15), OP_LOADS (page loads per SDK for the
// per-operation runs, default 5), SDKS (comma list, default all), BENCH_OUT (bundle directory,
// default bench/out), CHROMIUM (default /usr/bin/chromium), WARMUP (discarded rounds, default 0).
// Writes bench/results/browser.json and bench/results/browser.md and prints the tables; asserts
// nothing (exits non-zero only when the run itself breaks, e.g. Chromium does not start).
import { chromium } from 'playwright-core';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { startSite, startCollector, startApi } from './servers.mjs';
import { BarePage } from './bare-page.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = resolve(here, '..');
const OUT_DIR = resolve(process.env.BENCH_OUT || join(benchDir, 'out'));
const RESULTS_DIR = join(benchDir, 'results');
const LOADS = int('LOADS', 15);
const OP_LOADS = int('OP_LOADS', 5);
const WARMUP = int('WARMUP', 0);
const FETCHES = 1000;
const CLICKS = 200;
const OURS = 'rum';
const ALL = ['rum', 'faro', 'otel', 'sentry', 'datadog', 'elastic', 'web-vitals'];
const EARLY = 7;

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

function int(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

const started = Date.now();
const loadAvgStart = os.loadavg();
const log = (...a) => console.error(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Which SDKs: every requested one whose bundle exists.
const requested = process.env.SDKS ? process.env.SDKS.split(',').map((s) => s.trim()).filter(Boolean) : ALL;
const warnings = [];
const sdks = [];
for (const id of requested) {
  if (id === 'none') continue;
  if (existsSync(join(OUT_DIR, `${id}.js`))) sdks.push(id);
  else warnings.push(`${id}: no bundle at ${join(OUT_DIR, id + '.js')} (run \`node sdk/build.mjs\` in bench/); skipped`);
}
if (!sdks.length) {
  console.error(`No SDK bundles in ${OUT_DIR}; run \`cd bench && node sdk/build.mjs\` first.`);
  process.exit(1);
}
const IDS = ['none', ...sdks];

// ---------------------------------------------------------------------------------------------
// Servers and browser.
const collector = await startCollector();
const api = await startApi();
const site = await startSite({
  outDir: OUT_DIR,
  pagesDir: join(here, 'pages'),
  render(name, url, html) {
    const sdk = url.searchParams.get('sdk') || 'none';
    const run = url.searchParams.get('run') || '';
    if (sdk !== 'none' && !/^[a-z0-9-]+$/.test(sdk)) throw new Error(`bad sdk ${sdk}`);
    const tag = sdk === 'none' ? '<!-- no SDK -->' : `<script type="module" src="/out/${sdk}.js"></script>`;
    return html
      .replaceAll('__COLLECTOR__', collector.url)
      .replaceAll('__API__', api.url)
      .replaceAll('__RUN__', run.replace(/[^A-Za-z0-9_.-]/g, ''))
      .replace('<!--SDK-->', tag);
  },
});

let browser;
try {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
} catch (e) {
  console.error('Chromium failed to start:', e.message);
  await Promise.all([site.stop(), collector.stop(), api.stop()]);
  process.exit(1);
}
const chromiumVersion = browser.version();
log(`Chromium ${chromiumVersion}; site ${site.url}, collector ${collector.url}, api ${api.url}`);
log(`SDKs: ${IDS.join(', ')}; LOADS=${LOADS} OP_LOADS=${OP_LOADS} WARMUP=${WARMUP}`);

const nonce = randomBytes(3).toString('hex');
const pageUrl = (id, run) => `${site.url}/pages/bench.html?sdk=${id}&run=${run}`;

const browserSession = await browser.newBrowserCDPSession();

/**
 * Leaves the page as a user does: first the tab is hidden (document.visibilityState becomes
 * 'hidden' and visibilitychange fires, with the document still alive so that flushes which need
 * a timer or a promise can finish), then, once the collector has been quiet for 1 s, the page
 * is navigated away (real pagehide/unload) and closed with its context.
 *
 * Headless Chromium under a driver keeps every page visible (another tab in front or a
 * minimised window change nothing), so the hidden state is emulated the way web-vitals' own
 * tests do it: document.visibilityState/hidden overridden, the event dispatched on document.
 */
async function leave(page, quietMs = 1000) {
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    // The page is hidden now, so the browser's own visibilitychange at unload (it still thinks
    // the page visible) must not reach the SDKs a second time; pagehide still does.
    addEventListener('visibilitychange', (e) => e.isTrusted && e.stopImmediatePropagation(), true);
  });
  const hiddenQuietMs = await collector.quiet(quietMs, 8000);
  await page.goto('about:blank', 15000).catch(() => {});
  const unloadQuietMs = await collector.quiet(500, 5000);
  await page.close();
  return { hiddenQuietMs, unloadQuietMs };
}

function beaconSummary(records) {
  const posts = records.filter((r) => r.method !== 'OPTIONS');
  return {
    bytes: posts.reduce((s, r) => s + r.bytes, 0),
    requests: posts.length,
    preflights: records.length - posts.length,
    encodings: [...new Set(posts.map((r) => r.encoding).filter(Boolean))],
    requestsList: records.map(({ method, path, bytes, encoding, type }) => ({ method, path, bytes, encoding, type })),
  };
}

// ---------------------------------------------------------------------------------------------
// 1. Page load.
async function pageLoad(id, round) {
  const run = `L${round}-${id}-${nonce}`;
  const page = await BarePage.open(browserSession);
  try {
    return await measureLoad(page, id, round, run);
  } finally {
    if (!page.closed) await page.close();
  }
}

async function measureLoad(page, id, round, run) {
  collector.setTag(run);
  api.setTag(run);
  await page.goto(pageUrl(id, run));
  await sleep(1000);
  const m = await page.metrics();
  const inPage = await page.evaluate(async () => {
    const mark = (name) => performance.getEntriesByName(name, 'mark')[0]?.startTime ?? null;
    const nav = performance.getEntriesByType('navigation')[0];
    const early = await Promise.race([BENCH_PAGE.early, new Promise((r) => setTimeout(() => r(null), 5000))]);
    return {
      sdk: globalThis.BENCH_SDK ?? null,
      initStart: mark('bench:init-start'),
      initEnd: mark('bench:init-end'),
      pageStart: mark('bench:page-start'),
      domContentLoaded: nav?.domContentLoadedEventEnd ?? null,
      loadEventEnd: nav?.loadEventEnd ?? null,
      longTasks: BENCH_PAGE.longTasks,
      longTaskMs: BENCH_PAGE.longTaskMs,
      early,
      visibility: document.visibilityState,
    };
  });
  await page.send('HeapProfiler.collectGarbage');
  const heapAfterGc = (await page.metrics()).JSHeapUsedSize;
  const quiet = await leave(page);
  const earlyRecords = api.recordsFor(run).filter((r) => r.path === '/early');
  const hidden = api.recordsFor(run).some((r) => r.path === '/hidden');
  const beacons = beaconSummary(collector.recordsFor(run));
  return {
    id,
    round,
    run,
    evalInitMs: inPage.initEnd,
    initStartMs: inPage.initStart,
    initMs: inPage.initEnd != null && inPage.initStart != null ? inPage.initEnd - inPage.initStart : null,
    pageStartMs: inPage.pageStart,
    domContentLoadedMs: inPage.domContentLoaded,
    loadEventEndMs: inPage.loadEventEnd,
    scriptMs: m.ScriptDuration * 1000,
    taskMs: m.TaskDuration * 1000,
    threadMs: m.ThreadTime * 1000,
    v8CompileMs: m.V8CompileDuration * 1000,
    heapBytes: m.JSHeapUsedSize,
    heapAfterGcBytes: heapAfterGc,
    longTasks: inPage.longTasks,
    longTaskMs: inPage.longTaskMs,
    beaconBytes: beacons.bytes,
    beaconRequests: beacons.requests,
    beaconPreflights: beacons.preflights,
    beaconEncodings: beacons.encodings,
    beacons: beacons.requestsList,
    earlyArrived: earlyRecords.length,
    earlyTraced: earlyRecords.filter((r) => r.traced).length,
    earlyHeaders: [...new Set(earlyRecords.flatMap((r) => r.headers))],
    earlyResults: inPage.early,
    hiddenSeen: hidden,
    visibilityAtLoad: inPage.visibility,
    benchSdk: inPage.sdk,
    ...quiet,
    errors: page.errors,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Per operation: FETCHES sequential fetch calls, then CLICKS real clicks, on one loaded page.
async function operations(id, round) {
  const run = `O${round}-${id}-${nonce}`;
  const page = await BarePage.open(browserSession);
  try {
    return await measureOperations(page, id, round, run);
  } finally {
    if (!page.closed) await page.close();
  }
}

async function measureOperations(page, id, round, run) {
  collector.setTag(run);
  api.setTag(run);
  await page.goto(pageUrl(id, run));
  await sleep(1000);

  const f0 = await page.metrics();
  // One URL for every call, so the CORS preflight a trace header causes is made once and then
  // cached. Each call is made from a task (a MessageChannel message), not from a promise
  // continuation: ScriptDuration counts script run by tasks and callbacks but not microtasks,
  // so this way it at least includes each SDK's synchronous fetch wrapper.
  const fetchWallMs = await page.evaluate(async ({ url, n }) => {
    const channel = new MessageChannel();
    let call;
    channel.port2.onmessage = () => call();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const res = await new Promise((resolve, reject) => {
        call = () => fetch(url).then(resolve, reject);
        channel.port1.postMessage(0);
      });
      await res.text();
    }
    return performance.now() - t0;
  }, { url: `${api.url}/op`, n: FETCHES });
  await sleep(300);
  const f1 = await page.metrics();
  const fetchCounts = api.countsFor(run);

  const box = await page.evaluate(() => {
    const r = document.getElementById('add').getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  });
  await page.move(box.x, box.y);
  const c0 = await page.metrics();
  const t0 = performance.now();
  for (let i = 0; i < CLICKS; i++) await page.click(box.x, box.y);
  const clickDriverMs = performance.now() - t0;
  await sleep(300);
  const c1 = await page.metrics();
  const added = await page.evaluate(() => document.querySelectorAll('.added').length);
  await leave(page, 500);
  const beacons = beaconSummary(collector.recordsFor(run));
  return {
    id,
    round,
    run,
    fetches: FETCHES,
    fetchWallMs,
    fetchScriptMs: (f1.ScriptDuration - f0.ScriptDuration) * 1000,
    fetchTaskMs: (f1.TaskDuration - f0.TaskDuration) * 1000,
    fetchThreadMs: (f1.ThreadTime - f0.ThreadTime) * 1000,
    fetchesArrived: fetchCounts.requests,
    fetchesTraced: fetchCounts.traced,
    clicks: CLICKS,
    clicksHandled: added,
    clickDriverMs,
    clickScriptMs: (c1.ScriptDuration - c0.ScriptDuration) * 1000,
    clickTaskMs: (c1.TaskDuration - c0.TaskDuration) * 1000,
    clickThreadMs: (c1.ThreadTime - c0.ThreadTime) * 1000,
    beaconBytes: beacons.bytes,
    beaconRequests: beacons.requests,
    beacons: beacons.requestsList,
    errors: page.errors,
  };
}

// ---------------------------------------------------------------------------------------------
// Run: each round visits every id once, the order rotated by one per round.
const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length]);
const loadSamples = [];
const opSamples = [];
let broken = null;
const failures = [];
/** Runs one load; a load that throws is retried once, then recorded as failed and skipped. */
async function attempt(kind, fn, id, round) {
  for (let t = 1; ; t++) {
    try {
      return await fn(id, round);
    } catch (e) {
      if (!browser.isConnected()) throw e;
      failures.push({ kind, id, round, attempt: t, error: String(e.message || e) });
      log(`  ${kind} ${id} round ${round} failed (attempt ${t}): ${e.message}`);
      if (t >= 2) return null;
    }
  }
}
try {
  for (let w = 0; w < WARMUP; w++) {
    for (const id of IDS) {
      const s = await attempt('page load', pageLoad, id, `w${w}`);
      if (s) log(`warm-up ${id}: eval+init ${fmt(s.evalInitMs)} ms, beacons ${s.beaconBytes} B in ${s.beaconRequests}, early traced ${s.earlyTraced}/${EARLY}${s.errors.length ? ', errors: ' + s.errors.join(' | ') : ''}`);
    }
  }
  for (let r = 0; r < LOADS; r++) {
    for (const id of rotate(IDS, r)) {
      const s = await attempt('page load', pageLoad, id, r);
      if (!s) continue;
      loadSamples.push(s);
      if (r === 0) log(`  ${id}: eval+init ${fmt(s.evalInitMs)} ms, beacons ${s.beaconBytes} B in ${s.beaconRequests}, early traced ${s.earlyTraced}/${EARLY}${s.errors.length ? ', errors: ' + s.errors.join(' | ') : ''}`);
    }
    log(`page loads: round ${r + 1}/${LOADS} done`);
  }
  for (let r = 0; r < OP_LOADS; r++) {
    for (const id of rotate(IDS, r)) {
      const s = await attempt('operations', operations, id, r);
      if (!s) continue;
      opSamples.push(s);
      if (r === 0) log(`  ${id}: ${FETCHES} fetches ${fmt(s.fetchWallMs, 0)} ms (${s.fetchesTraced} traced), ${CLICKS} clicks, beacons ${s.beaconBytes} B in ${s.beaconRequests}`);
    }
    log(`operations: round ${r + 1}/${OP_LOADS} done`);
  }
} catch (e) {
  broken = e;
} finally {
  await browser.close().catch(() => {});
  await Promise.all([site.stop(), collector.stop(), api.stop()]);
}
if (broken) {
  console.error('Benchmark broke:', broken.stack || broken);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Summaries.
function stats(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

const LOAD_METRICS = ['evalInitMs', 'initMs', 'pageStartMs', 'loadEventEndMs', 'scriptMs', 'taskMs', 'threadMs', 'v8CompileMs', 'heapBytes', 'heapAfterGcBytes', 'longTasks', 'longTaskMs', 'beaconBytes', 'beaconRequests', 'beaconPreflights', 'earlyTraced', 'earlyArrived'];
// Per-call figures in µs: ms per FETCHES (or CLICKS) calls × 1000.
const perFetchUs = (s, key) => (s[key] / s.fetches) * 1000;
const perClickUs = (s, key) => (s[key] / s.clicks) * 1000;

const summary = {};
for (const id of IDS) {
  const L = loadSamples.filter((s) => s.id === id);
  const O = opSamples.filter((s) => s.id === id);
  const load = Object.fromEntries(LOAD_METRICS.map((k) => [k, stats(L.map((s) => s[k]))]));
  const ops = {
    fetchWallUs: stats(O.map((s) => perFetchUs(s, 'fetchWallMs'))),
    fetchScriptUs: stats(O.map((s) => perFetchUs(s, 'fetchScriptMs'))),
    fetchTaskUs: stats(O.map((s) => perFetchUs(s, 'fetchTaskMs'))),
    fetchThreadUs: stats(O.map((s) => perFetchUs(s, 'fetchThreadMs'))),
    clickScriptUs: stats(O.map((s) => perClickUs(s, 'clickScriptMs'))),
    clickTaskUs: stats(O.map((s) => perClickUs(s, 'clickTaskMs'))),
    clickThreadUs: stats(O.map((s) => perClickUs(s, 'clickThreadMs'))),
    opBeaconBytes: stats(O.map((s) => s.beaconBytes)),
    opBeaconRequests: stats(O.map((s) => s.beaconRequests)),
    opFetchesTraced: stats(O.map((s) => s.fetchesTraced)),
    clickDriverUs: stats(O.map((s) => perClickUs(s, 'clickDriverMs'))),
  };
  const paths = {};
  for (const s of L) for (const b of s.beacons) paths[`${b.method} ${b.path}`] = (paths[`${b.method} ${b.path}`] || 0) + 1;
  summary[id] = {
    load,
    ops,
    collectorPaths: paths,
    allEarlyTraced: L.length > 0 && L.every((s) => s.earlyTraced === EARLY),
    hiddenSeen: `${L.filter((s) => s.hiddenSeen).length}/${L.length}`,
    benchSdkSet: id === 'none' || L.every((s) => s.benchSdk === id),
    clicksHandled: O.every((s) => s.clicksHandled === s.clicks),
    errors: [...new Set([...L, ...O].flatMap((s) => s.errors))].slice(0, 10),
  };
}

// Deltas against none: the SDK's median minus none's median; its range is the SDK's min and max
// minus none's median.
const base = summary.none;
function delta(id, group, key) {
  const s = summary[id][group][key];
  const b = base[group][key];
  if (!s || !b) return null;
  return { median: s.median - b.median, min: s.min - b.median, max: s.max - b.median };
}
const deltas = {};
for (const id of sdks) {
  deltas[id] = {
    scriptMs: delta(id, 'load', 'scriptMs'),
    taskMs: delta(id, 'load', 'taskMs'),
    threadMs: delta(id, 'load', 'threadMs'),
    heapBytes: delta(id, 'load', 'heapBytes'),
    heapAfterGcBytes: delta(id, 'load', 'heapAfterGcBytes'),
    longTasks: delta(id, 'load', 'longTasks'),
    fetchWallUs: delta(id, 'ops', 'fetchWallUs'),
    fetchScriptUs: delta(id, 'ops', 'fetchScriptUs'),
    fetchThreadUs: delta(id, 'ops', 'fetchThreadUs'),
    clickScriptUs: delta(id, 'ops', 'clickScriptUs'),
    clickThreadUs: delta(id, 'ops', 'clickThreadUs'),
  };
}

// Ours over each peer; "n/a" when the peer's figure is within `floor` of zero or below it.
const RATIO_METRICS = [
  ['eval + init (nav start → init end)', (id) => summary[id].load.evalInitMs?.median, 0.05],
  ['init call (init-start → init-end)', (id) => summary[id].load.initMs?.median, 0.01],
  ['ScriptDuration Δ (load)', (id) => deltas[id].scriptMs?.median, 0.05],
  ['TaskDuration Δ (load)', (id) => deltas[id].taskMs?.median, 0.05],
  ['main-thread CPU Δ (load)', (id) => deltas[id].threadMs?.median, 0.05],
  ['JS heap Δ (after GC)', (id) => deltas[id].heapAfterGcBytes?.median, 1024],
  ['beacon bytes per load', (id) => summary[id].load.beaconBytes?.median, 1],
  ['per-fetch script overhead', (id) => deltas[id].fetchScriptUs?.median, 0.5],
  ['per-fetch main-thread CPU overhead', (id) => deltas[id].fetchThreadUs?.median, 0.5],
  ['per-fetch wall overhead', (id) => deltas[id].fetchWallUs?.median, 0.5],
  ['per-click script overhead', (id) => deltas[id].clickScriptUs?.median, 0.5],
  ['per-click main-thread CPU overhead', (id) => deltas[id].clickThreadUs?.median, 0.5],
];
const peers = sdks.filter((id) => id !== OURS);
const haveOurs = sdks.includes(OURS);
const ratios = {};
if (haveOurs) {
  for (const [name, get, floor] of RATIO_METRICS) {
    ratios[name] = {};
    for (const peer of peers) {
      const o = get(OURS);
      const q = get(peer);
      ratios[name][peer] = o == null || q == null || !(q > floor) ? null : o / q;
    }
  }
}

// Warnings: a peer that sent nothing is probably misconfigured.
for (const f of failures) warnings.push(`${f.id}: ${f.kind} round ${f.round} failed (attempt ${f.attempt}): ${f.error}`);
for (const id of sdks) {
  const s = summary[id];
  if (!(s.load.beaconBytes?.max > 0)) warnings.push(`${id}: the collector received 0 bytes in every page load (misconfigured, or it never flushes on hide)`);
  else if (!(s.load.beaconBytes.min > 0)) warnings.push(`${id}: the collector received 0 bytes in some page loads (min 0, median ${s.load.beaconBytes.median})`);
  if (!s.benchSdkSet) warnings.push(`${id}: globalThis.BENCH_SDK was not '${id}' in some loads (bundle did not run?)`);
  if (s.load.evalInitMs == null) warnings.push(`${id}: no bench:init-end mark`);
  if (s.errors.length) warnings.push(`${id}: page errors: ${s.errors.slice(0, 3).join(' | ')}`);
}
for (const id of IDS) {
  const L = loadSamples.filter((s) => s.id === id);
  if (L.some((s) => !s.hiddenSeen)) warnings.push(`${id}: visibilitychange→hidden not observed in ${L.filter((s) => !s.hiddenSeen).length} load(s)`);
  if (L.some((s) => s.earlyArrived !== EARLY)) warnings.push(`${id}: not all ${EARLY} early requests reached the API in some loads`);
  if (!summary[id].clicksHandled) warnings.push(`${id}: not every click was handled`);
}

// ---------------------------------------------------------------------------------------------
// Report.
function fmt(x, digits = 1) {
  if (x == null || !Number.isFinite(x)) return 'n/a';
  return x.toFixed(digits);
}
const signed = (x, d = 1) => (x == null || !Number.isFinite(x) ? 'n/a' : (x >= 0 ? '+' : '') + x.toFixed(d));
const range = (s, d = 1, f = fmt) => (s ? `${f(s.median, d)} [${f(s.min, d)}–${f(s.max, d)}]` : 'n/a');
const drange = (s, d = 1) => range(s, d, signed);
const kb = (b) => (b == null ? null : b / 1024);
const kbStats = (s) => s && { median: kb(s.median), min: kb(s.min), max: kb(s.max) };
const ratio = (r) => (r == null ? 'n/a' : r <= 0 ? '≤0' : r.toFixed(2));
const table = (head, rows) => [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i ? '---:' : '---')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

const abs = (id, x, d = 1) => (id === 'none' ? `(${fmt(x, d)})` : null);
const loadTable = table(
  ['SDK', 'eval+init ms', 'init call ms', 'ScriptDuration Δ ms', 'TaskDuration Δ ms', 'main-thread CPU Δ ms', 'long tasks', 'JS heap Δ KiB', 'beacon bytes / load', 'beacon requests', 'early traced'],
  IDS.map((id) => {
    const s = summary[id].load;
    const d = deltas[id] || {};
    return [
      id === OURS ? `**${id}**` : id,
      id === 'none' ? '–' : range(s.evalInitMs),
      id === 'none' ? '–' : range(s.initMs, 2),
      abs(id, s.scriptMs?.median) ?? drange(d.scriptMs),
      abs(id, s.taskMs?.median) ?? drange(d.taskMs),
      abs(id, s.threadMs?.median) ?? drange(d.threadMs),
      range(s.longTasks, 0),
      abs(id, kb(s.heapAfterGcBytes?.median), 0) ?? drange(kbStats(d.heapAfterGcBytes), 0),
      range(s.beaconBytes, 0) + (id !== 'none' && !(s.beaconBytes?.max > 0) ? ' ⚠ sent nothing' : ''),
      range(s.beaconRequests, 0),
      id === 'none' ? '–' : `${fmt(s.earlyTraced?.median, 0)}/${EARLY} [${fmt(s.earlyTraced?.min, 0)}–${fmt(s.earlyTraced?.max, 0)}]`,
    ];
  }),
);

const opTable = table(
  ['SDK', 'per-fetch ScriptDuration Δ µs', 'per-fetch main-thread CPU Δ µs', 'per-fetch wall Δ µs', 'per-click ScriptDuration Δ µs', 'per-click main-thread CPU Δ µs', 'fetches traced', 'beacon KiB per op page'],
  IDS.map((id) => {
    const o = summary[id].ops;
    const d = deltas[id] || {};
    return [
      id === OURS ? `**${id}**` : id,
      abs(id, o.fetchScriptUs?.median) ?? drange(d.fetchScriptUs),
      abs(id, o.fetchThreadUs?.median) ?? drange(d.fetchThreadUs),
      abs(id, o.fetchWallUs?.median) ?? drange(d.fetchWallUs),
      abs(id, o.clickScriptUs?.median) ?? drange(d.clickScriptUs),
      abs(id, o.clickThreadUs?.median) ?? drange(d.clickThreadUs),
      id === 'none' ? '–' : `${fmt(o.opFetchesTraced?.median, 0)}/${FETCHES}`,
      range(kbStats(o.opBeaconBytes), 0),
    ];
  }),
);

const ratioTable = haveOurs
  ? table(['ours ÷ peer', ...peers], RATIO_METRICS.map(([name]) => [name, ...peers.map((p) => ratio(ratios[name][p]))]))
  : '(our SDK was not measured)';

// Targets: ours against the lowest peer figure.
const targets = [];
const targetLines = [];
// `get(id)` gives a { median, min, max } figure; medians are compared, and a met target whose
// ranges overlap (ours' max not below the best peer's min) is flagged as within the noise.
// Peers that never put a trace header on a fetch (web-vitals) do much less than a RUM SDK, so
// each line also says how ours fares against the tracing peers alone.
const tracing = peers.filter((p) => summary[p].ops.opFetchesTraced?.median > 0 || summary[p].load.earlyTraced?.max > 0);
function best(get, among) {
  let who = null;
  let v = null;
  for (const p of among) {
    const x = get(p);
    if (x?.median != null && (v == null || x.median < v.median)) [who, v] = [p, x];
  }
  return { who, v };
}
function target(name, get, unit, { strict = true, digits = 1, among = peers } = {}) {
  const o = get(OURS);
  const judge = (list) => {
    const { who, v } = best(get, list);
    const met = o?.median != null && v != null && (strict ? o.median < v.median : o.median <= v.median);
    const overlap = met && o.max != null && v.min != null && o.max >= v.min;
    return { who, v, met, overlap };
  };
  const all = judge(among);
  const tr = among.filter((p) => tracing.includes(p));
  const sub = tr.length && tr.length !== among.length ? judge(tr) : null;
  targets.push({
    name, unit, met: all.met, rangesOverlap: all.overlap, ours: o, bestPeer: all.who, best: all.v,
    ...(sub ? { amongTracingPeers: { met: sub.met, rangesOverlap: sub.overlap, bestPeer: sub.who, best: sub.v } } : {}),
  });
  const verdict = (j) => `**${j.met ? 'met' : 'not met'}**${j.overlap ? ' (ranges overlap)' : ''}`;
  let line = `- ${name}: ${verdict(all)} — ours ${fmt(o?.median, digits)} ${unit}, lowest peer ${all.who ?? 'n/a'} ${fmt(all.v?.median, digits)} ${unit}`;
  if (sub) line += `; against the tracing peers only: ${verdict(sub)} (lowest ${sub.who ?? 'n/a'} ${fmt(sub.v?.median, digits)} ${unit})`;
  targetLines.push(line);
}
if (haveOurs && peers.length) {
  const sending = peers.filter((p) => summary[p].load.beaconBytes?.median > 0);
  target('evaluate+init below every peer', (p) => summary[p].load.evalInitMs, 'ms');
  target('ScriptDuration Δ (page load) below every peer', (p) => deltas[p].scriptMs, 'ms');
  target('per-fetch overhead (ScriptDuration) below every peer', (p) => deltas[p].fetchScriptUs, 'µs');
  target('per-fetch overhead (wall time) below every peer', (p) => deltas[p].fetchWallUs, 'µs');
  target('beacon bytes per page load ≤ smallest peer’s (peers that sent anything)', (p) => summary[p].load.beaconBytes, 'B', { strict: false, digits: 0, among: sending });
  const mine = loadSamples.filter((s) => s.id === OURS);
  const tracedAll = mine.length > 0 && mine.every((s) => s.earlyTraced === EARLY);
  const tracedSum = mine.reduce((a, s) => a + s.earlyTraced, 0);
  targets.push({ name: 'early requests traced', met: tracedAll, ours: tracedSum, of: mine.length * EARLY });
  const others = peers.map((p) => `${p} ${loadSamples.filter((s) => s.id === p).reduce((a, s) => a + s.earlyTraced, 0)}`).join(', ');
  targetLines.push(`- early requests traced (all ${EARLY} in every load): **${tracedAll ? 'met' : 'not met'}** — ${tracedSum}/${mine.length * EARLY} over ${mine.length} loads (peers: ${others}, of ${LOADS * EARLY} each)`);
} else {
  targetLines.push('- (targets need our SDK and at least one peer)');
}

const runtimeS = (Date.now() - started) / 1000;
const md = [
  '## SDK main-thread cost',
  '',
  `Real headless Chromium ${chromiumVersion} launched by playwright-core (${os.cpus().length} cores); pages driven over a bare CDP session (Page/Runtime/Performance/Input only — no per-request Network instrumentation), each load in a fresh browser context; everything on loopback; \`none\` = the same page without an SDK, measured in the same run; SDK order rotated every round.`,
  `Page load (${LOADS} loads per SDK): eval+init = the \`bench:init-end\` mark (from navigation start; the bundle's download, evaluation and init call); 1 s after \`load\`: CDP Performance.getMetrics ScriptDuration (script run by tasks/callbacks — **microtasks are not counted**, so promise-based SDK work is missed), TaskDuration, ThreadTime (main-thread CPU, which does include microtasks), JS heap after a forced GC, buffered long tasks. Then the page is hidden (visibilitychange→hidden, document kept alive) and after the collector is quiet for 1 s navigated away (pagehide), and every request body the collector got is counted. Early requests: 5 fetch + 2 XHR to the API origin made by the page right after the SDK's module ran.`,
  `Per operation (${OP_LOADS} loads per SDK): ${FETCHES} sequential \`fetch\` calls to one API URL (each issued from a task; preflight cached), then ${CLICKS} real mouse clicks (CDP Input events) on a button that prepends a row (layout shift); metric deltas around each, per call. Figures: median [min–max] over loads; Δ = SDK − median of \`none\`; the \`none\` row shows absolute values in parentheses.`,
  '',
  '### Page load',
  '',
  loadTable,
  '',
  ...(() => {
    const enc = sdks.map((id) => [id, [...new Set(loadSamples.filter((s) => s.id === id).flatMap((s) => s.beaconEncodings))]]).filter(([, e]) => e.length);
    return enc.length ? [`Beacon bytes are request bodies as received on the wire; compressed by the SDK: ${enc.map(([id, e]) => `${id} (${e.join(', ')})`).join(', ')}; all others uncompressed.`, ''] : [];
  })(),
  `Reference for eval+init: without an SDK the page's own module script (which runs right after where an SDK's would) started at ${fmt(summary.none.load.pageStartMs?.median)} ms [${fmt(summary.none.load.pageStartMs?.min)}–${fmt(summary.none.load.pageStartMs?.max)}] after navigation start.`,
  '',
  '### Per operation',
  '',
  opTable,
  '',
  '### Ours ÷ each peer (below 1 = ours cheaper)',
  '',
  ratioTable,
  '',
  '### Targets',
  '',
  ...targetLines,
  '',
  ...(warnings.length ? ['### Warnings', '', ...warnings.map((w) => `- ${w}`), ''] : []),
  `LOADS=${LOADS}, OP_LOADS=${OP_LOADS}, warm-up rounds ${WARMUP}; total runtime ${runtimeS.toFixed(0)} s; 1-min load average ${loadAvgStart[0].toFixed(1)} at start, ${os.loadavg()[0].toFixed(1)} at end (other work on the machine shows up as noise).`,
  '',
].join('\n');

mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(join(RESULTS_DIR, 'browser.md'), md);
writeFileSync(
  join(RESULTS_DIR, 'browser.json'),
  JSON.stringify(
    {
      chromium: chromiumVersion,
      chromiumArgs: CHROMIUM_ARGS,
      loads: LOADS,
      opLoads: OP_LOADS,
      warmupRounds: WARMUP,
      fetchesPerOpLoad: FETCHES,
      clicksPerOpLoad: CLICKS,
      sdks: IDS,
      ours: OURS,
      startedAt: new Date(started).toISOString(),
      runtimeS,
      loadAverage: { start: loadAvgStart, end: os.loadavg() },
      units: { ms: 'milliseconds', us: 'microseconds per call', bytes: 'bytes on the wire (request bodies, as received)' },
      summary,
      deltasVsNone: deltas,
      ratiosOursOverPeer: ratios,
      targets,
      warnings,
      failures,
      samples: { pageLoads: loadSamples, operations: opSamples },
    },
    null,
    2,
  ) + '\n',
);
console.log(md);
console.log(`Total runtime: ${runtimeS.toFixed(1)} s (wrote ${join(RESULTS_DIR, 'browser.json')} and browser.md)`);
