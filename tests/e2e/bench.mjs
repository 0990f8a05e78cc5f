// Browser benchmark: prints numbers, asserts nothing. For each backend in headless Chromium:
// training speed (ms per Adam step, images/s) of model C, batch 64; time to sample 60 digits and
// to run 60 chains x 100 steps; and the longest main-thread task while training (the page must
// stay responsive: Chromium reports tasks over 50 ms as long tasks); and how long the engine takes
// to answer sample, export, pause and stop while a run is busy.
//   node tests/e2e/bench.mjs [--only webgpu|cpu] [--epochs N] [--limit N]
import fs from 'node:fs';
import { BASE_FLAGS, WEBGPU_FLAGS, launch } from './browser.mjs';
import { startServer } from '../../tools/serve.mjs';


const arg = (name, d) => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : d; };
const only = arg('--only', null);
const configs = [
  { name: 'cpu', args: BASE_FLAGS, limit: Number(arg('--limit', 9000)), epochs: 3 },
  { name: 'webgpu', args: WEBGPU_FLAGS, limit: Number(arg('--limit', 960)), epochs: 1 },
].filter((c) => !only || c.name === only);

const { server, url } = await startServer({ port: 0, root: '.', quiet: true });
const wasm = fs.statSync('pkg/vae_lab_bg.wasm').size;
console.log(`wasm module: ${(wasm / 1e6).toFixed(1)} MB (uncompressed)`);
for (const cfg of configs) {
  const browser = await launch(cfg.args);
  const page = await browser.newPage();
  await page.goto(`${url}index.html?panel=models&backend=${cfg.name}`); // auto would skip SwiftShader
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
  const r = await page.evaluate(async ({ limit, epochs }) => {
    const lab = window.vaeLab;
    let t = performance.now();
    await lab.sample(60, 1, 'C');
    const sampleMs = performance.now() - t;
    t = performance.now();
    await lab.chain(60, 100, 1, { slot: 'C' });
    const chainMs = performance.now() - t;
    const long = [];
    const obs = new PerformanceObserver((l) => long.push(...l.getEntries().map((e) => e.duration)));
    obs.observe({ type: 'longtask' });
    let steps = 0;
    let stepMs = 0;
    let first = null;
    const epochEndMs = [];
    const run = lab.train({ arch: 'C', epochs, limit, slot: 'bench', onProgress: (p) => {
      if (first === null) first = p.ms / Math.max(1, p.chunk.steps); // includes warm-up (shader compilation)
      else if (p.epoch_end) epochEndMs.push(p.ms); // these chunks also evaluate 1,000 held-out digits
      else { steps += p.chunk.steps; stepMs += p.ms; }
    } });
    await run.done;
    obs.disconnect();
    // responsiveness: sample, export, pause and stop sent while a run is busy (5 times each)
    const latency = { sample: [], export: [], pause: [], stop: [] };
    const time = async (key, f) => { const t0 = performance.now(); await f(); latency[key].push(performance.now() - t0); };
    for (let i = 0; i < 5; i++) {
      let chunks = 0;
      const busy = lab.train({ arch: 'C', epochs: 50, limit, slot: 'busy', onProgress: () => { chunks++; } });
      const waitChunks = async (k) => { const c = chunks; while (chunks < c + k) await new Promise((r) => setTimeout(r, 5)); };
      await waitChunks(2);
      await time('sample', () => lab.sample(4, i, 'C'));
      await waitChunks(1);
      await time('export', () => lab.exportWeights('busy'));
      await waitChunks(1);
      // pause counts until the progress events stop (the chunk in flight ends)
      await time('pause', async () => {
        await busy.pause();
        const c = chunks;
        await new Promise((r) => setTimeout(r, 150));
        if (chunks > c + 1) throw new Error('pause did not take effect');
      });
      latency.pause[latency.pause.length - 1] -= 150;
      await busy.resume();
      await waitChunks(1);
      await time('stop', async () => { await busy.stop(); await busy.done; });
    }
    await lab.removeSlot('busy');
    return { backend: lab.backend, sampleMs, chainMs, firstStepMs: first, msPerStep: stepMs / steps, steps, long, epochEndMs, latency };
  }, { limit: cfg.limit, epochs: Number(arg('--epochs', cfg.epochs)) });
  const ips = (64 * 1000) / r.msPerStep;
  console.log(`${cfg.name} (backend ${r.backend}): train C batch 64: ${r.msPerStep.toFixed(1)} ms/step = ${ips.toFixed(0)} images/s ` +
    `over ${r.steps} steps (first chunk ${r.firstStepMs.toFixed(0)} ms/step); sample 60: ${r.sampleMs.toFixed(0)} ms; ` +
    `60 chains x 100 steps: ${r.chainMs.toFixed(0)} ms; ` +
    `epoch-end chunk (steps + held-out evaluation): ${r.epochEndMs.map((m) => m.toFixed(0)).join(', ')} ms; ` +
    `main-thread long tasks while training: ${r.long.length}` +
    `${r.long.length ? ` (longest ${Math.max(...r.long).toFixed(0)} ms)` : ''}`);
  const stat = (xs) => `median ${[...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)].toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;
  console.log(`${cfg.name}: answers while training C: ` +
    Object.entries(r.latency).map(([k, xs]) => `${k} ${stat(xs)}`).join('; '));
  await browser.close();
}
server.close();
