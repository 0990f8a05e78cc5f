// Nothing the user makes is lost, nothing they type breaks it: the reproducers of the hostile-input
// and new-user reviews, as browser tests. Each opens the app itself and sets up what it needs.
import { assert, open, tab, forgeWeights, readWeights, engine } from '../helpers.mjs';

export default (cfg, { url, shot }) => [
  engine('The engine answers during a training run; Pause and Stop take effect at once', async (page) => {
    await open(page, url, 'panel=train');
    const r = await page.evaluate(async () => {
      const lab = window.vaeLab;
      const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
      let progress = 0;
      let epoch = 0;
      const run = lab.train({
        arch: 'C',
        epochs: 25,
        slot: 'busy',
        onProgress: (p) => {
          progress++;
          epoch = p.epoch;
        },
      });
      while (progress < 3) await sleep(10);
      const t0 = performance.now();
      const digits = await lab.sample(4, 1, 'C');
      const sample = { ms: performance.now() - t0, n: digits.length, progressSoFar: progress };
      await run.pause();
      const atPause = progress;
      await sleep(1500);
      const afterPause = progress - atPause; // at most the chunk that was running
      const t1 = performance.now();
      const bytes = await lab.exportWeights('busy');
      const exportMs = performance.now() - t1;
      await run.resume();
      const atResume = progress;
      while (progress < atResume + 2) await sleep(10);
      await run.stop();
      const last = await run.done;
      await lab.removeSlot('busy');
      return { sample, afterPause, exportMs, exported: bytes.length, stoppedAt: last?.epoch ?? epoch, resumed: progress > atResume };
    });
    assert(r.sample.n === 4, `sample during training: ${JSON.stringify(r.sample)}`);
    assert(r.afterPause <= 1, `${r.afterPause} chunks ran after pause`);
    assert(r.exported > 100_000 && r.resumed, `export during a paused run: ${JSON.stringify(r)}`);
    assert(r.stoppedAt < 25, `stop took effect only at epoch ${r.stoppedAt}`);
    console.log(`       sample during a run answered in ${r.sample.ms.toFixed(0)} ms, export in ${r.exportMs.toFixed(0)} ms`);
  }),
  engine('A run cut off by a reload resumes to the weights of an uninterrupted run; names never collide', async (page) => {
    await open(page, url, 'panel=train');
    const opts = { arch: 'A', epochs: 3, limit: 640, seed: 5, batch: 64 };
    await page.evaluate(async (o) => {
      const h = window.vaeLab.train({ ...o, slot: 'ref' });
      await h.done;
    }, opts);
    // the same run, paused after its first epoch's checkpoint, then the tab reloads
    const slot = await page.evaluate(async (o) => {
      const lab = window.vaeLab;
      let handle;
      const paused = new Promise((resolve) => {
        handle = lab.train({
          ...o,
          onProgress: (p) => {
            if (p.epoch_end?.epoch === 1) {
              handle.pause();
              resolve();
            }
          },
        });
        // slow motion from the second chunk on: the CPU step takes ~1 ms, so at full speed the run
        // could end before the pause sent at epoch 1's end arrived; at 5 steps/s it has 2 s to land
        handle.setSpeed(5);
      });
      await paused;
      const { allRuns } = await import('/www/store.js');
      for (let i = 0; i < 200 && !(await allRuns()).some(([s, r]) => s === handle.slot && r.epoch === 1); i++) {
        await new Promise((res) => setTimeout(res, 25));
      }
      return handle.slot;
    }, opts);
    assert(slot !== 'ref', 'the new run took an existing name');
    page.once('dialog', (d) => d.accept());
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 180_000 });
    await tab(page, 'train');
    await page.waitForSelector(`#train-unfinished [data-resume="${slot}"]`, { timeout: 30_000 });
    await shot(page, 'train-unfinished');
    await page.click(`#train-unfinished [data-resume="${slot}"]`);
    await page.waitForSelector('#panel-train[data-state="running"]');
    await page.waitForSelector('#panel-train[data-state="idle"]', { timeout: 400_000 });
    const r = await page.evaluate(async (s) => {
      const lab = window.vaeLab;
      const x = await lab.testImages([0, 1, 2, 3, 4, 5, 6, 7]);
      const a = await lab.reconstruct(x, { slot: 'ref' });
      const b = await lab.reconstruct(x, { slot: s });
      const info = await lab.info(s);
      const next = lab.train({ arch: 'A', epochs: 1, limit: 64 });
      await next.done;
      const unfinished = await lab.unfinishedRuns();
      const slots = await lab.slots();
      for (const name of [s, 'ref', next.slot]) await lab.removeSlot(name);
      return {
        diff: a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0),
        epochs: info.meta.history.map((e) => e.epoch),
        next: next.slot,
        slots,
        unfinished: unfinished.map((u) => u.slot),
      };
    }, slot);
    assert(JSON.stringify(r.epochs) === '[1,2,3]', `history epochs ${r.epochs}`);
    assert(r.diff <= (cfg.backend === 'cpu' ? 0 : 1e-5), `resumed vs uninterrupted reconstructions differ by ${r.diff}`);
    assert(r.next !== slot && r.next !== 'ref' && !r.unfinished.includes(slot), `names: ${JSON.stringify(r)}`);
  }),
  [
    'A run cut off by an engine crash is kept and resumes on the new engine',
    async (page) => {
      await open(page, url, 'panel=train');
      const r = await page.evaluate(async () => {
        const lab = window.vaeLab;
        let epochs = 0;
        const run = lab.train({
          arch: 'A',
          epochs: 50,
          limit: 640,
          slot: 'crashy',
          onProgress: (p) => {
            if (p.epoch_end) epochs++;
          },
        });
        while (epochs < 1) await new Promise((res) => setTimeout(res, 10));
        await lab._simulateCrash();
        let message = null;
        try {
          await run.done;
        } catch (e) {
          message = e.message;
        }
        const listed = await lab.unfinishedRuns();
        const again = await lab.resumeRun('crashy');
        await again.stop();
        const last = await again.done;
        return { message, listed: listed.map((u) => [u.slot, u.epoch]), resumedAt: last?.epoch, backend: lab.backend };
      });
      const entry = r.listed.find(([slot]) => slot === 'crashy');
      assert(/restarted/.test(r.message ?? ''), `the run's error: ${r.message}`);
      assert(entry && entry[1] >= 1, `the crashed run is not offered: ${JSON.stringify(r.listed)}`);
      assert(r.resumedAt >= entry[1] && r.backend === 'cpu', `resumed: ${JSON.stringify(r)}`);
    },
  ],
  [
    'The page warns before unloading a run with unsaved steps',
    async (page) => {
      await open(page, url, 'panel=train');
      const r = await page.evaluate(async () => {
        const lab = window.vaeLab;
        let steps = 0;
        const run = lab.train({
          arch: 'C',
          epochs: 5,
          slot: 'unsaved',
          onProgress: (p) => {
            steps += p.chunk.steps;
          },
        });
        while (steps < 3) await new Promise((res) => setTimeout(res, 10));
        await run.pause();
        const unsaved = lab.hasUnsavedWork();
        const e = new Event('beforeunload', { cancelable: true });
        window.dispatchEvent(e);
        await run.stop();
        await run.done;
        await lab.removeSlot('unsaved');
        const after = new Event('beforeunload', { cancelable: true });
        window.dispatchEvent(after);
        return { unsaved, warned: e.defaultPrevented, afterStop: after.defaultPrevented };
      });
      assert(r.unsaved && r.warned && !r.afterStop, `beforeunload: ${JSON.stringify(r)}`);
    },
  ],
  engine('A diverging run stops with the epoch and step and keeps finite weights', async (page) => {
    await open(page, url, 'panel=train');
    const r = await page.evaluate(async () => {
      const lab = window.vaeLab;
      const run = lab.train({ arch: 'B', epochs: 5, lr: 0.5, limit: 640, slot: 'wild' });
      let message = null;
      try {
        await run.done;
      } catch (e) {
        message = e.message;
      }
      const s = await lab.sample(8, 1, 'wild');
      const finite = s.every((d) => d.every(Number.isFinite));
      const unfinished = (await lab.unfinishedRuns()).map((u) => u.slot);
      await lab.removeSlot('wild');
      return { message, finite, unfinished };
    });
    assert(/diverged in epoch \d+, step \d+/.test(r.message ?? ''), `message: ${r.message}`);
    assert(r.finite, 'the kept weights sample NaN');
    assert(!r.unfinished.includes('wild'), 'a diverged run is offered for resuming');
  }),
  [
    'Values that trapped the engine are refused with clear errors; it never restarts',
    async (page) => {
      await open(page, url, 'panel=train');
      const r = await page.evaluate(async () => {
        const lab = window.vaeLab;
        let restarts = 0;
        lab.on('restarting', () => restarts++);
        const msg = async (f) => {
          try {
            await f();
            return null;
          } catch (e) {
            return e.message;
          }
        };
        const bytes = await lab.exportWeights('C');
        return {
          kind: await lab.sample(0, 1, 'C').catch((e) => e.kind),
          sample: await msg(() => lab.sample(4, 1, 42)),
          import: await msg(() => lab.importWeights(bytes, 42)),
          use: await msg(() => lab.use(7)),
          indices: await msg(() => lab.testImages(new Array(1e6).fill(0))),
          huge: await msg(() => lab.importWeights(new Uint8Array(64 << 20))),
          after: (await lab.sample(2, 1, 'C')).length,
          current: lab.current,
          restarts,
        };
      });
      for (const k of ['sample', 'import', 'use']) assert(/slot is a name/.test(r[k] ?? ''), `${k}: ${r[k]}`);
      assert(/too many/.test(r.indices ?? ''), `indices: ${r.indices}`);
      assert(r.kind === 'input', `a bad count's error kind: ${r.kind}`);
      assert(/larger than any model/.test(r.huge ?? ''), `huge: ${r.huge}`);
      assert(r.after === 2 && r.restarts === 0 && typeof r.current === 'string', `after: ${JSON.stringify(r)}`);
    },
  ],
  [
    'Weights that pass the checksum but compute NaN are refused at load',
    async (page) => {
      await open(page, url, 'panel=train');
      const forged = forgeWeights(readWeights('A'), { param: () => 3.4e38 });
      const r = await page.evaluate(
        async (bytes) => {
          try {
            await window.vaeLab.importWeights(new Uint8Array(bytes), 'huge');
            return null;
          } catch (e) {
            return `${e.kind}: ${e.message}`;
          }
        },
        [...forged],
      );
      // the error's kind says what failed, so the page never parses messages
      assert(/^weights: .*non-finite/.test(r ?? ''), `forged weights: ${r}`);
    },
  ],
  [
    'The page reads every file the CLI reads: 64-bit counts, malformed optional metadata',
    async (page) => {
      await open(page, url, 'panel=train');
      const forged = forgeWeights(readWeights('A'), {
        header: (h) => ({ ...h, meta: { ...h.meta, epochs: 4294967296, history: 'not a history', lr: 'fast' } }),
      });
      const r = await page.evaluate(
        async (bytes) => {
          const info = await window.vaeLab.importWeights(new Uint8Array(bytes), 'wide');
          await window.vaeLab.removeSlot('wide');
          return info.meta;
        },
        [...forged],
      );
      assert(r.epochs === 4294967296 && r.history === null && r.lr === null && r.dataset, `meta: ${JSON.stringify(r).slice(0, 200)}`);
    },
  ],
  [
    'Requests made while a crashed engine restarts wait until its models are back',
    async (page) => {
      await open(page, url, 'panel=train');
      const r = await page.evaluate(async () => {
        const lab = window.vaeLab;
        let during = null;
        const off = new AbortController();
        lab.events.addEventListener(
          'restarting',
          () => {
            during = lab.sample(2, 1, 'C');
          },
          { signal: off.signal, once: true },
        );
        await lab._simulateCrash();
        off.abort();
        const digits = await during;
        return { n: digits?.length, backend: lab.backend };
      });
      assert(r.n === 2, `a request during the restart failed: ${JSON.stringify(r)}`);
    },
  ],
  [
    'A host without the WebGPU engine (or make serve still building it): WebGPU asked for, the page works on the CPU and says why',
    async (page) => {
      await page.route('**/pkg/vae_lab_gpu*', (r) => r.fulfill({ status: 404, body: 'not found' }));
      await open(page, url, 'panel=sample&backend=webgpu');
      const r = await page.evaluate(async () => {
        const lab = window.vaeLab;
        const digits = await lab.sample(2, 1);
        return { backend: lab.backend, reason: lab.fallbackReason, n: digits.length, badge: document.getElementById('backend').title };
      });
      assert(r.backend === 'cpu' && r.n === 2, `not working on the CPU: ${JSON.stringify(r)}`);
      assert(/WebGPU engine could not be loaded/.test(r.reason) && /HTTP 404/.test(r.reason), `no clear reason: ${r.reason}`);
    },
  ],
];
