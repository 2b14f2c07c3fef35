// Document-load traces in real Chromium: the demo page's load is ONE trace with the backend's
// `GET /` span (named by the page's Server-Timing) above documentLoad, documentFetch and a
// resourceFetch per stylesheet, script and image; a page without Server-Timing or meta is a
// trace of its own; a page of 400 resources sends at most the cap and says how many it left
// out; every beacon validates against docs/beacon-v1.schema.json.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import Ajv2020 from 'ajv/dist/2020.js';
import { startGateway, startDemo, startStatic, launchBrowser, eventually, watchErrors, sdkLoaded, root } from './harness.mjs';

let gateway, demo, site, browser;
before(async () => {
  gateway = await startGateway();
  demo = await startDemo(gateway);
  site = await startStatic(gateway);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await demo?.stop();
  await site?.stop();
  await gateway?.stop();
});

const validateBeacon = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(root + 'docs/beacon-v1.schema.json', 'utf8')));

// Opens `url` recording every beacon body the SDK hands to sendBeacon, flushes once the page
// has loaded and recorded its load, and returns the beacons as parsed JSON.
async function loadAndCapture(url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  await context.addInitScript(() => {
    window.wire = [];
    const sendBeacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (u, body) => (window.wire.push({ u, body }), sendBeacon(u, body));
  });
  await page.goto(url);
  await sdkLoaded(page);
  await page.waitForFunction(() => performance.getEntriesByType('navigation')[0].loadEventEnd > 0);
  // The SDK records the page load in a task after `load` once its wasm is live, which a busy
  // machine may reach late: flush until a beacon holds documentLoad.
  const read = async () => {
    await page.evaluate(() => window.rum.flush());
    const wire = await page.evaluate(() => Promise.all(window.wire.map(async ({ u, body }) => ({ u, bytes: [...new Uint8Array(await new Response(body).arrayBuffer())] }))));
    return wire.map(({ u, bytes }) => {
      const body = Buffer.from(bytes);
      return JSON.parse((new URL(u).searchParams.get('encoding') === 'gzip' ? gunzipSync(body) : body).toString());
    });
  };
  const beacons = await eventually(async () => {
    const b = await read();
    return b.some((x) => (x.spans || []).some((s) => s.name === 'documentLoad')) && b;
  }, 10000, 'a beacon holding documentLoad');
  for (const b of beacons) assert.ok(validateBeacon(b), 'beacon matches docs/beacon-v1.schema.json: ' + JSON.stringify(validateBeacon.errors));
  const viewId = beacons[0].view.id;
  await context.close();
  return { beacons, viewId, errors };
}

async function storedTrace(predicate, what) {
  return eventually(async () => {
    const { traces } = await gateway.api('/api/traces?limit=200');
    for (const t of traces) {
      const trace = await gateway.api('/api/traces/' + t.trace_id);
      if (predicate(trace)) return trace;
    }
  }, 15000, what);
}

const ns = (s) => [BigInt(s.start_time_unix_nano), BigInt(s.end_time_unix_nano)];
const within = (child, parent) => {
  const [cs, ce] = ns(child);
  const [ps, pe] = ns(parent);
  return cs >= ps && ce <= pe;
};

test('the demo page load is one trace: GET / above documentLoad, documentFetch and its resources', async () => {
  const { beacons, viewId, errors } = await loadAndCapture(demo.url);
  assert.deepEqual(errors, []);
  const trace = await storedTrace(
    (t) => t.spans.some((s) => s.name === 'documentLoad' && s.attributes['rum.page_view.id'] === viewId) && t.spans.some((s) => s.kind === 'server'),
    'the page load joined to the backend span',
  );
  const by = (name) => trace.spans.filter((s) => s.name === name);
  const server = trace.spans.find((s) => s.kind === 'server' && s.source === 'otlp');
  const [load] = by('documentLoad');
  const [fetch] = by('documentFetch');
  assert.equal(server.name, 'GET /');
  assert.equal(server.resource['service.name'], 'demo-shop-backend');
  assert.equal(load.parent_span_id, server.span_id, 'documentLoad is the server span’s child');
  assert.equal(fetch.parent_span_id, load.span_id);
  assert.equal(load.source, 'browser');
  const resources = by('resourceFetch');
  for (const file of ['/static/shop.css', '/static/shop.js', '/static/logo.svg']) {
    const r = resources.find((s) => new URL(s.attributes['url.full']).pathname === file);
    assert.ok(r, `a resourceFetch for ${file}: ${resources.map((s) => s.attributes['url.full'])}`);
    assert.equal(r.parent_span_id, load.span_id);
    assert.equal(r.attributes['http.response.status_code'], 200);
    assert.ok(r.attributes['http.response.body.size'] > 0, 'sizes of a same-origin resource');
  }
  assert.ok(!resources.some((s) => /\/api\/|\.wasm$/.test(s.attributes['url.full'])), 'fetch calls and the SDK are not resources');
  for (const child of [fetch, ...resources]) assert.ok(within(child, load), `${child.name} ${child.attributes['url.full']} within documentLoad`);
  // The navigation marks are span events inside documentLoad, matching the browser's entry.
  const marks = Object.fromEntries(load.events.map((e) => [e.name, BigInt(e.time_unix_nano)]));
  // (firstContentfulPaint is there when the page painted before its load ended, which a busy
  // machine may not do: a later paint is left out, so every mark lies inside documentLoad.)
  for (const m of ['fetchStart', 'domInteractive', 'domContentLoadedEventStart', 'domComplete', 'loadEventStart', 'loadEventEnd']) {
    assert.ok(marks[m], `documentLoad has the ${m} mark: ${Object.keys(marks)}`);
  }
  const [ls, le] = ns(load);
  for (const [m, t] of Object.entries(marks)) assert.ok(t >= ls && t <= le, `${m} within documentLoad`);
  assert.equal(marks.fetchStart, ls);
  assert.equal(marks.loadEventEnd, le);
  assert.ok(marks.domInteractive <= marks.domComplete);
  const fetchMarks = fetch.events.map((e) => e.name);
  assert.ok(fetchMarks.includes('requestStart') && fetchMarks.includes('responseStart') && fetchMarks.includes('responseEnd'), String(fetchMarks));
  assert.equal(fetch.attributes['http.response.status_code'], 200);
  assert.equal(fetch.attributes['network.protocol.name'], 'http');
  assert.equal(load.attributes['url.full'], demo.url + '/');

  // The viewer draws it: the server span on top, documentLoad beneath with the navigation
  // marks as ticks, the fetches beneath that, all on one time axis.
  const page = await browser.newPage();
  const viewerErrors = watchErrors(page);
  await page.goto(gateway.admin + '/#/trace/' + load.trace_id);
  await page.waitForSelector('#waterfall .row');
  const rows = await page.$$eval('#waterfall .row', (els) => els.map((e) => ({ depth: Number(e.dataset.depth), text: e.textContent, marks: [...e.querySelectorAll('.mark')].map((m) => m.dataset.mark) })));
  assert.ok(/GET \//.test(rows[0].text) && rows[0].depth === 0, `the server span first: ${rows[0].text}`);
  const loadRow = rows.find((r) => /documentLoad/.test(r.text));
  assert.equal(loadRow.depth, 1);
  for (const m of ['domInteractive', 'domContentLoadedEventStart', 'loadEventEnd']) assert.ok(loadRow.marks.includes(m), `a ${m} tick: ${loadRow.marks}`);
  assert.ok(rows.filter((r) => /resourceFetch/.test(r.text) && r.depth === 2).length >= 3, 'the resources beneath documentLoad');
  assert.ok((await page.$$('#axis .tick')).length >= 2, 'a time axis with ticks');
  assert.deepEqual(viewerErrors, []);
  await page.close();
});

test('a page without Server-Timing or meta traceparent is a page-load trace of its own', async () => {
  const { viewId } = await loadAndCapture(site.url + '/pages/esm.html');
  const trace = await storedTrace((t) => t.spans.some((s) => s.name === 'documentLoad' && s.attributes['rum.page_view.id'] === viewId), 'the esm page load');
  const load = trace.spans.find((s) => s.name === 'documentLoad');
  assert.equal(load.parent_span_id ?? null, null, 'documentLoad is the root');
  assert.ok(trace.spans.every((s) => s.source === 'browser'));
  assert.ok(trace.spans.some((s) => s.name === 'documentFetch' && s.parent_span_id === load.span_id));
});

test('a page of 400 resources sends at most 250 resource spans and says how many it left out', async () => {
  const { beacons, viewId } = await loadAndCapture(site.url + '/pages/many-resources.html');
  const sent = beacons.flatMap((b) => b.spans || []);
  const load = sent.find((s) => s.name === 'documentLoad');
  const resources = sent.filter((s) => s.name === 'resourceFetch');
  assert.ok(beacons.length >= 2, `the spans leave in several beacons (${beacons.length})`);
  assert.equal(resources.length, 250);
  const images = resources.filter((s) => s.attrs['url.full'].includes('/img/noise.png'));
  assert.ok(images.length >= 240, 'the cap kept the earliest, the images');
  assert.ok(load.attrs['rum.document_load.resources_dropped'] >= 150, `dropped: ${load.attrs['rum.document_load.resources_dropped']}`);
  assert.equal(resources.length + load.attrs['rum.document_load.resources_dropped'] >= 400, true);
  const stored = await storedTrace((t) => t.spans.some((s) => s.name === 'documentLoad' && s.attributes['rum.page_view.id'] === viewId) && t.spans.length >= 252, 'all 252 spans stored');
  assert.equal(stored.spans.filter((s) => s.name === 'resourceFetch').length, 250);
});
