// The RUM trace viewer: renders the admin API with DOM nodes and textContent only.
'use strict';

const app = document.getElementById('app');
const VITALS = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB'];

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') node.className = v; else if (k === 'style') Object.assign(node.style, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null) node.append(c instanceof Node ? c : String(c));
  return node;
}

async function api(path) {
  const res = await fetch(path);
  if (!res.ok) throw new Error(path + ': ' + res.status + ' ' + (await res.text()));
  return res.json();
}

// Nanosecond strings → milliseconds relative to a base, exact via BigInt.
const msSince = (ns, base) => Number(BigInt(ns) - BigInt(base)) / 1e6;
const time = (ns) => new Date(Number(BigInt(ns) / 1000000n)).toLocaleString();
const fmtMs = (ms) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0)) + ' ms';
const fmtVital = (v) => (v.name === 'CLS' ? v.value.toFixed(3) : fmtMs(v.value));

// Attribution as key: value lines; nested values (long animation frames) as JSON.
function attributionList(attribution) {
  const entries = Object.entries(attribution || {});
  if (entries.length === 0) return null;
  return el('details', null, el('summary', null, 'attribution'),
    el('dl', null, ...entries.flatMap(([k, v]) => [
      el('dt', null, k),
      el('dd', null, typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : typeof v === 'object' ? JSON.stringify(v) : String(v)),
    ])));
}

function vitalsBlock(view) {
  const box = el('div', { class: 'vitals' });
  for (const name of VITALS) {
    const v = view.vitals[name];
    box.append(el('div', { class: 'vital ' + (v ? v.rating : ''), 'data-vital': name },
      el('b', null, name), v ? fmtVital(v) : '—', v ? attributionList(v.attribution) : null));
  }
  return box;
}

// One cell of the pages table: p75, then the good / needs-improvement / poor shares as a bar.
function summaryCell(name, s) {
  if (!s) return el('td', null, '—');
  const pct = (x) => Math.round(x * 100) + '%';
  return el('td', { 'data-p75': name },
    el('div', null, name === 'CLS' ? s.p75.toFixed(3) : fmtMs(s.p75), el('span', { class: 'muted' }, ' n=' + s.count)),
    el('div', { class: 'shares', title: `good ${pct(s.good)}, needs improvement ${pct(s.needs_improvement)}, poor ${pct(s.poor)}` },
      el('span', { class: 'good', style: { width: pct(s.good) } }),
      el('span', { class: 'needs-improvement', style: { width: pct(s.needs_improvement) } }),
      el('span', { class: 'poor', style: { width: pct(s.poor) } })));
}

// p75 of each vital over a chosen range: raw reports inside the raw tier, the hourly rollups
// before it (`/api/vitals/quantiles`), so ranges beyond the 7 days of raw data still answer.
const RANGES = [['24 hours', 1], ['7 days', 7], ['30 days', 30], ['90 days', 90], ['400 days', 400]];

function vitalsOverRange() {
  const cells = el('tr');
  const select = el('select', { id: 'vitals-range-select', 'aria-label': 'time range' },
    ...RANGES.map(([label, days]) => el('option', { value: String(days) }, 'last ' + label)));
  select.value = '7';
  const load = async () => {
    const from = Date.now() - Number(select.value) * 86400000;
    const results = await Promise.all(VITALS.map((n) =>
      api('/api/vitals/quantiles?' + new URLSearchParams({ metric: n, from_ms: String(Math.max(0, Math.round(from))) }))));
    cells.replaceChildren(...results.map((q, i) => el('td', { 'data-range-p75': VITALS[i], 'data-source': q.source },
      q.count === 0 ? '—' : (VITALS[i] === 'CLS' ? q.p75.toFixed(3) : fmtMs(q.p75)),
      el('span', { class: 'muted' }, ` n=${q.count}${q.source === 'raw' ? '' : ' (' + q.source + ', ±' + (q.max_relative_error * 100).toFixed(1) + '%)'}`))));
  };
  select.addEventListener('change', () => { load().catch(() => {}); });
  load().catch(() => {});
  return el('div', { id: 'vitals-range' },
    el('h2', null, 'All pages, p75 over ', select),
    el('table', null, el('tr', null, ...VITALS.map((n) => el('th', null, n))), cells));
}

async function renderHome() {
  const [{ traces }, { page_views }, { pages }] = await Promise.all([api('/api/traces?limit=100'), api('/api/page_views?limit=50'), api('/api/pages')]);
  app.replaceChildren(
    vitalsOverRange(),
    el('h2', null, 'Pages (p75 and good / needs improvement / poor)'),
    pages.length === 0 ? el('p', null, 'No page views yet.') : el('table', { id: 'pages' },
      el('tr', null, el('th', null, 'Path'), el('th', null, 'Views'), ...VITALS.map((n) => el('th', null, n))),
      ...pages.map((p) => el('tr', null, el('td', null, p.path), el('td', { class: 'num' }, p.page_views),
        ...VITALS.map((n) => summaryCell(n, p.vitals[n]))))),
    el('h2', null, 'Recent traces'),
    traces.length === 0 ? el('p', null, 'No traces yet.') : el('table', { id: 'traces' },
      el('tr', null, el('th', null, 'Started'), el('th', null, 'Root span'), el('th', null, 'Service'), el('th', null, 'Spans'), el('th', null, 'Duration')),
      ...traces.map((t) => el('tr', null,
        el('td', null, time(t.start_time_unix_nano)),
        el('td', null, el('a', { href: '#/trace/' + t.trace_id }, t.root_name || '(root not received)')),
        el('td', null, t.root_service || ''),
        el('td', { class: 'num' }, t.span_count),
        el('td', { class: 'num' }, fmtMs(msSince(t.end_time_unix_nano, t.start_time_unix_nano)))))),
    el('h2', null, 'Recent page views'),
    page_views.length === 0 ? el('p', null, 'No page views yet.') : el('table', { id: 'page-views' },
      el('tr', null, el('th', null, 'Started'), el('th', null, 'URL'), el('th', null, 'Session'), el('th', null, 'Vitals')),
      ...page_views.map((v) => el('tr', null,
        el('td', null, time(v.start_time_unix_nano)),
        el('td', null, v.url, ' ', el('span', { class: 'tag' }, v.navigation_type)),
        el('td', null, el('code', null, v.session_id.slice(0, 8))),
        el('td', null, vitalsBlock(v))))),
  );
}

// A URL without its origin when it parses (the row has the full one as its title).
function shortUrl(url) {
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}

// Service → colour class (`svc-0` … `svc-7`), from a hash of the name so a service keeps its
// colour from trace to trace; a collision within one trace moves on to the next free colour.
const PALETTE_SIZE = 8;
function serviceColours(names) {
  const colours = new Map();
  const taken = new Set();
  for (const name of [...new Set(names)].sort()) {
    let hash = 0;
    for (const c of name) hash = (hash * 31 + c.codePointAt(0)) >>> 0;
    let i = hash % PALETTE_SIZE;
    for (let n = 0; n < PALETTE_SIZE && taken.has(i); n++) i = (i + 1) % PALETTE_SIZE;
    taken.add(i);
    colours.set(name, 'svc-' + i);
  }
  return colours;
}

// A 1, 2 or 5 × 10^n step giving at most about `count` intervals over `total` ms.
function tickStep(total, count = 8) {
  const raw = total / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((step) => step >= raw);
}

// The time axis above the rows: a tick and a label (ms from trace start) every `step`.
function timeAxis(total, step, label = 'ms from trace start', id = 'axis') {
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  const track = el('div', { class: 'axis-track' });
  for (let i = 0; i * step <= total * (1 + 1e-9); i++) {
    const at = 100 * i * step / total;
    track.append(el('div', { class: 'tick' + (at > 90 ? ' end' : ''), style: { left: at + '%' } },
      el('span', null, (i * step).toFixed(digits) + ' ms')));
  }
  return el('div', { class: 'axis', id }, el('div', { class: 'muted' }, label), track, el('div'));
}

async function renderTrace(id) {
  const trace = await api('/api/traces/' + encodeURIComponent(id));
  const spans = trace.spans;
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const children = new Map();
  const roots = [];
  // Spans come ordered by start time, so children are too.
  for (const s of spans) {
    if (s.parent_span_id && byId.has(s.parent_span_id)) {
      if (!children.has(s.parent_span_id)) children.set(s.parent_span_id, []);
      children.get(s.parent_span_id).push(s);
    } else roots.push(s);
  }
  // The axis starts at the earliest span: a browser's documentLoad starts (fetchStart) before
  // the server span it is the child of.
  let base = spans[0].start_time_unix_nano, endMax = 0;
  for (const s of spans) if (BigInt(s.start_time_unix_nano) < BigInt(base)) base = s.start_time_unix_nano;
  for (const s of spans) endMax = Math.max(endMax, msSince(s.end_time_unix_nano, base));
  const total = endMax || 1;
  const step = tickStep(total);
  const pct = (ms) => (100 * ms / total) + '%';
  const service = (s) => s.resource['service.name'] || s.source;
  const colours = serviceColours(spans.map(service));

  const rows = el('div', { class: 'waterfall', id: 'waterfall' }, timeAxis(total, step));
  const seen = new Set();
  const walk = (s, depth) => {
    if (seen.has(s.span_id)) return;
    seen.add(s.span_id);
    const url = typeof s.attributes['url.full'] === 'string' ? s.attributes['url.full'] : null;
    const start = msSince(s.start_time_unix_nano, base);
    const dur = msSince(s.end_time_unix_nano, s.start_time_unix_nano);
    const details = el('div', { class: 'details', hidden: '' },
      el('pre', null, JSON.stringify({ span_id: s.span_id, parent_span_id: s.parent_span_id, kind: s.kind,
        status: s.status, attributes: s.attributes, events: s.events, links: s.links, resource: s.resource }, null, 2)));
    // Grid lines at the axis ticks: one background tile per tick step.
    const track = el('div', { class: 'track', style: { backgroundSize: pct(step) + ' 100%' } },
      el('div', { class: 'bar ' + s.source + ' ' + colours.get(service(s)) + (s.status.code === 'error' ? ' error' : ''),
        title: `${s.name}: ${fmtMs(dur)} from ${fmtMs(start)}`,
        style: { left: pct(start), width: pct(dur) } }));
    // Span events (documentLoad's navigation timing marks) as ticks at their time on the bar.
    for (const e of s.events || []) {
      const at = msSince(e.time_unix_nano, base);
      track.append(el('div', { class: 'mark', 'data-mark': e.name, 'data-ms': at.toFixed(3),
        title: `${e.name}: ${fmtMs(at)} (span start + ${fmtMs(at - start)})`, style: { left: pct(at) } }));
    }
    const row = el('div', { class: 'row', 'data-span-id': s.span_id, 'data-depth': depth, 'data-service': service(s),
      onclick: () => details.toggleAttribute('hidden') },
      el('div', { class: 'name', title: [s.name, url].filter(Boolean).join(' '), style: { paddingLeft: depth * 16 + 'px' } },
        el('span', { class: 'tag ' + colours.get(service(s)) }, service(s)), el('span', { class: 'tag' }, s.kind), s.name,
        url ? el('span', { class: 'muted' }, ' ' + shortUrl(url)) : null),
      track,
      el('div', { class: 'num' }, fmtMs(dur)));
    rows.append(row, details);
    for (const c of children.get(s.span_id) || []) walk(c, depth + 1);
  };
  roots.forEach((r) => walk(r, 0));
  // Spans caught in a parent cycle (malformed input) are still shown, as roots.
  for (const s of spans) walk(s, 0);

  const legend = el('div', { class: 'legend', id: 'legend' },
    ...[...colours].map(([name, colour]) => el('span', { class: 'legend-item', 'data-service': name },
      el('span', { class: 'swatch ' + colour }), name)));
  const view = trace.page_view;
  // replaceChildren would show a null as the text "null": leave the page view out instead.
  app.replaceChildren(...[
    el('p', null, el('a', { href: '#/' }, '← all traces')),
    el('h2', null, 'Trace ', el('code', null, trace.trace_id)),
    el('p', { class: 'muted' }, `${spans.length} span${spans.length === 1 ? '' : 's'} over ${fmtMs(endMax)}`),
    view ? el('div', null, el('h2', null, 'Page view: ', view.url), vitalsBlock(view)) : null,
    legend,
    rows,
  ].filter(Boolean));
}

// ---- sessions ------------------------------------------------------------------------------
// Everything below shows what beacons carried (view names, URLs, action names and targets,
// event names and attributes) as text nodes and attribute values only, never as HTML.

const TRACE_ID = /^[0-9a-f]{32}$/;
// A link to a trace page, only for a well-formed id (the href is ours, never the beacon's).
function traceLink(traceId, ...children) {
  return TRACE_ID.test(traceId || '') ? el('a', { href: '#/trace/' + traceId, 'data-trace-id': traceId }, ...children)
    : el('span', null, ...children);
}
const fmtDuration = (ms) => (ms >= 60000 ? (ms / 60000).toFixed(1) + ' min' : ms >= 1000 ? (ms / 1000).toFixed(1) + ' s' : fmtMs(ms));

async function renderSessions() {
  const { sessions } = await api('/api/sessions?limit=100');
  app.replaceChildren(
    el('h2', null, 'Recent sessions'),
    sessions.length === 0 ? el('p', { id: 'no-sessions' }, 'No sessions yet.') : el('table', { id: 'sessions' },
      el('tr', null, ...['Last active', 'Session', 'User', 'Views', 'Actions', 'Errors', 'Duration', 'Country', 'Browser']
        .map((h) => el('th', null, h))),
      ...sessions.map((s) => el('tr', { class: 'session-row', 'data-session-id': s.session_id },
        el('td', null, time(s.end_time_unix_nano)),
        el('td', null, el('a', { href: '#/session/' + encodeURIComponent(s.session_id) }, el('code', null, s.session_id.slice(0, 12)))),
        el('td', { class: 'user' }, s.user_id || '—'),
        el('td', { class: 'num views' }, s.view_count),
        el('td', { class: 'num actions' }, s.action_count,
          s.frustrated_action_count ? el('span', { class: 'frustrated-count', title: 'frustrated actions' }, ' (' + s.frustrated_action_count + ' frustrated)') : null),
        el('td', { class: 'num errors' }, s.error_count),
        el('td', { class: 'num' }, fmtDuration(s.duration_ms)),
        el('td', null, s.country || '—'),
        el('td', null, s.browser || '—')))),
  );
}

// The label of a view: its name, else its URL's path.
function viewLabel(v) {
  if (v.name) return v.name;
  try { return new URL(v.url).pathname; } catch { return v.url; }
}

const frustrations = (item) => {
  const f = item.attributes && item.attributes['rum.action.frustration.type'];
  return (Array.isArray(f) ? f : f ? [f] : []).map(String);
};

function actionLabel(item) {
  const name = item.attributes && item.attributes['rum.action.name'];
  return typeof name === 'string' && name ? name : item.name;
}

// What a timeline item shows as its text.
function itemLabel(item, views) {
  switch (item.type) {
    case 'view': return viewLabel(item);
    case 'action': return actionLabel(item);
    case 'route_change': return 'route change → ' + shortUrl(String(item.attributes['url.full'] || ''));
    case 'fetch': return item.name + ' ' + shortUrl(String(item.attributes['url.full'] || ''));
    case 'vital': return item.name + ' ' + fmtVital(item);
    case 'error': return item.name + ': ' + item.message + (item.count > 1 ? ' ×' + item.count : '');
    default: return item.name;
  }
}

async function renderSession(id) {
  const { session, views, items } = await api('/api/sessions/' + encodeURIComponent(id));
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
  // session's end).
  views.forEach((v, i) => {
    const start = at(v.start_time_unix_nano);
    const end = v.end_time_unix_nano ? at(v.end_time_unix_nano)
      : i + 1 < views.length ? at(views[i + 1].start_time_unix_nano) : total;
    const label = viewLabel(v);
    track(lanes.views).append(el('div', {
      class: 'view-band' + (v.navigation_type === 'route-change' ? ' route-change' : ''),
      'data-view-id': v.view_id, 'data-index': i,
      title: `${label}\n${v.url}\n${fmtDuration(Math.max(end - start, 0))}` + (v.visible_ms != null ? `, visible ${fmtDuration(v.visible_ms)}` : ''),
      style: { left: pct(start), width: pct(Math.max(end - start, 0)) },
    }, el('span', { class: 'view-label' }, label)));
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
    } else if (item.type === 'fetch') {
      mark = traceLink(item.trace_id);
      mark.classList.add('fetch-mark');
      if (item.status === 'error' || item.attributes['error.type'] != null) mark.classList.add('error');
      mark.setAttribute('data-span-id', item.span_id);
      mark.setAttribute('title', title);
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
      mark = el('span', { class: 'vital-mark ' + item.rating, 'data-vital': item.name, title }, el('span', { class: 'mark-label' }, item.name));
    } else continue;
    mark.style.left = pct(t);
    // Near the right edge a label reads leftwards, so it stays inside the timeline.
    if (t > total * 0.85 && item.type !== 'fetch' && item.type !== 'route_change') mark.classList.add('at-end');
    mark.setAttribute('data-ms', t.toFixed(3));
    track(lanes[item.type]).append(mark);
  }

  const legend = el('div', { class: 'legend', id: 'timeline-legend' },
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch view-swatch' }), 'view'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch route-change-swatch' }), 'route change'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch action-swatch' }), 'action (opens its trace)'),
    el('span', { class: 'legend-item', 'data-legend': 'frustrated' }, el('span', { class: 'swatch frustrated-swatch' }), 'frustrated action (rage, dead or error click)'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch fetch-swatch' }), 'fetch'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch event-swatch' }), 'event'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch error-swatch' }), 'error (opens its group)'),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch vital-swatch' }), 'vital'));

  const viewName = new Map(views.map((v) => [v.view_id, viewLabel(v)]));
  const list = el('table', { id: 'session-items' },
    el('tr', null, ...['At', 'What', '', 'View', 'Trace'].map((h) => el('th', null, h))),
    ...items.map((item) => {
      const f = item.type === 'action' ? frustrations(item) : [];
      return el('tr', { class: 'item item-' + item.type + (f.length ? ' frustrated' : ''), 'data-type': item.type },
        el('td', { class: 'num' }, fmtDuration(at(item.time_unix_nano))),
        el('td', null, el('span', { class: 'tag' }, item.type.replace('_', ' '))),
        el('td', { class: 'label' }, itemLabel(item), f.length ? el('span', { class: 'tag frustration' }, f.join(', ')) : null),
        el('td', null, viewName.get(item.view_id) || ''),
        el('td', null, item.trace_id ? traceLink(item.trace_id, el('code', null, item.trace_id.slice(0, 8))) : ''));
    }));

  app.replaceChildren(
    el('p', null, el('a', { href: '#/sessions' }, '← all sessions')),
    el('h2', null, 'Session ', el('code', null, session.session_id)),
    el('p', { class: 'muted', id: 'session-summary' },
      `${session.user_id ? 'user ' + session.user_id + ' · ' : ''}${session.view_count} views · ${session.action_count} actions · ` +
      `${session.error_count} errors (${session.exception_count || 0} recorded) · ${session.event_count} events · ${fmtDuration(session.duration_ms)}` +
      `${session.country ? ' · ' + session.country : ''}${session.browser ? ' · ' + session.browser : ''}`),
    legend,
    el('div', { class: 'timeline', id: 'timeline' }, timeAxis(total, step, 'ms from session start', 'timeline-axis'),
      lanes.views, lanes.route_change, lanes.action, lanes.fetch, lanes.event, lanes.error, lanes.vital),
    el('h2', null, 'In order'),
    list,
  );
}

// ---- errors --------------------------------------------------------------------------------
// Messages, stacks, file names, function names and source lines come from beacons and source
// maps: they are shown as text nodes only.

const FINGERPRINT = /^[0-9a-f]{32}$/;
const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}

// Occurrences per bucket as a small inline SVG: a line over the buckets, a dot on the last.
function sparkline(counts, hours) {
  const w = 120, h = 24, max = Math.max(1, ...counts);
  const x = (i) => (counts.length > 1 ? (i * (w - 4)) / (counts.length - 1) : 0) + 2;
  const y = (c) => h - 2 - (c * (h - 4)) / max;
  const points = counts.map((c, i) => `${x(i).toFixed(1)},${y(c).toFixed(1)}`).join(' ');
  const total = counts.reduce((a, b) => a + b, 0);
  return svg('svg', { class: 'sparkline', width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: 'img',
    'data-counts': counts.join(','), 'aria-label': `${total} in the last ${hours} h` },
  svg('title', null, `${total} occurrences in the last ${hours} h (${counts.length} buckets)`),
  svg('polyline', { points, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 }),
  svg('circle', { cx: x(counts.length - 1), cy: y(counts[counts.length - 1] || 0), r: 2, fill: 'currentColor' }));
}

const releaseLabel = (r) => [r.service, r.version].filter(Boolean).join(' ') + (r.environment ? ` (${r.environment})` : '');

async function renderErrors() {
  const { groups, sparkline_buckets: buckets } = await api('/api/errors?limit=200');
  app.replaceChildren(
    el('h2', null, 'Errors'),
    el('p', { class: 'muted' }, 'Groups of errors by fingerprint (type, message without its numbers and ids, top in-app frames), most recently seen first. The sparkline covers the last 24 hours.'),
    groups.length === 0 ? el('p', { id: 'no-errors' }, 'No errors yet.') : el('table', { id: 'errors' },
      el('tr', null, ...['Error', 'Where', 'Events', 'Sessions', 'Users', 'Last 24 h', 'Releases', 'Last seen', 'First seen']
        .map((h) => el('th', null, h))),
      ...groups.map((g) => el('tr', { class: 'error-group', 'data-fingerprint': g.fingerprint },
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
  );
}

// One frame: the original function and position where a source map resolved it, the
// minified one beside it, and the source lines around it.
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

async function renderErrorGroup(fp) {
  const g = await api('/api/errors/' + fp);
  const latest = g.occurrences[0];
  const occurrences = el('table', { id: 'error-occurrences' },
    el('tr', null, ...['When', 'Count', 'Kind', 'Session', 'View', 'Action', 'Request', 'Release', 'User'].map((h) => el('th', null, h))),
    ...g.occurrences.map((o) => el('tr', { class: 'occurrence', 'data-error-id': o.error_id, 'data-session-id': o.session_id },
      el('td', null, time(o.time_unix_nano)),
      el('td', { class: 'num' }, o.count),
      el('td', null, el('span', { class: 'tag' }, o.kind)),
      el('td', null, el('a', { class: 'session-link', href: '#/session/' + encodeURIComponent(o.session_id) }, el('code', null, o.session_id.slice(0, 12)))),
      el('td', { class: 'view' }, o.view_name || (o.view_url ? shortUrl(o.view_url) : o.view_id)),
      el('td', null, o.action_trace_id ? traceLink(o.action_trace_id, el('code', null, 'action ' + o.action_trace_id.slice(0, 8))) : ''),
      el('td', null, o.trace_id ? traceLink(o.trace_id, el('code', null, 'trace ' + o.trace_id.slice(0, 8))) : ''),
      el('td', null, [o.service, o.version].filter(Boolean).join(' ')),
      el('td', null, o.user_id || '—'))));
  for (const a of occurrences.querySelectorAll('a[data-trace-id]')) a.classList.add('trace-link');
  const frames = latest ? latest.frames : [];
  app.replaceChildren(...[
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
  ].filter(Boolean));
}

// Releases (GET /api/releases, /api/releases/compare): the query lives in the hash, as
// `#/releases?service=…` and `#/compare?service=…&baseline=…&candidate=…[&environment=…]`.
const hashParams = () => new URLSearchParams(location.hash.split('?')[1] || '');
const fmtValue = (v, unit) => (v == null ? '—' : unit === 'score' ? v.toFixed(3) : unit === 'share' ? (v * 100).toFixed(2) + '%' : fmtMs(v));
const pct = (v) => (v == null ? '—' : (v * 100).toFixed(1) + '%');
const signedText = (text, v) => (v > 0 ? '+' + text : text);
const TEST_NAMES = { mann_whitney_u: 'Mann–Whitney U', two_proportion_z: 'two-proportion z' };

function serviceForm(service, suggestions) {
  const input = el('input', { id: 'release-service', name: 'service', list: 'release-services', placeholder: 'service.name', required: 'required' });
  input.value = service || '';
  return el('form', { id: 'release-form', onsubmit: (e) => { e.preventDefault(); location.hash = '#/releases?' + new URLSearchParams({ service: input.value }); } },
    el('label', null, 'Service ', input), ' ', el('button', { type: 'submit' }, 'Show releases'),
    el('datalist', { id: 'release-services' }, ...suggestions.map((name) => el('option', { value: name }))));
}

function vitalCell(v, name) {
  if (!v) return el('td', null, '—');
  const unit = name === 'CLS' ? 'score' : 'ms';
  return el('td', { class: 'num', 'data-vital': name }, fmtValue(v.p75, unit), el('span', { class: 'muted' }, ' / ' + fmtValue(v.p95, unit)));
}

function routesBlock(r) {
  const rows = [['fetch', r.fetch], ['server', r.server]].flatMap(([kind, routes]) => routes.map((x) => el('tr', null,
    el('td', null, kind), el('td', null, el('code', null, x.route)), el('td', { class: 'num' }, x.n),
    el('td', { class: 'num' }, fmtValue(x.p95_ms, 'ms')), el('td', { class: 'num' }, pct(x.error_rate)))));
  if (rows.length === 0) return el('span', { class: 'muted' }, 'no spans');
  return el('details', null, el('summary', null, rows.length + ' routes'),
    el('table', { class: 'routes' }, el('tr', null, ...['Spans', 'Route', 'n', 'p95', 'Errors'].map((h) => el('th', null, h))), ...rows));
}

async function renderReleases() {
  const service = hashParams().get('service') || '';
  const { traces } = await api('/api/traces?limit=100');
  const suggestions = [...new Set(traces.map((t) => t.root_service).filter(Boolean))].sort();
  const parts = [el('h2', null, 'Releases'), serviceForm(service, suggestions)];
  if (!service) {
    app.replaceChildren(...parts, el('p', { class: 'muted' }, 'Choose a service to list its releases (service.version per environment).'));
    return;
  }
  const { releases } = await api('/api/releases?' + new URLSearchParams({ service }));
  if (releases.length === 0) {
    app.replaceChildren(...parts, el('p', { id: 'no-releases' }, 'No page views or spans of this service.'));
    return;
  }
  const label = (r) => r.version + (r.environment ? ' (' + r.environment + ')' : '');
  const picker = (id, selected) => el('select', { id }, ...releases.map((r, i) => {
    const o = el('option', { value: String(i) }, label(r));
    if (i === selected) o.selected = true;
    return o;
  }));
  const baseline = picker('baseline', Math.min(1, releases.length - 1));
  const candidate = picker('candidate', 0);
  const compare = () => {
    const b = releases[Number(baseline.value)], c = releases[Number(candidate.value)];
    const q = { service, baseline: b.version, candidate: c.version };
    // One environment when both are in it; otherwise each version over every environment.
    if (b.environment != null && b.environment === c.environment) q.environment = b.environment;
    location.hash = '#/compare?' + new URLSearchParams(q);
  };
  app.replaceChildren(...parts,
    el('p', { class: 'muted' }, 'Per release, newest first: error rate, the share of sessions with an error, and p75 / p95 of each vital.'),
    el('table', { id: 'releases' },
      el('tr', null, ...['Version', 'Environment', 'Last seen', 'Sessions', 'Page views', 'Errors / 1000 views', 'Sessions with errors', ...VITALS, 'Routes'].map((h) => el('th', null, h))),
      ...releases.map((r) => el('tr', { class: 'release', 'data-version': r.version },
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
  );
}

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
  if (d.per_1000 !== undefined) return signedText(d.per_1000.toFixed(1), d.per_1000) + ' / 1000';
  if (d.rate !== undefined) return signedText(fmtValue(d.rate, 'share'), d.rate);
  return '—';
}

async function renderCompare() {
  const q = hashParams();
  const service = q.get('service') || '';
  const c = await api('/api/releases/compare?' + q);
  const figureLabel = (f) => f.figure + (f.name ? ' ' + f.name : '');
  const counts = (r) => `${r.page_views} page views · ${r.sessions} sessions · ${r.errors} errors`;
  app.replaceChildren(
    el('p', null, el('a', { href: '#/releases?' + new URLSearchParams({ service }) }, '← releases of ' + service)),
    el('h2', { id: 'compare-title' }, `${c.service}: ${c.baseline.version} (baseline) vs ${c.candidate.version} (candidate)` + (c.environment ? ' in ' + c.environment : '')),
    el('p', { class: 'muted' }, `Baseline: ${counts(c.baseline)}. Candidate: ${counts(c.candidate)}. A verdict needs at least ${c.min_samples} samples a side and p < ${c.alpha}; lower is better for every figure.`),
    el('p', { id: 'compare-summary' }, c.worse.length ? el('span', { class: 'verdict worse' }, 'Worse: ' + c.worse.join(', ')) : el('span', { class: 'verdict no_evidence' }, 'No figure is worse.'),
      c.better.length ? el('span', { class: 'verdict better' }, 'Better: ' + c.better.join(', ')) : null),
    el('table', { id: 'comparison' },
      el('tr', null, ...['Figure', 'Baseline', 'Candidate', 'Difference', 'Verdict', 'Test', 'p'].map((h) => el('th', null, h))),
      ...c.figures.map((f) => el('tr', { class: 'figure', 'data-figure': figureLabel(f) },
        el('td', null, figureLabel(f)),
        el('td', null, sideText(f.baseline, f.unit)),
        el('td', null, sideText(f.candidate, f.unit)),
        el('td', null, differenceText(f.difference, f.unit)),
        el('td', { title: f.reason }, el('span', { class: 'verdict ' + f.verdict }, f.verdict.replace('_', ' ')), el('div', { class: 'muted' }, f.reason)),
        el('td', null, TEST_NAMES[f.test] || f.test),
        el('td', { class: 'num' }, f.p_value == null ? '—' : f.p_value.toExponential(2))))),
  );
}

function navigation() {
  const here = location.hash.startsWith('#/session') ? 'sessions' : location.hash.startsWith('#/error') ? 'errors'
    : location.hash.startsWith('#/releases') || location.hash.startsWith('#/compare') ? 'releases' : 'traces';
  for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('active', a.dataset.nav === here);
}

async function route() {
  const m = location.hash.match(/^#\/trace\/([0-9a-fA-F]{32})$/);
  const session = location.hash.match(/^#\/session\/([A-Za-z0-9_-]{1,64})$/);
  const errorGroup = location.hash.match(/^#\/error\/([0-9a-f]{32})$/);
  navigation();
  try {
    if (m) await renderTrace(m[1]);
    else if (session) await renderSession(session[1]);
    else if (errorGroup) await renderErrorGroup(errorGroup[1]);
    else if (location.hash === '#/errors') await renderErrors();
    else if (location.hash === '#/sessions') await renderSessions();
    else if (location.hash === '#/releases' || location.hash.startsWith('#/releases?')) await renderReleases();
    else if (location.hash.startsWith('#/compare?')) await renderCompare();
    else await renderHome();
  } catch (e) {
    app.replaceChildren(el('p', { class: 'error' }, 'Could not load: ' + e.message));
  }
}

window.addEventListener('hashchange', route);
route();
