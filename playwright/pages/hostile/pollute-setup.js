// Runs before the SDK: Object.prototype polluted (as a `__proto__` merge of a query string
// would), Array.prototype.toJSON defined (as Prototype.js did, so arrays stringify as a
// string) and JSON.stringify replaced by a counting wrapper. Enumerable, like such pollution.
Object.prototype.method = 'PUT';
Object.prototype.headers = { 'x-polluted': 'yes' };
Object.prototype.error = 'polluted';
Object.prototype.polluted = 'yes';
Array.prototype.toJSON = function () {
  return 'array(' + this.length + ')';
};
// It counts the page's own calls; the SDK's (its vitals' attribution goes through the page's
// JSON.stringify, whatever it is) are counted apart, by the script they come from.
window.stringified = 0;
window.sdkStringified = 0;
const stringify = JSON.stringify;
JSON.stringify = function () {
  if (/\/sdk\//.test(new Error().stack)) window.sdkStringified++;
  else window.stringified++;
  return stringify.apply(this, arguments);
};
