// One source for every fact the page uses: the engine's `Lab.constants()` (src/limits.rs,
// src/lab.rs) and the dataset it holds (`lab.data`); a fact JavaScript owns (the shipped datasets,
// the backends) in one module that every user imports. A fact listed here must not be restated in
// www/. A fact the engine does not give yet would be listed as pending: allowed only where it is
// today (todo until the engine has it, then its test below starts to pass and it moves up).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WWW_ROOT, appScripts } from './app-scripts.mjs';

const root = WWW_ROOT;
const files = appScripts().map((f) => ({ file: path.relative(root, f), text: fs.readFileSync(f, 'utf8') }));
/** {file (relative to www/): occurrences} of `pattern` (a /g is added). */
function where(pattern) {
  const g = new RegExp(pattern.source, 'g');
  const out = {};
  for (const { file, text } of files) {
    const n = text.match(g)?.length ?? 0;
    if (n) out[file] = n;
  }
  return out;
}
/** Occurrences beyond those `allowed` ({file: n}). */
const beyond = (pattern, allowed = {}) =>
  Object.entries(where(pattern))
    .filter(([file, n]) => n > (allowed[file] ?? 0))
    .map(([file, n]) => `${file} (${n})`);

// [fact, where the page reads it now, the pattern of a restatement, a sample it must catch, the one
// module allowed to state it ({file: n}; only for a fact JavaScript owns, none for the engine's)]
const MOVED = [
  ['β max 100', 'constants.limits.maxBeta', /\bmax:\s*100\b/, "el('input', { max: 100, step: 0.5 })"],
  ['the batch fallback 64', 'constants.batch', /\?\?\s*64\b/, 'handle?.options.batch ?? 64;'],
  ['the 64-character name limit as an input cap', 'constants.limits.maxSlotName', /maxLength:\s*64\b/, "{ type: 'text', maxLength: 64 }"],
  ['the last held-out index 999', 'lab.data.n_test - 1', /\bmax:\s*999\b/, '{ min: 0, max: 999, value: 1 }'],
  [
    '1,000 held-out images',
    'lab.data.n_test (links are checked once the engine has said: app.afterEngine)',
    /n_test\s*\?\?\s*1000\b/,
    '(lab.data?.n_test ?? 1000)',
  ],
  [
    'the lr range',
    'constants.limits.minLr / maxLr (exclusive: 0 and 1)',
    /min:\s*0\.00001,\s*max:\s*0\.1\b/,
    "{ type: 'number', min: 0.00001, max: 0.1, step: 0.0001 }",
  ],
  ['the 200-byte description cap', 'constants.limits.maxDescription', /utf8Prefix\(.*,\s*200\)/, 'utf8Prefix(String(d || `x`), 200)'],
  ['the 4096-pixel picture side', 'constants.limits.maxPictureSide', /\b4096\s*\*\s*4096\b/, 'MAX_PICTURE_PIXELS = 4096 * 4096;'],
  ['the weights file size bound', 'constants.limits.maxWeightsBytes', /\(1\s*<<\s*20\)\s*\+\s*24\b/, 'maxParams * 4 + (1 << 20) + 24'],
  [
    'the 64-character name limit of links',
    'constants.limits.maxSlotName (links are checked once the engine has said: app.afterEngine)',
    /\{\s*max:\s*64\b/,
    'own: { max: 64, cut: true }',
  ],
  // facts JavaScript owns: one module states each, every user (the worker too) imports it
  [
    'the shipped datasets',
    'SHIPPED_DATASETS of lab/input.js',
    /\[\s*'mnist',\s*'fashion'\s*\]/,
    "= ['mnist', 'fashion'];",
    { 'lab/input.js': 1 },
  ],
  [
    'the backends',
    'BACKENDS of lab/input.js (the worker alone decides the backend)',
    /\[\s*('auto',\s*)?'webgpu',\s*'cpu'\s*\]/,
    "['auto', 'webgpu', 'cpu']",
    { 'lab/input.js': 1 },
  ],
];
for (const [fact, source, pattern, , allowed = {}] of MOVED) {
  test(`${fact} is not restated in www/ (read from ${source})`, () => {
    const extra = beyond(pattern, allowed);
    assert.deepEqual(extra, [], `${fact} restated in ${extra.join(', ')}`);
  });
}
for (const [fact, , pattern, , allowed] of MOVED.filter((m) => m[4])) {
  test(`${fact} is stated once, in ${Object.keys(allowed).join(', ')}`, () => {
    assert.deepEqual(where(pattern), allowed);
  });
}

// Facts still restated, each allowed only where it is today (todo until the engine gives it, then
// it moves up): none left.
/** @type {[string, string, RegExp, Record<string, number>, string][]} */
const PENDING = [];
for (const [fact, name, pattern, allowed] of PENDING) {
  test(`${fact}: restated nowhere new (only ${Object.keys(allowed).join(', ')} until Lab.constants() has ${name})`, () => {
    const extra = beyond(pattern, allowed);
    assert.deepEqual(extra, [], `${fact} restated in ${extra.join(', ')}`);
  });
  test(`${fact} comes from Lab.constants() (${name})`, { todo: `the engine does not give ${name} yet` }, () => {
    assert.deepEqual(where(pattern), {});
  });
}

test('every pattern above catches its sample (a check of the checks)', () => {
  for (const [, , pattern, sample] of MOVED) assert.ok(pattern.test(sample), `${pattern} misses ${sample}`);
  for (const [, , pattern, , sample] of PENDING) assert.ok(pattern.test(sample), `${pattern} misses ${sample}`);
});
