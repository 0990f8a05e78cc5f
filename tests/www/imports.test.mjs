// No import cycle in www/ (static imports, re-exports and dynamic imports alike), and no module
// of the API over ~250 lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WWW_ROOT, appScripts } from './app-scripts.mjs';

const root = WWW_ROOT;
const files = appScripts();

/** The www/ files `file` imports: `from '...'`, `import '...'`, `import('...')`, and
 *  `import(`./panels/${id}.js`)` (every file its folder holds). */
function importsOf(file) {
  const text = fs.readFileSync(file, 'utf8');
  const dir = path.dirname(file);
  const out = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)'(\.{1,2}\/[^']+)'/g)) out.push(path.resolve(dir, m[1]));
  for (const m of text.matchAll(/\bimport\(\s*`(\.{1,2}\/[^`$]*)\$\{[^}]+\}([^`]*)`\s*\)/g)) {
    const folder = path.resolve(dir, m[1]);
    for (const f of files) if (f.startsWith(folder) && f.endsWith(m[2])) out.push(f);
  }
  return out.filter((f) => f.startsWith(root) && !f.includes(`${path.sep}vendor${path.sep}`));
}

test('no import cycle in www/', () => {
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const state = new Map(); // 1: on the current path, 2: done
  const cycles = [];
  const visit = (f, trail) => {
    if (state.get(f) === 2) return;
    if (state.get(f) === 1) {
      cycles.push([...trail.slice(trail.indexOf(f)), f].map((x) => path.relative(root, x)).join(' -> '));
      return;
    }
    state.set(f, 1);
    for (const g of graph.get(f) ?? []) visit(g, [...trail, f]);
    state.set(f, 2);
  };
  for (const f of files) visit(f, []);
  assert.deepEqual(cycles, []);
  // the check sees the imports it must: the facade's, and the element's lazy one
  assert.ok(graph.get(path.join(root, 'vaelab.js')).includes(path.join(root, 'element.js')));
  assert.ok(graph.get(path.join(root, 'element.js')).includes(path.join(root, 'element-panel.js')));
  assert.ok(graph.get(path.join(root, 'element-panel.js')).includes(path.join(root, 'panels/map.js')));
});

test("the API's modules (www/vaelab.js, www/lab/) are small", () => {
  const api = files.filter((f) => f.includes(`${path.sep}lab${path.sep}`) || f.endsWith(`${path.sep}vaelab.js`));
  const long = api.map((f) => [path.relative(root, f), fs.readFileSync(f, 'utf8').split('\n').length]).filter(([, n]) => n > 260);
  assert.deepEqual(long, []);
});
