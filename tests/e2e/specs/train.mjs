// Train panel: a short run from the form lowers the nELBO and draws the charts.
import { assert, open } from '../helpers.mjs';

export default (cfg, { url, shot }) => [
  ['Train: a short run lowers the nELBO and draws the charts', async (page) => {
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
    assert(h[1].train.nelbo < h[0].train.nelbo && h[1].test.nelbo < h[0].test.nelbo,
      `nELBO did not fall: ${h.map((e) => `${e.train.nelbo.toFixed(1)}/${e.test.nelbo.toFixed(1)}`)}`);
    await shot(page, 'train');
  }],
];
