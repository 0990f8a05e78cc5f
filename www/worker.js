// The model engine: owns the wasm Lab, answers requests strictly one at a time and runs the
// training loop between them, so the page's thread never does model work.
import init, { Lab } from '../pkg/vae_lab.js';

let lab = null;
let queue = Promise.resolve();
const training = { running: false, paused: false, stopRequested: false, stepsPerCall: 5 };

/** Run `fn` after every earlier request: the Lab never sees two overlapping calls. */
function enqueue(fn) {
  const next = queue.then(fn);
  queue = next.catch(() => {});
  return next;
}

const post = (msg, transfer = []) => self.postMessage(msg, transfer);
const event = (name, detail) => post({ event: name, detail });
const bufferOf = (v) => (ArrayBuffer.isView(v) ? [v.buffer] : ArrayBuffer.isView(v?.bytes) ? [v.bytes.buffer] : []);

async function fetchBytes(url, label) {
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch ${label} (${url}): ${e.message}`);
  }
  if (!res.ok) throw new Error(`could not fetch ${label} (${url}): HTTP ${res.status}`);
  const total = Number(res.headers.get('Content-Length')) || 0;
  const reader = res.body.getReader();
  const parts = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    event('download', { label, loaded: got, total });
  }
  const bytes = new Uint8Array(got);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytes;
}

/** A failed GPU call: say so and carry on on the CPU with the weights the Lab keeps. */
async function maybeFallBack(err) {
  if (!lab || lab.backend() !== 'webgpu') return false;
  const text = String(err?.message ?? err);
  if (!/lost|gpu|wgpu|device|buffer|adapter/i.test(text)) return false;
  await lab.setBackend('cpu');
  event('backend', { backend: 'cpu', gpu: null, fallbackReason: `WebGPU failed (${text}); continuing on the CPU with the current weights` });
  return true;
}

/** What the browser says of its WebGPU adapter. A software one (SwiftShader, llvmpipe) computes on
 *  the CPU through an emulated GPU, far slower than the CPU backend; the page says so. */
async function gpuAdapter() {
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return null;
    const i = adapter.info ?? {};
    const name = [i.vendor, i.architecture, i.description].filter(Boolean).join(' ');
    const software = !!(i.isFallbackAdapter ?? adapter.isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe|software/i.test(name);
    return { name, software };
  } catch {
    return null;
  }
}

const ops = {
  async init({ backend, base }) {
    await init({ module_or_path: new URL('pkg/vae_lab_bg.wasm', base) });
    lab = await Lab.create(backend ?? 'auto');
    const data = await fetchBytes(new URL('www/data/mnist-subset.bin', base), 'MNIST digits');
    const info = JSON.parse(lab.setData(data));
    const gpu = lab.backend() === 'webgpu' ? await gpuAdapter() : null;
    return { backend: lab.backend(), fallbackReason: lab.fallbackReason() ?? null, data: info, gpu };
  },
  async loadPretrained({ arch, base }) {
    const bytes = await fetchBytes(new URL(`weights/${arch}.bin`, base), `weights ${arch}`);
    const info = JSON.parse(lab.loadWeights(arch, bytes));
    return { info, bytes };
  },
  loadWeights: ({ slot, bytes }) => JSON.parse(lab.loadWeights(slot, bytes)),
  exportWeights: ({ slot }) => lab.exportWeights(slot),
  info: ({ slot }) => JSON.parse(lab.info(slot)),
  slots: () => JSON.parse(lab.slots()),
  removeSlot: ({ slot }) => lab.removeSlot(slot),
  async setBackend({ backend }) {
    const now = await lab.setBackend(backend);
    training.running = false;
    return { backend: now, fallbackReason: lab.fallbackReason() ?? null, gpu: now === 'webgpu' ? await gpuAdapter() : null };
  },
  testImages: ({ indices }) => lab.testImages(Uint32Array.from(indices)),
  testLabels: () => lab.testLabels(),
  preprocess: ({ gray, width, height }) => lab.preprocess(gray, width, height),
  encode: ({ slot, pixels }) => lab.encode(slot, pixels),
  reconstruct: ({ slot, pixels, sampled, seed }) => lab.reconstruct(slot, pixels, !!sampled, seed >>> 0),
  decode: ({ slot, z }) => lab.decode(slot, z),
  sample: ({ slot, n, seed }) => lab.sample(slot, n, seed >>> 0),
  chain: ({ slot, n, steps, seed, start }) => lab.chain(slot, n, steps, seed >>> 0, start ?? new Float32Array()),
  collapse: async ({ slot }) => JSON.parse(await lab.collapse(slot)),
  latentMap: ({ slot }) => lab.latentMap(slot),
  evaluate: async ({ slot }) => JSON.parse(await lab.evaluate(slot)),
  simulateCrash() {
    throw new WebAssembly.RuntimeError('unreachable (simulated engine crash)');
  },
  trainStart({ slot, options }) {
    lab.trainStart(slot, JSON.stringify(options));
    Object.assign(training, { running: true, paused: false, stopRequested: false, slot, stepsPerCall: 2 });
    trainLoop();
    return { slot };
  },
  trainPause() {
    training.paused = true;
  },
  trainResume() {
    if (training.running && training.paused) {
      training.paused = false;
      trainLoop();
    }
  },
  trainStop() {
    training.stopRequested = true;
    training.paused = false;
    if (!training.looping) {
      lab.trainStop();
      training.running = false;
      event('train-stopped', { slot: training.slot });
    }
  },
};

/** Chunks of steps sized to ~150 ms, so requests from the page wait at most about that long. */
async function trainLoop() {
  if (training.looping) return;
  training.looping = true;
  try {
    while (training.running && !training.paused && !training.stopRequested) {
      const k = training.stepsPerCall;
      const t0 = performance.now();
      const progress = JSON.parse(await enqueue(() => lab.trainRun(k)));
      const ms = performance.now() - t0;
      if (progress.chunk.steps > 0) {
        const perStep = ms / progress.chunk.steps;
        training.stepsPerCall = Math.max(1, Math.min(50, Math.round(150 / perStep)));
      }
      event('progress', { ...progress, ms });
      if (progress.done) {
        training.running = false;
        await enqueue(() => lab.trainStop());
      }
    }
    if (training.stopRequested && training.running) {
      await enqueue(() => lab.trainStop());
      training.running = false;
      event('train-stopped', { slot: training.slot });
    }
  } catch (err) {
    training.running = false;
    const fellBack = await enqueue(() => maybeFallBack(err)).catch(() => false);
    event('train-error', { message: String(err?.message ?? err), fellBack });
  } finally {
    training.looping = false;
  }
}

self.onmessage = ({ data }) => {
  const { id, op, args } = data;
  const fn = ops[op];
  if (!fn) {
    post({ id, ok: false, error: `unknown operation ${op}` });
    return;
  }
  // init is always the first request, so by the time the queue reaches this one the Lab exists
  // (or init failed, which the page has already been told)
  enqueue(async () => {
    try {
      if (op !== 'init' && !lab) throw new Error('the model engine did not start');
      const result = await fn(args ?? {});
      post({ id, ok: true, result }, bufferOf(result));
    } catch (err) {
      let message = String(err?.message ?? err);
      if (await maybeFallBack(err).catch(() => false)) message += ' (switched to the CPU; try again)';
      post({ id, ok: false, error: message });
    }
  });
};
