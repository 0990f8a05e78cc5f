// Write a self-contained static folder (page, wasm, weights, data, examples) that any static
// host can serve:  node tools/dist.mjs [--out dist]
import fs from 'node:fs';
import path from 'node:path';
import { HEADERS } from './serve.mjs';
import { serviceWorker } from './offline.mjs';
const i = process.argv.indexOf('--out');
const out = i >= 0 ? process.argv[i + 1] : 'dist';
const need = ['index.html', 'www/vendor/uPlot.esm.js', 'pkg/vae_lab_cpu_bg.wasm', 'pkg/vae_lab_gpu_bg.wasm', 'www/data/mnist-subset.json',
  'www/data/mnist-subset-train.bin', 'www/data/mnist-subset-test.bin', 'www/data/fashion-subset.json', 'weights/C.bin', 'weights/fashion/C.bin'];
for (const f of need) {
  if (!fs.existsSync(f)) {
    console.error(`missing ${f}: run \`make build\` first`);
    process.exit(1);
  }
}
fs.rmSync(out, { recursive: true, force: true });
const copy = (from, filter = () => true) => fs.cpSync(from, path.join(out, from), { recursive: true, filter });
copy('index.html');
// the page fetches the digits in two parts; the combined file is the CLI's
copy('www', (f) => !/(mnist|fashion)-subset\.bin$/.test(f));
copy('examples');
// the two engines the page loads (not the measuring-only no-fusion and Flex builds)
copy('pkg', (f) => !f.endsWith('.d.ts') && !f.endsWith('.gitignore') && !/nofusion|flex/.test(f));
copy('weights', (f) => fs.statSync(f).isDirectory() || f.endsWith('.bin'));
// the service worker (offline use), with the hashes of exactly these files
fs.writeFileSync(path.join(out, 'sw.js'), serviceWorker(out));
// Netlify / Cloudflare Pages read _headers (the dev server's headers, CSP included); other hosts:
// index.html carries the same Content-Security-Policy in a meta tag.
fs.writeFileSync(path.join(out, '_headers'), `/*\n${Object.entries(HEADERS).map(([k, v]) => `  ${k}: ${v}\n`).join('')}`);
let bytes = 0;
const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => {
  const p = path.join(d, e.name);
  if (e.isDirectory()) walk(p); else bytes += fs.statSync(p).size;
});
walk(out);
console.log(`wrote ${out}/ (${(bytes / 1e6).toFixed(1)} MB): serve it with any static server, e.g. node tools/serve.mjs --root ${out}`);
