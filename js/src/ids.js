// Random ids as lowercase hex (W3C trace context: 16-byte trace ids, 8-byte span ids), taken
// from a pool of random words refilled 256 bytes at a time: one getRandomValues call per
// several ids, since each call costs more than the id (per-fetch and per-click overhead).
const pool = new Uint32Array(64);
let at = 64;

/** `bytes`: a multiple of 4. */
export function randomHex(bytes) {
  let s = '';
  for (let i = 0; i < bytes; i += 4) {
    if (at == 64) crypto.getRandomValues(pool), (at = 0);
    s += (pool[at++] + 2 ** 32).toString(16).slice(1);
  }
  // An all-zero id is invalid in W3C trace context.
  return /[^0]/.test(s) ? s : '1' + s.slice(1);
}
