// The attributes the SDK sends for rum.event, rum.error and rum.setAttributes
// (js/src/journey.js json()), on the host: only what the gateway accepts, so that one odd
// attribute never costs a beacon (found by the sdk_roundtrip fuzz target, docs/fuzzing.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { json } from '../js/src/journey.js';

test('values of other types, empty names and lone surrogates are left out or replaced', () => {
  const out = JSON.parse(json({ '': 1, a: 'x', b: NaN, c: {}, d: true, e: 2.5, f: 'lone \ud800' }));
  assert.deepEqual(out, { a: 'x', d: true, e: 2.5, f: 'lone \ufffd' });
});

test('at most 64 attributes (the gateway refuses more than 128 with the beacon)', () => {
  const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => ['k' + i, i]));
  const out = JSON.parse(json(many));
  assert.equal(Object.keys(out).length, 64);
  assert.equal(out.k0, 0);
  assert.equal(out.k63, 63);
});
