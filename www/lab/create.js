// createVaeLab: one engine (a Worker) and the API object around it, assembled from the modules
// beside this one. `core` is what they share: the lab, its events, the transport, the host copies
// of the weights, the run in progress.
import { modelNames, runNames, allModels } from '../store.js';
import { BACKENDS, checkSlot, SHIPPED_DATASETS, shippedSlot } from './input.js';
import { rememberedChoices, rememberChoice } from './choices.js';
import { createTransport } from './transport.js';
import { addStorage } from './storage.js';
import { addModels } from './models.js';
import { addInference } from './inference.js';
import { addDatasets, datasetTransfer } from './datasets.js';
import { addRuns } from './runs.js';
import { addView } from './view.js';
import { addBundle } from './bundle.js';

/**
 * Start the engine. `backend`: 'auto' (WebGPU when available, else CPU), 'webgpu' or 'cpu'.
 * `base`: URL of the app's root (where index.html, pkg/, weights/ and www/ live).
 * `probe`: with backend 'auto', measure even a software WebGPU adapter against the CPU (a hardware
 * one is always measured, once per adapter: the choice is remembered in localStorage).
 * `preload`: names of shipped models (e.g. ['C']) whose weights download alongside the engine, so
 * that `loadPretrained` of one of them does not wait for its download afterwards.
 */
export function createVaeLab({
  backend = 'auto',
  base = new URL('../../', import.meta.url),
  persistRuns = true,
  preload = [],
  probe = false,
  dataset = 'mnist',
} = {}) {
  const events = new EventTarget();
  const lab = {
    /** How 'auto' chose, when it measured: {backend, adapter, cpuMsPerStep, webgpuMsPerStep,
     *  webgpuWarmupMs, reason, remembered, failed}; null when no choice was measured (no adapter, a
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
  const core = {
    lab,
    events,
    emit,
    persistRuns,
    /** Host copies of every slot's weights file, so a crashed engine can be rebuilt (on the CPU). */
    saved: new Map(),
    /** Names in use in this browser (stored models and unfinished runs): a new run never takes one. */
    reserved: new Set(),
    /** The run in progress ({slot, record, handle(type, detail), api}), or null. */
    trainRun: null,
    slotOf(slot) {
      const s = slot ?? lab.current;
      if (!s) throw new Error('no model loaded: call loadPretrained(arch) or importWeights(bytes) first');
      return checkSlot(s);
    },
  };

  function onEvent(data) {
    if (data.event === 'backend') Object.assign(lab, data.detail);
    if (data.event === 'fetched') lab.fetchedFiles.add(data.detail.url);
    // a trapped wasm module (a Rust panic, a lost GPU inside wgpu) cannot be used again; the
    // restart ends the run (its last checkpoint stays, to resume)
    if (data.event === 'train-error' && data.detail.kind === 'trap' && lab.backend) {
      transport.recover(`the model engine failed (${data.detail.message})`);
    }
    if (core.trainRun) core.trainRun.handle(data.event, data.detail);
    emit(data.event, data.detail);
  }
  /** A fresh engine on the CPU, every model reloaded from its host copy, the dataset held again. */
  async function restart(reason, lost) {
    core.trainRun?.handle('train-error', { message: lost.message });
    const r = await spawn('cpu');
    for (const [slot, bytes] of core.saved) await transport.post('loadWeights', { slot, bytes: bytes.slice() });
    // the dataset held before the crash, held again (the new engine starts on the first one)
    if (lab.data && lab.data.name !== r.data.name) {
      lab.data = await core
        .datasetArgs(lab.data.name)
        .then((args) => transport.post('useDataset', args, datasetTransfer(args)))
        .catch(() => r.data);
      emit('dataset', lab.data);
    }
    const fallbackReason = `${reason}; continuing on the CPU with the current weights`;
    Object.assign(lab, { backend: r.backend, gpu: null, fallbackReason });
    emit('backend', { backend: lab.backend, fallbackReason: lab.fallbackReason });
    emit('models', {});
  }
  const transport = createTransport(new URL('../worker.js', import.meta.url), {
    event: onEvent,
    trapped: (message) => {
      if (lab.backend) transport.recover(`the model engine failed (${message})`);
    },
    restart,
    restarting: (reason) => emit('restarting', { reason }),
    fatal: (message) => emit('fatal', { message }),
  });
  core.transport = transport;

  function spawn(wanted) {
    // `preload`: shipped models whose weights download while the engine does
    const held = SHIPPED_DATASETS.includes(dataset) ? dataset : 'mnist';
    const models = preload.map((a) => String(a).toUpperCase()).map((arch) => ({ arch, slot: shippedSlot(arch, held) }));
    const remembered = rememberedChoices();
    return transport.start({ backend: wanted, base: String(base), preload: models, probe: !!probe, remembered, dataset: held });
  }

  addStorage(core);
  addModels(core);
  addDatasets(core);
  addInference(core);
  addRuns(core);
  addView(core);
  addBundle(core);

  let backendNote = null;
  if (!BACKENDS.includes(backend)) {
    backendNote = `unknown backend '${backend}' (expected ${BACKENDS.join(', ')}); using auto`;
    backend = 'auto';
  }

  // stored names and models are read while the engine downloads (IndexedDB's first open takes a while)
  const remembered = async () => {
    for (const name of await modelNames().catch(() => [])) core.reserved.add(name);
    for (const name of await runNames().catch(() => [])) core.reserved.add(name);
  };
  const namesKnown = persistRuns ? remembered() : Promise.resolve();
  const storedModels = persistRuns
    ? allModels().catch((e) => {
        console.info('VAE Lab: saved models unavailable:', e.message);
        return [];
      })
    : Promise.resolve([]);
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
          await core.importWeights(bytes, slot, { store: false }); // it is stored already
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
    if (r.choice && !r.choice.remembered && !r.choice.failed && persistRuns) rememberChoice(r.choice); // embeds leave storage alone
    /** Presets, defaults and caps, as the engine defines them (`lab::Constants`). */
    lab.constants = r.constants;
    /** [{name, hidden, params}] of the shipped models A–E. */
    lab.presets = r.constants.presets;
    await namesKnown;
    return lab;
  });

  /** Stop the engine for good: calls in flight and every later call reject with a message. */
  lab.terminate = () => {
    const message = 'the engine was terminated (lab.terminate()): make a new one with createVaeLab()';
    const terminated = transport.terminate(Object.assign(new Error(message), { kind: 'engine' }));
    core.trainRun?.handle('train-error', { message: terminated.message });
    core.storage.close();
  };
  /** Test hook: make the engine fail as a trapped wasm module would. */
  lab._simulateCrash = () => core.transport.call('simulateCrash').catch(() => transport.recovering());
  return lab;
}
