// The browser session, read synchronously at init because the fetch wrapper needs the
// head-sampling decision (the traceparent's sampled flag) before the wasm has loaded. The id
// lives in sessionStorage for as long as the tab's session lasts, with the decision made
// once when it starts, so every page view of a session is kept or dropped together.
//
// The rule is rum-sdk/src/session.rs's, mirrored here: sampled when the id's first 32 bits
// are below rate · 2³². Both are tested against rum-sdk/tests/fixtures/sampling.json.

import { randomHex } from './ids.js';

const KEY = 'rum.session';

export const isSampled = (id, rate) => parseInt(id.slice(0, 8), 16) < rate * 2 ** 32;

export function currentSession(sampleRate) {
  let stored;
  try {
    stored = sessionStorage.getItem(KEY);
  } catch {
    // Storage blocked (privacy settings, sandboxed iframe): a session per page load.
  }
  const m = /^([0-9a-f]{32})\.([01])$/.exec(stored || '');
  if (m) return { id: m[1], sampled: m[2] === '1' };
  const id = randomHex(16);
  const session = { id, sampled: isSampled(id, sampleRate) };
  try {
    sessionStorage.setItem(KEY, id + '.' + (session.sampled ? '1' : '0'));
  } catch {}
  return session;
}
