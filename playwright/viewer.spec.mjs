// The viewer in real Chromium against the real gateway filled with KNOWN data: six traces of
// distinct services, names, URLs and routes, statuses, durations, times, sessions, users and
// page views (one joining a browser fetch span to its backend server span, one backend-only,
// one carrying markup everywhere a beacon can), and page views whose LCP values give a known
// p75 per page and per device. It checks that the traces search finds exactly the expected
// traces by each filter (and by its link in a fresh page), the trace page (time axis, legend,
// network gap, detail tables, keyboard), the pages chart's p75 and the page views behind a
// point, the links between page view, session and trace, and that markup runs nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startGateway, launchBrowser, eventually, watchErrors, root } from './harness.mjs';

let gateway, browser;
before(async () => {
  gateway = await startGateway();
  browser = await launchBrowser();
  await fill();
});
after(async () => {
  await browser?.close();
  await gateway?.stop();
});

const PAYLOAD = '<img src=x onerror="window.__xss=1">';
const SHOTS = root + 'playwright/test-results/';
// Ids that look like real ones (random hex), and are the same on every run.
const hex = (n, width) => createHash('sha256').update(`viewer-spec ${n} ${width}`).digest('hex').slice(0, width);
const ns = (ms) => String(BigInt(Math.round(ms)) * 1000000n);
const NOW = Date.now();
const MIN = 60000;
const HOUR = 3600000;

// ---- the known data ---------------------------------------------------------------------------

const T = {
  joined: hex(0xa1, 32), // browser action → fetch (shop-web) → server → reserve stock (shop-api)
  failing: hex(0xa2, 32), // a browser fetch with error status, 1.5 s
  billing: hex(0xa3, 32), // backend only (billing-api), 2.5 s, a child with error status, 2 days ago
  checkout: hex(0xa4, 32), // the checkout page load (documentLoad), 3 hours ago
  evil: hex(0xa5, 32), // markup in a span name, URL, attribute key and value, action target
  products: hex(0xa6, 32), // backend only (shop-api), 40 ms, 40 minutes ago
};
const S = { alice: hex(0x51, 32), bob: hex(0x52, 32), evil: hex(0x53, 32) };
const PV = { product: hex(0x61, 16), checkout: hex(0x62, 16), evil: hex(0x63, 16) };
const start = {
  joined: NOW - 4 * MIN, failing: NOW - 3 * MIN, evil: NOW - 2 * MIN,
  products: NOW - 40 * MIN, checkout: NOW - 3 * HOUR, billing: NOW - 2 * 24 * HOUR,
};
const ALL = [T.evil, T.failing, T.joined, T.products, T.checkout, T.billing]; // newest first

// Page views with LCP only (no spans), all in the hour before the current one: per page and
// device, nearest-rank p75 (the smallest value ≥ 75 % of the reports).
const HOUR_START = Math.floor(NOW / HOUR) * HOUR - HOUR;
const CHECKOUT_LCP = [1000, 1200, 1400, 1600, 1800, 2000, 2200, 2400]; // odd index: mobile
const PRODUCT_LCP = [500, 700, 900, 1100];
const p75 = (values) => [...values].sort((a, b) => a - b)[Math.ceil(0.75 * values.length) - 1];
const dataset = [
  ...CHECKOUT_LCP.map((lcp, i) => ({ page: '/checkout', path: '/checkout', lcp, mobile: i % 2 === 1 })),
  ...PRODUCT_LCP.map((lcp, i) => ({ page: '/product/:id', path: '/product/' + (10 + i), lcp, mobile: false })),
].map((v, i) => ({ ...v, id: hex(0x7000 + i, 16), session: hex(0x7000 + i, 32), start: HOUR_START + 5 * MIN + i * 10000 }));

async function post(url, body, headers = { 'content-type': 'text/plain' }) {
  // The default per-address rate (50/s, burst 100): wait for a token when refused.
  for (;;) {
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.status !== 429) {
      assert.equal(res.status, 200, `${url}: ${await res.text()}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function beacon({ session, user, view, spans = [], vitals = [], context }) {
  return post(`${gateway.ingest}/v1/rum?key=dev`, {
    v: 1, sentAt: Date.now(),
    resource: { 'service.name': 'shop-web', 'service.version': '1.0.0', 'deployment.environment.name': 'prod' },
    session: { id: session },
    view: { type: 'navigate', ...view },
    ...(user ? { user: { id: user } } : {}),
    ...(context ? { context } : {}),
    spans, vitals,
  });
}

const otlpAttrs = (o) => Object.entries(o).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } }));
function otlp(service, spans) {
  return post(`${gateway.ingest}/v1/traces`, {
    resourceSpans: [{
      resource: { attributes: otlpAttrs({ 'service.name': service, 'service.version': '2.0.0' }) },
      scopeSpans: [{ scope: { name: 'test' }, spans: spans.map((s) => ({
        traceId: s.traceId, spanId: s.spanId, ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
        name: s.name, kind: s.kind, startTimeUnixNano: ns(s.start), endTimeUnixNano: ns(s.end),
        attributes: otlpAttrs(s.attrs || {}), status: s.error ? { code: 2, message: 'failed' } : { code: 1 },
      })) }],
    }],
  }, { 'content-type': 'application/json', authorization: 'Bearer dev' });
}

async function fill() {
  const productView = { id: PV.product, url: 'http://localhost:8080/product/42', name: '/product/:id', start: start.joined - 30000 };
  // The joined trace: the click, its fetch; the backend's server span beneath the fetch.
  const j = start.joined;
  await beacon({
    session: S.alice, user: 'alice', view: productView,
    spans: [
      { traceId: T.joined, spanId: hex(0x101, 16), name: 'click Add to cart', kind: 'internal', start: j, end: j + 400,
        attrs: { 'rum.action.type': 'click', 'rum.action.name': 'Add to cart', 'rum.action.target': '#add-to-cart', 'rum.action.click_count': 1 } },
      { traceId: T.joined, spanId: hex(0x102, 16), parentSpanId: hex(0x101, 16), name: 'POST', kind: 'client', start: j + 10, end: j + 330, status: 'ok',
        attrs: { 'http.request.method': 'POST', 'url.full': 'http://localhost:8080/api/cart', 'http.response.status_code': 200 } },
    ],
    vitals: [{ name: 'INP', value: 180, delta: 180, id: 'v1-inp-product', rating: 'good', nav: 'navigate',
      attr: { interactionTarget: '#add-to-cart', interactionType: 'pointer', inputDelay: 10, processingDuration: 150, presentationDelay: 20 } }],
  });
  await otlp('shop-api', [
    { traceId: T.joined, spanId: hex(0x103, 16), parentSpanId: hex(0x102, 16), name: 'POST /api/cart', kind: 2, start: j + 40, end: j + 300,
      attrs: { 'http.request.method': 'POST', 'http.route': '/api/cart', 'http.response.status_code': 200 } },
    { traceId: T.joined, spanId: hex(0x104, 16), parentSpanId: hex(0x103, 16), name: 'reserve stock', kind: 1, start: j + 60, end: j + 120 },
  ]);
  // A failing fetch of the same page view.
  const f = start.failing;
  await beacon({
    session: S.alice, user: 'alice', view: productView,
    spans: [{ traceId: T.failing, spanId: hex(0x201, 16), name: 'GET', kind: 'client', start: f, end: f + 1500, status: 'error',
      attrs: { 'http.request.method': 'GET', 'url.full': 'http://localhost:8080/api/recommendations?sku=42', 'http.response.status_code': 500, 'error.type': '500' } }],
  });
  // Backend only: billing 2 days ago with a failing child; the products list 40 minutes ago.
  const b = start.billing;
  await otlp('billing-api', [
    { traceId: T.billing, spanId: hex(0x301, 16), name: 'POST /charge', kind: 2, start: b, end: b + 2500,
      attrs: { 'http.request.method': 'POST', 'http.route': '/charge', 'http.response.status_code': 502 } },
    { traceId: T.billing, spanId: hex(0x302, 16), parentSpanId: hex(0x301, 16), name: 'db query', kind: 3, start: b + 100, end: b + 2400, error: true,
      attrs: { 'db.system': 'postgresql' } },
  ]);
  const p = start.products;
  await otlp('shop-api', [{ traceId: T.products, spanId: hex(0x601, 16), name: 'GET /api/products', kind: 2, start: p, end: p + 40,
    attrs: { 'http.request.method': 'GET', 'http.route': '/api/products', 'http.response.status_code': 200 } }]);
  // Bob's checkout page load, with its navigation marks.
  const c = start.checkout;
  await beacon({
    session: S.bob, user: 'bob', view: { id: PV.checkout, url: 'http://localhost:8080/checkout?step=2', name: '/checkout', start: c },
    spans: [
      { traceId: T.checkout, spanId: hex(0x401, 16), name: 'documentLoad', kind: 'internal', start: c, end: c + 900,
        attrs: { 'url.full': 'http://localhost:8080/checkout?step=2' },
        events: [['fetchStart', 0], ['domInteractive', 400], ['domContentLoadedEventStart', 450], ['loadEventEnd', 900]].map(([name, at]) => ({ name, time: c + at })) },
      { traceId: T.checkout, spanId: hex(0x402, 16), parentSpanId: hex(0x401, 16), name: 'documentFetch', kind: 'internal', start: c, end: c + 200,
        attrs: { 'url.full': 'http://localhost:8080/checkout?step=2', 'http.response.status_code': 200 } },
      { traceId: T.checkout, spanId: hex(0x403, 16), parentSpanId: hex(0x401, 16), name: 'resourceFetch', kind: 'internal', start: c + 250, end: c + 600,
        attrs: { 'url.full': 'http://localhost:8080/static/shop.css', 'rum.resource.initiator_type': 'link' } },
    ],
  });
  // Markup everywhere a beacon can put it.
  const e = start.evil;
  await beacon({
    session: S.evil, view: { id: PV.evil, url: 'http://localhost:8080/evil?q=' + PAYLOAD, name: PAYLOAD, start: e - 1000 },
    spans: [{ traceId: T.evil, spanId: hex(0x501, 16), name: 'click ' + PAYLOAD, kind: 'internal', start: e, end: e + 50,
      attrs: { 'rum.action.type': 'click', 'rum.action.name': PAYLOAD, 'rum.action.target': PAYLOAD, 'url.full': 'http://localhost:8080/evil?q=' + PAYLOAD, [PAYLOAD]: PAYLOAD } }],
  });
  // The vitals dataset.
  for (const v of dataset) {
    await beacon({
      session: v.session, view: { id: v.id, url: 'http://localhost:8080' + v.path, name: v.page, start: v.start },
      context: { mobile: v.mobile, connection: { effectiveType: '4g' } },
      vitals: [{ name: 'LCP', value: v.lcp, delta: v.lcp, id: 'v1-lcp-' + v.id, rating: v.lcp <= 2500 ? 'good' : 'needs-improvement', nav: 'navigate',
        attr: { element: '#hero', timeToFirstByte: 100, resourceLoadDelay: 50, resourceLoadDuration: 300, elementRenderDelay: 20 } }],
    });
  }
  await eventually(async () => (await gateway.api('/api/traces?limit=100')).traces.length === ALL.length, 20000, 'six traces indexed');
  await eventually(async () => (await gateway.api('/api/page_views?limit=100')).page_views.length === 3 + dataset.length, 20000, 'page views stored');
}

// ---- helpers ----------------------------------------------------------------------------------

async function viewerPage() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors = watchErrors(page);
  return { page, errors };
}

/** Waits until the viewer has rendered the page of the current hash. */
function rendered(page) {
  return page.waitForFunction(() => {
    const app = document.getElementById('app');
    return app.getAttribute('data-hash') === location.hash && !app.hasAttribute('aria-busy');
  });
}

/** The trace ids of the search results, once the page of the current hash has rendered. */
async function resultIds(page) {
  await rendered(page);
  await page.waitForSelector('#trace-results, #no-traces');
  return page.$$eval('#trace-results tr.trace-result', (rows) => rows.map((r) => r.dataset.traceId));
}

const sorted = (ids) => [...ids].sort();

// ---- tests ------------------------------------------------------------------------------------

test('every file of the viewer is served from the binary with the CSP', async () => {
  const dir = join(root, 'gateway', 'viewer');
  const walk = (d) => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  const files = walk(dir).filter((f) => /\.(js|css)$/.test(f));
  assert.ok(files.length >= 15, `the viewer's modules: ${files.length}`);
  for (const file of files) {
    const path = file.slice(dir.length).replaceAll('\\', '/');
    const res = await fetch(gateway.admin + path);
    assert.equal(res.status, 200, path);
    assert.equal(await res.text(), readFileSync(file, 'utf8'), `${path} is served as on disk`);
    assert.match(res.headers.get('content-security-policy'), /script-src 'self'/, path);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-type'), path.endsWith('.css') ? /^text\/css/ : /^text\/javascript/, path);
  }
});

test('the traces search finds exactly the expected traces by each filter, and its link reproduces it', async () => {
  const { page, errors } = await viewerPage();
  await page.goto(gateway.admin + '/');
  assert.deepEqual(await resultIds(page), ALL, 'every trace, newest first');
  await page.screenshot({ fullPage: true, path: SHOTS + 'viewer-traces.png' });
  // The joined trace's row: root name, URL, both services, browser and backend markers.
  const joined = await page.$eval(`#trace-results tr[data-trace-id="${T.joined}"]`, (r) => ({
    text: r.textContent, services: [...r.querySelectorAll('.services [data-service]')].map((s) => s.dataset.service).sort(),
    sources: [...r.querySelectorAll('.services .source')].map((s) => s.textContent).sort(),
  }));
  assert.match(joined.text, /click Add to cart/);
  assert.match(joined.text, /\/api\/cart/);
  assert.deepEqual(joined.services, ['shop-api', 'shop-web']);
  assert.deepEqual(joined.sources, ['backend', 'browser']);
  assert.match(await page.textContent(`#trace-results tr[data-trace-id="${T.failing}"]`), /✕ 1/, 'the error mark');

  // Each filter through the form: [fields to fill, select values, expected ids].
  const cases = [
    [{ service: 'shop-web' }, {}, [T.joined, T.failing, T.checkout, T.evil]],
    [{ service: 'shop-api' }, {}, [T.joined, T.products]],
    [{ service: 'billing-api' }, {}, [T.billing]],
    [{ name: 'RESERVE' }, {}, [T.joined]],
    [{ url: 'recommendations' }, {}, [T.failing]],
    [{ url: '/api/cart' }, {}, [T.joined]],
    [{ url: '/charge' }, {}, [T.billing]],
    [{}, { status: 'error' }, [T.failing, T.billing]],
    [{}, { status: 'ok' }, [T.joined, T.checkout, T.evil, T.products]],
    [{ min_ms: '1000' }, {}, [T.failing, T.billing]],
    [{ max_ms: '100' }, {}, [T.evil, T.products]],
    [{ min_ms: '300', max_ms: '1000' }, {}, [T.joined, T.checkout]],
    [{}, { range: '15m' }, [T.joined, T.failing, T.evil]],
    [{}, { range: '1h' }, [T.joined, T.failing, T.evil, T.products]],
    [{}, { range: '24h' }, [T.joined, T.failing, T.evil, T.products, T.checkout]],
    [{}, { range: '7d' }, ALL],
    [{ session_id: S.alice }, {}, [T.joined, T.failing]],
    [{ user_id: 'alice' }, {}, [T.joined, T.failing]],
    [{ user_id: 'bob' }, {}, [T.checkout]],
    [{ page: '/checkout' }, {}, [T.checkout]],
    [{ page: '/product/:id' }, {}, [T.joined, T.failing]],
    [{ page_view_id: PV.product }, {}, [T.joined, T.failing]],
    [{ page_view_id: PV.evil }, {}, [T.evil]],
    [{ service: 'shop-web' }, { status: 'error' }, [T.failing]],
  ];
  const fresh = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  for (const [fields, selects, expected] of cases) {
    const what = JSON.stringify({ ...fields, ...selects });
    await page.goto(gateway.admin + '/#/traces');
    await resultIds(page);
    for (const [name, value] of Object.entries(fields)) await page.fill('#filter-' + name, value);
    for (const [name, value] of Object.entries(selects)) await page.selectOption('#filter-' + name, value);
    await Promise.all([page.waitForFunction((h) => location.hash !== h, '#/traces'), page.click('#search-submit')]);
    await rendered(page);
    const hash = new URL(page.url()).hash;
    for (const [name, value] of Object.entries({ ...fields, ...selects })) {
      assert.equal(new URLSearchParams(hash.split('?')[1]).get(name), value, `${what}: the filter is in the hash ${hash}`);
    }
    assert.deepEqual(sorted(await resultIds(page)), sorted(expected), `${what}: the search by the form`);
    // The link alone, in another page, shows the same search with the form filled in.
    await fresh.goto('about:blank');
    await fresh.goto(page.url());
    assert.deepEqual(sorted(await resultIds(fresh)), sorted(expected), `${what}: the search by its link`);
    for (const [name, value] of Object.entries({ ...fields, ...selects })) {
      assert.equal(await fresh.$eval('#filter-' + name, (i) => i.value), value, `${what}: the form shows ${name}`);
    }
  }
  // A custom range from the link: 50 to 20 minutes ago.
  await fresh.goto(`${gateway.admin}/#/traces?range=custom&from_ms=${NOW - 50 * MIN}&to_ms=${NOW - 20 * MIN}`);
  assert.deepEqual(await resultIds(fresh), [T.products], 'a custom range');
  assert.equal(await fresh.$eval('#filter-range', (s) => s.value), 'custom');
  // Paging: two at a time, following "Next page" through the cursor.
  await fresh.goto(`${gateway.admin}/#/traces?limit=2`);
  const seen = [];
  for (let i = 0; i < 3; i++) {
    seen.push(...(await resultIds(fresh)));
    if (i < 2) {
      const before = fresh.url();
      await fresh.click('#next-page');
      await fresh.waitForFunction((u) => location.href !== u, before);
      assert.match(new URL(fresh.url()).hash, /cursor=/);
    }
  }
  assert.deepEqual(seen, ALL, 'three pages of two, newest first');
  await fresh.close();
  assert.deepEqual(errors, []);
  await page.close();
});

test('the joined trace: time axis, both services in the legend, the network gap and the span details as tables', async () => {
  const { page, errors } = await viewerPage();
  await page.goto(gateway.admin + '/#/trace/' + T.joined);
  await page.waitForSelector('#waterfall .row');
  assert.ok((await page.$$('#axis .tick')).length >= 2, 'a time axis with ticks');
  assert.ok((await page.$$eval('#axis .tick span', (s) => s.map((x) => x.textContent))).every((t) => /^\d+(\.\d+)? ms$/.test(t)), 'tick labels');
  assert.deepEqual(await page.$$eval('#legend .legend-item[data-service]', (els) => els.map((e) => e.dataset.service).sort()), ['shop-api', 'shop-web']);
  const rows = await page.$$eval('#waterfall .row', (els) => els.map((e) => ({ id: e.dataset.spanId, depth: Number(e.dataset.depth), service: e.dataset.service,
    before: e.dataset.networkBeforeMs, after: e.dataset.networkAfterMs, gaps: e.querySelectorAll('.net-gap').length })));
  assert.deepEqual(rows.map((r) => [r.id, r.depth, r.service]), [
    [hex(0x101, 16), 0, 'shop-web'], [hex(0x102, 16), 1, 'shop-web'], [hex(0x103, 16), 2, 'shop-api'], [hex(0x104, 16), 3, 'shop-api']]);
  // The server span inside its client span: 30 ms of network before it, 30 ms after.
  const server = rows[2];
  assert.equal(Number(server.before), 30);
  assert.equal(Number(server.after), 30);
  assert.equal(server.gaps, 2);
  assert.match(await page.getAttribute(`.row[data-span-id="${hex(0x103, 16)}"] .bar`, 'title'), /network: 30 ms before, 30 ms after/);
  // Links to the trace's session and page view.
  assert.equal(await page.getAttribute('#trace-links a.session-link', 'href'), '#/session/' + S.alice);
  assert.equal(await page.getAttribute('#trace-links a.page-view-link', 'href'), '#/page_view/' + PV.product);

  // Click the fetch span: its attributes grouped by prefix, its resource, as tables.
  await page.click(`.row[data-span-id="${hex(0x102, 16)}"]`);
  await page.waitForSelector('#span-detail');
  const groups = await page.$$eval('#span-attributes tbody', (b) => b.map((x) => x.dataset.group));
  assert.deepEqual(groups.slice(0, 2), ['http', 'url'], `groups in order: ${groups}`);
  const cell = (table, key) => page.$eval(`#${table} tr[data-key="${key}"] td`, (td) => td.textContent);
  assert.equal(await cell('span-attributes', 'http.request.method'), 'POST');
  assert.equal(await cell('span-attributes', 'url.full'), 'http://localhost:8080/api/cart');
  assert.equal(await cell('span-attributes', 'session.id'), S.alice);
  assert.equal(await cell('span-resource', 'service.name'), 'shop-web');
  assert.equal(await page.$$eval('#span-detail pre', (p) => p.length), 0, 'no JSON dump');
  await page.screenshot({ fullPage: true, path: SHOTS + 'viewer-trace.png' });

  // The keyboard: rows are focusable, arrows move, Enter opens, Escape closes.
  await page.focus(`.row[data-span-id="${hex(0x101, 16)}"]`);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.spanId), hex(0x103, 16));
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#span-detail[data-span-id="${hex(0x103, 16)}"]`);
  assert.equal(await page.$eval('#span-detail dl.facts', (d) => /network: 30 ms before, 30 ms after/.test(d.textContent)), true);
  await page.keyboard.press('Escape');
  assert.equal(await page.$('#span-detail'), null);

  // The page load: navigation marks as ticks on documentLoad.
  await page.goto(gateway.admin + '/#/trace/' + T.checkout);
  await page.waitForSelector('#waterfall .row .mark');
  const marks = await page.$$eval(`.row[data-span-id="${hex(0x401, 16)}"] .mark`, (m) => m.map((x) => x.dataset.mark));
  assert.deepEqual(marks, ['fetchStart', 'domInteractive', 'domContentLoadedEventStart', 'loadEventEnd']);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a backend-only trace renders without a "null" anywhere', async () => {
  const { page, errors } = await viewerPage();
  for (const id of [T.billing, T.products]) {
    await page.goto(gateway.admin + '/#/trace/' + id);
    await page.waitForSelector('#waterfall .row');
    await page.click('#waterfall .row');
    await page.waitForSelector('#span-detail');
    const text = await page.$eval('#app', (e) => e.innerText);
    assert.ok(!/\bnull\b|\bundefined\b|NaN/.test(text), `no null, undefined or NaN: ${text}`);
    assert.equal(await page.$('#trace-links'), null, 'no session or page view links');
    assert.ok((await page.$$('#axis .tick')).length >= 2);
  }
  assert.deepEqual(await page.$$eval('#legend .legend-item[data-service]', (els) => els.map((e) => e.dataset.service)), ['shop-api']);
  // The billing trace's failing child is marked.
  await page.goto(gateway.admin + '/#/trace/' + T.billing);
  await page.waitForSelector(`.row.error[data-span-id="${hex(0x302, 16)}"]`);
  // And a browser-only trace as well.
  await page.goto(gateway.admin + '/#/trace/' + T.failing);
  await page.waitForSelector('#waterfall .row');
  assert.ok(!/\bnull\b|\bundefined\b|NaN/.test(await page.$eval('#app', (e) => e.innerText)));
  assert.deepEqual(errors, []);
  await page.close();
});

test('the pages chart shows the known p75, split by device, and lists the page views behind a point', async () => {
  const { page, errors } = await viewerPage();
  await page.goto(gateway.admin + '/#/pages');
  await page.waitForSelector('#pages tr.page-row');
  const lcp = (key) => page.$eval(`#pages tr.page-row[data-page="${key}"] td[data-p75="LCP"] .p75`, (e) => e.textContent);
  assert.equal(await lcp('/checkout'), p75(CHECKOUT_LCP) + ' ms');
  assert.equal(await lcp('/product/:id'), p75(PRODUCT_LCP) + ' ms');
  assert.match(await page.textContent('#pages tr.page-row[data-page="/checkout"] td[data-p75="LCP"]'), /n=8/);
  // All pages: one hourly point, the p75 of all twelve reports.
  await page.waitForSelector('#vitals-chart[data-drawn]');
  const points = () => page.$$eval('#series-table tr.series-point', (rows) => rows.map((r) => ({ group: r.dataset.group, p75: Number(r.dataset.p75), count: Number(r.dataset.count), start: Number(r.dataset.startMs) })));
  const all = await points();
  assert.deepEqual(all.map(({ group, p75: v, count }) => ({ group, p75: v, count })), [{ group: 'all', p75: p75([...CHECKOUT_LCP, ...PRODUCT_LCP]), count: 12 }]);

  // Choose the checkout page: its chart.
  await page.click('#pages tr.page-row[data-page="/checkout"] a.page-select');
  await page.waitForFunction(() => document.querySelector('#vitals-chart[data-drawn]')?.dataset.page === '/checkout');
  assert.match(page.url(), /page=%2Fcheckout/);
  assert.deepEqual((await points()).map(({ group, p75: v, count }) => ({ group, p75: v, count })), [{ group: 'all', p75: p75(CHECKOUT_LCP), count: 8 }]);
  // Split by device: mobile and desktop, each its p75.
  await page.selectOption('#chart-by', 'device');
  await page.waitForFunction(() => document.querySelector('#vitals-chart[data-drawn]')?.dataset.by === 'device');
  const byDevice = Object.fromEntries((await points()).map((p) => [p.group, p]));
  const mobile = CHECKOUT_LCP.filter((_, i) => i % 2 === 1);
  const desktop = CHECKOUT_LCP.filter((_, i) => i % 2 === 0);
  assert.deepEqual(Object.keys(byDevice).sort(), ['desktop', 'mobile']);
  assert.equal(byDevice.mobile.p75, p75(mobile));
  assert.equal(byDevice.desktop.p75, p75(desktop));
  assert.equal(byDevice.mobile.count, 4);
  // The canvas was drawn: it has non-blank pixels.
  const drawn = await page.$eval('#vitals-chart canvas', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return { n, w: c.width, h: c.height };
  });
  assert.ok(drawn.w > 300 && drawn.n > 500, `a drawn canvas: ${JSON.stringify(drawn)}`);
  await page.screenshot({ fullPage: true, path: SHOTS + 'viewer-pages.png' });

  // Click the mobile point on the canvas: the mobile checkout page views.
  const at = await page.$eval('#vitals-chart', (c, p) => {
    const u = c.uplot;
    const i = u.series.findIndex((s) => s.label === 'mobile');
    const r = u.over.getBoundingClientRect();
    return { x: r.left + u.valToPos(p.start, 'x'), y: r.top + u.valToPos(u.data[i][u.data[0].indexOf(p.start)], 'y') };
  }, byDevice.mobile);
  await page.mouse.move(at.x, at.y);
  await page.mouse.click(at.x, at.y);
  await page.waitForFunction(() => /mobile/.test(document.getElementById('page-view-list-title')?.textContent || '') && document.querySelector('#page-view-list'));
  const listed = await page.$$eval('#page-view-list tr.page-view', (rows) => rows.map((r) => r.dataset.pageViewId));
  const expectMobile = dataset.filter((v) => v.page === '/checkout' && v.mobile).map((v) => v.id);
  assert.deepEqual(sorted(listed), sorted(expectMobile), 'the page views behind the mobile point');
  // Each row links to its page view, session and traces.
  const links = await page.$eval(`#page-view-list tr[data-page-view-id="${expectMobile[0]}"]`, (r) => [...r.querySelectorAll('a')].map((a) => a.getAttribute('href')));
  const v0 = dataset.find((v) => v.id === expectMobile[0]);
  assert.deepEqual(links, ['#/page_view/' + v0.id, '#/session/' + v0.session, '#/traces?page_view_id=' + v0.id]);

  // A cell of the table: the product page's LCP reports.
  await page.click('#pages tr.page-row[data-page="/product/:id"] td[data-p75="LCP"] button.cell-views');
  await page.waitForFunction(() => /product/.test(document.getElementById('page-view-list-title')?.textContent || ''));
  await page.waitForSelector('#page-view-list');
  const product = await page.$$eval('#page-view-list tr.page-view', (rows) => rows.map((r) => r.dataset.pageViewId));
  assert.deepEqual(sorted(product), sorted(dataset.filter((v) => v.page === '/product/:id').map((v) => v.id)));
  assert.deepEqual(errors, []);
  await page.close();
});

test('links land on the right items: page view → session → trace → page view', async () => {
  const { page, errors } = await viewerPage();
  await page.goto(gateway.admin + '/#/page_view/' + PV.product);
  await page.waitForSelector('#page-view-facts');
  assert.match(await page.textContent('#page-view-facts'), /http:\/\/localhost:8080\/product\/42/);
  assert.match(await page.textContent('#page-view-title'), /\/product\/:id/);
  // Its vitals with attribution, and its traces.
  assert.match(await page.textContent('#page-view-vitals [data-vital="INP"]'), /180 ms/);
  assert.match(await page.textContent('#page-view-vitals [data-vital="INP"] dl'), /interactionTarget#add-to-cart/);
  await page.waitForSelector('#page-view-traces');
  assert.deepEqual(await page.$$eval('#page-view-traces tr.trace-result', (r) => r.map((x) => x.dataset.traceId)), [T.failing, T.joined]);
  await page.screenshot({ fullPage: true, path: SHOTS + 'viewer-page-view.png' });

  await page.click('#page-view-facts a.session-link');
  await page.waitForSelector('#timeline .view-band');
  assert.equal(new URL(page.url()).hash, '#/session/' + S.alice);
  assert.match(await page.textContent('h2'), new RegExp(S.alice));
  // The view band links to its page view; the action to its trace.
  assert.equal(await page.getAttribute(`#timeline .view-band[data-view-id="${PV.product}"]`, 'href'), '#/page_view/' + PV.product);
  assert.ok(await page.$(`#session-items a.page-view-link[data-page-view-id="${PV.product}"]`), 'the list links its view');
  await page.screenshot({ fullPage: true, path: SHOTS + 'viewer-session.png' });
  await page.click(`#timeline .action-mark[data-trace-id="${T.joined}"]`);
  await page.waitForSelector('#waterfall .row');
  assert.equal(new URL(page.url()).hash, '#/trace/' + T.joined);
  await page.click('#trace-links a.page-view-link');
  await page.waitForSelector('#page-view-facts');
  assert.equal(new URL(page.url()).hash, '#/page_view/' + PV.product);
  // From the page view to the traces search of it.
  await page.click('#page-view-traces tr[data-trace-id="' + T.failing + '"] a.trace-link');
  await page.waitForSelector('#waterfall .row');
  assert.equal(new URL(page.url()).hash, '#/trace/' + T.failing);
  assert.deepEqual(errors, []);
  await page.close();
});

test('markup in a span name, URL, attribute key and value, action target and view name is shown as text and runs nothing', async () => {
  const { page, errors } = await viewerPage();
  const check = async (where) => {
    await page.waitForTimeout(200);
    assert.equal(await page.evaluate(() => window.__xss), undefined, `${where}: no script ran`);
    assert.equal(await page.$$eval('#app img', (els) => els.length), 0, `${where}: no element made from data`);
    assert.ok((await page.$eval('#app', (e) => e.textContent)).includes(PAYLOAD), `${where}: the markup is shown as text`);
  };
  await page.goto(gateway.admin + '/#/traces?session_id=' + S.evil);
  await page.waitForSelector(`#trace-results tr[data-trace-id="${T.evil}"]`);
  await check('search results');
  await page.goto(gateway.admin + '/#/trace/' + T.evil);
  await page.waitForSelector('#waterfall .row');
  await page.click('#waterfall .row');
  await page.waitForSelector('#span-detail');
  await check('trace');
  assert.ok(await page.$eval('#span-attributes', (t) => [...t.querySelectorAll('th.key')].some((th) => th.textContent === '<img src=x onerror="window.__xss=1">')), 'the key as text');
  assert.equal(await page.$eval('#span-attributes tr[data-key="rum.action.target"] td', (td) => td.textContent), PAYLOAD);
  await page.goto(gateway.admin + '/#/page_view/' + PV.evil);
  await page.waitForSelector('#page-view-facts');
  await check('page view');
  await page.goto(gateway.admin + '/#/session/' + S.evil);
  await page.waitForSelector('#timeline .view-band');
  await check('session');
  await page.goto(gateway.admin + '/#/pages');
  await page.waitForSelector('#pages tr.page-row');
  await page.waitForSelector(`#page-view-list tr[data-page-view-id="${PV.evil}"]`);
  await check('pages');
  assert.deepEqual(errors, []);
  await page.close();
});
