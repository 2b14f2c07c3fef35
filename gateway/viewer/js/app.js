// The RUM viewer's entry: a router on location.hash and the header's navigation. Each page is
// a module whose `render(match)` fetches through js/api.js and returns the nodes of <main>.
import { el } from '/js/dom.js';
import * as traces from '/js/pages/traces.js';
import * as trace from '/js/pages/trace.js';
import * as pages from '/js/pages/pages.js';
import * as pageView from '/js/pages/page_view.js';
import * as sessions from '/js/pages/sessions.js';
import * as session from '/js/pages/session.js';
import * as errors from '/js/pages/errors.js';
import * as errorGroup from '/js/pages/error_group.js';
import * as releases from '/js/pages/releases.js';
import * as compare from '/js/pages/compare.js';

const app = document.getElementById('app');
const status = document.getElementById('status');

// The pages: #/ and #/traces?…, #/trace/{trace_id}, #/pages?…, #/page_view/{id}, #/sessions,
// #/session/{id}, #/errors, #/error/{fingerprint}, #/releases?service=…, #/compare?….
// [hash pattern, page module, navigation entry]. The first match wins; anything else is the
// traces search. Ids are matched by their format here, so a page gets a well-formed one.
const ROUTES = [
  [/^#\/trace\/([0-9a-fA-F]{32})$/, trace, 'traces'],
  [/^#\/(?:traces(?:\?.*)?)?$/, traces, 'traces'],
  [/^#\/pages(?:\?.*)?$/, pages, 'pages'],
  [/^#\/page_view\/([A-Za-z0-9_-]{1,64})$/, pageView, 'pages'],
  [/^#\/sessions$/, sessions, 'sessions'],
  [/^#\/session\/([A-Za-z0-9_-]{1,64})$/, session, 'sessions'],
  [/^#\/errors$/, errors, 'errors'],
  [/^#\/error\/([0-9a-f]{32})$/, errorGroup, 'errors'],
  [/^#\/releases(?:\?.*)?$/, releases, 'releases'],
  [/^#\/compare\?.*$/, compare, 'releases'],
];

function resolve(hash) {
  for (const [pattern, page, nav] of ROUTES) {
    const m = pattern.exec(hash);
    if (m) return { page, nav, match: m };
  }
  return { page: traces, nav: 'traces', match: [hash] };
}

// A newer navigation wins: a slow page that answers after the user moved on is not shown.
let current = 0;

export async function route() {
  const token = ++current;
  const hash = location.hash;
  const { page, nav, match } = resolve(hash);
  for (const a of document.querySelectorAll('header nav a')) {
    const here = a.dataset.nav === nav;
    a.classList.toggle('active', here);
    if (here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  // Keep the focus on a control that the new render has again (a filter form's submit).
  const focused = document.activeElement && document.activeElement !== document.body ? document.activeElement.id : '';
  status.textContent = 'Loading…';
  app.setAttribute('aria-busy', 'true');
  let nodes;
  try {
    nodes = await page.render(match);
  } catch (e) {
    nodes = [el('p', { class: 'error', role: 'alert' }, 'Could not load: ' + e.message)];
  }
  if (token !== current) return;
  app.replaceChildren(...nodes.filter((n) => n != null));
  app.removeAttribute('aria-busy');
  // What is shown: browser tests wait for it (`data-hash` equal to location.hash).
  app.setAttribute('data-hash', hash);
  status.textContent = '';
  if (focused) document.getElementById(focused)?.focus();
  document.title = (app.querySelector('h1, h2')?.textContent || 'RUM viewer') + ' · RUM viewer';
}

window.addEventListener('hashchange', route);
// A page whose links or forms point at the hash it is already on re-renders through this.
window.addEventListener('rum:rerender', route);
route();
