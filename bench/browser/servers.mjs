// Loopback servers for the main-thread benchmark: the site (page, SDK bundles, an image), the
// telemetry collector every SDK sends to, and the API the page calls (a second origin, so trace
// propagation is cross-origin and opt-in). Each listens on 127.0.0.1 with an OS-chosen port.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { deflateSync, crc32 } from 'node:zlib';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Headers whose presence on an API request means the request was traced. */
export const TRACE_HEADERS = ['traceparent', 'sentry-trace', 'x-datadog-trace-id', 'elastic-apm-traceparent'];
const API_ALLOWED_HEADERS = [
  'content-type', 'traceparent', 'tracestate', 'sentry-trace', 'baggage', 'elastic-apm-traceparent',
  'x-datadog-trace-id', 'x-datadog-parent-id', 'x-datadog-origin', 'x-datadog-sampling-priority', 'x-datadog-tags',
];

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.keepAliveTimeout = 30000;
      resolve(`http://127.0.0.1:${server.address().port}`);
    });
  });
}

function close(server) {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** CORS for any origin: the origin is echoed (so credentialed requests such as beacons pass too). */
function cors(req, res, extraHeaders = []) {
  const origin = req.headers.origin;
  res.setHeader('access-control-allow-origin', origin || '*');
  if (origin) {
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('vary', 'origin');
  }
  res.setHeader('timing-allow-origin', '*');
  if (req.method === 'OPTIONS') {
    const asked = (req.headers['access-control-request-headers'] || '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
    const headers = [...new Set([...extraHeaders, ...asked])];
    if (headers.length) res.setHeader('access-control-allow-headers', headers.join(', '));
    res.setHeader('access-control-allow-methods', req.headers['access-control-request-method'] || 'GET, POST, PUT, OPTIONS');
    // Browsers cache the answer (Chromium for at most 2 h), as a production API would allow.
    res.setHeader('access-control-max-age', '600');
  }
}

/**
 * An opaque RGB PNG of seeded noise: high entropy, so it is an LCP candidate and costs the
 * network about as much as a photo of that size would.
 */
function noisePng(width, height, seed = 1) {
  const chunk = (type, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bits per channel
  ihdr[9] = 2; // truecolour
  const stride = width * 3 + 1;
  const raw = Buffer.alloc(stride * height);
  let s = seed >>> 0;
  for (let y = 0; y < height; y++) {
    raw[y * stride] = 0; // filter: none
    for (let x = 1; x < stride; x++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      raw[y * stride + x] = s >>> 24;
    }
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** Resolves `rel` inside `base`, or null if it would step outside. */
function inside(base, rel) {
  const path = normalize(join(base, rel));
  return path === base || path.startsWith(base.endsWith(sep) ? base : base + sep) ? path : null;
}

/**
 * The site: `/out/*` from `outDir` (the SDK bundles), `/pages/*` from `pagesDir`, where an HTML
 * page gets `render(name, url, html)` applied, and `/img/hero.png`.
 */
export async function startSite({ outDir, pagesDir, render }) {
  const hero = noisePng(400, 200);
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://site');
      if (url.pathname === '/favicon.ico') return res.writeHead(204).end();
      if (url.pathname === '/img/hero.png') {
        return res.writeHead(200, { 'content-type': 'image/png', 'content-length': hero.length }).end(hero);
      }
      const [, top, ...rest] = url.pathname.split('/');
      const base = top === 'out' ? outDir : top === 'pages' ? pagesDir : null;
      const file = base && inside(base, decodeURIComponent(rest.join('/')));
      if (!file) return res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      let body;
      try {
        body = await readFile(file);
      } catch {
        return res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
      const ext = extname(file);
      if (top === 'pages' && ext === '.html') body = Buffer.from(render(rest.join('/'), url, body.toString('utf8')));
      res.writeHead(200, { 'content-type': TYPES[ext] || 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
    }
  });
  const url = await listen(server);
  return { url, stop: () => close(server) };
}

/**
 * The telemetry collector: answers 200 `{}` to everything (after CORS), and records each request
 * with the `tag` current when it arrived: path, method, body bytes as received (before any
 * decoding), content-encoding and content-type.
 */
export async function startCollector() {
  const state = { tag: null, records: [], pending: 0, lastActivity: Date.now() };
  const server = createServer((req, res) => {
    const tag = state.tag;
    state.pending++;
    state.lastActivity = Date.now();
    let bytes = 0;
    let open = true;
    const settle = () => {
      if (open) {
        open = false;
        state.pending--;
        state.lastActivity = Date.now();
      }
    };
    // The body's first bytes tell a gzip body sent without Content-Encoding (sendBeacon cannot
    // set it; ours names it in the URL instead).
    let head = Buffer.alloc(0);
    req.on('data', (chunk) => {
      if (head.length < 2) head = Buffer.concat([head, chunk.subarray(0, 2)]);
      bytes += chunk.length;
    });
    req.on('end', () => {
      const url = new URL(req.url, 'http://collector');
      state.records.push({
        tag,
        at: Date.now(),
        method: req.method,
        path: url.pathname,
        query: url.search,
        bytes,
        encoding: req.headers['content-encoding'] || (head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : null),
        type: req.headers['content-type'] || null,
      });
      cors(req, res);
      if (req.method === 'OPTIONS') res.writeHead(204).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      settle();
    });
    req.on('error', settle);
    req.on('close', settle);
  });
  const url = await listen(server);
  return {
    url,
    state,
    setTag(tag) {
      state.tag = tag;
    },
    recordsFor(tag) {
      return state.records.filter((r) => r.tag === tag);
    },
    /** Waits until no request has started or ended for `quietMs` (and none is open), at most `maxMs`. */
    async quiet(quietMs, maxMs) {
      const start = Date.now();
      for (;;) {
        const now = Date.now();
        if (state.pending === 0 && now - state.lastActivity >= quietMs && now - start >= quietMs) return now - start;
        if (now - start >= maxMs) return now - start;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: () => close(server),
  };
}

/**
 * The API the page calls: CORS including the trace headers, a small JSON answer (never cached).
 * Requests to `/early` and `/hidden` are recorded (with their `run` query parameter and whether
 * they carried a trace header); everything else is only counted, under the `tag` current when
 * it arrived.
 */
export async function startApi() {
  const state = { tag: null, records: [], counts: new Map(), preflights: 0 };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url, 'http://api');
      cors(req, res, API_ALLOWED_HEADERS);
      if (req.method === 'OPTIONS') {
        state.preflights++;
        return res.writeHead(204).end();
      }
      const present = TRACE_HEADERS.filter((h) => req.headers[h] !== undefined);
      if (url.pathname === '/early' || url.pathname === '/hidden') {
        state.records.push({ path: url.pathname, run: url.searchParams.get('run'), n: url.searchParams.get('n'), method: req.method, traced: present.length > 0, headers: present });
      } else {
        const c = state.counts.get(state.tag) || { requests: 0, traced: 0 };
        c.requests++;
        if (present.length) c.traced++;
        state.counts.set(state.tag, c);
      }
      const body = JSON.stringify({ ok: true, items: [{ id: 1, name: 'socks', price: 4.5 }, { id: 2, name: 'hat', price: 12 }] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' }).end(body);
    });
  });
  const url = await listen(server);
  return {
    url,
    state,
    setTag(tag) {
      state.tag = tag;
    },
    recordsFor(run) {
      return state.records.filter((r) => r.run === run);
    },
    countsFor(tag) {
      return state.counts.get(tag) || { requests: 0, traced: 0 };
    },
    stop: () => close(server),
  };
}
