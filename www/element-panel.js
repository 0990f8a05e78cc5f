// The <vae-lab> element: one panel of VAE Lab in any page, in its own Shadow DOM.
//
//   <script type="module" src="https://your.host/vae-lab/www/vaelab.js"></script>
//   <vae-lab panel="sample" arch="B" seed="7"></vae-lab>
//   <vae-lab panel="draw"></vae-lab>
//
// Every element of a page shares one engine: one Worker, one download of the engine and of each
// weights file. Each element keeps its own current model (`element.lab` is a view of the engine
// with the API of createVaeLab()). Its figure's state lives in its attributes, as the page's
// lives in its address. Events `ready`, `progress` and `error` bubble out of the element.
// element.js defines the element and imports this module when the first one is connected.
import { sharedVaeLab, sharedEngine } from './lab/shared.js';
import { SHIPPED_DATASETS } from './lab/input.js';
import { el } from './ui.js';
import { PANEL_IDS, panelContext, panelSection } from './shell.js';
import { PRESENT_KEYS, nextPanel, ownKeys } from './present.js';

const BASE = new URL('../', import.meta.url);
/** The backend notice is shown once per page, by the first element that has one to show. */
let noticeShown = false;

const panelModules = {};
const panelModule = (id) => (panelModules[id] ??= import(`./panels/${id}.js`).then((m) => m.default));

/** The shipped dataset an element's `dataset` attribute names: undefined without one (the page's),
 *  mnist for a name that is none of them (the element says so when it mounts). */
function datasetOf(host) {
  const d = host.getAttribute('dataset')?.toLowerCase();
  return d === undefined ? undefined : SHIPPED_DATASETS.includes(d) ? d : 'mnist';
}

/** Mount VAE Lab into `host` (a <vae-lab> element); called on connect and when `panel` changes. */
export async function mount(host) {
  // This mount's right to speak for the element: a newer mount takes it, and so does an attribute
  // set from outside (element.js clears it before remounting), so a panel still rendering for older
  // attributes never writes its state back over newer ones (the last attribute set wins).
  const token = {};
  host._mountToken = token;
  const current = () => host._mountToken === token;
  const fire = (type, detail) => {
    if (current()) host.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  };
  const wanted = (host.getAttribute('panel') ?? 'sample').toLowerCase();
  const panelId = PANEL_IDS.includes(wanted) ? wanted : 'sample';
  const arch = (host.getAttribute('arch') ?? 'C').toUpperCase();
  // the page's one engine (the first element's `backend` attribute chooses it); a remount (another
  // panel) drops the old panel's listeners with its view
  host.lab?.close?.();
  const lab = sharedVaeLab({ base: BASE });
  const shared = sharedEngine();
  host.lab = lab;

  const shadow = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
  const messages = el('div', { class: 'messages', 'aria-live': 'polite' });
  const note = el('p', { class: 'embed-note' });
  const body = el('div', { class: 'vae-lab-element', inert: true });
  shadow.replaceChildren(
    el('link', { rel: 'stylesheet', href: new URL('vendor/uPlot.min.css', import.meta.url).href }),
    el('link', { rel: 'stylesheet', href: new URL('style.css', import.meta.url).href }),
    messages,
    body,
    note,
  );
  if (wanted !== panelId) fire('error', { message: `unknown panel '${wanted}' (expected one of ${PANEL_IDS.join(', ')}): showing sample` });

  const say = (text, kind = 'info') => {
    if (!current()) return;
    // errors are shown and bubble out; other remarks only show briefly
    const item = el(
      'div',
      { class: `msg ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
      el('span', {}, text),
      el('button', { class: 'close', 'aria-label': 'dismiss', onclick: () => item.remove() }, '×'),
    );
    messages.append(item);
    if (kind !== 'error') setTimeout(() => item.remove(), 6000);
    while (messages.children.length > 2) messages.firstChild.remove();
    if (kind === 'error') fire('error', { message: text });
  };
  let reflecting = false;
  const app = panelContext({
    lab,
    say,
    isVisible: (id) => id === panelId && host.isConnected && current(),
    param: (name) => host.getAttribute(name),
    setParam(name, value) {
      if (!current()) return;
      reflecting = true; // the element reflects its state; that change needs no remount
      if (value === null || value === undefined || value === '') host.removeAttribute(name);
      else host.setAttribute(name, String(value));
      reflecting = false;
    },
    where: 'attribute',
  });
  host._reflecting = () => reflecting;

  const onDownload = (d) => fire('progress', { kind: 'download', ...d });
  lab.on('download', onDownload);
  lab.on('progress', (d) => fire('progress', { kind: 'train', ...d }));

  try {
    const [P] = await Promise.all([panelModule(panelId), shared.ready]);
    if (!current()) return; // newer attributes came: the mount after this one shows them
    const panel = P.create(app);
    body.append(panelSection(P, panel, app, { title: false }));
    const showNote = () => {
      const reason = !noticeShown || host._noticeOwner ? lab.fallbackReason : null;
      if (reason) {
        noticeShown = true;
        host._noticeOwner = true;
      }
      note.replaceChildren(
        el(
          'span',
          { title: reason ?? '' },
          `VAE Lab · model ${lab.current ?? '…'} · ${lab.backend === 'webgpu' ? 'WebGPU' : 'CPU'}${reason ? ' (see why)' : ''}`,
        ),
      );
    };
    lab.on('current', showNote);
    // an element shows a shipped model (it has no stored models of its own)
    // `dataset="fashion"`: the shipped model of that dataset (the page's engine holds one dataset
    // for held-out images: the first element's that names one)
    const asked = host.getAttribute('dataset');
    const dataset = datasetOf(host);
    const names = lab.shippedModels(SHIPPED_DATASETS.includes(dataset) ? dataset : 'mnist');
    const known = names.includes(arch);
    if (!known) say(`unknown model '${arch}' (expected one of ${names.join(', ')}): showing C`, 'error');
    const name = known ? arch : 'C';
    if (asked !== null && !SHIPPED_DATASETS.includes(asked.toLowerCase()))
      say(`unknown dataset '${asked.slice(0, 24)}' (expected one of ${SHIPPED_DATASETS.join(', ')}): showing mnist`, 'error');
    await lab.loadPretrained(name, { dataset }).catch((e) => say(e.message, 'error'));
    if (!current()) return;
    // `persist`: what visitors made on this page before (models) comes back, once per page
    if (shared.persistRuns) {
      const { restored } = await shared.restoreModels();
      if (restored.length) say(`Your models from an earlier visit are back: ${restored.join(', ')}.`);
    }
    if (!current()) return;
    showNote();
    body.inert = false;
    panel.show?.();
    host.dataset.ready = 'true';
    fire('ready', { panel: panelId, arch: lab.current, backend: lab.backend });
  } catch (e) {
    if (!current()) return;
    host.dataset.ready = 'error';
    say(`VAE Lab could not start: ${e.message}`, 'error');
  }
}

/** Height, when given, fixes the element's height (the panel scrolls inside it). */
export function applyHeight(host) {
  const h = host.getAttribute('height');
  host.style.height = h ? (/^\d+$/.test(h) ? `${h}px` : h) : '';
  host.style.overflow = h ? 'auto' : '';
}

/** Show another shipped model in a mounted element (its `arch` attribute changed). */
export async function setArch(host, arch) {
  const a = String(arch ?? 'C').toUpperCase();
  try {
    await host.lab.loadPretrained(a, { dataset: datasetOf(host) });
  } catch (e) {
    host.dispatchEvent(new CustomEvent('error', { detail: { message: e.message }, bubbles: true, composed: true }));
  }
}

/** Relative luminance (WCAG) of a CSS colour as getComputedStyle gives it, with its alpha; null for
 *  none or for one it cannot read. */
function luminanceOf(color) {
  const m = /rgba?\(([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)(?:[ ,/]+([\d.]+%?))?\)/.exec(color ?? '');
  if (!m) return null;
  const alpha = m[4] === undefined ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : Number(m[4]);
  const lin = (c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return { alpha, l: 0.2126 * lin(+m[1]) + 0.7152 * lin(+m[2]) + 0.0722 * lin(+m[3]) };
}

const darkOs = typeof matchMedia === 'undefined' ? null : matchMedia('(prefers-color-scheme: dark)');

/** Whether the page shows `host` on a dark background: the first opaque background from its parent
 *  up to the document (a shadow host's too), else the page's canvas (dark only when the page asks
 *  for a dark colour scheme and the system has one). Dark: nearer black than white (L < 0.18). */
function pageIsDark(host) {
  for (let n = host.parentElement ?? host.getRootNode()?.host; n; n = n.parentElement ?? n.getRootNode()?.host) {
    const c = luminanceOf(getComputedStyle(n).backgroundColor);
    if (c && c.alpha >= 0.5) return c.l < 0.18;
  }
  const scheme = getComputedStyle(document.documentElement).colorScheme ?? '';
  return /dark/.test(scheme) && (!/light/.test(scheme) || !!darkOs?.matches);
}

/** `theme`: light, dark, or auto (the operating system's); without one, the page's own: a <vae-lab>
 *  on a white lecture page is light whatever the system prefers. Sets data-scheme on the host, which
 *  style.css reads; follows the system and the page (a class or style on html/body) as they change. */
export function applyTheme(host) {
  const resolve = () => {
    const t = (host.getAttribute('theme') ?? '').toLowerCase();
    const dark = t === 'dark' ? true : t === 'light' ? false : t === 'auto' ? !!darkOs?.matches : pageIsDark(host);
    const scheme = dark ? 'dark' : 'light';
    if (host.dataset.scheme !== scheme) host.dataset.scheme = scheme;
  };
  resolve();
  if (!host._themeWatch) {
    host._themeWatch = true;
    darkOs?.addEventListener('change', resolve);
    const watch = new MutationObserver(resolve);
    for (const n of [document.documentElement, document.body].filter(Boolean))
      watch.observe(n, { attributes: true, attributeFilter: ['class', 'style', 'data-theme'] });
  }
}

/** `present` (presentation mode, present.js): the element fills the window, twice the size (its
 *  smallest text 24 px), and takes the keyboard: the arrows and a clicker's page keys move
 *  between panels, Escape leaves. Without the attribute it is an element of its page again. */
export function applyPresent(host) {
  const v = host.getAttribute('present');
  const on = v !== null && v !== 'false' && v !== '0';
  host.toggleAttribute('data-presenting', on);
  if (on && host.tabIndex < 0) host.tabIndex = 0; // focusable, so that it takes the keys
  if (on) host.focus({ preventScroll: true });
  if (host._presentKeys) return;
  host._presentKeys = (e) => {
    if (!host.hasAttribute('data-presenting') || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    if (ownKeys(e.composedPath()[0])) return;
    if (e.key === 'Escape') {
      host.removeAttribute('present');
      return;
    }
    const step = PRESENT_KEYS[e.key];
    if (step === undefined) return;
    e.preventDefault();
    const now = (host.getAttribute('panel') ?? 'sample').toLowerCase();
    const id = nextPanel(PANEL_IDS, now, step);
    if (id !== now) host.setAttribute('panel', id);
  };
  host.addEventListener('keydown', host._presentKeys);
}
