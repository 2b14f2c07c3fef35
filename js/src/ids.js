// Random ids as lowercase hex (W3C trace context: 16-byte trace ids, 8-byte span ids).
export function randomHex(bytes) {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  // An all-zero id is invalid in W3C trace context.
  if (b.every((x) => x === 0)) b[0] = 1;
  let s = '';
  for (const x of b) s += (x < 16 ? '0' : '') + x.toString(16);
  return s;
}
