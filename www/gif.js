// A small animated-GIF encoder for grayscale figures (the Chain panel's animation): one global
// 256-level gray palette, LZW-compressed frames, looping forever. Loaded only when a GIF is saved.

/** LZW (GIF flavour, 8-bit minimum code size) of palette indices, as the image data sub-blocks. */
function lzw(indices, out) {
  const CLEAR = 256;
  const END = 257;
  let size = 9;
  let next = 258;
  let dict = new Map();
  let acc = 0;
  let nbits = 0;
  const bytes = [];
  const emit = (code) => {
    acc |= code << nbits;
    nbits += size;
    while (nbits >= 8) {
      bytes.push(acc & 255);
      acc >>>= 8;
      nbits -= 8;
    }
  };
  emit(CLEAR);
  let prefix = indices[0];
  for (let i = 1; i < indices.length; i++) {
    const k = indices[i];
    const key = prefix * 256 + k;
    const hit = dict.get(key);
    if (hit !== undefined) {
      prefix = hit;
      continue;
    }
    emit(prefix);
    if (next === 4096) {
      // the table is full: start a fresh one (the decoder resets on CLEAR)
      emit(CLEAR);
      dict = new Map();
      next = 258;
      size = 9;
    } else {
      if (next >= 1 << size) size++;
      dict.set(key, next++);
    }
    prefix = k;
  }
  emit(prefix);
  emit(END);
  if (nbits > 0) bytes.push(acc & 255);
  out.push(8); // minimum code size
  for (let i = 0; i < bytes.length; i += 255) {
    const block = bytes.slice(i, i + 255);
    out.push(block.length, ...block);
  }
  out.push(0);
}

/**
 * Encode frames (each a Uint8Array of width*height gray levels) as a looping GIF.
 * `delays`: hundredths of a second per frame (a number for all, or an array).
 */
export function encodeGif(frames, width, height, delays = 10) {
  const out = [];
  const u16 = (v) => out.push(v & 255, (v >> 8) & 255);
  out.push(...[...'GIF89a'].map((c) => c.charCodeAt(0)));
  u16(width);
  u16(height);
  out.push(0xf7, 0, 0); // global colour table of 256 entries, 8 bits per primary
  for (let v = 0; v < 256; v++) out.push(v, v, v);
  // NETSCAPE2.0: loop forever
  out.push(0x21, 0xff, 11, ...[...'NETSCAPE2.0'].map((c) => c.charCodeAt(0)), 3, 1, 0, 0, 0);
  frames.forEach((f, i) => {
    if (f.length !== width * height) throw new Error(`GIF frame ${i}: ${f.length} pixels, expected ${width * height}`);
    const delay = Array.isArray(delays) ? delays[i] : delays;
    out.push(0x21, 0xf9, 4, 0);
    u16(delay);
    out.push(0, 0);
    out.push(0x2c);
    u16(0);
    u16(0);
    u16(width);
    u16(height);
    out.push(0);
    lzw(f, out);
  });
  out.push(0x3b);
  return new Uint8Array(out);
}
