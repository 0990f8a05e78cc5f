// The visitor's own images become 28x28 grey images like MNIST's: decoded by the browser, turned
// to grey (ink bright on a dark ground, whichever way the picture has it), then cropped, scaled
// and centred by the engine's `preprocess` (the same as a drawing).
import { unzip } from './zip.js';

const IMAGE_NAME = /\.(png|jpe?g|gif|webp|bmp)$/i;
/** Pictures are scaled down to this side before preprocessing: 28x28 is all that is kept. */
const MAX_SIDE = 280;

/** The image files among dropped or chosen files, zips opened: {pictures: [{name, blob}],
 *  failed: ['name (why)']}. A zip that cannot be read is named; the other files still count. */
export async function imageFiles(files) {
  const pictures = [];
  const failed = [];
  for (const f of files) {
    if (/\.zip$/i.test(f.name) || f.type === 'application/zip' || f.type === 'application/x-zip-compressed') {
      try {
        const entries = await unzip(new Uint8Array(await f.arrayBuffer()), (n) => IMAGE_NAME.test(n) && !n.startsWith('__MACOSX/'));
        for (const e of entries) pictures.push({ name: `${f.name}/${e.name}`, blob: new Blob([e.bytes]) });
      } catch (e) {
        failed.push(`${f.name} (${e.message})`);
      }
    } else pictures.push({ name: f.name, blob: f });
  }
  return { pictures, failed };
}

/**
 * A picture as ink in [0, 1] (row-major, at most MAX_SIDE a side): {gray, width, height}.
 * Transparent pixels are ground. A picture whose border is mostly light (dark ink on paper, a
 * product photo on white) is inverted, so the ink is bright as in MNIST.
 */
export async function pictureToInk(blob) {
  const bitmap = await createImageBitmap(blob);
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const gray = new Float32Array(width * height);
  let transparent = 0;
  for (let i = 0; i < gray.length; i++) {
    const a = rgba[4 * i + 3] / 255;
    if (a < 0.5) transparent++;
    const lum = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
    gray[i] = lum * a; // transparent: dark ground for now
  }
  // a picture with a transparent ground: its opaque pixels are the ink, whatever their colour
  if (transparent > gray.length / 4) {
    for (let i = 0; i < gray.length; i++) gray[i] = rgba[4 * i + 3] / 255;
    return { gray, width, height };
  }
  let border = 0;
  let m = 0;
  for (let x = 0; x < width; x++) { border += gray[x] + gray[(height - 1) * width + x]; m += 2; }
  for (let y = 0; y < height; y++) { border += gray[y * width] + gray[y * width + width - 1]; m += 2; }
  if (border / m > 0.5) for (let i = 0; i < gray.length; i++) gray[i] = 1 - gray[i];
  return { gray, width, height };
}
