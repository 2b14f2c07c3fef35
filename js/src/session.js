// The browser session, shared by the tabs of one origin through localStorage (per tab, in
// sessionStorage or memory, where storage is blocked). It ends after `idle` ms without user
// activity or `max` ms in all; the next activity starts a new one, with a new id and a new
// sampling decision. Read synchronously at init, since the fetch wrapper needs the decision
// (the traceparent's sampled flag) before the wasm has loaded.
//
// Stored as `{id}.{sampled}.{start}.{last activity}.{items}`, times in base 36 unix ms;
// `items` counts the actions, events and route changes the session recorded, for its cap
// (each tab adds its count at its next activity).
//
// The sampling rule is rum-sdk/src/session.rs's, mirrored here: sampled when the id's first
// 32 bits are below rate · 2³². Both are tested against rum-sdk/tests/fixtures/sampling.json.

import { randomHex } from './ids.js';

const KEY = 'rum.session';
// Actions, events and route changes one session records; more are counted, not sent.
export const SESSION_ITEMS = 5000;

export const isSampled = (id, rate) => parseInt(id.slice(0, 8), 16) < rate * 2 ** 32;

// localStorage, else sessionStorage, else a tab's memory.
function storage() {
  for (const s of ['localStorage', 'sessionStorage']) {
    try {
      const store = globalThis[s];
      store.setItem(KEY + '?', 1);
      return store;
    } catch {}
  }
  const m = {};
  return { getItem: (k) => m[k], setItem: (k, v) => (m[k] = v) };
}

/** The session as of `now()`; `touch()` on user activity. */
export function createSession(rate, idle, max, now = Date.now, store = storage()) {
  // Where the store cannot be read, the session is this tab's own.
  const read = () => {
    let v;
    try {
      v = store.getItem(KEY);
    } catch {
      return s;
    }
    const m = /^([0-9a-f]{32})\.([01])\.(\w+)\.(\w+)\.(\w+)$/.exec(v || '');
    return m && { id: m[1], sampled: m[2] == '1', start: parseInt(m[3], 36), last: parseInt(m[4], 36), items: parseInt(m[5], 36) };
  };
  const save = () => {
    try {
      store.setItem(KEY, [s.id, +s.sampled, s.start.toString(36), s.last.toString(36), s.items.toString(36)].join('.'));
    } catch {}
  };
  const live = (x, t) => x && t - x.last < idle && t - x.start < max;
  const fresh = (t) => {
    const id = randomHex(16);
    return { id, sampled: isSampled(id, rate), start: t, last: t, items: 0 };
  };
  let s;
  // Items taken since the last save.
  let pending = 0;
  const session = {
    /**
     * Activity now: the stored session (another tab's, maybe) if it lives, else a new one.
     * Returns the session this tab had if it changed: `ended` when it expired (this tab
     * records its end and the new one's start), else another tab renewed it.
     */
    touch(activity = true) {
      const t = now();
      const stored = read();
      const had = s;
      let ended;
      if (live(stored, t)) s = stored;
      else {
        ended = stored || had;
        s = fresh(t);
        // This tab started it: it records `session.start`.
        s.previous = ended ? ended.id : '';
      }
      if (activity) s.last = t;
      // Items pending for a session that ended count for none.
      s.items += had && had.id != s.id ? 0 : pending;
      pending = 0;
      save();
      session.current = s;
      if (had && had.id != s.id) return { had, ended: !!ended };
    },
    /**
     * Counts one more item; false when the session's cap is reached. Counted in memory and
     * added to the stored count at the next touch: a write per click would cost more than
     * the rest of the click's handling.
     */
    take() {
      return s.items + ++pending <= SESSION_ITEMS;
    },
  };
  session.touch(false);
  return session;
}
