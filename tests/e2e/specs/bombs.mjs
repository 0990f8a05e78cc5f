// Reproducers of the hostile review (issue 17, items 7-9 and 14): pictures and zips that a
// visitor drops or chooses in the Data panel and that would freeze or fill the tab: a zip entry
// that under-declares its size (2 GB inflated), a PNG that says 20000 x 20000 (1.6 GB decoded),
// blank pictures and a full dataset. Each checks the message, that nothing came from the bomb,
// and the page's longest task. They do not depend on the backend: CPU configuration only.
import fs from 'node:fs';
import path from 'node:path';
import { assert, open, SHOTS } from '../helpers.mjs';
import { makeZip, zeros } from '../../www/make-zip.mjs';
import { blackPng, grayPng } from '../../www/make-png.mjs';

/** Files on disk, chosen by path: the browser reads them itself. (Playwright gives a file passed
 *  as a buffer to the page by decoding base64 in the page: a long task of its own, 370 ms for
 *  the 2 MB zip.) */
function onDisk(files) {
  const dir = path.join(SHOTS, '..', 'bomb-files');
  fs.mkdirSync(dir, { recursive: true });
  return files.map(({ name, buffer }) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, buffer);
    return f;
  });
}

/** A dark square on white paper: a picture that is kept. */
const shape = (seed) => grayPng(60, 50, (x, y) => (x > 15 + seed && x < 40 && y > 10 && y < 38 ? 20 : 250));

/** Start counting the page's long tasks (before the action). */
const watchLongTasks = (page) =>
  page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.longTasks.push(Math.round(e.duration));
    }).observe({ type: 'longtask' });
  });
const longest = (page) => page.evaluate(() => Math.max(0, ...window.longTasks));
const status = (page) => page.$eval('#data-own-status', (s) => Number(s.dataset.n));
const settled = (page) =>
  page.waitForFunction(
    () => !document.getElementById('data-drop').hasAttribute('aria-busy') && document.getElementById('data-adding')?.hidden !== false,
    null,
    { timeout: 30_000 },
  );

export default (cfg, { url, shot }) =>
  cfg.name === 'cpu'
    ? [
        [
          'Bombs: a zip entry that under-declares its size (1,000 bytes, 2 MB of deflate, 2 GB) is named corrupt; ' +
            'the rest is added, the page never stalls',
          async (page) => {
            await open(page, url, 'panel=data');
            const zip = makeZip([
              { name: 'set/bomb.png', body: zeros(2048), size: 1000, deflate: true },
              { name: 'set/good.png', data: shape(0), deflate: true },
            ]);
            await page.waitForTimeout(300); // the panels' scripts load after the first figure
            await watchLongTasks(page);
            const t0 = Date.now();
            await page.setInputFiles('#data-files', onDisk([{ name: 'bomb.zip', buffer: Buffer.from(zip) }]));
            await page.waitForSelector('.msg.warn:has-text("bomb.png")', { timeout: 30_000 });
            await settled(page);
            const took = Date.now() - t0;
            const text = await page.textContent('.msg.warn:has-text("bomb.png")');
            await shot(page, 'bombs-zip');
            const long = await longest(page);
            console.log(`       zip bomb: answered in ${took} ms, longest task ${long} ms`);
            assert(
              /bomb\.zip\/set\/bomb\.png \(corrupt entry, inflates to more than the 1000 bytes the zip says\)/.test(text),
              `the message: ${text}`,
            );
            await page
              .waitForFunction(() => document.getElementById('data-own-status').dataset.n === '1', null, { timeout: 10_000 })
              .catch(() => {});
            assert((await status(page)) === 1, `the dataset holds ${await status(page)} images: only good.png belongs there`);
            assert(long < 200, `the longest task took ${long} ms`);
          },
        ],
        [
          'Bombs: a PNG that says 20000 × 20000 is refused from its header (alone and 20 times in a zip); ' +
            'blank pictures are skipped and counted; a full dataset says so',
          async (page) => {
            await open(page, url, 'panel=data');
            const big = blackPng(20000, 20000); // 49 KB, valid, 1.6 GB of RGBA once decoded
            const zip = makeZip(Array.from({ length: 20 }, (_, i) => ({ name: `big${i}.png`, data: big })));
            const white = grayPng(40, 40, () => 255);
            await page.waitForTimeout(300);
            await watchLongTasks(page);
            const t0 = Date.now();
            await page.setInputFiles(
              '#data-files',
              onDisk([
                { name: 'big.png', buffer: big },
                { name: 'bigs.zip', buffer: Buffer.from(zip) },
                { name: 'white.png', buffer: white },
                { name: 'black.png', buffer: blackPng(30, 30) },
                { name: 'shape.png', buffer: shape(3) },
              ]),
            );
            await page.waitForSelector('.msg.warn:has-text("could not be added")', { timeout: 60_000 });
            await settled(page);
            const took = Date.now() - t0;
            await shot(page, 'bombs-png');
            const long = await longest(page);
            console.log(`       20000 x 20000 PNG x 21: answered in ${took} ms, longest task ${long} ms`);
            const failed = await page.textContent('.msg.warn:has-text("could not be added")');
            const tooBigMessage = new RegExp(
              '^21 files could not be added: big\\.png, bigs\\.zip\\/big0\\.png, bigs\\.zip\\/big1\\.png and 18 more ' +
                '\\(20,000 × 20,000 pixels is too big: a picture may have at most 16,777,216 pixels, 4096 × 4096\\)',
            );
            assert(tooBigMessage.test(failed), `the message: ${failed}`);
            const blank = await page.textContent('.msg.warn:has-text("blank")');
            assert(/2 blank pictures \(all white, all black or all transparent\) were skipped/.test(blank), `the message: ${blank}`);
            await page
              .waitForFunction(() => document.getElementById('data-own-status').dataset.n === '1', null, { timeout: 10_000 })
              .catch(() => {});
            assert((await status(page)) === 1, `the dataset holds ${await status(page)} images: only shape.png belongs there`);
            assert(long < 200, `the longest task took ${long} ms`);
            // a full dataset: a drop says so (how many it holds, the cap) instead of "No pictures found"
            await page.evaluate(() => window.vaeLab.addImages('my-images', new Float32Array(9_999 * 784)));
            await page.waitForFunction(() => document.getElementById('data-own-status').dataset.n === '10000', null, { timeout: 30_000 });
            await page.setInputFiles('#data-files', [{ name: 'one-more.png', mimeType: 'image/png', buffer: shape(5) }]);
            const full = await (await page.waitForSelector('.msg.error:has-text("full")', { timeout: 10_000 })).textContent();
            assert(
              /'my-images' is full: it holds 10,000 images, the most a dataset may hold \(10,000\)/.test(full),
              `the message: ${full}`,
            );
            await shot(page, 'bombs-full');
          },
        ],
      ]
    : [];
