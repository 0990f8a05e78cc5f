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

import { putRun, deleteRun, allRuns, runNames, modelNames, allModels, putModel, deleteModel, mergeDataset, deleteDataset, allDatasets,
  checkRun, checkDataset, storageError, storageNotices } from './store.js';

export const PIXELS = 784;

// Values are checked once, by the engine (`src/wasm/boundary.rs`, caps in `src/limits.rs`); here
// they are only brought into the types the worker forwards.

/** A model slot's name must be a string (the engine checks its length). Thrown at once, so that
 *  `use(7)` fails where it is written. */
export function checkSlot(slot) {
  if (typeof slot !== 'string') throw Object.assign(new TypeError(`a model slot is a name (a string), got ${typeof slot}`), { kind: 'input' });
  return slot;
}

/** Backend choices measured earlier, by adapter name (localStorage; none where it is unavailable). */
const CHOICES_KEY = 'vae-lab-backend-choice';
function rememberedChoices() {
  try {
    return JSON.parse(localStorage.getItem(CHOICES_KEY) ?? '{}') ?? {};
  } catch {
    return {};
  }
}
function rememberChoice(choice) {
  try {
    localStorage.setItem(CHOICES_KEY, JSON.stringify({ ...rememberedChoices(), [choice.adapter]: choice }));
  } catch { /* private mode or storage off: measure again next time */ }
}

/**
 * The engine's Worker. A page may only start a Worker from its own origin, so a course page on
 * another host that imports this module starts a tiny same-origin module Worker (a blob URL)
 * that imports the real one across origins (a CORS module load: the host of VAE Lab must send
 * Access-Control-Allow-Origin). The app's own page uses the file itself: its CSP allows no blob
 * workers.
 */
function startWorker(url) {
  if (url.origin === location.origin) return new Worker(url, { type: 'module' });
  const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};\n`], { type: 'text/javascript' }));
  const w = new Worker(shim, { type: 'module' });
  // the shim's import has started once the worker runs; the blob itself is no longer needed
  setTimeout(() => URL.revokeObjectURL(shim), 60_000);
  return w;
}

/** The shipped datasets (each has pretrained A–E); any other name is one of the visitor's own. */
export const SHIPPED_DATASETS = ['mnist', 'fashion'];
/** The slot a shipped model loads into: MNIST's keep their letter ('C'), another dataset's are
 *  prefixed with its name ('fashion-C'). */
export const shippedSlot = (arch, dataset = 'mnist') => (dataset === 'mnist' ? arch : `${dataset}-${arch}`);

/**
 * A digit file (`src/data.rs`, magic VAEDIGS1) of a visitor's images, `pixels` u8 n*784 with
 * `labels` u8 n (255: none). Every tenth image is held out (at least one of two or more), so the
 * panels that show held-out images and the held-out nELBO work on it as on MNIST.
 */
export function digitFile(pixels, labels) {
  const n = labels.length;
  const test = [];
  const train = [];
  for (let i = 0; i < n; i++) ((i % 10 === 9 || (n < 10 && n >= 2 && i === n - 1)) ? test : train).push(i);
  const order = [...train, ...test];
  const out = new Uint8Array(24 + n * (PIXELS + 1));
  out.set(new TextEncoder().encode('VAEDIGS1'));
  const words = new DataView(out.buffer, 8, 16);
  [n, train.length, 28, 28].forEach((v, i) => words.setUint32(4 * i, v, true));
  order.forEach((i, k) => {
    out[24 + k] = labels[i];
    out.set(pixels.subarray(i * PIXELS, (i + 1) * PIXELS), 24 + n + k * PIXELS);
  });
  return out;
}

/** More floats than any call takes (the engine checks the exact caps): refused before copying, so
 *  that `encode({length: 1e9})` fails at once instead of after a minute of copying. */
const MAX_FLOATS = 1 << 24;
/** Pixels as a Float32Array (the engine checks length and range). */
function floats(values, what) {
  if (!values || typeof values.length !== 'number') throw Object.assign(new TypeError(`${what}: expected an array of floats`), { kind: 'input' });
  if (!(values.length >= 0 && values.length <= MAX_FLOATS)) throw Object.assign(new RangeError(`${what}: ${values.length} values is more than any call takes (${MAX_FLOATS})`), { kind: 'input' });
  return Float32Array.from(values);
}

/** Cross-tab locks (Web Locks API; absent outside secure contexts, where tabs are not coordinated). */
const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
/** The lock a tab holds while it trains `slot`: other tabs neither take the name nor resume it. */
const runLock = (slot) => `vae-lab-run:${slot}`;
/** Hold `name` until the returned release() is called (or the tab closes); null when another tab
 *  holds it. Without Web Locks: always granted. */
async function holdLock(name) {
  if (!locks) return () => {};
  let release;
  const held = new Promise((res) => { release = res; });
  const granted = await new Promise((resolve) => {
    locks.request(name, { ifAvailable: true }, (lock) => {
      resolve(!!lock);
      return lock ? held : null;
    }).catch(() => resolve(false));
  });
  return granted ? release : null;
}
/** Names of the run locks other tabs (and this one) hold. */
async function heldRunLocks() {
  if (!locks) return new Set();
  const { held = [], pending = [] } = await locks.query().catch(() => ({}));
  return new Set([...held, ...pending].map((l) => l.name));
}

/**
 * Start the engine. `backend`: 'auto' (WebGPU when available, else CPU), 'webgpu' or 'cpu'.
 * `base`: URL of the app's root (where index.html, pkg/, weights/ and www/ live).
 * `probe`: with backend 'auto', measure even a software WebGPU adapter against the CPU (a hardware
 * one is always measured, once per adapter: the choice is remembered in localStorage).
 * `preload`: names of shipped models (e.g. ['C']) whose weights download alongside the engine, so
 * that `loadPretrained` of one of them does not wait for its download afterwards.
 */
export function createVaeLab({ backend = 'auto', base = new URL('../', import.meta.url), persistRuns = true, preload = [], probe = false, dataset = 'mnist' } = {}) {
  const events = new EventTarget();
  const pending = new Map();
  /** Host copies of every slot's weights file, so a crashed engine can be rebuilt (on the CPU). */
  const saved = new Map();
  let nextId = 1;
  let worker = null;
  let recovering = null;
  let restarting = false;
  /** Set by `terminate()`: every call from then on rejects at once. */
  let terminated = null;

  /** Post a request to the current worker. Its queue runs requests in order, init first. */
  const post = (op, args = {}, transfer = []) =>
    new Promise((resolve, reject) => {
      if (terminated) {
        reject(terminated);
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, args }, transfer);
    });
  /** Requests made while a crashed engine is being replaced wait until its models are back. */
  const call = (op, args, transfer) => (recovering ? recovering.then(() => post(op, args, transfer)) : post(op, args, transfer));

  function spawn(wanted) {
    worker = startWorker(new URL('./worker.js', import.meta.url));
    worker.onmessage = onMessage;
    worker.onerror = (e) => {
      e.preventDefault();
      recover(`the model engine crashed (${e.message ?? 'unknown error'})`);
    };
    // `preload`: shipped models whose weights download while the engine does
    const held = SHIPPED_DATASETS.includes(dataset) ? dataset : 'mnist';
    const models = preload.map((a) => String(a).toUpperCase()).map((arch) => ({ arch, slot: shippedSlot(arch, held) }));
    return post('init', { backend: wanted, base: String(base), preload: models, probe: !!probe, remembered: rememberedChoices(), dataset: held });
  }

  const lab = {
    /** How 'auto' chose, when it measured: {backend, adapter, cpuMsPerStep, webgpuMsPerStep,
     *  webgpuWarmupMs, reason, remembered}; null when no choice was measured (no adapter, a
     *  software one, or a backend given). */
    backendChoice: null,
    /** 'webgpu' or 'cpu' once ready. */
    backend: null,
    /** Why WebGPU is not used (null when it is). */
    fallbackReason: null,
    /** On WebGPU: {name, software} of the browser's adapter (software: an emulated GPU). */
    gpu: null,
    /** The dataset the engine holds: {name, title, classes, own, n_train, n_test}. Training,
     *  held-out images and the held-out numbers use it; `useDataset` changes it. */
    data: null,
    /** The slot that calls without an explicit `slot` use. */
    current: null,
    /** Whether user-made models, runs and datasets are kept in IndexedDB (createVaeLab's option). */
    persistRuns,
    /** URLs of the files the engine has loaded (the page's service worker keeps them). */
    fetchedFiles: new Set(),
    events,
    on(type, fn) {
      events.addEventListener(type, (e) => fn(e.detail));
      return lab;
    },
  };

  const emit = (type, detail) => events.dispatchEvent(new CustomEvent(type, { detail }));
  let trainRun = null;

  function onMessage({ data }) {
    if (data.event) {
      if (data.event === 'backend') Object.assign(lab, data.detail);
      if (data.event === 'fetched') lab.fetchedFiles.add(data.detail.url);
      // a trapped wasm module (a Rust panic, a lost GPU inside wgpu) cannot be used again; the
      // restart ends the run (its last checkpoint stays, to resume)
      if (data.event === 'train-error' && data.detail.kind === 'trap' && lab.backend) recover(`the model engine failed (${data.detail.message})`);
      if (trainRun) trainRun.handle(data.event, data.detail);
      emit(data.event, data.detail);
      return;
    }
    const p = pending.get(data.id);
    if (!p) return;
    pending.delete(data.id);
    if (data.ok) p.resolve(data.result);
    else {
      // errors carry the engine's kind: input, data, weights, diverged, gpu, trap, engine
      p.reject(Object.assign(new Error(data.error), { kind: data.kind }));
      if (data.kind === 'trap' && lab.backend) recover(`the model engine failed (${data.error})`);
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
      // the dataset held before the crash, held again (the new engine starts on the first one)
      if (lab.data && lab.data.name !== r.data.name) {
        lab.data = await datasetArgs(lab.data.name).then((args) => post('useDataset', args)).catch(() => r.data);
        emit('dataset', lab.data);
      }
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
  const remember = async (slot) => { await keep(slot, await call('exportWeights', { slot })); };
  /** Whether `slot` names a shipped model's slot ('C', 'fashion-C'). */
  const isShippedSlot = (slot) => lab.presets.some((p) => SHIPPED_DATASETS.some((d) => shippedSlot(p.name, d) === slot));
  /** Update a host copy. User-made models (not the shipped A–E) are announced, and with
   *  `persistRuns` stored in IndexedDB before the call that made them resolves: a reload right
   *  after an import or a run must not lose it (a write still pending at unload is dropped).
   *  A refused write rejects (kind 'storage'); the model stays in this tab, counted as unsaved. */
  async function keep(slot, bytes, { store = true } = {}) {
    saved.set(slot, bytes);
    if (isShippedSlot(slot)) return;
    emit('weights', { slot, bytes }); // listeners must not modify it
    if (persistRuns && store) await confirmWrite(`model:${slot}`, `the model ${slot}`, () => putModel(slot, bytes));
  }

  /** What the visitor made that storage refused: key ('model:run1', 'dataset:mine', 'run:run2')
   *  -> the message. Kept in this tab's memory; the page warns before unload while it is not empty. */
  const unsaved = new Map();
  /** Run `write`; on success `key` is kept, on failure it is unsaved and the call rejects with a
   *  plain message (also a 'storage' event, once per key until it is kept again). */
  async function confirmWrite(key, what, write) {
    try {
      await write();
    } catch (e) {
      const err = storageError(e.cause ?? e, what);
      err.message += '. It stays in this tab until you close it';
      const fresh = !unsaved.has(key);
      unsaved.set(key, err.message);
      if (fresh) emit('storage', { key, message: err.message, unsaved: [...unsaved.values()] });
      throw err;
    }
    if (unsaved.delete(key)) emit('storage', { key, kept: true, unsaved: [...unsaved.values()] });
  }
  /** A key that no longer needs keeping (removed by the visitor). */
  const forget = (key) => {
    if (unsaved.delete(key)) emit('storage', { key, kept: true, unsaved: [...unsaved.values()] });
  };
  /** Another tab's version change, or the browser closing the database: said, never silent. */
  const onNotice = (e) => emit('storage', { message: e.detail.message, notice: true, unsaved: [...unsaved.values()] });
  if (persistRuns) storageNotices.addEventListener('notice', onNotice);

  /** Stored records that could not be used (damaged, forged, from another version): skipped, and
   *  named here: [{store, key, problem}]. */
  const problems = new Map();
  const skipRecord = (store, key, problem) => {
    const id = `${store}:${key}`;
    if (problems.has(id)) return;
    problems.set(id, { store, key: String(key), problem });
    emit('storage', { message: `A stored ${store === 'runs' ? 'run' : 'dataset'} (${String(key).slice(0, 64)}) was skipped: ${problem}.`, problem: true, unsaved: [...unsaved.values()] });
  };
  lab.storageProblems = () => [...problems.values()];
  /** Messages for everything storage refused that is only in this tab's memory. */
  lab.unsavedWork = () => [...unsaved.values()];

  // Other tabs of this origin say when they change a dataset, so this tab's lists stay true.
  const channel = persistRuns && typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel('vae-lab-store') : null;
  if (channel) {
    channel.onmessage = ({ data }) => {
      if (data?.store === 'datasets') {
        own = null; // read again on next use
        emit('datasets', { name: String(data.name ?? ''), elsewhere: true });
      }
    };
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
    for (const name of await runNames().catch(() => [])) reserved.add(name);
  };

  const BACKENDS = ['auto', 'webgpu', 'cpu'];
  let backendNote = null;
  if (!BACKENDS.includes(backend)) {
    backendNote = `unknown backend '${backend}' (expected ${BACKENDS.join(', ')}); using auto`;
    backend = 'auto';
  }

  // stored names and models are read while the engine downloads (IndexedDB's first open takes a while)
  const namesKnown = persistRuns ? remembered() : Promise.resolve();
  const storedModels = persistRuns ? allModels().catch((e) => {
    console.info('VAE Lab: saved models unavailable:', e.message);
    return [];
  }) : Promise.resolve([]);
  let restoring = null;
  /**
   * Load the models an earlier visit kept (persistRuns), once: resolves to {restored: [slot],
   * failed: [{slot, message}]}. Each becomes current in turn, as importWeights makes it.
   */
  lab.restoreModels = () => {
    restoring ??= (async () => {
      await lab.ready;
      const restored = [];
      const failed = [];
      for (const [slot, bytes] of await storedModels) {
        try {
          await importWeights(bytes, slot, { store: false }); // it is stored already
          restored.push(slot);
        } catch (e) {
          failed.push({ slot, message: e.message });
        }
      }
      return { restored, failed };
    })();
    return restoring;
  };
  lab.ready = spawn(backend).then(async (r) => {
    lab.backend = r.backend;
    lab.fallbackReason = backendNote ? [backendNote, r.fallbackReason].filter(Boolean).join('; ') : r.fallbackReason;
    lab.gpu = r.gpu;
    lab.data = r.data;
    lab.backendChoice = r.choice ?? null;
    if (r.choice && !r.choice.remembered && persistRuns) rememberChoice(r.choice); // embeds leave storage alone
    /** Presets, defaults and caps, as the engine defines them (`lab::Constants`). */
    lab.constants = r.constants;
    /** [{name, hidden, params}] of the shipped models A–E. */
    lab.presets = r.constants.presets;
    await namesKnown;
    return lab;
  });

  /** Slots that hold a shipped model as shipped: name -> promise of its info. */
  const shipped = new Map();
  /** The dataset whose shipped models `loadPretrained` loads by default: the one held, or MNIST
   *  while the visitor's own images are (they have no shipped models). */
  const pretrainedDataset = (dataset) => dataset ?? (SHIPPED_DATASETS.includes(lab.data?.name) ? lab.data.name : 'mnist');
  /** The slot `loadPretrained(arch, {dataset})` fills. */
  lab.shippedSlot = (arch, { dataset } = {}) => shippedSlot(String(arch ?? '').toUpperCase(), pretrainedDataset(dataset));
  /**
   * Load one of the shipped models A–E into its slot and make it current: MNIST's into the slot of
   * the same name ('C'), another shipped dataset's into '<dataset>-C'. `dataset`: 'mnist' or
   * 'fashion'; default the dataset held (MNIST while your own images are).
   */
  lab.loadPretrained = async (arch, { dataset } = {}) => {
    const a = String(arch ?? '').toUpperCase();
    await lab.ready;
    const names = lab.presets.map((p) => p.name);
    if (!names.includes(a)) throw Object.assign(new Error(`unknown architecture '${arch}': expected one of ${names.join(', ')}`), { kind: 'input' });
    const ds = pretrainedDataset(dataset);
    if (!SHIPPED_DATASETS.includes(ds)) throw Object.assign(new Error(`no shipped models for the dataset '${ds}' (shipped: ${SHIPPED_DATASETS.join(', ')})`), { kind: 'input' });
    const slot = shippedSlot(a, ds);
    // a shipped model still as shipped is not fetched again (several elements may ask for it)
    if (!shipped.has(slot)) {
      const loading = call('loadPretrained', { arch: a, slot, dataset: ds }).then(({ info, bytes }) => {
        saved.set(slot, bytes);
        return info;
      });
      shipped.set(slot, loading);
      loading.catch(() => shipped.delete(slot));
    }
    const info = await shipped.get(slot);
    lab.current = slot;
    emit('models', { slot, info });
    return info;
  };

  // --- datasets -----------------------------------------------------------------------------
  /** The visitor's own datasets: name -> {title, pixels, labels}; read from IndexedDB once. */
  let own = null;
  const ownDatasets = () => {
    own ??= (async () => {
      const kept = new Map();
      if (!persistRuns) return kept;
      const stored = await allDatasets().catch((e) => {
        emit('storage', { message: `Your saved datasets could not be read: ${e.message}`, unsaved: [...unsaved.values()] });
        return [];
      });
      for (const [name, r] of stored) {
        const problem = SHIPPED_DATASETS.includes(name) ? 'it has the name of a shipped dataset' : checkDataset(r, PIXELS);
        if (problem) skipRecord('datasets', name, problem);
        else kept.set(name, r);
      }
      // images this tab holds that storage refused stay listed (the in-memory copy wins)
      for (const [name, r] of unsavedDatasets) kept.set(name, r);
      return kept;
    })();
    return own;
  };
  /** Datasets whose last write storage refused: name -> record, kept in this tab only. */
  const unsavedDatasets = new Map();
  /** addImages calls run one after another: each reads the record the one before it wrote. */
  let adding = Promise.resolve();
  let shippedList = null;
  /**
   * Every dataset there is: the shipped ones ({name, title, classes, n_train, n_test, shipped:
   * true}) and the visitor's own ({name, title, n, own: true}), kept in this browser with the
   * models.
   */
  lab.datasets = async () => {
    await lab.ready;
    shippedList ??= call('datasets').catch((e) => { shippedList = null; throw e; });
    const mine = [...(await ownDatasets())].map(([name, r]) => ({ name, title: r.title ?? name, n: r.labels.length, own: true }));
    return [...(await shippedList), ...mine];
  };
  /** What the engine's useDataset takes for `name`: a shipped one by name, one of yours whole. */
  async function datasetArgs(name) {
    const n = String(name ?? '');
    if (SHIPPED_DATASETS.includes(n)) return { name: n };
    const r = (await ownDatasets()).get(n);
    if (!r) {
      const names = [...SHIPPED_DATASETS, ...(await ownDatasets()).keys()];
      throw Object.assign(new Error(`unknown dataset '${n}': expected one of ${names.join(', ')}`), { kind: 'input' });
    }
    if (r.labels.length < 2) throw Object.assign(new Error(`the dataset '${n}' has ${r.labels.length} image: add at least 2 (one is held out)`), { kind: 'input' });
    return { name: n, bytes: digitFile(r.pixels, r.labels), title: r.title ?? n, description: `own images '${n}' (${r.labels.length}, made in VAE Lab)` };
  }
  /**
   * Train on and look at another dataset: 'mnist', 'fashion' or the name of one of your own.
   * Held-out images, the held-out numbers and new training runs use it; loaded models stay.
   * Resolves to the dataset's {name, title, classes, own, n_train, n_test} (also `lab.data`).
   */
  lab.useDataset = async (name) => {
    await lab.ready;
    const info = await call('useDataset', await datasetArgs(name));
    lab.data = info;
    emit('dataset', info);
    return info;
  };
  /**
   * Add images to one of your own datasets (made if new): `images` is an array of 784-float
   * images in [0, 1] (28 x 28, ink bright on dark, as `preprocess` makes them) or one
   * Float32Array of n * 784; `labels` optional (0-254). Kept in this browser (IndexedDB) before
   * it resolves, unless the lab was made with persistRuns: false. Resolves to {name, n}. When the
   * dataset is the one held, the engine gets the new images at once.
   */
  lab.addImages = (name, images, options) => {
    const next = adding.then(() => addImagesNow(name, images, options));
    adding = next.catch(() => {});
    return next;
  };
  async function addImagesNow(name, images, { labels, title } = {}) {
    const input = (E, message) => Object.assign(new E(`addImages: ${message}`), { kind: 'input' });
    const n = String(name ?? '');
    await lab.ready;
    const maxName = lab.constants.limits.maxSlotName;
    if (!n || n.length > maxName) throw input(TypeError, `a dataset name of 1 to ${maxName} characters`);
    if (SHIPPED_DATASETS.includes(n)) throw Object.assign(new Error(`'${n}' is a shipped dataset: choose another name for your images`), { kind: 'input' });
    // a dataset of your own is at most one call's worth of images (held in the tab and IndexedDB):
    // counts are checked before anything is copied or converted
    const max = lab.constants.limits.maxImagesPerCall;
    const count = images instanceof Float32Array ? images.length / PIXELS : images?.length;
    if (!Number.isInteger(count) || count <= 0) {
      throw input(TypeError, images instanceof Float32Array ? `${images.length} floats is not a whole number of 784-value images` : 'no images');
    }
    if (count > max) throw input(RangeError, `${count} images is more than a dataset holds (${max})`);
    const list = images instanceof Float32Array ? Array.from({ length: count }, (_, i) => images.subarray(i * PIXELS, (i + 1) * PIXELS)) : Array.from(images);
    const bad = list.findIndex((x) => !x || x.length !== PIXELS || Array.prototype.some.call(x, (v) => !(v >= 0 && v <= 1)));
    if (bad >= 0) throw input(TypeError, `image ${bad} is not 784 values in [0, 1]`);
    // labels: one per image, each a class 0-254, or null/undefined/255 for none
    const labelList = labels === undefined || labels === null ? [] : Array.from(labels);
    if (labels !== undefined && labels !== null && labelList.length !== count) throw input(RangeError, `${labelList.length} labels for ${count} images`);
    const badLabel = labelList.findIndex((l) => !(l === null || l === undefined || (Number.isInteger(l) && l >= 0 && l <= 255)));
    if (badLabel >= 0) throw input(RangeError, `label ${badLabel} is ${labelList[badLabel]}: a class is a whole number from 0 to 254 (255 or null: none)`);
    const added = new Uint8Array(count * PIXELS);
    list.forEach((x, i) => { for (let p = 0; p < PIXELS; p++) added[i * PIXELS + p] = Math.round(x[p] * 255); });
    const addedLabels = Uint8Array.from({ length: count }, (_, i) => labelList[i] ?? 255);
    /** The record after this call: `old` (stored or in memory) with the new images after it. */
    const merged = (old) => {
      const base = old && !checkDataset(old, PIXELS) ? old : { title: title ?? n, pixels: new Uint8Array(0), labels: new Uint8Array(0) };
      const m = base.labels.length;
      if (m + count > max) throw input(RangeError, `the dataset '${n}' is full: it holds ${m} images, ${count} more would be ${m + count} (at most ${max})`);
      const pixels = new Uint8Array((m + count) * PIXELS);
      pixels.set(base.pixels);
      pixels.set(added, m * PIXELS);
      const lab8 = new Uint8Array(m + count);
      lab8.set(base.labels);
      lab8.set(addedLabels, m);
      return { title: title ?? base.title ?? n, pixels, labels: lab8, updated: Date.now() };
    };
    const mine = await ownDatasets();
    let record;
    let refused = null;
    if (persistRuns) {
      // merged inside the storage transaction: another tab's images added meanwhile are kept
      try {
        // on top of what storage holds, or of this tab's copy that storage refused before
        record = await mergeDataset(n, (stored) => merged(unsavedDatasets.get(n) ?? stored));
      } catch (e) {
        if (e.kind !== 'storage') throw e;
        refused = e;
      }
    }
    record ??= merged(mine.get(n));
    mine.set(n, record);
    if (refused) unsavedDatasets.set(n, record);
    else {
      unsavedDatasets.delete(n);
      channel?.postMessage({ store: 'datasets', name: n });
    }
    emit('datasets', { name: n, n: record.labels.length });
    if (lab.data?.name === n && record.labels.length >= 2) await lab.useDataset(n);
    // the images are in this tab either way; the call says whether storage has them
    if (persistRuns) await confirmWrite(`dataset:${n}`, `the dataset '${n}' (${record.labels.length} images)`, () => (refused ? Promise.reject(refused) : Promise.resolve()));
    return { name: n, n: record.labels.length };
  }
  /** The images of one of your own datasets: {pixels: Float32Array(n * 784), labels, n}. */
  lab.datasetImages = async (name) => {
    const r = (await ownDatasets()).get(String(name));
    if (!r) throw Object.assign(new Error(`no dataset of your own named '${name}'`), { kind: 'input' });
    return { n: r.labels.length, labels: r.labels.slice(), pixels: Float32Array.from(r.pixels, (v) => v / 255) };
  };
  /** Delete one of your own datasets (models trained on it stay). While it is held, MNIST is. */
  lab.removeDataset = async (name) => {
    const n = String(name);
    const mine = await ownDatasets();
    if (!mine.has(n)) throw Object.assign(new Error(`no dataset of your own named '${n}'`), { kind: 'input' });
    if (persistRuns) await deleteDataset(n);
    mine.delete(n);
    unsavedDatasets.delete(n);
    forget(`dataset:${n}`);
    channel?.postMessage({ store: 'datasets', name: n });
    emit('datasets', { name: n, removed: true });
    if (lab.data?.name === n) await lab.useDataset('mnist');
  };

  /** Load a weights file (Uint8Array/ArrayBuffer) into `slot` (default 'imported'); makes it current. */
  lab.importWeights = (bytes, slot = 'imported') => importWeights(bytes, slot);
  async function importWeights(bytes, slot, { store = true } = {}) {
    if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer)) throw new TypeError('importWeights: expected a Uint8Array or ArrayBuffer');
    checkSlot(slot);
    await lab.ready;
    // the largest model the engine loads, plus a generous header: refuse before copying anything
    const max = lab.constants.limits.maxParams * 4 + (1 << 20) + 24;
    if (bytes.byteLength > max) throw new RangeError(`importWeights: ${bytes.byteLength} bytes is larger than any model VAE Lab loads (${max})`);
    // one host copy (the page's own, for crash recovery); the worker gets a structured clone
    const copy = bytes instanceof Uint8Array ? bytes.slice() : new Uint8Array(bytes.slice(0));
    shipped.delete(slot);
    const info = await call('loadWeights', { slot, bytes: copy });
    lab.current = slot;
    // the model is loaded and usable even when storage refuses it (then this rejects, kind 'storage')
    const kept = keep(slot, copy, { store });
    emit('models', { slot, info });
    await kept;
    return info;
  }

  /** The current (or given) model as a weights file. */
  lab.exportWeights = async (slot) => {
    const s = slotOf(slot);
    const bytes = await call('exportWeights', { slot: s });
    // the file is the caller's whatever storage says (a refusal is a 'storage' event)
    await keep(s, bytes).catch(() => {});
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
    shipped.delete(slot);
    forget(`model:${slot}`);
    try {
      if (persistRuns) await deleteModel(slot);
    } finally {
      // the engine has dropped it either way
      emit('models', { slot, removed: true });
      if (lab.current === slot) lab.use((await lab.slots())[0] ?? null);
    }
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
    const x = floats(pixels, 'encode');
    const out = await call('encode', { slot: slotOf(slot), pixels: x }, [x.buffer]);
    const half = out.length / 2;
    return { mu: out.slice(0, half), logvar: out.slice(half) };
  };

  /** Decoder mean of the encoder mean (or of a sampled z) -> Float32Array(n * 784). */
  lab.reconstruct = async (pixels, { sampled = false, seed = 0, slot } = {}) => {
    const x = floats(pixels, 'reconstruct');
    return call('reconstruct', { slot: slotOf(slot), pixels: x, sampled, seed }, [x.buffer]);
  };

  /** Decoder means of latent codes z (Float32Array(n * latent)). */
  lab.decode = async (z, slot) => {
    const v = floats(z, 'decode');
    return call('decode', { slot: slotOf(slot), z: v }, [v.buffer]);
  };

  /** n digits from z ~ N(0, I): an array of n Float32Array(784). */
  lab.sample = async (n = 60, seed = 0, slot) => {
    const flat = await call('sample', { slot: slotOf(slot), n, seed });
    return Array.from({ length: n }, (_, i) => flat.subarray(i * PIXELS, (i + 1) * PIXELS));
  };

  /**
   * n fixed-point chains of `steps` encode-sample-decode-sample iterations: an array of
   * steps + 1 frames, each Float32Array(n * 784). `start`: 784 floats (one digit for every
   * chain) or n * 784; default: z ~ N(0, I).
   */
  lab.chain = async (n = 60, steps = 100, seed = 0, { start, slot } = {}) => {
    const s = start ? floats(start, 'chain start') : new Float32Array();
    const flat = await call('chain', { slot: slotOf(slot), n, steps, seed, start: s });
    const size = n * PIXELS;
    return Array.from({ length: steps + 1 }, (_, i) => flat.subarray(i * size, (i + 1) * size));
  };

  /**
   * One image's path through the model (784 floats): {encoder: [activations per hidden layer],
   * mu, logvar, eps, z, decoder: [...], mean (784), sigma, rec, kl_per_latent, kl, nelbo}; eps is
   * drawn from `seed`. The Inside panel draws it.
   */
  lab.inside = async (pixels, { seed = 0, slot } = {}) => {
    const x = floats(pixels, 'inside');
    return call('inside', { slot: slotOf(slot), pixels: x, seed }, [x.buffer]);
  };
  lab.collapse = async (slot) => call('collapse', { slot: slotOf(slot) });
  lab.latentMap = async (slot) => call('latentMap', { slot: slotOf(slot) });
  /**
   * Held-out numbers of the current (or given) model: {n, nelbo, rec, kl, active_units}. With
   * `importanceSamples: K` also `log_likelihood`, an importance-sampled estimate of log p(x) in
   * nats per image (the IWAE bound; K = 1 is the ELBO). `evaluate('C')` names a slot.
   */
  lab.evaluate = async (opts = {}) => {
    const { slot, importanceSamples } = typeof opts === 'string' ? { slot: opts } : opts ?? {};
    return call('evaluate', { slot: slotOf(slot), ...(importanceSamples === undefined ? {} : { importanceSamples: Number(importanceSamples) }) });
  };
  lab.testImages = async (indices) => call('testImages', { indices: Array.from(indices ?? []) });
  lab.testLabels = async () => call('testLabels');
  /** MNIST-style preprocessing of a drawing (ink in [0,1], row-major width x height) -> 784 floats. */
  lab.preprocess = async (gray, width, height) => {
    const g = floats(gray, 'preprocess');
    return call('preprocess', { gray: g, width, height }, [g.buffer]);
  };

  /**
   * Claim a run's slot across this browser's tabs: `wanted`, or the first `runN` that names no
   * model loaded here, no stored model or run, and no run another tab is training. The name is
   * chosen under one cross-tab lock ('vae-lab-names') and held (lock 'vae-lab-run:<slot>') until
   * the run ends or the tab closes, so two tabs never take the same name. Resolves to
   * {slot, release}.
   */
  async function claimSlot(wanted) {
    if (!persistRuns) {
      // nothing is shared with other tabs: names only need to be free here
      if (wanted !== undefined) return { slot: wanted, release: () => {} };
      for (let i = 1; ; i++) if (!saved.has(`run${i}`) && !reserved.has(`run${i}`)) return { slot: `run${i}`, release: () => {} };
    }
    const pick = async () => {
      if (wanted !== undefined) {
        const release = await holdLock(runLock(wanted));
        if (!release) throw Object.assign(new Error(`'${wanted}' is being trained in another tab`), { kind: 'input' });
        return { slot: wanted, release };
      }
      // locks first, then storage: a tab stores its run's model before it lets go of the name,
      // so a name is caught by one check or the other
      const held = await heldRunLocks();
      const taken = new Set([...saved.keys(), ...reserved]);
      for (const name of await modelNames().catch(() => [])) taken.add(name);
      for (const name of await runNames().catch(() => [])) taken.add(name);
      for (let i = 1; ; i++) {
        const slot = `run${i}`;
        if (taken.has(slot) || held.has(runLock(slot))) continue;
        const release = await holdLock(runLock(slot));
        if (release) return { slot, release };
      }
    };
    return locks ? locks.request('vae-lab-names', pick) : pick();
  }

  /**
   * The handle of a run: {slot, done, started, pause, resume, stop, step, setSpeed}. `claimed`
   * resolves to {slot, release} (see claimSlot); `start(slot)` asks the engine to begin. `slot` is
   * null until the name is claimed (`started` resolves to it). Every checkpoint the engine makes
   * (run start, each epoch end) goes to IndexedDB and counts as kept only once the write is
   * confirmed; a run that ends (done, stopped, diverged) removes its checkpoint, a run cut off by a
   * crash or a reload keeps it for `resumeRun`.
   */
  function runHandle(claimed, opts, onProgress, start, dataset = lab.data?.name ?? 'mnist') {
    if (trainRun) throw new Error('a training run is already in progress: stop it first');
    let resolveDone, rejectDone;
    const done = new Promise((res, rej) => { resolveDone = res; rejectDone = rej; });
    // a run can fail before its caller awaits `done` (an engine crash): not an unhandled rejection
    done.catch(() => {});
    let last = null;
    let slot = null;
    let release = () => {};
    // dirty: steps since the engine's last checkpoint; kept: that checkpoint is in storage
    const record = { options: opts, history: [], dirty: false, kept: true, checkpoints: 0 };
    /** The checkpoint write in progress, and the newest checkpoint waiting for it. */
    let writing = null;
    let waiting = null;
    let ended = false;
    const finish = (fn, v, { keepCheckpoint = false } = {}) => {
      ended = true;
      if (trainRun === run) trainRun = null;
      const end = (f, x) => { release(); f(x); };
      if (!slot) return end(fn, v); // never started
      if (persistRuns && !keepCheckpoint) {
        // left behind, it is offered for resuming: harmless; forgotten once the checkpoint writes
        // queued before it have settled (a late refusal must not mark the ended run unsaved)
        // after the checkpoint write in flight (a queued newer one is dropped): a write landing
        // after the delete would leave the ended run behind as unfinished
        const key = `run:${slot}`;
        waiting = null;
        Promise.resolve(writing).then(() => deleteRun(slot)).catch(() => {}).finally(() => forget(key));
      }
      // the run's weights (or the rolled-back ones) become the slot's host copy, kept in storage
      // before `done` resolves; a refusal rejects `done` (kind 'storage'), the model stays here
      if (restarting) return end(fn, v);
      remember(slot).then(() => end(fn, v), (e) => (e.kind === 'storage' && fn === resolveDone
        ? end(rejectDone, Object.assign(e, { progress: v })) : end(fn, v)));
    };
    const run = {
      slot,
      record,
      handle(type, d) {
        if (type === 'progress') {
          last = d;
          if (d.chunk.steps > 0) record.dirty = true;
          if (d.epoch_end) record.history.push(d.epoch_end);
          onProgress?.(d);
          if (d.error) finish(rejectDone, Object.assign(new Error(d.error), { progress: d }));
          else if (d.done) finish(resolveDone, d);
        } else if (type === 'checkpoint') {
          record.dirty = false;
          if (!persistRuns) return;
          record.kept = false;
          // one write at a time: a checkpoint that arrives while one is being written waits, and
          // a newer one replaces it (a run of 500 tiny epochs on 30 own pictures wrote 500 and
          // spent most of its time in IndexedDB; now it writes as fast as storage goes)
          waiting = { ...d, seq: ++record.checkpoints, history: record.history.slice() };
          writing ??= (async () => {
            while (waiting) {
              const { bytes, epoch, epochs, seq, history } = waiting;
              waiting = null;
              await confirmWrite(`run:${slot}`, `the checkpoint of ${slot} (epoch ${epoch} of ${epochs})`,
                () => putRun(slot, { bytes, epoch, epochs, options: opts, history, dataset }))
                .then(() => { if (seq === record.checkpoints) record.kept = true; }, () => {});
            }
            writing = null;
          })();
        } else if (type === 'train-stopped') finish(resolveDone, last);
        else if (type === 'train-error') finish(rejectDone, new Error(d.message), { keepCheckpoint: true });
      },
    };
    trainRun = run;
    // the run's controls go to the engine after its start request (the name is claimed first)
    let markPosted;
    const posted = new Promise((res) => { markPosted = res; });
    const control = (op, args) => posted.then(() => call(op, args));
    const handle = {
      slot: null, done, options: opts,
      pause: () => control('trainPause'),
      resume: () => control('trainResume'),
      stop: () => control('trainStop'),
      /** One mini-batch of a paused run; resolves to its progress (also a 'progress' event). */
      step: () => control('trainStep'),
      /** Slow motion: steps per second (down to 1, or below), null for full speed. */
      setSpeed: (stepsPerSecond) => control('trainSpeed', { stepsPerSecond: stepsPerSecond ?? null }),
    };
    /** Resolves to the slot when the engine has begun the run (the slot exists from then on). */
    handle.started = claimed.then((c) => {
      // ended while the name was claimed (the engine crashed, terminate()): nothing to start
      if (ended) {
        c.release();
        throw new Error('the run ended before it started');
      }
      ({ slot, release } = c);
      run.slot = slot;
      handle.slot = slot;
      const starting = start(slot);
      markPosted();
      return starting;
    }).then(() => {
      shipped.delete(slot);
      lab.current = slot;
      reserved.add(slot);
      emit('models', { slot, training: true });
      return slot;
    }, (e) => {
      markPosted();
      finish(rejectDone, e, { keepCheckpoint: true });
      throw e;
    });
    handle.started.catch(() => {}); // the failure is `done`'s too: only a caller who awaits it sees it
    run.api = handle;
    return handle;
  }

  /**
   * Train a model. options: {arch:'C'} or {hidden:[60,32], latent:12}, epochs, lr, batch, seed,
   * limit (max training digits), beta (KL weight, default 1), klWarmup (epochs of linear KL
   * warm-up), slot (default: the first free 'run1', 'run2', ... across this browser's tabs),
   * resume, engine ('burn' steps a CPU run through burn's autodiff instead of the plain-Rust step:
   * for benchmarks), onProgress(p). Returns a handle {slot, done: Promise<last progress>, started:
   * Promise<slot>, pause(), resume(), stop(), step(), setSpeed(n)}; `slot` is null until the name
   * is claimed. Progress is also emitted as 'progress' events.
   */
  lab.train = (options = {}) => {
    if (trainRun) throw new Error('a training run is already in progress: stop it first');
    const { onProgress, slot: wanted, ...rest } = options;
    if (wanted !== undefined) checkSlot(wanted);
    // the engine resolves the preset, fills the defaults and checks every value (lab::TrainOptions)
    const opts = { arch: rest.arch === undefined ? undefined : String(rest.arch), hidden: rest.hidden, latent: rest.latent,
      epochs: rest.epochs, lr: rest.lr, batch: rest.batch, seed: rest.seed, limit: rest.limit ?? undefined, resume: !!rest.resume,
      beta: rest.beta, kl_warmup: rest.klWarmup, engine: rest.engine };
    return runHandle(claimSlot(wanted), opts, onProgress, (slot) => call('trainStart', { slot, options: opts }));
  };

  /** Stored run records, checked: [[slot, record]] of those that can be resumed (the others are
   *  skipped and named in `storageProblems()`), without runs another tab is training. */
  async function resumableRuns() {
    const runs = await allRuns().catch((e) => {
      emit('storage', { message: `Your unfinished runs could not be read: ${e.message}`, unsaved: [...unsaved.values()] });
      return [];
    });
    const held = await heldRunLocks();
    return runs.filter(([slot, r]) => {
      if (slot === trainRun?.slot || held.has(runLock(slot))) return false;
      const problem = typeof slot !== 'string' ? 'its name is not a text' : checkRun(r);
      if (problem) skipRecord('runs', slot, problem);
      return !problem;
    });
  }

  /** Runs that a reload, a closed tab or a crash interrupted: [{slot, epoch, epochs, options, history,
   *  dataset}]. Damaged records are skipped (named in `storageProblems()`). */
  lab.unfinishedRuns = async () => {
    if (!persistRuns) return [];
    return (await resumableRuns()).map(([slot, r]) => ({ slot, epoch: r.epoch, epochs: r.epochs, options: r.options, history: r.history ?? [], dataset: r.dataset ?? 'mnist' }));
  };

  /** Continue an unfinished run from its last checkpoint; the same handle as `train()`. */
  lab.resumeRun = async (slot, { onProgress } = {}) => {
    checkSlot(slot);
    await lab.ready;
    if (trainRun) throw new Error('a training run is already in progress: stop it first');
    const stored = (await resumableRuns()).find(([s]) => s === slot);
    if (!stored) {
      const problem = problems.get(`runs:${slot}`);
      const busy = (await heldRunLocks()).has(runLock(slot));
      throw new Error(`run '${slot}' could not be resumed: ${problem ? `its record is damaged (${problem.problem})` : busy ? 'another tab is training it' : 'there is no unfinished run of that name'}`);
    }
    const [, r] = stored;
    const release = await holdLock(runLock(slot));
    if (!release) throw new Error(`run '${slot}' could not be resumed: another tab is training it`);
    // a run goes on with the images it started on (MNIST and Fashion-MNIST have as many), held again
    const dataset = r.dataset ?? 'mnist';
    if (lab.data?.name !== dataset) {
      try {
        await lab.useDataset(dataset);
      } catch (e) {
        release();
        throw new Error(`run '${slot}' could not be resumed: it trained on the dataset '${dataset}', which is not available (${e.message})`);
      }
    }
    // the engine refuses a checkpoint made for another slot than the record's key
    let handle;
    try {
      handle = runHandle(Promise.resolve({ slot, release }), r.options, onProgress, () => call('trainResumeRun', { bytes: r.bytes, slot }), dataset);
    } catch (e) {
      release(); // a run started meanwhile
      throw e;
    }
    trainRun.record.history = (r.history ?? []).slice();
    try {
      await handle.started;
    } catch (e) {
      throw new Error(`run '${slot}' could not be resumed: ${e.message}`);
    }
    return handle;
  };

  /** Forget an unfinished run, or a damaged run record (its weights at the last epoch stay only if
   *  it was resumed). */
  lab.discardRun = async (slot) => {
    await deleteRun(checkSlot(slot));
    reserved.delete(slot);
    problems.delete(`runs:${slot}`);
    forget(`run:${slot}`);
  };

  /** The handle of the run in progress (whoever started it: the Train panel follows runs started
   *  from the console too), or null. */
  lab.activeRun = () => trainRun?.api ?? null;

  /** True while something the visitor made is only in this tab: a run's steps since its last
   *  checkpoint, a checkpoint not yet confirmed by storage, or anything storage refused (the page
   *  warns on unload). */
  lab.hasUnsavedWork = () => (!!trainRun && (trainRun.record.dirty || !trainRun.record.kept)) || unsaved.size > 0;

  /**
   * A view of this engine with a current model of its own. The `<vae-lab>` elements of one page
   * share one engine (one Worker, one download of each file) while each shows its own model:
   * every method is the engine's, and those that default to the current model default to the
   * view's. 'current' events are the view's own; every other event is the engine's.
   */
  lab.view = (slot = null) => {
    const v = Object.create(lab);
    const own = new EventTarget();
    /** Listeners added through this view: `close()` removes them all. */
    const listeners = [];
    v.current = slot;
    const cur = (s) => {
      const x = s ?? v.current;
      if (!x) throw new Error('no model loaded: call loadPretrained(arch) or importWeights(bytes) first');
      return checkSlot(x);
    };
    const adopt = async (result, s) => {
      const r = await result;
      v.use(s);
      return r;
    };
    return Object.assign(v, {
      on(type, fn) {
        const target = type === 'current' ? own : events;
        const handler = (e) => fn(e.detail);
        target.addEventListener(type, handler);
        listeners.push([target, type, handler]);
        return v;
      },
      /** Remove every listener added through this view (an element that remounts its panel drops
       *  the old panel's this way). The engine and its models stay. */
      close() {
        for (const [target, type, handler] of listeners.splice(0)) target.removeEventListener(type, handler);
      },
      /** Listeners this view holds (a hook for tests). */
      _listenerCount: () => listeners.length,
      use(s) {
        v.current = s === null ? null : checkSlot(s);
        own.dispatchEvent(new CustomEvent('current', { detail: { slot: s } }));
      },
      async loadPretrained(arch, o = {}) {
        await lab.ready; // the dataset held decides the slot ('C' or 'fashion-C')
        const slot = lab.shippedSlot(arch, o);
        return adopt(lab.loadPretrained(arch, o), slot);
      },
      importWeights: (bytes, s = 'imported') => adopt(lab.importWeights(bytes, s), s),
      exportWeights: async (s) => lab.exportWeights(cur(s)),
      info: async (s) => lab.info(cur(s)),
      encode: async (x, s) => lab.encode(x, cur(s)),
      reconstruct: async (x, o = {}) => lab.reconstruct(x, { ...o, slot: cur(o.slot) }),
      decode: async (z, s) => lab.decode(z, cur(s)),
      sample: async (n, seed, s) => lab.sample(n, seed, cur(s)),
      chain: async (n, steps, seed, o = {}) => lab.chain(n, steps, seed, { ...o, slot: cur(o.slot) }),
      collapse: async (s) => lab.collapse(cur(s)),
      inside: async (x, o = {}) => lab.inside(x, { ...o, slot: cur(o.slot) }),
      latentMap: async (s) => lab.latentMap(cur(s)),
      evaluate: async (o = {}) => lab.evaluate(typeof o === 'string' ? o : { ...o, slot: cur(o?.slot) }),
      async removeSlot(s) {
        await lab.removeSlot(s);
        if (v.current === s) v.use((await lab.slots())[0] ?? null);
      },
      train(options) {
        const handle = lab.train(options);
        handle.started.then((s) => v.use(s), () => {});
        return handle;
      },
      resumeRun: (s, o) => adopt(lab.resumeRun(s, o), s),
      view: (s = v.current) => lab.view(s),
    });
  };

  /** Stop the engine for good: calls in flight and every later call reject with a message. */
  lab.terminate = () => {
    terminated ??= Object.assign(new Error('the engine was terminated (lab.terminate()): make a new one with createVaeLab()'), { kind: 'engine' });
    worker.terminate();
    for (const p of pending.values()) p.reject(terminated);
    pending.clear();
    trainRun?.handle('train-error', { message: terminated.message });
    storageNotices.removeEventListener('notice', onNotice);
    channel?.close();
  };
  /** Test hook: make the engine fail as a trapped wasm module would. */
  lab._simulateCrash = () => call('simulateCrash').catch(() => recovering);
  return lab;
}

/** The page's one shared engine (made by the first call; later options are ignored). */
let pageEngine = null;

/**
 * A view of the page's shared engine: every <vae-lab> element of the page and every caller of
 * this function use one Worker and download the engine and each weights file once; each view
 * has its own current model. Options as createVaeLab's; `persistRuns` defaults to false (a course
 * page leaves its visitors' storage alone), `backend` to the first element's `backend` attribute,
 * and the shipped models that the page's <vae-lab> elements name download alongside the engine.
 */
export function sharedVaeLab(options = {}) {
  if (!pageEngine) {
    const elements = typeof document === 'undefined' ? [] : [...document.querySelectorAll('vae-lab')];
    const named = elements.map((e) => (e.getAttribute('arch') ?? 'C').toUpperCase());
    const preload = [...new Set([...(options.preload ?? []), ...named])].filter((a) => /^[A-Z]$/.test(a));
    // the first element that names a backend chooses it, whoever asks first
    const backend = options.backend ?? elements.find((e) => e.hasAttribute('backend'))?.getAttribute('backend') ?? 'auto';
    const dataset = options.dataset ?? elements.find((e) => e.hasAttribute('dataset'))?.getAttribute('dataset') ?? 'mnist';
    // an element with `persist` keeps what its visitors make (models, runs, datasets) in this
    // page's storage; without one, a course page leaves its visitors' storage alone
    const persistRuns = options.persistRuns ?? elements.some((e) => e.hasAttribute('persist'));
    pageEngine = createVaeLab({ ...options, persistRuns, backend, preload, dataset });
  }
  return pageEngine.view();
}

// Importing this module also defines <vae-lab> (README, "Embed as an element"). The element's
// code (its panels, charts and styles) loads only when the first one is connected.
if (typeof customElements !== 'undefined' && !customElements.get('vae-lab')) {
  customElements.define('vae-lab', class VaeLabElement extends HTMLElement {
    static observedAttributes = ['panel', 'arch', 'seed', 'height', 'dataset', 'theme'];

    connectedCallback() {
      if (this._mounted) return;
      this._mounted = import('./element.js').then((m) => {
        m.applyHeight(this);
        m.applyTheme(this); // `theme` (light, dark, auto), else the page's own
        return m.mount(this);
      });
    }

    attributeChangedCallback(name, old, value) {
      if (!this._mounted || old === value || this._reflecting?.()) return;
      if (name === 'height' || name === 'theme') {
        import('./element.js').then((m) => (name === 'height' ? m.applyHeight(this) : m.applyTheme(this)));
        return;
      }
      // another panel, or state set from outside: the panel on show must not write its older
      // state back (element.js), and one remount follows the mount in progress, reading the
      // attributes as they are then, so the last value set wins; `arch` alone loads another model
      const what = name === 'arch' ? 'arch' : 'mount';
      if (what === 'mount') this._mountToken = null;
      this._queued ??= new Set();
      if (this._queued.has(what)) return;
      this._queued.add(what);
      this._mounted = this._mounted.catch(() => {}).then(async () => {
        const m = await import('./element.js');
        this._queued.delete(what);
        if (what === 'arch' && this.lab) await m.setArch(this, this.getAttribute('arch'));
        else await m.mount(this);
      });
    }
  });
}
