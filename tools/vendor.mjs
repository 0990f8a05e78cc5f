// Copy the page's two libraries from node_modules into www/vendor/ so the page loads them from
// its own origin without a bundler: uPlot (charts, MIT) and KaTeX (the panels' formulas, MIT;
// loaded only when an explanation is opened).
import fs from 'node:fs';
const out = 'www/vendor';
fs.mkdirSync(`${out}/fonts`, { recursive: true });
const copies = [
  ['node_modules/uplot/dist/uPlot.esm.js', 'uPlot.esm.js'],
  ['node_modules/uplot/dist/uPlot.min.css', 'uPlot.min.css'],
  ['node_modules/uplot/LICENSE', 'uPlot.LICENSE'],
  ['node_modules/katex/dist/katex.mjs', 'katex.esm.js'],
  ['node_modules/katex/dist/katex.min.css', 'katex.min.css'],
  ['node_modules/katex/LICENSE', 'katex.LICENSE'],
  // woff2 only: every browser that runs WebAssembly reads it (the CSS lists woff/ttf after it)
  ...fs
    .readdirSync('node_modules/katex/dist/fonts')
    .filter((f) => f.endsWith('.woff2'))
    .map((f) => [`node_modules/katex/dist/fonts/${f}`, `fonts/${f}`]),
];
for (const [from, to] of copies) fs.copyFileSync(from, `${out}/${to}`);
const version = (p) => JSON.parse(fs.readFileSync(`node_modules/${p}/package.json`)).version;
console.log(`vendored uPlot ${version('uplot')} and KaTeX ${version('katex')} into ${out}/`);
