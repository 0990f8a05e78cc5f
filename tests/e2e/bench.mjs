// Browser benchmark: prints numbers, asserts nothing. For each backend in headless Chromium:
//  - cold load: in a running browser, a fresh context (empty cache) opens ?panel=sample; median of 5
//    of the time until the first sample is on screen, and every file downloaded before it (the
//    worker's included), raw and gzipped;
//  - training ms per Adam step for A–E (batch 64; steady chunks, warm-up and epoch ends apart);
//  - reconstruct 60 held-out digits and 60 chains x 100 steps through the documented API (medians);
//  - the longest main-thread task while training, and how long the engine takes to answer sample,
//    export, pause and stop while a run is busy;
//  - on WebGPU, the calls a training step of C makes (dispatches, submits, readbacks, writes and
//    the bytes written), counted in the engine's worker (gpuTraffic).
// One JSON object per line on stdout, then a table; `--out FILE` also writes them as a JSON array.
//   node tests/e2e/bench.mjs [--only webgpu|cpu] [--archs A,B,C,D,E] [--out bench/results/DATE.json]
//   SW=0 node tests/e2e/bench.mjs ...   (the timed page without its service worker, which installs
//   and keeps files in the background on a first visit)
import fs from 'node:fs';
import zlib from 'node:zlib';
import { BASE_FLAGS, WEBGPU_FLAGS, launch } from './browser.mjs';
import { startServer } from '../../tools/serve.mjs';

const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : d;
};
const only = arg('--only', null);
const archs = arg('--archs', 'A,B,C,D,E').split(',');
const configs = [
  // SwiftShader computes a step in ~0.4 s, so the WebGPU runs are short
  { name: 'cpu', args: BASE_FLAGS, limit: Number(arg('--limit', 6400)), reps: 20 },
  { name: 'webgpu', args: WEBGPU_FLAGS, limit: 640, reps: 3 },
].filter((c) => !only || c.name === only);

const rows = [];
const emit = (row) => {
  rows.push(row);
  console.log(JSON.stringify(row));
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const gz = new Map();
const gzipped = (path) => {
  if (!gz.has(path)) gz.set(path, fs.existsSync(path) ? zlib.gzipSync(fs.readFileSync(path), { level: 6 }).length : null);
  return gz.get(path);
};

const { server, url } = await startServer({ port: 0, root: '.', quiet: true });

/**
 * What one training step of model C (batch 64) asks of WebGPU, in the engine's worker: the
 * WebGPU calls are wrapped there (GPUComputePassEncoder.dispatchWorkgroups, GPUQueue.submit,
 * GPUBuffer.mapAsync, GPUQueue.writeBuffer) and counted over two runs of 10 and 20 steps; the
 * difference over 10 is a step's own share, without the pipelines' warm-up, the run's start and
 * the epoch end's held-out estimate (the same in both).
 */
async function gpuTraffic(page) {
  const worker = page.workers().find((w) => /\/worker\.js/.test(w.url()));
  if (!worker) return [];
  await worker.evaluate(() => {
    const c = { dispatches: 0, submits: 0, readbacks: 0, writes: 0, bytes_written: 0 };
    self.__gpuCount = c;
    const wrap = (proto, name, count) => {
      const orig = proto[name];
      proto[name] = function (...a) {
        count(...a);
        return orig.apply(this, a);
      };
    };
    wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroups', () => c.dispatches++);
    wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroupsIndirect', () => c.dispatches++);
    wrap(GPUQueue.prototype, 'submit', () => c.submits++);
    wrap(GPUBuffer.prototype, 'mapAsync', () => c.readbacks++);
    wrap(GPUQueue.prototype, 'writeBuffer', (buffer, offset, data, dataOffset = 0, size) => {
      c.writes++;
      const unit = data.BYTES_PER_ELEMENT ?? 1;
      c.bytes_written += size !== undefined ? size * unit : data.byteLength - dataOffset * unit;
    });
  });
  const counts = async (steps) => {
    await worker.evaluate(() => Object.keys(self.__gpuCount).forEach((k) => (self.__gpuCount[k] = 0)));
    await page.evaluate((limit) => window.vaeLab.train({ arch: 'C', epochs: 1, limit, slot: 'traffic' }).done, steps * 64);
    await page.evaluate(() => window.vaeLab.removeSlot('traffic'));
    return worker.evaluate(() => ({ ...self.__gpuCount }));
  };
  await counts(10); // pipelines compiled
  const ten = await counts(10);
  const twenty = await counts(20);
  const perStep = Object.fromEntries(Object.keys(ten).map((k) => [k, (twenty[k] - ten[k]) / 10]));
  return [
    { backend: 'webgpu', what: 'WebGPU calls per training step (C, batch 64)', arch: 'C', ...perStep },
    { backend: 'webgpu', what: 'WebGPU calls in a 10-step run of C (1 epoch, its held-out estimate included)', arch: 'C', ...ten },
  ];
}

/** Cold loads: a browser that is already running (one warm-up page in a context of its own), then
 *  `reps` fresh contexts (empty cache each) opening ?panel=sample, each until the first sample is
 *  drawn. Returns the median time and the files the median load downloaded before its sample. */
async function coldLoad(cfg, reps = 5) {
  const browser = await launch(cfg.args);
  const warm = await browser.newContext();
  await (await warm.newPage()).goto(`${url}examples/embed.html`).catch(() => {});
  await warm.close();
  const loads = [];
  for (let i = 0; i < reps; i++) {
    const context = await browser.newContext();
    // a file counts when its request started before the first sample was drawn (both stamps from
    // Date.now(), the page's and Node's): the other panels' scripts, fetched right after, do not
    const files = [];
    context.on('request', (req) => files.push({ req, path: new URL(req.url()).pathname, startedAt: Date.now() }));
    const page = await context.newPage();
    // the moment the sample panel marks its canvas drawn (a mutation observer runs before the
    // page's next step, which fetches the other panels)
    await page.addInitScript(() => {
      new MutationObserver((_, mo) => {
        if (!document.querySelector('#sample-canvas[data-seed="0"]')) return;
        window.__firstSample = [performance.now(), Date.now()]; // Date.now: the clock Node stamps requests with
        mo.disconnect();
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-seed'] });
    });
    await page.goto(`${url}index.html?panel=sample&backend=${cfg.name}`);
    const [firstSampleMs, drawnAt] = await page
      .waitForFunction(() => window.__firstSample, null, { timeout: 180_000 })
      .then((h) => h.jsonValue());
    await new Promise((r) => setTimeout(r, 200)); // the last responses
    const needed = files.filter((f) => f.startedAt <= drawnAt);
    for (const f of needed) f.bytes = (await f.req.sizes().catch(() => null))?.responseBodySize ?? 0;
    const list = needed.map((f) => ({
      file: f.path,
      bytes: f.bytes,
      gzip: gzipped(f.path.slice(1)),
      requested_ms_before: drawnAt - f.startedAt,
    }));
    const sum = (k) => list.reduce((a, f) => a + (f[k] ?? f.bytes), 0);
    loads.push({ firstSampleMs, requests: list.length, bytes: sum('bytes'), gzipBytes: sum('gzip'), files: list });
    await context.close();
  }
  await browser.close();
  loads.sort((a, b) => a.firstSampleMs - b.firstSampleMs);
  return { ...loads[loads.length >> 1], all: loads.map((l) => Math.round(l.firstSampleMs)) };
}

for (const cfg of configs) {
  const cold = await coldLoad(cfg);
  emit({
    backend: cfg.name,
    what: 'cold load to first sample',
    ms: cold.firstSampleMs,
    runs_ms: cold.all,
    requests: cold.requests,
    bytes: cold.bytes,
    gzip_bytes: cold.gzipBytes,
    files: cold.files,
  });

  const browser = await launch(cfg.args);
  const page = await browser.newPage();
  await page.goto(`${url}index.html?panel=models&backend=${cfg.name}${process.env.SW === '0' ? '&sw=0' : ''}`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
  const r = await page.evaluate(
    async ({ limit, reps, archs }) => {
      const lab = window.vaeLab;
      const idx = Array.from({ length: 60 }, (_, i) => i);
      const x = await lab.testImages(idx);
      const time = async (f) => {
        const t = performance.now();
        await f();
        return performance.now() - t;
      };
      const recon = [];
      const chains = [];
      await lab.reconstruct(x.slice(), { slot: 'C' }); // warm-up (GPU pipelines)
      for (let i = 0; i < reps * 5; i++) recon.push(await time(() => lab.reconstruct(x.slice(), { slot: 'C' })));
      await lab.chain(60, 2, 0, { slot: 'C' });
      for (let i = 0; i < reps; i++) chains.push(await time(() => lab.chain(60, 100, i, { slot: 'C' })));

      const train = {};
      const long = [];
      const obs = new PerformanceObserver((l) => long.push(...l.getEntries().map((e) => e.duration)));
      obs.observe({ type: 'longtask' });
      // on the CPU, model C once more through burn's autodiff: the step before src/dense_step.rs
      const runs = archs.map((arch) => ({ arch, label: arch }));
      if (lab.backend === 'cpu' && archs.includes('C')) runs.push({ arch: 'C', label: 'C (burn autodiff)', engine: 'burn' });
      for (const { arch, label, engine } of runs) {
        let steps = 0;
        let ms = 0;
        let first = null;
        const run = lab.train({
          arch,
          engine,
          epochs: 1,
          limit,
          slot: `bench-${arch}`,
          onProgress: (p) => {
            if (first === null)
              first = p.ms / Math.max(1, p.chunk.steps); // includes warm-up (shader compilation)
            else if (!p.epoch_end) {
              steps += p.chunk.steps;
              ms += p.ms;
            }
          },
        });
        await run.done;
        train[label] = { msPerStep: ms / steps, steps, firstChunkMsPerStep: first };
        await lab.removeSlot(`bench-${arch}`);
      }
      obs.disconnect();

      // responsiveness: sample, export, pause and stop sent while a run is busy (3 times each)
      const latency = { sample: [], export: [], pause: [], stop: [] };
      for (let i = 0; i < 3; i++) {
        let chunks = 0;
        const busy = lab.train({
          arch: 'C',
          epochs: 50,
          limit,
          slot: 'busy',
          onProgress: () => {
            chunks++;
          },
        });
        const waitChunks = async (k) => {
          const c = chunks;
          while (chunks < c + k) await new Promise((r) => setTimeout(r, 5));
        };
        await waitChunks(2);
        latency.sample.push(await time(() => lab.sample(4, i, 'C')));
        await waitChunks(1);
        latency.export.push(await time(() => lab.exportWeights('busy')));
        await waitChunks(1);
        // pause counts until the progress events stop (the chunk in flight ends)
        latency.pause.push(
          (await time(async () => {
            await busy.pause();
            const c = chunks;
            await new Promise((r) => setTimeout(r, 150));
            if (chunks > c + 1) throw new Error('pause did not take effect');
          })) - 150,
        );
        await busy.resume();
        await waitChunks(1);
        latency.stop.push(
          await time(async () => {
            await busy.stop();
            await busy.done;
          }),
        );
      }
      await lab.removeSlot('busy');
      return { backend: lab.backend, recon, chains, train, long, latency };
    },
    { limit: cfg.limit, reps: cfg.reps, archs },
  );
  emit({
    backend: r.backend,
    what: 'reconstruct 60 (API round trip)',
    arch: 'C',
    median_ms: median(r.recon),
    min_ms: Math.min(...r.recon),
    runs: r.recon.length,
  });
  emit({
    backend: r.backend,
    what: '60 chains x 100 steps (API round trip)',
    arch: 'C',
    median_ms: median(r.chains),
    min_ms: Math.min(...r.chains),
    runs: r.chains.length,
  });
  for (const [arch, t] of Object.entries(r.train)) {
    emit({
      backend: r.backend,
      what: 'training ms/step',
      arch,
      batch: 64,
      ms_per_step: t.msPerStep,
      steps: t.steps,
      first_chunk_ms_per_step: t.firstChunkMsPerStep,
    });
  }
  emit({
    backend: r.backend,
    what: 'longest main-thread task while training',
    ms: r.long.length ? Math.max(...r.long) : 0,
    long_tasks: r.long.length,
  });
  for (const [k, xs] of Object.entries(r.latency))
    emit({ backend: r.backend, what: `answer to ${k} while training`, median_ms: median(xs), max_ms: Math.max(...xs) });
  if (r.backend === 'webgpu') for (const row of await gpuTraffic(page)) emit(row);
  await browser.close();
}
server.close();

// the table
const fmt = (v) => (typeof v === 'number' ? (v >= 100 ? v.toFixed(0) : v.toFixed(2)) : v);
console.log('\n| backend | measurement | value |\n|---|---|---|');
for (const row of rows) {
  const value = row.what.startsWith('cold load')
    ? `median ${fmt(row.ms)} ms of ${row.runs_ms.join(', ')}; ${row.requests} requests, ` +
      `${(row.bytes / 1e6).toFixed(2)} MB (${(row.gzip_bytes / 1e6).toFixed(2)} MB gzipped)`
    : row.dispatches !== undefined
      ? `${fmt(row.dispatches)} dispatches, ${fmt(row.submits)} submits, ${fmt(row.readbacks)} readbacks, ` +
        `${fmt(row.writes)} writes (${fmt(row.bytes_written)} bytes)`
      : row.ms_per_step !== undefined
        ? `${row.arch}: ${fmt(row.ms_per_step)} ms/step`
        : row.median_ms !== undefined
          ? `median ${fmt(row.median_ms)} ms` +
            `${row.min_ms !== undefined ? `, min ${fmt(row.min_ms)}` : ''}` +
            `${row.max_ms !== undefined ? `, max ${fmt(row.max_ms)}` : ''}`
          : `${fmt(row.ms)} ms (${row.long_tasks} long tasks)`;
  console.log(`| ${row.backend} | ${row.what} | ${value} |`);
}
for (const row of rows.filter((r) => r.files)) {
  console.log(`\nfiles before the first sample (${row.backend}):`);
  for (const f of row.files) console.log(`  ${f.file}: ${f.bytes} bytes${f.gzip ? ` (${f.gzip} gzipped)` : ''}`);
}
const out = arg('--out', null);
if (out) {
  fs.mkdirSync(out.replace(/\/[^/]*$/, ''), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(rows, null, 1)}\n`);
  console.log(`\nwrote ${out}`);
}
