// Models the user made (trained or imported) survive a reload: their weights files are kept in
// IndexedDB. Where IndexedDB is unavailable (some private modes) the app simply does not persist.
const DB = 'vae-lab';
const STORE = 'models';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// One operation at a time, in call order: a put still opening the database must not land after
// a later delete (that brought a removed model back after a reload).
let queue = Promise.resolve();
function run(mode, fn) {
  const next = queue.then(() => runNow(mode, fn));
  queue = next.catch(() => {});
  return next;
}

async function runNow(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const result = fn(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(result.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
    tx.onabort = () => { db.close(); reject(tx.error ?? new Error('storage transaction aborted')); }; // e.g. quota
  });
}

export const putModel = (slot, bytes) => run('readwrite', (s) => s.put(bytes, slot));
export const deleteModel = (slot) => run('readwrite', (s) => s.delete(slot));

/** [[slot, Uint8Array], ...] */
export const allModels = () => run('readonly', (s) => {
  const keys = s.getAllKeys();
  const values = s.getAll(); // same transaction, so keys and values match
  return { get result() { return keys.result.map((k, i) => [k, values.result[i]]); } };
});
