// Default configuration for serving the shop as plain files. `make demo` serves its own
// config.js with the ingest URL of the local HTTP API and the app id it registered.
window.SHOP_CONFIG = {
  endpoint: "http://127.0.0.1:8001/v1/events",
  appId: "demo-shop",
  currency: "USD",
};
