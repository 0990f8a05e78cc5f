// The .zip writer of the .vaelab bundle (www/zip-write.js): what it writes, our reader (zip.js)
// and an independent one (Python's zipfile, where installed) read back byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32, zipFiles } from '../../www/zip-write.js';
import { unzip } from '../../www/zip.js';

const files = () => [
  { name: 'vaelab.json', bytes: new TextEncoder().encode(JSON.stringify({ format: 'vaelab', note: 'é ✓' })) },
  // compresses well (deflated) and does not (stored: random bytes)
  { name: 'dataset/images.u8', bytes: new Uint8Array(50_000).map((_, i) => (i % 784 < 300 ? 0 : i % 251)) },
  { name: 'weights.bin', bytes: Uint8Array.from({ length: 4096 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) & 0xff) },
  { name: 'empty', bytes: new Uint8Array(0) },
];

test('crc32 is the standard one (the check value of "123456789")', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('zip.js reads back what zipFiles writes, deflated where that is smaller', async () => {
  const want = files();
  const zip = await zipFiles(want);
  const got = await unzip(zip);
  assert.deepEqual(
    got.map((f) => f.name),
    want.map((f) => f.name),
  );
  for (const [i, f] of got.entries()) assert.deepEqual(f.bytes, want[i].bytes, f.name);
  // the compressible entry made the file smaller than the entries together
  assert.ok(zip.length < want.reduce((s, f) => s + f.bytes.length, 0) - 30_000, `${zip.length} bytes`);
});

const python = (() => {
  try {
    execFileSync('python3', ['-c', 'import zipfile']);
    return true;
  } catch {
    return false;
  }
})();

test('an independent reader (Python zipfile) checks every CRC and reads the same bytes', { skip: !python && 'no python3' }, async () => {
  const want = files();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaelab-zip-'));
  const file = path.join(dir, 'b.zip');
  fs.writeFileSync(file, await zipFiles(want));
  const script =
    'import sys, zipfile, json, hashlib\n' +
    'z = zipfile.ZipFile(sys.argv[1])\n' +
    'assert z.testzip() is None\n' +
    'print(json.dumps([[i.filename, i.compress_type, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]))';
  const out = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' }));
  const { createHash } = await import('node:crypto');
  const sha = (b) => createHash('sha256').update(b).digest('hex');
  assert.deepEqual(
    out.map(([name, , h]) => [name, h]),
    want.map((f) => [f.name, sha(f.bytes)]),
  );
  assert.deepEqual(
    out.map(([, method]) => method),
    [0, 8, 0, 0],
  );
  fs.rmSync(dir, { recursive: true });
});
