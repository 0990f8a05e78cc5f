// The visitor's own images become 28x28 grey images like MNIST's: decoded by the browser, turned
// to grey (ink bright on a dark ground, whichever way the picture has it), then cropped, scaled
// and centred by the engine's `preprocess` (the same as a drawing).
//
// A picture may be hostile (a 50 KB PNG that says 20000 x 20000 decodes to 1.6 GB), so its size
// is read from its header first and a picture beyond the caps is refused before any decoding;
// the decoding itself runs in a small worker (picture-worker.js), off the page's thread.
import { listZip } from './zip.js';

const IMAGE_NAME = /\.(png|jpe?g|gif|webp|bmp)$/i;
/** Pictures are scaled down to this side before preprocessing: 28x28 is all that is kept. */
const MAX_SIDE = 280;
// The largest side of a picture is the engine's (`limits.maxPictureSide` of Lab.constants()): the
// functions that check a picture take the engine's `limits`, and a bigger one is refused from its
// header, before decoding.
/** Bytes of a picture file: a PNG of noise with alpha at the largest side (4,096) is 67 MB. */
export const MAX_PICTURE_BYTES = 128 << 20;
/** Bytes of a picture whose header this file cannot read (AVIF, ICO, ...): the browser decodes it
 *  only when it is small, and its size is checked after. */
export const MAX_OTHER_PICTURE_BYTES = 4 << 20;
/** How much of a file the header is looked for in (a JPEG's EXIF, ICC and XMP segments first). */
const HEAD_BYTES = 1 << 20;
/** A picture whose ink varies less than this (all white, all black, all transparent) is blank. */
const BLANK_RANGE = 0.1;

const mb = (n) => `${Math.round(n / (1 << 20))} MB`;
const fmt = (n) => n.toLocaleString('en');

/**
 * The image files among dropped or chosen files, zips opened (from their directory only: an
 * entry is read when its picture is): {pictures: [{name, size, blob: () => Promise<Blob>}],
 * found, failed: ['name (why)']}; at most `limit` pictures, `found` counts them all. A zip that
 * cannot be read is named; the other files still count.
 */
export async function imageFiles(files, { limit = Infinity } = {}) {
  const pictures = [];
  const failed = [];
  let found = 0;
  for (const f of files) {
    if (/\.zip$/i.test(f.name) || f.type === 'application/zip' || f.type === 'application/x-zip-compressed') {
      try {
        const z = await listZip(f, (n) => IMAGE_NAME.test(n) && !n.startsWith('__MACOSX/'), {
          limit: Math.max(0, limit - pictures.length),
        });
        found += z.found;
        for (const e of z.entries) pictures.push({ name: `${f.name}/${e.name}`, size: e.size, blob: () => readEntry(e) });
      } catch (e) {
        failed.push(`${f.name} (${e.message})`);
      }
    } else {
      found++;
      if (pictures.length < limit) pictures.push({ name: f.name, size: f.size, blob: async () => f });
    }
  }
  return { pictures, found, failed };
}

/** A zip entry's bytes as a Blob; a failure's reason without the entry's name (the caller has it). */
async function readEntry(e) {
  try {
    return new Blob([await e.read()]);
  } catch (err) {
    throw new Error(err.message.startsWith(`${e.name}: `) ? err.message.slice(e.name.length + 2) : err.message);
  }
}

const u16be = (b, i) => (b[i] << 8) | b[i + 1];
const u16le = (b, i) => b[i] | (b[i + 1] << 8);
const u24le = (b, i) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
const u32be = (b, i) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
const u32le = (b, i) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
const i32le = (b, i) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
const ascii = (b, i, n) => String.fromCharCode(...b.subarray(i, i + n));

/**
 * The type and size a picture's header declares: {type, width, height}, from the first bytes of
 * a PNG (IHDR), JPEG (the SOF segment), GIF (the logical screen), WebP (VP8, VP8L or VP8X) or
 * BMP; null for another type. Throws on a header of one of these types that is damaged or cut
 * before it says its size.
 */
export function pictureInfo(head) {
  const b = head instanceof Uint8Array ? head : new Uint8Array(head);
  const damaged = (type) => new Error(`damaged ${type} header`);
  if (b.length >= 8 && u32be(b, 0) === 0x89504e47 && u32be(b, 4) === 0x0d0a1a0a) {
    if (b.length < 24 || ascii(b, 12, 4) !== 'IHDR') throw damaged('PNG');
    return { type: 'png', width: u32be(b, 16), height: u32be(b, 20) };
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    let p = 2;
    while (p + 4 <= b.length) {
      if (b[p] !== 0xff) throw damaged('JPEG');
      const m = b[p + 1];
      if (m === 0xff) {
        p++;
        continue;
      } // fill byte
      if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
        p += 2;
        continue;
      } // no length
      if (m === 0xd9 || m === 0xda) break; // the end or the scan before any frame header
      const len = u16be(b, p + 2);
      if (len < 2) throw damaged('JPEG');
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
        if (p + 9 > b.length) break;
        return { type: 'jpeg', width: u16be(b, p + 7), height: u16be(b, p + 5) };
      }
      p += 2 + len;
    }
    throw new Error(b.length >= HEAD_BYTES ? `no JPEG frame header in the first ${mb(HEAD_BYTES)}` : damaged('JPEG'));
  }
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) {
    if (b.length < 10) throw damaged('GIF');
    return { type: 'gif', width: u16le(b, 6), height: u16le(b, 8) };
  }
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') {
    if (b.length < 30) throw damaged('WebP');
    const kind = ascii(b, 12, 4);
    if (kind === 'VP8X') return { type: 'webp', width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
    if (kind === 'VP8L') {
      if (b[20] !== 0x2f) throw damaged('WebP');
      const bits = u32le(b, 21);
      return { type: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    if (kind === 'VP8 ') {
      if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) throw damaged('WebP');
      return { type: 'webp', width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
    }
    throw damaged('WebP');
  }
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d && b.length >= 18) {
    const dib = u32le(b, 14);
    if (dib === 12) {
      if (b.length < 22) throw damaged('BMP');
      return { type: 'bmp', width: u16le(b, 18), height: u16le(b, 20) };
    }
    if (b.length < 26) throw damaged('BMP');
    return { type: 'bmp', width: Math.abs(i32le(b, 18)), height: Math.abs(i32le(b, 22)) };
  }
  return null;
}

/** A picture's size is within the caps (`limits`: the engine's), from its header: throws with the
 *  reason otherwise. {type, width, height} or null (a type without a header read here, small
 *  enough to try). */
export async function checkPicture(blob, limits) {
  const side = sideOf(limits);
  const head = new Uint8Array(await blob.slice(0, HEAD_BYTES).arrayBuffer());
  const info = pictureInfo(head);
  if (!info) {
    if (blob.size > MAX_OTHER_PICTURE_BYTES)
      throw new Error(
        `not a PNG, JPEG, GIF, WebP or BMP picture, and too big to try (${mb(blob.size)}; at most ${mb(MAX_OTHER_PICTURE_BYTES)})`,
      );
    return null;
  }
  checkSize(info.width, info.height, side);
  if (blob.size > MAX_PICTURE_BYTES) throw new Error(`the file is ${mb(blob.size)} (a picture may have at most ${mb(MAX_PICTURE_BYTES)})`);
  return info;
}

/** The largest side of a picture, from the engine's limits (no default: the engine's number only). */
function sideOf(limits) {
  const side = limits?.maxPictureSide;
  if (!(side > 0)) throw new TypeError("images.js: the engine's limits (Lab.constants().limits, maxPictureSide) are needed");
  return side;
}

function checkSize(width, height, side) {
  if (!(width > 0 && height > 0)) throw new Error(`the picture says it is ${width} × ${height} pixels`);
  if (width * height > side * side) {
    throw new Error(
      `${fmt(width)} × ${fmt(height)} pixels is too big: a picture may have at most ${fmt(side * side)} pixels, ${side} × ${side}`,
    );
  }
}

/**
 * A picture as ink in [0, 1] (row-major, at most MAX_SIDE a side): {gray, width, height, blank}.
 * Transparent pixels are ground. A picture whose border is mostly light (dark ink on paper, a
 * product photo on white) is inverted, so the ink is bright as in MNIST. `blank`: the picture
 * has no ink to speak of (all white, all black, all transparent). The size is checked from the
 * header first; the decoding runs in a worker where one can start, else here.
 */
export async function pictureToInk(blob, limits) {
  await checkPicture(blob, limits);
  const w = decoder();
  if (w) {
    const r = await w.decode(blob, limits);
    if (!r.fallback) return r;
  }
  return decodeInk(blob, limits);
}

/** Decode and convert (in the picture worker, or on the page when no worker can start). */
export async function decodeInk(blob, limits) {
  const side = sideOf(limits);
  const bitmap = await createImageBitmap(blob);
  try {
    checkSize(bitmap.width, bitmap.height, side);
  } catch (e) {
    bitmap.close();
    throw e;
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const gray = inkOf(ctx.getImageData(0, 0, width, height).data, width, height);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of gray) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return { gray, width, height, blank: hi - lo < BLANK_RANGE };
}

function inkOf(rgba, width, height) {
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
    return gray;
  }
  let border = 0;
  let m = 0;
  for (let x = 0; x < width; x++) {
    border += gray[x] + gray[(height - 1) * width + x];
    m += 2;
  }
  for (let y = 0; y < height; y++) {
    border += gray[y * width] + gray[y * width + width - 1];
    m += 2;
  }
  if (border / m > 0.5) for (let i = 0; i < gray.length; i++) gray[i] = 1 - gray[i];
  return gray;
}

// --- the picture worker -------------------------------------------------------------------
let worker = null; // {decode} while one runs; false once none can start
let idle = null;

/** The picture worker, started on first use (same origin only: a page may not start another's)
 *  and ended after 20 s without work. */
function decoder() {
  if (worker !== null) return worker;
  let url;
  try {
    url = new URL('./picture-worker.js', import.meta.url);
    if (typeof Worker === 'undefined' || url.origin !== globalThis.location?.origin) return (worker = false);
  } catch {
    return (worker = false);
  }
  let w;
  try {
    w = new Worker(url, { type: 'module' });
  } catch {
    return (worker = false);
  }
  const pending = new Map();
  let next = 0;
  const stopAll = (fallback) => {
    for (const { resolve } of pending.values()) resolve({ fallback });
    pending.clear();
  };
  w.onmessage = ({ data }) => {
    const p = pending.get(data.id);
    if (!p) return;
    pending.delete(data.id);
    if (data.error !== undefined) p.reject(new Error(data.error));
    else p.resolve(data);
  };
  // the worker could not load: this page decodes itself from now on
  w.onerror = (e) => {
    e.preventDefault?.();
    w.terminate();
    worker = false;
    stopAll(true);
  };
  const handle = {
    decode(blob, { maxPictureSide } = {}) {
      clearTimeout(idle);
      return new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        w.postMessage({ id, blob, limits: { maxPictureSide } });
      }).finally(() => {
        if (pending.size === 0) {
          clearTimeout(idle);
          idle = setTimeout(() => {
            if (pending.size === 0 && worker === handle) {
              w.terminate();
              worker = null;
            }
          }, 20_000);
        }
      });
    },
  };
  return (worker = handle);
}
