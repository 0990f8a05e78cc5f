// www/zip.js and the digit file that vaelab.js builds of a visitor's images (node --test tests/www).
import test from 'node:test';
import assert from 'node:assert/strict';
import { unzip } from '../../www/zip.js';
import { digitFile } from '../../www/vaelab.js';
import { makeZip } from './make-zip.mjs';

test('stored and deflated entries come back byte for byte; folders and unwanted names are skipped', async () => {
  const big = Buffer.alloc(50_000, 7);
  big.write('a picture, pretend', 100);
  const zip = makeZip([
    { name: 'pics/', data: Buffer.alloc(0) },
    { name: 'pics/a.png', data: Buffer.from('stored bytes') },
    { name: 'pics/b.png', data: big, deflate: true },
    { name: 'notes.txt', data: Buffer.from('skip me'), deflate: true },
  ]);
  const out = await unzip(zip, (n) => n.endsWith('.png'));
  assert.deepEqual(out.map((e) => e.name), ['pics/a.png', 'pics/b.png']);
  assert.equal(Buffer.from(out[0].bytes).toString(), 'stored bytes');
  assert.ok(Buffer.from(out[1].bytes).equals(big));
});

test('what is not a readable zip is refused with a reason', async () => {
  await assert.rejects(unzip(new Uint8Array(100)), /not a zip file/);
  const zip = makeZip([{ name: 'a.png', data: Buffer.alloc(5000, 1), deflate: true }]);
  // cut in the middle of the entry's data: the directory survives in a copy that points past it
  const cut = new Uint8Array(zip);
  const view = new DataView(cut.buffer);
  const end = cut.length - 22;
  const dirAt = view.getUint32(end + 16, true);
  view.setUint32(dirAt + 20, 1 << 20, true); // the directory claims a bigger compressed size
  await assert.rejects(unzip(cut), /truncated/);
  // a header that lies about the inflated size (a bomb in disguise) is caught
  const liar = new Uint8Array(zip);
  new DataView(liar.buffer).setUint32(dirAt + 24, 10, true);
  await assert.rejects(unzip(liar), /inflates to more than the 10 bytes the zip says/);
});

test('a visitor\'s images become a digit file with every tenth held out', () => {
  const n = 23;
  const pixels = new Uint8Array(n * 784).map((_, i) => Math.floor(i / 784)); // image k is all k
  const labels = new Uint8Array(n).fill(255);
  labels[9] = 3;
  const f = digitFile(pixels, labels);
  assert.equal(new TextDecoder().decode(f.subarray(0, 8)), 'VAEDIGS1');
  const w = new DataView(f.buffer, 8, 16);
  const [total, train] = [0, 1].map((i) => w.getUint32(4 * i, true));
  assert.equal(total, 23);
  assert.equal(train, 21); // images 9 and 19 are held out
  const imageAt = (k) => f[24 + n + k * 784];
  assert.deepEqual([imageAt(18), imageAt(20), imageAt(21), imageAt(22)], [20, 22, 9, 19]);
  assert.equal(f[24 + 21], 3); // the label travels with its image
  assert.equal(f.length, 24 + n * 785);
  // fewer than ten: the last one is held out, so held-out panels have an image
  const small = digitFile(new Uint8Array(3 * 784), new Uint8Array(3).fill(255));
  assert.equal(new DataView(small.buffer).getUint32(12, true), 2);
});
