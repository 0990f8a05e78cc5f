// The API's logic (www/lab/) against a fake worker, in node: the request queue, a restart while a
// request is in flight, run names across reloads, concurrent dataset additions. Seconds, no browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workers, settle } from './fake-worker.mjs';
import { createVaeLab } from '../../www/vaelab.js';
import { putModel, putRun, allDatasets, modelNames } from '../../www/store.js';

const last = () => workers[workers.length - 1];
/** A lab on a fresh fake worker; ended after the test (a BroadcastChannel keeps node alive). */
function labFor(t, options = {}) {
  const lab = createVaeLab({ backend: 'cpu', ...options });
  t.after(() => lab.terminate());
  return { lab, worker: last() };
}

test('requests go out in order with their own ids, and answers find their callers in any order', async (t) => {
  const { lab, worker } = labFor(t, { persistRuns: false });
  await lab.ready;
  let releaseFirst;
  worker.answers.info = ({ slot }) => (slot === 'A' ? new Promise((r) => (releaseFirst = () => r({ slot }))) : { slot });
  const first = lab.info('A');
  const second = lab.info('B');
  await settle();
  assert.deepEqual(
    worker.ops('info').map((r) => r.args.slot),
    ['A', 'B'],
  );
  assert.deepEqual(await second, { slot: 'B' }); // answered before the first
  releaseFirst();
  assert.deepEqual(await first, { slot: 'A' });
  const ids = worker.requests.map((r) => r.id);
  assert.deepEqual(
    ids,
    [...ids].sort((a, b) => a - b),
  );
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(worker.requests[0].op, 'init');
});

test('an engine error keeps its kind; terminate() fails the calls in flight and every later one', async (t) => {
  const { lab, worker } = labFor(t, { persistRuns: false });
  await lab.ready;
  worker.answers.info = () => Promise.reject(Object.assign(new Error('no such slot'), { kind: 'input' }));
  await assert.rejects(lab.info('X'), (e) => e.message === 'no such slot' && e.kind === 'input');
  worker.answers.slots = () => new Promise(() => {}); // never answered
  const inFlight = lab.slots();
  lab.terminate();
  await assert.rejects(inFlight, (e) => e.kind === 'engine' && /terminated/.test(e.message));
  await assert.rejects(lab.slots(), (e) => e.kind === 'engine');
  assert.equal(worker.terminated, true);
});

test('a crash mid-request: the request fails saying so, a new CPU engine gets every model back, later calls wait for it', async (t) => {
  const { lab, worker } = labFor(t, { persistRuns: false, backend: 'auto' });
  await lab.ready;
  await lab.importWeights(new Uint8Array([5, 6, 7]), 'mine');
  worker.answers.sample = () => new Promise(() => {}); // held: the engine dies first
  const events = [];
  lab.on('restarting', (d) => events.push(['restarting', d.reason]));
  lab.on('backend', (d) => events.push(['backend', d.backend]));
  const inFlight = lab.sample(4, 0, 'mine');
  await settle();
  worker.crash('RuntimeError: unreachable');
  const during = lab.slots(); // made during the restart: goes to the new engine
  await assert.rejects(inFlight, /crashed \(RuntimeError: unreachable\); restarted on the CPU with the current weights/);
  assert.deepEqual(await during, []);
  const fresh = last();
  assert.notEqual(fresh, worker);
  assert.equal(worker.terminated, true);
  assert.equal(fresh.requests[0].op, 'init');
  assert.equal(fresh.requests[0].args.backend, 'cpu');
  const reloaded = fresh.ops('loadWeights').map((r) => [r.args.slot, [...r.args.bytes]]);
  assert.deepEqual(reloaded, [['mine', [5, 6, 7]]]);
  // the models are back before the waiting call is posted
  const order = fresh.requests.map((r) => r.op);
  assert.ok(order.indexOf('slots') > order.indexOf('loadWeights'), `order: ${order}`);
  assert.equal(events[0][0], 'restarting');
  assert.deepEqual(events.at(-1), ['backend', 'cpu']);
  assert.match(lab.fallbackReason, /continuing on the CPU/);
});

test('a trap answer restarts the engine; a run in progress ends with the error', async (t) => {
  const { lab, worker } = labFor(t, { persistRuns: false });
  await lab.ready;
  const handle = lab.train({ arch: 'A', epochs: 1 });
  assert.equal(await handle.started, 'run1');
  worker.answers.info = () => Promise.reject(Object.assign(new Error('unreachable'), { kind: 'trap' }));
  await assert.rejects(lab.info('run1'), /unreachable/);
  await assert.rejects(handle.done, /the model engine failed \(unreachable\); restarted on the CPU/);
  await lab.slots();
  assert.equal(workers.at(-1).requests[0].op, 'init');
  assert.equal(lab.activeRun(), null);
});

test('run names: the first free runN, across reloads (stored models and unfinished runs keep theirs)', async (t) => {
  const { lab } = labFor(t);
  await lab.ready;
  const handle = lab.train({ arch: 'A', epochs: 1 });
  assert.equal(await handle.started, 'run1');
  // the run ends: its weights are stored under its name before `done` resolves
  last().event('progress', { done: true, chunk: { steps: 3 }, epoch: 1, epochs: 1 });
  await handle.done;
  assert.ok((await modelNames()).includes('run1'));
  lab.terminate();
  // a reload: another tab's run (stored checkpoint) holds run2
  await putRun('run2', { bytes: new Uint8Array([1]), epoch: 0, epochs: 1, options: {}, history: [] });
  const { lab: again } = labFor(t);
  await again.ready;
  const next = again.train({ arch: 'A', epochs: 1 });
  assert.equal(await next.started, 'run3');
  assert.deepEqual(
    (await again.unfinishedRuns()).map((r) => r.slot),
    ['run2'],
  );
  next.stop();
  last().event('train-stopped', {});
  await next.done;
  // a name given is taken as it is
  await putModel('run4', new Uint8Array([1]));
  const named = again.train({ arch: 'A', epochs: 1, slot: 'mine' });
  assert.equal(await named.started, 'mine');
});

test('concurrent dataset additions: two tabs and overlapping calls keep every image', async (t) => {
  const { lab: one } = labFor(t);
  const { lab: two } = labFor(t);
  await Promise.all([one.ready, two.ready]);
  const images = (k, v) => Array.from({ length: k }, () => new Float32Array(784).fill(v));
  const added = await Promise.all([
    one.addImages('mine', images(3, 0.5)),
    one.addImages('mine', images(2, 1), { labels: [7, 8] }),
    two.addImages('mine', images(4, 0)),
    two.addImages('other', images(1, 0)),
  ]);
  assert.deepEqual(
    added.map((a) => a.name),
    ['mine', 'mine', 'mine', 'other'],
  );
  const stored = new Map(await allDatasets());
  assert.equal(stored.get('mine').labels.length, 9);
  assert.equal(stored.get('other').labels.length, 1);
  // one tab's calls run one after another, in call order
  const mine = [...stored.get('mine').labels];
  assert.deepEqual(
    mine.filter((l) => l !== 255),
    [7, 8],
  );
  // refused before anything is stored: a shipped name, too many images
  await assert.rejects(one.addImages('mnist', images(1, 0)), (e) => e.kind === 'input');
  await assert.rejects(one.addImages('mine', new Float32Array(785)), (e) => e.kind === 'input');
  assert.equal(new Map(await allDatasets()).get('mine').labels.length, 9);
});

test('own images go to the engine as images and labels (it writes the digit file), copies transferred, after a crash too', async (t) => {
  const { lab, worker } = labFor(t);
  await lab.ready;
  const images = Array.from({ length: 3 }, (_, k) => new Float32Array(784).fill(k / 2));
  await lab.addImages('held', images, { labels: [4, 5, 6] });
  // the fake engine empties what it gets, as a transfer detaches it: the stored arrays stay
  worker.answers.useDataset = (args) => {
    const info = { name: args.name, own: true, title: args.name, classes: [], n_train: 2, n_test: 1 };
    args.images.fill(0);
    args.labels.fill(0);
    return info;
  };
  assert.equal((await lab.useDataset('held')).own, true);
  const [sent] = worker.ops('useDataset');
  assert.equal('bytes' in sent.args, false);
  assert.ok(sent.args.images instanceof Uint8Array && sent.args.labels instanceof Uint8Array);
  assert.deepEqual([sent.args.images.length, sent.args.labels.length], [3 * 784, 3]);
  assert.deepEqual(worker.transfers.get(sent.id), [sent.args.images.buffer, sent.args.labels.buffer]);
  const kept = await lab.datasetImages('held');
  assert.deepEqual([...kept.labels], [4, 5, 6]);
  assert.equal(kept.pixels[2 * 784], 1);
  // a crash: the new engine is given the dataset again, the same way
  worker.crash('RuntimeError: unreachable');
  await lab.slots();
  const fresh = last();
  assert.notEqual(fresh, worker);
  const [again] = fresh.ops('useDataset');
  assert.equal(again.args.name, 'held');
  assert.deepEqual([...again.args.labels], [4, 5, 6]);
  assert.equal(again.args.images[2 * 784], 255);
  assert.deepEqual(fresh.transfers.get(again.id), [again.args.images.buffer, again.args.labels.buffer]);
  assert.equal(lab.data.name, 'held');
});
