// A mock course page on another origin: http://localhost:<port>/ serves examples/embed.html (and
// its script and styles) with the app's address put in for `../`, as a lecturer would paste it,
// plus api.html, a page that uses the JS API only, frames.html, a page with two iframes, and
// bare.html, the element's module alone (tests add elements).
// The app itself is served on http://127.0.0.1:<other port>/.
import http from 'node:http';
import fs from 'node:fs';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

const apiPage = (app) => `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>API from another origin</title>
<p id="status">loading…</p>
<script type="module">
  import { createVaeLab } from '${app}www/vaelab.js';
  const status = document.getElementById('status');
  try {
    const lab = createVaeLab({ backend: new URLSearchParams(location.search).get('backend') ?? 'auto' });
    await lab.ready;
    await lab.loadPretrained('C');
    const samples = await lab.sample(4, 1);
    const x = await lab.testImages([0, 1]);
    const rec = await lab.reconstruct(x);
    const run = lab.train({ arch: 'B', epochs: 1, limit: 128, seed: 3 });
    const last = await run.done;
    window.result = { backend: lab.backend, samples: samples.length, inked: samples.every((s) => s.some((v) => v > 0.5)),
      recLength: rec.length, done: last.done, epoch: last.epoch, images: last.images, slot: run.slot };
    status.textContent = 'done';
  } catch (e) {
    window.result = { error: e.message };
    status.textContent = e.message;
  }
</script>`;

const framesPage = (app, backend) => `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>Two frames</title>
<iframe id="a" style="width:640px;height:560px" src="${app}index.html?panel=sample&arch=B&embed=1${backend}"></iframe>
<iframe id="b" style="width:640px;height:560px" src="${app}index.html?panel=draw&arch=C&embed=1${backend}"></iframe>`;

/** One element that keeps what visitors make (`persist`), and a Fashion-MNIST element beside it. */
const persistPage = (app, backend) => `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>Persist</title>
<script type="module" src="${app}www/vaelab.js"></script>
<vae-lab id="kept" panel="sample" arch="B" persist${backend ? ` backend="${backend}"` : ''}></vae-lab>
<vae-lab id="fashion" panel="sample" arch="C" dataset="fashion"></vae-lab>`;

/** The element's module and nothing else: a test adds the <vae-lab> elements it needs. */
const barePage = (app) => `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>Bare</title>
<script type="module" src="${app}www/vaelab.js"></script>`;

export function startCourseServer(appUrl) {
  const rewrite = (text) => text.replaceAll('../www/', `${appUrl}www/`).replaceAll('../index.html', `${appUrl}index.html`);
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://localhost');
    const backend = u.searchParams.get('backend') ? `&backend=${u.searchParams.get('backend')}` : '';
    let body;
    let type = TYPES['.html'];
    if (u.pathname === '/api.html') body = apiPage(appUrl);
    else if (u.pathname === '/frames.html') body = framesPage(appUrl, backend);
    else if (u.pathname === '/persist.html') body = persistPage(appUrl, u.searchParams.get('backend'));
    else if (u.pathname === '/bare.html') body = barePage(appUrl);
    else if (['/embed.html', '/embed.js', '/embed.css'].includes(u.pathname)) {
      body = rewrite(fs.readFileSync(`examples${u.pathname}`, 'utf8'));
      // the backend under test: the iframe's and the elements' (the first element chooses)
      if (backend && u.pathname === '/embed.html')
        body = body
          .replace('embed=1"', `embed=1${backend.replace('&', '&amp;')}"`)
          .replace('<vae-lab id="vae-draw"', `<vae-lab backend="${u.searchParams.get('backend')}" id="vae-draw"`);
      type = TYPES[u.pathname.slice(u.pathname.lastIndexOf('.'))];
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://localhost:${server.address().port}/` })),
  );
}
