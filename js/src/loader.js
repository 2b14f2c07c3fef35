// The loader snippet, inline in the page's <head> (docs/api.md#loader-snippet): `RUM.init`,
// `RUM.event` and the other calls work at once and are queued, with the page's errors, until
// rum.js (loaded async, checked by its Subresource Integrity hash) runs and takes them over.
// `npm run build` writes it minified, with rum.js's hash, into dist/loader.html.
(function (w, d, url, integrity) {
  var R = (w.RUM = w.RUM || {});
  var calls = (R.q = []);
  var errors = (R.e = []);
  'init event setUser setAttributes setView error'.split(' ').forEach(function (m) {
    R[m] = function () {
      calls.push([m, arguments]);
    };
  });
  R.h = function (e) {
    errors.push(e);
  };
  w.addEventListener('error', R.h, true);
  w.addEventListener('unhandledrejection', R.h);
  var s = d.createElement('script');
  s.async = 1;
  s.src = url;
  s.integrity = integrity;
  s.crossOrigin = 'anonymous';
  d.head.appendChild(s);
})(window, document, 'RUM_SCRIPT_URL', 'RUM_SCRIPT_INTEGRITY');
