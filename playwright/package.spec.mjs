// The npm package as `npm pack` makes it: what a user installs must hold the ESM entry, its
// types, the .wasm beside it, the script-tag build, a README and the licence; and every name
// the entry exports must be typed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { root } from './harness.mjs';

const js = root + 'js/';

test('npm pack ships the entry, its types, the wasm, the script build, README and LICENSE', () => {
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: js, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  const files = pack.files.map((f) => f.path).sort();
  for (const f of ['LICENSE', 'README.md', 'dist/index.d.ts', 'dist/index.js', 'dist/rum.js', 'dist/rum_sdk_bg.wasm', 'package.json']) {
    assert.ok(files.includes(f), `${f} in ${files}`);
  }
  assert.ok(!files.some((f) => f.startsWith('src/') || f.includes('node_modules')), 'no sources or dependencies');
  const pkg = JSON.parse(readFileSync(js + 'package.json', 'utf8'));
  assert.equal(pkg.license, 'Apache-2.0');
  assert.equal(pkg.exports['.'].types, './dist/index.d.ts');
  assert.match(readFileSync(js + 'LICENSE', 'utf8'), /Apache License\s+Version 2\.0/);
});

test('every name the ESM entry exports is declared in its types', () => {
  const entry = readFileSync(js + 'dist/index.js', 'utf8');
  const m = /export\s*\{([^}]*)\}\s*;?\s*$/.exec(entry.trim());
  assert.ok(m, 'the entry ends with its export list');
  const names = m[1].split(',').map((s) => s.trim().split(/\s+as\s+/).pop());
  assert.deepEqual([...names].sort(), ['error', 'event', 'init', 'setAttributes', 'setUser', 'setView']);
  const types = readFileSync(js + 'dist/index.d.ts', 'utf8');
  for (const name of names) assert.match(types, new RegExp(`export function ${name}\\(`), `${name} is typed`);
});
