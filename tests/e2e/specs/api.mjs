// The ES-module API: bad input, engine crashes, persistence of what the user made.
import { assert, open, loadPretrained, engine } from '../helpers.mjs';

/** A small model the user made: one epoch of A on 640 digits, in slot `slot`. */
const trainTiny = (page, slot) =>
  page.evaluate(async (s) => {
    await window.vaeLab.train({ arch: 'A', epochs: 1, limit: 640, slot: s }).done;
  }, slot);

export default (cfg, { url }) => [
  [
    'The API rejects bad input with clear errors',
    async (page) => {
      await open(page, url, 'panel=models');
      const errors = await page.evaluate(async () => {
        const lab = window.vaeLab;
        const msg = async (f) => {
          try {
            await f();
            return null;
          } catch (e) {
            return e.message;
          }
        };
        const nan = new Float32Array(784);
        nan[5] = NaN;
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
    },
  ],
  engine('A crashed engine restarts on the CPU with the current weights', async (page) => {
    await open(page, url, 'panel=models');
    await trainTiny(page, 'run1');
    const r = await page.evaluate(async () => {
      const lab = window.vaeLab;
      const x = await lab.testImages([0, 1, 2, 3]);
      const before = await lab.reconstruct(x, { slot: 'run1' });
      const slotsBefore = await lab.slots();
      await lab._simulateCrash();
      const after = await lab.reconstruct(x, { slot: 'run1' });
      return {
        d: before.reduce((m, v, i) => Math.max(m, Math.abs(v - after[i])), 0),
        backend: lab.backend,
        reason: lab.fallbackReason,
        same: JSON.stringify(slotsBefore) === JSON.stringify(await lab.slots()),
      };
    });
    assert(r.backend === 'cpu', `backend after the crash: ${r.backend}`);
    assert(/crash/.test(r.reason), `reason: ${r.reason}`);
    assert(r.same, 'models were lost in the restart');
    assert(r.d < 1e-4, `the trained model's reconstructions changed by ${r.d}`);
    await page.waitForSelector('.msg.warn:has-text("continuing on the CPU")', { timeout: 10_000 });
    assert((await page.textContent('#backend')) === 'CPU', 'badge not updated');
  }),
  [
    'Trained and imported models survive a reload; removed ones do not come back',
    async (page) => {
      await open(page, url, 'panel=models');
      await trainTiny(page, 'run1');
      await loadPretrained(page, ['D']);
      await page.evaluate(async () => {
        const bytes = await window.vaeLab.exportWeights('D');
        await window.vaeLab.importWeights(bytes, 'D-copy');
      });
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 180_000 });
      await page.waitForFunction(() => /Restored your models/.test(document.getElementById('messages').textContent), null, {
        timeout: 30_000,
      });
      const slots = await page.evaluate(() => window.vaeLab.slots());
      assert(slots.includes('run1') && slots.includes('D-copy'), `after reload: ${slots}`);
      const info = await page.evaluate(() => window.vaeLab.info('run1'));
      assert(info.meta.history.length === 1, 'the trained run lost its history');
      await page.evaluate(async () => {
        await window.vaeLab.removeSlot('D-copy');
        // the page forgets it in IndexedDB after the engine drops it; wait for that write
        const { allModels } = await import('/www/store.js');
        for (let i = 0; i < 100 && (await allModels()).some(([slot]) => slot === 'D-copy'); i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      await page.reload();
      // saved models come back after the first sample (data-restored)
      await page.waitForFunction(() => document.body.dataset.restored, null, { timeout: 180_000 });
      const again = await page.evaluate(() => window.vaeLab.slots());
      assert(!again.includes('D-copy') && again.includes('run1'), `removed model came back: ${again}`);
    },
  ],
];
