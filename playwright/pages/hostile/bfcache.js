// A page that does what pages do before the user leaves (a fetch, an XHR, a click) and records
// each pageshow: whether it came from the back/forward cache.
window.shows = [];
addEventListener('pageshow', (e) => window.shows.push(e.persisted));
window.scenario = async () => {
  const { base, outcome, xhr } = H;
  return [await outcome(fetch(base + 'before-leaving')), await xhr('GET', base + 'xhr-before-leaving')];
};
