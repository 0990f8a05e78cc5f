// The report, live (report.html): the study of ../shared/docs/report.md redone in the page. It
// opens on the shipped A–E; Reproduce trains all five again with the report's settings (or fewer
// epochs), survives a reload (each run resumes from its last epoch, the finished ones are kept),
// and every table, figure and verdict is recomputed from whichever models are shown.
import { createVaeLab } from '../vaelab.js';
import { el } from '../ui.js';
import { ARCHS, FIG4_DIGITS, measureModel, verdicts } from './measure.js';
import { tableOne, tableTwo, curves, curveData, reconstructions, digitGrid, klBars } from './draw.js';
import { saveReport } from './save.js';

const params = new URLSearchParams(location.search);
const lab = createVaeLab({ backend: params.get('backend') ?? 'auto', preload: ARCHS });
window.vaeLab = lab; // as on the app's page: for the console and the tests
const PLAN = 'vaelab-report-plan'; // a reproduction under way: {epochs, exact}
const $ = (id) => document.getElementById(id);
const status = (text) => ($('report-status').textContent = text);

/** The slot of model `a` in a set: the shipped one, or this page's reproduction (report-exact or not). */
const slotOf = (a, { reproduced, exact }) => (reproduced ? `report${exact ? '-linear' : ''}-${a}` : a);
let exact = params.get('exact') === '1';
let shown = {}; // arch -> measured model, of the set on screen
let live = {}; // arch -> {history, train, held, epochs}: a reproduction's progress, before the figures
let charts = [];
let shownSet = { reproduced: false, exact: false };

function plan() {
  try {
    return JSON.parse(localStorage.getItem(PLAN) ?? 'null');
  } catch {
    return null;
  }
}

/** Count a finished rendering (a hook for tests and the benchmark). */
const rendered = () => (document.body.dataset.rendered = String(Number(document.body.dataset.rendered ?? 0) + 1));

/** Which set is on screen: this page's reproduction in the current mode once all five are there, each
 *  with all its epochs and the same number of them (not one a Stop cut short), else the shipped models. */
async function currentSet() {
  const slots = await lab.slots();
  const names = ARCHS.map((a) => slotOf(a, { reproduced: true, exact }));
  const infos = names.every((s) => slots.includes(s)) ? await Promise.all(names.map((s) => lab.info(s))) : [];
  const complete = (i) => i.meta?.epochs > 0 && i.meta.history?.length === i.meta.epochs && i.meta.epochs === infos[0].meta.epochs;
  const reproduced = infos.length === ARCHS.length && infos.every(complete);
  return { reproduced, exact, usable: reproduced || !exact };
}

/** Measure the five models of the set and draw everything from them. */
async function render() {
  const set = await currentSet();
  $('report-set').textContent = set.reproduced
    ? `Showing the models reproduced in this browser${exact ? ' with the linear decoder output (report-exact)' : ''}.`
    : exact
      ? 'Report-exact models are not shipped: Reproduce trains them here (about as fast as the others).'
      : 'Showing the shipped models (100 epochs, seed 0, trained by the CLI). Reproduce trains them again here.';
  document.body.dataset.set = set.reproduced ? 'reproduced' : 'shipped';
  shownSet = set;
  if (!set.usable) {
    // nothing to show in this mode yet: no figure or verdict of another set stays on screen
    shown = {};
    drawAll(null);
    for (const id of ['fig-3', 'fig-4-box', 'fig-samples', 'fig-chains', 'claims']) $(id).replaceChildren();
    status('');
    rendered();
    return;
  }
  const originals = await lab.testImages(FIG4_DIGITS);
  const models = {};
  for (const a of ARCHS) {
    status(`Measuring model ${a}: held-out numbers, per-latent KL, samples and 60 chains of 100 steps…`);
    models[a] = await measureModel(lab, slotOf(a, set), originals);
  }
  shown = models;
  drawAll(originals);
  status('');
  rendered();
}

/** Tables, figures and verdicts of `shown` (and the live reproduction's curves). */
function drawAll(originals) {
  // while a reproduction runs, the curves and Table II are its own (the figures stay those of the set shown)
  const reproducing = Object.keys(live).length > 0;
  const models = reproducing ? live : shown;
  $('table-2-box').replaceChildren(tableTwo(models, { exact }));
  // the charts are made once and given new data after (every epoch of a reproduction redraws them)
  if (charts.length) charts.forEach((c, i) => c.setData(curveData(models, i === 0 ? 'nelbo' : 'kl')));
  else {
    const width = Math.min(720, $('fig-1').clientWidth || 720);
    charts = [
      curves($('fig-1'), models, 'nelbo', 'Fig. 1: training nELBO per epoch', width),
      curves($('fig-2'), models, 'kl', 'Fig. 2: KL(q(z|x) ‖ p(z)) per epoch', width),
    ];
  }
  if (!originals) return;
  const ready = ARCHS.every((a) => shown[a]);
  $('fig-3').replaceChildren(...(ready ? klBars(shown) : []));
  $('fig-4-box').replaceChildren(ready ? reconstructions(originals, shown) : '');
  $('fig-samples').replaceChildren(
    ...(ready
      ? ARCHS.map((a, i) => figure(digitGrid(shown[a].samples, `fig-${5 + i}`, `samples of ${a}`), `Fig. ${5 + i}: model ${a}`))
      : []),
  );
  $('fig-chains').replaceChildren(
    ...(ready
      ? ARCHS.map((a, i) => figure(digitGrid(shown[a].chainLast, `fig-${10 + i}`, `chains of ${a}`), `Fig. ${10 + i}: model ${a}`))
      : []),
  );
  $('claims').replaceChildren(...verdicts(shown).map(claimRow));
}

const figure = (canvas, caption) => el('figure', {}, canvas, el('figcaption', {}, caption));

/** The app's address that shows a claim closer: a reproduced model is named as this browser keeps it. */
const closer = (href) => (shownSet.reproduced ? href.replace(/arch=([A-E])/, (_, a) => `model=${slotOf(a, shownSet)}`) : href);

function claimRow(v) {
  return el(
    'li',
    { class: `claim ${v.verdict.replace(/ /g, '-')}`, 'data-claim': v.id, 'data-verdict': v.verdict },
    el('q', {}, v.claim),
    ' ',
    el('strong', {}, `Here: ${v.verdict}.`),
    ' ',
    v.finding,
    ' ',
    el('a', { href: closer(v.panel), class: 'no-print' }, 'Look closer in VAE Lab →'),
  );
}

/** A reproduction's model as the curves and Table II show it, from its per-epoch history. */
function fromHistory(history) {
  const h = history.map((e) => ({ epoch: e.epoch, nelbo: e.train.nelbo, kl: e.train.kl, test: e.test.nelbo }));
  const last = history.at(-1);
  return {
    history: h,
    epochs: h.length,
    train: last ? { nelbo: last.train.nelbo, kl: last.train.kl } : null,
    held: last ? { nelbo: last.test.nelbo, kl: last.test.kl } : null,
  };
}

/** Train the five models (the report's settings, `epochs` each) one after another; resumes a cut-off run. */
async function reproduce(epochs) {
  localStorage.setItem(PLAN, JSON.stringify({ epochs, exact }));
  document.body.dataset.reproducing = 'true';
  $('reproduce').disabled = true;
  $('report-exact').disabled = true;
  $('report-stop').hidden = false;
  stopping = false;
  const stepsOf = (p) => p.epoch * p.steps_per_epoch + p.step;
  const started = performance.now();
  let doneSteps = 0;
  let firstStep = null;
  const bar = $('report-progress');
  bar.hidden = false;
  const unfinished = await lab.unfinishedRuns().catch(() => []);
  const slots = await lab.slots();
  for (const [i, a] of ARCHS.entries()) {
    const slot = slotOf(a, { reproduced: true, exact });
    const info = slots.includes(slot) ? await lab.info(slot) : null;
    const cut = unfinished.find((u) => u.slot === slot && u.epochs === epochs);
    // finished before a reload (kept in this browser): not trained again
    if (
      info &&
      !cut &&
      info.meta?.epochs === epochs &&
      info.meta?.history?.length === epochs &&
      info.arch.output === (exact ? 'linear' : undefined)
    ) {
      live[a] = fromHistory(info.meta.history);
      continue;
    }
    const records = [];
    live[a] = fromHistory(records);
    const onProgress = (p) => {
      const total = ARCHS.length * p.epochs * p.steps_per_epoch;
      doneSteps = i * p.epochs * p.steps_per_epoch + stepsOf(p);
      firstStep ??= doneSteps;
      const rate = (doneSteps - firstStep) / Math.max(1, performance.now() - started); // steps per ms
      const eta = rate > 0 ? (total - doneSteps) / rate / 1000 : NaN;
      bar.value = doneSteps / total;
      status(
        `Reproducing: model ${a}, epoch ${p.epoch} of ${p.epochs} (${Math.round((100 * doneSteps) / total)}% of all five)` +
          (Number.isFinite(eta) ? `, about ${Math.ceil(eta)} s left` : ''),
      );
      if (p.epoch_end) {
        records.push(p.epoch_end);
        live[a] = fromHistory(records);
        drawAll(null);
      }
    };
    if (cut) {
      records.push(...cut.history);
      live[a] = fromHistory(records);
      const handle = await lab.resumeRun(slot, { onProgress });
      await handle.done;
    } else {
      await lab.train({ arch: a, epochs, seed: 0, slot, output: exact ? 'linear' : undefined, onProgress }).done;
    }
    if (stopping) break;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  localStorage.removeItem(PLAN);
  live = {};
  bar.hidden = true;
  $('reproduce').disabled = $('report-exact').disabled = false;
  $('report-stop').hidden = true;
  document.body.dataset.reproducing = 'false';
  await render();
  if (stopping) {
    status('Stopped. The models that finished are kept; Reproduce trains the others (and the one stopped) again.');
    return;
  }
  status(`Reproduced all five models (${epochs} epochs each) in ${seconds} s; every table and figure above is theirs.`);
  document.body.dataset.reproducedIn = seconds; // the benchmark reads it
}

let stopping = false;
$('report-stop').addEventListener('click', () => {
  stopping = true;
  lab.activeRun()?.stop();
  status('Stopping…');
});

const guard = (fn) =>
  fn().catch((e) => {
    status(`Error: ${e.message}`);
    document.body.dataset.error = e.message;
    $('reproduce').disabled = $('report-exact').disabled = false;
    $('report-stop').hidden = true;
  });

$('reproduce').addEventListener('click', () => guard(() => reproduce(Number($('report-epochs').value))));
$('report-exact').checked = exact;
$('report-exact').addEventListener('change', () =>
  guard(async () => {
    exact = $('report-exact').checked;
    const u = new URL(location.href);
    if (exact) u.searchParams.set('exact', '1');
    else u.searchParams.delete('exact');
    history.replaceState(null, '', u);
    await render();
  }),
);
$('report-save').addEventListener('click', () => guard(() => saveReport()));
$('report-print').addEventListener('click', () => window.print());

guard(async () => {
  status('Starting the engine and loading A–E…');
  await lab.ready;
  $('table-1-box').replaceChildren(tableOne(lab.presets));
  await lab.restoreModels();
  for (const a of ARCHS) await lab.loadPretrained(a);
  document.body.dataset.ready = 'true';
  const p = plan();
  if (p) {
    exact = !!p.exact;
    $('report-exact').checked = exact;
    $('report-epochs').value = String(p.epochs);
    await render();
    status('A reproduction was under way: going on from where it stopped…');
    await reproduce(p.epochs);
    return;
  }
  await render();
});
