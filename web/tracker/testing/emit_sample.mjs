// Prints one envelope per line as the tracker would send them (used by tests/unit/test_tracker.py
// to validate tracker output with the Lambda's own compiled validator).
import { createTracker } from "../tracker.js";
import { fakeEnv, BASE } from "./fakes.mjs";

const env = fakeEnv();
const t = createTracker({ ...BASE, ...env });
const item = { item_id: "SKU-1", item_name: "Laptop 14", item_brand: "Acme", item_category: "laptops", price: 999, quantity: 1 };
t.identify("cust-1");
t.track("view_item_list", { items: [item], item_list_id: "laptops", item_list_name: "Laptops" });
t.track("select_item", { items: [item] });
t.track("view_item", { items: [item], value: 999, currency: "EUR" });
t.track("add_to_cart", { items: [item], value: 999, currency: "EUR" });
t.track("remove_from_cart", { items: [item] });
t.track("begin_checkout", { items: [item], value: 999, currency: "EUR" });
t.track("add_shipping_info", { items: [item], shipping_tier: "express" });
t.track("add_payment_info", { items: [item], payment_type: "card" });
t.track("purchase", { items: [item], value: 999, currency: "EUR", transaction_id: "T-1", tax: 160, shipping: 0 });
t.track("refund", { transaction_id: "T-1", value: 999, currency: "EUR" });
t.track("search", { search_term: "monitor" });
env.fire("pagehide");
for (const b of env.beacons) console.log(JSON.stringify(b.body));
