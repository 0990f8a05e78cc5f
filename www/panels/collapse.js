// Collapse (Fig. 3): histogram of per-latent KL over the first held-out digits (256, as in the
// report), active units, per model. Bins and digit count come from the engine, as in the CLI.
import uPlot from '../vendor/uPlot.esm.js';
import { el, fmt, SERIES_COLORS, chartWidth, fitCharts, printChart } from '../ui.js';

const measure = typeof document === 'undefined' ? null : document.createElement('canvas').getContext('2d');

/** The x axis's ticks: every k-th bin edge, k the smallest divisor of `bins` that leaves a label's
 *  width and a gap between neighbouring labels (a phone's chart has room for fewer), so the first
 *  and the last edge always have theirs. Works for the chart on screen and its print copy alike
 *  (uPlot's found increment and its spacing give the CSS pixels per bin). */
function edgeTicks(bins, label) {
  return (u, axisIdx, min, max, foundIncr, foundSpace) => {
    const axis = u.axes[axisIdx];
    const px = axis.font?.[2] ?? 12; // the font's CSS size
    measure.font = (axis.font?.[0] ?? '12px sans-serif').replace(/\d+(\.\d+)?px/, `${px}px`);
    let widest = 0;
    for (let b = 0; b <= bins; b++) widest = Math.max(widest, measure.measureText(label(b)).width);
    const perBin = foundIncr > 0 ? foundSpace / foundIncr : Infinity;
    const need = widest + Math.max(6, px * 0.6);
    const divisors = Array.from({ length: bins }, (_, i) => i + 1).filter((d) => bins % d === 0);
    const k = divisors.find((d) => d * perBin >= need) ?? bins;
    return Array.from({ length: bins / k + 1 }, (_, i) => i * k);
  };
}

export default {
  id: 'collapse',
  create(app) {
    const { lab } = app;
    const box = el('div', { id: 'collapse-chart' });
    const table = el('table', { id: 'collapse-table', class: 'runs' });
    let chart = null;
    fitCharts(box, () => [chart], 760, 300);
    let last = [];
    // a shared link names the models to compare (shipped ones are loaded for it); without one the
    // panel compares all five shipped models (E's collapsed latents are the point of the figure)
    const linked = (app.param('models') ?? 'A,B,C,D,E').split(',').filter((m) => /^[A-E]$/.test(m));

    async function render() {
      await app.guard(async () => {
        const keep = lab.current;
        for (const m of linked.splice(0)) if (!(await lab.slots()).includes(lab.shippedSlot(m))) await lab.loadPretrained(m);
        if (keep && lab.current !== keep) lab.use(keep);
        const slots = await lab.slots();
        if (!slots.length) return;
        app.setParam('models', slots.join(','));
        const stats = [];
        for (const s of slots) stats.push({ slot: s, ...(await lab.collapse(s)) });
        last = stats;
        const max = Math.max(0.5, ...stats.flatMap((s) => s.kl_per_latent));
        const bins = lab.constants.collapseBins;
        const width = (max * 1.0001) / bins;
        const k = stats.length;
        // a histogram with one bar per model inside each bin: the x axis counts bins and its ticks
        // are the bin edges in nats, so a bar stands for "this many latents have a KL in this bin"
        // (a latent at KL 0 is in the first bin, whichever model's bar that is)
        const xs = [];
        const ys = stats.map(() => []);
        for (let b = 0; b < bins; b++) {
          stats.forEach((s, m) => {
            xs.push(b + (m + 1) / (k + 1));
            ys.forEach((col, j) =>
              col.push(j === m ? s.kl_per_latent.filter((v) => Math.min(bins - 1, Math.floor(v / width)) === b).length : null),
            );
          });
        }
        chart?.destroy();
        chart = new uPlot(
          {
            title: `Per-latent KL(q(z_i|x) ‖ N(0,1)), ${lab.constants.collapseDigits} held-out digits`,
            width: chartWidth(box, 760),
            height: 300,
            legend: { live: false },
            scales: { x: { time: false, range: [0, bins] }, y: { range: [0, Math.max(...ys.flat().filter((v) => v !== null)) + 1] } },
            axes: [
              {
                label: 'mean KL per latent [nats] (bin edges)',
                splits: edgeTicks(bins, (b) => (b * width).toFixed(2)),
                values: (_, splits) => splits.map((b) => (b * width).toFixed(2)),
              },
              { label: 'number of latents' },
            ],
            series: [
              { label: 'KL' },
              ...stats.map((s, m) => ({
                label: `${s.slot} (${s.active_units} active)`,
                fill: SERIES_COLORS[m % 10],
                stroke: SERIES_COLORS[m % 10],
                paths: uPlot.paths.bars({ size: [0.9, 40] }),
                points: { show: false },
              })),
            ],
          },
          [xs, ...ys],
          box,
        );
        table.replaceChildren(
          // one definition of "active" throughout (the engine's, as in the CLI and the README):
          // Var over x of E[z_i] > 0.01; every other latent is collapsed, and is struck through
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ...['model', 'active units', 'collapsed', 'total KL', 'per-latent KL (nats; collapsed struck through)'].map((h) =>
                el('th', {}, h),
              ),
            ),
          ),
          el(
            'tbody',
            {},
            ...stats.map((s) =>
              el(
                'tr',
                {},
                el('td', {}, s.slot),
                el('td', {}, `${s.active_units} / ${s.kl_per_latent.length}`),
                el('td', {}, s.kl_per_latent.length - s.active_units),
                el('td', {}, fmt(s.total_kl, 2)),
                el(
                  'td',
                  { class: 'mono' },
                  ...s.kl_per_latent.flatMap((v, i) => [
                    i ? ' ' : '',
                    (s.mu_variance?.[i] ?? 1) > 0.01
                      ? v.toFixed(2)
                      : el(
                          's',
                          { title: `collapsed: Var over x of E[z_${i + 1}] = ${s.mu_variance?.[i]?.toExponential(1)}` },
                          v.toFixed(2),
                        ),
                  ]),
                ),
              ),
            ),
          ),
        );
      });
    }

    lab.on('models', () => {
      if (app.isVisible('collapse')) render();
    });
    lab.on('dataset', () => {
      if (app.isVisible('collapse')) render();
    });
    const root = el(
      'div',
      {},
      el(
        'p',
        { class: 'muted' },
        'Latents whose KL sits near zero carry no information about x (posterior collapse). Active units: Var over x of E[z_i] > 0.01.',
      ),
      el('div', { class: 'row' }, el('button', { id: 'collapse-refresh', onclick: render }, 'Recompute')),
      box,
      table,
    );
    const csv = () => ({
      name: 'per-latent-kl',
      rows: [
        ['model', 'latent', 'kl_nats', 'active_units'],
        ...last.flatMap((s) => s.kl_per_latent.map((v, i) => [s.slot, i, v, s.active_units])),
      ],
    });
    const figure = async () => (chart ? { canvas: await printChart(uPlot, chart), name: 'per-latent-kl', pixelated: false } : null);
    return { root, show: render, csv, figure };
  },
};
