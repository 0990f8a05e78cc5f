// Models the user made (trained or imported) survive a reload: their weights files are kept in
// IndexedDB, and so is every unfinished training run's latest checkpoint (store 'runs') and every
// dataset made of the visitor's own images (store 'datasets'). Where
// IndexedDB is unavailable (some private modes) the app simply does not persist.
const DB = 'vae-lab';
const MODELS = 'models';
const RUNS = 'runs';
const DATASETS = 'datasets';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 3);
    req.onupgradeneeded = () => {
      for (const name of [MODELS, RUNS, DATASETS]) if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// One operation at a time, in call order: a put still opening the database must not land after
// a later delete (that brought a removed model back after a reload).
let queue = Promise.resolve();
function run(mode, fn, store = MODELS) {
  const next = queue.then(() => runNow(mode, fn, store));
  queue = next.catch(() => {});
  return next;
}

async function runNow(mode, fn, store) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const result = fn(tx.objectStore(store));
    tx.oncomplete = () => { db.close(); resolve(result.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
    tx.onabort = () => { db.close(); reject(tx.error ?? new Error('storage transaction aborted')); }; // e.g. quota
  });
}

export const putModel = (slot, bytes) => run('readwrite', (s) => s.put(bytes, slot));
export const deleteModel = (slot) => run('readwrite', (s) => s.delete(slot));

const all = (store) => run('readonly', (s) => {
  const keys = s.getAllKeys();
  const values = s.getAll(); // same transaction, so keys and values match
  return { get result() { return keys.result.map((k, i) => [k, values.result[i]]); } };
}, store);

/** [[slot, Uint8Array], ...] */
export const allModels = () => all(MODELS);
export const modelNames = () => run('readonly', (s) => s.getAllKeys());

/** Unfinished runs: slot -> {bytes (checkpoint), epoch, epochs, options, history}. */
export const putRun = (slot, record) => run('readwrite', (s) => s.put(record, slot), RUNS);
export const deleteRun = (slot) => run('readwrite', (s) => s.delete(slot), RUNS);
/** [[slot, record], ...] */
export const allRuns = () => all(RUNS);

/** The visitor's own datasets: name -> {title, pixels (Uint8Array n*784), labels (Uint8Array n)}. */
export const putDataset = (name, record) => run('readwrite', (s) => s.put(record, name), DATASETS);
export const deleteDataset = (name) => run('readwrite', (s) => s.delete(name), DATASETS);
/** [[name, record], ...] */
export const allDatasets = () => all(DATASETS);
