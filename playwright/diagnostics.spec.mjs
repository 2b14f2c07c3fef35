// When the SDK cannot run it never throws into the page, and says why: once on the console
// with `debug: true`, and a misconfiguration (no endpoint or key) with one console.warn even
// without it. Each case from js/README.md's troubleshooting table, in Chromium against the real
// gateway: a missing endpoint or key, the .wasm missing (script tag: not recording; npm entry:
// its inlined copy instead, and telemetry still arrives), a Content-Security-Policy without
// 'wasm-unsafe-eval', and a key the gateway refuses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startStatic, launchBrowser, eventually } from './harness.mjs';

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

let n = 0;
// Opens a page whose <head> holds `head` and whose script runs `script` (the SDK's init), then
// sets `window.after` to show the page's own code ran on. Collects the console and page errors.
async function open({ head = '', module = false, script }) {
  const page = await browser.newPage();
  const warnings = [];
  const errors = [];
  page.on('console', (m) => (m.type() === 'warning' ? warnings : m.type() === 'error' ? errors : []).push(m.text()));
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  const path = `/diagnostics-${++n}.html`;
  const sdk = module ? `<script type="module">import * as RUM from '/sdk/index.js'; ${script}; window.after = 1;</script>` : `<script src="/sdk/rum.js"></script><script>${script}; window.after = 1;</script>`;
  pages.serve(path, `<!doctype html><html><head><meta charset="utf-8">${head}${sdk}</head><body><h1>Diagnostics</h1><p>Enough text for a contentful paint.</p></body></html>`);
  await page.goto(pages.url + path);
  await page.waitForFunction(() => window.after === 1);
  return { page, warnings, errors };
}

const init = (options) => `window.rum = RUM.init(${JSON.stringify(options)})`;
const ours = (warnings) => warnings.filter((w) => w.startsWith('rum: '));

test('a missing endpoint or apiKey is said once with console.warn, without debug too', async () => {
  for (const options of [{ apiKey: 'dev' }, { endpoint: gateway.ingest }, {}]) {
    // Called twice: said once all the same.
    const { page, warnings, errors } = await open({ script: `${init(options)}; ${init(options)}` });
    await page.waitForTimeout(300);
    assert.deepEqual(ours(warnings), ['rum: init needs `endpoint` and `apiKey`: nothing is recorded'], JSON.stringify(options));
    assert.deepEqual(errors, []);
    assert.equal(await page.evaluate(() => typeof window.rum.event), 'function', 'init still returns the API');
    await page.close();
  }
});

test('the script build with its .wasm missing says so with debug, and nothing without', async () => {
  const base = { endpoint: gateway.ingest, apiKey: 'dev', wasmUrl: '/sdk/missing.wasm' };
  const loud = await open({ script: init({ ...base, debug: true }) });
  const said = await eventually(() => ours(loud.warnings).length && ours(loud.warnings), 5000, 'a warning');
  // rum.js fetches its .wasm with the build's integrity hash: a 404's body fails that check,
  // so the fetch itself fails (the browser's console says which: the 404).
  assert.deepEqual(said, [`rum: not recording: the .wasm at ${pages.url}/sdk/missing.wasm (TypeError: Failed to fetch)`]);
  // The browser's own console lines about the failed resource (its 404, its integrity) aside.
  const pageErrors = (errors) => errors.filter((e) => !e.includes('missing.wasm') && !e.includes('404'));
  assert.deepEqual(pageErrors(loud.errors), [], 'no page error');
  const quiet = await open({ script: init(base) });
  await quiet.page.waitForTimeout(1000);
  assert.deepEqual(ours(quiet.warnings), []);
  assert.deepEqual(pageErrors(quiet.errors), []);
  await loud.page.close();
  await quiet.page.close();
});

test('the npm entry with its .wasm missing loads the inlined copy: said with debug, and telemetry arrives', async () => {
  // An SPA server answering every path with its index page (200, text/html), and a plain 404.
  for (const [wasmUrl, why, service] of [
    ['/sdk/missing.wasm', 'HTTP 404', 'inline-after-404'],
    ['/pages/script-tag.html', 'not wasm', 'inline-after-html'],
  ]) {
    const { page, warnings, errors } = await open({
      module: true,
      script: init({ endpoint: gateway.ingest, apiKey: 'dev', wasmUrl, debug: true, service: { name: service } }),
    });
    const said = await eventually(() => ours(warnings).length && ours(warnings), 5000, 'a warning');
    assert.equal(said.length, 1, said.join('\n'));
    assert.ok(said[0].startsWith(`rum: the .wasm at ${pages.url}${wasmUrl} (${why}): loaded its inlined copy instead`), said[0]);
    assert.ok(
      await page.evaluate(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('/sdk/rum_sdk_wasm.js'))),
      'the inlined chunk was fetched',
    );
    await page.waitForTimeout(300);
    await page.goto('about:blank'); // hidden: the beacons leave
    await eventually(async () => {
      const { page_views } = await gateway.api('/api/page_views');
      return page_views.some((v) => v.resource['service.name'] === service);
    }, 15000, `a page view of ${service}`);
    assert.deepEqual(errors.filter((e) => !e.includes('404')), []);
    await page.close();
  }
});

test("a Content-Security-Policy without 'wasm-unsafe-eval' stops the SDK quietly; debug says why", async () => {
  const csp = `<meta http-equiv="Content-Security-Policy" content="script-src 'self' 'unsafe-inline'">`;
  for (const module of [false, true]) {
    const { page, warnings, errors } = await open({ head: csp, module, script: init({ endpoint: gateway.ingest, apiKey: 'dev', debug: true }) });
    const said = await eventually(() => ours(warnings).length && ours(warnings), 5000, 'a warning');
    assert.equal(said.length, 1, said.join('\n'));
    assert.match(said[0], /^rum: not recording: CompileError: .*Content Security Policy/);
    assert.deepEqual(errors.filter((e) => !/Content Security Policy/.test(e)), [], 'no page error');
    // The page's fetch works as before (the wrappers were installed before the wasm failed).
    assert.equal(await page.evaluate(() => fetch('/echo/after-csp').then((r) => r.json()).then((j) => j.path)), '/echo/after-csp');
    await page.close();
  }
});

test("a key the gateway refuses: debug says the gateway's reason once", async () => {
  const { page, warnings, errors } = await open({ script: init({ endpoint: gateway.ingest, apiKey: 'not-a-key', debug: true }) });
  // Beacons leave every 5 s while the page lives.
  const said = await eventually(() => ours(warnings).length && ours(warnings), 12000, 'a warning');
  await page.waitForTimeout(6000); // another beacon: said once all the same
  assert.deepEqual(ours(warnings), said);
  assert.equal(said.length, 1);
  assert.match(said[0], /^rum: the gateway refused a beacon: HTTP 403 .*"error":"unknown_key"/);
  assert.deepEqual(errors.filter((e) => !e.includes('403')), []);
  await page.close();
});
