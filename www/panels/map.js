// Map: latent means of the held-out digits projected to 2D by PCA, coloured by label; click a
// point (or use the arrow keys) to see the digit and its reconstruction. A click anywhere also
// decodes that point of the plane (mapped back into the latent space), a drag animates it, and a
// digit drawn in the Draw panel shows as a point.
import { el, drawDigits, digitCanvas, SERIES_COLORS } from '../ui.js';
import { typicalDigit } from '../shell.js';

const W = 560;
const H = 420;

export default {
  id: 'map',
  create(app) {
    const { lab } = app;
    const canvas = el('canvas', {
      id: 'map-canvas',
      width: W,
      height: H,
      tabIndex: 0,
      role: 'img',
      'aria-label': 'PCA map of latent means; arrow keys move between points',
    });
    const legend = el('div', { class: 'legend', id: 'map-legend' });
    /** The legend: a colour per class that has points, named as the dataset names its classes
     *  (Fashion-MNIST's 'Trouser', not 1); none for pictures without labels. */
    const legendEntries = () => {
      const present = new Set(labels ?? []);
      return SERIES_COLORS.map((color, d) => ({ color, d, label: String(lab.data?.classes?.[d] ?? d) })).filter((e) => present.has(e.d));
    };
    const paintLegend = () => {
      legend.replaceChildren(
        ...legendEntries().map((e) => el('span', {}, el('i', { class: 'swatch', style: { background: e.color } }), e.label)),
      );
    };
    const digit = digitCanvas('selected digit', 'digit big');
    const rec = digitCanvas('its reconstruction', 'digit big');
    const here = digitCanvas('the plane decoded where you clicked', 'digit big');
    here.id = 'map-decoded';
    const info = el('p', { class: 'muted', id: 'map-info' }, 'Click a point, or anywhere to decode that place; drag to move.');
    const axes = el('p', { class: 'muted', id: 'map-axes' });
    let points = null;
    let labels = null;
    let screen = null;
    let plane = null; // lab.latentPlane(): the way from the map back into the latent space
    let toPlane = null; // canvas px -> (a, b) on the plane
    let drawnAt = null; // the drawn digit on the map, canvas px
    let selected = -1;
    // a linked point, checked against the held-out images of the dataset held
    app.afterEngine(() => {
      selected = Math.floor(Number(app.param('point') ?? -1));
      if (!Number.isFinite(selected)) selected = -1;
    });

    /** Draw the map into `ctx` (the on-screen canvas, or a larger one scaled for print). */
    function paint(ctx = canvas.getContext('2d')) {
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, W, H);
      for (let i = 0; i < screen.length; i++) {
        ctx.fillStyle = SERIES_COLORS[labels[i] % 10];
        ctx.globalAlpha = 0.75;
        ctx.beginPath();
        ctx.arc(screen[i][0], screen[i][1], 3, 0, Math.PI * 2);
        ctx.fill();
      }
      ctx.globalAlpha = 1;
      // axis names (the explained variance is in the caption)
      ctx.fillStyle = '#444';
      ctx.font = '12px sans-serif';
      ctx.textAlign = 'right';
      ctx.fillText('PC1 →', W - 4, H - 4);
      ctx.save();
      ctx.translate(12, 4);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText('PC2 →', 0, 0);
      ctx.restore();
      if (drawnAt) {
        // the drawn digit: a black diamond ringed in white, named
        const [x, y] = drawnAt;
        ctx.beginPath();
        ctx.moveTo(x, y - 8);
        ctx.lineTo(x + 8, y);
        ctx.lineTo(x, y + 8);
        ctx.lineTo(x - 8, y);
        ctx.closePath();
        ctx.fillStyle = '#000';
        ctx.strokeStyle = '#fff';
        ctx.lineWidth = 2;
        ctx.fill();
        ctx.stroke();
        ctx.textAlign = x > W - 90 ? 'right' : 'left';
        ctx.fillText('your drawing', x + (x > W - 90 ? -12 : 12), y - 10);
      }
      if (selected >= 0) {
        ctx.strokeStyle = '#000';
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.arc(screen[selected][0], screen[selected][1], 7, 0, Math.PI * 2);
        ctx.stroke();
      }
    }

    async function select(i) {
      selected = i;
      paint();
      canvas.dataset.selected = String(i);
      canvas.dataset.at = screen[i].map((v) => v.toFixed(1)).join(',');
      app.setParam('point', i);
      await app.guard(async () => {
        const x = await lab.testImages([i]);
        drawDigits(digit, x, 1, 1);
        drawDigits(rec, await lab.reconstruct(x), 1, 1);
        const name = labels[i] === 255 ? 'no label' : `label ${lab.data?.classes?.[labels[i]] ?? labels[i]}`;
        info.textContent = `Held-out image #${i}, ${name}; PCA coordinates (${points[2 * i].toFixed(2)}, ${points[2 * i + 1].toFixed(2)}).`;
        canvas.dataset.shown = String(i); // the digit and its reconstruction are on screen
      });
    }

    async function render() {
      if (!lab.current) return;
      await app.guard(async () => {
        plane = await lab.latentPlane();
        points = plane.coords;
        labels = await lab.testLabels();
        const n = labels.length;
        const d = plane.mean.length;
        const [e1, e2] = plane.explained.map((v) => 100 * v);
        axes.textContent =
          `Horizontal: the first principal component of the ${d} latent means ` +
          `(${e1.toFixed(0)}% of their variance); vertical: the second (${e2.toFixed(0)}%).`;
        canvas.dataset.explained = `${e1.toFixed(1)},${e2.toFixed(1)}`;
        let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
        for (let i = 0; i < n; i++) {
          x0 = Math.min(x0, points[2 * i]);
          x1 = Math.max(x1, points[2 * i]);
          y0 = Math.min(y0, points[2 * i + 1]);
          y1 = Math.max(y1, points[2 * i + 1]);
        }
        const m = 12;
        const toScreen = (a, b) => [m + ((a - x0) / (x1 - x0 || 1)) * (W - 2 * m), H - m - ((b - y0) / (y1 - y0 || 1)) * (H - 2 * m)];
        toPlane = (px, py) => [x0 + ((px - m) / (W - 2 * m)) * (x1 - x0 || 1), y0 + ((H - m - py) / (H - 2 * m)) * (y1 - y0 || 1)];
        screen = Array.from({ length: n }, (_, i) => toScreen(points[2 * i], points[2 * i + 1]));
        canvas.dataset.points = String(n);
        // the drawn digit, projected like the others (kept on the canvas if it lies beyond them)
        drawnAt = null;
        delete canvas.dataset.drawnAt;
        if (app.drawn) {
          const { mu } = await lab.encode(app.drawn);
          const [a, b] = [0, 1].map((k) => plane.axes[k].reduce((s, v, j) => s + v * (mu[j] - plane.mean[j]), 0));
          drawnAt = toScreen(a, b).map((v, k) => Math.max(8, Math.min((k ? H : W) - 8, v)));
          canvas.dataset.drawnAt = drawnAt.map((v) => v.toFixed(1)).join(',');
        }
        paintLegend();
        // a point past this dataset's last (a smaller dataset since it was chosen): the first
        // none in the link: a typical held-out digit, not #0 (one of the worst reconstructed)
        if (selected < 0) selected = Math.min(n - 1, await typicalDigit(lab));
        if (selected >= n) selected = 0;
        paint();
        await select(selected);
      });
    }

    /** The canvas pixel under a pointer event. */
    const at = (e) => {
      const r = canvas.getBoundingClientRect();
      return [((e.clientX - r.left) * W) / r.width, ((e.clientY - r.top) * H) / r.height];
    };
    // decode the plane where the pointer is: one decode at a time, the latest position next
    let pending = null;
    let decoding = false;
    let decodes = 0;
    async function decodeAt(px, py) {
      if (!plane) return;
      pending = [px, py];
      if (decoding) return;
      decoding = true;
      try {
        while (pending) {
          const [a, b] = toPlane(...pending);
          pending = null;
          const z = plane.mean.map((mj, j) => mj + a * plane.axes[0][j] + b * plane.axes[1][j]);
          const x = await lab.decode(z);
          drawDigits(here, x, 1, 1);
          here.dataset.at = `${a.toFixed(3)},${b.toFixed(3)}`;
          here.dataset.z = Array.from(z, (v) => v.toFixed(4)).join(',');
          here.dataset.sum = x.reduce((s, v) => s + v, 0).toFixed(3);
          canvas.dataset.decodes = String(++decodes);
        }
      } catch (e) {
        app.say(e.message, 'error');
      } finally {
        decoding = false;
      }
    }
    let dragging = false;
    canvas.addEventListener('pointerdown', (e) => {
      dragging = true;
      canvas.setPointerCapture?.(e.pointerId);
      decodeAt(...at(e));
    });
    canvas.addEventListener('pointermove', (e) => {
      if (dragging) decodeAt(...at(e));
    });
    for (const type of ['pointerup', 'pointercancel']) canvas.addEventListener(type, () => (dragging = false));
    canvas.addEventListener('click', (e) => {
      if (!screen) return;
      const [px, py] = at(e);
      let best = 0;
      let bestD = Infinity;
      screen.forEach(([x, y], i) => {
        const d = (x - px) ** 2 + (y - py) ** 2;
        if (d < bestD) {
          bestD = d;
          best = i;
        }
      });
      select(best);
    });
    // arrow keys move to the nearest point in that direction on the map (within a 90° cone),
    // not to the next index, which could be anywhere
    canvas.addEventListener('keydown', (e) => {
      if (!screen) return;
      const dir = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] }[e.key];
      if (!dir) return;
      e.preventDefault();
      const [x0, y0] = screen[Math.max(0, selected)];
      let best = -1;
      let bestD = Infinity;
      screen.forEach(([x, y], i) => {
        const along = (x - x0) * dir[0] + (y - y0) * dir[1];
        const across = Math.abs((x - x0) * dir[1] - (y - y0) * dir[0]);
        if (i === selected || along <= 0 || across > along) return;
        const d = along + 2 * across; // prefer straight ahead
        if (d < bestD) {
          bestD = d;
          best = i;
        }
      });
      if (best >= 0) select(best);
    });
    lab.on('current', () => {
      if (app.isVisible('map')) render();
    });
    lab.on('dataset', () => {
      if (app.isVisible('map')) render();
    });
    const root = el(
      'div',
      { class: 'map' },
      el('div', { class: 'col' }, canvas, legend, axes),
      el(
        'div',
        { class: 'col' },
        el(
          'div',
          { class: 'row figures' },
          el('figure', {}, digit, el('figcaption', {}, 'digit')),
          el('figure', {}, rec, el('figcaption', {}, 'reconstruction')),
          el('figure', {}, here, el('figcaption', {}, 'decoded where you clicked')),
        ),
        info,
      ),
    );
    /** The map redrawn at 4x for print (the points stay sharp), its colour legend and its axes'
     *  share of the variance below it. The legend's labels are also in the map's
     *  data-figure-legend (tests read them there). */
    function figure() {
      if (!screen) return null;
      const S = 4;
      const entries = legendEntries();
      const perRow = 5;
      const rowH = 20;
      const legendH = entries.length ? Math.ceil(entries.length / perRow) * rowH + 6 : 0;
      const captionH = 20;
      const big = document.createElement('canvas');
      big.width = W * S;
      big.height = (H + legendH + captionH) * S;
      const ctx = big.getContext('2d');
      ctx.scale(S, S);
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, W, H + legendH + captionH);
      paint(ctx);
      ctx.font = '12px sans-serif';
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'left';
      entries.forEach((e, i) => {
        const x = 12 + (i % perRow) * ((W - 24) / perRow);
        const y = H + 6 + Math.floor(i / perRow) * rowH + rowH / 2;
        ctx.fillStyle = e.color;
        ctx.beginPath();
        ctx.arc(x + 5, y, 5, 0, Math.PI * 2);
        ctx.fill();
        ctx.fillStyle = '#1d2330';
        ctx.fillText(e.label, x + 15, y, (W - 24) / perRow - 20);
      });
      const [e1, e2] = (canvas.dataset.explained ?? '').split(',');
      ctx.fillStyle = '#444';
      ctx.font = '11px sans-serif';
      ctx.fillText(
        `Latent means of ${screen.length} held-out images, model ${lab.current}, ` +
          `by PCA: PC1 ${Math.round(e1)}%, PC2 ${Math.round(e2)}% of their variance.`,
        12,
        H + legendH + captionH / 2,
        W - 24,
      );
      canvas.dataset.figureLegend = entries.map((e) => e.label).join('|');
      return { canvas: big, name: `latent-map-${lab.current}`, pixelated: false };
    }
    return { root, show: render, figure };
  },
};
