// User journeys end to end in real Chromium: the demo SPA's route changes and clicks become
// ONE session of views and actions in the gateway; the add-to-cart click is ONE trace from
// the click to the backend; frustration signals; API calls made before the wasm loaded; a
// session that expires; the viewer's session timeline, which shows beacon text as text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startDemo, startStatic, launchBrowser, eventually, watchErrors, sdkLoaded, root } from './harness.mjs';

let gateway, demo, pages, browser;
before(async () => {
  gateway = await startGateway();
  demo = await startDemo(gateway);
  pages = await startStatic(gateway);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await demo?.stop();
  await pages?.stop();
  await gateway?.stop();
});

const sessionId = (page) => page.evaluate(() => localStorage.getItem('rum.session').split('.')[0]);
const session = (id) => gateway.api('/api/sessions/' + id);

test('a journey of two route changes and three clicks is one session of three views and three actions', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  // The wasm is held back until the page has called the API: those calls must be queued.
  let release;
  const held = new Promise((r) => (release = r));
  await page.route('**/rum_sdk_bg.wasm', async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(demo.url);
  await page.waitForFunction(() => window.rum && document.querySelector('a[data-sku]'));
  await page.evaluate(() => window.rum.event('early.event', { step: 1, ok: true, nested: { dropped: 1 } }));
  release();
  await sdkLoaded(page);
  // Interception off again: with a route set, Playwright intercepts every request of the page,
  // and Chromium drops the beacons a page sends as it unloads (the session's last actions).
  await page.unrouteAll({ behavior: 'wait' });

  await page.click('a[data-sku]'); // route change 1, action 1
  await page.waitForSelector('#add-to-cart');
  await page.click('#add-to-cart'); // action 2: POST /api/cart and GET /api/cart/count
  await page.waitForFunction(() => document.querySelector('#cart-count')?.textContent.trim() === '1');
  await page.click('#cart-link'); // route change 2, action 3
  await page.waitForTimeout(1500); // the last action's frustration window
  const id = await sessionId(page);
  await page.evaluate(() => window.rum.flush());
  await page.goto('about:blank');

  const s = await eventually(async () => {
    const s = await session(id);
    return s.views.length === 3 && s.items.filter((i) => i.type === 'action').length === 3 && s.views[2].end_time_unix_nano && s;
  }, 15000, 'the session with three views and three actions');
  assert.deepEqual(s.views.map((v) => v.name), ['/', '/product/:sku', '/cart'], 'views in order, named by setView');
  assert.deepEqual(s.views.map((v) => v.navigation_type), ['navigate', 'route-change', 'route-change']);
  assert.equal(s.views[1].previous_view_id, s.views[0].view_id);
  assert.equal(s.views[2].previous_view_id, s.views[1].view_id);
  const actions = s.items.filter((i) => i.type === 'action');
  assert.deepEqual(actions.map((a) => a.attributes['rum.action.name']), ['Open product', 'Add to cart', 'Cart']);
  assert.ok(actions.every((a) => !a.attributes['rum.action.frustration.type']), 'no frustration in a normal journey');
  assert.deepEqual(
    actions.map((a) => a.view_id),
    [s.views[0].view_id, s.views[1].view_id, s.views[1].view_id],
    'each click in the view it happened in (the one that navigated is sent with the next view)',
  );
  const routes = s.items.filter((i) => i.type === 'route_change');
  assert.equal(routes.length, 2);
  assert.equal(s.session.user_id, 'demo-user-1', 'setUser called before the wasm loaded');
  const events = s.items.filter((i) => i.type === 'event').map((e) => e.name);
  assert.ok(events.includes('early.event'), 'rum.event called before the wasm loaded: ' + events);
  assert.ok(events.includes('session.start'), 'the session start: ' + events);

  // The add-to-cart click: ONE trace of the action, its two fetches and the backend's spans.
  const add = actions[1];
  const trace = await eventually(async () => {
    const t = await gateway.api('/api/traces/' + add.trace_id);
    return t.spans.some((x) => x.kind === 'server' && x.name === 'GET /api/cart/count') && t;
  }, 15000, 'the click trace with both backend calls');
  const byId = new Map(trace.spans.map((x) => [x.span_id, x]));
  const root = byId.get(add.span_id);
  assert.ok(root && !root.parent_span_id, 'the action span is the root');
  const fetches = trace.spans.filter((x) => x.kind === 'client');
  assert.deepEqual(fetches.map((f) => f.attributes['url.full'].replace(demo.url, '')).sort(), ['/api/cart', '/api/cart/count']);
  assert.ok(fetches.every((f) => f.parent_span_id === root.span_id), 'both fetches are the action’s children');
  for (const name of ['POST /api/cart', 'GET /api/cart/count']) {
    const server = trace.spans.find((x) => x.kind === 'server' && x.name === name);
    assert.ok(server, name);
    assert.equal(byId.get(server.parent_span_id)?.kind, 'client', name + ' under its fetch span');
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test('a rage click and a dead click are flagged, a normal click is not', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(demo.url + '/product/tea-01');
  await sdkLoaded(page);
  await page.waitForSelector('#wishlist');
  await page.click('#wishlist'); // does nothing: dead
  await page.waitForTimeout(1200);
  for (let i = 0; i < 3; i++) await page.click('#add-to-cart', { delay: 10 }); // rage, not dead
  await page.waitForTimeout(1500);
  await page.click('#cart-link'); // normal
  await page.waitForTimeout(1500);
  const id = await sessionId(page);
  await page.evaluate(() => window.rum.flush());
  const actions = await eventually(async () => {
    const a = (await session(id)).items.filter((i) => i.type === 'action');
    return a.length === 3 && a;
  }, 15000, 'three actions');
  const signals = actions.map((a) => [a.attributes['rum.action.name'], a.attributes['rum.action.frustration.type'] || []]);
  assert.deepEqual(signals, [
    ['Add to wishlist', ['dead_click']],
    ['Add to cart', ['rage_click']],
    ['Cart', []],
  ]);
  assert.equal(actions[1].attributes['rum.action.click_count'], 3);
  await context.close();
});

test('a session idle past its timeout gets a new id, with its end and the new start recorded', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(pages.url + '/pages/esm.html?idle=1500');
  await sdkLoaded(page);
  const first = await sessionId(page);
  await page.click('#b');
  await page.waitForTimeout(2500);
  await page.click('#b'); // activity after the timeout: a new session
  const second = await sessionId(page);
  await page.waitForTimeout(1200); // the click's frustration window
  assert.notEqual(second, first);
  assert.match(second, /^[0-9a-f]{32}$/);
  await page.evaluate(() => window.rum.flush());
  const ended = await eventually(async () => {
    const s = await session(first);
    return s.items.some((i) => i.type === 'event' && i.name === 'session.end') && s;
  }, 15000, 'session.end in the first session');
  assert.ok(ended.views.length >= 1);
  const next = await eventually(async () => {
    const s = await session(second);
    return s.items.some((i) => i.type === 'event' && i.name === 'session.start') && s;
  }, 15000, 'session.start in the second session');
  const start = next.items.find((i) => i.type === 'event' && i.name === 'session.start');
  assert.equal(start.attributes['session.previous_id'], first);
  assert.equal(next.items.filter((i) => i.type === 'action').length, 1, 'the click that renewed it is in the new session');
  await context.close();
});

test('a click on a link to another page arrives, sent as the page unloads, and is no dead click', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(pages.url + '/pages/esm.html');
  await sdkLoaded(page);
  const id = await sessionId(page);
  await Promise.all([page.waitForURL(/next=1/), page.click('#next')]);
  await sdkLoaded(page);
  assert.equal(await sessionId(page), id, 'the next page continues the session');
  const s = await eventually(async () => {
    const s = await session(id);
    return s.views.length === 2 && s.items.some((i) => i.type === 'action') && s;
  }, 15000, 'the link click of the first page');
  const action = s.items.find((i) => i.type === 'action');
  assert.equal(action.attributes['rum.action.name'], 'Next page');
  assert.equal(action.view_id, s.views[0].view_id, 'in the view it happened in');
  assert.equal(action.attributes['rum.action.frustration.type'], undefined, 'it navigated: not dead');
  assert.ok(s.views[0].end_time_unix_nano, 'the first page view ended at pagehide');
  await context.close();
});

test('the viewer shows the session timeline and runs no script from beacon content', async () => {
  // A page whose view name and clicked text are markup.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(pages.url + '/pages/esm.html');
  await sdkLoaded(page);
  const payload = '<img src=x onerror="window.__xss=1">';
  await page.evaluate((p) => {
    window.rum.setView(p);
    const b = document.createElement('button');
    b.id = 'evil';
    b.textContent = p;
    b.onclick = () => (document.body.dataset.clicked = '1');
    document.body.append(b);
  }, payload);
  await page.click('#evil');
  await page.waitForTimeout(1200);
  const evil = await sessionId(page);
  await page.evaluate(() => window.rum.flush());
  await eventually(async () => (await session(evil)).items.some((i) => i.type === 'action'), 15000, 'the markup action');
  await context.close();

  // The journey session of the first test: three views on the timeline.
  const { sessions } = await gateway.api('/api/sessions?limit=100');
  const journey = sessions.find((s) => s.user_id === 'demo-user-1' && s.view_count === 3);
  assert.ok(journey, 'the journey session is listed');
  const viewer = await browser.newPage();
  const errors = watchErrors(viewer);
  await viewer.goto(gateway.admin + '/#/sessions');
  await viewer.waitForSelector(`.session-row[data-session-id="${journey.session_id}"]`);
  await viewer.goto(gateway.admin + '/#/session/' + journey.session_id);
  await viewer.waitForSelector('#timeline .view-band');
  const bands = await viewer.$$eval('#timeline .view-band', (els) => els.map((e) => e.textContent));
  assert.deepEqual(bands, ['/', '/product/:sku', '/cart']);
  assert.equal((await viewer.$$('#timeline .action-mark')).length, 3);
  const shot = await viewer.screenshot({ fullPage: true, path: root + 'playwright/test-results/session-timeline.png' });
  assert.ok(shot.length > 10000, 'a screenshot of the timeline');
  const box = await viewer.$eval('#timeline', (e) => e.getBoundingClientRect().width);
  assert.ok(box > 300, 'the timeline is laid out');

  await viewer.goto(gateway.admin + '/#/session/' + evil);
  await viewer.waitForSelector('#timeline .view-band');
  await viewer.waitForTimeout(300);
  assert.equal(await viewer.evaluate(() => window.__xss), undefined, 'no script ran');
  assert.equal(await viewer.$$eval('#app img', (els) => els.length), 0, 'no element made from beacon text');
  const text = await viewer.$eval('#app', (e) => e.textContent);
  assert.ok(text.includes(payload), 'the markup is shown as text');
  assert.deepEqual(errors, []);
  await viewer.close();
});

test('actions are named and classified as the docs say (js/src/journey.js describe, in a real DOM)', async () => {
  const page = await browser.newPage();
  await page.goto(pages.url + '/pages/naming.html');
  await page.waitForFunction(() => window.ready);
  const d = (id, key = 0) => page.evaluate(([id, key]) => window.describe(id, key), [id, key]);
  assert.deepEqual(await d('#inside-named'), { element: 'named-parent', name: 'Checkout panel', selector: '#named-parent', lively: 1 }, 'the nearest control, named by an ancestor data-rum-name');
  assert.equal((await d('#labelled')).name, 'Close dialog', 'aria-label first');
  assert.equal((await d('#text-link')).name, 'Your cart (2 items)', 'text, whitespace collapsed');
  assert.equal((await d('#submit')).name, 'Send order', 'an input button by its value');
  const img = await d('#logo');
  assert.equal(img.element, 'img-link', 'a click on the image acts on its link');
  assert.equal(img.lively, 1);
  assert.equal((await d('#long')).name.length, 100, 'text cut at 100 characters');
  const plain = await d('#plain');
  assert.equal(plain.name, 'Just text');
  assert.equal(plain.lively, 0, 'plain text is no control: never a dead click');
  assert.equal((await d('.spacer')).name, 'html>body>div.card.spacer', 'nothing to read: the selector');
  assert.equal((await d('#role-button', 1)).name, 'Open menu', 'Enter on a role=button');
  assert.equal(await d('#submit', 1), undefined, 'Enter on a native control is its click, not a second action');
  assert.equal((await d('#field')).lively, 0, 'a text field is no dead-click candidate');
  assert.equal((await d('#field')).name, 'Search', 'a field by its title');
  await page.close();
});
