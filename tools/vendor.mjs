// Copy the chart library (uPlot, MIT) from node_modules into www/vendor/ so the page loads it
// from its own origin without a bundler.
import fs from 'node:fs';
const out = 'www/vendor';
fs.mkdirSync(out, { recursive: true });
for (const [from, to] of [
  ['node_modules/uplot/dist/uPlot.esm.js', 'uPlot.esm.js'],
  ['node_modules/uplot/dist/uPlot.min.css', 'uPlot.min.css'],
  ['node_modules/uplot/LICENSE', 'uPlot.LICENSE'],
]) {
  fs.copyFileSync(from, `${out}/${to}`);
}
console.log(`vendored uPlot ${JSON.parse(fs.readFileSync('node_modules/uplot/package.json')).version} into ${out}/`);
