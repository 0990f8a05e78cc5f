// A small animated-GIF encoder for grayscale figures (the Chain panel's animation): a global
// palette of a few gray levels (15 by default, and the transparent index: a 4-bit palette, whose
// short codes compress well; digits read the same), LZW-compressed frames, looping forever. After the first frame, a pixel that did not
// change is written as the transparent index, so a frame that changes little is mostly one long
// run (and LZW turns runs into few codes). Loaded only when a GIF is saved.

/** LZW (GIF flavour) of palette indices with `min` bits a symbol, as the image data sub-blocks. */
function lzw(indices, min, out) {
  const CLEAR = 1 << min;
  const END = CLEAR + 1;
  let size = min + 1;
  let next = END + 1;
  // the dictionary: (prefix code, symbol) -> code, a flat table (4096 codes × 256 symbols at most)
  const stride = CLEAR;
  let dict = new Int16Array(4096 * stride).fill(-1);
  let acc = 0;
  let nbits = 0;
  const bytes = new Uint8Array(Math.ceil(((indices.length + 2) * 12) / 8) + 8);
  let nb = 0;
  const emit = (code) => {
    acc |= code << nbits;
    nbits += size;
    while (nbits >= 8) {
      bytes[nb++] = acc & 255;
      acc >>>= 8;
      nbits -= 8;
    }
  };
  emit(CLEAR);
  let prefix = indices[0];
  for (let i = 1; i < indices.length; i++) {
    const k = indices[i];
    const hit = dict[prefix * stride + k];
    if (hit >= 0) {
      prefix = hit;
      continue;
    }
    emit(prefix);
    if (next === 4096) {
      // the table is full: start a fresh one (the decoder resets on CLEAR)
      emit(CLEAR);
      dict = new Int16Array(4096 * stride).fill(-1);
      next = END + 1;
      size = min + 1;
    } else {
      if (next >= 1 << size) size++;
      dict[prefix * stride + k] = next++;
    }
    prefix = k;
  }
  emit(prefix);
  emit(END);
  if (nbits > 0) bytes[nb++] = acc & 255;
  out.push(min);
  for (let i = 0; i < nb; i += 255) {
    const n = Math.min(255, nb - i);
    out.push(n);
    for (let j = i; j < i + n; j++) out.push(bytes[j]);
  }
  out.push(0);
}

/**
 * Encode frames (each a Uint8Array of width*height gray levels, 0-255) as a looping GIF.
 * `delays`: hundredths of a second per frame (a number for all, or an array).
 * `levels`: gray levels in the palette (2 to 255; 256 keeps every level exactly, and writes
 * every pixel of every frame). With fewer, each pixel goes to the nearest level, and one more
 * palette entry marks the pixels a frame leaves as they were.
 */
export function encodeGif(frames, width, height, delays = 10, { levels = 15 } = {}) {
  if (!(Number.isInteger(levels) && levels >= 2 && levels <= 256)) throw new Error(`GIF levels: ${levels}, expected 2 to 256`);
  const exact = levels === 256;
  const entries = exact ? 256 : levels + 1; // + the transparent index
  const bits = Math.max(1, Math.ceil(Math.log2(entries)));
  const min = Math.max(2, bits); // GIF's smallest LZW code size is 2
  const transparent = exact ? -1 : levels;
  const level = (i) => Math.round((i * 255) / (levels - 1));
  const toIndex = new Uint8Array(256);
  for (let v = 0; v < 256; v++) toIndex[v] = exact ? v : Math.round((v * (levels - 1)) / 255);
  const out = [];
  const u16 = (v) => out.push(v & 255, (v >> 8) & 255);
  out.push(...[...'GIF89a'].map((c) => c.charCodeAt(0)));
  u16(width);
  u16(height);
  out.push(0xf0 | (bits - 1), 0, 0); // a global colour table of 2^bits entries, 8 bits per primary
  for (let i = 0; i < 1 << bits; i++) {
    const v = i < levels ? level(i) : 0;
    out.push(v, v, v);
  }
  // NETSCAPE2.0: loop forever
  out.push(0x21, 0xff, 11, ...[...'NETSCAPE2.0'].map((c) => c.charCodeAt(0)), 3, 1, 0, 0, 0);
  let shown = null; // the indices on screen after the previous frame
  frames.forEach((f, i) => {
    if (f.length !== width * height) throw new Error(`GIF frame ${i}: ${f.length} pixels, expected ${width * height}`);
    const delay = Array.isArray(delays) ? delays[i] : delays;
    const indices = new Uint8Array(f.length);
    for (let p = 0; p < f.length; p++) indices[p] = toIndex[f[p]];
    let data = indices;
    if (shown && transparent >= 0) {
      data = new Uint8Array(f.length);
      for (let p = 0; p < f.length; p++) data[p] = indices[p] === shown[p] ? transparent : indices[p];
    }
    shown = indices;
    // graphic control: disposal 1 (leave the frame in place), transparency where it is used
    const flags = transparent >= 0 ? (1 << 2) | 1 : 0;
    out.push(0x21, 0xf9, 4, flags);
    u16(delay);
    out.push(transparent >= 0 ? transparent : 0, 0);
    out.push(0x2c);
    u16(0);
    u16(0);
    u16(width);
    u16(height);
    out.push(0);
    lzw(data, min, out);
  });
  out.push(0x3b);
  return new Uint8Array(out);
}
