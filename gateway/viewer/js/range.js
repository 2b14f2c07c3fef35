// Time ranges as the search forms keep them in the hash: `range=15m|1h|24h|7d|30d|all`, or
// `range=custom` with `from_ms`/`to_ms` (unix ms). A relative range is taken from now each time
// the page renders, so a shared link shows the last hour when it is opened.
import { el } from '/js/dom.js';

export const RANGES = {
  '15m': ['last 15 min', 15 * 60000],
  '1h': ['last hour', 3600000],
  '24h': ['last 24 hours', 86400000],
  '7d': ['last 7 days', 7 * 86400000],
  '30d': ['last 30 days', 30 * 86400000],
  all: ['all time', null],
  custom: ['from … to …', null],
};

/** The API's `from_ms`/`to_ms` of a hash's range. */
export function rangeMs(params, fallback) {
  const range = params.get('range') || (params.get('from_ms') || params.get('to_ms') ? 'custom' : fallback);
  if (range === 'custom') return { from_ms: params.get('from_ms') || '', to_ms: params.get('to_ms') || '' };
  const def = RANGES[range];
  if (!def || def[1] == null) return { from_ms: '', to_ms: '' };
  return { from_ms: String(Date.now() - def[1]), to_ms: '' };
}

const pad = (n) => String(n).padStart(2, '0');
// Unix ms ↔ a datetime-local input's value (local time).
const toLocal = (ms) => {
  if (!ms) return '';
  const d = new Date(Number(ms));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
const fromLocal = (value) => (value ? String(new Date(value).getTime()) : '');

/**
 * A range select with `from`/`to` inputs shown for `custom`. Returns the nodes and `read()`,
 * which gives the hash's range parameters.
 */
export function rangeFields(params, choices, fallback, idPrefix) {
  const initial = params.get('range') || (params.get('from_ms') || params.get('to_ms') ? 'custom' : fallback);
  const select = el('select', { id: idPrefix + '-range', name: 'range' },
    ...choices.map((k) => el('option', { value: k, selected: k === initial }, RANGES[k][0])));
  const from = el('input', { type: 'datetime-local', id: idPrefix + '-from', name: 'from' });
  const to = el('input', { type: 'datetime-local', id: idPrefix + '-to', name: 'to' });
  from.value = toLocal(params.get('from_ms'));
  to.value = toLocal(params.get('to_ms'));
  const custom = el('span', { class: 'custom-range' },
    el('label', null, 'From ', from), ' ', el('label', null, 'to ', to));
  const sync = () => { custom.hidden = select.value !== 'custom'; };
  select.addEventListener('change', sync);
  sync();
  return {
    nodes: [el('label', null, 'Time ', select), custom],
    read: () => (select.value === 'custom'
      ? { range: 'custom', from_ms: fromLocal(from.value), to_ms: fromLocal(to.value) }
      : { range: select.value === fallback ? '' : select.value }),
  };
}
