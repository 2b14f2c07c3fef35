// The page's calls on a polluted page: fetch with no init (the browser reads no dictionary,
// so the polluted `method` and `headers` do not apply), with an init object (they do: PUT,
// x-polluted), a Request; XHR; JSON.stringify of arrays; for-in over an object.
window.scenario = async () => {
  const { base, outcome, xhr } = H;
  const log = [];
  const before = window.stringified;
  log.push(['no-init', await outcome(fetch(base + 'no-init'))]);
  log.push(['init', await outcome(fetch(base + 'init', {}))]);
  log.push(['request', await outcome(fetch(new Request(base + 'request')))]);
  log.push(['xhr', await xhr('GET', base + 'xhr')]);
  log.push(['stringify', JSON.stringify({ list: [1, 2, 3] })]);
  const keys = [];
  for (const k in { own: 1 }) keys.push(k);
  log.push(['for-in', keys]);
  log.push(['stringify calls during the calls', window.stringified - before]);
  return log;
};
