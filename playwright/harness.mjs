// Test harness: starts the real gateway and demo site (built binaries), a loopback static
// server for test pages, and headless Chromium; every server on 127.0.0.1 with an OS-chosen
// port, every process stopped when the test ends.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { deflateSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'target', 'debug', name);

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

/** Spawns a binary and resolves with the URLs it prints (`label ... http://...`). */
function startProcess(path, args, labels, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const urls = {};
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path} did not print ${labels} within 20 s\nstdout:\n${out}\nstderr:\n${err}`));
    }, 20000);
    child.stdout.on('data', (d) => {
      out += d;
      for (const label of labels) {
        const m = new RegExp(label + '[^\\n]*?(http://[^\\s]+)').exec(out);
        if (m) urls[label] = m[1].replace(/\/$/, '');
      }
      if (labels.every((l) => urls[l])) {
        clearTimeout(timer);
        resolve({ child, urls, stderr: () => err });
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${path} exited with ${code}\nstdout:\n${out}\nstderr:\n${err}`));
    });
  });
}

async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The gateway in development mode on a fresh data directory. */
export async function startGateway() {
  const dataDir = mkdtempSync(join(tmpdir(), 'rum-gw-'));
  const { child, urls } = await startProcess(
    bin('rum-gateway'),
    ['--data-dir', dataDir, '--ingest-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'],
    ['ingest listening on', 'viewer listening on'],
  );
  return {
    ingest: urls['ingest listening on'],
    admin: urls['viewer listening on'],
    async api(path) {
      const res = await fetch(urls['viewer listening on'] + path);
      if (!res.ok) throw new Error(`${path}: ${res.status}`);
      return res.json();
    },
    async stop() {
      await stopProcess(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The demo shop, exporting its spans to `gateway`. */
export async function startDemo(gateway) {
  const { child, urls } = await startProcess(
    bin('demo-site'),
    ['--listen', '127.0.0.1:0', '--gateway', gateway.ingest, '--sdk-dir', join(root, 'js', 'dist')],
    ['demo page:'],
  );
  return { url: urls['demo page:'], stop: () => stopProcess(child) };
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/**
 * A loopback static server: `/sdk/*` from js/dist, `/src/*` from js/src, `/pages/*` from playwright/pages (with
 * `__GATEWAY__` replaced), and `/echo` which records each request's headers and answers with
 * permissive CORS (so a cross-origin page may call it).
 */
export async function startStatic(gateway) {
  const seen = [];
  const collected = [];
  // Pages a test made (`serve(path, html)`), served from this origin like the files.
  const made = new Map();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    // `?delay=MS` on any page or image: the server waits before answering (late TTFB, slow images).
    const delay = Number(url.searchParams.get('delay') || 0);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (url.pathname === '/favicon.ico') return res.writeHead(204).end();
    if (made.has(url.pathname)) return res.writeHead(200, { 'content-type': 'text/html' }).end(made.get(url.pathname));
    if (url.pathname === '/collect') {
      // Metric reports from test pages (sent with sendBeacon, so they survive unload).
      let body = '';
      for await (const chunk of req) body += chunk;
      try {
        collected.push(JSON.parse(body));
      } catch {}
      return res.writeHead(204).end();
    }
    if (url.pathname === '/img/noise.png') {
      // A high-entropy image: LCP ignores low-entropy (nearly blank) images.
      const w = Number(url.searchParams.get('w') || 400);
      const h = Number(url.searchParams.get('h') || 300);
      return res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store' }).end(noisePng(w, h));
    }
    if (url.pathname.startsWith('/echo')) {
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-allow-headers', '*');
      if (req.method === 'OPTIONS') return res.writeHead(204).end();
      seen.push({ path: url.pathname + url.search, method: req.method, headers: req.headers });
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ ok: true, path: url.pathname }));
    }
    const bases = {
      sdk: join(root, 'js', 'dist'),
      // The SDK's sources as modules, for tests of one function in a real DOM.
      src: join(root, 'js', 'src'),
      pages: join(root, 'playwright', 'pages'),
      wv: join(root, 'playwright', 'node_modules', 'web-vitals', 'dist'),
      apm: join(root, 'js', 'node_modules', '@elastic', 'apm-rum', 'dist', 'bundles'),
    };
    const top = url.pathname.split('/')[1];
    const base = bases[top] || null;
    const rel = normalize(url.pathname.slice(top.length + 2));
    const file = base && !rel.startsWith('..') ? join(base, rel) : null;
    if (!file || !existsSync(file)) return res.writeHead(404).end('not found');
    let body = readFileSync(file);
    if (extname(file) === '.html' || (top === 'pages' && extname(file) === '.js')) body = body.toString().replaceAll('__GATEWAY__', gateway ? gateway.ingest : '');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream' }).end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    collected,
    serve: (path, html) => made.set(path, html),
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

export async function launchBrowser({ bfcache = false } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    // Playwright turns the back/forward cache off unless told not to.
    ignoreDefaultArgs: bfcache ? ['--disable-back-forward-cache'] : [],
  });
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually(probe, timeoutMs = 15000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.stack : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Collects page errors and console errors, so a test can assert the SDK threw nothing. */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push('console: ' + m.text()));
  return errors;
}

/** Waits until the page has downloaded the SDK's wasm and given it a moment to start. */
export async function sdkLoaded(page) {
  await page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('.wasm') && e.responseEnd > 0));
  await page.waitForTimeout(300);
}

/** An RGB PNG of random pixels (uncompressible, so never "low entropy"). */
function noisePng(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let i = 0; i < raw.length; i++) raw[i] = i % (width * 3 + 1) === 0 ? 0 : Math.floor(Math.random() * 256);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** A loopback port with nothing listening (connections are refused). */
export async function closedPort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}
