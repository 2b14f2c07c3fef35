// The viewer's Releases pages in real Chromium: two releases of a service sent as beacons (the
// candidate's LCP 1.5 times the baseline's), listed per release with their figures; comparing
// them shows LCP `worse` and the rest `no evidence`, and a version carrying markup is shown as
// text with nothing run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, launchBrowser, root } from './harness.mjs';

let gateway, browser;
before(async () => {
  gateway = await startGateway();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await gateway?.stop();
});

const SERVICE = 'viewer-shop';
const PAYLOAD = '<img src=x onerror="window.__xss=1">';
const VIEWS = 60;
const hex = (n, width) => n.toString(16).padStart(width, '0');

async function post(url, body) {
  // The default per-address rate (50/s, burst 100): wait for a token when refused.
  for (;;) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) });
    if (res.status !== 429) {
      assert.equal(res.status, 200, await res.text());
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// Evenly spread values (the i-th of n quantiles of a uniform range), the same for every vital
// but LCP, which the candidate multiplies by `lcpFactor`.
async function sendRelease(release, version, lcpFactor, views = VIEWS) {
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 600000;
  for (let i = 0; i < views; i++) {
    const spread = ((i * 37) % views + 0.5) / views; // a permutation of the quantiles
    const view = hex(release * 100000 + i + 1, 16);
    const vital = (name, value) => ({ name, value, delta: value, id: `v1-${view}-${name}`, rating: 'good', nav: 'navigate' });
    await post(`${gateway.ingest}/v1/rum?key=dev`, {
      v: 1, sentAt: Date.now(),
      resource: { 'service.name': SERVICE, 'service.version': version, 'deployment.environment.name': 'prod' },
      session: { id: hex(release * 100000 + Math.floor(i / 2) + 1, 32) },
      view: { id: view, url: 'http://localhost:8080/shop', type: 'navigate', start: t0 + i * 100 },
      vitals: [
        vital('LCP', Math.round(lcpFactor * (1000 + 2000 * spread))), vital('INP', Math.round(50 + 200 * spread)),
        vital('CLS', Math.round(1000 * 0.2 * spread) / 1000), vital('FCP', Math.round(500 + 1000 * spread)),
        vital('TTFB', Math.round(100 + 400 * spread)),
      ],
    });
  }
}

test('the releases page lists each release and the comparison shows each verdict as text', async () => {
  await sendRelease(1, '3.0.0', 1.0);
  await sendRelease(2, '3.1.0', 1.5);
  await sendRelease(3, PAYLOAD, 1.0, 3);

  const page = await browser.newPage();
  const seen = [];
  page.on('pageerror', (e) => seen.push(e.message));
  await page.goto(gateway.admin + '/#/releases');
  await page.fill('#release-service', SERVICE);
  await page.click('#release-form button[type=submit]');
  await page.waitForSelector('#releases tr.release');
  const versions = await page.$$eval('#releases tr.release', (rows) => rows.map((r) => r.dataset.version));
  assert.deepEqual(new Set(versions), new Set(['3.0.0', '3.1.0', PAYLOAD]));
  const row = await page.$eval('#releases tr.release[data-version="3.1.0"]', (r) => [...r.cells].map((c) => c.textContent));
  assert.equal(row[3], String(VIEWS / 2), 'sessions');
  assert.equal(row[4], String(VIEWS), 'page views');

  // The pickers: baseline 3.0.0, candidate 3.1.0.
  const option = async (select, version) => page.$eval(`select#${select}`, (s, v) => [...s.options].find((o) => o.textContent.startsWith(v + ' ')).value, version);
  await page.selectOption('select#baseline', await option('baseline', '3.0.0'));
  await page.selectOption('select#candidate', await option('candidate', '3.1.0'));
  await page.click('#compare-form button');
  await page.waitForSelector('#comparison tr.figure');
  const verdicts = Object.fromEntries(await page.$$eval('#comparison tr.figure', (rows) => rows.map((r) => [r.dataset.figure, r.querySelector('.verdict').className.replace('verdict ', '')])));
  assert.equal(verdicts['vital LCP'], 'worse');
  for (const name of ['error_rate', 'sessions_with_errors', 'vital INP', 'vital CLS', 'vital FCP', 'vital TTFB']) {
    assert.equal(verdicts[name], 'no_evidence', name);
  }
  assert.match(await page.textContent('#compare-summary'), /Worse: vital LCP/);
  assert.match(await page.textContent('#compare-title'), /3\.0\.0 \(baseline\) vs 3\.1\.0 \(candidate\) in prod/);
  await page.screenshot({ fullPage: true, path: root + 'playwright/test-results/release-compare.png' });

  // The markup version: a row whose text is the markup, and nothing ran.
  await page.goto(gateway.admin + '/#/releases?service=' + SERVICE);
  await page.waitForSelector('#releases tr.release');
  await page.screenshot({ fullPage: true, path: root + 'playwright/test-results/releases.png' });
  assert.equal(await page.$$eval('#app img', (els) => els.length), 0);
  assert.ok((await page.$$eval('#releases tr.release b', (els) => els.map((e) => e.textContent))).includes(PAYLOAD));
  // Too few samples: the comparison says so rather than giving a verdict.
  await page.goto(gateway.admin + '/#/compare?' + new URLSearchParams({ service: SERVICE, baseline: '3.0.0', candidate: PAYLOAD }));
  await page.waitForSelector('#comparison tr.figure');
  assert.match(await page.textContent('#comparison tr.figure[data-figure="vital LCP"]'), /too few samples/);
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script ran');
  assert.deepEqual(seen, []);
  await page.close();
});
