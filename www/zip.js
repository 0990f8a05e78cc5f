// A small reader for .zip files of images (the Data panel's "drop a zip"): the central directory
// lists the entries; each is stored or deflated, which the browser's DecompressionStream
// inflates. No zip64, no encryption: those are refused with a message.

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Caps: a zip of images for a 28x28 dataset never needs more (and a zip bomb stops early). */
export const MAX_ENTRIES = 20_000;
export const MAX_TOTAL_BYTES = 256 << 20;

/**
 * The files in a zip (Uint8Array or ArrayBuffer) whose names `keep` accepts:
 * [{name, bytes: Uint8Array}] in the archive's order. Throws with a reason on a file that is not a
 * zip or uses what this reader does not support.
 */
export async function unzip(input, keep = () => true) {
  const buf = input instanceof Uint8Array ? input : new Uint8Array(input);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // the end record sits in the last 22 bytes plus a comment of at most 65535
  let end = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD) { end = i; break; }
  }
  if (end < 0) throw new Error('not a zip file (no end of central directory)');
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  if (count === 0xffff || at === 0xffffffff) throw new Error('zip64 archives are not supported: zip fewer, smaller files');
  if (count > MAX_ENTRIES) throw new Error(`the zip lists ${count} files (at most ${MAX_ENTRIES})`);
  const out = [];
  let total = 0;
  for (let k = 0; k < count; k++) {
    if (at + 46 > buf.length || view.getUint32(at, true) !== CENTRAL) throw new Error('the zip\'s central directory is damaged');
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const compressed = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(buf.subarray(at + 46, at + 46 + nameLen));
    at += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/') || !keep(name)) continue;
    if (flags & 1) throw new Error(`${name}: encrypted zip entries are not supported`);
    if (method !== 0 && method !== 8) throw new Error(`${name}: compression method ${method} is not supported (only stored and deflate)`);
    total += size;
    if (total > MAX_TOTAL_BYTES) throw new Error(`the zip's images inflate to more than ${MAX_TOTAL_BYTES >> 20} MB`);
    if (local + 30 > buf.length || view.getUint32(local, true) !== LOCAL) throw new Error(`${name}: damaged entry`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + compressed > buf.length) throw new Error(`${name}: the zip is truncated`);
    const raw = buf.subarray(start, start + compressed);
    const bytes = method === 0 ? raw.slice() : await inflate(raw, size, name);
    if (bytes.length !== size) throw new Error(`${name}: inflated to ${bytes.length} bytes, the zip says ${size}`);
    out.push({ name, bytes });
  }
  return out;
}

/** Inflate raw deflate data; more than `expected` bytes stops it (a lying header is no bomb). */
async function inflate(raw, expected, name) {
  const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const reader = stream.getReader();
  const out = new Uint8Array(expected);
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length > expected) {
      await reader.cancel().catch(() => {});
      throw new Error(`${name}: inflates to more than the ${expected} bytes the zip says`);
    }
    out.set(value, got);
    got += value.length;
  }
  return out.subarray(0, got);
}
