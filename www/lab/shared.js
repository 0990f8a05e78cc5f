// The page's one shared engine: every <vae-lab> element of the page and every caller of
// sharedVaeLab() use one Worker and download the engine and each weights file once.
import { createVaeLab } from './create.js';

/** The page's one shared engine (made by the first call; later options are ignored). */
let pageEngine = null;

/**
 * The page's shared engine itself (not a view), made with `options` by the first call. The
 * element reads `ready`, `persistRuns` and `restoreModels` from it.
 */
export function sharedEngine(options = {}) {
  if (!pageEngine) {
    const elements = typeof document === 'undefined' ? [] : [...document.querySelectorAll('vae-lab')];
    const named = elements.map((e) => (e.getAttribute('arch') ?? 'C').toUpperCase());
    const preload = [...new Set([...(options.preload ?? []), ...named])].filter((a) => /^[A-Z]$/.test(a));
    const attribute = (name) => elements.find((e) => e.hasAttribute(name))?.getAttribute(name);
    // the first element that names a backend chooses it, whoever asks first
    const backend = options.backend ?? attribute('backend') ?? 'auto';
    const dataset = options.dataset ?? attribute('dataset') ?? 'mnist';
    // an element with `persist` keeps what its visitors make (models, runs, datasets) in this
    // page's storage; without one, a course page leaves its visitors' storage alone
    const persistRuns = options.persistRuns ?? elements.some((e) => e.hasAttribute('persist'));
    pageEngine = createVaeLab({ ...options, persistRuns, backend, preload, dataset });
  }
  return pageEngine;
}

/**
 * A view of the page's shared engine; each view has its own current model. Options as
 * createVaeLab's; `persistRuns` defaults to false (a course page leaves its visitors' storage
 * alone), `backend` to the first element's `backend` attribute, and the shipped models that the
 * page's <vae-lab> elements name download alongside the engine.
 */
export function sharedVaeLab(options = {}) {
  return sharedEngine(options).view();
}
