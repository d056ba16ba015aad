/**
 * Clickstream browser tracker: a dependency-free ES module (no build step).
 *
 *   import { createTracker } from "/tracker/tracker.js";
 *   const t = createTracker({ endpoint: "https://api.example.com/v1/events", appId: "shop-web" });
 *   t.track("view_item", { items: [{ item_id: "SKU-1", price: 999, quantity: 1 }], value: 999, currency: "EUR" });
 *
 * What it guarantees, and why:
 * - every event gets a client-made `event_id` (UUID) once, so a retried batch can never be
 *   double counted (the warehouse deduplicates on it);
 * - an anonymous id in first-party localStorage, a session id renewed after 30 minutes of
 *   inactivity; `page_view` sent automatically on start (and on history navigation if asked);
 * - events are batched: flushed when `batchSize` events wait or every `flushIntervalMs`; on
 *   `pagehide` the queue goes out with `navigator.sendBeacon` as `text/plain` (no CORS
 *   preflight, survives the page being closed);
 * - network errors and 5xx/429 are retried with exponential backoff; 4xx other than 413/429
 *   drop the batch (retrying a refused batch cannot succeed); 413 splits it in halves;
 * - Do-Not-Track / Global Privacy Control and an explicit consent switch are honoured: without
 *   consent nothing is stored or sent, and revoking consent clears the queue and the ids.
 *
 * Everything environment-specific (storage, fetch, beacon, timers, clock, uuid, location) is
 * injectable so the node:test suite exercises the real module without a browser.
 */

export const EVENT_NAMES = Object.freeze([
  "page_view", "search", "view_item_list", "select_item", "view_item", "add_to_cart",
  "remove_from_cart", "begin_checkout", "add_shipping_info", "add_payment_info", "purchase", "refund",
]);

const ALLOWED_KEYS = new Set([
  "user_id", "page", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
  "items", "item_list_id", "item_list_name", "value", "currency", "transaction_id", "tax",
  "shipping", "coupon", "shipping_tier", "payment_type", "search_term", "params",
]);
const UTM_KEYS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
const STORAGE_PREFIX = "cs_";
export const SESSION_TIMEOUT_MS = 30 * 60 * 1000;

function defaultUuid() {
  if (globalThis.crypto && typeof globalThis.crypto.randomUUID === "function") {
    return globalThis.crypto.randomUUID();
  }
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
  };
}

/** RFC 3339 UTC with milliseconds, the format the schema's pattern accepts. */
export function isoNow(now) {
  return new Date(now).toISOString();
}

/** True when the browser asks not to be tracked (DNT or Global Privacy Control). */
export function doNotTrack(nav) {
  if (!nav) return false;
  const dnt = nav.doNotTrack ?? nav.msDoNotTrack;
  return dnt === "1" || dnt === "yes" || nav.globalPrivacyControl === true;
}

export function createTracker(options) {
  const o = {
    batchSize: 20,
    flushIntervalMs: 5000,
    maxQueue: 500,
    maxRetries: 5,
    backoffBaseMs: 1000,
    backoffMaxMs: 30000,
    autoPageView: true,
    requireConsent: false,
    respectDoNotTrack: true,
    ...options,
  };
  if (!o.endpoint || !o.appId) throw new Error("createTracker: endpoint and appId are required");
  const env = {
    storage: o.storage ?? (globalThis.localStorage ?? memoryStorage()),
    fetch: o.fetch ?? globalThis.fetch?.bind(globalThis),
    sendBeacon: o.sendBeacon ?? (globalThis.navigator?.sendBeacon?.bind(globalThis.navigator)),
    setTimeout: o.setTimeout ?? globalThis.setTimeout.bind(globalThis),
    clearTimeout: o.clearTimeout ?? globalThis.clearTimeout.bind(globalThis),
    now: o.now ?? (() => Date.now()),
    uuid: o.uuid ?? defaultUuid,
    location: o.location ?? globalThis.location,
    document: o.document ?? globalThis.document,
    navigator: o.navigator ?? globalThis.navigator,
    window: o.window ?? globalThis.window,
  };

  let queue = [];
  let timer = null;
  let inflight = null;
  let consent = o.requireConsent ? env.storage.getItem(`${STORAGE_PREFIX}consent`) === "granted" : true;
  const blockedByDnt = o.respectDoNotTrack && doNotTrack(env.navigator);
  let userId = null;
  const stats = { sent: 0, dropped: 0, retries: 0 };

  const enabled = () => consent && !blockedByDnt;

  function anonymousId() {
    let id = env.storage.getItem(`${STORAGE_PREFIX}aid`);
    if (!id) {
      id = env.uuid();
      env.storage.setItem(`${STORAGE_PREFIX}aid`, id);
    }
    return id;
  }

  function sessionId() {
    const now = env.now();
    const last = Number(env.storage.getItem(`${STORAGE_PREFIX}slast`) || 0);
    let sid = env.storage.getItem(`${STORAGE_PREFIX}sid`);
    if (!sid || now - last > SESSION_TIMEOUT_MS) {
      sid = env.uuid();
      env.storage.setItem(`${STORAGE_PREFIX}sid`, sid);
    }
    env.storage.setItem(`${STORAGE_PREFIX}slast`, String(now));
    return sid;
  }

  function pageContext() {
    const loc = env.location;
    if (!loc || !loc.href) return null;
    const page = { url: String(loc.href).slice(0, 2048), path: String(loc.pathname || "/").slice(0, 1024) };
    if (env.document?.title) page.title = String(env.document.title).slice(0, 512);
    if (env.document?.referrer) page.referrer = String(env.document.referrer).slice(0, 2048);
    return page;
  }

  function utm() {
    const out = {};
    try {
      const params = new URL(env.location.href).searchParams;
      for (const k of UTM_KEYS) {
        const v = params.get(k);
        if (v) out[k] = v.slice(0, 256);
      }
    } catch {
      /* no location: no UTM */
    }
    return out;
  }

  function schedule() {
    if (timer === null && queue.length > 0) {
      timer = env.setTimeout(() => {
        timer = null;
        flush();
      }, o.flushIntervalMs);
    }
  }

  function track(name, params = {}) {
    if (!enabled()) return null;
    if (!EVENT_NAMES.includes(name)) throw new Error(`unknown event name: ${name}`);
    const event = {
      event_id: env.uuid(),
      event_name: name,
      event_ts: isoNow(env.now()),
      anonymous_id: anonymousId(),
      session_id: sessionId(),
      ...utm(),
    };
    const page = pageContext();
    if (page) event.page = page;
    if (userId) event.user_id = userId;
    for (const [k, v] of Object.entries(params)) {
      if (!ALLOWED_KEYS.has(k)) throw new Error(`unknown event parameter: ${k}`);
      if (v !== undefined) event[k] = v;
    }
    queue.push(event);
    if (queue.length > o.maxQueue) {
      stats.dropped += queue.length - o.maxQueue;
      queue = queue.slice(queue.length - o.maxQueue); // keep the newest
    }
    if (queue.length >= o.batchSize) flush();
    else schedule();
    return event.event_id;
  }

  function envelope(events) {
    return JSON.stringify({ app_id: o.appId, sent_at: isoNow(env.now()), events });
  }

  async function send(batch, attempt = 0) {
    let status = 0;
    try {
      const resp = await env.fetch(o.endpoint, {
        method: "POST",
        headers: { "content-type": "text/plain;charset=UTF-8" },
        body: envelope(batch),
        keepalive: true,
        credentials: "omit",
      });
      status = resp.status;
    } catch {
      status = 0; // network error
    }
    if (status >= 200 && status < 300) {
      stats.sent += batch.length;
      return;
    }
    if (status === 413 && batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      await send(batch.slice(0, half), attempt);
      await send(batch.slice(half), attempt);
      return;
    }
    const retryable = status === 0 || status === 429 || status >= 500;
    if (!retryable || attempt >= o.maxRetries) {
      stats.dropped += batch.length;
      return;
    }
    stats.retries += 1;
    const delay = Math.min(o.backoffMaxMs, o.backoffBaseMs * 2 ** attempt);
    await new Promise((resolve) => env.setTimeout(resolve, delay));
    await send(batch, attempt + 1); // same events, same event_ids
  }

  /** Send everything queued now; resolves when the batches are done (sent or given up). */
  function flush() {
    if (timer !== null) {
      env.clearTimeout(timer);
      timer = null;
    }
    if (!enabled() || queue.length === 0) return inflight ?? Promise.resolve();
    const batches = [];
    while (queue.length > 0) batches.push(queue.splice(0, o.batchSize));
    const previous = inflight ?? Promise.resolve();
    const run = previous.then(async () => {
      for (const b of batches) await send(b);
    });
    inflight = run.finally(() => {
      if (inflight === run) inflight = null;
    });
    return inflight;
  }

  /** Page is going away: hand the queue to sendBeacon (fetch would be cancelled). */
  function flushBeacon() {
    if (!enabled() || queue.length === 0) return;
    if (timer !== null) {
      env.clearTimeout(timer);
      timer = null;
    }
    const batches = [];
    while (queue.length > 0) batches.push(queue.splice(0, o.batchSize));
    for (const b of batches) {
      const ok = env.sendBeacon ? env.sendBeacon(o.endpoint, envelope(b)) : false;
      if (!ok) send(b); // beacon refused (quota): best effort with keepalive fetch
    }
  }

  function setConsent(granted) {
    consent = Boolean(granted);
    if (o.requireConsent) env.storage.setItem(`${STORAGE_PREFIX}consent`, consent ? "granted" : "denied");
    if (!consent) {
      queue = [];
      for (const k of ["aid", "sid", "slast"]) env.storage.removeItem(`${STORAGE_PREFIX}${k}`);
    }
  }

  function identify(id) {
    userId = id == null ? null : String(id).slice(0, 128);
  }

  function pageView(params = {}) {
    return track("page_view", params);
  }

  const onPageHide = () => flushBeacon();
  const onVisibility = () => {
    if (env.document?.visibilityState === "hidden") flushBeacon();
  };
  if (env.window?.addEventListener) {
    env.window.addEventListener("pagehide", onPageHide);
    env.document?.addEventListener?.("visibilitychange", onVisibility);
  }
  if (o.autoPageView && enabled()) pageView();

  return {
    track,
    pageView,
    flush,
    flushBeacon,
    setConsent,
    identify,
    get queueLength() {
      return queue.length;
    },
    get stats() {
      return { ...stats };
    },
    get enabled() {
      return enabled();
    },
    destroy() {
      if (timer !== null) env.clearTimeout(timer);
      env.window?.removeEventListener?.("pagehide", onPageHide);
      env.document?.removeEventListener?.("visibilitychange", onVisibility);
    },
  };
}
