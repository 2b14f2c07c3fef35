// Attributes (of spans, page views, resources) as a table grouped by semantic-convention
// prefix. Keys and values come from beacons and backends: text nodes only.
import { el, valueText } from '/js/dom.js';

// Groups in this order; every other prefix is "other".
export const SPAN_GROUPS = ['http', 'url', 'user_agent', 'geo', 'browser'];
export const RESOURCE_GROUPS = ['service', 'deployment', 'telemetry'];

/** Attributes as one table, a row group per prefix (`http`, `url`, …, then `other`). */
export function attributesTable(attrs, groups, id) {
  const entries = Object.entries(attrs || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return el('p', { class: 'muted', id }, 'none');
  const byGroup = new Map([...groups, 'other'].map((g) => [g, []]));
  for (const [k, v] of entries) {
    const prefix = k.split('.')[0];
    byGroup.get(groups.includes(prefix) ? prefix : 'other').push([k, v]);
  }
  return el('table', { class: 'attributes', id },
    el('thead', null, el('tr', null, el('th', { scope: 'col' }, 'Attribute'), el('th', { scope: 'col' }, 'Value'))),
    ...[...byGroup].filter(([, rows]) => rows.length).map(([group, rows]) => el('tbody', { 'data-group': group },
      el('tr', { class: 'group' }, el('th', { scope: 'rowgroup', colspan: '2' }, group)),
      ...rows.map(([k, v]) => el('tr', { 'data-key': k },
        el('th', { scope: 'row', class: 'key' }, k),
        el('td', { class: 'value' + (typeof v === 'number' ? ' num-value' : '') }, valueText(v)))))));
}
