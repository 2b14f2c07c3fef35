// Errors end to end in real Chromium: an uncaught error from a click handler (an error click),
// the same error 50 times, an unhandled rejection, a failed image and a `rum.error` call each
// arrive once with their view and session; the gateway symbolicates them with the source map
// uploaded for the release; the viewer's group page shows the original function names and
// runs nothing from an error's message.
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

const PAYLOAD = '<img src=x onerror="window.__xss=1">';

test('errors arrive once each, counted, tied to their action, and symbolicated; the viewer shows the original stack as text', async () => {
  // The release's map, uploaded before the errors happen.
  const map = readFileSync(root + 'playwright/pages/errors/app.min.js.map');
  const upload = await fetch(
    `${gateway.admin}/api/sourcemaps?service=errors-app&version=1.0.0&url=${encodeURIComponent(pages.url + '/pages/errors/app.min.js')}`,
    { method: 'POST', body: map },
  );
  assert.equal(upload.status, 201, await upload.text());

  const context = await browser.newContext();
  const page = await context.newPage();
  const seenByPage = [];
  page.on('pageerror', (e) => seenByPage.push(e.message));
  await page.goto(pages.url + '/pages/errors.html');
  await sdkLoaded(page);
  await page.click('#pay'); // its handler throws: an error click
  await page.evaluate((payload) => {
    window.throwMany(50);
    Promise.reject(new Error('rejected ' + payload));
    const img = document.createElement('img');
    img.src = '/missing.png';
    document.body.append(img);
    window.rum.error(new RangeError('handled one'), { step: 2 });
  }, PAYLOAD);
  await page.waitForTimeout(1500); // the click's window
  const id = await page.evaluate(() => localStorage.getItem('rum.session').split('.')[0]);
  await page.evaluate(() => window.rum.flush());
  assert.equal(seenByPage.length, 52, 'the page still sees its own 51 errors and the rejection');

  const s = await eventually(async () => {
    const s = await gateway.api('/api/sessions/' + id);
    const errors = s.items.filter((i) => i.type === 'error');
    return errors.length === 5 && errors.some((e) => e.count === 50) && s;
  }, 15000, 'five error records, one counted 50 times');
  const errors = s.items.filter((i) => i.type === 'error');
  const kinds = errors.map((e) => e.kind).sort();
  assert.deepEqual(kinds, ['handled', 'resource', 'uncaught', 'uncaught', 'unhandledrejection']);
  const view = s.views[0].view_id;
  assert.ok(errors.every((e) => e.view_id === view), 'each with its view');
  const many = errors.find((e) => e.count === 50);
  assert.equal(many.kind, 'uncaught');
  const click = errors.find((e) => e.kind === 'uncaught' && e.count === 1);
  const action = s.items.find((i) => i.type === 'action');
  assert.equal(action.attributes['rum.action.name'], 'Pay');
  assert.deepEqual(action.attributes['rum.action.frustration.type'], ['error_click']);
  assert.equal(click.action_span_id, action.span_id, 'the error names the action it happened in');

  // The group of the TypeError, resolved through the uploaded map.
  const group = await gateway.api('/api/errors/' + many.fingerprint);
  assert.equal(group.type, 'TypeError');
  assert.equal(group.count, 51, 'the click’s error and the 50 are one group');
  const frames = group.occurrences[0].frames.filter((f) => f.in_app);
  assert.deepEqual(frames.slice(0, 3).map((f) => f.original && f.original.line), [6, 12, 16], 'original lines of levelThree, levelTwo, levelOne');
  assert.ok(frames.slice(0, 3).every((f) => f.original.file.endsWith('app.src.js')));
  const resource = errors.find((e) => e.kind === 'resource');
  assert.match((await gateway.api('/api/errors/' + resource.fingerprint)).message, /missing\.png/);

  // The viewer: the group page with the original names; the rejection's markup as text.
  const viewer = await browser.newPage();
  await viewer.goto(gateway.admin + '/#/errors');
  await viewer.waitForSelector(`#errors tr.error-group[data-fingerprint="${many.fingerprint}"]`);
  await viewer.goto(gateway.admin + '/#/error/' + many.fingerprint);
  await viewer.waitForSelector('#error-stack .frame');
  const names = await viewer.$$eval('#error-stack .frame.in-app .frame-function', (els) => els.map((e) => e.textContent));
  for (const name of ['levelThree', 'levelTwo', 'levelOne']) assert.ok(names.some((n) => n.includes(name)), `${name} in ${names}`);
  const shot = await viewer.screenshot({ fullPage: true, path: root + 'playwright/test-results/error-group.png' });
  assert.ok(shot.length > 10000, 'a screenshot of the group page');
  const rejection = errors.find((e) => e.kind === 'unhandledrejection');
  await viewer.goto(gateway.admin + '/#/error/' + rejection.fingerprint);
  await viewer.waitForSelector('#error-title');
  await viewer.waitForTimeout(300);
  assert.equal(await viewer.evaluate(() => window.__xss), undefined, 'no script ran');
  assert.equal(await viewer.$$eval('#app img', (els) => els.length), 0);
  assert.ok((await viewer.$eval('#error-title', (e) => e.textContent)).includes(PAYLOAD), 'the markup shown as text');
  await viewer.close();
  await context.close();
});
