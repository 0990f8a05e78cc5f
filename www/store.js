// What the visitor makes survives a reload: the weights file of every model they trained or
// imported (store 'models'), every unfinished training run's latest checkpoint ('runs') and every
// dataset of their own images ('datasets'), in this browser's IndexedDB database 'vae-lab'.
//
// Every write is confirmed: a promise here resolves only once its transaction has committed, and
// rejects (kind 'storage', with a plain message) when the browser refuses it: a full disk, a
// quota, storage switched off, the database closed by another tab. Callers keep the work in
// memory and say that it is not kept.
//
// One connection is shared. Another tab that opens a newer version of the database (a new deploy)
// makes this one close at once (`onversionchange`), so that the other tab is never blocked; the
// next operation reopens whatever version is there now. Listeners of `storageNotices` hear of it.
const DB = 'vae-lab';
const MODELS = 'models';
const RUNS = 'runs';
const DATASETS = 'datasets';
const STORES = [MODELS, RUNS, DATASETS];

/** Events: 'notice' {message} (the connection was closed under us; it reopens by itself). */
export const storageNotices = new EventTarget();
const notice = (message) => storageNotices.dispatchEvent(new CustomEvent('notice', { detail: { message } }));

/** A storage failure as the app reports it: kind 'storage', the browser's reason in words. */
export function storageError(e, what = 'the write') {
  const name = e?.name ?? '';
  const why =
    name === 'QuotaExceededError'
      ? "this browser's storage for the app is full"
      : name === 'VersionError' || name === 'InvalidStateError'
        ? 'another tab changed the storage (a newer version of the app?)'
        : name === 'UnknownError'
          ? 'the browser could not write to disk (full disk?)'
          : e?.message || String(e);
  return Object.assign(new Error(`${what} was not kept in this browser: ${why}`), { kind: 'storage', cause: e });
}

let connection = null;

function openAt(version) {
  return new Promise((resolve, reject) => {
    const req = version === undefined ? indexedDB.open(DB) : indexedDB.open(DB, version);
    req.onupgradeneeded = () => {
      for (const name of STORES) if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    // another tab holds an older connection open and ignores versionchange: wait, but say why
    req.onblocked = () => notice('Saving waits for another VAE Lab tab to close its storage.');
  });
}

/** The shared connection: the database as it is now (whatever version), with our stores. */
function connect() {
  connection ??= (async () => {
    let db = await openAt();
    if (STORES.some((s) => !db.objectStoreNames.contains(s))) {
      const next = db.version + 1;
      db.close();
      db = await openAt(next);
    }
    db.onversionchange = () => {
      db.close();
      connection = null;
      notice('Another VAE Lab tab opened a newer version of the storage; this tab reconnected. If saving fails, reload this tab.');
    };
    // closed by the browser (storage cleared, disk error): the next operation reopens
    db.onclose = () => {
      connection = null;
      notice("The browser closed VAE Lab's storage (cleared, or a disk error); reconnecting for the next save.");
    };
    return db;
  })();
  connection.catch(() => {
    connection = null;
  });
  return connection;
}

// One operation at a time, in call order: a put still opening the database must not land after
// a later delete (that brought a removed model back after a reload).
let queue = Promise.resolve();
function run(mode, fn, store) {
  const next = queue.then(() => runNow(mode, fn, store));
  queue = next.catch(() => {});
  return next;
}

/** `fn(objectStore, tx)` makes the requests and returns {result} (read once the tx commits);
 *  it may throw to abort the transaction with its own error. */
async function runNow(mode, fn, store) {
  let db;
  try {
    db = await connect();
  } catch (e) {
    throw storageError(e, mode === 'readonly' ? 'the stored data could not be read:' : undefined);
  }
  return new Promise((resolve, reject) => {
    let tx;
    let thrown = null;
    try {
      tx = db.transaction(store, mode);
    } catch (e) {
      // the connection closed between connect() and here (another tab's version change)
      connection = null;
      reject(storageError(e));
      return;
    }
    const fail = (e) => reject(thrown ?? storageError(e));
    let result;
    try {
      result = fn(tx.objectStore(store), (e) => {
        thrown = e;
        tx.abort();
      });
    } catch (e) {
      thrown = e;
      tx.abort();
    }
    tx.oncomplete = () => resolve(result?.result);
    // the transaction aborts too: nothing of it is kept (the request's error names the reason)
    tx.onerror = (ev) => fail(ev.target?.error ?? tx.error);
    tx.onabort = () => fail(tx.error ?? new Error('the storage transaction was aborted'));
  });
}

const put = (store) => (key, value) => run('readwrite', (s) => s.put(value, key), store);
const del = (store) => (key) => run('readwrite', (s) => s.delete(key), store);
const all = (store) =>
  run(
    'readonly',
    (s) => {
      const keys = s.getAllKeys();
      const values = s.getAll(); // same transaction, so keys and values match
      return {
        get result() {
          return keys.result.map((k, i) => [k, values.result[i]]);
        },
      };
    },
    store,
  );

export const putModel = put(MODELS);
export const deleteModel = del(MODELS);
/** [[slot, Uint8Array], ...] */
export const allModels = () => all(MODELS);
export const modelNames = () => run('readonly', (s) => s.getAllKeys(), MODELS);

/** Unfinished runs: slot -> {bytes (checkpoint), epoch, epochs, options, history, dataset}. */
export const putRun = put(RUNS);
export const deleteRun = del(RUNS);
/** [[slot, record], ...] (records as stored: check them, see `checkRun`) */
export const allRuns = () => all(RUNS);
export const runNames = () => run('readonly', (s) => s.getAllKeys(), RUNS);

/** The visitor's own datasets: name -> {title, pixels (Uint8Array n*784), labels (Uint8Array n)}. */
export const putDataset = put(DATASETS);
export const deleteDataset = del(DATASETS);
/** [[name, record], ...] (records as stored: check them, see `checkDataset`) */
export const allDatasets = () => all(DATASETS);
/**
 * Read one dataset, change it and write it back in one transaction: IndexedDB runs readwrite
 * transactions on one store one after another, across tabs too, so two tabs that add images to
 * the same dataset keep each other's. `change(stored or undefined)` returns the new record (or
 * throws, which aborts and rejects with its error). Resolves to the record written.
 */
export const mergeDataset = (name, change) =>
  run(
    'readwrite',
    (s, abort) => {
      const out = { result: undefined };
      const req = s.get(name);
      req.onsuccess = () => {
        try {
          out.result = change(req.result);
          s.put(out.result, name);
        } catch (e) {
          abort(e);
        }
      };
      return out;
    },
    DATASETS,
  );

// --- records as stored: anything can be there (an older version, a forged or damaged entry) ---
const isBytes = (v) => v instanceof Uint8Array;

/** Why a stored run record cannot be resumed, or null when it can. */
export function checkRun(r) {
  if (!r || typeof r !== 'object') return `not a run record (${r === null ? 'null' : typeof r})`;
  if (!isBytes(r.bytes) || r.bytes.length === 0) return 'it holds no checkpoint';
  if (!Number.isInteger(r.epoch) || !Number.isInteger(r.epochs) || r.epoch < 0 || r.epoch > r.epochs) return 'its epoch count is damaged';
  if (!r.options || typeof r.options !== 'object') return 'its training options are missing';
  if (r.history !== undefined && !Array.isArray(r.history)) return 'its history is damaged';
  if (r.dataset !== undefined && typeof r.dataset !== 'string') return 'its dataset name is damaged';
  return null;
}

/** Why a stored dataset record cannot be used, or null when it can. */
export function checkDataset(r, pixelsPerImage = 784) {
  if (!r || typeof r !== 'object') return `not a dataset record (${r === null ? 'null' : typeof r})`;
  if (!isBytes(r.labels) || !isBytes(r.pixels)) return 'its images are missing';
  if (r.pixels.length !== r.labels.length * pixelsPerImage) return `${r.pixels.length} pixel bytes do not make ${r.labels.length} images`;
  if (r.title !== undefined && typeof r.title !== 'string') return 'its title is damaged';
  return null;
}
