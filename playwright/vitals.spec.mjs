// Our SDK against npm web-vitals (attribution build) on the SAME page load: every scenario
// page loads both, each sends its reports to the test server, and we compare the final value,
// rating and navigationType of each metric.
//
// Tolerances: both compute each value from the same performance entries with the same
// arithmetic, so times must agree to the millisecond (in practice exactly) and CLS to 1e-6.
// The one exception is FCP/LCP after a back/forward-cache restore: each library reads
// performance.now() in its own callback of the second animation frame after the same
// pageshow. Callbacks of one frame run back to back, so the readings differ by the run time
// of the callbacks between them (usually 0.5–6 ms on a loaded 2-core machine; once, in CI,
// 20 ms, when the renderer was descheduled between the two callbacks). A value counted from
// anything but the `pageshow` would be hundreds of ms off. Allowed: 34 ms (two frames at 60 Hz).
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
const BFCACHE_PAINT_TOLERANCE = 34; // ms; see the note on tolerances at the top
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

test('LCP after more than 250 resources: its resource is found although the browser buffer is full', async () => {
  const ours = await scenario('LCP after 300 resources', '/pages/vitals/lcp-many-resources.html', async (p) => {
    await p.waitForFunction(() => document.title === 'loaded', null, { timeout: 20000 });
    const inBuffer = await p.evaluate(() => ({
      count: performance.getEntriesByType('resource').length,
      image: performance.getEntriesByType('resource').some((e) => e.name.includes('/img/noise.png')),
    }));
    assert.ok(inBuffer.count >= 250 && !inBuffer.image, `the browser's buffer is full without the image: ${JSON.stringify(inBuffer)}`);
  }, NAV(['FCP', 'LCP', 'CLS', 'TTFB']));
  const a = ours.get('LCP navigate').attribution;
  assert.match(a.url, /\/img\/noise\.png/, 'LCP is the image');
  // The server holds the image 200 ms before answering: that is load time, not render delay.
  assert.ok(a.resourceLoadDuration >= 190, `resourceLoadDuration ${a.resourceLoadDuration}`);
  assert.ok(a.resourceLoadDelay > 0, `resourceLoadDelay ${a.resourceLoadDelay}`);
});

test('CLS attribution survives 160 small shifts after the largest window', async () => {
  let shifts;
  const ours = await scenario('CLS + 160 small shifts', '/pages/vitals/cls-many-small.html', async (p) => {
    await p.waitForFunction(() => document.title === 'shifted', null, { timeout: 20000 });
    shifts = await p.evaluate(() => window.shifts);
  }, NAV(['FCP', 'LCP', 'CLS', 'TTFB']));
  const windows = sessionWindows(shifts);
  const largest = windows.reduce((a, b) => (b.value > a.value ? b : a));
  const after = shifts.filter((e) => e.startTime > largest.shifts.at(-1).startTime);
  assert.ok(after.length > 100, `more than 100 shifts follow the largest window (${after.length})`);
  const a = ours.get('CLS navigate').attribution;
  assert.ok(Math.abs(ours.get('CLS navigate').value - largest.value) <= CLS_TOLERANCE);
  assert.equal(a.largestShiftTime, largest.shifts.reduce((x, y) => (x.value > y.value ? x : y)).startTime);
  assert.ok(a.largestShiftTarget, 'the shifted element is named');
});

/** Session windows over layout-shift records, by the metric's definition (test's own code). */
function sessionWindows(shifts) {
  const windows = [];
  for (const e of shifts.filter((x) => !x.hadRecentInput)) {
    const w = windows.at(-1);
    if (w && e.startTime - w.shifts.at(-1).startTime < 1000 && e.startTime - w.shifts[0].startTime < 5000) {
      w.shifts.push(e);
      w.value += e.value;
    } else {
      windows.push({ shifts: [e], value: e.value });
    }
  }
  return windows;
}

test('documented difference: shifts before FCP span two windows; ours reports the largest, web-vitals the last', async () => {
  site.collected.length = 0;
  const page = await browser.newPage();
  const errors = watchErrors(page);
  const path = '/pages/vitals/cls-before-fcp.html';
  await page.goto(site.url + path);
  await sdkLoaded(page);
  await page.waitForFunction(() => document.title === 'painted', null, { timeout: 10000 });
  const shifts = await page.evaluate(() => window.shifts);
  const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime);
  await page.goto('about:blank');
  await eventually(() => finals('rum', path).has('CLS navigate') && finals('web-vitals', path).has('CLS navigate'), 10000, 'CLS from both');
  await new Promise((r) => setTimeout(r, 300));
  const windows = sessionWindows(shifts);
  assert.ok(windows.length >= 2 && windows.every((w) => w.shifts.at(-1).startTime < fcp), `two windows, all before FCP at ${fcp}: ${JSON.stringify(windows)}`);
  const largest = Math.max(...windows.map((w) => w.value));
  const last = windows.at(-1).value;
  assert.ok(largest > last, `the last window is not the largest (${largest} vs ${last})`);
  const ours = finals('rum', path).get('CLS navigate').value;
  const ref = finals('web-vitals', path).get('CLS navigate').value;
  table.push({ scenario: 'CLS windows before FCP', name: 'CLS', nav: 'navigate', ours: round(ours), ref: round(ref), rating: `largest window ${round(largest)}, last ${round(last)}` });
  assert.ok(Math.abs(ours - largest) <= CLS_TOLERANCE, `ours reports the largest window: ${ours} vs ${largest}`);
  assert.ok(Math.abs(ref - last) <= CLS_TOLERANCE, `web-vitals reports the last window: ${ref} vs ${last} (if this fails, web-vitals changed: revisit docs/api.md)`);
  assert.deepEqual(errors, []);
  await page.close();
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
    const tol = m.name === 'CLS' ? CLS_TOLERANCE : m.name === 'TTFB' ? 0 : BFCACHE_PAINT_TOLERANCE;
    assert.ok(Math.abs(m.value - r.value) <= tol, `${key}: ours ${m.value}, web-vitals ${r.value}`);
    assert.equal(m.rating, r.rating);
    if (m.name !== 'FCP' && m.name !== 'LCP') compareAttribution(`bfcache ${m.name}`, m, r);
  }
  assert.equal(ours.get('TTFB back-forward-cache').value, 0);
  await page.close();
});

test('back/forward cache restore of a page that had no FCP: CLS counts from the restore\'s FCP', async (t) => {
  site.collected.length = 0;
  const page = await browser.newPage();
  const errors = watchErrors(page);
  const path = '/pages/vitals/bfcache-unpainted.html';
  await page.goto(site.url + path);
  await sdkLoaded(page);
  await page.goto(site.url + '/pages/vitals/other.html');
  await page.goBack({ waitUntil: 'commit' });
  const restored = await eventually(() => site.collected.some((m) => m.src === 'page' && m.restored), 3000, 'a bfcache restore').catch(() => false);
  if (!restored) {
    t.skip('this Chromium did not restore the page from the back/forward cache');
    await page.close();
    return;
  }
  await page.waitForFunction(() => document.title === 'shifted');
  const shifts = await page.evaluate(() => window.shifts);
  await page.goto('about:blank');
  const expected = NAV(['FCP', 'LCP', 'TTFB', 'CLS'], 'back-forward-cache');
  await eventually(() => expected.every((k) => finals('rum', path).has(k) && finals('web-vitals', path).has(k)), 10000).catch(() => {});
  await new Promise((r) => setTimeout(r, 300));
  const ours = finals('rum', path);
  const ref = finals('web-vitals', path);
  assert.deepEqual([...ours.keys()].sort(), [...ref.keys()].sort(), 'the same metrics were reported');
  assert.deepEqual([...ours.keys()].sort(), [...expected, 'TTFB navigate'].sort(), 'the expected metrics were reported');
  assert.ok(!ours.has('FCP navigate') && !ours.has('CLS navigate'), 'the load itself reported no FCP, so no CLS');
  for (const key of expected) {
    const m = ours.get(key);
    const r = ref.get(key);
    table.push({ scenario: 'bfcache, no FCP before', name: m.name, nav: m.navigationType, ours: round(m.value), ref: round(r.value), rating: m.rating === r.rating ? m.rating : `${m.rating} ≠ ${r.rating}` });
    const tol = m.name === 'CLS' ? CLS_TOLERANCE : m.name === 'TTFB' ? 0 : BFCACHE_PAINT_TOLERANCE;
    assert.ok(Math.abs(m.value - r.value) <= tol, `${key}: ours ${m.value}, web-vitals ${r.value}`);
    assert.equal(m.rating, r.rating);
    if (m.name !== 'FCP' && m.name !== 'LCP') compareAttribution(`bfcache no FCP ${m.name}`, m, r);
  }
  const cls = ours.get('CLS back-forward-cache');
  const total = shifts.filter((e) => !e.hadRecentInput).reduce((sum, e) => sum + e.value, 0);
  assert.ok(shifts.length >= 2 && Math.abs(cls.value - total) <= CLS_TOLERANCE, `CLS is the shifts after the restore: ${cls.value} vs ${JSON.stringify(shifts)}`);
  assert.deepEqual(errors, []);
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
