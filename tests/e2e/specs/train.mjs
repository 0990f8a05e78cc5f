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
  ...(cfg.name !== 'cpu' ? [] : [['Train by keyboard, then reload: focus follows the controls, status, table and message agree, the lesson comes back; a console run is charted', async (page) => {
    await open(page, url, 'panel=train');
    await page.fill('#train-epochs', '3');
    await page.fill('#train-limit', '640');
    await page.selectOption('#train-speed', '10'); // slow enough to pause by hand
    const focused = () => page.evaluate(() => document.activeElement?.id ?? '');
    await page.focus('#train-start');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#panel-train[data-state="running"]');
    assert(await focused() === 'train-pause', `after Start the focus is on '${await focused()}'`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#panel-train[data-state="paused"]');
    assert(await focused() === 'train-resume', `after Pause the focus is on '${await focused()}'`);
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
    assert(/run1: done, 3 of 3 epochs/.test(status) && row[2] === '3/3' && row[6] === 'done' && /run1 finished/.test(said), `status '${status}', row ${row}, messages '${said}'`);
    // a run from the console is charted in the panel
    await page.evaluate(() => window.vaeLab.train({ arch: 'A', epochs: 1, limit: 320, slot: 'console' }).done);
    await page.waitForFunction(() => [...document.querySelectorAll('#chart-nelbo .u-legend .u-series')].some((s) => /console train/.test(s.textContent)));
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
    await page.waitForFunction(() => document.querySelectorAll('#panel-train table.runs tbody tr').length >= 2, null, { timeout: 30_000 });
    const after = await page.$$eval('#panel-train table.runs tbody tr', (trs) => trs.map((tr) => tr.children[0].textContent + ' ' + tr.children[2].textContent));
    const form = await page.evaluate(() => ({ epochs: document.getElementById('train-epochs').value, arch: document.getElementById('train-arch').value }));
    assert(after.some((r) => /run1 3\/3/.test(r)) && after.some((r) => /console 1\/1/.test(r)), `rows after the reload: ${after}`);
    // the form holds the last restored run's settings (stored models come back in name order:
    // run1's 3 epochs of C, where a fresh form says 10)
    assert(form.epochs === '3' && form.arch === 'C', `the form after the reload: ${JSON.stringify(form)}`);
    await shot(page, 'train-after-reload');
  }]]),
];
