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

const storedSpans = async () => {
  const { traces } = await gateway.api('/api/traces?limit=1000');
  return (await Promise.all(traces.map((t) => gateway.api('/api/traces/' + t.trace_id)))).flatMap((t) => t.spans);
};

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

test("XMLHttpRequest: traceparent only where allowed, the page's own kept, same results and errors", async () => {
  const { page, errors } = await open('/pages/esm.html');
  const refused = `http://127.0.0.1:${await closedPort()}/refused`;
  const outcome = await page.evaluate(
    async ([same, cross, refusedUrl]) => {
      const xhr = (method, url, { headers = {}, body, sync = false } = {}) =>
        new Promise((resolve) => {
          const x = new XMLHttpRequest();
          const events = [];
          for (const t of ['load', 'error', 'loadend']) x.addEventListener(t, () => events.push(t));
          x.onloadend = () => resolve({ status: x.status, text: x.responseText, events });
          x.open(method, url, !sync);
          for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
          x.send(body);
        });
      const proto = XMLHttpRequest.prototype;
      let sendError;
      try {
        new XMLHttpRequest().send();
      } catch (e) {
        sendError = e.name;
      }
      return {
        post: await xhr('POST', same + '/echo/x1', { headers: { 'x-app': 'a1', 'content-type': 'text/plain' }, body: 'hello' }),
        own: await xhr('GET', same + '/echo/x2', { headers: { traceparent: '00-11111111111111111111111111111111-2222222222222222-01' } }),
        cross: await xhr('GET', cross + '/echo/x3'),
        sync: await xhr('GET', same + '/echo/x4', { sync: true }),
        refused: await xhr('GET', refusedUrl),
        sendError,
        names: [proto.open.name, proto.send.name, proto.setRequestHeader.name],
        lengths: [proto.open.length, proto.send.length, proto.setRequestHeader.length],
      };
    },
    [site.url, other.url, refused],
  );
  assert.equal(outcome.post.status, 200);
  assert.deepEqual(JSON.parse(outcome.post.text), { ok: true, path: '/echo/x1' });
  assert.deepEqual(outcome.post.events, ['load', 'loadend']);
  assert.equal(seenAt(site, '/echo/x1').method, 'POST');
  assert.equal(seenAt(site, '/echo/x1').headers['x-app'], 'a1');
  const injected = seenAt(site, '/echo/x1').headers.traceparent;
  assert.match(injected, TRACEPARENT);
  assert.equal(seenAt(site, '/echo/x2').headers.traceparent, '00-11111111111111111111111111111111-2222222222222222-01');
  assert.equal(seenAt(other, '/echo/x3').headers.traceparent, undefined);
  assert.equal(outcome.sync.status, 200);
  assert.equal(seenAt(site, '/echo/x4').headers.traceparent.length, 55);
  assert.deepEqual(outcome.refused, { status: 0, text: '', events: ['error', 'loadend'] });
  assert.equal(outcome.sendError, 'InvalidStateError', 'send() before open() still throws to the page');
  assert.deepEqual(outcome.names, ['open', 'send', 'setRequestHeader']);
  assert.deepEqual(outcome.lengths, [2, 0, 2], "the lengths WebIDL gives them");
  // The spans reach the store: the injected ids are the span's, the failure is an error.
  await page.evaluate(() => window.rum.flush());
  await sdkLoaded(page);
  await page.evaluate(() => window.rum.flush());
  const [, traceId, spanId] = injected.match(TRACEPARENT);
  const spans = await eventually(async () => {
    const all = await storedSpans();
    const x1 = all.find((s) => s.span_id === spanId);
    const failed = all.find((s) => s.attributes['url.full'] === refused);
    return x1 && failed && { x1, failed };
  }, 15000, 'the XHR spans');
  assert.equal(spans.x1.trace_id, traceId);
  assert.equal(spans.x1.attributes['http.request.method'], 'POST');
  assert.equal(spans.x1.attributes['http.response.status_code'], 200);
  assert.equal(spans.failed.attributes['error.type'], 'error');
  assert.deepEqual(errors.filter((e) => !e.includes('ERR_CONNECTION_REFUSED')), []);
  await page.close();
});

test('fetch and XHR calls made before the wasm has loaded are traced and delivered', async () => {
  // The wasm is held back for a second, so these requests surely precede it.
  const { page, errors } = await open('/pages/esm.html?early=1', (p) =>
    p.route('**/*.wasm', async (r) => {
      await new Promise((done) => setTimeout(done, 1000));
      await r.continue();
    }),
  );
  const early = await eventually(() => seenAt(site, '/echo/early-fetch') && seenAt(site, '/echo/early-xhr') && [seenAt(site, '/echo/early-fetch'), seenAt(site, '/echo/early-xhr')], 5000, 'the early requests');
  assert.equal(await page.evaluate(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('.wasm') && e.responseEnd > 0)), false, 'the wasm had not loaded when they were sent');
  const ids = early.map((r) => r.headers.traceparent.match(TRACEPARENT)[2]);
  await sdkLoaded(page);
  await page.evaluate(() => window.rum.flush());
  const spans = await eventually(async () => {
    const all = await storedSpans();
    const found = ids.map((id) => all.find((s) => s.span_id === id));
    return found.every(Boolean) && found;
  }, 15000, 'spans for both early requests');
  assert.deepEqual(spans.map((s) => new URL(s.attributes['url.full']).pathname), ['/echo/early-fetch', '/echo/early-xhr']);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a hidden page sends its beacon gzip-compressed, and the gateway stores it', async () => {
  const { page, errors } = await open('/pages/esm.html', (p) =>
    p.addInitScript(() => {
      // Records what the SDK hands to sendBeacon (which it still sends).
      window.sent = [];
      const sendBeacon = navigator.sendBeacon.bind(navigator);
      navigator.sendBeacon = (url, body) => {
        window.sent.push({ url, body });
        return sendBeacon(url, body);
      };
    }),
  );
  await sdkLoaded(page);
  await page.evaluate(() => fetch('/echo/compressed').then((r) => r.text()));
  // Hidden, not unloading: the page still runs, so the beacon is compressed first.
  const sent = await page.evaluate(async () => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
    const deadline = performance.now() + 5000;
    while (!window.sent.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return Promise.all(
      window.sent.map(async ({ url, body }) => ({
        url,
        isBlob: body instanceof Blob,
        magic: body instanceof Blob ? [...new Uint8Array(await body.slice(0, 2).arrayBuffer())] : [],
        size: body.size ?? body.length,
      })),
    );
  });
  assert.equal(sent.length, 1, 'one beacon');
  assert.match(sent[0].url, /[?&]encoding=gzip(&|$)/);
  assert.deepEqual([sent[0].isBlob, sent[0].magic], [true, [0x1f, 0x8b]], 'a gzip body');
  const stored = await eventually(async () => {
    const span = (await storedSpans()).find((s) => String(s.attributes['url.full']).endsWith('/echo/compressed'));
    const { page_views } = await gateway.api('/api/page_views');
    const view = page_views.find((v) => v.vitals.FCP && span && v.page_view_id === span.attributes['rum.page_view.id']);
    return span && view && { span, view };
  }, 15000, 'the compressed beacon stored');
  assert.ok(stored.view.vitals.FCP.value > 0);
  assert.deepEqual(errors, []);
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
    const split = (await storedSpans()).filter((s) => /\/echo\/split-\d+/.test(String(s.attributes['url.full'])));
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
