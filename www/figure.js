// Figures composed for print (a panel's Save PNG): digits and cell grids scaled up by a whole
// factor with no smoothing, text drawn at print size, on white. Loaded with the panels that use it.

export const INK = '#1d2330';
export const MUTED = '#555';

/** A white canvas of width × height layout units, `scale` pixels each; draw on `ctx` in units. */
export function printFigure(width, height, scale) {
  const canvas = document.createElement('canvas');
  canvas.width = Math.ceil(width * scale);
  canvas.height = Math.ceil(height * scale);
  const ctx = canvas.getContext('2d');
  ctx.scale(scale, scale);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingEnabled = false;
  return { canvas, ctx };
}

/** The whole factor that makes `width` layout units about 1800 px (at least 2). */
export const printScale = (width) => Math.max(2, Math.min(8, Math.ceil(1800 / width)));

/** Text at (x, y) in units: `size` px, centred unless `align` says, in ink unless `color` says. */
export function text(ctx, str, x, y, { size = 12, align = 'center', color = INK, bold = false, baseline = 'middle', max } = {}) {
  ctx.font = `${bold ? 'bold ' : ''}${size}px system-ui, sans-serif`;
  ctx.fillStyle = color;
  ctx.textAlign = align;
  ctx.textBaseline = baseline;
  if (max) ctx.fillText(str, x, y, max);
  else ctx.fillText(str, x, y);
}

/** A pixel canvas (digits, cells) drawn at (x, y), `w` × `h` units, without smoothing. */
export function pixels(ctx, canvas, x, y, w, h) {
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(canvas, x, y, w, h);
}

/** A colour readable on white: the page's own where it is dark enough (dark mode's light text
 *  becomes ink). */
function onWhite(color, fallback) {
  const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)/.exec(color);
  if (!m) return fallback;
  const [r, g, b] = m.slice(1, 4).map(Number);
  return 0.299 * r + 0.587 * g + 0.114 * b < 150 ? color : fallback;
}

/**
 * What `box` shows, drawn as laid out on screen: every canvas at its place and size (no
 * smoothing), every text at its place in its font (dark on white), `title` above. Elements
 * matching `skip` (a selector) are left out. Resolves to {canvas} at about 1800 px wide.
 */
export function snapshot(box, { title = '', skip = 'button, select, input, [hidden]' } = {}) {
  const at = box.getBoundingClientRect();
  const titleH = title ? 28 : 0;
  const pad = 12;
  const width = at.width + 2 * pad;
  const height = at.height + 2 * pad + titleH;
  const S = printScale(width);
  const { canvas, ctx } = printFigure(width, height, S);
  if (title) text(ctx, title, width / 2, pad + titleH / 2, { size: 14, bold: true });
  const ox = pad - at.left;
  const oy = pad + titleH - at.top;
  const skipped = (node) => skip && node.closest?.(skip);
  for (const c of box.querySelectorAll('canvas')) {
    if (skipped(c)) continue;
    const r = c.getBoundingClientRect();
    if (r.width && r.height && c.width && c.height) pixels(ctx, c, r.left + ox, r.top + oy, r.width, r.height);
  }
  const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    const words = node.textContent;
    if (!words.trim() || !parent || skipped(parent)) continue;
    const style = getComputedStyle(parent);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const lines = [...range.getClientRects()].filter((r) => r.width > 0);
    if (!lines.length) continue;
    const size = parseFloat(style.fontSize) || 12;
    ctx.font = `${style.fontWeight >= 600 ? 'bold ' : ''}${size}px ${style.fontFamily}`;
    ctx.fillStyle = onWhite(style.color, INK);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    // text that wraps: fill each line box in turn with as many words as fit it
    const parts = words.replace(/\s+/g, ' ').split(/(?<= )/);
    let li = 0;
    let line = '';
    const put = (s) => ctx.fillText(s, lines[li].left + ox, lines[li].top + oy + lines[li].height / 2);
    for (const w of parts) {
      if (li < lines.length - 1 && line.trim() && ctx.measureText(line + w).width > lines[li].width + 1) {
        put(line.trimEnd());
        li++;
        line = w.trimStart();
      } else line += w;
    }
    put(line.trimEnd());
  }
  return { canvas };
}
