// The WebGPU engine (pkg/vae_lab_gpu*) on a real GPU without a browser: Node with Dawn (the npm
// package `webgpu`, not a dependency of the app: install it beside this script to use it).
// Prints JSON lines: pipeline warm-up, training ms/step of model C (batch 64) on WebGPU and, in
// the same process, on the engine's CPU backend; reconstruct 60 and 60 chains x 100 steps.
//   npm install --no-save webgpu && node tools/webgpu-node-bench.mjs [--steps 200] [--engine gpu|nofusion]
import fs from 'node:fs';
import { create, globals } from 'webgpu';

const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : d;
};
const steps = Number(arg('--steps', 200));
// 'gpu' (the app's WebGPU engine) or 'nofusion' (`make wasm-nofusion`)
const name = arg('--engine', 'gpu');

// What wgpu's web backend looks for: a global `Window` (it reads `navigator.gpu` through it)
Object.assign(globalThis, globals);
const gpu = create([]);
globalThis.Window ??= function Window() {};
Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });

const adapter = await gpu.requestAdapter();
const info = adapter?.info ?? {};
console.log(
  JSON.stringify({
    what: 'adapter',
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    device: info.device,
  }),
);

const engine = await import(new URL(`../pkg/vae_lab_${name}.js`, import.meta.url));
await engine.default({ module_or_path: fs.readFileSync(new URL(`../pkg/vae_lab_${name}_bg.wasm`, import.meta.url)) });
const data = ['test', 'train'].map((p) => fs.readFileSync(new URL(`../www/data/mnist-subset-${p}.bin`, import.meta.url)));
const weights = fs.readFileSync(new URL('../weights/C.bin', import.meta.url));

for (const backend of name === 'gpu' ? ['webgpu', 'cpu'] : ['webgpu']) {
  let t = performance.now();
  const lab = await engine.Lab.create(backend);
  const createMs = performance.now() - t;
  if (lab.backend() !== backend) {
    console.log(JSON.stringify({ backend, error: `got ${lab.backend()}: ${lab.fallbackReason()}` }));
    continue;
  }
  // what `auto` measures to choose a backend (src/wasm/training.rs, trainProbe)
  const probe = await lab.trainProbe('C', 3, 10);
  console.log(JSON.stringify({ engine: name, backend, what: 'trainProbe C (3 warm-up + 10 steps)', ...probe }));
  for (const d of data) lab.setData(d);
  lab.loadWeights('C', weights);
  const x = lab.testImages(Uint32Array.from({ length: 60 }, (_, i) => i));
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const time = async (f) => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  const warmRecon = await time(() => lab.reconstruct('C', x, false, 0));
  const recon = [];
  for (let i = 0; i < 21; i++) recon.push(await time(() => lab.reconstruct('C', x, false, 0)));
  const warmChain = await time(() => lab.chain('C', 60, 2, 0, new Float32Array()));
  const chains = [];
  for (let i = 0; i < 3; i++) chains.push(await time(() => lab.chain('C', 60, 100, i, new Float32Array())));
  lab.trainStart('run', { arch: 'C', epochs: 50, seed: 0 });
  t = performance.now();
  await lab.trainRun(1); // pipeline compilation and the first readback
  const firstStepMs = performance.now() - t;
  await lab.trainRun(20);
  t = performance.now();
  let done = 0;
  while (done < steps) {
    const p = await lab.trainRun(Math.min(50, steps - done));
    done += p.chunk.steps;
  }
  const msPerStep = (performance.now() - t) / done;
  // where the time goes: one step per call against 50, and the floor of one readback (decode 1)
  const perCall = async (k, calls) => {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await lab.trainRun(k);
    return (performance.now() - t0) / (k * calls);
  };
  const oneStepCalls = await perCall(1, 20);
  const fiftyStepCalls = await perCall(50, 2);
  const readback = [];
  const z1 = new Float32Array(12);
  for (let i = 0; i < 21; i++) readback.push(await time(() => lab.decode('C', z1)));
  console.log(
    JSON.stringify({
      engine: name,
      backend,
      ms_per_step_1_per_call: oneStepCalls,
      ms_per_step_50_per_call: fiftyStepCalls,
      decode_1_median_ms: median(readback),
    }),
  );
  lab.trainStop();
  console.log(
    JSON.stringify({
      engine: name,
      backend,
      create_ms: createMs,
      first_train_step_ms: firstStepMs,
      train_ms_per_step: msPerStep,
      steps: done,
      reconstruct_60_first_ms: warmRecon,
      reconstruct_60_median_ms: median(recon),
      chain_warmup_ms: warmChain,
      chain_60x100_median_ms: median(chains),
    }),
  );
  lab.free();
}
delete globalThis.navigator; // Dawn keeps Node alive while referenced
process.exit(0);
