// Numbers, no assertions: does a long training run in the page slow the page? Trains model C in
// the Train panel (CPU engine, all 9,000 digits) for `--seconds`, and prints per window of
// `--window` seconds the images/s and the main thread's script time (CDP Performance metrics).
//   node tools/long-run-bench.mjs [--seconds 120] [--window 30] [--root DIR]
import { launch, BASE_FLAGS } from '../tests/e2e/browser.mjs';
import { startServer } from './serve.mjs';

const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : d;
};
const seconds = Number(arg('--seconds', 120));
const windowS = Number(arg('--window', 30));
const { server, url } = await startServer({ port: 0, root: arg('--root', '.'), quiet: true });
const browser = await launch(BASE_FLAGS);
const page = await (await browser.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
await page.goto(`${url}index.html?panel=train&sw=0`);
await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
const cdp = await page.context().newCDPSession(page);
await cdp.send('Performance.enable');
const metric = async (name) => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === name)?.value ?? 0;
await page.fill('#train-epochs', '1000');
await page.click('#train-start');
await page.waitForSelector('#panel-train[data-state="running"]');
const images = () => page.evaluate(() => Number(document.getElementById('train-status').dataset.images ?? 0));
let [lastImages, lastScript, lastT] = [await images(), await metric('ScriptDuration'), Date.now()];
const rows = [];
for (let t = windowS; t <= seconds; t += windowS) {
  await page.waitForTimeout(windowS * 1000 - (Date.now() - lastT) + (t - windowS === 0 ? 0 : 0));
  const [im, sc, now] = [await images(), await metric('ScriptDuration'), Date.now()];
  const dt = (now - lastT) / 1000;
  rows.push({ at_s: t, images_per_s: Math.round((im - lastImages) / dt), script_s_per_min: +(((sc - lastScript) / dt) * 60).toFixed(2) });
  console.log(JSON.stringify(rows.at(-1)));
  [lastImages, lastScript, lastT] = [im, sc, now];
}
await page.click('#train-stop');
await browser.close();
server.close();
