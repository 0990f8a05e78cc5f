// Static server for VAE Lab: correct MIME types (application/wasm), the Content-Security-Policy
// and the cross-origin isolation headers. It serves only the app's own files (the page, www/,
// pkg/, weights/, examples/), never .git, target/ or the sources; a malformed path gets a 400.
// Compressed by default: a request whose Accept-Encoding allows it gets the brotli or gzip copy
// that the build wrote beside the file (tools/precompress.mjs), as a static host would serve it;
// a file without a copy that decodes to its bytes (checked once per change) goes out as it is.
// No dependencies.
//   node tools/serve.mjs [--port 8080] [--root .] [--gzip | --identity]
//   --gzip: compress on the fly instead (no Content-Length, as nginx does); --identity: never compress
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { serviceWorker } from './offline.mjs';
import { promisify } from 'node:util';
import { ENCODINGS } from './precompress.mjs';

const brotliDecompress = promisify(zlib.brotliDecompress);
const gunzip = promisify(zlib.gunzip);

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.bin': 'application/octet-stream',
  '.woff2': 'font/woff2',
};

/** No inline script and no eval anywhere; wasm may compile ('wasm-unsafe-eval'). Inline styles
 *  stay allowed (uPlot and the panels set element styles). No frame-ancestors: course pages on
 *  any host may embed a panel by iframe. The same policy is in index.html's meta tag and in the
 *  static export's _headers. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  // https: a `?bundle=` .vaelab may live on a course's own site (bundle-ui.js fetches it, without
  // credentials, capped; the engine checks every byte of it)
  "connect-src 'self' https:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

/** Every file is public and static, so any origin may load it: a course page on another host
 *  imports the API (a CORS module load), its Worker fetches the engines, weights and data (CORS),
 *  and a page that is itself cross-origin isolated may embed them (CORP cross-origin). The
 *  app's own page stays isolated (COOP/COEP); it loads nothing from other origins. */
export const HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': CSP,
};

/** What may be served, relative to the root: the page and the app's folders, by extension. */
const ALLOWED = [
  { prefix: 'index.html', exts: ['.html'] },
  { prefix: 'report.html', exts: ['.html'] },
  { prefix: 'www/', exts: ['.js', '.css', '.bin', '.json', '.png', '.svg', '.woff2'] },
  { prefix: 'pkg/', exts: ['.js', '.wasm'] },
  { prefix: 'weights/', exts: ['.bin'] },
  { prefix: 'examples/', exts: ['.html', '.js', '.css'] },
  { prefix: 'docs/', exts: ['.png'] },
];

/** The file a request path names, or an HTTP status: 400 for a malformed path, 404 otherwise. */
export function resolvePath(urlPath, base) {
  let rel;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return 400;
  }
  const parts = rel.split('/').slice(1);
  // NUL, backslashes and dot segments are never part of a link the app makes
  if (!rel.startsWith('/') || /[\0\\]/.test(rel) || parts.some((p) => p === '.' || p === '..')) return 400;
  if (parts.some((p) => p.startsWith('.'))) return 404; // .git, .cargo, .ci, ...
  let name = parts.join('/');
  if (name === '' || name.endsWith('/')) name += 'index.html';
  const ok = ALLOWED.some(
    (a) =>
      (name === a.prefix || (a.prefix.endsWith('/') && name.startsWith(a.prefix))) && a.exts.includes(path.extname(name).toLowerCase()),
  );
  if (!ok) return 404;
  return path.join(base, name);
}

/** The encodings of the precompressed copies that a request's Accept-Encoding allows, best first
 *  (brotli, then gzip); none for a Range request, which is about the plain file's bytes. */
export function acceptedEncodings(headers) {
  if (headers.range) return [];
  const q = new Map();
  for (const part of String(headers['accept-encoding'] ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    q.set(name, qp ? Number(qp.slice(2)) : 1);
  }
  const ok = (name) => (q.has(name) ? q.get(name) > 0 : (q.get('*') ?? 0) > 0);
  return ENCODINGS.filter((e) => ok(e.name));
}

/** Validators of one representation: a copy's ETag names its encoding, so the plain file's and each
 *  copy's never match each other. */
const validatorsOf = (st, encoding = null) => ({
  ETag: `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}${encoding ? `-${encoding}` : ''}"`,
  'Last-Modified': st.mtime.toUTCString(),
  'Cache-Control': 'no-cache',
});

/** Per copy: the stats it was checked at and whether it decodes to its source's bytes. */
const checked = new Map();
/** Whether the copy at `copyPath` holds exactly `file`'s bytes: decoded once per change of
 *  either (a source edited after the build, or a copy of the folder that reset every file's
 *  time, must never get an old copy served). */
function decodesToSource(file, st, copyPath, cst, encoding) {
  const key = `${cst.size}:${cst.mtimeMs}:${st.size}:${st.mtimeMs}`;
  const known = checked.get(copyPath);
  if (known?.key === key) return known.ok;
  const ok = (async () => {
    try {
      const [source, packed] = await Promise.all([fs.promises.readFile(file), fs.promises.readFile(copyPath)]);
      return (encoding === 'br' ? await brotliDecompress(packed) : await gunzip(packed)).equals(source);
    } catch {
      return false;
    }
  })();
  checked.set(copyPath, { key, ok });
  return ok;
}

/** The precompressed copy of `file` for the first encoding in `encodings` that has a good one
 *  (tools/precompress.mjs writes them at build), or null. */
async function copyOf(file, st, encodings) {
  for (const { name, ext } of encodings) {
    const cst = await fs.promises.stat(file + ext).catch(() => null);
    if (cst?.isFile() && (await decodesToSource(file, st, file + ext, cst, name))) return { encoding: name, path: file + ext, st: cst };
  }
  return null;
}

/** `gzip`: compress on the fly, without a Content-Length, as nginx does (the page must still
 *  show its downloads ending). `precompressed` (the default): serve the build's .br/.gz copies. */
export function startServer({
  port = 8080,
  root = '.',
  host = '127.0.0.1',
  quiet = false,
  gzip = false,
  precompressed = true,
  onResponse = null,
} = {}) {
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    const fail = (status) =>
      res.writeHead(status, { 'Content-Type': 'text/plain', ...HEADERS }).end(status === 400 ? 'bad request' : 'not found');
    if (req.method === 'OPTIONS') {
      // a CORS preflight (a host's fetch with custom headers): GET and HEAD only
      res
        .writeHead(204, {
          'Access-Control-Allow-Methods': 'GET, HEAD',
          'Access-Control-Allow-Headers': '*',
          'Access-Control-Max-Age': '86400',
          ...HEADERS,
        })
        .end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', ...HEADERS }).end();
      return;
    }
    // the raw request target: URL() would quietly resolve the dot segments we refuse
    // onResponse(path, status): lets tests count what was really sent (200) or revalidated (304)
    if (onResponse) res.on('finish', () => onResponse(req.url.split(/[?#]/)[0], res.statusCode, req.headers.origin ?? null));
    const urlPath = req.url.split(/[?#]/)[0];
    if (urlPath === '/sw.js') {
      // the service worker, with this deploy's file hashes (tools/offline.mjs)
      let text;
      try {
        text = serviceWorker(base);
      } catch {
        return fail(404);
      }
      res.writeHead(200, { 'Content-Type': TYPES['.js'], 'Cache-Control': 'no-cache', ...HEADERS });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    const file = resolvePath(urlPath, base);
    if (typeof file === 'number') return fail(file);
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) return fail(404);
      const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      const encodings = precompressed && !gzip && !type.startsWith('image/') ? acceptedEncodings(req.headers) : [];
      copyOf(file, st, encodings)
        .then((copy) => {
          // validators: a second visit revalidates (no-cache) and gets a bodiless 304 for every file
          // that has not changed, instead of downloading it again
          const validators = validatorsOf(copy ? copy.st : st, copy?.encoding);
          // the answer depends on Accept-Encoding wherever the server may compress
          const vary = precompressed || gzip ? { Vary: 'Accept-Encoding' } : {};
          const known = req.headers['if-none-match'];
          if (known && known.split(',').some((t) => t.trim() === validators.ETag)) {
            res.writeHead(304, { ...validators, ...vary, ...HEADERS }).end();
            return;
          }
          const compress = gzip && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '') && !type.startsWith('image/');
          const encoded = copy || compress;
          res.writeHead(200, {
            'Content-Type': type,
            ...(copy
              ? { 'Content-Encoding': copy.encoding, 'Content-Length': copy.st.size }
              : compress
                ? { 'Content-Encoding': 'gzip' }
                : { 'Content-Length': st.size }),
            // the size the page's fetch will count (it sees the decoded body): its progress stays
            // honest where Content-Length counts compressed bytes or is missing
            ...(encoded ? { 'X-Decoded-Length': st.size, 'Access-Control-Expose-Headers': 'Content-Encoding, X-Decoded-Length' } : {}),
            ...vary,
            ...validators,
            ...HEADERS,
          });
          if (req.method === 'HEAD') return res.end();
          const body = fs.createReadStream(copy ? copy.path : file).on('error', () => res.destroy());
          (compress ? body.pipe(zlib.createGzip({ level: 6 })) : body).pipe(res);
        })
        .catch(() => res.destroy());
    });
  });
  // a malformed request line must not take the server down
  server.on('clientError', (_e, socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  return new Promise((resolve) => {
    server.listen(port, host, () => {
      const url = `http://${host}:${server.address().port}/`;
      if (!quiet) console.log(`VAE Lab: serving ${base} at ${url}`);
      resolve({ server, url });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  await startServer({
    port: Number(arg('--port', process.env.PORT ?? 8080)),
    root: arg('--root', '.'),
    gzip: process.argv.includes('--gzip'),
    precompressed: !process.argv.includes('--identity'),
  });
}
