// The shop's page logic: a small single-page app. Routes (history.pushState, back/forward via
// popstate), each rendered into #app from the JSON API:
//   /               catalogue (product links a[data-sku], "Today's pick" with #add-to-cart)
//   /product/:sku   product (#add-to-cart, and #wishlist, which does nothing: a dead click)
//   /cart           cart (#checkout)
//   /checkout       checkout (#place-order)
// The server answers each of these paths with this same page, so deep links and reloads work.
//
// A classic script, separate from the SDK's module script, so a missing or broken SDK cannot
// stop the shop from working. It calls the global `fetch` at request time, never keeping a
// reference from load time: this script runs before the deferred SDK module, and only a late
// lookup sees the SDK's instrumented fetch. For the same reason it reaches the SDK through
// `window.rum` (set by the module script in index.html) only when it calls it, and only calls
// what is there: setView, event and setUser are newer than some SDK builds.
(function () {
  'use strict';

  var USER_ID = 'demo-user-1';

  // Route table: `view` is the route template the SDK groups views by.
  var ROUTES = [
    { view: '/', pattern: /^\/$/, render: renderCatalogue },
    { view: '/product/:sku', pattern: /^\/product\/([^/]+)$/, render: renderProduct },
    { view: '/cart', pattern: /^\/cart$/, render: renderCart },
    { view: '/checkout', pattern: /^\/checkout$/, render: renderCheckout }
  ];

  // Bumped on each render, so a response for a route the user already left is dropped.
  var renderCount = 0;

  /** Calls `window.rum[method](...args)` if the SDK is there and has it; never throws. */
  function rum(method) {
    var sdk = window.rum;
    if (!sdk || typeof sdk[method] !== 'function') { return; }
    try {
      sdk[method].apply(sdk, Array.prototype.slice.call(arguments, 1));
    } catch (error) {
      // Telemetry must never break the shop.
    }
  }

  // --- DOM and API helpers ------------------------------------------------------------------

  /** An element with attributes and children (strings become text nodes: never HTML). */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (attrs[name] !== null && attrs[name] !== undefined) { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function formatPrice(cents) {
    return (cents / 100).toFixed(2) + ' \u20ac';
  }

  function plural(n, word) {
    return n + ' ' + word + (n === 1 ? '' : 's');
  }

  function showError(element, message) {
    element.textContent = message;
    element.className = 'error';
  }

  /** fetch + JSON; rejects with the API's `reason` (or the HTTP status) when not OK. */
  function api(method, url, body) {
    var init = { method: method };
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) { throw new Error(json.reason || 'HTTP ' + response.status); }
        return json;
      });
    });
  }

  // --- Routing ------------------------------------------------------------------------------

  function navigate(href) {
    var url = new URL(href, location.href);
    if (url.pathname + url.search === location.pathname + location.search) { return; }
    history.pushState(null, '', url.pathname + url.search);
    window.scrollTo(0, 0);
    render();
  }

  /** Renders the route of the current URL into #app. */
  function render() {
    var token = ++renderCount;
    var current = function () { return token === renderCount; };
    var app = document.getElementById('app');
    // The last cart answer belongs to the route that made it.
    document.getElementById('cart-status').textContent = '';
    for (var i = 0; i < ROUTES.length; i++) {
      var match = ROUTES[i].pattern.exec(location.pathname);
      if (match) {
        rum('setView', ROUTES[i].view);
        ROUTES[i].render(app, current, match.slice(1).map(decodeURIComponent));
        return;
      }
    }
    rum('setView', '/not-found');
    page(app, 'Page not found', [el('p', {}, ['There is nothing here. ', catalogueLink('Back to the catalogue')])]);
  }

  /** Replaces #app with a heading and content, and sets the document title. */
  function page(app, title, content) {
    document.title = title + ' \u2014 Demo shop';
    app.textContent = '';
    app.appendChild(el('h2', {}, [title]));
    content.forEach(function (node) { app.appendChild(node); });
  }

  function catalogueLink(text) {
    return el('a', { href: '/', 'data-route': '', 'data-rum-name': 'Back to catalogue' }, [text]);
  }

  // --- Routes -------------------------------------------------------------------------------

  function renderCatalogue(app, current) {
    var list = el('ul', { id: 'products' }, [el('li', {}, ['Loading products\u2026'])]);
    var pick = el('section', { class: 'pick' }, [
      el('h3', {}, ['Today\u2019s pick']),
      el('p', {}, ['Sencha green tea, fresh from the spring harvest.']),
      addToCartButton('tea-01', 'Add green tea to cart')
    ]);
    // The pick first: the list grows when it loads, and would push the pick down (a layout shift).
    page(app, 'Products', [pick, list]);
    api('GET', '/api/products')
      .then(function (products) {
        if (!current()) { return; }
        list.textContent = '';
        products.forEach(function (product) {
          list.appendChild(el('li', {}, [
            el('a', { href: '/product/' + encodeURIComponent(product.sku), 'data-route': '', 'data-sku': product.sku, 'data-rum-name': 'Open product' }, [product.name]),
            el('span', { class: 'price' }, [formatPrice(product.price_cents)])
          ]));
        });
      })
      .catch(function (error) {
        if (!current()) { return; }
        list.textContent = '';
        list.appendChild(el('li', { class: 'error' }, ['Could not load products: ' + error.message]));
      });
  }

  function renderProduct(app, current, params) {
    var sku = params[0];
    var body = el('div', { class: 'product' }, [el('p', {}, ['Loading product\u2026'])]);
    page(app, 'Product', [catalogueLink('\u2190 All products'), body]);
    api('GET', '/api/products/' + encodeURIComponent(sku))
      .then(function (product) {
        if (!current()) { return; }
        page(app, product.name, [
          catalogueLink('\u2190 All products'),
          el('div', { class: 'product' }, [
            el('p', { class: 'description' }, [product.description]),
            el('p', { class: 'price' }, [formatPrice(product.price_cents)]),
            el('div', { class: 'actions' }, [
              addToCartButton(product.sku, 'Add to cart'),
              // Looks like a control, has no handler: a dead click for the RUM product to flag.
              el('button', { id: 'wishlist', type: 'button', class: 'secondary', 'data-rum-name': 'Add to wishlist' }, ['Add to wishlist (soon)'])
            ])
          ])
        ]);
      })
      .catch(function (error) {
        if (!current()) { return; }
        body.textContent = '';
        showError(body, 'Could not load product ' + sku + ': ' + error.message);
      });
  }

  function renderCart(app, current) {
    var body = el('div', {}, [el('p', {}, ['Loading your cart\u2026'])]);
    page(app, 'Your cart', [body]);
    api('GET', '/api/cart')
      .then(function (cart) {
        if (!current()) { return; }
        setCartCount(cart.count);
        body.textContent = '';
        if (!cart.count) {
          body.appendChild(el('p', {}, ['Your cart is empty. ', catalogueLink('Find something you like')]));
          return;
        }
        body.appendChild(el('ul', { id: 'cart-items' }, cart.items.map(function (line) {
          return el('li', {}, [
            el('a', { href: '/product/' + encodeURIComponent(line.sku), 'data-route': '', 'data-rum-name': 'Open product' }, [line.name]),
            el('span', { class: 'quantity' }, ['\u00d7 ' + line.quantity]),
            el('span', { class: 'price' }, [formatPrice(line.price_cents * line.quantity)])
          ]);
        })));
        body.appendChild(el('p', { class: 'total' }, ['Total: ' + formatPrice(cart.total_cents)]));
        body.appendChild(el('a', { id: 'checkout', class: 'button', href: '/checkout', 'data-route': '', 'data-rum-name': 'Checkout' }, ['Checkout']));
      })
      .catch(function (error) {
        if (!current()) { return; }
        showError(body, 'Could not load your cart: ' + error.message);
      });
  }

  function renderCheckout(app, current) {
    var body = el('div', {}, [el('p', {}, ['Loading your order\u2026'])]);
    page(app, 'Checkout', [body]);
    api('GET', '/api/cart')
      .then(function (cart) {
        if (!current()) { return; }
        setCartCount(cart.count);
        body.textContent = '';
        if (!cart.count) {
          body.appendChild(el('p', {}, ['Your cart is empty. ', catalogueLink('Back to the catalogue')]));
          return;
        }
        body.appendChild(el('p', { class: 'summary' }, [plural(cart.count, 'item') + ', ' + formatPrice(cart.total_cents) + '.']));
        body.appendChild(el('button', { id: 'place-order', type: 'button', 'data-rum-name': 'Place order' }, ['Place order']));
        body.appendChild(el('div', { id: 'order-status', 'aria-live': 'polite' }));
      })
      .catch(function (error) {
        if (!current()) { return; }
        showError(body, 'Could not load your order: ' + error.message);
      });
  }

  // --- Actions ------------------------------------------------------------------------------

  function addToCartButton(sku, text) {
    return el('button', { id: 'add-to-cart', type: 'button', 'data-sku': sku, 'data-rum-name': 'Add to cart' }, [text]);
  }

  function setCartCount(count) {
    document.getElementById('cart-count').textContent = String(count);
  }

  /** GET /api/cart/count into the cart badge. */
  function refreshCartCount() {
    return api('GET', '/api/cart/count').then(function (answer) { setCartCount(answer.count); });
  }

  // One click, two backend calls, both started from the click's promise chain: POST /api/cart
  // adds the item, then GET /api/cart/count refreshes the badge. The button stays enabled (a
  // disabled button swallows clicks, and repeated clicks add more).
  function addToCart(button) {
    var status = document.getElementById('cart-status');
    status.className = '';
    status.textContent = 'Adding\u2026';
    api('POST', '/api/cart', { sku: button.getAttribute('data-sku') })
      .then(function (result) {
        status.textContent = JSON.stringify(result);
        return refreshCartCount();
      })
      .catch(function (error) { showError(status, 'Could not add to cart: ' + error.message); });
  }

  function placeOrder(button) {
    var status = document.getElementById('order-status');
    button.disabled = true;
    status.className = '';
    status.textContent = 'Placing your order\u2026';
    api('POST', '/api/checkout')
      .then(function (order) {
        rum('event', 'checkout', { items: order.items });
        setCartCount(0);
        button.remove();
        status.textContent = 'Thank you! Order ' + order.order_id + ' (' + plural(order.items, 'item') + ', ' + formatPrice(order.total_cents) + ') is on its way.';
      })
      .catch(function (error) {
        button.disabled = false;
        showError(status, 'Could not place your order: ' + error.message);
      });
  }

  // One listener for the whole page: route links and the shop's buttons, whatever route drew them.
  function onClick(event) {
    if (event.defaultPrevented || !(event.target instanceof Element)) { return; }
    var link = event.target.closest('a[data-route]');
    if (link) {
      // Let the browser handle new-tab/window clicks (the server serves every route).
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) { return; }
      event.preventDefault();
      navigate(link.getAttribute('href'));
      return;
    }
    var button = event.target.closest('button');
    if (button && button.id === 'add-to-cart') { addToCart(button); }
    if (button && button.id === 'place-order') { placeOrder(button); }
  }

  function start() {
    // A fake sign-in: every visitor is the same demo user.
    rum('setUser', { id: USER_ID });
    document.getElementById('user').textContent = 'Signed in as ' + USER_ID;
    document.addEventListener('click', onClick);
    // Registered now, after the SDK's module script has run, so the SDK sees a back/forward
    // navigation (and starts the new view) before setView names it.
    window.addEventListener('popstate', render);
    render();
    refreshCartCount().catch(function () { /* the badge keeps its 0 */ });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
