// Reconstruct (Fig. 4): 16 held-out digits (the top row) and their reconstructions by every
// loaded model (a row each): wide and short, so it fits an embedded frame or a phone.
import { el, drawDigits } from '../ui.js';
import { printFigure, printScale, pixels, text } from '../figure.js';

export default {
  id: 'reconstruct',
  create(app) {
    const { lab } = app;
    const canvas = el('canvas', {
      id: 'reconstruct-canvas',
      class: 'grid',
      role: 'img',
      'aria-label': 'held-out digits and reconstructions',
    });
    const header = el('p', { class: 'muted', id: 'reconstruct-rows' });
    // a label beside each row: the held-out digits, then each model's slot
    const labels = el('div', {
      id: 'reconstruct-labels',
      class: 'muted',
      style: { display: 'flex', flexDirection: 'column', fontSize: '0.75rem', textAlign: 'right', minWidth: '4.5em' },
    });
    canvas.style.alignSelf = 'flex-start';
    canvas.style.minWidth = '0';
    const framed = el('div', { style: { display: 'flex', gap: '0.4rem' } }, labels, canvas);
    let rowNames = [];
    const sampled = el('input', { type: 'checkbox', id: 'reconstruct-sampled', checked: true });
    // a shared link names its digits (16 held-out indices) and the seed of the sampled z
    let picks = (app.param('digits') ?? '')
      .split(',')
      .filter((v) => /^\d+$/.test(v))
      .map(Number)
      .slice(0, 16);
    if (picks.length !== 16) picks = null;
    let seed = Math.max(1, Math.floor(Number(app.param('seed')) || 1));
    if (app.param('sampled') === '0') sampled.checked = false;

    async function render() {
      await app.guard(async () => {
        const n = lab.data.n_test;
        if (!picks) {
          // 16 different digits (all of them when there are fewer)
          const pool = Array.from({ length: n }, (_, i) => i);
          for (let i = pool.length - 1; i > 0; i--) {
            const j = Math.floor(Math.random() * (i + 1));
            [pool[i], pool[j]] = [pool[j], pool[i]];
          }
          picks = pool.slice(0, 16);
          while (picks.length < 16) picks.push(picks[picks.length % n]);
        }
        // clamped for this dataset only: a small one must not shrink the picks for the next; a
        // digit shows once, so a dataset with 3 held-out images shows 3 columns, not 16
        const shown = [...new Set(picks.map((i) => Math.min(n - 1, i)))];
        const k = shown.length;
        app.setParam('digits', picks.join(','));
        app.setParam('seed', seed);
        app.setParam('sampled', sampled.checked ? null : 0);
        const slots = await lab.slots();
        if (!slots.length) return;
        const x = await lab.testImages(shown);
        const columns = [x];
        for (const s of slots) columns.push(await lab.reconstruct(x, { slot: s, sampled: sampled.checked, seed }));
        const rows = columns.length;
        const grid = new Float32Array(k * rows * 784);
        columns.forEach((c, r) => grid.set(c, r * k * 784));
        drawDigits(canvas, grid, k * rows, k);
        canvas.dataset.columns = String(k);
        header.textContent = `Rows from the top: the held-out digits, then ${slots.map((s) => `model ${s}`).join(', ')}.`;
        rowNames = ['held-out', ...slots.map((s) => `model ${s}`)];
        labels.replaceChildren(
          ...rowNames.map((t) => el('div', { style: { flex: '1', display: 'flex', alignItems: 'center', justifyContent: 'flex-end' } }, t)),
        );
        canvas.dataset.rows = String(rows);
      });
    }

    lab.on('models', () => {
      if (app.isVisible('reconstruct')) render();
    });
    lab.on('dataset', () => {
      if (app.isVisible('reconstruct')) render();
    });
    sampled.addEventListener('change', render);
    const root = el(
      'div',
      {},
      el(
        'div',
        { class: 'row' },
        el(
          'button',
          {
            class: 'primary',
            id: 'reconstruct-shuffle',
            onclick: () => {
              picks = null;
              seed++;
              render();
            },
          },
          'Reshuffle',
        ),
        el('label', { class: 'inline' }, sampled, ' decode a sampled z (as in the report); off: the mean'),
      ),
      framed,
      header,
      el('p', { class: 'muted' }, 'Load A–E in the Models panel to compare them all.'),
    );
    /** The grid with its row labels and a title, at print size. */
    function figure() {
      if (!canvas.dataset.rows) return null;
      const m = 16;
      const titleH = 30;
      const labelW = 110;
      const g = 2;
      const width = m + labelW + canvas.width * g + m;
      const height = titleH + canvas.height * g + m;
      const { canvas: out, ctx } = printFigure(width, height, printScale(width));
      text(
        ctx,
        `Held-out digits and their reconstructions (${sampled.checked ? `a sampled z, seed ${seed}` : 'the mean of q(z|x)'})`,
        width / 2,
        titleH / 2 + 2,
        { size: 14, bold: true },
      );
      pixels(ctx, canvas, m + labelW, titleH, canvas.width * g, canvas.height * g);
      rowNames.forEach((t, r) => text(ctx, t, m + labelW - 10, titleH + (r * 29 + 15) * g, { align: 'right', size: 13, max: labelW - 12 }));
      return { canvas: out, name: 'reconstructions', pixelated: false };
    }
    return { root, show: render, figure };
  },
};
