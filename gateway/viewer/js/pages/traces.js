// The traces search (`#/` and `#/traces?…`): every filter lives in the hash's query, so a
// search is a link and a reload shows it again; submitting the form changes the hash.
import { el, table, time, fmtMs, shortUrl, hashParams, hashOf, go, serviceColours, sessionLink, TRACE_ID } from '/js/dom.js';
import * as api from '/js/api.js';
import { rangeMs, rangeFields } from '/js/range.js';

const RANGE_CHOICES = ['15m', '1h', '24h', '7d', 'all', 'custom'];
const DEFAULT_RANGE = 'all';

// The form's text and number fields: [hash and API name, label, input attributes].
const FIELDS = [
  ['service', 'Service', { placeholder: 'service.name', list: 'trace-services' }],
  ['name', 'Span name', { placeholder: 'contains…' }],
  ['url', 'Route or URL', { placeholder: 'contains…' }],
  ['min_ms', 'Min duration (ms)', { type: 'number', min: '0', step: 'any' }],
  ['max_ms', 'Max duration (ms)', { type: 'number', min: '0', step: 'any' }],
  ['session_id', 'Session id', {}],
  ['user_id', 'User id', {}],
  ['page', 'Page', { placeholder: 'view name or path' }],
  ['page_view_id', 'Page view id', {}],
];

/** The hash's filters (without range and cursor) as an object. */
function filtersOf(params) {
  const f = {};
  for (const [name] of FIELDS) f[name] = params.get(name) || '';
  f.status = params.get('status') || '';
  return f;
}

function searchForm(params) {
  const inputs = FIELDS.map(([name, label, attrs]) => {
    const input = el('input', { id: 'filter-' + name, name, type: 'text', ...attrs });
    input.value = params.get(name) || '';
    return [name, el('label', { class: 'field' }, el('span', null, label), input), input];
  });
  const status = el('select', { id: 'filter-status', name: 'status' },
    ...[['', 'any'], ['error', 'error'], ['ok', 'ok']].map(([v, t]) => el('option', { value: v, selected: v === (params.get('status') || '') }, t)));
  const range = rangeFields(params, RANGE_CHOICES, DEFAULT_RANGE, 'filter');
  const submit = (e) => {
    e.preventDefault();
    const q = {};
    for (const [name, , input] of inputs) q[name] = input.value.trim();
    q.status = status.value;
    Object.assign(q, range.read());
    go(hashOf('traces', q));
  };
  const field = (name) => inputs.find((i) => i[0] === name)[1];
  return el('form', { id: 'trace-search', class: 'filters', role: 'search', 'aria-label': 'search traces', onsubmit: submit },
    el('div', { class: 'filter-grid' },
      field('service'), field('name'), field('url'),
      el('label', { class: 'field' }, el('span', null, 'Status'), status),
      field('min_ms'), field('max_ms'),
      field('session_id'), field('user_id'), field('page'), field('page_view_id')),
    el('div', { class: 'filter-actions' }, ...range.nodes,
      el('button', { type: 'submit', id: 'search-submit' }, 'Search'),
      el('a', { href: '#/traces', id: 'search-clear' }, 'Clear filters')));
}

/** Services of a result as coloured tags, then where its spans came from. */
function servicesCell(t, colours) {
  const services = Array.isArray(t.services) && t.services.length ? t.services : t.root_service ? [t.root_service] : [];
  return el('td', { class: 'services' },
    ...services.map((s) => el('span', { class: 'tag ' + colours.get(s), 'data-service': s }, s)),
    t.browser ? el('span', { class: 'tag source browser', title: 'has browser spans (SDK beacons)' }, 'browser') : null,
    t.backend ? el('span', { class: 'tag source backend', title: 'has backend spans (OTLP)' }, 'backend') : null);
}

/** The results table; shared with the page view page (its traces). */
export function traceResultsTable(traces, id = 'trace-results') {
  const colours = serviceColours(traces.flatMap((t) => t.services || (t.root_service ? [t.root_service] : [])));
  return table({ id, class: 'results' },
    ['Started', 'Root span', 'Services', 'Spans', 'Duration', 'Errors', 'Session'],
    traces.map((t) => {
      const where = t.url ? shortUrl(t.url) : t.route || '';
      const full = [t.url, t.route && t.route !== where ? 'route ' + t.route : null].filter(Boolean).join('\n');
      const href = TRACE_ID.test(t.trace_id) ? '#/trace/' + t.trace_id : null;
      return el('tr', { class: 'trace-result' + (t.error_count ? ' has-error' : ''), 'data-trace-id': t.trace_id },
        el('td', { class: 'nowrap' }, time(t.start_time_unix_nano)),
        el('th', { scope: 'row', class: 'root' },
          el('a', { href, class: 'trace-link', 'data-trace-id': t.trace_id }, t.root_name || '(root not received)'),
          where ? el('div', { class: 'muted where', title: full || null }, where) : null),
        servicesCell(t, colours),
        el('td', { class: 'num' }, t.span_count),
        el('td', { class: 'num nowrap' }, fmtMs(typeof t.duration_ms === 'number' ? t.duration_ms : null)),
        el('td', { class: 'num' }, t.error_count
          ? el('span', { class: 'error-flag', title: `${t.error_count} span${t.error_count === 1 ? '' : 's'} with error status` }, '✕ ' + t.error_count)
          : el('span', { class: 'muted' }, '—')),
        el('td', null, t.session_id ? sessionLink(t.session_id, el('code', null, t.session_id.slice(0, 8))) : null,
          t.user_id ? el('div', { class: 'muted' }, 'user ' + t.user_id) : null));
    }));
}

export async function render() {
  const params = hashParams();
  const filters = filtersOf(params);
  const cursor = params.get('cursor') || '';
  // `limit` is not in the form; a link may carry it (50 when absent, as the API's default).
  const limit = /^[1-9][0-9]{0,3}$/.test(params.get('limit') || '') ? params.get('limit') : '50';
  const { traces, next_cursor: next } = await api.traces({ ...filters, ...rangeMs(params, DEFAULT_RANGE), cursor, limit });
  const services = [...new Set(traces.flatMap((t) => t.services || []))].sort();
  const active = [...params.keys()].filter((k) => k !== 'cursor' && k !== 'limit' && params.get(k));
  const keep = Object.fromEntries([...params].filter(([k]) => k !== 'cursor'));
  return [
    el('h2', null, 'Traces'),
    searchForm(params),
    el('datalist', { id: 'trace-services' }, ...services.map((s) => el('option', { value: s }))),
    el('section', { id: 'traces', 'aria-label': 'results' },
      el('p', { class: 'muted', id: 'trace-summary', role: 'status' },
        `${traces.length} trace${traces.length === 1 ? '' : 's'}${cursor ? ' (a later page)' : ''}, newest first` +
        (active.length ? ' · filtered by ' + active.join(', ') : '')),
      traces.length === 0 ? el('p', { id: 'no-traces' }, 'No traces match.') : traceResultsTable(traces),
      el('p', { class: 'pager' },
        cursor ? el('a', { href: hashOf('traces', keep), id: 'first-page' }, '« First page') : null, ' ',
        next ? el('a', { href: hashOf('traces', { ...keep, cursor: next }), id: 'next-page', rel: 'next' }, 'Next page »') : null)),
  ];
}
