// One page view (`#/page_view/{id}`): where and when, its session, its vitals with their
// attribution, its traces (the page load and every call made from it) and its attributes.
import { el, time, shortUrl, valueText, sessionLink, pageViewTracesLink, hashOf } from '/js/dom.js';
import * as api from '/js/api.js';
import { vitalsBlock } from '/js/vitals.js';
import { attributesTable, SPAN_GROUPS, RESOURCE_GROUPS } from '/js/attributes.js';
import { traceResultsTable } from '/js/pages/traces.js';

const DEVICE = { true: 'mobile', false: 'desktop' };

export async function render(match) {
  const id = match[1];
  const [view, found] = await Promise.all([
    api.pageView(id),
    api.traces({ page_view_id: id, limit: 100 }).catch((e) => ({ error: e })),
  ]);
  const a = view.attributes || {};
  const r = view.resource || {};
  const label = view.name || shortUrl(view.url) || view.page_view_id;
  // The page's key as the pages table has it: the view's name, else its URL's path.
  let key = view.name || '';
  if (!key) try { key = new URL(view.url).pathname; } catch { key = ''; }
  const facts = [
    ['URL', view.url],
    ['Name', view.name],
    ['Started', view.start_time_unix_nano ? time(view.start_time_unix_nano) : null],
    ['Navigation', view.navigation_type],
    ['Referrer', view.referrer],
    ['Session', view.session_id ? sessionLink(view.session_id, el('code', null, view.session_id)) : null],
    ['User', a['user.id']],
    ['Service', [r['service.name'], r['service.version'], r['deployment.environment.name'] || r['deployment.environment']].filter((x) => x != null && x !== '').map(valueText).join(' · ')],
    ['Browser', [a['user_agent.name'], a['user_agent.version']].filter((x) => x != null).map(valueText).join(' ')],
    ['Device', a['browser.mobile'] != null ? DEVICE[String(a['browser.mobile'])] : null],
    ['Country', a['geo.country.iso_code']],
    ['Connection', a['browser.connection.effective_type']],
  ].filter(([, v]) => v != null && v !== '');
  const traces = found.traces || [];
  return [
    el('p', null, el('a', { href: hashOf('pages', { page: key }) }, '← pages')),
    el('h2', { id: 'page-view-title' }, 'Page view ', el('span', { class: 'page-view-name' }, label)),
    el('dl', { class: 'facts', id: 'page-view-facts' }, ...facts.flatMap(([k, v]) => [el('dt', null, k), el('dd', { 'data-fact': k.toLowerCase() }, v)])),
    el('h3', null, 'Vitals'),
    vitalsBlock(view, { open: true, id: 'page-view-vitals' }),
    el('h3', null, 'Traces ', el('span', { class: 'muted' }, '(the page load and the calls made from this view) '),
      pageViewTracesLink(view.page_view_id, 'open in the traces search')),
    found.error ? el('p', { class: 'error', role: 'alert' }, 'Could not load its traces: ' + found.error.message)
      : traces.length === 0 ? el('p', { id: 'no-page-view-traces' }, 'No traces of this page view.')
        : traceResultsTable(traces, 'page-view-traces'),
    el('details', { id: 'page-view-attributes' }, el('summary', null, 'Attributes and resource'),
      el('div', { class: 'detail-grid' },
        el('div', null, el('h4', null, 'Attributes'), attributesTable(a, SPAN_GROUPS, 'view-attributes')),
        el('div', null, el('h4', null, 'Resource'), attributesTable(r, RESOURCE_GROUPS, 'view-resource')))),
  ];
}
