// XMLHttpRequest at its edges: synchronous calls (GET, POST), responseType blob, arraybuffer
// and json (async), a responseType on a synchronous request (which the browser refuses),
// abort mid-flight, timeout, send twice, open with user and password, and handlers set as
// properties (onload) next to listeners.
window.scenario = async () => {
  const { base, xhr, thrown } = H;
  const log = [];
  log.push(['sync-get', await xhr('GET', base + 'sync-get', { sync: true })]);
  log.push(['sync-post', await xhr('POST', base + 'sync-post', { sync: true, body: 'sync body', headers: { 'content-type': 'text/plain' } })]);
  log.push(['blob', await xhr('GET', base + 'blob', { responseType: 'blob' })]);
  log.push(['arraybuffer', await xhr('GET', base + 'arraybuffer', { responseType: 'arraybuffer' })]);
  log.push(['json', await xhr('GET', base + 'json', { responseType: 'json' })]);
  log.push(['sync-blob', await xhr('GET', base + 'sync-blob', { sync: true, responseType: 'blob' })]);
  log.push(['abort', await xhr('GET', base + 'abort?delay=1500', { setup: (x) => setTimeout(() => x.abort(), 50) })]);
  log.push(['timeout', await xhr('GET', base + 'timeout?delay=1500', { setup: (x) => (x.timeout = 50) })]);
  log.push(['credentials', await xhr('GET', base + 'credentials', { setup: (x) => (x.withCredentials = true) })]);
  // send twice; open twice (the second open wins); open with user and password.
  const twice = new XMLHttpRequest();
  const twiceDone = new Promise((r) => (twice.onloadend = r));
  twice.open('GET', base + 'twice');
  twice.send();
  let second;
  try {
    twice.send();
  } catch (e) {
    second = thrown(e);
  }
  await twiceDone;
  log.push(['send-twice', second, twice.status]);
  const reopened = await new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open('POST', base + 'first-open');
    x.open('GET', base + 'second-open');
    x.onload = () => resolve({ status: x.status, text: x.responseText });
    x.send();
  });
  log.push(['reopened', reopened]);
  log.push(['user-password', await xhr('GET', base + 'user-pass', { setup: () => {} })]);
  const handlers = await new Promise((resolve) => {
    const x = new XMLHttpRequest();
    const seen = [];
    x.onload = () => seen.push('onload');
    x.addEventListener('load', () => seen.push('listener'));
    x.onloadend = () => resolve(seen);
    x.open('GET', base + 'handlers', true, 'user', 'password');
    x.send();
  });
  log.push(['handlers', handlers]);
  return log;
};
