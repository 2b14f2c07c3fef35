// Error groups (`#/errors`): type and message, where, counts, a sparkline of the last 24
// hours, releases, first and last seen. Messages come from beacons: text nodes only.
import { el, table, time, sparkline, releaseLabel, FINGERPRINT } from '/js/dom.js';
import * as api from '/js/api.js';

export async function render() {
  const { groups, sparkline_buckets: buckets } = await api.errors(200);
  return [
    el('h2', null, 'Errors'),
    el('p', { class: 'muted' }, 'Groups of errors by fingerprint (type, message without its numbers and ids, top in-app frames), most recently seen first. The sparkline covers the last 24 hours.'),
    groups.length === 0 ? el('p', { id: 'no-errors' }, 'No errors yet.') : table({ id: 'errors' },
      ['Error', 'Where', 'Events', 'Sessions', 'Users', 'Last 24 h', 'Releases', 'Last seen', 'First seen'],
      groups.map((g) => el('tr', { class: 'error-group', 'data-fingerprint': g.fingerprint },
        el('td', { class: 'error-title' },
          el('a', { href: '#/error/' + (FINGERPRINT.test(g.fingerprint) ? g.fingerprint : '') },
            el('b', { class: 'error-type' }, g.type), ': ', el('span', { class: 'error-message' }, g.message))),
        el('td', { class: 'culprit' }, el('code', null, g.culprit || '')),
        el('td', { class: 'num count' }, g.count),
        el('td', { class: 'num sessions' }, g.sessions),
        el('td', { class: 'num users' }, g.users),
        el('td', { class: 'spark' }, sparkline(g.sparkline, 24 * g.sparkline.length / (buckets || 24))),
        el('td', { class: 'releases' }, ...g.releases.map((r) => el('span', { class: 'tag release', 'data-version': r.version }, releaseLabel(r)))),
        el('td', null, time(g.last_seen_unix_nano)),
        el('td', null, time(g.first_seen_unix_nano))))),
  ];
}
