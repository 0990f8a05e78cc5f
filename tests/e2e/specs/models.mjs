// Models panel: the shipped models, export and import through the UI, bad files, backends.
import fs from 'node:fs';
import { assert, open, loadPretrained, readWeights, engine } from '../helpers.mjs';

export default (cfg, { url, shot }) => [
  [
    'Models: loads the pretrained A–E in one click',
    async (page) => {
      await open(page, url, 'panel=models');
      await page.click('#load-pretrained');
      await page.waitForFunction(() => document.querySelectorAll('#panel-models tbody tr').length === 5, null, { timeout: 60_000 });
      const slots = await page.evaluate(() => window.vaeLab.slots());
      assert(JSON.stringify(slots) === JSON.stringify(['A', 'B', 'C', 'D', 'E']), `slots ${slots}`);
      const params = await page.$$eval('#panel-models tbody tr td:nth-child(3)', (tds) => tds.map((t) => Number(t.textContent)));
      assert(JSON.stringify(params) === JSON.stringify([29033, 52201, 103593, 100065, 100953]), `params ${params}`);
      await shot(page, 'models');
    },
  ],
  engine('Export → import gives identical reconstructions (UI download and upload)', async (page) => {
    await open(page, url, 'panel=models');
    await loadPretrained(page, ['D']);
    await page.selectOption('#model-select', 'D');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-weights')]);
    const bytes = fs.readFileSync(await download.path());
    assert(bytes.length > 100_000, `exported ${bytes.length} bytes`);
    await page.setInputFiles('#weights-file', { name: 'D-copy.bin', mimeType: 'application/octet-stream', buffer: bytes });
    await page.waitForFunction(() => /Imported D-copy\.bin/.test(document.getElementById('messages').textContent), null, {
      timeout: 30_000,
    });
    const diff = await page.evaluate(async () => {
      const x = await window.vaeLab.testImages([0, 1, 2, 3, 4, 5, 6, 7]);
      const a = await window.vaeLab.reconstruct(x, { slot: 'D' });
      const b = await window.vaeLab.reconstruct(x, { slot: 'D-copy' });
      return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    });
    assert(diff === 0, `reconstructions differ by ${diff}`);
  }),
  [
    'A corrupt or truncated import shows an error and changes nothing',
    async (page) => {
      await open(page, url, 'panel=models');
      await loadPretrained(page, ['B']);
      const slotsBefore = await page.evaluate(() => window.vaeLab.slots());
      const random = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256));
      await page.setInputFiles('#weights-file', { name: 'noise.bin', mimeType: 'application/octet-stream', buffer: random });
      await page.waitForSelector('.msg.error:has-text("magic")', { timeout: 30_000 });
      const good = readWeights('B');
      await page.setInputFiles('#weights-file', {
        name: 'B-cut.bin',
        mimeType: 'application/octet-stream',
        buffer: good.subarray(0, good.length - 999),
      });
      await page.waitForSelector('.msg.error:has-text("truncated")', { timeout: 30_000 });
      const slotsAfter = await page.evaluate(() => window.vaeLab.slots());
      assert(JSON.stringify(slotsBefore) === JSON.stringify(slotsAfter), `slots changed: ${slotsAfter}`);
      const s = await page.evaluate(async () => (await window.vaeLab.sample(2, 3, 'B')).length);
      assert(s === 2, 'the app stopped working after a bad import');
      await shot(page, 'import-error');
    },
  ],
  ...(cfg.backend === 'webgpu'
    ? [
        engine('WebGPU and CPU give the same reconstruction for the same weights', async (page) => {
          await open(page, url, 'panel=models');
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
        }),
      ]
    : []),
];
