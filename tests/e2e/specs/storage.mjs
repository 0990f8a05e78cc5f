// Nothing is lost when storage says no, when two tabs are open, or when a stored record is bad:
// the storage reproducers of the hostile review, as browser tests. Storage is the same whatever
// the engine, so these run on the CPU configuration only.
import { assert, open, tab, readWeights } from '../helpers.mjs';

/** Every key of a store of the app's database, read from `page` (any page of the origin). */
const storedKeys = (page, store) =>
  page.evaluate(
    (s) =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open('vae-lab');
        req.onsuccess = () => {
          const db = req.result;
          const keys = db.transaction(s).objectStore(s).getAllKeys();
          keys.onsuccess = () => {
            db.close();
            resolve(keys.result);
          };
          keys.onerror = () => reject(keys.error);
        };
        req.onerror = () => reject(req.error);
      }),
    store,
  );

export default (cfg, { url, shot }) =>
  cfg.name !== 'cpu'
    ? []
    : [
        [
          'Storage that refuses a write (a small quota) makes the call reject and the work stay unsaved in the tab; what was kept survives',
          async (page) => {
            // a quota of 100 KB, set before the database opens (IndexedDB reads it then; the estimate does
            // not show it): two images fit, a weights file, a checkpoint or 1,000 images do not
            const origin = new URL(url).origin;
            const cdp = await page.context().newCDPSession(page);
            await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 100_000 });
            await open(page, url, 'panel=train&sw=0');
            await page.evaluate(() =>
              window.vaeLab.addImages('small', [new Float32Array(784).fill(0.5), new Float32Array(784).fill(0.25)]),
            );
            const c = [...readWeights('C')];
            const r = await page.evaluate(async (cBytes) => {
              const lab = window.vaeLab;
              const events = [];
              lab.on('storage', (d) => events.push(d));
              const outcome = async (p) => {
                try {
                  await p;
                  return 'resolved';
                } catch (e) {
                  return `${e.kind}: ${e.message}`;
                }
              };
              // noise, so that no compression makes it small
              let seed = 1;
              const big = Array.from({ length: 1000 }, () =>
                Float32Array.from({ length: 784 }, () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648),
              );
              const dataset = await outcome(lab.addImages('big', big));
              const imported = await outcome(lab.importWeights(new Uint8Array(cBytes), 'imp'));
              const usable = (await lab.sample(2, 1, 'imp')).length; // the refused model still works here
              const run = lab.train({ arch: 'A', epochs: 2, limit: 640, seed: 3, slot: 'refused' });
              const trained = await outcome(run.done);
              const listed = (await lab.datasets()).find((d) => d.name === 'big')?.n ?? 0;
              return {
                dataset,
                imported,
                usable,
                trained,
                listed,
                unsaved: lab.hasUnsavedWork(),
                work: lab.unsavedWork(),
                runEvent: events.some((e) => e.key === 'run:refused' && !e.kept),
              };
            }, c);
            assert(
              r.dataset.startsWith('storage:') && /not kept in this browser/.test(r.dataset),
              `addImages over the quota: ${r.dataset}`,
            );
            assert(r.imported.startsWith('storage:'), `importWeights over the quota: ${r.imported}`);
            assert(r.trained.startsWith('storage:'), `a run whose model storage refused: ${r.trained}`);
            assert(r.usable === 2 && r.listed === 1000, `the refused work is not in the tab: ${JSON.stringify(r)}`);
            assert(r.unsaved && r.work.length >= 3 && r.runEvent, `unsaved work not reported: ${JSON.stringify(r)}`);
            await page.waitForFunction(
              () => /checkpoint of refused.*not kept/.test(document.getElementById('messages').textContent),
              null,
              { timeout: 10_000 },
            );
            await shot(page, 'storage-refused');
            // the unload warning is on (the page's beforeunload handler cancels the unload)
            const warned = await page.evaluate(() => {
              const e = new Event('beforeunload', { cancelable: true });
              window.dispatchEvent(e);
              return e.defaultPrevented;
            });
            assert(warned, 'no unload warning with unsaved work');
            await cdp.send('Storage.overrideQuotaForOrigin', { origin }); // back to the real quota
            page.once('dialog', (d) => d.accept());
            await page.reload();
            await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 180_000 });
            const after = await page.evaluate(async () =>
              (await window.vaeLab.datasets()).filter((d) => d.own).map((d) => `${d.name}:${d.n}`),
            );
            assert(after.includes('small:2') && !after.some((d) => d.startsWith('big')), `after the reload: ${after}`);
          },
        ],

        [
          'A newer database version opened by another tab is handled: writes are kept, the user is told',
          async (page) => {
            await open(page, url, 'panel=sample&sw=0');
            const other = await page.context().newPage();
            await other.goto(`${url}www/style.css`); // any page of the origin
            // tab B (a new deploy) upgrades the database and keeps its connection open
            const opened = await other.evaluate(
              () =>
                new Promise((resolve, reject) => {
                  const req = indexedDB.open('vae-lab', 40);
                  req.onsuccess = () => {
                    window.db = req.result;
                    resolve(req.result.version);
                  };
                  req.onerror = () => reject(req.error);
                  setTimeout(() => resolve('blocked'), 10_000);
                }),
            );
            assert(opened === 40, `the other tab's upgrade: ${opened}`);
            const a = [...readWeights('A')];
            const r = await page.evaluate(async (bytes) => {
              const lab = window.vaeLab;
              const outcome = async (p) => {
                try {
                  await p;
                  return 'resolved';
                } catch (e) {
                  return `${e.kind}: ${e.message}`;
                }
              };
              return {
                imported: await outcome(lab.importWeights(new Uint8Array(bytes), 'imp')),
                added: await outcome(lab.addImages('mine', [new Float32Array(784).fill(0.5), new Float32Array(784).fill(0.2)])),
                trained: await outcome(lab.train({ arch: 'A', epochs: 2, limit: 640, seed: 1, slot: 'after-upgrade' }).done),
              };
            }, a);
            assert(
              Object.values(r).every((v) => v === 'resolved'),
              `writes after another tab's upgrade: ${JSON.stringify(r)}`,
            );
            const models = await storedKeys(other, 'models');
            const datasets = await storedKeys(other, 'datasets');
            assert(
              models.includes('imp') && models.includes('after-upgrade') && datasets.includes('mine'),
              `stored: ${models} / ${datasets}`,
            );
            await page.waitForFunction(() => /newer version of the storage/.test(document.getElementById('messages').textContent), null, {
              timeout: 10_000,
            });
            await other.close();
          },
        ],

        [
          "Two tabs never take the same run name nor drop each other's images",
          async (page) => {
            const other = await page.context().newPage();
            await Promise.all([open(page, url, 'panel=sample&sw=0'), open(other, url, 'panel=sample&sw=0')]);
            const trainBoth = (p) =>
              p.evaluate(async () => {
                const run = window.vaeLab.train({ arch: 'A', epochs: 2, limit: 640, seed: 2 });
                await run.done;
                return run.slot;
              });
            const addTo = (p, n) =>
              p.evaluate(async (k) => {
                for (let i = 0; i < k; i++) await window.vaeLab.addImages('mine', [new Float32Array(784).fill(i / 10)]);
              }, n);
            const [s1, s2] = await Promise.all([trainBoth(page), trainBoth(other)]);
            await Promise.all([addTo(page, 5), addTo(other, 3)]);
            assert(s1 && s2 && s1 !== s2, `both tabs named their run ${s1} / ${s2}`);
            const models = await storedKeys(page, 'models');
            assert(models.includes(s1) && models.includes(s2), `stored models ${models}`);
            const n = await page.evaluate(
              () =>
                new Promise((resolve) => {
                  const req = indexedDB.open('vae-lab');
                  req.onsuccess = () => {
                    const get = req.result.transaction('datasets').objectStore('datasets').get('mine');
                    get.onsuccess = () => {
                      req.result.close();
                      resolve(get.result?.labels.length);
                    };
                  };
                }),
            );
            assert(n === 8, `'mine' holds ${n} images after 5 + 3 from two tabs`);
            await other.close();
          },
        ],

        [
          "Bad stored records are skipped and named; a checkpoint stored under another slot's key is refused",
          async (page) => {
            await open(page, url, 'panel=train&sw=0');
            // a real checkpoint (the run's start), copied under its own key and under another
            await page.evaluate(async () => {
              const lab = window.vaeLab;
              const { allRuns, putRun, putDataset } = await import('/www/store.js');
              const run = lab.train({ arch: 'A', epochs: 40, limit: 640, seed: 4, slot: 'good' });
              let record = null;
              for (let i = 0; i < 400 && !record; i++) {
                record = (await allRuns()).find(([s]) => s === 'good')?.[1];
                if (!record) await new Promise((res) => setTimeout(res, 25));
              }
              await run.stop();
              await run.done;
              await putRun('good', record);
              await putRun('moved', record);
              await putRun('broken', null);
              await putDataset('forged', { title: 'x' });
            });
            await page.reload();
            await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 180_000 });
            await tab(page, 'train');
            await page.waitForSelector('#train-unfinished [data-resume="good"]', { timeout: 30_000 });
            await page.waitForSelector('#train-unfinished [data-damaged="broken"]');
            await shot(page, 'storage-damaged');
            const r = await page.evaluate(async () => {
              const lab = window.vaeLab;
              const list = await lab.datasets();
              let moved = null;
              try {
                await lab.resumeRun('moved');
              } catch (e) {
                moved = e.message;
              }
              const h = await lab.resumeRun('good');
              await h.stop();
              await h.done;
              return {
                datasets: list.map((d) => d.name),
                moved,
                problems: lab.storageProblems().map((p) => p.key),
                slots: await lab.slots(),
              };
            });
            assert(
              r.datasets.includes('mnist') && r.datasets.includes('fashion') && !r.datasets.includes('forged'),
              `datasets: ${r.datasets}`,
            );
            assert(r.problems.includes('broken') && r.problems.includes('forged'), `problems named: ${r.problems}`);
            assert(
              /made for the run 'good'/.test(r.moved ?? '') && !r.slots.includes('moved'),
              `the moved checkpoint: ${r.moved} (slots ${r.slots})`,
            );
            await page.click('#train-unfinished [data-discard="broken"]');
            await page.waitForFunction(() => !document.querySelector('#train-unfinished [data-damaged="broken"]'));
            await tab(page, 'data');
            await page.waitForSelector('#data-choices [data-dataset="mnist"]');
          },
        ],

        [
          'API contract: wrong lengths and labels refused at once, calls after terminate() settle, no unhandled rejections',
          async (page) => {
            await open(page, url, 'panel=sample&sw=0');
            const r = await page.evaluate(async () => {
              const lab = window.vaeLab;
              const outcome = async (f) => {
                try {
                  await f();
                  return 'resolved';
                } catch (e) {
                  return e.message;
                }
              };
              const t0 = performance.now();
              const r = {
                odd: await outcome(() => lab.addImages('x', new Float32Array(785))),
                label: await outcome(() => lab.addImages('x', [new Float32Array(784)], { labels: [300] })),
                huge: await outcome(() => lab.encode({ length: 1e9 })),
                many: await outcome(() => lab.addImages('x', { length: 1e6 })),
              };
              r.ms = performance.now() - t0;
              const rejected = [];
              window.addEventListener('unhandledrejection', (e) => rejected.push(String(e.reason?.message ?? e.reason)));
              lab.train({ slot: '' });
              await new Promise((res) => setTimeout(res, 500));
              try {
                await lab.resumeRun('no-such-run');
              } catch {
                /* caught */
              }
              await new Promise((res) => setTimeout(res, 500));
              r.unhandled = rejected;
              // a second engine of the page's own, ended (the page's keeps working)
              const { createVaeLab } = await import('/www/vaelab.js');
              const ended = createVaeLab({ backend: 'cpu', persistRuns: false });
              await ended.ready;
              const inFlight = outcome(() => ended.loadPretrained('A'));
              ended.terminate();
              r.after = await Promise.race([
                Promise.all([inFlight, outcome(() => ended.sample(1, 1))]).then((x) => x.join(' | ')),
                new Promise((res) => setTimeout(() => res('never settled'), 3000)),
              ]);
              return r;
            });
            assert(/whole number of 784/.test(r.odd), `785 floats: ${r.odd}`);
            assert(/label 0 is 300/.test(r.label), `label 300: ${r.label}`);
            assert(
              /more than any call takes/.test(r.huge) && /more than a dataset holds/.test(r.many) && r.ms < 2000,
              `caps: ${JSON.stringify(r)}`,
            );
            assert(r.unhandled.length === 0, `unhandled rejections: ${r.unhandled}`);
            assert(/terminated/.test(r.after), `a call after terminate(): ${r.after}`);
          },
        ],
      ];
