// Loads BOTH npm web-vitals (attribution build) and our SDK on the same page load, and sends
// every report of each to the test server's /collect with sendBeacon (which survives unload).
// `?all` turns on reportAllChanges in both.
import { onCLS, onFCP, onINP, onLCP, onTTFB } from '/wv/web-vitals.attribution.js';
import { init } from '/sdk/index.js';

const reportAllChanges = new URLSearchParams(location.search).has('all');
// Attribution, reduced to its plain values (web-vitals' also holds entries and DOM nodes), and
// the number of long-animation-frame entries.
const plain = (a = {}) => {
  const out = Object.fromEntries(Object.entries(a).filter(([, v]) => v === undefined || typeof v !== 'object'));
  const loafs = a.longAnimationFrameEntries || a.longAnimationFrames;
  if (loafs) out.loafCount = loafs.length;
  return out;
};
const send = (src, m) =>
  navigator.sendBeacon(
    '/collect',
    JSON.stringify({ src, page: location.pathname + location.search, name: m.name, value: m.value, delta: m.delta, rating: m.rating, navigationType: m.navigationType, id: m.id, attribution: plain(m.attribution) }),
  );
for (const on of [onCLS, onFCP, onINP, onLCP, onTTFB]) on((m) => send('web-vitals', m), { reportAllChanges });
window.rum = init({ endpoint: '__GATEWAY__', apiKey: 'dev', service: { name: 'vitals-test' }, reportAllChanges });
window.rum.onMetric((m) => send('rum', m));
addEventListener('pageshow', (e) => e.persisted && navigator.sendBeacon('/collect', JSON.stringify({ src: 'page', restored: true })));
