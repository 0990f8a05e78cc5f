// Glue between the lab and the browser's storage (`../store.js`): writes that must be confirmed,
// what storage refused (kept in this tab and said), stored records that were skipped, and the
// other tabs' news about datasets.
import { storageError, storageNotices } from '../store.js';

/** Adds `core.storage` ({confirmWrite, forget, skipRecord, problems, unsaved, said, channel,
 *  close}) and the lab's `storageProblems()` and `unsavedWork()`. */
export function addStorage(core) {
  const { lab, emit, persistRuns } = core;

  /** What the visitor made that storage refused: key ('model:run1', 'dataset:mine', 'run:run2')
   *  -> the message. Kept in this tab's memory; the page warns before unload while it is not empty. */
  const unsaved = new Map();
  /** The 'storage' event's detail: `detail` with the list of what is only in this tab. */
  const said = (detail) => ({ ...detail, unsaved: [...unsaved.values()] });
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
      if (fresh) emit('storage', said({ key, message: err.message }));
      throw err;
    }
    if (unsaved.delete(key)) emit('storage', said({ key, kept: true }));
  }
  /** A key that no longer needs keeping (removed by the visitor). */
  const forget = (key) => {
    if (unsaved.delete(key)) emit('storage', said({ key, kept: true }));
  };
  /** Another tab's version change, or the browser closing the database: said, never silent. */
  const onNotice = (e) => emit('storage', said({ message: e.detail.message, notice: true }));
  if (persistRuns) storageNotices.addEventListener('notice', onNotice);

  /** Stored records that could not be used (damaged, forged, from another version): skipped, and
   *  named here: [{store, key, problem}]. */
  const problems = new Map();
  const skipRecord = (store, key, problem) => {
    const id = `${store}:${key}`;
    if (problems.has(id)) return;
    problems.set(id, { store, key: String(key), problem });
    const what = store === 'runs' ? 'run' : 'dataset';
    emit('storage', said({ message: `A stored ${what} (${String(key).slice(0, 64)}) was skipped: ${problem}.`, problem: true }));
  };
  lab.storageProblems = () => [...problems.values()];
  /** Messages for everything storage refused that is only in this tab's memory. */
  lab.unsavedWork = () => [...unsaved.values()];

  // Other tabs of this origin say when they change a dataset, so this tab's lists stay true.
  const channel = persistRuns && typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel('vae-lab-store') : null;
  if (channel) {
    channel.onmessage = ({ data }) => {
      if (data?.store === 'datasets') {
        core.datasetsChanged?.(); // read again on next use
        emit('datasets', { name: String(data.name ?? ''), elsewhere: true });
      }
    };
  }
  const close = () => {
    storageNotices.removeEventListener('notice', onNotice);
    channel?.close();
  };
  core.storage = { confirmWrite, forget, skipRecord, problems, unsaved, said, channel, close };
}
