// Teaching features: slow motion (one mini-batch at a time, a speed control), collapse on demand
// (β), the likelihood by importance sampling, the decoded plane of a 2-latent model, and the
// page opening where a student starts.
import { assert, open, tab, drawSeven, engine } from '../helpers.mjs';

export default (cfg, { url, shot }) => [
  [
    'The page opens on Draw and explains the negative nELBO where it shows',
    async (page) => {
      await open(page, url, '');
      assert(await page.isVisible('#panel-draw'), 'the page did not open on Draw');
      await tab(page, 'models');
      const text = await page.textContent('#models-explained');
      assert(/negative/.test(text) && /σ/.test(text), 'no explanation of the negative nELBO');
    },
  ],
  [
    'Every panel explains itself; the formulas are typeset by KaTeX when opened',
    async (page) => {
      await open(page, url, 'panel=train');
      const ids = await page.$$eval('details.explain', (d) => d.map((e) => e.id));
      assert(ids.length === 11, `explanations: ${ids}`);
      await page.click('#explain-train summary');
      await page.waitForSelector('#explain-train[data-typeset]', { timeout: 30_000 });
      assert((await page.$eval('#explain-train', (d) => d.dataset.typeset)) === 'true', 'KaTeX failed');
      const math = await page.$$eval('#explain-train .katex-html', (k) => k.length);
      assert(math === 2, `${math} typeset formulas`);
      // the fonts came from the app's own origin
      await page.waitForFunction(() => document.fonts.check('16px KaTeX_Main'), null, { timeout: 30_000 });
    },
  ],
  [
    'Inside: the diagram follows a drawn digit and a training step',
    async (page) => {
      await open(page, url, 'panel=draw&arch=C');
      await drawSeven(page);
      await tab(page, 'inside');
      await page.selectOption('#inside-source', 'drawn');
      await page.waitForFunction(
        () =>
          document.getElementById('inside-flow').dataset.source === 'drawn' &&
          new URL(location.href).searchParams.get('source') === 'drawn',
        null,
        { timeout: 60_000 },
      );
      // the diagram's input is the drawn digit, its layers C's (one hidden layer each side)
      const same = await page.evaluate(() => {
        const c = document.querySelector('#inside-flow canvas');
        const d = c.getContext('2d').getImageData(1, 1, 28, 28).data;
        const x = window.vaeLabApp.drawn;
        let worst = 0;
        for (let i = 0; i < 784; i++) worst = Math.max(worst, Math.abs(d[i * 4] / 255 - x[i]));
        return worst;
      });
      assert(same < 0.01, `the diagram's x differs from the drawn digit by ${same}`);
      assert((await page.$eval('#inside-flow', (f) => f.dataset.layers)) === '2', 'C has one hidden layer each side');
      // its loss terms add up, and match the engine's evaluation of the same image and noise
      const text = await page.textContent('#inside-loss');
      assert(/nELBO = .* = -?\d/.test(text), `loss block: ${text}`);
      // hover names a unit and its value
      const part = page.locator('#inside-flow canvas.cells').first();
      const box = await part.boundingBox();
      await page.mouse.move(box.x + 4, box.y + 4);
      assert(/encoder layer 1\[0\] = /.test(await page.textContent('#inside-info')), 'hover shows no value');
      // a training step of a new model: the diagram follows the run's weights
      await page.evaluate(async () => {
        const h = window.vaeLab.train({ arch: 'C', epochs: 1, limit: 640, seed: 4, slot: 'inside-run' });
        await h.setSpeed(1);
        await h.started;
        await h.pause();
        window.insideRun = h;
      });
      await page.waitForFunction(
        () => window.vaeLab.current === 'inside-run' && document.getElementById('inside-loss').textContent.includes('inside-run'),
        null,
        { timeout: 60_000 },
      );
      await page.waitForTimeout(800); // a redraw the run's first step scheduled lands first
      const before = await page.$eval('#inside-flow', (f) => [f.dataset.version, f.dataset.nelbo]);
      await page.evaluate(() => window.insideRun.step());
      await page.waitForFunction((v) => Number(document.getElementById('inside-flow').dataset.version) > Number(v), before[0], {
        timeout: 60_000,
      });
      const after = await page.$eval('#inside-flow', (f) => f.dataset.nelbo);
      assert(after !== before[1], `the nELBO did not change with a training step (${after})`);
      await page.evaluate(() => window.insideRun.stop());
      await shot(page, 'inside');
    },
  ],
  engine('Step advances a paused run by exactly one mini-batch; the speed control slows a run', async (page) => {
    await open(page, url, 'panel=train');
    await page.selectOption('#train-arch', 'A');
    await page.fill('#train-epochs', '2');
    await page.fill('#train-limit', '640');
    await page.fill('#train-batch', '64');
    await page.selectOption('#train-speed', '4');
    await page.click('#train-start');
    await page.waitForFunction(() => Number(document.getElementById('train-status').dataset.images ?? 0) > 0, null, { timeout: 120_000 });
    // at 4 steps per second, two seconds of training take about 8 steps, never a whole epoch
    const t0 = await page.$eval('#train-status', (s) => Number(s.dataset.images));
    await page.waitForTimeout(2000);
    const t1 = await page.$eval('#train-status', (s) => Number(s.dataset.images));
    assert(t1 - t0 <= 64 * 12, `at 4 steps/s the run trained ${(t1 - t0) / 64} steps in 2 s`);
    await page.click('#train-pause');
    await page.waitForSelector('#train-step:not([disabled])');
    // let the chunk in flight land, then step
    await page.waitForTimeout(600);
    const before = await page.$eval('#train-status', (s) => Number(s.dataset.images));
    await page.click('#train-step');
    await page.waitForFunction((b) => Number(document.getElementById('train-status').dataset.images) !== b, before, { timeout: 60_000 });
    const after = await page.$eval('#train-status', (s) => Number(s.dataset.images));
    assert(after - before === 64, `one step trained ${after - before} images`);
    // a step reports its gradient norm per layer: A has no hidden layer, so its head, the
    // decoder's head and log σ
    const norms = await page.$$eval('#train-grad-norms .gn', (g) => g.map((e) => e.textContent));
    assert(norms.length === 3 && norms.every((t) => /\d/.test(t)), `gradient norms: ${norms}`);
    await page.click('#train-step');
    await page.waitForFunction((b) => Number(document.getElementById('train-status').dataset.images) === b + 128, before, {
      timeout: 60_000,
    });
    await page.click('#train-stop');
    await page.waitForSelector('#panel-train[data-state="idle"]', { timeout: 60_000 });
  }),
  [
    'A β = 4 run of C ends with fewer active units than β = 1 on the same seed',
    async (page) => {
      await open(page, url, 'panel=collapse&models=C');
      const r = await page.evaluate(async () => {
        const lab = window.vaeLab;
        const run = async (beta) => {
          const h = lab.train({ arch: 'C', epochs: 3, limit: 1280, seed: 0, beta, slot: `beta${beta}` });
          const last = await h.done;
          return { units: (await lab.collapse(h.slot)).active_units, weight: last.kl_weight };
        };
        return { one: await run(1), four: await run(4) };
      });
      assert(r.four.weight === 4 && r.one.weight === 1, `KL weights ${JSON.stringify(r)}`);
      assert(r.four.units < r.one.units, `active units: β = 4 ${r.four.units}, β = 1 ${r.one.units}`);
      await tab(page, 'collapse');
      await page.click('#collapse-refresh');
      await page.waitForFunction(
        () => [...document.querySelectorAll('#collapse-table tbody tr')].some((tr) => tr.textContent.startsWith('beta4')),
        null,
        { timeout: 60_000 },
      );
      await shot(page, 'collapse-beta');
    },
  ],
  ...(cfg.name !== 'cpu'
    ? []
    : [
        [
          'The Collapse demo trains C at β = 16 and β = 1 in one click and compares them with one definition of active',
          async (page) => {
            await open(page, url, 'panel=train');
            const t0 = Date.now();
            await page.click('#train-preset-collapse');
            await page.waitForSelector('#panel-collapse:not([hidden])', { timeout: 240_000 });
            const seconds = (Date.now() - t0) / 1000;
            await page.waitForFunction(
              () =>
                [...document.querySelectorAll('#panel-collapse table:not(.u-legend) tbody tr')].filter((tr) =>
                  /collapse-beta/.test(tr.textContent),
                ).length === 2,
              null,
              { timeout: 60_000 },
            );
            const rows = await page.$$eval('#panel-collapse table:not(.u-legend) tbody tr', (trs) =>
              trs.map((tr) => [...tr.children].map((td) => td.textContent)),
            );
            const row = (slot) => rows.find((r) => r[0] === slot);
            const [b16, b1] = [row('collapse-beta16'), row('collapse-beta1')];
            const active = (r) => Number(r[1].split('/')[0]);
            // one definition: active + collapsed = 12 in every row
            assert(
              rows.every((r) => Number(r[1].split('/')[0]) + Number(r[2]) === Number(r[1].split('/')[1])),
              `rows: ${JSON.stringify(rows)}`,
            );
            assert(active(b16) < active(b1), `active units: β = 16 ${b16[1]}, β = 1 ${b1[1]}`);
            const nelbo = await page.evaluate(async () =>
              [await window.vaeLab.evaluate('collapse-beta16'), await window.vaeLab.evaluate('collapse-beta1')].map((e) => e.nelbo),
            );
            // good enough to look at: far below an untrained model's ~+800 nats
            assert(
              nelbo.every((v) => v < 0),
              `held-out nELBO ${nelbo}`,
            );
            console.log(
              `       collapse demo: ${seconds.toFixed(1)} s from the click; active ${b16[1]} (β = 16) vs ${b1[1]} (β = 1); ` +
                `held-out nELBO ${nelbo.map((v) => v.toFixed(1)).join(' / ')}`,
            );
            await shot(page, 'collapse-demo');
          },
        ],
      ]),
  [
    "The Train panel charts a β run's objective beside its true nELBO",
    async (page) => {
      await open(page, url, 'panel=train');
      await page.fill('#train-beta', '4');
      await page.fill('#train-epochs', '1');
      await page.fill('#train-limit', '640');
      await page.click('#train-start');
      await page.waitForSelector('#panel-train[data-state="running"]');
      await page.waitForSelector('#panel-train[data-state="idle"]', { timeout: 120_000 });
      const legend = await page.$$eval('#chart-chunk .u-legend .u-series', (s) => s.map((e) => e.textContent.trim()));
      assert(legend.includes('run1') && legend.includes('run1 objective'), `legend: ${legend}`);
      await shot(page, 'train-objective');
    },
  ],
  engine('lab.evaluate estimates log p(x) by importance sampling: K = 1 is the ELBO, more samples tighten it', async (page) => {
    await open(page, url, 'panel=sample&arch=C');
    const r = await page.evaluate(async () => {
      const lab = window.vaeLab;
      const one = await lab.evaluate({ importanceSamples: 1 });
      const many = await lab.evaluate({ importanceSamples: 20 });
      let refused = null;
      try {
        await lab.evaluate({ importanceSamples: 0 });
      } catch (e) {
        refused = e.kind;
      }
      return { one, many, refused };
    });
    assert(Number.isFinite(r.one.log_likelihood) && Number.isFinite(r.many.log_likelihood), JSON.stringify(r));
    assert(
      Math.abs(r.one.log_likelihood + r.one.nelbo) < 0.02 * Math.abs(r.one.nelbo) + 2,
      `K = 1 ${r.one.log_likelihood} vs −nELBO ${-r.one.nelbo}`,
    );
    assert(r.many.log_likelihood > r.one.log_likelihood, `K = 20 ${r.many.log_likelihood} vs K = 1 ${r.one.log_likelihood}`);
    assert(r.refused === 'input', `importanceSamples 0 was not refused (${r.refused})`);
  }),
  [
    'A model with two latents shows its decoded plane',
    async (page) => {
      await open(page, url, 'panel=sample');
      await page.evaluate(async () => {
        const h = window.vaeLab.train({ hidden: [16], latent: 2, epochs: 1, limit: 256, seed: 1, slot: 'flat' });
        await h.done;
      });
      await tab(page, 'latent');
      await page.waitForSelector('#latent-plane[data-drawn="true"]', { timeout: 60_000 });
      assert((await page.$eval('#latent-plane', (c) => c.width)) === 15 * 29 + 1, 'the plane is not 15 digits wide');
    },
  ],
];
