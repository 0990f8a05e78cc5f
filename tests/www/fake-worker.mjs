// A stand-in for the engine's Worker (www/worker.js), so the API's logic (www/lab/) runs in node:
// it answers the requests the API sends with canned results, and a test can hold an answer back,
// send events, or crash it. Installs the browser globals the API needs (Worker, location;
// IndexedDB from fake-indexeddb).
import 'fake-indexeddb/auto';

/** Every FakeWorker started, in order. */
export const workers = [];

const PRESETS = ['A', 'B', 'C', 'D', 'E'].map((name, i) => ({ name, hidden: [16 * (i + 1)], latent: 12, params: 1000 * (i + 1) }));
/** What init answers: the engine's constants as `Lab.constants()` gives them (the caps the API reads). */
export const CONSTANTS = {
  presets: PRESETS,
  shipped: [...PRESETS, { name: 'C2', hidden: [48], latent: 2, params: 900 }],
  latent: 12,
  epochs: 10,
  lr: 0.001,
  batch: 64,
  collapseDigits: 256,
  collapseBins: 20,
  limits: { maxParams: 5_000_000, maxSlotName: 64, maxImagesPerCall: 10_000, maxBeta: 100, maxEpochs: 10_000, maxBatch: 4_096 },
};
const MNIST = { name: 'mnist', title: 'MNIST', classes: [], own: false, n_train: 8000, n_test: 1000 };

export class FakeWorker {
  constructor(url, options) {
    this.url = String(url);
    this.options = options;
    /** Every request received: {id, op, args}. */
    this.requests = [];
    /** Request id -> the transfer list it was posted with. */
    this.transfers = new Map();
    /** op -> function(args, worker) giving the result (a promise to hold it back). */
    this.answers = { ...FakeWorker.answers };
    this.terminated = false;
    this.onmessage = null;
    this.onerror = null;
    workers.push(this);
  }

  postMessage(msg, transfer = []) {
    if (this.terminated) return;
    this.requests.push(msg);
    this.transfers.set(msg.id, transfer);
    const answer = this.answers[msg.op] ?? (() => null);
    Promise.resolve()
      .then(() => answer(msg.args, this))
      .then(
        (result) => this.reply({ id: msg.id, ok: true, result }),
        (e) => this.reply({ id: msg.id, ok: false, error: e.message, kind: e.kind ?? 'engine' }),
      );
  }

  /** A message to the page, as the worker posts it (dropped once terminated). */
  reply(data) {
    if (!this.terminated) this.onmessage?.({ data: structuredClone(data) });
  }

  /** An event ({event, detail}) to the page. */
  event(event, detail) {
    this.reply({ event, detail });
  }

  /** The worker dies as a crashed module worker does (an error event). */
  crash(message = 'boom') {
    this.onerror?.({ message, preventDefault() {} });
  }

  terminate() {
    this.terminated = true;
  }

  /** The requests for `op` so far. */
  ops(op) {
    return this.requests.filter((r) => r.op === op);
  }
}

/** Default answers, per op. */
FakeWorker.answers = {
  init: (args) => ({
    backend: args.backend === 'webgpu' ? 'webgpu' : 'cpu',
    fallbackReason: null,
    data: MNIST,
    gpu: null,
    constants: CONSTANTS,
    choice: null,
  }),
  slots: () => [],
  loadWeights: ({ slot }) => ({ slot, params: 10 }),
  loadPretrained: ({ slot }) => ({ info: { slot }, bytes: new Uint8Array([1, 2, 3]) }),
  exportWeights: () => new Uint8Array([9, 9, 9, 9]),
  sample: ({ n }) => new Float32Array(n * 784),
  trainStart: ({ slot }) => ({ slot }),
  useDataset: ({ name, images }) => ({ ...MNIST, name, own: !!images }),
  datasets: () => [{ ...MNIST, shipped: true }],
};

globalThis.Worker = FakeWorker;
// the API starts the worker from its own URL when it is same-origin: a file: URL's origin is 'null'
globalThis.location ??= { origin: 'null' };

/** Resolve after pending promise callbacks and queued tasks have run. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
