// Training runs: start one, list and continue the runs a reload cut off, forget one.
//
// Words (one meaning each):
// - *unpause*: a paused run goes on (the worker's op `unpause`; the handle's `resume()`, kept);
// - *restore*: a run continues from its last checkpoint (the worker's op `restoreRun`, which calls
//   the engine's checkpoint restore); the API's `resumeRun(slot)` does this, its name kept;
// - *warm start*: a new run starts from the slot's current weights instead of fresh ones (the
//   train option `resume: true`, the engine's `TrainOptions.resume`).
import { allRuns, deleteRun, checkRun } from '../store.js';
import { checkSlot } from './input.js';
import { runLock, holdLock, heldRunLocks } from './locks.js';
import { claimSlot, runHandle } from './run-handle.js';

/** Adds train, unfinishedRuns, resumeRun, discardRun, activeRun and hasUnsavedWork to the lab. */
export function addRuns(core) {
  const { lab, emit } = core;
  const call = (...a) => core.transport.call(...a);

  /**
   * Train a model. options: {arch:'C'} or {hidden:[60,32], latent:12}, epochs, lr, batch, seed,
   * limit (max training digits), beta (KL weight, default 1), klWarmup (epochs of linear KL
   * warm-up), slot (default: the first free 'run1', 'run2', ... across this browser's tabs),
   * resume (warm start: from the slot's current weights), engine ('burn' steps a CPU run through
   * burn's autodiff instead of the plain-Rust step: for benchmarks), output ('linear': the report's
   * decoder without the sigmoid; default 'sigmoid'), onProgress(p). Returns a
   * handle {slot, done: Promise<last progress>, started: Promise<slot>, pause(), resume(), stop(),
   * step(), setSpeed(n)}; `slot` is null until the name is claimed. Progress is also emitted as
   * 'progress' events.
   */
  lab.train = (options = {}) => {
    if (core.trainRun) throw new Error('a training run is already in progress: stop it first');
    const { onProgress, slot: wanted, ...rest } = options;
    if (wanted !== undefined) checkSlot(wanted);
    const warmStart = !!rest.resume;
    // the engine resolves the preset, fills the defaults and checks every value (lab::TrainOptions,
    // whose warm start is still called `resume`)
    const opts = {
      arch: rest.arch === undefined ? undefined : String(rest.arch),
      hidden: rest.hidden,
      latent: rest.latent,
      epochs: rest.epochs,
      lr: rest.lr,
      batch: rest.batch,
      seed: rest.seed,
      limit: rest.limit ?? undefined,
      resume: warmStart,
      beta: rest.beta,
      kl_warmup: rest.klWarmup,
      engine: rest.engine,
      output: rest.output,
    };
    return runHandle(core, claimSlot(core, wanted), opts, onProgress, (slot) => call('trainStart', { slot, options: opts }));
  };

  /** Stored run records, checked: [[slot, record]] of those that can be restored (the others are
   *  skipped and named in `storageProblems()`), without runs another tab is training. */
  async function restorableRuns() {
    const runs = await allRuns().catch((e) => {
      emit('storage', core.storage.said({ message: `Your unfinished runs could not be read: ${e.message}` }));
      return [];
    });
    const held = await heldRunLocks();
    return runs.filter(([slot, r]) => {
      if (slot === core.trainRun?.slot || held.has(runLock(slot))) return false;
      const problem = typeof slot !== 'string' ? 'its name is not a text' : checkRun(r);
      if (problem) core.storage.skipRecord('runs', slot, problem);
      return !problem;
    });
  }

  /** Runs that a reload, a closed tab or a crash interrupted: [{slot, epoch, epochs, options, history,
   *  dataset}]. Damaged records are skipped (named in `storageProblems()`). */
  lab.unfinishedRuns = async () => {
    if (!core.persistRuns) return [];
    return (await restorableRuns()).map(([slot, r]) => ({
      slot,
      epoch: r.epoch,
      epochs: r.epochs,
      options: r.options,
      history: r.history ?? [],
      dataset: r.dataset ?? 'mnist',
    }));
  };

  /** Continue an unfinished run from its last checkpoint (restore); the same handle as `train()`. */
  lab.resumeRun = async (slot, { onProgress } = {}) => {
    checkSlot(slot);
    await lab.ready;
    if (core.trainRun) throw new Error('a training run is already in progress: stop it first');
    const stored = (await restorableRuns()).find(([s]) => s === slot);
    const cannot = (why) => new Error(`run '${slot}' could not be resumed: ${why}`);
    if (!stored) {
      const problem = core.storage.problems.get(`runs:${slot}`);
      const busy = (await heldRunLocks()).has(runLock(slot));
      const why = problem
        ? `its record is damaged (${problem.problem})`
        : busy
          ? 'another tab is training it'
          : 'there is no unfinished run of that name';
      throw cannot(why);
    }
    const [, r] = stored;
    const release = await holdLock(runLock(slot));
    if (!release) throw cannot('another tab is training it');
    // a run goes on with the images it started on (MNIST and Fashion-MNIST have as many), held again
    const dataset = r.dataset ?? 'mnist';
    if (lab.data?.name !== dataset) {
      try {
        await lab.useDataset(dataset);
      } catch (e) {
        release();
        throw cannot(`it trained on the dataset '${dataset}', which is not available (${e.message})`);
      }
    }
    // the engine refuses a checkpoint made for another slot than the record's key
    let handle;
    try {
      const restore = () => call('restoreRun', { bytes: r.bytes, slot });
      handle = runHandle(core, Promise.resolve({ slot, release }), r.options, onProgress, restore, dataset);
    } catch (e) {
      release(); // a run started meanwhile
      throw e;
    }
    core.trainRun.record.history = (r.history ?? []).slice();
    try {
      await handle.started;
    } catch (e) {
      throw cannot(e.message);
    }
    return handle;
  };

  /** Forget an unfinished run, or a damaged run record (its weights at the last epoch stay only if
   *  it was resumed). */
  lab.discardRun = async (slot) => {
    await deleteRun(checkSlot(slot));
    core.reserved.delete(slot);
    core.storage.problems.delete(`runs:${slot}`);
    core.storage.forget(`run:${slot}`);
  };

  /** The handle of the run in progress (whoever started it: the Train panel follows runs started
   *  from the console too), or null. */
  lab.activeRun = () => core.trainRun?.api ?? null;

  /** True while something the visitor made is only in this tab: a run's steps since its last
   *  checkpoint, a checkpoint not yet confirmed by storage, or anything storage refused (the page
   *  warns on unload). */
  lab.hasUnsavedWork = () =>
    (!!core.trainRun && (core.trainRun.record.dirty || !core.trainRun.record.kept)) || core.storage.unsaved.size > 0;
}
