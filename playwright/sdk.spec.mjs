// The SDK on plain test pages: trace propagation only where allowed, the page unharmed when
// the wasm cannot load, fetch semantics unchanged, and the script-tag build.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startStatic, launchBrowser, eventually, watchErrors, sdkLoaded, closedPort } from './harness.mjs';

let gateway, site, other, browser;
before(async () => {
  gateway = await startGateway();
  site = await startStatic(gateway);
  other = await startStatic(gateway);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await site?.stop();
  await other?.stop();
  await gateway?.stop();
});

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

async function open(path, setup) {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  if (setup) await setup(page);
  await page.goto(site.url + path);
  await page.waitForFunction(() => window.rumReady || window.rum);
  return { page, errors };
}

const call = (page, url, init) => page.evaluate(([u, i]) => fetch(u, i).then((r) => r.json()), [url, init]);
const seenAt = (server, path) => server.seen.find((s) => s.path === path);

test('traceparent goes to the page origin by default and never to another origin', async () => {
  const { page, errors } = await open('/pages/esm.html');
  await call(page, site.url + '/echo/same');
  await call(page, other.url + '/echo/cross');
  assert.match(seenAt(site, '/echo/same').headers.traceparent, TRACEPARENT);
  assert.equal(seenAt(other, '/echo/cross').headers.traceparent, undefined);
  assert.deepEqual(errors, []);
  await page.close();
});

test('propagateTraceTo opens other origins by origin string or RegExp, and only those', async () => {
  const { page } = await open('/pages/esm.html?propagate=' + encodeURIComponent(other.url));
  await call(page, other.url + '/echo/allowed-origin');
  await call(page, site.url + '/echo/now-not-allowed');
  assert.match(seenAt(other, '/echo/allowed-origin').headers.traceparent, TRACEPARENT);
  assert.equal(seenAt(site, '/echo/now-not-allowed').headers.traceparent, undefined);
  await page.close();

  const { page: page2 } = await open('/pages/esm.html?propagate=' + encodeURIComponent('/\\/echo\\/api-/'));
  await call(page2, other.url + '/echo/api-x');
  await call(page2, other.url + '/echo/other-y');
  assert.match(seenAt(other, '/echo/api-x').headers.traceparent, TRACEPARENT);
  assert.equal(seenAt(other, '/echo/other-y').headers.traceparent, undefined);
  await page2.close();
});

test('fetch behaves as without the SDK: headers, bodies, Request objects, errors', async () => {
  const { page, errors } = await open('/pages/esm.html');
  // The page's own headers survive, and its own traceparent is not replaced.
  await call(page, site.url + '/echo/h1', { method: 'POST', headers: { 'x-app': 'a1', 'content-type': 'text/plain' }, body: 'hello' });
  const h1 = seenAt(site, '/echo/h1');
  assert.equal(h1.method, 'POST');
  assert.equal(h1.headers['x-app'], 'a1');
  assert.match(h1.headers.traceparent, TRACEPARENT);
  const mine = '00-11111111111111111111111111111111-2222222222222222-01';
  await call(page, site.url + '/echo/h2', { headers: { traceparent: mine } });
  assert.equal(seenAt(site, '/echo/h2').headers.traceparent, mine);
  // A Request object keeps its method and headers.
  await page.evaluate((u) => fetch(new Request(u, { method: 'PUT', headers: { 'x-req': 'r1' }, body: 'b' })).then((r) => r.text()), site.url + '/echo/h3');
  const h3 = seenAt(site, '/echo/h3');
  assert.equal(h3.method, 'PUT');
  assert.equal(h3.headers['x-req'], 'r1');
  assert.match(h3.headers.traceparent, TRACEPARENT);
  // Results and failures are the page's own: same status, body, and error type.
  const refused = `http://127.0.0.1:${await closedPort()}/refused`;
  const outcome = await page.evaluate(async (refusedUrl) => {
    const r = await fetch('/echo/status');
    let error;
    try {
      await fetch(refusedUrl);
    } catch (e) {
      error = e.constructor.name;
    }
    return { status: r.status, ok: r.ok, body: await r.json(), error, name: fetch.name, length: fetch.length };
  }, refused);
  assert.deepEqual(outcome, { status: 200, ok: true, body: { ok: true, path: '/echo/status' }, error: 'TypeError', name: 'fetch', length: 2 });
  // The browser itself logs the refused connection, with or without the SDK.
  assert.deepEqual(errors.filter((e) => !e.includes('ERR_CONNECTION_REFUSED')), []);
  await page.close();
});

test('with the wasm blocked, init fails quietly and the page keeps working', async () => {
  const { page, errors } = await open('/pages/esm.html', (p) => p.route('**/*.wasm', (r) => r.abort()));
  const result = await page.evaluate(async () => {
    const handle = window.rum;
    handle.flush();
    const body = await fetch('/echo/without-wasm').then((r) => r.json());
    document.getElementById('b').click();
    return { hasFlush: typeof handle.flush, body };
  });
  assert.deepEqual(result, { hasFlush: 'function', body: { ok: true, path: '/echo/without-wasm' } });
  assert.deepEqual(errors.filter((e) => !/Failed to load resource|net::ERR_FAILED/.test(e)), []);
  await page.close();
});

test('init with bad options never throws', async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(site.url + '/pages/script-tag.html');
  const kinds = await page.evaluate(() => [undefined, null, 42, {}, { endpoint: 7 }].map((o) => typeof RUM.init(o)));
  assert.deepEqual(kinds, ['object', 'object', 'object', 'object', 'object']);
  assert.deepEqual(errors, []);
  await page.close();
});

test('an unsampled session propagates its decision and sends nothing', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const wasm = [];
  page.on('request', (r) => r.url().endsWith('.wasm') && wasm.push(r.url()));
  await page.goto(site.url + '/pages/esm.html?rate=0');
  await page.waitForFunction(() => window.rumReady);
  await call(page, site.url + '/echo/unsampled');
  assert.match(seenAt(site, '/echo/unsampled').headers.traceparent, /-00$/, 'sampled flag off');
  assert.deepEqual(wasm, [], 'the wasm is not even downloaded');
  await ctx.close();
});

test('a batch over 64 KB is split into beacons sendBeacon accepts', async () => {
  const { page, errors } = await open('/pages/esm.html');
  await sdkLoaded(page);
  // 29 fetches with 3,000-character URLs: about 100 KB of spans in one batch.
  const pad = 'x'.repeat(3000);
  await page.evaluate((p) => Promise.all(Array.from({ length: 29 }, (_, i) => fetch(`/echo/split-${i}?pad=${p}`))), pad);
  await page.evaluate(() => window.rum.flush());
  const stored = await eventually(async () => {
    const { traces } = await gateway.api('/api/traces?limit=1000');
    const spans = (await Promise.all(traces.map((t) => gateway.api('/api/traces/' + t.trace_id)))).flatMap((t) => t.spans);
    const split = spans.filter((s) => /\/echo\/split-\d+/.test(String(s.attributes['url.full'])));
    return split.length === 29 && split;
  }, 15000, 'all 29 spans stored');
  assert.equal(new Set(stored.map((s) => s.attributes['url.full'])).size, 29);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the script-tag build exposes window.RUM and delivers a page view on hide', async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(site.url + '/pages/script-tag.html');
  await sdkLoaded(page);
  await page.goto('about:blank');
  const view = await eventually(async () => {
    const { page_views } = await gateway.api('/api/page_views');
    return page_views.find((v) => v.resource['service.name'] === 'script-tag-page' && v.vitals.FCP);
  }, 15000, 'the script-tag page view');
  assert.ok(view.vitals.FCP.value > 0);
  assert.deepEqual(errors, []);
  await page.close();
});
