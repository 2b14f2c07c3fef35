// Releases of a service (`#/releases?service=…`): per release its page views, sessions, error
// rate, share of sessions with errors, p75 / p95 of each vital and its routes, and two pickers
// to compare two of them. Versions and routes come from beacons and spans: text nodes only.
import { el, table, time, fmtMs, pct, hashParams, hashOf, go } from '/js/dom.js';
import * as api from '/js/api.js';
import { VITALS } from '/js/vitals.js';

export const fmtValue = (v, unit) => (v == null ? '—' : unit === 'score' ? v.toFixed(3) : unit === 'share' ? (v * 100).toFixed(2) + '%' : fmtMs(v));

function serviceForm(service, suggestions) {
  const input = el('input', { id: 'release-service', name: 'service', list: 'release-services', placeholder: 'service.name', required: 'required' });
  input.value = service || '';
  return el('form', { id: 'release-form', onsubmit: (e) => { e.preventDefault(); go(hashOf('releases', { service: input.value })); } },
    el('label', null, 'Service ', input), ' ', el('button', { type: 'submit' }, 'Show releases'),
    el('datalist', { id: 'release-services' }, ...suggestions.map((name) => el('option', { value: name }))));
}

function vitalCell(v, name) {
  if (!v) return el('td', null, '—');
  const unit = name === 'CLS' ? 'score' : 'ms';
  return el('td', { class: 'num', 'data-vital': name }, fmtValue(v.p75, unit), el('span', { class: 'muted' }, ' / ' + fmtValue(v.p95, unit)));
}

function routesBlock(r) {
  const rows = [['fetch', r.fetch], ['server', r.server]].flatMap(([kind, routes]) => (routes || []).map((x) => el('tr', null,
    el('td', null, kind), el('td', null, el('code', null, x.route)), el('td', { class: 'num' }, x.n),
    el('td', { class: 'num' }, fmtValue(x.p95_ms, 'ms')), el('td', { class: 'num' }, pct(x.error_rate)))));
  if (rows.length === 0) return el('span', { class: 'muted' }, 'no spans');
  return el('details', null, el('summary', null, rows.length + ' routes'),
    table({ class: 'routes' }, ['Spans', 'Route', 'n', 'p95', 'Errors'], rows));
}

export async function render() {
  const service = hashParams().get('service') || '';
  const { traces } = await api.traces({ limit: 100 });
  const suggestions = [...new Set(traces.flatMap((t) => t.services || (t.root_service ? [t.root_service] : [])))].sort();
  const parts = [el('h2', null, 'Releases'), serviceForm(service, suggestions)];
  if (!service) return [...parts, el('p', { class: 'muted' }, 'Choose a service to list its releases (service.version per environment).')];
  const { releases } = await api.releases(service);
  if (releases.length === 0) return [...parts, el('p', { id: 'no-releases' }, 'No page views or spans of this service.')];
  const label = (r) => r.version + (r.environment ? ' (' + r.environment + ')' : '');
  const picker = (id, selected) => el('select', { id }, ...releases.map((r, i) => el('option', { value: String(i), selected: i === selected }, label(r))));
  const baseline = picker('baseline', Math.min(1, releases.length - 1));
  const candidate = picker('candidate', 0);
  const compare = () => {
    const b = releases[Number(baseline.value)], c = releases[Number(candidate.value)];
    const q = { service, baseline: b.version, candidate: c.version };
    // One environment when both are in it; otherwise each version over every environment.
    if (b.environment != null && b.environment === c.environment) q.environment = b.environment;
    go(hashOf('compare', q));
  };
  return [...parts,
    el('p', { class: 'muted' }, 'Per release, newest first: error rate, the share of sessions with an error, and p75 / p95 of each vital.'),
    table({ id: 'releases' },
      ['Version', 'Environment', 'Last seen', 'Sessions', 'Page views', 'Errors / 1000 views', 'Sessions with errors', ...VITALS, 'Routes'],
      releases.map((r) => el('tr', { class: 'release', 'data-version': r.version },
        el('td', null, el('b', null, r.version || '(none)')),
        el('td', null, r.environment || ''),
        el('td', null, r.last_seen_unix_nano ? time(r.last_seen_unix_nano) : ''),
        el('td', { class: 'num' }, r.sessions),
        el('td', { class: 'num' }, r.page_views),
        el('td', { class: 'num' }, r.errors_per_1000_page_views == null ? '—' : r.errors_per_1000_page_views.toFixed(1)),
        el('td', { class: 'num' }, pct(r.session_error_share)),
        ...VITALS.map((n) => vitalCell(r.vitals[n], n)),
        el('td', null, routesBlock(r))))),
    el('h2', null, 'Compare two releases'),
    el('p', { id: 'compare-form' }, el('label', null, 'Baseline ', baseline), ' ', el('label', null, 'Candidate ', candidate), ' ',
      el('button', { type: 'button', onclick: compare }, 'Compare')),
  ];
}
