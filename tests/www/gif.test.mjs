// www/gif.js against a GIF decoder written here from the format (node --test tests/www).
import test from 'node:test';
import assert from 'node:assert/strict';
import { encodeGif } from '../../www/gif.js';

/** Decode every frame of a GIF with a global palette into arrays of palette indices. */
function decodeGif(b) {
  assert.equal(String.fromCharCode(...b.subarray(0, 6)), 'GIF89a');
  const width = b[6] | (b[7] << 8);
  const height = b[8] | (b[9] << 8);
  const paletteSize = 2 << (b[10] & 7);
  const palette = Array.from({ length: paletteSize }, (_, i) => b[13 + 3 * i]);
  let p = 13 + 3 * paletteSize;
  const frames = [];
  const delays = [];
  const transparent = [];
  while (b[p] !== 0x3b) {
    if (b[p] === 0x21) {
      if (b[p + 1] === 0xf9) {
        delays.push(b[p + 4] | (b[p + 5] << 8));
        transparent.push(b[p + 3] & 1 ? b[p + 6] : -1);
      }
      p += 2;
      while (b[p]) p += b[p] + 1;
      p++;
    } else if (b[p] === 0x2c) {
      const min = b[p + 10];
      p += 11;
      const data = [];
      while (b[p]) {
        data.push(...b.subarray(p + 1, p + 1 + b[p]));
        p += b[p] + 1;
      }
      p++;
      frames.push(lzwDecode(data, min));
    } else throw new Error(`unexpected block 0x${b[p].toString(16)} at ${p}`);
  }
  return { width, height, frames, delays, palette, transparent };
}

function lzwDecode(data, min) {
  const clear = 1 << min;
  const end = clear + 1;
  let size = min + 1;
  let table = [];
  const reset = () => {
    table = Array.from({ length: clear + 2 }, (_, i) => [i]);
    size = min + 1;
  };
  reset();
  const out = [];
  let prev = null;
  let bit = 0;
  for (;;) {
    let code = 0;
    for (let i = 0; i < size; i++, bit++) code |= ((data[bit >> 3] >> (bit & 7)) & 1) << i;
    if (code === clear) {
      reset();
      prev = null;
      continue;
    }
    if (code === end) break;
    let entry;
    if (code < table.length) entry = table[code];
    else if (code === table.length && prev) entry = [...prev, prev[0]];
    else throw new Error(`bad code ${code}`);
    out.push(...entry);
    if (prev && table.length < 4096) table.push([...prev, entry[0]]);
    if (table.length === 1 << size && size < 12) size++;
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
  const gif = encodeGif([noisy, flat, ramp], w, h, [10, 20, 200], { levels: 256 });
  const d = decodeGif(gif);
  assert.equal(d.width, w);
  assert.equal(d.height, h);
  assert.deepEqual(d.delays, [10, 20, 200]);
  assert.equal(d.frames.length, 3);
  d.frames.forEach((f, i) => assert.deepEqual(Uint8Array.from(f), [noisy, flat, ramp][i], `frame ${i}`));
});

test('a frame of the wrong size is refused, and so is a palette of one level', () => {
  assert.throws(() => encodeGif([new Uint8Array(5)], 2, 2), /4/);
  assert.throws(() => encodeGif([new Uint8Array(4)], 2, 2, 10, { levels: 1 }), /levels/);
});

/** What a viewer shows: each frame's gray levels, transparent pixels keeping the last frame's. */
function composite(d) {
  let screen = null;
  return d.frames.map((f, i) => {
    screen = Uint8Array.from(f, (k, p) => (k === d.transparent[i] ? screen[p] : d.palette[k]));
    return screen;
  });
}

test('by default: 15 gray levels and a transparent index (a 4-bit palette); unchanged pixels are transparent', () => {
  const w = 40;
  const h = 30;
  const ramp = Uint8Array.from({ length: w * h }, (_, i) => i % 256);
  const next = Uint8Array.from(ramp, (v, i) => (i < 100 ? 255 - v : v)); // only the first 100 pixels change
  const d = decodeGif(encodeGif([ramp, next], w, h, 10));
  assert.equal(d.palette.length, 16);
  assert.equal(d.transparent[0], 15);
  // the nearest of the 15 levels (0, 18, 36, ... 255), at most half a step off
  const shown = composite(d);
  [ramp, next].forEach((f, i) =>
    f.forEach((v, p) => assert.ok(Math.abs(shown[i][p] - v) <= 255 / 28 + 0.5, `frame ${i} pixel ${p}: ${shown[i][p]} for ${v}`)),
  );
  assert.ok(
    d.frames[1].slice(100).every((k) => k === 15),
    'the unchanged pixels are not all transparent',
  );
});

test('a figure of digits in a few gray levels is much smaller than with 256', () => {
  // 20 frames of a 290 x 174 grid whose blocks change a little each frame
  let s = 3;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) / 65536;
  const w = 290;
  const h = 174;
  let f = Uint8Array.from({ length: w * h }, (_, i) => ((i % w) % 29 < 14 && Math.floor(i / w) % 29 < 20 ? Math.floor(rand() * 256) : 0));
  const frames = [];
  for (let k = 0; k < 20; k++) {
    frames.push(f);
    f = Uint8Array.from(f, (v) => (rand() < 0.1 ? Math.floor(rand() * 256) : v));
  }
  const full = encodeGif(frames, w, h, 10, { levels: 256 }).length;
  const small = encodeGif(frames, w, h, 10).length;
  assert.ok(small < full / 2, `${small} bytes with 15 levels, ${full} with 256`);
  const d = decodeGif(encodeGif(frames, w, h, 10));
  const shown = composite(d);
  frames.forEach((fr, i) => fr.forEach((v, p) => assert.ok(Math.abs(shown[i][p] - v) <= 10, `frame ${i} pixel ${p}`)));
});
