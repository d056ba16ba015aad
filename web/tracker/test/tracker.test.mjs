import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createTracker, EVENT_NAMES, SESSION_TIMEOUT_MS } from "../tracker.js";
import { fakeEnv, BASE } from "../testing/fakes.mjs";

const schema = JSON.parse(
  readFileSync(new URL("../../../lambda_src/common/schemas/events.v1.json", import.meta.url)),
);
const eventSchema = schema.$defs.event;

function make(env, extra = {}) {
  return createTracker({ ...BASE, ...env, ...extra });
}

/** The subset of the JSON Schema the tracker must honour, checked from the schema file itself. */
function assertMatchesSchema(envelope) {
  assert.deepEqual(Object.keys(envelope).sort(), ["app_id", "events", "sent_at"]);
  assert.match(envelope.sent_at, new RegExp(schema.properties.sent_at.pattern));
  assert.ok(envelope.events.length <= schema.properties.events.maxItems);
  for (const ev of envelope.events) {
    for (const key of eventSchema.required) assert.ok(key in ev, `missing ${key}`);
    for (const key of Object.keys(ev)) assert.ok(key in eventSchema.properties, `unknown key ${key}`);
    assert.ok(eventSchema.properties.event_name.enum.includes(ev.event_name));
    assert.match(ev.event_id, new RegExp(eventSchema.properties.event_id.pattern));
    assert.match(ev.event_ts, new RegExp(eventSchema.properties.event_ts.pattern));
    assert.match(ev.anonymous_id, new RegExp(eventSchema.properties.anonymous_id.pattern));
    assert.match(ev.session_id, new RegExp(eventSchema.properties.session_id.pattern));
    if (ev.page) assert.match(ev.page.url, new RegExp(schema.$defs.page.properties.url.pattern));
  }
}

test("event names are exactly the schema's enum", () => {
  assert.deepEqual([...EVENT_NAMES].sort(), [...eventSchema.properties.event_name.enum].sort());
});

test("page_view is automatic and carries page, UTM and ids that satisfy the schema", async () => {
  const env = fakeEnv();
  const t = make(env);
  assert.equal(t.queueLength, 1);
  await t.flush();
  assert.equal(env.calls.length, 1);
  const { body, init } = env.calls[0];
  assert.equal(init.headers["content-type"], "text/plain;charset=UTF-8");
  assert.equal(body.app_id, "shop-web");
  const ev = body.events[0];
  assert.equal(ev.event_name, "page_view");
  assert.deepEqual(ev.page, {
    url: "https://shop.example.com/laptops?utm_source=news&utm_medium=email",
    path: "/laptops", title: "Laptops", referrer: "https://search.example/",
  });
  assert.equal(ev.utm_source, "news");
  assert.equal(ev.utm_medium, "email");
  assertMatchesSchema(body);
});

test("e-commerce events use GA4 parameters and every event gets its own event_id", async () => {
  const env = fakeEnv();
  const t = make(env, { autoPageView: false });
  const item = { item_id: "SKU-1", item_name: "Laptop 14", item_brand: "Acme", item_category: "laptops", price: 999, quantity: 1 };
  t.track("view_item", { items: [item], value: 999, currency: "EUR" });
  t.track("add_to_cart", { items: [item], value: 999, currency: "EUR" });
  t.track("purchase", { items: [item], value: 999, currency: "EUR", transaction_id: "T-1" });
  t.track("search", { search_term: "usb-c monitor" });
  await t.flush();
  const events = env.calls[0].body.events;
  assert.deepEqual(events.map((e) => e.event_name), ["view_item", "add_to_cart", "purchase", "search"]);
  assert.equal(new Set(events.map((e) => e.event_id)).size, 4);
  assert.deepEqual(events[2].items, [item]);
  assertMatchesSchema(env.calls[0].body);
  assert.throws(() => t.track("teleport"), /unknown event name/);
  assert.throws(() => t.track("search", { received_at: "x" }), /unknown event parameter/);
});

test("anonymous id persists in storage; session renews after 30 minutes of inactivity", async () => {
  const env = fakeEnv();
  const t = make(env, { autoPageView: false });
  t.track("page_view");
  env.advance(SESSION_TIMEOUT_MS - 1000);
  t.track("page_view");
  env.advance(SESSION_TIMEOUT_MS + 1);
  t.track("page_view");
  await t.flush();
  const [a, b, c] = env.calls[0].body.events;
  assert.equal(a.anonymous_id, c.anonymous_id);
  assert.equal(a.session_id, b.session_id);
  assert.notEqual(b.session_id, c.session_id);
  const t2 = make(env, { autoPageView: false }); // a new page load, same storage
  t2.track("page_view");
  await t2.flush();
  assert.equal(env.calls[1].body.events[0].anonymous_id, a.anonymous_id);
});

test("flushes by size and by interval", async () => {
  const env = fakeEnv();
  const t = make(env, { autoPageView: false, batchSize: 3, flushIntervalMs: 5000 });
  t.track("page_view");
  t.track("page_view");
  assert.equal(env.calls.length, 0);
  t.track("page_view"); // third event: size flush
  await new Promise((r) => setImmediate(r));
  assert.equal(env.calls.length, 1);
  assert.equal(env.calls[0].body.events.length, 3);
  t.track("page_view");
  assert.equal(env.pendingTimers(), 1);
  await env.runTimers(); // interval flush
  await t.flush();
  assert.equal(env.calls.length, 2);
  assert.equal(env.calls[1].body.events.length, 1);
});

test("network errors and 5xx are retried with backoff and the same event_ids", async () => {
  const env = fakeEnv({ statuses: ["network", 503, 200] });
  const t = make(env, { autoPageView: false, backoffBaseMs: 100 });
  t.track("page_view");
  await env.drive(t.flush());
  assert.equal(env.calls.length, 3);
  const ids = env.calls.map((c) => c.body.events[0].event_id);
  assert.equal(new Set(ids).size, 1);
  assert.deepEqual(t.stats, { sent: 1, dropped: 0, retries: 2 });
});

test("a 400 is not retried; a 413 splits the batch", async () => {
  const env = fakeEnv({ statuses: [400, 413, 200, 200] });
  const t = make(env, { autoPageView: false, batchSize: 100 });
  t.track("page_view");
  await t.flush();
  assert.equal(env.calls.length, 1);
  assert.equal(t.stats.dropped, 1);
  for (let i = 0; i < 4; i++) t.track("page_view");
  await t.flush();
  assert.deepEqual(env.calls.slice(1).map((c) => c.body.events.length), [4, 2, 2]);
  assert.equal(t.stats.sent, 4);
});

test("gives up after maxRetries", async () => {
  const env = fakeEnv({ statuses: [500, 500, 500] });
  const t = make(env, { autoPageView: false, maxRetries: 2, backoffBaseMs: 10 });
  t.track("page_view");
  await env.drive(t.flush());
  assert.equal(env.calls.length, 3);
  assert.equal(t.stats.dropped, 1);
});

test("pagehide sends the queue with sendBeacon as text/plain JSON", () => {
  const env = fakeEnv();
  const t = make(env);
  t.track("view_item", { items: [{ item_id: "SKU-9" }] });
  env.fire("pagehide");
  assert.equal(env.beacons.length, 1);
  assert.deepEqual(env.beacons[0].body.events.map((e) => e.event_name), ["page_view", "view_item"]);
  assert.equal(t.queueLength, 0);
  assert.equal(env.calls.length, 0);
  assertMatchesSchema(env.beacons[0].body);
});

test("Do-Not-Track and Global Privacy Control disable tracking entirely", () => {
  for (const nav of [{ dnt: "1" }, { gpc: true }]) {
    const env = fakeEnv(nav);
    const t = make(env);
    assert.equal(t.enabled, false);
    assert.equal(t.track("page_view"), null);
    env.fire("pagehide");
    assert.equal(env.beacons.length + env.calls.length, 0);
    assert.equal(env.store.size, 0);
  }
});

test("with requireConsent nothing is stored or sent until consent; revoking clears ids and queue", async () => {
  const env = fakeEnv();
  const t = make(env, { requireConsent: true });
  assert.equal(t.track("page_view"), null);
  assert.equal(env.store.size, 0);
  t.setConsent(true);
  t.track("page_view");
  assert.ok(env.store.get("cs_aid"));
  t.setConsent(false);
  assert.equal(t.queueLength, 0);
  assert.equal(env.store.get("cs_aid"), undefined);
  assert.equal(env.store.get("cs_consent"), "denied");
  await t.flush();
  assert.equal(env.calls.length, 0);
});

test("identify adds user_id to later events", async () => {
  const env = fakeEnv();
  const t = make(env, { autoPageView: false });
  t.identify("cust-42");
  t.track("page_view");
  await t.flush();
  assert.equal(env.calls[0].body.events[0].user_id, "cust-42");
});

test("queue is bounded, keeping the newest events", () => {
  const env = fakeEnv({ statuses: [] });
  const t = make(env, { autoPageView: false, batchSize: 1000, maxQueue: 5 });
  for (let i = 0; i < 8; i++) t.track("page_view");
  assert.equal(t.queueLength, 5);
  assert.equal(t.stats.dropped, 3);
});
