// The npm package as `npm pack` makes it: what a user installs must hold the ESM entry, its
// types, the .wasm beside it, the script-tag build, a README and the licence; and every name
// the entry exports must be typed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './harness.mjs';

const js = root + 'js/';

test('npm pack ships the entry, its types, the wasm, the script build, README and LICENSE', () => {
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: js, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  const files = pack.files.map((f) => f.path).sort();
  for (const f of ['LICENSE', 'README.md', 'dist/index.d.ts', 'dist/index.js', 'dist/rum.js', 'dist/rum_sdk_bg.wasm', 'dist/rum_sdk_wasm.js', 'package.json']) {
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

test('CommonJS require() of the packed package gets the same API as import', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rum-cjs-'));
  try {
    execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: js, stdio: 'ignore' });
    const pkg = join(dir, 'node_modules', '@rum', 'sdk');
    mkdirSync(pkg, { recursive: true });
    execFileSync('tar', ['-xzf', join(dir, 'rum-sdk-0.1.0.tgz'), '-C', pkg, '--strip-components=1']);
    const names = (type) =>
      execFileSync(process.execPath, ['--input-type=' + type, '-e', type == 'module' ? "import * as r from '@rum/sdk'; console.log(Object.keys(r).sort().join())" : "console.log(Object.keys(require('@rum/sdk')).sort().join())"], { cwd: dir, encoding: 'utf8' }).trim();
    // Node 20.19+ and 22.12+ load an ES module with require(); older ones throw
    // ERR_REQUIRE_ESM, whose message says to use import() (README: CommonJS).
    assert.equal(names('commonjs'), 'error,event,init,setAttributes,setUser,setView');
    assert.equal(names('commonjs'), names('module'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
