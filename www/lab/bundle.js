// The .vaelab bundle (issue 22 item 3): a model that a link cannot carry (trained on pictures of
// one's own, imported, warm-started) travels as one file: a zip of its weights file (which holds
// its per-epoch history), the dataset it was trained on when that is one of the visitor's own
// (images and labels as bytes), and the view it was shown in. Opening one never replaces
// anything: a model or dataset of the same name with other contents gets a new name.
// (the zip reader and writer load when a bundle is made or opened, not with the page)
import { PIXELS, SHIPPED_DATASETS } from './input.js';

export const BUNDLE_FORMAT = 'vaelab';
const ENTRIES = ['vaelab.json', 'weights.bin', 'dataset/images.u8', 'dataset/labels.u8'];
/** The view a bundle keeps: the panel and the address's other parameters, each short. */
const MAX_VIEW_PARAMS = 40;
const MAX_VIEW_VALUE = 500;

/** The largest bundle there is: the largest weights file, a full dataset of one's own and room for the rest. */
export const maxBundleBytes = (limits) => limits.maxWeightsBytes + limits.maxImagesPerCall * (PIXELS + 1) + (1 << 20);

const bundleError = (message, kind = 'input') => Object.assign(new Error(`.vaelab: ${message}`), { kind });

/** `view` as a bundle keeps it: {panel, params: {name: string}}, bounded; anything else left out. */
function cleanView(view) {
  const out = { panel: null, params: {} };
  if (!view || typeof view !== 'object') return out;
  if (typeof view.panel === 'string' && /^[a-z]{1,24}$/.test(view.panel)) out.panel = view.panel;
  const entries = Object.entries(view.params && typeof view.params === 'object' ? view.params : {});
  for (const [k, v] of entries.slice(0, MAX_VIEW_PARAMS)) {
    if (/^[a-z][a-zA-Z0-9]{0,23}$/.test(k) && typeof v === 'string' && v.length <= MAX_VIEW_VALUE) out.params[k] = v;
  }
  return out;
}

const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Adds `lab.exportBundle` and `lab.openBundle`. */
export function addBundle(core) {
  const { lab } = core;

  /** The own dataset a model was trained on, named in its weights file ("own images 'x' (…)"). */
  const ownDatasetOf = async (info) => {
    const name = /^own images '(.+)' \(/.exec(info.meta?.dataset ?? '')?.[1];
    const own = (await lab.datasets()).filter((d) => d.own).map((d) => d.name);
    return name && own.includes(name) ? name : null;
  };

  /**
   * The model in `slot` (default the current one) as a .vaelab file (Uint8Array): its weights and
   * history, the dataset it was trained on (one of your own travels whole; a shipped one by
   * name) and `view` ({panel, params}: what the page shows).
   */
  lab.exportBundle = async ({ slot, view } = {}) => {
    const s = core.slotOf(slot);
    const info = await lab.info(s);
    const weights = await lab.exportWeights(s);
    const shipped = (await lab.datasets()).filter((d) => d.shipped);
    const trainedOn = shipped.find((d) => d.description === info.meta?.dataset);
    const own = trainedOn ? null : await ownDatasetOf(info);
    const files = [{ name: 'weights.bin', bytes: weights }];
    let dataset = trainedOn ? { name: trainedOn.name, shipped: true } : null;
    if (own) {
      const args = await core.datasetArgs(own);
      dataset = { name: own, title: args.title, n: args.labels.length, own: true };
      files.push({ name: 'dataset/images.u8', bytes: args.images }, { name: 'dataset/labels.u8', bytes: args.labels });
    }
    const manifest = {
      format: BUNDLE_FORMAT,
      version: 1,
      created: new Date().toISOString(),
      model: { slot: s },
      dataset,
      view: cleanView(view),
    };
    files.unshift({ name: 'vaelab.json', bytes: new TextEncoder().encode(JSON.stringify(manifest)) });
    const { zipFiles } = await import('../zip-write.js');
    return zipFiles(files);
  };

  /** A name like `base` that is free, or `base` itself when `holds(base)` says it holds this already. */
  async function freeName(base, taken, holds) {
    const max = lab.constants.limits.maxSlotName;
    for (let k = 1; k < 1000; k++) {
      const name = k === 1 ? base : `${base.slice(0, max - String(k).length - 1)}-${k}`;
      if (!taken.includes(name) || (await holds(name))) return name;
    }
    throw bundleError(`no free name like '${base}'`);
  }

  /**
   * Open a .vaelab file (File, Blob, Uint8Array or ArrayBuffer): its dataset of your own is added
   * (kept in this browser) and held, its model loaded and made current. Nothing is replaced: a
   * name already taken by other contents gets a new one. Resolves to {slot, info, dataset, view,
   * stored}: `stored` false when this browser's storage refused them (they are in this tab only).
   */
  lab.openBundle = async (input) => {
    await lab.ready;
    const maxBytes = maxBundleBytes(lab.constants.limits);
    if (input?.size > maxBytes || input?.byteLength > maxBytes) throw bundleError(`larger than any bundle (${maxBytes} bytes)`);
    const { unzip } = await import('../zip.js');
    let files;
    try {
      files = new Map((await unzip(input, (name) => ENTRIES.includes(name), { limit: ENTRIES.length })).map((f) => [f.name, f.bytes]));
    } catch (e) {
      throw bundleError(`not a bundle (${e.message})`);
    }
    let m;
    try {
      m = JSON.parse(new TextDecoder().decode(files.get('vaelab.json') ?? new Uint8Array()));
    } catch {
      throw bundleError('no readable vaelab.json in it');
    }
    if (m?.format !== BUNDLE_FORMAT || m.version !== 1)
      throw bundleError(`format ${JSON.stringify(m?.format)} version ${m?.version}, expected vaelab 1`);
    const weights = files.get('weights.bin');
    if (!weights) throw bundleError('it holds no weights.bin');
    let stored = !!core.persistRuns;
    const refused = (e) => {
      if (e.kind !== 'storage') throw e;
      stored = false;
    };
    // the dataset first: a model's held-out numbers are on the dataset held
    let dataset = null;
    const d = m.dataset;
    if (d?.own) {
      const images = files.get('dataset/images.u8');
      const labels = files.get('dataset/labels.u8');
      if (!images || !labels || labels.length < 2 || images.length !== labels.length * PIXELS)
        throw bundleError(`its dataset is damaged: ${images?.length ?? 0} pixel bytes for ${labels?.length ?? 0} labels`);
      const own = (await lab.datasets()).filter((x) => x.own).map((x) => x.name);
      const base = String(d.name ?? 'bundle').slice(0, lab.constants.limits.maxSlotName) || 'bundle';
      dataset = await freeName(SHIPPED_DATASETS.includes(base) ? `${base}-own` : base, own, async (name) => {
        const a = await core.datasetArgs(name).catch(() => null);
        return !!a && same(a.images, images) && same(a.labels, labels);
      });
      if (!own.includes(dataset)) {
        const pixels = Float32Array.from(images, (v) => v / 255);
        const title = typeof d.title === 'string' ? d.title.slice(0, 80) : dataset;
        await lab.addImages(dataset, pixels, { labels, title }).catch(refused); // in this tab either way
      }
      if (lab.data?.name !== dataset) await lab.useDataset(dataset);
    } else if (d?.shipped && SHIPPED_DATASETS.includes(d.name)) {
      dataset = d.name;
      if (lab.data?.name !== dataset) await lab.useDataset(dataset);
    }
    const slots = await lab.slots();
    const base = String(m.model?.slot ?? 'bundle').slice(0, lab.constants.limits.maxSlotName) || 'bundle';
    const slot = await freeName(base, slots, async (name) => {
      const have = core.saved.get(name);
      return !!have && same(have, weights);
    });
    // loaded either way; `stored`: kept in this browser (a reload finds it)
    const info = await core.importWeights(weights, slot).catch(async (e) => (refused(e), lab.info(slot)));
    return { slot, info, dataset, view: cleanView(m.view), stored };
  };
}
