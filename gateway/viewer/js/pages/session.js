// One session's timeline (`#/session/{id}`): its views as bands along a time axis (each a link
// to its page view), route changes, actions (each a link to its trace), fetches, events,
// errors (each a link to its group) and vitals as marks, then every item in order.
//
// View names, URLs, action names and targets, event names and attributes come from beacons:
// text nodes and attribute values only, never HTML.
import { el, table, msSince, fmtVital, fmtDuration, shortUrl, tickStep, timeAxis, traceLink, pageViewLink, PAGE_VIEW_ID, FINGERPRINT } from '/js/dom.js';
import * as api from '/js/api.js';

/** The label of a view: its name, else its URL's path. */
function viewLabel(v) {
  if (v.name) return v.name;
  try { return new URL(v.url).pathname; } catch { return v.url || ''; }
}

const frustrations = (item) => {
  const f = item.attributes && item.attributes['rum.action.frustration.type'];
  return (Array.isArray(f) ? f : f ? [f] : []).map(String);
};

function actionLabel(item) {
  const name = item.attributes && item.attributes['rum.action.name'];
  return typeof name === 'string' && name ? name : item.name;
}

const urlOf = (item) => shortUrl(String((item.attributes && item.attributes['url.full']) || ''));

/** What a timeline item shows as its text. */
function itemLabel(item) {
  switch (item.type) {
    case 'view': return viewLabel(item);
    case 'action': return actionLabel(item);
    case 'route_change': return 'route change → ' + urlOf(item);
    case 'fetch': return item.name + ' ' + urlOf(item);
    case 'vital': return item.name + ' ' + fmtVital(item);
    case 'error': return item.name + ': ' + item.message + (item.count > 1 ? ' ×' + item.count : '');
    default: return item.name;
  }
}

export async function render(match) {
  const { session, views, items } = await api.session(match[1]);
  const base = session.start_time_unix_nano;
  const total = Math.max(msSince(session.end_time_unix_nano, base), 1);
  const step = tickStep(total);
  const pct = (ms) => (100 * Math.min(Math.max(ms, 0), total) / total) + '%';
  const at = (ns) => msSince(ns, base);
  const lane = (cls, label) => el('div', { class: 'lane ' + cls },
    el('div', { class: 'lane-label muted' }, label),
    el('div', { class: 'lane-track', style: { backgroundSize: (100 * step / total) + '% 100%' } }), el('div'));
  const lanes = {
    views: lane('views', 'views'),
    route_change: lane('route-changes', 'route changes'),
    action: lane('actions', 'actions'),
    fetch: lane('fetches', 'fetches'),
    event: lane('events', 'events'),
    error: lane('errors', 'errors'),
    vital: lane('vitals', 'vitals'),
  };
  const track = (l) => l.children[1];

  // Views as bands from their start to their end (else the next view's start, else the
  // session's end), each a link to its page view.
  views.forEach((v, i) => {
    const start = at(v.start_time_unix_nano);
    const end = v.end_time_unix_nano ? at(v.end_time_unix_nano)
      : i + 1 < views.length ? at(views[i + 1].start_time_unix_nano) : total;
    const label = viewLabel(v);
    const band = PAGE_VIEW_ID.test(v.view_id || '') ? el('a', { href: '#/page_view/' + v.view_id }) : el('div');
    band.className = 'view-band' + (v.navigation_type === 'route-change' ? ' route-change' : '');
    band.setAttribute('data-view-id', v.view_id);
    band.setAttribute('data-index', i);
    band.setAttribute('title', `${label}\n${v.url}\n${fmtDuration(Math.max(end - start, 0))}` + (v.visible_ms != null ? `, visible ${fmtDuration(v.visible_ms)}` : ''));
    Object.assign(band.style, { left: pct(start), width: pct(Math.max(end - start, 0)) });
    band.append(el('span', { class: 'view-label' }, label));
    track(lanes.views).append(band);
  });

  for (const item of items) {
    if (item.type === 'view') continue;
    const t = at(item.time_unix_nano);
    const label = itemLabel(item);
    const title = `${label} at ${fmtDuration(t)}`;
    let mark;
    if (item.type === 'action') {
      const f = frustrations(item);
      mark = traceLink(item.trace_id, el('span', { class: 'mark-label' }, label));
      mark.classList.add('action-mark');
      if (f.length) { mark.classList.add('frustrated'); mark.setAttribute('data-frustrated', f.join(' ')); }
      mark.setAttribute('data-span-id', item.span_id);
      mark.setAttribute('title', title + (f.length ? ' (' + f.join(', ') + ')' : ''));
    } else if (item.type === 'route_change') {
      mark = traceLink(item.trace_id);
      mark.classList.add('route-change-mark');
      mark.setAttribute('data-span-id', item.span_id);
      mark.setAttribute('title', title);
      mark.setAttribute('aria-label', title);
    } else if (item.type === 'fetch') {
      mark = traceLink(item.trace_id);
      mark.classList.add('fetch-mark');
      if (item.status === 'error' || (item.attributes && item.attributes['error.type'] != null)) mark.classList.add('error');
      mark.setAttribute('data-span-id', item.span_id);
      mark.setAttribute('title', title);
      mark.setAttribute('aria-label', title);
      mark.style.width = pct(item.duration_ms || 0);
    } else if (item.type === 'event') {
      mark = el('span', { class: 'event-mark', 'data-event-name': item.name, title }, el('span', { class: 'mark-label' }, item.name));
    } else if (item.type === 'error') {
      // To the error's group; the label is the beacon's type and message, as text.
      mark = FINGERPRINT.test(item.fingerprint || '')
        ? el('a', { href: '#/error/' + item.fingerprint }, el('span', { class: 'mark-label' }, label))
        : el('span', null, el('span', { class: 'mark-label' }, label));
      mark.classList.add('error-mark');
      mark.setAttribute('data-fingerprint', item.fingerprint || '');
      mark.setAttribute('data-error-id', item.error_id || '');
      mark.setAttribute('title', title + (item.count > 1 ? ` (×${item.count})` : '') + (item.culprit ? '\n' + item.culprit : ''));
    } else if (item.type === 'vital') {
      mark = el('span', { class: 'vital-mark ' + (item.rating || ''), 'data-vital': item.name, title }, el('span', { class: 'mark-label' }, item.name));
    } else continue;
    mark.style.left = pct(t);
    // Near the right edge a label reads leftwards, so it stays inside the timeline.
    if (t > total * 0.85 && item.type !== 'fetch' && item.type !== 'route_change') mark.classList.add('at-end');
    mark.setAttribute('data-ms', t.toFixed(3));
    track(lanes[item.type]).append(mark);
  }

  const legend = el('div', { class: 'legend', id: 'timeline-legend' },
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch view-swatch' }), 'view (opens its page view)'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch route-change-swatch' }), 'route change'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch action-swatch' }), 'action (opens its trace)'),
    el('span', { class: 'legend-item', 'data-legend': 'frustrated' }, el('span', { class: 'swatch frustrated-swatch' }), 'frustrated action (rage, dead or error click)'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch fetch-swatch' }), 'fetch'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch event-swatch' }), 'event'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch error-swatch' }), 'error (opens its group)'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch vital-swatch' }), 'vital'));

  const viewName = new Map(views.map((v) => [v.view_id, viewLabel(v)]));
  const viewCell = (viewId) => (viewName.has(viewId) ? pageViewLink(viewId, viewName.get(viewId)) : '');
  const list = table({ id: 'session-items' }, ['At', 'What', '', 'View', 'Trace'],
    items.map((item) => {
      const f = item.type === 'action' ? frustrations(item) : [];
      return el('tr', { class: 'item item-' + item.type + (f.length ? ' frustrated' : ''), 'data-type': item.type },
        el('td', { class: 'num' }, fmtDuration(at(item.time_unix_nano))),
        el('td', null, el('span', { class: 'tag' }, item.type.replace('_', ' '))),
        el('td', { class: 'label' }, item.type === 'view' ? pageViewLink(item.view_id, itemLabel(item)) : itemLabel(item),
          f.length ? el('span', { class: 'tag frustration' }, f.join(', ')) : null),
        el('td', null, viewCell(item.view_id)),
        el('td', null, item.trace_id ? traceLink(item.trace_id, el('code', null, item.trace_id.slice(0, 8))) : ''));
    }));

  return [
    el('p', null, el('a', { href: '#/sessions' }, '← all sessions')),
    el('h2', null, 'Session ', el('code', null, session.session_id)),
    el('p', { class: 'muted', id: 'session-summary' },
      `${session.user_id ? 'user ' + session.user_id + ' · ' : ''}${session.view_count} views · ${session.action_count} actions · ` +
      `${session.error_count} errors (${session.exception_count || 0} recorded) · ${session.event_count} events · ${fmtDuration(session.duration_ms)}` +
      `${session.country ? ' · ' + session.country : ''}${session.browser ? ' · ' + session.browser : ''}`),
    el('p', null, el('a', { href: '#/traces?session_id=' + encodeURIComponent(session.session_id), id: 'session-traces' }, 'Traces of this session')),
    legend,
    el('div', { class: 'timeline', id: 'timeline' }, timeAxis(total, step, 'ms from session start', 'timeline-axis'),
      lanes.views, lanes.route_change, lanes.action, lanes.fetch, lanes.event, lanes.error, lanes.vital),
    el('h2', null, 'In order'),
    list,
  ];
}

