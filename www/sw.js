// VAE Lab's service worker: the app works offline after the first visit.
//
// Served as /sw.js (its scope is the app's root) with this deploy's files and their content
// hashes in front (self.VAE_LAB_FILES, tools/offline.mjs). It keeps the page and its scripts at
// install, and every engine, weights file and digit part once the app has used it.
// - A cached file is served only while its hash is this deploy's: a new deploy never mixes old
//   JS with new wasm. The page is fetched from the network first (a deploy shows at once).
// - A kept file's bytes are hashed again each time it is served: a damaged entry (a disk error, a
//   cut-off write, anything else that wrote into the cache) is dropped and the file fetched again,
//   never served. A request that bypasses the HTTP cache (`cache: 'reload'`, the engine's retry
//   after a failed compile) bypasses this cache too.
// - A new deploy installs beside the old one and waits: the page offers a reload, and the new
//   service worker takes over only then (or when every tab of the app is closed).
const FILES = self.VAE_LAB_FILES;
const CACHE = 'vae-lab-v1';
const BASE = new URL('./', self.location.href);
/** What install keeps: the page, its scripts and styles, the digit manifest (small). */
const SHELL = Object.keys(FILES).filter((f) => f === 'index.html' || (f.startsWith('www/') && /\.(js|css|json)$/.test(f)));

/** The app's file a URL names ('index.html' for the root), or null for anything else. */
function fileOf(url) {
  const u = new URL(url);
  if (u.origin !== BASE.origin || !u.pathname.startsWith(BASE.pathname)) return null;
  const rel = u.pathname.slice(BASE.pathname.length) || 'index.html';
  return rel in FILES ? rel : null;
}

const keyOf = (file) => new URL(`${file}?v=${FILES[file]}`, BASE).href;

async function hashHex(buffer) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
  return Array.from(d.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Keep a response to `file` if it is this deploy's version. */
async function keep(file, res) {
  const body = await res.arrayBuffer();
  if ((await hashHex(body)) === FILES[file]) {
    const cache = await caches.open(CACHE);
    await cache.put(keyOf(file), new Response(body, { headers: res.headers }));
  } else {
    // the server already has a newer deploy than this service worker: do not keep it; the
    // browser fetches the new sw.js on the next navigation
    self.registration.update().catch(() => {});
  }
}

/**
 * Fetch `file` from the network (revalidating the HTTP cache) and keep it. The response goes
 * back at once, still streaming (the page shows download progress); keeping it finishes under
 * `waitUntil` (or is awaited, without an event).
 */
async function network(file, url = new URL(file, BASE).href, event = null) {
  const res = await fetch(url, { cache: 'no-cache' });
  if (res.status === 200) {
    const keeping = keep(file, res.clone()).catch(() => {});
    if (event) event.waitUntil(keeping);
    else await keeping;
  }
  return res;
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      for (const f of SHELL) if (!(await intact(f))) await network(f);
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      // drop every version that is not this deploy's (unchanged files keep their entries)
      const cache = await caches.open(CACHE);
      const current = new Set(Object.keys(FILES).map(keyOf));
      for (const req of await cache.keys()) if (!current.has(req.url)) await cache.delete(req);
      for (const name of await caches.keys()) if (name.startsWith('vae-lab-') && name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const file = fileOf(request.url);
  if (!file) return;
  if (file === 'index.html') {
    // the page: network first (a new deploy shows at once), the kept copy offline
    event.respondWith(network(file, request.url, event).catch(async () => (await intact(file)) ?? offline(file)));
    return;
  }
  event.respondWith(
    (async () => {
      const kept = request.cache === 'reload' || request.cache === 'no-store' ? null : await intact(file);
      if (kept) return kept;
      try {
        return await network(file, request.url, event);
      } catch {
        return offline(file);
      }
    })(),
  );
});

/** The kept copy of `file` if its bytes still hash to this deploy's version; a damaged one is dropped. */
async function intact(file) {
  const kept = await caches.match(keyOf(file));
  if (!kept) return null;
  const body = await kept.arrayBuffer().catch(() => null);
  if (body && (await hashHex(body)) === FILES[file])
    return new Response(body, { status: kept.status, statusText: kept.statusText, headers: kept.headers });
  const cache = await caches.open(CACHE);
  await cache.delete(keyOf(file));
  return null;
}

function offline(file) {
  return new Response(`VAE Lab: ${file} is not available offline (it was not used on an earlier visit)`, {
    status: 503,
    headers: { 'Content-Type': 'text/plain' },
  });
}

self.addEventListener('message', (event) => {
  const { type, urls, id } = event.data ?? {};
  if (type === 'skip-waiting') self.skipWaiting();
  if (type === 'keep' && Array.isArray(urls)) {
    // files the app loaded before this service worker controlled it (a first visit's Worker)
    event.waitUntil(
      (async () => {
        for (const url of urls) {
          const file = fileOf(url);
          if (file && !(await intact(file))) await network(file).catch(() => {});
        }
        event.source?.postMessage({ type: 'kept', urls, id });
      })(),
    );
  }
});
