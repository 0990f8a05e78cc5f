// Train panel: a short run from the form lowers the nELBO and draws the charts.
import { assert, open, engine } from '../helpers.mjs';

export default (cfg, { url, shot }) => [
  engine('Train: a short run lowers the nELBO and draws the charts', async (page) => {
    await open(page, url, 'panel=train');
    await page.fill('#train-epochs', '2');
    await page.fill('#train-limit', String(cfg.trainLimit));
    await page.click('#train-start');
    await page.waitForSelector('#panel-train[data-state="running"]');
    await page.waitForSelector('#panel-train[data-state="idle"]', { timeout: 400_000 });
    const cells = await page.$$eval('#panel-train table.runs tbody tr td', (tds) => tds.map((t) => t.textContent));
    assert(cells[0] === 'run1' && cells[2] === '2/2' && cells[6] === 'done', `run row: ${cells}`);
    // the legend lists the series by name (no live values, so no x row)
    const series = await page.$$eval('#chart-nelbo .u-legend .u-series', (s) => s.map((e) => e.textContent.trim()));
    assert(series.length === 2 && series.every((t) => /^run1 (train|held-out)$/.test(t)), `nELBO chart legend: ${series}`);
    const info = await page.evaluate(() => window.vaeLab.info('run1'));
    const h = info.meta.history;
    assert(h.length === 2, `history ${JSON.stringify(h)}`);
    assert(
      h[1].train.nelbo < h[0].train.nelbo && h[1].test.nelbo < h[0].test.nelbo,
      `nELBO did not fall: ${h.map((e) => `${e.train.nelbo.toFixed(1)}/${e.test.nelbo.toFixed(1)}`)}`,
    );
    await shot(page, 'train');
  }),
  ...(cfg.name !== 'cpu'
    ? []
    : [
        [
          'Train by keyboard, then reload: focus follows the controls, status, table and message agree, ' +
            'the lesson comes back; a console run is charted',
          async (page) => {
            await open(page, url, 'panel=train');
            await page.fill('#train-epochs', '3');
            await page.fill('#train-limit', '640');
            await page.selectOption('#train-speed', '10'); // slow enough to pause by hand
            const focused = () => page.evaluate(() => document.activeElement?.id ?? '');
            await page.focus('#train-start');
            await page.keyboard.press('Enter');
            await page.waitForSelector('#panel-train[data-state="running"]');
            assert((await focused()) === 'train-pause', `after Start the focus is on '${await focused()}'`);
            await page.keyboard.press('Enter');
            await page.waitForSelector('#panel-train[data-state="paused"]');
            assert((await focused()) === 'train-resume', `after Pause the focus is on '${await focused()}'`);
            await page.waitForTimeout(400); // a chunk in flight lands while paused
            const paused = await page.textContent('#train-status');
            assert(/paused/.test(paused) && !/images\/s|ETA/.test(paused), `the paused status: ${paused}`);
            await page.selectOption('#train-speed', '');
            await page.focus('#train-resume');
            await page.keyboard.press('Enter');
            await page.waitForSelector('#panel-train[data-state="idle"]', { timeout: 120_000 });
            const status = await page.textContent('#train-status');
            const row = await page.$$eval('#panel-train table.runs tbody tr td', (tds) => tds.map((t) => t.textContent));
            const said = await page.textContent('#messages');
            assert(
              /run1: done, 3 of 3 epochs/.test(status) && row[2] === '3/3' && row[6] === 'done' && /run1 finished/.test(said),
              `status '${status}', row ${row}, messages '${said}'`,
            );
            // a run from the console is charted in the panel
            await page.evaluate(() => window.vaeLab.train({ arch: 'A', epochs: 1, limit: 320, slot: 'console' }).done);
            await page.waitForFunction(() =>
              [...document.querySelectorAll('#chart-nelbo .u-legend .u-series')].some((s) => /console train/.test(s.textContent)),
            );
            await page.reload();
            await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
            await page.waitForFunction(() => document.querySelectorAll('#panel-train table.runs tbody tr').length >= 2, null, {
              timeout: 30_000,
            });
            const after = await page.$$eval('#panel-train table.runs tbody tr', (trs) =>
              trs.map((tr) => tr.children[0].textContent + ' ' + tr.children[2].textContent),
            );
            const form = await page.evaluate(() => ({
              epochs: document.getElementById('train-epochs').value,
              arch: document.getElementById('train-arch').value,
            }));
            assert(after.some((r) => /run1 3\/3/.test(r)) && after.some((r) => /console 1\/1/.test(r)), `rows after the reload: ${after}`);
            // the form holds the last restored run's settings (stored models come back in name order:
            // run1's 3 epochs of C, where a fresh form says 10)
            assert(form.epochs === '3' && form.arch === 'C', `the form after the reload: ${JSON.stringify(form)}`);
            await shot(page, 'train-after-reload');
          },
        ],
      ]),
  ...(cfg.name !== 'cpu'
    ? []
    : [
        [
          'On 30 own pictures the form chooses a batch that fits and enough steps, says why, and the run learns them',
          async (page) => {
            await open(page, url, 'panel=train');
            // 30 rings of jittered size and place: what a student's drawings of one shape look like
            const mean = await page.evaluate(async () => {
              let s = 7;
              const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
              const images = Array.from({ length: 30 }, () => {
                const x = new Float32Array(784);
                const cx = 13.5 + (rand() - 0.5) * 3;
                const cy = 13.5 + (rand() - 0.5) * 3;
                const r = 6 + rand() * 3;
                for (let i = 0; i < 784; i++)
                  x[i] = Math.max(0, 1 - Math.abs(Math.hypot((i % 28) - cx, Math.floor(i / 28) - cy) - r) / 1.5);
                return x;
              });
              await window.vaeLab.addImages('rings', images);
              await window.vaeLab.useDataset('rings');
              return Array.from({ length: 784 }, (_, p) => images.reduce((a, x) => a + x[p], 0) / images.length);
            });
            await page.waitForFunction(() => !document.getElementById('train-advice').hidden);
            const form = await page.evaluate(() => ({
              batch: Number(document.getElementById('train-batch').value),
              epochs: Number(document.getElementById('train-epochs').value),
              advice: document.getElementById('train-advice').textContent,
            }));
            assert(
              form.batch <= 16 && form.epochs * Math.ceil(27 / form.batch) >= 1000 && /27 training images/.test(form.advice),
              `the form for 27 training images: ${JSON.stringify(form)}`,
            );
            const t0 = Date.now();
            await page.click('#train-start');
            await page.waitForSelector('#panel-train[data-state="running"]');
            await page.waitForSelector('#panel-train[data-state="idle"]', { timeout: 120_000 });
            const seconds = (Date.now() - t0) / 1000;
            // 500 tiny epochs queue checkpoint writes: none may land after the finished run's is removed
            await page.waitForFunction(async () => (await window.vaeLab.unfinishedRuns()).length === 0, null, {
              timeout: 10_000,
              polling: 200,
            });
            // the samples look like the pictures: each correlates with their mean image far better than noise
            const r = await page.evaluate(async (m) => {
              const corr = (a, b) => {
                const n = a.length;
                const ma = a.reduce((s, v) => s + v, 0) / n;
                const mb = b.reduce((s, v) => s + v, 0) / n;
                let ab = 0,
                  aa = 0,
                  bb = 0;
                for (let i = 0; i < n; i++) {
                  ab += (a[i] - ma) * (b[i] - mb);
                  aa += (a[i] - ma) ** 2;
                  bb += (b[i] - mb) ** 2;
                }
                return ab / Math.sqrt(aa * bb || 1);
              };
              const x = await window.vaeLab.sample(16, 3);
              const each = x.map((d) => corr(Array.from(d), m));
              const noise = Array.from({ length: 784 }, () => Math.random());
              return { samples: each.reduce((a, v) => a + v, 0) / 16, noise: corr(noise, m) };
            }, mean);
            console.log(
              `       30 own pictures, defaults chosen (batch ${form.batch}, ${form.epochs} epochs): ${seconds.toFixed(1)} s; ` +
                `samples correlate ${r.samples.toFixed(2)} with the pictures' mean (noise ${r.noise.toFixed(2)})`,
            );
            assert(r.samples > 0.6 && r.samples > r.noise + 0.4, `samples vs the pictures' mean: ${JSON.stringify(r)}`);
            // Reconstruct shows each of the 3 held-out pictures once
            await page.click('#tab-reconstruct');
            await page.waitForSelector('#reconstruct-canvas[data-columns="3"]', { timeout: 30_000 });
          },
        ],
      ]),
];
