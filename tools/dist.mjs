// Write a self-contained static folder (page, wasm, weights, data, examples) that any static
// host can serve, with the brotli and gzip copy of each compressible file beside it (hosts that
// serve precompressed files send them; tools/precompress.mjs):  node tools/dist.mjs [--out dist]
import fs from 'node:fs';
import path from 'node:path';
import { HEADERS } from './serve.mjs';
import { serviceWorker } from './offline.mjs';
import { precompressAll } from './precompress.mjs';
const i = process.argv.indexOf('--out');
const out = i >= 0 ? process.argv[i + 1] : 'dist';
const need = [
  'index.html',
  'report.html',
  'www/vendor/uPlot.esm.js',
  'pkg/vae_lab_cpu_bg.wasm',
  'pkg/vae_lab_gpu_bg.wasm',
  'www/data/mnist-subset.json',
  'www/data/mnist-subset-train.bin',
  'www/data/mnist-subset-test.bin',
  'www/data/fashion-subset.json',
  'weights/C.bin',
  'weights/C2.bin',
  'weights/fashion/C.bin',
];
for (const f of need) {
  if (!fs.existsSync(f)) {
    console.error(`missing ${f}: run \`make build\` first`);
    process.exit(1);
  }
}
// the copies are made here, where they stay (only changed files are compressed again), and
// travel with their sources' times: a server serves a copy only while its time is its source's
await precompressAll('.');
fs.rmSync(out, { recursive: true, force: true });
const copy = (from, filter = () => true) => fs.cpSync(from, path.join(out, from), { recursive: true, filter, preserveTimestamps: true });
const withCopies = (f) => f.replace(/\.(br|gz)$/, '');
for (const page of ['index.html', 'report.html']) {
  copy(page);
  for (const ext of ['.br', '.gz']) if (fs.existsSync(`${page}${ext}`)) copy(`${page}${ext}`);
}
// the page fetches the digits in two parts; the combined file is the CLI's
copy('www', (f) => !/(mnist|fashion)-subset\.bin$/.test(withCopies(f)) && !f.endsWith('.tmp'));
copy('examples', (f) => !f.endsWith('.tmp'));
// the two engines the page loads (not the measuring-only no-fusion and Flex builds)
copy('pkg', (f) => !f.endsWith('.d.ts') && !f.endsWith('.gitignore') && !f.endsWith('.tmp') && !/nofusion|flex/.test(f));
copy('weights', (f) => fs.statSync(f).isDirectory() || withCopies(f).endsWith('.bin'));
// the service worker (offline use), with the hashes of exactly these files
fs.writeFileSync(path.join(out, 'sw.js'), serviceWorker(out));
// Netlify / Cloudflare Pages read _headers (the dev server's headers, CSP included); other hosts:
// index.html carries the same Content-Security-Policy in a meta tag.
fs.writeFileSync(
  path.join(out, '_headers'),
  `/*\n${Object.entries(HEADERS)
    .map(([k, v]) => `  ${k}: ${v}\n`)
    .join('')}`,
);
let bytes = 0;
let copies = 0;
const walk = (d) =>
  fs.readdirSync(d, { withFileTypes: true }).forEach((e) => {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.(br|gz)$/.test(p)) copies += fs.statSync(p).size;
    else bytes += fs.statSync(p).size;
  });
walk(out);
console.log(
  `wrote ${out}/ (${(bytes / 1e6).toFixed(1)} MB, and ${(copies / 1e6).toFixed(1)} MB of ` +
    `.br/.gz copies): serve it with any static server, e.g. node tools/serve.mjs --root ${out}`,
);
