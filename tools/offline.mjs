// The service worker as served: www/sw.js with the deploy's file list and content hashes put in
// front. The dev server builds it per request (so an edited file is a new deploy at once); the
// static export writes it to sw.js. A new deploy is a new sw.js, which the browser picks up.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

/** Everything the page, its Worker and its panels may fetch, relative to the app's root. */
export function offlineFiles(root) {
  const files = ['index.html'];
  const walk = (dir, keep) => {
    const full = path.join(root, dir);
    if (!fs.existsSync(full)) return;
    for (const e of fs.readdirSync(full, { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel, keep);
      else if (keep(rel)) files.push(rel);
    }
  };
  walk(
    'www',
    (f) =>
      (/\.(js|css|woff2)$/.test(f) && !f.endsWith('/sw.js')) ||
      /data\/(mnist|fashion)-subset(-test|-train)\.bin$|data\/(mnist|fashion)-subset\.json$/.test(f),
  );
  walk('pkg', (f) => /vae_lab_(cpu|gpu)(_bg\.wasm|\.js)$/.test(f));
  walk('weights', (f) => /\/[A-Z]\.bin$/.test(f));
  return files.filter((f) => fs.existsSync(path.join(root, f))).sort();
}

const cache = new Map();
/** sha-256 of a file, first 16 hex digits (cached by size and mtime). */
function hashOf(file) {
  const st = fs.statSync(file);
  const key = `${file}:${st.size}:${st.mtimeMs}`;
  if (!cache.has(key)) cache.set(key, crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16));
  return cache.get(key);
}

/** The text of sw.js for the app in `root`. */
export function serviceWorker(root) {
  const files = Object.fromEntries(offlineFiles(root).map((f) => [f, hashOf(path.join(root, f))]));
  const version = crypto.createHash('sha256').update(JSON.stringify(files)).digest('hex').slice(0, 12);
  const head =
    `// generated for this deploy by tools/offline.mjs\nself.VAE_LAB_VERSION = ` +
    `${JSON.stringify(version)};\nself.VAE_LAB_FILES = ${JSON.stringify(files, null, 1)};\n`;
  return head + fs.readFileSync(path.join(root, 'www/sw.js'), 'utf8');
}
