// A long-lived page that makes many fetches: `many(from, to)` calls /echo/{run}/many?i=…
// for each i, 50 at a time, reading each body.
window.many = async (from, to) => {
  for (let i = from; i < to; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, to - i) }, (_, j) => fetch(H.base + 'many?i=' + (i + j)).then((r) => r.text())));
  }
  return to;
};
