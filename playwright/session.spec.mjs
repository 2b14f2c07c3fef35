// The head-sampling rule's JS mirror (js/src/session.js) against the vectors the Rust rule
// (rum-sdk/src/session.rs) is tested with, so the two cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isSampled } from '../js/src/session.js';
import { root } from './harness.mjs';

test('the JS sampling rule gives the Rust rule’s decisions', () => {
  const { cases } = JSON.parse(readFileSync(root + 'rum-sdk/tests/fixtures/sampling.json', 'utf8'));
  assert.ok(cases.length >= 10);
  for (const c of cases) assert.equal(isSampled(c.id, c.rate), c.sampled, `${c.id} at ${c.rate}`);
});
