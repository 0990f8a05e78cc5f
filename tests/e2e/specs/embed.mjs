// Embedding from another origin: the app on http://127.0.0.1:<port>/, course pages on
// http://localhost:<other port>/ (tests/e2e/course.mjs). The iframe, the <vae-lab> element and the
// JS API; engines shared and downloaded once; iframe heights; panels that fit a 640 x 560 frame.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert, canvasSum, engine } from '../helpers.mjs';
import { launchWithProfile } from '../browser.mjs';

export default (cfg, { url, course, served, shot }) => {
  const backend = cfg.backend === 'webgpu' ? '?backend=webgpu' : '';
  const count = (path, status = 200) => served.filter((r) => r.path === path && r.status === status).length;
  return [
    [
      'A course page on another origin embeds by iframe, element and API; one engine download',
      async (page) => {
        served.length = 0;
        await page.goto(`${course}embed.html${backend}`);
        await page.waitForSelector('#api-samples[data-drawn="true"]', { timeout: 180_000 });
        assert((await canvasSum(page, '#api-samples')) > 0, 'the API canvas is blank');
        await page.waitForSelector('vae-lab#vae-draw[data-ready="true"]', { timeout: 180_000 });
        await page.waitForSelector('vae-lab#vae-chain[data-ready="true"]', { timeout: 180_000 });
        // the chain element runs its chains on E from its seed attribute
        await page.locator('vae-lab#vae-chain #chain-canvas[data-frame]').waitFor({ timeout: 180_000 });
        assert((await page.evaluate(() => document.getElementById('vae-chain').lab.current)) === 'E', 'the chain element does not show E');
        assert((await page.evaluate(() => document.getElementById('vae-draw').lab.current)) === 'C', 'the draw element does not show C');
        const frame = page.frameLocator('#vae-sample');
        await frame.locator('#sample-canvas[data-seed="0"]').waitFor({ timeout: 180_000 });
        // the iframe told the page its height, and the page sized it to fit
        await page.waitForFunction(() => Math.abs(document.getElementById('vae-sample').getBoundingClientRect().height - 560) > 2, null, {
          timeout: 30_000,
        });
        const h = await page.$eval('#vae-sample', (f) => f.getBoundingClientRect().height);
        const inner = await frame.locator('body').evaluate((b) => b.getBoundingClientRect().height);
        assert(Math.abs(h - inner - 2) <= 3, `iframe ${h} px for content of ${inner} px`);
        // draw in one element: the engine encodes it (the pad lives in the element's shadow root)
        const pad = page.locator('vae-lab#vae-draw #draw-canvas');
        await pad.scrollIntoViewIfNeeded();
        const box = await pad.boundingBox();
        await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.25);
        await page.mouse.down();
        for (const [x, y] of [
          [0.7, 0.25],
          [0.5, 0.6],
          [0.42, 0.8],
        ])
          await page.mouse.move(box.x + x * box.width, box.y + y * box.height, { steps: 6 });
        await page.mouse.up();
        await page.waitForFunction(
          () => {
            const p = document.getElementById('vae-draw').shadowRoot.getElementById('draw-canvas');
            return Number(p.dataset.encoded ?? 0) > 0 && p.dataset.encodedChanges === p.dataset.changes;
          },
          null,
          { timeout: 60_000 },
        );
        // the elements and the API share one engine: the wasm and each weights file came once to
        // this page's origin (the iframe, another site, has its own cache partition and engine)
        const engineFile = cfg.backend === 'webgpu' ? '/pkg/vae_lab_gpu_bg.wasm' : '/pkg/vae_lab_cpu_bg.wasm';
        const fromCourse = (path) =>
          served.filter((r) => r.path === path && r.status === 200 && r.origin && r.origin.startsWith('http://localhost')).length;
        assert(fromCourse(engineFile) === 1, `the page's elements and API fetched the engine ${fromCourse(engineFile)} times`);
        for (const w of ['C', 'E'])
          assert(fromCourse(`/weights/${w}.bin`) === 1, `weights ${w} fetched ${fromCourse(`/weights/${w}.bin`)} times by the page`);
        assert(
          served.some((r) => r.path === '/www/worker.js' && r.origin?.startsWith('http://localhost')),
          'the worker was not loaded across origins',
        );
        await shot(page, 'course-page');
      },
    ],
    [
      'The JS API imported from another origin samples, reconstructs and trains',
      async (page) => {
        await page.goto(`${course}api.html${backend}`);
        await page.waitForFunction(() => window.result, null, { timeout: 240_000 });
        const r = await page.evaluate(() => window.result);
        assert(!r.error, `the API failed: ${r.error}`);
        assert(r.samples === 4 && r.inked, `samples ${JSON.stringify(r)}`);
        assert(r.recLength === 2 * 784, `reconstruct gave ${r.recLength} floats`);
        assert(r.done && r.epoch === 1 && r.images === 128, `training ended at ${JSON.stringify(r)}`);
      },
    ],
    [
      'An element with `persist` keeps a model trained in it across a reload; ' +
        "a remount drops the old panel's listeners; `dataset` shows Fashion-MNIST",
      async (page) => {
        await page.goto(`${course}persist.html${backend}`);
        const ready = () =>
          page.waitForFunction(() => ['kept', 'fashion'].every((id) => document.getElementById(id).dataset.ready === 'true'), null, {
            timeout: 180_000,
          });
        await ready();
        await page.evaluate(async () => {
          const h = document.getElementById('kept').lab.train({ arch: 'A', epochs: 1, limit: 64, seed: 5, slot: 'mine' });
          await h.done;
        });
        // the Fashion-MNIST element shows its own model, beside the MNIST one
        assert(
          (await page.evaluate(() => document.getElementById('fashion').lab.current)) === 'fashion-C',
          'the dataset attribute was not followed',
        );
        await page.reload();
        await ready();
        await page.waitForFunction(async () => (await document.getElementById('kept').lab.slots()).includes('mine'), null, {
          timeout: 60_000,
        });
        // a remount (another panel) closes the old view: its listeners are gone
        const counts = await page.evaluate(async () => {
          const host = document.getElementById('kept');
          const old = host.lab;
          const before = old._listenerCount();
          host.setAttribute('panel', 'chain');
          while (host.lab === old) await new Promise((r) => setTimeout(r, 20)); // the remount has begun
          await host._mounted;
          return { before, after: old._listenerCount(), now: host.lab._listenerCount(), same: old === host.lab };
        });
        assert(counts.before > 0 && counts.after === 0 && counts.now > 0 && !counts.same, `listeners: ${JSON.stringify(counts)}`);
      },
    ],
    [
      'Every panel fits a 640 x 560 frame and a 390 px phone: key output in view, no sideways scroll',
      async (page) => {
        const KEY = {
          models: 'table.models',
          train: '#train-start',
          draw: '#draw-rec-mean',
          reconstruct: '#reconstruct-canvas',
          collapse: '#collapse-chart',
          sample: '#sample-canvas',
          chain: '#chain-canvas',
          latent: '#latent-decoded',
          map: '#map-canvas',
          data: '#data-grid',
        };
        const problems = [];
        for (const [w, h, embed] of [
          [640, 560, true],
          [390, 560, true],
          [390, 844, false],
        ]) {
          await page.setViewportSize({ width: w, height: h });
          for (const [id, key] of Object.entries(KEY)) {
            await page.goto(`${url}index.html?panel=${id}${embed ? '&embed=1' : ''}${backend ? '&backend=webgpu' : ''}&sw=0`);
            await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 180_000 });
            await page.waitForSelector(`#panel-${id} ${key}`, { timeout: 60_000 });
            const m = await page.evaluate((k) => {
              const r = document.querySelector(k).getBoundingClientRect();
              return { overflow: document.documentElement.scrollWidth - innerWidth, top: r.top, bottom: r.bottom, height: r.height };
            }, `#panel-${id} ${key}`);
            if (m.overflow > 0) problems.push(`${id} at ${w}x${h}: ${m.overflow} px sideways`);
            // in view without scrolling: all of it, or (a tall figure) its top 60%
            if (m.top < 0 || m.top + Math.min(m.height, 0.6 * h) > h)
              problems.push(`${id} at ${w}x${h}: ${key} spans ${Math.round(m.top)}-${Math.round(m.bottom)} px`);
          }
          if (embed && w === 640) await shot(page, 'fit-640x560-map');
        }
        assert(problems.length === 0, problems.join('; '));
      },
    ],
    engine('Two iframes of the app on one page download the engine once', async () => {
      // a browser with a disk cache, as a visitor's (the test contexts' in-memory caches keep no
      // 22 MB entry): the second frame's request waits for the first's and reads the cache
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vae-lab-frames-'));
      const context = await launchWithProfile(cfg.args, dir);
      try {
        const page = await context.newPage();
        served.length = 0;
        await page.goto(`${course}frames.html${backend}`);
        await page.frameLocator('#a').locator('#sample-canvas[data-seed="0"]').waitFor({ timeout: 180_000 });
        await page.frameLocator('#b').locator('body[data-ready="true"]').waitFor({ timeout: 180_000 });
        const engineFile = cfg.backend === 'webgpu' ? '/pkg/vae_lab_gpu_bg.wasm' : '/pkg/vae_lab_cpu_bg.wasm';
        assert(count(engineFile) === 1, `the engine was sent ${count(engineFile)} times (revalidated ${count(engineFile, 304)})`);
        // each frame shows the backend notice small, once, not as a banner
        for (const id of ['#a', '#b']) {
          const f = page.frameLocator(id);
          assert((await f.locator('.msg.warn').count()) === 0, `frame ${id} shows a warning banner`);
          assert(await f.locator('#embed-note').isVisible(), `frame ${id} has no note`);
        }
        await shot(page, 'two-frames');
      } finally {
        await context.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }),
  ];
};
