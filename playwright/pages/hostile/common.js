// Helpers the hostile pages' scripts share. Each records what the page itself observes
// (statuses, bodies, event orders, errors) as plain JSON, so hostile.spec.mjs can compare a
// run without our SDK with a run with it. PARAMS (set by the spec): run, the run's id, which
// prefixes every path it calls (/echo/{run}/…); other, another origin; refused, a URL on a
// closed port.
window.H = (() => {
  const P = window.PARAMS;
  const base = '/echo/' + P.run + '/';
  // What a settled fetch gave the page.
  const outcome = async (promise) => {
    try {
      const r = await promise;
      const text = await r.text();
      return { status: r.status, ok: r.ok, type: r.type, redirected: r.redirected, url: r.url, ct: r.headers.get('content-type'), text };
    } catch (e) {
      return thrown(e);
    }
  };
  const thrown = (e) =>
    e instanceof Object
      ? { threw: e.constructor && e.constructor.name, name: e.name, message: String(e.message) }
      : { threw: typeof e, value: String(e) };
  // An XHR call; `setup(x)` runs between open and send. Resolves at loadend with what the page
  // saw: status, body as its responseType gives it, and every event in order.
  const xhr = (method, url, { body, headers = {}, sync = false, responseType, setup } = {}) =>
    new Promise((resolve) => {
      const x = new XMLHttpRequest();
      const events = [];
      for (const t of ['loadstart', 'progress', 'load', 'error', 'abort', 'timeout', 'loadend']) x.addEventListener(t, (e) => events.push(t + (e.lengthComputable ? ':' + e.loaded : '')));
      x.onreadystatechange = () => events.push('rs' + x.readyState);
      let result;
      x.onloadend = async () => {
        const r = x.response;
        let text;
        try {
          text = x.responseText;
        } catch (e) {
          text = thrown(e);
        }
        result = {
          status: x.status,
          statusText: x.statusText,
          responseType: x.responseType,
          response: r instanceof Blob ? { blob: r.type, size: r.size, text: await r.text() } : r instanceof ArrayBuffer ? { bytes: r.byteLength } : r,
          text,
          ct: x.getResponseHeader('content-type'),
          events,
        };
        resolve(result);
      };
      try {
        if (responseType) x.responseType = responseType;
        x.open(method, url, !sync);
        for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
        if (setup) setup(x);
        x.send(body);
        if (sync) events.push('send returned');
      } catch (e) {
        resolve({ threw: thrown(e), events });
      }
    });
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  return { P, base, outcome, thrown, xhr, wait };
})();
