// One error group (`#/error/{fingerprint}`): the latest occurrence's stack with original
// function, file, line and column beside the minified frame, the source lines around each
// frame, the raw stack, and the occurrences linking to their session, action and request.
// Messages, stacks, file and function names and source lines come from beacons and source
// maps: text nodes only.
import { el, table, time, shortUrl, sparkline, releaseLabel, traceLink, sessionLink } from '/js/dom.js';
import * as api from '/js/api.js';

function frameBlock(f, i) {
  const o = f.original;
  const fn = (o && o.function) || f.function || '(anonymous)';
  const where = o ? `${o.file}:${o.line}:${o.column}` : f.line != null ? `${f.url}:${f.line}${f.column != null ? ':' + f.column : ''}` : f.url;
  const minified = `${f.function || '(anonymous)'} ${f.url}${f.line != null ? ':' + f.line : ''}${f.column != null ? ':' + f.column : ''}`;
  const node = el('div', { class: 'frame' + (f.in_app ? ' in-app' : ' not-in-app') + (o ? ' resolved' : ' unresolved'),
    'data-function': fn, 'data-index': i, 'data-resolved': o ? 'true' : 'false' },
  el('div', { class: 'frame-head' },
    el('span', { class: 'frame-function' }, fn), ' ', el('span', { class: 'frame-where' }, where),
    f.in_app ? null : el('span', { class: 'tag' }, 'not in app'),
    o ? null : el('span', { class: 'tag unresolved-reason', title: 'why the frame stayed minified' }, f.unresolved || 'unresolved')),
  o ? el('div', { class: 'frame-minified muted' }, 'minified: ', minified) : null);
  const ctx = o && o.context;
  if (ctx) {
    const lines = [...ctx.pre, ctx.line, ...ctx.post];
    node.append(el('pre', { class: 'context' }, ...lines.map((text, k) => {
      const n = ctx.start_line + k;
      return el('div', { class: 'context-line' + (n === o.line ? ' current' : ''), 'data-line': n },
        el('span', { class: 'line-number' }, String(n)), text);
    })));
  }
  return node;
}

export async function render(match) {
  const g = await api.errorGroup(match[1]);
  const latest = g.occurrences[0];
  const occurrences = table({ id: 'error-occurrences' },
    ['When', 'Count', 'Kind', 'Session', 'View', 'Action', 'Request', 'Release', 'User'],
    g.occurrences.map((o) => el('tr', { class: 'occurrence', 'data-error-id': o.error_id, 'data-session-id': o.session_id },
      el('td', null, time(o.time_unix_nano)),
      el('td', { class: 'num' }, o.count),
      el('td', null, el('span', { class: 'tag' }, o.kind)),
      el('td', null, sessionLink(o.session_id)),
      el('td', { class: 'view' }, o.view_name || (o.view_url ? shortUrl(o.view_url) : o.view_id)),
      el('td', null, o.action_trace_id ? traceLink(o.action_trace_id, el('code', null, 'action ' + o.action_trace_id.slice(0, 8))) : ''),
      el('td', null, o.trace_id ? traceLink(o.trace_id, el('code', null, 'trace ' + o.trace_id.slice(0, 8))) : ''),
      el('td', null, [o.service, o.version].filter(Boolean).join(' ')),
      el('td', null, o.user_id || '—'))));
  for (const a of occurrences.querySelectorAll('a[data-trace-id]')) a.classList.add('trace-link');
  const frames = latest ? latest.frames : [];
  return [
    el('p', null, el('a', { href: '#/errors' }, '← all errors')),
    el('h2', { id: 'error-title' }, el('span', { class: 'error-type' }, g.type), ': ', el('span', { class: 'error-message' }, g.message)),
    el('p', { class: 'muted', id: 'error-summary' },
      `${g.count} events · ${g.records} records · ${g.sessions} sessions · ${g.users} users · first seen ${time(g.first_seen_unix_nano)} · last seen ${time(g.last_seen_unix_nano)}`),
    el('div', { id: 'error-sparkline' }, sparkline(g.sparkline, 24)),
    el('p', { id: 'error-releases' }, ...g.releases.map((r) => el('span', { class: 'tag release', 'data-version': r.version }, releaseLabel(r) + ' ×' + r.count))),
    el('h2', null, 'Stack of the latest occurrence'),
    latest && latest.message !== g.message ? el('p', { class: 'muted' }, latest.type + ': ' + latest.message) : null,
    el('div', { id: 'error-stack' }, ...(frames.length ? frames.map(frameBlock) : [el('p', { class: 'muted' }, 'No stack.')]),
      latest && latest.frames_omitted ? el('p', { class: 'muted' }, `${latest.frames_omitted} more frames not kept`) : null),
    latest && latest.stack ? el('details', { id: 'error-raw-stack' }, el('summary', null, 'raw stack'), el('pre', null, latest.stack)) : null,
    el('h2', null, 'Occurrences'),
    occurrences,
  ];
}
