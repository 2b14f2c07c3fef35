// The SDK on hostile pages (issue 19). Each scenario runs the SAME page script twice or more,
// without our SDK and with it, in a fresh browser context, and compares what the page itself
// observed (statuses, bodies, event orders, thrown errors, call order), what the other SDK on
// the page recorded (OpenTelemetry's spans, Sentry's breadcrumbs and spans), the requests the
// test server received (method, body headers, and whose `traceparent` / `sentry-trace` they
// carried) and the page's errors (console and uncaught): all equal, except for the one thing
// our SDK adds, its own `traceparent` on calls to the page's origin, which the test then finds
// as a span in the real gateway. Telemetry is checked in the gateway's admin API.
//
// * OpenTelemetry web (sdk-trace-web, instrumentation-fetch and -xml-http-request) installed
//   before our SDK and after it: the page sees the same; OTel records the same spans, and its
//   `traceparent` is the one the server receives, intact, on every call (ours gives way: it
//   never adds a second value to the header); our spans still arrive.
// * Sentry (@sentry/browser with tracing) before and after: the same breadcrumbs and
//   http.client spans, its `sentry-trace` on the server's requests matching its spans, our
//   `traceparent` beside it, our spans in the gateway.
// * Zone.js (as Angular loads it), before and after our SDK: the page's calls in an app zone;
//   every callback runs in the app zone, and the zone sees exactly the same tasks (macro, micro
//   and event tasks) and pending-task transitions: NgZone would run no extra change detection.
// * fetch edges: ReadableStream bodies, AbortSignal aborted before / while waiting / while
//   reading (default reason, an Error, a string: the page gets the very reason object), a
//   Request with a body (used, reused), keepalive within and over its quota, bodies the browser
//   types itself, odd arguments: identical outcomes and identical requests on the wire.
// * XHR edges: synchronous GET and POST, responseType blob / arraybuffer / json, a responseType
//   on a synchronous call, abort, timeout, send twice, open twice, handlers: identical.
// * A polluted page (Object.prototype.method/headers/error, Array.prototype.toJSON, a counting
//   JSON.stringify), with both builds: identical requests (fetch(url) stays a GET without
//   x-polluted), the page's own JSON.stringify calls unchanged, and our telemetry unpolluted.
// * A frozen page (intrinsic prototypes, XMLHttpRequest.prototype and History.prototype
//   frozen, fetch read-only), with both builds: the page works as without us and the SDK still
//   delivers its page view, its fetch span and the page's error.
// * 10,000 fetches: the JS heap (after GC) and the wasm memory at 1,000 and at 10,000 fetches;
//   the growth is bounded (see the test for the bound and why); the spans of the first calls
//   arrive, each of them, up to the SDK's cap of 1,000 spans a page, and none after it.
// * Back/forward cache: the page with the SDK is restored from the cache exactly as the page
//   without it (pageshow persisted, the same notRestoredReasons), and keeps recording after.
// * keepalive at unload: the page's own 40 KiB keepalive POST from its pagehide listener leaves
//   as without the SDK, though the SDK has about 38 KB of beacons to send then too (our
//   pagehide listener does not capture, so the page's own listeners send first).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { startGateway, startStatic, launchBrowser, eventually, watchErrors, sdkLoaded, closedPort, root } from './harness.mjs';

const here = root + 'playwright/';
let gateway, site, other, browser, refused;
before(async () => {
  // The other SDKs, from npm, bundled as a page would (not committed: build/ is ignored).
  mkdirSync(here + 'pages/hostile/build', { recursive: true });
  execFileSync(here + 'node_modules/.bin/esbuild', [
    here + 'pages/hostile/others.src.js', '--bundle', '--format=iife', '--target=es2020',
    '--outfile=' + here + 'pages/hostile/build/others.js', '--log-level=warning',
  ], { stdio: 'inherit' });
  copyFileSync(here + 'node_modules/zone.js/bundles/zone.umd.js', here + 'pages/hostile/build/zone.js');
  gateway = await startGateway();
  site = await startStatic(gateway);
  other = await startStatic(gateway);
  refused = `http://127.0.0.1:${await closedPort()}/refused`;
  browser = await launchBrowser({ bfcache: true });
});
after(async () => {
  await browser?.close();
  await site?.stop();
  await other?.stop();
  await gateway?.stop();
});

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;
// The SDK's own traffic, which another SDK wrapping fetch also sees (our wasm is downloaded
// with the page's fetch, as any script's would be): not the page's calls.
const OURS = /\.wasm$|\/v1\/rum/;

let seq = 0;
const sdkOptions = (run) => JSON.stringify({ endpoint: gateway.ingest, apiKey: 'dev', service: { name: 'hostile-' + run.replace(/-\d+$/, ''), version: '1' } });
const sdkTags = (kind, run) =>
  kind === 'esm'
    ? `<script type="module">import { init } from '/sdk/index.js'; window.rum = init(${sdkOptions(run)});</script>`
    : `<script src="/sdk/rum.js"></script><script>window.rum = RUM.init(${sdkOptions(run)});</script>`;
const otherTags = (name) =>
  name === 'zone'
    ? '<script src="/pages/hostile/build/zone.js"></script>'
    : `<script src="/pages/hostile/build/others.js"></script><script>install${name[0].toUpperCase() + name.slice(1)}();</script>`;

/**
 * Opens a page made of: PARAMS, `setup` scripts (hostile changes, before any SDK), the other
 * SDK and ours in the variant's order, the helpers and `scripts`. `variant`: 'none' (no SDK of
 * ours), 'before' (ours, then the other SDK), 'after' (the other SDK, then ours), 'sdk' (ours,
 * script tag), 'esm' (ours, the npm build).
 */
async function open(name, variant, { otherSdk, setup = [], scripts = [], initScript }) {
  // Of one length in every variant: byte counts the page sees (progress events) stay comparable.
  const run = `${name}-${String(++seq).padStart(4, '0')}`;
  const ours = variant === 'none' ? '' : sdkTags(variant === 'esm' ? 'esm' : 'script', run);
  const theirs = otherSdk ? otherTags(otherSdk) : '';
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>hostile ${run}</title>
<script>window.PARAMS = ${JSON.stringify({ run, other: other.url, refused })};</script>
${setup.map((s) => `<script src="/pages/hostile/${s}"></script>`).join('\n')}
${variant === 'after' ? theirs + ours : ours + theirs}
<script src="/pages/hostile/common.js"></script>
${scripts.map((s) => `<script src="/pages/hostile/${s}"></script>`).join('\n')}
</head><body><h1>A hostile page</h1><p>Enough text for a contentful paint.</p><button id="b">A button</button></body></html>`;
  const path = `/hostile/${run}.html`;
  site.serve(path, html);
  const context = await browser.newContext();
  // HOSTILE_SDK_DIR=dir: the pages load that directory's index.js and rum.js instead of
  // js/dist's (to see which scenario fails with another build, one without a fix, say).
  const sdkDir = process.env.HOSTILE_SDK_DIR;
  if (sdkDir) await context.route(/\/sdk\/(index|rum)\.js$/, (r) => r.fulfill({ path: sdkDir + '/' + new URL(r.request().url()).pathname.split('/').pop(), contentType: 'text/javascript' }));
  const page = await context.newPage();
  const errors = watchErrors(page);
  if (initScript) await page.addInitScript(initScript);
  await page.goto(site.url + path);
  if (variant === 'esm') await page.waitForFunction(() => window.rum);
  return { run, variant, context, page, errors, sdk: variant !== 'none' };
}

// Replaces what differs between runs by construction (the run id, the servers' ports).
const norm = (value, run) =>
  JSON.parse(JSON.stringify(value ?? null).replaceAll(run, 'RUN').replaceAll(site.url, 'SITE').replaceAll(other.url, 'OTHER').replaceAll(refused, 'REFUSED'));

/** The requests of `run` the two test servers received, in order, as comparable facts. */
function received(run, saw) {
  const otelIds = new Set((Array.isArray(saw) ? saw : []).map((s) => s.spanId));
  const sentryIds = new Set((saw && saw.spans ? saw.spans : []).map((s) => s.spanId));
  const rows = [];
  for (const [server, label] of [[site, 'SITE'], [other, 'OTHER']]) {
    for (const s of server.seen) {
      if (!s.path.startsWith('/echo/' + run + '/')) continue;
      const h = s.headers;
      const tp = h.traceparent;
      const m = tp && TRACEPARENT.exec(tp);
      const st = h['sentry-trace'];
      rows.push({
        at: label,
        path: s.path.replace(run, 'RUN'),
        method: s.method,
        type: h['content-type'] && h['content-type'].replace(/boundary=.*/, 'boundary=…'),
        length: h['content-length'],
        x: Object.keys(h).filter((k) => k.startsWith('x-')).map((k) => k + '=' + h[k]).sort(),
        // Whose trace context the call carried.
        traceparent: !tp ? 'absent' : !m ? 'malformed: ' + tp : otelIds.has(m[2]) ? 'otel' : 'other: ' + tp,
        sentry: !st ? 'absent' : sentryIds.has(st.split('-')[1]) || st.split('-')[0] === saw?.traceId ? 'sentry' : 'other: ' + st,
        baggage: h.baggage ? 'sentry-trace_id=' + (/sentry-trace_id=(\w+)/.exec(h.baggage) || [])[1] === 'sentry-trace_id=' + (st || '').split('-')[0] : 'absent',
      });
    }
  }
  return rows;
}

/** What the other SDK recorded, comparable across runs: its ids out, its own traffic out. */
function theirRecord(saw, run) {
  if (!saw) return null;
  const strip = ({ traceId, spanId, ...rest }) => rest;
  if (Array.isArray(saw)) return norm(saw.filter((s) => !OURS.test(s.url)).map(strip).sort((a, b) => (a.url + a.name < b.url + b.name ? -1 : 1)), run);
  return norm({ crumbs: saw.crumbs.filter((c) => !OURS.test(c.url)), spans: saw.spans.filter((s) => !OURS.test(s.url)).map(strip), traceId: /^[0-9a-f]{32}$/.test(saw.traceId) }, run);
}

/** Runs the page's scenario; returns everything the page and the servers observed. */
async function observe(p) {
  const result = await p.page.evaluate(() => window.scenario());
  // OpenTelemetry ends a span 300 ms after the response (it waits for its resource timing).
  await p.page.waitForTimeout(800);
  const saw = await p.page.evaluate(() => (window.otherSaw ? window.otherSaw() : null));
  const seen = received(p.run, saw);
  let session;
  if (p.sdk) {
    // No SDK handle: the SDK's script failed (the page's errors say why).
    if (!(await p.page.evaluate(() => !!window.rum))) throw new Error('the SDK did not start: ' + p.errors.join('; '));
    await sdkLoaded(p.page).catch(async (e) => {
      throw new Error(e.message + ' ' + JSON.stringify(await p.page.evaluate(() => performance.getEntriesByType('resource').map((r) => r.name))) + p.errors);
    });
    session = await p.page.evaluate(() => localStorage.getItem('rum.session').split('.')[0]);
    await p.page.evaluate(() => window.rum.flush());
  }
  return { result: norm(result, p.run), saw, theirs: theirRecord(saw, p.run), seen, errors: norm(p.errors, p.run), session };
}

/** Our spans for `run`'s calls, from the gateway's session timeline, once all `paths` are there. */
async function ourSpans(o, run, paths) {
  return eventually(async () => {
    const s = await gateway.api('/api/sessions/' + o.session);
    const spans = s.items.filter((i) => i.type === 'fetch' && String(i.attributes['url.full']).includes('/echo/' + run + '/'));
    // Path → its spans, in call order (a URL called twice has two).
    const byPath = new Map();
    for (const i of spans) {
      const u = new URL(i.attributes['url.full']);
      const key = u.pathname.replace(run, 'RUN') + u.search;
      byPath.set(key, [...(byPath.get(key) || []), i]);
    }
    return paths.every((p) => byPath.has(p)) && { get: (path) => byPath.get(path)?.[0], all: (path) => byPath.get(path) || [] };
  }, 20000, `our spans for ${paths.join(', ')}`);
}

/** Asserts `withSdk` equals `without` except for our own traceparents, and returns where ours went. */
function assertSameAsWithout(without, withSdk, what) {
  assert.deepEqual(withSdk.result, without.result, `${what}: what the page observed`);
  assert.deepEqual(withSdk.theirs, without.theirs, `${what}: what the other SDK recorded`);
  assert.deepEqual(withSdk.errors, without.errors, `${what}: the page's errors`);
  const ours = [];
  const seen = withSdk.seen.map((r) => {
    if (r.traceparent.startsWith('other: ') && without.seen.find((w) => w.path === r.path)?.traceparent === 'absent') {
      ours.push({ path: r.path, traceparent: r.traceparent.slice(7) });
      return { ...r, traceparent: 'absent' };
    }
    return r;
  });
  assert.deepEqual(seen, without.seen, `${what}: the requests the servers received (our traceparent aside)`);
  return ours;
}

/** Every traceparent of ours is a span of ours in the gateway, for that call. */
async function assertOursStored(o, run, ours, paths) {
  const spans = await ourSpans(o, run, [...new Set([...paths, ...ours.map((x) => x.path)])]);
  for (const { path, traceparent } of ours) {
    const [, traceId, spanId] = TRACEPARENT.exec(traceparent);
    const span = spans.all(path).find((x) => x.span_id === spanId) || spans.get(path);
    assert.ok(span, 'our span for ' + path);
    assert.deepEqual([span.trace_id, span.span_id], [traceId, spanId], 'the traceparent the server got is our span for ' + path);
  }
  return spans;
}

const SAME_ORIGIN_NET = ['/echo/RUN/get?q=1', '/echo/RUN/post', '/echo/RUN/request', '/echo/RUN/xhr', '/echo/RUN/xhr-post', '/echo/RUN/xhr-sync'];
const NET_STEPS = ['get', 'post', 'request', 'cross', 'refused', 'xhr', 'xhr-post', 'xhr-sync'];
const NET_PATHS = [...SAME_ORIGIN_NET, '/echo/RUN/cross'];
// The browser logs a refused connection itself, with or without any SDK.
const NET = { scripts: ['net.js'] };

for (const otherSdk of ['otel', 'sentry']) {
  test(`${otherSdk === 'otel' ? 'OpenTelemetry web' : 'Sentry'} wrapping fetch and XHR before and after ours: the page and ${otherSdk} see the same`, async () => {
    const base = await open(otherSdk, 'none', { ...NET, otherSdk });
    const without = await observe(base);
    await base.context.close();
    // The other SDK works at all: it saw the calls and marked them.
    if (otherSdk === 'otel') {
      assert.equal(without.theirs.length, 8, 'OTel: a span per call: ' + JSON.stringify(without.theirs));
      assert.deepEqual(without.seen.filter((r) => r.at === 'SITE').map((r) => r.traceparent), Array(6).fill('otel'), 'OTel propagates to its origin');
    } else {
      assert.equal(without.theirs.crumbs.length, 8, 'Sentry: a breadcrumb per call');
      assert.deepEqual(without.seen.filter((r) => r.at === 'SITE').map((r) => r.sentry), Array(6).fill('sentry'), 'Sentry propagates to its origin');
      assert.ok(without.seen.filter((r) => r.at === 'SITE').every((r) => r.baggage === true), 'with its baggage');
    }
    for (const order of ['after', 'before']) {
      const p = await open(otherSdk, order, { ...NET, otherSdk });
      const withSdk = await observe(p);
      const ours = assertSameAsWithout(without, withSdk, `${otherSdk}, ours ${order === 'after' ? 'installed after theirs (ours wraps theirs)' : 'installed first (theirs wraps ours)'}`);
      // OTel owns the trace context of every call to its origin, in both orders; beside
      // Sentry, ours goes to every same-origin call.
      assert.deepEqual(ours.map((o) => o.path), otherSdk === 'otel' ? [] : SAME_ORIGIN_NET, 'where our traceparent went');
      const spans = await assertOursStored(withSdk, p.run, ours, NET_PATHS);
      assert.equal(spans.get('/echo/RUN/get?q=1').attributes['http.response.status_code'], 200);
      assert.equal(spans.get('/echo/RUN/xhr-post').attributes['http.request.method'], 'POST');
      await p.context.close();
    }
  });
}

test('Zone.js (as Angular loads it) before and after ours: same zones, macrotasks and stability', async () => {
  const opts = { otherSdk: 'zone', scripts: ['net.js', 'zone-work.js'] };
  const base = await open('zone', 'none', opts);
  const without = await observe(base);
  await base.context.close();
  assert.deepEqual(without.result.zones, [...NET_STEPS, 'setTimeout'].map((s) => s + ' app'), 'every callback in the app zone');
  assert.deepEqual(without.result.pending.slice(-1), ['macroTask:00'], 'the zone ends stable');
  assert.equal(without.result.promise, 'ZoneAwarePromise');
  for (const order of ['after', 'before']) {
    const p = await open('zone', order, opts);
    const withSdk = await observe(p);
    // Everything Zone.js counted is the same: our reactions to the page's calls (promise
    // reactions, XHR listeners) run outside the app zone, so NgZone would run no extra change
    // detection (it runs one after every task and microtask drain in its zone).
    console.log(`zone.js, ours ${order}: event tasks ${without.result.eventTasks} → ${withSdk.result.eventTasks}, micro tasks ${without.result.microTasks} → ${withSdk.result.microTasks}`);
    const ours = assertSameAsWithout(without, withSdk, 'zone.js ' + order);
    assert.deepEqual(ours.map((o) => o.path), SAME_ORIGIN_NET, 'where our traceparent went');
    await assertOursStored(withSdk, p.run, ours, NET_PATHS);
    await p.context.close();
  }
});

for (const [name, script, paths] of [
  ['fetch-edges', 'fetch-edges.js', ['/echo/RUN/request-body', '/echo/RUN/keepalive', '/echo/RUN/formdata', '/echo/RUN/abort-wait?delay=1500', '/echo/RUN/abort-body?delay=0']],
  ['xhr-edges', 'xhr-edges.js', ['/echo/RUN/sync-get', '/echo/RUN/sync-post', '/echo/RUN/blob', '/echo/RUN/abort?delay=1500', '/echo/RUN/timeout?delay=1500']],
]) {
  test(`${name}: every outcome and every request as without the SDK`, async () => {
    const base = await open(name, 'none', { scripts: [script] });
    const without = await observe(base);
    await base.context.close();
    const p = await open(name, 'sdk', { scripts: [script] });
    const withSdk = await observe(p);
    const ours = assertSameAsWithout(without, withSdk, name);
    const spans = await assertOursStored(withSdk, p.run, ours, paths);
    if (name === 'fetch-edges') {
      assert.equal(spans.get('/echo/RUN/abort-wait?delay=1500').attributes['error.type'], 'AbortError');
      assert.equal(spans.get('/echo/RUN/request-body').attributes['http.request.method'], 'POST');
    } else {
      assert.equal(spans.get('/echo/RUN/sync-post').attributes['http.response.status_code'], 200);
      assert.equal(spans.get('/echo/RUN/timeout?delay=1500').attributes['error.type'], 'timeout');
    }
    await p.context.close();
  });
}

for (const variant of ['esm', 'sdk']) {
  // rum.js once threw here as it loaded: esbuild's IIFE export helper walked the polluted
  // Object.prototype (now js/src/script.js sets RUM to a plain object).
  test(`a polluted page (${variant === 'esm' ? 'npm build' : 'script tag'}): the same requests, and our telemetry unpolluted`, async () => {
    const opts = { setup: ['pollute-setup.js'], scripts: ['pollute.js'] };
    const base = await open('pollute', 'none', opts);
    const without = await observe(base);
    await base.context.close();
    // The pollution is real: the browser reads an init object's inherited members.
    assert.deepEqual(without.seen.map((r) => [r.path, r.method, r.x.join()]), [
      ['/echo/RUN/no-init', 'GET', ''],
      ['/echo/RUN/init', 'PUT', 'x-polluted=yes'],
      ['/echo/RUN/request', 'GET', ''],
      // (The page's own XHR helper reads its headers from a default `{}`.)
      ['/echo/RUN/xhr', 'GET', 'x-polluted=yes'],
    ]);
    const p = await open('pollute', variant, opts);
    const withSdk = await observe(p);
    const ours = assertSameAsWithout(without, withSdk, 'polluted');
    const spans = await assertOursStored(withSdk, p.run, ours, ['/echo/RUN/no-init', '/echo/RUN/init', '/echo/RUN/xhr']);
    assert.equal(spans.get('/echo/RUN/no-init').attributes['error.type'], undefined, 'a polluted `error` is not our span’s');
    assert.equal(spans.get('/echo/RUN/no-init').attributes['http.request.method'], 'GET');
    // An event with attributes through a polluted Object.prototype and a replaced JSON.stringify.
    await p.page.evaluate(() => window.rum.event('hostile.event', { n: 1, list: [1], s: 'x' }));
    await p.page.evaluate(() => window.rum.flush());
    const event = await eventually(async () => (await gateway.api('/api/sessions/' + withSdk.session)).items.find((i) => i.type === 'event' && i.name === 'hostile.event'), 15000, 'the event');
    assert.deepEqual([event.attributes.n, event.attributes.s, event.attributes.polluted, event.attributes.method], [1, 'x', undefined, undefined]);
    // The SDK does call the page's JSON.stringify (for its vitals' attribution), never for the
    // event's attributes: Array.prototype.toJSON would turn an array there into a string.
    console.log(`polluted (${variant}): JSON.stringify calls from the SDK: ${await p.page.evaluate(() => window.sdkStringified)}`);
    assert.deepEqual(p.errors, []);
    await p.context.close();
  });
}

test('a frozen page (prototypes frozen, fetch read-only): works as without us, and telemetry arrives', async () => {
  const opts = { setup: ['frozen-setup.js'], scripts: ['frozen.js'] };
  const base = await open('frozen', 'none', opts);
  const without = await observe(base);
  await base.context.close();
  assert.ok(without.errors.some((e) => e.includes('page error on a frozen page')), 'the page throws its own error');
  for (const variant of ['esm', 'sdk']) {
    const p = await open('frozen', variant, opts);
    const withSdk = await observe(p);
    assertSameAsWithout(without, withSdk, 'frozen, ' + variant);
    // fetch and XHR cannot be wrapped (no spans, no traceparent), nor history (no route
    // change): the rest of the SDK works, its page view, vitals and the page's error arrive.
    const s = await eventually(async () => {
      const s = await gateway.api('/api/sessions/' + withSdk.session);
      return s.views.length === 1 && s.items.some((i) => i.type === 'vital' && i.name === 'FCP') && s.items.some((i) => i.type === 'error' && i.message === 'page error on a frozen page') && s;
    }, 15000, 'the frozen page’s view, its FCP and the page’s error');
    assert.ok(s.views[0].url.includes(p.run));
    await p.context.close();
  }
});

// Keeps the SDK's WebAssembly.Memory where the test can read its size (the page cannot reach
// the SDK's exports otherwise).
function keepWasmMemory() {
  for (const name of ['instantiateStreaming', 'instantiate']) {
    const original = WebAssembly[name];
    WebAssembly[name] = async function () {
      const result = await original.apply(this, arguments);
      const exports = (result.instance || result).exports;
      if (exports && exports.memory) window.wasmMemory = exports.memory;
      return result;
    };
  }
}

test('10,000 fetches on a long-lived page: the SDK’s memory stays bounded, its spans capped per page', async () => {
  const KiB = 1024;
  const p = await open('many', 'sdk', { scripts: ['many.js'], initScript: keepWasmMemory });
  await sdkLoaded(p.page);
  const cdp = await p.context.newCDPSession(p.page);
  const measure = async () => {
    // Let the SDK send what it holds, then collect garbage (twice: weak maps, finalizers).
    await p.page.evaluate(() => window.rum.flush());
    await p.page.waitForTimeout(1000);
    for (let i = 0; i < 2; i++) await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    return { heap: usedSize, wasm: await p.page.evaluate(() => window.wasmMemory.buffer.byteLength) };
  };
  const started = Date.now();
  await p.page.evaluate(() => window.many(0, 1000));
  const at1k = await measure();
  await p.page.evaluate(() => window.many(1000, 10000));
  const at10k = await measure();
  const seconds = (Date.now() - started) / 1000;
  console.log(`10,000 fetches in ${seconds} s; JS heap ${(at1k.heap / KiB).toFixed(0)} KiB at 1,000, ${(at10k.heap / KiB).toFixed(0)} KiB at 10,000 (${((at10k.heap - at1k.heap) / KiB).toFixed(1)} KiB); wasm memory ${at1k.wasm / KiB} KiB at 1,000, ${at10k.wasm / KiB} KiB at 10,000`);
  // The bound. The SDK keeps no per-call state once a call's record has gone into the wasm:
  // what it holds is fixed (the wasm's queue arena of 256 KiB, at most 512 items; the JS
  // queues capped at 100 records while the wasm loads). 9,000 more calls may then grow the
  // page's JS heap (the page's own and ours: measured alone, this page's own state does not
  // grow) by no more than 512 KiB: under 60 bytes a call, where keeping anything per call (a
  // record is a dozen fields with two hex ids and the URL, over 300 bytes) would exceed it
  // several times. The wasm's linear memory, which never shrinks, must not grow at all (it
  // grows in 64 KiB pages, so any per-call state there would show as whole pages).
  assert.ok(at10k.heap - at1k.heap <= 512 * KiB, `the JS heap grew ${((at10k.heap - at1k.heap) / KiB).toFixed(0)} KiB`);
  assert.ok(at1k.wasm > 0, 'the wasm memory was found');
  assert.equal(at10k.wasm, at1k.wasm, 'the wasm memory did not grow');
  // Telemetry: the SDK sends at most 1,000 spans per page load (rum-sdk/src/batch.rs,
  // MAX_SPANS_PER_VIEW: the document-load spans count too), so a page that polls forever
  // cannot grow its queue: the first calls' spans arrive, in full, and no later one.
  const session = await p.page.evaluate(() => localStorage.getItem('rum.session').split('.')[0]);
  const calls = async () => {
    const s = await gateway.api('/api/sessions/' + session);
    return s.items.filter((i) => i.type === 'fetch' && String(i.attributes['url.full']).includes('/echo/' + p.run + '/many?i=')).map((i) => Number(new URL(i.attributes['url.full']).searchParams.get('i')));
  };
  let last;
  await eventually(async () => (last = await calls()).length >= 990, 20000, 'the spans').catch((e) => assert.fail(e.message + ` (${last.length} spans)`));
  await new Promise((r) => setTimeout(r, 2000));
  const arrived = [...new Set(await calls())].sort((a, b) => a - b);
  console.log(`spans stored for the 10,000 calls: ${arrived.length} (calls 0–${arrived[arrived.length - 1]})`);
  assert.deepEqual(arrived, Array.from({ length: arrived.length }, (_, i) => i), 'the first calls, every one of them');
  assert.ok(arrived.length >= 990 && arrived.length < 1000, 'the first calls up to the cap of 1,000 spans a page');
  assert.deepEqual(p.errors, []);
  await p.context.close();
});

test('back/forward cache: the page with the SDK is restored exactly as without it, and keeps recording', async () => {
  const seen = {};
  for (const variant of ['none', 'sdk']) {
    const p = await open('bfcache', variant, { scripts: ['bfcache.js'] });
    await p.page.evaluate(() => window.scenario());
    if (p.sdk) await sdkLoaded(p.page);
    await p.page.click('#b');
    await p.page.waitForTimeout(300);
    await p.page.goto(site.url + '/pages/vitals/other.html');
    // A restore fires no load event: wait for the document to be back.
    await p.page.goBack({ waitUntil: 'commit' });
    await p.page.waitForFunction(() => document.title.startsWith('hostile'));
    await p.page.waitForTimeout(200);
    const after = await p.page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return { shows: window.shows || 'a new document', notRestoredReasons: nav.notRestoredReasons ? nav.notRestoredReasons.toJSON() : null };
    });
    seen[variant] = after;
    if (p.sdk) {
      // Still recording after the restore: a call's span reaches the gateway.
      await p.page.evaluate(() => fetch(H.base + 'after-restore').then((r) => r.text()));
      await p.page.evaluate(() => window.rum.flush());
      const session = await p.page.evaluate(() => localStorage.getItem('rum.session').split('.')[0]);
      await ourSpans({ session }, p.run, ['/echo/RUN/before-leaving', '/echo/RUN/xhr-before-leaving', '/echo/RUN/after-restore']);
      seen.errors = p.errors;
    }
    await p.context.close();
  }
  console.log('bfcache:', JSON.stringify(seen));
  assert.deepEqual(seen.none.shows, [false, true], 'the page without the SDK is restored from the cache');
  assert.deepEqual(seen.sdk, seen.none, 'with the SDK: restored the same way, the same notRestoredReasons');
  assert.deepEqual(seen.errors, []);
});

// The browser caps the bytes of keepalive requests in flight, sendBeacon's included, at 64 KiB
// a page. Our pagehide listener does not capture and is registered as the wasm loads, so the
// page's own pagehide listeners (registered before) send first and our beacons (up to 30 KB
// each) take what is left: the page's own 40 KiB keepalive POST leaves as without the SDK. (With
// a capturing listener ours ran first, and the page's POST was refused in two runs of three.)
test("keepalive at unload: the page's own 40 KiB keepalive POST still leaves beside our last beacons", async () => {
  const arrived = {};
  for (const variant of ['none', 'sdk']) {
    // Notes each sendBeacon (bytes, refused or not) where the test can read it after the page
    // has gone: localStorage.
    const noteBeacons = () => {
      const send = navigator.sendBeacon.bind(navigator);
      navigator.sendBeacon = (url, body) => {
        const ok = send(url, body);
        localStorage.setItem('beacons', (localStorage.getItem('beacons') || '') + (body.size ?? body.length) + (ok ? '' : ' refused') + ', ');
        return ok;
      };
    };
    const p = await open('unload', variant, { scripts: ['unload.js'], initScript: noteBeacons });
    if (p.sdk) await sdkLoaded(p.page);
    await p.page.evaluate(() => window.scenario());
    await p.page.evaluate(() => localStorage.setItem('beacons', ''));
    await p.page.goto('about:blank');
    await eventually(() => site.seen.some((s) => s.path === `/echo/${p.run}/unload`), 3000, 'the unload POST').catch(() => {});
    arrived[variant] = site.seen.some((s) => s.path === `/echo/${p.run}/unload`);
    if (p.sdk) {
      await p.page.goto(site.url + '/pages/vitals/other.html');
      console.log('our beacons as the page unloaded (bytes):', await p.page.evaluate(() => localStorage.getItem('beacons')));
    }
    await p.context.close();
  }
  assert.deepEqual(arrived, { none: true, sdk: true }, "the page's own POST at pagehide arrived");
});
