// Model slots: the shipped models A–E, imported and exported weights files, the host copy of
// every slot (for crash recovery), and the visitor's models kept in IndexedDB.
import { putModel, deleteModel } from '../store.js';
import { BACKENDS, checkSlot, SHIPPED_DATASETS, shippedSlot } from './input.js';

/** Adds the lab's model methods, and `core.keep`, `core.remember`, `core.importWeights`,
 *  `core.shipped`. */
export function addModels(core) {
  const { lab, emit, saved } = core;
  const call = (...a) => core.transport.call(...a);

  /** Slots that hold a shipped model as shipped: name -> promise of its info. */
  const shipped = new Map();
  core.shipped = shipped;

  /** Keep the host copy of `slot` current (after training, the weights live only in the engine). */
  core.remember = async (slot) => {
    await keep(slot, await call('exportWeights', { slot }));
  };
  /** The names of the models shipped for `dataset`: A–E for every shipped dataset, and the
   *  two-latent C2 (the engine's `constants.shipped`) for MNIST. */
  const shippedNames = (dataset) => (dataset === 'mnist' ? lab.constants.shipped : lab.presets).map((p) => p.name);
  lab.shippedModels = shippedNames;
  /** Whether `slot` names a shipped model's slot ('C', 'C2', 'fashion-C'). */
  const isShippedSlot = (slot) => SHIPPED_DATASETS.some((d) => shippedNames(d).some((name) => shippedSlot(name, d) === slot));
  /** Update a host copy. User-made models (not the shipped A–E) are announced, and with
   *  `persistRuns` stored in IndexedDB before the call that made them resolves: a reload right
   *  after an import or a run must not lose it (a write still pending at unload is dropped).
   *  A refused write rejects (kind 'storage'); the model stays in this tab, counted as unsaved. */
  async function keep(slot, bytes, { store = true } = {}) {
    saved.set(slot, bytes);
    if (isShippedSlot(slot)) return;
    emit('weights', { slot, bytes }); // listeners must not modify it
    if (core.persistRuns && store) {
      await core.storage.confirmWrite(`model:${slot}`, `the model ${slot}`, () => putModel(slot, bytes));
    }
  }
  core.keep = keep;

  /** The dataset whose shipped models `loadPretrained` loads by default: the one held, or MNIST
   *  while the visitor's own images are (they have no shipped models). */
  const pretrainedDataset = (dataset) => dataset ?? (SHIPPED_DATASETS.includes(lab.data?.name) ? lab.data.name : 'mnist');
  /** The slot `loadPretrained(arch, {dataset})` fills. */
  lab.shippedSlot = (arch, { dataset } = {}) => shippedSlot(String(arch ?? '').toUpperCase(), pretrainedDataset(dataset));
  /**
   * Load one of the shipped models (A–E, and MNIST's two-latent C2) into its slot and make it
   * current: MNIST's into the slot of the same name ('C'), another shipped dataset's into
   * '<dataset>-C'. `dataset`: 'mnist' or 'fashion'; default the dataset held (MNIST while your
   * own images are).
   */
  lab.loadPretrained = async (arch, { dataset } = {}) => {
    const a = String(arch ?? '').toUpperCase();
    await lab.ready;
    const ds = pretrainedDataset(dataset);
    if (!SHIPPED_DATASETS.includes(ds)) {
      const message = `no shipped models for the dataset '${ds}' (shipped: ${SHIPPED_DATASETS.join(', ')})`;
      throw Object.assign(new Error(message), { kind: 'input' });
    }
    const names = shippedNames(ds);
    if (!names.includes(a)) {
      const message = `unknown architecture '${String(arch).slice(0, 24)}': ${ds === 'mnist' ? '' : `${ds} has `}${names.join(', ')}`;
      throw Object.assign(new Error(message), { kind: 'input' });
    }
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

  /** Load a weights file (Uint8Array/ArrayBuffer) into `slot` (default 'imported'); makes it current. */
  lab.importWeights = (bytes, slot = 'imported') => importWeights(bytes, slot);
  async function importWeights(bytes, slot, { store = true } = {}) {
    if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer)) {
      throw new TypeError('importWeights: expected a Uint8Array or ArrayBuffer');
    }
    checkSlot(slot);
    await lab.ready;
    // the largest file the engine loads (its largest model and header): refuse before copying anything
    const max = lab.constants.limits.maxWeightsBytes;
    if (bytes.byteLength > max) {
      throw new RangeError(`importWeights: ${bytes.byteLength} bytes is larger than any model VAE Lab loads (${max})`);
    }
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
  core.importWeights = importWeights;

  /** The current (or given) model as a weights file. */
  lab.exportWeights = async (slot) => {
    const s = core.slotOf(slot);
    const bytes = await call('exportWeights', { slot: s });
    // the file is the caller's whatever storage says (a refusal is a 'storage' event)
    await keep(s, bytes).catch(() => {});
    return bytes.slice(); // the caller's own copy
  };
  lab.info = async (slot) => call('info', { slot: core.slotOf(slot) });
  lab.slots = async () => call('slots');
  lab.use = (slot) => {
    lab.current = checkSlot(slot);
    emit('current', { slot });
  };
  lab.removeSlot = async (slot) => {
    await call('removeSlot', { slot: checkSlot(slot) });
    saved.delete(slot);
    shipped.delete(slot);
    core.storage.forget(`model:${slot}`);
    try {
      if (core.persistRuns) await deleteModel(slot);
    } finally {
      // the engine has dropped it either way
      emit('models', { slot, removed: true });
      if (lab.current === slot) lab.use((await lab.slots())[0] ?? null);
    }
  };

  lab.setBackend = async (name) => {
    // a running engine switches to a backend by name ('auto' chooses only at the start)
    const names = BACKENDS.filter((b) => b !== 'auto');
    if (!names.includes(name)) throw new Error(`unknown backend '${name}': expected ${names.map((b) => `'${b}'`).join(' or ')}`);
    const r = await call('setBackend', { backend: name });
    Object.assign(lab, r);
    emit('backend', r);
    return r.backend;
  };
}
