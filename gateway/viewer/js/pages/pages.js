// Pages (`#/pages?…`): per page (view name or URL path) its page views and the p75 of each
// vital with its rating shares; a chart of a vital's p75 over time for a chosen page (or all),
// split by browser, device, country, connection or release; and the page views behind a
// point of the chart or a cell of the table. Filters and chart choices live in the hash.
import { el, table, time, timeMs, fmtVitalValue, shortUrl, hashParams, hashOf, go, sessionLink, pageViewLink, pageViewTracesLink } from '/js/dom.js';
import * as api from '/js/api.js';
import { VITALS, summaryCell, vitalsBlock, vitalsOverRange } from '/js/vitals.js';
import { rangeMs, rangeFields } from '/js/range.js';
import { lineChart, SERIES_COLOURS } from '/js/chart.js';

const RANGE_CHOICES = ['1h', '24h', '7d', 'custom'];
const DEFAULT_RANGE = '7d';
const BUCKETS = [['hour', 'per hour'], ['day', 'per day']];
const SPLITS = [['', 'none'], ['browser', 'browser'], ['device', 'device'], ['country', 'country'], ['connection', 'connection'], ['release', 'release']];

/** The state of the page: the hash's query with defaults. */
function stateOf(params) {
  return {
    service: params.get('service') || '',
    environment: params.get('environment') || '',
    page: params.get('page') || '',
    vital: VITALS.includes(params.get('vital')) ? params.get('vital') : 'LCP',
    bucket: params.get('bucket') === 'day' ? 'day' : 'hour',
    by: SPLITS.some(([v]) => v && v === params.get('by')) ? params.get('by') : '',
    range: params.get('range') || '',
    from_ms: params.get('from_ms') || '',
    to_ms: params.get('to_ms') || '',
  };
}

const hashWith = (state, change) => hashOf('pages', { ...state, ...change });

function filterForm(params, state) {
  const service = el('input', { id: 'pages-service', name: 'service', placeholder: 'service.name' });
  const environment = el('input', { id: 'pages-environment', name: 'environment', placeholder: 'deployment.environment.name' });
  service.value = state.service;
  environment.value = state.environment;
  const range = rangeFields(params, RANGE_CHOICES, DEFAULT_RANGE, 'pages');
  return el('form', { id: 'pages-filter', class: 'filters inline', role: 'search', 'aria-label': 'filter pages',
    onsubmit: (e) => {
      e.preventDefault();
      go(hashWith(state, { service: service.value.trim(), environment: environment.value.trim(), range: '', from_ms: '', to_ms: '', ...range.read() }));
    } },
  el('label', null, 'Service ', service), el('label', null, 'Environment ', environment), ...range.nodes,
  el('button', { type: 'submit', id: 'pages-submit' }, 'Apply'));
}

// ---- the page views behind a choice -------------------------------------------------------------

function pageViewRows(views) {
  return views.map((v) => el('tr', { class: 'page-view', 'data-page-view-id': v.page_view_id },
    el('td', { class: 'nowrap' }, time(v.start_time_unix_nano)),
    el('th', { scope: 'row' }, pageViewLink(v.page_view_id, v.name || shortUrl(v.url) || v.page_view_id),
      v.url ? el('div', { class: 'muted where', title: v.url }, shortUrl(v.url)) : null),
    el('td', null, sessionLink(v.session_id)),
    el('td', null, pageViewTracesLink(v.page_view_id)),
    el('td', null, vitalsBlock(v))));
}

/** Loads `filters` into the list section, with a "More" button while there is a next page. */
const listToken = new WeakMap();
async function showPageViews(section, title, filters) {
  // The latest choice wins over an earlier one that answers later.
  const token = (listToken.get(section) || 0) + 1;
  listToken.set(section, token);
  const heading = el('h3', { id: 'page-view-list-title' }, title);
  section.replaceChildren(heading, el('p', { class: 'muted' }, 'Loading…'));
  try {
    const { page_views: views, next_cursor: next } = await api.pageViews({ ...filters, limit: 25 });
    if (listToken.get(section) !== token) return;
    const body = el('tbody', null, ...pageViewRows(views));
    const more = el('p');
    const addMore = (cursor) => {
      more.replaceChildren(cursor ? el('button', { type: 'button', id: 'page-views-more', onclick: async () => {
        const page = await api.pageViews({ ...filters, limit: 25, cursor });
        body.append(...pageViewRows(page.page_views));
        addMore(page.next_cursor);
      } }, 'More page views') : '');
    };
    addMore(next);
    section.replaceChildren(heading,
      views.length === 0 ? el('p', { id: 'no-page-views' }, 'No page views.') : el('table', { id: 'page-view-list' },
        el('thead', null, el('tr', null, ...['Started', 'Page', 'Session', 'Traces', 'Vitals'].map((h) => el('th', { scope: 'col' }, h)))),
        body),
      more);
  } catch (e) {
    if (listToken.get(section) === token) section.replaceChildren(heading, el('p', { class: 'error', role: 'alert' }, 'Could not load: ' + e.message));
  }
}

// ---- the chart --------------------------------------------------------------------------------

/** A bucket's start, short: "Nov 27, 05:00" per hour, "Nov 27" per day. */
const bucketLabel = (ms, bucket) => new Date(ms).toLocaleString([], bucket === 'day'
  ? { month: 'short', day: 'numeric' } : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

function chartControls(state) {
  const select = (id, label, options, value, key) => el('label', null, label + ' ',
    el('select', { id, onchange: (e) => go(hashWith(state, { [key]: e.target.value })) },
      ...options.map(([v, t]) => el('option', { value: v, selected: v === value }, t))));
  return el('div', { class: 'chart-controls', id: 'chart-controls' },
    select('chart-vital', 'Vital', VITALS.map((v) => [v, v]), state.vital, 'vital'),
    select('chart-bucket', 'Bucket', BUCKETS, state.bucket, 'bucket'),
    select('chart-by', 'Split by', SPLITS, state.by, 'by'),
    state.page ? el('a', { href: hashWith(state, { page: '' }), id: 'chart-all-pages' }, 'show all pages') : null);
}

async function fillChart(section, state, range, listSection) {
  const where = state.page ? `page ${state.page}` : 'all pages';
  const title = el('h3', { id: 'chart-title' }, `p75 of ${state.vital} ${state.bucket === 'day' ? 'per day' : 'per hour'} · ${where}` +
    (state.by ? ` · by ${state.by}` : ''));
  const chart = el('div', { id: 'vitals-chart', class: 'chart', role: 'img', 'data-vital': state.vital, 'data-bucket': state.bucket,
    'data-by': state.by, 'data-page': state.page, 'aria-label': `chart of the p75 of ${state.vital} over time; the table beside it lists every point` });
  section.replaceChildren(title, chartControls(state), el('p', { class: 'muted' }, 'Loading…'));
  let res;
  try {
    res = await api.pageSeries({ vital: state.vital, bucket: state.bucket, by: state.by, service: state.service,
      environment: state.environment, page: state.page, ...range });
  } catch (e) {
    section.replaceChildren(title, chartControls(state), el('p', { class: 'error', role: 'alert' }, 'Could not load the chart: ' + e.message));
    return;
  }
  const series = res.series || [];
  const fmt = (v) => fmtVitalValue(state.vital, v);
  const list = (group, startMs) => {
    const filters = { service: state.service, environment: state.environment, page: state.page, vital: state.vital,
      from_ms: startMs, to_ms: startMs + res.bucket_ms };
    if (res.by) Object.assign(filters, { by: res.by, group });
    showPageViews(listSection, `Page views behind the ${state.vital} p75 of ${timeMs(startMs)} (${state.bucket})` +
      (res.by ? ` · ${res.by} ${group}` : '') + ` · ${where}`, filters);
    listSection.scrollIntoView({ block: 'start' });
  };
  if (series.every((s) => (s.points || []).length === 0)) {
    chart.setAttribute('data-series', '0');
    section.replaceChildren(title, chartControls(state), chart, el('p', { id: 'no-series' }, `No ${state.vital} reports in this range.`));
    return;
  }
  chart.setAttribute('data-series', String(series.length));
  // Every point as a row beside the chart: readable without the canvas, and a way to each
  // point's page views by keyboard.
  const points = series.flatMap((s, i) => (s.points || []).map((p) => ({ ...p, group: s.group, i })));
  const pointsTable = el('div', { class: 'series-box' }, table({ id: 'series-table' },
    ['Group', 'Bucket', 'p75', 'Reports', ''],
    points.map((p) => el('tr', { class: 'series-point', 'data-group': p.group, 'data-start-ms': p.start_ms, 'data-p75': p.p75, 'data-count': p.count },
      el('th', { scope: 'row', class: 'nowrap' }, el('span', { class: 'swatch', style: { background: SERIES_COLOURS[p.i % SERIES_COLOURS.length] } }), ' ', p.group),
      el('td', { class: 'nowrap', title: timeMs(p.start_ms) }, bucketLabel(p.start_ms, state.bucket)),
      el('td', { class: 'num p75 nowrap' }, fmt(p.p75)),
      el('td', { class: 'num' }, p.count),
      el('td', { class: 'nowrap' }, el('button', { type: 'button', class: 'linkish point-views', onclick: () => list(p.group, p.start_ms) }, 'page views'))))));
  section.replaceChildren(title, chartControls(state),
    el('div', { class: 'chart-row' }, chart, pointsTable),
    el('p', { class: 'muted' }, 'Click a point (or “page views” in the table) to list the page views behind it.'));
  await lineChart(chart, series.map((s) => ({ label: s.group, points: (s.points || []).map((p) => ({ x: p.start_ms, y: p.p75 })) })), {
    format: fmt, axisFormat: (v) => (state.vital === 'CLS' ? v.toFixed(2) : Math.round(v) + ' ms'),
    yLabel: state.vital === 'CLS' ? 'CLS' : 'ms', onpoint: (i, x) => list(series[i].group, x),
    xRange: res.from_ms != null && res.to_ms != null ? [Number(res.from_ms), Number(res.to_ms)] : undefined,
  });
  chart.setAttribute('data-drawn', 'true');
}

// ---- the page ---------------------------------------------------------------------------------

export async function render() {
  const params = hashParams();
  const state = stateOf(params);
  const range = rangeMs(params, DEFAULT_RANGE);
  const { pages } = await api.pages({ service: state.service, environment: state.environment, ...range });
  const chartSection = el('section', { id: 'chart-section', 'aria-label': 'p75 over time' });
  const listSection = el('section', { id: 'page-views', 'aria-live': 'polite' });
  const base = { service: state.service, environment: state.environment, ...range };

  const rows = pages.map((p) => {
    const key = p.page ?? p.path;
    const href = hashWith(state, { page: key });
    const pick = (name) => () => showPageViews(listSection, `Page views of ${key} that reported ${name}` +
      (p.service ? ` (${p.service}${p.environment ? ', ' + p.environment : ''})` : ''),
    { ...base, service: p.service || state.service, environment: p.environment || state.environment, page: key, vital: name });
    return el('tr', { class: 'page-row' + (key === state.page ? ' selected' : ''), 'data-page': key, 'data-service': p.service || '',
      onclick: (e) => { if (!e.target.closest('a, button')) go(href); } },
    el('th', { scope: 'row' }, el('a', { href, class: 'page-select', title: 'chart this page', 'aria-current': key === state.page ? 'true' : null }, key)),
    el('td', { class: 'muted' }, [p.service, p.environment].filter(Boolean).join(' · ')),
    el('td', { class: 'num' }, p.page_views),
    ...VITALS.map((n) => summaryCell(n, p.vitals && p.vitals[n], pick(n))));
  });

  // The list starts as the latest page views of the filters (and the chosen page).
  showPageViews(listSection, 'Recent page views' + (state.page ? ' of ' + state.page : ''), { ...base, page: state.page });
  fillChart(chartSection, state, range, listSection);

  return [
    el('h2', null, 'Pages'),
    filterForm(params, state),
    vitalsOverRange(),
    el('h3', null, 'Per page: p75 and good / needs improvement / poor'),
    pages.length === 0 ? el('p', { id: 'no-pages' }, 'No page views in this range.') : table({ id: 'pages', class: 'pages' },
      ['Page', 'Service', 'Views', ...VITALS], rows),
    el('p', { class: 'muted' }, 'Choose a page to chart it; a p75 lists the page views behind it.'),
    chartSection,
    listSection,
  ];
}
