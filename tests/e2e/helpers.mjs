// What the browser specs share: opening the app, fixtures (models, a drawn digit), fingerprints.
// Every spec gets a fresh browser context (empty IndexedDB) and sets up what it needs itself.
import fs from 'node:fs';

export const SHOTS = 'test-results/screenshots';

/** A check of the engine itself, as `[name, fn]` with its backends: it runs on the CPU engine and,
 *  because what it checks depends on the backend (numerics, GPU control flow, which engine file is
 *  fetched), on WebGPU too. A plain `[name, fn]` runs on the CPU engine only (see run.mjs). */
export const engine = (name, fn) => [name, fn, { backends: ['cpu', 'webgpu'] }];

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** The backend every page is opened with unless its query names one: the runner sets 'webgpu'
 *  for the SwiftShader configuration, where 'auto' (rightly) prefers the CPU. */
export const defaults = { backend: null };

/** Open the app with `query` and wait until it says it is ready. */
export async function open(page, url, query = '') {
  const q = defaults.backend && !/(^|&)backend=/.test(query) ? `${query}&backend=${defaults.backend}` : query;
  await page.goto(`${url}index.html?${q}`);
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 180_000 });
  assert((await page.evaluate(() => document.body.dataset.ready)) === 'true', 'the app did not start');
}

export async function tab(page, id) {
  await page.click(`#tab-${id}`);
  await page.waitForSelector(`#panel-${id}:not([hidden])`);
}

/** Load the shipped models (all of A–E unless named) through the API. */
export async function loadPretrained(page, names = ['A', 'B', 'C', 'D', 'E']) {
  await page.evaluate(async (ns) => {
    for (const n of ns) await window.vaeLab.loadPretrained(n);
  }, names);
}

/** Draw a "7" on the Draw panel's pad with the mouse; resolves once all of it is encoded. */
export async function drawSeven(page) {
  await tab(page, 'draw');
  const box = await page.$eval('#draw-canvas', (c) => {
    const r = c.getBoundingClientRect();
    return { x: r.x, y: r.y, w: r.width, h: r.height };
  });
  // a horizontal bar, then a diagonal down to the left
  const pts = [
    [0.3, 0.25],
    [0.7, 0.25],
    [0.62, 0.45],
    [0.5, 0.65],
    [0.42, 0.8],
  ];
  await page.mouse.move(box.x + pts[0][0] * box.w, box.y + pts[0][1] * box.h);
  await page.mouse.down();
  for (const [x, y] of pts.slice(1)) await page.mouse.move(box.x + x * box.w, box.y + y * box.h, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction(
    () => {
      const pad = document.getElementById('draw-canvas');
      return Number(pad.dataset.encoded ?? 0) > 0 && pad.dataset.encodedChanges === pad.dataset.changes;
    },
    null,
    { timeout: 60_000 },
  );
}

/** Sum of the canvas's pixels: a cheap fingerprint of what is drawn. */
export const canvasSum = (page, sel) =>
  page.$eval(sel, (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let s = 0;
    for (let i = 0; i < d.length; i += 4) s += d[i];
    return s;
  });

export const corr = (a, b) => {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
};

/** A weights file rebuilt from `file` with its header JSON and parameters changed, checksum valid. */
export function forgeWeights(file, { header = (h) => h, param = (v) => v } = {}) {
  const headerLen = file.readUInt32LE(8);
  const json = header(JSON.parse(file.subarray(12, 12 + headerLen).toString()));
  const head = Buffer.from(JSON.stringify(json));
  const params = file.subarray(12 + headerLen, file.length - 8); // u32 count + floats
  const out = Buffer.alloc(12 + head.length + params.length + 8);
  file.copy(out, 0, 0, 8);
  out.writeUInt32LE(head.length, 8);
  head.copy(out, 12);
  params.copy(out, 12 + head.length);
  for (let o = 12 + head.length + 4; o < out.length - 8; o += 4) out.writeFloatLE(param(out.readFloatLE(o)), o);
  // FNV-1a over everything before the checksum, as the format says
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < out.length - 8; i++) h = ((h ^ BigInt(out[i])) * 0x100000001b3n) & 0xffffffffffffffffn;
  out.writeBigUInt64LE(h, out.length - 8);
  return out;
}

export const readWeights = (name) => fs.readFileSync(`weights/${name}.bin`);
