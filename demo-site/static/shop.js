// The shop's page logic: product list and the "Add to cart" button.
//
// A classic script, separate from the SDK's module script, so a missing or broken SDK cannot
// stop the shop from working. It calls the global `fetch` at request time, never keeping a
// reference from load time: this script runs before the deferred SDK module, and only a late
// lookup sees the SDK's instrumented fetch.
(function () {
  'use strict';

  function formatPrice(cents) {
    return (cents / 100).toFixed(2) + ' \u20ac';
  }

  function showError(element, message) {
    element.textContent = message;
    element.className = 'error';
  }

  function loadProducts() {
    var list = document.getElementById('products');
    fetch('/api/products')
      .then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.json();
      })
      .then(function (products) {
        list.textContent = '';
        products.forEach(function (product) {
          var item = document.createElement('li');
          var name = document.createElement('span');
          name.textContent = product.name;
          var price = document.createElement('span');
          price.className = 'price';
          price.textContent = formatPrice(product.price_cents);
          item.appendChild(name);
          item.appendChild(price);
          list.appendChild(item);
        });
      })
      .catch(function (error) {
        list.textContent = '';
        var item = document.createElement('li');
        showError(item, 'Could not load products: ' + error.message);
        list.appendChild(item);
      });
  }

  function addToCart() {
    var button = document.getElementById('add-to-cart');
    var status = document.getElementById('cart-status');
    button.disabled = true;
    status.className = '';
    status.textContent = 'Adding…';
    fetch('/api/cart', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'tea-01' })
    })
      .then(function (response) { return response.json(); })
      .then(function (result) { status.textContent = JSON.stringify(result); })
      .catch(function (error) { showError(status, 'Could not add to cart: ' + error.message); })
      .then(function () { button.disabled = false; });
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.getElementById('add-to-cart').addEventListener('click', addToCart);
    loadProducts();
  });
})();
