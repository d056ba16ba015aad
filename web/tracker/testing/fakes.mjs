// Deterministic stand-ins for the browser: storage, clock, timers, fetch, beacon, window.
export function fakeEnv({ statuses = [], dnt, gpc } = {}) {
  const store = new Map();
  const timers = [];
  let now = Date.parse("2026-11-22T04:31:00.000Z");
  let n = 0;
  const calls = [];
  const beacons = [];
  const listeners = {};
  const env = {
    storage: {
      getItem: (k) => (store.has(k) ? store.get(k) : null),
      setItem: (k, v) => store.set(k, String(v)),
      removeItem: (k) => store.delete(k),
    },
    store,
    now: () => now,
    advance(ms) {
      now += ms;
    },
    uuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
    setTimeout: (fn, ms) => {
      const t = { fn, at: now + ms, done: false };
      timers.push(t);
      return t;
    },
    clearTimeout: (t) => {
      if (t) t.done = true;
    },
    async runTimers() {
      // Fire due timers (and those they schedule) until none are left, advancing the clock.
      for (let guard = 0; guard < 1000; guard++) {
        const pending = timers.filter((t) => !t.done).sort((a, b) => a.at - b.at);
        if (pending.length === 0) return;
        const t = pending[0];
        t.done = true;
        now = Math.max(now, t.at);
        t.fn();
        await new Promise((r) => setImmediate(r));
      }
    },
    /** Run fake timers (advancing the clock) until ``promise`` settles; returns its value. */
    async drive(promise) {
      let settled = false;
      const watched = promise.finally(() => {
        settled = true;
      });
      for (let guard = 0; guard < 1000 && !settled; guard++) {
        await new Promise((r) => setImmediate(r)); // let fetch promises and awaits progress
        if (settled) break;
        const pending = timers.filter((t) => !t.done).sort((a, b) => a.at - b.at);
        if (pending.length === 0) continue;
        const t = pending[0];
        t.done = true;
        now = Math.max(now, t.at);
        t.fn();
      }
      return watched;
    },
    pendingTimers: () => timers.filter((t) => !t.done).length,
    fetch: async (url, init) => {
      calls.push({ url, init, body: JSON.parse(init.body) });
      const s = statuses.length ? statuses.shift() : 200;
      if (s === "network") throw new TypeError("Failed to fetch");
      return { status: s };
    },
    calls,
    sendBeacon: (url, body) => {
      beacons.push({ url, body: JSON.parse(body) });
      return true;
    },
    beacons,
    location: { href: "https://shop.example.com/laptops?utm_source=news&utm_medium=email", pathname: "/laptops" },
    document: {
      title: "Laptops",
      referrer: "https://search.example/",
      visibilityState: "visible",
      addEventListener: (ev, fn) => ((listeners[ev] ||= []).push(fn)),
      removeEventListener: () => {},
    },
    navigator: { doNotTrack: dnt, globalPrivacyControl: gpc },
    window: { addEventListener: (ev, fn) => ((listeners[ev] ||= []).push(fn)), removeEventListener: () => {} },
    fire: (ev) => (listeners[ev] || []).forEach((fn) => fn()),
  };
  return env;
}

export const BASE = { endpoint: "https://api.example.com/v1/events", appId: "shop-web" };
