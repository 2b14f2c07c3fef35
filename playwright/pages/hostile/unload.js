// A page that sends its own data as it unloads, as pages do: a keepalive POST of 40 KiB from
// its pagehide listener. Browsers cap the bytes of keepalive requests in flight (sendBeacon's
// included) at 64 KiB per page. Before leaving, the page makes 18 calls with 1,500-character
// URLs, so that an SDK recording them has about 30 KB of spans to send as the page unloads too.
addEventListener('pagehide', () => {
  fetch(H.base + 'unload', { method: 'POST', keepalive: true, body: 'u'.repeat(40 * 1024) }).catch(() => {});
});
window.scenario = async () => {
  const pad = 'p'.repeat(1500);
  await Promise.all(Array.from({ length: 18 }, (_, i) => fetch(H.base + 'busy-' + i + '?pad=' + pad).then((r) => r.text())));
  return 'ok';
};
