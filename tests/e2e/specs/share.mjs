// Figures people reuse: a copied link restores what was on screen; PNG, GIF and CSV exports; the
// app offline after the first visit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert, open, tab, canvasSum, defaults } from '../helpers.mjs';
import { startServer } from '../../../tools/serve.mjs';

/** Width and height from a PNG's IHDR chunk. */
function pngSize(buf) {
  assert(buf.subarray(1, 4).toString() === 'PNG', 'not a PNG file');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

const save = async (page, selector) => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return { name: download.suggestedFilename(), bytes: fs.readFileSync(await download.path()) };
};

export default (cfg, { url, root, shot }) => [
  ['A copied link restores the model, seed and digits on screen', async (page) => {
    await open(page, url, 'panel=sample');
    await page.waitForSelector('#sample-canvas[data-seed="0"]', { timeout: 120_000 });
    await page.evaluate(() => window.vaeLab.loadPretrained('E'));
    await page.selectOption('#model-select', 'E');
    await page.fill('#sample-seed', '7');
    await page.dispatchEvent('#sample-seed', 'change');
    await page.waitForFunction(() => document.querySelector('#sample-canvas').dataset.seed === '7'
      && /Model E, seed 7/.test(document.querySelector('#panel-sample p.muted').textContent), null, { timeout: 60_000 });
    await page.click('#copy-link');
    const link = await page.waitForFunction(() => document.getElementById('copy-link').dataset.copied).then((h) => h.jsonValue());
    const q = new URL(link).searchParams;
    assert(q.get('arch') === 'E' && q.get('seed') === '7' && q.get('panel') === 'sample', `the link is ${link}`);
    const sum = await canvasSum(page, '#sample-canvas');
    // the link in a fresh page shows the same figure
    const other = await page.context().newPage();
    await other.goto(link);
    await other.waitForSelector('#sample-canvas[data-seed="7"]', { timeout: 120_000 });
    assert(await other.$eval('#model-select', (s) => s.value) === 'E', 'the link did not select model E');
    assert(await canvasSum(other, '#sample-canvas') === sum, 'the linked page draws another figure');
    // reconstruct: the same 16 held-out digits
    await tab(other, 'reconstruct');
    await other.waitForSelector('#reconstruct-canvas[data-rows]', { timeout: 60_000 });
    const digits = new URL(other.url()).searchParams.get('digits');
    assert(digits && digits.split(',').length === 16, `no digits in the address: ${other.url()}`);
    const recSum = await canvasSum(other, '#reconstruct-canvas');
    await page.goto(other.url());
    await page.waitForSelector('#reconstruct-canvas[data-rows]', { timeout: 120_000 });
    assert(await canvasSum(page, '#reconstruct-canvas') === recSum, 'the reconstruct link shows other digits');
    await other.close();
  }],
  ['A saved PNG has the figure at print size; the chain saves as an animated GIF', async (page) => {
    await open(page, url, 'panel=sample&arch=C');
    await page.waitForSelector('#sample-canvas[data-seed="0"]', { timeout: 120_000 });
    const { width: w, height: h } = await page.$eval('#sample-canvas', (c) => ({ width: c.width, height: c.height }));
    const png = await save(page, '#panel-sample [data-save="png"]');
    const size = pngSize(png.bytes);
    const scale = size.width / w;
    assert(Number.isInteger(scale) && scale > 1 && size.height === h * scale && size.width >= 1800, `PNG ${size.width}x${size.height} for a ${w}x${h} figure`);
    // it decodes, and its pixels are the figure's (nearest-neighbour: block means equal pixels)
    const decoded = await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      return { width: bmp.width, height: bmp.height };
    }, png.bytes.toString('base64'));
    assert(decoded.width === size.width && decoded.height === size.height, `decoded ${JSON.stringify(decoded)}`);
    await tab(page, 'chain');
    await page.waitForSelector('#chain-gif:not([disabled])', { timeout: 120_000 });
    const gif = await save(page, '#chain-gif');
    assert(gif.bytes.subarray(0, 6).toString() === 'GIF89a', 'not a GIF');
    const frames = await page.evaluate(async (b64) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dec = new ImageDecoder({ data, type: 'image/gif' });
      await dec.tracks.ready;
      const last = await dec.decode({ frameIndex: dec.tracks.selectedTrack.frameCount - 1 });
      return { count: dec.tracks.selectedTrack.frameCount, width: last.image.displayWidth };
    }, gif.bytes.toString('base64'));
    assert(frames.count === 101 && frames.width === 582, `GIF of ${frames.count} frames, ${frames.width} px wide`);
  }],
  ['Per-latent KL saves as CSV and as a chart redrawn at print size', async (page) => {
    await open(page, url, 'panel=collapse&models=C,E');
    await page.waitForSelector('#collapse-table tbody tr:nth-child(2)', { timeout: 120_000 });
    const csv = (await save(page, '#panel-collapse [data-save="csv"]')).bytes.toString().trim().split('\n');
    assert(csv[0] === 'model,latent,kl_nats,active_units' && csv.length === 1 + 2 * 12, `CSV of ${csv.length} lines: ${csv[0]}`);
    const e = csv.filter((l) => l.startsWith('E,')).map((l) => Number(l.split(',')[2]));
    assert(e.length === 12 && e.every(Number.isFinite) && e.filter((v) => v < 0.1).length >= 1, `E's KL ${e}`);
    // the chart is redrawn at print size, not scaled up from the screen
    const png = pngSize((await save(page, '#panel-collapse [data-save="png"]')).bytes);
    const shown = await page.$eval('#collapse-chart canvas', (c) => c.width);
    assert(png.width === 3 * shown && png.width >= 1800, `chart PNG ${png.width} px wide for a ${shown} px chart`);
  }],
  ['After one visit the app works offline: sample, draw, chain and train', async (page) => {
    await open(page, url, 'panel=sample&arch=C');
    await page.waitForSelector('body[data-offline="ready"]', { timeout: 120_000 });
    // training digits are fetched when first used; the service worker keeps them
    await page.evaluate(() => window.vaeLab.train({ arch: 'A', epochs: 1, limit: 64, seed: 1 }).done);
    await page.waitForFunction(async () => (await (await caches.open('vae-lab-v1')).keys()).some((r) => r.url.includes('mnist-subset-train.bin')), null, { timeout: 60_000, polling: 500 });
    await page.context().setOffline(true);
    try {
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 120_000 });
      if (await page.evaluate(() => document.body.dataset.ready) !== 'true') {
        const why = await page.$$eval('.msg', (m) => m.map((e) => e.textContent).join(' | '));
        throw new Error(`the app did not start offline: ${why}`);
      }
      await page.waitForSelector('#sample-canvas[data-seed="0"]', { timeout: 60_000 });
      assert(await canvasSum(page, '#sample-canvas') > 0, 'no samples offline');
      const r = await page.evaluate(async () => {
        const lab = window.vaeLab;
        const frames = await lab.chain(4, 5, 1);
        const run = lab.train({ arch: 'A', epochs: 1, limit: 64, seed: 2 });
        const last = await run.done;
        return { frames: frames.length, done: last.done };
      });
      assert(r.frames === 6 && r.done, `offline chain/train: ${JSON.stringify(r)}`);
      await tab(page, 'draw');
      await page.click('#draw-test-digit');
      await page.waitForFunction(() => Number(document.getElementById('draw-canvas').dataset.encoded ?? 0) > 0, null, { timeout: 60_000 });
      await shot(page, 'offline');
    } finally {
      await page.context().setOffline(false);
    }
  }],
  ['A new deploy replaces the kept files after the visitor reloads: never old scripts with a new engine', async (page) => {
    const dir = appCopy(root);
    const { server, url: site } = await startServer({ port: 0, root: dir, quiet: true });
    try {
      const q = `panel=sample&arch=C${defaults.backend ? `&backend=${defaults.backend}` : ''}`;
      await page.goto(`${site}index.html?${q}`);
      await page.waitForSelector('body[data-offline="ready"]', { timeout: 180_000 });
      const kept = () => page.evaluate(async () => (await (await caches.open('vae-lab-v1')).keys()).map((r) => new URL(r.url).pathname + new URL(r.url).search));
      const before = (await kept()).find((k) => k.startsWith('/www/ui.js'));
      assert(before, 'ui.js was not kept');
      // deploy: a changed script
      fs.appendFileSync(path.join(dir, 'www/ui.js'), '\n// deploy 2\n');
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
      // the old service worker still serves this load (its own, consistent files) and offers the update
      const button = page.getByRole('button', { name: 'Reload to use it' });
      await button.waitFor({ timeout: 60_000 });
      await Promise.all([page.waitForEvent('load', { timeout: 120_000 }), button.click()]);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
      await page.waitForFunction(async (old) => {
        const keys = (await (await caches.open('vae-lab-v1')).keys()).map((r) => new URL(r.url).pathname + new URL(r.url).search);
        return keys.some((k) => k.startsWith('/www/ui.js') && k !== old) && !keys.includes(old);
      }, before, { timeout: 60_000, polling: 250 });
      const text = await page.evaluate(async () => (await fetch('www/ui.js')).text());
      assert(text.includes('// deploy 2'), 'the page still gets the old script');
      // unchanged files kept their entries (the engine is not downloaded again)
      assert((await kept()).some((k) => k.startsWith('/pkg/')), 'the engine was dropped from the cache');
    } finally {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }],
];

/** A copy of the app to deploy over: the scripts and the page copied, the heavy folders linked. */
export function appCopy(root) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vae-lab-deploy-'));
  fs.cpSync(path.join(root, 'index.html'), path.join(dir, 'index.html'));
  fs.mkdirSync(path.join(dir, 'www'));
  for (const e of fs.readdirSync(path.join(root, 'www'), { withFileTypes: true })) {
    const from = path.resolve(root, 'www', e.name);
    if (e.isDirectory()) fs.symlinkSync(from, path.join(dir, 'www', e.name));
    else fs.copyFileSync(from, path.join(dir, 'www', e.name));
  }
  for (const d of ['pkg', 'weights']) fs.symlinkSync(path.resolve(root, d), path.join(dir, d));
  return dir;
}
