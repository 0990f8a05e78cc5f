// Precompressed copies of the files the app serves: `file.br` (brotli, quality 11) and `file.gz`
// (gzip, level 9) beside each compressible one, what a static host serves for
// `Accept-Encoding: br, gzip` and what tools/serve.mjs serves by default. A copy takes its
// source's modification time, so a copy is fresh exactly when its time equals the source's: only
// changed files are compressed again. (The dev server does not trust times alone: it serves a
// copy only once it has checked that it decodes to the source's bytes.)
// A file that gains less than 5% (weights are floats, pictures and fonts are compressed already)
// gets no copy. No dependencies.
//   node tools/precompress.mjs [--root .] [--clean] [--quiet]
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/** The encodings, in the order a server prefers them, with their file suffixes. */
export const ENCODINGS = [
  { name: 'br', ext: '.br' },
  { name: 'gzip', ext: '.gz' },
];
/** A copy smaller than this share of its source is worth sending. */
const WORTH = 0.95;

/** Every file the app serves that may compress (relative paths): the page, its scripts, styles
 *  and manifests, the engines the page loads, the digit parts it fetches, the shipped weights and
 *  the examples. Not pictures or fonts (compressed already), not the CLI's combined digit files
 *  nor the measuring-only engines (the page never fetches them). */
export function compressibleFiles(root = '.') {
  const files = [];
  const walk = (dir, keep) => {
    const full = path.join(root, dir);
    if (!fs.existsSync(full)) return;
    for (const e of fs.readdirSync(full, { withFileTypes: true })) {
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel, keep);
      else if (e.isFile() && keep(rel)) files.push(rel);
    }
  };
  for (const page of ['index.html', 'report.html']) if (fs.existsSync(path.join(root, page))) files.push(page);
  walk('www', (f) => /\.(js|css|json|html|svg)$/.test(f) || /data\/.*-(train|test)\.bin$/.test(f));
  walk('pkg', (f) => /\.(js|wasm)$/.test(f) && !/nofusion|flex/.test(f));
  walk('weights', (f) => f.endsWith('.bin'));
  walk('examples', (f) => /\.(html|js|css)$/.test(f));
  return files.sort();
}

/** Whether a copy's time is its source's (to the millisecond: setting a file's time rounds it). */
export const sameTime = (a, b) => Math.abs(a.mtimeMs - b.mtimeMs) < 1;

const fresh = (copy, st) => {
  try {
    return sameTime(fs.statSync(copy), st);
  } catch {
    return false;
  }
};

/** Write the missing or stale copies of `rel` under `root`; returns what was done per encoding. */
async function precompress(root, rel) {
  const file = path.join(root, rel);
  const st = fs.statSync(file);
  const copies = ENCODINGS.map((e) => ({ ...e, path: file + e.ext }));
  if (copies.every((c) => fresh(c.path, st))) return { rel, size: st.size, fresh: true };
  const bytes = fs.readFileSync(file);
  const made = await Promise.all(
    copies.map(async (c) => {
      const out =
        c.name === 'br'
          ? await brotli(bytes, {
              params: {
                [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
                [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
                [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
                [zlib.constants.BROTLI_PARAM_MODE]: /\.(wasm|bin)$/.test(rel)
                  ? zlib.constants.BROTLI_MODE_GENERIC
                  : zlib.constants.BROTLI_MODE_TEXT,
              },
            })
          : await gzip(bytes, { level: 9 });
      return { ...c, size: out.length, out };
    }),
  );
  const result = { rel, size: st.size };
  for (const c of made) {
    if (c.size < st.size * WORTH) {
      // written beside and renamed: a server never sends half a copy
      fs.writeFileSync(`${c.path}.tmp`, c.out);
      fs.utimesSync(`${c.path}.tmp`, st.atimeMs / 1000, st.mtimeMs / 1000);
      fs.renameSync(`${c.path}.tmp`, c.path);
      result[c.name] = c.size;
    } else {
      fs.rmSync(c.path, { force: true });
      result[c.name] = null;
    }
  }
  return result;
}

/** Remove every copy this tool may have written under `root`. */
export function cleanCopies(root = '.') {
  let n = 0;
  for (const rel of compressibleFiles(root)) {
    for (const e of ENCODINGS) {
      const p = path.join(root, rel + e.ext);
      if (fs.existsSync(p)) {
        fs.rmSync(p);
        n++;
      }
    }
  }
  return n;
}

/** Bring every copy under `root` up to date (two files at a time: brotli 11 keeps a core busy). */
export async function precompressAll(root = '.', { log = () => {} } = {}) {
  const files = compressibleFiles(root);
  const results = [];
  let next = 0;
  const lane = async () => {
    while (next < files.length) {
      const rel = files[next++];
      const t = Date.now();
      const r = await precompress(root, rel);
      results.push(r);
      if (!r.fresh) {
        const f = (n) => (n === null ? 'skipped (< 5% smaller)' : `${n} (${((100 * n) / r.size).toFixed(0)}%)`);
        log(`${rel}: ${r.size} bytes, br ${f(r.br)}, gz ${f(r.gzip)} (${Date.now() - t} ms)`);
      }
    }
  };
  await Promise.all([lane(), lane()]);
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--root');
  const root = i >= 0 ? process.argv[i + 1] : '.';
  if (process.argv.includes('--clean')) {
    console.log(`removed ${cleanCopies(root)} precompressed copies`);
  } else {
    const quiet = process.argv.includes('--quiet');
    const t = Date.now();
    const results = await precompressAll(root, { log: quiet ? () => {} : console.log });
    const made = results.filter((r) => !r.fresh).length;
    console.log(
      `precompressed ${made} of ${results.length} files (${results.length - made} up to date) in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );
  }
}
