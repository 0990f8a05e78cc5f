// DEPRECATED, kept only for API compatibility (`digitFile` is exported by www/vaelab.js): the
// engine's `Lab.digitsFile(pixels, labels)` writes the digit file (`src/data.rs` owns the format,
// magic VAEDIGS1, and the held-out rule), and the page's worker calls it for every dataset of a
// visitor's own. Nothing in www/ uses this one (tests/www/digits.test.mjs checks); a Rust test
// in src/data.rs checks the engine's file equals this restatement byte for byte.
import { PIXELS } from './input.js';

/**
 * @deprecated The engine writes the page's digit files (`Lab.digitsFile`); this is kept for API
 * compatibility only.
 * A digit file of a visitor's images, `pixels` u8 n*784 with `labels` u8 n (255: none). Every
 * tenth image is held out (at least one of two or more), so the panels that show held-out images
 * and the held-out nELBO work on it as on MNIST.
 */
export function digitFile(pixels, labels) {
  const n = labels.length;
  const test = [];
  const train = [];
  for (let i = 0; i < n; i++) (i % 10 === 9 || (n < 10 && n >= 2 && i === n - 1) ? test : train).push(i);
  const order = [...train, ...test];
  const out = new Uint8Array(24 + n * (PIXELS + 1));
  out.set(new TextEncoder().encode('VAEDIGS1'));
  const words = new DataView(out.buffer, 8, 16);
  [n, train.length, 28, 28].forEach((v, i) => words.setUint32(4 * i, v, true));
  order.forEach((i, k) => {
    out[24 + k] = labels[i];
    out.set(pixels.subarray(i * PIXELS, (i + 1) * PIXELS), 24 + n + k * PIXELS);
  });
  return out;
}
