// Inside: the model as a live diagram. One digit (drawn or held-out) goes through the encoder's
// layers to μ and log σ², the reparameterisation z = μ + σ·ε, the decoder's layers to x̂, and the
// two loss terms. Every part can be hovered or focused for its shape and values; the diagram
// follows the selected model (custom ones included) and redraws as it trains.
import { el, drawDigits, digitCanvas, labelled, fmt } from '../ui.js';
import { chosenDigit, defaultDigit } from '../shell.js';
import { snapshot } from '../figure.js';

const CELL = 11;

/** Values as a grid of cells: ReLU activations white to blue, signed values red-white-blue. */
function drawCells(canvas, values, { cols, signed, max }) {
  const rows = Math.ceil(values.length / cols);
  canvas.width = cols * CELL + 1;
  canvas.height = rows * CELL + 1;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#d7dbe4';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  values.forEach((v, i) => {
    const t = Math.max(-1, Math.min(1, v / (max || 1)));
    const a = Math.abs(t);
    // blue for positive, red for negative, white at 0
    const [r, g, b] = t >= 0 || !signed ? [255 - 224 * a, 255 - 160 * a, 255 - 40 * a] : [255 - 40 * a, 255 - 200 * a, 255 - 200 * a];
    ctx.fillStyle = `rgb(${r | 0},${g | 0},${b | 0})`;
    ctx.fillRect((i % cols) * CELL + 1, Math.floor(i / cols) * CELL + 1, CELL - 1, CELL - 1);
  });
}

const stats = (v) => {
  let lo = Infinity;
  let hi = -Infinity;
  let s = 0;
  for (const x of v) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
    s += x;
  }
  return `min ${fmt(lo, 2)}, max ${fmt(hi, 2)}, mean ${fmt(s / v.length, 2)}`;
};

export default {
  id: 'inside',
  create(app) {
    const { lab } = app;
    const source = el(
      'select',
      { id: 'inside-source' },
      el('option', { value: 'test' }, 'held-out digit #'),
      el('option', { value: 'drawn' }, 'the drawn digit'),
    );
    const index = el('input', {
      id: 'inside-index',
      type: 'number',
      min: 0,
      value: 0,
    });
    // the linked held-out index, checked against the dataset held
    app.afterEngine(() => (index.value = Math.max(0, Math.floor(Number(app.param('digit')) || 0))));
    if (app.param('source') === 'drawn') source.value = 'drawn';
    const epsSeed = el('input', {
      id: 'inside-eps',
      type: 'number',
      min: 0,
      value: Math.max(0, Math.floor(Number(app.param('eps')) || 0)),
    });
    const info = el(
      'p',
      { class: 'muted inside-info', id: 'inside-info', 'aria-live': 'polite' },
      'Hover or focus a part of the model to see its shape and values.',
    );
    const flow = el('div', { class: 'inside-flow', id: 'inside-flow' });
    const loss = el('div', { class: 'inside-loss', id: 'inside-loss' });
    const diagram = el('div', { class: 'inside-diagram' }, flow, loss);
    let version = 0;
    /** Renders started; a render whose answer comes after a newer one started draws nothing (a
     *  held-out digit's first fetch can make an older render finish last). */
    let started = 0;

    /** A part of the diagram: a canvas with a caption; hover names the cell, focus the whole. */
    function part(name, caption, canvas, values, describe) {
      canvas.tabIndex = 0;
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `${name}: ${describe}`);
      canvas.classList.add('inside-part');
      const whole = `${name}: ${describe}; ${stats(values)}`;
      canvas.addEventListener('focus', () => {
        info.textContent = whole;
      });
      canvas.addEventListener('pointerleave', () => {
        info.textContent = whole;
      });
      canvas.addEventListener('pointermove', (e) => {
        const r = canvas.getBoundingClientRect();
        const cols = Number(canvas.dataset.cols);
        const cx = Math.floor(((e.clientX - r.left) / r.width) * (cols === 28 ? 28 : canvas.width / CELL));
        const cy = Math.floor(((e.clientY - r.top) / r.height) * (cols === 28 ? 28 : canvas.height / CELL));
        const i = cy * cols + cx;
        if (i >= 0 && i < values.length) info.textContent = `${name}[${i}] = ${fmt(values[i], 3)}   (${whole})`;
      });
      return el('figure', { class: 'inside-stage' }, canvas, el('figcaption', {}, caption));
    }

    const cells = (values, opts) => {
      const c = el('canvas', { class: 'cells' });
      drawCells(c, values, opts);
      c.dataset.cols = String(opts.cols);
      return c;
    };
    const image = (values, label) => {
      const c = digitCanvas(label, 'digit big');
      drawDigits(c, values, 1, 1);
      c.dataset.cols = '28';
      return c;
    };
    const arrow = (text = '→') => el('span', { class: 'inside-arrow', 'aria-hidden': 'true' }, text);

    const chooseDefault = defaultDigit(app, source, index);
    async function render() {
      if (!lab.current) return;
      await chooseDefault();
      await app.guard(async () => {
        // what this render shows, read once: the controls may change while it is in flight
        const mine = ++started;
        const src = source.value;
        index.max = lab.data.n_test - 1; // the dataset held says how many held-out images there are
        const digit = index.value;
        const x = await chosenDigit(app, src, digit, ', or pick a held-out digit');
        const seed = Math.max(0, Math.floor(Number(epsSeed.value) || 0));
        const t = await lab.inside(x, { seed });
        if (mine !== started) return;
        app.setParam('source', src === 'drawn' ? 'drawn' : null);
        app.setParam('digit', src === 'drawn' ? null : digit);
        app.setParam('eps', seed || null);
        const L = t.mu.length;
        const cols = (w) => (w <= 16 ? w : 8);
        const layerMax = (v) => Math.max(1e-6, ...v);
        const stages = [part('x', 'x (28×28)', image(x, 'the input digit'), Array.from(x), '784 pixels in [0, 1]')];
        t.encoder.forEach((h, i) => {
          stages.push(
            arrow(),
            part(
              `encoder layer ${i + 1}`,
              `h${i + 1}: ${h.length}, ReLU`,
              cells(h, { cols: cols(h.length), max: layerMax(h) }),
              h,
              `${h.length} units after ReLU`,
            ),
          );
        });
        const zMax = 3;
        stages.push(
          arrow(),
          el(
            'div',
            { class: 'inside-stack' },
            part('μ', `μ: ${L}`, cells(t.mu, { cols: L, signed: true, max: zMax }), t.mu, `the mean of q(z|x), ${L} latents`),
            part(
              'log σ²',
              `log σ²: ${L}`,
              cells(t.logvar, { cols: L, signed: true, max: zMax }),
              t.logvar,
              `the log-variance of q(z|x), ${L} latents`,
            ),
          ),
          arrow('→ z = μ + σ·ε →'),
          el(
            'div',
            { class: 'inside-stack' },
            part(
              'ε',
              `ε ~ N(0, I), seed ${seed}`,
              cells(t.eps, { cols: L, signed: true, max: zMax }),
              t.eps,
              `the reparameterisation noise, ${L} draws`,
            ),
            part('z', `z: ${L}`, cells(t.z, { cols: L, signed: true, max: zMax }), t.z, `the code, ${L} latents`),
          ),
        );
        t.decoder.forEach((h, i) => {
          stages.push(
            arrow(),
            part(
              `decoder layer ${i + 1}`,
              `g${i + 1}: ${h.length}, ReLU`,
              cells(h, { cols: cols(h.length), max: layerMax(h) }),
              h,
              `${h.length} units after ReLU`,
            ),
          );
        });
        stages.push(
          arrow(),
          part(
            'x̂',
            `x̂ (28×28), σ = ${fmt(t.sigma, 3)}`,
            image(t.mean, 'the decoder mean'),
            t.mean,
            `the decoder mean; p(x|z) = N(x̂, σ² I) with σ = ${fmt(t.sigma, 4)}`,
          ),
        );
        flow.replaceChildren(...stages);
        const klBars = cells(t.kl_per_latent, { cols: L, max: Math.max(0.5, ...t.kl_per_latent) });
        loss.replaceChildren(
          el(
            'div',
            {},
            el('strong', {}, '−log p(x|z) = '),
            `${fmt(t.rec, 1)} nats`,
            el('span', { class: 'muted' }, ' (how well x̂ explains x, given σ)'),
          ),
          el('div', {}, el('strong', {}, 'KL(q(z|x) ‖ N(0, I)) = '), `${fmt(t.kl, 1)} nats = the sum over the latents:`),
          part(
            'KL per latent',
            `KL per latent (${t.kl_per_latent.map((v) => v.toFixed(1)).join(', ')})`,
            klBars,
            t.kl_per_latent,
            'nats each latent carries about x',
          ),
          el(
            'div',
            {},
            el('strong', {}, 'nELBO = '),
            `${fmt(t.rec, 1)} + ${fmt(t.kl, 1)} = ${fmt(t.nelbo, 1)} nats`,
            el('span', { class: 'muted' }, ` (model ${lab.current}, this one draw of ε)`),
          ),
        );
        flow.dataset.nelbo = String(t.nelbo);
        flow.dataset.layers = String(t.encoder.length + t.decoder.length);
        flow.dataset.source = src;
        flow.dataset.version = String(++version);
      });
    }

    // during training the diagram follows the weights, at most a few times a second
    let pending = false;
    lab.on('progress', () => {
      if (!app.isVisible('inside') || pending) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        render();
      }, 250);
    });
    lab.on('current', () => {
      if (app.isVisible('inside')) render();
    });
    lab.on('dataset', () => {
      if (app.isVisible('inside')) render();
    });
    for (const c of [source, index, epsSeed]) c.addEventListener('change', render);
    const root = el(
      'div',
      {},
      el(
        'div',
        { class: 'row' },
        labelled('Digit', source),
        labelled('#', index),
        labelled('ε seed', epsSeed),
        el(
          'button',
          {
            id: 'inside-new-eps',
            onclick: () => {
              epsSeed.value = Number(epsSeed.value) + 1;
              render();
            },
          },
          'New ε',
        ),
      ),
      diagram,
      info,
    );
    /** The whole diagram as laid out on screen, its captions and the loss terms included, on one
     *  canvas at print size. */
    function figure() {
      if (!flow.dataset.version) return null;
      const what = flow.dataset.source === 'drawn' ? 'the drawn digit' : `held-out digit #${index.value}`;
      const { canvas } = snapshot(diagram, {
        title: `Inside model ${lab.current}: ${what}, ε seed ${Math.max(0, Math.floor(Number(epsSeed.value) || 0))}`,
      });
      return { canvas, name: `inside-${lab.current}`, pixelated: false };
    }
    return { root, show: render, figure };
  },
};
