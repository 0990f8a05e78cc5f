// What the page (app.js) and the <vae-lab> element (element.js) share: the context a panel gets,
// and a panel's section with its figure tools (PNG, CSV).
import { el, canvasPng, saveBlob, toCsv } from './ui.js';
import { explanation } from './explain.js';

/** The panels' titles, in the order a student meets them: draw a digit first, the model table
 *  last. Here rather than in each panel's module, so that the page can lay out every tab while
 *  it loads only the panel in view. */
export const PANEL_TITLES = {
  draw: 'Draw',
  inside: 'Inside',
  sample: 'Sample',
  reconstruct: 'Reconstruct',
  chain: 'Chain',
  latent: 'Latent',
  map: 'Map',
  collapse: 'Collapse',
  data: 'Data',
  train: 'Train',
  models: 'Models',
};
export const PANEL_IDS = Object.keys(PANEL_TITLES);

/** The drawn digit is shared by every panel on a page (draw in one element, chain from it in another). */
const shared = { drawn: null };

/** The largest seed the engine takes (a u32). */
const MAX_SEED = 0xffffffff;
/** The last held-out image of the dataset held (the engine says how many there are). */
const lastHeldOut = (lab) => engineSaid(lab).data.n_test - 1;
/** Link values that are whole numbers, with their range: a value outside it (a seed of 2^32, 1e308,
 *  Infinity, a point past the last held-out image) is left out, so the panel uses its default. */
const WHOLE = { seed: () => MAX_SEED, eps: () => MAX_SEED, point: lastHeldOut, digit: lastHeldOut, to: lastHeldOut };
/** Link values that are names, whose longest length is a model slot's name (the engine's
 *  `maxSlotName`; a dataset's name is as long at most): `own` (the name new pictures go under) is
 *  cut to it, `data` and `model` (names of things that exist) are left out, since no dataset or
 *  model can have a longer name. */
const NAMES = { own: { cut: true }, data: {}, model: {} };
/** `lab`, once the engine has answered (its constants and the dataset held): the values above
 *  that it bounds are read after that (`app.afterEngine`), never against a guess. */
function engineSaid(lab) {
  if (!lab.constants || !lab.data) throw new Error('a link value the engine bounds was read before the engine answered (app.afterEngine)');
  return lab;
}

/**
 * A link's (or an element attribute's) value for `name`, checked: `raw` as given when it is
 * fine, else the value cut to its longest length or null (left out), with one message saying so
 * through `warn(text)` (once per name and value). Every panel reads its state through this.
 */
export function linkValue(name, raw, { lab, warn, where = 'link', warned = new Set() }) {
  if (raw === null || raw === undefined || raw === '') return null;
  const say = (text) => {
    const key = `${name}=${raw}`;
    if (warned.has(key)) return;
    warned.add(key);
    warn(text);
  };
  const shown = raw.length > 24 ? `${raw.slice(0, 24)}…` : raw;
  const of = where === 'link' ? `The link's ${name}` : `The ${name} attribute`;
  if (name in WHOLE) {
    const max = WHOLE[name](lab);
    const v = raw.trim() === '' ? NaN : Number(raw); // Number('') is 0
    if (Number.isInteger(v) && v >= 0 && v <= max) return String(v);
    say(`${of} '${shown}' is not a whole number from 0 to ${max}: left out.`);
    return null;
  }
  if (name in NAMES) {
    const { cut } = NAMES[name];
    const max = engineSaid(lab).constants.limits.maxSlotName;
    if (raw.length <= max) return raw;
    say(`${of} is ${raw.length} characters long; a name has at most ${max}: ${cut ? `cut to its first ${max}` : 'left out'}.`);
    return cut ? raw.slice(0, max) : null;
  }
  return raw;
}

/**
 * The context a panel is created with: the API (`lab`), messages, error guard, and the panel's
 * state as named parameters (`param`/`setParam`): the page keeps them in its URL, an element in
 * its attributes, so a copied link or a copied tag shows the same figure. `param` gives them
 * checked (linkValue): a hostile value gives one message and the panel's default, never an
 * error per render and an empty figure.
 */
export function panelContext({ lab, say, isVisible, param, setParam, where = 'link', initial = param }) {
  const warned = new Set();
  const app = {
    lab,
    say,
    isVisible,
    param: (name) => linkValue(name, param(name), { lab, warn: (text) => say(text, 'warn'), where, warned }),
    setParam,
    /** Run `read` (a panel reading the link values the engine bounds: held-out indices, names) now
     *  when the engine has answered, else once it has: the panel in view is created while the
     *  engine downloads, and its figure waits for the engine anyway. */
    afterEngine(read) {
      if (lab.constants && lab.data) read();
      else lab.ready.then(read, () => {});
    },
    /** Whether the link (or the element's attributes) named `name` when the page opened: another
     *  panel's state written since does not count. */
    linked: (name) => initial(name) !== null && initial(name) !== undefined,
    /** Run an async action; errors become visible messages instead of console noise. */
    async guard(fn) {
      try {
        return await fn();
      } catch (e) {
        say(e.message ?? String(e), 'error');
        return undefined;
      }
    },
  };
  // the latest drawn digit (784 floats), for the Chain and Latent panels
  Object.defineProperty(app, 'drawn', {
    get: () => shared.drawn,
    set: (v) => {
      shared.drawn = v;
    },
    enumerable: true,
  });
  return app;
}

/** Per model and dataset: the index of a typical held-out digit (see typicalDigit). */
const typical = new Map();
/**
 * A typical held-out digit for the model `slot` (default the current one): the one it
 * reconstructs with the median squared error, a cheap stand-in for the median nELBO (one batch
 * of 1,000 reconstructions, ~15 ms). Inside, Latent and Map open on it: held-out #0, where they
 * opened before, is one that C reconstructs worse than 916 of the 1,000.
 */
export function typicalDigit(lab, slot = lab.current) {
  const key = `${slot}|${lab.data?.name}`;
  if (!typical.has(key)) {
    typical.set(
      key,
      (async () => {
        const n = lab.data?.n_test ?? 0;
        if (!slot || n < 1) return 0;
        const x = await lab.testImages(Array.from({ length: n }, (_, i) => i));
        const r = await lab.reconstruct(x, { slot });
        const errors = Array.from({ length: n }, (_, i) => {
          let e = 0;
          for (let p = i * 784; p < (i + 1) * 784; p++) e += (x[p] - r[p]) ** 2;
          return [e, i];
        }).sort((a, b) => a[0] - b[0]);
        return errors[n >> 1][1];
      })().catch(() => 0),
    );
  }
  return typical.get(key);
}

/**
 * A panel's digit when neither the link nor the student chose one: the student's drawing once
 * there is one, else a typical held-out digit (chosen once: a model switch must not move it, so
 * models compare on one digit). `source` and `index` are the panel's controls; a change to either
 * is the student's choice, and wins over a default still being computed. Returns the function to
 * call before each render.
 */
export function defaultDigit(app, source, index) {
  let picked = app.linked('digit') || app.linked('source');
  let defaulted = false;
  source.addEventListener('change', () => {
    picked = true;
  });
  index.addEventListener('change', () => {
    picked = true;
  });
  return async () => {
    if (!picked && app.drawn) source.value = 'drawn';
    else if (!picked && !defaulted) {
      const t = await typicalDigit(app.lab);
      if (!picked && !defaulted) index.value = t;
      defaulted = true;
    }
  };
}

/**
 * The digit a panel works on: the drawn one (`kind` 'drawn'), or held-out digit number `index`
 * (clamped to the held-out set). 784 floats.
 */
export async function chosenDigit(app, kind, index, hint = '') {
  if (kind === 'drawn') {
    if (!app.drawn) throw new Error(`Draw a digit in the Draw panel first${hint}.`);
    return app.drawn;
  }
  const n = app.lab.data.n_test;
  return app.lab.testImages([Math.max(0, Math.min(n - 1, Math.floor(Number(index) || 0)))]);
}

/**
 * A panel's section: its title, the tools for its figure (a panel offers `figure()` ->
 * {canvas, name, pixelated} and/or `csv()` -> {rows, name}), then the panel.
 */
export function panelSection(P, panel, app, { title = true } = {}) {
  const tools = el('div', { class: 'figure-tools' });
  if (panel.figure) {
    tools.append(
      el(
        'button',
        {
          class: 'small',
          'data-save': 'png',
          title: 'Save this figure as a PNG at print resolution (about 1800 px wide)',
          onclick: () =>
            app.guard(async () => {
              const f = await panel.figure();
              if (!f) throw new Error('Nothing to save yet: the figure is still empty.');
              const { blob, width, height } = await canvasPng(f.canvas, { pixelated: f.pixelated !== false });
              saveBlob(blob, `vae-lab-${f.name}.png`);
              app.say(`Saved vae-lab-${f.name}.png (${width} × ${height} px).`);
            }),
        },
        'Save PNG',
      ),
    );
  }
  if (panel.csv) {
    tools.append(
      el(
        'button',
        {
          class: 'small',
          'data-save': 'csv',
          title: 'Save the numbers behind this figure as CSV',
          onclick: () =>
            app.guard(async () => {
              const c = await panel.csv();
              if (!c || c.rows.length < 2) throw new Error('Nothing to save yet: there are no numbers to export.');
              saveBlob(new Blob([toCsv(c.rows)], { type: 'text/csv' }), `vae-lab-${c.name}.csv`);
              app.say(`Saved vae-lab-${c.name}.csv (${c.rows.length - 1} rows).`);
            }),
        },
        'Save CSV',
      ),
    );
  }
  return el(
    'section',
    { id: `panel-${P.id}`, class: 'panel', role: 'tabpanel', 'aria-labelledby': `tab-${P.id}` },
    el('div', { class: 'panel-head' }, title ? el('h2', {}, PANEL_TITLES[P.id]) : null, tools),
    explanation(P.id),
    panel.root,
  );
}
