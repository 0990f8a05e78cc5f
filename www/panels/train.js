// Train: architecture and hyper-parameters, start/pause/resume/stop, live nELBO and KL charts
// (per epoch and within an epoch), several runs overlaid.
import uPlot from '../vendor/uPlot.esm.js';
import { el, labelled, fmt, SERIES_COLORS, chartWidth, fitCharts, printChart } from '../ui.js';
import { DecimatedSeries } from '../series.js';

/** uPlot wants one shared x array: merge each run's (x, y) points, null where a run has none. */
function align(runs, pick) {
  const xs = [...new Set(runs.flatMap((r) => pick(r).map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = runs.map((r) => {
    const y = new Array(xs.length).fill(null);
    for (const [x, v] of pick(r)) y[index.get(x)] = Number.isFinite(v) ? v : null;
    return y;
  });
  return [xs, ...ys];
}

function makeChart(target, title, xLabel, yLabel) {
  const opts = {
    title,
    width: chartWidth(target.parentElement, 640),
    height: 240,
    legend: { live: false },
    scales: { x: { time: false } },
    axes: [{ label: xLabel }, { label: yLabel, size: 60 }],
    series: [{ label: xLabel }],
  };
  return new uPlot(opts, [[]], target);
}

export default {
  id: 'train',
  create(app) {
    const { lab } = app;
    const runs = []; // {name, color, epochs: [[epoch, train, test, kl]], chunks: DecimatedSeries of [x, nelbo, kl, objective]}
    let handle = null;
    let charts = null;
    let rate = null;

    // presets, defaults and caps are the engine's (lab.constants); the form fills in at ready
    const preset = el('select', { id: 'train-arch' }, el('option', { value: 'custom' }, 'custom'));
    const hidden = el('input', { id: 'train-hidden', placeholder: 'e.g. 60,32', disabled: true, size: 10 });
    const latent = el('input', { id: 'train-latent', type: 'number', min: 1, disabled: true });
    const epochs = el('input', { id: 'train-epochs', type: 'number', min: 1 });
    const lr = el('input', { id: 'train-lr', type: 'number', step: 0.0001 });
    const batch = el('input', { id: 'train-batch', type: 'number', min: 1 });
    const limit = el('input', { id: 'train-limit', type: 'number', min: 1 });
    const limitNote = el('span', {}, '');
    const seed = el('input', { id: 'train-seed', type: 'number', min: 0, value: 0 });
    // collapse on demand: the objective rec + β·KL, β reached after a linear warm-up
    const beta = el('input', { id: 'train-beta', type: 'number', min: 0, step: 0.5, value: 1 });
    const warmup = el('input', { id: 'train-warmup', type: 'number', min: 0, value: 0 });
    // Collapse in one click: C twice, 20 epochs on every training digit, seed 0, β = 16 then
    // β = 1; measured natively (vae train + vae eval): β = 16 keeps 8 of 12 latents active at a
    // held-out nELBO of −92, β = 1 all 12 at −380 (a few seconds each on the CPU engine), so both
    // models are good enough to look at. (3 epochs on 1,280 digits left both near untrained.)
    const DEMO = { epochs: 20, seed: 0, betas: [16, 1] };
    const presetCollapse = el(
      'button',
      {
        id: 'train-preset-collapse',
        title:
          `Trains model C twice (${DEMO.epochs} epochs on all training digits, seed ${DEMO.seed}), β ` +
          `= ${DEMO.betas[0]} then β = 1, and opens the Collapse panel to compare their active units`,
        onclick: () => app.guard(collapseDemo),
      },
      `Collapse demo (β = ${DEMO.betas[0]} vs 1)`,
    );
    async function collapseDemo() {
      if (handle) throw new Error('A run is in progress: stop it first, then start the collapse demo.');
      // the demo's numbers are MNIST's, at the engine's batch and learning rate, at full speed
      if (lab.data?.name !== 'mnist') {
        app.say('The collapse demo trains on MNIST: switching to it (your images stay in the Data panel).');
        await lab.useDataset('mnist');
      }
      preset.value = 'C';
      usePreset();
      Object.assign(epochs, { value: DEMO.epochs });
      Object.assign(warmup, { value: 0 });
      Object.assign(seed, { value: DEMO.seed });
      Object.assign(batch, { value: lab.constants.batch });
      Object.assign(lr, { value: lab.constants.lr });
      speed.value = '';
      limit.value = limit.max || lab.data.n_train;
      app.say(
        `Collapse demo: model C twice on all ${Number(limit.value).toLocaleString('en')} training images, ${DEMO.epochs} ` +
          `epochs, seed ${DEMO.seed}: β = ${DEMO.betas[0]}, then β = 1; then their active units are compared.`,
      );
      for (const b of DEMO.betas) {
        beta.value = b;
        if ((await startRun(`collapse-beta${b}`)) !== 'done') return; // stopped or failed: said already
      }
      if (app.show) await app.show('collapse');
      else app.say('Both runs are done: a Collapse panel compares collapse-beta16 and collapse-beta1.');
    }
    // slow motion: one mini-batch at a time, or a few per second
    const speed = el(
      'select',
      { id: 'train-speed', 'aria-label': 'training speed' },
      ...[
        ['', 'full speed'],
        ['10', '10 steps/s'],
        ['4', '4 steps/s'],
        ['1', '1 step/s'],
      ].map(([v, t]) => el('option', { value: v }, t)),
    );
    speed.addEventListener('change', () => handle?.setSpeed(speed.value ? Number(speed.value) : null));
    const stepButton = el(
      'button',
      {
        id: 'train-step',
        disabled: true,
        title: 'Train one mini-batch of the paused run',
        onclick: () =>
          app.guard(async () => {
            await handle?.step();
          }),
      },
      'Step',
    );
    /** The named architecture (A–E, the two-latent C2) with these widths and latent size, if any. */
    const presetOf = (hidden, z) => lab.constants.shipped.find((p) => p.hidden.join(',') === hidden.join(',') && p.latent === z);
    /** A run's architecture in words: the preset's name, or its widths and latent size. */
    const archName = (o) =>
      o.arch ?? presetOf(o.hidden ?? [], o.latent ?? lab.constants.latent)?.name ?? `[${o.hidden}] z=${o.latent ?? lab.constants.latent}`;
    function usePreset() {
      const custom = preset.value === 'custom';
      hidden.disabled = latent.disabled = !custom;
      const named = lab.constants.shipped.find((p) => p.name === preset.value);
      if (named) {
        hidden.value = named.hidden.join(',');
        latent.value = named.latent;
      }
    }
    preset.addEventListener('change', usePreset);
    lab.ready.then(
      () => {
        const c = lab.constants;
        preset.prepend(
          ...lab.constants.shipped.map((p) =>
            el('option', { value: p.name, title: `${p.params.toLocaleString('en')} parameters, z = ${p.latent}` }, p.name),
          ),
        );
        preset.value = 'C';
        usePreset();
        Object.assign(epochs, { value: c.epochs, max: c.limits.maxEpochs });
        // the engine takes a rate strictly between the two (it says so for 0 or 1)
        Object.assign(lr, { value: c.lr, min: c.limits.minLr, max: c.limits.maxLr });
        Object.assign(batch, { value: c.batch, max: c.limits.maxBatch });
        Object.assign(beta, { max: c.limits.maxBeta });
        showDataset();
      },
      () => {},
    );
    /** The training-set size follows the dataset held (Data panel): all of it unless cut; the
     *  batch and epochs follow its size (suggestFor), and the form says why. */
    function showDataset() {
      const d = lab.data;
      const all = Number(limit.value) >= Number(limit.max || 0);
      limit.max = d.n_train;
      if (all || Number(limit.value) > d.n_train) limit.value = d.n_train;
      limitNote.textContent = `of ${d.n_train.toLocaleString('en')} (${d.title})`;
      // only for another dataset (or another size): images added to the one held, or a link
      // applied after the form was restored, leave what the student typed alone
      const key = `${d.name}|${d.n_train}`;
      if (key === suggestedFor) return;
      suggestedFor = key;
      const s = suggestFor(d.n_train);
      Object.assign(batch, { value: s.batch });
      Object.assign(epochs, { value: s.epochs });
      advice.textContent = s.why ?? '';
      advice.hidden = !s.why;
    }
    let suggestedFor = null;
    const advice = el('p', { id: 'train-advice', class: 'muted', hidden: true });
    /** Adam steps a run of `epochs` over `n` images in batches of `b` takes. */
    const stepsOf = (n, b, e) => e * Math.ceil(n / Math.max(1, b));
    /**
     * Settings that learn something from n training images. The engine's defaults (batch 64,
     * 10 epochs) when they give at least 1,000 Adam steps (MNIST's 9,000 give 1,410); for fewer
     * images a batch that fits (about a third of them, a power of two) and enough epochs for
     * about 2,000 steps. Measured on 12-30 own drawings: batch 64 for 10 epochs is 10 steps and
     * samples grey static; batch 8 for 500 epochs learns recognisable digits in 13 s.
     */
    function suggestFor(n) {
      const c = lab.constants;
      const plain = stepsOf(n, c.batch, c.epochs);
      if (plain >= 1000) return { batch: c.batch, epochs: c.epochs, why: null };
      const b = Math.max(1, Math.min(c.batch, 2 ** Math.round(Math.log2(Math.max(1, n / 3)))));
      const e = Math.min(c.limits.maxEpochs, Math.max(c.epochs, Math.ceil(2000 / Math.ceil(n / b))));
      return {
        batch: b,
        epochs: e,
        why:
          `Chosen for ${n.toLocaleString('en')} training images: batch ${b} and ${e} epochs, ${stepsOf(n, b, e).toLocaleString('en')} ` +
          `Adam steps (batch ${c.batch} for ${c.epochs} epochs would be ${plain}, too few to learn).`,
      };
    }
    lab.on('dataset', showDataset);

    const start = el('button', { class: 'primary', id: 'train-start', onclick: startRun }, 'Start');
    const pause = el(
      'button',
      {
        id: 'train-pause',
        disabled: true,
        onclick: () => {
          handle?.pause();
          setState('paused');
        },
      },
      'Pause',
    );
    const resume = el(
      'button',
      {
        id: 'train-resume',
        disabled: true,
        onclick: () => {
          handle?.resume();
          setState('running');
        },
      },
      'Resume',
    );
    const stop = el('button', { id: 'train-stop', disabled: true, onclick: () => handle?.stop() }, 'Stop');
    const bar = el('progress', { id: 'train-progress', max: 1, value: 0 });
    // slow motion and Step report each step's gradient norm per layer
    const gradNorms = el('div', { id: 'train-grad-norms', class: 'grad-norms', hidden: true });
    function showGradNorms(list) {
      const top = Math.max(...list.map((g) => g.norm), 1e-12);
      gradNorms.hidden = false;
      gradNorms.replaceChildren(
        el('span', { class: 'muted' }, 'gradient norm per layer, last step:'),
        ...list.map((g) =>
          el(
            'span',
            { class: 'gn', title: `‖∂objective/∂${g.layer}‖ = ${g.norm}` },
            el('i', { style: { width: `${Math.max(2, (48 * g.norm) / top)}px` } }),
            `${g.layer} ${g.norm.toPrecision(3)}`,
          ),
        ),
      );
      gradNorms.dataset.layers = String(list.length);
    }
    const status = el('span', { id: 'train-status', class: 'muted' }, 'idle');
    const table = el('table', { class: 'runs' });
    const chartBox = el('div', { class: 'charts' });
    const boxes = [el('div', { id: 'chart-nelbo' }), el('div', { id: 'chart-kl' }), el('div', { id: 'chart-chunk' })];
    chartBox.append(...boxes);
    fitCharts(chartBox, () => charts ?? [], 640, 240);

    function setState(s) {
      start.disabled = s === 'running' || s === 'paused';
      pause.disabled = s !== 'running';
      resume.disabled = s !== 'paused';
      stepButton.disabled = s !== 'paused';
      stop.disabled = !(s === 'running' || s === 'paused');
      document.getElementById('panel-train')?.setAttribute('data-state', s);
      state = s;
      if (s === 'paused')
        status.textContent = lastProgress
          ? `epoch ${lastProgress.epoch + 1}/${lastProgress.epochs} · step ${lastProgress.step}/${lastProgress.steps_per_epoch} · paused`
          : 'paused';
      // the button just pressed is disabled by the state it starts: focus moves to the one that
      // undoes it (Pause after Start or Resume, Resume after Pause, Start after the run ends), not
      // to the page's body
      const next = { running: pause, paused: resume, idle: start }[s];
      if (focusedControl?.disabled && !next.disabled) next.focus({ preventScroll: true });
    }
    let state = 'idle';
    let resuming = false;
    let lastProgress = null;
    /** The run control that has (or last had) the keyboard focus; null once focus goes elsewhere. */
    let focusedControl = null;
    const controls = [start, pause, resume, stop, stepButton];
    for (const b of controls)
      b.addEventListener('focus', () => {
        focusedControl = b;
      });
    document.addEventListener('focusin', (e) => {
      if (!controls.includes(e.composedPath()[0])) focusedControl = null;
    });

    function ensureCharts() {
      if (charts) return;
      charts = [
        makeChart(boxes[0], 'nELBO per epoch (solid: train, dashed: held-out)', 'epoch', 'nats / image'),
        makeChart(boxes[1], 'KL per epoch', 'epoch', 'nats / image'),
        makeChart(
          boxes[2],
          'nELBO within epochs (per chunk of steps; dotted: the objective rec + β·KL of a run with β ≠ 1)',
          'epoch',
          'nats / image',
        ),
      ];
    }

    function redraw() {
      if (!charts) return;
      const [cN, cK, cC] = charts;
      const sync = (chart, wanted) => {
        while (chart.series.length - 1 < wanted.length) chart.addSeries(wanted[chart.series.length - 1]);
      };
      sync(
        cN,
        runs.flatMap((r) => [
          { label: `${r.name} train`, stroke: r.color, width: 2 },
          { label: `${r.name} held-out`, stroke: r.color, width: 2, dash: [6, 4] },
        ]),
      );
      sync(
        cK,
        runs.map((r) => ({ label: r.name, stroke: r.color, width: 2 })),
      );
      // a run trained on rec + β·KL (β ≠ 1 or a warm-up) also draws its objective, dotted
      sync(
        cC,
        runs.flatMap((r) => [
          { label: r.name, stroke: r.color, width: 1.5, spanGaps: true },
          ...(r.weighted ? [{ label: `${r.name} objective`, stroke: r.color, width: 1.5, dash: [2, 3], spanGaps: true }] : []),
        ]),
      );
      const perEpoch = align(
        runs.flatMap((r) => [{ pts: r.epochs.map((e) => [e[0], e[1]]) }, { pts: r.epochs.map((e) => [e[0], e[2]]) }]),
        (r) => r.pts,
      );
      cN.setData(perEpoch);
      cK.setData(align(runs, (r) => r.epochs.map((e) => [e[0], e[3]])));
      cC.setData(
        align(
          runs.flatMap((r) => [
            { pts: r.chunks.points.map((c) => [c[0], c[1]]) },
            ...(r.weighted ? [{ pts: r.chunks.points.map((c) => [c[0], c[3]]) }] : []),
          ]),
          (r) => r.pts,
        ),
      );
    }
    /** Progress comes ~25 times a second (and an epoch can last milliseconds): the table and
     *  charts redraw at most every 250 ms while a run goes on, so the page's cost per minute
     *  stays flat. */
    let redrawTimer = null;
    let lastRedraw = 0;
    let tableStale = false;
    function redrawSoon(now = false) {
      if (now || performance.now() - lastRedraw > 250) {
        clearTimeout(redrawTimer);
        redrawTimer = null;
        lastRedraw = performance.now();
        if (tableStale) renderTable();
        tableStale = false;
        redraw();
      } else redrawTimer ??= setTimeout(() => redrawSoon(true), 250);
    }

    function renderTable() {
      table.replaceChildren(
        el(
          'thead',
          {},
          el('tr', {}, ...['run', 'architecture', 'epochs', 'train nELBO', 'KL', 'held-out nELBO', 'status'].map((h) => el('th', {}, h))),
        ),
        el(
          'tbody',
          {},
          ...runs.map((r) => {
            const last = r.epochs.at(-1);
            return el(
              'tr',
              {},
              el('td', {}, el('span', { class: 'swatch', style: { background: r.color } }), r.name),
              el('td', {}, r.arch),
              el('td', {}, `${r.epochs.length}/${r.total}`),
              el('td', {}, fmt(last?.[1])),
              el('td', {}, fmt(last?.[3])),
              el('td', {}, fmt(last?.[2])),
              el('td', {}, r.status),
            );
          }),
        ),
      );
    }

    function onProgress(run, d) {
      lastProgress = d;
      const batchSize = handle?.options.batch ?? lab.constants.batch;
      if (d.chunk.steps > 0 && d.ms > 0) {
        const now = (d.chunk.steps * batchSize * 1000) / d.ms;
        rate = rate === null ? now : 0.8 * rate + 0.2 * now;
      }
      const done = d.images / (d.images_per_epoch * d.epochs);
      bar.value = done;
      const left = rate ? (d.images_per_epoch * d.epochs - d.images) / rate : NaN;
      const eta = Number.isFinite(left) ? `${Math.floor(left / 60)}:${String(Math.round(left % 60)).padStart(2, '0')}` : '–';
      const objective =
        d.kl_weight !== 1 && Number.isFinite(d.chunk.rec)
          ? ` · objective ${fmt(d.chunk.rec + d.kl_weight * d.chunk.kl)} (KL weight ${d.kl_weight.toFixed(2)})`
          : '';
      status.textContent =
        state === 'paused'
          ? `epoch ${Math.min(d.epoch + 1, d.epochs)}/${d.epochs} · step ${d.step}/${d.steps_per_epoch} · paused${objective}`
          : `epoch ${Math.min(d.epoch + (d.done ? 0 : 1), d.epochs)}/${d.epochs} · step ${d.step}/${d.steps_per_epoch} ` +
            `· ${rate ? Math.round(rate).toLocaleString('en') : '–'} images/s · ETA ${eta}${objective}`;
      status.dataset.images = String(d.images);
      if (d.grad_norms) showGradNorms(d.grad_norms);
      if (d.chunk.steps > 0 && Number.isFinite(d.chunk.nelbo)) {
        const x = d.epoch_end ? d.epoch_end.epoch : d.epoch + d.step / d.steps_per_epoch;
        // [x, true nELBO, KL, the objective the run minimises: rec + (current KL weight)·KL]
        run.chunks.push([x, d.chunk.nelbo, d.chunk.kl, Number.isFinite(d.chunk.rec) ? d.chunk.rec + d.kl_weight * d.chunk.kl : null]);
      }
      if (d.epoch_end) {
        const e = d.epoch_end;
        run.epochs.push([e.epoch, e.train.nelbo, e.test.nelbo, e.train.kl]);
        tableStale = true;
      }
      redrawSoon(!!d.done || !!d.error);
    }

    /** Start a run from the form (into `slot`, default the next free runN); resolves to how it
     *  ended ('done', 'stopped', 'error', ...), or undefined when it did not start. */
    async function startRun(slot) {
      let widths;
      try {
        widths = hidden.value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map((s) => {
            const w = Number(s);
            if (!Number.isInteger(w) || w < 1) throw new Error(`hidden widths: '${s}' is not a positive integer`);
            return w;
          });
      } catch (e) {
        app.say(e.message, 'error');
        return;
      }
      // a run too short to learn anything is allowed, and said
      const steps = stepsOf(Math.min(Number(limit.value), lab.data.n_train), Number(batch.value), Number(epochs.value));
      if (steps < 300)
        app.say(
          `This run is only ${steps} Adam steps: too few to learn much. Give ` +
            `it more epochs or a smaller batch (about 1,000 steps or more).`,
          'warn',
        );
      ensureCharts();
      const arch =
        (preset.value === 'custom' ? `[${widths.join(',')}] z=${latent.value}` : preset.value) +
        (Number(beta.value) !== 1 ? ` β=${beta.value}` : '') +
        (Number(warmup.value) > 0 ? ` warm-up ${warmup.value}` : '');
      const run = newRun(arch, Number(epochs.value), [], Number(beta.value) !== 1 || Number(warmup.value) > 0);
      try {
        handle = lab.train({
          hidden: widths,
          latent: Number(latent.value),
          epochs: Number(epochs.value),
          lr: Number(lr.value),
          batch: Number(batch.value),
          seed: Number(seed.value),
          limit: Number(limit.value),
          beta: Number(beta.value),
          klWarmup: Number(warmup.value),
          slot: typeof slot === 'string' ? slot : undefined,
          onProgress: (d) => onProgress(run, d),
        });
        if (speed.value) handle.setSpeed(Number(speed.value));
      } catch (e) {
        app.say(e.message, 'error');
        return;
      }
      return follow(run, handle);
    }

    /** `weighted`: trained on rec + β·KL with β ≠ 1 or a warm-up (its objective is charted too). */
    function newRun(arch, total, history = [], weighted = false) {
      rate = null;
      lastProgress = null;
      return {
        name: '',
        color: SERIES_COLORS[runs.length % SERIES_COLORS.length],
        chunks: new DecimatedSeries(1000),
        status: 'running',
        arch,
        total,
        weighted,
        epochs: history.map((e) => [e.epoch, e.train.nelbo, e.test.nelbo, e.train.kl]),
      };
    }

    /** Show a run (new or resumed) until it ends. */
    /** `adopted`: a run started outside the panel, whose progress comes as 'progress' events. */
    async function follow(run, h, adopted = false) {
      const onEvent = (e) => onProgress(run, e.detail);
      if (adopted) lab.events.addEventListener('progress', onEvent);
      // a new run's name is claimed across this browser's tabs first (lab.train's handle.started)
      setState('running');
      run.name = h.slot ?? (await h.started.catch(() => 'run')); // the charts' series take the name
      runs.push(run);
      renderTable();
      redraw();
      try {
        await h.done;
        run.status = run.epochs.length >= run.total ? 'done' : 'stopped';
        // the message, the table and the status line say the same thing
        app.say(
          `${run.name} ${run.status === 'done' ? 'finished' : `stopped after epoch ${run.epochs.length} of ${run.total}`}: ` +
            `held-out nELBO ${fmt(run.epochs.at(-1)?.[2])}. It is now the current model.`,
        );
      } catch (e) {
        // a run whose model storage refused has trained: it is here, only not kept
        run.status = e.kind === 'storage' ? 'done, not kept' : 'error';
        app.say(`${run.name}: ${e.message}${e.kind === 'storage' ? '. Export it (Models) to keep it' : ''}`, 'error');
      } finally {
        if (adopted) lab.events.removeEventListener('progress', onEvent);
        handle = null;
        setState('idle');
        renderTable();
        status.textContent = `${run.name}: ${run.status}, ${run.epochs.length} of ${run.total} epochs`;
        listUnfinished();
      }
      return run.status;
    }

    /** Runs cut off by a reload, a closed tab or a crash: offer to resume or discard each. */
    const unfinished = el('div', { id: 'train-unfinished', class: 'unfinished', hidden: true });
    async function listUnfinished() {
      const list = await lab.unfinishedRuns().catch(() => []);
      // damaged records are skipped by the API and named here, each with its own Discard
      const damaged = lab.storageProblems().filter((p) => p.store === 'runs');
      const discard = (slot) =>
        el(
          'button',
          {
            'data-discard': slot,
            onclick: () =>
              app.guard(async () => {
                await lab.discardRun(slot);
                listUnfinished();
              }),
          },
          'Discard',
        );
      unfinished.hidden = list.length + damaged.length === 0;
      unfinished.replaceChildren(
        ...list.map((u) => {
          return el(
            'div',
            { class: 'row' },
            el('span', {}, `Unfinished run ${u.slot} (${archName(u.options)}, ${u.epoch} of ${u.epochs} epochs saved)`),
            el('button', { class: 'primary', 'data-resume': u.slot, disabled: !!handle, onclick: () => resumeRun(u) }, 'Resume'),
            discard(u.slot),
          );
        }),
        ...damaged.map((p) =>
          el(
            'div',
            { class: 'row', 'data-damaged': p.key },
            el('span', {}, `A saved run (${p.key.slice(0, 64)}) cannot be resumed: ${p.problem}`),
            discard(p.key),
          ),
        ),
      );
    }

    async function resumeRun(u) {
      if (handle) return;
      ensureCharts();
      const run = newRun(archName(u.options), u.epochs, u.history, (u.options.beta ?? 1) !== 1 || (u.options.kl_warmup ?? 0) > 0);
      let h;
      resuming = true; // the run's start event is ours, not one to adopt
      try {
        h = await lab.resumeRun(u.slot, { onProgress: (d) => onProgress(run, d) });
      } catch (e) {
        app.say(e.message, 'error');
        return;
      } finally {
        resuming = false;
      }
      handle = h;
      unfinished.hidden = true;
      app.say(`Resuming ${u.slot} from epoch ${u.epoch} of ${u.epochs}.`);
      await follow(run, h);
    }

    const root = el(
      'div',
      {},
      el(
        'div',
        { class: 'form' },
        labelled('Architecture', preset),
        labelled('Hidden widths', hidden),
        labelled('Latent dim', latent),
        labelled('Epochs', epochs),
        labelled('Learning rate', lr),
        labelled('Batch', batch),
        labelled('Training images', limit, limitNote),
        labelled('Seed', seed),
        labelled('KL weight β', beta, 'objective: rec + β·KL'),
        labelled('KL warm-up (epochs)', warmup),
      ),
      advice,
      unfinished,
      el('div', { class: 'row' }, start, pause, resume, stop, stepButton, labelled('Speed', speed), presetCollapse),
      el('div', { class: 'row progress-row' }, bar, status),
      gradNorms,
      table,
      chartBox,
    );
    setState('idle');
    lab.ready.then(listUnfinished, () => {});
    // After a reload the lesson is still here: every model kept from an earlier visit that was
    // trained (its weights file carries its history) is a row with its curves, and the form
    // holds the settings of the last of them.
    lab.ready
      .then(() => lab.restoreModels())
      .then(async ({ restored }) => {
        let lastMeta = null;
        for (const slot of restored) {
          const info = await lab.info(slot).catch(() => null);
          const history = info?.meta?.history;
          if (!history?.length || runs.some((r) => r.name === slot)) continue;
          const m = info.meta;
          const run = newRun(info.label, m.epochs ?? history.length, history, (m.beta ?? 1) !== 1 || (m.kl_warmup ?? 0) > 0);
          // the file records the epochs trained, not the run's plan: no guess between done and stopped
          Object.assign(run, { name: slot, total: history.length, status: 'saved' });
          runs.push(run);
          lastMeta = { ...m, arch: info.arch };
        }
        if (!lastMeta || handle) return;
        renderTable();
        if (charts) redraw();
        const m = lastMeta;
        const widths = (m.arch?.hidden ?? []).join(',');
        const named = presetOf(m.arch?.hidden ?? [], m.arch?.latent ?? lab.constants.latent);
        preset.value = named?.name ?? 'custom';
        usePreset();
        if (!named) {
          hidden.value = widths;
          latent.value = m.arch?.latent ?? lab.constants.latent;
        }
        for (const [input, v] of [
          [epochs, m.epochs],
          [lr, m.lr],
          [batch, m.batch],
          [seed, m.seed],
          [beta, m.beta ?? 1],
          [warmup, m.kl_warmup ?? 0],
        ]) {
          if (v !== undefined && v !== null) input.value = v;
        }
      })
      .catch(() => {});
    // a run started elsewhere (the console, another panel's script): followed here like our own
    lab.on('models', ({ training }) => {
      const h = lab.activeRun?.();
      if (!training || !h || h === handle || resuming) return;
      handle = h;
      const o = h.options;
      ensureCharts();
      follow(newRun(archName(o), o.epochs ?? lab.constants.epochs, [], (o.beta ?? 1) !== 1 || (o.kl_warmup ?? 0) > 0), h, true);
    });
    /** Every run's per-epoch curves, as the charts show them. */
    const csv = () => ({
      name: 'training-curves',
      rows: [
        ['run', 'epoch', 'train_nelbo', 'heldout_nelbo', 'kl'],
        ...runs.flatMap((r) => r.epochs.map((e) => [r.name, ...e.slice(0, 4)])),
      ],
    });
    /** All three charts redrawn at print size, stacked in one figure. */
    const figure = async () => {
      if (!charts || !runs.length) return null;
      const parts = [];
      for (const c of charts) parts.push(await printChart(uPlot, c));
      const out = el('canvas', { width: Math.max(...parts.map((p) => p.width)), height: parts.reduce((h, p) => h + p.height, 0) });
      const ctx = out.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, out.width, out.height);
      parts.reduce((y, p) => {
        ctx.drawImage(p, 0, y);
        return y + p.height;
      }, 0);
      return { canvas: out, name: 'training-curves', pixelated: false };
    };
    return {
      root,
      show: () => {
        ensureCharts();
        redraw();
      },
      csv,
      figure,
    };
  },
};
