// fetch at its edges: a ReadableStream body (with and without `duplex`), AbortSignals aborted
// before, during the wait for headers and while the body is read (with the default reason, an
// Error and a string), a Request object with a body (used twice), keepalive (within and over
// its 64 KiB quota), bodies the browser types itself (FormData, URLSearchParams, Blob),
// headers as pairs, a URL object, bad calls (no argument, a bad header, another `this`).
window.scenario = async () => {
  const { base, outcome, thrown, wait } = H;
  const log = [];
  const stream = () =>
    new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('streamed'));
        c.close();
      },
    });
  log.push(['stream', await outcome(fetch(base + 'stream', { method: 'POST', body: stream(), duplex: 'half' }))]);
  log.push(['stream-no-duplex', await outcome(fetch(base + 'stream-nd', { method: 'POST', body: stream() }))]);
  log.push(['stream-request', await outcome((async () => fetch(new Request(base + 'stream-req', { method: 'POST', body: stream(), duplex: 'half' })))())]);

  // Aborted before the call, while waiting for the (delayed) response, and during the body.
  const abortWith = async (label, when, reason) => {
    const ac = new AbortController();
    if (when == 'before') ac.abort(reason);
    const p = fetch(base + label + '?delay=' + (when == 'wait' ? 1500 : 0), { signal: ac.signal });
    if (when == 'wait') setTimeout(() => ac.abort(reason), 50);
    let o;
    try {
      const r = await p;
      if (when == 'body') {
        const reading = r.text();
        ac.abort(reason);
        await reading;
        o = { read: 'completed' };
      } else o = { status: r.status };
    } catch (e) {
      o = { ...thrown(e), isReason: e === ac.signal.reason };
    }
    return [label, o];
  };
  for (const when of ['before', 'wait', 'body']) {
    log.push(await abortWith('abort-' + when, when));
    log.push(await abortWith('abort-' + when + '-error', when, new RangeError('page reason')));
    log.push(await abortWith('abort-' + when + '-string', when, 'string reason'));
  }
  log.push(['timeout-signal', await outcome(fetch(base + 'timeout-signal?delay=1500', { signal: AbortSignal.timeout(50) }))]);

  const req = new Request(base + 'request-body', { method: 'POST', headers: { 'content-type': 'text/plain', 'x-req': 'r1' }, body: 'the body' });
  log.push(['request-body', await outcome(fetch(req)), req.bodyUsed]);
  log.push(['request-reused', await outcome(fetch(req))]);
  const req2 = new Request(base + 'request-init', { method: 'POST', body: 'abc' });
  log.push(['request-with-init', await outcome(fetch(req2, { method: 'PUT', headers: { 'x-init': 'i1' } })), req2.bodyUsed]);

  log.push(['keepalive', await outcome(fetch(base + 'keepalive', { method: 'POST', keepalive: true, body: 'k'.repeat(1000) }))]);
  log.push(['keepalive-over-quota', await outcome(fetch(base + 'keepalive-big', { method: 'POST', keepalive: true, body: 'k'.repeat(70 * 1024) }))]);
  log.push(['keepalive-get', await outcome(fetch(base + 'keepalive-get', { keepalive: true }))]);

  const form = new FormData();
  form.append('a', '1');
  log.push(['formdata', await outcome(fetch(base + 'formdata', { method: 'POST', body: form }))]);
  log.push(['urlsearchparams', await outcome(fetch(base + 'usp', { method: 'POST', body: new URLSearchParams('a=1&b=2') }))]);
  log.push(['blob', await outcome(fetch(base + 'blob', { method: 'POST', body: new Blob(['x'], { type: 'application/x-thing' }) }))]);
  log.push(['pairs', await outcome(fetch(base + 'pairs', { headers: [['x-pair', 'p1']] }))]);
  log.push(['headers-object', await outcome(fetch(base + 'headers-object', { headers: new Headers({ 'x-h': 'h1' }) }))]);
  log.push(['url-object', await outcome(fetch(new URL(base + 'url-object', location.href)))]);
  log.push(['no-argument', await outcome(fetch())]);
  log.push(['bad-header', await outcome(fetch(base + 'bad-header', { headers: { 'x-bad': 'a\nb' } }))]);
  log.push(['get-with-body', await outcome(fetch(base + 'get-with-body', { body: 'x' }))]);
  let r;
  try {
    r = await outcome(fetch.call({}, base + 'other-this'));
  } catch (e) {
    r = { sync: thrown(e) };
  }
  log.push(['other-this', r]);
  await wait(0);
  return log;
};
