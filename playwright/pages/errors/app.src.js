// The errors test page's script (playwright/errors.spec.mjs): three nested functions, the
// innermost throws. Built by build.mjs with esbuild into app.min.js + app.min.js.map, which are
// committed; rebuild after editing this file.
function levelThree(cart) {
  if (cart.items.length > 2) {
    throw new TypeError('Cart has too many items: ' + cart.items.length);
  }
  return cart.items;
}

function levelTwo(cart) {
  return levelThree(cart).map((item) => item.toUpperCase());
}

function levelOne(id) {
  return levelTwo({ id, items: ['a', 'b', 'c'] });
}

// A click that fails: an error click.
document.getElementById('pay').addEventListener('click', () => levelOne(7));

// The same error `n` times, each uncaught in a task of its own.
window.throwMany = (n) => {
  for (let i = 0; i < n; i++) setTimeout(() => levelOne(i));
};
