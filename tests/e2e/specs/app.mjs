// The page as a whole: backend choice and its messages, embedding by URL and by the example page.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert, open, tab, canvasSum, engine } from '../helpers.mjs';
import { launchWithProfile } from '../browser.mjs';
import { startServer } from '../../../tools/serve.mjs';

export default (cfg, { url, root, shot }) => [
  engine('starts on the expected backend and says so', async (page) => {
    await open(page, url, 'panel=models');
    const backend = await page.evaluate(() => window.vaeLab.backend);
    assert(backend === cfg.backend, `backend is ${backend}, expected ${cfg.backend}`);
    const badge = await page.textContent('#backend');
    assert(badge === (cfg.backend === 'webgpu' ? 'WebGPU' : 'CPU'), `badge says ${badge}`);
    const messages = await page.textContent('#messages');
    if (cfg.backend === 'cpu') {
      assert(/Running on the CPU: /.test(messages), `no fallback message: ${messages}`);
    } else {
      // SwiftShader is a software adapter: the page must say that the CPU is faster
      const gpu = await page.evaluate(() => window.vaeLab.gpu);
      assert(gpu?.software === true, `SwiftShader not recognised as a software adapter: ${JSON.stringify(gpu)}`);
      assert(/software renderer/.test(messages), `no software-adapter notice: ${messages}`);
    }
  }),
  ...(cfg.backend === 'cpu'
    ? [
        [
          'Nothing moves under the pen: no layout shift once the page is ready, messages float; a dismissed remark stays dismissed',
          async (page) => {
            await page.addInitScript(() => {
              window.layoutShifts = [];
              new PerformanceObserver((list) => {
                for (const e of list.getEntries()) window.layoutShifts.push({ value: e.value, at: e.startTime, input: e.hadRecentInput });
              }).observe({ type: 'layout-shift', buffered: true });
            });
            await open(page, url, 'panel=draw');
            const readyAt = await page.evaluate(() => performance.now());
            const padBefore = await page.$eval('#draw-canvas', (c) => c.getBoundingClientRect().top);
            // the remarks go (dismissed, or timed out as the info ones do): nothing below them moves
            assert((await page.$$eval('#messages .msg', (m) => m.length)) > 0, 'no remark to dismiss (the CPU fallback says why)');
            for (const b of await page.$$('#messages .msg .close')) await b.click();
            await page.waitForTimeout(300);
            const r = await page.evaluate(
              (t) => ({
                after: window.layoutShifts.filter((s) => s.at >= t).reduce((a, s) => a + s.value, 0),
                total: window.layoutShifts.filter((s) => !s.input).reduce((a, s) => a + s.value, 0),
              }),
              readyAt,
            );
            const padAfter = await page.$eval('#draw-canvas', (c) => c.getBoundingClientRect().top);
            assert(
              padAfter === padBefore && r.after < 0.001,
              `the pad moved ${padAfter - padBefore} px; layout shift after ready ${r.after.toFixed(4)}`,
            );
            assert(r.total < 0.05, `cumulative layout shift of the load ${r.total.toFixed(4)}`);
            console.log(`       cumulative layout shift: ${r.total.toFixed(4)} in all, ${r.after.toFixed(4)} after ready`);
            await page.reload();
            await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
            const again = await page.textContent('#messages');
            assert(!/Running on the CPU/.test(again), `a dismissed remark came back: ${again}`);
          },
        ],
      ]
    : []),
  ...(cfg.backend === 'webgpu'
    ? [
        engine('auto never picks a software WebGPU adapter; asking for WebGPU still gets it', async (page) => {
          await open(page, url, 'panel=models&backend=auto');
          const r = await page.evaluate(() => ({ backend: window.vaeLab.backend, reason: window.vaeLab.fallbackReason }));
          assert(r.backend === 'cpu' && /software renderer/.test(r.reason ?? ''), `auto on SwiftShader: ${JSON.stringify(r)}`);
          assert(/software renderer/.test(await page.textContent('#messages')), 'the page does not say why');
          await page.evaluate(() => window.vaeLab.setBackend('webgpu'));
          assert((await page.evaluate(() => window.vaeLab.backend)) === 'webgpu', 'the switch did not force WebGPU');
        }),
      ]
    : []),
  ...(cfg.backend === 'webgpu'
    ? [
        engine('auto measures both backends when asked to probe, says why, and remembers the choice', async (page) => {
          // a hardware adapter is always probed; ?probe=1 makes auto probe SwiftShader too
          await open(page, url, 'panel=models&backend=auto&probe=1');
          const choice = await page.evaluate(() => window.vaeLab.backendChoice);
          assert(choice && choice.cpuMsPerStep > 0 && choice.webgpuMsPerStep > 0, `choice: ${JSON.stringify(choice)}`);
          const faster = choice.webgpuMsPerStep < choice.cpuMsPerStep ? 'webgpu' : 'cpu';
          assert(
            choice.backend === faster && (await page.evaluate(() => window.vaeLab.backend)) === faster,
            `chose ${choice.backend}, faster was ${faster}`,
          );
          const messages = await page.textContent('#messages');
          assert(
            /Backend chosen by measuring/.test(messages) && messages.includes(choice.cpuMsPerStep.toFixed(1)),
            `messages: ${messages}`,
          );
          await page.reload();
          await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
          const again = await page.evaluate(() => window.vaeLab.backendChoice);
          assert(again?.remembered && again.backend === choice.backend, `after reload: ${JSON.stringify(again)}`);
        }),
      ]
    : []),
  [
    'An unknown backend in the address falls back to auto with a message',
    async (page) => {
      await open(page, url, 'panel=sample&backend=foo');
      const messages = await page.textContent('#messages');
      assert(/Unknown backend 'foo'/.test(messages), `messages: ${messages}`);
      await page.waitForSelector('#sample-canvas[data-seed="0"]', { timeout: 120_000 });
    },
  ],
  engine('The first sample needs only its engine and weights; digits come with the panels that use them', async (page) => {
    const got = [];
    page.on('requestfinished', (req) => got.push(new URL(req.url()).pathname));
    await open(page, url, 'panel=sample');
    await page.waitForSelector('#sample-canvas[data-seed="0"]', { timeout: 120_000 });
    const engine = cfg.backend === 'webgpu' ? '/pkg/vae_lab_gpu_bg.wasm' : '/pkg/vae_lab_cpu_bg.wasm';
    const other = cfg.backend === 'webgpu' ? '/pkg/vae_lab_cpu_bg.wasm' : '/pkg/vae_lab_gpu_bg.wasm';
    assert(got.includes(engine) && !got.includes(other), `engines fetched: ${got.filter((p) => p.endsWith('.wasm'))}`);
    assert(
      !got.some((p) => p.startsWith('/www/data/') && p.endsWith('.bin')),
      `digits fetched for sampling: ${got.filter((p) => p.includes('/data/'))}`,
    );
    await tab(page, 'reconstruct');
    await page.waitForSelector('#reconstruct-canvas[data-rows]', { timeout: 120_000 });
    assert(got.includes('/www/data/mnist-subset-test.bin'), 'the held-out digits were not fetched for Reconstruct');
    assert(!got.includes('/www/data/mnist-subset-train.bin'), 'the training digits were fetched for Reconstruct');
  }),
  [
    'Only the panel in view loads before its figure; a panel whose script failed to download loads on the next click',
    async (page) => {
      // a context of its own: the aborted download logs a console error, which is the point here
      const context = await page.context().browser().newContext();
      try {
        const p = await context.newPage();
        await p.addInitScript(() => {
          new MutationObserver((_, mo) => {
            if (!document.querySelector('#sample-canvas[data-seed]')) return;
            window.__drawnAt = performance.now();
            mo.disconnect();
          }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-seed'] });
        });
        await p.route('**/www/panels/map.js', (route) => route.abort(), { times: 1 });
        await open(p, url, 'panel=sample');
        const r = await p.evaluate(() => ({
          drawnAt: window.__drawnAt,
          panels: performance
            .getEntriesByType('resource')
            .filter((e) => e.name.includes('/www/panels/'))
            .map((e) => [new URL(e.name).pathname, e.startTime]),
        }));
        const before = r.panels.filter(([, t]) => t < r.drawnAt).map(([f]) => f);
        assert(
          r.drawnAt > 0 && JSON.stringify(before) === '["/www/panels/sample.js"]',
          `panel scripts requested before the first sample: ${before}`,
        );
        assert(r.panels.length >= 10, `the other panels did not load after it: ${r.panels.map(([f]) => f)}`);
        assert(/Map panel could not load/.test(await p.textContent('#messages')), 'no message about the panel that failed');
        // the page works on, and the failed panel loads when asked for
        await tab(p, 'reconstruct');
        await p.waitForSelector('#reconstruct-canvas[data-rows]', { timeout: 120_000 });
        await tab(p, 'map');
        await p.waitForSelector('#map-canvas[data-points="1000"]', { timeout: 120_000 });
      } finally {
        await context.close();
      }
    },
  ],
  [
    'A second visit downloads nothing that has not changed',
    async () => {
      // a profile on disk: the test contexts' in-memory caches keep no 22 MB entry
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vae-lab-profile-'));
      const context = await launchWithProfile(cfg.args, dir);
      try {
        const page = await context.newPage();
        // the HTTP validators alone (no service worker: a course page on another origin has none)
        await open(page, url, 'panel=sample&sw=0');
        // the Sample panel needs the engine and C's weights, and no digits
        const heavy = [cfg.backend === 'webgpu' ? '/pkg/vae_lab_gpu_bg.wasm' : '/pkg/vae_lab_cpu_bg.wasm', '/weights/C.bin'];
        const again = {};
        context.on('requestfinished', async (req) => {
          const p = new URL(req.url()).pathname;
          if (heavy.includes(p))
            again[p] = { revalidated: !!(await req.headerValue('if-none-match')), body: (await req.sizes()).responseBodySize };
        });
        await page.reload();
        await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
        // the requestfinished handlers above are async: wait until all three have reported
        for (let i = 0; i < 100 && heavy.some((p) => !(p in again)); i++) await new Promise((r) => setTimeout(r, 20));
        assert(
          heavy.every((p) => again[p]?.revalidated && again[p].body === 0),
          `second visit: ${JSON.stringify(again)}`,
        );
      } finally {
        await context.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  ],
  [
    'On a slow link the page shows the engine download in bytes and keeps the panels inert',
    async (page) => {
      const cdp = await page.context().newCDPSession(page);
      // 2.5 MB/s, as a new user tried it: the 22 MB engine takes seconds
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 2.5e6, uploadThroughput: 1e6 });
      await page.goto(`${url}index.html?panel=sample`);
      // read in the same poll that sees the bytes: with compressed serving the engine is 0.5 MB and
      // its download can end before a second round trip
      const during = await (
        await page.waitForFunction(
          () => {
            const text = document.querySelector('#download span')?.textContent ?? '';
            return (
              /engine[^:]*: [\d.]+ \/ [\d.]+ MB/.test(text) && {
                text,
                shown: !document.getElementById('download').hidden,
                inert: document.getElementById('panels').inert,
                ready: document.body.dataset.ready ?? null,
              }
            );
          },
          null,
          { timeout: 60_000, polling: 10 },
        )
      ).jsonValue();
      await shot(page, 'slow-load');
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
      const after = await page.evaluate(() => ({
        inert: document.getElementById('panels').inert,
        hidden: document.getElementById('download').hidden,
      }));
      assert(during.shown && during.inert && during.ready === null, `while loading: ${JSON.stringify(during)}`);
      assert(!after.inert && after.hidden, `after loading: ${JSON.stringify(after)}`);
    },
  ],
  [
    'Behind a server that gzips without a Content-Length the downloads still end',
    async (page) => {
      const gz = await startServer({ port: 0, root, quiet: true, gzip: true });
      try {
        const encodings = [];
        page.on('response', (r) => {
          if (/\.wasm$/.test(r.url())) encodings.push(r.headers()['content-encoding']);
        });
        await page.goto(`${gz.url}index.html?panel=sample`);
        await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
        await page.waitForSelector('#download', { state: 'hidden', timeout: 10_000 });
        assert(encodings.includes('gzip'), `the engine was not gzipped: ${encodings}`);
      } finally {
        gz.server.close();
      }
    },
  ],
  [
    'Embed URL shows only the chosen panel',
    async (page) => {
      await open(page, url, 'panel=sample&arch=B&embed=1');
      await page.waitForSelector('#sample-canvas[data-seed="0"]', { timeout: 120_000 });
      assert((await page.evaluate(() => window.vaeLab.current)) === 'B', 'arch=B not loaded');
      assert(!(await page.isVisible('header')) && !(await page.isVisible('#tabs')), 'site chrome visible in embed mode');
      const visible = await page.$$eval('.panel', (ps) => ps.filter((p) => !p.hidden).map((p) => p.id));
      assert(JSON.stringify(visible) === '["panel-sample"]', `visible panels ${visible}`);
      await shot(page, 'embed');
    },
  ],
  [
    'examples/embed.html: one panel by iframe, one by the API',
    async (page) => {
      await page.goto(`${url}examples/embed.html`);
      await page.waitForSelector('#api-samples[data-drawn="true"]', { timeout: 180_000 });
      const frame = page.frameLocator('#vae-sample');
      await frame.locator('#sample-canvas[data-seed="0"]').waitFor({ timeout: 180_000 });
      assert((await canvasSum(page, '#api-samples')) > 0, 'API canvas is blank');
      await shot(page, 'example-embed');
    },
  ],
];
