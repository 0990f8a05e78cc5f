// The report's numbers, measured from a set of five models in the page (never stored): Table II,
// the per-latent KL of Fig. 3, the reconstructions of Fig. 4, the samples of Fig. 5-9 and the
// chains' last frames of Fig. 10-14; and the verdicts on the report's claims, computed from them.

import { concat } from '../ui.js';

export const ARCHS = ['A', 'B', 'C', 'D', 'E'];
/** Table II of the report: its final training nELBO per model (nats; positive there, see the text). */
export const REPORT_NELBO = { A: 719, B: 747, C: 579, D: 572, E: 614 };
/** The held-out digits of Fig. 4 (the first 16), the seed of every draw (samples, chains, ε). */
export const FIG4_DIGITS = Array.from({ length: 16 }, (_, i) => i);
export const SEED = 0;
export const SAMPLES = 60;
export const CHAIN_STEPS = 100;

/** Mean over pixels of the standard deviation across the n images of `flat` (n·784): how different
 *  the images are from each other (0: all the same picture). */
export function spread(flat, n) {
  let total = 0;
  for (let p = 0; p < 784; p++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = flat[i * 784 + p];
      s += v;
      s2 += v * v;
    }
    const mean = s / n;
    total += Math.sqrt(Math.max(0, s2 / n - mean * mean));
  }
  return total / 784;
}

/**
 * Everything the report shows of one model in `slot`: its history (Fig. 1-2), held-out numbers and
 * σ (Table II), per-latent KL (Fig. 3), reconstructions of FIG4_DIGITS (Fig. 4), samples (Fig. 5-9)
 * and its chains' first and last frames with their spread (Fig. 10-14).
 */
export async function measureModel(lab, slot, originals) {
  const info = await lab.info(slot);
  const history = info.meta?.history ?? [];
  const last = history.at(-1);
  const held = await lab.evaluate({ slot });
  const collapse = await lab.collapse(slot);
  const recon = await lab.reconstruct(originals, { sampled: true, seed: SEED, slot });
  const samples = await lab.sample(SAMPLES, SEED, slot);
  const frames = await lab.chain(SAMPLES, CHAIN_STEPS, SEED, { slot });
  const first = frames[0];
  const end = frames.at(-1);
  return {
    slot,
    label: info.label,
    epochs: info.meta?.epochs ?? history.length,
    sigma: info.sigma,
    history: history.map((h) => ({ epoch: h.epoch, nelbo: h.train.nelbo, kl: h.train.kl, test: h.test.nelbo })),
    train: last ? { nelbo: last.train.nelbo, kl: last.train.kl } : null,
    held: { nelbo: held.nelbo, kl: held.kl },
    active: collapse.active_units,
    latent: collapse.kl_per_latent.length,
    klPerLatent: Array.from(collapse.kl_per_latent),
    recon,
    samples: concat(samples),
    chainStart: spread(first, SAMPLES),
    chainEnd: spread(end, SAMPLES),
    chainLast: end,
  };
}

/**
 * The models sorted by `value` (lowest first, or highest), the first `k`, and whether the claim
 * "`expected` are the lowest (highest)" holds: every expected model strictly beyond every other
 * one (a tie is no evidence); partly: some of them are.
 */
export function extremes(models, value, k, expected, { highest = false } = {}) {
  const sorted = ARCHS.filter((a) => models[a])
    .map((a) => [a, value(models[a])])
    .sort((x, y) => (highest ? y[1] - x[1] : x[1] - y[1]));
  const picked = sorted.slice(0, k).map(([a]) => a);
  const beyond = (v, w) => (highest ? v > w : v < w);
  const others = sorted.filter(([a]) => !expected.includes(a)).map(([, v]) => v);
  const clear = (a) => others.every((w) => beyond(value(models[a]), w));
  const holds = expected.every(clear);
  const partly = !holds && expected.some(clear);
  return { sorted, picked, holds, partly };
}

const list = (names) => (names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`);
const nats = (v) => v.toFixed(1);

/**
 * The report's claims with this reproduction's verdicts: [{id, claim, verdict: 'holds' | 'partly'
 * | 'does not hold', finding, panel}], each finding a sentence of measured numbers, `panel` the
 * app's address that shows it closer.
 */
export function verdicts(models) {
  const have = ARCHS.filter((a) => models[a]);
  if (have.length < ARCHS.length) return [];
  const word = (r) => (r.holds ? 'holds' : r.partly ? 'partly' : 'does not hold');
  const out = [];
  const lowest = extremes(models, (m) => m.held.nelbo, 2, ['C', 'D']);
  out.push({
    id: 'lowest-nelbo',
    claim: 'C and D reach the lowest nELBO.',
    verdict: word(lowest),
    finding:
      `Lowest held-out nELBO here: ${list(lowest.picked)} ` + `(${lowest.sorted.map(([a, v]) => `${a} ${nats(v)}`).join(', ')} nats).`,
    panel: 'index.html?panel=reconstruct',
  });
  const collapsed = extremes(models, (m) => m.latent - m.active, 2, ['B', 'E'], { highest: true });
  const counts = collapsed.sorted.map(([a, v]) => `${a} ${v}`).join(', ');
  out.push({
    id: 'collapse',
    claim: 'B and E have the most collapsed latents.',
    verdict: word(collapsed),
    finding: `Collapsed latents (of ${models.A.latent}, Var of the mean ≤ 0.01 over 256 held-out digits): ${counts}.`,
    panel: 'index.html?panel=collapse',
  });
  const kl = extremes(models, (m) => m.train?.kl ?? Infinity, 1, ['B']);
  out.push({
    id: 'b-lowest-kl',
    claim: "B's samples look most like digits because its KL is lowest.",
    verdict: word(kl),
    finding:
      `Lowest final training KL here: ${kl.picked[0]} (${kl.sorted.map(([a, v]) => `${a} ${nats(v)}`).join(', ')} nats); ` +
      'whether the samples look like digits is for the eye (Fig. 5–9).',
    panel: 'index.html?panel=sample&arch=B',
  });
  const chains = extremes(models, (m) => m.chainEnd, 1, ['A']);
  const a = models.A;
  out.push({
    id: 'a-chains',
    claim: "A's chains converge to one round shape.",
    verdict: chains.holds && a.chainEnd < 0.5 * a.chainStart ? 'holds' : chains.holds ? 'partly' : 'does not hold',
    finding:
      `Spread of the 60 chains after ${CHAIN_STEPS} steps (mean per-pixel std across chains; at the start): ` +
      `${ARCHS.map((x) => `${x} ${models[x].chainEnd.toFixed(3)} (${models[x].chainStart.toFixed(3)})`).join(', ')}. ` +
      `Least spread: ${chains.picked[0]}.`,
    panel: 'index.html?panel=chain&arch=A',
  });
  return out;
}
