// Our SDK against npm web-vitals (attribution build) on the SAME page load: every scenario
// page loads both, each sends its reports to the test server, and we compare the final value,
// rating and navigationType of each metric.
//
// Tolerances: both compute each value from the same performance entries with the same
// arithmetic, so times must agree to the millisecond (in practice exactly) and CLS to 1e-6.
// The one exception is FCP/LCP after a back/forward-cache restore: each library reads
// performance.now() in its own callback of the second animation frame after the same
// pageshow. Callbacks of one frame run back to back, so the readings differ by the run time
// of the callbacks between them (seen: 0.5–6 ms on a loaded 2-core machine), always less than
// a frame; a reading from another frame would be a frame (16.7 ms at 60 Hz) or more off.
// Allowed: 16 ms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, startStatic, launchBrowser, eventually, watchErrors, sdkLoaded, CHROMIUM_ARGS } from './harness.mjs';

let gateway, site, browser;
const table = [];
before(async () => {
  gateway = await startGateway();
  site = await startStatic(gateway);
  browser = await launchBrowser({ bfcache: true });
});
after(async () => {
  if (table.length) {
    console.log('\nscenario                     metric  navigationType        ours          web-vitals    rating');
    for (const r of table) {
      console.log(`${r.scenario.padEnd(28)} ${r.name.padEnd(7)} ${r.nav.padEnd(21)} ${String(r.ours).padEnd(13)} ${String(r.ref).padEnd(13)} ${r.rating}`);
    }
    console.log('\nattribution (ours, then web-vitals)');
    for (const row of attributionRows) console.log(row);
  }
  await browser?.close();
  await site?.stop();
  await gateway?.stop();
});

const TIME_TOLERANCE = 1;
const CLS_TOLERANCE = 1e-6;
// web-vitals' INP LoAF summaries that we do not compute (we send the frames and their scripts).
const NOT_COMPUTED = new Set(['totalScriptDuration', 'totalStyleAndLayoutDuration', 'totalPaintDuration', 'totalUnattributedDuration']);
const attributionRows = [];

/** Our attribution against web-vitals': every plain field of theirs, same value. */
function compareAttribution(where, ours, ref) {
  for (const [key, want] of Object.entries(ref.attribution || {})) {
    if (NOT_COMPUTED.has(key)) continue;
    const got = (ours.attribution || {})[key];
    if (typeof want === 'number') {
      const tol = key === 'largestShiftValue' ? CLS_TOLERANCE : TIME_TOLERANCE;
      assert.ok(typeof got === 'number' && Math.abs(got - want) <= tol, `${where} attribution.${key}: ours ${got}, web-vitals ${want}`);
    } else {
      assert.equal(got, want, `${where} attribution.${key}`);
    }
    attributionRows.push(`${where.padEnd(36)} ${key.padEnd(22)} ${String(typeof got === 'number' ? round(got) : got).padEnd(26)} ${typeof want === 'number' ? round(want) : want}`);
  }
}

/** Final report per (metric, navigationType) of one source. */
function finals(src, page) {
  const out = new Map();
  for (const m of site.collected) if (m.src === src && m.page === page) out.set(m.name + ' ' + m.navigationType, m);
  return out;
}

async function scenario(name, path, drive, expected, { tolerance = TIME_TOLERANCE } = {}) {
  site.collected.length = 0;
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(site.url + path);
  await sdkLoaded(page);
  await drive(page);
  // Leaving the document hides it: both libraries report their final values now.
  await page.goto('about:blank');
  const pageKey = path;
  await eventually(() => {
    const ours = finals('rum', pageKey);
    const ref = finals('web-vitals', pageKey);
    return expected.every((k) => ours.has(k) && ref.has(k));
  }, 10000, `${name}: reports of ${expected.join(', ')} from both`);
  await new Promise((r) => setTimeout(r, 300)); // any stragglers
  const ours = finals('rum', pageKey);
  const ref = finals('web-vitals', pageKey);
  assert.deepEqual([...ours.keys()].sort(), [...ref.keys()].sort(), `${name}: the same metrics were reported`);
  assert.deepEqual([...ours.keys()].sort(), [...expected].sort(), `${name}: the expected metrics were reported`);
  for (const [key, m] of ours) {
    const r = ref.get(key);
    const tol = m.name === 'CLS' ? CLS_TOLERANCE : tolerance;
    table.push({ scenario: name, name: m.name, nav: m.navigationType, ours: round(m.value), ref: round(r.value), rating: m.rating === r.rating ? m.rating : `${m.rating} ≠ ${r.rating}` });
    assert.ok(Math.abs(m.value - r.value) <= tol, `${name} ${key}: ours ${m.value}, web-vitals ${r.value}`);
    assert.equal(m.rating, r.rating, `${name} ${key}: rating`);
    assert.equal(m.navigationType, r.navigationType);
    compareAttribution(`${name} ${m.name}`, m, r);
  }
  assert.deepEqual(errors, [], `${name}: no page errors`);
  await page.close();
  return ours;
}

const round = (v) => Math.round(v * 1e6) / 1e6;
const NAV = (names, nav = 'navigate') => names.map((n) => `${n} ${nav}`);

test('basic page: FCP, LCP, CLS and TTFB', async () => {
  const ours = await scenario('basic', '/pages/vitals/basic.html', async () => {}, NAV(['FCP', 'LCP', 'CLS', 'TTFB']));
  assert.ok(ours.get('LCP navigate').value >= ours.get('FCP navigate').value);
});

test('server-delayed TTFB', async () => {
  const ours = await scenario('ttfb delayed 300 ms', '/pages/vitals/basic.html?delay=300', async () => {}, NAV(['FCP', 'LCP', 'CLS', 'TTFB']));
  assert.ok(ours.get('TTFB navigate').value >= 300, 'TTFB includes the server delay');
});

test('late large image is the LCP', async () => {
  const ours = await scenario('late large image', '/pages/vitals/lcp-late-image.html', (p) => p.waitForTimeout(1200), NAV(['FCP', 'LCP', 'CLS', 'TTFB']));
  assert.ok(ours.get('LCP navigate').value >= 600, 'LCP is the late image');
});

test('input stops LCP', async () => {
  const ours = await scenario('input stops LCP', '/pages/vitals/lcp-input.html', async (p) => {
    await p.click('#go');
    await p.waitForTimeout(1200); // the larger image renders after the click
  }, NAV(['FCP', 'LCP', 'CLS', 'TTFB', 'INP']));
  assert.ok(ours.get('LCP navigate').value < 1000, 'LCP is from before the click');
});

test('CLS: two session windows, shifts after input excluded', async () => {
  const ours = await scenario('CLS windows + input', '/pages/vitals/cls.html', async (p) => {
    await p.waitForFunction(() => document.title === 'shifted');
    await p.click('#go');
    await p.waitForTimeout(1200);
  }, NAV(['FCP', 'LCP', 'CLS', 'TTFB', 'INP']));
  assert.ok(ours.get('CLS navigate').value > 0, 'shifts were counted');
});

test('INP: pointer and keyboard interactions of known handler durations', async () => {
  const ours = await scenario('INP pointer + keyboard', '/pages/vitals/inp.html', async (p) => {
    await p.click('#fast');
    await p.click('#slow100');
    await p.click('#slow250');
    await p.click('#text');
    await p.keyboard.press('a');
    // web-vitals processes event entries when the browser is idle (at most 1 s later); a page
    // hidden before that loses them there (ours processes them at once). Give it the second.
    await p.waitForTimeout(1200);
  }, NAV(['FCP', 'LCP', 'CLS', 'TTFB', 'INP']));
  assert.ok(ours.get('INP navigate').value >= 250, 'INP is the slowest interaction');
});

test('INP from a keyboard interaction', async () => {
  const ours = await scenario('INP keyboard', '/pages/vitals/inp.html?keyboard', async (p) => {
    await p.focus('#text'); // focus from script: no pointer interaction
    await p.keyboard.press('a');
    await p.waitForTimeout(1200); // see the pointer scenario
  }, NAV(['FCP', 'LCP', 'CLS', 'TTFB', 'INP']));
  assert.ok(ours.get('INP navigate').value >= 150, 'INP is the 150 ms keydown');
  assert.equal(ours.get('INP navigate').attribution.interactionType, 'keyboard');
});

test('INP past 50 interactions: the 98th percentile skips the slowest', async () => {
  const ours = await scenario('INP p98 (57 interactions)', '/pages/vitals/inp.html?many', async (p) => {
    await p.click('#slow250');
    await p.click('#slow100');
    for (let i = 0; i < 55; i++) await p.click('#fast');
    await p.waitForTimeout(1200);
  }, NAV(['FCP', 'LCP', 'CLS', 'TTFB', 'INP']));
  const inp = ours.get('INP navigate').value;
  assert.ok(inp >= 100 && inp < 250, `one in 50 skipped: INP is the 100 ms interaction, not the 250 ms one (${inp})`);
});

test('hidden before the first paint: no FCP, LCP or CLS', async () => {
  await scenario('hidden before paint', '/pages/vitals/hidden-before-paint.html', (p) => p.waitForTimeout(300), NAV(['TTFB']));
});

test('reportAllChanges: every change, as web-vitals reports them', async () => {
  site.collected.length = 0;
  const page = await browser.newPage();
  const path = '/pages/vitals/lcp-late-image.html?all';
  await page.goto(site.url + path);
  await sdkLoaded(page);
  await page.waitForTimeout(1200);
  await page.goto('about:blank');
  await eventually(() => site.collected.filter((m) => m.src === 'rum' && m.name === 'CLS').length > 0, 10000, 'CLS with reportAllChanges');
  await new Promise((r) => setTimeout(r, 300));
  const seq = (src) => site.collected.filter((m) => m.src === src && m.page === path && m.name === 'LCP').map((m) => round(m.value));
  assert.ok(seq('rum').length >= 2, 'LCP candidates were each reported: ' + seq('rum'));
  assert.deepEqual(seq('rum'), seq('web-vitals'));
  table.push({ scenario: 'reportAllChanges LCP', name: 'LCP', nav: 'navigate', ours: seq('rum').join(' → '), ref: seq('web-vitals').join(' → '), rating: '' });
  await page.close();
});

test('back/forward cache restore: new metric instances', async (t) => {
  site.collected.length = 0;
  const page = await browser.newPage();
  const path = '/pages/vitals/basic.html';
  await page.goto(site.url + path);
  await sdkLoaded(page);
  await page.goto(site.url + '/pages/vitals/other.html');
  await page.goBack({ waitUntil: 'commit' });
  const restored = await eventually(() => site.collected.some((m) => m.src === 'page' && m.restored), 3000, 'a bfcache restore').catch(() => false);
  if (!restored) {
    // Headless Chromium may refuse the cache for this page; say so rather than pass silently.
    t.skip('this Chromium did not restore the page from the back/forward cache');
    await page.close();
    return;
  }
  await page.waitForTimeout(300);
  await page.goto('about:blank');
  const expected = NAV(['FCP', 'LCP', 'TTFB', 'CLS'], 'back-forward-cache');
  await eventually(() => expected.every((k) => finals('rum', path).has(k) && finals('web-vitals', path).has(k)), 10000, 'bfcache reports');
  await new Promise((r) => setTimeout(r, 300));
  const ours = finals('rum', path);
  const ref = finals('web-vitals', path);
  for (const key of expected) {
    const m = ours.get(key);
    const r = ref.get(key);
    table.push({ scenario: 'bfcache restore', name: m.name, nav: m.navigationType, ours: round(m.value), ref: round(r.value), rating: m.rating === r.rating ? m.rating : `${m.rating} ≠ ${r.rating}` });
    const tol = m.name === 'CLS' ? CLS_TOLERANCE : m.name === 'TTFB' ? 0 : 16;
    assert.ok(Math.abs(m.value - r.value) <= tol, `${key}: ours ${m.value}, web-vitals ${r.value}`);
    assert.equal(m.rating, r.rating);
    if (m.name !== 'FCP' && m.name !== 'LCP') compareAttribution(`bfcache ${m.name}`, m, r);
  }
  assert.equal(ours.get('TTFB back-forward-cache').value, 0);
  await page.close();
});

test('prerendered page: times count from activation, navigationType prerender', async () => {
  // DevTools (and so Playwright) blocks prerendering: run Chromium on its own. The launcher
  // page prerenders the target with speculation rules and activates it 2 s later; the target
  // leaves a second after activation, which hides it.
  site.collected.length = 0;
  const profile = mkdtempSync(join(tmpdir(), 'rum-prerender-'));
  const chromium = spawn(process.env.CHROMIUM || '/usr/bin/chromium', [...CHROMIUM_ARGS, '--user-data-dir=' + profile, site.url + '/pages/vitals/prerender-start.html'], { stdio: 'ignore', detached: true });
  const exited = new Promise((r) => chromium.once('exit', r));
  const path = '/pages/vitals/prerender-target.html';
  const expected = NAV(['TTFB', 'FCP', 'LCP', 'CLS'], 'prerender');
  try {
    await eventually(() => expected.every((k) => finals('rum', path).has(k) && finals('web-vitals', path).has(k)), 20000, 'prerender reports from both');
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    // The whole process group: Chromium's renderers and helpers too.
    try {
      process.kill(-chromium.pid, 'SIGKILL');
    } catch {}
    await exited;
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
  const activation = site.collected.find((m) => m.src === 'page' && m.activationStart !== undefined);
  assert.ok(activation && activation.activationStart > 0, 'the page was prerendered, then activated');
  const ours = finals('rum', path);
  const ref = finals('web-vitals', path);
  assert.deepEqual([...ours.keys()].sort(), [...ref.keys()].sort());
  for (const key of expected) {
    const m = ours.get(key);
    const r = ref.get(key);
    table.push({ scenario: 'prerender', name: m.name, nav: m.navigationType, ours: round(m.value), ref: round(r.value), rating: m.rating });
    assert.ok(Math.abs(m.value - r.value) <= (m.name === 'CLS' ? CLS_TOLERANCE : TIME_TOLERANCE), `${key}: ours ${m.value}, web-vitals ${r.value}`);
    assert.equal(m.rating, r.rating);
    compareAttribution(`prerender ${m.name}`, m, r);
  }
  assert.ok(ours.get('FCP prerender').value < activation.activationStart, 'FCP counts from activation, not navigation');
});

test('the final vitals reach the gateway through the beacon queue', async () => {
  const { page_views } = await gateway.api('/api/page_views?limit=100');
  const view = page_views.find((v) => v.url.endsWith('/pages/vitals/inp.html'));
  assert.ok(view, 'the INP scenario page view is stored');
  assert.ok(view.vitals.INP.value >= 250);
});
