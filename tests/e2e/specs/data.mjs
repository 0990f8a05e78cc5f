// Datasets: Fashion-MNIST beside MNIST with its own pretrained models, and datasets of the
// visitor's own pictures (files, a zip, a drop, drawings) that train and survive a reload.
import { assert, open, tab, drawSeven } from '../helpers.mjs';
import { makeZip } from '../../www/make-zip.mjs';

/** PNGs drawn in the page: dark shapes on a white ground (photographed ink), as base64. */
async function pictures(page, n, seed) {
  return page.evaluate(
    async ({ n, seed }) => {
      let s = seed;
      const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
      const out = [];
      for (let i = 0; i < n; i++) {
        const c = new OffscreenCanvas(90 + Math.floor(rand() * 60), 100);
        const g = c.getContext('2d');
        g.fillStyle = '#fff';
        g.fillRect(0, 0, c.width, c.height);
        g.fillStyle = '#111';
        g.beginPath();
        if (i % 2) g.arc(c.width / 2, 50, 20 + rand() * 20, 0, 2 * Math.PI);
        else g.rect(20 + rand() * 10, 20 + rand() * 10, 40, 50);
        g.fill();
        const blob = await c.convertToBlob({ type: 'image/png' });
        const bytes = new Uint8Array(await blob.arrayBuffer());
        out.push(btoa(String.fromCharCode(...bytes)));
      }
      return out;
    },
    { n, seed },
  );
}

export default (cfg, { url, shot }) => [
  [
    'Fashion-MNIST: chosen in Data, its pretrained C samples clothing rather than digits',
    async (page) => {
      await open(page, url, 'panel=data&arch=C');
      await page.waitForSelector('#data-choices [data-dataset="fashion"]');
      await page.click('#data-choices [data-dataset="fashion"]');
      await page.waitForFunction(
        () =>
          window.vaeLab.current === 'fashion-C' &&
          document.getElementById('data-grid').dataset.dataset === 'fashion' &&
          new URL(location.href).searchParams.get('data') === 'fashion',
        null,
        { timeout: 120_000 },
      );
      assert(/Ankle boot/.test(await page.textContent('#data-caption')), 'the caption names no Fashion-MNIST classes');
      await shot(page, 'data-fashion');
      // classifier-free: each sample's best correlation with the class means of either dataset
      const score = await page.evaluate(async () => {
        const lab = window.vaeLab;
        const corr = (a, b) => {
          const n = a.length;
          let ma = 0,
            mb = 0;
          for (let i = 0; i < n; i++) {
            ma += a[i];
            mb += b[i];
          }
          ma /= n;
          mb /= n;
          let sab = 0,
            saa = 0,
            sbb = 0;
          for (let i = 0; i < n; i++) {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) ** 2;
            sbb += (b[i] - mb) ** 2;
          }
          return sab / Math.sqrt(saa * sbb);
        };
        const classMeans = async () => {
          const labels = await lab.testLabels();
          const x = await lab.testImages(Array.from(labels, (_, i) => i));
          const means = Array.from({ length: 10 }, () => new Float64Array(784));
          const counts = new Array(10).fill(0);
          labels.forEach((l, i) => {
            counts[l]++;
            for (let p = 0; p < 784; p++) means[l][p] += x[i * 784 + p];
          });
          return means.map((m, l) => m.map((v) => v / counts[l]));
        };
        const best = (samples, means) => samples.reduce((s, x) => s + Math.max(...means.map((m) => corr(x, m))), 0) / samples.length;
        const fashionMeans = await classMeans();
        const fashionSamples = await lab.sample(60, 3, 'fashion-C');
        await lab.loadPretrained('C', { dataset: 'mnist' });
        const digitSamples = await lab.sample(60, 3, 'C');
        await lab.useDataset('mnist');
        const digitMeans = await classMeans();
        return {
          fashion: { fashion: best(fashionSamples, fashionMeans), digits: best(fashionSamples, digitMeans) },
          mnist: { fashion: best(digitSamples, fashionMeans), digits: best(digitSamples, digitMeans) },
          meta: (await lab.info('fashion-C')).meta?.dataset ?? null,
        };
      });
      assert(
        score.fashion.fashion > 0.6 && score.fashion.fashion > score.fashion.digits + 0.1,
        `fashion-C samples: r = ${score.fashion.fashion.toFixed(2)} with clothing, ${score.fashion.digits.toFixed(2)} with digits`,
      );
      // the control: MNIST's C draws digits by the same measure
      assert(
        score.mnist.digits > score.mnist.fashion,
        `MNIST C samples: r = ${score.mnist.digits.toFixed(2)} with digits, ${score.mnist.fashion.toFixed(2)} with clothing`,
      );
      assert(/fashion/i.test(score.meta ?? ''), `fashion-C's weights file names its dataset: ${score.meta}`);
      await tab(page, 'sample');
      await page.evaluate(() => window.vaeLab.use('fashion-C'));
      await page.waitForFunction(() => /fashion-C/.test(document.querySelector('#panel-sample p.muted')?.textContent ?? ''), null, {
        timeout: 60_000,
      });
      await shot(page, 'sample-fashion');
    },
  ],
  [
    'Own images: files, a zip, a drop and a drawing make a dataset that trains and survives a reload',
    async (page) => {
      await open(page, url, 'panel=data');
      const pngs = await pictures(page, 20, 7);
      await page.setInputFiles(
        '#data-files',
        pngs.slice(0, 12).map((b, i) => ({ name: `shape${i}.png`, mimeType: 'image/png', buffer: Buffer.from(b, 'base64') })),
      );
      await page.waitForFunction(() => document.getElementById('data-own-status').dataset.n === '12', null, { timeout: 60_000 });
      // a zip of six, with a text file that is skipped
      const zip = makeZip([
        ...pngs.slice(12, 18).map((b, i) => ({ name: `set/z${i}.png`, data: Buffer.from(b, 'base64'), deflate: i % 2 === 0 })),
        { name: 'set/readme.txt', data: Buffer.from('not a picture') },
      ]);
      await page.setInputFiles('#data-files', [{ name: 'shapes.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) }]);
      await page.waitForFunction(() => document.getElementById('data-own-status').dataset.n === '18', null, { timeout: 60_000 });
      // two dropped on the drop zone, as a file manager would
      await page.evaluate(
        async (list) => {
          const dt = new DataTransfer();
          list.forEach((b, i) =>
            dt.items.add(new File([Uint8Array.from(atob(b), (c) => c.charCodeAt(0))], `drop${i}.png`, { type: 'image/png' })),
          );
          document.getElementById('data-drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        },
        pngs.slice(18, 20),
      );
      await page.waitForFunction(() => document.getElementById('data-own-status').dataset.n === '20', null, { timeout: 60_000 });
      // a file that is no picture is named in a message; the others stay
      await page.setInputFiles('#data-files', [{ name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('no png here') }]);
      await page.waitForSelector('.msg.warn:has-text("broken.png")', { timeout: 30_000 });
      // each picture became bright ink on a dark ground (the white paper was inverted), centred
      const ink = await page.evaluate(async () => {
        const { pixels, n } = await window.vaeLab.datasetImages('my-images');
        const means = [];
        for (let k = 0; k < n; k++) {
          let s = 0,
            corner = 0;
          for (let p = 0; p < 784; p++) s += pixels[k * 784 + p];
          corner = pixels[k * 784] + pixels[k * 784 + 27] + pixels[k * 784 + 783];
          means.push({ mean: s / 784, corner });
        }
        return means;
      });
      assert(
        ink.every((m) => m.mean > 0.05 && m.mean < 0.6 && m.corner < 0.1),
        `ink: ${JSON.stringify(ink.slice(0, 3))}`,
      );
      await page.click('#data-own-use');
      await page.waitForFunction(
        () => window.vaeLab.data?.name === 'my-images' && document.getElementById('data-grid').dataset.dataset === 'my-images',
        null,
        { timeout: 60_000 },
      );
      const data = await page.evaluate(() => window.vaeLab.data);
      assert(data.n_train === 18 && data.n_test === 2 && data.own, `dataset: ${JSON.stringify(data)}`);
      await shot(page, 'data-own');
      // train on them from the Train panel as a visitor would; the run's file names the dataset
      await tab(page, 'train');
      assert(
        (await page.inputValue('#train-limit')) === '18',
        `the Train panel would train on ${await page.inputValue('#train-limit')} images`,
      );
      await page.selectOption('#train-arch', 'B');
      await page.fill('#train-epochs', '3');
      await page.click('#train-start');
      await page.waitForSelector('#panel-train[data-state="running"]');
      await page.waitForSelector('#panel-train[data-state="idle"]', { timeout: 120_000 });
      await shot(page, 'train-own');
      const run = await page.evaluate(async () => {
        const slot = window.vaeLab.current;
        const info = await window.vaeLab.info(slot);
        const ev = await window.vaeLab.evaluate(slot);
        return { slot, nelbo: info.meta?.train_nelbo, epochs: info.meta?.epochs, dataset: info.meta?.dataset, heldOut: ev.nelbo, n: ev.n };
      });
      assert(run.epochs === 3 && Number.isFinite(run.nelbo) && Number.isFinite(run.heldOut) && run.n === 2, `run: ${JSON.stringify(run)}`);
      assert((await page.locator('.msg.error').count()) === 0, `an error: ${await page.locator('.msg.error').allTextContents()}`);
      assert(/own images 'my-images'/.test(run.dataset ?? ''), `the weights file says it trained on ${run.dataset}`);
      // a drawing joins the dataset from the Draw panel, which clears the pad for the next one
      await drawSeven(page);
      await page.click('#draw-add');
      await page.waitForFunction(
        () => document.getElementById('draw-canvas').dataset.added === '21' && window.vaeLabApp.drawn === null,
        null,
        { timeout: 30_000 },
      );
      await tab(page, 'data');
      await page.waitForFunction(() => document.getElementById('data-own-status').dataset.n === '21', null, { timeout: 30_000 });
      // a reload keeps the dataset, the choice (in the address) and the model trained on it
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.ready === 'true' && window.vaeLab.data?.name === 'my-images', null, {
        timeout: 120_000,
      });
      await page.waitForFunction(() => document.getElementById('data-own-status').dataset.n === '21', null, { timeout: 60_000 });
      const slots = await page.evaluate(() => window.vaeLab.slots());
      assert(slots.includes(run.slot), `after the reload: ${slots}`);
      const after = await page.evaluate(() => window.vaeLab.data);
      assert(after.n_train + after.n_test === 21, `after the reload the dataset has ${after.n_train} + ${after.n_test} images`);
      assert((await page.$eval('#train-limit', (l) => Number(l.max))) === after.n_train, "the Train panel offers another dataset's size");
      // an engine that dies is restarted holding the same dataset
      const crash = await page.evaluate(async (slot) => {
        await window.vaeLab._simulateCrash();
        const ev = await window.vaeLab.evaluate(slot);
        return { name: window.vaeLab.data.name, n: ev.n };
      }, run.slot);
      assert(crash.name === 'my-images' && crash.n === 2, `after a crash: ${JSON.stringify(crash)}`);
      // two additions at once (a double click, two quick drops) both land, in memory and stored
      const both = await page.evaluate(async () => {
        const x = new Float32Array(784).fill(0.5);
        await Promise.all([window.vaeLab.addImages('twice', [x]), window.vaeLab.addImages('twice', [x, x])]);
        const { allDatasets } = await import('/www/store.js');
        const stored = (await allDatasets()).find(([n]) => n === 'twice')?.[1].labels.length;
        return { n: (await window.vaeLab.datasetImages('twice')).n, stored };
      });
      assert(both.n === 3 && both.stored === 3, `two additions at once: ${JSON.stringify(both)}`);
    },
  ],
  [
    'A run interrupted on Fashion-MNIST resumes on Fashion-MNIST, even from a page opened on MNIST',
    async (page) => {
      await open(page, url, 'panel=train&data=fashion');
      const slot = await page.evaluate(async () => {
        const lab = window.vaeLab;
        let handle;
        const paused = new Promise((resolve) => {
          handle = lab.train({
            arch: 'A',
            epochs: 2,
            limit: 640,
            seed: 1,
            onProgress: (p) => {
              if (p.epoch_end?.epoch === 1) {
                handle.pause();
                resolve();
              }
            },
          });
          handle.setSpeed(5); // so the pause lands before the run ends (see reliability.mjs)
        });
        await paused;
        const { allRuns } = await import('/www/store.js');
        for (let i = 0; i < 200 && !(await allRuns()).some(([s, r]) => s === handle.slot && r.epoch === 1); i++)
          await new Promise((res) => setTimeout(res, 25));
        return handle.slot;
      });
      page.once('dialog', (d) => d.accept());
      await open(page, url, 'panel=train'); // the bare address: MNIST
      const r = await page.evaluate(async (s) => {
        const lab = window.vaeLab;
        const before = lab.data.name;
        const listed = (await lab.unfinishedRuns()).find((u) => u.slot === s);
        const h = await lab.resumeRun(s);
        await h.done;
        return { before, listed: listed?.dataset, after: lab.data.name, meta: (await lab.info(s)).meta?.dataset };
      }, slot);
      assert(r.before === 'mnist' && r.listed === 'fashion' && r.after === 'fashion', `datasets: ${JSON.stringify(r)}`);
      assert(/^fashion-subset/.test(r.meta ?? ''), `the resumed run's file says ${r.meta}`);
    },
  ],
];
