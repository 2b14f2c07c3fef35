// The transport: the beacons the wasm writes (rum-sdk/src/batch.rs decides when and how
// large) leave here. Compressed with gzip (CompressionStream) while the page lives; plain
// while it unloads, since compressing is asynchronous and an unloading page runs nothing
// after its handlers, so any beacon whose compression has not finished leaves plain too.

// `debug(message)`, given with the `debug` option: beacons then go by fetch, whose answer can be
// read (the gateway lets the page read a rejection's reason), and a refusal is said.
export function createSender(url, fetch, debug) {
  // Beacons being compressed; sent plain instead if the page unloads first.
  const compressing = new Set();
  const deliver = (to, bytes) => {
    // sendBeacon is delivered even while the page unloads. When it refuses (the in-flight
    // quota is used up), fetch with keepalive, and when that is refused too, a plain fetch,
    // which a live page completes. text/plain keeps all three free of CORS preflights.
    const body = new Blob([bytes], { type: 'text/plain;charset=UTF-8' });
    const post = (keepalive) => fetch(to, { method: 'POST', body, keepalive, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    if (debug)
      return post(true)
        .then(
          (r) => r.ok || r.text().then((reason) => debug(`the gateway refused a beacon: HTTP ${r.status} ${reason}`)),
          (e) => debug('a beacon was not delivered: ' + e),
        )
        .catch(() => {});
    try {
      if (navigator.sendBeacon(to, body)) return;
    } catch {}
    try {
      post(true).catch(() => post(false).catch(() => {}));
    } catch {}
  };
  return (bytes, unloading) => {
    if (unloading) {
      compressing.forEach((plain) => deliver(url, plain));
      compressing.clear();
    }
    if (!bytes) return;
    if (unloading || typeof CompressionStream != 'function') return deliver(url, bytes);
    compressing.add(bytes);
    // `delete` is true only while the beacon is still ours: not already sent plain at unload.
    new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip')))
      .arrayBuffer()
      .then(
        (gz) => compressing.delete(bytes) && deliver(url + '&encoding=gzip', gz),
        () => compressing.delete(bytes) && deliver(url, bytes),
      );
  };
}
