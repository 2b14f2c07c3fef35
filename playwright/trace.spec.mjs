// End to end: the demo shop in real Chromium with the SDK → gateway ← demo backend (OTLP).
// One page load yields a page view with all five vitals and ONE trace holding the browser's
// fetch span and the backend's server span, parented across the process boundary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import Ajv2020 from 'ajv/dist/2020.js';
import { startGateway, startDemo, startStatic, launchBrowser, eventually, watchErrors, sdkLoaded, root } from './harness.mjs';

let gateway, demo, other, browser;
before(async () => {
  gateway = await startGateway();
  demo = await startDemo(gateway);
  other = await startStatic(gateway);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await demo?.stop();
  await other?.stop();
  await gateway?.stop();
});

const validateBeacon = new Ajv2020({ allErrors: true, strict: false }).compile(
  JSON.parse(readFileSync(root + 'docs/beacon-v1.schema.json', 'utf8')),
);

test('demo page: page view with five vitals, and the fetch joined to the backend span in one trace', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  const beacons = [];
  // The bodies the SDK hands to sendBeacon, as bytes. (Playwright does not report the body of
  // a Blob beacon; a live page's beacons are gzip-compressed Blobs, `encoding=gzip` in the URL.)
  await context.addInitScript(() => {
    window.wire = [];
    const sendBeacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, body) => {
      window.wire.push({ url, body });
      return sendBeacon(url, body);
    };
  });
  const wire = () =>
    page.evaluate(() =>
      Promise.all(
        window.wire.map(async ({ url, body }) => ({
          url,
          bytes: [...new Uint8Array(await new Response(body).arrayBuffer())],
        })),
      ),
    );

  await page.goto(demo.url);
  await page.click('#add-to-cart');
  await page.waitForFunction(() => /ok/i.test(document.querySelector('#cart-status')?.textContent || ''));

  // A fetch to an origin outside propagateTraceTo (the default: same origin only).
  const status = await page.evaluate((u) => fetch(u + '/echo/other-origin').then((r) => r.status), other.url);
  assert.equal(status, 200);
  const seen = other.seen.find((s) => s.path === '/echo/other-origin');
  assert.ok(seen, 'the other origin received the call');
  assert.equal(seen.headers.traceparent, undefined, 'no traceparent to an origin not allowed');

  await sdkLoaded(page);
  // A flush while the page is alive, so the test sees a beacon (one sent while the page
  // unloads cannot be read back from it).
  await page.evaluate(() => window.rum.flush());
  const sent = await eventually(async () => {
    const w = await wire();
    return w.length > 0 && w;
  }, 5000, 'a beacon on the wire');
  for (const { url, bytes } of sent) {
    const body = Buffer.from(bytes);
    beacons.push((new URL(url).searchParams.get('encoding') === 'gzip' ? gunzipSync(body) : body).toString());
  }
  // Leaving the document is what reliably hides a page in headless Chromium.
  await page.goto('about:blank');

  const view = await eventually(async () => {
    const { page_views } = await gateway.api('/api/page_views');
    const v = page_views.find((p) => p.url.startsWith(demo.url));
    return v && ['FCP', 'LCP', 'TTFB', 'CLS', 'INP'].every((n) => v.vitals[n]) && v;
  }, 15000, 'a page view with FCP, LCP, TTFB, CLS and INP');
  console.log('vitals:', Object.fromEntries(Object.entries(view.vitals).map(([k, v]) => [k, v.value])));
  assert.match(view.session_id, /^[0-9a-f]{32}$/);
  assert.equal(view.navigation_type, 'navigate');
  assert.ok(view.vitals.FCP.value > 0, 'FCP > 0');
  assert.ok(view.vitals.LCP.value > 0, 'LCP > 0');
  assert.ok(view.vitals.LCP.value >= view.vitals.FCP.value, 'LCP ≥ FCP');
  assert.ok(view.vitals.TTFB.value > 0, 'TTFB > 0');
  assert.ok(view.vitals.CLS.value >= 0, 'CLS ≥ 0');
  assert.ok(view.vitals.INP.value >= 0, 'INP after the click');
  for (const v of Object.values(view.vitals)) assert.match(v.rating, /^(good|needs-improvement|poor)$/);
  assert.equal(view.resource['service.name'], 'demo-shop-web');

  const joined = await eventually(async () => {
    const { traces } = await gateway.api('/api/traces?limit=100');
    for (const t of traces) {
      const trace = await gateway.api('/api/traces/' + t.trace_id);
      const fetchSpan = trace.spans.find((s) => s.kind === 'client' && String(s.attributes['url.full']).endsWith('/api/cart'));
      const server = trace.spans.find((s) => s.kind === 'server' && s.name === 'POST /api/cart');
      if (fetchSpan && server) return { trace, fetchSpan, server };
    }
  }, 15000, 'one trace with the fetch span and the server span');
  const { trace, fetchSpan, server } = joined;
  assert.equal(server.parent_span_id, fetchSpan.span_id, 'the server span is the child of the fetch span');
  // The click that made the call is the trace's root: the fetch is the action's child.
  const action = trace.spans.find((s) => s.span_id === fetchSpan.parent_span_id);
  assert.ok(action, 'the fetch span has its action in the trace');
  assert.equal(action.attributes['rum.action.name'], 'Add to cart');
  assert.equal(action.parent_span_id ?? null, null, 'the action is the root');
  assert.equal(server.trace_id, fetchSpan.trace_id);
  assert.equal(fetchSpan.source, 'browser');
  assert.equal(server.source, 'otlp');
  assert.equal(server.resource['service.name'], 'demo-shop-backend');
  assert.equal(fetchSpan.attributes['http.request.method'], 'POST');
  assert.equal(fetchSpan.attributes['http.response.status_code'], 200);
  assert.equal(fetchSpan.attributes['session.id'], view.session_id);
  assert.ok(BigInt(fetchSpan.end_time_unix_nano) > BigInt(fetchSpan.start_time_unix_nano));
  assert.equal(trace.page_view?.page_view_id, view.page_view_id, 'the trace shows its page view');

  // The other-origin call is traced too, as its own trace, without propagation.
  const { traces } = await gateway.api('/api/traces?limit=100');
  const spans = (await Promise.all(traces.map((t) => gateway.api('/api/traces/' + t.trace_id)))).flatMap((t) => t.spans);
  assert.ok(spans.some((s) => String(s.attributes['url.full']).startsWith(other.url + '/echo/other-origin')));
  assert.ok(!spans.some((s) => /\.wasm$|\/v1\/rum/.test(String(s.attributes['url.full']))), "no spans for the SDK's own requests");

  assert.ok(beacons.length > 0, 'beacons were sent');
  for (const body of beacons) {
    assert.ok(validateBeacon(JSON.parse(body)), 'beacon matches docs/beacon-v1.schema.json: ' + JSON.stringify(validateBeacon.errors));
  }
  assert.deepEqual(errors, [], 'no errors on the page');
  await context.close();
});

test('the viewer lists the trace and renders its waterfall', async () => {
  const { traces } = await gateway.api('/api/traces?limit=100');
  // The cart click's trace: the action span as root, the browser's client spans under it and
  // the backend's spans under those (the page load's trace has the backend's GET / as its root).
  const withServer = [];
  for (const t of traces) {
    if (t.span_count < 2) continue;
    const { spans } = await gateway.api('/api/traces/' + t.trace_id);
    if (spans.some((s) => s.attributes['rum.action.type'] && !s.parent_span_id) && spans.some((s) => s.kind === 'server')) withServer.push(t);
  }
  assert.ok(withServer.length > 0, 'the first test stored a joined trace');
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(gateway.admin + '/');
  await page.waitForSelector('#traces a');
  // Per page (the Pages page): the p75 of each vital with its rating shares, from /api/pages.
  await page.goto(gateway.admin + '/#/pages');
  await page.waitForSelector('#pages [data-p75="LCP"]');
  const { pages } = await gateway.api('/api/pages');
  const demoPage = pages.find((p) => p.path === '/');
  assert.ok(demoPage && demoPage.vitals.LCP.count >= 1, 'the demo page is summarised');
  const cell = await page.$eval('#pages [data-p75="LCP"]', (td) => td.textContent);
  assert.match(cell, /\d+ ms/);
  // The same vitals over a time range, from /api/vitals/quantiles (raw reports: the last 7 days).
  const week = await gateway.api('/api/vitals/quantiles?metric=LCP&from_ms=' + (Date.now() - 7 * 86400000));
  assert.equal(week.source, 'raw');
  assert.ok(week.count >= 1);
  await page.waitForSelector('#vitals-range [data-range-p75="LCP"][data-source]');
  const ranged = await page.$eval('#vitals-range [data-range-p75="LCP"]', (td) => td.textContent);
  const expected = (week.p75 < 10 ? week.p75.toFixed(2) : week.p75.toFixed(0)) + ' ms';
  assert.ok(ranged.startsWith(expected), `the ranged p75 is the API's ${expected}: ${ranged}`);
  assert.ok(ranged.includes('n=' + week.count), ranged);
  assert.ok(await page.waitForSelector('#page-views details'), 'attribution shown with the page view vitals');
  await page.goto(gateway.admin + '/#/trace/' + withServer[0].trace_id);
  await page.waitForSelector('#waterfall .row');
  const rows = await page.$$eval('#waterfall .row', (els) => els.map((e) => ({ depth: Number(e.dataset.depth), text: e.textContent })));
  assert.ok(rows.some((r) => r.depth === 0 && /click Add to cart/.test(r.text)), 'the click is the root');
  assert.ok(rows.some((r) => r.depth === 1 && /client/.test(r.text)), 'the browser fetch span is under it');
  assert.ok(rows.some((r) => r.depth === 2 && /server/.test(r.text)), 'the backend span is indented under that');
  assert.ok((await page.$$('[data-vital]')).length === 5, 'the page view vitals are shown');
  assert.deepEqual(errors, []);
  await page.close();
});
