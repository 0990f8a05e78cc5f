// Small DOM and drawing helpers shared by the panels.

/** el('button', {class: 'x', onclick}, 'text', child...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(node.style, v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c.nodeType ? c : String(c));
  return node;
}

export function labelled(text, input, hint) {
  return el('label', { class: 'field' }, el('span', {}, text), input, hint ? el('small', {}, hint) : null);
}

/**
 * Draw digits (784 floats each, [0,1]) into a canvas as a grid: white ink on black like MNIST.
 * The canvas keeps 28 px per digit + 1 px gaps; CSS scales it up pixelated.
 */
export function drawDigits(canvas, pixels, n, cols) {
  cols = Math.max(1, Math.min(cols, n));
  const rows = Math.ceil(n / cols);
  const w = cols * 29 + 1;
  const h = rows * 29 + 1;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(w, h);
  img.data.fill(255);
  for (let i = 0; i < img.data.length; i += 4) {
    img.data[i] = img.data[i + 1] = img.data[i + 2] = 70; // grid lines
  }
  for (let k = 0; k < n; k++) {
    const ox = (k % cols) * 29 + 1;
    const oy = Math.floor(k / cols) * 29 + 1;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const v = Math.round(Math.min(1, Math.max(0, pixels[k * 784 + y * 28 + x])) * 255);
        const o = ((oy + y) * w + ox + x) * 4;
        img.data[o] = img.data[o + 1] = img.data[o + 2] = v;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
}

export function digitCanvas(label, cls = 'digit') {
  return el('canvas', { class: cls, width: 29, height: 29, role: 'img', 'aria-label': label });
}

/** Concatenate a list of Float32Array(784) into one buffer. */
export function concat(list) {
  const out = new Float32Array(list.reduce((s, a) => s + a.length, 0));
  let at = 0;
  for (const a of list) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

export const SERIES_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export function fmt(v, digits = 1) {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
}

/** Debounce to one call per animation frame, never overlapping an async call in flight. */
export function frameThrottle(fn) {
  let scheduled = false;
  let running = false;
  let again = false;
  const run = async () => {
    scheduled = false;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await fn();
    } finally {
      running = false;
      if (again) {
        again = false;
        trigger();
      }
    }
  };
  const trigger = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(run);
    }
  };
  return trigger;
}

/** Width for a chart in `box`: the box's width (a phone's is narrow), at most `max`. */
export const chartWidth = (box, max) => Math.max(240, Math.min(max, box.clientWidth || max));

/** Keep uPlot charts as wide as their box when the window (or an embedding frame) resizes. */
export function fitCharts(box, charts, max, height) {
  new ResizeObserver(() => {
    const width = chartWidth(box, max);
    for (const c of charts()) if (c && c.width !== width) c.setSize({ width, height });
  }).observe(box);
}

/** Hand a Blob to the visitor as a file download. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Long side of a saved figure: about 6 inches at 300 dpi. */
export const PRINT_PX = 1800;

/**
 * A canvas as a PNG for print: scaled up by a whole factor until it is about PRINT_PX wide,
 * nearest-neighbour for pixel figures (digits stay crisp), smooth for charts.
 * Resolves to {blob, width, height}.
 */
export async function canvasPng(canvas, { pixelated = true } = {}) {
  const scale = Math.max(1, Math.min(16, Math.ceil(PRINT_PX / Math.max(canvas.width, canvas.height))));
  const out = document.createElement('canvas');
  out.width = canvas.width * scale;
  out.height = canvas.height * scale;
  const ctx = out.getContext('2d');
  ctx.imageSmoothingEnabled = !pixelated;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(canvas, 0, 0, out.width, out.height);
  const blob = await new Promise((resolve, reject) =>
    out.toBlob((b) => (b ? resolve(b) : reject(new Error('the figure could not be encoded as PNG'))), 'image/png'),
  );
  return { blob, width: out.width, height: out.height };
}

/** Rows (arrays) as CSV text, the first row the header. Numbers keep full precision. */
export function toCsv(rows) {
  const cell = (v) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${rows.map((r) => r.map(cell).join(',')).join('\n')}\n`;
}

/**
 * A uPlot chart redrawn for print: the same data, series, scales and axis labels, three times the
 * size with fonts and lines to match, its title above and its legend below, on white. Resolves to
 * a canvas (about 1800 px wide for a 600 px chart).
 */
export async function printChart(uPlot, u, scale = 3) {
  const S = scale;
  const font = (px, bold = '') => `${bold}${px * S}px system-ui, sans-serif`;
  const axis = (a, i) => ({
    label: a.label,
    font: font(12),
    labelFont: font(12, 'bold '),
    size: (a._size ?? 50) * S,
    labelSize: 30 * S,
    space: (i === 0 ? 50 : 30) * S,
    gap: 5 * S,
    ticks: { size: 10 * S, width: S },
    grid: { width: S, stroke: '#0000001a' },
    stroke: '#333',
    // custom ticks (the histogram's bin edges) carry over; uPlot's defaults are the same functions
    splits: a.splits,
    values: a.values,
  });
  const colors = u.series.map((s, i) => (i && typeof s.stroke === 'function' ? s.stroke(u, i) : (s.stroke ?? '#000')));
  const fills = u.series.map((s, i) => (i && typeof s.fill === 'function' ? s.fill(u, i) : (s.fill ?? null)));
  const opts = {
    width: u.width * S,
    height: u.height * S,
    legend: { show: false },
    cursor: { show: false },
    // the right margin scales too (uPlot's default stays 25 px): the last x tick's label fits whole
    padding: [null, 25 * S, null, null],
    scales: Object.fromEntries(Object.entries(u.scales).map(([k, v]) => [k, { time: false, range: [v.min, v.max] }])),
    axes: u.axes.map(axis),
    series: u.series.map((s, i) =>
      i === 0
        ? {}
        : {
            label: s.label,
            stroke: colors[i],
            fill: fills[i] ?? undefined,
            width: (s.width ?? 1) * S,
            dash: s.dash?.map((d) => d * S),
            paths: s.paths,
            spanGaps: s.spanGaps,
            points: { show: false },
          },
    ),
  };
  const holder = el('div', { style: { position: 'fixed', left: '-100000px', top: '0' } });
  document.body.append(holder);
  // uPlot sizes and draws in a microtask after it is made
  const big = await new Promise((resolve) => {
    const made = new uPlot({ ...opts, hooks: { draw: [(self) => resolve(self)] } }, u.data, holder);
    setTimeout(() => resolve(made), 1000);
  });
  const plot = big.ctx.canvas;
  const title = u.root.querySelector('.u-title')?.textContent ?? '';
  const entries = u.series
    .slice(1)
    .map((s, i) => ({ label: s.label, color: colors[i + 1] }))
    .filter((e) => e.label);
  const titleH = title ? 24 * S : 0;
  const legendH = entries.length ? (Math.ceil(entries.length / 3) * 18 + 8) * S : 0;
  const out = el('canvas', { width: plot.width, height: plot.height + titleH + legendH });
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = '#1d2330';
  ctx.font = font(14, 'bold ');
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  if (title) ctx.fillText(title, out.width / 2, titleH / 2);
  ctx.drawImage(plot, 0, titleH);
  ctx.font = font(12);
  ctx.textAlign = 'left';
  const colW = out.width / 3;
  entries.forEach((e, i) => {
    const x = (i % 3) * colW + 16 * S;
    const y = plot.height + titleH + (Math.floor(i / 3) * 18 + 12) * S;
    ctx.fillStyle = e.color;
    ctx.fillRect(x, y - 5 * S, 14 * S, 10 * S);
    ctx.fillStyle = '#1d2330';
    ctx.fillText(e.label, x + 20 * S, y);
  });
  big.destroy();
  holder.remove();
  return out;
}
