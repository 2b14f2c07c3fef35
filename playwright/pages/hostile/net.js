// The page's network calls beside another SDK (OpenTelemetry, Sentry) or Zone.js: fetch with
// a URL, a POST with headers and a body, a Request object with a body, a cross-origin call, a
// refused connection; XHR GET, POST and synchronous. Calls run one after another, so their
// order and everything the page sees is deterministic.
window.netSteps = () => {
  const { P, base, outcome, xhr } = H;
  const req = () => new Request(base + 'request', { method: 'PUT', headers: { 'x-req': 'r1' }, body: 'request body' });
  return [
    ['get', () => outcome(fetch(base + 'get?q=1'))],
    ['post', () => outcome(fetch(base + 'post', { method: 'POST', headers: { 'content-type': 'application/json', 'x-app': 'a1' }, body: '{"a":1}' }))],
    ['request', () => { const r = req(); return outcome(fetch(r)).then((o) => [o, r.bodyUsed]); }],
    ['cross', () => outcome(fetch(P.other + '/echo/' + P.run + '/cross'))],
    ['refused', () => outcome(fetch(P.refused))],
    ['xhr', () => xhr('GET', base + 'xhr')],
    ['xhr-post', () => xhr('POST', base + 'xhr-post', { body: 'payload', headers: { 'content-type': 'text/plain', 'x-app': 'a2' } })],
    ['xhr-sync', () => xhr('GET', base + 'xhr-sync', { sync: true })],
  ];
};
window.scenario = async () => {
  const log = [];
  for (const [label, step] of netSteps()) log.push([label, await step()]);
  return log;
};
