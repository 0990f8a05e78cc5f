// Datasets: the shipped ones (from the engine's manifests) and the visitor's own pictures, kept in
// IndexedDB and merged across tabs; the one the engine holds.
import { mergeDataset, deleteDataset, allDatasets, checkDataset } from '../store.js';
import { PIXELS, SHIPPED_DATASETS } from './input.js';

/** What to transfer with useDataset's `args`: the buffers of a dataset of your own (copies). */
export const datasetTransfer = (args) => (args.images ? [args.images.buffer, args.labels.buffer] : []);

/** Adds datasets, useDataset, addImages, datasetImages and removeDataset to the lab, and
 *  `core.datasetArgs` (what the engine's useDataset takes for a name). */
export function addDatasets(core) {
  const { lab, emit } = core;
  const call = (...a) => core.transport.call(...a);
  const store = () => core.storage;

  /** The visitor's own datasets: name -> {title, pixels, labels}; read from IndexedDB once. */
  let own = null;
  core.datasetsChanged = () => {
    own = null;
  };
  const ownDatasets = () => {
    own ??= (async () => {
      const kept = new Map();
      if (!core.persistRuns) return kept;
      const stored = await allDatasets().catch((e) => {
        emit('storage', store().said({ message: `Your saved datasets could not be read: ${e.message}` }));
        return [];
      });
      for (const [name, r] of stored) {
        const problem = SHIPPED_DATASETS.includes(name) ? 'it has the name of a shipped dataset' : checkDataset(r, PIXELS);
        if (problem) store().skipRecord('datasets', name, problem);
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
    shippedList ??= call('datasets').catch((e) => {
      shippedList = null;
      throw e;
    });
    const mine = [...(await ownDatasets())].map(([name, r]) => ({ name, title: r.title ?? name, n: r.labels.length, own: true }));
    return [...(await shippedList), ...mine];
  };
  /** What the engine's useDataset takes for `name`: a shipped one by name, one of yours whole as
   *  copies of its images (u8 n*784) and labels (the engine writes the digit file: one writer of
   *  the format); post them with `datasetTransfer(args)`, the stored arrays stay as they are. */
  core.datasetArgs = async (name) => {
    const n = String(name ?? '');
    if (SHIPPED_DATASETS.includes(n)) return { name: n };
    const r = (await ownDatasets()).get(n);
    if (!r) {
      const names = [...SHIPPED_DATASETS, ...(await ownDatasets()).keys()];
      throw Object.assign(new Error(`unknown dataset '${n}': expected one of ${names.join(', ')}`), { kind: 'input' });
    }
    if (r.labels.length < 2) {
      const message = `the dataset '${n}' has ${r.labels.length} image: add at least 2 (one is held out)`;
      throw Object.assign(new Error(message), { kind: 'input' });
    }
    const description = `own images '${n}' (${r.labels.length}, made in VAE Lab)`;
    return { name: n, images: r.pixels.slice(), labels: r.labels.slice(), title: r.title ?? n, description };
  };
  /**
   * Train on and look at another dataset: 'mnist', 'fashion' or the name of one of your own.
   * Held-out images, the held-out numbers and new training runs use it; loaded models stay.
   * Resolves to the dataset's {name, title, classes, own, n_train, n_test} (also `lab.data`).
   */
  lab.useDataset = async (name) => {
    await lab.ready;
    const args = await core.datasetArgs(name);
    const info = await call('useDataset', args, datasetTransfer(args));
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
    const n = String(name ?? '');
    await lab.ready;
    const { added, addedLabels, count, max } = imagesIn(n, images, labels, lab.constants.limits);
    /** The record after this call: `old` (stored or in memory) with the new images after it. */
    const merged = (old) => {
      const base = old && !checkDataset(old, PIXELS) ? old : { title: title ?? n, pixels: new Uint8Array(0), labels: new Uint8Array(0) };
      const m = base.labels.length;
      if (m + count > max) {
        throw input(RangeError, `the dataset '${n}' is full: it holds ${m} images, ${count} more would be ${m + count} (at most ${max})`);
      }
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
    if (core.persistRuns) {
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
      store().channel?.postMessage({ store: 'datasets', name: n });
    }
    emit('datasets', { name: n, n: record.labels.length });
    if (lab.data?.name === n && record.labels.length >= 2) await lab.useDataset(n);
    // the images are in this tab either way; the call says whether storage has them
    if (core.persistRuns) {
      const what = `the dataset '${n}' (${record.labels.length} images)`;
      await store().confirmWrite(`dataset:${n}`, what, () => (refused ? Promise.reject(refused) : Promise.resolve()));
    }
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
    if (core.persistRuns) await deleteDataset(n);
    mine.delete(n);
    unsavedDatasets.delete(n);
    store().forget(`dataset:${n}`);
    store().channel?.postMessage({ store: 'datasets', name: n });
    emit('datasets', { name: n, removed: true });
    if (lab.data?.name === n) await lab.useDataset('mnist');
  };
}

const input = (E, message) => Object.assign(new E(`addImages: ${message}`), { kind: 'input' });

/** addImages' arguments checked and converted: the name, the images as u8 and the labels (255:
 *  none). Counts are checked before anything is copied or converted. */
function imagesIn(n, images, labels, limits) {
  const maxName = limits.maxSlotName;
  if (!n || n.length > maxName) throw input(TypeError, `a dataset name of 1 to ${maxName} characters`);
  if (SHIPPED_DATASETS.includes(n)) {
    throw Object.assign(new Error(`'${n}' is a shipped dataset: choose another name for your images`), { kind: 'input' });
  }
  // a dataset of your own is at most one call's worth of images (held in the tab and IndexedDB)
  const max = limits.maxImagesPerCall;
  const count = images instanceof Float32Array ? images.length / PIXELS : images?.length;
  if (!Number.isInteger(count) || count <= 0) {
    throw input(
      TypeError,
      images instanceof Float32Array ? `${images.length} floats is not a whole number of 784-value images` : 'no images',
    );
  }
  if (count > max) throw input(RangeError, `${count} images is more than a dataset holds (${max})`);
  const list =
    images instanceof Float32Array
      ? Array.from({ length: count }, (_, i) => images.subarray(i * PIXELS, (i + 1) * PIXELS))
      : Array.from(images);
  const bad = list.findIndex((x) => !x || x.length !== PIXELS || Array.prototype.some.call(x, (v) => !(v >= 0 && v <= 1)));
  if (bad >= 0) throw input(TypeError, `image ${bad} is not 784 values in [0, 1]`);
  // labels: one per image, each a class 0-254, or null/undefined/255 for none
  const none = labels === undefined || labels === null;
  const labelList = none ? [] : Array.from(labels);
  if (!none && labelList.length !== count) throw input(RangeError, `${labelList.length} labels for ${count} images`);
  const badLabel = labelList.findIndex((l) => !(l === null || l === undefined || (Number.isInteger(l) && l >= 0 && l <= 255)));
  if (badLabel >= 0) {
    const message = `label ${badLabel} is ${labelList[badLabel]}: a class is a whole number from 0 to 254 (255 or null: none)`;
    throw input(RangeError, message);
  }
  const added = new Uint8Array(count * PIXELS);
  list.forEach((x, i) => {
    for (let p = 0; p < PIXELS; p++) added[i * PIXELS + p] = Math.round(x[p] * 255);
  });
  const addedLabels = Uint8Array.from({ length: count }, (_, i) => labelList[i] ?? 255);
  return { added, addedLabels, count, max };
}
