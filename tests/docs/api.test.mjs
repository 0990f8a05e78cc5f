// docs/api.md is checked against the code, as docs/wasm-api.md is against the bindings:
// - the methods and properties of the object createVaeLab() returns, of a view and of a run's
//   handle are read from the real objects (www/vaelab.js imported in Node with a fake Worker, so
//   the check holds wherever the code that builds them lives), and must be exactly those the
//   reference lists;
// - the <vae-lab> attributes, the link parameters, the events and the error kinds are read from
//   the source text of every www/ module (not one file: the code may move between them).
// Names starting with `_` are test hooks, not API.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WWW_ROOT, appScripts } from '../www/app-scripts.mjs';

const doc = fs.readFileSync('docs/api.md', 'utf8');

/** The text of docs/api.md from the heading that starts with `title` to the next heading of that
 *  level or above. */
function section(title) {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => /^#+ /.test(l) && l.replace(/^#+ /, '').startsWith(title));
  assert.ok(start >= 0, `docs/api.md has no section '${title}'`);
  const level = /^#+/.exec(lines[start])[0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)[0].length <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}
/** Table rows of a text: lines that start with '| `'. */
const rows = (text) => text.split('\n').filter((l) => l.startsWith('| `'));
/** The backticked names in the first cell of each table row. */
const firstCellNames = (text) => new Set(rows(text).flatMap((l) => [...l.split('|')[1].matchAll(/`([\w-]+)`/g)].map((m) => m[1])));
/** `prefix.name` mentions in the table rows of a text (methods: followed by '('). */
function mentions(text, prefix, { calls }) {
  const re = new RegExp(`\\b${prefix}\\.([a-zA-Z]\\w*)${calls ? '\\(' : '\\b'}`, 'g');
  return new Set(rows(text).flatMap((l) => [...l.split('|')[1].matchAll(re)].map((m) => m[1])));
}

/** Every JavaScript module of the app (not the vendored libraries), as text. */
const www = appScripts().map((f) => ({ file: path.join('www', path.relative(WWW_ROOT, f)), text: fs.readFileSync(f, 'utf8') }));
const matchesIn = (files, re) => new Set(files.flatMap(({ text }) => [...text.matchAll(re)].map((m) => m[1])));
const sorted = (set) => [...set].sort();
const missing = (a, b) => sorted(a).filter((x) => !b.has(x));
const isApi = (name) => !name.startsWith('_');

/** Build the real objects with a Worker that answers only `init`. */
async function realObjects() {
  // the Worker's URL is a file: URL; the same origin, so no blob shim (and no timer to revoke it)
  globalThis.location ??= { origin: new URL('../../www/worker.js', import.meta.url).origin };
  const posted = [];
  globalThis.Worker = class {
    postMessage(message) {
      posted.push(message.op);
      if (message.op !== 'init') return;
      const result = {
        backend: 'cpu',
        fallbackReason: null,
        gpu: null,
        data: { name: 'mnist', n_test: 1 },
        constants: { presets: [{ name: 'C', hidden: [64], params: 1 }], limits: {} },
      };
      queueMicrotask(() => this.onmessage?.({ data: { id: message.id, ok: true, result } }));
    }
    terminate() {}
  };
  const api = await import('../../www/vaelab.js');
  assert.equal(typeof api.createVaeLab, 'function', 'www/vaelab.js exports createVaeLab');
  assert.equal(typeof api.sharedVaeLab, 'function', 'www/vaelab.js exports sharedVaeLab');
  const lab = api.createVaeLab({ persistRuns: false });
  await lab.ready;
  const view = lab.view();
  const run = lab.train({ arch: 'C' });
  const objects = { lab, view, run };
  lab.terminate();
  return objects;
}
const objects = await realObjects();
/** Every property name of `o`, its own and its prototypes' (a class or Object.create may hold
 *  the methods), without Object.prototype's. */
function names(o) {
  const all = new Set();
  for (let p = o; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) if (k !== 'constructor') all.add(k);
  }
  return [...all];
}
const methods = (o) => new Set(names(o).filter((k) => typeof o[k] === 'function' && isApi(k)));

test('docs/api.md lists every method of the object createVaeLab() returns, and no other', () => {
  const documented = mentions(section('Methods'), 'lab', { calls: true });
  const real = methods(objects.lab);
  assert.deepEqual(missing(real, documented), [], 'methods missing from docs/api.md');
  assert.deepEqual(missing(documented, real), [], 'documented methods that the object does not have');
});

test('docs/api.md lists every property of the object createVaeLab() returns, and no other', () => {
  const documented = firstCellNames(section('Properties'));
  const real = new Set(names(objects.lab).filter((k) => typeof objects.lab[k] !== 'function' && isApi(k)));
  assert.deepEqual(missing(real, documented), [], 'properties missing from docs/api.md');
  assert.deepEqual(missing(documented, real), [], 'documented properties that the object does not have');
});

test("docs/api.md lists every member of a run's handle, and no other", () => {
  const documented = mentions(section("A run's handle"), 'run', { calls: false });
  const real = new Set(names(objects.run).filter(isApi));
  assert.deepEqual(missing(real, documented), [], 'handle members missing from docs/api.md');
  assert.deepEqual(missing(documented, real), [], 'documented handle members that do not exist');
});

test("a view has the lab's methods, and those of its own are documented", () => {
  const labs = methods(objects.lab);
  const own = missing(methods(objects.view), labs);
  const documented = mentions(section('Views'), 'view', { calls: true });
  assert.deepEqual(
    own.filter((m) => !documented.has(m)),
    [],
    'view methods missing from docs/api.md',
  );
  assert.deepEqual(missing(documented, methods(objects.view)), [], 'documented view methods that do not exist');
  // every method of the engine is reachable through a view (it inherits them)
  assert.deepEqual(
    sorted(labs).filter((m) => typeof objects.view[m] !== 'function'),
    [],
    'lab methods a view lacks',
  );
});

test('docs/api.md lists every <vae-lab> attribute the code reads, and no other', () => {
  const documented = firstCellNames(section('The `<vae-lab>` element'));
  const observed = new Set(
    www.flatMap(({ text }) =>
      [...text.matchAll(/observedAttributes\s*=\s*\[([^\]]*)\]/g)].flatMap((m) => [...m[1].matchAll(/'([\w-]+)'/g)].map((n) => n[1])),
    ),
  );
  assert.ok(observed.size > 0, 'no observedAttributes found in www/');
  // attributes the element code reads (the panels read their state through the link parameters;
  // aria-* and data-* are the DOM's own)
  const read = new Set(
    [
      ...matchesIn(
        www.filter(({ file }) => !file.includes(`${path.sep}panels${path.sep}`)),
        /(?:\.(?:get|has)Attribute|\battribute)\('([\w-]+)'\)/g,
      ),
    ].filter((a) => !/^(?:aria|data)-/.test(a)),
  );
  const code = new Set([...observed, ...read]);
  assert.deepEqual(missing(code, documented), [], 'attributes missing from docs/api.md');
  assert.deepEqual(missing(documented, code), [], 'documented attributes the code never reads');
});

test('docs/api.md lists every link parameter the page reads or writes, and no other', () => {
  const documented = firstCellNames(section('The iframe and'));
  const code = matchesIn(www, /\b(?:param|setParam|linked|params\.get|params\.has)\('([\w-]+)'/g);
  assert.ok(code.size > 10, 'too few link parameters found in www/: has the code changed how it reads them?');
  assert.deepEqual(missing(code, documented), [], 'link parameters missing from docs/api.md');
  assert.deepEqual(missing(documented, code), [], 'documented link parameters the code never reads');
});

test('docs/api.md lists every event the engine and the API emit, and no other', () => {
  const documented = firstCellNames(section('Events'));
  const code = matchesIn(www, /\b(?:emit\(|event\(|event:)\s*'([\w-]+)'/g);
  assert.deepEqual(missing(code, documented), [], 'events missing from docs/api.md');
  assert.deepEqual(missing(documented, code), [], 'documented events that nothing emits');
});

test('docs/api.md lists every error kind, and each exists in the code', () => {
  const documented = firstCellNames(section('Errors'));
  // the element's progress events carry a kind too ('download' | 'train'): not an error
  const progressKinds = new Set(['download', 'train']);
  const js = new Set([...matchesIn(www, /\bkind:\s*'([\w-]+)'/g)].filter((k) => !progressKinds.has(k)));
  assert.deepEqual(missing(js, documented), [], 'error kinds thrown in www/ missing from docs/api.md');
  const rust = (dir) =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? rust(p) : e.name.endsWith('.rs') ? [fs.readFileSync(p, 'utf8')] : [];
      })
      .join('\n');
  const engine = rust('src');
  const unknown = sorted(documented).filter((k) => !js.has(k) && !engine.includes(`"${k}"`));
  assert.deepEqual(unknown, [], 'documented error kinds found neither in www/ nor in src/');
});

/** Relative links of a markdown file that name no file (resolved from the file's folder). */
function brokenLinks(file) {
  const text = fs.readFileSync(file, 'utf8');
  const links = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
  return links.filter((l) => !fs.existsSync(path.join(path.dirname(file), l)));
}

test('the links in docs/api.md and README.md name files that exist', () => {
  assert.deepEqual(brokenLinks('docs/api.md'), [], 'broken links in docs/api.md');
  assert.deepEqual(brokenLinks('README.md'), [], 'broken links in README.md');
});

test('README.md opens with the two commands, and CI runs the test command it names', () => {
  const readme = fs.readFileSync('README.md', 'utf8');
  const first = /```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(first && readme.indexOf(first[0]) < readme.indexOf('\n## '), 'README.md opens with a sh block');
  const commands = first[1]
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  assert.deepEqual(commands, ['make serve', 'make test']);
  assert.match(fs.readFileSync('.ci/run', 'utf8'), /^make test$/m, '.ci/run calls make test');
});
