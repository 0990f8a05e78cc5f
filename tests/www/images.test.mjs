// www/images.js in Node: a picture's size read from its header, and caps checked before any
// decoding (node --test tests/www). The decoding itself is the browser's (tests/e2e/specs/bombs.mjs).
import test from 'node:test';
import assert from 'node:assert/strict';
import * as images from '../../www/images.js';
import { blackPng } from './make-png.mjs';
import { makeZip } from './make-zip.mjs';

const { imageFiles } = images;
/** The engine's cap (src/limits.rs MAX_PICTURE_SIDE, Lab.constants().limits.maxPictureSide): the page passes it in. */
const LIMITS = { maxPictureSide: 4096 };

/** A Blob that counts the bytes read from it. */
function counted(bytes, type = '') {
  const blob = new Blob([bytes], { type });
  const c = { read: 0, size: blob.size, type, name: '' };
  c.slice = (a, b) => {
    const s = blob.slice(a, b);
    c.read += s.size;
    return s;
  };
  c.arrayBuffer = async () => {
    c.read += blob.size;
    return blob.arrayBuffer();
  };
  return c;
}

test("a picture's size is read from its header: PNG, JPEG, GIF, WebP (VP8, VP8L, VP8X) and BMP", () => {
  assert.deepEqual(images.pictureInfo(blackPng(20000, 20000).subarray(0, 64)), { type: 'png', width: 20000, height: 20000 });
  // a JPEG: SOI, an APP0 segment, a DQT, then SOF0 (precision, height 300, width 200)
  const jpeg = Buffer.from([
    0xff,
    0xd8,
    0xff,
    0xe0,
    0,
    16,
    ...Buffer.from('JFIF\0'),
    1,
    1,
    0,
    0,
    1,
    0,
    1,
    0,
    0,
    0xff,
    0xdb,
    0,
    4,
    0,
    0,
    0xff,
    0xff,
    0xc0,
    0,
    11,
    8,
    0x01,
    0x2c,
    0x00,
    0xc8,
    1,
    1,
    0x11,
    0,
  ]);
  assert.deepEqual(images.pictureInfo(jpeg), { type: 'jpeg', width: 200, height: 300 });
  const gif = Buffer.from([...Buffer.from('GIF89a'), 0x10, 0x27, 0x20, 0x4e, 0, 0, 0]);
  assert.deepEqual(images.pictureInfo(gif), { type: 'gif', width: 10000, height: 20000 });
  const riff = (kind, body) =>
    Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBP'), Buffer.from(kind), Buffer.alloc(4), body, Buffer.alloc(8)]);
  const vp8 = riff('VP8 ', Buffer.from([0, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]));
  assert.deepEqual(images.pictureInfo(vp8), { type: 'webp', width: 640, height: 480 });
  const bits = 16383 | (16383 << 14); // 16384 x 16384
  const vp8l = riff('VP8L', Buffer.from([0x2f, bits & 255, (bits >> 8) & 255, (bits >> 16) & 255, (bits >>> 24) & 255]));
  assert.deepEqual(images.pictureInfo(vp8l), { type: 'webp', width: 16384, height: 16384 });
  const vp8x = riff('VP8X', Buffer.from([0, 0, 0, 0, 0x1f, 0x4e, 0, 0x1f, 0x4e, 0]));
  assert.deepEqual(images.pictureInfo(vp8x), { type: 'webp', width: 20000, height: 20000 });
  const bmp = Buffer.alloc(54);
  bmp.write('BM', 0, 'latin1');
  bmp.writeUInt32LE(40, 14);
  bmp.writeInt32LE(30000, 18);
  bmp.writeInt32LE(-30000, 22); // top-down
  assert.deepEqual(images.pictureInfo(bmp), { type: 'bmp', width: 30000, height: 30000 });
  assert.equal(images.pictureInfo(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), null);
  assert.throws(() => images.pictureInfo(blackPng(10, 10).subarray(0, 12)), /damaged PNG header/);
  assert.throws(() => images.pictureInfo(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2])), /damaged JPEG header/);
});

test('a 20000 x 20000 PNG (49 KB, 1.6 GB decoded) is refused from its header, reading a few bytes', async () => {
  const png = blackPng(20000, 20000);
  assert.ok(png.length < 60_000);
  const file = counted(png, 'image/png');
  await assert.rejects(
    images.checkPicture(file, LIMITS),
    /20,000 × 20,000 pixels is too big: a picture may have at most 16,777,216 pixels, 4096 × 4096/,
  );
  assert.ok(file.read <= png.length, `${file.read} bytes read`);
  // 4096 x 4096 is still a picture; so is a picture this file cannot read the header of, when small
  assert.deepEqual(await images.checkPicture(new Blob([blackPng(4096, 4096)]), LIMITS), { type: 'png', width: 4096, height: 4096 });
  assert.equal(await images.checkPicture(new Blob(['<svg xmlns="http://www.w3.org/2000/svg"/>']), LIMITS), null);
  await assert.rejects(
    images.checkPicture(new Blob([new Uint8Array(5 << 20)]), LIMITS),
    /not a PNG, JPEG, GIF, WebP or BMP picture, and too big to try \(5 MB; at most 4 MB\)/,
  );
});

test('dropped files: a zip is listed from its directory, and no more pictures than fit are taken', async () => {
  const big = Buffer.concat([blackPng(8, 8), Buffer.alloc(100_000)]); // 100 KB a picture
  const zip = makeZip(
    Array.from({ length: 30 }, (_, i) => ({ name: `set/${i}.png`, data: big })).concat([{ name: 'set/notes.txt', data: Buffer.from('x') }]),
  );
  const z = counted(zip, 'application/zip');
  z.name = 'set.zip';
  const loose = new File([blackPng(8, 8)], 'one.png', { type: 'image/png' });
  const r = await imageFiles([loose, z], { limit: 10 });
  assert.equal(r.found, 31);
  assert.equal(r.pictures.length, 10);
  assert.deepEqual(
    r.pictures.slice(0, 2).map((p) => p.name),
    ['one.png', 'set.zip/set/0.png'],
  );
  assert.ok(z.read < 70_000, `${z.read} bytes of the ${zip.length}-byte zip read to list it`); // the tail only
  const first = await r.pictures[1].blob();
  assert.deepEqual(images.pictureInfo(new Uint8Array(await first.arrayBuffer())), { type: 'png', width: 8, height: 8 });
  // a zip that cannot be read is named; the loose picture stays
  const bad = await imageFiles([loose, new File([new Uint8Array(100)], 'bad.zip')]);
  assert.equal(bad.pictures.length, 1);
  assert.match(bad.failed[0], /^bad\.zip \(not a zip file/);
});
