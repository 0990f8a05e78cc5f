// www/gif.js against a GIF decoder written here from the format (node --test tests/www).
import test from 'node:test';
import assert from 'node:assert/strict';
import { encodeGif } from '../../www/gif.js';

/** Decode every frame of a GIF with a global palette into arrays of palette indices. */
function decodeGif(b) {
  assert.equal(String.fromCharCode(...b.subarray(0, 6)), 'GIF89a');
  const width = b[6] | (b[7] << 8);
  const height = b[8] | (b[9] << 8);
  let p = 13 + 3 * (2 << (b[10] & 7));
  const frames = [];
  const delays = [];
  while (b[p] !== 0x3b) {
    if (b[p] === 0x21) {
      if (b[p + 1] === 0xf9) delays.push(b[p + 4] | (b[p + 5] << 8));
      p += 2;
      while (b[p]) p += b[p] + 1;
      p++;
    } else if (b[p] === 0x2c) {
      const min = b[p + 10];
      p += 11;
      const data = [];
      while (b[p]) { data.push(...b.subarray(p + 1, p + 1 + b[p])); p += b[p] + 1; }
      p++;
      frames.push(lzwDecode(data, min));
    } else throw new Error(`unexpected block 0x${b[p].toString(16)} at ${p}`);
  }
  return { width, height, frames, delays };
}

function lzwDecode(data, min) {
  const clear = 1 << min;
  const end = clear + 1;
  let size = min + 1;
  let table = [];
  const reset = () => { table = Array.from({ length: clear + 2 }, (_, i) => [i]); size = min + 1; };
  reset();
  const out = [];
  let prev = null;
  let bit = 0;
  for (;;) {
    let code = 0;
    for (let i = 0; i < size; i++, bit++) code |= ((data[bit >> 3] >> (bit & 7)) & 1) << i;
    if (code === clear) { reset(); prev = null; continue; }
    if (code === end) break;
    let entry;
    if (code < table.length) entry = table[code];
    else if (code === table.length && prev) entry = [...prev, prev[0]];
    else throw new Error(`bad code ${code}`);
    out.push(...entry);
    if (prev && table.length < 4096) table.push([...prev, entry[0]]);
    if (table.length === (1 << size) && size < 12) size++;
    prev = entry;
  }
  return out;
}

test('frames round-trip exactly, including images large enough to fill the code table', () => {
  let s = 7;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  const w = 97;
  const h = 61;
  const noisy = Uint8Array.from({ length: w * h }, rand); // far more than 4096 codes: table resets
  const flat = new Uint8Array(w * h); // one long run
  const ramp = Uint8Array.from({ length: w * h }, (_, i) => i % 256);
  const gif = encodeGif([noisy, flat, ramp], w, h, [10, 20, 200]);
  const d = decodeGif(gif);
  assert.equal(d.width, w);
  assert.equal(d.height, h);
  assert.deepEqual(d.delays, [10, 20, 200]);
  assert.equal(d.frames.length, 3);
  d.frames.forEach((f, i) => assert.deepEqual(Uint8Array.from(f), [noisy, flat, ramp][i], `frame ${i}`));
});

test('a frame of the wrong size is refused', () => {
  assert.throws(() => encodeGif([new Uint8Array(5)], 2, 2), /4/);
});
