// Google's web-vitals, attribution build: the five vitals with attribution, beaconed when the
// page is hidden. A vitals-only reference (no tracing, errors or sessions).
import { onCLS, onFCP, onINP, onLCP, onTTFB } from 'web-vitals/attribution';

const cfg = globalThis.BENCH_CONFIG;
performance.mark('bench:init-start');
const metrics = [];
const collect = ({ name, value, rating, delta, id, navigationType, attribution }) => {
  // Attribution objects hold entries and DOM nodes; keep the plain values only.
  const attr = {};
  for (const k in attribution) {
    const v = attribution[k];
    if (v === null || typeof v !== 'object') attr[k] = v;
  }
  metrics.push({ name, value, rating, delta, id, navigationType, attribution: attr });
};
onCLS(collect);
onFCP(collect);
onINP(collect);
onLCP(collect);
onTTFB(collect);
addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden' && metrics.length) {
    navigator.sendBeacon(cfg.collector + '/web-vitals', JSON.stringify(metrics.splice(0)));
  }
});
performance.mark('bench:init-end');
globalThis.BENCH_SDK = 'web-vitals';
