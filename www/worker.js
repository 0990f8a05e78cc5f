// The model engine: owns the wasm Lab, answers requests strictly one at a time and runs the
// training loop between them, so the page's thread never does model work.
//
// Two engines come from one crate: `cpu` (ndarray only, a fraction of the size) is what a page
// loads unless WebGPU is chosen; `gpu` (+ wgpu, CubeCL, fusion; it also has the CPU backend) is
// fetched only then. The digits come in two parts, each fetched when a request first needs it.

import { SHIPPED_DATASETS as SHIPPED } from './lab/input.js';
let lab = null;
/** Which engine module the Lab lives in: 'cpu' or 'gpu'. */
let labEngine = null;
/** The loaded engine modules by name ('cpu', 'gpu'), each initialised once. */
const engines = {};
let base = null;
/** Shipped models loaded into their slot at init (`preload`), with their bytes: the page's first
 *  loadPretrained of one returns at once. */
const preloaded = new Map();
/** The dataset the Lab holds: its name, its manifest (files, sizes, title, classes) and the parts
 *  the Lab has, by name ('test', 'train', or 'all' for a visitor's own images, which arrive whole
 *  from the page), with their bytes (kept for an engine switch). */
const data = { name: 'mnist', manifest: null, bytes: {} };
const manifests = {}; // the shipped datasets' manifests, each fetched once
function manifestOf(name) {
  if (!manifests[name]) {
    const url = new URL(`www/data/${name}-subset.json`, base);
    manifests[name] = fetch(url)
      .then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        fetched(url);
        return r.json();
      })
      .then((m) => {
        if (!m?.train || !m?.test) throw new Error('it lists no train and test parts');
        return m;
      })
      .catch((e) => {
        delete manifests[name]; // a failed fetch may be retried
        throw Object.assign(new Error(`could not read the dataset manifest www/data/${name}-subset.json: ${e.message}`), { kind: 'data' });
      });
  }
  return manifests[name];
}
/** Where a shipped model's weights are: MNIST's in weights/, another dataset's in weights/<name>/. */
const weightsUrl = (arch, dataset = 'mnist') =>
  new URL(dataset === 'mnist' ? `weights/${arch}.bin` : `weights/${dataset}/${arch}.bin`, base);
let queue = Promise.resolve();
/** `rate`: steps per second in slow motion (one step per chunk, then a wait), null: full speed. */
const training = { running: false, paused: false, stopRequested: false, stepsPerCall: 2, rate: null };
/** Ends the slow-motion wait early (pause, stop, a new speed). */
let wake = null;
const sleep = (ms) =>
  new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      wake = null;
      resolve();
    };
    const timer = setTimeout(done, ms);
    wake = done;
  });
/** Target length of one training chunk: a request that arrives during a run waits at most about
 *  this long (plus its own time) before the engine answers it. */
const CHUNK_MS = 40;

/** Resolve after the event loop has had a turn: a message from the page gets read. Awaiting a
 *  resolved promise only runs microtasks, which on the CPU backend (no real async work) starved
 *  every request until the run ended. A MessageChannel task is not clamped like setTimeout. */
function yieldToEvents() {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(0);
  });
}

/** Run `fn` after every earlier request: the Lab never sees two overlapping calls. */
function enqueue(fn) {
  const next = queue.then(fn);
  queue = next.catch(() => {});
  return next;
}

const post = (msg, transfer = []) => self.postMessage(msg, transfer);
const event = (name, detail) => post({ event: name, detail });
/** Tell the page a file this engine loaded (the page's service worker keeps it for offline use:
 *  a first visit's worker starts before the service worker controls it). */
const fetched = (url) => event('fetched', { url: String(url) });
const bufferOf = (v) => (ArrayBuffer.isView(v) ? [v.buffer] : ArrayBuffer.isView(v?.bytes) ? [v.bytes.buffer] : []);

/** The size of `res`'s body as fetch delivers it (decoded), or 0 where it cannot be known. A
 *  compressed response's Content-Length counts the compressed bytes: against the decoded bytes
 *  fetch counts it would pass 100% long before the end. VAE Lab's server says the decoded size
 *  (X-Decoded-Length); a host that does not leaves the total unknown. */
function decodedLength(res) {
  const decoded = Number(res.headers.get('X-Decoded-Length'));
  if (decoded > 0) return decoded;
  const encoding = (res.headers.get('Content-Encoding') ?? 'identity').trim().toLowerCase();
  return encoding === 'identity' ? Number(res.headers.get('Content-Length')) || 0 : 0;
}

/** Fetch `url` and return its body as a stream that reports its progress as 'download' events
 *  (bytes so far of the decoded size, when it is known: decodedLength). */
async function download(url, label, init = undefined) {
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new Error(`could not fetch ${label} (${url}): ${e.message}`);
  }
  if (!res.ok) throw new Error(`could not fetch ${label} (${url}): HTTP ${res.status}`);
  let total = decodedLength(res);
  let got = 0;
  return res.body.pipeThrough(
    new TransformStream({
      transform(chunk, out) {
        got += chunk.length;
        // a Content-Length of compressed bytes whose encoding a cross-origin response hides: unknown
        // from here on, never past 100%
        if (got > total) total = 0;
        event('download', { label, loaded: got, total });
        out.enqueue(chunk);
      },
      // the end, said plainly: behind a compressing server there is no Content-Length (total 0),
      // or it counts compressed bytes; either way the page must be told that this one is over
      flush() {
        event('download', { label, loaded: got, total: got, done: true });
        fetched(url);
      },
    }),
  );
}

async function fetchBytes(url, label) {
  return new Uint8Array(await new Response(await download(url, label)).arrayBuffer());
}

/** The kind of a failure, which the page switches on (never on message text): the engine's own
 *  kinds (input, data, weights, diverged, gpu), "trap" for a dead wasm module, which only a new
 *  engine can replace, and "engine" for anything else the worker itself threw. */
function kindOf(err) {
  if (err instanceof WebAssembly.RuntimeError || err?.kind === 'trap') return 'trap';
  if (typeof err?.kind === 'string') return err.kind;
  return err instanceof TypeError || err instanceof RangeError ? 'input' : 'engine';
}

/** A failed GPU call: say so and carry on on the CPU with the weights the Lab keeps. */
async function maybeFallBack(err) {
  if (!lab || lab.backend() !== 'webgpu' || kindOf(err) !== 'gpu') return false;
  const text = String(err?.message ?? err);
  await lab.setBackend('cpu');
  event('backend', {
    backend: 'cpu',
    gpu: null,
    fallbackReason: `WebGPU failed (${text}); continuing on the CPU with the current weights`,
  });
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

/** Arguments cross into wasm-bindgen, which traps ("memory access out of bounds") on a value of
 *  the wrong type, so every one's type is checked here, whoever sent it. Values (lengths, ranges,
 *  caps) are the engine's to check. */
function checkArgs(op, args) {
  const bad = (what) => Object.assign(new TypeError(`${op}: ${what}`), { kind: 'input' });
  if ('slot' in args && typeof args.slot !== 'string') throw bad(`a model slot is a name (a string), got ${typeof args.slot}`);
  for (const key of ['n', 'steps', 'seed', 'width', 'height', 'importanceSamples']) {
    if (key in args && !(Number.isInteger(args[key]) && args[key] >= 0 && args[key] <= 0xffffffff)) {
      throw bad(`${key} must be a whole number from 0 to 2^32-1, got ${args[key]}`);
    }
  }
  for (const key of ['pixels', 'z', 'gray', 'start']) {
    if (key in args && !(args[key] instanceof Float32Array)) throw bad(`${key} must be a Float32Array`);
  }
  if ('bytes' in args && !(args.bytes instanceof Uint8Array)) throw bad('bytes must be a Uint8Array');
  if ('indices' in args && !(Array.isArray(args.indices) && args.indices.every((i) => Number.isInteger(i) && i >= 0 && i <= 0xffffffff))) {
    throw bad('indices must be an array of whole numbers');
  }
}

/** Hand the run's newest checkpoint (if any) to the page, which keeps it in IndexedDB. */
function emitCheckpoint(progress) {
  const bytes = lab.takeCheckpoint();
  if (bytes)
    post({ event: 'checkpoint', detail: { slot: training.slot, epoch: progress.epoch, epochs: progress.epochs, bytes } }, [bytes.buffer]);
}

/** The engine module `name` ('cpu' or 'gpu'), fetched, compiled while it streams in (with
 *  progress: wasm-bindgen's own fetch reports none) and initialised, once. */
async function engine(name) {
  if (!engines[name]) {
    engines[name] = (async () => {
      // the module's JS and its wasm download side by side
      const wasmResponse = download(new URL(`pkg/vae_lab_${name}_bg.wasm`, base), name === 'gpu' ? 'WebGPU engine' : 'engine');
      wasmResponse.catch(() => {});
      const moduleUrl = new URL(`pkg/vae_lab_${name}.js`, base);
      let module;
      try {
        module = await import(moduleUrl.href);
      } catch (e) {
        // a missing engine (a host without it; `make serve` still building the WebGPU one): the
        // download's error names the file and the HTTP status, the import's says only "failed"
        await wasmResponse;
        throw e;
      }
      fetched(moduleUrl);
      const start = async (wasm) =>
        module.default({ module_or_path: new Response(await wasm, { headers: { 'Content-Type': 'application/wasm' } }) });
      try {
        await start(wasmResponse);
      } catch (e) {
        if (!(e instanceof WebAssembly.CompileError)) throw e;
        // a damaged copy (a cache entry, a proxy's): once more past every cache, then the error
        await start(
          download(new URL(`pkg/vae_lab_${name}_bg.wasm`, base), name === 'gpu' ? 'WebGPU engine' : 'engine', { cache: 'reload' }),
        );
      }
      return module;
    })();
    engines[name].catch(() => delete engines[name]); // a failed fetch may be retried
  }
  return engines[name];
}

/** Make sure the Lab holds the held-out digits (and with `train`, the training digits). */
async function needData(train) {
  if (data.bytes.all) return; // a visitor's own images: both parts are in
  for (const part of train ? ['test', 'train'] : ['test']) {
    if (part in data.bytes) continue;
    const { file } = data.manifest[part];
    // requests run one at a time, so no other dataset can be chosen during this fetch
    const bytes = await fetchBytes(new URL(`www/data/${file}`, base), part === 'test' ? 'held-out images' : 'training images');
    const sizes = lab.setData(bytes);
    data.bytes[part] = bytes;
    event('data', sizes);
  }
}

/** `text` cut to the engine's cap on a description (clearData refuses a longer one): the longest prefix
 *  that is at most that many bytes of UTF-8 (encodeInto writes whole characters only, says how much it read). */
async function cutDescription(text) {
  const max = (await engine(labEngine)).Lab.constants().limits.maxDescription;
  return text.slice(0, new TextEncoder().encodeInto(text, new Uint8Array(max)).read);
}

/** Make `target` (a Lab) hold the dataset in `data`: its description and the parts fetched so
 *  far (at start, after a failed switch to another, and in a new engine). */
function holdData(target) {
  target.clearData(data.manifest?.description ?? data.name);
  for (const part of Object.values(data.bytes)) target.setData(part);
}

/** A dataset as the page is told of it, from its manifest. */
const describe = (name, m) => ({
  name,
  title: m.title ?? name,
  description: m.description ?? null,
  classes: m.classes ?? [],
  own: !!m.own,
  n_train: m.train.digits,
  n_test: m.test.digits,
});
/** The dataset the Lab holds. */
const datasetInfo = () => describe(data.name, data.manifest);

/** The requests that read digits, and whether they need the training part too. */
const NEEDS_DATA = {
  testImages: false,
  testLabels: false,
  collapse: false,
  latentMap: false,
  evaluate: false,
  trainStart: true,
  restoreRun: true,
};

const ops = {
  async init({ backend, base: b, preload, probe, remembered, dataset }) {
    base = b;
    if (SHIPPED.includes(dataset)) data.name = dataset;
    // weights the page will ask for first download alongside the engine
    const prefetched = new Map();
    // each into the slot the page's loadPretrained will ask for ('C', 'fashion-C': vaelab.js names them)
    for (const { arch, slot } of Array.isArray(preload) ? preload : []) {
      if (/^[A-Z]2?$/.test(arch) && typeof slot === 'string')
        prefetched.set(
          slot,
          fetchBytes(weightsUrl(arch, data.name), `weights ${slot}`).catch(() => null),
        );
    }
    // 'auto' never takes a software adapter (SwiftShader, llvmpipe, WARP): it computes on the CPU
    // through an emulated GPU, ~100x slower than the CPU backend. 'webgpu' still forces it. On a
    // hardware adapter a short training probe on each backend decides (`probe` also probes a
    // software one); a decision made earlier on the same adapter (`remembered`) is reused.
    let wanted = backend ?? 'auto';
    let why = null;
    let choice = null;
    // the manifest is tiny; the digits themselves wait for a panel that needs them
    const manifestFetch = manifestOf(data.name);
    manifestFetch.catch(() => {});
    // the CPU engine is what most visits end up with (no adapter, a software one, and the probe
    // starts on it): fetch it while the browser looks for an adapter, which can take 100 ms
    if (wanted !== 'webgpu') engine('cpu').catch(() => {});
    const adapter = wanted === 'cpu' ? null : await gpuAdapter();
    if (wanted === 'auto' && !adapter) {
      wanted = 'cpu';
      why = 'this browser offers no WebGPU adapter';
    } else if (wanted === 'auto' && adapter.software && !probe) {
      wanted = 'cpu';
      why =
        `the only WebGPU adapter here is a software renderer (${adapter.name || 'an emulated GPU'}), slower than the CPU backend; ` +
        'switch to WebGPU in the Models panel to use it anyway';
    } else if (wanted === 'auto') {
      choice = remembered?.[adapter.name] ?? null;
      if (choice) choice = { ...choice, remembered: true };
      wanted = choice?.backend ?? 'probe';
    }
    if (wanted === 'probe') {
      choice = await probeBackends(adapter);
      wanted = choice.backend;
    } else {
      labEngine = wanted === 'cpu' ? 'cpu' : 'gpu';
      let module;
      try {
        module = await engine(labEngine);
      } catch (e) {
        if (labEngine === 'cpu') throw e;
        // WebGPU asked for, but its engine is not there (a host without it, `make serve` still
        // building it): the page works on the CPU and says why, as without an adapter
        labEngine = 'cpu';
        wanted = 'cpu';
        why = `the WebGPU engine could not be loaded (${e.message}); the CPU is used`;
        module = await engine('cpu');
      }
      lab = await module.Lab.create(wanted);
    }
    if (choice && wanted === 'cpu') why = choice.reason;
    // a preloaded model goes into its slot now, so the page's loadPretrained finds it there
    for (const [slot, bytes] of prefetched) {
      const got = await bytes;
      if (!got) continue;
      try {
        lab.loadWeights(slot, got);
        preloaded.set(slot, got);
      } catch {
        /* not preloaded: loadPretrained fetches again and reports the error */
      }
    }
    data.manifest = await manifestFetch;
    holdData(lab);
    const gpu = lab.backend() === 'webgpu' ? adapter : null;
    const { Lab } = await engine(labEngine);
    return {
      backend: lab.backend(),
      fallbackReason: why ?? lab.fallbackReason() ?? null,
      data: datasetInfo(),
      gpu,
      constants: Lab.constants(),
      choice,
    }; // presets, defaults, caps
  },
  /** A shipped model of a dataset (default MNIST) into `slot`. */
  async loadPretrained({ arch, slot = arch, dataset = 'mnist' }) {
    if (!SHIPPED.includes(dataset))
      throw Object.assign(new Error(`no shipped models for the dataset '${dataset}': train one in the Train panel`), { kind: 'input' });
    if (preloaded.has(slot)) {
      const bytes = preloaded.get(slot);
      preloaded.delete(slot); // once: a later call reloads the shipped weights
      return { info: lab.info(slot), bytes };
    }
    const bytes = await fetchBytes(weightsUrl(arch, dataset), `weights ${slot}`);
    const info = lab.loadWeights(slot, bytes);
    return { info, bytes };
  },
  /** The shipped datasets, described by their manifests. */
  async datasets() {
    const out = [];
    for (const name of SHIPPED) {
      const m = await manifestOf(name).catch(() => null);
      if (m) out.push({ ...describe(name, m), shipped: true });
    }
    return out;
  },
  /** Hold another dataset: a shipped one by name (its parts come when a request needs them), or a
   *  visitor's own, its `images` (u8 n*784) and `labels` (u8 n) with its description, of which
   *  the engine writes the digit file (`Lab.digitsFile`, the one writer of the format). */
  async useDataset({ name, images, labels, title, description }) {
    if (typeof name !== 'string' || !name) throw Object.assign(new TypeError('useDataset: a dataset name (a string)'), { kind: 'input' });
    if (images || labels) {
      if (!(images instanceof Uint8Array && labels instanceof Uint8Array))
        throw Object.assign(new TypeError('useDataset: images and labels must be Uint8Arrays'), { kind: 'input' });
      const bytes = (await engine(labEngine)).Lab.digitsFile(images, labels);
      const said = await cutDescription(String(description || `own images '${name}'`));
      lab.clearData(said);
      let sizes;
      try {
        sizes = lab.setData(bytes);
      } catch (e) {
        holdData(lab); // the dataset held before, as it was: the page still names it
        throw e;
      }
      const manifest = {
        title: title ?? name,
        description: said,
        classes: [],
        own: true,
        train: { digits: sizes.n_train },
        test: { digits: sizes.n_test },
      };
      Object.assign(data, { name, manifest, bytes: { all: bytes } });
      return datasetInfo();
    }
    if (!SHIPPED.includes(name))
      throw Object.assign(new Error(`unknown dataset '${name}': expected ${SHIPPED.join(', ')} or one of your own`), { kind: 'input' });
    Object.assign(data, { name, manifest: await manifestOf(name), bytes: {} });
    holdData(lab);
    return datasetInfo();
  },
  loadWeights: ({ slot, bytes }) => lab.loadWeights(slot, bytes),
  exportWeights: ({ slot }) => lab.exportWeights(slot),
  info: ({ slot }) => lab.info(slot),
  slots: () => lab.slots(),
  removeSlot: ({ slot }) => lab.removeSlot(slot),
  async setBackend({ backend }) {
    if (backend === 'webgpu' && labEngine === 'cpu') await moveToGpuEngine();
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
  collapse: ({ slot }) => lab.collapse(slot),
  latentMap: ({ slot }) => lab.latentMap(slot),
  inside: ({ slot, pixels, seed }) => lab.inside(slot, pixels, seed),
  evaluate: ({ slot, importanceSamples }) => lab.evaluate(slot, importanceSamples ?? undefined),
  simulateCrash() {
    throw new WebAssembly.RuntimeError('unreachable (simulated engine crash)');
  },
  trainStart({ slot, options }) {
    lab.trainStart(slot, options);
    Object.assign(training, { running: true, paused: false, stopRequested: false, slot, stepsPerCall: 2 });
    emitCheckpoint({ epoch: 0, epochs: options.epochs });
    trainLoop();
    return { slot };
  },
  /** One mini-batch of a paused run (slow motion's "step"), reported like any chunk. */
  async trainStep() {
    if (!training.running) throw Object.assign(new Error('no training run to step: start one first'), { kind: 'input' });
    if (!training.paused || training.looping)
      throw Object.assign(new Error('pause the run first: step advances a paused run by one mini-batch'), { kind: 'input' });
    const t0 = performance.now();
    const progress = await lab.trainRun(1);
    await afterChunk(progress, performance.now() - t0, true);
    return progress;
  },
  /** Restore a run from its checkpoint (the API's `resumeRun`) and go on training it. */
  restoreRun({ bytes, slot }) {
    const run = lab.trainRestore(bytes, slot ?? null);
    Object.assign(training, { running: true, paused: false, stopRequested: false, slot: run.slot, stepsPerCall: 2 });
    trainLoop();
    return run;
  },
};

/** Train a throwaway model C for a few steps on each backend and keep the Lab of the faster one.
 *  Pipeline compilation on the GPU is timed apart (warm-up) and not held against it. */
async function probeBackends(adapter) {
  const cpuEngine = await engine('cpu');
  const cpuLab = await cpuEngine.Lab.create('cpu');
  const cpu = await cpuLab.trainProbe('C', 3, 20);
  let gpuLab = null;
  let webgpu = null;
  let failed = null;
  try {
    const gpuEngine = await engine('gpu');
    gpuLab = await gpuEngine.Lab.create('webgpu');
    if (gpuLab.backend() !== 'webgpu') throw new Error(gpuLab.fallbackReason() ?? 'WebGPU did not start');
    webgpu = await gpuLab.trainProbe('C', 3, 10);
  } catch (e) {
    failed = String(e?.message ?? e);
  }
  const useGpu = webgpu && webgpu.ms_per_step < cpu.ms_per_step;
  const fmt = (p) => `${p.ms_per_step.toFixed(1)} ms`;
  const reason = failed
    ? `WebGPU failed in the probe (${failed}); the CPU trains model C at ${fmt(cpu)} per step`
    : `a training step of model C took ${fmt(webgpu)} on WebGPU (${adapter.name || 'this adapter'}, ` +
      `after ${(webgpu.warmup_ms / 1000).toFixed(1)} s of warm-up) ` +
      `and ${fmt(cpu)} on the CPU, so ${useGpu ? 'WebGPU' : 'the CPU'} is used`;
  if (useGpu) {
    cpuLab.free();
    lab = gpuLab;
    labEngine = 'gpu';
  } else {
    gpuLab?.free();
    lab = cpuLab;
    labEngine = 'cpu';
  }
  return {
    backend: useGpu ? 'webgpu' : 'cpu',
    adapter: adapter.name,
    cpuMsPerStep: cpu.ms_per_step,
    webgpuMsPerStep: webgpu?.ms_per_step ?? null,
    webgpuWarmupMs: webgpu?.warmup_ms ?? null,
    reason,
    // a failed probe (a missing or broken WebGPU engine) is not remembered: the next visit probes again
    failed: Boolean(failed),
  };
}

/** Swap the CPU engine's Lab for a new one in the WebGPU engine, taking every model and the
 *  digits along. A run in progress stops (its optimiser state lives in the old engine), as on any
 *  backend switch. If WebGPU does not start, the CPU Lab stays and the error says why. */
async function moveToGpuEngine() {
  const { Lab } = await engine('gpu');
  const next = await Lab.create('webgpu');
  if (next.backend() !== 'webgpu') {
    const why = next.fallbackReason();
    next.free();
    throw Object.assign(new Error(why ?? 'WebGPU did not start'), { kind: 'gpu' });
  }
  holdData(next);
  for (const slot of lab.slots()) next.loadWeights(slot, await lab.exportWeights(slot));
  if (training.running) lab.trainStop();
  training.running = false;
  lab.free();
  lab = next;
  labEngine = 'gpu';
}

/** Pause, unpause and stop do not wait in the queue: they only set flags that the training loop
 *  reads between chunks, so they take effect within one chunk (about CHUNK_MS). */
const controls = {
  trainPause() {
    training.paused = true;
    wake?.();
  },
  /** Slow motion: `stepsPerSecond` (1 to 60) or null for full speed. */
  trainSpeed({ stepsPerSecond = null } = {}) {
    const r = Number(stepsPerSecond);
    training.rate = stepsPerSecond === null || !Number.isFinite(r) || r <= 0 ? null : Math.min(60, Math.max(0.1, r));
    wake?.();
  },
  /** A paused run goes on (the run handle's `resume()`). */
  unpause() {
    if (training.running && training.paused) {
      training.paused = false;
      trainLoop();
    }
  },
  trainStop() {
    training.stopRequested = true;
    training.paused = false;
    wake?.();
    if (!training.looping && training.running) {
      enqueue(() => {
        lab.trainStop();
        training.running = false;
        event('train-stopped', { slot: training.slot });
      });
    }
  },
};

/** Report a chunk (or a single step) to the page; end the run when it was the last. */
async function afterChunk(progress, ms, stepped) {
  event('progress', { ...progress, ms, stepped });
  if (progress.checkpoint) emitCheckpoint(progress);
  if (progress.done) {
    training.running = false;
    // a stepped run ends inside the queue already (trainStep is a queued request)
    if (stepped) lab.trainStop();
    else await enqueue(() => lab.trainStop());
  }
}

/** Chunks of steps sized to ~CHUNK_MS, with a turn of the event loop between them. */
async function trainLoop() {
  if (training.looping) return;
  training.looping = true;
  try {
    while (training.running && !training.paused && !training.stopRequested) {
      const slow = training.rate;
      const k = slow ? 1 : training.stepsPerCall;
      const t0 = performance.now();
      const progress = await enqueue(() => lab.trainRun(k));
      const ms = performance.now() - t0;
      if (progress.chunk.steps > 0 && !slow) {
        const perStep = ms / progress.chunk.steps;
        training.stepsPerCall = Math.max(1, Math.min(50, Math.round(CHUNK_MS / perStep)));
      }
      await afterChunk(progress, ms, false);
      // slow motion: one step, then the rest of its time slot (requests are answered meanwhile)
      if (slow && training.running && !training.paused && !training.stopRequested) await sleep(Math.max(0, 1000 / slow - ms));
      else await yieldToEvents();
    }
    if (training.stopRequested && training.running) {
      await enqueue(() => lab.trainStop());
      training.running = false;
      event('train-stopped', { slot: training.slot });
    }
  } catch (err) {
    training.running = false;
    const fellBack = await enqueue(() => maybeFallBack(err)).catch(() => false);
    event('train-error', { message: String(err?.message ?? err), kind: kindOf(err), fellBack });
  } finally {
    training.looping = false;
  }
}

self.onmessage = ({ data }) => {
  const { id, op, args } = data;
  if (controls[op]) {
    controls[op](args ?? {});
    post({ id, ok: true, result: null });
    return;
  }
  const fn = ops[op];
  if (!fn) {
    post({ id, ok: false, error: `unknown operation ${op}` });
    return;
  }
  // init is always the first request, so by the time the queue reaches this one the Lab exists
  // (or init failed, which the page has already been told)
  enqueue(async () => {
    try {
      if (op !== 'init' && !lab) throw Object.assign(new Error('the model engine did not start'), { kind: 'trap' });
      checkArgs(op, args ?? {});
      if (op in NEEDS_DATA) await needData(NEEDS_DATA[op]);
      const result = await fn(args ?? {});
      post({ id, ok: true, result }, bufferOf(result));
    } catch (err) {
      let message = String(err?.message ?? err);
      if (await maybeFallBack(err).catch(() => false)) message += ' (switched to the CPU; try again)';
      post({ id, ok: false, error: message, kind: kindOf(err) });
    }
  });
};
