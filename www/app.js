// The page shell: tabs, model selector, backend badge, messages, URL parameters.
// Panels only draw and forward to the API (www/vaelab.js).
// Only the API is imported before the engine starts: its Worker (the first load's critical path)
// begins downloading while the rest of the page's modules load.
import { createVaeLab } from './vaelab.js';
import { BACKENDS } from './lab/input.js';
/** The page's state: what a copied link must reproduce (panel, model, seed, digits, sliders). */
const params = new URLSearchParams(location.search);
/** The link as it was opened (panels write their state into `params` as they render). */
const linkAtLoad = new URLSearchParams(location.search);
const embed = params.has('embed') && params.get('embed') !== '0';
const wanted = params.get('panel');
const askedBackend = params.get('backend') ?? 'auto';
const backend = BACKENDS.includes(askedBackend) ? askedBackend : 'auto';

// embedded pages leave the visitor's storage alone: no saved models, no resumable runs
const firstArch = (params.get('arch') ?? 'C').toUpperCase();
// the dataset in view: a shipped one starts with the engine; one of the visitor's own follows
const askedData = params.get('data') ?? 'mnist';
const lab = createVaeLab({
  backend,
  base: new URL('../', import.meta.url),
  persistRuns: !embed,
  preload: [firstArch],
  probe: params.get('probe') === '1',
  dataset: askedData,
});
window.vaeLab = lab;
const [{ el }, { PANEL_IDS, PANEL_TITLES, panelContext, panelSection }] = await Promise.all([import('./ui.js'), import('./shell.js')]);

// Only the panel in view loads before its figure is on screen; the others (and the chart
// library) follow once it is (a cold load on 2 cores spent ~170 ms fetching and parsing all
// eleven before the first sample; an embedded panel never needs the others at all).
const firstPanel = PANEL_IDS.includes(wanted) ? wanted : PANEL_IDS[0];
const panelModules = new Map();
const panelRetries = new Map();
/** A panel's module, imported once. A retry after a failed download asks for a new URL: a browser
 *  may remember a module that failed to fetch and fail every later import of the same URL at once
 *  (servers and the service worker look only at the path). */
function panelModule(id) {
  if (!panelModules.has(id)) {
    const retry = panelRetries.get(id) ?? 0;
    panelModules.set(
      id,
      import(`./panels/${id}.js${retry ? `?retry=${retry}` : ''}`).then((m) => m.default),
    );
  }
  return panelModules.get(id);
}
panelModule(firstPanel).catch(() => {});

const messages = document.getElementById('messages');
/** Remarks the visitor dismissed for good (localStorage; none where it is unavailable). */
const DISMISSED = 'vae-lab-dismissed';
function dismissed() {
  try {
    const v = JSON.parse(localStorage.getItem(DISMISSED) ?? '[]');
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}
function remember(key) {
  try {
    localStorage.setItem(DISMISSED, JSON.stringify([...new Set([...dismissed(), key])].slice(-20)));
  } catch {
    /* storage off: it shows again next time */
  }
}
/** Write the state into the address (no new history entry per slider move). */
function keepState() {
  history.replaceState(null, '', `?${params}${location.hash}`);
}
const app = panelContext({
  lab,
  initial: (name) => linkAtLoad.get(name),
  /** `dismissKey`: a remark that, once dismissed, is not shown again in this browser. */
  say(text, kind = 'info', { dismissKey } = {}) {
    if (dismissKey && dismissed().includes(dismissKey)) return;
    const item = el(
      'div',
      { class: `msg ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
      el('span', {}, text),
      el(
        'button',
        {
          class: 'close',
          'aria-label': 'dismiss',
          onclick: () => {
            item.remove();
            if (dismissKey) remember(dismissKey);
          },
        },
        '×',
      ),
    );
    messages.append(item);
    if (kind !== 'error') setTimeout(() => item.remove(), 8000);
    while (messages.children.length > 5) messages.firstChild.remove();
  },
  isVisible: (id) => current === id,
  param: (name) => params.get(name),
  setParam(name, value) {
    if (value === null || value === undefined || value === '') params.delete(name);
    else params.set(name, String(value));
    keepState();
  },
});
window.vaeLabApp = app;

document.body.classList.toggle('embed', embed);
// presentation mode (present.js): set as soon as the page script runs, before any panel is in
const presenting = !embed && params.has('present') && params.get('present') !== '0';
document.documentElement.classList.toggle('present', presenting);

// --- tabs ---------------------------------------------------------------------------------
const tablist = document.getElementById('tabs');
const main = document.getElementById('panels');
/** id -> {tab, root, panel}: every tab from the start; root and panel once its module is in. */
const instances = new Map();
let current = null;

/** Create a panel (once): its section takes the place kept for it, in tab order. */
function createPanel(id) {
  const inst = instances.get(id);
  inst.created ??= panelModule(id).then(
    (P) => {
      inst.panel = P.create(app);
      const root = panelSection(P, inst.panel, app);
      root.hidden = current !== id;
      inst.root.replaceWith(root);
      inst.root = root;
    },
    (e) => {
      // a failed download (offline before the service worker kept it) is tried again next time
      inst.created = null;
      panelModules.delete(id);
      panelRetries.set(id, (panelRetries.get(id) ?? 0) + 1);
      throw e;
    },
  );
  return inst.created;
}

/** Make `id` the panel in view: its tab selected, its section (or its place) shown. */
function select(id) {
  current = id;
  for (const [pid, inst] of instances) {
    const on = pid === id;
    inst.root.hidden = !on;
    inst.tab.setAttribute('aria-selected', String(on));
    inst.tab.tabIndex = on ? 0 : -1;
  }
  // a phone's tab strip scrolls sideways: the selected tab comes fully into view (the page stays)
  const t = instances.get(id)?.tab;
  if (t && tablist.scrollWidth > tablist.clientWidth) {
    const tr = t.getBoundingClientRect();
    const nr = tablist.getBoundingClientRect();
    const edge = 28; // clear of the strip's edge shadow
    if (tr.left < nr.left + edge) tablist.scrollLeft -= nr.left + edge - tr.left;
    else if (tr.right > nr.right - edge) tablist.scrollLeft += tr.right - (nr.right - edge);
  }
  app.setParam('panel', id);
}

function show(id) {
  select(id);
  return app.guard(async () => {
    await createPanel(id);
    if (current === id) await instances.get(id).panel.show?.();
  });
}

/** Panels may bring another into view (the Collapse demo ends on the Collapse panel). */
if (!embed) app.show = show;

for (const id of PANEL_IDS) {
  const tab = el(
    'button',
    { id: `tab-${id}`, role: 'tab', class: 'tab', 'aria-controls': `panel-${id}`, onclick: () => show(id) },
    PANEL_TITLES[id],
  );
  tablist.append(tab);
  // the panel's place until its module has loaded (a section of the same id only once it has)
  const root = el('div', { class: 'panel', hidden: true, 'aria-busy': 'true' });
  main.append(root);
  instances.set(id, { tab, root, panel: null, created: null });
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

if (presenting) {
  const leave = () => app.setParam('present', null);
  import('./present.js').then((m) => m.presentPage({ ids: PANEL_IDS, current: () => current, show, leave }));
}

// the guided start (tour.js): the header's Tour button; a link's ?tour=K once the page is ready
const tourButton = document.getElementById('tour-start');
const startTour = (start) => import('./tour.js').then((m) => m.startTour({ start, show, setStep: (k) => app.setParam('tour', k) }));
tourButton.addEventListener('click', () => startTour(1));

// --- header: backend badge, model selector, download progress --------------------------------
const badge = document.getElementById('backend');
const modelSelect = document.getElementById('model-select');
const download = document.getElementById('download');

function showBackend() {
  badge.textContent = lab.backend === 'webgpu' ? 'WebGPU' : lab.backend === 'cpu' ? 'CPU' : '…';
  badge.className = `badge ${lab.backend ?? ''}`;
  badge.title = lab.fallbackReason ?? `running on the GPU through WebGPU${lab.gpu?.name ? ` (${lab.gpu.name})` : ''}`;
}

// An embedded panel (a course page may hold several) shows no banners about the backend: one
// small line under the figure says where it runs, the reason on hover, and links to the full app.
const embedNote = embed ? el('p', { class: 'embed-note', id: 'embed-note' }) : null;
if (embed) main.after(embedNote);
function showEmbedNote(reason) {
  const full = new URL(location.href);
  full.searchParams.delete('embed');
  embedNote.replaceChildren(
    el(
      'span',
      { title: reason ?? '' },
      `VAE Lab · model ${lab.current ?? '…'} · ${lab.backend === 'webgpu' ? 'WebGPU' : 'CPU'}${reason ? ' (see why)' : ''}`,
    ),
    ' · ',
    el('a', { href: full.href, target: '_blank', rel: 'noopener' }, 'open the full app'),
  );
  if (reason) embedNote.dataset.reason = reason;
}
/** A remark about the backend: a message on the page, the small note in an embed. */
function notice(text, kind, dismissKey) {
  if (embed) showEmbedNote(text);
  else app.say(text, kind, { dismissKey });
}

/** A software WebGPU adapter is correct but far slower than the CPU backend: say so once. */
let softwareNoticeShown = false;
function noticeSoftwareGpu() {
  if (lab.backend !== 'webgpu' || !lab.gpu?.software || softwareNoticeShown) return;
  softwareNoticeShown = true;
  notice(
    `WebGPU runs on a software renderer here${lab.gpu.name ? ` (${lab.gpu.name})` : ''}, which is much slower than ` +
      'the CPU backend. For faster training switch to the CPU in the Models panel.',
    'info',
    'software-gpu',
  );
}

async function refreshModels() {
  const slots = await lab.slots();
  modelSelect.replaceChildren(...slots.map((s) => el('option', { value: s }, s)));
  if (lab.current) modelSelect.value = lab.current;
  modelSelect.disabled = slots.length === 0;
}

modelSelect.addEventListener('change', () => lab.use(modelSelect.value));
lab.on('models', () => app.guard(refreshModels));
/** The current model in the address: a shipped one as `arch`, one of the visitor's as `model`. */
function keepModel() {
  if (!lab.constants || !lab.current || document.body.dataset.ready !== 'true') return;
  const preset = lab.constants.shipped.find((p) => lab.shippedSlot(p.name) === lab.current || p.name === lab.current);
  const shipped = !!preset;
  app.setParam('arch', shipped ? preset.name : params.get('arch'));
  app.setParam('model', shipped ? null : lab.current);
  if (embed) showEmbedNote(embedNote.dataset.reason ?? null);
}
lab.on('current', () => {
  modelSelect.value = lab.current;
  keepModel();
});
lab.on('models', keepModel);
lab.on('backend', (d) => {
  showBackend();
  if (d.fallbackReason && d.backend === 'cpu') notice(d.fallbackReason, 'warn');
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
  download.querySelector('span').textContent =
    `${[...downloads.keys()].join(' + ')}: ${(got / 1e6).toFixed(1)}${known ? ` / ${(of / 1e6).toFixed(1)}` : ''} MB`;
  const bar = download.querySelector('progress');
  if (known) {
    bar.max = of;
    bar.value = got;
  } else bar.removeAttribute('value');
});
lab.on('fatal', ({ message }) => app.say(`${message}. Reload the page to start again.`, 'error'));
// Storage that refused a checkpoint, closed under us or held damaged records: said at once. (A
// refused model or dataset also rejects the call that made it, whose panel says so.)
lab.on('storage', ({ key, message, notice, problem, kept }) => {
  if (kept) return;
  if (notice || problem || !key)
    app.say(message, 'warn'); // (no key: stored data could not be read)
  else if (key?.startsWith('run:')) app.say(`${message}. Export the model when the run ends to keep it.`, 'error');
});
// user-made models persist across reloads: the API stores them (persistRuns), except in embeds,
// which leave the visitor's storage alone

async function restoreSavedModels() {
  const { restored, failed } = await lab.restoreModels();
  for (const { slot, message } of failed) app.say(`A saved model (${slot}) could not be restored: ${message}`, 'warn');
  if (restored.length) app.say(`Restored your models from the last visit: ${restored.join(', ')}.`);
}

// A run's steps since its last checkpoint (at most one epoch) would be lost: ask first.
window.addEventListener('beforeunload', (e) => {
  if (!lab.hasUnsavedWork()) return;
  e.preventDefault();
  e.returnValue = ''; // older browsers need it set to show the dialog
});

// --- start --------------------------------------------------------------------------------
if (backend !== askedBackend)
  app.say(`Unknown backend '${askedBackend}' in the address (expected ${BACKENDS.join(', ')}): using auto.`, 'warn');
// the panel in view is created now, so it hears the first model arrive; it renders once the
// engine is ready (`show` below)
select(firstPanel);
if (wanted !== null && wanted !== firstPanel)
  app.say(`The link's panel '${wanted.slice(0, 24)}' is not one of ${PANEL_IDS.join(', ')}: showing ${PANEL_TITLES[firstPanel]}.`, 'warn');
const firstCreated = createPanel(firstPanel);
firstCreated.catch(() => {}); // awaited (and retried by `show`) once the engine is ready
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
    notice(
      `Backend chosen by measuring${lab.backendChoice.remembered ? ' (on an earlier visit)' : ''}: ${lab.backendChoice.reason}.`,
      'info',
    );
  } else if (lab.backend === 'cpu' && lab.fallbackReason && backend !== 'cpu') {
    // a software adapter, or none: either way the CPU runs it, and the reason says which
    notice(`Running on the CPU: ${lab.fallbackReason}.`, lab.gpu?.software ? 'info' : 'warn', 'cpu-fallback');
  }
  // the first model and the visitor's saved ones load side by side; the panels wait for both (a
  // restore must not land in a slot the visitor is already training)
  const firstNames = lab.shippedModels(lab.data?.name ?? 'mnist');
  const first = firstNames.includes(firstArch) ? firstArch : 'C';
  if (first !== firstArch)
    app.say(`The link's arch '${firstArch.slice(0, 24)}' is not one of ${firstNames.join(', ')}: showing ${first}.`, 'warn');
  const loaded = app.guard(() => lab.loadPretrained(first));
  if (!embed) {
    await restoreSavedModels();
    document.body.dataset.restored = 'true'; // the visitor's saved models are back (a hook for tests)
  }
  // restoring made each restored model current in turn: a link's `model` (one of the visitor's
  // own) wins, else the first model
  const linked = app.param('model');
  const slots = await lab.slots().catch(() => []);
  if (linked && slots.includes(linked)) lab.use(linked);
  else if (await loaded) lab.use(lab.shippedSlot(first));
  const linkedData = app.param('data'); // checked: a name longer than any dataset's is left out
  if (linkedData && lab.data.name !== linkedData && !embed) {
    // one of the visitor's own datasets (kept in IndexedDB)
    await lab
      .useDataset(linkedData)
      .catch((e) => app.say(`The link's dataset could not be used: ${e.message}. Showing ${lab.data.title}.`, 'warn'));
  }
  // a link to a run that a reload cut off names a model that is not back yet: the message about
  // unfinished runs below says what to do, once
  const unfinished = embed ? [] : await lab.unfinishedRuns().catch(() => []);
  if (linked && !slots.includes(linked) && !unfinished.some((u) => u.slot === linked)) {
    app.say(`The link names a model (${linked}) that this browser does not have: showing ${first}.`, 'warn');
  }
  await firstCreated.catch(() => {});
  if (embed && !embedNote.dataset.reason) showEmbedNote(null);
  main.inert = false; // index.html keeps the panels inert until the engine can answer them
  await show(current);
  // the other panels, now that the first figure is on screen (an embed shows only its own)
  if (!embed)
    await Promise.all(
      PANEL_IDS.map((id) => createPanel(id).catch((e) => app.say(`The ${PANEL_TITLES[id]} panel could not load: ${e.message}`, 'error'))),
    );
  document.body.dataset.ready = 'true';
  keepModel();
  goOffline().catch((e) => console.info('VAE Lab: offline use unavailable:', e.message));
  if (!embed) {
    const run = params.get('run'); // a link that carries a model: train it here (run-link.js)
    if (run) import('./run-link.js').then((m) => app.guard(() => m.trainFromLink({ lab, app, raw: run, show, panel: current })));
    import('./bundle-ui.js').then((m) => m.installBundles({ lab, app, params, show })); // ?bundle=URL, and a .vaelab dropped
    const offer = { button: tourButton, linked: params.get('tour'), start: startTour, warn: (t) => app.say(t, 'warn') };
    import('./tour.js').then((m) => m.offerTour(offer));
    if (unfinished.length) {
      app.say(
        `Training that a reload or a closed tab interrupted can go on from its last epoch: ${unfinished
          .map((u) => `${u.slot} (${u.epoch} of ${u.epochs} epochs)`)
          .join(', ')}. Resume it in the Train panel.`,
        'warn',
      );
    }
  }
})();

// --- embedding: the content height for the parent page -------------------------------------
// An embedded panel tells the page around it how tall its content is, so that the page can size
// the iframe without scrollbars (README, "Embed by iframe"):
//   {type: 'vae-lab:resize', height: <CSS px>, panel: <id>}
if (embed && window.parent !== window) {
  let sent = 0;
  new ResizeObserver(() => {
    const height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height === sent) return;
    sent = height;
    window.parent.postMessage({ type: 'vae-lab:resize', height, panel: current }, '*');
  }).observe(document.body);
}

// --- sharing: the address reproduces the figure -----------------------------------------------
const copyLink = document.getElementById('copy-link');
copyLink?.addEventListener('click', () =>
  app.guard(async () => {
    // a model of the visitor's travels as its settings when they make it again, else not at all
    const { link, note } = await (await import('./run-link.js')).linkForCurrent(lab, location.href, app);
    try {
      await navigator.clipboard.writeText(link);
      app.say(note);
    } catch {
      // no clipboard permission (an insecure origin, an old browser): show it to copy by hand
      window.prompt('Copy this link:', link);
    }
    copyLink.dataset.copied = link;
  }),
);

// --- offline: a service worker keeps what the app has used --------------------------------------
// Registered once the app runs and every panel is in (it never competes with the first load).
// Files the engine fetched before the service worker controlled the page are handed to it to keep. `?sw=0` leaves it off
// (and removes an installed one), for working on the app itself.
/** Resolves to the active service worker, once goOffline has registered one. */
let swReady = null;
let updating = false;
// every file the engine loaded since its start is in lab.fetchedFiles (the API records them:
// this module's listeners are attached only after its own imports have loaded); later ones
lab.on('fetched', ({ url }) => {
  // go to the active service worker once there is one (not only the controller: a first visit's
  // page is claimed a moment after the worker is active)
  if (swReady) swReady.then((sw) => sw.postMessage({ type: 'keep', urls: [url] }));
});
async function goOffline() {
  if (!('serviceWorker' in navigator)) return;
  if (params.get('sw') === '0') {
    for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
    return;
  }
  const reg = await navigator.serviceWorker.register(new URL('../sw.js', import.meta.url), {
    scope: new URL('../', import.meta.url).pathname,
  });
  navigator.serviceWorker.addEventListener('message', (e) => {
    // everything this visit loaded so far is kept: a reload works offline (a hook for tests)
    if (e.data?.type === 'kept' && e.data.id === 'first-visit') document.body.dataset.offline = 'ready';
  });
  swReady = navigator.serviceWorker.ready.then((r) => r.active);
  const sw = await swReady;
  sw.postMessage({ type: 'keep', urls: [...lab.fetchedFiles], id: 'first-visit' });
  // a new deploy waits until the visitor reloads: never old scripts with a new engine
  const offerUpdate = () => {
    if (!reg.waiting || !navigator.serviceWorker.controller || embed) return;
    const item = el(
      'div',
      { class: 'msg', role: 'status' },
      el('span', {}, 'A new version of VAE Lab is ready.'),
      el(
        'button',
        {
          onclick: () => {
            updating = true;
            reg.waiting?.postMessage({ type: 'skip-waiting' });
          },
        },
        'Reload to use it',
      ),
    );
    messages.append(item);
  };
  offerUpdate();
  reg.addEventListener('updatefound', () => reg.installing?.addEventListener('statechange', offerUpdate));
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // only after the visitor asked (the first install's claim also changes the controller)
    if (updating) location.reload();
  });
}
