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
window.stringified = 0;
const stringify = JSON.stringify;
JSON.stringify = function () {
  window.stringified++;
  return stringify.apply(this, arguments);
};
