// A frozen page's calls: fetch, XHR, a route change, an error the page throws (reported, not
// raised by the SDK), and a click.
window.scenario = async () => {
  const { base, outcome, xhr, wait } = H;
  const log = [];
  log.push(['fetch', await outcome(fetch(base + 'fetch'))]);
  log.push(['xhr', await xhr('GET', base + 'xhr')]);
  history.pushState({}, '', '?route=2');
  log.push(['route', location.search, history.state]);
  log.push(['frozen', Object.isFrozen(XMLHttpRequest.prototype), fetch === window.fetch, typeof XMLHttpRequest.prototype.send]);
  setTimeout(() => {
    throw new Error('page error on a frozen page');
  });
  await wait(50);
  return log;
};
