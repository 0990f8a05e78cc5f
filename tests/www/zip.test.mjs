// www/zip.js and the digit file that vaelab.js builds of a visitor's images (node --test tests/www).
import test from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import * as zipModule from '../../www/zip.js';
import { digitFile } from '../../www/vaelab.js';
import { makeZip, zeros } from './make-zip.mjs';

const { unzip } = zipModule;

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
  assert.deepEqual(
    out.map((e) => e.name),
    ['pics/a.png', 'pics/b.png'],
  );
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

/**
 * DecompressionStream as Chromium's behaves: every chunk written is inflated in full and all of
 * its output queued at once, whatever the reader has read (Node's own stops at the reader's
 * pace, so a bomb fed in one chunk would not show here). Counts what it inflated; past 64 MB of
 * one entry it gives up, so a test that fails does not take the machine down with it.
 */
function eagerInflater() {
  const stats = { made: 0, produced: 0 };
  const Real = globalThis.DecompressionStream;
  globalThis.DecompressionStream = class {
    constructor(format) {
      assert.equal(format, 'deflate-raw');
      stats.made++;
      const inf = zlib.createInflateRaw();
      let out = [];
      let failed = null;
      let mine = 0;
      inf.on('data', (d) => {
        stats.produced += d.length;
        mine += d.length;
        if (mine > 64 << 20 && !failed) {
          failed = new Error(`ran away: ${mine} bytes inflated from one entry`);
          inf.destroy();
        }
        if (!failed) out.push(new Uint8Array(d));
      });
      inf.on('error', (e) => {
        failed ??= e;
      });
      // the whole chunk is inflated before anything of it is queued, as in a browser
      const settle = (ctl, resolve, reject) =>
        setImmediate(() => {
          if (failed) {
            reject(failed);
            return;
          }
          for (const d of out) ctl.enqueue(d);
          out = [];
          resolve();
        });
      const ts = new TransformStream({
        transform: (chunk, ctl) =>
          new Promise((resolve, reject) => {
            inf.write(chunk, () => settle(ctl, resolve, reject));
          }),
        flush: (ctl) =>
          new Promise((resolve, reject) => {
            inf.end(() => settle(ctl, resolve, reject));
          }),
      });
      this.readable = ts.readable;
      this.writable = ts.writable;
    }
  };
  stats.restore = () => {
    globalThis.DecompressionStream = Real;
  };
  return stats;
}

test(
  'an entry that under-declares its size stops inflating there and is ' +
    'named as corrupt (1,000 bytes declared, 2 MB of deflate making 2 GB)',
  async () => {
    const bomb = zeros(2048);
    assert.ok(bomb.length > 2_000_000 && bomb.length < 2_200_000);
    const zip = makeZip([
      { name: 'ok.png', data: Buffer.alloc(3000, 5), deflate: true },
      { name: 'bomb.png', body: bomb, size: 1000, deflate: true },
    ]);
    const stats = eagerInflater();
    try {
      await assert.rejects(unzip(zip), /bomb\.png: corrupt entry, inflates to more than the 1000 bytes the zip says/);
      // ok.png's 3,000 bytes, then at most a few slices of the bomb (1 KB slices: 1 MB each)
      assert.ok(stats.produced < 4 << 20, `${stats.produced} bytes were inflated`);
      // the other entries stay readable when the page reads them one by one
      const { entries } = await zipModule.listZip(zip);
      assert.equal(Buffer.from(await entries[0].read()).equals(Buffer.alloc(3000, 5)), true);
      await assert.rejects(entries[1].read(), /corrupt entry/);
    } finally {
      stats.restore();
    }
    // a size beyond what deflate can make of the bytes it has is refused before inflating at all
    const liar = makeZip([{ name: 'big.png', body: zeros(1), size: 200 << 20, deflate: true }]);
    await assert.rejects(unzip(liar), /big\.png: corrupt entry, \d+ bytes of deflate data cannot inflate to the 209715200/);
  },
);

test(
  'caps are checked on the directory before any entry is read: 20,000 ' +
    'entries declaring 280 MB are refused at once; a limit reads only the first',
  async () => {
    const body = zlib.deflateRawSync(Buffer.alloc(14 << 10));
    const many = (n, size) => makeZip(Array.from({ length: n }, (_, i) => ({ name: `p/${i}.png`, body, size, deflate: true })));
    const stats = eagerInflater();
    try {
      const t0 = performance.now();
      await assert.rejects(unzip(many(20_000, 14 << 10)), /the zip's pictures would inflate to more than 256 MB/);
      assert.equal(stats.made, 0, `${stats.made} entries were inflated before the cap said no`);
      assert.ok(performance.now() - t0 < 2000, `refusing took ${performance.now() - t0} ms`);
      // more entries than the cap: refused from the end record alone
      await assert.rejects(
        unzip(makeZip(Array.from({ length: 20_001 }, (_, i) => ({ name: `${i}.png`, data: Buffer.alloc(1) })))),
        /the zip lists 20,001 files: at most 20,000/,
      );
      assert.equal(stats.made, 0);
      // a dataset with room for 100 more reads 100 entries, not 20,000
      const zip = many(20_000, 14 << 10).slice(); // same bytes; the limit keeps the total small
      const out = await unzip(zip, () => true, { limit: 100 });
      assert.equal(out.length, 100);
      assert.equal(stats.made, 100);
      const listed = await zipModule.listZip(zip, () => true, { limit: 100 });
      assert.equal(listed.found, 20_000);
      assert.equal(stats.made, 100); // listing reads no entry
    } finally {
      stats.restore();
    }
  },
);

test('a zip is read from its tail: a 2.5 GB file gives its pictures after reading a few kilobytes of it', async () => {
  const pics = [
    { name: 'a.png', data: Buffer.from('first picture') },
    { name: 'b.png', data: Buffer.alloc(40_000, 9), deflate: true },
  ];
  const zip = makeZip(pics);
  // the same zip behind 2.5 GB of something else (offsets moved by as much), as a File that is
  // never in memory: only the slices read are made
  const pad = 2.5 * 2 ** 30;
  const shifted = new Uint8Array(zip);
  const v = new DataView(shifted.buffer);
  const end = shifted.length - 22;
  const dirAt = v.getUint32(end + 16, true);
  v.setUint32(end + 16, dirAt + pad, true);
  for (let at = dirAt; at < end; at += 46 + v.getUint16(at + 28, true)) v.setUint32(at + 42, v.getUint32(at + 42, true) + pad, true);
  let read = 0;
  const file = {
    size: pad + shifted.length,
    slice(start, stop) {
      const s = Math.max(0, start - pad);
      const e = Math.max(0, stop - pad);
      read += stop - start;
      return new Blob([new Uint8Array(Math.max(0, Math.min(stop, pad) - start)), shifted.subarray(s, e)]);
    },
  };
  const out = await unzip(file, (n) => n.endsWith('.png'));
  assert.deepEqual(
    out.map((e) => e.name),
    ['a.png', 'b.png'],
  );
  assert.equal(Buffer.from(out[0].bytes).toString(), 'first picture');
  assert.ok(Buffer.from(out[1].bytes).equals(pics[1].data));
  assert.ok(read < 100_000, `${read} bytes were read of ${file.size}`);
});

test("a visitor's images become a digit file with every tenth held out", () => {
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
