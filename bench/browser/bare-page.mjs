// A page driven over a bare CDP session: only the Page, Runtime, Performance, HeapProfiler and
// Input domains, none of the per-request Network instrumentation that Playwright turns on for
// its own pages (which adds measurable main-thread work to every fetch). Playwright launches the
// browser and lends its browser-level CDP session; each BarePage lives in a browser context of
// its own that Playwright does not track, and talks to its target through
// Target.sendMessageToTarget.

const DEFAULT_TIMEOUT = 30000;

/** Routes target messages arriving on one browser session to the pages attached through it. */
class Router {
  constructor(browserSession) {
    this.session = browserSession;
    this.pages = new Map();
    browserSession.on('Target.receivedMessageFromTarget', (e) => this.pages.get(e.sessionId)?.receive(JSON.parse(e.message)));
    browserSession.on('Target.detachedFromTarget', (e) => this.pages.get(e.sessionId)?.detached());
  }
}
const routers = new WeakMap();

export class BarePage {
  /** Opens a page (about:blank) in a fresh browser context. */
  static async open(browserSession, { width = 1280, height = 800 } = {}) {
    let router = routers.get(browserSession);
    if (!router) routers.set(browserSession, (router = new Router(browserSession)));
    const { browserContextId } = await browserSession.send('Target.createBrowserContext', { disposeOnDetach: true });
    const { targetId } = await browserSession.send('Target.createTarget', { url: 'about:blank', browserContextId, width, height });
    const { sessionId } = await browserSession.send('Target.attachToTarget', { targetId, flatten: false });
    const page = new BarePage(router, browserContextId, targetId, sessionId);
    router.pages.set(sessionId, page);
    await Promise.all([page.send('Page.enable'), page.send('Runtime.enable'), page.send('Performance.enable')]);
    return page;
  }

  constructor(router, browserContextId, targetId, sessionId) {
    this.router = router;
    this.browserContextId = browserContextId;
    this.targetId = targetId;
    this.sessionId = sessionId;
    this.nextId = 1;
    this.pending = new Map();
    this.waiters = new Set();
    this.errors = [];
    this.closed = false;
  }

  send(method, params = {}) {
    if (this.closed) return Promise.reject(new Error(`${method}: page closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.router.session
        .send('Target.sendMessageToTarget', { sessionId: this.sessionId, message: JSON.stringify({ id, method, params }) })
        .catch((e) => {
          this.pending.delete(id);
          reject(e);
        });
    });
  }

  receive(msg) {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
      else p.resolve(msg.result);
      return;
    }
    if (msg.method === 'Runtime.exceptionThrown') {
      const d = msg.params.exceptionDetails;
      this.errors.push('pageerror: ' + (d.exception?.description || d.text));
    } else if (msg.method === 'Runtime.consoleAPICalled' && msg.params.type === 'error') {
      this.errors.push('console: ' + msg.params.args.map((a) => a.value ?? a.description ?? '').join(' '));
    }
    for (const w of [...this.waiters]) {
      if (w.method === msg.method && w.predicate(msg.params)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(msg.params);
      }
    }
  }

  detached() {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error(`${p.method}: target detached`));
    this.pending.clear();
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(`waiting for ${w.method}: target detached`));
    }
    this.waiters.clear();
  }

  /** Resolves with the params of the next `method` event that satisfies `predicate`. */
  waitFor(method, predicate = () => true, timeout = DEFAULT_TIMEOUT) {
    return new Promise((resolve, reject) => {
      const w = { method, predicate, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out after ${timeout} ms waiting for ${method}`));
      }, timeout);
      this.waiters.add(w);
    });
  }

  /** Navigates and waits for the load event. */
  async goto(url, timeout = DEFAULT_TIMEOUT) {
    const loaded = this.waitFor('Page.loadEventFired', () => true, timeout);
    const res = await this.send('Page.navigate', { url });
    if (res.errorText) {
      loaded.catch(() => {});
      throw new Error(`navigating to ${url}: ${res.errorText}`);
    }
    await loaded;
  }

  /** Runs `fn(arg)` in the page's main world and returns its (awaited) JSON value. */
  async evaluate(fn, arg) {
    const expression = `(${fn.toString()})(${arg === undefined ? '' : JSON.stringify(arg)})`;
    const res = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true, userGesture: false });
    if (res.exceptionDetails) throw new Error('evaluate: ' + (res.exceptionDetails.exception?.description || res.exceptionDetails.text));
    return res.result.value;
  }

  /** CDP Performance.getMetrics as { name: value }. */
  async metrics() {
    const { metrics } = await this.send('Performance.getMetrics');
    return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
  }

  /** Moves the mouse to (x, y). */
  async move(x, y) {
    await this.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y, button: 'none' });
  }

  /**
   * A real left click at (x, y): press and release, as a mouse already resting there causes.
   * (A move is left out on purpose: Chromium aligns mouse moves to animation frames, which
   * would add a frame's wait to each click.)
   */
  async click(x, y) {
    await this.send('Input.dispatchMouseEvent', { type: 'mousePressed', x, y, button: 'left', buttons: 1, clickCount: 1 });
    await this.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x, y, button: 'left', buttons: 0, clickCount: 1 });
  }

  /** Closes the page and its browser context. */
  async close() {
    this.router.pages.delete(this.sessionId);
    this.detached();
    await this.router.session.send('Target.disposeBrowserContext', { browserContextId: this.browserContextId }).catch(() => {});
  }
}
