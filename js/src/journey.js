// Feeds the user's journey (rum-sdk/src/journey) from the browser: clicks and key presses
// on controls as actions, SPA route changes (history.pushState/replaceState to a new URL,
// popstate, hashchange) as new views, and what tells the wasm when they are over: DOM
// mutations (observed only while something is open), requests, errors. The page's own
// handlers see the same events and history calls return what they returned.

import { randomHex } from './ids.js';
import { selector } from './attribution.js';

// The element a click is on: the nearest control or named element.
const TARGET = 'a,button,input,select,textarea,summary,label,[role],[data-rum-name],[onclick]';
// Controls that should visibly respond to a click (dead-click candidates).
const LIVELY = 'a[href],button,summary,[role=button],[role=link],[type=submit],[type=button]';
// Keyboard activation of these fires a click of its own.
const NATIVE = 'a,button,input,select,textarea,summary';

/** `ctx` holds the open action or route change the fetch wrapper parents calls to. */
export function startJourney(wasm, io, { due, drain, session, ctx, vitals }) {
  const now = () => performance.now();
  let last;
  let timer;
  const mutations = new MutationObserver(() => wasm.mark(0, now(), 0));
  const tick = () => {
    const r = wasm.tick(now());
    if (r & 1) drain();
    timer = r & 2 && setTimeout(tick, 100);
    if (!timer) mutations.disconnect();
  };
  const open = () => {
    if (timer) return;
    mutations.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
    timer = setTimeout(tick, 100);
  };

  // User activity keeps the session alive; after it expired, the activity starts a new one.
  let touched = 0;
  const activity = () => {
    const t = now();
    if (t - touched < 1000) return;
    touched = t;
    const change = session.touch();
    if (!change) return;
    if (change.ended) event('session.end');
    // The view ends in the old session; a new one begins in the new.
    newView(-1, () => {
      const s = session.current;
      io.call(wasm.session, [+s.sampled], [s.id]);
    });
    started();
  };
  const started = () => session.current.previous != null && event('session.start', session.current.previous ? { 'session.previous_id': session.current.previous } : {});
  for (const type of ['click', 'keydown', 'scroll']) addEventListener(type, activity, { capture: true, passive: true });

  const onAction = (e, key) => {
    // Clicks on the element of the last one reuse its description (rage clicks are cheap).
    const prev = last;
    const d = describe(e.target, key, prev);
    if (!d) return;
    last = d;
    const [, name, sel, lively] = d;
    const ids = randomHex(24);
    const traceId = ids.slice(0, 32);
    const spanId = ids.slice(32);
    const r = io.call(
      wasm.act,
      [e.timeStamp, key || (e.detail ? 0 : 1), lively, +(d == prev), +session.take()],
      [traceId, spanId, name, sel],
    );
    // Calls the handlers start, and those within 100 ms after them, are the action's.
    if (!(r & 2)) ctx.current = { traceId, spanId };
    const c = ctx.current;
    c.until = Infinity;
    setTimeout(() => (c.until = now() + 100));
    if (r & 1) drain();
    open();
  };
  addEventListener('click', (e) => e.isTrusted && onAction(e, 0), true);
  addEventListener('keydown', (e) => e.isTrusted && (e.key == 'Enter' || e.key == ' ') && e.target.closest?.('[role]') && onAction(e, 1), true);

  let url = location.href;
  // A new view at `trigger` (a route change), or for a new session (-1, which `between`
  // starts once the old view's last beacons have left).
  const newView = (trigger, between) => {
    const t = now();
    vitals.newView();
    wasm.leave(t);
    drain();
    if (between) between();
    const p = ctx.current && t <= ctx.current.until ? ctx.current : undefined;
    const traceId = p ? p.traceId : randomHex(16);
    const spanId = randomHex(8);
    const viewId = randomHex(8);
    if (io.call(wasm.route, [t, trigger, +session.take(), +(document.visibilityState == 'visible')], [viewId, location.href, traceId, spanId, p && p.spanId])) {
      vitals.viewId = viewId;
      vitals.navigationType = 'route-change';
      if (trigger >= 0) ctx.current = { traceId, spanId, until: t + 100 };
      open();
    }
  };
  const onRoute = (trigger) => {
    if (location.href == url) return;
    url = location.href;
    newView(trigger);
  };
  // A frozen History.prototype (a hardened page) refuses the wrappers: route changes by
  // history calls go unseen there, the rest runs.
  ['pushState', 'replaceState'].forEach((name, trigger) => {
    const original = history[name];
    try {
      history[name] = Object.defineProperty(
        function () {
          const result = original.apply(this, arguments);
          try {
            onRoute(trigger);
          } catch {}
          return result;
        },
        'name',
        { value: name },
      );
    } catch {}
  });
  addEventListener('popstate', () => onRoute(2), true);
  addEventListener('hashchange', () => onRoute(3), true);

  const event = (name, attrs, t = now()) => due(io.call(wasm.custom, [t, +session.take()], [name, json(attrs)]));
  started();
  return {
    event,
    setView: (name) => io.call(wasm.named, [], [name]),
    setUser: (id, attrs) => {
      drain();
      io.call(wasm.user, [], [id, json(attrs)]);
    },
    mark: (what, t, started) => wasm.mark(what, t, started || 0),
  };
}

/**
 * What a click (or, `key`, Enter or Space) on `target` acts on: [element, action name,
 * selector, 1 if it is a control that should visibly respond]; undefined when it is no
 * action (a key press on a native control, whose activation fires a click of its own).
 * The name: the nearest `data-rum-name`, else the element's aria-label, text (whitespace
 * collapsed, first 100 characters), value, alt or title, else its selector. `last`: the
 * previous answer, returned again for the same element.
 */
export function describe(target, key, last) {
  const el = target.closest && (target.closest(TARGET) || target);
  if (!el || (key && el.closest(NATIVE))) return;
  if (last && last[0] == el) return last;
  const named = el.closest('[data-rum-name]');
  const text = (el.getAttribute('aria-label') || el.textContent || el.value || el.alt || el.title || '').trim().replace(/\s+/g, ' ');
  const sel = selector(el);
  return [el, (named && named.dataset.rumName) || text.slice(0, 100) || sel, sel, +el.matches(LIVELY)];
}

// Attributes as JSON: strings, finite numbers and booleans (others are left out), with lone
// surrogates, which JSON.stringify escapes, as U+FFFD (the gateway refuses them).
// Own keys only, into an object without a prototype: a polluted Object.prototype (its
// enumerable keys, a toJSON) adds nothing.
export function json(attrs) {
  const kept = Object.create(null);
  let n = 0;
  for (const k of Object.keys(Object(attrs))) {
    const v = attrs[k];
    // An empty name, or more than the gateway's 128 attributes, is refused by the gateway with
    // the beacon (and setAttributes' ride on every one): the first 64 named ones are kept.
    if (k && n < 64 && (typeof v == 'string' || typeof v == 'boolean' || (typeof v == 'number' && isFinite(v)))) (kept[k] = v), n++;
  }
  return JSON.stringify(kept).replace(/\\ud[89a-f]\w\w/g, '\\ufffd');
}
