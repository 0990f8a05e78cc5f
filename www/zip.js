// A small reader for .zip files of images (the Data panel's "drop a zip"): the central directory
// lists the entries; each is stored or deflated, which the browser's DecompressionStream
// inflates. No zip64, no encryption: those are refused with a message.
//
// A zip may be hostile (a bomb) or just huge, so nothing is read whole: the end record and the
// directory come from the file's tail (Blob.slice), every cap is checked on the directory before
// any entry is read, and an entry is read (and inflated) only when it is asked for. Inflating
// feeds the inflater small slices and stops as soon as the output passes the declared size: a
// browser's DecompressionStream inflates each chunk it is given in full, so 2 MB of deflate data
// given at once is 2 GB in the tab whatever the reader does.

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Caps: a zip of images for a 28x28 dataset never needs more (and a zip bomb stops early).
 *  Entries: a dataset holds 10,000 images, and a zip made on a Mac lists a __MACOSX/ twin of
 *  each; total: what the pictures kept inflate to, declared in the directory, checked first. */
export const MAX_ENTRIES = 20_000;
export const MAX_TOTAL_BYTES = 256 << 20;
/** The directory itself (20,000 entries with 200-character names are 5 MB). */
export const MAX_DIRECTORY_BYTES = 16 << 20;
/** Deflate cannot do better than 1032:1; a size declared beyond that is a lie. */
const MAX_RATIO = 1032;

const mb = (n) => `${(n / (1 << 20)).toFixed(n < 10 << 20 ? 1 : 0)} MB`;
const yieldNow = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A Blob (or File) of the input: a Uint8Array or ArrayBuffer is wrapped; anything with `size`
 *  and `slice(start, end)` giving something with `arrayBuffer()` is read as it is. */
function asBlob(input) {
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) return new Blob([input]);
  if (input && typeof input.size === 'number' && typeof input.slice === 'function') return input;
  throw new TypeError('unzip: expected a File, Blob, Uint8Array or ArrayBuffer');
}

async function readRange(blob, start, end) {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

/**
 * The entries of a zip whose names `keep` accepts, read from its tail only:
 * {entries: [{name, size, read: () => Promise<Uint8Array>}], found} in the archive's order,
 * at most `limit` of them (`found` counts them all). Throws with a reason on a file that is not a
 * zip, uses what this reader does not support, or is beyond a cap, before any entry is read.
 * An entry's `read` rejects (naming the entry) when it is damaged or inflates past its size.
 */
export async function listZip(input, keep = () => true, { limit = Infinity } = {}) {
  const blob = asBlob(input);
  const size = blob.size;
  // the end record sits in the last 22 bytes plus a comment of at most 65535
  const tailAt = Math.max(0, size - 22 - 0xffff);
  const tail = await readRange(blob, tailAt, size);
  const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let end = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === EOCD) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('not a zip file (no end of central directory)');
  const count = tv.getUint16(end + 10, true);
  const dirSize = tv.getUint32(end + 12, true);
  const dirAt = tv.getUint32(end + 16, true);
  if (count === 0xffff || dirAt === 0xffffffff || dirSize === 0xffffffff)
    throw new Error('zip64 archives are not supported: zip fewer, smaller files');
  if (count > MAX_ENTRIES)
    throw new Error(
      `the zip lists ${count.toLocaleString('en')} files: at most ${MAX_ENTRIES.toLocaleString('en')} are read (zip fewer pictures)`,
    );
  if (dirSize > MAX_DIRECTORY_BYTES) throw new Error(`the zip's list of files is ${mb(dirSize)} (at most ${mb(MAX_DIRECTORY_BYTES)})`);
  if (dirAt + dirSize > tailAt + end || dirSize < 46 * count) throw new Error("the zip's central directory is damaged");
  const dir = await readRange(blob, dirAt, dirAt + dirSize);
  const view = new DataView(dir.buffer, dir.byteOffset, dir.byteLength);
  const names = new TextDecoder();
  const entries = [];
  let found = 0;
  let total = 0;
  let at = 0;
  let slice = performance.now();
  for (let k = 0; k < count; k++) {
    if (at + 46 > dir.length || view.getUint32(at, true) !== CENTRAL) throw new Error("the zip's central directory is damaged");
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const compressed = view.getUint32(at + 20, true);
    const declared = view.getUint32(at + 24, true);
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    if (at + 46 + nameLen > dir.length) throw new Error("the zip's central directory is damaged");
    const name = names.decode(dir.subarray(at + 46, at + 46 + nameLen));
    at += 46 + nameLen + extraLen + commentLen;
    // a long directory gives the page a turn now and then
    if (performance.now() - slice > 30) {
      await yieldNow();
      slice = performance.now();
    }
    if (name.endsWith('/') || !keep(name)) continue;
    found++;
    if (entries.length >= limit) continue;
    if (flags & 1) throw new Error(`${name}: encrypted zip entries are not supported`);
    if (method !== 0 && method !== 8) throw new Error(`${name}: compression method ${method} is not supported (only stored and deflate)`);
    total += declared;
    if (total > MAX_TOTAL_BYTES)
      throw new Error(`the zip's pictures would inflate to more than ${mb(MAX_TOTAL_BYTES)} (zip fewer or smaller pictures)`);
    entries.push({ name, size: declared, read: () => readEntry(blob, { name, method, compressed, size: declared, local }) });
  }
  return { entries, found };
}

/** The bytes of one entry, checked against what the directory says. */
async function readEntry(blob, { name, method, compressed, size, local }) {
  const corrupt = (why) => new Error(`${name}: corrupt entry, ${why}`);
  if (method === 0 && compressed !== size) throw corrupt(`stored in ${compressed} bytes, the zip says ${size}`);
  if (method === 8 && size > compressed * MAX_RATIO + 64)
    throw corrupt(`${compressed} bytes of deflate data cannot inflate to the ${size} the zip says`);
  if (local + 30 > blob.size) throw new Error(`${name}: damaged entry`);
  const head = await readRange(blob, local, local + 30);
  const hv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (hv.getUint32(0, true) !== LOCAL) throw new Error(`${name}: damaged entry`);
  const start = local + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
  if (start + compressed > blob.size) throw new Error(`${name}: the zip is truncated`);
  const raw = await readRange(blob, start, start + compressed);
  const bytes = method === 0 ? raw : await inflate(raw, size, name);
  if (bytes.length !== size) throw corrupt(`inflates to ${bytes.length} bytes, the zip says ${size}`);
  return bytes;
}

/**
 * The files in a zip (File, Blob, Uint8Array or ArrayBuffer) whose names `keep` accepts:
 * [{name, bytes: Uint8Array}] in the archive's order. Throws with a reason on a file that is not a
 * zip, uses what this reader does not support, or has a damaged entry.
 */
export async function unzip(input, keep = () => true, options = {}) {
  const { entries } = await listZip(input, keep, options);
  const out = [];
  for (const e of entries) out.push({ name: e.name, bytes: await e.read() });
  return out;
}

/**
 * Inflate raw deflate data that should make `expected` bytes. The inflater gets slices small
 * enough that one slice makes at most ~1/1000 of the expected size (1 to 16 KB: 1 to 16 MB at
 * deflate's best ratio), and one more than `expected` bytes stops it: a lying header is no bomb.
 */
async function inflate(raw, expected, name) {
  const step = Math.min(16 << 10, Math.max(1 << 10, Math.ceil(expected / 1024)));
  const ds = new DecompressionStream('deflate-raw');
  const writer = ds.writable.getWriter();
  const reader = ds.readable.getReader();
  let stop = false;
  const feeding = (async () => {
    for (let at = 0; at < raw.length && !stop; at += step) {
      await writer.ready;
      if (stop) return;
      await writer.write(raw.subarray(at, at + step));
    }
    if (!stop) await writer.close();
  })();
  feeding.catch(() => {}); // a failure shows on the reading side
  const out = new Uint8Array(expected);
  let got = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (got + value.length > expected)
        throw new Error(`${name}: corrupt entry, inflates to more than the ${expected} bytes the zip says`);
      out.set(value, got);
      got += value.length;
    }
  } catch (e) {
    stop = true;
    reader.cancel().catch(() => {});
    writer.abort().catch(() => {});
    throw e.message.startsWith(`${name}:`) ? e : new Error(`${name}: corrupt entry (${e.message})`);
  }
  return out.subarray(0, got);
}
