// Drawing the report's tables and figures from the measured models (measure.js): plain DOM
// tables, uPlot for the curves, canvases for digits and the per-latent KL bars.
import uPlot from '../vendor/uPlot.esm.js';
import { el, drawDigits, SERIES_COLORS, fmt } from '../ui.js';
import { ARCHS, REPORT_NELBO, SAMPLES } from './measure.js';

/** Table I: the architectures and their parameter counts (the engine's presets). */
export function tableOne(presets) {
  return el(
    'table',
    { class: 'report-table', id: 'table-1' },
    el('caption', {}, 'Table I: the five VAEs (latent dimension 12; the decoder mirrors the encoder)'),
    el('thead', {}, el('tr', {}, ...['model', 'encoder hidden layers', 'parameters'].map((h) => el('th', {}, h)))),
    el(
      'tbody',
      {},
      ...presets.map((p) =>
        el(
          'tr',
          {},
          el('td', {}, p.name),
          el('td', {}, p.hidden.length ? `[${p.hidden.join(', ')}]` : 'none'),
          el('td', {}, p.params.toLocaleString('en')),
        ),
      ),
    ),
  );
}

/** Table II: final training nELBO and KL, held-out nELBO and KL, σ, active latents; the report's nELBO beside. */
export function tableTwo(models, { exact, id = 'table-2' }) {
  const heads = ['model', 'epochs', 'train nELBO', 'train KL', 'held-out nELBO', 'held-out KL', 'σ', 'active latents', 'report nELBO'];
  return el(
    'table',
    { class: 'report-table', id },
    el('caption', {}, `Table II${exact ? ' (report-exact: linear decoder output)' : ''}: final values, nats per image`),
    el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', {}, h)))),
    el(
      'tbody',
      {},
      ...ARCHS.map((a) => {
        const m = models[a];
        const cells = m
          ? [
              m.epochs,
              fmt(m.train?.nelbo),
              fmt(m.train?.kl),
              fmt(m.held?.nelbo),
              fmt(m.held?.kl),
              fmt(m.sigma, 3),
              m.active === undefined ? '–' : `${m.active} / ${m.latent}`,
            ]
          : ['–', '–', '–', '–', '–', '–', '–'];
        return el('tr', { 'data-arch': a }, el('td', {}, a), ...cells.map((c) => el('td', {}, String(c))), el('td', {}, REPORT_NELBO[a]));
      }),
    ),
  );
}

/** Fig. 1 or 2: one curve per model over the epochs (`key`: 'nelbo' or 'kl'). Returns the chart. */
export function curves(target, models, key, title, width) {
  const opts = {
    title,
    width,
    height: 260,
    scales: { x: { time: false } },
    axes: [{ label: 'epoch' }, { label: key === 'kl' ? 'KL (nats)' : 'nELBO (nats)', size: 60 }],
    series: [{ label: 'epoch' }, ...ARCHS.map((a, i) => ({ label: a, stroke: SERIES_COLORS[i], width: 2, spanGaps: true }))],
  };
  target.replaceChildren();
  return new uPlot(opts, curveData(models, key), target);
}

/** A chart's data: the epochs, then one series per model (`key` of each epoch, null where it has none). */
export function curveData(models, key) {
  const epochs = Math.max(0, ...ARCHS.map((a) => models[a]?.history.length ?? 0));
  const x = Array.from({ length: epochs }, (_, i) => i + 1);
  return [x, ...ARCHS.map((a) => x.map((_, i) => models[a]?.history[i]?.[key] ?? null))];
}

/** Fig. 4: each row a held-out digit, then its reconstruction by A to E (a sampled z, as the report). */
export function reconstructions(originals, models) {
  const rows = originals.length / 784;
  const flat = new Float32Array(rows * 6 * 784);
  for (let r = 0; r < rows; r++) {
    flat.set(originals.subarray(r * 784, (r + 1) * 784), r * 6 * 784);
    ARCHS.forEach((a, j) => {
      if (models[a]) flat.set(models[a].recon.subarray(r * 784, (r + 1) * 784), (r * 6 + j + 1) * 784);
    });
  }
  const c = el('canvas', { class: 'grid', id: 'fig-4', role: 'img', 'aria-label': 'held-out digits and their reconstructions by A to E' });
  drawDigits(c, flat, rows * 6, 6);
  return c;
}

/** A 10 × 6 grid of 60 digits (samples or a chain's last frame). */
export function digitGrid(flat, id, label) {
  const c = el('canvas', { class: 'grid', id, role: 'img', 'aria-label': label });
  drawDigits(c, flat, SAMPLES, 10);
  return c;
}

/** Fig. 3: per model, the per-latent KL as bars (largest first), collapsed latents grey. */
export function klBars(models) {
  const w = 230;
  const h = 150;
  const max = Math.max(1, ...ARCHS.flatMap((a) => models[a]?.klPerLatent ?? []));
  return ARCHS.filter((a) => models[a]).map((a, i) => {
    const m = models[a];
    const c = el('canvas', { width: w, height: h, id: `fig-3-${a}`, role: 'img', 'aria-label': `per-latent KL of model ${a}` });
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, w, h);
    const kl = [...m.klPerLatent].sort((p, q) => q - p);
    const bw = (w - 30) / kl.length;
    kl.forEach((v, j) => {
      const bh = ((h - 40) * v) / max;
      ctx.fillStyle = v < 0.05 ? '#bbb' : SERIES_COLORS[i];
      ctx.fillRect(24 + j * bw + 1, h - 20 - bh, bw - 2, bh);
    });
    ctx.fillStyle = '#333';
    ctx.font = '12px sans-serif';
    ctx.fillText(`${a}: ${m.active} of ${m.latent} active`, 24, 14);
    ctx.fillText('0', 8, h - 20);
    ctx.fillText(max.toFixed(1), 0, 30);
    ctx.fillText('latents, largest KL first', 24, h - 5);
    return el('figure', {}, c, el('figcaption', {}, `model ${a}`));
  });
}
