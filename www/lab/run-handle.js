// A training run's name and handle: claiming a free `runN` across this browser's tabs, and the
// handle that follows a run (progress, checkpoints into IndexedDB, the end).
import { putRun, deleteRun, runNames, modelNames } from '../store.js';
import { locks, runLock, holdLock, heldRunLocks } from './locks.js';

/**
 * Claim a run's slot across this browser's tabs: `wanted`, or the first `runN` that names no
 * model loaded here, no stored model or run, and no run another tab is training. The name is
 * chosen under one cross-tab lock ('vae-lab-names') and held (lock 'vae-lab-run:<slot>') until
 * the run ends or the tab closes, so two tabs never take the same name. Resolves to
 * {slot, release}.
 */
export async function claimSlot(core, wanted) {
  const { saved, reserved } = core;
  if (!core.persistRuns) {
    // nothing is shared with other tabs: names only need to be free here
    if (wanted !== undefined) return { slot: wanted, release: () => {} };
    for (let i = 1; ; i++) if (!saved.has(`run${i}`) && !reserved.has(`run${i}`)) return { slot: `run${i}`, release: () => {} };
  }
  const pick = async () => {
    if (wanted !== undefined) {
      const release = await holdLock(runLock(wanted));
      if (!release) throw Object.assign(new Error(`'${wanted}' is being trained in another tab`), { kind: 'input' });
      return { slot: wanted, release };
    }
    // locks first, then storage: a tab stores its run's model before it lets go of the name,
    // so a name is caught by one check or the other
    const held = await heldRunLocks();
    const taken = new Set([...saved.keys(), ...reserved]);
    for (const name of await modelNames().catch(() => [])) taken.add(name);
    for (const name of await runNames().catch(() => [])) taken.add(name);
    for (let i = 1; ; i++) {
      const slot = `run${i}`;
      if (taken.has(slot) || held.has(runLock(slot))) continue;
      const release = await holdLock(runLock(slot));
      if (release) return { slot, release };
    }
  };
  return locks() ? locks().request('vae-lab-names', pick) : pick();
}

/**
 * The handle of a run: {slot, done, started, pause, resume, stop, step, setSpeed}. `claimed`
 * resolves to {slot, release} (see claimSlot); `start(slot)` asks the engine to begin. `slot` is
 * null until the name is claimed (`started` resolves to it). Every checkpoint the engine makes
 * (run start, each epoch end) goes to IndexedDB and counts as kept only once the write is
 * confirmed; a run that ends (done, stopped, diverged) removes its checkpoint, a run cut off by a
 * crash or a reload keeps it for `resumeRun`. The run is `core.trainRun` while it lasts.
 */
export function runHandle(core, claimed, opts, onProgress, start, dataset = core.lab.data?.name ?? 'mnist') {
  const { lab, emit, persistRuns } = core;
  const { confirmWrite, forget } = core.storage;
  if (core.trainRun) throw new Error('a training run is already in progress: stop it first');
  let resolveDone, rejectDone;
  const done = new Promise((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  // a run can fail before its caller awaits `done` (an engine crash): not an unhandled rejection
  done.catch(() => {});
  let last = null;
  let slot = null;
  let release = () => {};
  // dirty: steps since the engine's last checkpoint; kept: that checkpoint is in storage
  const record = { options: opts, history: [], dirty: false, kept: true, checkpoints: 0 };
  /** The checkpoint write in progress, and the newest checkpoint waiting for it. */
  let writing = null;
  let waiting = null;
  let ended = false;
  const finish = (fn, v, { keepCheckpoint = false } = {}) => {
    ended = true;
    if (core.trainRun === run) core.trainRun = null;
    const end = (f, x) => {
      release();
      f(x);
    };
    if (!slot) return end(fn, v); // never started
    if (persistRuns && !keepCheckpoint) {
      // left behind, it is offered for resuming: harmless; forgotten once the checkpoint writes
      // queued before it have settled (a late refusal must not mark the ended run unsaved)
      // after the checkpoint write in flight (a queued newer one is dropped): a write landing
      // after the delete would leave the ended run behind as unfinished
      const key = `run:${slot}`;
      waiting = null;
      Promise.resolve(writing)
        .then(() => deleteRun(slot))
        .catch(() => {})
        .finally(() => forget(key));
    }
    // the run's weights (or the rolled-back ones) become the slot's host copy, kept in storage
    // before `done` resolves; a refusal rejects `done` (kind 'storage'), the model stays here
    if (core.transport.restarting) return end(fn, v);
    core.remember(slot).then(
      () => end(fn, v),
      (e) => (e.kind === 'storage' && fn === resolveDone ? end(rejectDone, Object.assign(e, { progress: v })) : end(fn, v)),
    );
  };
  /** Checkpoints go to storage one at a time: one that arrives while one is being written waits,
   *  and a newer one replaces it (a run of 500 tiny epochs on 30 own pictures wrote 500 and spent
   *  most of its time in IndexedDB; now it writes as fast as storage goes). */
  const writeCheckpoints = async () => {
    while (waiting) {
      const { bytes, epoch, epochs, seq, history } = waiting;
      waiting = null;
      await confirmWrite(`run:${slot}`, `the checkpoint of ${slot} (epoch ${epoch} of ${epochs})`, () =>
        putRun(slot, { bytes, epoch, epochs, options: opts, history, dataset }),
      ).then(
        () => {
          if (seq === record.checkpoints) record.kept = true;
        },
        () => {},
      );
    }
    writing = null;
  };
  const run = {
    slot,
    record,
    handle(type, d) {
      if (type === 'progress') {
        last = d;
        if (d.chunk.steps > 0) record.dirty = true;
        if (d.epoch_end) record.history.push(d.epoch_end);
        onProgress?.(d);
        if (d.error) finish(rejectDone, Object.assign(new Error(d.error), { progress: d }));
        else if (d.done) finish(resolveDone, d);
      } else if (type === 'checkpoint') {
        record.dirty = false;
        if (!persistRuns) return;
        record.kept = false;
        waiting = { ...d, seq: ++record.checkpoints, history: record.history.slice() };
        writing ??= writeCheckpoints();
      } else if (type === 'train-stopped') finish(resolveDone, last);
      else if (type === 'train-error') finish(rejectDone, new Error(d.message), { keepCheckpoint: true });
    },
  };
  core.trainRun = run;
  // the run's controls go to the engine after its start request (the name is claimed first)
  let markPosted;
  const posted = new Promise((res) => {
    markPosted = res;
  });
  const control = (op, args) => posted.then(() => core.transport.call(op, args));
  const handle = {
    slot: null,
    done,
    options: opts,
    pause: () => control('trainPause'),
    /** Unpause (the handle's word stays `resume`; the worker's op is `unpause`). */
    resume: () => control('unpause'),
    stop: () => control('trainStop'),
    /** One mini-batch of a paused run; resolves to its progress (also a 'progress' event). */
    step: () => control('trainStep'),
    /** Slow motion: steps per second (down to 1, or below), null for full speed. */
    setSpeed: (stepsPerSecond) => control('trainSpeed', { stepsPerSecond: stepsPerSecond ?? null }),
  };
  /** Resolves to the slot when the engine has begun the run (the slot exists from then on). */
  handle.started = claimed
    .then((c) => {
      // ended while the name was claimed (the engine crashed, terminate()): nothing to start
      if (ended) {
        c.release();
        throw new Error('the run ended before it started');
      }
      ({ slot, release } = c);
      run.slot = slot;
      handle.slot = slot;
      const starting = start(slot);
      markPosted();
      return starting;
    })
    .then(
      () => {
        core.shipped.delete(slot);
        lab.current = slot;
        core.reserved.add(slot);
        emit('models', { slot, training: true });
        return slot;
      },
      (e) => {
        markPosted();
        finish(rejectDone, e, { keepCheckpoint: true });
        throw e;
      },
    );
  handle.started.catch(() => {}); // the failure is `done`'s too: only a caller who awaits it sees it
  run.api = handle;
  return handle;
}
