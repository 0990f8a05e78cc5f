// Cross-tab locks (Web Locks API; absent outside secure contexts, where tabs are not coordinated).

/** The browser's lock manager, or undefined. */
export const locks = () => (typeof navigator !== 'undefined' ? navigator.locks : undefined);

/** The lock a tab holds while it trains `slot`: other tabs neither take the name nor resume it. */
export const runLock = (slot) => `vae-lab-run:${slot}`;

/** Hold `name` until the returned release() is called (or the tab closes); null when another tab
 *  holds it. Without Web Locks: always granted. */
export async function holdLock(name) {
  const l = locks();
  if (!l) return () => {};
  let release;
  const held = new Promise((res) => {
    release = res;
  });
  const granted = await new Promise((resolve) => {
    l.request(name, { ifAvailable: true }, (lock) => {
      resolve(!!lock);
      return lock ? held : null;
    }).catch(() => resolve(false));
  });
  return granted ? release : null;
}

/** Names of the run locks other tabs (and this one) hold. */
export async function heldRunLocks() {
  const l = locks();
  if (!l) return new Set();
  const { held = [], pending = [] } = await l.query().catch(() => ({}));
  return new Set([...held, ...pending].map((x) => x.name));
}
