// One trace (`#/trace/{id}`): browser and backend spans in one tree as a waterfall on a time
// axis, services in consistent colours, the network gap of each client → server call, the
// page load's marks as ticks, and a detail panel of the selected span's attributes as tables.
import {
  el, table, msSince, time, fmtMs, shortUrl, valueText, serviceColours, tickStep, timeAxis,
  sessionLink, pageViewLink, pageViewTracesLink, TRACE_ID,
} from '/js/dom.js';
import * as api from '/js/api.js';
import { vitalsBlock } from '/js/vitals.js';
import { attributesTable, SPAN_GROUPS, RESOURCE_GROUPS } from '/js/attributes.js';


const service = (s) => (s.resource && s.resource['service.name']) || s.source || 'unknown';
const str = (v) => (typeof v === 'string' && v ? v : null);

/** An event's or link's attributes as compact `key = value` lines. */
function inlineAttributes(attrs) {
  const entries = Object.entries(attrs || {});
  if (entries.length === 0) return el('span', { class: 'muted' }, '—');
  return el('dl', { class: 'inline-attrs' }, ...entries.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, valueText(v))]));
}

function detailPanel(s, ctx) {
  const start = msSince(s.start_time_unix_nano, ctx.base);
  const dur = msSince(s.end_time_unix_nano, s.start_time_unix_nano);
  const status = s.status || {};
  const parent = s.parent_span_id ? ctx.byId.get(s.parent_span_id) : null;
  const net = ctx.network.get(s.span_id);
  const facts = [
    ['Service', service(s)],
    ['Kind', s.kind || '—'],
    ['Status', (status.code || 'unset') + (str(status.message) ? ': ' + status.message : '')],
    ['Source', s.source === 'otlp' ? 'backend (OTLP)' : s.source === 'browser' ? 'browser (SDK beacon)' : s.source || '—'],
    ['Start', `${fmtMs(start)} from trace start · ${time(s.start_time_unix_nano)}`],
    ['Duration', fmtMs(dur)],
    ['Span id', s.span_id],
    ['Parent', s.parent_span_id ? (parent ? `${parent.name} (${s.parent_span_id})` : `${s.parent_span_id} (not received)`) : '— (a root)'],
    net ? ['Network', networkText(net)] : null,
  ].filter(Boolean);
  const events = s.events || [];
  const links = s.links || [];
  return el('section', { class: 'details', id: 'span-detail', 'data-span-id': s.span_id, 'aria-label': 'span ' + s.name, tabindex: '-1' },
    el('div', { class: 'detail-head' },
      el('h3', null, s.name),
      el('button', { type: 'button', class: 'close', 'aria-label': 'close the details', onclick: () => ctx.select(null) }, '×')),
    el('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)])),
    el('div', { class: 'detail-grid' },
      el('div', null, el('h4', null, 'Attributes'), attributesTable(s.attributes, SPAN_GROUPS, 'span-attributes')),
      el('div', null, el('h4', null, 'Resource'), attributesTable(s.resource, RESOURCE_GROUPS, 'span-resource'))),
    el('h4', null, `Events (${events.length})`),
    events.length === 0 ? el('p', { class: 'muted' }, 'none') : table({ id: 'span-events', class: 'events' },
      ['Event', 'At (from span start)', 'Attributes'],
      events.map((e) => el('tr', { 'data-event': e.name },
        el('th', { scope: 'row' }, e.name),
        el('td', { class: 'num' }, fmtMs(msSince(e.time_unix_nano, s.start_time_unix_nano))),
        el('td', null, inlineAttributes(e.attributes))))),
    el('h4', null, `Links (${links.length})`),
    links.length === 0 ? el('p', { class: 'muted' }, 'none') : table({ id: 'span-links', class: 'links' },
      ['Trace', 'Span', 'Attributes'],
      links.map((l) => el('tr', null,
        el('td', null, TRACE_ID.test(l.trace_id || '') ? el('a', { href: '#/trace/' + l.trace_id }, el('code', null, l.trace_id)) : el('code', null, valueText(l.trace_id))),
        el('td', null, el('code', null, valueText(l.span_id))),
        el('td', null, inlineAttributes(l.attributes))))));
}

/** The URL (without origin) or route beside a span's name, unless the name already says it. */
function where(name, url, route) {
  const text = url ? shortUrl(url) : route;
  return text && !name.endsWith(text) ? el('span', { class: 'muted' }, ' ' + text) : null;
}

const networkText = (n) => `network: ${fmtMs(n.before)} before, ${fmtMs(n.after)} after`;

export async function render(match) {
  const trace = await api.trace(match[1].toLowerCase());
  const spans = trace.spans || [];
  if (spans.length === 0) return [el('h2', null, 'Trace ', el('code', null, trace.trace_id)), el('p', null, 'No spans stored for this trace.')];
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const children = new Map();
  const roots = [];
  // Spans come ordered by start time, so children are too.
  for (const s of spans) {
    if (s.parent_span_id && byId.has(s.parent_span_id) && s.parent_span_id !== s.span_id) {
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
  const pos = (ms) => (100 * Math.min(Math.max(ms, 0), total) / total) + '%';
  const colours = serviceColours(spans.map(service));

  // A call across the network: a server span whose parent is a client span. The parts of the
  // client span before and after the server span are the network (and queueing) time.
  const network = new Map();
  for (const s of spans) {
    const p = s.parent_span_id && byId.get(s.parent_span_id);
    if (p && s.kind === 'server' && p.kind === 'client') {
      network.set(s.span_id, {
        client: p,
        before: msSince(s.start_time_unix_nano, p.start_time_unix_nano),
        after: msSince(p.end_time_unix_nano, s.end_time_unix_nano),
      });
    }
  }

  const rows = el('div', { class: 'waterfall', id: 'waterfall', role: 'group', 'aria-label': 'spans' }, timeAxis(total, step));
  const rowEls = [];
  let selected = null;
  const ctx = { base, byId, network, select: null };
  ctx.select = (row) => {
    document.getElementById('span-detail')?.remove();
    for (const r of rowEls) { r.classList.remove('selected'); r.setAttribute('aria-expanded', 'false'); }
    if (!row || row === selected) { const was = selected; selected = null; was?.focus(); return; }
    selected = row;
    row.classList.add('selected');
    row.setAttribute('aria-expanded', 'true');
    row.after(detailPanel(byId.get(row.dataset.spanId), ctx));
  };
  const onKey = (e) => {
    const i = rowEls.indexOf(e.currentTarget);
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: rowEls.length - 1 }[e.key];
    if (to !== undefined) {
      e.preventDefault();
      rowEls[Math.min(Math.max(to, 0), rowEls.length - 1)].focus();
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      ctx.select(e.currentTarget);
    } else if (e.key === 'Escape' && selected) {
      e.preventDefault();
      ctx.select(null);
    }
  };

  const seen = new Set();
  const walk = (s, depth) => {
    if (seen.has(s.span_id)) return;
    seen.add(s.span_id);
    const url = str(s.attributes && s.attributes['url.full']);
    const route = str(s.attributes && s.attributes['http.route']);
    const start = msSince(s.start_time_unix_nano, base);
    const dur = msSince(s.end_time_unix_nano, s.start_time_unix_nano);
    const net = network.get(s.span_id);
    const error = s.status && s.status.code === 'error';
    // Grid lines at the axis ticks: one background tile per tick step.
    const track = el('div', { class: 'track', style: { backgroundSize: (100 * step / total) + '% 100%' } });
    if (net) {
      // The client span's extent around the server bar, as a thin line on each side.
      const c0 = msSince(net.client.start_time_unix_nano, base);
      const c1 = msSince(net.client.end_time_unix_nano, base);
      track.append(
        el('div', { class: 'net-gap before', title: `network before the server span: ${fmtMs(net.before)}`, style: { left: pos(c0), width: pos(Math.max(start - c0, 0)) } }),
        el('div', { class: 'net-gap after', title: `network after the server span: ${fmtMs(net.after)}`, style: { left: pos(start + dur), width: pos(Math.max(c1 - start - dur, 0)) } }));
    }
    track.append(el('div', {
      class: 'bar ' + s.source + ' ' + colours.get(service(s)) + (error ? ' error' : ''),
      title: `${s.name}: ${fmtMs(dur)} from ${fmtMs(start)}` + (net ? ` (${networkText(net)})` : ''),
      style: { left: pos(start), width: pos(dur) },
    }));
    // Span events (documentLoad's navigation timing marks) as ticks at their time on the bar.
    for (const e of s.events || []) {
      const at = msSince(e.time_unix_nano, base);
      track.append(el('div', { class: 'mark', 'data-mark': e.name, 'data-ms': at.toFixed(3),
        title: `${e.name}: ${fmtMs(at)} (span start + ${fmtMs(at - start)})`, style: { left: pos(at) } }));
    }
    const row = el('div', {
      class: 'row' + (error ? ' error' : ''), role: 'button', tabindex: '0', 'aria-expanded': 'false',
      'aria-label': `${service(s)} ${s.kind || ''} ${s.name}, ${fmtMs(dur)}${error ? ', error' : ''}`,
      'data-span-id': s.span_id, 'data-depth': depth, 'data-service': service(s), 'data-kind': s.kind || '',
      'data-network-before-ms': net ? net.before.toFixed(3) : null, 'data-network-after-ms': net ? net.after.toFixed(3) : null,
      onclick: (e) => ctx.select(e.currentTarget), onkeydown: onKey,
    },
    el('div', { class: 'name', title: [s.name, url, route && route !== url ? 'route ' + route : null].filter(Boolean).join('\n'), style: { paddingLeft: depth * 16 + 'px' } },
      el('span', { class: 'tag ' + colours.get(service(s)) }, service(s)), el('span', { class: 'tag' }, s.kind || 'span'),
      error ? el('span', { class: 'tag error-tag' }, 'error') : null,
      s.name, where(s.name, url, route)),
    track,
    el('div', { class: 'num' }, fmtMs(dur), net ? el('div', { class: 'net-label', title: networkText(net) }, 'net ' + fmtMs(net.before + net.after)) : null));
    rowEls.push(row);
    rows.append(row);
    for (const c of children.get(s.span_id) || []) walk(c, depth + 1);
  };
  roots.forEach((r) => walk(r, 0));
  // Spans caught in a parent cycle (malformed input) are still shown, as roots.
  for (const s of spans) walk(s, 0);

  const legend = el('div', { class: 'legend', id: 'legend' },
    ...[...colours].map(([name, colour]) => el('span', { class: 'legend-item', 'data-service': name },
      el('span', { class: 'swatch ' + colour }), name)),
    network.size ? el('span', { class: 'legend-item', 'data-legend': 'network' }, el('span', { class: 'swatch net-swatch' }),
      'network: the client span around its server span') : null,
    spans.some((s) => (s.events || []).length) ? el('span', { class: 'legend-item', 'data-legend': 'mark' }, el('span', { class: 'swatch mark-swatch' }), 'span event (page-load mark)') : null);

  const view = trace.page_view || null;
  const attr = (key) => { for (const s of spans) { const v = str(s.attributes && s.attributes[key]); if (v) return v; } return null; };
  const sessionId = str(trace.session_id) || (view && str(view.session_id)) || attr('session.id');
  const pageViewId = (view && str(view.page_view_id)) || str(trace.page_view_id) || attr('rum.page_view.id');
  const userId = str(trace.user_id) || attr('user.id');
  const errors = spans.filter((s) => s.status && s.status.code === 'error').length;
  const sources = new Set(spans.map((s) => s.source));
  return [
    el('p', null, el('a', { href: '#/traces' }, '← traces')),
    el('h2', null, 'Trace ', el('code', null, trace.trace_id)),
    el('p', { class: 'muted', id: 'trace-summary' },
      `${spans.length} span${spans.length === 1 ? '' : 's'} over ${fmtMs(endMax)} · started ${time(base)}` +
      ` · ${[sources.has('browser') ? 'browser' : null, sources.has('otlp') ? 'backend' : null].filter(Boolean).join(' and ')} spans` +
      (errors ? ` · ${errors} with error status` : '')),
    sessionId || pageViewId || userId ? el('p', { id: 'trace-links', class: 'links-line' },
      sessionId ? el('span', null, 'Session ', sessionLink(sessionId)) : null,
      pageViewId ? el('span', null, 'Page view ', pageViewLink(pageViewId)) : null,
      pageViewId ? pageViewTracesLink(pageViewId, 'other traces of this page view') : null,
      userId ? el('span', null, 'User ', el('code', null, userId)) : null) : null,
    view ? el('section', { id: 'trace-page-view' },
      el('h3', null, 'Page view: ', pageViewLink(view.page_view_id, view.name || shortUrl(view.url) || view.page_view_id),
        view.url ? el('span', { class: 'muted', title: view.url }, ' ' + view.url) : null),
      vitalsBlock(view)) : null,
    legend,
    el('p', { class: 'muted hint' }, 'Click a span, or focus it and press Enter, for its attributes; ↑ and ↓ move between spans.'),
    rows,
  ];
}

