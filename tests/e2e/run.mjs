// End-to-end tests in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core), in
// two configurations: without WebGPU (the CPU engine) and with it (SwiftShader: slow, a software GPU).
// One spec file per part of the app in tests/e2e/specs/; every spec runs in a fresh browser context
// (empty IndexedDB), sets up what it needs and waits on the page's data-* hooks, so any one of them
// passes on its own.
//
// Which checks run where. A spec returns [name, fn] entries, or engine(name, fn) (helpers.mjs) for a
// check whose behaviour depends on the backend. Every check runs on the CPU engine; on WebGPU only
// the engine(...) ones run:
//   - the engine's numerics and GPU control flow: training runs and their pause/stop/step, restoring
//     a run's checkpoint, the crash restart onto the CPU, WebGPU-vs-CPU equality, auto's probe,
//     divergence, evaluate, per-latent KL, sample/encode/decode/reconstruct/chain, export and
//     import of weights read back from the GPU;
//   - which engine file is fetched, and the 22 MB WebGPU engine downloaded once.
// Layout, storage, links, bombs, look, the slow link, the data import UI, sharing and the like run on
// the CPU only: they do not depend on the backend, and SwiftShader makes them 5-20x slower. Of two
// checks that cover the same engine behaviour, the cheaper is tagged. A spec may still return a check
// for one configuration only (`cfg.name === 'cpu' ? [...] : []`, or webgpu-only ones such as the
// WebGPU-vs-CPU comparison, which are engine(...) too); --all-backends runs every check a spec returns
// on both (the suite as it was before the split; for a full check before a release).
//   node tests/e2e/run.mjs [--only webgpu|cpu] [--grep text] [--all-backends] [--list] [--root dist]
//   (--grep: checks whose names contain the text; --list: print what would run, run nothing;
//    --root: test a `make dist` folder)
// Screenshots go to test-results/screenshots/{config}-{name}.png.
import fs from 'node:fs';
import { BASE_FLAGS, WEBGPU_FLAGS, launch } from './browser.mjs';
import { SHOTS, defaults } from './helpers.mjs';
import { startServer } from '../../tools/serve.mjs';
import app from './specs/app.mjs';
import models from './specs/models.mjs';
import inference from './specs/inference.mjs';
import train from './specs/train.mjs';
import api from './specs/api.mjs';
import reliability from './specs/reliability.mjs';
import embedding from './specs/embed.mjs';
import share from './specs/share.mjs';
import teach from './specs/teach.mjs';
import datasets from './specs/data.mjs';
import storage from './specs/storage.mjs';
import bombs from './specs/bombs.mjs';
import links from './specs/links.mjs';
import slowlink from './specs/slowlink.mjs';
import look from './specs/look.mjs';
import lesson from './specs/lesson.mjs';
import report from './specs/report.mjs';
import { startCourseServer } from './course.mjs';

const SPECS = [
  app,
  models,
  inference,
  train,
  api,
  reliability,
  embedding,
  share,
  teach,
  datasets,
  storage,
  bombs,
  links,
  slowlink,
  look,
  lesson,
  report,
];
const CONFIGS = [
  { name: 'webgpu', args: WEBGPU_FLAGS, backend: 'webgpu', trainLimit: 192 },
  { name: 'cpu', args: BASE_FLAGS, backend: 'cpu', trainLimit: 1280 },
];
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : null;
};
const only = arg('--only');
const grep = arg('--grep');
const allBackends = process.argv.includes('--all-backends');
const listOnly = process.argv.includes('--list');
/** Does check `entry` ([name, fn, {backends}?]) run in configuration `cfg`? */
const runsOn = (entry, cfg) => allBackends || (entry[2]?.backends ?? ['cpu']).includes(cfg.backend);
fs.mkdirSync(SHOTS, { recursive: true });

async function runConfig(cfg, url, root, course, served) {
  defaults.backend = cfg.backend === 'webgpu' ? 'webgpu' : null;
  const browser = await launch(cfg.args);
  const consoleErrors = [];
  const foreign = [];
  const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${cfg.name}-${name}.png`, fullPage: true });
  const results = [];
  const t0Config = Date.now();
  const all = SPECS.flatMap((spec) => spec(cfg, { url, root, shot, course, served })).filter(([name]) => !grep || name.includes(grep));
  const checks = all.filter((entry) => runsOn(entry, cfg));
  if (checks.length < all.length) console.log(`  (${all.length - checks.length} CPU-only checks left out here; --all-backends runs them)`);
  for (const [name, fn] of checks) {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
    // every request, the worker's included, must stay on this machine's test servers
    context.on('request', (r) => {
      const u = r.url();
      if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(u) && !u.startsWith(course) && !/^(data|blob):/.test(u)) foreign.push(u);
    });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${name}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${name}: pageerror: ${e.message}`));
    const t0 = Date.now();
    try {
      await fn(page);
      results.push({ name, ok: true });
      console.log(`  ok   [${cfg.name}] ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (e) {
      results.push({ name, ok: false, error: e.message });
      console.log(`  FAIL [${cfg.name}] ${name}: ${e.message.split('\n')[0]}`);
      await page.screenshot({ path: `${SHOTS}/${cfg.name}-FAILED-${results.length}.png`, fullPage: true }).catch(() => {});
    }
    await context.close();
  }
  results.push({ name: 'no request leaves the origin', ok: foreign.length === 0 });
  const away = foreign.length ? `: ${foreign.slice(0, 3).join(' ')}` : '';
  console.log(`  ${foreign.length ? 'FAIL' : 'ok  '} [${cfg.name}] no request leaves the origin${away}`);
  const ok = consoleErrors.length === 0;
  results.push({ name: 'no console errors', ok });
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} [${cfg.name}] no console errors${ok ? '' : `: ${consoleErrors.slice(0, 5).join(' | ')}`}`);
  await browser.close();
  const passed = results.filter((r) => r.ok).length;
  const seconds = ((Date.now() - t0Config) / 1000).toFixed(0);
  console.log(`  [${cfg.name}] ${checks.length} checks, ${passed}/${results.length} passed in ${seconds} s`);
  return results;
}

if (listOnly) {
  const stub = { url: 'http://127.0.0.1/', root: '.', shot: () => {}, course: 'http://localhost/', served: [] };
  for (const cfg of CONFIGS.filter((c) => !only || c.name === only)) {
    const checks = SPECS.flatMap((spec) => spec(cfg, stub))
      .filter(([name]) => !grep || name.includes(grep))
      .filter((e) => runsOn(e, cfg));
    console.log(`${cfg.name}: ${checks.length} checks`);
    for (const [name] of checks) console.log(`  ${name}`);
  }
  process.exit(0);
}

const root = arg('--root') ?? '.';
/** What the app's server sent: {path, status, origin} (the embedding specs count downloads). */
const served = [];
const onResponse = (path, status, origin) => served.push({ path, status, origin });
const { server, url } = await startServer({ port: 0, root, quiet: true, onResponse });
// course pages on another origin (localhost, not 127.0.0.1) that embed the app
const { server: courseServer, url: course } = await startCourseServer(url);
let failed = 0;
let total = 0;
const started = Date.now();
for (const cfg of CONFIGS.filter((c) => !only || c.name === only)) {
  console.log(`\n${cfg.name}: Chromium ${cfg.backend === 'webgpu' ? 'with WebGPU (SwiftShader)' : 'without WebGPU (CPU fallback)'}`);
  const results = await runConfig(cfg, url, root, course, served);
  total += results.length;
  failed += results.filter((r) => !r.ok).length;
}
server.close();
courseServer.close();
console.log(`\n${total - failed}/${total} passed in ${((Date.now() - started) / 1000).toFixed(0)} s; screenshots in ${SHOTS}/`);
process.exit(failed ? 1 : 0);
