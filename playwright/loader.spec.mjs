// The loader snippet (js/dist/loader.html): a page that pastes it into its <head> can call
// RUM.init, RUM.event and RUM.setUser at once, and throw, before rum.js (loaded async, checked
// by its Subresource Integrity hash) has arrived; all of it is delivered once it has. With a
// wrong hash the browser refuses the script and the page works as before.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startGateway, startStatic, launchBrowser, eventually, sdkLoaded, root } from './harness.mjs';

let gateway, pages, browser;
before(async () => {
  gateway = await startGateway();
  pages = await startStatic(gateway);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await pages?.stop();
  await gateway?.stop();
});

const loader = () => readFileSync(root + 'js/dist/loader.html', 'utf8');

// A page with the snippet (served from the test server's origin, as a real page is), rum.js
// delayed 1.5 s by the static server, and calls made at once.
async function open(snippet, marker) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const path = '/loader-' + marker + '.html';
  pages.serve(
    path,
    `<!doctype html><html><head><meta charset="utf-8">${snippet.replace('RUM_SCRIPT_URL', '/sdk/rum.js?delay=1500')}
<script>
  RUM.init({ endpoint: ${JSON.stringify(gateway.ingest)}, apiKey: 'dev', service: { name: 'loader-page' } });
  RUM.setUser({ id: ${JSON.stringify(marker)} });
  RUM.event('before.load', { n: 1 });
  setTimeout(() => { throw new TypeError('thrown before the SDK'); });
  fetch('/echo/early-' + ${JSON.stringify(marker)});
</script></head><body><h1>Loader</h1><p>Enough text for a contentful paint.</p><button id="b">ok</button></body></html>`,
  );
  const url = pages.url + path;
  // Not until `load`: the async rum.js holds that back.
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return { page, errors };
}

test('calls and errors made before rum.js loaded are delivered once it has', async () => {
  const { page, errors } = await open(loader(), 'loader-user');

  assert.equal(await page.evaluate(() => typeof window.RUM.q), 'object', 'the stub queues while rum.js loads');
  await sdkLoaded(page);
  assert.equal(await page.evaluate(() => 'q' in window.RUM), false, 'RUM is the SDK now');
  const integrity = await page.$eval('script[src*="rum.js"]', (s) => s.integrity);
  assert.match(integrity, /^sha384-/);
  await page.waitForTimeout(500);
  await page.goto('about:blank'); // hidden: the beacons leave

  const s = await eventually(async () => {
    const { sessions } = await gateway.api('/api/sessions?limit=100');
    const row = sessions.find((x) => x.user_id === 'loader-user');
    if (!row) return;
    const s = await gateway.api('/api/sessions/' + row.session_id);
    return s.items.some((i) => i.type === 'event' && i.name === 'before.load') && s.items.some((i) => i.type === 'error') && s;
  }, 15000, 'the early event and error in the loader page’s session');
  const error = s.items.find((i) => i.type === 'error');
  assert.equal(error.kind, 'uncaught');
  assert.equal(s.views.length, 1);
  assert.deepEqual(errors, ['thrown before the SDK'], 'the page still sees its own error, nothing else');
  // A fetch made before rum.js arrived is in the page load's trace (from resource timing; it
  // went without a traceparent, as no wrapper existed yet).
  const early = await eventually(async () => {
    const { traces } = await gateway.api('/api/traces?limit=50');
    for (const t of traces) {
      const { spans } = await gateway.api('/api/traces/' + t.trace_id);
      const span = spans.find((x) => String(x.attributes['url.full']).endsWith('/echo/early-loader-user'));
      if (span) return span;
    }
  }, 15000, 'the early fetch in the page load');
  assert.equal(early.name, 'resourceFetch');
  await page.close();
});

test('with a wrong integrity hash the browser refuses rum.js and the page works as before', async () => {
  const snippet = loader().replace(/sha384-[A-Za-z0-9+/=]+/, 'sha384-' + Buffer.alloc(48).toString('base64'));
  const { page, errors } = await open(snippet, 'bad-hash');
  await page.waitForTimeout(2500);
  assert.equal(await page.evaluate(() => typeof window.RUM.q), 'object', 'only the stub: rum.js was refused');
  assert.equal(await page.evaluate(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('.wasm'))), false);
  await page.click('#b');
  assert.deepEqual(errors, ['thrown before the SDK'], 'no error of the SDK’s own');
  await page.close();
});

test('rum.js runs only the .wasm it was built with (its SRI hash, js/dist/integrity.json)', async () => {
  const integrity = JSON.parse(readFileSync(root + 'js/dist/integrity.json', 'utf8'));
  assert.match(integrity['rum_sdk_bg.wasm'], /^sha384-[A-Za-z0-9+/]{64}$/);
  assert.ok(readFileSync(root + 'js/dist/rum.js', 'utf8').includes(integrity['rum_sdk_bg.wasm']), 'rum.js pins its .wasm');
  assert.ok(loader().includes(integrity['rum.js']), 'the snippet pins rum.js');
  // A valid but different module where rum.js looks for its own: refused before compiling.
  const page = await browser.newPage();
  const consoled = [];
  page.on('console', (m) => consoled.push(m.text()));
  pages.serve(
    '/loader-other-wasm.html',
    `<!doctype html><html><head><meta charset="utf-8">${loader().replace('RUM_SCRIPT_URL', '/sdk/rum.js')}
<script>RUM.init({ endpoint: ${JSON.stringify(gateway.ingest)}, apiKey: 'dev', wasmUrl: '/pages/empty.wasm', debug: true });</script>
</head><body><h1>Other wasm</h1></body></html>`,
  );
  await page.goto(pages.url + '/loader-other-wasm.html');
  await eventually(() => consoled.some((t) => t.startsWith('rum: ')), 5000, 'the SDK to say why');
  assert.ok(consoled.some((t) => /integrity/.test(t) && t.includes('empty.wasm')), consoled.join('\n'));
  assert.deepEqual(consoled.filter((t) => t.startsWith('rum: ')), [`rum: not recording: the .wasm at ${pages.url}/pages/empty.wasm (TypeError: Failed to fetch)`]);
  await page.close();
});

test('rum.js with defer, and the snippet beside a deferred rum.js of the page, both record', async () => {
  // Without the snippet: a deferred rum.js runs before DOMContentLoaded, where the page inits.
  // With it and the page's own `<script defer src=rum.js>` as well: whichever rum.js runs
  // first takes the stub's queue; the calls are made once.
  const cases = {
    'defer-only': `<script defer src="/sdk/rum.js"></script>
<script>document.addEventListener('DOMContentLoaded', () => { RUM.init({ endpoint: ${JSON.stringify(gateway.ingest)}, apiKey: 'dev', service: { name: 'defer-page' } }); RUM.setUser({ id: 'defer-only' }); });</script>`,
    'snippet-and-defer': `${loader().replace('RUM_SCRIPT_URL', '/sdk/rum.js?delay=500')}<script defer src="/sdk/rum.js"></script>
<script>RUM.init({ endpoint: ${JSON.stringify(gateway.ingest)}, apiKey: 'dev', service: { name: 'defer-page' } });
  // After both copies ran: the live RUM is the one that was initialized.
  setTimeout(() => RUM.setUser({ id: 'snippet-and-defer' }), 1500);</script>`,
  };
  for (const [marker, head] of Object.entries(cases)) {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    pages.serve(`/defer-${marker}.html`, `<!doctype html><html><head><meta charset="utf-8">${head}</head><body><h1>Deferred</h1><p>Enough text for a contentful paint.</p></body></html>`);
    await page.goto(pages.url + `/defer-${marker}.html`);
    await sdkLoaded(page);
    await page.waitForTimeout(1800);
    await page.goto('about:blank');
    const row = await eventually(async () => {
      const { sessions } = await gateway.api('/api/sessions?limit=100');
      return sessions.find((x) => x.user_id === marker);
    }, 15000, `the ${marker} session`);
    assert.equal(row.view_count, 1, marker);
    assert.deepEqual(errors, [], marker);
    await page.close();
  }
});
