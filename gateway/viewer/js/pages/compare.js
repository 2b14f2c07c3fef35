// A comparison of two releases (`#/compare?service=…&baseline=…&candidate=…[&environment=…]`):
// every figure of both side by side with the difference, the verdict, the test and p.
import { el, table, hashParams, hashOf } from '/js/dom.js';
import * as api from '/js/api.js';
import { fmtValue } from '/js/pages/releases.js';

const signedText = (text, v) => (v > 0 ? '+' + text : text);
const TEST_NAMES = { mann_whitney_u: 'Mann–Whitney U', two_proportion_z: 'two-proportion z' };

function sideText(s, unit) {
  if (s.p75 !== undefined || s.p95 !== undefined) return `p75 ${fmtValue(s.p75, unit)} · p95 ${fmtValue(s.p95, unit)} (n=${s.n})`;
  if (s.per_1000 !== undefined) return `${s.per_1000 == null ? '—' : s.per_1000.toFixed(1)} / 1000 views (${s.events} of ${s.n} views with errors)`;
  return `${fmtValue(s.rate, 'share')} (${s.events} of ${s.n})`;
}

function differenceText(d, unit) {
  if (d.p75 !== undefined || d.p95 !== undefined) {
    const one = (v) => (v == null ? '—' : signedText(fmtValue(v, unit), v));
    return `p75 ${one(d.p75)} · p95 ${one(d.p95)}`;
  }
  if (d.per_1000 !== undefined) return d.per_1000 == null ? '—' : signedText(d.per_1000.toFixed(1), d.per_1000) + ' / 1000';
  if (d.rate !== undefined) return d.rate == null ? '—' : signedText(fmtValue(d.rate, 'share'), d.rate);
  return '—';
}

export async function render() {
  const q = hashParams();
  const service = q.get('service') || '';
  const c = await api.compareReleases(Object.fromEntries(q));
  const figureLabel = (f) => f.figure + (f.name ? ' ' + f.name : '');
  const counts = (r) => `${r.page_views} page views · ${r.sessions} sessions · ${r.errors} errors`;
  return [
    el('p', null, el('a', { href: hashOf('releases', { service }) }, '← releases of ' + service)),
    el('h2', { id: 'compare-title' }, `${c.service}: ${c.baseline.version} (baseline) vs ${c.candidate.version} (candidate)` + (c.environment ? ' in ' + c.environment : '')),
    el('p', { class: 'muted' }, `Baseline: ${counts(c.baseline)}. Candidate: ${counts(c.candidate)}. A verdict needs at least ${c.min_samples} samples a side and p < ${c.alpha}; lower is better for every figure.`),
    el('p', { id: 'compare-summary' }, c.worse.length ? el('span', { class: 'verdict worse' }, 'Worse: ' + c.worse.join(', ')) : el('span', { class: 'verdict no_evidence' }, 'No figure is worse.'),
      c.better.length ? el('span', { class: 'verdict better' }, 'Better: ' + c.better.join(', ')) : null),
    table({ id: 'comparison' }, ['Figure', 'Baseline', 'Candidate', 'Difference', 'Verdict', 'Test', 'p'],
      c.figures.map((f) => el('tr', { class: 'figure', 'data-figure': figureLabel(f) },
        el('th', { scope: 'row' }, figureLabel(f)),
        el('td', null, sideText(f.baseline, f.unit)),
        el('td', null, sideText(f.candidate, f.unit)),
        el('td', null, differenceText(f.difference, f.unit)),
        el('td', { title: f.reason }, el('span', { class: 'verdict ' + f.verdict }, f.verdict.replace('_', ' ')), el('div', { class: 'muted' }, f.reason)),
        el('td', null, TEST_NAMES[f.test] || f.test),
        el('td', { class: 'num' }, f.p_value == null ? '—' : f.p_value.toExponential(2))))),
  ];
}
