// The page's side of the .vaelab bundle (www/lab/bundle.js makes and reads them): Save writes the
// model in view with its dataset and this view; a .vaelab dropped anywhere on the page, picked in
// the Models panel, or named by `?bundle=URL` opens. Once the opened model and dataset are kept in
// this browser, the page reloads into the bundle's view (its panel and the address parameters
// the panels read); where storage refused them they stay in this tab and the panel opens.
import { el, saveBlob } from './ui.js';
import { maxBundleBytes } from './lab/bundle.js';

/** Address parameters that say which model, dataset or action: the bundle's own replace them. */
const NOT_VIEW = new Set(['model', 'arch', 'data', 'run', 'bundle', 'tour', 'present', 'embed', 'backend', 'sw']);

/** The view a bundle keeps: the panel in view and the address's other parameters. */
export function viewOf(href) {
  const params = new URL(href).searchParams;
  const view = { panel: params.get('panel'), params: {} };
  for (const [k, v] of params) if (!NOT_VIEW.has(k) && k !== 'panel') view.params[k] = v;
  return view;
}

/** Download the current model as `<slot>.vaelab`, with the view of `href`. */
export async function saveBundle({ lab, app, href = location.href }) {
  const slot = lab.current;
  const bytes = await lab.exportBundle({ view: viewOf(href) });
  saveBlob(new Blob([bytes], { type: 'application/zip' }), `${slot}.vaelab`);
  app.say(`Saved ${slot}.vaelab (${(bytes.length / 1e6).toFixed(2)} MB): open it by dropping it on VAE Lab, or link it with ?bundle=.`);
  return bytes;
}

/** A button that saves the current model as a bundle (for a message or a panel). */
export const saveButton = ({ lab, app }, label = 'Save it as a .vaelab file') =>
  el('button', { class: 'small', 'data-save-bundle': '', onclick: () => app.guard(() => saveBundle({ lab, app })) }, label);

/** Open a bundle's bytes (or File) and go to its view; `show` absent: in an element on another
 *  page, whose address is not ours to change (the model and dataset open, the view does not). */
export async function openBundle({ lab, app, show, input, what }) {
  app.say(`Opening ${what}…`);
  const r = await lab.openBundle(input);
  if (!show) {
    app.say(`Opened ${r.slot}${r.dataset ? `, with its dataset ${r.dataset}` : ''}.`);
    return r;
  }
  const address = new URL(location.href);
  address.search = '';
  for (const [k, v] of Object.entries(r.view.params)) address.searchParams.set(k, v);
  if (r.view.panel) address.searchParams.set('panel', r.view.panel);
  address.searchParams.set('model', r.slot);
  if (r.dataset) address.searchParams.set('data', r.dataset);
  document.body.dataset.bundleOpened = r.slot; // a hook for tests
  if (r.stored) {
    sessionStorage.setItem(OPENED, JSON.stringify({ slot: r.slot, what, dataset: r.dataset }));
    location.replace(address.href); // every panel reads its part of the view as the page starts
    return r;
  }
  history.replaceState(null, '', address.search);
  app.say(`${r.slot} is open, in this tab only: this browser did not keep it. Export it to keep it.`, 'warn');
  if (r.view.panel) await show(r.view.panel).catch(() => {});
  return r;
}

/** The bytes at a `?bundle=` address, read up to the cap, with a message a visitor can act on. */
async function fetchBundle(lab, raw) {
  let url;
  try {
    url = new URL(raw, location.href);
  } catch {
    throw new Error(`'${raw.slice(0, 80)}' is not an address`);
  }
  if (!/^https?:$/.test(url.protocol)) throw new Error(`${url.protocol} addresses are not fetched: give an http(s) one`);
  let response;
  try {
    response = await fetch(url, { credentials: 'omit' });
  } catch {
    throw new Error(
      `${url.href} could not be fetched: the network failed, or its server does not let other sites read it ` +
        '(it must send Access-Control-Allow-Origin)',
    );
  }
  if (!response.ok) throw new Error(`${url.href} answered ${response.status} ${response.statusText}`.trim());
  const max = maxBundleBytes(lab.constants.limits);
  const parts = [];
  let got = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    got += value.length;
    if (got > max) {
      reader.cancel().catch(() => {});
      throw new Error(`${url.href} is larger than any bundle (${max} bytes)`);
    }
    parts.push(value);
  }
  return new Blob(parts);
}

const isBundle = (file) => /\.vaelab$/i.test(file?.name ?? '');

/** The bundle a reload came from (this tab's sessionStorage), to say so once the page is back. */
const OPENED = 'vaelab-bundle-opened';

/** `?bundle=URL` opens that bundle; a .vaelab dropped anywhere on the page opens too. */
export function installBundles({ lab, app, params, show }) {
  const opened = sessionStorage.getItem(OPENED);
  if (opened) {
    sessionStorage.removeItem(OPENED);
    try {
      const o = JSON.parse(opened);
      const data = o.dataset ? `, trained on ${o.dataset}` : '';
      app.say(`Opened ${o.slot} from ${o.what}: the model${data}, its history and the view it was saved in.`);
    } catch {
      /* a stale or foreign value: nothing to say */
    }
  }
  const raw = params.get('bundle');
  if (raw) {
    app.setParam('bundle', null); // a reload opens the kept model, not the file again
    app.guard(async () => {
      let blob;
      try {
        blob = await fetchBundle(lab, raw);
      } catch (e) {
        throw new Error(`The link's bundle could not be opened: ${e.message}. Showing ${lab.current}.`);
      }
      await openBundle({ lab, app, show, input: blob, what: 'the bundle the link names' });
    });
  }
  // a file dragged over the page would otherwise replace the page (and all work in it)
  document.addEventListener('dragover', (e) => {
    if (e.dataTransfer?.types?.includes('Files')) e.preventDefault();
  });
  document.addEventListener('drop', (e) => {
    if (e.defaultPrevented || !e.dataTransfer?.files?.length) return; // a drop zone took it
    e.preventDefault();
    const file = e.dataTransfer.files[0];
    if (!isBundle(file)) {
      app.say(`${file.name} is not a .vaelab bundle: drop weights in Models and pictures in Data.`, 'warn');
      return;
    }
    app.guard(() => openBundle({ lab, app, show, input: file, what: file.name }));
  });
  document.body.dataset.bundles = 'ready'; // a drop opens a bundle from now on (a hook for tests)
}
