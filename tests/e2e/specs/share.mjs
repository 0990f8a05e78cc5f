// Figures people reuse: a copied link restores what was on screen; PNG, GIF and CSV exports; the
// app offline after the first visit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assert, open, tab, canvasSum, defaults, engine } from '../helpers.mjs';
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

/** A saved figure's PNG, kept under test-results/figures/ to look at. */
const keep = (name, bytes) => {
  fs.mkdirSync('test-results/figures', { recursive: true });
  fs.writeFileSync(`test-results/figures/${name}`, bytes);
};

/** Save the panel's figure as a PNG: its size, kept under test-results/figures/{file}. */
const savePng = async (page, id, file) => {
  assert(await page.$(`#panel-${id} [data-save="png"]`), `the ${id} panel has no Save PNG`);
  const png = await save(page, `#panel-${id} [data-save="png"]`);
  keep(file, png.bytes);
  return { ...pngSize(png.bytes), bytes: png.bytes };
};

/** Distinct colours (rounded to 16 levels a channel) in a rectangle of a PNG, decoded in the page. */
const colours = (page, bytes, [x, y, w, h]) =>
  page.evaluate(
    async ({ b64, r }) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bmp = await createImageBitmap(new Blob([data], { type: 'image/png' }));
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const ctx = c.getContext('2d');
      ctx.drawImage(bmp, 0, 0);
      const d = ctx.getImageData(r[0], r[1], r[2], r[3]).data;
      const seen = new Set();
      let ink = 0;
      let black = 0;
      for (let i = 0; i < d.length; i += 4) {
        seen.add(`${d[i] >> 4},${d[i + 1] >> 4},${d[i + 2] >> 4}`);
        if (d[i] + d[i + 1] + d[i + 2] < 600) ink++;
        if (d[i] + d[i + 1] + d[i + 2] < 30) black++;
      }
      return { distinct: seen.size, ink, black };
    },
    { b64: bytes.toString('base64'), r: [x, y, w, h] },
  );

export default (cfg, { url, root, shot }) => [
  [
    'A copied link restores the model, seed and digits on screen',
    async (page) => {
      await open(page, url, 'panel=sample');
      await page.waitForSelector('#sample-canvas[data-seed="0"]', { timeout: 120_000 });
      await page.evaluate(() => window.vaeLab.loadPretrained('E'));
      await page.selectOption('#model-select', 'E');
      await page.fill('#sample-seed', '7');
      await page.dispatchEvent('#sample-seed', 'change');
      await page.waitForFunction(
        () =>
          document.querySelector('#sample-canvas').dataset.seed === '7' &&
          /Model E, seed 7/.test(document.querySelector('#panel-sample p.muted').textContent),
        null,
        { timeout: 60_000 },
      );
      await page.click('#copy-link');
      const link = await page.waitForFunction(() => document.getElementById('copy-link').dataset.copied).then((h) => h.jsonValue());
      const q = new URL(link).searchParams;
      assert(q.get('arch') === 'E' && q.get('seed') === '7' && q.get('panel') === 'sample', `the link is ${link}`);
      const sum = await canvasSum(page, '#sample-canvas');
      // the link in a fresh page shows the same figure
      const other = await page.context().newPage();
      await other.goto(link);
      await other.waitForSelector('#sample-canvas[data-seed="7"]', { timeout: 120_000 });
      assert((await other.$eval('#model-select', (s) => s.value)) === 'E', 'the link did not select model E');
      assert((await canvasSum(other, '#sample-canvas')) === sum, 'the linked page draws another figure');
      // reconstruct: the same 16 held-out digits
      await tab(other, 'reconstruct');
      await other.waitForSelector('#reconstruct-canvas[data-rows]', { timeout: 60_000 });
      const digits = new URL(other.url()).searchParams.get('digits');
      assert(digits && digits.split(',').length === 16, `no digits in the address: ${other.url()}`);
      const recSum = await canvasSum(other, '#reconstruct-canvas');
      await page.goto(other.url());
      await page.waitForSelector('#reconstruct-canvas[data-rows]', { timeout: 120_000 });
      assert((await canvasSum(page, '#reconstruct-canvas')) === recSum, 'the reconstruct link shows other digits');
      await other.close();
    },
  ],
  [
    'A saved PNG has the figure at print size; the chain saves as an animated GIF',
    async (page) => {
      await open(page, url, 'panel=sample&arch=C');
      await page.waitForSelector('#sample-canvas[data-seed="0"]', { timeout: 120_000 });
      const { width: w, height: h } = await page.$eval('#sample-canvas', (c) => ({ width: c.width, height: c.height }));
      const png = await save(page, '#panel-sample [data-save="png"]');
      const size = pngSize(png.bytes);
      const scale = size.width / w;
      assert(
        Number.isInteger(scale) && scale > 1 && size.height === h * scale && size.width >= 1800,
        `PNG ${size.width}x${size.height} for a ${w}x${h} figure`,
      );
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
        // the bottom 24 rows under the 350 rows of digits (2x a 175 px grid), in frames 0, 1, 2
        const band = [];
        for (let i = 0; i < 3; i++) {
          const { image } = await dec.decode({ frameIndex: i });
          const c = new OffscreenCanvas(image.displayWidth, image.displayHeight);
          const ctx = c.getContext('2d');
          ctx.drawImage(image, 0, 0);
          const d = ctx.getImageData(0, 350, c.width, Math.max(1, c.height - 350)).data;
          let h = 0;
          for (let k = 0; k < d.length; k += 4) h = (h * 31 + d[k]) >>> 0;
          band.push(h);
        }
        return { count: dec.tracks.selectedTrack.frameCount, width: last.image.displayWidth, height: last.image.displayHeight, band };
      }, gif.bytes.toString('base64'));
      console.log(`      chain GIF: ${gif.bytes.length} bytes, ${frames.count} frames, ${frames.width} x ${frames.height}`);
      keep('chain.gif', gif.bytes);
      assert(frames.count === 51 && frames.width === 582, `GIF of ${frames.count} frames, ${frames.width} px wide`);
      assert(gif.bytes.length <= 1.5e6, `the chain GIF is ${gif.bytes.length} bytes`);
      // a step counter under the grid: the band below the digits differs from frame to frame
      assert(
        frames.band[0] !== frames.band[1] && frames.band[1] !== frames.band[2],
        `the counter band is the same in frames 0-2: ${frames.band}`,
      );
    },
  ],
  ...(cfg.name === 'cpu'
    ? [
        [
          'Draw and Inside save their whole figure as a PNG',
          async (page) => {
            await open(page, url, 'panel=draw&arch=C');
            await page.click('#draw-test-digit');
            await page.waitForFunction(() => Number(document.getElementById('draw-canvas').dataset.encoded ?? 0) > 0, null, {
              timeout: 60_000,
            });
            const draw = await savePng(page, 'draw', 'draw.png');
            // the drawing, three digits and the q(z|x) chart side by side, wider than tall, at print size
            assert(draw.width >= 1800 && draw.height > 600 && draw.width > draw.height, `Draw PNG ${draw.width} x ${draw.height}`);
            await tab(page, 'inside');
            await page.waitForSelector('#inside-flow[data-version]', { timeout: 60_000 });
            const flow = await page.$eval('#inside-flow', (f) => f.getBoundingClientRect().width);
            const inside = await savePng(page, 'inside', 'inside.png');
            assert(
              inside.width >= 1800 && inside.width >= 2 * flow,
              `Inside PNG ${inside.width} x ${inside.height} for a ${flow} px diagram`,
            );
            // the captions are drawn: dark text in the title band, and the cells' colours
            const title = await colours(page, inside.bytes, [0, 0, inside.width, 50]);
            assert(title.ink > 500, `no title text in the Inside PNG (${title.ink} dark pixels)`);
          },
        ],
        [
          "The Map PNG has its colour legend, with the dataset's class names",
          async (page) => {
            await open(page, url, 'panel=map&data=fashion');
            await page.waitForSelector('#map-canvas[data-shown]', { timeout: 120_000 });
            const map = await page.$eval('#map-canvas', (c) => ({ width: c.width, height: c.height }));
            const png = await savePng(page, 'map', 'map-fashion.png');
            assert(
              png.width === 4 * map.width && png.height > 4 * map.height + 60,
              `Map PNG ${png.width} x ${png.height} for a ${map.width} x ${map.height} map`,
            );
            const legend = await page.$eval('#map-canvas', (c) => c.dataset.figureLegend ?? '');
            assert(
              legend.split('|').length === 10 && legend.includes('Trouser') && legend.includes('Ankle boot'),
              `the legend says ${legend}`,
            );
            assert(/Trouser/.test(await page.textContent('#map-legend')), 'the legend on screen has no class names');
            // under the map: the ten colours and their names
            const below = await colours(page, png.bytes, [0, 4 * map.height, png.width, png.height - 4 * map.height]);
            assert(below.distinct >= 10 && below.ink > 2000, `the legend area has ${below.distinct} colours, ${below.ink} dark pixels`);
          },
        ],
        [
          'Latent saves the digit, its decoded code with the slider values, and the interpolation',
          async (page) => {
            await open(page, url, 'panel=latent&arch=C');
            await page.waitForSelector('#latent-strip[data-drawn]', { timeout: 120_000 });
            const strip = await page.$eval('#latent-strip', (c) => ({ width: c.width, height: c.height }));
            const png = await savePng(page, 'latent', 'latent.png');
            const scale = png.width / strip.width;
            assert(
              png.height > 3 * strip.height * scale,
              `Latent PNG ${png.width} x ${png.height}: no taller than the strip (${strip.width} x ${strip.height})`,
            );
            const values = await page.$eval('#panel-latent', () => document.getElementById('latent-decoded').dataset.figureZ ?? '');
            assert(values.split(',').length === 12, `the figure's slider values: ${values}`);
          },
        ],
        [
          'Reconstruct labels its rows, on screen and in the PNG',
          async (page) => {
            await open(page, url, 'panel=reconstruct&arch=C');
            await page.evaluate(() => window.vaeLab.loadPretrained('E'));
            await page.waitForSelector('#reconstruct-canvas[data-rows="3"]', { timeout: 120_000 });
            const labels = await page.$$eval('#reconstruct-labels > *', (l) => l.map((e) => e.textContent));
            assert(
              labels.length === 3 && /held-out/.test(labels[0]) && /C/.test(labels[1]) && /E/.test(labels[2]),
              `row labels: ${JSON.stringify(labels)}`,
            );
            // each label sits beside its row
            const rows = await page.$$eval('#reconstruct-labels > *', (l) =>
              l.map((e) => {
                const r = e.getBoundingClientRect();
                return r.top + r.height / 2;
              }),
            );
            const grid = await page.$eval('#reconstruct-canvas', (c) => {
              const r = c.getBoundingClientRect();
              return { top: r.top, h: r.height };
            });
            rows.forEach((y, i) =>
              assert(
                Math.abs(y - (grid.top + ((i + 0.5) * grid.h) / 3)) < grid.h / 12,
                `label ${i} at ${y}, the grid ${JSON.stringify(grid)}`,
              ),
            );
            const canvas = await page.$eval('#reconstruct-canvas', (c) => ({ width: c.width, height: c.height }));
            const png = await savePng(page, 'reconstruct', 'reconstruct.png');
            // a label column left of the digits: text on white, none of the digits' black
            assert(png.width >= 1800, `Reconstruct PNG ${png.width} x ${png.height} for a ${canvas.width} x ${canvas.height} grid`);
            const left = await colours(page, png.bytes, [0, 70, Math.round(png.width * 0.1), png.height - 70]);
            assert(left.ink > 300 && left.black === 0, `no row labels in the PNG (${left.ink} dark pixels, ${left.black} black)`);
          },
        ],
        [
          'Train saves all three charts in one PNG',
          async (page) => {
            await open(page, url, 'panel=train&arch=C');
            await page.evaluate(() => window.vaeLab.train({ arch: 'A', epochs: 2, limit: 128, seed: 1 }).done);
            await page.waitForFunction(() => document.querySelectorAll('#panel-train .uplot').length === 3, null, { timeout: 60_000 });
            const chart = await page.$eval('#panel-train .uplot canvas', (c) => c.height);
            const png = await savePng(page, 'train', 'train.png');
            assert(
              png.width >= 1800 && png.height > 3 * 3 * chart,
              `Train PNG ${png.width} x ${png.height}; one chart is ${chart} px tall on screen`,
            );
          },
        ],
        [
          'A link to chains from a drawing, opened with nothing drawn: chains from the prior and one message',
          async (page) => {
            await open(page, url, 'panel=chain&start=drawn&arch=C');
            await page.waitForSelector('#chain-canvas[data-frame]', { timeout: 30_000 });
            await page.waitForTimeout(500);
            const msgs = await page.$$eval('.msg', (m) => m.map((e) => e.textContent));
            const about = msgs.filter((t) => /draw/i.test(t));
            assert(about.length === 1 && /N\(0, I\)/.test(about[0]), `messages: ${JSON.stringify(msgs)}`);
            assert((await page.$eval('#chain-start', (s) => s.value)) === 'prior', 'the chains do not say they start from the prior');
            // 60 digits (10 × 6 of 29 px), with ink: a digit's mean level is ~30 of 255 (the grid's 70 included)
            const grid = await page.$eval('#chain-canvas', (c) => {
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let s = 0;
              for (let i = 0; i < d.length; i += 4) s += d[i];
              return { width: c.width, height: c.height, mean: s / (d.length / 4) };
            });
            assert(grid.width === 291 && grid.height === 175 && grid.mean > 15, `the chains are not drawn: ${JSON.stringify(grid)}`);
            await shot(page, 'chain-link-without-drawing');
          },
        ],
      ]
    : []),
  engine('Per-latent KL saves as CSV and as a chart redrawn at print size', async (page) => {
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
  }),
  [
    'After one visit the app works offline: sample, draw, chain and train',
    async (page) => {
      await open(page, url, 'panel=sample&arch=C');
      await page.waitForSelector('body[data-offline="ready"]', { timeout: 120_000 });
      // training digits are fetched when first used; the service worker keeps them
      await page.evaluate(() => window.vaeLab.train({ arch: 'A', epochs: 1, limit: 64, seed: 1 }).done);
      await page.waitForFunction(
        async () => (await (await caches.open('vae-lab-v1')).keys()).some((r) => r.url.includes('mnist-subset-train.bin')),
        null,
        { timeout: 60_000, polling: 500 },
      );
      await page.context().setOffline(true);
      try {
        await page.reload();
        await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 120_000 });
        if ((await page.evaluate(() => document.body.dataset.ready)) !== 'true') {
          const why = await page.$$eval('.msg', (m) => m.map((e) => e.textContent).join(' | '));
          throw new Error(`the app did not start offline: ${why}`);
        }
        await page.waitForSelector('#sample-canvas[data-seed="0"]', { timeout: 60_000 });
        assert((await canvasSum(page, '#sample-canvas')) > 0, 'no samples offline');
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
        await page.waitForFunction(() => Number(document.getElementById('draw-canvas').dataset.encoded ?? 0) > 0, null, {
          timeout: 60_000,
        });
        await shot(page, 'offline');
      } finally {
        await page.context().setOffline(false);
      }
    },
  ],
  [
    'A new deploy replaces the kept files after the visitor reloads: never old scripts with a new engine',
    async (page) => {
      const dir = appCopy(root);
      const { server, url: site } = await startServer({ port: 0, root: dir, quiet: true });
      try {
        const q = `panel=sample&arch=C${defaults.backend ? `&backend=${defaults.backend}` : ''}`;
        await page.goto(`${site}index.html?${q}`);
        await page.waitForSelector('body[data-offline="ready"]', { timeout: 180_000 });
        const kept = () =>
          page.evaluate(async () =>
            (await (await caches.open('vae-lab-v1')).keys()).map((r) => new URL(r.url).pathname + new URL(r.url).search),
          );
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
        await page.waitForFunction(
          async (old) => {
            const keys = (await (await caches.open('vae-lab-v1')).keys()).map((r) => new URL(r.url).pathname + new URL(r.url).search);
            return keys.some((k) => k.startsWith('/www/ui.js') && k !== old) && !keys.includes(old);
          },
          before,
          { timeout: 60_000, polling: 250 },
        );
        const text = await page.evaluate(async () => (await fetch('www/ui.js')).text());
        assert(text.includes('// deploy 2'), 'the page still gets the old script');
        // unchanged files kept their entries (the engine is not downloaded again)
        assert(
          (await kept()).some((k) => k.startsWith('/pkg/')),
          'the engine was dropped from the cache',
        );
      } finally {
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  ],
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
