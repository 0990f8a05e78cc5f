// The one writer of a digit file in the page (`src/data.rs` owns the format, magic VAEDIGS1).
// When the engine exports `Lab.digitsFile(pixels, labels)`, `digitFile` below becomes that call.
import { PIXELS } from './input.js';

/**
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
