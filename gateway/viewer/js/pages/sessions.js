// Recent sessions (`#/sessions`).
import { el, table, time, fmtDuration, sessionLink } from '/js/dom.js';
import * as api from '/js/api.js';

export async function render() {
  const { sessions } = await api.sessions(100);
  return [
    el('h2', null, 'Recent sessions'),
    sessions.length === 0 ? el('p', { id: 'no-sessions' }, 'No sessions yet.') : table({ id: 'sessions' },
      ['Last active', 'Session', 'User', 'Views', 'Actions', 'Errors', 'Duration', 'Country', 'Browser'],
      sessions.map((s) => el('tr', { class: 'session-row', 'data-session-id': s.session_id },
        el('td', null, time(s.end_time_unix_nano)),
        el('th', { scope: 'row' }, sessionLink(s.session_id)),
        el('td', { class: 'user' }, s.user_id || '—'),
        el('td', { class: 'num views' }, s.view_count),
        el('td', { class: 'num actions' }, s.action_count,
          s.frustrated_action_count ? el('span', { class: 'frustrated-count', title: 'frustrated actions' }, ' (' + s.frustrated_action_count + ' frustrated)') : null),
        el('td', { class: 'num errors' }, s.error_count),
        el('td', { class: 'num' }, fmtDuration(s.duration_ms)),
        el('td', null, s.country || '—'),
        el('td', null, s.browser || '—')))),
  ];
}
