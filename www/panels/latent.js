// Latent: move one latent at a time from a chosen digit; interpolate between two digits.
import { el, drawDigits, digitCanvas, labelled } from '../ui.js';
import { chosenDigit, defaultDigit } from '../shell.js';
import { printFigure, printScale, pixels, text, MUTED } from '../figure.js';

export default {
  id: 'latent',
  create(app) {
    const { lab } = app;
    const source = el(
      'select',
      { id: 'latent-source' },
      el('option', { value: 'test' }, 'held-out digit #'),
      el('option', { value: 'drawn' }, 'the drawn digit'),
    );
    const index = el('input', { id: 'latent-index', type: 'number', min: 0, value: 0 });
    const original = digitCanvas('chosen digit', 'digit big');
    const decoded = digitCanvas('decoded from the sliders', 'digit big');
    decoded.id = 'latent-decoded';
    const sliders = el('div', { class: 'sliders', id: 'latent-sliders' });
    const indexB = el('input', { id: 'latent-index-b', type: 'number', min: 0, value: 1 });
    const sourceB = el(
      'select',
      { id: 'latent-source-b' },
      el('option', { value: 'test' }, 'held-out digit #'),
      el('option', { value: 'drawn' }, 'the drawn digit'),
    );
    const strip = el('canvas', { id: 'latent-strip', class: 'grid', role: 'img', 'aria-label': 'interpolation between two digits' });
    // a model with two latents: the whole decoded plane, z0 across and z1 down, over [-3, 3]²
    const plane = el('canvas', {
      id: 'latent-plane',
      class: 'grid',
      tabIndex: 0,
      role: 'img',
      'aria-label': 'decoded grid over (z0, z1); click, or use the arrow keys, to move the code',
    });
    const planeBox = el(
      'div',
      { hidden: true },
      el('h3', {}, 'The decoded plane'),
      el(
        'p',
        { class: 'muted' },
        'This model has two latents: each cell decodes (z0, z1) on a 15 × 15 grid over [−3, 3]², z0 left to right, z1 top to bottom. ' +
          'The ring is the code the sliders hold (the digit’s, until moved): ' +
          'click anywhere on the plane, or use the arrow keys, to move it.',
      ),
      plane,
    );
    /** The plane's cells without the ring, and a code's place on it: cell centres span [−3, 3]. */
    let planeImage = null;
    const CELL = 29;
    const SPAN = 14 * CELL; // px from the first cell's centre to the last's
    const toPx = (v) => 1 + 14 + ((v + 3) / 6) * SPAN;
    const fromPx = (p) => Math.max(-4, Math.min(4, -3 + ((p - 15) / SPAN) * 6));
    function markPlane() {
      if (!planeImage || !z || z.length !== 2) return;
      const ctx = plane.getContext('2d');
      ctx.putImageData(planeImage, 0, 0);
      const [x, y] = [toPx(z[0]), toPx(z[1])];
      for (const [color, width] of [
        ['#fff', 5],
        ['#d62728', 2.5],
      ]) {
        ctx.beginPath();
        ctx.arc(x, y, 11, 0, Math.PI * 2);
        Object.assign(ctx, { strokeStyle: color, lineWidth: width });
        ctx.stroke();
      }
      plane.dataset.markedAt = `${x.toFixed(1)},${y.toFixed(1)}`;
    }
    /** Move the code to (z0, z1), on the sliders' steps of 0.05: the sliders, the decoded digit and the ring follow. */
    function moveTo(v) {
      if (!z || z.length !== 2) return;
      v.forEach((u, i) => {
        z[i] = Math.round(u * 20) / 20;
        const range = sliders.children[i]?.querySelector('input');
        if (range) range.value = z[i];
        const out = sliders.children[i]?.querySelector('output');
        if (out) out.textContent = z[i].toFixed(2);
      });
      app.setParam('z', Array.from(z, (u) => u.toFixed(2)).join(','));
      markPlane();
      app.guard(decode);
    }
    plane.addEventListener('click', (e) => {
      const r = plane.getBoundingClientRect();
      moveTo([fromPx(((e.clientX - r.left) / r.width) * plane.width), fromPx(((e.clientY - r.top) / r.height) * plane.height)]);
    });
    plane.addEventListener('keydown', (e) => {
      const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
      if (!step || !z) return;
      e.preventDefault();
      moveTo([Math.max(-4, Math.min(4, z[0] + step[0] * 0.25)), Math.max(-4, Math.min(4, z[1] + step[1] * 0.25))]);
    });
    async function drawPlane() {
      const k = 15;
      const zs = new Float32Array(k * k * 2);
      for (let r = 0; r < k; r++) {
        for (let c = 0; c < k; c++) {
          zs[(r * k + c) * 2] = -3 + (6 * c) / (k - 1);
          zs[(r * k + c) * 2 + 1] = -3 + (6 * r) / (k - 1);
        }
      }
      drawDigits(plane, await lab.decode(zs), k * k, k);
      planeImage = plane.getContext('2d').getImageData(0, 0, plane.width, plane.height);
      plane.dataset.drawn = 'true';
    }
    let z = null;
    // a shared link: the digits (source and index) and, once moved, the slider values
    if (app.param('source') === 'drawn') source.value = 'drawn';
    // the held-out indices, checked against the dataset held
    app.afterEngine(() => {
      if (app.param('digit') !== null) index.value = Math.max(0, Math.floor(Number(app.param('digit')) || 0));
      if (app.param('to') !== null) indexB.value = Math.max(0, Math.floor(Number(app.param('to')) || 0));
    });
    let wantZ = (app.param('z') ?? '').split(',').filter(Boolean).map(Number);
    const keepState = () => {
      app.setParam('source', source.value === 'drawn' ? 'drawn' : null);
      app.setParam('digit', source.value === 'drawn' ? null : index.value);
      app.setParam('to', indexB.value);
    };

    const digit = (kind, i) => chosenDigit(app, kind, i);

    // data-z0: the z0 the decoded digit shows (tests wait for it to match the slider)
    const decode = async () => {
      const z0 = z[0];
      drawDigits(decoded, await lab.decode(z), 1, 1);
      decoded.dataset.z0 = z0.toFixed(2);
    };

    /** Renders in flight: only the newest one draws (an older one, slowed by a first fetch of the
     *  held-out digits, must not land last with another digit). */
    let loads = 0;
    let interpolations = 0;

    const chooseDefault = defaultDigit(app, source, index);
    async function load() {
      if (!lab.current) return;
      await chooseDefault();
      // the dataset held says how many held-out images there are
      index.max = indexB.max = lab.data.n_test - 1;
      const mine = ++loads;
      await app.guard(async () => {
        const x = await digit(source.value, index.value);
        const code = (await lab.encode(x)).mu;
        if (mine !== loads) return;
        drawDigits(original, x, 1, 1);
        z = code;
        keepState();
        planeBox.hidden = z.length !== 2;
        if (z.length === 2) await drawPlane();
        if (wantZ.length === z.length && wantZ.every(Number.isFinite)) z.set(wantZ.map((v) => Math.max(-4, Math.min(4, v))));
        else app.setParam('z', null);
        wantZ = [];
        sliders.replaceChildren(
          ...Array.from(z, (v, i) => {
            const out = el('output', {}, v.toFixed(2));
            const range = el('input', { type: 'range', min: -4, max: 4, step: 0.05, value: v, 'aria-label': `latent z${i}` });
            range.addEventListener('input', () => {
              z[i] = Number(range.value);
              out.textContent = z[i].toFixed(2);
              app.setParam('z', Array.from(z, (u) => u.toFixed(2)).join(','));
              markPlane();
              app.guard(decode);
            });
            return el('label', { class: 'slider' }, el('span', {}, `z${i}`), range, out);
          }),
        );
        markPlane();
        await decode();
        await interpolate();
      });
    }

    async function interpolate() {
      const mine = ++interpolations;
      await app.guard(async () => {
        const [a, b] = [await digit(source.value, index.value), await digit(sourceB.value, indexB.value)];
        keepState();
        const za = (await lab.encode(a)).mu;
        const zb = (await lab.encode(b)).mu;
        const steps = 10;
        const zs = new Float32Array(steps * za.length);
        for (let s = 0; s < steps; s++) {
          const t = s / (steps - 1);
          for (let j = 0; j < za.length; j++) zs[s * za.length + j] = (1 - t) * za[j] + t * zb[j];
        }
        const out = await lab.decode(zs);
        if (mine !== interpolations) return;
        const row = new Float32Array(12 * 784);
        row.set(a, 0);
        row.set(out, 784);
        row.set(b, 11 * 784);
        drawDigits(strip, row, 12, 12);
        strip.dataset.drawn = String(Number(strip.dataset.drawn ?? 0) + 1);
      });
    }

    for (const c of [source, index]) c.addEventListener('change', load);
    for (const c of [sourceB, indexB]) c.addEventListener('change', interpolate);
    lab.on('current', () => {
      if (app.isVisible('latent')) load();
    });
    lab.on('dataset', () => {
      z = null;
      if (app.isVisible('latent')) load();
    });
    const root = el(
      'div',
      {},
      el(
        'div',
        { class: 'row' },
        labelled('Digit', source),
        labelled('#', index),
        el('button', { id: 'latent-reset', onclick: load }, 'Reset sliders'),
      ),
      el(
        'div',
        { class: 'row figures' },
        el('figure', {}, original, el('figcaption', {}, 'digit')),
        el('figure', {}, decoded, el('figcaption', {}, 'decoded z')),
      ),
      planeBox,
      sliders,
      el('h3', {}, 'Interpolation'),
      el(
        'div',
        { class: 'row' },
        labelled('From', el('span', {}, 'the digit above')),
        labelled('To', sourceB),
        labelled('#', indexB),
        el('button', { id: 'latent-interpolate', onclick: interpolate }, 'Interpolate'),
      ),
      el(
        'p',
        { class: 'muted' },
        'Left: first digit, right: second; between them the decoder means along the straight line between their latent means.',
      ),
      strip,
    );
    /** The digit, its code decoded with the sliders' values, the interpolation strip and (two
     *  latents) the decoded plane, with captions, at print size. The values drawn are also in
     *  the decoded digit's data-figure-z (tests read them there). */
    function figure() {
      if (!z || !strip.dataset.drawn) return null;
      const m = 16;
      const titleH = 30;
      const big = 116;
      const stripW = strip.width * 2;
      const stripH = strip.height * 2;
      const showPlane = !planeBox.hidden && plane.dataset.drawn;
      const planeW = showPlane ? plane.width * 2 : 0;
      const width = Math.max(stripW, planeW, 2 * big + 24 + 3 * 110) + 2 * m;
      const perCol = Math.ceil(z.length / 3);
      const topH = Math.max(big + 26, perCol * 18 + 22);
      const stripY = titleH + topH + 24;
      const planeY = stripY + stripH + 30 + 24;
      const height = (showPlane ? planeY + plane.height * 2 + 26 : stripY + stripH + 30) + m;
      const { canvas, ctx } = printFigure(width, height, printScale(width));
      const what = source.value === 'drawn' ? 'the drawn digit' : `held-out digit #${index.value}`;
      text(ctx, `Model ${lab.current}: ${what}, its code moved with the sliders, and an interpolation`, width / 2, titleH / 2 + 4, {
        size: 14,
        bold: true,
      });
      pixels(ctx, original, m, titleH, big, big);
      text(ctx, 'digit', m + big / 2, titleH + big + 13, { color: MUTED });
      pixels(ctx, decoded, m + big + 24, titleH, big, big);
      text(ctx, 'decoded z', m + big * 1.5 + 24, titleH + big + 13, { color: MUTED });
      const vx = m + 2 * big + 48;
      text(ctx, 'the sliders (z):', vx, titleH + 8, { align: 'left', color: MUTED });
      Array.from(z).forEach((v, i) => {
        text(ctx, `z${i} = ${v.toFixed(2)}`, vx + Math.floor(i / perCol) * 110, titleH + 28 + (i % perCol) * 18, {
          align: 'left',
          size: 13,
        });
      });
      text(ctx, 'Interpolation', m, stripY - 12, { align: 'left', bold: true, size: 13 });
      pixels(ctx, strip, m, stripY, stripW, stripH);
      const to = sourceB.value === 'drawn' ? 'the drawn digit' : `held-out #${indexB.value}`;
      text(
        ctx,
        `left: the digit above; right: ${to}; between them the decoder means along the straight line between their latent means`,
        m,
        stripY + stripH + 14,
        { align: 'left', color: MUTED, size: 11, max: width - 2 * m },
      );
      if (showPlane) {
        text(ctx, 'The decoded plane: (z0, z1) on a 15 × 15 grid over [−3, 3]², z0 left to right, z1 top to bottom', m, planeY - 12, {
          align: 'left',
          bold: true,
          size: 13,
          max: width - 2 * m,
        });
        pixels(ctx, plane, m, planeY, planeW, plane.height * 2);
      }
      decoded.dataset.figureZ = Array.from(z, (v) => v.toFixed(2)).join(',');
      return { canvas, name: `latent-${lab.current}`, pixelated: false };
    }
    return {
      root,
      show: () => {
        if (!z) load();
      },
      figure,
    };
  },
};
