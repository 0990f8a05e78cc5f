// One writer of the digit file: the engine (`Lab.digitsFile`, src/data.rs owns the format). No
// module in www/ writes 'VAEDIGS1' but lab/digits.js, whose deprecated `digitFile` stays only as
// an export of vaelab.js for API compatibility, used by nothing in www/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const root = new URL('../../www/', import.meta.url).pathname;
const modules = (dir) =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? e.name === 'vendor'
          ? []
          : modules(path.join(dir, e.name))
        : e.name.endsWith('.js')
          ? [path.join(dir, e.name)]
          : [],
    );
const rel = (f) => path.relative(root, f);

test("no www/ module but lab/digits.js writes a digit file ('VAEDIGS1')", () => {
  const writers = modules(root).filter((f) => fs.readFileSync(f, 'utf8').includes('VAEDIGS1'));
  assert.deepEqual(writers.map(rel), ['lab/digits.js']);
});

test('the deprecated digitFile is only re-exported by vaelab.js, called by nothing in www/', () => {
  const users = modules(root).filter((f) => rel(f) !== 'lab/digits.js' && /\bdigitFile\b|digits\.js/.test(fs.readFileSync(f, 'utf8')));
  assert.deepEqual(users.map(rel), ['vaelab.js']);
  const lines = fs.readFileSync(path.join(root, 'vaelab.js'), 'utf8').split('\n');
  const uses = lines.filter((l) => /\bdigitFile\b/.test(l) && !l.trim().startsWith('//') && !l.trim().startsWith('/**'));
  assert.deepEqual(uses, ["export { digitFile } from './lab/digits.js';"]);
  assert.match(fs.readFileSync(path.join(root, 'lab/digits.js'), 'utf8'), /@deprecated/);
});
