// DOM building and formatting shared by every page.
//
// Everything a beacon or a backend sent (span names, URLs, attribute keys and values, view
// names, action targets, error messages) reaches the page through `el()` only: as text nodes
// (`append` of a string) or attribute values (`setAttribute`), never parsed as HTML. The CSP
// (`script-src 'self'`, `style-src 'self'`) would block an inline handler anyway.

/**
 * `el('a', { href, class, onclick, style: { left: '3%' } }, 'text', childNode, null)`:
 * props are attributes (`class` → className, `on*` → listeners, `style` → CSSOM properties,
 * which the CSP allows unlike a style attribute); children are nodes or text, null skipped.
 */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'style') Object.assign(node.style, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c != null && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}

/** A table with a header row of `<th scope="col">` and the given rows (`<tr>` nodes). */
export function table(props, headers, rows) {
  return el('table', props,
    el('thead', null, el('tr', null, ...headers.map((h) => (h instanceof Node ? h : el('th', { scope: 'col' }, h))))),
    el('tbody', null, ...rows));
}

// ---- time and numbers ------------------------------------------------------------------------

/** Nanosecond strings → milliseconds relative to a base, exact via BigInt. */
export const msSince = (ns, base) => Number(BigInt(ns) - BigInt(base)) / 1e6;
/** Nanosecond string → unix milliseconds. */
export const nsToMs = (ns) => Number(BigInt(ns) / 1000000n);
export const time = (ns) => new Date(nsToMs(ns)).toLocaleString();
export const timeMs = (ms) => new Date(ms).toLocaleString();
export const fmtMs = (ms) => (ms == null || Number.isNaN(ms) ? '—' : (Math.abs(ms) < 10 ? ms.toFixed(2) : ms.toFixed(0)) + ' ms');
export const fmtVitalValue = (name, value) => (value == null ? '—' : name === 'CLS' ? value.toFixed(3) : fmtMs(value));
export const fmtVital = (v) => fmtVitalValue(v.name, v.value);
export const fmtDuration = (ms) => (ms >= 60000 ? (ms / 60000).toFixed(1) + ' min' : ms >= 1000 ? (ms / 1000).toFixed(1) + ' s' : fmtMs(ms));
export const pct = (v) => (v == null ? '—' : (v * 100).toFixed(1) + '%');

/** A URL without its origin when it parses (callers put the full one in a title). */
export function shortUrl(url) {
  if (url == null) return '';
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return String(url);
  }
}

/** An attribute value as text: arrays joined, objects as JSON, never the word "null". */
export function valueText(v) {
  if (v == null) return '—';
  if (Array.isArray(v)) return v.map(valueText).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  if (typeof v === 'number') return String(Math.round(v * 1000) / 1000);
  return String(v);
}

// ---- the hash's query ------------------------------------------------------------------------

/** The query of `#/path?a=1&b=2`. */
export const hashParams = () => new URLSearchParams(location.hash.split('?')[1] || '');

/** `#/path?…` from an object, leaving out empty values. */
export function hashOf(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v != null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return '#/' + path + (s ? '?' + s : '');
}

// ---- links to the viewer's own pages -----------------------------------------------------------
// Each href is built from an id that matched its format, never from a beacon's text as is.

export const TRACE_ID = /^[0-9a-f]{32}$/;
export const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const PAGE_VIEW_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const FINGERPRINT = /^[0-9a-f]{32}$/;

/** A link to a trace page, only for a well-formed id. */
export function traceLink(traceId, ...children) {
  return TRACE_ID.test(traceId || '') ? el('a', { href: '#/trace/' + traceId, 'data-trace-id': traceId }, ...children)
    : el('span', null, ...children);
}

export function sessionLink(sessionId, ...children) {
  if (!SESSION_ID.test(sessionId || '')) return el('span', null, ...children);
  return el('a', { href: '#/session/' + sessionId, class: 'session-link', 'data-session-id': sessionId },
    ...(children.length ? children : [el('code', null, sessionId.slice(0, 12))]));
}

export function pageViewLink(id, ...children) {
  if (!PAGE_VIEW_ID.test(id || '')) return el('span', null, ...children);
  return el('a', { href: '#/page_view/' + id, class: 'page-view-link', 'data-page-view-id': id },
    ...(children.length ? children : [el('code', null, id)]));
}

/** A link to the traces search of one page view. */
export function pageViewTracesLink(id, text = 'traces') {
  if (!PAGE_VIEW_ID.test(id || '')) return null;
  return el('a', { href: hashOf('traces', { page_view_id: id }), class: 'traces-link' }, text);
}

// ---- service colours ---------------------------------------------------------------------------

// Service → colour class (`svc-0` … `svc-7`), from a hash of the name so a service keeps its
// colour from trace to trace and page to page; a collision within one set moves on to the
// next free colour.
const PALETTE_SIZE = 8;
export function serviceColours(names) {
  const colours = new Map();
  const taken = new Set();
  for (const name of [...new Set(names)].sort()) {
    let i = serviceHash(name) % PALETTE_SIZE;
    for (let n = 0; n < PALETTE_SIZE && taken.has(i); n++) i = (i + 1) % PALETTE_SIZE;
    taken.add(i);
    colours.set(name, 'svc-' + i);
  }
  return colours;
}

function serviceHash(name) {
  let hash = 0;
  for (const c of name) hash = (hash * 31 + c.codePointAt(0)) >>> 0;
  return hash;
}

// ---- the time axis of the waterfall and the session timeline ------------------------------------

/** A 1, 2 or 5 × 10^n step giving at most about `count` intervals over `total` ms. */
export function tickStep(total, count = 8) {
  const raw = total / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((step) => step >= raw);
}

/** The axis above the rows: a tick and a label (ms from the start) every `step`. */
export function timeAxis(total, step, label = 'ms from trace start', id = 'axis') {
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  const track = el('div', { class: 'axis-track', 'aria-hidden': 'true' });
  for (let i = 0; i * step <= total * (1 + 1e-9); i++) {
    const at = 100 * i * step / total;
    track.append(el('div', { class: 'tick' + (at > 90 ? ' end' : ''), style: { left: at + '%' } },
      el('span', null, (i * step).toFixed(digits) + ' ms')));
  }
  return el('div', { class: 'axis', id }, el('div', { class: 'muted' }, label), track, el('div'));
}

// ---- errors' sparkline and release labels ------------------------------------------------------

/** Occurrences per bucket as a small inline SVG: a line over the buckets, a dot on the last. */
export function sparkline(counts, hours) {
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

export const releaseLabel = (r) => [r.service, r.version].filter(Boolean).join(' ') + (r.environment ? ` (${r.environment})` : '');

/** Go to a hash; the same hash again renders the page again (a form submitted unchanged). */
export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new Event('rum:rerender'));
  else location.hash = hash;
}
