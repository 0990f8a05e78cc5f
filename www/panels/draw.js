// Draw: a canvas for mouse, touch and pen; the stroke is preprocessed like MNIST and encoded
// live: the 28x28 input, q(z|x) as mean ± std bars, reconstructions from the mean and a sample.
// Until the engine and the first model are in, the pad itself shows their download, in bytes.
import { el, drawDigits, digitCanvas, frameThrottle } from '../ui.js';
import { printFigure, printScale, pixels, text, MUTED } from '../figure.js';

const SIZE = 280;

function drawBars(canvas, mu, logvar) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  paintBars(ctx, canvas.width, canvas.height, mu, logvar);
}

/** The bars on `ctx`, in a w × h box at its origin (the screen's canvas, or a figure for print). */
function paintBars(ctx, w, h, mu, logvar) {
  const n = mu.length;
  // the scale follows the code: ±1 when it is small, up to ±4 (whiskers stay readable)
  const reach = Math.max(...Array.from(mu, (m, i) => Math.abs(m) + Math.exp(0.5 * logvar[i])));
  const range = Math.min(4, Math.max(1, Math.ceil(reach)));
  const left = 30; // the y axis
  const y = (v) => h / 2 - (Math.max(-range, Math.min(range, v)) / range) * (h / 2 - 16);
  ctx.font = '11px sans-serif';
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let t = -range; t <= range; t++) {
    ctx.strokeStyle = t === 0 ? '#999' : '#e4e6ec';
    ctx.beginPath();
    ctx.moveTo(left, y(t));
    ctx.lineTo(w, y(t));
    ctx.stroke();
    ctx.fillStyle = '#555';
    ctx.fillText(String(t), left - 4, y(t));
  }
  ctx.textBaseline = 'alphabetic';
  const slot = (w - left) / n;
  ctx.textAlign = 'center';
  for (let i = 0; i < n; i++) {
    const sd = Math.exp(0.5 * logvar[i]);
    const cx = left + slot * i + slot / 2;
    ctx.fillStyle = '#1f77b4';
    ctx.fillRect(cx - slot * 0.3, Math.min(y(0), y(mu[i])), slot * 0.6, Math.abs(y(mu[i]) - y(0)));
    ctx.strokeStyle = '#d62728';
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    ctx.moveTo(cx, y(mu[i] - sd));
    ctx.lineTo(cx, y(mu[i] + sd));
    ctx.moveTo(cx - 5, y(mu[i] - sd));
    ctx.lineTo(cx + 5, y(mu[i] - sd));
    ctx.moveTo(cx - 5, y(mu[i] + sd));
    ctx.lineTo(cx + 5, y(mu[i] + sd));
    ctx.stroke();
    ctx.fillStyle = '#333';
    ctx.fillText(`z${i}`, cx, h - 2);
  }
}

export default {
  id: 'draw',
  create(app) {
    const { lab } = app;
    const pad = el('canvas', {
      id: 'draw-canvas',
      class: 'pad',
      width: SIZE,
      height: SIZE,
      tabIndex: 0,
      role: 'img',
      'aria-label': 'Drawing area: draw a digit with mouse, touch or pen',
    });
    const ctx = pad.getContext('2d', { willReadFrequently: true });
    const input = digitCanvas('preprocessed 28x28 input', 'digit big');
    input.id = 'draw-input';
    const recMean = digitCanvas('reconstruction from the mean of q(z|x)', 'digit big');
    recMean.id = 'draw-rec-mean';
    const recSample = digitCanvas('reconstruction from a sample z ~ q(z|x)', 'digit big');
    recSample.id = 'draw-rec-sample';
    const bars = el('canvas', {
      id: 'draw-bars',
      width: 480,
      height: 200,
      role: 'img',
      'aria-label': 'q(z|x): mean ± one standard deviation per latent',
    });
    const note = el('p', { class: 'muted', id: 'draw-note' }, 'Draw a digit; it is encoded as you draw.');
    let last = null;
    let sampleSeed = 1;
    /** q(z|x) of the encoded drawing, and the model that encoded it (for the figure). */
    let code = null;

    function clear() {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, SIZE, SIZE);
      app.drawn = null;
      code = null;
      for (const c of [input, recMean, recSample]) drawDigits(c, new Float32Array(784), 1, 1);
      bars.getContext('2d').clearRect(0, 0, bars.width, bars.height);
      note.textContent = 'Draw a digit; it is encoded as you draw.';
    }

    // data-changes counts edits of the pad, data-encoded-changes the edit the shown encoding is
    // of: equal once everything drawn is encoded (tests wait on that, never on a timer)
    let changes = 0;
    const encodeNow = frameThrottle(async () => {
      const seen = changes;
      try {
        await encodeOnce();
      } finally {
        pad.dataset.encodedChanges = String(seen);
      }
    });
    const encode = () => {
      pad.dataset.changes = String(++changes);
      encodeNow();
    };

    const encodeOnce = async () => {
      if (!lab.current) return;
      const rgba = ctx.getImageData(0, 0, SIZE, SIZE).data;
      const gray = new Float32Array(SIZE * SIZE);
      let ink = 0;
      for (let i = 0; i < gray.length; i++) {
        gray[i] = rgba[i * 4] / 255;
        ink += gray[i];
      }
      if (ink === 0) return;
      await app.guard(async () => {
        const x = await lab.preprocess(gray, SIZE, SIZE);
        app.drawn = x;
        drawDigits(input, x, 1, 1);
        const { mu, logvar } = await lab.encode(x);
        drawBars(bars, mu, logvar);
        drawDigits(recMean, await lab.reconstruct(x), 1, 1);
        drawDigits(recSample, await lab.reconstruct(x, { sampled: true, seed: sampleSeed++ }), 1, 1);
        code = { mu, logvar, model: lab.current };
        note.textContent = `Encoded by model ${lab.current}. Blue: mean of q(z|x); red: ± one standard deviation.`;
        pad.dataset.encoded = String(Number(pad.dataset.encoded ?? 0) + 1);
      });
    };

    function point(e) {
      const r = pad.getBoundingClientRect();
      return [((e.clientX - r.left) * SIZE) / r.width, ((e.clientY - r.top) * SIZE) / r.height];
    }
    pad.addEventListener('pointerdown', (e) => {
      endWait(); // a pad drawn on before a model is in (not inert): what is drawn stays
      pad.setPointerCapture(e.pointerId);
      last = point(e);
      ctx.fillStyle = '#fff';
      ctx.beginPath();
      ctx.arc(last[0], last[1], 9, 0, Math.PI * 2);
      ctx.fill();
      e.preventDefault();
    });
    pad.addEventListener('pointermove', (e) => {
      if (!last) return;
      const p = point(e);
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 18 * (e.pressure > 0 && e.pointerType === 'pen' ? 0.5 + e.pressure : 1);
      ctx.lineCap = 'round';
      ctx.lineJoin = 'round';
      ctx.beginPath();
      ctx.moveTo(last[0], last[1]);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
      last = p;
      encode();
    });
    const end = () => {
      if (last) encode();
      last = null;
    };
    pad.addEventListener('pointerup', end);
    pad.addEventListener('pointercancel', end);
    pad.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' || e.key === 'Delete' || e.key === 'Backspace') clear();
    });

    /** Keyboard and test path: put a held-out digit onto the pad, scaled up. */
    async function useTestDigit() {
      await app.guard(async () => {
        const i = Math.floor(Math.random() * lab.data.n_test);
        const x = await lab.testImages([i]);
        const small = document.createElement('canvas');
        small.width = small.height = 28;
        const img = small.getContext('2d').createImageData(28, 28);
        for (let k = 0; k < 784; k++) {
          const v = Math.round(x[k] * 255);
          img.data.set([v, v, v, 255], k * 4);
        }
        small.getContext('2d').putImageData(img, 0, 0);
        clear();
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(small, 0, 0, SIZE, SIZE);
        encode();
      });
    }

    /** A few dozen drawings make a dataset of one's own (Data panel): add this one, clear the pad. */
    async function addToOwn() {
      await app.guard(async () => {
        if (!app.drawn) throw new Error('Draw something first.');
        const name = app.param('own') || 'my-images';
        const r = await lab.addImages(name, [app.drawn]);
        app.setParam('own', name);
        clear();
        note.textContent =
          `Added to '${r.name}': ${r.n} image${r.n === 1 ? '' : 's'}. ` + `Draw the next one; train on them from the Data panel.`;
        pad.dataset.added = String(r.n);
      });
    }

    // --- the wait, shown where the student will draw: the downloads in flight (the engine and the
    // first model's weights come side by side), in bytes, until a model can encode the pad. The
    // pad is inert meanwhile (the page and the element keep their panels inert until then).
    const downloads = new Map();
    let waiting = !lab.current;
    const aria = pad.getAttribute('aria-label');
    function paintWait(failed = null) {
      if (!waiting || changes > 0) return;
      const all = [...downloads.values()];
      const got = all.reduce((a, d) => a + d.loaded, 0);
      const known = all.length > 0 && all.every((d) => d.total > 0); // a host may not say the size
      const of = all.reduce((a, d) => a + d.total, 0);
      const mb = (n) => (n / 1e6).toFixed(1);
      const text = failed ?? (all.length === 0 ? 'Loading the model…' : `${mb(got)}${known ? ` / ${mb(of)}` : ''} MB`);
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, SIZE, SIZE);
      ctx.fillStyle = '#ccc';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.font = '15px sans-serif';
      ctx.fillText(
        failed ? 'The engine could not load' : all.length ? `Loading ${[...downloads.keys()].join(' + ')}` : 'Loading…',
        SIZE / 2,
        SIZE / 2 - 34,
      );
      ctx.font = '13px sans-serif';
      ctx.fillText(text, SIZE / 2, SIZE / 2 + 30, SIZE - 20);
      // the bar: its share where the total is known, a plain outline where it is not
      const x = 30;
      const w = SIZE - 60;
      ctx.strokeStyle = '#888';
      ctx.lineWidth = 1;
      ctx.strokeRect(x + 0.5, SIZE / 2 - 5.5, w, 11);
      if (known && !failed) {
        ctx.fillStyle = '#6aa9ff';
        ctx.fillRect(x + 2, SIZE / 2 - 3, Math.max(0, Math.min(1, got / of)) * (w - 3), 8);
      }
      pad.dataset.loading = known && !failed ? (got / of).toFixed(3) : failed ? 'failed' : 'unknown';
      pad.dataset.loadingText = text;
      pad.setAttribute('aria-label', `Drawing area, not ready yet: ${failed ?? `loading ${text}`}`);
      pad.setAttribute('aria-busy', 'true');
    }
    function endWait() {
      if (!waiting) return;
      waiting = false;
      delete pad.dataset.loading;
      delete pad.dataset.loadingText;
      pad.setAttribute('aria-label', aria);
      pad.removeAttribute('aria-busy');
      if (changes === 0) {
        ctx.fillStyle = '#000';
        ctx.fillRect(0, 0, SIZE, SIZE);
      }
    }
    lab.on('download', ({ label, loaded, total, done }) => {
      if (!waiting) return;
      if (done || (total > 0 && loaded >= total)) downloads.set(label, { loaded, total: loaded });
      else downloads.set(label, { loaded, total });
      paintWait();
    });
    Promise.resolve(lab.ready).catch((e) => paintWait(`${e?.message ?? e}`.slice(0, 60)));

    // a stroke drawn before a model was in is encoded once one is
    lab.on('current', () => {
      if (lab.current) endWait();
      if (app.drawn || changes > 0) encode();
    });
    clear();
    if (waiting) paintWait();
    const root = el(
      'div',
      { class: 'draw' },
      el(
        'div',
        { class: 'col' },
        pad,
        el(
          'div',
          { class: 'row' },
          el('button', { id: 'draw-clear', onclick: clear }, 'Clear'),
          el('button', { id: 'draw-test-digit', onclick: useTestDigit }, 'Use a held-out digit'),
          el(
            'button',
            {
              id: 'draw-add',
              title: 'Add this drawing to your own dataset (Data panel) and clear the pad for the next one',
              onclick: addToOwn,
            },
            'Add to my images',
          ),
        ),
        el('p', { class: 'muted' }, 'Esc clears. Mouse, touch and pen all draw.'),
      ),
      el(
        'div',
        { class: 'col' },
        el(
          'div',
          { class: 'row figures' },
          el('figure', {}, input, el('figcaption', {}, 'input (28×28)')),
          el('figure', {}, recMean, el('figcaption', {}, 'from mean')),
          el('figure', {}, recSample, el('figcaption', {}, 'from a sample')),
        ),
        el('figure', {}, bars, el('figcaption', {}, 'q(z|x) per latent')),
        note,
      ),
    );
    /** The drawing, its 28×28 input, both reconstructions and q(z|x), with captions, at print size. */
    function figure() {
      if (!code) return null;
      const m = 16;
      const titleH = 30;
      const big = 116; // a digit: 29 px (28 and a border) × 4
      const right = m + SIZE + 28;
      const width = right + 480 + m;
      const height = titleH + Math.max(SIZE + 26, big + 26 + 200 + 26) + m;
      const { canvas, ctx } = printFigure(width, height, printScale(width));
      text(ctx, `Model ${code.model}: a drawn digit, the model's 28×28 input, its reconstructions and q(z|x)`, width / 2, titleH / 2 + 4, {
        size: 14,
        bold: true,
      });
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(pad, m, titleH, SIZE, SIZE);
      text(ctx, 'drawn', m + SIZE / 2, titleH + SIZE + 13, { color: MUTED });
      [
        [input, 'input (28×28)'],
        [recMean, 'from the mean of q(z|x)'],
        [recSample, 'from a sample z ~ q(z|x)'],
      ].forEach(([c, caption], i) => {
        const x = right + i * (big + 36);
        pixels(ctx, c, x, titleH, big, big);
        text(ctx, caption, x + big / 2, titleH + big + 13, { color: MUTED, max: big + 30 });
      });
      const barsY = titleH + big + 26;
      ctx.save();
      ctx.translate(right, barsY);
      paintBars(ctx, 480, 200, code.mu, code.logvar);
      ctx.restore();
      text(ctx, 'q(z|x) per latent: mean (blue) ± one standard deviation (red)', right + 240, barsY + 200 + 13, { color: MUTED });
      return { canvas, name: `drawn-${code.model}`, pixelated: false };
    }
    return {
      root,
      show: () => {
        if (app.drawn) encode();
      },
      figure,
    };
  },
};
