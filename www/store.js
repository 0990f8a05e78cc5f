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

async function run(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const result = fn(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(result.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  });
}

export const putModel = (slot, bytes) => run('readwrite', (s) => s.put(bytes, slot));
export const deleteModel = (slot) => run('readwrite', (s) => s.delete(slot));

/** [[slot, Uint8Array], ...] */
export async function allModels() {
  const keys = await run('readonly', (s) => s.getAllKeys());
  const values = await run('readonly', (s) => s.getAll());
  return keys.map((k, i) => [k, values[i]]);
}
