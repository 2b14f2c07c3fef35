// Joins the benchmark parts in bench/results/ (size, browser, gateway; each a .md section and
// a .json of raw figures, written by bench/run) into docs/benchmarks.md, under a header naming
// the date, the machine and the versions measured. Parts not run are listed as missing.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const results = root + 'bench/results/';
const PARTS = [
  ['size', 'SDK size'],
  ['browser', 'SDK main-thread cost'],
  ['gateway', 'Gateway'],
];

const run = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
};
const json = (part) => (existsSync(results + part + '.json') ? JSON.parse(readFileSync(results + part + '.json', 'utf8')) : undefined);

const cpu = os.cpus();
const machine = [
  `${cpu.length} cores, ${cpu[0]?.model?.trim() || 'unknown CPU'}`,
  `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM`,
  `${os.type()} ${os.release()} ${os.arch()}`,
];
const versions = [
  `node ${process.version}`,
  run('rustc', ['--version']),
  run('/usr/bin/chromium', ['--version']),
  `@rum/sdk ${JSON.parse(readFileSync(root + 'js/package.json', 'utf8')).version} (commit ${run('git', ['-C', root, 'rev-parse', '--short', 'HEAD'])})`,
];

const out = [];
out.push('# Benchmarks');
out.push('');
out.push('Written by `bench/run` (see the README); do not edit by hand. Every figure below was measured in');
out.push('one run on one machine, ours and the baselines side by side; ratios are ours ÷ theirs, so below');
out.push('1 means we are smaller or cheaper. Benchmarks report: nothing here fails a build.');
out.push('');
out.push(`* Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`);
out.push(`* Machine: ${machine.join('; ')}`);
out.push(`* Versions: ${versions.join('; ')}`);
const size = json('size');
if (size?.peers || size?.sdks) {
  const list = Object.entries(size.peers || size.sdks)
    .filter(([, p]) => p && p.version)
    .map(([id, p]) => `${p.package || id} ${p.version}`);
  if (list.length) out.push(`* Peers: ${list.join(', ')}`);
}
out.push('');

// Targets at a glance: each part's own list of targets (issue 6), met or not, with figures.
const fmt = (x) => (typeof x === 'number' ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1)) : String(x));
const glance = [];
for (const t of json('size')?.targets || []) {
  glance.push([t.target, t.met, `ours ${t.ours} B, limit ${t.limit} B`]);
}
for (const t of json('browser')?.targets || []) {
  const unit = t.unit ? ' ' + t.unit : '';
  const figures =
    t.ours?.median !== undefined
      ? `ours ${fmt(t.ours.median)}${unit}; best peer ${t.bestPeer} ${fmt(t.best?.median)}${unit}`
      : t.of !== undefined
        ? `${t.ours} of ${t.of} requests made before the SDK was ready carried a trace header`
        : '';
  const tracing = t.amongTracingPeers;
  const tracingNote = tracing && tracing.met !== t.met ? `; among tracing peers: ${tracing.met ? 'met' : 'not met'} (best ${tracing.bestPeer} ${fmt(tracing.best?.median)}${unit})` : '';
  glance.push([t.name, t.met, figures + tracingNote]);
}
// The gateway's targets, from rum-loadgen's raw figures.
const gateway = json('gateway');
for (const run of gateway?.peak || []) {
  const g = run.gateway;
  const share = g.events_per_s / run.floor.events_per_s;
  glance.push([`gateway ≥ ½ of the HTTP floor's events/s (${g.payload}, enrichment and durable store on)`, share >= 0.5, `${fmt(g.events_per_s)} vs ${fmt(run.floor.events_per_s)} events/s = ${(share * 100).toFixed(1)} %`]);
}
for (const run of gateway?.peak || []) {
  const h = run.half_load;
  if (!h) continue;
  glance.push([`gateway p99 acknowledgement < 10 ms at half of peak (${h.payload})`, h.latency.p99_ms < 10, `p99 ${fmt(h.latency.p99_ms)} ms at ${fmt(h.req_per_s)} req/s`]);
}
if (gateway?.peak?.length) {
  const runs = gateway.peak.flatMap((r) => [r.gateway, r.half_load]).filter(Boolean);
  const rss = Math.max(...runs.map((r) => r.usage.peak_rss_mb));
  glance.push(['gateway RSS < 100 MB (enrichment on)', rss < 100, `peak ${fmt(rss)} MB over the throughput and latency runs`]);
}
if (glance.length) {
  out.push('## Targets at a glance');
  out.push('');
  out.push('Tracked, not enforced. Details and every figure are in the sections below.');
  out.push('');
  out.push('| target | status | figures |');
  out.push('| --- | --- | --- |');
  for (const [name, met, figures] of glance) out.push(`| ${name} | ${met ? 'met' : '**not met**'} | ${figures} |`);
  out.push('');
}

const missing = [];
for (const [part, title] of PARTS) {
  const file = results + part + '.md';
  if (!existsSync(file)) {
    missing.push(title);
    continue;
  }
  out.push(readFileSync(file, 'utf8').trim());
  out.push('');
}
// The soak (bench/soak) runs on its own, not from bench/run: its section when it was run.
if (existsSync(results + 'soak.md')) {
  out.push(readFileSync(results + 'soak.md', 'utf8').trim());
  out.push('');
}
if (missing.length) {
  out.push('## Not measured in this run');
  out.push('');
  for (const title of missing) out.push(`* ${title} (run \`bench/run\` with no arguments for every part)`);
  out.push('');
}

writeFileSync(root + 'docs/benchmarks.md', out.join('\n'));
console.log(`docs/benchmarks.md: ${PARTS.length - missing.length} of ${PARTS.length} parts`);
