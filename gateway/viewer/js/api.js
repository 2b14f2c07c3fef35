// The admin API client: every request the viewer makes goes through here, and every query
// string is built here (empty values left out). Each function resolves to the parsed JSON or
// throws an ApiError carrying the status and the API's `{error, message}`.

export class ApiError extends Error {
  constructor(path, status, body) {
    const reason = body && typeof body === 'object' ? `${body.error}: ${body.message}` : String(body || '').slice(0, 200);
    super(`${path}: ${status} ${reason}`);
    this.status = status;
    this.code = body && body.error;
  }
}

/** A query string (with its `?`) of the non-empty values, or ''. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v != null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

async function get(path, params) {
  const url = path + query(params);
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) {
    const text = await res.text();
    let body = text;
    try { body = JSON.parse(text); } catch { /* not JSON: keep the text */ }
    throw new ApiError(path, res.status, body);
  }
  return res.json();
}

const id = (s) => encodeURIComponent(s);

// Traces: `filters` are the API's names (service, name, url, status, min_ms, max_ms, from_ms,
// to_ms, session_id, user_id, page, page_view_id, limit, cursor), as the search's hash has them.
export const traces = (filters) => get('/api/traces', filters);
export const trace = (traceId) => get('/api/traces/' + id(traceId));

// Pages and page views
export const pages = (filters) => get('/api/pages', filters);
export const pageSeries = (filters) => get('/api/pages/series', filters);
export const pageViews = (filters) => get('/api/page_views', filters);
export const pageView = (pageViewId) => get('/api/page_views/' + id(pageViewId));
export const vitalQuantiles = (metric, fromMs) => get('/api/vitals/quantiles', { metric, from_ms: fromMs });

// Sessions
export const sessions = (limit = 100) => get('/api/sessions', { limit });
export const session = (sessionId) => get('/api/sessions/' + id(sessionId));

// Errors
export const errors = (limit = 200) => get('/api/errors', { limit });
export const errorGroup = (fingerprint) => get('/api/errors/' + id(fingerprint));

// Releases
export const releases = (service) => get('/api/releases', { service });
export const compareReleases = (params) => get('/api/releases/compare', params);
