// Main-thread cost of each SDK on the same page and workload, in real headless Chromium:
// script time (CDP Performance.getMetrics ScriptDuration) for page load plus 20 clicks (each
// shifting layout), 20 fetch calls and hiding the page, with no SDK as the baseline measured
// in the same run. Reports the median of RUNS loads per variant and ratios; asserts nothing.
//   node bench/main-thread.mjs        (after scripts/test.sh has built the SDK and binaries)
import { startGateway, startStatic, launchBrowser } from '../harness.mjs';

const RUNS = Number(process.env.RUNS || 7);
const VARIANTS = ['none', 'rum', 'web-vitals', 'apm-rum'];

const gateway = await startGateway();
const site = await startStatic(gateway);
const browser = await launchBrowser();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once(variant) {
  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(`${site.url}/pages/bench.html?sdk=${variant}`);
  await page.waitForFunction(() => window.benchReady);
  await page.waitForTimeout(300);
  for (let i = 0; i < 20; i++) await page.click('#b');
  await page.evaluate(() => Promise.all(Array.from({ length: 20 }, (_, i) => fetch('/echo/bench-' + i).then((r) => r.text()))));
  await page.waitForTimeout(300);
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (name) => metrics.find((m) => m.name === name)?.value ?? NaN;
  const result = { script: get('ScriptDuration') * 1000, task: get('TaskDuration') * 1000 };
  await page.close();
  return result;
}

const results = Object.fromEntries(VARIANTS.map((v) => [v, { script: [], task: [] }]));
for (let run = 0; run < RUNS; run++) {
  // Interleave the variants so drift in machine load hits all of them alike.
  for (const variant of VARIANTS) {
    const r = await once(variant);
    results[variant].script.push(r.script);
    results[variant].task.push(r.task);
  }
}
const base = median(results.none.script);
console.log(`main-thread script time, median of ${RUNS} page loads (ms); "added" is over the no-SDK baseline`);
console.log('variant       script   added    task');
for (const v of VARIANTS) {
  const s = median(results[v].script);
  console.log(`${v.padEnd(12)} ${s.toFixed(1).padStart(7)} ${(s - base).toFixed(1).padStart(7)} ${median(results[v].task).toFixed(1).padStart(7)}`);
}
const added = (v) => median(results[v].script) - base;
console.log(`ratio of added script time: rum / web-vitals = ${(added('rum') / added('web-vitals')).toFixed(2)}, rum / apm-rum = ${(added('rum') / added('apm-rum')).toFixed(2)}`);
await browser.close();
await site.stop();
await gateway.stop();
