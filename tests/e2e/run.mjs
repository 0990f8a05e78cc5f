// End-to-end tests in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core),
// run twice: with WebGPU (SwiftShader) and without it (CPU fallback).
//   node tests/e2e/run.mjs [--only webgpu|cpu] [--grep text] [--root dist]  (--root: test a `make dist` folder)
// Screenshots of every panel go to test-results/screenshots/{config}-{panel}.png.
import fs from 'node:fs';
import { BASE_FLAGS, WEBGPU_FLAGS, launch } from './browser.mjs';
import { startServer } from '../../tools/serve.mjs';
import { reliabilityTests } from './reliability.mjs';


const CONFIGS = [
  { name: 'webgpu', args: WEBGPU_FLAGS, backend: 'webgpu', trainLimit: 192 },
  { name: 'cpu', args: BASE_FLAGS, backend: 'cpu', trainLimit: 1280 },
];
const arg = (name) => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : null; };
const only = arg('--only');
const grep = arg('--grep');
const SHOTS = 'test-results/screenshots';
fs.mkdirSync(SHOTS, { recursive: true });

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function openApp(page, url, query) {
  await page.goto(`${url}index.html?${query}`);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 180_000 });
  assert(await page.evaluate(() => document.body.dataset.ready) === 'true', 'the app did not start');
}

async function tab(page, id) {
  await page.click(`#tab-${id}`);
  await page.waitForSelector(`#panel-${id}:not([hidden])`);
}

/** Sum of the canvas's pixels: a cheap fingerprint of what is drawn. */
const canvasSum = (page, sel) => page.$eval(sel, (c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let s = 0;
  for (let i = 0; i < d.length; i += 4) s += d[i];
  return s;
});

const corr = (a, b) => {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
};

function tests(cfg, url) {
  const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${cfg.name}-${name}.png`, fullPage: true });
  return [
    ['starts on the expected backend and says so', async (page) => {
      await openApp(page, url, 'panel=models');
      const backend = await page.evaluate(() => window.vaeLab.backend);
      assert(backend === cfg.backend, `backend is ${backend}, expected ${cfg.backend}`);
      const badge = await page.textContent('#backend');
      assert(badge === (cfg.backend === 'webgpu' ? 'WebGPU' : 'CPU'), `badge says ${badge}`);
      const messages = await page.textContent('#messages');
      if (cfg.backend === 'cpu') {
        assert(/WebGPU is not available/.test(messages), `no fallback message: ${messages}`);
      } else {
        // SwiftShader is a software adapter: the page must say that the CPU is faster
        const gpu = await page.evaluate(() => window.vaeLab.gpu);
        assert(gpu?.software === true, `SwiftShader not recognised as a software adapter: ${JSON.stringify(gpu)}`);
        assert(/software renderer/.test(messages), `no software-adapter notice: ${messages}`);
      }
    }],
    ['Models: loads the pretrained A–E in one click', async (page) => {
      await page.click('#load-pretrained');
      await page.waitForFunction(() => document.querySelectorAll('#panel-models tbody tr').length === 5, null, { timeout: 60_000 });
      const slots = await page.evaluate(() => window.vaeLab.slots());
      assert(JSON.stringify(slots) === JSON.stringify(['A', 'B', 'C', 'D', 'E']), `slots ${slots}`);
      const params = await page.$$eval('#panel-models tbody tr td:nth-child(3)', (tds) => tds.map((t) => Number(t.textContent)));
      assert(JSON.stringify(params) === JSON.stringify([29033, 52201, 103593, 100065, 100953]), `params ${params}`);
      await shot(page, 'models');
    }],
    ['Sample: pretrained samples are 60 distinct non-blank digits', async (page) => {
      await page.selectOption('#model-select', 'C');
      await tab(page, 'sample');
      await page.waitForSelector('#sample-canvas[data-seed="0"]', { timeout: 60_000 });
      const stats = await page.evaluate(async () => {
        const d = await window.vaeLab.sample(60, 0, 'C');
        const maxes = d.map((x) => Math.max(...x));
        let minDist = Infinity;
        for (let i = 0; i < d.length; i++) for (let j = i + 1; j < d.length; j++) {
          let s = 0;
          for (let k = 0; k < 784; k++) s += (d[i][k] - d[j][k]) ** 2;
          minDist = Math.min(minDist, Math.sqrt(s));
        }
        return { n: d.length, minMax: Math.min(...maxes), minDist };
      });
      assert(stats.n === 60, `${stats.n} samples`);
      assert(stats.minMax > 0.3, `a blank sample (max pixel ${stats.minMax})`);
      assert(stats.minDist > 0.5, `two samples nearly identical (L2 ${stats.minDist})`);
      const before = await canvasSum(page, '#sample-canvas');
      await page.click('#sample-resample');
      await page.waitForSelector('#sample-canvas[data-seed="1"]', { timeout: 60_000 });
      assert(await canvasSum(page, '#sample-canvas') !== before, 'resample did not change the grid');
      await shot(page, 'sample');
    }],
    ['Draw: a mouse stroke is encoded and its reconstruction resembles it', async (page) => {
      await tab(page, 'draw');
      const box = await page.$eval('#draw-canvas', (c) => { const r = c.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; });
      // a "7": a horizontal bar, then a diagonal down to the left
      const pts = [[0.3, 0.25], [0.7, 0.25], [0.62, 0.45], [0.5, 0.65], [0.42, 0.8]];
      await page.mouse.move(box.x + pts[0][0] * box.w, box.y + pts[0][1] * box.h);
      await page.mouse.down();
      for (const [x, y] of pts.slice(1)) await page.mouse.move(box.x + x * box.w, box.y + y * box.h, { steps: 8 });
      await page.mouse.up();
      await page.waitForFunction(() => Number(document.getElementById('draw-canvas').dataset.encoded ?? 0) > 0, null, { timeout: 60_000 });
      await page.waitForTimeout(1500);
      const r = await page.evaluate(async () => {
        const x = window.vaeLabApp.drawn;
        const rec = await window.vaeLab.reconstruct(x, { slot: 'C' });
        // the reconstruction of a held-out "0" is the control
        const labels = await window.vaeLab.testLabels();
        const zero = await window.vaeLab.testImages([labels.indexOf(0)]);
        const recZero = await window.vaeLab.reconstruct(zero, { slot: 'C' });
        return { x: Array.from(x), rec: Array.from(rec), recZero: Array.from(recZero) };
      });
      const ink = r.x.filter((v) => v > 0.5).length;
      assert(ink > 30 && ink < 400, `preprocessed stroke has ${ink} inked pixels`);
      const own = corr(r.x, r.rec);
      const other = corr(r.x, r.recZero);
      assert(own > 0.6, `reconstruction correlates ${own.toFixed(2)} with the drawing`);
      assert(own > other + 0.2, `own ${own.toFixed(2)} vs a zero's ${other.toFixed(2)}`);
      assert(await canvasSum(page, '#draw-rec-mean') > 0, 'reconstruction canvas is blank');
      await shot(page, 'draw');
    }],
    ['Chain: the chains advance, scrubbing moves through frames', async (page) => {
      await tab(page, 'chain');
      await page.waitForSelector('#chain-canvas[data-frame]', { timeout: 240_000 });
      await page.waitForFunction(() => Number(document.getElementById('chain-canvas').dataset.frame) >= 3, null, { timeout: 30_000 });
      await page.click('#chain-play'); // pause
      await page.fill('#chain-scrub', '0');
      await page.dispatchEvent('#chain-scrub', 'input');
      const first = await canvasSum(page, '#chain-canvas');
      await page.fill('#chain-scrub', '100');
      await page.dispatchEvent('#chain-scrub', 'input');
      const last = await canvasSum(page, '#chain-canvas');
      assert(first !== last, 'frame 0 and frame 100 look the same');
      const caption = await page.textContent('#chain-caption');
      assert(/limiting distribution/.test(caption), `last frame caption: ${caption}`);
      await page.click('#chain-step');
      const frames = await page.evaluate(async () => {
        const f = await window.vaeLab.chain(4, 10, 1, { slot: 'A' });
        let diff = 0;
        for (let i = 0; i < f[0].length; i++) diff += Math.abs(f[0][i] - f[10][i]);
        return { n: f.length, len: f[0].length, diff };
      });
      assert(frames.n === 11 && frames.len === 4 * 784 && frames.diff > 1, `chain API: ${JSON.stringify(frames)}`);
      // start from the digit drawn in the Draw test: every chain's frame 0 is that digit
      await page.selectOption('#chain-start', 'drawn');
      await page.click('#chain-run');
      await page.waitForFunction(() => document.getElementById('chain-run').disabled === false
        && document.getElementById('chain-caption').textContent.startsWith('Step'), null, { timeout: 240_000 });
      await page.click('#chain-play').catch(() => {});
      await page.fill('#chain-scrub', '0');
      await page.dispatchEvent('#chain-scrub', 'input');
      const fromDrawn = await page.evaluate(async () => {
        const f = await window.vaeLab.chain(2, 3, 5, { start: window.vaeLabApp.drawn });
        let d = 0;
        for (let i = 0; i < 784; i++) d = Math.max(d, Math.abs(f[0][i] - window.vaeLabApp.drawn[i]), Math.abs(f[0][784 + i] - window.vaeLabApp.drawn[i]));
        return d;
      });
      assert(fromDrawn === 0, `chains from the drawn digit do not start at it (max diff ${fromDrawn})`);
      await page.fill('#chain-scrub', '100');
      await page.dispatchEvent('#chain-scrub', 'input');
      await shot(page, 'chain');
    }],
    ['Reconstruct: 16 held-out digits by every loaded model, reshuffle', async (page) => {
      await tab(page, 'reconstruct');
      await page.waitForSelector('#reconstruct-canvas[data-columns="6"]', { timeout: 120_000 });
      const before = await canvasSum(page, '#reconstruct-canvas');
      await page.click('#reconstruct-shuffle');
      await page.waitForFunction((b) => {
        const c = document.getElementById('reconstruct-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = 0;
        for (let i = 0; i < d.length; i += 4) s += d[i];
        return s !== b;
      }, before, { timeout: 120_000 });
      await shot(page, 'reconstruct');
    }],
    ['Collapse: per-latent KL histogram and active units for every model', async (page) => {
      await tab(page, 'collapse');
      await page.waitForFunction(() => document.querySelectorAll('#collapse-table tbody tr').length === 5, null, { timeout: 120_000 });
      const rows = await page.$$eval('#collapse-table tbody tr', (trs) => trs.map((tr) => tr.children[1].textContent));
      assert(rows.every((r) => /^\d+ \/ 12$/.test(r)), `active units ${rows}`);
      const e = await page.evaluate(() => window.vaeLab.collapse('E'));
      assert(e.kl_per_latent.length === 12 && e.active_units < 12, `E should show collapse: ${JSON.stringify(e)}`);
      await page.waitForSelector('#collapse-chart canvas');
      await shot(page, 'collapse');
    }],
    ['Latent: sliders move one latent; interpolation strip', async (page) => {
      await tab(page, 'latent');
      await page.waitForFunction(() => document.querySelectorAll('#latent-sliders input[type=range]').length === 12, null, { timeout: 60_000 });
      await page.waitForTimeout(500);
      const before = await canvasSum(page, '#latent-decoded');
      const slider = await page.$('#latent-sliders input[type=range]');
      await slider.focus();
      for (let i = 0; i < 40; i++) await page.keyboard.press('ArrowRight');
      await page.waitForTimeout(1500);
      assert(await canvasSum(page, '#latent-decoded') !== before, 'moving z0 did not change the decoded digit');
      assert(await canvasSum(page, '#latent-strip') > 0, 'interpolation strip is blank');
      await shot(page, 'latent');
    }],
    ['Map: PCA of 1000 latent means; clicking selects a digit', async (page) => {
      await tab(page, 'map');
      await page.waitForSelector('#map-canvas[data-points="1000"]', { timeout: 120_000 });
      await page.waitForSelector('#map-canvas[data-selected="0"]');
      const box = await page.$eval('#map-canvas', (c) => { const r = c.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; });
      await page.mouse.click(box.x + box.w * 0.5, box.y + box.h * 0.5);
      await page.waitForFunction(() => document.getElementById('map-canvas').dataset.selected !== '0', null, { timeout: 30_000 });
      await page.focus('#map-canvas');
      const sel = await page.$eval('#map-canvas', (c) => c.dataset.selected);
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction((s) => document.getElementById('map-canvas').dataset.selected === String(Number(s) + 1), sel);
      await page.waitForTimeout(500);
      assert(/label \d/.test(await page.textContent('#map-info')), 'no digit info');
      await shot(page, 'map');
    }],
    ['Train: a short run lowers the nELBO and draws the charts', async (page) => {
      await tab(page, 'train');
      await page.fill('#train-epochs', '2');
      await page.fill('#train-limit', String(cfg.trainLimit));
      await page.click('#train-start');
      await page.waitForSelector('#panel-train[data-state="running"]');
      await page.waitForSelector('#panel-train[data-state="idle"]', { timeout: 400_000 });
      const cells = await page.$$eval('#panel-train table.runs tbody tr td', (tds) => tds.map((t) => t.textContent));
      assert(cells[2] === '2/2' && cells[6] === 'done', `run row: ${cells}`);
      const series = await page.$$eval('#chart-nelbo .u-legend .u-series', (s) => s.length);
      assert(series >= 3, `nELBO chart has ${series - 1} series`);
      const info = await page.evaluate(() => window.vaeLab.info('run1'));
      const h = info.meta.history;
      assert(h.length === 2, `history ${JSON.stringify(h)}`);
      assert(h[1].train.nelbo < h[0].train.nelbo && h[1].test.nelbo < h[0].test.nelbo,
        `nELBO did not fall: ${h.map((e) => `${e.train.nelbo.toFixed(1)}/${e.test.nelbo.toFixed(1)}`)}`);
      await shot(page, 'train');
    }],
    ['Export → import gives identical reconstructions (UI download and upload)', async (page) => {
      await page.selectOption('#model-select', 'D');
      await tab(page, 'models');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-weights')]);
      const path = await download.path();
      const bytes = fs.readFileSync(path);
      assert(bytes.length > 100_000, `exported ${bytes.length} bytes`);
      await page.setInputFiles('#weights-file', { name: 'D-copy.bin', mimeType: 'application/octet-stream', buffer: bytes });
      await page.waitForFunction(() => /Imported D-copy\.bin/.test(document.getElementById('messages').textContent), null, { timeout: 30_000 });
      const diff = await page.evaluate(async () => {
        const x = await window.vaeLab.testImages([0, 1, 2, 3, 4, 5, 6, 7]);
        const a = await window.vaeLab.reconstruct(x, { slot: 'D' });
        const b = await window.vaeLab.reconstruct(x, { slot: 'D-copy' });
        return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      });
      assert(diff === 0, `reconstructions differ by ${diff}`);
    }],
    ['A corrupt or truncated import shows an error and changes nothing', async (page) => {
      const slotsBefore = await page.evaluate(() => window.vaeLab.slots());
      const random = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256));
      await page.setInputFiles('#weights-file', { name: 'noise.bin', mimeType: 'application/octet-stream', buffer: random });
      await page.waitForSelector('.msg.error:has-text("magic")', { timeout: 30_000 });
      const good = fs.readFileSync('weights/B.bin');
      await page.setInputFiles('#weights-file', { name: 'B-cut.bin', mimeType: 'application/octet-stream', buffer: good.subarray(0, good.length - 999) });
      await page.waitForSelector('.msg.error:has-text("truncated")', { timeout: 30_000 });
      const slotsAfter = await page.evaluate(() => window.vaeLab.slots());
      assert(JSON.stringify(slotsBefore) === JSON.stringify(slotsAfter), `slots changed: ${slotsAfter}`);
      const s = await page.evaluate(async () => (await window.vaeLab.sample(2, 3, 'B')).length);
      assert(s === 2, 'the app stopped working after a bad import');
      await shot(page, 'import-error');
    }],
    ['The API rejects bad input with clear errors', async (page) => {
      const errors = await page.evaluate(async () => {
        const lab = window.vaeLab;
        const msg = async (f) => { try { await f(); return null; } catch (e) { return e.message; } };
        const nan = new Float32Array(784); nan[5] = NaN;
        return {
          short: await msg(() => lab.encode(new Float32Array(783))),
          nan: await msg(() => lab.reconstruct(nan)),
          range: await msg(() => lab.encode(new Float32Array(784).fill(2))),
          arch: await msg(() => lab.loadPretrained('Z')),
          n: await msg(() => lab.sample(0, 1)),
          ok: await msg(() => lab.encode(new Float32Array(784))),
        };
      });
      assert(/784/.test(errors.short), `short: ${errors.short}`);
      assert(/NaN|finite/.test(errors.nan), `nan: ${errors.nan}`);
      assert(/\[0, 1\]/.test(errors.range), `range: ${errors.range}`);
      assert(/unknown architecture 'Z'/.test(errors.arch), `arch: ${errors.arch}`);
      assert(/n must be/.test(errors.n), `n: ${errors.n}`);
      assert(errors.ok === null, `valid input rejected: ${errors.ok}`);
    }],
    ...(cfg.backend === 'webgpu' ? [['WebGPU and CPU give the same reconstruction for the same weights', async (page) => {
      const r = await page.evaluate(async () => {
        const lab = window.vaeLab;
        const x = await lab.testImages([0, 1, 2, 3, 4, 5, 6, 7]);
        const gpu = await lab.reconstruct(x, { slot: 'C' });
        await lab.setBackend('cpu');
        const cpu = await lab.reconstruct(x, { slot: 'C' });
        const backendAfter = lab.backend;
        await lab.setBackend('webgpu');
        const again = await lab.reconstruct(x, { slot: 'C' });
        const maxdiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
        return { d: maxdiff(gpu, cpu), d2: maxdiff(gpu, again), backendAfter, now: lab.backend };
      });
      assert(r.backendAfter === 'cpu' && r.now === 'webgpu', `switching: ${JSON.stringify(r)}`);
      assert(r.d < 1e-4, `WebGPU vs CPU differ by ${r.d}`);
      assert(r.d2 < 1e-6, `WebGPU before/after switching differ by ${r.d2}`);
    }]] : []),
    ['A crashed engine restarts on the CPU with the current weights', async (page) => {
      const r = await page.evaluate(async () => {
        const lab = window.vaeLab;
        const x = await lab.testImages([0, 1, 2, 3]);
        const before = await lab.reconstruct(x, { slot: 'run1' });
        const slotsBefore = await lab.slots();
        await lab._simulateCrash();
        const after = await lab.reconstruct(x, { slot: 'run1' });
        return { d: before.reduce((m, v, i) => Math.max(m, Math.abs(v - after[i])), 0), backend: lab.backend,
          reason: lab.fallbackReason, same: JSON.stringify(slotsBefore) === JSON.stringify(await lab.slots()) };
      });
      assert(r.backend === 'cpu', `backend after the crash: ${r.backend}`);
      assert(/crash/.test(r.reason), `reason: ${r.reason}`);
      assert(r.same, 'models were lost in the restart');
      assert(r.d < 1e-4, `the trained model's reconstructions changed by ${r.d}`);
      await page.waitForSelector('.msg.warn:has-text("continuing on the CPU")', { timeout: 10_000 });
      assert(await page.textContent('#backend') === 'CPU', 'badge not updated');
    }],
    ['Trained and imported models survive a reload', async (page) => {
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 180_000 });
      await page.waitForFunction(() => /Restored your models/.test(document.getElementById('messages').textContent), null, { timeout: 30_000 });
      const slots = await page.evaluate(() => window.vaeLab.slots());
      assert(slots.includes('run1') && slots.includes('D-copy'), `after reload: ${slots}`);
      const info = await page.evaluate(() => window.vaeLab.info('run1'));
      assert(info.meta.history.length === 2, 'the trained run lost its history');
      await page.evaluate(async () => {
        await window.vaeLab.removeSlot('D-copy');
        // the page forgets it in IndexedDB after the engine drops it; wait for that write
        const { allModels } = await import('/www/store.js');
        for (let i = 0; i < 100 && (await allModels()).some(([slot]) => slot === 'D-copy'); i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 180_000 });
      const again = await page.evaluate(() => window.vaeLab.slots());
      assert(!again.includes('D-copy') && again.includes('run1'), `removed model came back: ${again}`);
    }],
    ...reliabilityTests(cfg, url, { assert, openApp, tab, shot }),
    ['Embed URL shows only the chosen panel', async (page) => {
      await openApp(page, url, 'panel=sample&arch=B&embed=1');
      await page.waitForSelector('#sample-canvas[data-seed="0"]', { timeout: 120_000 });
      assert(await page.evaluate(() => window.vaeLab.current) === 'B', 'arch=B not loaded');
      assert(!(await page.isVisible('header')) && !(await page.isVisible('#tabs')), 'site chrome visible in embed mode');
      const visible = await page.$$eval('.panel', (ps) => ps.filter((p) => !p.hidden).map((p) => p.id));
      assert(JSON.stringify(visible) === '["panel-sample"]', `visible panels ${visible}`);
      await shot(page, 'embed');
    }],
    ['examples/embed.html: one panel by iframe, one by the API', async (page) => {
      await page.goto(`${url}examples/embed.html`);
      await page.waitForSelector('#api-samples[data-drawn="true"]', { timeout: 180_000 });
      const frame = page.frameLocator('#vae-sample');
      await frame.locator('#sample-canvas[data-seed="0"]').waitFor({ timeout: 180_000 });
      assert(await canvasSum(page, '#api-samples') > 0, 'API canvas is blank');
      await shot(page, 'example-embed');
    }],
  ];
}

async function runConfig(cfg, url) {
  const browser = await launch(cfg.args);
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  // every request, the worker's included, must stay on the page's origin
  const foreign = [];
  context.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(url) && !/^(data|blob):/.test(u)) foreign.push(u);
  });
  const results = [];
  for (const [name, fn] of tests(cfg, url)) {
    if (grep && !name.includes(grep) && !name.startsWith('starts')) continue;
    const t0 = Date.now();
    try {
      await fn(page);
      results.push({ name, ok: true, ms: Date.now() - t0 });
      console.log(`  ok   [${cfg.name}] ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (e) {
      results.push({ name, ok: false, ms: Date.now() - t0, error: e.message });
      console.log(`  FAIL [${cfg.name}] ${name}: ${e.message.split('\n')[0]}`);
      await page.screenshot({ path: `${SHOTS}/${cfg.name}-FAILED-${results.length}.png`, fullPage: true }).catch(() => {});
    }
  }
  results.push({ name: 'no request leaves the origin', ok: foreign.length === 0, error: foreign.join(' ') });
  console.log(`  ${foreign.length ? 'FAIL' : 'ok  '} [${cfg.name}] no request leaves the origin${foreign.length ? `: ${foreign.slice(0, 3).join(' ')}` : ''}`);
  const ok = consoleErrors.length === 0;
  results.push({ name: 'no console errors', ok, error: consoleErrors.join(' | ') });
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} [${cfg.name}] no console errors${ok ? '' : `: ${consoleErrors.slice(0, 5).join(' | ')}`}`);
  await browser.close();
  return results;
}

const root = arg('--root') ?? '.';
const { server, url } = await startServer({ port: 0, root, quiet: true });
let failed = 0;
let total = 0;
const started = Date.now();
for (const cfg of CONFIGS.filter((c) => !only || c.name === only)) {
  console.log(`\n${cfg.name}: Chromium ${cfg.backend === 'webgpu' ? 'with WebGPU (SwiftShader)' : 'without WebGPU (CPU fallback)'}`);
  const results = await runConfig(cfg, url);
  total += results.length;
  failed += results.filter((r) => !r.ok).length;
}
server.close();
console.log(`\n${total - failed}/${total} passed in ${((Date.now() - started) / 1000).toFixed(0)} s; screenshots in ${SHOTS}/`);
process.exit(failed ? 1 : 0);
