// Sample (Fig. 5–9): 60 digits decoded from z ~ N(0, I).
import { el, drawDigits, labelled, concat } from '../ui.js';

export default {
  id: 'sample',
  create(app) {
    const { lab } = app;
    const canvas = el('canvas', { id: 'sample-canvas', class: 'grid', role: 'img', 'aria-label': '60 digits sampled from the prior' });
    const seed = el('input', { id: 'sample-seed', type: 'number', min: 0, value: Math.max(0, Math.floor(Number(app.param('seed')) || 0)) });
    const caption = el('p', { class: 'muted' });

    async function render() {
      if (!lab.current) return;
      await app.guard(async () => {
        const s = Math.max(0, Math.floor(Number(seed.value) || 0));
        const digits = await lab.sample(60, s);
        drawDigits(canvas, concat(digits), 60, 10);
        caption.textContent = `Model ${lab.current}, seed ${s}: decoder means of 60 codes z ~ N(0, I).`;
        canvas.dataset.seed = String(s);
        app.setParam('seed', s);
      });
    }

    seed.addEventListener('change', render);
    lab.on('current', () => {
      if (app.isVisible('sample')) render();
    });
    const root = el(
      'div',
      {},
      el(
        'div',
        { class: 'row' },
        labelled('Seed', seed),
        el(
          'button',
          {
            class: 'primary',
            id: 'sample-resample',
            onclick: () => {
              seed.value = Number(seed.value) + 1;
              render();
            },
          },
          'Resample',
        ),
      ),
      canvas,
      caption,
    );
    return { root, show: render, figure: () => ({ canvas, name: `samples-${lab.current}-seed${seed.value}` }) };
  },
};
