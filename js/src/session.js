// The browser session: an id kept in sessionStorage for as long as the tab's session lasts,
// with the head-sampling decision made once when it starts, so every page view of a session
// is kept or dropped together. Read synchronously at init because the fetch wrapper needs the
// decision (the traceparent's sampled flag) before the wasm has loaded.

import { randomHex } from './ids.js';

const KEY = 'rum.session';

export function currentSession(sampleRate) {
  let stored;
  try {
    stored = sessionStorage.getItem(KEY);
  } catch {
    // Storage blocked (privacy settings, sandboxed iframe): a session per page load.
  }
  const m = /^([0-9a-f]{32})\.([01])$/.exec(stored || '');
  if (m) return { id: m[1], sampled: m[2] === '1' };
  const session = { id: randomHex(16), sampled: Math.random() < sampleRate };
  try {
    sessionStorage.setItem(KEY, session.id + '.' + (session.sampled ? '1' : '0'));
  } catch {}
  return session;
}
