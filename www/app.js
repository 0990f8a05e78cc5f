// The page shell: tabs, model selector, backend badge, messages, URL parameters.
// Panels only draw and forward to the API (www/vaelab.js).
import { createVaeLab } from './vaelab.js';
import { el } from './ui.js';
import { allModels } from './store.js';
const params = new URLSearchParams(location.search);
const embed = params.has('embed') && params.get('embed') !== '0';
const wanted = params.get('panel');
const BACKENDS = ['auto', 'webgpu', 'cpu'];
const askedBackend = params.get('backend') ?? 'auto';
const backend = BACKENDS.includes(askedBackend) ? askedBackend : 'auto';

// embedded pages leave the visitor's storage alone: no saved models, no resumable runs
const firstArch = (params.get('arch') ?? 'C').toUpperCase();
const lab = createVaeLab({ backend, base: new URL('../', import.meta.url), persistRuns: !embed, preload: [firstArch], probe: params.get('probe') === '1' });
window.vaeLab = lab;

// the panels load after the engine has started downloading (static imports would all come first)
const PANELS = (await Promise.all(['models', 'train', 'draw', 'reconstruct', 'collapse', 'sample', 'chain', 'latent', 'map']
  .map((name) => import(`./panels/${name}.js`)))).map((m) => m.default);

const messages = document.getElementById('messages');
const app = {
  lab,
  /** The latest drawn digit (784 floats) for the Chain and Latent panels. */
  drawn: null,
  say(text, kind = 'info') {
    const item = el('div', { class: `msg ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
      el('span', {}, text), el('button', { class: 'close', 'aria-label': 'dismiss', onclick: () => item.remove() }, '×'));
    messages.append(item);
    if (kind !== 'error') setTimeout(() => item.remove(), 8000);
    while (messages.children.length > 5) messages.firstChild.remove();
  },
  /** Run an async action; errors become visible messages instead of console noise. */
  async guard(fn) {
    try {
      return await fn();
    } catch (e) {
      app.say(e.message ?? String(e), 'error');
      return undefined;
    }
  },
  isVisible: (id) => current === id,
};
window.vaeLabApp = app;

document.body.classList.toggle('embed', embed);

// --- tabs ---------------------------------------------------------------------------------
const tablist = document.getElementById('tabs');
const main = document.getElementById('panels');
const instances = new Map();
let current = null;

function show(id) {
  current = id;
  for (const [pid, inst] of instances) {
    const on = pid === id;
    inst.root.hidden = !on;
    inst.tab.setAttribute('aria-selected', String(on));
    inst.tab.tabIndex = on ? 0 : -1;
  }
  const inst = instances.get(id);
  if (!embed) history.replaceState(null, '', `?${new URLSearchParams({ ...Object.fromEntries(params), panel: id })}`);
  inst.panel.show?.();
}

for (const P of PANELS) {
  const panel = P.create(app);
  const root = el('section', { id: `panel-${P.id}`, class: 'panel', role: 'tabpanel', 'aria-labelledby': `tab-${P.id}`, hidden: true },
    el('h2', {}, P.title), panel.root);
  const tab = el('button', { id: `tab-${P.id}`, role: 'tab', class: 'tab', 'aria-controls': `panel-${P.id}`, onclick: () => show(P.id) }, P.title);
  tablist.append(tab);
  main.append(root);
  instances.set(P.id, { panel, root, tab });
}
tablist.addEventListener('keydown', (e) => {
  const ids = [...instances.keys()];
  const i = ids.indexOf(current);
  const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: ids.length - 1 }[e.key];
  if (next === undefined) return;
  e.preventDefault();
  const id = ids[(next + ids.length) % ids.length];
  show(id);
  instances.get(id).tab.focus();
});

// --- header: backend badge, model selector, download progress --------------------------------
const badge = document.getElementById('backend');
const modelSelect = document.getElementById('model-select');
const download = document.getElementById('download');

function showBackend() {
  badge.textContent = lab.backend === 'webgpu' ? 'WebGPU' : lab.backend === 'cpu' ? 'CPU' : '…';
  badge.className = `badge ${lab.backend ?? ''}`;
  badge.title = lab.fallbackReason ?? `running on the GPU through WebGPU${lab.gpu?.name ? ` (${lab.gpu.name})` : ''}`;
}

/** A software WebGPU adapter is correct but far slower than the CPU backend: say so once. */
let softwareNoticeShown = false;
function noticeSoftwareGpu() {
  if (lab.backend !== 'webgpu' || !lab.gpu?.software || softwareNoticeShown) return;
  softwareNoticeShown = true;
  app.say(`WebGPU runs on a software renderer here${lab.gpu.name ? ` (${lab.gpu.name})` : ''}, which is much slower than ` +
    'the CPU backend. For faster training switch to the CPU in the Models panel.', 'info');
}

async function refreshModels() {
  const slots = await lab.slots();
  modelSelect.replaceChildren(...slots.map((s) => el('option', { value: s }, s)));
  if (lab.current) modelSelect.value = lab.current;
  modelSelect.disabled = slots.length === 0;
}

modelSelect.addEventListener('change', () => lab.use(modelSelect.value));
lab.on('models', () => app.guard(refreshModels));
lab.on('current', () => { modelSelect.value = lab.current; });
lab.on('backend', (d) => {
  showBackend();
  if (d.fallbackReason && d.backend === 'cpu') app.say(d.fallbackReason, 'warn');
  noticeSoftwareGpu();
});
// downloads in flight (the engine and the first weights come side by side): one bar for all
const downloads = new Map();
lab.on('download', ({ label, loaded, total, done }) => {
  if (done || (total > 0 && loaded >= total)) downloads.delete(label);
  else downloads.set(label, { loaded, total });
  download.hidden = downloads.size === 0;
  if (download.hidden) return;
  const all = [...downloads.values()];
  const got = all.reduce((a, d) => a + d.loaded, 0);
  const known = all.every((d) => d.total > 0); // behind a compressing server there is no total
  const of = all.reduce((a, d) => a + d.total, 0);
  download.querySelector('span').textContent = `${[...downloads.keys()].join(' + ')}: ${(got / 1e6).toFixed(1)}${known ? ` / ${(of / 1e6).toFixed(1)}` : ''} MB`;
  const bar = download.querySelector('progress');
  if (known) {
    bar.max = of;
    bar.value = got;
  } else bar.removeAttribute('value');
});
lab.on('fatal', ({ message }) => app.say(`${message}. Reload the page to start again.`, 'error'));
// user-made models persist across reloads: the API stores them (persistRuns), except in embeds,
// which leave the visitor's storage alone

// read while the engine downloads: IndexedDB's first open is slow enough to show in the first load
const storedModels = embed ? Promise.resolve([]) : allModels().catch((e) => {
  console.info('VAE Lab: saved models unavailable:', e.message);
  return [];
});

async function restoreSavedModels() {
  const stored = await storedModels;
  const restored = [];
  for (const [slot, bytes] of stored) {
    try {
      await lab.importWeights(bytes, slot);
      restored.push(slot);
    } catch (e) {
      app.say(`A saved model (${slot}) could not be restored: ${e.message}`, 'warn');
    }
  }
  if (restored.length) app.say(`Restored your models from the last visit: ${restored.join(', ')}.`);
}

// A run's steps since its last checkpoint (at most one epoch) would be lost: ask first.
window.addEventListener('beforeunload', (e) => {
  if (!lab.hasUnsavedWork()) return;
  e.preventDefault();
  e.returnValue = ''; // older browsers need it set to show the dialog
});

// --- start --------------------------------------------------------------------------------
if (backend !== askedBackend) app.say(`Unknown backend '${askedBackend}' in the address (expected ${BACKENDS.join(', ')}): using auto.`, 'warn');
show(PANELS.some((p) => p.id === wanted) ? wanted : PANELS[0].id);
(async () => {
  try {
    await lab.ready;
  } catch (e) {
    app.say(`The app could not start: ${e.message}`, 'error');
    document.body.dataset.ready = 'error';
    return;
  }
  showBackend();
  noticeSoftwareGpu();
  if (lab.backendChoice) {
    app.say(`Backend chosen by measuring${lab.backendChoice.remembered ? ' (on an earlier visit)' : ''}: ${lab.backendChoice.reason}.`, 'info');
  } else if (lab.backend === 'cpu' && lab.fallbackReason && backend !== 'cpu') {
    app.say(`WebGPU is not available: ${lab.fallbackReason}. Running on the CPU instead.`, 'warn');
  }
  // the first model and the visitor's saved ones load side by side; the panels wait for both (a
  // restore must not land in a slot the visitor is already training)
  const first = lab.presets.some((p) => p.name === firstArch) ? firstArch : 'C';
  const loaded = app.guard(() => lab.loadPretrained(first));
  if (!embed) {
    await restoreSavedModels();
    document.body.dataset.restored = 'true'; // the visitor's saved models are back (a hook for tests)
  }
  if (await loaded) lab.use(first); // restoring made each restored model current in turn
  document.body.dataset.ready = 'true';
  main.inert = false; // index.html keeps the panels inert until the engine can answer them
  instances.get(current).panel.show?.();
  if (!embed) {
    const unfinished = await lab.unfinishedRuns().catch(() => []);
    if (unfinished.length) {
      app.say(`Training that a reload or a closed tab interrupted can go on from its last epoch: ${unfinished.map((u) =>
        `${u.slot} (${u.epoch} of ${u.epochs} epochs)`).join(', ')}. Resume it in the Train panel.`, 'warn');
    }
  }
})();
