// Web vitals as the pages show them: a page view's values with attribution, a page's p75 with
// its rating shares, and the p75 of each vital over a chosen range.
import { el, fmtMs, fmtVital, fmtVitalValue, valueText } from '/js/dom.js';
import * as api from '/js/api.js';

export const VITALS = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB'];

/** Attribution as a definition list (element, phases, …); nested values as JSON. */
export function attributionList(attribution, open = false) {
  const entries = Object.entries(attribution || {});
  if (entries.length === 0) return null;
  return el('details', { open },
    el('summary', null, 'attribution'),
    el('dl', null, ...entries.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, valueText(v))])));
}

/** A page view's five vitals, each with its rating and attribution. */
export function vitalsBlock(view, { open = false, id } = {}) {
  const box = el('div', { class: 'vitals', id });
  const vitals = view.vitals || {};
  for (const name of VITALS) {
    const v = vitals[name];
    box.append(el('div', { class: 'vital ' + (v && v.rating ? v.rating : ''), 'data-vital': name },
      el('b', null, name), v ? fmtVital({ ...v, name }) : '—', v ? attributionList(v.attribution, open) : null));
  }
  return box;
}

const share = (x) => Math.round(x * 100) + '%';

/** The good / needs-improvement / poor shares as a bar (with the numbers in its title). */
export function sharesBar(s) {
  return el('div', { class: 'shares', role: 'img', 'aria-label': `good ${share(s.good)}, needs improvement ${share(s.needs_improvement)}, poor ${share(s.poor)}`,
    title: `good ${share(s.good)}, needs improvement ${share(s.needs_improvement)}, poor ${share(s.poor)}` },
  el('span', { class: 'good', style: { width: share(s.good) } }),
  el('span', { class: 'needs-improvement', style: { width: share(s.needs_improvement) } }),
  el('span', { class: 'poor', style: { width: share(s.poor) } }));
}

/** One cell of a pages table: p75 and count, then the shares; `onpick` makes the value a button. */
export function summaryCell(name, s, onpick) {
  if (!s || !s.count) return el('td', { class: 'vital-cell empty' }, '—');
  const value = el('span', { class: 'p75' }, fmtVitalValue(name, s.p75));
  return el('td', { class: 'vital-cell', 'data-p75': name },
    el('div', null,
      onpick ? el('button', { type: 'button', class: 'linkish cell-views', 'data-cell-vital': name,
        title: `the page views behind this ${name}`, onclick: onpick }, value) : value,
      el('span', { class: 'muted' }, ' n=' + s.count)),
    sharesBar(s));
}

// p75 of each vital over a chosen range: raw reports inside the raw tier, the hourly rollups
// before it (`/api/vitals/quantiles`), so ranges beyond the 7 days of raw data still answer.
const RANGES = [['24 hours', 1], ['7 days', 7], ['30 days', 30], ['90 days', 90], ['400 days', 400]];

export function vitalsOverRange() {
  const cells = el('tr');
  const select = el('select', { id: 'vitals-range-select', 'aria-label': 'time range' },
    ...RANGES.map(([label, days]) => el('option', { value: String(days) }, 'last ' + label)));
  select.value = '7';
  const load = async () => {
    const from = Date.now() - Number(select.value) * 86400000;
    const results = await Promise.all(VITALS.map((n) => api.vitalQuantiles(n, Math.max(0, Math.round(from)))));
    cells.replaceChildren(...results.map((q, i) => el('td', { 'data-range-p75': VITALS[i], 'data-source': q.source },
      q.count === 0 ? '—' : (VITALS[i] === 'CLS' ? q.p75.toFixed(3) : fmtMs(q.p75)),
      el('span', { class: 'muted' }, ` n=${q.count}${q.source === 'raw' ? '' : ' (' + q.source + ', ±' + (q.max_relative_error * 100).toFixed(1) + '%)'}`))));
  };
  select.addEventListener('change', () => { load().catch(() => {}); });
  load().catch(() => {});
  return el('section', { id: 'vitals-range' },
    el('h2', null, 'All pages, p75 over ', select),
    el('table', null, el('thead', null, el('tr', null, ...VITALS.map((n) => el('th', { scope: 'col' }, n)))), el('tbody', null, cells)));
}
