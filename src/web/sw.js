// Service worker of a page that runs the engine in the browser (registered by app.js in local mode
// only): every same-origin GET is fetched from the network when it can be and kept in a cache, and
// answered from that cache when the network is gone — so the page, the engine (engine/, listed in
// engine/manifest.json by the build) and, through OPFS, the model all work offline on the next visit.
/* global self, caches, fetch, URL, Response */
const CACHE = 'phi3-page-v1';
const PAGE = ['./', './index.html', './app.js', './api.js', './local.js', './models.js', './view.js', './store.js', './markdown.js', './style.css', './favicon.svg', './vendor/marked.esm.js', './engine/manifest.json'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(PAGE);
      const manifest = await (await cache.match('./engine/manifest.json')).json();
      await cache.addAll(manifest.files.map((f) => `./engine/${f}`));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  // model downloads go to OPFS (models.js), not into this cache as well
  if (req.method !== 'GET' || url.origin !== self.location.origin || /\.gguf$/i.test(url.pathname)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const res = await fetch(req);
        if (res.ok) await cache.put(req, res.clone());
        return res;
      } catch {
        const hit = await cache.match(req, { ignoreSearch: true });
        if (hit) return hit;
        return Response.error();
      }
    })(),
  );
});
