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

async function renderHome() {
  const [{ traces }, { page_views }, { pages }] = await Promise.all([api('/api/traces?limit=100'), api('/api/page_views?limit=50'), api('/api/pages')]);
  app.replaceChildren(
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
function timeAxis(total, step) {
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  const track = el('div', { class: 'axis-track' });
  for (let i = 0; i * step <= total * (1 + 1e-9); i++) {
    const at = 100 * i * step / total;
    track.append(el('div', { class: 'tick' + (at > 90 ? ' end' : ''), style: { left: at + '%' } },
      el('span', null, (i * step).toFixed(digits) + ' ms')));
  }
  return el('div', { class: 'axis', id: 'axis' }, el('div', { class: 'muted' }, 'ms from trace start'), track, el('div'));
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

async function route() {
  const m = location.hash.match(/^#\/trace\/([0-9a-fA-F]{32})$/);
  try {
    if (m) await renderTrace(m[1]); else await renderHome();
  } catch (e) {
    app.replaceChildren(el('p', { class: 'error' }, 'Could not load: ' + e.message));
  }
}

window.addEventListener('hashchange', route);
route();
