// Benchmark of the report page (issue 21): prints numbers, asserts nothing. In headless Chromium on
// the CPU engine, report.html's Reproduce at E epochs per model (default 100, the report's): the
// seconds from the click until Table II and every figure are redrawn from the five new models,
// and the page's own count of the training alone. One JSON object per line.
//   node tests/e2e/bench-report.mjs [--epochs 100] [--backend cpu]
import { BASE_FLAGS, WEBGPU_FLAGS, launch } from './browser.mjs';
import { startServer } from '../../tools/serve.mjs';

const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : d;
};
const epochs = arg('--epochs', '100');
const backend = arg('--backend', 'cpu');
const { server, url } = await startServer({ port: 0, root: '.', quiet: true });
const browser = await launch(backend === 'webgpu' ? WEBGPU_FLAGS : BASE_FLAGS);
try {
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
  await page.goto(`${url}report.html?backend=${backend}`);
  await page.waitForFunction(() => document.body.dataset.rendered || document.body.dataset.error, null, { timeout: 300_000 });
  await page.selectOption('#report-epochs', epochs);
  const t0 = Date.now();
  await page.click('#reproduce');
  await page.waitForFunction(() => document.body.dataset.reproducedIn || document.body.dataset.error, null, { timeout: 1_800_000 });
  const seconds = (Date.now() - t0) / 1000;
  const r = await page.evaluate(() => ({
    error: document.body.dataset.error ?? null,
    training: Number(document.body.dataset.reproducedIn),
    rows: [...document.querySelectorAll('#table-2 tbody tr')].map((row) => [...row.cells].slice(0, 7).map((c) => c.textContent)),
  }));
  console.log(
    JSON.stringify({
      what: 'report: Reproduce A-E to every figure redrawn',
      backend,
      epochs: Number(epochs),
      seconds,
      training_s: r.training,
      error: r.error,
    }),
  );
  for (const row of r.rows) console.log(JSON.stringify({ what: 'report: Table II row', backend, row }));
} finally {
  await browser.close();
  server.close();
}
