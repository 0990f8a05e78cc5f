// The link to the engine's Worker: requests with ids, their answers, and the restart of a dead
// engine. While a crashed engine is replaced, new requests wait for the new one; requests in
// flight fail with a message that says so.

/**
 * The engine's Worker. A page may only start a Worker from its own origin, so a course page on
 * another host that imports VAE Lab starts a tiny same-origin module Worker (a blob URL) that
 * imports the real one across origins (a CORS module load: the host of VAE Lab must send
 * Access-Control-Allow-Origin). The app's own page uses the file itself: its CSP allows no blob
 * workers.
 */
export function startWorker(url) {
  if (url.origin === location.origin) return new Worker(url, { type: 'module' });
  const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};\n`], { type: 'text/javascript' }));
  const w = new Worker(shim, { type: 'module' });
  // the shim's import has started once the worker runs; the blob itself is no longer needed
  setTimeout(() => URL.revokeObjectURL(shim), 60_000);
  return w;
}

/**
 * A transport to the Worker at `url`. Hooks (the lab's):
 * - `event(data)`: a message that is an event ({event, detail});
 * - `trapped(message)`: a request failed because the wasm module trapped;
 * - `restart(reason, lost)`: bring up a new engine (called during `recover`, after the requests in
 *   flight have been failed with `lost`); requests made meanwhile wait for it;
 * - `restarting(reason)`, `fatal(message)`: said to the lab's listeners.
 */
export function createTransport(url, hooks) {
  const pending = new Map();
  let nextId = 1;
  let worker = null;
  let recovering = null;
  /** Set by `terminate()`: every call from then on rejects at once. */
  let terminated = null;

  const t = {
    /** True while a crashed engine is being replaced. */
    restarting: false,
    /** The restart in progress (a promise), or null. */
    recovering: () => recovering,
    /** Post a request to the current worker. Its queue runs requests in order, init first. */
    post: (op, args = {}, transfer = []) =>
      new Promise((resolve, reject) => {
        if (terminated) {
          reject(terminated);
          return;
        }
        const id = nextId++;
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, op, args }, transfer);
      }),
    /** Requests made while a crashed engine is being replaced wait until its models are back. */
    call: (op, args, transfer) => (recovering ? recovering.then(() => t.post(op, args, transfer)) : t.post(op, args, transfer)),
    /** Start a Worker and send it `init` with `initArgs`; resolves to init's answer. */
    start(initArgs) {
      worker = startWorker(url);
      worker.onmessage = receive;
      worker.onerror = (e) => {
        e.preventDefault();
        t.recover(`the model engine crashed (${e.message ?? 'unknown error'})`);
      };
      return t.post('init', initArgs);
    },
    /**
     * Replace a dead engine (through the `restart` hook). Requests in flight fail with a message
     * that says so; later requests go to the new engine.
     */
    recover(reason) {
      if (recovering) return recovering;
      t.restarting = true;
      recovering = (async () => {
        worker.terminate();
        const lost = new Error(`${reason}; restarted on the CPU with the current weights, try again`);
        failPending(lost);
        await hooks.restart(reason, lost);
      })()
        .catch((e) => hooks.fatal(`the model engine could not restart: ${e.message}`))
        .finally(() => {
          t.restarting = false;
        });
      // cleared only after the queued requests (chained on it above) have been posted
      recovering.finally(() => {
        recovering = null;
      });
      hooks.restarting(reason); // requests made from here on wait for the new engine
      return recovering;
    },
    /** Stop for good: calls in flight and every later call reject with `error`. */
    terminate(error) {
      terminated ??= error;
      worker.terminate();
      failPending(terminated);
      return terminated;
    },
  };

  function failPending(error) {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  }

  function receive({ data }) {
    if (data.event) {
      hooks.event(data);
      return;
    }
    const p = pending.get(data.id);
    if (!p) return;
    pending.delete(data.id);
    if (data.ok) p.resolve(data.result);
    else {
      // errors carry the engine's kind: input, data, weights, diverged, gpu, trap, engine
      p.reject(Object.assign(new Error(data.error), { kind: data.kind }));
      if (data.kind === 'trap') hooks.trapped(data.error);
    }
  }
  return t;
}
