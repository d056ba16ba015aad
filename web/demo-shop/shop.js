// ByteMart demo shop: a hash-routed storefront whose every step is a GA4-style event sent
// through the platform's browser tracker (web/tracker). No build step, no dependencies.
import { createTracker } from "../tracker/tracker.js";

const cfg = window.SHOP_CONFIG;
const tracker = createTracker({ endpoint: cfg.endpoint, appId: cfg.appId });
const view = document.getElementById("view");
const money = (n) => n.toLocaleString("en-US", { style: "currency", currency: cfg.currency });
const cart = new Map(); // item_id -> {item, quantity}
let catalog = [];

function itemParams(p, quantity = 1) {
  const { item_id, item_name, item_brand, item_category, price } = p;
  return { item_id, item_name, item_brand, item_category, price, quantity };
}
function cartItems() { return [...cart.values()].map(({ item, quantity }) => itemParams(item, quantity)); }
function cartValue() { return [...cart.values()].reduce((s, { item, quantity }) => s + item.price * quantity, 0); }
function renderCount() {
  document.getElementById("cart-count").textContent = [...cart.values()].reduce((s, l) => s + l.quantity, 0);
}

function listPage(products, listName) {
  tracker.track("view_item_list", { item_list_id: listName, item_list_name: listName, items: products.map((p) => itemParams(p)) });
  view.innerHTML = `<h1>${listName}</h1><div class="grid">${products.map((p) => `
    <div class="card"><h3>${p.item_name}</h3><div>${p.item_brand} · ${p.item_category}</div>
    <div class="price">${money(p.price)}</div>
    <a href="#/product/${p.item_id}" data-testid="product-${p.item_id}">View</a></div>`).join("")}</div>`;
  view.querySelectorAll("a[data-testid^=product-]").forEach((a) => a.addEventListener("click", () => {
    const p = catalog.find((x) => `product-${x.item_id}` === a.dataset.testid);
    tracker.track("select_item", { item_list_id: listName, item_list_name: listName, items: [itemParams(p)] });
  }));
}

function productPage(id) {
  const p = catalog.find((x) => x.item_id === id);
  if (!p) { view.textContent = "Product not found"; return; }
  tracker.track("view_item", { currency: cfg.currency, value: p.price, items: [itemParams(p)] });
  view.innerHTML = `<div class="card"><h1>${p.item_name}</h1><p>${p.item_brand} · ${p.item_category}</p>
    <p class="price">${money(p.price)}</p><button data-testid="add-to-cart">Add to cart</button></div>`;
  view.querySelector("button").addEventListener("click", () => {
    const line = cart.get(id) || { item: p, quantity: 0 };
    line.quantity += 1;
    cart.set(id, line);
    renderCount();
    tracker.track("add_to_cart", { currency: cfg.currency, value: p.price, items: [itemParams(p)] });
    view.querySelector("button").textContent = "Added ✓";
  });
}

function cartPage() {
  const rows = [...cart.values()].map(({ item, quantity }) =>
    `<tr><td>${item.item_name}</td><td>${quantity}</td><td>${money(item.price * quantity)}</td>
     <td><button data-remove="${item.item_id}">Remove</button></td></tr>`).join("");
  view.innerHTML = cart.size === 0 ? "<p>Your cart is empty.</p>" :
    `<table><tr><th>Item</th><th>Qty</th><th>Total</th><th></th></tr>${rows}</table>
     <p class="price">Total ${money(cartValue())}</p><button data-testid="checkout">Checkout</button>`;
  view.querySelectorAll("[data-remove]").forEach((b) => b.addEventListener("click", () => {
    const line = cart.get(b.dataset.remove);
    tracker.track("remove_from_cart", { currency: cfg.currency, value: line.item.price * line.quantity, items: [itemParams(line.item, line.quantity)] });
    cart.delete(b.dataset.remove);
    renderCount();
    cartPage();
  }));
  const checkout = view.querySelector("[data-testid=checkout]");
  if (checkout) checkout.addEventListener("click", () => { location.hash = "#/checkout"; });
}

function checkoutPage() {
  if (cart.size === 0) { location.hash = "#/cart"; return; }
  tracker.track("begin_checkout", { currency: cfg.currency, value: cartValue(), items: cartItems() });
  view.innerHTML = `<h1>Checkout</h1><div class="card">
    <label>Shipping <select name="ship"><option>Ground</option><option>Express</option></select></label>
    <button data-testid="shipping">Continue to payment</button></div>`;
  view.querySelector("[data-testid=shipping]").addEventListener("click", () => {
    const tier = view.querySelector("select").value;
    tracker.track("add_shipping_info", { currency: cfg.currency, value: cartValue(), shipping_tier: tier, items: cartItems() });
    view.innerHTML = `<h1>Payment</h1><div class="card"><label>Card <input value="4242 4242 4242 4242" aria-label="Card"></label>
      <button data-testid="pay">Place order</button></div>`;
    view.querySelector("[data-testid=pay]").addEventListener("click", () => {
      tracker.track("add_payment_info", { currency: cfg.currency, value: cartValue(), payment_type: "card", items: cartItems() });
      const transaction_id = `T-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      tracker.track("purchase", { currency: cfg.currency, value: cartValue(), transaction_id, items: cartItems() });
      tracker.flush();
      cart.clear();
      renderCount();
      view.innerHTML = `<h1 data-testid="thanks">Thank you!</h1><p>Order <code data-testid="order-id">${transaction_id}</code> placed.</p>`;
    });
  });
}

function route() {
  const [, page, arg] = location.hash.split("/");
  if (location.hash && location.hash !== "#/") tracker.pageView();
  if (page === "product") productPage(arg);
  else if (page === "cart") cartPage();
  else if (page === "checkout") checkoutPage();
  else listPage(catalog, "All products");
}

document.getElementById("search").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = new FormData(e.target).get("q").trim();
  if (!q) return;
  tracker.track("search", { search_term: q });
  listPage(catalog.filter((p) => `${p.item_name} ${p.item_brand} ${p.item_category}`.toLowerCase().includes(q.toLowerCase())), `Search: ${q}`);
});
const consent = document.getElementById("consent");
consent.checked = tracker.enabled;
consent.addEventListener("change", () => tracker.setConsent(consent.checked));

catalog = await (await fetch("catalog.json")).json();
window.addEventListener("hashchange", route);
route();
