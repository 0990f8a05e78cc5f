// VAE Lab's ES-module API. Everything runs in a Web Worker; this module only validates input
// and forwards. The page installs the same object as `window.vaeLab`.
//
//   import { createVaeLab } from './www/vaelab.js';
//   const lab = createVaeLab();            // or createVaeLab({ backend: 'cpu' })
//   await lab.ready;                        // lab.backend is now 'webgpu' or 'cpu'
//   await lab.loadPretrained('C');
//   const { mu, logvar } = await lab.encode(pixels);   // pixels: 784 floats in [0,1], row-major 28x28
//
// Pixels are always 784 floats in [0, 1] per image, row-major 28 x 28.

import { putRun, deleteRun, allRuns, modelNames } from './store.js';

export const ARCHS = ['A', 'B', 'C', 'D', 'E'];
export const PIXELS = 784;

/** A model slot's name: a non-empty string (the engine traps on anything else). */
export function checkSlot(slot) {
  if (typeof slot !== 'string' || slot.length === 0 || slot.length > 64) {
    throw new TypeError(`a model slot is a name of 1 to 64 characters, got ${typeof slot === 'string' ? `'${slot}'` : typeof slot}`);
  }
  return slot;
}

/** Check pixels: a non-empty multiple of 784 finite floats in [0, 1]; returns a Float32Array. */
export function checkPixels(pixels, what = 'pixels') {
  if (!pixels || typeof pixels.length !== 'number') throw new TypeError(`${what}: expected an array of 784 floats`);
  if (pixels.length === 0 || pixels.length % PIXELS !== 0) {
    throw new RangeError(`${what}: expected 784 floats per image (28x28), got ${pixels.length}`);
  }
  const out = Float32Array.from(pixels);
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (!Number.isFinite(v)) throw new RangeError(`${what}: value at index ${i} is ${v}, not a finite number`);
    if (v < 0 || v > 1) throw new RangeError(`${what}: value ${v} at index ${i} is outside [0, 1]`);
  }
  return out;
}

function checkCount(n, max, what) {
  if (!Number.isInteger(n) || n < 1 || n > max) throw new RangeError(`${what} must be an integer from 1 to ${max}, got ${n}`);
  return n;
}

function checkSeed(seed) {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer from 0 to 2^32-1, got ${seed}`);
  return seed;
}

/**
 * Start the engine. `backend`: 'auto' (WebGPU when available, else CPU), 'webgpu' or 'cpu'.
 * `base`: URL of the app's root (where index.html, pkg/, weights/ and www/ live).
 */
export function createVaeLab({ backend = 'auto', base = new URL('../', import.meta.url), persistRuns = true } = {}) {
  const events = new EventTarget();
  const pending = new Map();
  /** Host copies of every slot's weights file, so a crashed engine can be rebuilt (on the CPU). */
  const saved = new Map();
  let nextId = 1;
  let worker = null;
  let recovering = null;
  let restarting = false;

  /** Post a request to the current worker. Its queue runs requests in order, init first. */
  const post = (op, args = {}, transfer = []) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, args }, transfer);
    });
  /** Requests made while a crashed engine is being replaced wait until its models are back. */
  const call = (op, args, transfer) => (recovering ? recovering.then(() => post(op, args, transfer)) : post(op, args, transfer));

  function spawn(wanted) {
    worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = onMessage;
    worker.onerror = (e) => {
      e.preventDefault();
      recover(`the model engine crashed (${e.message ?? 'unknown error'})`);
    };
    return post('init', { backend: wanted, base: String(base) });
  }

  const lab = {
    /** 'webgpu' or 'cpu' once ready. */
    backend: null,
    /** Why WebGPU is not used (null when it is). */
    fallbackReason: null,
    /** On WebGPU: {name, software} of the browser's adapter (software: an emulated GPU). */
    gpu: null,
    /** {n_train, n_test} of the digit data. */
    data: null,
    /** The slot that calls without an explicit `slot` use. */
    current: null,
    events,
    on(type, fn) {
      events.addEventListener(type, (e) => fn(e.detail));
      return lab;
    },
  };

  const emit = (type, detail) => events.dispatchEvent(new CustomEvent(type, { detail }));
  let trainRun = null;

  // A trapped wasm module (a Rust panic, a lost GPU inside wgpu) cannot be used again.
  const TRAP = /unreachable|RuntimeError|memory access out of bounds|the model engine did not start/i;

  function onMessage({ data }) {
    if (data.event) {
      if (data.event === 'backend') Object.assign(lab, data.detail);
      if (trainRun) trainRun.handle(data.event, data.detail);
      emit(data.event, data.detail);
      return;
    }
    const p = pending.get(data.id);
    if (!p) return;
    pending.delete(data.id);
    if (data.ok) p.resolve(data.result);
    else {
      p.reject(new Error(data.error));
      if (TRAP.test(data.error) && lab.backend) recover(`the model engine failed (${data.error})`);
    }
  }

  /**
   * Replace a dead engine: a fresh worker on the CPU, every model reloaded from its host copy.
   * Requests in flight fail with a message that says so; later requests go to the new engine.
   */
  function recover(reason) {
    if (recovering) return recovering;
    restarting = true;
    recovering = (async () => {
      worker.terminate();
      const lost = new Error(`${reason}; restarted on the CPU with the current weights, try again`);
      for (const p of pending.values()) p.reject(lost);
      pending.clear();
      trainRun?.handle('train-error', { message: lost.message });
      const r = await spawn('cpu');
      for (const [slot, bytes] of saved) await post('loadWeights', { slot, bytes: bytes.slice() });
      Object.assign(lab, { backend: r.backend, gpu: null, fallbackReason: `${reason}; continuing on the CPU with the current weights` });
      emit('backend', { backend: lab.backend, fallbackReason: lab.fallbackReason });
      emit('models', {});
    })().catch((e) => emit('fatal', { message: `the model engine could not restart: ${e.message}` }))
      .finally(() => { restarting = false; });
    // cleared only after the queued requests (chained on it above) have been posted
    recovering.finally(() => { recovering = null; });
    emit('restarting', { reason }); // requests made from here on wait for the new engine
    return recovering;
  }

  /** Keep the host copy of `slot` current (after training, the weights live only in the engine). */
  const remember = async (slot) => { keep(slot, await call('exportWeights', { slot })); };
  /** Update a host copy; user-made models (not the shipped A–E) are announced for persistence. */
  function keep(slot, bytes) {
    saved.set(slot, bytes);
    if (!ARCHS.includes(slot)) emit('weights', { slot, bytes }); // listeners must not modify it
  }

  const slotOf = (slot) => {
    const s = slot ?? lab.current;
    if (!s) throw new Error('no model loaded: call loadPretrained(arch) or importWeights(bytes) first');
    return checkSlot(s);
  };

  /** Names in use in this browser (stored models and unfinished runs): a new run never takes one. */
  const reserved = new Set();
  const remembered = async () => {
    for (const name of await modelNames().catch(() => [])) reserved.add(name);
    for (const [name] of await allRuns().catch(() => [])) reserved.add(name);
  };

  const BACKENDS = ['auto', 'webgpu', 'cpu'];
  let backendNote = null;
  if (!BACKENDS.includes(backend)) {
    backendNote = `unknown backend '${backend}' (expected ${BACKENDS.join(', ')}); using auto`;
    backend = 'auto';
  }

  lab.ready = spawn(backend).then(async (r) => {
    lab.backend = r.backend;
    lab.fallbackReason = backendNote ? [backendNote, r.fallbackReason].filter(Boolean).join('; ') : r.fallbackReason;
    lab.gpu = r.gpu;
    lab.data = r.data;
    lab.limits = r.limits;
    if (persistRuns) await remembered();
    return lab;
  });

  /** Load one of the shipped models A–E into the slot of the same name; makes it current. */
  lab.loadPretrained = async (arch) => {
    const a = String(arch ?? '').toUpperCase();
    if (!ARCHS.includes(a)) throw new Error(`unknown architecture '${arch}': expected one of ${ARCHS.join(', ')}`);
    await lab.ready;
    const { info, bytes } = await call('loadPretrained', { arch: a, base: String(base) });
    saved.set(a, bytes);
    lab.current = a;
    emit('models', { slot: a, info });
    return info;
  };

  /** Load a weights file (Uint8Array/ArrayBuffer) into `slot` (default 'imported'); makes it current. */
  lab.importWeights = async (bytes, slot = 'imported') => {
    if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer)) throw new TypeError('importWeights: expected a Uint8Array or ArrayBuffer');
    checkSlot(slot);
    await lab.ready;
    // the largest model the engine loads, plus a generous header: refuse before copying anything
    const max = lab.limits.maxParams * 4 + (1 << 20) + 24;
    if (bytes.byteLength > max) throw new RangeError(`importWeights: ${bytes.byteLength} bytes is larger than any model VAE Lab loads (${max})`);
    // one host copy (the page's own, for crash recovery); the worker gets a structured clone
    const copy = bytes instanceof Uint8Array ? bytes.slice() : new Uint8Array(bytes.slice(0));
    const info = await call('loadWeights', { slot, bytes: copy });
    keep(slot, copy);
    lab.current = slot;
    emit('models', { slot, info });
    return info;
  };

  /** The current (or given) model as a weights file. */
  lab.exportWeights = async (slot) => {
    const s = slotOf(slot);
    const bytes = await call('exportWeights', { slot: s });
    keep(s, bytes);
    return bytes.slice(); // the caller's own copy
  };
  lab.info = async (slot) => call('info', { slot: slotOf(slot) });
  lab.slots = async () => call('slots');
  lab.use = (slot) => {
    lab.current = checkSlot(slot);
    emit('current', { slot });
  };
  lab.removeSlot = async (slot) => {
    await call('removeSlot', { slot: checkSlot(slot) });
    saved.delete(slot);
    emit('models', { slot, removed: true });
    if (lab.current === slot) lab.use((await lab.slots())[0] ?? null);
  };

  lab.setBackend = async (name) => {
    if (!['webgpu', 'cpu'].includes(name)) throw new Error(`unknown backend '${name}': expected 'webgpu' or 'cpu'`);
    const r = await call('setBackend', { backend: name });
    Object.assign(lab, r);
    emit('backend', r);
    return r.backend;
  };

  /** q(z|x) of one or more images -> {mu, logvar}, each Float32Array(n * latent). */
  lab.encode = async (pixels, slot) => {
    const x = checkPixels(pixels);
    const out = await call('encode', { slot: slotOf(slot), pixels: x }, [x.buffer]);
    const half = out.length / 2;
    return { mu: out.slice(0, half), logvar: out.slice(half) };
  };

  /** Decoder mean of the encoder mean (or of a sampled z) -> Float32Array(n * 784). */
  lab.reconstruct = async (pixels, { sampled = false, seed = 0, slot } = {}) => {
    const x = checkPixels(pixels);
    return call('reconstruct', { slot: slotOf(slot), pixels: x, sampled, seed: checkSeed(seed) }, [x.buffer]);
  };

  /** Decoder means of latent codes z (Float32Array(n * latent)). */
  lab.decode = async (z, slot) => {
    const v = Float32Array.from(z);
    if (v.length === 0 || v.some((x) => !Number.isFinite(x))) throw new RangeError('decode: expected finite latent values');
    return call('decode', { slot: slotOf(slot), z: v }, [v.buffer]);
  };

  /** n digits from z ~ N(0, I): an array of n Float32Array(784). */
  lab.sample = async (n = 60, seed = 0, slot) => {
    const flat = await call('sample', { slot: slotOf(slot), n: checkCount(n, 1000, 'n'), seed: checkSeed(seed) });
    return Array.from({ length: n }, (_, i) => flat.subarray(i * PIXELS, (i + 1) * PIXELS));
  };

  /**
   * n fixed-point chains of `steps` encode-sample-decode-sample iterations: an array of
   * steps + 1 frames, each Float32Array(n * 784). `start`: 784 floats (one digit for every
   * chain) or n * 784; default: z ~ N(0, I).
   */
  lab.chain = async (n = 60, steps = 100, seed = 0, { start, slot } = {}) => {
    checkCount(n, 200, 'n');
    checkCount(steps, 500, 'steps');
    if (n * (steps + 1) > 20000) throw new RangeError(`chain: n x (steps + 1) must be at most 20000, got ${n * (steps + 1)}`);
    const s = start ? checkPixels(start, 'start') : new Float32Array();
    const flat = await call('chain', { slot: slotOf(slot), n, steps, seed: checkSeed(seed), start: s });
    const size = n * PIXELS;
    return Array.from({ length: steps + 1 }, (_, i) => flat.subarray(i * size, (i + 1) * size));
  };

  lab.collapse = async (slot) => call('collapse', { slot: slotOf(slot) });
  lab.latentMap = async (slot) => call('latentMap', { slot: slotOf(slot) });
  lab.evaluate = async (slot) => call('evaluate', { slot: slotOf(slot) });
  lab.testImages = async (indices) => {
    if (!indices || typeof indices.length !== 'number') throw new TypeError('testImages: expected an array of indices');
    const max = lab.limits?.maxImagesPerCall ?? 10000;
    if (indices.length > max) throw new RangeError(`testImages: ${indices.length} indices at once is too many (max ${max})`);
    return call('testImages', { indices: Array.from(indices) });
  };
  lab.testLabels = async () => call('testLabels');
  /** MNIST-style preprocessing of a drawing (ink in [0,1], row-major width x height) -> 784 floats. */
  lab.preprocess = async (gray, width, height) => {
    const g = Float32Array.from(gray);
    return call('preprocess', { gray: g, width, height }, [g.buffer]);
  };

  /** The first `runN` that names no loaded model, stored model or unfinished run. */
  const freshRunName = () => {
    for (let i = 1; ; i++) if (!saved.has(`run${i}`) && !reserved.has(`run${i}`)) return `run${i}`;
  };

  /**
   * The handle of a run in `slot`: {slot, done, pause, resume, stop}. Every checkpoint the engine
   * makes (run start, each epoch end) goes to IndexedDB; a run that ends (done, stopped, diverged)
   * removes its checkpoint, a run cut off by a crash or a reload keeps it for `resumeRun`.
   */
  function runHandle(slot, opts, onProgress, started) {
    if (trainRun) throw new Error('a training run is already in progress: stop it first');
    let resolveDone, rejectDone;
    const done = new Promise((res, rej) => { resolveDone = res; rejectDone = rej; });
    let last = null;
    const record = { options: opts, history: [], saved: true };
    const finish = (fn, v, { keepCheckpoint = false } = {}) => {
      trainRun = null;
      if (persistRuns && !keepCheckpoint) deleteRun(slot).catch(() => {});
      // the run's weights (or the rolled-back ones) become the slot's host copy
      if (restarting) fn(v);
      else remember(slot).catch(() => {}).finally(() => fn(v));
    };
    trainRun = {
      slot,
      record,
      handle(type, d) {
        if (type === 'progress') {
          last = d;
          if (d.chunk.steps > 0) record.saved = false;
          if (d.epoch_end) record.history.push(d.epoch_end);
          onProgress?.(d);
          if (d.error) finish(rejectDone, Object.assign(new Error(d.error), { progress: d }));
          else if (d.done) finish(resolveDone, d);
        } else if (type === 'checkpoint') {
          record.saved = true;
          if (persistRuns) {
            const { bytes, epoch, epochs } = d;
            putRun(slot, { bytes, epoch, epochs, options: opts, history: record.history.slice() })
              .catch((e) => console.info('VAE Lab: run checkpoint not saved:', e.message));
          }
        } else if (type === 'train-stopped') finish(resolveDone, last);
        else if (type === 'train-error') finish(rejectDone, new Error(d.message), { keepCheckpoint: true });
      },
    };
    started.then(
      () => { lab.current = slot; reserved.add(slot); emit('models', { slot, training: true }); },
      (e) => finish(rejectDone, e, { keepCheckpoint: true }),
    );
    return {
      slot, done, options: opts,
      pause: () => call('trainPause'),
      resume: () => call('trainResume'),
      stop: () => call('trainStop'),
    };
  }

  /**
   * Train a model. options: {arch:'C'} or {hidden:[60,32], latent:12}, epochs, lr, batch, seed,
   * limit (max training digits), slot (default: the first free 'run1', 'run2', ...), resume,
   * onProgress(p). Returns a handle {slot, done: Promise<last progress>, pause(), resume(),
   * stop()}; progress is also emitted as 'progress' events.
   */
  lab.train = (options = {}) => {
    if (trainRun) throw new Error('a training run is already in progress: stop it first');
    const { arch, onProgress, ...rest } = options;
    let hidden = rest.hidden;
    if (arch !== undefined) {
      const a = String(arch).toUpperCase();
      const presets = { A: [], B: [32], C: [64], D: [60, 32], E: [60, 32, 20] };
      if (!(a in presets)) throw new Error(`unknown architecture '${arch}': expected one of ${ARCHS.join(', ')}`);
      hidden = presets[a];
    }
    if (!Array.isArray(hidden) || hidden.some((w) => !Number.isInteger(w) || w < 1)) {
      throw new Error('train: give arch (A-E) or hidden (an array of positive layer widths)');
    }
    const slot = checkSlot(rest.slot ?? freshRunName());
    const opts = { hidden, latent: rest.latent ?? 12, epochs: rest.epochs ?? 10, lr: rest.lr ?? 1e-3, batch: rest.batch ?? 64,
      seed: rest.seed ?? 0, limit: rest.limit ?? null, resume: !!rest.resume };
    return runHandle(slot, opts, onProgress, call('trainStart', { slot, options: opts }));
  };

  /** Runs that a reload, a closed tab or a crash interrupted: [{slot, epoch, epochs, options, history}]. */
  lab.unfinishedRuns = async () => {
    if (!persistRuns) return [];
    const runs = await allRuns().catch(() => []);
    return runs.filter(([slot]) => slot !== trainRun?.slot)
      .map(([slot, r]) => ({ slot, epoch: r.epoch, epochs: r.epochs, options: r.options, history: r.history ?? [] }));
  };

  /** Continue an unfinished run from its last checkpoint; the same handle as `train()`. */
  lab.resumeRun = async (slot, { onProgress } = {}) => {
    checkSlot(slot);
    await lab.ready;
    const stored = (await allRuns()).find(([s]) => s === slot);
    if (!stored) throw new Error(`no unfinished run '${slot}'`);
    const [, r] = stored;
    let resolveStart, rejectStart;
    const started = new Promise((res, rej) => { resolveStart = res; rejectStart = rej; });
    const handle = runHandle(slot, r.options, onProgress, started);
    trainRun.record.history = (r.history ?? []).slice();
    call('trainResumeRun', { bytes: r.bytes }).then(resolveStart, rejectStart);
    try {
      await started;
    } catch (e) {
      handle.done.catch(() => {}); // the caller hears of it here
      throw new Error(`run '${slot}' could not be resumed: ${e.message}`);
    }
    return handle;
  };

  /** Forget an unfinished run (its weights at the last epoch stay only if it was resumed). */
  lab.discardRun = async (slot) => {
    await deleteRun(checkSlot(slot));
    reserved.delete(slot);
  };

  /** True while a run has trained steps that no checkpoint holds yet (the page warns on unload). */
  lab.hasUnsavedWork = () => !!trainRun && !trainRun.record.saved;

  lab.terminate = () => worker.terminate();
  /** Test hook: make the engine fail as a trapped wasm module would. */
  lab._simulateCrash = () => call('simulateCrash').catch(() => recovering);
  return lab;
}
